"""Declarations: the symbol table, ``.const``, ``.core``, ``.aat``, ``.data`` and the device
declarations (``.vec .mtj .pairs .bank .ou``), each read against its key table in
``vm.config``. The assembler (``ktasm.assembler``) encodes instructions against what is
declared here.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

from ktasm import ast
from ktasm.consteval import NotConstant, register_index, suggest, value_of
from ktasm.errors import Collector, Span
from ktasm.expand import Sources
from vm import config as _config

_LANE = re.compile(r"^[lL](\d+)$")


# What a name stands for: a label's pc, an AAT's row, a data table's or a device's index
# (ints), or a constant's value (a float).
SymbolValue: TypeAlias = int | float


@dataclass
class Symbol:
    kind: str  # label, const, aat, data, or a device kind
    span: Span
    value: SymbolValue

    @property
    def index(self) -> int:
        """The value of a label, AAT, data table or device: always an int."""
        assert isinstance(self.value, int), self
        return self.value


@dataclass
class Declarations:
    """What a program declares, collected in source order; errors go to ``errors``."""

    errors: Collector
    sources: Sources
    core: dict = field(default_factory=lambda: dict(_config.DEFAULTS))
    symbols: dict[str, Symbol] = field(default_factory=dict)
    aat_rows: list[list[int]] = field(default_factory=list)
    aat_names: list[str] = field(default_factory=list)
    data_names: list[str] = field(default_factory=list)
    data_paths: list[str | None] = field(default_factory=list)
    devices: list[dict] = field(default_factory=list)
    defines: dict[str, float] = field(default_factory=dict)  # -D NAME=VALUE: overrides a .const
    failed: set[str] = field(default_factory=set)  # names whose declaration was refused (reported)

    def error(self, stmt, span: Span, message: str, *notes: str) -> None:
        origin = getattr(stmt, "origin", ())
        self.errors.error(span, message, *notes, *origin)

    def define(self, name: str, symbol: Symbol) -> bool:
        if register_index(ast.Name(name)) is not None or _LANE.match(name) or name in ("_", "L"):
            self.errors.error(
                symbol.span, f"{name!r} is reserved (registers r0..r15, lanes Ln, '_' for a disabled space)"
            )
            return False
        if name in self.symbols:
            old = self.symbols[name]
            self.errors.error(
                symbol.span, f"{name!r} is already defined as a {old.kind}", f"defined at {old.span}"
            )
            return False
        self.symbols[name] = symbol
        return True

    def _name_and_value(self, stmt: ast.Directive, usage: str, value_optional=False):
        items = stmt.items
        if len(items) == 1 and items[0].key is not None:
            return items[0].key, items[0].value, items[0].span
        if (
            value_optional
            and len(items) == 1
            and items[0].key is None
            and isinstance(items[0].value, ast.Name)
        ):
            return items[0].value.id, None, items[0].span
        self.error(stmt, stmt.span, f".{stmt.name} expects {usage}")
        return None, None, None

    def declare_const(self, stmt: ast.Directive) -> None:
        name, value, span = self._name_and_value(stmt, "NAME = expression")
        if name is None:
            return
        if name in self.defines:  # -D NAME=VALUE wins over the source's value
            return
        number = self.evaluate(value, stmt)
        if number is not None:
            self.define(name, Symbol("const", span, number))
        else:
            self.failed.add(name)

    def declare_defines(self) -> None:
        """The -D constants, before anything the source declares."""
        for name, value in self.defines.items():
            self.define(name, Symbol("const", Span("<-D>", 1, 1), float(value)))

    def read_core(self, stmt: ast.Directive) -> None:
        seen = set()
        for item in stmt.items:
            if item.key is None:
                self.error(
                    stmt,
                    item.span,
                    ".core expects key=value items",
                    f"keys: {', '.join(k.key for k in _config.CORE_KEYS)}",
                )
                continue
            key = item.key.lower()
            spec = _config.BY_KEY.get(key)
            if spec is None:
                self.error(
                    stmt,
                    item.span,
                    f"unknown .core key {item.key!r}",
                    *suggest(key, _config.BY_KEY),
                    f"keys: {', '.join(k.key for k in _config.CORE_KEYS)}",
                )
                continue
            if key in seen:
                self.error(stmt, item.span, f".core key {key!r} given twice")
            seen.add(key)
            value = self.key_value(spec, item, stmt)
            if value is not None:
                self.core[key] = value
        problem = _config.memory_error(self.core)
        if problem:
            self.error(stmt, stmt.span, problem)

    def key_value(self, spec: _config.CoreKey, item, stmt):
        """One key=value item of .core or a device declaration, checked and converted;
        None after reporting why it is wrong."""
        value: str | float | None
        if spec.kind == "choice":
            value = (
                item.value.id
                if isinstance(item.value, ast.Name)
                else (item.value.value if isinstance(item.value, ast.String) else None)
            )
        elif spec.kind == "int" and isinstance(item.value, ast.Number) and item.value.exact_int() is not None:
            value = item.value.exact_int()  # exact: through a float, seeds above 2**53 collided
        else:
            value = self.evaluate(item.value, stmt)
            if value is None:
                return None
        problem = spec.check(value)
        if problem:
            self.error(stmt, item.value.span or item.span, problem)
            return None
        return spec.convert(value)

    def declare_aat(self, stmt: ast.Directive) -> None:
        name, value, span = self._name_and_value(stmt, "NAME = (a0, a1, ...) or NAME", value_optional=True)
        if name is None:
            return
        row = self.aat_row(value, stmt) if value is not None else None
        # a bad AAT is still declared (all spaces disabled) so its uses raise no more errors
        if self.define(name, Symbol("aat", span, len(self.aat_rows))):
            self.aat_rows.append(row or [-1] * self.core["spaces"])
            self.aat_names.append(name)

    def aat_row(self, value, stmt) -> list[int] | None:
        spaces, addresses = self.core["spaces"], self.core["rows"] * self.core["cols"]
        items = value.items if isinstance(value, ast.AatTuple) else (value,)
        if len(items) != spaces:
            self.error(
                stmt,
                value.span,
                f"AAT has {len(items)} entries; the core has {spaces} "
                f"space{'s' if spaces != 1 else ''} (one entry each, _ to disable)",
            )
            return None
        row = []
        for item in items:
            if isinstance(item, ast.Name) and item.id == "_":
                row.append(-1)
                continue
            number = self.evaluate(item, stmt)
            if number is None:
                return None
            if number != int(number) or not 0 <= number < addresses:
                self.error(
                    stmt,
                    item.span,
                    f"AAT address {number:g} out of range: expected an integer in [0, {addresses}) or _",
                )
                return None
            row.append(int(number))
        return row

    def declare_data(self, stmt: ast.Directive) -> None:
        name, value, span = self._name_and_value(
            stmt, 'NAME or NAME = "file.csv|file.npy"', value_optional=True
        )
        if name is None:
            return
        path = None
        if value is not None:
            if not isinstance(value, ast.String):
                self.error(stmt, value.span, f".data {name}: expected a quoted file name")
                return
            base = Path(stmt.span.file).parent if os.path.isfile(stmt.span.file) else Path.cwd()
            path = str((base / value.value).resolve())
        if self.define(name, Symbol("data", span, len(self.data_names))):
            self.data_names.append(name)
            self.data_paths.append(path)

    def declare_device(self, stmt: ast.Directive) -> None:
        """.vec/.mtj/.pairs/.bank/.ou NAME key=value ...: keys from vm.config.DEVICE_KINDS."""
        spec = _config.DEVICE_KINDS[stmt.name]
        usage = f".{stmt.name} NAME " + " ".join(f"{k.key}=..." for k in spec.keys if k.default is None)
        items = list(stmt.items)
        if not items or items[0].key is not None or not isinstance(items[0].value, ast.Name):
            self.error(stmt, stmt.span, f".{stmt.name} expects {usage}", f"example: {spec.example}")
            return
        name, span = items[0].value.id, items[0].span
        given: dict = {}
        ok = True
        for item in items[1:]:
            key = (item.key or "").lower()
            if item.key is None or key not in spec.by_key:
                what = (
                    f"unknown .{stmt.name} key {item.key!r}"
                    if item.key
                    else f".{stmt.name}: expected key=value after the name"
                )
                self.error(
                    stmt,
                    item.span,
                    what,
                    *suggest(key, spec.by_key),
                    f"keys: {', '.join(k.key for k in spec.keys)}",
                )
                ok = False
                continue
            value = self.key_value(spec.by_key[key], item, stmt)
            if value is None:
                ok = False
                continue
            given[key] = value
        values = spec.resolve(given)  # defaults, then the profile's, then the keys given
        missing = [k for k, v in values.items() if v is None]
        if missing and ok:
            self.error(
                stmt,
                stmt.span,
                f".{stmt.name} {name}: missing {', '.join(k + '=' for k in missing)}",
                f"example: {spec.example}",
            )
        problem = _config.device_problem(stmt.name, values) if ok and not missing else None
        if problem:
            self.error(stmt, stmt.span, f".{stmt.name} {name}: {problem}", f"example: {spec.example}")
            ok = False
        if self.define(name, Symbol(stmt.name, span, len(self.devices))) and ok and not missing:
            self.devices.append({"kind": stmt.name, "name": name, "values": values})
        elif (
            name in self.symbols
            and self.symbols[name].kind == stmt.name
            and self.symbols[name].value == len(self.devices)
        ):
            del self.symbols[name]  # a bad declaration: reported once, its uses are not
            self.failed.add(name)

    # ------------------------------------------------------------------ expressions
    def evaluate(self, node, stmt) -> float | None:
        """A constant expression's value, or None after reporting why it is not one."""
        try:
            value = value_of(node, self.symbols)
        except NotConstant as exc:
            if exc.name is None or exc.name not in self.failed:  # a refused .const: reported once
                self.error(stmt, exc.span, exc.message, *exc.notes)
            return None
        if not math.isfinite(value):
            self.error(stmt, node.span, f"expression is not a finite number ({value})")
            return None
        return value
