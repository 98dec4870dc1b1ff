"""PPMAC on pair arrays shaped like the diffusion network's layers, pair-uses per CPU second.

Cases (integrated profile, scale 1, x ~ N(0, 1), uniform weights in [-1, 1]):

  L1 48x11x63 q=1        layer 1 at 63 levels, deterministic (the cached product)
  L2 48x48x63 q=1        layer 2, the same
  L3 2x48xL q=0.9        the last layer at L = 15 and 63 levels, MC-dropconnect
  L3 2x48xL q=0,0.9      diffusion's insitu_network step: a reference MAC at q = 0, then
                         one at q3 (every p-bit rewritten by both); also at q3 = 0.6
  48x48x63 q=0.9         a whole hidden layer at q < 1

Each case is one program (PPLOAD, then a LOOP of MACs) run by Machine.run; the time is the
thread's CPU time of run() (the shared machine's wall time is mostly waiting for a core),
the machine built and compiled beforehand. Compare two trees with

  python benchmarks/before_after.py BASE benchmarks/bench_pairs.py --base-cache DIR

  python benchmarks/bench_pairs.py [--quick] [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

# (name, rows, cols, levels, the q of each MAC in the loop body, MACs per run)
CASES = [
    ("L1 48x11x63 q=1", 48, 11, 63, (1,), 400),
    ("L2 48x48x63 q=1", 48, 48, 63, (1,), 100),
    ("L3 2x48x15 q=0.9", 2, 48, 15, (0.9,), 400),
    ("L3 2x48x15 q=0,0.9", 2, 48, 15, (0, 0.9), 200),
    ("L3 2x48x63 q=0.9", 2, 48, 63, (0.9,), 200),
    ("L3 2x48x63 q=0,0.9", 2, 48, 63, (0, 0.9), 100),
    ("L3 2x48x63 q=0,0.6", 2, 48, 63, (0, 0.6), 100),
    ("48x48x63 q=0.9", 48, 48, 63, (0.9,), 4),
]


def case(rows, cols, levels, qs, macs):
    """A function that runs the case's program once and returns (pair-uses, CPU seconds)."""
    from ktasm.assembler import assemble_text
    from vm.machine import Machine

    body = "\n".join(f"      PPMAC y, w, x, {q}" for q in qs)
    program = assemble_text(f"""
.pairs w rows={rows} cols={cols} levels={levels} scale=1 profile=integrated
.data weights
.data inputs
.vec x n={cols}
.vec y n={rows}
    PPLOAD w, weights
    VLD x, inputs, 0
    LOOP {macs}
{body}
    ENDLOOP
""")
    rng = np.random.default_rng(0)
    data = {"weights": rng.uniform(-1, 1, (rows, cols)), "inputs": rng.normal(size=(1, cols))}
    Machine(program, data).run()  # compile (or load the cache) outside the timing

    def go():
        machine = Machine(program, data)
        start = time.thread_time()
        machine.run()
        return rows * cols * levels * macs * len(qs), time.thread_time() - start

    return go


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one round, a tenth of the MACs")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (median printed)")
    parser.add_argument("--json", action="store_true", help="print {case: pair-uses/s} (before_after.py)")
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    runs = [
        (name, case(rows, cols, levels, qs, max(1, macs // 10) if args.quick else macs))
        for name, rows, cols, levels, qs, macs in CASES
    ]
    rates: dict[str, list[float]] = {name: [] for name, _ in runs}
    for _ in range(rounds):
        for name, go in runs:
            work, seconds = go()
            rates[name].append(work / max(seconds, 1e-9))
    med = {name: statistics.median(r) for name, r in rates.items()}
    if args.json:
        print(json.dumps(med))
        return
    print(f"PPMAC, integrated pairs (pair-uses per CPU second, median of {rounds})")
    for name, rate in med.items():
        print(f"{name:24} {rate:10.3g}   {1e9 / rate:7.2f} ns/pair-use")


if __name__ == "__main__":
    main()
