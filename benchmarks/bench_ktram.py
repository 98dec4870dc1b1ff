"""kT-RAM instruction throughput: compiled kernels vs plain per-instruction NumPy, side by side.

The same (FF, RH) instruction stream, read noise on, runs through
  compiled   vm.ktram.kernels.execute_stream: the whole stream in one Numba call
  per-call   Core.evaluate: one Python call into the Numba kernel per instruction
  numpy      vm.ktram.reference.execute: the plain NumPy implementation, per instruction
and the script prints instructions/s, synapse updates/s (instructions x enabled pairs) and
the ratios. The reference emulator's own figures on this machine are printed beside them
(about 4.4e5 instructions/s on one space, measured side by side by issue 23; 0.8e6 synapse
updates/s on 16-64 spaces).

    python benchmarks/bench_ktram.py [--quick]
"""

from __future__ import annotations

import argparse
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
    lanes = rng.integers(0, core.num_lanes, n).astype(np.int64)
    table = rng.integers(0, core.num_addresses, (n, core.spaces_per_lane)).astype(np.int64)
    ops = np.tile(np.array([0, 9], dtype=np.int64), n // 2)  # FF, RH
    # a feedback acts through the AAT of the read before it, on the same lane
    lanes[1::2] = lanes[0::2]
    table[1::2] = table[0::2]
    return lanes, table, ops, np.zeros(n)


def time_compiled(core, s, repeats=3):
    lanes, table, ops, dials = s
    out = np.empty(ops.shape[0])
    idx = np.arange(ops.shape[0], dtype=np.int64)
    state = core.state
    kernels.execute_stream(state, lanes[:10], table, idx[:10], ops[:10], dials[:10], out)  # compile
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        kernels.execute_stream(state, lanes, table, idx, ops, dials, out)
        best = min(best, time.perf_counter() - t0)
    return ops.shape[0] / best


def time_per_call(core, s):
    lanes, table, ops, _ = s
    names = ["FF", "RH"]
    aats = [tuple(int(a) for a in row) for row in table]
    core.evaluate(aats[0], "FF")
    t0 = time.perf_counter()
    for i in range(ops.shape[0]):
        core.evaluate(aats[i], names[i % 2], lane_index=int(lanes[i]))
    return ops.shape[0] / (time.perf_counter() - t0)


def time_numpy(core, s):
    lanes, table, ops, dials = s
    state = core.state
    t0 = time.perf_counter()
    for i in range(ops.shape[0]):
        reference.execute(*state, int(lanes[i]), table[i], int(ops[i]), float(dials[i]))
    return ops.shape[0] / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short streams (a smoke run)")
    args = ap.parse_args()
    n_fast = 20_000 if args.quick else 2_000_000
    n_slow = 400 if args.quick else 4_000
    rng = np.random.default_rng(0)
    print(
        f"{'model':6} {'spaces':>6} | {'compiled instr/s':>16} {'syn/s':>9} | "
        f"{'per-call instr/s':>16} | {'numpy instr/s':>13} | {'compiled/numpy':>14} | "
        f"{'vs ref emulator':>15}"
    )
    for model, spaces in [("float", 1), ("float", 16), ("float", 64), ("byte", 16), ("rs", 16), ("mss", 16)]:
        core = make(spaces, model)
        fast = time_compiled(core, stream(core, n_fast, rng))
        per_call = time_per_call(make(spaces, model), stream(core, n_slow, rng))
        slow = time_numpy(make(spaces, model), stream(core, n_slow, rng))
        if spaces == 1:
            vs_ref = fast / REF_EMULATOR_INSTR_PER_S
        else:
            vs_ref = fast * spaces / REF_EMULATOR_SYN_PER_S
        print(
            f"{model:6} {spaces:>6} | {fast:16.3g} {fast * spaces:9.3g} | {per_call:16.3g} | "
            f"{slow:13.3g} | {fast / slow:13.0f}x | {vs_ref:14.0f}x"
        )
    print(
        "vs ref emulator: 1 space against 4.4e5 instr/s; 16-64 spaces against 0.8e6 synapse "
        "updates/s (its figures on this machine)"
    )


if __name__ == "__main__":
    main()
