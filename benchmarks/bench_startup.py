"""Process start-up: a warm ``ktasm run`` of a tiny program, ``ktasm --help``, and the floor
any Numba program pays here (import Numba, load one cached function), side by side.

Each command runs in a fresh process, in turn, after one untimed run that fills Numba's
cache; the medians of wall time and of CPU time (user + system: on a busy machine wall
time waits for a core, CPU time does not) are printed.

    python benchmarks/bench_startup.py [--rounds N] [--json]
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


def timed(command: list[str], cwd: Path) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
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
    args = parser.parse_args()
    rounds = 3 if args.quick else args.rounds
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
    result = {}
    for name, (walls, cpus) in seen.items():
        result[f"{name}: wall s"] = statistics.median(walls)
        result[f"{name}: CPU s"] = statistics.median(cpus)
    if args.json:
        print(json.dumps(result))
        return
    for name, value in result.items():
        print(f"{name:55} {value:6.3f}")


if __name__ == "__main__":
    main()
