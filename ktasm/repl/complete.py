"""Tab completion in two stages: first the word a line starts with (a dot-command, a
directive, a mnemonic or a macro), then the argument being typed, by its kind: a command's
argument kind, a .core key, or the operand kind the instruction table gives."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ktasm import ast
from ktasm.assembler import DIRECTIVES
from ktasm.repl.commands.registry import COMMANDS, first_word
from ktasm.repl.format import SHOW_FIELDS, aat_text, number
from vm import config as _config
from vm import isa

if TYPE_CHECKING:
    from ktasm.repl.state import ProgramParts, SessionState
    from vm.bytecode import Program
    from vm.machine import Machine

Name = tuple[str, str]  # (text, meta)
MAX_LANES_OFFERED = 64


@dataclass(frozen=True)
class Suggestion:
    """A completion: replace the last `replace` characters before the cursor by text."""

    text: str
    replace: int
    meta: str = ""


def complete(state: SessionState, before_cursor: str) -> list[Suggestion]:
    """Completions for the text before the cursor."""
    text = before_cursor.lstrip()
    word = last_word(text)
    if " " not in text:
        return matching(_dot_words() if text.startswith(".") else _mnemonics(state.parts), word)
    if text.startswith("."):
        return _dot_argument(state.machine, first_word(text)[1:].lower(), word)
    return _operand(state.machine, text, word)


# ---------------------------------------------------------------------- stage 1: the first word
def _dot_words() -> list[Name]:
    names = [(f".{c.name}", c.summary) for c in COMMANDS.values()]
    return names + [(f".{d}", "directive") for d in DIRECTIVES]


def _mnemonics(parts: ProgramParts) -> list[Name]:
    names = [(ins.mnemonic, ins.summary) for ins in isa.INSTRUCTIONS]
    for stmt in [*parts.file_statements, *parts.decls]:
        if isinstance(stmt, ast.Directive) and stmt.name == "macro" and stmt.items:
            value = stmt.items[0].value
            if isinstance(value, ast.Name):
                names.append((value.id, "macro"))
    return names


# ---------------------------------------------------------------------- stage 2: the argument
def _dot_argument(machine: Machine, head: str, word: str) -> list[Suggestion]:
    """After a dot-command (by its argument kind) or after .core (its keys)."""
    if head == "core":
        return matching([(f"{k.key}=", k.help) for k in _config.CORE_KEYS], word)
    if head not in COMMANDS:
        return []
    argument = COMMANDS[head].argument
    if argument == "file":
        return complete_path(word)
    if argument == "help":
        topics = [(c.name, c.summary) for c in COMMANDS.values()]
        return matching(topics + [(i.mnemonic, i.summary) for i in isa.INSTRUCTIONS], word)
    if argument == "lane":
        return matching(names_for(machine, isa.LANE) + [("all", "every pair")], word)
    if argument == "show":
        return matching([(f, "") for f in (*SHOW_FIELDS, "all")], word)
    if argument == "break":
        return matching(names_for(machine, isa.LABEL) + [("clear", "remove breakpoints")], word)
    if argument == "list":
        return matching(names_for(machine, isa.LABEL) + [("all", "the whole program")], word)
    return []


def _operand(machine: Machine, text: str, word: str) -> list[Suggestion]:
    """An instruction's operand, by the kind the instruction table gives it."""
    return operand_suggestions(lambda kind: names_for(machine, kind), text, word)


def operand_suggestions(
    names_of: Callable[[str | None], list[Name]], text: str, word: str
) -> list[Suggestion]:
    """The names (names_of(kind)) the operand being typed in text may be, by the kinds
    the instruction table gives its operands."""
    mnemonic, _, operands = text.partition(" ")
    index = operands.count(",")
    ins = isa.lookup(mnemonic)
    if ins is None:
        return matching(names_of(None), word)
    source = ins.source_operands
    # optional operands before this one may be left out, so it may be a later one
    skippable = sum(o.optional for o in source[: index + 1])
    names = [n for o in source[index : index + skippable + 1] for n in names_of(o.kind)]
    return matching(names, word)


def names_for(machine: Machine, kind: str | None) -> list[Name]:
    """The names an operand of this kind may be, with what they hold (None: any kind)."""
    regs = [(f"r{i}", f"= {number(float(machine.vals[i]))}") for i in range(isa.N_REGISTERS)]
    lanes = [
        (f"L{i}", f"y = {float(machine.core.lane_y[i]):+.4f}")
        for i in range(min(machine.core.num_lanes, MAX_LANES_OFFERED))
    ]
    aats = [(name, aat_text(machine.aats[i])) for i, name in enumerate(machine.program.aat_names)]
    return _names_by_kind(machine.program, kind, regs, lanes, aats)


def program_names(program: Program, kind: str | None) -> list[Name]:
    """names_for from a program alone (no machine: the language server's completion)."""
    regs = [(f"r{i}", "register") for i in range(isa.N_REGISTERS)]
    lanes = [(f"L{i}", "lane") for i in range(min(int(program.core.get("lanes", 1)), MAX_LANES_OFFERED))]
    aats = [(name, aat_text(program.aat_init[i])) for i, name in enumerate(program.aat_names)]
    return _names_by_kind(program, kind, regs, lanes, aats)


def _names_by_kind(
    p: Program, kind: str | None, regs: list[Name], lanes: list[Name], aats: list[Name]
) -> list[Name]:
    consts = [(name, f"= {value:.6g}") for name, value in p.consts.items()]
    data = [(name, "data") for name in p.data_names]
    labels = [(name, f"pc {pc}") for name, pc in p.labels.items() if "@" not in name]  # no macro-local ones

    def devices(*kinds: str) -> list[Name]:
        return [(d["name"], d["kind"]) for d in p.devices if d["kind"] in kinds]

    if kind is None:
        return regs + lanes + aats + consts + data + devices("vec", "mtj", "pairs", "bank", "ou")
    by_kind = {
        isa.REG: regs,
        isa.RANGE: regs,
        isa.LANE: lanes,
        isa.AAT: aats,
        isa.DATA: data,
        isa.VALUE: regs + consts,
        isa.LABEL: labels,
        isa.VEC: devices("vec", "bank", "ou"),
        isa.MTJ: devices("mtj"),
        isa.PAIRS: devices("pairs"),
        isa.BANK: devices("bank"),
        isa.OU: devices("ou"),
        isa.TAG: [(f'"{name}"', "output name") for name in p.output_names],
    }
    return by_kind.get(kind, [])


def complete_source(program: Program | None, macros: list[str], before_cursor: str) -> list[Suggestion]:
    """Completion in a .kta file (the language server): a directive, mnemonic or macro
    first (after an optional label), then a .core key or an operand by its kind, from
    program's names (the last program the file assembled to; None: the table's alone)."""
    text = _LABEL_PREFIX.sub("", before_cursor.lstrip())
    word = last_word(text)
    if " " not in text:
        if text.startswith("."):
            return matching([(f".{d}", "directive") for d in DIRECTIVES], word)
        return matching(
            [(i.mnemonic, i.summary) for i in isa.INSTRUCTIONS] + [(m, "macro") for m in macros], word
        )
    if text.startswith("."):
        if first_word(text).lower() == ".core":
            return matching([(f"{k.key}=", k.help) for k in _config.CORE_KEYS], word)
        return []
    if program is None:
        return []
    return operand_suggestions(lambda kind: program_names(program, kind), text, word)


_LABEL_PREFIX = re.compile(r"^[A-Za-z_][\w.@]*:\s*")


# ---------------------------------------------------------------------- words and paths
def last_word(text: str) -> str:
    """The word being typed: after the last space, comma, '(' or '['."""
    cut = max(text.rfind(c) for c in " ,([\t")
    return text[cut + 1 :]


def matching(names: Iterable[Name], word: str) -> list[Suggestion]:
    """names (text, meta) that start with word (case-insensitive), each once."""
    seen, out = set(), []
    low = word.lower()
    for text, meta in names:
        if text.lower().startswith(low) and text not in seen:
            seen.add(text)
            out.append(Suggestion(text, len(word), meta))
    return out


def complete_path(word: str) -> list[Suggestion]:
    directory, _, prefix = word.rpartition("/")
    base = os.path.expanduser(directory) if directory else "."
    try:
        entries = sorted(os.listdir(base or "/"))
    except OSError:
        return []
    out = []
    for entry in entries:
        if entry.startswith(prefix) and not (entry.startswith(".") and not prefix.startswith(".")):
            full = os.path.join(base or "/", entry)
            text = (directory + "/" if directory else "") + entry + ("/" if os.path.isdir(full) else "")
            out.append(Suggestion(text, len(word), "dir" if os.path.isdir(full) else ""))
    return out
