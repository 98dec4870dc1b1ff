"""Subroutines (CALL/RET and the call stack), the scalar math rows, RAND and the comparisons
into a register: each on the compiled loop and the step path, with its faults."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from ktasm.errors import runtime_error_text
from vm import isa
from vm.machine import Machine
from vm.rng import PyXoshiro
from vm.state import CALL_DEPTH

STATE = ("vals", "aats", "status", "fault_value", "calls", "vec", "dev_meters")


def both(src: str, **kw):
    """(compiled result, stepped result) of src, after checking they left the same state."""
    program = assemble_text(src, "p.kta")
    fast, slow = Machine(program, **kw), Machine(program, **kw)
    r_fast, r_slow = fast.run(max_steps=100_000), slow.step(100_000)
    assert r_fast.reason == r_slow.reason, (r_fast.reason, r_slow.reason)
    np.testing.assert_array_equal(r_fast.outputs, r_slow.outputs)
    for name in STATE:
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    for name, value in fast.core.get_state().items():
        np.testing.assert_array_equal(getattr(slow.core, name), value, err_msg=name)
    return r_fast, r_slow


def outputs(src: str) -> list[float]:
    result, _ = both(src)
    assert result.fault is None, result.fault
    return result.outputs.tolist()


# ---------------------------------------------------------------- the math rows
@pytest.mark.parametrize(
    "line, a, b, expected",
    [
        ("MOD r2, r0, r1", 7.0, 3.0, 1.0),
        ("MOD r2, r0, r1", -7.0, 3.0, 2.0),  # the sign of b, as Python's %
        ("MOD r2, r0, r1", 7.0, -3.0, -2.0),
        ("MOD r2, r0, r1", 7.5, 2.0, 1.5),
        ("MOD r2, r0, r1", -6.0, 3.0, 0.0),
        ("SQRT r2, r0", 2.25, 0, 1.5),
        ("SQRT r2, r0", 0.0, 0, 0.0),
        ("EXP r2, r0", 1.0, 0, math.e),
        ("EXP r2, r0", 1000.0, 0, math.inf),  # overflow is inf, not an error
        ("EXP r2, r0", -1000.0, 0, 0.0),
        ("LOG r2, r0", math.e**2, 0, 2.0),
        ("LOG r2, r0", 0.0, 0, -math.inf),
        ("POW r2, r0, r1", 2.0, 10.0, 1024.0),
        ("POW r2, r0, r1", -2.0, 3.0, -8.0),  # a negative base with a whole exponent
        ("POW r2, r0, r1", 10.0, 400.0, math.inf),
        ("POW r2, r0, r1", 4.0, -0.5, 0.5),
        ("SIGMOID r2, r0", 0.0, 0, 0.5),
        ("SIGMOID r2, r0", 800.0, 0, 1.0),  # neither branch overflows
        ("SIGMOID r2, r0", -800.0, 0, 0.0),
        ("SIGMOID r2, r0", math.log(3.0), 0, 0.75),
    ],
)
def test_each_math_row_on_both_paths(line, a, b, expected):
    (value,) = outputs(f"MOV r0, {a!r}\nMOV r1, {b!r}\n{line}\nOUT r2\n".replace("inf", "1e400"))
    assert value == pytest.approx(expected, rel=1e-15, abs=1e-300) or value == expected


def test_math_of_nan_propagates_without_a_fault():
    src = "MOV r0, 1e308\nMUL r0, r0, 10\nSUB r0, r0, r0\n" + "".join(
        f"{op} r1, r0\nOUT r1\n" for op in ("SQRT", "EXP", "LOG", "SIGMOID")
    )
    assert all(math.isnan(v) for v in outputs(src))


@pytest.mark.parametrize(
    "op, sym",
    [("SEQ", "=="), ("SNE", "!="), ("SLT", "<"), ("SLE", "<="), ("SGT", ">"), ("SGE", ">=")],
)
def test_comparisons_into_a_register(op, sym):
    pairs = [(1, 2), (2, 2), (3, 2), (-1, -1.5)]
    src = "".join(f"MOV r0, {a}\n{op} r1, r0, {b}\nOUT r1\n" for a, b in pairs)
    assert outputs(src) == [float(eval(f"{a} {sym} {b}")) for a, b in pairs]


def test_comparisons_with_nan_are_false_but_sne():
    src = "MOV r0, 1e308\nMUL r0, r0, 10\nSUB r0, r0, r0\n" + "".join(
        f"{op} r1, r0, r0\nOUT r1\n" for op in ("SEQ", "SNE", "SLT", "SLE", "SGT", "SGE")
    )
    assert outputs(src) == [0, 1, 0, 0, 0, 0]


def test_rand_draws_the_machines_stream():
    program = assemble_text(".core seed=9\nLOOP 50\nRAND r0\nOUT r0\nENDLOOP\n")
    machine = Machine(program)
    start = machine.core.rng_state.copy(), machine.core.rng_spare.copy()
    result = machine.run()
    twin = PyXoshiro(*start)
    assert result.outputs.tolist() == [twin.uniform() for _ in range(50)]
    assert all(0.0 <= v < 1.0 for v in result.outputs)
    both(".core seed=9\nLOOP 50\nRAND r0\nOUT r0\nENDLOOP\n")


def test_rand_is_uniform():
    n = 20_000
    program = assemble_text(
        f".core seed=3\nLOOP {n}\nRAND r1\nADD r0, r0, r1\nSLT r2, r1, 0.25\nADD r3, r3, r2\n"
        f"ENDLOOP\nDIV r0, r0, {n}\nOUT r0\nOUT r3\n"
    )
    mean, below = Machine(program).run().outputs
    assert abs(mean - 0.5) < 4 * math.sqrt(1 / 12 / n)
    assert abs(below - n / 4) < 4 * math.sqrt(n * 0.25 * 0.75)


@pytest.mark.parametrize(
    "line, value, message",
    [
        ("SQRT r1, r0", -4.0, "SQRT of a negative number -4"),
        ("LOG r1, r0", -0.5, "LOG of a negative number -0.5"),
        ("POW r1, r0, 0.5", -8.0, "POW of base -8 has no real value"),
        ("POW r1, r0, -1", 0.0, "POW of base 0 has no real value"),
        ("MOD r1, 5, r0", 0.0, "division by zero"),
        ("DIV r1, 5, r0", 0.0, "division by zero"),
    ],
)
def test_domain_errors_are_faults_with_the_value_and_point_at_the_operand(line, value, message):
    src = f"MOV r0, {value}\nNOP\n{line}\nOUT 1\n"
    for result in both(src):
        assert result.reason == "fault" and result.fault.pc == 2
        assert result.fault.message.startswith(message)
    program = assemble_text(src, "p.kta")
    fault = Machine(program).run().fault
    text = runtime_error_text(program, fault.pc, fault.message, fault.operand)
    caret_line = text.splitlines()[2]
    assert text.startswith(f"p.kta:3:{line.index('r0') + 1}: runtime error: ")
    assert caret_line.index("^") == 4 + line.index("r0")


# ---------------------------------------------------------------- subroutines
SUBROUTINES = """
        MOV   r0, 3
        CALL  square            ; r1 = r0 * r0
        OUT   r1
        MOV   r0, 5
        CALL  twice_square      ; nested: calls square twice
        OUT   r1
        OUT   r2
        HALT
square: MUL   r1, r0, r0
        RET
twice_square:
        CALL  square
        MOV   r2, r1
        CALL  square
        ADD   r1, r1, r2
        RET
"""


def test_call_and_ret_nest_and_return_after_the_call():
    assert outputs(SUBROUTINES) == [9, 50, 25]


def test_registers_are_unchanged_by_the_call_mechanism():
    src = "".join(f"MOV r{k}, {k + 0.5}\n" for k in range(16)) + "CALL sub\nHALT\nsub: RET\n"
    result, _ = both(src)
    assert result.registers.tolist() == [k + 0.5 for k in range(16)]


def test_recursion_counts_down_and_unwinds():
    src = """
        MOV r0, 10
        CALL down
        OUT r1
        HALT
down:   JEQ r0, 0, back
        ADD r1, r1, r0
        SUB r0, r0, 1
        CALL down
back:   RET
    """
    assert outputs(src) == [55]


def test_call_stack_overflow_is_a_fault_at_the_call():
    src = "NOP\nforever: CALL forever\n"
    for result in both(src):
        assert result.reason == "fault" and result.fault.pc == 1
        assert result.fault.message.startswith(f"CALL nested more than {CALL_DEPTH} deep")
        assert result.stats["instructions"] == 1 + CALL_DEPTH


def test_ret_with_an_empty_stack_is_a_fault_at_the_ret():
    src = "OUT 1\nRET\nOUT 2\n"
    for result in both(src):
        assert result.reason == "fault" and result.fault.pc == 1
        assert result.fault.message == "RET with an empty call stack (no CALL to return to)"
        assert result.outputs.tolist() == [1.0]
    program = assemble_text(src, "r.kta")
    fault = Machine(program).run().fault
    assert runtime_error_text(program, fault.pc, fault.message, fault.operand).startswith(
        "r.kta:2:1: runtime error: RET"
    )


def test_the_call_stack_is_part_of_the_machines_state():
    program = assemble_text(SUBROUTINES)
    m = Machine(program)
    m.step(8)  # MOV CALL MUL RET OUT MOV CALL CALL: inside twice_square -> square
    assert m.pc == program.labels["square"] and m.call_stack == [5, program.labels["twice_square"] + 1]
    whole = Machine(program).run()
    for split in range(0, 20):
        first = Machine(program)
        first.run(max_steps=split)
        second = Machine(program)
        second.set_state(first.get_state())
        np.testing.assert_array_equal(second.run().outputs, whole.outputs)


def test_checkpoint_inside_a_subroutine_resumes_bit_for_bit(tmp_path):
    src = """
    .core cols=2 seed=5 read_noise=0.05
    .aat x = 1
        LOOP 40
            CALL noisy
            OUT r0
        ENDLOOP
        HALT
    noisy:
        FF.RU r0, L0, x
        RAND r1
        ADD r0, r0, r1
        RET
    """
    program = assemble_text(src)
    whole = Machine(program).run()
    for split in (3, 4, 5, 77):
        first = Machine(program)
        first.run(max_steps=split)
        assert bool(first.call_stack) == (split < 6)  # LOOP CALL FF.RU RAND ADD | RET
        first.save_checkpoint(tmp_path / "c.npz")
        second = Machine(program)
        second.load_checkpoint(tmp_path / "c.npz")
        np.testing.assert_array_equal(second.run().outputs, whole.outputs)


def test_breakpoints_stop_inside_a_subroutine_on_both_paths():
    program = assemble_text(SUBROUTINES)
    for run in ("run", "step"):
        m = Machine(program)
        m.set_breakpoint(program.labels["square"])
        result = m.run() if run == "run" else m.step(1000)
        assert result.reason == "break" and m.pc == program.labels["square"]
        assert m.call_stack == [2]


def test_every_new_row_names_known_faults_and_rules():
    from vm import faults

    for ins in isa.INSTRUCTIONS:
        for operand in ins.operands:
            assert not operand.fault or operand.fault in faults.BY_NAME, (ins.mnemonic, operand.name)
            rule, _, other = operand.valid.partition(":")
            assert not rule or rule in isa.STATIC_RULES, (ins.mnemonic, operand.name)
            assert not other or other in {o.name for o in ins.operands}, (ins.mnemonic, operand.name)
            assert not operand.valid or operand.fault, (ins.mnemonic, operand.name)


def test_the_compiled_math_equals_pythons_on_random_inputs():
    """elementary (compiled, run by both paths) against Python's own float math."""
    from vm import codes
    from vm.interp import elementary

    rng = np.random.default_rng(5)
    us = np.concatenate([rng.normal(0, 30, 400), rng.uniform(-1e6, 1e6, 100), [0.0, -0.0, 1e-300]])
    ws = np.concatenate([rng.normal(0, 5, 400), rng.uniform(-50, 50, 100), [1.0, -2.5, 3.0]])
    for u, w in zip(us.tolist(), ws.tolist(), strict=True):
        if w != 0:
            assert elementary(codes.OP_MOD, u, w) == u % w, (u, w)
        if u < 700:
            assert elementary(codes.OP_EXP, u, 0.0) == math.exp(u), u
        if u > 0:
            assert elementary(codes.OP_LOG, u, 0.0) == math.log(u), u
            if abs(w * math.log(u)) < 700:  # no overflow: Python's pow does not raise
                assert elementary(codes.OP_POW, u, w) == math.pow(u, w), (u, w)
        expected = 1 / (1 + math.exp(-u)) if u >= 0 else math.exp(u) / (1 + math.exp(u)) if u > -700 else 0.0
        assert elementary(codes.OP_SIGMOID, u, 0.0) == pytest.approx(expected, rel=1e-15, abs=1e-300)
