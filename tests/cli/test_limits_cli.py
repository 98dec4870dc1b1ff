"""The CLI's limits and signals on a real process (issue 15, classes 2 and 4): SIGTERM and
Ctrl-C inside one long instruction, bad limits, output paths checked before the run."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

LONG_WINDOW = ".bank h n=1 dt=1e-12 tf=1\n.vec cur n=1\n    OUT r0\n    RELAX h, cur\n    OUT r1\n"

CHILD = (
    "import sys, vm.machine, vm.interp\n"
    "print('ready', flush=True)\n"
    "from ktasm.cli import main\n"
    "main(sys.argv[1:])\n"
)


def _ktasm(*args, **kw):
    return subprocess.run([sys.executable, "-m", "ktasm", *args], capture_output=True, text=True, **kw)


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum, status, word", [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")]
)
def test_a_signal_inside_a_long_relax_stops_within_a_second_and_keeps_the_results(
    tmp_path, signum, status, word
):
    program = tmp_path / "long.kta"
    program.write_text(LONG_WINDOW)
    state = tmp_path / "state.npz"
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, "run", str(program), "--save-state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(3.0)  # inside the window (or still compiling: that stops the same way)
    sent = time.perf_counter()
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    stopped = time.perf_counter() - sent
    assert proc.returncode == status, err
    assert stopped < 1.5, stopped
    assert word in err and "Traceback" not in err
    assert state.exists()  # the checkpoint "however it stops"
    with np.load(state) as f:
        assert f["status"][0] in (0, 1)


def test_timeout_nan_and_inf_are_refused():
    for bad in ("nan", "inf"):
        proc = _ktasm("run", "--timeout", bad, "tests/data/golden/scalar.kta")
        assert proc.returncode == 64, proc.stderr
        assert "finite" in proc.stderr


def test_a_bad_save_state_path_is_found_before_the_run(tmp_path):
    program = tmp_path / "long.kta"
    program.write_text(LONG_WINDOW)  # would run for hours
    start = time.perf_counter()
    proc = _ktasm("run", str(program), "--save-state", str(tmp_path / "no" / "such" / "dir.npz"), timeout=120)
    assert time.perf_counter() - start < 30
    assert proc.returncode == 73, proc.stderr
    assert "--save-state" in proc.stderr and "cannot write" in proc.stderr
    proc = _ktasm("run", str(program), "--save-state", str(tmp_path), timeout=120)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr


def test_an_endless_out_loop_stops_at_max_outputs_with_its_outputs_printed(tmp_path):
    program = tmp_path / "flood.kta"
    program.write_text("    MOV r0, 1.5\ntop:\n    OUT r0\n    JMP top\n")
    proc = _ktasm("run", str(program), "--max-outputs", "1000")
    assert proc.returncode == 70
    assert proc.stdout.split() == ["1.5"] * 1000
    assert "--max-outputs" in proc.stderr


def test_json_has_no_nan_or_infinity(tmp_path):
    program = tmp_path / "nan.kta"
    program.write_text("    MOV r0, 1e308\n    MUL r1, r0, r0\n    SUB r2, r1, r1\n    OUT r1\n    OUT r2\n")
    proc = _ktasm("run", "--json", str(program))
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert result["outputs"] == ["Infinity", "NaN"]
