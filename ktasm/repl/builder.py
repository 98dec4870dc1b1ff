"""Programs from what was typed: one input line becomes a plan (declare, reconfigure the
core, or run an instruction now) holding the program it would give. Nothing here prints,
touches a machine or changes the session; errors are ``KtasmError``s with spans.

The session's program is the loaded file followed by the declarations typed so far, with
the .core keys laid over its .core line. An instruction is assembled as one more
instruction after that program, so the plan's program is the program plus that line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

from ktasm import ast
from ktasm.assembler import assemble_statements
from ktasm.errors import Collector, Diagnostic, KtasmError, Span
from ktasm.expand import Sources, expand_macros, splice_includes
from ktasm.parser import parse_text
from ktasm.repl.state import ProgramParts
from vm import isa
from vm.bytecode import Program


@dataclass(frozen=True)
class Declare:
    """Extend the program with declarations (the machine keeps every state array)."""

    program: Program
    statements: tuple
    sources: Sources


@dataclass(frozen=True)
class Reconfigure:
    """A .core line: a fresh core for program; core_keys are the keys the line typed."""

    program: Program
    core_keys: tuple[str, ...]


@dataclass(frozen=True)
class RunNow:
    """An instruction (or macro call): program is the session's program plus it."""

    program: Program


Plan = Declare | Reconfigure | RunNow


class ProgramBuilder:
    """Assembles the program of a session's parts, alone or with one more line."""

    def __init__(self, parts: ProgramParts, input_name: str):
        self.parts = parts
        self.input_name = input_name

    def core_items(self) -> list[ast.DirItem]:
        """The session's .core keys (typed, then --seed/--model/.seed) as directive items."""
        span = Span(self.input_name, 0, 1)
        return [_value_item(k, v, span) for k, v in {**self.parts.typed_core, **self.parts.overrides}.items()]

    def build(
        self,
        input_text: str,
        *,
        decls: list | None = None,
        extra: tuple = (),
        core_items: list[ast.DirItem] | None = None,
        decl_sources: Sources | None = None,
    ) -> Program:
        """The program of the parts; decls, extra statements, core items and the
        declarations' sources replace or extend the parts' own."""
        parts = self.parts
        errors = Collector()
        typed = parts.decls if decls is None else decls
        statements = expand_macros([*parts.file_statements, *typed, *extra], errors, parts.defines)
        statements = _with_core(statements, self.core_items() if core_items is None else core_items)
        return assemble_statements(statements, self._sources(decl_sources, input_text), errors, parts.defines)

    def _sources(self, decl_sources: Sources | None, input_text: str) -> Sources:
        merged = copy_sources(self.parts.file_sources)
        for name, text in (decl_sources or self.parts.decl_sources).texts.items():
            merged.texts.setdefault(name, text)
        merged.texts[self.input_name] = input_text
        return merged

    # ------------------------------------------------------------------ one line
    def plan(self, line: str, number: int, input_text: str, current: Program) -> Plan | None:
        """What input line number would do to the session running current (None: nothing).
        input_text is every input line, this one included, for error messages."""
        errors = Collector()
        statements = parse_text(line, self.input_name, errors, first_line=number)
        if errors:
            raise KtasmError(errors.diagnostics, {self.input_name: input_text})
        labels = [s for s in statements if isinstance(s, ast.Label)]
        if labels:
            raise _error(
                labels[0].span,
                "labels belong in a program file",
                "write the program in a file, .load it, then .step, .break and .continue",
            )
        if not statements:
            return None
        stmt = statements[0]
        if isinstance(stmt, ast.Directive) and stmt.name == "core":
            return self._plan_core(stmt, input_text)
        if isinstance(stmt, ast.Directive):
            return self._plan_declaration(statements, input_text, current)
        return self._plan_instruction(stmt, input_text, current)

    def _plan_core(self, stmt: ast.Directive, input_text: str) -> Reconfigure:
        keys = tuple(item.key.lower() for item in stmt.items if item.key)
        kept = [item for item in self.core_items() if item.key not in keys]
        program = self.build(input_text, core_items=kept + list(stmt.items))
        return Reconfigure(program, keys)

    def _plan_declaration(self, statements: list, input_text: str, current: Program) -> Declare:
        errors = Collector()
        sources = copy_sources(self.parts.decl_sources)
        spliced = splice_includes(statements, self.input_name, errors, sources, defines=self.parts.defines)
        if errors:
            raise KtasmError(errors.diagnostics, {self.input_name: input_text})
        program = self.build(input_text, decls=self.parts.decls + spliced, decl_sources=sources)
        if program.code.shape[0] != current.code.shape[0]:
            raise _error(
                statements[0].span,
                "an .include at the prompt may bring declarations and macros, not instructions",
                "use .load FILE for a program",
            )
        return Declare(program, tuple(spliced), sources)

    def _plan_instruction(self, stmt: ast.Instruction, input_text: str, current: Program) -> RunNow:
        ins = isa.lookup(stmt.mnemonic)
        if ins is not None and ins.group == "control" and ins.mnemonic != "NOP":
            span = stmt.span
            raise _error(
                Span(span.file, span.line, span.col, span.col + len(stmt.mnemonic)),
                f"{ins.mnemonic} needs a program around it",
                "write the program in a file, .load it, then .step or .continue",
            )
        program = self.build(input_text, extra=(stmt,))
        added = [
            (len(program.aat_names), len(current.aat_names), "AATs"),
            (len(program.devices), len(current.devices), "devices"),
            (len(program.data_names), len(current.data_names), "data"),
            (program.n_counters, current.n_counters, "LOOP counters"),
            (len(program.output_names), len(current.output_names), "output names"),
        ]
        for new, old, what in added:
            if new != old:
                raise _error(
                    stmt.span,
                    f"this line adds {what}: a macro that declares or loops, or a named output, "
                    "needs a program around it",
                    "put it in a file and .load it",
                )
        return RunNow(program)

    def macro_block(self, lines: list[tuple[int, str]], input_text: str, current: Program) -> Declare:
        """A .macro ... .endm block typed over the numbered input lines."""
        errors = Collector()
        statements: list = []
        for number, text in lines:
            statements += parse_text(text, self.input_name, errors, first_line=number)
        if errors:
            raise KtasmError(errors.diagnostics, {self.input_name: input_text})
        program = self.build(input_text, decls=self.parts.decls + statements)
        if program.code.shape[0] != current.code.shape[0]:
            raise _error(statements[0].span, "instructions outside a macro body need a program")
        return Declare(program, tuple(statements), self.parts.decl_sources)


# ---------------------------------------------------------------------- whole files and saved lines
def parse_file(text: str, path: str, defines: dict | None = None) -> tuple[list, Sources]:
    """The statements of a program file (includes spliced, .if blocks resolved with the
    -D defines) and every file read for it."""
    errors = Collector()
    sources = Sources()
    sources.texts[path] = text
    if os.path.isfile(path):
        sources.included.add(os.path.realpath(path))
    statements = splice_includes(parse_text(text, path, errors), path, errors, sources, defines=defines)
    if errors:
        raise KtasmError(errors.diagnostics, sources.texts)
    return statements, sources


def parse_declarations(
    input_lines: list[str], numbers: list[int], input_name: str, defines: dict | None = None
) -> tuple[list, Sources]:
    """The declarations typed on the given input lines (a saved session's), includes spliced."""
    errors = Collector()
    sources = Sources()
    decls: list = []
    for number in numbers:
        statements = parse_text(input_lines[number - 1], input_name, errors, first_line=number)
        decls += splice_includes(statements, input_name, errors, sources, defines=defines)
    if errors:
        raise KtasmError(errors.diagnostics)
    return decls, sources


def copy_sources(sources: Sources) -> Sources:
    return Sources(dict(sources.texts), set(sources.included))


def _with_core(statements: list, items: list[ast.DirItem]) -> list:
    """The program's .core line with items laid over it, key by key (or a new one)."""
    if not items:
        return statements
    for i, stmt in enumerate(statements):
        if isinstance(stmt, ast.Directive) and stmt.name == "core":
            keys = {item.key.lower() for item in items if item.key}
            kept = tuple(it for it in stmt.items if it.key is None or it.key.lower() not in keys)
            return [*statements[:i], replace(stmt, items=kept + tuple(items)), *statements[i + 1 :]]
    return [ast.Directive("core", tuple(items), items[-1].span), *statements]


def _value_item(key: str, value: str | float, span: Span) -> ast.DirItem:
    node = ast.Name(value, span) if isinstance(value, str) else ast.Number(value, span)
    return ast.DirItem(key, node, span)


def _error(span: Span, message: str, *notes: str) -> KtasmError:
    return KtasmError([Diagnostic(span, message, notes)])
