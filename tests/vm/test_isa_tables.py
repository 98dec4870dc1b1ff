"""The instruction and fault tables: the generated constants are current, and every row's
example assembles and runs the same through the compiled loop and the step path."""

from __future__ import annotations

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from vm import codegen, codes, faults, isa
from vm.machine import Machine

# Declares every name the examples use, at lengths their shape rules accept.
PRELUDE = """
.core rows=2 cols=2 spaces=2 lanes=2 seed=4
.aat x = (1, 3)
.data labels
.data features
.data inputs
.data weights
.data mixture
.vec h n=16
.vec h2 n=16
.vec g n=16
.vec v n=16
.vec drift n=16
.vec s n=16
.vec ohms n=16
.vec bits n=16
.vec cells n=256
.vec current n=16
.mtj coins n=16
.pairs w rows=16 cols=16 levels=1
.bank layer n=16 j2=-1 j4=1 temperature=0.5 dt=0.05 tf=0.5
.ou noise n=16
    MOV r0, 0.25
    MOV r1, -0.5
    MOV r5, 0.1
    VFILL h, 0.5
    VFILL g, -0.25
    VFILL s, 1
"""

DATA = {
    "labels": np.array([[1.0], [0.0]]),
    "features": np.array([[0.0, 2.0], [3.0, -1.0]]),
    "inputs": np.linspace(-1, 1, 32).reshape(2, 16),
    "weights": np.tile([1.0, -1.0, 0.5, 0.0], (16, 4)),
    "mixture": np.array([[1.0, -2.0, 0.5], [3.0, 1.0, 0.1]]),
}

# A block instruction's example runs inside its block.
BLOCKS = {
    "LOOP": "{example}\nOUT r1\nENDLOOP",
    "ENDLOOP": "LOOP 3\nOUT r1\n{example}",
    "RET": "CALL sub\nOUT r1\nJMP done\nsub:\nMOV r1, 7\n{example}",
}
ROWS = [ins for ins in isa.INSTRUCTIONS if ins.group != "fused"] + [isa.BY_MNEMONIC["FF.RH"]]


def test_generated_codes_are_current():
    assert codegen.main(["--check"]) == 0, "vm/codes.py is stale: run python -m vm.codegen"


def test_codes_match_the_tables():
    for ins in isa.INSTRUCTIONS:
        assert getattr(codes, f"OP_{codegen.constant_name(ins.mnemonic)}") == ins.opcode
    for code, fault in enumerate(faults.FAULTS):
        assert getattr(codes, f"F_{fault.name.upper()}") == code
    # the interpreter reads every read row with FF's layout and every feedback with FH's
    for ins in isa.INSTRUCTIONS:
        if ins.group in ("kT-RAM read", "fused"):
            assert ins.fields() == isa.BY_MNEMONIC["FF"].fields()
        elif ins.group == "kT-RAM feedback":
            assert ins.fields() == isa.BY_MNEMONIC["FH"].fields()


def test_every_fault_message_formats():
    for code, fault in enumerate(faults.FAULTS[1:], start=1):
        text = faults.message(code, 1.5, n_lanes=2, n_addresses=4)
        assert text and "{" not in text, fault.name
        assert fault.raised_by and fault.reports


def test_every_row_has_an_example_of_its_own_mnemonic():
    for ins in isa.INSTRUCTIONS:
        assert ins.example.split()[0] == ins.mnemonic, ins.mnemonic


@pytest.mark.parametrize("ins", ROWS, ids=[i.mnemonic for i in ROWS])
def test_example_runs_the_same_compiled_and_stepped(ins):
    body = BLOCKS.get(ins.mnemonic, "{example}").format(example=ins.example)
    source = PRELUDE + body + "\nOUT r0\nOUT r1\nstart:\ndone:\n    HALT\n"
    program = assemble_text(source)
    fast, slow = Machine(program, DATA), Machine(program, DATA)
    r_fast = fast.run(max_steps=10_000)
    r_slow = slow.step(10_000)
    assert r_fast.reason == r_slow.reason == "halted", (r_fast.reason, r_fast.fault)
    np.testing.assert_array_equal(r_fast.outputs, r_slow.outputs)
    for name in ("vals", "aats", "status", "fault_value", "calls", "vec", "dev_meters"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    for name, value in fast.core.get_state().items():
        np.testing.assert_array_equal(getattr(slow.core, name), value, err_msg=name)
