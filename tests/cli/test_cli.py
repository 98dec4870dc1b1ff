"""The ktasm command line: fast help, exit codes, the claims job."""

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from ktasm.cli import cli


def _run(*args):
    return subprocess.run([sys.executable, "-m", "ktasm", *args], capture_output=True, text=True)


@pytest.mark.parametrize(
    "args, shown",
    [(["--help"], "claims"), (["repl", "--help"], "--max-steps"), (["sweep", "--help"], "--scheduler")],
)
def test_help_imports_neither_numba_nor_the_vm_nor_prompt_toolkit(args, shown):
    code = (
        f"import sys; sys.argv = ['ktasm', *{args!r}]\n"
        "from ktasm.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = {'numba', 'vm', 'prompt_toolkit', 'dask', 'distributed'} & set(sys.modules)\n"
        "assert not heavy, f'ktasm --help imported {heavy}'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert shown in proc.stdout


def test_run_keeps_numbas_blas_probe_from_loading_scipy_linalg(tmp_path):
    """ktasm run: Numba's start-up probe for BLAS does not import scipy.linalg (~0.3 s of a
    warm run); scipy.linalg still imports afterwards."""
    pytest.importorskip("scipy")
    program = tmp_path / "p.kta"
    program.write_text(".core cols=1 seed=0 read_noise=0\n.aat a = (0)\n    FF r0, L0, a\n    OUT r0\n")
    code = (
        f"import sys; sys.argv = ['ktasm', 'run', {str(program)!r}]\n"
        "from ktasm.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "assert 'numba.np.arraymath' in sys.modules and 'scipy.linalg' not in sys.modules\n"
        "import scipy.linalg\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "ok"


def test_usage_errors_exit_64_without_traceback():
    proc = _run("no-such-command")
    assert proc.returncode == 64
    assert "No such command" in proc.stderr and "Traceback" not in proc.stderr
    proc = _run("claims", "--only", "nope")
    assert proc.returncode == 64
    assert "unknown claim 'nope'" in proc.stderr


def test_claims_json_reports_measured_figures():
    result = CliRunner().invoke(cli, ["claims", "--json", "--only", "annealing", "--only", "beta_counts"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"annealing", "beta_counts"}
    assert data["annealing"]["passed"] is True
    assert 7 <= data["annealing"]["measured"]["ratio"] <= 14


def test_claims_seed_selects_one_papers_claims():
    result = CliRunner().invoke(cli, ["claims", "--seed", "004", "--json", "--only", "tmr_200mv"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"tmr_200mv"} and data["tmr_200mv"]["passed"] is True
    result = CliRunner().invoke(cli, ["claims", "--seed", "000", "--only", "tmr_200mv"])
    assert result.exit_code == 2 and "unknown claim 'tmr_200mv'" in result.output


def test_the_ageing_claims_are_registered_under_their_names():
    result = CliRunner().invoke(cli, ["claims", "--json", "--only", "common_mode_rejection"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)["common_mode_rejection"]
    assert data["passed"] is True and data["measured"]["max_lane_read_change"] <= 1e-9
    result = CliRunner().invoke(cli, ["claims", "--seed", "001", "--only", "nope"])
    assert result.exit_code == 2 and "expected one of damage_tolerance" in result.output


def test_claims_table():
    result = CliRunner().invoke(cli, ["claims", "--only", "pooling"])
    assert result.exit_code == 0
    assert "PASS" in result.output and "1 of 1 claims reproduced" in result.output


# ---------------------------------------------------------------- asm / dis / run / check
import os  # noqa: E402
import resource  # noqa: E402
import signal  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"


def _write(tmp_path, text, name="p.kta"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_check_and_asm_do_not_import_numba(tmp_path):
    src = _write(tmp_path, ".aat x = 0\nFF r0, L0, x\nOUT r0\n")
    code = (
        "import sys\nfrom ktasm.cli import main\n"
        f"for argv in (['check', {src!r}], ['asm', {src!r}], ['dis', {src!r}]):\n"
        "    try:\n        main(argv)\n    except SystemExit as e:\n        assert e.code in (0, None), e.code\n"
        "assert 'numba' not in sys.modules\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_subcommands_have_help():
    for command in ("asm", "dis", "run", "check", "claims"):
        proc = _run(command, "--help")
        assert proc.returncode == 0 and "Usage:" in proc.stdout, command


def test_run_json_reports_outputs_and_stats(tmp_path):
    src = _write(tmp_path, ".core cols=2 seed=4\n.aat z = 1\nLOOP 3\nFF r0, L0, z\nOUT r0\nENDLOOP\n")
    proc = _run("run", src, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert len(data["outputs"]) == 3
    assert data["stats"]["instructions"] == 1 + 3 * 3
    assert data["stats"]["modeled_time_s"] > 0 and data["stats"]["modeled_energy_j"] > 0
    assert data["stats"]["run_seconds"] >= 0
    other = json.loads(_run("run", src, "--json", "--seed", "5").stdout)
    assert other["outputs"] != data["outputs"]
    byte = json.loads(_run("run", src, "--json", "--model", "byte").stdout)
    assert byte["outputs"] != data["outputs"]


def test_run_prints_outputs_one_per_line(tmp_path):
    src = _write(tmp_path, "OUT 1.5\nOUT -2\n")
    proc = _run("run", src)
    assert proc.stdout.split() == ["1.5", "-2.0"]
    assert "2 instruction(s)" in proc.stderr


def test_asm_then_run_and_dis_of_bytecode(tmp_path):
    src = _write(tmp_path, (GOLDEN / "scalar.kta").read_text(), "scalar.kta")
    proc = _run("asm", src, "-o", str(tmp_path / "s.ktb"))
    assert proc.returncode == 0, proc.stderr
    from_source = json.loads(_run("run", src, "--json").stdout)
    from_bytecode = json.loads(_run("run", str(tmp_path / "s.ktb"), "--json").stdout)
    assert (
        from_source["outputs"]
        == from_bytecode["outputs"]
        == json.loads((GOLDEN / "scalar.out.json").read_text())["outputs"]
    )
    listing = _run("dis", str(tmp_path / "s.ktb")).stdout
    assert ">>" in listing and "JLT       r0, 30, 2 (fib)" in listing


def test_bad_program_exits_65_with_caret(tmp_path):
    src = _write(tmp_path, "MOV r0, 1\nFROB r1\nJMP nowhere\n")
    for command in ("check", "run", "asm", "dis"):
        proc = _run(command, src)
        assert proc.returncode == 65, (command, proc.stderr)
        assert f"{src}:2:1: error: unknown instruction 'FROB'" in proc.stderr
        assert "    FROB r1\n    ^~~~" in proc.stderr
        assert f"{src}:3:5: error:" in proc.stderr and "2 errors" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_damaged_bytecode_exits_65(tmp_path):
    src = _write(tmp_path, "OUT 1\n")
    _run("asm", src)
    ktb = Path(src).with_suffix(".ktb")
    ktb.write_bytes(ktb.read_bytes()[:-5])
    proc = _run("run", str(ktb))
    assert proc.returncode == 65 and "truncated or padded" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_runtime_fault_exits_70_with_position(tmp_path):
    src = _write(tmp_path, "MOV r1, 0\nOUT 1\n  DIV r0, 4, r1\n")
    proc = _run("run", src, "--json")
    assert proc.returncode == 70
    assert f"{src}:3:14: runtime error: division by zero" in proc.stderr
    assert "      DIV r0, 4, r1\n                 ^~" in proc.stderr
    data = json.loads(proc.stdout)
    assert data["outputs"] == [1.0] and data["fault"] == "division by zero"


def test_limits_and_usage_errors(tmp_path):
    src = _write(tmp_path, "top: JMP top\n")
    proc = _run("run", src, "--max-steps", "1000", "--json")
    assert proc.returncode == 70 and "stopped after 1000 instructions (--max-steps)" in proc.stderr
    assert json.loads(proc.stdout)["reason"] == "max_steps"
    proc = _run("run", src, "--timeout", "0.2")
    assert proc.returncode == 70 and "(--timeout)" in proc.stderr
    assert _run("run", str(tmp_path / "missing.kta")).returncode == 64
    assert _run("run", src, "--model", "quantum").returncode == 64
    assert _run("run", src, "--data", "oops").returncode == 64


def test_data_binding_from_the_command_line(tmp_path):
    src = _write(tmp_path, ".data t\nROWS r0, t\nLD r1, t, 1, 1\nOUT r0\nOUT r1\n")
    np.save(tmp_path / "t.npy", np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
    (tmp_path / "t.csv").write_text("1,2\n3,4\n5,6\n")
    for f in ("t.npy", "t.csv"):
        proc = _run("run", src, "--json", "--data", f"t={tmp_path / f}")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["outputs"] == [3.0, 4.0]
    proc = _run("run", src)
    assert proc.returncode == 64 and "needs data 't'" in proc.stderr
    (tmp_path / "bad.csv").write_text("1,x\n")
    proc = _run("run", src, "--data", f"t={tmp_path / 'bad.csv'}")
    assert proc.returncode == 65 and "cannot read data file" in proc.stderr


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, from /proc."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@pytest.mark.skipif(not os.path.exists("/proc/self/stat"), reason="reads CPU time from /proc")
def test_ctrl_c_stops_a_run_cleanly(tmp_path):
    src = _write(tmp_path, ".aat z = 0\ntop: FF r0, L0, z\nJMP top\n")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    _run("run", src, "--max-steps", "10")  # compile into the Numba cache first
    before = _children_cpu()
    _run("run", src, "--max-steps", "10")
    start_up = _children_cpu() - before  # a warm start-up's CPU time
    state = tmp_path / "interrupted.npz"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ktasm", "run", src, "--json", "--save-state", str(state)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        # a shell's background job inherits SIGINT ignored: give the child the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Running, not starting up: the child has spent more CPU than a start-up (on a busy
    # machine wall time says nothing about that); a hang fails at the deadline.
    deadline = time.monotonic() + 120
    while _cpu_seconds(proc.pid) < start_up + 0.5 and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted after" in err and "Traceback" not in err
    data = json.loads(out)
    assert data["reason"] == "interrupted" and data["stats"]["instructions"] > 0
    resumed = _run("run", src, "--json", "--load-state", str(state), "--max-steps", "10")
    assert json.loads(resumed.stdout)["stats"]["instructions"] == data["stats"]["instructions"] + 10


def test_save_and_load_state_resume_exactly(tmp_path):
    src = _write(
        tmp_path, ".core seed=2 read_noise=0.1\n.aat z = 0\nLOOP 50\nFF.RU r0, L0, z\nOUT r0\nENDLOOP\n"
    )
    whole = json.loads(_run("run", src, "--json").stdout)
    part = _run("run", src, "--json", "--max-steps", "31", "--save-state", str(tmp_path / "s.npz"))
    assert part.returncode == 70
    rest = json.loads(_run("run", src, "--json", "--load-state", str(tmp_path / "s.npz")).stdout)
    assert rest["outputs"] == whole["outputs"]
    other = _write(tmp_path, "OUT 1\n", "other.kta")
    proc = _run("run", other, "--load-state", str(tmp_path / "s.npz"))
    assert proc.returncode == 65 and "from another program" in proc.stderr


def test_same_outputs_with_a_cold_and_a_warm_numba_cache(tmp_path):
    src = _write(
        tmp_path,
        ".core cols=4 spaces=2 lanes=2 model=mss seed=9\n.aat x = (1, 2)\n"
        "LOOP 40\nFF.RU r0, L1, x\nRFLV r1, L0, x, 0.3\nOUT r0\nOUT r1\nENDLOOP\n",
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), KTASM_PROGRESS="1")
    runs = [
        subprocess.run(
            [sys.executable, "-m", "ktasm", "run", src, "--json"], capture_output=True, text=True, env=env
        )
        for _ in range(2)
    ]  # compiles, then loads the cache
    assert any((tmp_path / "cache").rglob("*.nbi")), "the first run should have filled the cache"
    outputs = [json.loads(r.stdout)["outputs"] for r in runs]
    assert outputs[0] == outputs[1] and len(outputs[0]) == 80
    assert "compiling kernels, once" in runs[0].stderr  # the notice while the cold run compiles
