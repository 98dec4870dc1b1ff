"""Device kernels against peers, side by side in one run.

langevin  the quartic Langevin layer update (batch 1, 100 Euler-Maruyama steps,
          N = 4096 and 65536 units), unit-steps/s: the VM's RELAX (one instruction),
          the same update in PyTorch on this CPU (if installed: pip install '.[bench]'),
          and in NumPy. thermocompute's own layer reaches ~4.7e7 and ~1.25e8 here.
ising     checkerboard Gibbs sweeps of p-bits on a 128x128 periodic lattice, spin
          updates/s: the VM's ISING against a vectorised NumPy checkerboard; thrml (JAX)
          reaches ~2.8e7 here (PHYSICS.md / the issue; not installed by this project).
pairs     PPMAC on a 48 x 48 x 15-level integrated pair array (the diffusion program's
          hidden layer), pair-uses/s: q = 1 repeated (the cached deterministic product),
          q = 0.5 (every p-bit reset and pulsed), against the NumPy twin (vm/devices/reference.py).

  python benchmarks/bench_devices.py [--quick]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from ktasm.assembler import assemble_text
from vm.machine import Machine

THERMOCOMPUTE = {4096: 4.7e7, 65536: 1.25e8}
THRML = 2.8e7
J2, J3, J4, TEMP, DT, STEPS = 1.0, 0.0, 1.5, 1.0, 0.025, 100


def best_of(fn, repeats):
    fn()  # warm up (compilation, caches)
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def vm_relax(n):
    program = assemble_text(f"""
.bank h n={n} j2={J2} j3={J3} j4={J4} temperature={TEMP} dt={DT} tf={DT * STEPS}
.vec current n={n}
.data input
    VLD current, input, 0
    RELAX h, current
""")
    current = np.random.default_rng(0).normal(size=(1, n))

    def go():
        Machine(program, {"input": current}).run()

    return go


def numpy_relax(n):
    rng = np.random.default_rng(0)
    current = rng.normal(size=n)
    amp = math.sqrt(2 * TEMP * DT)

    def go():
        x = np.zeros(n)
        for _ in range(STEPS):
            force = current - x * (J2 + x * (J3 + x * J4))
            x = np.clip(x + force * DT + amp * rng.standard_normal(n), -10, 10)

    return go


def torch_relax(n, dtype_name="float64"):
    import torch

    dtype = getattr(torch, dtype_name)
    torch.manual_seed(0)
    current = torch.randn(1, n, dtype=dtype)
    amp = math.sqrt(2 * TEMP * DT)

    def go():
        with torch.no_grad():
            x = torch.zeros(1, n, dtype=dtype)
            for _ in range(STEPS):
                force = current - x * (J2 + x * (J3 + x * J4))
                x = torch.clamp(x + force * DT + amp * torch.randn_like(x), -10, 10)

    return go


def vm_ising(side, sweeps):
    program = assemble_text(f"""
.vec s n={side * side}
    VFILL s, 1
    LOOP {sweeps}
        ISING s, 1, 0, 0.44
    ENDLOOP
""")

    def go():
        Machine(program).run()

    return go


def numpy_ising(side, sweeps):
    rng = np.random.default_rng(0)
    ii, jj = np.indices((side, side))
    masks = [(ii + jj) % 2 == c for c in range(2)]

    def go():
        s = np.ones((side, side))
        for _ in range(sweeps):
            for mask in masks:
                total = np.roll(s, 1, 0) + np.roll(s, -1, 0) + np.roll(s, 1, 1) + np.roll(s, -1, 1)
                new = np.where(rng.uniform(-1, 1, s.shape) < np.tanh(0.44 * total), 1.0, -1.0)
                s[mask] = new[mask]

    return go


def vm_pairs(q, macs, rows=48, cols=48, levels=15):
    program = assemble_text(f"""
.pairs w rows={rows} cols={cols} levels={levels} profile=integrated
.data weights
.vec x n={cols}
.vec y n={rows}
    PPLOAD w, weights
    VFILL x, 0.5
    LOOP {macs}
      PPMAC y, w, x, {q}
    ENDLOOP
""")
    weights = np.random.default_rng(0).uniform(-1, 1, (rows, cols))

    def go():
        Machine(program, {"weights": weights}).run()

    return go


def numpy_pairs(q, macs, rows=48, cols=48, levels=15):
    from vm.config import DEVICE_KINDS
    from vm.devices import reference as ref

    kind = DEVICE_KINDS["pairs"]
    p = np.array(
        kind.params(kind.resolve({"rows": rows, "cols": cols, "levels": levels, "profile": "integrated"}))
    )
    n = rows * cols * levels
    rng = np.random.default_rng(0)
    state = np.array([1, 2, 3, 4], dtype=np.uint64)

    def go():
        d, pb = np.zeros(n), np.zeros(n)
        rps, tmrs, cache = np.full(2 * n, 5e4), np.full(2 * n, 0.754), np.zeros(3 * rows * cols + 1)
        ref.pairs_load(d, pb, rps, tmrs, cache, p, rng.uniform(-1, 1, rows * cols))
        for _ in range(macs):
            ref.pairs_mac(
                np.zeros(rows), d, pb, np.full(n, 1.5), rps, tmrs, cache, p, np.full(cols, 0.5), q, state
            )

    return go


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one repeat, smaller Ising run")
    args = parser.parse_args()
    repeats = 1 if args.quick else 5
    try:
        import torch

        torch.set_num_threads(max(1, torch.get_num_threads()))
        have_torch = True
    except ImportError:
        have_torch = False

    print("Langevin layer update, batch 1, 100 steps (unit-steps/s)")
    print(
        f"{'N':>6} {'VM RELAX':>10} {'torch f64':>10} {'torch f32':>10} {'NumPy':>10} "
        f"{'VM/torch64':>11} {'VM/torch32':>11} {'VM/NumPy':>9} {'VM/thermocompute':>17}"
    )
    for n in (4096, 65536):
        work = n * STEPS
        vm = work / best_of(vm_relax(n), repeats)
        npy = work / best_of(numpy_relax(n), repeats)
        t64, t32 = (
            work / best_of(torch_relax(n, d), repeats) if have_torch else float("nan")
            for d in ("float64", "float32")
        )
        print(
            f"{n:>6} {vm:>10.3g} {t64:>10.3g} {t32:>10.3g} {npy:>10.3g} {vm / t64:>10.1f}x "
            f"{vm / t32:>10.1f}x {vm / npy:>8.1f}x {vm / THERMOCOMPUTE[n]:>16.1f}x"
        )
    if not have_torch:
        print("  (PyTorch not installed: pip install '.[bench]')")

    side, sweeps = 128, 20 if args.quick else 200
    work = side * side * sweeps
    vm = work / best_of(vm_ising(side, sweeps), repeats)
    numpy_sweeps = max(2, sweeps // 10)  # the baseline is slow: fewer sweeps, same rate
    npy = side * side * numpy_sweeps / best_of(numpy_ising(side, numpy_sweeps), repeats)
    print(
        f"\nIsing 128x128 checkerboard Gibbs (spin updates/s)\n{'VM ISING':>10} {'NumPy':>10} "
        f"{'VM/NumPy':>9} {'VM/thrml':>9}"
    )
    print(f"{vm:>10.3g} {npy:>10.3g} {vm / npy:>8.1f}x {vm / THRML:>8.1f}x")

    macs = 5 if args.quick else 50
    pairs = 48 * 48 * 15
    print(
        f"\nPPMAC 48x48x15 integrated pairs (pair-uses/s)\n{'q':>4} {'VM':>10} {'NumPy twin':>11} {'VM/NumPy':>9}"
    )
    for q in (1, 0.5):
        vm = pairs * macs / best_of(vm_pairs(q, macs), repeats)
        twin_macs = 1 if q == 0.5 else max(1, macs // 10)  # the twin is slow: fewer, same rate
        npy = pairs * twin_macs / best_of(numpy_pairs(q, twin_macs), repeats)
        print(f"{q:>4} {vm:>10.3g} {npy:>11.3g} {vm / npy:>8.1f}x")


if __name__ == "__main__":
    main()
