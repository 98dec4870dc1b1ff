"""The CLI's limits and signals on a real process (issue 15, classes 2 and 4): SIGTERM and
Ctrl-C inside one long instruction, bad limits, output paths checked before the run."""

from __future__ import annotations

import json
import os
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


MEASURE_PEAK = (
    "import sys\n"
    "from ktasm.cli import main\n"
    "try:\n"
    "    main(sys.argv[1:])\n"
    "except SystemExit:\n"
    "    pass\n"
    "peak = [l for l in open('/proc/self/status') if l.startswith('VmPeak')][0].split()[1]\n"
    "print('peak', peak, file=sys.stderr)\n"
)


def _under_ulimit(kilobytes: int, *args: str):
    command = f"ulimit -v {kilobytes} && exec {sys.executable} -m ktasm " + " ".join(args)
    return subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=600)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit -v and /proc are Linux's")
def test_under_ulimit_v_memory_running_out_is_a_clear_stop_with_the_results(tmp_path):
    """An endless OUT loop with the output limit raised past memory: the address-space limit
    is met by a stop that prints every output so far and says why, never a MemoryError."""
    tiny = tmp_path / "tiny.kta"
    tiny.write_text("    OUT 1\n")
    warm = subprocess.run(
        [sys.executable, "-c", MEASURE_PEAK, "run", str(tiny)], capture_output=True, text=True, timeout=600
    )
    peak_kb = int(warm.stderr.split("peak")[-1])  # the process with Numba and the VM loaded
    flood = tmp_path / "flood.kta"
    flood.write_text("    MOV r0, 1.5\ntop:\n    OUT r0\n    JMP top\n")
    for extra_mb in (160, 400):
        proc = _under_ulimit(peak_kb + extra_mb * 1024, "run", str(flood), "--max-outputs", "1000000000")
        assert proc.returncode == 70, proc.stderr[-2000:]
        assert "no memory left" in proc.stderr and "internal error" not in proc.stderr, proc.stderr
        printed = proc.stdout.count("\n")
        assert f"more than {printed} outputs" in proc.stderr
        assert 1 << 20 <= printed <= extra_mb * (1 << 20) // 8


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ulimit -v is Linux's")
def test_under_ulimit_v_the_input_limits_stop_bombs_before_memory_does(tmp_path):
    """A macro bomb and an oversized data file meet their declared limits, with their
    messages, inside a 1.5 GB address space."""
    bomb = tmp_path / "bomb.kta"
    lines = [".macro m0\n" + "    ADD r0, r0, 1\n" * 100 + ".endm\n"]
    lines += [f".macro m{i}\n    m{i - 1}\n    m{i - 1}\n.endm\n" for i in range(1, 13)]
    bomb.write_text("".join(lines) + "    m12\n")  # 409,600 statements from 130 lines
    proc = _under_ulimit(1_500_000, "check", str(bomb))
    assert proc.returncode == 65, proc.stderr
    assert "--max-statements" in proc.stderr and "internal error" not in proc.stderr
    table = tmp_path / "big.npy"
    np.save(table, np.zeros((1 << 17, 8)))  # 8 MiB
    program = tmp_path / "data.kta"
    program.write_text(".data t\n    ROWS r0, t\n    OUT r0\n")
    proc = _under_ulimit(
        1_500_000, "run", "--max-file-bytes", "1000000", str(program), "--data", f"t={table}"
    )
    assert proc.returncode == 65, proc.stderr
    assert "more than the limit of 1000000 bytes" in proc.stderr and "internal error" not in proc.stderr


def test_the_input_limits_are_options_of_every_command_that_reads_a_program(tmp_path):
    program = tmp_path / "p.kta"
    program.write_text(".macro twice\n    ADD r0, r0, 1\n    ADD r0, r0, 1\n.endm\n" + "    twice\n" * 10)
    for command in ("check", "asm", "dis", "run"):
        proc = _ktasm(command, "--max-statements", "15", str(program))
        assert proc.returncode == 65, (command, proc.stderr)
        assert "--max-statements" in proc.stderr, proc.stderr
    assert _ktasm("check", "--max-statements", "40", str(program)).returncode == 0
    proc = _ktasm("check", "--max-file-bytes", "16", str(program))  # programs get 1/16 of it
    assert proc.returncode == 65 and "more than the limit of 1 bytes" in proc.stderr, proc.stderr
    assert _ktasm("check", "--max-statements", "0", str(program)).returncode == 64


@pytest.mark.slow
@pytest.mark.parametrize("delay_s", [1.0, 3.0])
def test_ctrl_c_during_the_first_compile_exits_130_and_leaves_a_usable_cache(tmp_path, delay_s):
    """Numba compiles for many seconds on a cold cache; Ctrl-C there is a clean stop (no
    abort, no traceback), and the half-written cache does not break the next run."""
    program = tmp_path / "tiny.kta"
    program.write_text(".core cols=2 seed=3\n.aat z = 0\n    FF r0, L0, z\n    OUT r0\n")
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, "run", str(program)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # a shell may ignore it
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(delay_s)  # inside the compilation (it takes 10 s or more)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "Traceback" not in err and "internal error" not in err
    again = subprocess.run(
        [sys.executable, "-m", "ktasm", "run", str(program)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert again.returncode == 0, again.stderr
    expected = subprocess.run(
        [sys.executable, "-m", "ktasm", "run", str(program)], capture_output=True, text=True, timeout=600
    )
    assert again.stdout == expected.stdout  # same bits as with an untouched cache
