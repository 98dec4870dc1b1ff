"""Named outputs through `ktasm run` (text, --json, --out FILE.npz|.csv|.json) and the API,
-D on check, asm, run and repl, and a runtime fault's caret on its operand."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from ktasm.cli import main
from ktasm.repl.engine import Session
from vm.machine import Machine

NAMED = """
.vec h n=3
    VFILL h, 0.5
    VSET h, 2, -1
    OUT 7
    LOOP 2
        OUT 1.5, "mean"
        VOUT h, "h"
    ENDLOOP
    OUT 2, "once"
    VOUT h, "last"
    OUT 8
"""


def ktasm(capsys, *args) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def named(tmp_path):
    path = tmp_path / "named.kta"
    path.write_text(NAMED)
    return str(path)


def test_run_prints_named_outputs_by_name_and_unnamed_as_before(capsys, named):
    code, out, _ = ktasm(capsys, "run", named)
    assert code == 0
    assert out.splitlines() == [
        "7.0",
        "mean = 1.5",
        "h = [0.5, 0.5, -1.0]",
        "mean = 1.5",
        "h = [0.5, 0.5, -1.0]",
        "once = 2.0",
        "last = [0.5, 0.5, -1.0]",
        "8.0",
    ]


def test_run_json_groups_named_outputs(capsys, named):
    code, out, _ = ktasm(capsys, "run", named, "--json")
    record = json.loads(out)
    assert code == 0 and record["outputs"] == [7.0, 8.0]
    assert record["named"] == {
        "mean": [1.5, 1.5],
        "h": [[0.5, 0.5, -1.0], [0.5, 0.5, -1.0]],
        "once": 2.0,
        "last": [0.5, 0.5, -1.0],
    }


def test_a_program_without_names_prints_and_reports_as_before(capsys, tmp_path):
    path = tmp_path / "plain.kta"
    path.write_text("OUT 1\nOUT 2\n")
    assert ktasm(capsys, "run", str(path))[1] == "1.0\n2.0\n"
    record = json.loads(ktasm(capsys, "run", str(path), "--json")[1])
    assert record["outputs"] == [1.0, 2.0] and "named" not in record


def test_run_out_writes_npz_csv_and_json(capsys, named, tmp_path):
    assert ktasm(capsys, "run", named, "--out", str(tmp_path / "o.npz"))[0] == 0
    with np.load(tmp_path / "o.npz") as arrays:
        assert sorted(arrays.files) == ["h", "last", "mean", "once", "outputs"]
        np.testing.assert_array_equal(arrays["outputs"], [7, 8])
        np.testing.assert_array_equal(arrays["h"], [[0.5, 0.5, -1], [0.5, 0.5, -1]])
        np.testing.assert_array_equal(arrays["mean"], [1.5, 1.5])
        assert arrays["once"].shape == () and float(arrays["once"]) == 2.0
    assert ktasm(capsys, "run", named, "--out", str(tmp_path / "o.json"))[0] == 0
    record = json.loads((tmp_path / "o.json").read_text())
    assert record["outputs"] == [7.0, 8.0] and record["named"]["last"] == [0.5, 0.5, -1.0]
    assert ktasm(capsys, "run", named, "--out", str(tmp_path / "o.csv"))[0] == 0
    rows = list(csv.reader((tmp_path / "o.csv").open()))
    assert rows[0] == ["name", "write", "element", "value"]
    assert rows[1:4] == [["outputs", "0", "0", "7.0"], ["mean", "0", "0", "1.5"], ["h", "0", "0", "0.5"]]
    assert ["h", "1", "2", "-1.0"] in rows and rows[-1] == ["outputs", "1", "0", "8.0"]


def test_run_out_refuses_an_unknown_format_before_running(capsys, named, tmp_path):
    code, _, err = ktasm(capsys, "run", named, "--out", str(tmp_path / "o.txt"))
    assert code == 64 and "the extension says the format" in err


def test_named_outputs_through_the_api():
    program = assemble_text(NAMED)
    assert program.output_names == ["mean", "h", "once", "last"]
    assert program.output_widths == [0, 3, 0, 3]
    for result in (Machine(program).run(), Machine(program).step(1000)):
        assert result.outputs.tolist()[:2] == [7.0, 1.5]  # every output, in order, as before
        assert result.unnamed.tolist() == [7.0, 8.0]
        assert result.named["once"] == 2.0
        np.testing.assert_array_equal(result.named["mean"], [1.5, 1.5])
        np.testing.assert_array_equal(result.named["h"], [[0.5, 0.5, -1], [0.5, 0.5, -1]])
        np.testing.assert_array_equal(result.named["last"], [0.5, 0.5, -1])


def test_named_outputs_survive_bytecode_and_checkpoints(tmp_path):
    from vm.bytecode import Program

    program = Program.from_bytes(assemble_text(NAMED).to_bytes())
    assert program.output_names == ["mean", "h", "once", "last"]
    first = Machine(program)
    first.run(max_steps=6)
    first.save_checkpoint(tmp_path / "c.npz")
    second = Machine(program)
    second.load_checkpoint(tmp_path / "c.npz")
    assert second.run().named.keys() == Machine(program).run().named.keys()


@pytest.mark.parametrize(
    "src, message",
    [
        ('.vec h n=2\nOUT 1, "x"\nVOUT h, "x"\n', "output 'x' is a vector of 2 here but a scalar (OUT)"),
        ('.vec h n=2\n.vec g n=3\nVOUT h, "x"\nVOUT g, "x"\n', "a vector of 3 here but a vector of 2"),
        ('OUT 1, ""\n', "an output name cannot be empty"),
        ('OUT 1, "outputs"\n', "is reserved"),
        ("OUT 1, x\n", "expected a quoted output name"),
    ],
)
def test_output_name_errors(src, message):
    import re

    from ktasm.errors import KtasmError

    with pytest.raises(KtasmError, match=re.escape(message)):
        assemble_text(src)


# ---------------------------------------------------------------- -D
DEFINED = ".const N = 2\n.if defined(BIG)\nOUT 1000\n.endif\nOUT N\n"


def test_define_on_run_check_and_asm(capsys, tmp_path):
    path = tmp_path / "d.kta"
    path.write_text(DEFINED)
    assert ktasm(capsys, "run", str(path))[1] == "2.0\n"
    assert ktasm(capsys, "run", str(path), "-D", "N=0x10", "--define", "BIG=1")[1] == "1000.0\n16.0\n"
    code, out, _ = ktasm(capsys, "check", str(path), "-D", "BIG=1")
    assert code == 0 and "ok (2 instructions)" in out
    out_file = tmp_path / "d.ktb"
    assert ktasm(capsys, "asm", str(path), "-D", "N=5", "-o", str(out_file))[0] == 0
    assert ktasm(capsys, "run", str(out_file))[1] == "5.0\n"
    code, _, err = ktasm(capsys, "run", str(out_file), "-D", "N=1")
    assert code == 64 and "bytecode" in err


@pytest.mark.parametrize(
    "item, message",
    [
        ("N=abc", "'abc' is not a number"),
        ("N", "expected NAME=VALUE"),
        ("r1=2", "reserved"),
        ("N=nan", "not a number"),
    ],
)
def test_a_bad_define_is_a_usage_error(capsys, tmp_path, item, message):
    path = tmp_path / "d.kta"
    path.write_text(DEFINED)
    for command in ("run", "check", "asm"):
        code, _, err = ktasm(capsys, command, str(path), "-D", item)
        assert code == 64 and message in err, (command, err)


def test_define_on_the_repl_and_its_sessions(capsys, tmp_path):
    path = tmp_path / "d.kta"
    path.write_text(DEFINED)
    code, out, _ = ktasm(capsys, "repl", str(path), "-D", "BIG=1", "-D", "N=3", "-e", ".continue")
    assert code == 0 and "out [1000, 3]" in out
    printed: list[str] = []
    session = Session(out=printed.append, err=printed.append, defines={"N": 4})
    session.execute(f".load {path}")
    session.execute(".continue")
    assert "out [4]" in printed
    session.execute(f".save {tmp_path / 's.npz'}")
    again = Session(out=printed.append, err=printed.append)
    again.restore(str(tmp_path / "s.npz"))
    assert again.machine.program.consts["N"] == 4


# ---------------------------------------------------------------- runtime faults point at the operand
def test_a_runtime_fault_points_at_its_operand(capsys, tmp_path):
    path = tmp_path / "f.kta"
    path.write_text(".aat z = 0\n    MOV r3, 1.5\n    FF r0, L0, z, r3\n")
    code, _, err = ktasm(capsys, "run", str(path))
    lines = err.splitlines()[1:]  # after the stats line
    assert code == 70 and lines[0].startswith(f"{path}:3:19: runtime error: read dial 1.5")
    assert lines[2].index("^") == 4 + 18
    path.write_text(".mtj m n=2\n    MOV r1, -1\n    MPULSE m, 1.5, r1\n")
    err = ktasm(capsys, "run", str(path))[2]
    assert err.splitlines()[1].startswith(f"{path}:3:20: runtime error: pulse -1")
