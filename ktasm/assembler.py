"""AST -> ``vm.bytecode.Program``: declarations, then every instruction checked and encoded
against ``vm.isa``'s table. Every problem is collected; a program with any error raises
one ``KtasmError`` listing them all, in source order.

Names: ``r0``..``r15`` are registers, ``L0``, ``L1``, ... lanes (``L[expr]`` a computed
lane), ``_`` a disabled AAT space; labels, constants, AATs, data tables and macros share
one namespace. Mnemonics and directives are case-insensitive, names are not.
"""

from __future__ import annotations

import codecs
import contextlib
import gc
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import itemgetter

import numpy as np

from ktasm import ast
from ktasm import conditional as _conditional
from ktasm.consteval import _register_of, check_defines, register_index, suggest
from ktasm.declarations import Declarations, Symbol
from ktasm.errors import Collector, Diagnostic, KtasmError, Span
from ktasm.expand import Sources, load
from ktasm.parser import Compact, label_hint, materialize, operand_texts
from vm import codes, faults, isa
from vm import config as _config
from vm.archive import ArchiveError, max_program_bytes, read_bytes
from vm.bytecode import Program, device_lengths
from vm.devices import layout as _layout

_LANE = re.compile(r"^[lL](\d+)$")
DIRECTIVES = (
    "core",
    "aat",
    "const",
    "data",
    *_config.DEVICE_KINDS,
    "include",
    "macro",
    "endm",
    *_conditional.DIRECTIVES,
)
RESERVED_OUTPUT_NAMES = ("outputs",)  # where --out files put the unnamed outputs
# the symbol kinds a name operand of each kind may denote
HINT_LOOKUPS = 200  # distinct unknown names given a 'did you mean' note (names_like)


@lru_cache(maxsize=1024)  # a program that misspells one mnemonic often asks once
def _mnemonic_hint(mnemonic: str) -> tuple[str, ...]:
    return suggest(mnemonic, isa.MNEMONICS)


_SYMBOL_KINDS = {
    isa.AAT: ("aat",),
    isa.DATA: ("data",),
    isa.LABEL: ("label",),
    isa.VEC: ("vec", "bank", "ou"),
    **{k: (v,) for k, v in isa.DEVICE_OPERANDS.items()},
}


def assemble_text(text: str, file: str = "<string>", *, defines: dict | None = None) -> Program:
    """Assemble .kta source text into a ``vm.bytecode.Program``.

    ``file`` names the text in diagnostics and is where ``.include`` paths resolve from
    (beside it when it is a file on disk, else the working directory, then KTASM_PATH and
    the stdlib). ``defines`` (``{"N": 5}``, as ``-D N=5``) defines constants before the
    source does, overriding a ``.const`` of the same name (``ValueError`` for a bad name or
    a value that is not a finite number). Raises ``KtasmError`` listing every problem
    (``file:line:col``, the line, a caret) in source order; ``str(error)`` is that text.

    >>> assemble_text("OUT 1", "one.kta")
    <Program one.kta: 1 instructions, 0 AATs, 0 devices, model=float>"""
    defines = check_defines(defines)
    errors = Collector()
    with _no_cycle_collection():
        statements, sources = load(text, file, errors, defines=defines, compact=True)
        program = assemble_statements(statements, sources, errors, defines)
        # freed now: the collector's first pass once enabled walks what is still alive
        del statements
    return program


@contextlib.contextmanager
def _no_cycle_collection():
    """Python's cycle collector paused: assembling makes millions of small objects and no
    cycles, and the collector's passes over them were ~30% of a long program's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def assemble_file(path, *, defines: dict | None = None) -> Program:
    """Assemble the .kta file at path (``str`` or ``Path``); see ``assemble_text``.
    A file that is not UTF-8 text is a ``KtasmError`` at 1:1; a missing file an ``OSError``."""
    path = str(path)
    try:
        blob = read_bytes(path, "program", max_program_bytes())
    except ArchiveError as exc:
        raise KtasmError([Diagnostic(Span(path, 1, 1), str(exc))]) from None
    return assemble_text(decode_source(blob, path), path, defines=defines)


def decode_source(blob: bytes, path: str) -> str:
    """Source text from a file's bytes: UTF-8, a leading BOM dropped; KtasmError at the line
    and column of the first byte that is not UTF-8."""
    if blob.startswith(codecs.BOM_UTF8):
        blob = blob[len(codecs.BOM_UTF8) :]
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = blob.rfind(b"\n", 0, exc.start) + 1
        line = blob.count(b"\n", 0, exc.start) + 1
        col = len(blob[start : exc.start].decode("utf-8", "replace")) + 1
        shown = blob.decode("utf-8", "replace")
        message = f"not UTF-8 text: byte 0x{blob[exc.start]:02x} (save the file as UTF-8)"
        raise KtasmError([Diagnostic(Span(path, line, col, col + 1), message)], {path: shown}) from None


def assemble_statements(
    statements: list, sources: Sources, errors: Collector, defines: dict | None = None
) -> Program:
    """Expanded statements (includes spliced, macros expanded) -> Program, or KtasmError
    with every diagnostic in errors and the assembler's; defines as in ``assemble_text``."""
    program = _Assembler(errors, sources, defines=check_defines(defines)).assemble(statements)
    if errors:
        raise KtasmError(errors.diagnostics, sources.texts)
    return program


@dataclass
class _Assembler(Declarations):
    """Declarations, then every instruction encoded from the instruction table."""

    constants: list[float] = field(default_factory=list)
    constant_slots: dict[tuple, int] = field(default_factory=dict)
    n_counters: int = 0
    first_constant: int = isa.N_REGISTERS
    vec_meta: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    output_names: list[str] = field(default_factory=list)
    output_widths: list[int] = field(default_factory=list)
    output_spans: list[Span] = field(default_factory=list)
    # what each operand text encoded to, by kind and static rule ("value:unit"; None: never
    # remembered), once an instruction with it encoded without errors (encode_texts)
    fields: defaultdict[str | None, dict[str, int | tuple]] = field(default_factory=lambda: defaultdict(dict))
    # a vector operand's length (isa.length_problems), once the devices are laid out
    length_of: Callable = field(default_factory=lambda: device_lengths([], np.zeros((0, 2), dtype=np.int64)))
    # names_like: the notes given, by (word, kind); the names of each kind
    suggestions: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)
    names_of_kind: dict[str, list[str]] = field(default_factory=dict)
    hints_stopped: bool = False
    # mnemonic -> operand texts -> the row encode_texts made (not LOOP, ENDLOOP nor a row
    # with vector lengths to check): a repeated instruction is one look-up
    rows: defaultdict[str, dict[tuple[str, ...], list[int]]] = field(
        default_factory=lambda: defaultdict(dict)
    )

    # ------------------------------------------------------------------ driver
    def assemble(self, statements: list) -> Program:
        core_lines, const_lines = [], []
        for stmt in statements:
            if type(stmt) is not tuple and isinstance(stmt, ast.Directive):
                if stmt.name == "core":
                    core_lines.append(stmt)
                elif stmt.name == "const":
                    const_lines.append(stmt)
        for extra in core_lines[1:]:
            self.errors.error(
                extra.span, "a program has one .core line", f"the first is at {core_lines[0].span}"
            )
        # constants first (-D, then the source's in order), so .core values and AATs may use them
        self.declare_defines()
        for stmt in const_lines:
            self.declare_const(stmt)
        if core_lines:
            self.read_core(core_lines[0])
        instructions: list[ast.Instruction | Compact] = []
        mnemonics: list[str] = []
        for stmt in statements:
            if type(stmt) is tuple:  # a compact instruction line, the commonest statement
                instructions.append(stmt)
                mnemonics.append(stmt[0])
            elif isinstance(stmt, ast.Label):
                if "." in stmt.name:
                    self.errors.error(stmt.span, f"label {stmt.name!r}: names cannot contain '.'")
                self.define(stmt.name, Symbol("label", stmt.span, len(instructions)))
            elif isinstance(stmt, ast.Instruction):
                instructions.append(stmt)
                mnemonics.append(stmt.mnemonic)
            elif stmt.name == "aat":
                self.declare_aat(stmt)
            elif stmt.name == "data":
                self.declare_data(stmt)
            elif stmt.name in _config.DEVICE_KINDS:
                self.declare_device(stmt)
            elif stmt.name not in ("core", "const"):
                self.error(
                    stmt,
                    stmt.span,
                    f"unknown directive .{stmt.name}",
                    f"directives: {', '.join('.' + d for d in DIRECTIVES)}",
                )
        total = sum(sum(_layout.slot_lengths(d["kind"], d["values"])) for d in self.devices)
        problem = _config.memory_error(self.core, total) if self.devices else None
        if problem:
            first = self.symbols[self.devices[0]["name"]]
            self.errors.error(first.span, problem)
            self.devices = []  # no layout to encode against
        self.vec_meta = _layout.build(self.devices)[0]
        # rows as Python lists, one array at the end: a NumPy element write costs ~10x a list's
        code: list[list[int]] = [_NO_ROW] * len(instructions)
        files = list(self.sources.texts)
        file_index = {f: k for k, f in enumerate(files)}
        loops: list[tuple[ast.Instruction | Compact, int, int]] = []  # (LOOP stmt, its pc, counter)
        counts = Counter(mnemonics)
        # the value file: registers, one counter per LOOP, then the constant pool
        self.first_constant = isa.N_REGISTERS + sum(k for m, k in counts.items() if _is_loop(m))
        unknown = {m for m in counts if _plan(m) is None}
        for stmt in instructions if unknown else ():
            if (stmt[0] if isinstance(stmt, tuple) else stmt.mnemonic) not in unknown:
                continue
            node = _node(stmt)  # `again` alone is reported as a label without its colon, once
            lead = node.operands[0] if node.operands else None
            if lead is None or (isinstance(lead, ast.Name) and isa.lookup(lead.id) is not None):
                self.failed.add(node.mnemonic)
        self.length_of = device_lengths(self.devices, self.vec_meta)
        self.remember_symbols()
        encode_texts, rows = self.encode_texts, self.rows
        texts: tuple[str, ...] | None
        for pc, stmt in enumerate(instructions):
            if isinstance(stmt, tuple):
                row = rows[stmt[0]].get(stmt[1])
                if row is not None:  # this instruction, these operand texts: encoded before
                    code[pc] = row
                    continue
                texts = stmt[1]
            else:
                texts = operand_texts(stmt)
            if texts is None or not encode_texts(stmt, texts, pc, code, loops):
                self.encode_and_remember(stmt, texts, pc, code, loops)
        lines = _lines(instructions, file_index)
        for stmt, _, _ in loops:
            node = _node(stmt)
            self.error(node, node.span, "LOOP without a matching ENDLOOP")
        spaces = self.core["spaces"]
        aat_init = np.array(self.aat_rows, dtype=np.int64).reshape(len(self.aat_rows), spaces)
        flat = np.fromiter(chain.from_iterable(code), dtype=np.int64, count=isa.CODE_WIDTH * len(code))
        return Program(
            core=self.core,
            code=flat.reshape(len(instructions), isa.CODE_WIDTH),
            constants=np.array(self.constants, dtype=np.float64),
            n_counters=self.n_counters,
            aat_names=self.aat_names,
            aat_init=aat_init,
            data_names=self.data_names,
            data_paths=self.data_paths,
            lines=lines,
            files=files,
            sources=[self.sources.texts[f] for f in files],
            labels={k: v.index for k, v in self.symbols.items() if v.kind == "label"},
            consts={k: v.value for k, v in self.symbols.items() if v.kind == "const"},
            devices=self.devices,
            output_names=self.output_names,
            output_widths=self.output_widths,
        )

    def constant(self, value: float) -> int:
        key = (float(value), math.copysign(1.0, value))
        if key not in self.constant_slots:
            self.constant_slots[key] = self.first_constant + len(self.constants)
            self.constants.append(float(value))
        return self.constant_slots[key]

    # ------------------------------------------------------------------ instructions
    def encode_texts(self, stmt, texts: tuple[str, ...], pc: int, code: list, loops: list) -> bool:
        """Encode stmt from its operand texts alone when each has been encoded before, for
        an operand of the same kind and rule, in an instruction without errors (``fields``:
        the symbols are all declared by now, so a text always encodes the same); say False,
        having changed nothing, for anything else (the full path then checks and reports)."""
        mnemonic = stmt[0] if type(stmt) is tuple else stmt.mnemonic
        plan = _PLANS[mnemonic] if mnemonic in _PLANS else _plan(mnemonic)
        if plan is None:
            return False
        skip = plan.skippable and (not texts or _register_of(texts[0]) is None)
        needed, keyed, opcode, checks = plan.fast[skip]
        n = len(texts)
        if not needed <= n <= len(keyed):
            return False
        row: list = [opcode, -1 if skip else 0, 0, 0, 0]
        fields = self.fields
        for text, (pos, width, key, _) in zip(texts, keyed, strict=False):
            encoded = fields[key].get(text)
            if encoded is None:
                return False
            if isinstance(encoded, tuple):  # a register range's two fields
                row[pos : pos + width] = encoded
            else:
                row[pos] = encoded
        if n < len(keyed):
            for pos, _, _, default in keyed[n:]:  # optional operands left out
                row[pos] = -1 if default is None else self.constant(default)
        if checks:  # vector lengths, or the loop bookkeeping
            return self.finish_texts(stmt, plan.ins, row, pc, code, loops)
        code[pc] = row
        self.rows[mnemonic][texts] = row  # the same row for every use: rows are not changed after
        return True

    def finish_texts(self, stmt, ins: isa.Instruction, row: list, pc: int, code: list, loops: list) -> bool:
        """encode_texts' last checks on a row: its vector lengths, LOOP and ENDLOOP."""
        if ins.lengths and isa.length_problems(ins, row, self.length_of):
            return False
        if ins.opcode == codes.OP_ENDLOOP:
            if not loops:
                return False
            _, loop_pc, counter = loops.pop()
            row[1:3] = (counter, loop_pc + 1)
            code[loop_pc][3] = pc + 1
        elif ins.opcode == codes.OP_LOOP:
            counter = isa.N_REGISTERS + self.n_counters
            self.n_counters += 1
            row[2] = counter
            loops.append((stmt, pc, counter))
        code[pc] = row
        return True

    def encode_and_remember(self, stmt, texts: tuple[str, ...] | None, pc: int, code, loops) -> None:
        """The full path (every check, every message), then each operand text of an
        instruction encoded without errors remembered in ``fields`` for encode_texts."""
        n_errors = len(self.errors.diagnostics)
        node = _node(stmt)
        code[pc] = [0] * isa.CODE_WIDTH
        encoded = self.encode(node, pc, code, loops)
        if not encoded or texts is None or len(self.errors.diagnostics) != n_errors:
            return
        plan = _plan(node.mnemonic)
        assert plan is not None  # it encoded without errors
        skip = plan.skippable and (not texts or _register_of(texts[0]) is None)
        row = code[pc]
        for text, (pos, width, key, _) in zip(texts, plan.fast[skip][1], strict=False):
            if key is not None:  # a tuple for a register range's two fields
                self.fields[key][text] = row[pos] if width == 1 else tuple(row[pos : pos + width])

    def encode(self, stmt: ast.Instruction, pc: int, code: list, loops: list) -> bool:
        """Check and encode stmt into code[pc]; False if some operand was refused (a refused
        declaration's name is refused without a message)."""
        plan = _plan(stmt.mnemonic)
        if plan is None:
            hint = _mnemonic_hint(stmt.mnemonic.upper())
            first = stmt.operands[0] if stmt.operands else None
            if isinstance(first, ast.Name) and isa.lookup(first.id) is not None:
                hint = (label_hint(stmt.mnemonic),)  # `start HALT`: a label's colon left out
            elif not stmt.operands:
                hint = (*hint, label_hint(stmt.mnemonic))  # `again` alone: a misspelling, or a label
            self.error(stmt, _head_span(stmt), f"unknown instruction {stmt.mnemonic!r}", *hint)
            return False
        ins, specs = plan.ins, plan.specs
        row = code[pc]
        row[0] = ins.opcode
        given = stmt.operands
        skip = plan.skippable and (not given or register_index(given[0]) is None)
        specs_used, needed, slots = plan.written[skip]
        if skip:
            row[1] = -1
        if not needed <= len(given) <= len(specs_used):
            required = sum(not o.optional for o in specs)
            count = f"{required}" if required == len(specs) else f"{required} to {len(specs)}"
            self.error(
                stmt,
                _head_span(stmt),
                f"{ins.mnemonic} expects {count} operand{'s' if len(specs) != 1 else ''} "
                f"({ins.signature().split(' ', 1)[-1] or 'none'}), got {len(given)}",
                *(
                    [f"missing: {', '.join(o.name for o in specs_used[len(given) : needed])}"]
                    if len(given) < needed
                    else []
                ),
            )
            return False
        failed = False
        constants: dict[str, tuple[float, ast.Expr]] = {}  # VALUE operands written as constants
        n_given = len(given)
        for k, (operand, pos, kind, where) in enumerate(slots):
            if k >= n_given:  # an optional operand left out
                row[pos] = self.default_operand(operand)
                continue
            node = given[k]
            encoded: tuple | int | None
            if kind == isa.TAG:
                if failed:
                    continue  # its width comes from the vector operand, which was refused
                encoded = self.output_name(node, stmt, ins, row)
            else:
                encoded = self.operand(operand, node, stmt, where)
            if encoded is None:
                failed = True
                continue
            if isinstance(encoded, tuple):
                row[pos : pos + operand.width] = encoded
            else:
                row[pos] = encoded
            if kind == isa.VALUE and plan.checked and register_index(node) is None:
                constants[operand.name] = (float(self.constants[row[pos] - self.first_constant]), node)
        if not failed and ins.lengths:
            for problem in isa.length_problems(ins, row, device_lengths(self.devices, self.vec_meta)):
                self.error(stmt, stmt.span, problem)
        if not failed and constants:
            self.check_constants(stmt, ins, row, constants)
        if ins.opcode == codes.OP_LOOP:
            counter = isa.N_REGISTERS + self.n_counters
            self.n_counters += 1
            row[2] = counter
            loops.append((stmt, pc, counter))
        elif ins.opcode == codes.OP_ENDLOOP:
            if not loops:
                self.error(stmt, stmt.span, "ENDLOOP without a LOOP")
                return False
            _, loop_pc, counter = loops.pop()
            row[1:3] = (counter, loop_pc + 1)
            code[loop_pc][3] = pc + 1
        return not failed

    def check_constants(self, stmt, ins, row, constants: dict) -> None:
        """Refuse a constant operand that would fault at run time (its operand's rule in
        the instruction table), with the caret on it."""
        positions = {o.name: pos for o, pos in ins.fields()}

        def length_of(name: str) -> int:
            return int(self.vec_meta[row[positions[name]], 1])

        for operand in ins.source_operands:
            if not operand.valid or operand.name not in constants:
                continue
            value, node = constants[operand.name]
            fault = isa.constant_fault(
                operand, value, lambda n: constants[n][0] if n in constants else None, length_of
            )
            if fault is not None:
                message = faults.message(
                    faults.BY_NAME[fault],
                    value,
                    n_lanes=self.core["lanes"],
                    n_addresses=self.core["rows"] * self.core["cols"],
                )
                where = f"{ins.mnemonic} {operand.name}"
                self.error(
                    stmt,
                    node.span,
                    message if message.startswith(where) else f"{where}: {message}",
                    f"{operand.name} must be {isa.STATIC_RULES[operand.valid.partition(':')[0]]}",
                )

    def output_name(self, node, stmt, ins, row) -> int | None:
        """The output-name index of a TAG operand ("name"), declared on first use with its
        width (a VOUT's vector length, 0 for OUT); every use must agree on the width."""
        where = f"{ins.mnemonic} {ins.source_operands[-1].name}"
        if not isinstance(node, ast.String):
            self.error(
                stmt, node.span, f'{where}: expected a quoted output name, as in {ins.mnemonic} r0, "mean"'
            )
            return None
        name = node.value
        if not name.strip():
            self.error(stmt, node.span, f"{where}: an output name cannot be empty")
            return None
        if name in RESERVED_OUTPUT_NAMES:
            self.error(
                stmt,
                node.span,
                f"{where}: the output name {name!r} is reserved (--out files keep the unnamed outputs there)",
            )
            return None
        first = ins.fields()[0]
        width = int(self.vec_meta[row[first[1]], 1]) if first[0].kind == isa.VEC else 0
        if name not in self.output_names:
            self.output_names.append(name)
            self.output_widths.append(width)
            self.output_spans.append(node.span)
            return len(self.output_names) - 1
        index = self.output_names.index(name)
        if self.output_widths[index] != width:

            def shape(w: int) -> str:
                return f"a vector of {w}" if w else "a scalar (OUT)"

            self.error(
                stmt,
                node.span,
                f"{where}: output {name!r} is {shape(width)} here but {shape(self.output_widths[index])} "
                f"at {self.output_spans[index]}",
                "one name holds one kind of output: use another name",
            )
            return None
        return index

    def default_operand(self, operand: isa.Operand) -> int:
        """The field of an optional operand left out: its default constant for a VALUE."""
        if operand.kind == isa.VALUE:
            assert operand.default is not None  # every optional VALUE in vm.isa has one
            return self.constant(operand.default)
        return -1

    def operand(self, operand: isa.Operand, node, stmt, where: str) -> tuple | int | None:
        """operand's field(s) for node; where names it in messages ("FF lane")."""
        kind = operand.kind
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
                self.error(
                    stmt, node.span, f"{where}: register range {node.first.id}..{node.last.id} runs backwards"
                )
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
        expected = _SYMBOL_KINDS[kind]
        if not isinstance(node, ast.Name):
            self.error(stmt, node.span, f"{where}: expected {isa.KIND_HELP[kind]}")
            return None
        sym = self.symbols.get(node.id)
        if sym is None and node.id in self.failed:
            return None  # its declaration was refused, and said so: its uses say nothing more
        if sym is None or sym.kind not in expected:
            what = f"is a {sym.kind}" if sym is not None else "is not defined"
            self.error(
                stmt,
                node.span,
                f"{where}: {node.id!r} {what}; expected {isa.KIND_HELP[kind]}",
                *self.names_like(node.id, kind),
            )
            return None
        return self.symbol_field(kind, sym)

    def names_like(self, word: str, kind: str) -> tuple[str, ...]:
        """The 'did you mean' note for a name that denotes no symbol of kind: the closest
        declared names of the kinds it may denote (all declared by now), asked once per
        word and kind; past HINT_LOOKUPS words a program gets no more notes (each walks
        every name: a program misspelling a different name on every line would take
        time quadratic in its length), and is told so once."""
        key = (word, kind)
        if key in self.suggestions:
            return self.suggestions[key]
        if len(self.suggestions) >= HINT_LOOKUPS:
            if self.hints_stopped:
                return ()
            self.hints_stopped = True
            return (f"no more 'did you mean' notes: {HINT_LOOKUPS} unknown names looked up",)
        if kind not in self.names_of_kind:
            expected = _SYMBOL_KINDS[kind]
            self.names_of_kind[kind] = [k for k, s in self.symbols.items() if s.kind in expected]
        self.suggestions[key] = suggest(word, self.names_of_kind[kind])
        return self.suggestions[key]

    def symbol_field(self, kind: str, sym: Symbol) -> int:
        """The field of a name operand of kind that names sym (of a kind it may denote)."""
        if kind == isa.VEC:
            return _layout.state_slot(self.devices, sym.index)
        return sym.index

    def remember_symbols(self) -> None:
        """Every declared name in ``fields`` for the operand kinds that name symbols (a
        label is mostly named once, by its jump: that use need not take the full path)."""
        for kind, expected in _SYMBOL_KINDS.items():
            known = self.fields[_field_key(isa.Operand("", kind))]
            for name, sym in self.symbols.items():
                if sym.kind in expected:
                    known[name] = self.symbol_field(kind, sym)

    def register(self, node, stmt, where: str) -> int | None:
        reg = register_index(node)
        if reg is None:
            self.error(stmt, node.span, f"{where}: expected a register r0..r15")
            return None
        if reg >= isa.N_REGISTERS:
            self.error(
                stmt, node.span, f"{where}: no register {node.id}; registers are r0..r{isa.N_REGISTERS - 1}"
            )
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
        if not 0 <= index < lanes or index != int(index):  # range first: int(inf) raises
            self.error(
                stmt,
                span,
                f"{where}: lane {index:g} out of range; the core has {lanes} "
                f"lane{'s' if lanes != 1 else ''} (L0..L{lanes - 1})",
            )
            return None
        return self.constant(index)


def operands_written(ins: isa.Instruction, given: list) -> list[isa.Operand]:
    """The source operands a statement's operands stand for: an optional leading register
    (a read's rd) left out when the first operand given is not a register."""
    specs = list(ins.source_operands)
    if (
        specs
        and specs[0].optional
        and specs[0].kind == isa.REG
        and (not given or register_index(given[0]) is None)
    ):
        return specs[1:]
    return specs


# what one way of writing an instruction encodes: the operands written, how many must be
# given (up to the last required one), and (operand, first field, kind, "MNEMONIC name")
_Written = tuple[tuple[isa.Operand, ...], int, tuple[tuple[isa.Operand, int, str, str], ...]]


@dataclass(frozen=True)
class _Plan:
    """What encoding needs of one instruction's row, worked out once per mnemonic."""

    ins: isa.Instruction
    specs: tuple[isa.Operand, ...]  # its source operands
    skippable: bool  # an optional leading register (a read's rd) may be left out
    written: tuple[_Written, _Written]  # [True]: with it left out
    checked: bool  # some operand has a static rule (check_constants)
    # per way of writing, for encode_texts: (operands needed, each operand's (first field,
    # width, key in _Assembler.fields, the constant a VALUE left out encodes: None for -1),
    # the opcode, whether finish_texts has work)
    fast: tuple[tuple[int, tuple[tuple[int, int, str | None, float | None], ...], int, bool], ...] = ()


_PLANS: dict[str, _Plan | None] = {}


def _plan(mnemonic: str) -> _Plan | None:
    """The plan of a mnemonic as written (any case); None for no instruction."""
    if mnemonic not in _PLANS:
        ins = isa.lookup(mnemonic)
        _PLANS[mnemonic] = None if ins is None else _make_plan(ins)
    return _PLANS[mnemonic]


def _make_plan(ins: isa.Instruction) -> _Plan:
    specs = ins.source_operands
    positions = {id(o): pos for o, pos in ins.fields()}

    def written(used: tuple[isa.Operand, ...]) -> _Written:
        needed = max((k + 1 for k, o in enumerate(used) if not o.optional), default=0)
        slots = tuple((o, positions[id(o)], o.kind, f"{ins.mnemonic} {o.name}") for o in used)
        return used, needed, slots

    def keyed(used: tuple[isa.Operand, ...]) -> tuple[tuple[int, int, str | None, float | None], ...]:
        return tuple((positions[id(o)], o.width, _field_key(o), o.default) for o in used)

    skippable = bool(specs) and specs[0].optional and specs[0].kind == isa.REG
    used = (specs, specs[1:] if skippable else specs)
    return _Plan(
        ins,
        specs,
        skippable,
        (written(used[0]), written(used[1])),
        any(o.valid for o in specs),
        tuple(
            (
                written(u)[1],
                keyed(u),
                ins.opcode,
                bool(ins.lengths) or ins.opcode in (codes.OP_LOOP, codes.OP_ENDLOOP),
            )
            for u in used
        ),
    )


def _field_key(operand: isa.Operand) -> str | None:
    """Which operands one text encodes the same for: those of one kind and static rule.
    None (never remembered): output names (declared at their first use, with a width) and
    rules that read another operand (pow:b, index:a), checked with it each time."""
    if operand.kind == isa.TAG or ":" in operand.valid:
        return None
    return f"{operand.kind}:{operand.valid}"


def _lines(instructions: list, file_index: dict[str, int]) -> np.ndarray:
    """(file, line, col) of each instruction, read by column (a list of rows costs twice
    this; a program of compact lines alone is read without a Python loop)."""
    n = len(instructions)
    lines = np.empty((n, 3), dtype=np.int64)
    if all(map(_is_tuple, instructions)):
        lines[:, 0] = np.fromiter(map(file_index.__getitem__, map(itemgetter(2), instructions)), np.int64, n)
        lines[:, 1] = np.fromiter(map(itemgetter(3), instructions), np.int64, n)
        lines[:, 2] = np.fromiter(map(itemgetter(4), instructions), np.int64, n)
        return lines
    where = [s[2:5] if isinstance(s, tuple) else (s.span.file, s.span.line, s.span.col) for s in instructions]
    lines[:] = [(file_index[file], line, col) for file, line, col in where]
    return lines


_is_tuple = tuple.__instancecheck__


def _is_loop(mnemonic: str) -> bool:
    plan = _plan(mnemonic)
    return plan is not None and plan.ins.opcode == codes.OP_LOOP


def _node(stmt) -> ast.Instruction:
    """The instruction node of a statement: a compact line's made now."""
    return materialize(stmt) if type(stmt) is tuple else stmt


_NO_ROW: list[int] = []  # a row not encoded yet


def _head_span(stmt: ast.Instruction) -> Span:
    s = stmt.span
    return Span(s.file, s.line, s.col, s.col + len(stmt.mnemonic))
