"""Sweeps on dask.distributed: overhead per task, 1 against 2 workers, and 1000 short runs
against a shell loop of `ktasm run`.

  overhead   many very short runs on one warm worker: (wall - VM seconds) / runs, one
             run a task and batched (the default)
  scaling    runs of ~50 ms each on a warm LocalCluster of 1, then 2 worker processes
  1000 runs  `ktasm sweep --seeds 0:1000` end to end (cluster start-up included) against
             `ktasm run --seed S` in a shell loop, timed on a subset and extrapolated; and
             `ktasm run --shots 1000` (one process, no Dask)

    python benchmarks/bench_sweep.py [--quick]
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time

from distributed import Client, LocalCluster

from ktasm.sweep import sweep

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
    c = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    return c, Client(c)


def timed_sweep(client, seeds, params, batch=None) -> tuple[float, float]:
    t = time.perf_counter()
    rows = sweep(PROGRAM, seeds, params, client=client, batch=batch)
    wall = time.perf_counter() - t
    return wall, sum(r["stats"]["run_seconds"] for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs (a smoke run)")
    args = ap.parse_args()
    short = 100 if args.quick else 400
    heavy_runs, heavy_n = (8, 100000) if args.quick else (40, 250000)
    many = 100 if args.quick else 1000
    loop_subset = 4 if args.quick else 10

    print(f"{'measure':<34} {'value':>12}")
    rates = {}
    for workers in (1, 2):
        c, client = cluster(workers)
        try:
            timed_sweep(client, range(2 * workers), {"N": [heavy_n]})  # warm: imports, compiled code
            if workers == 1:
                wall, vm = timed_sweep(client, range(short), {}, batch=1)
                print(f"{'overhead per task (1 run a task)':<34} {1e3 * (wall - vm) / short:>9.2f} ms")
                wall, vm = timed_sweep(client, range(short), {})
                print(f"{'overhead per run (batched tasks)':<34} {1e3 * (wall - vm) / short:>9.2f} ms")
                print(f"{'short runs/s (1 worker, batched)':<34} {short / wall:>12.0f}")
            wall, vm = timed_sweep(client, range(heavy_runs), {"N": [heavy_n]})
            rates[workers] = heavy_runs / wall
            print(
                f"{f'~{1e3 * vm / heavy_runs:.0f} ms runs/s ({workers} worker(s))':<34} {rates[workers]:>12.2f}"
            )
            # the share of each worker's wall time spent inside the VM: what Dask leaves over
            print(f"{f'  workers busy in the VM ({workers})':<34} {vm / (wall * workers):>11.0%}")
        finally:
            client.close()
            c.close()
    print(f"{'2 workers / 1 worker':<34} {rates[2] / rates[1]:>11.2f}x")

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
