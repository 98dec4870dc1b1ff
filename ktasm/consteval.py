"""Constant expressions: the value, at assembly time, of numbers, ``.const`` names and
``+ - * /`` over them (operands, ``.core`` values, AAT entries, lane indices)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Protocol

from ktasm import ast
from ktasm.errors import Span

_REGISTER = re.compile(r"^[rR](\d+)$")


class Symbol(Protocol):
    """What the assembler's symbol table holds for a name: a kind and a value."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> float: ...


class NotConstant(Exception):
    """An expression that has no value at assembly time, and where and why."""

    def __init__(self, span: Span, message: str, *notes: str):
        super().__init__(message)
        self.span, self.message, self.notes = span, message, notes


def register_index(node) -> int | None:
    """The register a name denotes (r0..r15 and beyond: the caller checks the range)."""
    if isinstance(node, ast.Name):
        m = _REGISTER.match(node.id)
        if m:  # past 9 digits it is out of range anyway (and int() refuses 4300 digits)
            return int(m.group(1)) if len(m.group(1)) <= 9 else 10**9
    return None


def suggest(word: str, candidates) -> tuple[str, ...]:
    """A 'did you mean' note for the closest candidates, if any is close."""
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    return (f"did you mean {' or '.join(repr(c) for c in close)}?",) if close else ()


def value_of(node, symbols: Mapping[str, Symbol]) -> float:
    """The expression's value; NotConstant if it has none (a register, a label, ...)."""
    if isinstance(node, ast.Number):
        return node.value
    if isinstance(node, ast.Unary):
        return -value_of(node.operand, symbols)
    if isinstance(node, ast.Binary):
        left, right = value_of(node.left, symbols), value_of(node.right, symbols)
        if node.op == "/":
            if right == 0:
                raise NotConstant(node.right.span, "division by zero in a constant expression")
            return left / right
        return {"+": left + right, "-": left - right, "*": left * right}[node.op]
    if isinstance(node, ast.Name):
        sym = symbols.get(node.id)
        if sym is not None and sym.kind == "const":
            return sym.value
        if register_index(node) is not None:
            raise NotConstant(
                node.span,
                f"register {node.id} cannot be used in a constant expression (use ADD, MUL, ... at run time)",
            )
        if sym is not None:
            raise NotConstant(node.span, f"{node.id!r} is a {sym.kind}, not a number")
        raise NotConstant(
            node.span,
            f"unknown name {node.id!r}",
            *suggest(node.id, [k for k, s in symbols.items() if s.kind == "const"]),
        )
    raise NotConstant(node.span, "expected a number")
