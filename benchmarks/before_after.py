"""One benchmark script against two source trees, interleaved, side by side.

    python benchmarks/before_after.py BASE_TREE SCRIPT [--rounds N] [--base-cache DIR] [-- SCRIPT_ARGS...]

Runs ``SCRIPT --json --rounds 1`` (this tree's copy of the script) N times in turn with
PYTHONPATH at BASE_TREE (a checkout of the commit before, e.g. ``git worktree add``) and at
this tree, and prints each measure's median in both and their ratio (after / before). On a
shared machine absolute rates drift between minutes; rounds taken in turn see the same load,
so the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def run(tree: Path, script: Path, extra: list[str], cache: str | None = None) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    if cache:  # the base tree's compiled kernels apart from this tree's
        env["NUMBA_CACHE_DIR"] = cache
    out = subprocess.run(
        [sys.executable, str(script), "--json", "--rounds", "1", *extra],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("base", type=Path, help="the source tree of the commit before")
    parser.add_argument("script", type=Path, help="a benchmark script that takes --json --rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-cache", help="NUMBA_CACHE_DIR for the base tree (default: the same)")
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1 :] if "--" in argv else []
    args = parser.parse_args(argv[: argv.index("--")] if "--" in argv else argv)
    args.extra = extra
    script = args.script.resolve()
    seen: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for _ in range(args.rounds):
        for side, tree, cache in (("before", args.base.resolve(), args.base_cache), ("after", HERE, None)):
            for name, value in run(tree, script, args.extra, cache).items():
                seen[side].setdefault(name, []).append(value)
    print(
        f"{'measure':42} {'before':>10} {'after':>10} {'after/before':>12}   (medians of {args.rounds} interleaved rounds)"
    )
    for name, values in seen["after"].items():
        before = statistics.median(seen["before"].get(name, [float("nan")]))
        after = statistics.median(values)
        print(f"{name:42} {before:10.3g} {after:10.3g} {after / before:11.2f}x")
    for name in seen["before"].keys() - seen["after"].keys():
        print(f"{name:42} {statistics.median(seen['before'][name]):10.3g} {'-':>10}")


if __name__ == "__main__":
    main()
