"""Device kernels against peers, side by side in one run.

langevin  the quartic Langevin layer update (batch 1, 100 Euler-Maruyama steps,
          N = 4096 and 65536 units), unit-steps/s: the VM's RELAX (one instruction),
          the same update in PyTorch on this CPU (if installed: pip install '.[bench]'),
          thermocompute's layer loop (ThermodynamicNeuronLayer.forward's steps: force
          clip, randn, nan_to_num, state clip; float32, one thread, as its 1-thread
          figures) written out in PyTorch, and NumPy.
ising     checkerboard Gibbs sweeps of p-bits on a 128x128 periodic lattice, spin
          updates/s: the VM's ISING (one chain) against thrml 0.1.4 (JAX; if installed:
          pip install thrml) on one chain and on 8 chains (vmap), and a vectorised NumPy
          checkerboard.
pairs     PPMAC on a 48 x 48 x 15-level integrated pair array (the diffusion program's
          hidden layer), pair-uses/s: q = 1 repeated (the cached deterministic product),
          q = 0.5 (every p-bit reset and pulsed), against the NumPy twin (vm/devices/reference.py).

  python benchmarks/bench_devices.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import numpy as np

THERMOCOMPUTE = {4096: 4.7e7, 65536: 1.25e8}  # its 1-thread layer here (2026-11-23), when torch is absent
THRML = 6e7  # one chain here (issue 23), when thrml is absent
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
    from ktasm.assembler import assemble_text
    from vm.machine import Machine

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


def thermocompute_relax(n, state_clip=8.0, force_clip=80.0):
    """thermocompute's ThermodynamicNeuronLayer.forward, its Langevin steps (batch 1, one
    replica, output "cold"): float32, the caller sets one thread."""
    import torch

    torch.manual_seed(0)
    current = torch.randn(1, 1, n)
    j2, j3, j4 = (torch.full((1, 1, n), v) for v in (J2, J3, J4))
    temps = torch.full((1, 1, 1), TEMP)

    def go():
        with torch.no_grad():
            state = torch.zeros(1, 1, n)
            for _ in range(STEPS):
                force = -(j2 * state + j3 * state.square() + j4 * state.pow(3) - current)
                force = force.clamp(-force_clip, force_clip)
                noise = torch.randn(state.shape)
                state = state + DT * force + torch.sqrt(2.0 * temps * DT) * noise
                state = torch.nan_to_num(state, nan=0.0, posinf=state_clip, neginf=-state_clip)
                state = state.clamp(-state_clip, state_clip)

    return go


def thrml_ising(side, sweeps, chains=1, beta=0.44):
    """thrml's IsingEBM on the periodic lattice, two checkerboard blocks, sampled with
    sample_states (jit-compiled once, outside the timing)."""
    import jax
    import jax.numpy as jnp
    from thrml import Block, SamplingSchedule, SpinNode, sample_states
    from thrml.models import IsingEBM, IsingSamplingProgram, hinton_init

    nodes = [SpinNode() for _ in range(side * side)]
    edges = []
    for i in range(side):
        for j in range(side):
            edges.append((nodes[i * side + j], nodes[i * side + (j + 1) % side]))
            edges.append((nodes[i * side + j], nodes[(i + 1) % side * side + j]))
    ebm = IsingEBM(nodes, edges, jnp.zeros(len(nodes)), jnp.ones(len(edges)), jnp.array(beta))
    colours = [
        Block([nodes[i * side + j] for i in range(side) for j in range(side) if (i + j) % 2 == c])
        for c in (0, 1)
    ]
    program = IsingSamplingProgram(ebm, colours, clamped_blocks=[])
    schedule = SamplingSchedule(n_warmup=sweeps, n_samples=1, steps_per_sample=1)

    def sample(key, state):
        return sample_states(key, program, schedule, state, [], [Block(nodes)])

    if chains == 1:  # unbatched: a vmap over one chain ran 7x slower
        fn = jax.jit(sample)
        keys = jax.random.key(1)
        init = hinton_init(jax.random.key(0), ebm, colours, ())
    else:
        fn = jax.jit(jax.vmap(sample))
        keys = jax.random.split(jax.random.key(1), chains)
        init = hinton_init(jax.random.key(0), ebm, colours, (chains,))
    jax.block_until_ready(fn(keys, init))  # compile

    def go():
        jax.block_until_ready(fn(keys, init))

    return go


def vm_ising(side, sweeps):
    from ktasm.assembler import assemble_text
    from vm.machine import Machine

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
    from ktasm.assembler import assemble_text
    from vm.machine import Machine

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
    from vm.devices.layout import pairs_cache_length

    kind = DEVICE_KINDS["pairs"]
    p = np.array(
        kind.params(kind.resolve({"rows": rows, "cols": cols, "levels": levels, "profile": "integrated"}))
    )
    n = rows * cols * levels
    rng = np.random.default_rng(0)
    state = np.array([1, 2, 3, 4], dtype=np.uint64)

    def go():
        d, pb = np.zeros(n), np.zeros(n)
        rps, tmrs = np.full(2 * n, 5e4), np.full(2 * n, 0.754)
        cache = np.zeros(pairs_cache_length(rows * cols, n))
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
    parser.add_argument("--quick", action="store_true", help="one round, smaller runs")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (median printed)")
    parser.add_argument(
        "--json", action="store_true", help="print {measure: rate} (benchmarks/before_after.py)"
    )
    parser.add_argument(
        "--peers-only", action="store_true", help="only the peers (PyTorch, thermocompute, thrml)"
    )
    parser.add_argument(
        "--peer-python",
        default=sys.executable,
        help="the Python whose torch/thrml run the peers (default: this one; '' for none)",
    )
    args = parser.parse_args()
    rounds = 1 if args.quick else args.rounds
    from importlib.util import find_spec

    # the peers' packages are imported in the peers' process only
    have_torch = args.peers_only and find_spec("torch") is not None
    have_thrml = args.peers_only and find_spec("thrml") is not None

    # (name, fn, work units): every round runs each once, in turn. The peers (PyTorch, JAX)
    # run in a child process of their own (--peers-only), one per round between ours: in one
    # process their thread pools and OpenMP runtime fight Numba's.
    tasks = []
    side, sweeps = 128, 20 if args.quick else 200
    spins = side * side
    macs = 5 if args.quick else 50
    pairs = 48 * 48 * 15
    if args.peers_only:
        for n in (4096, 65536):
            if have_torch:
                tasks += [(f"torch f64 {n}", torch_relax(n, "float64"), n * STEPS)]
                tasks += [(f"torch f32 {n}", torch_relax(n, "float32"), n * STEPS)]
                tasks += [(f"thermocompute 1-thread {n}", thermocompute_relax(n), n * STEPS)]
        if have_thrml:
            thrml_sweeps = sweeps
            tasks += [("thrml 1 chain", thrml_ising(side, thrml_sweeps), spins * thrml_sweeps)]
            tasks += [("thrml 8 chains", thrml_ising(side, thrml_sweeps, 8), 8 * spins * thrml_sweeps)]
    else:
        for n in (4096, 65536):
            tasks += [(f"RELAX {n}", vm_relax(n), n * STEPS), (f"NumPy {n}", numpy_relax(n), n * STEPS)]
        tasks += [("ISING 1 chain", vm_ising(side, sweeps), spins * sweeps)]
        wide = 5 if args.quick else 20  # 512 x 512: past ISING_PARALLEL_SITES, the rows use the threads
        tasks += [("ISING 512x512", vm_ising(512, wide), 512 * 512 * wide)]
        numpy_sweeps = max(2, sweeps // 10)  # the baseline is slow: fewer sweeps, same rate
        tasks += [("NumPy Ising", numpy_ising(side, numpy_sweeps), spins * numpy_sweeps)]
        for q in (1, 0.5):
            tasks += [(f"PPMAC q={q}", vm_pairs(q, macs), pairs * macs)]
            twin_macs = 1 if q == 0.5 else max(1, macs // 10)  # the twin is slow: fewer, same rate
            tasks += [(f"PPMAC twin q={q}", numpy_pairs(q, twin_macs), pairs * twin_macs)]

    rates: dict[str, list[float]] = {name: [] for name, _, _ in tasks}
    for name, fn, _ in tasks:
        _set_torch_threads(name, have_torch)
        fn()  # warm up (compilation, caches)
    for _ in range(rounds):
        for name, fn, work in tasks:
            _set_torch_threads(name, have_torch)
            start = time.perf_counter()
            fn()
            rates[name].append(work / (time.perf_counter() - start))
        if not args.peers_only and args.peer_python:
            for name, rate in _peer_round(args.peer_python, args.quick).items():
                rates.setdefault(name, []).append(rate)
    med = {name: statistics.median(r) for name, r in rates.items()}
    if args.json:
        print(json.dumps(med))
        return
    nan = float("nan")
    print(f"Langevin layer update, batch 1, 100 steps (unit-steps/s, medians of {rounds} interleaved rounds)")
    print(
        f"{'N':>6} {'VM RELAX':>10} {'torch f64':>10} {'torch f32':>10} {'tc 1-thr':>10} {'NumPy':>10} "
        f"{'VM/torch64':>11} {'VM/torch32':>11} {'VM/thermocompute':>17}"
    )
    for n in (4096, 65536):
        vm, npy = med.get(f"RELAX {n}", nan), med.get(f"NumPy {n}", nan)
        t64, t32 = med.get(f"torch f64 {n}", nan), med.get(f"torch f32 {n}", nan)
        tc = med.get(f"thermocompute 1-thread {n}", THERMOCOMPUTE[n])
        print(
            f"{n:>6} {vm:>10.3g} {t64:>10.3g} {t32:>10.3g} {tc:>10.3g} {npy:>10.3g} {vm / t64:>10.1f}x "
            f"{vm / t32:>10.1f}x {vm / tc:>16.1f}x"
        )
    if "torch f32 4096" not in med:
        print(
            f"  (PyTorch not installed: pip install '.[bench]'; thermocompute: its recorded {THERMOCOMPUTE})"
        )
    vm, npy = med.get("ISING 1 chain", nan), med.get("NumPy Ising", nan)
    t1, t8 = med.get("thrml 1 chain", THRML), med.get("thrml 8 chains", nan)
    print(
        f"\nIsing 128x128 checkerboard Gibbs (spin updates/s)\n{'VM ISING':>10} {'thrml 1':>10} {'thrml 8':>10} "
        f"{'NumPy':>10} {'VM/thrml 1':>11} {'VM/NumPy':>9}"
    )
    print(f"{vm:>10.3g} {t1:>10.3g} {t8:>10.3g} {npy:>10.3g} {vm / t1:>10.1f}x {vm / npy:>8.1f}x")
    print(f"  512x512 lattice (rows on the threads): {med.get('ISING 512x512', nan):.3g} spin updates/s")
    if "thrml 1 chain" not in med:
        print(f"  (thrml not installed: pip install thrml; its recorded one-chain rate {THRML:.2g})")
    print(
        f"\nPPMAC 48x48x15 integrated pairs (pair-uses/s)\n{'q':>4} {'VM':>10} {'NumPy twin':>11} {'VM/NumPy':>9}"
    )
    for q in (1, 0.5):
        vm, twin = med.get(f"PPMAC q={q}", nan), med.get(f"PPMAC twin q={q}", nan)
        print(f"{q:>4} {vm:>10.3g} {twin:>11.3g} {vm / twin:>8.1f}x")


def _peer_round(python: str, quick: bool) -> dict[str, float]:
    """One round of the peers, in a child process of python (nothing if it has none)."""
    import subprocess

    command = [python, __file__, "--peers-only", "--json", "--rounds", "1"] + (["--quick"] if quick else [])
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        print(f"  (peers failed in {python}: {done.stderr.strip().splitlines()[-1:]})", file=sys.stderr)
        return {}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _set_torch_threads(name: str, have_torch: bool) -> None:
    """thermocompute's figures are its 1-thread layer; the other torch rows use every core."""
    if have_torch:
        import torch

        torch.set_num_threads(1 if name.startswith("thermocompute") else max(1, _CORES))


_CORES = __import__("os").cpu_count() or 1


if __name__ == "__main__":
    main()
