"""The ktasm command line: fast help, exit codes, the claims job."""

import json
import subprocess
import sys

from click.testing import CliRunner

from ktasm.cli import cli


def _run(*args):
    return subprocess.run([sys.executable, "-m", "ktasm", *args], capture_output=True, text=True)


def test_help_does_not_import_numba():
    code = ("import sys; sys.argv = ['ktasm', '--help']\n"
            "from ktasm.cli import main\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "assert 'numba' not in sys.modules, 'ktasm --help imported numba'\n"
            "assert 'vm' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "claims" in proc.stdout


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


def test_claims_table():
    result = CliRunner().invoke(cli, ["claims", "--only", "pooling"])
    assert result.exit_code == 0
    assert "PASS" in result.output and "1 of 1 claims reproduced" in result.output
