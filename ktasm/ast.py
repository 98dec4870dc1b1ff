"""The syntax tree of a .kta program. Every node carries a ``span``, left out of equality."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from ktasm.errors import Span

_SPAN = field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------- expressions / operands
@dataclass(frozen=True)
class Number:
    value: float
    span: Span = _SPAN


@dataclass(frozen=True)
class Name:
    id: str
    span: Span = _SPAN


@dataclass(frozen=True)
class Indexed:  # L[r3], L[N+1]
    base: Name
    index: object
    span: Span = _SPAN


@dataclass(frozen=True)
class Unary:
    op: str  # "-"
    operand: object
    span: Span = _SPAN


@dataclass(frozen=True)
class Binary:
    op: str  # + - * /
    left: object
    right: object
    span: Span = _SPAN


@dataclass(frozen=True)
class AatTuple:
    items: tuple
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


# ---------------------------------------------------------------- statements
@dataclass(frozen=True)
class Label:
    name: str
    span: Span = _SPAN


@dataclass(frozen=True)
class DirItem:
    key: str | None  # keyed items: key=value
    value: object
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
    operands: tuple
    span: Span = _SPAN
    origin: tuple[str, ...] = field(default=(), compare=False)


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
    if isinstance(node, RegRange):
        first, last = mapping.get(node.first.id, node.first), mapping.get(node.last.id, node.last)
        return replace(node, first=first if isinstance(first, Name) else node.first,
                       last=last if isinstance(last, Name) else node.last)
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
