"""The kT-RAM instruction set: one table, the single source of truth.

Every consumer derives what it needs from ``INSTRUCTIONS``: the physics kernels take
``OP_TABLE`` (an int array built from it), the assembler, disassembler, REPL completion
and the docs read the rows directly.

Feedback coefficients follow the published Technology-Stack table and the seed's cheat
sheet: FU/RU reinforce the current sign (Hebbian), FA/RA oppose it (anti-Hebbian). The
reference emulator's forward FU/FA are swapped; ``reference_coeff`` records its value where
it differs, and ``OP_TABLES["reference"]`` is the kernels' table under that convention
(``Core(convention="reference")``, ``.core convention=reference``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

READ = 0
FEEDBACK = 1

FORWARD = 1
REVERSE = -1

# How the forward FU/FA coefficients are read: the project's (published) table, or the
# reference emulator's (forward FU and FA swapped).
CONVENTIONS = ("project", "reference")


class UnknownNameError(KeyError, ValueError):
    """An unknown instruction, device model, init or fidelity.

    Both a ``KeyError`` (what the reference emulator raises, so its callers' handlers still
    catch it) and a ``ValueError`` (what the project raises for every bad argument).
    """

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class KtInstruction:
    mnemonic: str
    code: int
    kind: int  # READ or FEEDBACK
    direction: int  # FORWARD (+V across the pair) or REVERSE
    low_voltage: bool  # read held below the switching threshold (FFLV/RFLV)
    coeff: int  # feedback: vy = coeff * Vdrive * (H(y) if uses_h else 1)
    uses_h: bool
    summary: str
    reference_coeff: int | None = None  # the reference emulator's coeff, where it differs

    def coeff_in(self, convention: str) -> int:
        """The feedback coefficient under a convention (see CONVENTIONS)."""
        if convention == "reference" and self.reference_coeff is not None:
            return self.reference_coeff
        return self.coeff

    @property
    def is_read(self) -> bool:
        return self.kind == READ


INSTRUCTIONS: tuple[KtInstruction, ...] = (
    KtInstruction(
        "FF",
        0,
        READ,
        FORWARD,
        False,
        0,
        False,
        "forward read: returns y; repeated, anti-Hebbian (m grows, y -> 0)",
    ),
    KtInstruction(
        "RF", 1, READ, REVERSE, False, 0, False, "reverse read: returns y; repeated, Hebbian (y -> a rail)"
    ),
    KtInstruction(
        "FFLV",
        2,
        READ,
        FORWARD,
        True,
        0,
        False,
        "forward low-voltage read: below threshold, leaves float/byte/rs untouched",
    ),
    KtInstruction(
        "RFLV",
        3,
        READ,
        REVERSE,
        True,
        0,
        False,
        "reverse low-voltage read: below threshold, leaves float/byte/rs untouched",
    ),
    KtInstruction(
        "FH",
        4,
        FEEDBACK,
        FORWARD,
        False,
        -1,
        False,
        "forward high: Ga up (a 'yes' vote): weight up, magnitude up",
    ),
    KtInstruction(
        "FL",
        5,
        FEEDBACK,
        FORWARD,
        False,
        1,
        False,
        "forward low: Gb up (a 'no' vote): weight down, magnitude up",
    ),
    KtInstruction(
        "FU",
        6,
        FEEDBACK,
        FORWARD,
        False,
        -1,
        True,
        "forward unsupervised: reinforce the sign of the last y (Hebbian)",
        reference_coeff=1,
    ),
    KtInstruction(
        "FA",
        7,
        FEEDBACK,
        FORWARD,
        False,
        1,
        True,
        "forward anti: oppose the sign of the last y (anti-Hebbian)",
        reference_coeff=-1,
    ),
    KtInstruction(
        "FZ",
        8,
        FEEDBACK,
        FORWARD,
        False,
        0,
        False,
        "forward zero: both sides up equally (weight kept, magnitude up)",
    ),
    KtInstruction(
        "RH", 9, FEEDBACK, REVERSE, False, 1, False, "reverse high: Gb down: weight up, magnitude down"
    ),
    KtInstruction(
        "RL", 10, FEEDBACK, REVERSE, False, -1, False, "reverse low: Ga down: weight down, magnitude down"
    ),
    KtInstruction(
        "RU",
        11,
        FEEDBACK,
        REVERSE,
        False,
        1,
        True,
        "reverse unsupervised: reinforce the sign of the last y (Hebbian)",
    ),
    KtInstruction(
        "RA",
        12,
        FEEDBACK,
        REVERSE,
        False,
        -1,
        True,
        "reverse anti: oppose the sign of the last y (anti-Hebbian)",
    ),
    KtInstruction(
        "RZ",
        13,
        FEEDBACK,
        REVERSE,
        False,
        0,
        False,
        "reverse zero: both sides down equally (magnitude decays)",
    ),
)

BY_MNEMONIC: dict[str, KtInstruction] = {i.mnemonic: i for i in INSTRUCTIONS}
MNEMONICS: tuple[str, ...] = tuple(i.mnemonic for i in INSTRUCTIONS)
READS: tuple[str, ...] = tuple(i.mnemonic for i in INSTRUCTIONS if i.is_read)
FEEDBACKS: tuple[str, ...] = tuple(i.mnemonic for i in INSTRUCTIONS if not i.is_read)

# Columns of OP_TABLE, the kernels' view of the table.
OPK_KIND, OPK_DIR, OPK_LV, OPK_COEFF, OPK_USES_H = range(5)


def _build_op_table(convention: str) -> np.ndarray:
    table = np.zeros((len(INSTRUCTIONS), 5), dtype=np.int64)
    for ins in INSTRUCTIONS:
        assert INSTRUCTIONS[ins.code] is ins, "codes must equal table positions"
        table[ins.code] = (
            ins.kind,
            ins.direction,
            int(ins.low_voltage),
            ins.coeff_in(convention),
            int(ins.uses_h),
        )
    table.setflags(write=False)
    return table


OP_TABLES: dict[str, np.ndarray] = {c: _build_op_table(c) for c in CONVENTIONS}
OP_TABLE = OP_TABLES["project"]


def lookup(mnemonic: str | KtInstruction) -> KtInstruction:
    """Instruction by mnemonic (case-insensitive) or the instruction itself; an
    UnknownNameError (a KeyError and a ValueError) listing the valid ones."""
    if isinstance(mnemonic, KtInstruction):
        return mnemonic
    if isinstance(mnemonic, str):
        ins = BY_MNEMONIC.get(mnemonic.upper())
        if ins is not None:
            return ins
    raise UnknownNameError(
        f"instr: unknown kT-RAM instruction {mnemonic!r}; expected one of {', '.join(MNEMONICS)}"
    )


def op_table(convention: str) -> np.ndarray:
    """The kernels' instruction table under a convention (UnknownNameError if unknown)."""
    table = OP_TABLES.get(convention) if isinstance(convention, str) else None
    if table is None:
        raise UnknownNameError(
            f"convention: unknown convention {convention!r}; expected one of {', '.join(CONVENTIONS)}"
        )
    return table


def markdown_table() -> str:
    """The instruction table as Markdown (docs/instructions.md is generated from this)."""
    lines = [
        "| instr | code | kind | direction | coeff | coeff (convention=reference) | uses H(y) | effect |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for ins in INSTRUCTIONS:
        kind = ("read (low voltage)" if ins.low_voltage else "read") if ins.is_read else "feedback"
        coeff = "" if ins.is_read else f"{ins.coeff:+d}"
        ref = "" if ins.is_read else f"{ins.coeff_in('reference'):+d}"
        uses_h = "" if ins.is_read else ("yes" if ins.uses_h else "no")
        direction = "forward" if ins.direction == FORWARD else "reverse"
        lines.append(
            f"| {ins.mnemonic} | {ins.code} | {kind} | {direction} | {coeff} | {ref} | {uses_h} "
            f"| {ins.summary} |"
        )
    return "\n".join(lines) + "\n"
