"""Sweeps on dask.distributed: overhead per task, 1 against 2 workers, and 1000 short runs
against a shell loop of `ktasm run`.

  overhead   many very short runs on one warm worker: (wall - VM seconds) / runs, one
             run a task and batched (the default)
  scaling    runs of ~0.1 s each on a warm LocalCluster of 1, then 2 worker processes, and
             beside each the same runs in 1, then 2, plain spawned processes (no Dask): if
             those do not scale either, the bound is the machine's free cores, not Dask
  start-up   a LocalCluster's start and its workers' first task (imports, cached code)
  payload    a task's bytecode pickled: its size and the time to pickle and read it back
  1000 runs  `ktasm sweep --seeds 0:1000` end to end (cluster start-up included) against
             `ktasm run --seed S` in a shell loop, timed on a subset and extrapolated; and
             `ktasm run --shots 1000` (one process, no Dask)

    python benchmarks/bench_sweep.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ProcessPoolExecutor

from distributed import Client, LocalCluster

from ktasm.assembler import assemble_text
from ktasm.sweep import quiet_dask_logs, run_record, sweep
from vm.bytecode import Program

PROGRAM = """
.core lanes=1 seed=3 init=low_noiseless
.const N = 20
.aat z = (0)
        MOV r2, 0
        LOOP N
          COIN r1, L0, z, 0.9
          ADD r2, r2, r1
        ENDLOOP
        OUT r2, "sum"
"""


def cluster(workers: int):
    warnings.filterwarnings("ignore", message="Port .* is already in use")  # the other cluster's
    return LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def plain_runs(blob: bytes, seeds: list[int]) -> float:
    """The runs in this process, no Dask: their VM seconds."""
    program = Program.from_bytes(blob)
    return sum(run_record(program, {}, seed)["stats"]["run_seconds"] for seed in seeds)


def timed_plain(workers: int, blob: bytes, runs: int) -> tuple[float, float]:
    """(wall, VM seconds) of runs split over a warm pool of spawned processes."""
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(plain_runs, [blob] * workers, [[k] for k in range(workers)]))  # warm
        t = time.perf_counter()
        parts = [list(range(k, runs, workers)) for k in range(workers)]
        vm = sum(pool.map(plain_runs, [blob] * workers, parts))
        return time.perf_counter() - t, vm


def timed_sweep(local, seeds, params, batch=None) -> tuple[float, float]:
    """(wall, VM seconds) of a sweep on the cluster, through a Client of its own: two Clients
    open in one process once hung a sweep (a tornado AssertionError in a comm write)."""
    with Client(local) as client:
        t = time.perf_counter()
        rows = sweep(PROGRAM, seeds, params, client=client, batch=batch)
        wall = time.perf_counter() - t
    return wall, sum(r["stats"]["run_seconds"] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = ap.parse_args()
    short = 100 if args.quick else 400
    heavy_runs, heavy_n, rounds = (8, 100000, 1) if args.quick else (12, 250000, 3)
    many = 100 if args.quick else 1000
    loop_subset = 4

    quiet_dask_logs()
    print(f"{'measure':<34} {'value':>12}   ({load()})")
    heavy = assemble_text(PROGRAM, "coin.kta", defines={"N": heavy_n}).to_bytes()
    t = time.perf_counter()
    for _ in range(100):
        Program.from_bytes(pickle.loads(pickle.dumps((heavy, {})))[0])
    print(f"{'payload: bytecode pickled':<34} {len(pickle.dumps((heavy, {}))):>8} bytes")
    print(f"{'  pickle + read back':<34} {1e3 * (time.perf_counter() - t) / 100:>9.2f} ms")
    clusters = {}
    try:
        for workers in (1, 2):
            t = time.perf_counter()
            clusters[workers] = cluster(workers)
            started = time.perf_counter() - t
            timed_sweep(clusters[workers], range(2 * workers), {"N": [heavy_n]})  # warm: imports, code
            print(f"{f'cluster start ({workers} worker(s))':<34} {started:>10.1f} s")
            print(f"{'  + first tasks (imports, code)':<34} {time.perf_counter() - t - started:>10.1f} s")
        wall, vm = timed_sweep(clusters[1], range(short), {}, batch=1)
        print(f"{'overhead per task (1 run a task)':<34} {1e3 * (wall - vm) / short:>9.2f} ms")
        wall, vm = timed_sweep(clusters[1], range(short), {})
        print(f"{'overhead per run (batched tasks)':<34} {1e3 * (wall - vm) / short:>9.2f} ms")
        print(f"{'short runs/s (1 worker, batched)':<34} {short / wall:>12.0f}")
        # rounds of 1 and 2 workers, Dask and plain processes, interleaved: the same load
        ratios, plain_ratios = [], []
        for r in range(rounds):
            print(f"-- round {r + 1}, {load()}")
            rate, plain = {}, {}
            for workers in (1, 2):
                wall, vm = timed_sweep(clusters[workers], range(heavy_runs), {"N": [heavy_n]})
                rate[workers] = heavy_runs / wall
                busy = vm / (wall * workers)  # each worker's share of wall time inside the VM
                label = f"~{1e3 * vm / heavy_runs:.0f} ms runs/s, {workers} worker(s)"
                print(f"{label:<34} {rate[workers]:>12.2f}   busy in the VM {busy:.0%}")
                wall, vm = timed_plain(workers, heavy, heavy_runs)
                plain[workers] = heavy_runs / wall
                label = f"  no Dask: ~{1e3 * vm / heavy_runs:.0f} ms runs/s ({workers})"
                print(f"{label:<34} {plain[workers]:>12.2f}")
            ratios.append(rate[2] / rate[1])
            plain_ratios.append(plain[2] / plain[1])
            print(f"{'2 workers / 1 worker':<34} {ratios[-1]:>11.2f}x   no Dask {plain_ratios[-1]:.2f}x")
        print(f"{'median 2 workers / 1':<34} {sorted(ratios)[len(ratios) // 2]:>11.2f}x   ({load()})")
        print(f"{'  no Dask: median 2 processes / 1':<34} {sorted(plain_ratios)[len(ratios) // 2]:>11.2f}x")
    finally:
        for c in clusters.values():
            c.close()

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "coin.kta")
        with open(path, "w") as fh:
            fh.write(PROGRAM)
        ktasm = [sys.executable, "-m", "ktasm"]
        t = time.perf_counter()
        subprocess.run(
            [
                *ktasm,
                "sweep",
                path,
                "--seeds",
                f"0:{many}",
                "--workers",
                "2",
                "--out",
                os.path.join(tmp, "r.csv"),
            ],
            check=True,
            capture_output=True,
        )
        sweep_wall = time.perf_counter() - t
        t = time.perf_counter()
        subprocess.run([*ktasm, "run", path, "--shots", str(many)], check=True, capture_output=True)
        shots_wall = time.perf_counter() - t
        t = time.perf_counter()
        for seed in range(loop_subset):
            subprocess.run(
                [*ktasm, "run", path, "--seed", str(seed), "--json"], check=True, capture_output=True
            )
        per_run = (time.perf_counter() - t) / loop_subset
    loop_wall = per_run * many
    print(f"{f'ktasm sweep, {many} runs (2 workers)':<34} {sweep_wall:>10.1f} s")
    print(f"{f'ktasm run --shots {many}':<34} {shots_wall:>10.1f} s")
    print(
        f"{f'shell loop of ktasm run, {many} runs':<34} {loop_wall:>10.1f} s  ({per_run:.2f} s a run x {many})"
    )
    print(f"{'sweep / shell loop':<34} {loop_wall / sweep_wall:>11.1f}x")
    print(f"{'run --shots / shell loop':<34} {loop_wall / shots_wall:>11.1f}x")


if __name__ == "__main__":
    main()
