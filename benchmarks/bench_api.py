"""The Python API's overhead: ``Core.evaluate`` per call and ``Core.execute_stream`` against
its own compiled kernel, side by side in one run.

evaluate   one Python call per (FF, RH) instruction, read noise 0.02, 1 and 16 spaces;
           against the reference emulator's ~4.4e5 instructions/s on one space here
           (measured side by side by issue 23; it is not installed by this project)
stream     Core.execute_stream on 2e5 steps: mnemonics and one AAT tuple per step (the
           plain call), int opcodes with an AAT table and indices (aat_index), and the bare
           kernel (vm.ktram.kernels.execute_stream on prepared arrays); the ratios are
           the call's time over the kernel's

Rounds are interleaved and the median of each is printed (a shared 2-core machine varies
by 20-30% between runs; compare the ratios).

    python benchmarks/bench_api.py [--quick] [--rounds N] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np

from vm import Core
from vm.ktram import kernels

REF_EMULATOR_INSTR_PER_S = 4.4e5  # 1 space, measured on this machine (issue 23)


def make(spaces: int) -> Core:
    return Core(
        4, 4, spaces_per_lane=spaces, num_lanes=2, model="float", init="medium", seed=1, read_noise=0.02
    )


def stream(core: Core, n: int, distinct: int = 64):
    """(lanes, AAT table, index per step, opcodes): FF then RH through the same AAT."""
    rng = np.random.default_rng(0)
    table = rng.integers(0, core.num_addresses, (distinct, core.spaces_per_lane)).astype(np.int64)
    index = np.repeat(rng.integers(0, distinct, n // 2), 2).astype(np.int64)
    lanes = np.repeat(rng.integers(0, core.num_lanes, n // 2), 2).astype(np.int64)
    ops = np.tile(np.array([0, 9], dtype=np.int64), n // 2)
    return lanes, table, index, ops


def per_call(spaces: int, n: int):
    core = make(spaces)
    lanes, table, index, _ = stream(core, n)
    aats = [tuple(int(a) for a in table[i]) for i in index]
    names = ["FF", "RH"] * (n // 2)
    lane_list = lanes.tolist()
    core.evaluate(aats[0], "FF")  # compile or load

    def go():
        for i in range(n):
            core.evaluate(aats[i], names[i], lane_list[i])

    return go


def streams(n: int):
    core = make(1)
    lanes, table, index, ops = stream(core, n)
    names = ["FF", "RH"] * (n // 2)
    aats = [tuple(int(a) for a in table[i]) for i in index]
    out, dials = np.empty(n), np.zeros(n)
    kernels.execute_stream(
        core.state, lanes[:2], table, index[:2], ops[:2], dials[:2], out
    )  # compile or load
    fns = {
        "kernel": lambda: kernels.execute_stream(core.state, lanes, table, index, ops, dials, out),
        "mnemonics, AAT per step": lambda: core.execute_stream(lanes, aats, names),
    }
    try:
        core.execute_stream(lanes[:2], table, ops[:2], aat_index=index[:2])
        fns["opcodes, table + aat_index"] = lambda: core.execute_stream(lanes, table, ops, aat_index=index)
    except TypeError:  # before issue 23: no aat_index
        fns["opcodes, full AAT table"] = lambda: core.execute_stream(lanes, table[index], ops)
    return fns


def median_rate(fn, work: int, rounds: list[float]) -> None:
    start = time.perf_counter()
    fn()
    rounds.append(work / (time.perf_counter() - start))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short runs (a smoke run)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median printed)")
    parser.add_argument(
        "--json", action="store_true", help="print {measure: instr/s} (benchmarks/before_after.py)"
    )
    args = parser.parse_args()
    calls = 2_000 if args.quick else 40_000
    steps = 20_000 if args.quick else 200_000
    tasks = {f"evaluate, {s} space(s)": (per_call(s, calls), calls) for s in (1, 16)}
    tasks.update({f"stream: {k}": (f, steps) for k, f in streams(steps).items()})
    rates: dict[str, list[float]] = {k: [] for k in tasks}
    for fn, _ in tasks.values():
        fn()  # warm
    for _ in range(args.rounds):
        for name, (fn, work) in tasks.items():
            median_rate(fn, work, rates[name])
    med = {k: statistics.median(v) for k, v in rates.items()}
    if args.json:
        print(json.dumps(med))
        return
    kernel = med["stream: kernel"]
    print(f"{'':34} {'instr/s':>10}  ratio")
    for name, rate in med.items():
        if name.startswith("evaluate"):
            ratio = f"{rate / REF_EMULATOR_INSTR_PER_S:.2f}x the reference's 4.4e5"
        else:
            ratio = f"{kernel / rate:.2f}x the kernel's time"
        print(f"{name:34} {rate:10.3g}  {ratio}")


if __name__ == "__main__":
    main()
