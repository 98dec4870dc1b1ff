"""The generated half of the language reference, from the instruction, .core and device
declaration tables.

``python -m ktasm.reference > docs/instructions.md``; a test fails when the file is stale.
"""

from __future__ import annotations

import dataclasses

from vm import faults, isa
from vm.config import CORE_KEYS, DEVICE_KINDS
from vm.ktram import isa as kt_isa
from vm.ktram.nonideal import NonIdeal

GROUP_ORDER = (
    "kT-RAM read",
    "kT-RAM feedback",
    "fused",
    "kT-RAM set-up",
    "arithmetic",
    "control",
    "data",
    "vector",
    "p-bit",
    "MTJ",
    "pairs",
    "Langevin",
)


def instruction_table() -> str:
    assert {i.group for i in isa.INSTRUCTIONS} <= set(GROUP_ORDER), "a group the docs leave out"
    lines = []
    for group in GROUP_ORDER:
        rows = [i for i in isa.INSTRUCTIONS if i.group == group]
        lines.append(f"\n### {group} ({len(rows)})\n")
        if group == "fused":
            names = " ".join(f"`{i.mnemonic}`" for i in rows)
            lines.append(
                "Every read followed by every feedback, on the same lane and AAT, as one "
                "instruction (one step; the feedback uses the y the read just produced):\n"
            )
            lines.append(
                f"Signature: `{rows[0].signature().replace(rows[0].mnemonic, 'READ.FEEDBACK')}`."
                f" Example: `{rows[0].example}`.\n\n{names}\n"
            )
            continue
        lines.append("| instruction | operands | effect | example |")
        lines.append("|---|---|---|---|")
        for i in rows:
            operands = i.signature()[len(i.mnemonic) :].strip() or "-"
            lines.append(f"| `{i.mnemonic}` | `{operands}` | {i.summary} | `{i.example}` |")
    return "\n".join(lines) + "\n"


def static_checks() -> str:
    """The constant operands the assembler judges (their rule in the instruction table)."""
    lines = ["| instruction | operand | a constant must be | else the fault |", "|---|---|---|---|"]
    for ins in isa.INSTRUCTIONS:
        if ins.group == "fused":
            continue
        for o in ins.source_operands:
            if o.valid:
                rule = isa.STATIC_RULES[o.valid.partition(":")[0]]
                text = faults.FAULTS[faults.BY_NAME[o.fault]].message.replace("{v}", "V")
                text = text.replace("{n_lanes}", "lanes").replace("{n_addresses}", "addresses")
                lines.append(f"| `{ins.mnemonic}` | `{o.name}` | {rule} | {text} |")
    return "\n".join(lines) + "\n"


def operand_kinds() -> str:
    kinds = sorted({o.kind for i in isa.INSTRUCTIONS for o in i.source_operands})
    return "\n".join(f"- `{k}`: {isa.KIND_HELP[k]}" for k in kinds) + "\n"


_NONIDEAL_DEFAULTS = dataclasses.asdict(NonIdeal())


def key_table(keys, argument_column=True) -> str:
    head = "| key | Core argument | default | meaning |" if argument_column else "| key | default | meaning |"
    lines = [head, "|---|---|---|---|" if argument_column else "|---|---|---|"]
    for k in keys:
        default = "model default" if k.default is None else f"`{k.default}`"
        if k.default is None and k.key in _NONIDEAL_DEFAULTS:  # the devices' non-idealities: off
            default = f"`{_NONIDEAL_DEFAULTS[k.key]}`"
        choices = f" ({', '.join(k.choices)})" if k.choices else ""
        if argument_column:
            lines.append(f"| `{k.key}` | `{k.argument}` | {default} | {k.help}{choices} |")
        else:
            default = "required" if k.default is None else f"`{k.default}`"
            lines.append(f"| `{k.key}` | {default} | {k.help}{choices} |")
    return "\n".join(lines) + "\n"


def device_tables() -> str:
    out = []
    for name, kind in DEVICE_KINDS.items():
        out.append(
            f"\n### .{name}: {kind.summary}\n\nExample: `{kind.example}`\n\n"
            + key_table(kind.keys, argument_column=False)
        )
    return "".join(out)


def document() -> str:
    return (
        "# Instruction and .core reference\n\n"
        "Generated from `vm/isa.py`, `vm/ktram/isa.py`, `vm/faults.py` and `vm/config.py` by "
        "`python -m ktasm.reference > docs/instructions.md`; do not edit by hand. "
        "The language itself is described in `docs/language.md`.\n\n"
        f"## Instructions ({len(isa.INSTRUCTIONS)} mnemonics)\n\n"
        "Operands in brackets may be left out: a read without `rd` still sets the lane's "
        "retained y (which FU/FA/RU/RA use); a read without `dial` uses 0.\n\n"
        + operand_kinds()
        + instruction_table()
        + "\n## kT-RAM physics of each instruction\n\n"
        "Feedback applies `vy = coeff * Vdrive * (H(y) if uses H else 1)` across the pair "
        "(see `docs/physics.md`).\n\n" + kt_isa.markdown_table() + "\n## Run-time faults\n\n"
        "A fault stops the run at its instruction with `file:line:col: runtime error: MESSAGE` "
        "(exit 70); V is the value reported.\n\n"
        + faults.markdown_table()
        + "\nA constant operand (a number or a `.const`) that would fault is refused by the "
        "assembler, with the caret on it; the fused reads check `dial` as `FF` does:\n\n"
        + static_checks()
        + "\n## .core keys\n\n"
        + key_table(CORE_KEYS)
        + "\n## Device declarations\n\n"
        "`.KIND NAME key=value ...`: keys marked required must be given; a `.bank` or `.ou` "
        "name is also a vector (its state). See `docs/devices.md` for the physics.\n" + device_tables()
    )


if __name__ == "__main__":
    print(document(), end="")
