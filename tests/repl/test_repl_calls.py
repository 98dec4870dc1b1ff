"""The REPL knows subroutines: .step into a CALL and out of a RET, .list marks the target,
a breakpoint inside a subroutine stops there, and a typed CALL is refused."""

from __future__ import annotations

from ktasm.repl.engine import Session

PROGRAM = """\
        MOV   r0, 3
        CALL  square
        OUT   r1, "sq"
        HALT
square: MUL   r1, r0, r0
        RET
"""


def session(tmp_path) -> tuple[Session, list[str]]:
    path = tmp_path / "calls.kta"
    path.write_text(PROGRAM)
    printed: list[str] = []
    s = Session(out=printed.append, err=printed.append)
    s.execute(f".load {path}")
    printed.clear()
    return s, printed


def test_step_into_a_call_and_out_of_its_ret(tmp_path):
    s, printed = session(tmp_path)
    s.execute(".step 2")
    text = "\n".join(printed)
    assert "call pc 4 (square); call depth 1" in text
    printed.clear()
    s.execute(".step 2")
    text = "\n".join(printed)
    assert "r1 = 9" in text and "return to pc 2; call depth 0" in text
    printed.clear()
    s.execute(".step")
    assert any("out [9]" in line for line in printed)
    assert s.machine.named_outputs() == {"sq": 9.0}


def test_list_marks_the_call_target_and_breakpoints_stop_inside(tmp_path):
    s, printed = session(tmp_path)
    s.execute(".list all")
    listing = "\n".join(printed)
    assert "CALL      4 (square)" in listing and ">>" in listing.splitlines()[5]
    printed.clear()
    s.execute(".break square")
    s.execute(".continue")
    assert s.machine.pc == 4 and s.machine.call_stack == [2]
    assert any(line.startswith("break:") for line in printed)


def test_a_typed_call_needs_a_program(tmp_path):
    s, printed = session(tmp_path)
    s.execute("CALL square")
    assert any("CALL needs a program around it" in line for line in printed)
    s.execute("RET")
    assert any("RET needs a program around it" in line for line in printed)
