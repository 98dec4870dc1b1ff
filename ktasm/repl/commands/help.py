"""``.help``: the command list, one command's usage, or an instruction from the table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ktasm.assembler import DIRECTIVES
from ktasm.repl.commands.registry import COMMANDS, CommandError, command
from vm import isa

if TYPE_CHECKING:
    from ktasm.repl.engine import Session


@command(
    "help",
    ".help [command | mnemonic]",
    "this list; the usage of a command; an instruction's operands, summary and example",
    "help",
)
def print_help(session: Session, args: list[str], cols: list[int]) -> None:
    out = session.out
    if not args:
        out("Type an instruction (FF L0, z) or a declaration (.aat z = (0)) to run it at once.")
        out("Commands:")
        for c in COMMANDS.values():
            out(f"  {c.usage:<28} {c.summary}")
        out("Directives: " + " ".join("." + d for d in DIRECTIVES))
        out("Instructions: .help MNEMONIC (e.g. .help FF); docs/instructions.md lists them all.")
        return
    topic = args[0].lstrip(".")
    if topic.lower() in COMMANDS:
        c = COMMANDS[topic.lower()]
        out(f"{c.usage}\n  {c.summary}")
        return
    ins = isa.lookup(topic)
    if ins is None:
        raise CommandError(f"no command or instruction {args[0]!r}", cols[0], cols[0] + len(args[0]))
    out(f"{ins.signature()}    ({ins.group})\n  {ins.summary}")
    for o in ins.source_operands:
        out(f"  {o.name:<8} {isa.KIND_HELP[o.kind]}{' (optional)' if o.optional else ''}")
    if ins.example:
        out(f"  e.g. {ins.example}")
