"""kT-RAM instruction throughput: compiled kernels vs plain per-instruction NumPy, side by side.

The same (FF, RH) instruction stream, read noise on, runs through
  compiled   vm.ktram.kernels.execute_stream: the whole stream in one Numba call
  per-call   Core.evaluate: one Python call into the Numba kernel per instruction
  numpy      vm.ktram.reference.execute: the plain NumPy implementation, per instruction
and the script prints instructions/s, synapse updates/s (instructions x enabled pairs) and
the ratios. The reference emulator's own figures on this machine are printed beside them
(about 4.4e5 instructions/s on one space, measured side by side by issue 23; 0.8e6 synapse
updates/s on 16-64 spaces).

    python benchmarks/bench_ktram.py [--quick] [--json --rounds N]

Times are this thread's CPU time (``time.thread_time``): on the shared 2-core machine wall
time mostly measures the wait for a core. ``--json`` prints one JSON object of the compiled
and per-call rates (the NumPy column is left out), the form ``benchmarks/before_after.py``
reads.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from vm import Core
from vm.ktram import kernels, reference

REF_EMULATOR_INSTR_PER_S = 4.4e5  # issue 23's side-by-side measurement (was 1.3e5)
REF_EMULATOR_SYN_PER_S = 0.8e6


def make(spaces: int, model: str) -> Core:
    core = Core(
        4, 4, spaces_per_lane=spaces, num_lanes=2, model=model, init="medium", seed=1, read_noise=0.02
    )
    return core


def stream(core: Core, n: int, rng: np.random.Generator):
    """n instructions (FF, RH pairs) on random lanes through rows of a table of at most 4096
    random AATs (step i uses row index[i]; a table row per step would be 2 GB wide)."""
    lanes = rng.integers(0, core.num_lanes, n).astype(np.int64)
    table = rng.integers(0, core.num_addresses, (min(n, 4096), core.spaces_per_lane)).astype(np.int64)
    index = rng.integers(0, table.shape[0], n).astype(np.int64)
    ops = np.tile(np.array([0, 9], dtype=np.int64), n // 2)  # FF, RH
    # a feedback acts through the AAT of the read before it, on the same lane
    lanes[1::2] = lanes[0::2]
    index[1::2] = index[0::2]
    return lanes, table, index, ops, np.zeros(n)


def time_compiled(core, s, repeats=3):
    lanes, table, index, ops, dials = s
    out = np.empty(ops.shape[0])
    state = core.state
    kernels.execute_stream(state, lanes[:10], table, index[:10], ops[:10], dials[:10], out)  # compile
    best = np.inf
    for _ in range(repeats):
        t0 = time.thread_time()
        kernels.execute_stream(state, lanes, table, index, ops, dials, out)
        best = min(best, time.thread_time() - t0)
    return ops.shape[0] / best


def time_per_call(core, s):
    lanes, table, index, ops, _ = s
    names = ["FF", "RH"]
    aats = [tuple(int(a) for a in table[i]) for i in index]
    core.evaluate(aats[0], "FF")
    t0 = time.thread_time()
    for i in range(ops.shape[0]):
        core.evaluate(aats[i], names[i % 2], lane_index=int(lanes[i]))
    return ops.shape[0] / (time.thread_time() - t0)


def time_numpy(core, s):
    lanes, table, index, ops, dials = s
    state = core.state
    t0 = time.thread_time()
    for i in range(ops.shape[0]):
        reference.execute(*state, int(lanes[i]), table[index[i]], int(ops[i]), float(dials[i]))
    return ops.shape[0] / (time.thread_time() - t0)


CASES = [
    ("float", 1),
    ("float", 16),
    ("float", 64),
    ("float", 256),
    ("byte", 1),
    ("byte", 16),
    ("rs", 16),
    ("mss", 1),
    ("mss", 16),
    ("mss", 64),
]


def vs_reference(rate: float, spaces: int) -> float:
    """The ratio to the reference emulator's figures (per instruction on one space, per
    synapse update on wider lanes)."""
    if spaces == 1:
        return rate / REF_EMULATOR_INSTR_PER_S
    return rate * spaces / REF_EMULATOR_SYN_PER_S


def measure(n_fast: int, n_slow: int, rng, numpy_too: bool) -> dict[str, float]:
    """Rates of every case: compiled stream, per call, and (numpy_too) the NumPy twin."""
    out: dict[str, float] = {}
    for model, spaces in CASES:
        core = make(spaces, model)
        n = max(2, n_fast * 16 // max(16, spaces)) // 2 * 2  # about the same time per case
        out[f"compiled {model} {spaces}"] = time_compiled(core, stream(core, n, rng))
        out[f"per-call {model} {spaces}"] = time_per_call(make(spaces, model), stream(core, n_slow, rng))
        if numpy_too:
            out[f"numpy {model} {spaces}"] = time_numpy(make(spaces, model), stream(core, n_slow, rng))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short streams (a smoke run)")
    ap.add_argument("--json", action="store_true", help="one JSON object of the rates, no NumPy column")
    ap.add_argument("--rounds", type=int, default=1, help="rounds; the best rate of each is kept")
    ap.add_argument("--instructions", type=int, default=2_000_000, help="stream length (16 spaces)")
    args = ap.parse_args()
    n_fast = 20_000 if args.quick else args.instructions
    n_slow = 400 if args.quick else 4_000
    rng = np.random.default_rng(0)
    best: dict[str, float] = {}
    for _ in range(args.rounds):
        for name, rate in measure(n_fast, n_slow, rng, not args.json).items():
            best[name] = max(best.get(name, 0.0), rate)
    if args.json:
        print(json.dumps(best))
        return
    print(
        f"{'model':6} {'spaces':>6} | {'compiled instr/s':>16} {'ns/instr':>8} {'syn/s':>9} | "
        f"{'per-call instr/s':>16} | {'numpy instr/s':>13} | {'compiled/numpy':>14} | "
        f"{'vs ref emulator':>15}"
    )
    for model, spaces in CASES:
        fast = best[f"compiled {model} {spaces}"]
        slow = best[f"numpy {model} {spaces}"]
        print(
            f"{model:6} {spaces:>6} | {fast:16.3g} {1e9 / fast:8.1f} {fast * spaces:9.3g} | "
            f"{best[f'per-call {model} {spaces}']:16.3g} | {slow:13.3g} | {fast / slow:13.0f}x | "
            f"{vs_reference(fast, spaces):14.0f}x"
        )
    print(
        "vs ref emulator: 1 space against 4.4e5 instr/s; wider lanes against 0.8e6 synapse "
        "updates/s (its figures on this machine)"
    )


if __name__ == "__main__":
    main()
