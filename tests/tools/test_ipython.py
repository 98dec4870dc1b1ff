"""The IPython extension in-process (IPython's InteractiveShell, no kernel, no browser):
%%kta assembles and runs a cell, binds the result, takes data from notebook variables;
%kta drives one REPL session across cells; errors are caret diagnostics, not tracebacks."""

import numpy as np
import pytest

pytest.importorskip("IPython")

from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from IPython.utils.capture import capture_output  # noqa: E402

from vm.machine import Machine, RunResult  # noqa: E402

CELL = """.core lanes=2 seed=5
.aat a = (0)
        FF  L0, a
        OUT 1
        OUT 2
"""


@pytest.fixture(scope="module")
def shell():
    ip = InteractiveShell.instance()
    ip.run_line_magic("load_ext", "ktasm")
    return ip


def _cell(shell, line, cell):
    with capture_output() as captured:
        value = shell.run_cell_magic("kta", line, cell)
    return value, captured


def test_cell_runs_and_binds_the_result(shell):
    value, captured = _cell(shell, "--out res", CELL)
    assert isinstance(value, Machine)
    result = shell.user_ns["res"]
    assert isinstance(result, RunResult) and shell.user_ns["res_machine"] is value
    assert result.outputs.tolist() == [1.0, 2.0]
    assert captured.stderr == ""


def test_seed_and_model_options_reach_the_machine(shell):
    a, _ = _cell(shell, "--seed 11 --model byte", CELL)
    b, _ = _cell(shell, "--seed=11 --model=byte", CELL)
    c, _ = _cell(shell, "--seed 12", CELL)
    assert a.core.model == "byte" and a.seed == 11
    assert np.array_equal(a.core.g, b.core.g)
    assert not np.array_equal(a.core.g, c.core.g)
    assert shell.user_ns["kta"].outputs.tolist() == [1.0, 2.0]  # default name


def test_data_from_a_notebook_variable(shell):
    shell.user_ns["table"] = np.array([[3.0, 4.0], [5.0, 6.0]])
    value, captured = _cell(
        shell,
        "-D t=table --out r",
        ".data t\n        LD r1, t, 1, 0\n        OUT r1\n        ROWS r2, t\n        OUT r2\n",
    )
    assert captured.stderr == "", captured.stderr
    assert shell.user_ns["r"].outputs.tolist() == [5.0, 2.0]


def test_bad_cell_shows_the_caret_not_a_traceback(shell):
    value, captured = _cell(shell, "", ".aat a = (0)\n        FX L0, a\n")
    assert value is None
    assert "<cell>:2:9: error:" in captured.stderr
    assert "        FX L0, a" in captured.stderr and "^" in captured.stderr
    assert "Traceback" not in captured.stderr + captured.stdout
    _, bad_option = _cell(shell, "--seed x", CELL)
    assert "--seed expects an integer" in bad_option.stderr
    _, fault = _cell(shell, "", "        MOV r1, 0\n        DIV r2, 1, r1\n")
    assert "<cell>:2:" in fault.stderr and "runtime error" in fault.stderr


def test_line_magic_drives_one_session_across_cells(shell):
    with capture_output() as captured:
        shell.run_line_magic("kta", ".aat z = (0)")
        shell.run_line_magic("kta", "MOV r3, 4")
        shell.run_line_magic("kta", "ADD r3, r3, 1")
        shell.run_line_magic("kta", ".state L0")
        shell.run_line_magic("kta", "FX L0, z")
    session = shell.user_ns["kta_session"]
    assert float(session.machine.registers[3]) == 5.0
    assert "m = Ga+Gb" in captured.stdout  # the .state table of L0
    assert "<kta>:5:1: error:" in captured.stderr and "Traceback" not in captured.stderr
    assert shell.run_line_magic("kta", "") is session.machine


def test_cell_through_run_cell_displays_html(shell):
    with capture_output() as captured:
        shell.run_cell("%%kta --out shown\n" + CELL)
    assert "Traceback" not in captured.stdout + captured.stderr
    assert shell.user_ns["shown"].outputs.tolist() == [1.0, 2.0]
    assert "<b>pairs</b>" in shell.user_ns["shown_machine"]._repr_html_()


def test_ipython_formats_machine_result_program_and_core_as_html(shell):
    from vm.ktram.core import Core

    machine, _ = _cell(shell, "--out fmt", CELL)
    for obj in (machine, shell.user_ns["fmt"], machine.program, Core(1, 1)):
        data, _ = shell.display_formatter.format(obj)
        assert "<table>" in data["text/html"]
        assert data["text/plain"].startswith(("<Machine", "<RunResult", "<Program", "Core("))


def test_cell_magic_d_with_a_number_defines_a_constant():
    from ktasm.ipython import run_cell

    namespace: dict = {}
    run_cell("-D N=0x10 --out r", ".const N = 1\nOUT N\n.if N > 8\nOUT 99\n.endif\n", namespace)
    assert namespace["r"].outputs.tolist() == [16.0, 99.0]
