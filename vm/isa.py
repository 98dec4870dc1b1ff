"""The machine's instruction table: every bytecode instruction, one row each.

This is the single source of truth for the language. The assembler checks and encodes
operands from it, the loader verifies bytecode against it, the disassembler, REPL
completion and the language reference read it. The 14 kT-RAM rows (and the 40 fused
READ.FEEDBACK rows) are generated from ``vm.ktram.isa`` so their opcodes equal the
physics kernels' codes.

An encoded instruction is one row of ``int64[N_FIELDS + 1]``: the opcode, then one field
per operand slot. What a field holds depends on its operand kind:

- ``REG``: a register index 0..15 (written);  ``-1`` when an optional one is left out.
- ``VALUE``/``LANE``: an index into the value file (registers, then loop counters, then
  the constant pool), so a number, a constant and a register are read the same way.
- ``AAT``: a row of the AAT table;  ``DATA``: a data slot;  ``LABEL``: a pc.
- ``COUNTER``: a loop-counter slot in the value file (filled by the assembler).
- ``RANGE``: two fields, the first register and the count.

Importing this module does not import Numba.
"""

from __future__ import annotations

from dataclasses import dataclass

from vm.ktram import isa as _kt

N_REGISTERS = 16
N_FIELDS = 4
CODE_WIDTH = N_FIELDS + 1

# Operand kinds
REG = "reg"
VALUE = "value"
LANE = "lane"
AAT = "aat"
DATA = "data"
LABEL = "label"
COUNTER = "counter"
RANGE = "range"

KIND_HELP = {
    REG: "a register r0..r15",
    VALUE: "a number, constant expression or register",
    LANE: "a lane Ln or L[expr] (expr may be a register)",
    AAT: "an AAT name (.aat)",
    DATA: "a data name (.data)",
    LABEL: "a label",
    COUNTER: "(loop counter, filled in by the assembler)",
    RANGE: "a register range ra..rb",
}


@dataclass(frozen=True)
class Operand:
    name: str  # how the docs and messages call it
    kind: str
    optional: bool = False
    hidden: bool = False  # filled by the assembler, not written in the source
    default: float | None = None  # VALUE left out: this constant

    @property
    def width(self) -> int:
        return 2 if self.kind == RANGE else 1


@dataclass(frozen=True)
class Instruction:
    mnemonic: str
    opcode: int
    operands: tuple[Operand, ...]
    group: str  # kT-RAM read / kT-RAM feedback / fused / arithmetic / control / data / debug
    summary: str
    example: str = ""

    @property
    def source_operands(self) -> tuple[Operand, ...]:
        return tuple(o for o in self.operands if not o.hidden)

    def fields(self) -> list[tuple[Operand, int]]:
        """(operand, first field index) for every operand, in encoding order."""
        out, pos = [], 1
        for o in self.operands:
            out.append((o, pos))
            pos += o.width
        return out

    def signature(self) -> str:
        parts = []
        for o in self.source_operands:
            parts.append(f"[{o.name}]" if o.optional else o.name)
        return f"{self.mnemonic} {', '.join(parts)}".rstrip()


_RD_OPT = Operand("rd", REG, optional=True)
_LANE = Operand("lane", LANE)
_AAT = Operand("aat", AAT)
_DIAL = Operand("dial", VALUE, optional=True, default=0.0)


def _rows() -> list[Instruction]:
    rows: list[Instruction] = []
    for ins in _kt.INSTRUCTIONS:  # opcodes 0..13 are the kernels' own codes
        if ins.is_read:
            rows.append(Instruction(
                ins.mnemonic, ins.code, (_RD_OPT, _LANE, _AAT, _DIAL), "kT-RAM read",
                ins.summary + "; dial in [0, 1] lowers the read voltage (more noise)",
                f"{ins.mnemonic} r0, L0, x"))
        else:
            rows.append(Instruction(ins.mnemonic, ins.code, (_LANE, _AAT), "kT-RAM feedback",
                                    ins.summary, f"{ins.mnemonic} L0, x"))
    code = len(rows)
    for r in _kt.INSTRUCTIONS:
        if not r.is_read:
            continue
        for f in _kt.INSTRUCTIONS:
            if f.is_read:
                continue
            name = f"{r.mnemonic}.{f.mnemonic}"
            rows.append(Instruction(name, code, (_RD_OPT, _LANE, _AAT, _DIAL), "fused",
                                    f"{r.mnemonic} then {f.mnemonic} on the same lane and AAT",
                                    f"{name} r0, L0, x"))
            code += 1

    def add(mnemonic, operands, group, summary, example=""):
        nonlocal code
        rows.append(Instruction(mnemonic, code, tuple(operands), group, summary, example))
        code += 1

    rd, ra, rb = Operand("rd", REG), Operand("a", VALUE), Operand("b", VALUE)
    add("MOV", (rd, Operand("value", VALUE)), "arithmetic", "rd = value", "MOV r4, 0.5")
    for name, sym in (("ADD", "a + b"), ("SUB", "a - b"), ("MUL", "a * b"),
                      ("DIV", "a / b (b = 0 is a runtime fault)"), ("MIN", "min(a, b)"),
                      ("MAX", "max(a, b)")):
        add(name, (rd, ra, rb), "arithmetic", f"rd = {sym}", f"{name} r1, r1, 2")
    add("NEG", (rd, ra), "arithmetic", "rd = -a", "NEG r1, r0")
    add("ABS", (rd, ra), "arithmetic", "rd = |a|", "ABS r1, r0")
    add("FLOOR", (rd, ra), "arithmetic", "rd = floor(a)", "FLOOR r1, r0")
    add("ARGMAX", (rd, Operand("regs", RANGE)), "arithmetic",
        "rd = position (from 0) of the largest register in the range; ties go to the first",
        "ARGMAX r9, r0..r3")
    target = Operand("target", LABEL)
    add("JMP", (target,), "control", "jump to target", "JMP start")
    for name, sym in (("JEQ", "a == b"), ("JNE", "a != b"), ("JLT", "a < b"), ("JLE", "a <= b"),
                      ("JGT", "a > b"), ("JGE", "a >= b")):
        add(name, (ra, rb, target), "control", f"jump to target if {sym}", f"{name} r0, 0, done")
    add("LOOP", (Operand("count", VALUE), Operand("counter", COUNTER, hidden=True),
                 Operand("exit", LABEL, hidden=True)), "control",
        "repeat the block up to the matching ENDLOOP count times (count read once, truncated; "
        "<= 0 skips it)", "LOOP 100")
    add("ENDLOOP", (Operand("counter", COUNTER, hidden=True), Operand("body", LABEL, hidden=True)),
        "control", "end of a LOOP block", "ENDLOOP")
    add("HALT", (), "control", "stop the program", "HALT")
    add("NOP", (), "control", "do nothing", "NOP")
    add("OUT", (Operand("value", VALUE),), "data", "append value to the run's outputs", "OUT r0")
    add("LD", (rd, Operand("table", DATA), Operand("row", VALUE), Operand("col", VALUE)), "data",
        "rd = table[row, col] (indices truncated; out of range is a runtime fault)",
        "LD r1, labels, r8, 0")
    add("LDAAT", (Operand("aat", AAT), Operand("table", DATA), Operand("row", VALUE)), "data",
        "load an AAT from a data row: one address per space, negative = disabled",
        "LDAAT x, features, r8")
    add("ROWS", (rd, Operand("table", DATA)), "data", "rd = number of rows of table",
        "ROWS r7, features")
    add("COLS", (rd, Operand("table", DATA)), "data", "rd = number of columns of table",
        "COLS r7, features")
    add("SETY", (_LANE, _AAT, Operand("y0", VALUE), Operand("level", VALUE)), "kT-RAM set-up",
        "place every enabled pair at weight y0 in [-1, 1] with magnitude 2*level*GMAX",
        "SETY L0, x, 0.3, 0.05")
    add("GAB", (Operand("ra", REG), Operand("rb", REG), _LANE, _AAT), "kT-RAM set-up",
        "ra = sum Ga, rb = sum Gb over the enabled pairs (a debug read: no physics)",
        "GAB r2, r3, L0, x")
    return rows


INSTRUCTIONS: tuple[Instruction, ...] = tuple(_rows())
BY_MNEMONIC: dict[str, Instruction] = {i.mnemonic: i for i in INSTRUCTIONS}
BY_OPCODE: dict[int, Instruction] = {i.opcode: i for i in INSTRUCTIONS}
MNEMONICS: tuple[str, ...] = tuple(i.mnemonic for i in INSTRUCTIONS)

assert all(INSTRUCTIONS[i].opcode == i for i in range(len(INSTRUCTIONS)))
assert all(len(i.fields()) == 0 or i.fields()[-1][1] + i.fields()[-1][0].width - 1 <= N_FIELDS
           for i in INSTRUCTIONS)


def _code(name: str) -> int:
    return BY_MNEMONIC[name].opcode


# Opcodes the interpreter switches on (the table stays the one place they are defined).
N_KT = len(_kt.INSTRUCTIONS)
FUSED_FIRST = N_KT
FUSED_LAST = _code(f"{_kt.READS[-1]}.{_kt.FEEDBACKS[-1]}")
N_KT_FEEDBACKS = len(_kt.FEEDBACKS)
# The interpreter decodes a fused opcode arithmetically: read = k // N_KT_FEEDBACKS and
# feedback = N_READS + k % N_KT_FEEDBACKS, which needs reads first, then feedbacks.
assert [_kt.BY_MNEMONIC[m].code for m in _kt.READS + _kt.FEEDBACKS] == list(range(N_KT))
(OP_MOV, OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MIN, OP_MAX, OP_NEG, OP_ABS, OP_FLOOR, OP_ARGMAX,
 OP_JMP, OP_JEQ, OP_JNE, OP_JLT, OP_JLE, OP_JGT, OP_JGE, OP_LOOP, OP_ENDLOOP, OP_HALT, OP_NOP,
 OP_OUT, OP_LD, OP_LDAAT, OP_ROWS, OP_COLS, OP_SETY, OP_GAB) = (
    _code(m) for m in ("MOV", "ADD", "SUB", "MUL", "DIV", "MIN", "MAX", "NEG", "ABS", "FLOOR",
                       "ARGMAX", "JMP", "JEQ", "JNE", "JLT", "JLE", "JGT", "JGE", "LOOP",
                       "ENDLOOP", "HALT", "NOP", "OUT", "LD", "LDAAT", "ROWS", "COLS", "SETY",
                       "GAB"))
N_OPCODES = len(INSTRUCTIONS)


def lookup(mnemonic: str) -> Instruction | None:
    """Row by mnemonic, case-insensitive; None if there is none."""
    return BY_MNEMONIC.get(mnemonic.upper())
