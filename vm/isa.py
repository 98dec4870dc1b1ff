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
- ``TAG``: an output name, an index into the program's ``output_names``; ``-1`` for none.

An operand may name the fault (``vm.faults``) a bad value of it raises at run time
(``fault``), and a rule its value must keep (``valid``, ``STATIC_RULES``): the assembler
refuses a constant that breaks the rule, with the caret on it, and a runtime fault points
at the operand that raised it.

Importing this module does not import Numba.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vm.ktram import isa as _kt
from vm.state import CALL_DEPTH

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
VEC = "vec"
MTJ = "mtj"
PAIRS = "pairs"
BANK = "bank"
OU = "ou"
TAG = "tag"
# operand kinds naming a declared device (the field holds a device index; VEC a slot)
DEVICE_OPERANDS = {MTJ: "mtj", PAIRS: "pairs", BANK: "bank", OU: "ou"}

KIND_HELP = {
    REG: "a register r0..r15",
    VALUE: "a number, constant expression or register",
    LANE: "a lane Ln or L[expr] (expr may be a register)",
    AAT: "an AAT name (.aat)",
    DATA: "a data name (.data)",
    LABEL: "a label",
    COUNTER: "(loop counter, filled in by the assembler)",
    RANGE: "a register range ra..rb",
    VEC: "a vector (.vec, or a .bank/.ou name: its state)",
    MTJ: "an MTJ array (.mtj)",
    PAIRS: "a pair array (.pairs)",
    BANK: "a Langevin bank (.bank)",
    OU: "an OU sampler (.ou)",
    TAG: 'a quoted output name: "name"',
}

# What a constant operand must be (Operand.valid, "rule" or "rule:other operand"): the
# assembler refuses a constant outside it, since it would fault at run time.
STATIC_RULES = {
    "unit": "in [0, 1]",
    "signed_unit": "in [-1, 1]",
    "nonneg": ">= 0",
    "finite_nonneg": "a finite number >= 0",
    "nonzero": "non-zero",
    "index": "in [0, n) for a vector of n elements",
    "pow": "a base b raises to a real value (a negative one needs a whole exponent, 0 a positive one)",
}


@dataclass(frozen=True)
class Operand:
    name: str  # how the docs and messages call it
    kind: str
    optional: bool = False
    hidden: bool = False  # filled by the assembler, not written in the source
    default: float | None = None  # VALUE left out: this constant
    fault: str = ""  # the vm.faults name a bad value of this operand raises at run time
    valid: str = ""  # a STATIC_RULES rule its constant value must keep ("rule" or "rule:operand")

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
    # static shape rules checked by the assembler and the loader: "a=b" (same length),
    # "a=dev.attr" (length equals a device's rows/cols/n/cells), "a=square"
    lengths: tuple[str, ...] = ()
    # the shape a DATA operand's table must have, checked when data is bound:
    # "cols=spaces", "cols=<vec operand>", "shape=<pairs operand>", "cols=3"
    data_shape: str = ""

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
_LANE = Operand("lane", LANE, fault="lane")
_AAT = Operand("aat", AAT)
_DIAL = Operand("dial", VALUE, optional=True, default=0.0, fault="dial", valid="unit")
_NAME = Operand("name", TAG, optional=True)


def _rows() -> list[Instruction]:
    rows: list[Instruction] = []
    for ins in _kt.INSTRUCTIONS:  # opcodes 0..13 are the kernels' own codes
        if ins.is_read:
            rows.append(
                Instruction(
                    ins.mnemonic,
                    ins.code,
                    (_RD_OPT, _LANE, _AAT, _DIAL),
                    "kT-RAM read",
                    ins.summary + "; dial in [0, 1] lowers the read voltage (more noise)",
                    f"{ins.mnemonic} r0, L0, x",
                )
            )
        else:
            rows.append(
                Instruction(
                    ins.mnemonic,
                    ins.code,
                    (_LANE, _AAT),
                    "kT-RAM feedback",
                    ins.summary,
                    f"{ins.mnemonic} L0, x",
                )
            )
    code = len(rows)
    for r in _kt.INSTRUCTIONS:
        if not r.is_read:
            continue
        for f in _kt.INSTRUCTIONS:
            if f.is_read:
                continue
            name = f"{r.mnemonic}.{f.mnemonic}"
            rows.append(
                Instruction(
                    name,
                    code,
                    (_RD_OPT, _LANE, _AAT, _DIAL),
                    "fused",
                    f"{r.mnemonic} then {f.mnemonic} on the same lane and AAT",
                    f"{name} r0, L0, x",
                )
            )
            code += 1

    def add(mnemonic, operands, group, summary, example="", lengths=(), data_shape=""):
        nonlocal code
        rows.append(
            Instruction(mnemonic, code, tuple(operands), group, summary, example, tuple(lengths), data_shape)
        )
        code += 1

    rd, ra, rb = Operand("rd", REG), Operand("a", VALUE), Operand("b", VALUE)
    add("MOV", (rd, Operand("value", VALUE)), "arithmetic", "rd = value", "MOV r4, 0.5")
    divisor = Operand("b", VALUE, fault="div_zero", valid="nonzero")
    for name, sym in (
        ("ADD", "a + b"),
        ("SUB", "a - b"),
        ("MUL", "a * b"),
        ("DIV", "a / b (b = 0 is a runtime fault)"),
        ("MIN", "min(a, b)"),
        ("MAX", "max(a, b)"),
    ):
        add(
            name, (rd, ra, divisor if name == "DIV" else rb), "arithmetic", f"rd = {sym}", f"{name} r1, r1, 2"
        )
    add("NEG", (rd, ra), "arithmetic", "rd = -a", "NEG r1, r0")
    add("ABS", (rd, ra), "arithmetic", "rd = |a|", "ABS r1, r0")
    add("FLOOR", (rd, ra), "arithmetic", "rd = floor(a)", "FLOOR r1, r0")
    add(
        "ARGMAX",
        (rd, Operand("regs", RANGE)),
        "arithmetic",
        "rd = position (from 0) of the largest register in the range; ties go to the first",
        "ARGMAX r9, r0..r3",
    )
    _math_rows(add, rd, ra, rb)
    target = Operand("target", LABEL)
    add("JMP", (target,), "control", "jump to target", "JMP start")
    for name, sym in (
        ("JEQ", "a == b"),
        ("JNE", "a != b"),
        ("JLT", "a < b"),
        ("JLE", "a <= b"),
        ("JGT", "a > b"),
        ("JGE", "a >= b"),
    ):
        add(name, (ra, rb, target), "control", f"jump to target if {sym}", f"{name} r0, 0, done")
    add(
        "CALL",
        (target,),
        "control",
        f"call the subroutine at target: push the next pc on the call stack (at most {CALL_DEPTH} "
        "deep; deeper is a runtime fault) and jump; registers are untouched",
        "CALL start",
    )
    add(
        "RET",
        (),
        "control",
        "return from a subroutine: pop the call stack and jump there (an empty stack is a runtime fault)",
        "RET",
    )
    add(
        "LOOP",
        (
            Operand("count", VALUE, fault="count"),
            Operand("counter", COUNTER, hidden=True),
            Operand("exit", LABEL, hidden=True),
        ),
        "control",
        "repeat the block up to the matching ENDLOOP count times (count read once, truncated; <= 0 skips it)",
        "LOOP 100",
    )
    add(
        "ENDLOOP",
        (Operand("counter", COUNTER, hidden=True), Operand("body", LABEL, hidden=True)),
        "control",
        "end of a LOOP block",
        "ENDLOOP",
    )
    add("HALT", (), "control", "stop the program", "HALT")
    add("NOP", (), "control", "do nothing", "NOP")
    add(
        "OUT",
        (Operand("value", VALUE), _NAME),
        "data",
        'append value to the run\'s outputs, under name if given (OUT r0, "mean")',
        "OUT r0",
    )
    row = Operand("row", VALUE, fault="row", valid="nonneg")
    add(
        "LD",
        (rd, Operand("table", DATA), row, Operand("col", VALUE, fault="col", valid="nonneg")),
        "data",
        "rd = table[row, col] (indices truncated; out of range is a runtime fault)",
        "LD r1, labels, r8, 0",
    )
    add(
        "LDAAT",
        (Operand("aat", AAT), Operand("table", DATA), row),
        "data",
        "load an AAT from a data row: one address per space, negative = disabled",
        "LDAAT x, features, r8",
        data_shape="cols=spaces",
    )
    add("ROWS", (rd, Operand("table", DATA)), "data", "rd = number of rows of table", "ROWS r7, features")
    add("COLS", (rd, Operand("table", DATA)), "data", "rd = number of columns of table", "COLS r7, features")
    add(
        "SETY",
        (
            _LANE,
            _AAT,
            Operand("y0", VALUE, fault="y0", valid="signed_unit"),
            Operand("level", VALUE, fault="level", valid="nonneg"),
        ),
        "kT-RAM set-up",
        "place every enabled pair at weight y0 in [-1, 1] with magnitude 2*level*GMAX (faults where a "
        "device would clamp; byte conductances are whole units, so its weight is quantised)",
        "SETY L0, x, 0.3, 0.05",
    )
    add(
        "GAB",
        (Operand("ra", REG), Operand("rb", REG), _LANE, _AAT),
        "kT-RAM set-up",
        "ra = sum Ga, rb = sum Gb over the enabled pairs (a debug read: no physics)",
        "GAB r2, r3, L0, x",
    )
    add(
        "AGE",
        (Operand("seconds", VALUE, fault="age", valid="finite_nonneg"),),
        "kT-RAM set-up",
        "seconds of modeled time pass with no drive and no energy: the core's devices drift "
        "(.core drift=...); negative or non-finite seconds are refused",
        "AGE 86400",
    )
    _device_rows(add)
    return rows


def _math_rows(add, rd, ra, rb) -> None:
    """Scalar functions, a uniform draw and comparisons into a register."""
    add(
        "MOD",
        (rd, ra, Operand("b", VALUE, fault="div_zero", valid="nonzero")),
        "arithmetic",
        "rd = a mod b: the remainder with the sign of b, as Python's % (b = 0 is a runtime fault)",
        "MOD r1, r1, 2",
    )
    add(
        "SQRT",
        (rd, Operand("a", VALUE, fault="sqrt", valid="nonneg")),
        "arithmetic",
        "rd = sqrt(a) (a < 0 is a runtime fault)",
        "SQRT r1, r0",
    )
    add("EXP", (rd, ra), "arithmetic", "rd = e^a (inf once a > 709.78)", "EXP r1, r0")
    add(
        "LOG",
        (rd, Operand("a", VALUE, fault="log", valid="nonneg")),
        "arithmetic",
        "rd = ln(a); ln(0) = -inf, a < 0 is a runtime fault",
        "LOG r1, r0",
    )
    add(
        "POW",
        (rd, Operand("a", VALUE, fault="pow", valid="pow:b"), rb),
        "arithmetic",
        "rd = a^b (a negative base with a fractional exponent, or 0 to a negative power, is a runtime fault)",
        "POW r1, r0, 2",
    )
    add("SIGMOID", (rd, ra), "arithmetic", "rd = 1 / (1 + e^-a), the logistic function", "SIGMOID r1, r0")
    add(
        "RAND",
        (rd,),
        "arithmetic",
        "rd = a uniform draw in [0, 1) from the machine's random stream (53 bits; seeded by .core seed)",
        "RAND r1",
    )
    for name, sym in (
        ("SEQ", "a == b"),
        ("SNE", "a != b"),
        ("SLT", "a < b"),
        ("SLE", "a <= b"),
        ("SGT", "a > b"),
        ("SGE", "a >= b"),
    ):
        add(
            name,
            (rd, ra, rb),
            "arithmetic",
            f"rd = 1 if {sym} else 0 (NaN compares false)",
            f"{name} r1, r0, 0.5",
        )


def _device_rows(add) -> None:
    """Vectors, p-bits, MTJ arrays, probabilistic pairs and Langevin/OU banks."""
    rd = Operand("rd", REG)
    vd, va, vb = Operand("vd", VEC), Operand("a", VEC), Operand("b", VEC)
    s = Operand("s", VALUE)
    same = ("vd=a",)
    add("VFILL", (vd, Operand("value", VALUE)), "vector", "every element of vd = value", "VFILL h, 0")
    add("VMOV", (vd, va), "vector", "vd = a", "VMOV h2, h", same)
    for name, sym in (("VADD", "a + b"), ("VSUB", "a - b"), ("VMUL", "a * b (elementwise)")):
        add(name, (vd, va, vb), "vector", f"vd = {sym}", f"{name} h, h, g", ("vd=a", "vd=b"))
    add("VSCALE", (vd, va, s), "vector", "vd = s * a", "VSCALE h, h, 0.5", same)
    add("VADDS", (vd, va, s), "vector", "vd = a + s (every element)", "VADDS h, h, -1", same)
    add("VAXPY", (vd, va, s), "vector", "vd = vd + s * a", "VAXPY v, drift, r5", same)
    add("VTANH", (vd, va), "vector", "vd = tanh(a)", "VTANH h, h", same)
    add("VRELU", (vd, va), "vector", "vd = max(a, 0)", "VRELU h, h", same)
    add(
        "VGET",
        (rd, va, Operand("index", VALUE, fault="index", valid="index:a")),
        "vector",
        "rd = a[index] (truncated; out of range is a runtime fault)",
        "VGET r1, h, 3",
    )
    add(
        "VSET",
        (vd, Operand("index", VALUE, fault="index", valid="index:vd"), Operand("value", VALUE)),
        "vector",
        "vd[index] = value",
        "VSET h, 0, r1",
    )
    add("VSUM", (rd, va), "vector", "rd = sum of a", "VSUM r2, h")
    add("VDOT", (rd, va, vb), "vector", "rd = a . b", "VDOT r2, h, g", ("a=b",))
    add("VARGMAX", (rd, va), "vector", "rd = index of the largest element (first on ties)", "VARGMAX r3, h")
    add(
        "VLD",
        (vd, Operand("table", DATA), Operand("row", VALUE, fault="row", valid="nonneg")),
        "vector",
        "vd = a row of table (the table has one column per element)",
        "VLD v, inputs, r8",
        data_shape="cols=vd",
    )
    add(
        "VOUT",
        (va, _NAME),
        "vector",
        'append every element of a to the run\'s outputs, under name if given (VOUT h, "h")',
        "VOUT h",
    )

    beta = Operand("beta", VALUE)
    add(
        "PBIT",
        (rd, Operand("input", VALUE, fault="input"), beta),
        "p-bit",
        "rd = +1 with probability sigmoid(2 beta input), else -1 (m = sgn(tanh(beta I) - r))",
        "PBIT r1, r0, 2",
    )
    add(
        "PDIT",
        (rd, Operand("logits", RANGE, fault="input"), beta),
        "p-bit",
        "rd = k (from 0) with probability softmax(beta * logits)_k",
        "PDIT r9, r0..r3, 1",
    )
    add(
        "VPBIT",
        (vd, va, beta),
        "p-bit",
        "vd[i] = PBIT of a[i] (one parallel p-bit array)",
        "VPBIT s, h, 1",
        same,
    )
    add(
        "COIN",
        (rd, _LANE, _AAT, _DIAL),
        "p-bit",
        "the kT-bit's own p-bit: rd = +1 if a low-voltage read (FFLV) is > 0, else -1",
        "COIN r1, L0, x, 0.5",
    )
    add(
        "ISING",
        (Operand("spins", VEC), Operand("coupling", VALUE), Operand("field", VALUE), beta),
        "p-bit",
        "one checkerboard Gibbs sweep of p-bits on a periodic square lattice "
        "(spins +-1; local input I = coupling * sum of 4 neighbours + field)",
        "ISING s, 1, 0, 0.44",
        ("spins=square",),
    )

    mtj = Operand("mtj", MTJ)
    volts = Operand("volts", VALUE, fault="pulse")
    seconds = Operand("seconds", VALUE, fault="pulse", valid="nonneg")
    add(
        "MPULSE",
        (mtj, volts, seconds),
        "MTJ",
        "a write pulse on every device: each switches with the compact model's probability "
        "(reset mode: reset, then write; toggle mode: flip)",
        "MPULSE coins, 1.5, 0.7e-9",
    )
    add(
        "MPULSEV",
        (mtj, Operand("volts", VEC, fault="pulse"), seconds),
        "MTJ",
        "MPULSE with its own amplitude on each device (volts[i] on device i): a per-device calibrated pulse",
        "MPULSEV coins, h, 0.7e-9",
        ("volts=mtj.n",),
    )
    add("MRESET", (mtj,), "MTJ", "write every device to the parallel state (0)", "MRESET coins")
    add(
        "MSENSE",
        (vd, mtj),
        "MTJ",
        "vd = device states (0/1) as the ex-situ periphery delivers them: sensed by the sense "
        "amplifiers, latched and moved over the bus to the compute unit (each stage timed and costed)",
        "MSENSE bits, coins",
        ("vd=mtj.n",),
    )
    add(
        "MREAD",
        (vd, mtj, volts),
        "MTJ",
        "vd = conductances (S) read at volts, with TMR(V) and read noise",
        "MREAD g, coins, 0.2",
        ("vd=mtj.n",),
    )
    add(
        "MRES",
        (vd, mtj, volts),
        "MTJ",
        "vd = resistances (ohm) read at volts",
        "MRES ohms, coins, 0.2",
        ("vd=mtj.n",),
    )
    add(
        "MSTATE",
        (vd, mtj),
        "MTJ",
        "vd = device states (0 parallel, 1 antiparallel), no noise",
        "MSTATE bits, coins",
        ("vd=mtj.n",),
    )

    pairs = Operand("pairs", PAIRS)
    add(
        "PPLOAD",
        (pairs, Operand("table", DATA)),
        "pairs",
        "program the data bits from a rows x cols weight table (rounded to levels + 1 values in "
        "[-scale, scale], write-verified)",
        "PPLOAD w, weights",
        data_shape="shape=pairs",
    )
    add(
        "PPMAC",
        (vd, pairs, Operand("x", VEC), Operand("q", VALUE, fault="q", valid="unit")),
        "pairs",
        "vd = W x with each pair kept with probability q (its p-bit re-written per use: in-memory "
        "MC-dropconnect; q = 1 is the deterministic product); E = q W x",
        "PPMAC h, w, v, 0.5",
        ("vd=pairs.rows", "x=pairs.cols"),
    )
    add(
        "PPSTATE",
        (vd, pairs),
        "pairs",
        "vd = each pair's conductance difference G(D) - G(P) in units of dG (+1, 0, -1 plus read noise)",
        "PPSTATE cells, w",
        ("vd=pairs.cells",),
    )

    bank, ou = Operand("bank", BANK), Operand("ou", OU)
    add(
        "RELAX",
        (bank, Operand("current", VEC)),
        "Langevin",
        "evolve the bank's units for its window tf (Euler-Maruyama, step dt) with input currents",
        "RELAX layer, current",
        ("current=bank.n",),
    )
    add(
        "OUS",
        (ou, Operand("mean", VALUE), Operand("scale", VALUE, fault="scale", valid="nonneg")),
        "Langevin",
        "exact Ornstein-Uhlenbeck step of every unit over its window toward N(mean, scale^2)",
        "OUS noise, 0, 1",
    )
    add(
        "MIXS",
        (ou, Operand("table", DATA, fault="mixture")),
        "Langevin",
        "mixture sampler: each unit picks a component by weight (table rows: weight, mean, scale), "
        "then relaxes toward it exactly over its window",
        "MIXS noise, mixture",
        data_shape="cols=3",
    )


INSTRUCTIONS: tuple[Instruction, ...] = tuple(_rows())
BY_MNEMONIC: dict[str, Instruction] = {i.mnemonic: i for i in INSTRUCTIONS}
BY_OPCODE: dict[int, Instruction] = {i.opcode: i for i in INSTRUCTIONS}
MNEMONICS: tuple[str, ...] = tuple(i.mnemonic for i in INSTRUCTIONS)

assert all(INSTRUCTIONS[i].opcode == i for i in range(len(INSTRUCTIONS)))
assert all(
    len(i.fields()) == 0 or i.fields()[-1][1] + i.fields()[-1][0].width - 1 <= N_FIELDS for i in INSTRUCTIONS
)


def _code(name: str) -> int:
    return BY_MNEMONIC[name].opcode


# The interpreter decodes a fused opcode arithmetically (vm.codes: read = k // N_KT_FEEDBACKS,
# feedback = N_KT_READS + k % N_KT_FEEDBACKS), which needs reads first, then feedbacks.
assert [_kt.BY_MNEMONIC[m].code for m in _kt.READS + _kt.FEEDBACKS] == list(range(len(_kt.INSTRUCTIONS)))
# Opcodes compiled code switches on are generated from this table into vm/codes.py.
N_OPCODES = len(INSTRUCTIONS)
DEVICE_FIRST = _code("VFILL")  # from here on, vm.devices.execute runs the instruction

# The device families, by instruction group: a program's loop compiles only the families
# its code uses (vm.interp.loop_for). Each is one contiguous run of opcodes from
# DEVICE_FIRST on, in this order (vm.codegen checks and writes <NAME>_FIRST/_LAST).
DEVICE_FAMILIES = {
    "vector": "VECTOR",
    "p-bit": "PBIT",
    "MTJ": "MTJ",
    "pairs": "PAIRS",
    "Langevin": "LANGEVIN",
}
OPCODES = {i.mnemonic: i.opcode for i in INSTRUCTIONS}


def length_problems(ins: Instruction, row, length_of) -> list[str]:
    """Violations of ins.lengths for one encoded row. length_of(kind, field_value, attr)
    gives a vector slot's length (attr None) or a device's rows/cols/n/cells."""
    values = {o.name: (o.kind, int(row[pos])) for o, pos in ins.fields()}
    problems = []
    for rule in ins.lengths:
        left, right = rule.split("=")
        n_left = length_of(*values[left], None)
        if right == "square":
            side = int(round(n_left**0.5))
            if side * side != n_left or side % 2:
                problems.append(
                    f"{ins.mnemonic} {left}: a periodic checkerboard lattice needs an "
                    f"even square length, got {n_left}"
                )
            continue
        name, _, attr = right.partition(".")
        n_right = length_of(*values[name], attr or None)
        if n_left != n_right:
            what = f"{name} has {attr} = {n_right}" if attr else f"{name} has {n_right}"
            problems.append(
                f"{ins.mnemonic}: {left} has {n_left} element{'s' if n_left != 1 else ''} but {what}"
            )
    return problems


def lookup(mnemonic: str) -> Instruction | None:
    """Row by mnemonic, case-insensitive; None if there is none."""
    return BY_MNEMONIC.get(mnemonic.upper())


def constant_fault(operand: Operand, value: float, constant_of, length_of) -> str | None:
    """The fault (a ``vm.faults`` name) a constant value of operand raises at run time
    under its ``valid`` rule, or None. constant_of(name) is another operand's constant
    value (None: a register), length_of(name) a vector operand's length."""
    rule, _, other = operand.valid.partition(":")
    if not rule:
        return None
    if rule == "unit":
        ok = 0.0 <= value <= 1.0
    elif rule == "signed_unit":
        ok = -1.0 <= value <= 1.0
    elif rule == "nonneg":
        ok = value >= 0.0
    elif rule == "finite_nonneg":
        ok = math.isfinite(value) and value >= 0.0
    elif rule == "nonzero":
        ok = value != 0.0
    elif rule == "index":
        ok = 0.0 <= value < length_of(other)
    elif rule == "pow":
        exponent = constant_of(other)
        ok = exponent is None or not (
            (value < 0.0 and exponent != math.floor(exponent)) or (value == 0.0 and exponent < 0.0)
        )
    else:  # pragma: no cover - a rule the table names but this function does not know
        raise AssertionError(f"unknown static rule {rule!r}")
    return None if ok else operand.fault
