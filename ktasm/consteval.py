"""Constant expressions: the value, at assembly time, of numbers, ``.const`` names,
``+ - * / %``, comparisons (``== != < <= > >=``, 1 or 0), ``&& || !`` and the functions of
``FUNCTIONS`` over them (operands, ``.core`` values, AAT entries, lane indices, ``.if``)."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
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
    """An expression that has no value at assembly time, and where and why; ``name`` is
    the unknown name when that is why."""

    def __init__(self, span: Span, message: str, *notes: str, name: str | None = None):
        super().__init__(message)
        self.span, self.message, self.notes, self.name = span, message, notes, name


def _mod(a: float, b: float) -> float:
    return math.fmod(a, b) + (b if math.fmod(a, b) and (math.fmod(a, b) < 0) != (b < 0) else 0.0)


def _exp(a: float) -> float:
    try:
        return math.exp(a)
    except OverflowError:
        return math.inf


def _pow(a: float, b: float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf


def _sigmoid(a: float) -> float:
    if a >= 0:
        return 1.0 / (1.0 + math.exp(-a))
    e = math.exp(a)
    return e / (1.0 + e)


# name -> (arguments, function, what its arguments must be: None, or a check and the
# message for a value that fails it). The same functions as the instructions MOD, SQRT,
# EXP, LOG, POW, SIGMOID, MIN, MAX, ABS, FLOOR, at assembly time.
FUNCTIONS: dict[str, tuple[int, Callable[..., float], Callable[..., str | None]]] = {
    "mod": (2, _mod, lambda a, b: "mod by zero" if b == 0 else None),
    "sqrt": (1, math.sqrt, lambda a: f"sqrt of a negative number ({a:g})" if a < 0 else None),
    "exp": (1, _exp, lambda a: None),
    "log": (
        1,
        lambda a: math.log(a) if a > 0 else -math.inf,
        lambda a: (
            f"log of a negative number ({a:g})" if a < 0 else (f"log of {a:g} is -inf" if a == 0 else None)
        ),
    ),
    "pow": (
        2,
        _pow,
        lambda a, b: (
            f"pow({a:g}, {b:g}) has no real value"
            if (a < 0 and b != math.floor(b)) or (a == 0 and b < 0)
            else None
        ),
    ),
    "sigmoid": (1, _sigmoid, lambda a: None),
    "min": (2, min, lambda a, b: None),
    "max": (2, max, lambda a, b: None),
    "abs": (1, abs, lambda a: None),
    "floor": (1, lambda a: float(math.floor(a)), lambda a: None),
}


def register_index(node) -> int | None:
    """The register a name denotes (r0..r15 and beyond: the caller checks the range)."""
    return _register_of(node.id) if isinstance(node, ast.Name) else None


@lru_cache(maxsize=4096)  # asked several times for each operand of each instruction
def _register_of(name: str) -> int | None:
    m = _REGISTER.match(name)
    if m:  # past 9 digits it is out of range anyway (and int() refuses 4300 digits)
        return int(m.group(1)) if len(m.group(1)) <= 9 else 10**9
    return None


def suggest(word: str, candidates) -> tuple[str, ...]:
    """A 'did you mean' note for the closest candidates, if any is close: at most one
    edit (a letter added, dropped, changed, or two swapped) away for words up to 5
    letters, two for longer ones, so RET does not suggest MRESET nor start SQRT."""
    allowed = 1 if len(word) <= 5 else 2
    lowered = word.lower()
    scored = []
    for candidate in candidates:
        if abs(len(candidate) - len(word)) > allowed:
            continue
        distance = edit_distance(lowered, candidate.lower(), allowed)
        if distance <= allowed:
            ratio = difflib.SequenceMatcher(None, lowered, candidate.lower()).ratio()
            scored.append((distance, -ratio, candidate))
    close = [c for _, _, c in sorted(scored)[:3]]
    return (f"did you mean {' or '.join(repr(c) for c in close)}?",) if close else ()


def edit_distance(a: str, b: str, limit: int = 2) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps
    of neighbours, each one edit; any distance past ``limit`` is returned as limit + 1.
    Only the cells within ``limit`` of the diagonal can be under it, so only they are
    computed, and once two rows running are past it no later cell can come back under
    it: a name far from the word is given up after a few letters."""
    n, m = len(a), len(b)
    if abs(n - m) > limit:
        return limit + 1
    far = limit + 1
    previous2: list[int] = []
    previous = [j if j <= limit else far for j in range(m + 1)]
    for i in range(1, n + 1):
        ca = a[i - 1]
        current = [far] * (m + 1)
        current[0] = i if i <= limit else far
        low, high = max(1, i - limit), min(m, i + limit)
        best = current[0]
        for j in range(low, high + 1):
            cb = b[j - 1]
            d = previous[j - 1] if ca == cb else previous[j - 1] + 1
            if previous[j] + 1 < d:
                d = previous[j] + 1
            if current[j - 1] + 1 < d:
                d = current[j - 1] + 1
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and previous2[j - 2] + 1 < d:
                d = previous2[j - 2] + 1
            current[j] = d if d < far else far
            if d < best:
                best = d
        if best > limit and min(previous) > limit:
            return far
        previous2, previous = previous, current
    return previous[m]


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "&&": lambda a, b: a != 0 and b != 0,
    "||": lambda a, b: a != 0 or b != 0,
}


def value_of(node, symbols: Mapping[str, Symbol]) -> float:
    """The expression's value; NotConstant if it has none (a register, a label, ...)."""
    if isinstance(node, ast.Number):
        return node.value
    if isinstance(node, ast.Unary):
        value = value_of(node.operand, symbols)
        return float(value == 0) if node.op == "!" else -value
    if isinstance(node, ast.Call):
        return _call(node, symbols)
    if isinstance(node, ast.Binary):
        left, right = value_of(node.left, symbols), value_of(node.right, symbols)
        if node.op in ("/", "%"):
            if right == 0:
                what = "division" if node.op == "/" else "mod"
                raise NotConstant(node.right.span, f"{what} by zero in a constant expression")
            return left / right if node.op == "/" else _mod(left, right)
        if node.op in _COMPARE:
            return float(_COMPARE[node.op](left, right))
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
            name=node.id,
        )
    raise NotConstant(node.span, "expected a number")


def _call(node: ast.Call, symbols: Mapping[str, Symbol]) -> float:
    name = node.function.id
    if name == "defined":  # defined(NAME): 1 if NAME is a constant (a .const or -D NAME=...)
        if len(node.args) != 1 or not isinstance(node.args[0], ast.Name):
            raise NotConstant(node.span, "defined() takes one name: defined(NAME)")
        sym = symbols.get(node.args[0].id)
        return float(sym is not None and sym.kind == "const")
    spec = FUNCTIONS.get(name.lower())
    if spec is None:
        raise NotConstant(
            node.function.span,
            f"unknown function {name!r}",
            *suggest(name.lower(), FUNCTIONS),
            f"functions: {', '.join(FUNCTIONS)}, defined",
        )
    arity, function, check = spec
    if len(node.args) != arity:
        raise NotConstant(
            node.span, f"{name}() takes {arity} argument{'s' if arity != 1 else ''}, got {len(node.args)}"
        )
    args = [value_of(a, symbols) for a in node.args]
    problem = check(*args)
    if problem:
        raise NotConstant(
            node.args[0].span if arity == 1 else node.span, f"{problem} in a constant expression"
        )
    return float(function(*args))


_NUMBER = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LANE_NAME = re.compile(r"[lL]\d+")


def parse_number(text: str) -> float | None:
    """A number as the language writes it (decimal, 0x hex, 0b binary, a sign), or None."""
    text = text.strip()
    if not _NUMBER.fullmatch(text):
        return None
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    try:
        value = float(int(body, 0)) if body[:2].lower() in ("0x", "0b") else float(body)
    except OverflowError:
        return None
    return sign * value if math.isfinite(value) else None


def parse_define(text: str) -> tuple[str, float]:
    """NAME=VALUE (the -D option) as (name, value); ValueError saying what is wrong."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ValueError(f"expected NAME=VALUE, got {text!r}")
    number = parse_number(value)
    if number is None:
        raise ValueError(f"{name}: {value.strip()!r} is not a number (decimal, 0x hex or 0b binary)")
    check_defines({name: number})
    return name, number


def check_defines(defines) -> dict[str, float]:
    """-D constants {name: number} as floats; ValueError for a name that is not an
    identifier (or a register, lane or '_') or a value that is not a finite number."""
    out: dict[str, float] = {}
    for name, value in dict(defines or {}).items():
        if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
            raise ValueError(f"define {name!r}: a constant's name is a letter or _ then letters, digits or _")
        if _REGISTER.match(name) or _LANE_NAME.fullmatch(name) or name in ("_", "L"):
            raise ValueError(f"define {name!r}: the name is reserved (registers r0..r15, lanes Ln, '_')")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"define {name}: expected a finite number, got {value!r}")
        out[name] = float(value)
    return out
