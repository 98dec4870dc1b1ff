"""The example library on Dask: `ktasm programs run bandit|assimilation --quick --scheduler
ADDRESS` (a LocalCluster of 2 worker processes started here) reports exactly the local
run's metrics and raw arrays, the runs made on the workers; a bad address is a clear error."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner

import ktasm.programs as library
from ktasm.cli import cli


def programs_run(*args, env=None):
    return CliRunner().invoke(cli, ["programs", "run", *args], env=env)


def imported_on_workers(client, name: str) -> list[bool]:
    """Whether each worker imported the module: it unpickled one of its tasks."""
    return list(client.run(lambda: name in sys.modules).values())


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bandit", "assimilation"])
def test_a_scheduler_runs_give_the_local_numbers_exactly(cluster, tmp_path, name):
    if name == "assimilation":
        pytest.importorskip("sklearn")
    local, client = cluster
    address = local.scheduler_address
    module = f"ktasm.programs.{name}"
    assert not any(imported_on_workers(client, module))
    here, there = tmp_path / "here", tmp_path / "there"
    local = programs_run(name, "--quick", "--json", "--out", str(here))
    assert local.exit_code == 0, local.output
    remote = programs_run(name, "--quick", "--json", "--out", str(there), "--scheduler", address)
    assert remote.exit_code == 0, remote.output
    assert all(imported_on_workers(client, module))  # both workers ran some of the tasks
    a, b = json.loads(local.stdout), json.loads(remote.stdout)
    assert a["metrics"] == b["metrics"]
    for key in ("machine_runs", "instructions", "modeled_time_s", "modeled_energy_j"):
        assert a["stats"][key] == b["stats"][key], key
    arrays, remote_arrays = library.load_arrays(here), library.load_arrays(there)
    assert arrays.keys() == remote_arrays.keys() and arrays
    assert all(np.array_equal(arrays[k], remote_arrays[k]) for k in arrays)


def test_options_map_keeps_job_order_and_reports_progress():
    seen: list[tuple] = []

    class Recorder:
        def update(self, label, done, total):
            seen.append((label, done, total))

    options = library.Options(progress=Recorder())
    assert options.map(pow, [(2, 3), (3, 2), (5, 0)], "powers") == [8, 9, 1]
    assert seen[-1] == ("powers", 3, 3) and seen[0] == ("powers", 0, 3)


@pytest.mark.slow
def test_map_tasks_gives_job_order_and_raises_a_jobs_own_error(cluster):
    from ktasm.sweep import map_tasks

    _, client = cluster
    done: list[int] = []
    assert map_tasks(pow, [(2, k) for k in range(12)], client=client, on_done=done.append) == [
        2**k for k in range(12)
    ]
    assert done == list(range(1, 13))
    with pytest.raises(ValueError, match="invalid literal"):
        map_tasks(int, [("12",), ("x",)], client=client)


@pytest.mark.parametrize("how", ["option", "environment"])
def test_a_bad_scheduler_address_is_a_clear_error(how):
    pytest.importorskip("distributed")
    bad = "tcp://127.0.0.1:9"
    if how == "option":
        result = programs_run("bandit", "--quick", "--scheduler", bad, "--connect-timeout", "1")
    else:
        result = programs_run(
            "bandit", "--quick", "--connect-timeout", "1", env={"DASK_SCHEDULER_ADDRESS": bad}
        )
    assert result.exit_code == 69, result.output
    assert f"cannot reach the Dask scheduler at {bad}" in result.stderr
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert "== bandit" not in result.stdout  # nothing ran


@pytest.mark.slow
def _scheduler_and_worker():
    """`dask scheduler` and `dask worker` processes as on a cluster: (address, scheduler, worker)."""
    import socket
    import subprocess

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    scheduler = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"],
        stderr=subprocess.DEVNULL,
    )
    from distributed import Client

    from ktasm.sweep import quiet_dask_logs

    quiet_dask_logs()
    with Client(address, timeout=30) as client:
        client.wait_for_workers(1, timeout=60)
    return address, scheduler, worker


def _stop(*procs):
    for proc in procs:
        proc.kill()
        proc.wait()


def test_map_tasks_says_so_when_the_scheduler_goes_away():
    """The scheduler killed mid-map."""
    pytest.importorskip("distributed")
    import time

    from ktasm.sweep import SweepError, map_tasks

    address, scheduler, worker = _scheduler_and_worker()
    try:
        started = time.monotonic()
        with pytest.raises(SweepError, match=r"the tasks stopped after \d+ of 30"):
            map_tasks(time.sleep, [(0.2,)] * 30, scheduler=address, on_done=lambda n: scheduler.kill())
        assert time.monotonic() - started < 120
    finally:
        _stop(worker, scheduler)


def test_a_scheduler_that_stops_answering_ends_the_wait_with_the_rows_kept():
    """A scheduler frozen mid-sweep (SIGSTOP: its connections stay open, nothing answers)
    would leave as_completed waiting forever; the stall watchdog ends it, rows kept."""
    pytest.importorskip("distributed")
    import signal
    import time

    from ktasm.sweep import SweepError, map_tasks, sweep

    address, scheduler, worker = _scheduler_and_worker()
    try:
        started = time.monotonic()
        with pytest.raises(SweepError, match="did not answer"):
            map_tasks(
                time.sleep,
                [(0.2,)] * 30,
                scheduler=address,
                stall_s=2.0,
                on_done=lambda n: n == 3 and scheduler.send_signal(signal.SIGSTOP),
            )
        assert time.monotonic() - started < 60
        scheduler.send_signal(signal.SIGCONT)
        rows_before = []
        with pytest.raises(SweepError, match="did not answer") as stopped:
            sweep(
                "OUT 1",
                seeds=range(40),
                scheduler=address,
                batch=1,
                stall_s=2.0,
                on_row=lambda row: (
                    rows_before.append(row),
                    len(rows_before) == 5 and scheduler.send_signal(signal.SIGSTOP),
                ),
            )
        assert len(stopped.value.rows) >= 5 and all(r["outputs"] == [1.0] for r in stopped.value.rows)
    finally:
        scheduler.send_signal(signal.SIGCONT)
        _stop(worker, scheduler)
