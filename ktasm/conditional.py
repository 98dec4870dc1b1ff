"""Conditional assembly: ``.if EXPR`` / ``.elif EXPR`` / ``.else`` / ``.endif`` keep or drop
the statements between them, on constant expressions (``ktasm.consteval``)::

    .if defined(FAST) && N > 4     ; -D FAST=1 on the command line, or a .const before
        .const STEPS = 10
    .else
        .const STEPS = 1000
    .endif

A condition sees the ``-D`` definitions and the ``.const`` lines above it (in the same
file or the files it included before); it is true when its value is not 0. Blocks nest and
close in the file they open in. Inside a macro body they are left alone and resolved in
each expansion, where the macro's arguments have been substituted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ktasm import ast
from ktasm.consteval import NotConstant, value_of
from ktasm.errors import Collector, Span

DIRECTIVES = ("if", "elif", "else", "endif")


@dataclass(frozen=True)
class _Const:
    value: float
    kind: str = "const"


@dataclass
class _Frame:
    span: Span  # the .if
    outer_active: bool  # whether the text around the block is kept
    active: bool  # whether the current branch is kept
    taken: bool  # a branch of this block was kept (or its condition was bad): the rest are dropped
    seen_else: Span | None = None


class Constants:
    """The constant values a condition may use, in source order: the -D definitions (which
    win over a .const of the same name), then each .const as it is met."""

    def __init__(self, defines: Mapping[str, float] | None = None):
        self.defines = dict(defines or {})
        self.table: dict[str, _Const] = {k: _Const(float(v)) for k, v in self.defines.items()}

    def record(self, stmt: ast.Directive) -> None:
        """A .const line's value, if it has one now (errors are the assembler's to report)."""
        items = stmt.items
        if len(items) != 1 or items[0].key is None or items[0].key in self.defines:
            return
        try:
            self.table.setdefault(items[0].key, _Const(value_of(items[0].value, self.table)))
        except NotConstant:
            pass


def resolve(
    statements: list,
    errors: Collector,
    constants: Constants,
    include: Callable[[ast.Directive], list] | None = None,
) -> list:
    """statements with their .if blocks resolved. include(stmt), when given, returns the
    statements an .include in a kept branch brings in (resolved the same way); without it
    an .include is kept as it is. A .macro body is copied untouched."""
    out: list = []
    frames: list[_Frame] = []
    in_macro = False
    for stmt in statements:
        if type(stmt) is tuple:  # a compact instruction line (ktasm.parser.Compact): no directive
            if not frames or frames[-1].active:
                out.append(stmt)
            continue
        directive = stmt.name if isinstance(stmt, ast.Directive) else None
        if directive in DIRECTIVES and not in_macro:
            _branch(stmt, frames, errors, constants)
            continue
        if frames and not frames[-1].active:
            continue
        if directive == "macro":
            in_macro = True
        elif directive == "endm":
            in_macro = False
        elif directive == "const" and not in_macro:
            constants.record(stmt)
        elif directive == "include" and include is not None and not in_macro:
            out.extend(include(stmt))
            continue
        out.append(stmt)
    for frame in frames:
        errors.error(
            frame.span, ".if without a matching .endif", "close the block with .endif in the same file"
        )
    return out


def _branch(stmt: ast.Directive, frames: list[_Frame], errors: Collector, constants: Constants) -> None:
    name = stmt.name
    if name == "if":
        outer = not frames or frames[-1].active
        value = _condition(stmt, errors, constants) if outer else False
        frames.append(_Frame(stmt.span, outer, value is True, value is not False))
        return
    if not frames:
        errors.error(stmt.span, f".{name} without an .if")
        return
    frame = frames[-1]
    if name == "endif":
        _no_items(stmt, errors)
        frames.pop()
        return
    if frame.seen_else is not None:
        errors.error(stmt.span, f".{name} after .else", f"the .else is at {frame.seen_else}")
        frame.active = False
        return
    if name == "else":
        _no_items(stmt, errors)
        frame.seen_else = stmt.span
        frame.active = frame.outer_active and not frame.taken
        frame.taken = True
        return
    # .elif
    if not frame.outer_active or frame.taken:
        frame.active = False
        return
    value = _condition(stmt, errors, constants)
    frame.active = value is True
    frame.taken = value is not False


def _condition(stmt: ast.Directive, errors: Collector, constants: Constants) -> bool | None:
    """The condition's truth, or None after reporting why it has none."""
    items = stmt.items
    if len(items) != 1 or items[0].key is not None:
        errors.error(stmt.span, f".{stmt.name} expects one constant expression: .{stmt.name} N > 2")
        return None
    try:
        return value_of(items[0].value, constants.table) != 0
    except NotConstant as exc:
        errors.error(exc.span, exc.message, *exc.notes)
        return None


def _no_items(stmt: ast.Directive, errors: Collector) -> None:
    if stmt.items:
        errors.error(stmt.items[0].span, f".{stmt.name} takes nothing after it")
