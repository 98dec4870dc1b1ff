"""Many runs: `ktasm run --seeds/--shots` (each run the single run's, bit for bit; the
summary against NumPy's figures) and `ktasm sweep` on a LocalCluster of 2 worker processes
(rows equal serial runs, a worker killed by its pid mid-sweep, --resume, a fault row, a bad
scheduler address)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from ktasm.cli import main
from ktasm.sweep import grid, parse_seeds, parse_set, row_key, run_record, summarize

# a coin flipped N times: the sum is named, the last flip is not; D=0 divides by zero
COIN = """
.core lanes=1 seed=3 init=low_noiseless
.const DIAL = 0.9
.const D = 1
.const N = 20
.aat z = (0)
        MOV r2, 0
        MOV r4, D
        LOOP N
          COIN r1, L0, z, DIAL
          ADD r2, r2, r1
        ENDLOOP
        DIV r5, r2, r4
        OUT r5, "sum"
        OUT r1
"""


def ktasm(capsys, *args) -> tuple[int, str, str]:
    if "--scheduler" in args:
        # its own process, as a user's: a second Client in this one, beside the fixture's,
        # once hung in a tornado write in the full suite
        proc = subprocess.run(
            [sys.executable, "-m", "ktasm", *args], capture_output=True, text=True, timeout=600
        )
        return proc.returncode, proc.stdout, proc.stderr
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def same_run(a: dict, b: dict) -> bool:
    """Two records of one run: equal in everything but the wall-clock seconds."""
    strip = lambda r: {**r, "stats": {k: v for k, v in r["stats"].items() if k != "run_seconds"}}  # noqa: E731
    return strip(a) == strip(b)


@pytest.fixture
def coin(tmp_path):
    path = tmp_path / "coin.kta"
    path.write_text(COIN)
    return str(path)


def test_seed_ranges_sets_and_the_grid():
    assert parse_seeds("0:4") == [0, 1, 2, 3]
    assert parse_seeds("2:10:3") == [2, 5, 8]
    assert parse_seeds("7,1") == [7, 1]
    for bad in ("4:4", "a:b", "1:2:0", "-1:2", ""):
        with pytest.raises(ValueError):
            parse_seeds(bad)
    assert parse_set("D=1,0x2,0.5") == ("D", [1.0, 2.0, 0.5])
    with pytest.raises(ValueError):
        parse_set("D=1,x")
    assert grid([0, 1], {"A": [1, 2], "B": [5]}) == [
        (0, {"A": 1, "B": 5}),
        (1, {"A": 1, "B": 5}),
        (0, {"A": 2, "B": 5}),
        (1, {"A": 2, "B": 5}),
    ]
    assert row_key(3, {"B": 1, "A": 2.0}) == row_key("3", {"A": "2", "B": "1.0"})


def test_run_seeds_is_every_single_run_bit_for_bit(capsys, coin):
    code, out, _ = ktasm(capsys, "run", coin, "--seeds", "0:6", "--json")
    assert code == 0
    runs = json.loads(out)["runs"]
    assert [r["seed"] for r in runs] == list(range(6))
    for r in runs:
        code, single, _ = ktasm(capsys, "run", coin, "--seed", str(r["seed"]), "--json")
        assert code == 0
        assert same_run({k: v for k, v in r.items() if k != "seed"}, json.loads(single))
    sums = [r["named"]["sum"] for r in runs]
    assert len(set(sums)) > 1  # the seeds do differ
    # --shots N counts from --seed
    code, out, _ = ktasm(capsys, "run", coin, "--shots", "3", "--seed", "2", "--json")
    assert [r["seed"] for r in json.loads(out)["runs"]] == [2, 3, 4]
    assert [r["named"]["sum"] for r in json.loads(out)["runs"]] == sums[2:5]


def test_run_seeds_summary_is_numpys_and_the_histogram_counts_every_value(capsys, coin):
    code, out, _ = ktasm(capsys, "run", coin, "--seeds", "0:40", "--json")
    doc = json.loads(out)
    sums = np.array([r["named"]["sum"] for r in doc["runs"]])
    last = np.array([r["outputs"][0] for r in doc["runs"]])
    s = doc["summary"]
    assert s["sum"]["count"] == 40 and s["sum"]["mean"] == pytest.approx(sums.mean())
    assert s["sum"]["std"] == pytest.approx(sums.std()) and s["sum"]["min"] == sums.min()
    assert sum(s["sum"]["histogram"]["counts"]) == 40
    assert s["outputs"]["histogram"]["values"] == sorted(set(last.tolist()))  # a coin: -1, +1
    assert s["outputs"]["histogram"]["counts"] == [int((last == v).sum()) for v in sorted(set(last))]
    code, text, _ = ktasm(capsys, "run", coin, "--seeds", "0:40")
    assert code == 0
    assert f"sum: 40 values, mean {sums.mean():.6g}, std {sums.std():.6g}" in text
    assert "#" in text


def test_summarize_leaves_out_what_no_run_wrote_and_counts_non_finite_values():
    s = summarize([{"outputs": np.zeros(0), "x": np.array([1.0, np.nan])}, {"x": np.array([3.0])}])
    assert "outputs" not in s
    assert s["x"]["count"] == 3 and s["x"]["finite"] == 2 and s["x"]["mean"] == 2.0


@pytest.mark.parametrize("ext", [".csv", ".json", ".npz"])
def test_run_seeds_out_holds_every_value_with_its_seed(capsys, coin, tmp_path, ext):
    path = str(tmp_path / f"runs{ext}")
    code, out, _ = ktasm(capsys, "run", coin, "--seeds", "0:5", "--json", "--out", path)
    assert code == 0
    runs = json.loads(out)["runs"]
    sums = [r["named"]["sum"] for r in runs]
    if ext == ".csv":
        with open(path, newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [float(r["value"]) for r in rows if r["name"] == "sum"] == sums
        assert [int(r["seed"]) for r in rows if r["name"] == "sum"] == list(range(5))
    elif ext == ".json":
        with open(path) as fh:
            assert [r["named"]["sum"] for r in json.load(fh)["runs"]] == sums
    else:
        with np.load(path) as z:
            assert z["sum"].tolist() == sums and z["sum.seed"].tolist() == list(range(5))


def test_run_seeds_faults_are_reported_per_seed_and_exit_70(capsys, coin):
    code, out, err = ktasm(capsys, "run", coin, "--seeds", "0:2", "-D", "D=0")
    assert code == 70
    assert "seed 0: " in err and "seed 1: " in err and "division by zero" in err
    assert "Traceback" not in err


def test_run_seeds_usage_errors(capsys, coin):
    for args in (["--seeds", "0:2", "--seed", "1"], ["--seeds", "0:2", "--shots", "2"], ["--seeds", "x"]):
        code, _, err = ktasm(capsys, "run", coin, *args)
        assert code == 64, args
        assert "Traceback" not in err


# ---------------------------------------------------------------------- runs on the cluster (tests/conftest.py)
def serial(seeds, params, text=COIN):
    rows = []
    for seed, combo in grid(seeds, params):
        program = assemble_text(text, "coin.kta", defines=combo)
        rows.append({"seed": seed, "params": combo, **run_record(program, {}, seed)})
    return rows


@pytest.mark.slow
def test_sweep_rows_equal_serial_runs_and_the_cli_json(cluster, capsys, coin):
    from ktasm.sweep import sweep

    _, client = cluster
    params = {"DIAL": [0.9, 0.7], "D": [1]}
    rows = sweep(COIN, range(6), params, client=client)
    expected = serial(range(6), params)
    assert len(rows) == 12
    assert all(same_run(a, b) for a, b in zip(rows, expected, strict=True))
    batched = sweep(COIN, range(6), params, client=client, batch=5)  # runs sharing a task
    assert all(same_run(a, b) for a, b in zip(batched, expected, strict=True))
    # the CLI's rows are what `ktasm run --json --seed S -D ...` prints
    code, out, _ = ktasm(
        capsys,
        "sweep",
        coin,
        "--seeds",
        "0:2",
        "--set",
        "DIAL=0.7",
        "--scheduler",
        cluster[0].scheduler_address,
        "--json",
    )
    assert code == 0
    for row in json.loads(out)["rows"]:
        code, single, _ = ktasm(capsys, "run", coin, "--json", "--seed", str(row["seed"]), "-D", "DIAL=0.7")
        assert row["params"] == {"DIAL": 0.7}
        assert same_run({k: v for k, v in row.items() if k not in ("seed", "params")}, json.loads(single))


def test_a_sweep_uses_this_process_client_of_the_scheduler_and_leaves_it_open(cluster, coin, monkeypatch):
    import ktasm.sweep as sweeps

    def refuse(*args, **kwargs):
        raise AssertionError("a second Client was opened")

    monkeypatch.setattr(sweeps, "connect", refuse)
    _, client = cluster
    rows = sweeps.sweep(coin, [0, 1], {"DIAL": [0.9]}, scheduler=cluster[0].scheduler_address)
    assert [r["seed"] for r in rows] == [0, 1] and client.status == "running"
    assert sweeps.existing_client(cluster[0].scheduler_address.removeprefix("tcp://")) is client
    assert sweeps.existing_client("tcp://127.0.0.1:1") is None


@pytest.mark.slow
def test_a_fault_is_a_row_not_a_failed_sweep(cluster, capsys, coin, tmp_path):
    out_file = str(tmp_path / "rows.csv")
    code, out, err = ktasm(
        capsys,
        "sweep",
        coin,
        "--seeds",
        "0:2",
        "--set",
        "D=1,0",
        "--scheduler",
        cluster[0].scheduler_address,
        "--json",
        "--out",
        out_file,
    )
    assert code == 0, err
    rows = json.loads(out)["rows"]
    assert [r["fault"] for r in rows] == [None, None, "division by zero", "division by zero"]
    assert [r["reason"] for r in rows] == ["end", "end", "fault", "fault"]
    assert "2 faulted" in err
    with open(out_file, newline="") as fh:
        records = list(csv.DictReader(fh))
    assert [r["fault"] for r in records] == ["", "", "division by zero", "division by zero"]
    assert [float(r["named.sum"]) for r in records[:2]] == [r["named"]["sum"] for r in rows[:2]]


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_loses_nothing(cluster):
    from ktasm.sweep import sweep

    _, client = cluster
    slow = COIN.replace(".const N = 20", ".const N = 400000")  # ~0.2 s a run: killed inside one
    pids = client.run(os.getpid)
    killed: list[int] = []

    def kill_one(row):
        if not killed:
            pid = next(iter(pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    params = {"DIAL": [0.9]}
    rows = sweep(slow, range(8), params, client=client, on_row=kill_one)
    assert killed
    assert [r["seed"] for r in rows] == list(range(8))
    assert all(same_run(a, b) for a, b in zip(rows, serial(range(8), params, slow), strict=True))
    client.wait_for_workers(2, timeout=60)  # the nanny brings the worker back for later tests
    assert killed[0] not in client.run(os.getpid).values()


@pytest.mark.slow
@pytest.mark.parametrize("ext", [".csv", ".json"])
def test_resume_skips_the_rows_out_has_and_keeps_them_in_grid_order(cluster, capsys, coin, tmp_path, ext):
    address = cluster[0].scheduler_address
    out_file = str(tmp_path / f"rows{ext}")
    args = ["sweep", coin, "--set", "DIAL=0.9,0.7", "--scheduler", address, "--out", out_file]
    code, _, err = ktasm(capsys, *args, "--seeds", "0:2")
    assert code == 0, err
    code, out, err = ktasm(capsys, *args, "--seeds", "0:4", "--resume", "--json")
    assert code == 0, err
    assert "4 run(s), 4 already in" in err
    new = json.loads(out)["rows"]
    assert sorted((r["seed"], r["params"]["DIAL"]) for r in new) == [(2, 0.7), (2, 0.9), (3, 0.7), (3, 0.9)]
    # the file as a fresh sweep of seeds 0:4 writes it: DIAL slowest, then the seed
    want = [
        (r["seed"], r["params"]["DIAL"], r["named"]["sum"]) for r in serial(range(4), {"DIAL": [0.9, 0.7]})
    ]
    if ext == ".csv":
        with open(out_file, newline="") as fh:
            records = list(csv.DictReader(fh))
        got = [(int(r["seed"]), float(r["param.DIAL"]), float(r["named.sum"])) for r in records]
    else:
        with open(out_file) as fh:
            got = [(r["seed"], r["params"]["DIAL"], r["named"]["sum"]) for r in json.load(fh)["rows"]]
    assert got == want
    code, out, err = ktasm(capsys, *args, "--seeds", "0:4", "--resume", "--json")  # nothing left to run
    assert code == 0 and json.loads(out)["rows"] == []


def test_grid_order_puts_kept_and_new_rows_where_a_fresh_sweep_would():
    from ktasm.sweep import grid_order

    seeds, params = [0, 1], {"A": [2.0, 1.0]}
    keys = [row_key(1, {"A": 1.0}), row_key(7, {"A": 2.0}), row_key(0, {"A": 2.0}), row_key(0, {"A": 1.0})]
    keys.append(row_key(1, {"A": 2.0}))
    assert grid_order(keys, seeds, params) == [2, 4, 3, 0, 1]  # seed 7 is not in this grid: last


def test_a_bad_scheduler_address_is_a_clear_error_and_keeps_the_rows(capsys, coin, tmp_path):
    pytest.importorskip("distributed")
    out_file = tmp_path / "rows.csv"
    out_file.write_text("seed,param.D,fault\n0,1.0,\n")
    code, _, err = ktasm(
        capsys,
        "sweep",
        coin,
        "--seeds",
        "0:3",
        "--set",
        "D=1",
        "--scheduler",
        "tcp://127.0.0.1:9",
        "--connect-timeout",
        "1",
        "--out",
        str(out_file),
        "--resume",
    )
    assert code == 69
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in err
    assert "1 row(s) written" in err and "Traceback" not in err
    assert out_file.read_text().splitlines()[:2] == ["seed,param.D,fault", "0,1.0,"]


def test_sweep_usage_errors(capsys, coin):
    for args in (
        ["--seeds", "0:2", "--set", "D"],
        ["--seeds", "0:2", "--set", "D=1", "--set", "D=2"],
        ["--seeds", "0:2", "--resume"],
        ["--seeds", "0:2", "--scheduler", "tcp://x:1", "--workers", "2"],
        ["--seeds", "0:2", "--out", "rows.txt"],
    ):
        code, _, err = ktasm(capsys, "sweep", coin, *args)
        assert code == 64, (args, err)
        assert "Traceback" not in err


@pytest.mark.slow
def test_a_scheduler_that_goes_away_is_an_error_with_the_finished_rows(capsys, tmp_path, coin):
    """`dask scheduler` and `dask worker` as on a cluster; the scheduler killed mid-sweep."""
    pytest.importorskip("distributed")
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    dask = [sys.executable, "-m", "distributed.cli.dask_scheduler"]
    scheduler = subprocess.Popen(
        [*dask, "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], stderr=subprocess.DEVNULL
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "distributed.cli.dask_worker", address, "--nthreads", "1", "--no-dashboard"],
        stderr=subprocess.DEVNULL,
    )
    try:
        from distributed import Client

        from ktasm.sweep import SweepError, sweep

        with Client(address, timeout=30) as client:
            client.wait_for_workers(1, timeout=60)
        slow = COIN.replace(".const N = 20", ".const N = 400000")

        def kill_scheduler(row):
            if scheduler.poll() is None:
                scheduler.kill()

        started = time.monotonic()
        with pytest.raises(SweepError) as caught:
            sweep(slow, range(40), scheduler=address, batch=1, on_row=kill_scheduler)
        assert time.monotonic() - started < 120
        assert 1 <= len(caught.value.rows) < 40
        assert "the sweep stopped after" in caught.value.message
        expected = serial([r["seed"] for r in caught.value.rows], {}, slow)
        assert all(same_run(a, b) for a, b in zip(caught.value.rows, expected, strict=True))
    finally:
        for proc in (worker, scheduler):
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("ext", [".csv", ".json", ".parquet"])
def test_result_tables_read_back_with_their_keys(tmp_path, ext):
    if ext == ".parquet":
        pytest.importorskip("pyarrow")
    from ktasm.sweep import flat, read_table, record_key, write_table

    rows = serial([0, 1], {"DIAL": [0.9], "D": [1, 0]})  # two faulted rows among them
    path = str(tmp_path / f"rows{ext}")
    write_table(path, [flat(r) for r in rows], rows)
    back = read_table(path)
    assert [record_key(r) for r in back] == [row_key(r["seed"], r["params"]) for r in rows]
    assert [float(r["named.sum"]) for r in back[:2]] == [r["named"]["sum"] for r in rows[:2]]
    assert [r["fault"] or None for r in back] == [r["fault"] for r in rows]


def test_parquet_without_pyarrow_says_what_to_install(capsys, coin, tmp_path):
    try:
        import pyarrow  # noqa: F401

        pytest.skip("pyarrow is installed")
    except ImportError:
        pass
    code, _, err = ktasm(capsys, "sweep", coin, "--seeds", "0:2", "--out", str(tmp_path / "r.parquet"))
    assert code == 69 and "needs pyarrow" in err


@pytest.mark.slow
def test_data_travels_with_the_tasks(cluster, capsys, tmp_path):
    """--data tables are read here, once, and travel inside the tasks as arrays."""
    from ktasm.sweep import sweep

    table = tmp_path / "t.csv"
    table.write_text("1.5,2\n3,4\n5,6.25\n")
    program = tmp_path / "p.kta"
    program.write_text(
        '.data t\n.const ROW = 0\n    ROWS r0, t\n    LD r1, t, ROW, 1\n    OUT r0, "rows"\n    OUT r1\n'
    )
    rows = sweep(str(program), [0], {"ROW": [0, 2]}, data={"t": str(table)}, client=cluster[1])
    assert [r["named"]["rows"] for r in rows] == [3.0, 3.0]
    assert [r["outputs"] for r in rows] == [[2.0], [6.25]]
    # the CLI's --data the same way
    code, out, err = ktasm(
        capsys,
        "sweep",
        str(program),
        "--seeds",
        "0:1",
        "--set",
        "ROW=1",
        "--data",
        f"t={table}",
        "--scheduler",
        cluster[0].scheduler_address,
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["rows"][0]["outputs"] == [4.0]
