"""Run-time faults: one table, read by the interpreter, the device kernels, the machine, the
REPL and the generated docs.

A fault's code is its position in ``FAULTS``; the compiled code uses the ``F_*`` constants
generated from this table into ``vm/codes.py``. The loop stops on a fault with the code in
``status[ST_FAULT]`` and the value named by ``reports`` in ``fault_value[0]``; ``message``
is formatted with ``v`` (that value) and the core's ``n_lanes`` and ``n_addresses``.
Importing this module does not import Numba.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    name: str  # the constant is F_<NAME>
    message: str  # template: {v} the reported value, {n_lanes}, {n_addresses}
    reports: str  # what {v} is
    raised_by: str  # the instructions that raise it (for the docs)


FAULTS: tuple[Fault, ...] = (
    Fault("none", "", "", ""),
    Fault(
        "lane",
        "lane index {v} out of range [0, {n_lanes})",
        "the lane value",
        "kT-RAM reads and feedbacks, COIN, SETY, GAB",
    ),
    Fault("dial", "read dial {v} out of range [0, 1]", "the dial", "kT-RAM reads, COIN"),
    Fault("div_zero", "division by zero", "the dividend", "DIV"),
    Fault("row", "data row {v} out of range", "the row", "LD, LDAAT, VLD"),
    Fault("col", "data column {v} out of range", "the column", "LD"),
    Fault(
        "address",
        "AAT address {v} out of range [0, {n_addresses}) (negative disables a space)",
        "the table entry",
        "LDAAT",
    ),
    Fault("y0", "SETY y0 {v} out of range [-1, 1]", "y0", "SETY"),
    Fault("level", "SETY level {v} must be >= 0", "the level", "SETY"),
    Fault("count", "LOOP count {v} is not a finite number", "the count", "LOOP"),
    Fault("index", "vector index {v} out of range", "the index", "VGET, VSET"),
    Fault("q", "keep probability q = {v} out of range [0, 1]", "q", "PPMAC"),
    Fault(
        "pulse",
        "pulse {v} is not a finite amplitude and a width >= 0",
        "the bad amplitude or width",
        "MPULSE, MREAD, MRES",
    ),
    Fault("input", "p-bit input {v} is not a finite number", "the input", "PBIT, PDIT"),
    Fault(
        "mixture",
        "mixture table: weights must be >= 0 with a positive sum and scales >= 0 (bad value {v})",
        "the bad weight, scale or sum",
        "MIXS",
    ),
    Fault("scale", "sampler scale {v} must be a finite number >= 0", "the scale", "OUS"),
    Fault(
        "call_depth",
        "CALL nested more than {v} deep (a subroutine that never returns, or recursion without an end?)",
        "the call stack's depth",
        "CALL",
    ),
    Fault("ret_empty", "RET with an empty call stack (no CALL to return to)", "0", "RET"),
    Fault("sqrt", "SQRT of a negative number {v}", "the operand", "SQRT"),
    Fault("log", "LOG of a negative number {v}", "the operand", "LOG"),
    Fault(
        "pow",
        "POW of base {v} has no real value (a negative base needs a whole exponent, 0 a positive one)",
        "the base",
        "POW",
    ),
    Fault(
        "sety_reach",
        "SETY y0 {v} is out of reach at this level: it needs level*(1+|y0|) <= 1 and "
        "level*GMAX*(1-|y0|) >= GMIN (a clamped device would set another weight)",
        "y0",
        "SETY",
    ),  # appended: a fault's code is its position, and checkpoints hold codes
    Fault("age", "AGE seconds {v} must be a finite number >= 0", "the seconds", "AGE"),
)

BY_NAME: dict[str, int] = {f.name: code for code, f in enumerate(FAULTS)}


def message(code: int, value: float, *, n_lanes: int, n_addresses: int) -> str:
    """The fault's message with its reported value and the core's sizes filled in."""
    return FAULTS[code].message.format(v=f"{value:g}", n_lanes=n_lanes, n_addresses=n_addresses)


def markdown_table() -> str:
    """The fault table as Markdown (docs/instructions.md is generated from this)."""
    lines = ["| code | fault | raised by | value reported |", "|---|---|---|---|"]
    for code, f in enumerate(FAULTS[1:], start=1):
        text = (
            f.message.replace("{v}", "V").replace("{n_lanes}", "lanes").replace("{n_addresses}", "addresses")
        )
        lines.append(f"| {code} | {text} | {f.raised_by} | {f.reports} |")
    return "\n".join(lines) + "\n"
