"""The syntax tree of a .kta program. Every node carries a ``span``, left out of equality."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TypeAlias, cast

from ktasm.errors import Span

# The parser gives every node its Span; the None default only spares nodes built by hand
# (for comparison, say) from inventing one, so the field is typed as the Span it always has.
_SPAN = field(default=cast(Span, None), compare=False, repr=False)


# ---------------------------------------------------------------- expressions / operands
@dataclass(frozen=True)
class Number:
    value: float
    span: Span = _SPAN
    text: str | None = field(
        default=None, compare=False
    )  # as written: integer keys (a seed) keep every digit

    def exact_int(self) -> int | None:
        """The integer as written (decimal digits, 0x hex or 0b binary), exactly; None if it
        is written as a decimal fraction or with an exponent."""
        text = self.text or ""
        if text.isdigit():
            return int(text)
        if text[:2].lower() in ("0x", "0b"):
            return int(text, 0)
        return None


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _SPAN


@dataclass(frozen=True)
class Indexed:  # L[r3], L[N+1]
    base: Name
    index: Expr
    span: Span = _SPAN


@dataclass(frozen=True)
class Unary:
    op: str  # "-", or "!" (logical not: 1 if the operand is 0, else 0)
    operand: Expr
    span: Span = _SPAN


@dataclass(frozen=True)
class Binary:
    op: str  # + - * / %, comparisons == != < <= > >=, && ||
    left: Expr
    right: Expr
    span: Span = _SPAN


@dataclass(frozen=True)
class Call:  # sqrt(2), pow(B, 3): a function of constant expressions (ktasm.consteval)
    function: Name
    args: tuple[Expr, ...]
    span: Span = _SPAN


@dataclass(frozen=True)
class AatTuple:
    items: tuple[Expr, ...]
    span: Span = _SPAN


@dataclass(frozen=True)
class RegRange:
    first: Name
    last: Name
    span: Span = _SPAN


@dataclass(frozen=True)
class String:
    value: str
    span: Span = _SPAN


# An expression or operand: what an instruction operand or a directive item's value may be.
Expr: TypeAlias = Number | Name | Indexed | Unary | Binary | Call | AatTuple | RegRange | String


# ---------------------------------------------------------------- statements
@dataclass(frozen=True)
class Label:
    name: str
    span: Span = _SPAN


@dataclass(frozen=True)
class DirItem:
    key: str | None  # keyed items: key=value
    value: Expr
    span: Span = _SPAN


@dataclass(frozen=True)
class Directive:
    name: str  # lower case, without the dot
    items: tuple[DirItem, ...]
    span: Span = _SPAN
    origin: tuple[str, ...] = field(default=(), compare=False)  # macro expansions it came from


@dataclass(frozen=True)
class Instruction:
    mnemonic: str  # as written
    operands: tuple[Expr, ...]
    span: Span = _SPAN
    origin: tuple[str, ...] = field(default=(), compare=False)


# The nodes the parser's fast path makes most, made without the frozen dataclass's
# __init__ (a guarded setattr per field, about twice the cost); every field is given.
# tests/language/test_fast_parse.py compares every field of what they make with Lark's path.
_new = object.__new__


def quick_name(id: str, span: Span) -> Name:
    node = _new(Name)
    fields = node.__dict__
    fields["id"] = id
    fields["span"] = span
    return node


def quick_number(value: float, span: Span, text: str) -> Number:
    node = _new(Number)
    fields = node.__dict__
    fields["value"] = value
    fields["span"] = span
    fields["text"] = text
    return node


def quick_string(value: str, span: Span) -> String:
    node = _new(String)
    fields = node.__dict__
    fields["value"] = value
    fields["span"] = span
    return node


def quick_label(name: str, span: Span) -> Label:
    node = _new(Label)
    fields = node.__dict__
    fields["name"] = name
    fields["span"] = span
    return node


def quick_instruction(mnemonic: str, operands: tuple[Expr, ...], span: Span) -> Instruction:
    node = _new(Instruction)
    fields = node.__dict__
    fields["mnemonic"] = mnemonic
    fields["operands"] = operands
    fields["span"] = span
    fields["origin"] = ()
    return node


def with_origin(stmt, note: str):
    """stmt, remembering that it came from a macro expansion."""
    if isinstance(stmt, (Instruction, Directive)):
        return replace(stmt, origin=stmt.origin + (note,))
    return stmt


def substitute(node, mapping: dict):
    """node with every Name whose id is in mapping replaced (macro arguments, local labels)."""
    if isinstance(node, Name):
        return mapping.get(node.id, node)
    if isinstance(node, Indexed):
        base = mapping.get(node.base.id, node.base)
        if not isinstance(base, Name):
            base = node.base
        return replace(node, base=base, index=substitute(node.index, mapping))
    if isinstance(node, Unary):
        return replace(node, operand=substitute(node.operand, mapping))
    if isinstance(node, Binary):
        return replace(node, left=substitute(node.left, mapping), right=substitute(node.right, mapping))
    if isinstance(node, AatTuple):
        return replace(node, items=tuple(substitute(i, mapping) for i in node.items))
    if isinstance(node, Call):
        return replace(node, args=tuple(substitute(a, mapping) for a in node.args))
    if isinstance(node, RegRange):
        first, last = mapping.get(node.first.id, node.first), mapping.get(node.last.id, node.last)
        return replace(
            node,
            first=first if isinstance(first, Name) else node.first,
            last=last if isinstance(last, Name) else node.last,
        )
    if isinstance(node, DirItem):
        return replace(node, value=substitute(node.value, mapping))
    if isinstance(node, Instruction):
        return replace(node, operands=tuple(substitute(o, mapping) for o in node.operands))
    if isinstance(node, Directive):
        return replace(node, items=tuple(substitute(i, mapping) for i in node.items))
    if isinstance(node, Label):
        new = mapping.get(node.name)
        return replace(node, name=new.id) if isinstance(new, Name) else node
    return node
