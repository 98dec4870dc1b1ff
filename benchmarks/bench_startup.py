"""Process start-up: a warm ``ktasm run`` of a tiny program, ``ktasm --help``, and the floor
any Numba program pays here (import Numba, load one cached function), side by side.

Each command runs in a fresh process, in turn, after one untimed run that fills Numba's
cache; the medians of wall time and of CPU time (user + system: on a busy machine wall
time waits for a core, CPU time does not) are printed.

    python benchmarks/bench_startup.py [--rounds N] [--json]
    python benchmarks/bench_startup.py --cold [--rounds N]   # the first run, from an empty cache

``--cold`` times only ``ktasm run`` of the tiny program, each round with an empty
``NUMBA_CACHE_DIR``: everything it compiles (issue 23's cold-run aim).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TINY = """.core cols=1 model=float seed=0 read_noise=0
.aat pair = (0)
        SETY  L0, pair, 0, 0.5
        FF.RH r0, L0, pair
        OUT   r0
"""
FLOOR = "from numba import njit\n@njit(cache=True)\ndef f(x):\n    return x + 1\n"


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--json", action="store_true", help="print {measure: seconds} (before_after.py)")
    parser.add_argument("--quick", action="store_true", help="three rounds")
    parser.add_argument("--cold", action="store_true", help="the first run only, from an empty cache")
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
    if args.cold:
        report(cold(rounds), args.json)
        return
    tree = Path(os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or Path(__file__).resolve().parents[1])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "tiny.kta").write_text(TINY)
        (work / "floor.py").write_text(FLOOR)
        commands = {
            "ktasm run, tiny program": ([sys.executable, "-m", "ktasm", "run", str(work / "tiny.kta")], tree),
            "ktasm --help": ([sys.executable, "-m", "ktasm", "--help"], tree),
            "Numba floor (import, one cached function)": (
                [sys.executable, "-c", "import floor; floor.f(1)"],
                work,
            ),
        }
        for command, cwd in commands.values():
            timed(command, cwd)  # fills the caches
        seen: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in commands}
        for _ in range(rounds):
            for name, (command, cwd) in commands.items():
                wall, cpu = timed(command, cwd)
                seen[name][0].append(wall)
                seen[name][1].append(cpu)
    report(medians(seen), args.json)


def cold(rounds: int) -> dict[str, float]:
    """``ktasm run`` of the tiny program with an empty Numba cache each round."""
    seen: dict[str, tuple[list[float], list[float]]] = {"cold ktasm run, tiny program": ([], [])}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "tiny.kta").write_text(TINY)
        for n in range(rounds):
            env = dict(os.environ, NUMBA_CACHE_DIR=str(work / f"cache{n}"))
            wall, cpu = timed([sys.executable, "-m", "ktasm", "run", str(work / "tiny.kta")], work, env)
            seen["cold ktasm run, tiny program"][0].append(wall)
            seen["cold ktasm run, tiny program"][1].append(cpu)
    return medians(seen)


def medians(seen: dict[str, tuple[list[float], list[float]]]) -> dict[str, float]:
    result = {}
    for name, (walls, cpus) in seen.items():
        result[f"{name}: wall s"] = statistics.median(walls)
        result[f"{name}: CPU s"] = statistics.median(cpus)
    return result


def report(result: dict[str, float], as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    for name, value in result.items():
        print(f"{name:55} {value:6.3f}")


if __name__ == "__main__":
    main()
