"""AST -> ``vm.bytecode.Program``: declarations, then every instruction checked and encoded
against ``vm.isa``'s table. Every problem is collected; a program with any error raises
one ``KtasmError`` listing them all, in source order.

Names: ``r0``..``r15`` are registers, ``L0``, ``L1``, ... lanes (``L[expr]`` a computed
lane), ``_`` a disabled AAT space; labels, constants, AATs, data tables and macros share
one namespace. Mnemonics and directives are case-insensitive, names are not.
"""

from __future__ import annotations

import difflib
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import numpy as np

from ktasm import ast
from ktasm.errors import Collector, Diagnostic, KtasmError, Span
from ktasm.expand import Sources, load
from vm import config as _config
from vm import codes, isa
from vm.bytecode import Program, device_lengths
from vm.devices import layout as _layout

_REGISTER = re.compile(r"^[rR](\d+)$")
_LANE = re.compile(r"^[lL](\d+)$")
DIRECTIVES = ("core", "aat", "const", "data", *_config.DEVICE_KINDS, "include", "macro", "endm")


def register_index(node) -> int | None:
    """The register number if node is a register name (r0..r15 or beyond: caller checks)."""
    if isinstance(node, ast.Name):
        m = _REGISTER.match(node.id)
        if m:
            return int(m.group(1))
    return None


def assemble_text(text: str, file: str = "<string>") -> Program:
    errors = Collector()
    statements, sources = load(text, file, errors)
    return assemble_statements(statements, sources, errors)


def assemble_file(path) -> Program:
    path = str(path)
    try:
        text = Path(path).read_text()
    except UnicodeDecodeError as exc:
        raise KtasmError([Diagnostic(Span(path, 1, 1), f"not a text file: {exc.reason}")]) from None
    return assemble_text(text, path)


def assemble_statements(statements: list, sources: Sources, errors: Collector) -> Program:
    """Expanded statements (includes spliced, macros expanded) -> Program, or KtasmError
    with every diagnostic in errors and the assembler's."""
    program = _Assembler(errors, sources).assemble(statements)
    if errors:
        raise KtasmError(errors.diagnostics, sources.texts)
    return program


# What a name stands for: a label's pc, an AAT's row, a data table's or a device's index
# (ints), or a constant's value (a float).
_SymbolValue: TypeAlias = int | float


@dataclass
class _Symbol:
    kind: str  # label, const, aat, data, or a device kind
    span: Span
    value: _SymbolValue

    @property
    def index(self) -> int:
        """The value of a label, AAT, data table or device: always an int."""
        assert isinstance(self.value, int), self
        return self.value


@dataclass
class _Assembler:
    errors: Collector
    sources: Sources
    core: dict = field(default_factory=lambda: dict(_config.DEFAULTS))
    symbols: dict[str, _Symbol] = field(default_factory=dict)
    constants: list[float] = field(default_factory=list)
    constant_slots: dict[tuple, int] = field(default_factory=dict)
    aat_rows: list[list[int]] = field(default_factory=list)
    aat_names: list[str] = field(default_factory=list)
    data_names: list[str] = field(default_factory=list)
    data_paths: list[str | None] = field(default_factory=list)
    n_counters: int = 0
    first_constant: int = isa.N_REGISTERS
    devices: list[dict] = field(default_factory=list)
    vec_meta: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))

    # ------------------------------------------------------------------ driver
    def assemble(self, statements: list) -> Program:
        core_lines = [s for s in statements if isinstance(s, ast.Directive) and s.name == "core"]
        for extra in core_lines[1:]:
            self.errors.error(extra.span, "a program has one .core line",
                              f"the first is at {core_lines[0].span}")
        # constants first (in order), so .core values and AATs may use them
        for stmt in statements:
            if isinstance(stmt, ast.Directive) and stmt.name == "const":
                self.declare_const(stmt)
        if core_lines:
            self.read_core(core_lines[0])
        instructions: list[ast.Instruction] = []
        for stmt in statements:
            if isinstance(stmt, ast.Label):
                if "." in stmt.name:
                    self.errors.error(stmt.span, f"label {stmt.name!r}: names cannot contain '.'")
                self.define(stmt.name, _Symbol("label", stmt.span, len(instructions)))
            elif isinstance(stmt, ast.Instruction):
                instructions.append(stmt)
            elif stmt.name == "aat":
                self.declare_aat(stmt)
            elif stmt.name == "data":
                self.declare_data(stmt)
            elif stmt.name in _config.DEVICE_KINDS:
                self.declare_device(stmt)
            elif stmt.name not in ("core", "const"):
                self.error(stmt, stmt.span, f"unknown directive .{stmt.name}",
                           f"directives: {', '.join('.' + d for d in DIRECTIVES)}")
        total = sum(sum(_layout.slot_lengths(d["kind"], d["values"])) for d in self.devices)
        problem = _config.memory_error(self.core, total) if self.devices else None
        if problem:
            first = self.symbols[self.devices[0]["name"]]
            self.errors.error(first.span, problem)
            self.devices = []  # no layout to encode against
        self.vec_meta = _layout.build(self.devices)[0]
        code = np.zeros((len(instructions), isa.CODE_WIDTH), dtype=np.int64)
        lines = np.zeros((len(instructions), 3), dtype=np.int64)
        files = list(self.sources.texts)
        loops: list[tuple[ast.Instruction, int, int]] = []  # (LOOP stmt, its pc, counter)
        # the value file: registers, one counter per LOOP, then the constant pool
        self.first_constant = isa.N_REGISTERS + sum(s.mnemonic.upper() == "LOOP" for s in instructions)
        for pc, stmt in enumerate(instructions):
            lines[pc] = (files.index(stmt.span.file), stmt.span.line, stmt.span.col)
            self.encode(stmt, pc, code, loops)
        for stmt, _, _ in loops:
            self.error(stmt, stmt.span, "LOOP without a matching ENDLOOP")
        spaces = self.core["spaces"]
        aat_init = np.array(self.aat_rows, dtype=np.int64).reshape(len(self.aat_rows), spaces)
        return Program(
            core=self.core, code=code, constants=np.array(self.constants, dtype=np.float64),
            n_counters=self.n_counters, aat_names=self.aat_names, aat_init=aat_init,
            data_names=self.data_names, data_paths=self.data_paths, lines=lines, files=files,
            sources=[self.sources.texts[f] for f in files],
            labels={k: v.index for k, v in self.symbols.items() if v.kind == "label"},
            consts={k: v.value for k, v in self.symbols.items() if v.kind == "const"},
            devices=self.devices)

    def error(self, stmt, span: Span, message: str, *notes: str) -> None:
        origin = getattr(stmt, "origin", ())
        self.errors.error(span, message, *notes, *origin)

    # ------------------------------------------------------------------ declarations
    def define(self, name: str, symbol: _Symbol) -> bool:
        if _REGISTER.match(name) or _LANE.match(name) or name in ("_", "L"):
            self.errors.error(symbol.span, f"{name!r} is reserved (registers r0..r15, lanes Ln, "
                                           "'_' for a disabled space)")
            return False
        if name in self.symbols:
            old = self.symbols[name]
            self.errors.error(symbol.span, f"{name!r} is already defined as a {old.kind}",
                              f"defined at {old.span}")
            return False
        self.symbols[name] = symbol
        return True

    def _name_and_value(self, stmt: ast.Directive, usage: str, value_optional=False):
        items = stmt.items
        if len(items) == 1 and items[0].key is not None:
            return items[0].key, items[0].value, items[0].span
        if value_optional and len(items) == 1 and items[0].key is None \
                and isinstance(items[0].value, ast.Name):
            return items[0].value.id, None, items[0].span
        self.error(stmt, stmt.span, f".{stmt.name} expects {usage}")
        return None, None, None

    def declare_const(self, stmt: ast.Directive) -> None:
        name, value, span = self._name_and_value(stmt, "NAME = expression")
        if name is None:
            return
        number = self.evaluate(value, stmt)
        if number is not None:
            self.define(name, _Symbol("const", span, number))

    def read_core(self, stmt: ast.Directive) -> None:
        seen = set()
        for item in stmt.items:
            if item.key is None:
                self.error(stmt, item.span, ".core expects key=value items",
                           f"keys: {', '.join(k.key for k in _config.CORE_KEYS)}")
                continue
            key = item.key.lower()
            spec = _config.BY_KEY.get(key)
            if spec is None:
                self.error(stmt, item.span, f"unknown .core key {item.key!r}",
                           *_suggest(key, _config.BY_KEY),
                           f"keys: {', '.join(k.key for k in _config.CORE_KEYS)}")
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
            value = item.value.id if isinstance(item.value, ast.Name) else (
                item.value.value if isinstance(item.value, ast.String) else None)
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
        if self.define(name, _Symbol("aat", span, len(self.aat_rows))):
            self.aat_rows.append(row or [-1] * self.core["spaces"])
            self.aat_names.append(name)

    def aat_row(self, value, stmt) -> list[int] | None:
        spaces, addresses = self.core["spaces"], self.core["rows"] * self.core["cols"]
        items = value.items if isinstance(value, ast.AatTuple) else (value,)
        if len(items) != spaces:
            self.error(stmt, value.span, f"AAT has {len(items)} entries; the core has {spaces} "
                                         f"space{'s' if spaces != 1 else ''} (one entry each, _ to disable)")
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
                self.error(stmt, item.span, f"AAT address {number:g} out of range: expected an "
                                            f"integer in [0, {addresses}) or _")
                return None
            row.append(int(number))
        return row

    def declare_data(self, stmt: ast.Directive) -> None:
        name, value, span = self._name_and_value(stmt, 'NAME or NAME = "file.csv|file.npy"',
                                                 value_optional=True)
        if name is None:
            return
        path = None
        if value is not None:
            if not isinstance(value, ast.String):
                self.error(stmt, value.span, f'.data {name}: expected a quoted file name')
                return
            base = Path(stmt.span.file).parent if os.path.isfile(stmt.span.file) else Path.cwd()
            path = str((base / value.value).resolve())
        if self.define(name, _Symbol("data", span, len(self.data_names))):
            self.data_names.append(name)
            self.data_paths.append(path)

    def declare_device(self, stmt: ast.Directive) -> None:
        """.vec/.mtj/.pairs/.bank/.ou NAME key=value ...: keys from vm.config.DEVICE_KINDS."""
        spec = _config.DEVICE_KINDS[stmt.name]
        usage = f".{stmt.name} NAME " + " ".join(f"{k.key}=..." for k in spec.keys if k.default is None)
        items = list(stmt.items)
        if not items or items[0].key is not None or not isinstance(items[0].value, ast.Name):
            self.error(stmt, stmt.span, f".{stmt.name} expects {usage}",
                       f"example: {spec.example}")
            return
        name, span = items[0].value.id, items[0].span
        values, ok = spec.defaults(), True
        for item in items[1:]:
            key = (item.key or "").lower()
            if item.key is None or key not in spec.by_key:
                what = f"unknown .{stmt.name} key {item.key!r}" if item.key else \
                    f".{stmt.name}: expected key=value after the name"
                self.error(stmt, item.span, what, *_suggest(key, spec.by_key),
                           f"keys: {', '.join(k.key for k in spec.keys)}")
                ok = False
                continue
            value = self.key_value(spec.by_key[key], item, stmt)
            if value is None:
                ok = False
                continue
            values[key] = value
        missing = [k for k, v in values.items() if v is None]
        if missing and ok:
            self.error(stmt, stmt.span, f".{stmt.name} {name}: missing {', '.join(k + '=' for k in missing)}",
                       f"example: {spec.example}")
        if self.define(name, _Symbol(stmt.name, span, len(self.devices))) and ok and not missing:
            self.devices.append({"kind": stmt.name, "name": name, "values": values})
        elif name in self.symbols and self.symbols[name].kind == stmt.name and \
                self.symbols[name].value == len(self.devices):
            del self.symbols[name]  # a bad declaration: uses report "not defined" once each

    # ------------------------------------------------------------------ expressions
    def evaluate(self, node, stmt) -> float | None:
        """A constant expression's value, or None after reporting why it is not one."""
        try:
            value = self._eval(node)
        except _NotConstant as exc:
            self.error(stmt, exc.span, exc.message, *exc.notes)
            return None
        if not math.isfinite(value):
            self.error(stmt, node.span, f"expression is not a finite number ({value})")
            return None
        return value

    def _eval(self, node) -> float:
        if isinstance(node, ast.Number):
            return node.value
        if isinstance(node, ast.Unary):
            return -self._eval(node.operand)
        if isinstance(node, ast.Binary):
            left, right = self._eval(node.left), self._eval(node.right)
            if node.op == "/":
                if right == 0:
                    raise _NotConstant(node.right.span, "division by zero in a constant expression")
                return left / right
            return {"+": left + right, "-": left - right, "*": left * right}[node.op]
        if isinstance(node, ast.Name):
            sym = self.symbols.get(node.id)
            if sym is not None and sym.kind == "const":
                return sym.value
            if register_index(node) is not None:
                raise _NotConstant(node.span, f"register {node.id} cannot be used in a constant "
                                              "expression (use ADD, MUL, ... at run time)")
            if sym is not None:
                raise _NotConstant(node.span, f"{node.id!r} is a {sym.kind}, not a number")
            raise _NotConstant(node.span, f"unknown name {node.id!r}",
                               *_suggest(node.id, [k for k, s in self.symbols.items() if s.kind == "const"]))
        raise _NotConstant(node.span, "expected a number")

    def constant(self, value: float) -> int:
        key = (float(value), math.copysign(1.0, value))
        if key not in self.constant_slots:
            self.constant_slots[key] = self.first_constant + len(self.constants)
            self.constants.append(float(value))
        return self.constant_slots[key]

    # ------------------------------------------------------------------ instructions
    def encode(self, stmt: ast.Instruction, pc: int, code: np.ndarray, loops: list) -> None:
        ins = isa.lookup(stmt.mnemonic)
        if ins is None:
            hint = _suggest(stmt.mnemonic.upper(), isa.MNEMONICS)
            self.error(stmt, _head_span(stmt), f"unknown instruction {stmt.mnemonic!r}", *hint)
            return
        code[pc, 0] = ins.opcode
        specs = list(ins.source_operands)
        given = list(stmt.operands)
        if specs and specs[0].optional and specs[0].kind == isa.REG \
                and (not given or register_index(given[0]) is None):
            specs_used = specs[1:]
            code[pc, 1] = -1
        else:
            specs_used = specs
        # only trailing optional operands may be left out: everything up to the last
        # required one must be given
        needed = max((k + 1 for k, o in enumerate(specs_used) if not o.optional), default=0)
        required = sum(not o.optional for o in specs)
        if not needed <= len(given) <= len(specs_used):
            count = f"{required}" if required == len(specs) else f"{required} to {len(specs)}"
            self.error(stmt, _head_span(stmt),
                       f"{ins.mnemonic} expects {count} operand{'s' if len(specs) != 1 else ''} "
                       f"({ins.signature().split(' ', 1)[-1] or 'none'}), got {len(given)}",
                       *([f"missing: {', '.join(o.name for o in specs_used[len(given):needed])}"]
                         if len(given) < needed else []))
            return
        positions = {id(o): pos for o, pos in ins.fields()}
        failed = False
        for k, operand in enumerate(specs_used):
            pos = positions[id(operand)]
            node = given[k] if k < len(given) else None
            if node is None:  # an optional operand left out
                code[pc, pos] = self.default_operand(operand)
                continue
            encoded = self.operand(operand, node, stmt, ins)
            if encoded is None:
                failed = True
                continue
            code[pc, pos:pos + operand.width] = encoded
        if not failed and ins.lengths:
            for problem in isa.length_problems(ins, code[pc], device_lengths(self.devices, self.vec_meta)):
                self.error(stmt, stmt.span, problem)
        if ins.opcode == codes.OP_LOOP:
            counter = isa.N_REGISTERS + self.n_counters
            self.n_counters += 1
            code[pc, 2] = counter
            loops.append((stmt, pc, counter))
        elif ins.opcode == codes.OP_ENDLOOP:
            if not loops:
                self.error(stmt, stmt.span, "ENDLOOP without a LOOP")
                return
            _, loop_pc, counter = loops.pop()
            code[pc, 1:3] = (counter, loop_pc + 1)
            code[loop_pc, 3] = pc + 1

    def default_operand(self, operand: isa.Operand) -> int:
        """The field of an optional operand left out: its default constant for a VALUE."""
        if operand.kind == isa.VALUE:
            assert operand.default is not None  # every optional VALUE in vm.isa has one
            return self.constant(operand.default)
        return -1

    def operand(self, operand: isa.Operand, node, stmt, ins) -> tuple | int | None:
        kind = operand.kind
        where = f"{ins.mnemonic} {operand.name}"
        if kind == isa.REG:
            return self.register(node, stmt, where)
        if kind == isa.VALUE:
            reg = register_index(node)
            if reg is not None:
                return self.register(node, stmt, where)
            value = self.evaluate(node, stmt)
            return None if value is None else self.constant(value)
        if kind == isa.LANE:
            return self.lane(node, stmt, where)
        if kind == isa.RANGE:
            if not isinstance(node, ast.RegRange):
                self.error(stmt, node.span, f"{where}: expected a register range like r0..r3")
                return None
            first = self.register(node.first, stmt, where)
            last = self.register(node.last, stmt, where)
            if first is None or last is None:
                return None
            if last < first:
                self.error(stmt, node.span, f"{where}: register range {node.first.id}..{node.last.id} "
                                            "runs backwards")
                return None
            return (first, last - first + 1)
        if kind == isa.AAT and isinstance(node, (ast.AatTuple, ast.Number)):
            row = self.aat_row(node, stmt)  # an inline AAT: (0, 5, _, 15)
            if row is None:
                return None
            if row in self.aat_rows and self.aat_names[self.aat_rows.index(row)].startswith("("):
                return self.aat_rows.index(row)
            self.aat_rows.append(row)
            self.aat_names.append("(" + ", ".join("_" if a < 0 else str(a) for a in row) + ")")
            return len(self.aat_rows) - 1
        expected = {isa.AAT: ("aat",), isa.DATA: ("data",), isa.LABEL: ("label",),
                    isa.VEC: ("vec", "bank", "ou"), **{k: (v,) for k, v in isa.DEVICE_OPERANDS.items()}}[kind]
        if not isinstance(node, ast.Name):
            self.error(stmt, node.span, f"{where}: expected {isa.KIND_HELP[kind]}")
            return None
        sym = self.symbols.get(node.id)
        if sym is None or sym.kind not in expected:
            what = f"is a {sym.kind}" if sym is not None else "is not defined"
            candidates = [k for k, s in self.symbols.items() if s.kind in expected]
            self.error(stmt, node.span, f"{where}: {node.id!r} {what}; expected {isa.KIND_HELP[kind]}",
                       *_suggest(node.id, candidates))
            return None
        if kind == isa.VEC:
            return _layout.state_slot(self.devices, sym.index)
        return sym.index

    def register(self, node, stmt, where: str) -> int | None:
        reg = register_index(node)
        if reg is None:
            self.error(stmt, node.span, f"{where}: expected a register r0..r15")
            return None
        if reg >= isa.N_REGISTERS:
            self.error(stmt, node.span, f"{where}: no register {node.id}; registers are "
                                        f"r0..r{isa.N_REGISTERS - 1}")
            return None
        return reg

    def lane(self, node, stmt, where: str) -> int | None:
        lanes = self.core["lanes"]
        if isinstance(node, ast.Name) and _LANE.match(node.id):
            index, span = float(node.id[1:]), node.span
        elif isinstance(node, ast.Indexed) and node.base.id in ("L", "l"):
            if register_index(node.index) is not None:
                return self.register(node.index, stmt, where)
            value, span = self.evaluate(node.index, stmt), node.index.span
            if value is None:
                return None
            index = value
        else:
            self.error(stmt, node.span, f"{where}: expected a lane L0..L{lanes - 1} or L[expr]")
            return None
        if index != int(index) or not 0 <= index < lanes:
            self.error(stmt, span, f"{where}: lane {index:g} out of range; the core has {lanes} "
                                   f"lane{'s' if lanes != 1 else ''} (L0..L{lanes - 1})")
            return None
        return self.constant(index)


class _NotConstant(Exception):
    def __init__(self, span: Span, message: str, *notes: str):
        super().__init__(message)
        self.span, self.message, self.notes = span, message, notes


def _head_span(stmt: ast.Instruction) -> Span:
    s = stmt.span
    return Span(s.file, s.line, s.col, s.col + len(stmt.mnemonic))


def _suggest(word: str, candidates) -> tuple[str, ...]:
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    return (f"did you mean {' or '.join(repr(c) for c in close)}?",) if close else ()
