"""The REPL's command engine: a live machine driven one input line at a time.

Every source line goes through the real parser and assembler. The session's program is
the loaded file (if any) followed by the declarations typed so far; a declaration extends
it (``Machine.switch_program`` keeps every state array), a ``.core`` line rebuilds the
core, and an instruction is assembled as one more instruction after the program, executed
on the step path, and dropped again, so the loaded program's pc does not move. Dot-commands
(``.help``, ``.state``, ``.step``, ...) are registered below with their help text, which
``.help``, completion and docs/repl.md all read.

Nothing here imports prompt-toolkit; ``Session(out=..., err=...)`` writes text through
the two callables it is given.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from ktasm import ast
from ktasm.assembler import DIRECTIVES, assemble_statements
from ktasm.errors import Collector, Diagnostic, KtasmError, Span, runtime_error_text
from ktasm.expand import Sources, expand_macros, splice_includes
from ktasm.parser import parse_text
from vm import config as _config
from vm import isa

SHOW_FIELDS = ("y", "ga", "gb", "m", "w")
SPARK = "▁▂▃▄▅▆▇█"
IMMEDIATE_STEP_LIMIT = 1_000_000  # a macro typed at the prompt that loops forever stops here
PRINT_EACH_STEP = 20  # .step n prints every instruction up to this n, then a summary
STATE_ALL_LIMIT = 64  # .state lists every pair of a lane up to this many
SESSION_FORMAT = "ktasm-repl-session-1"
SESSION_OVERRIDES = ("seed", "model")  # kept by .load (the keys `ktasm run` overrides too)
EX_DATAERR, EX_SOFTWARE = 65, 70


class CommandError(Exception):
    """A dot-command refused: message, and the 1-based column of the offending argument."""

    def __init__(self, message: str, col: int = 1, end_col: int | None = None):
        super().__init__(message)
        self.message, self.col, self.end_col = message, col, end_col


@dataclass(frozen=True)
class Command:
    name: str
    usage: str
    summary: str
    argument: str  # what completes after it: file, lane, break, list, show, help, none
    handler: Callable


COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, summary: str, argument: str = "none"):
    """Register a dot-command (its usage and summary are its help and its docs)."""
    def register(handler):
        COMMANDS[name] = Command(name, usage, summary, argument, handler)
        return handler
    return register


@dataclass(frozen=True)
class Suggestion:
    """A completion: replace the last `replace` characters before the cursor by text."""
    text: str
    replace: int
    meta: str = ""


@dataclass
class _Plan:
    kind: str  # nothing | declare | core | run
    program: object = None
    statements: tuple = ()
    sources: Sources | None = None
    core_keys: tuple = ()


def _copy_sources(sources: Sources) -> Sources:
    return Sources(dict(sources.texts), set(sources.included))


def _with_core(statements: list, items: list) -> list:
    """The program's .core line with items laid over it, key by key (or a new one)."""
    if not items:
        return statements
    for i, stmt in enumerate(statements):
        if isinstance(stmt, ast.Directive) and stmt.name == "core":
            keys = {item.key.lower() for item in items}
            kept = tuple(it for it in stmt.items if it.key is None or it.key.lower() not in keys)
            return [*statements[:i], replace(stmt, items=kept + tuple(items)), *statements[i + 1:]]
    return [ast.Directive("core", tuple(items), items[-1].span), *statements]


def _value_item(key: str, value, span: Span) -> ast.DirItem:
    node = ast.Name(str(value), span) if isinstance(value, str) else ast.Number(value, span)
    return ast.DirItem(key, node, span)


def sparkline(values) -> str:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return ""
    low, high = float(values.min()), float(values.max())
    if high - low <= 1e-12 * max(1.0, abs(high)):
        return SPARK[len(SPARK) // 2] * values.size
    index = np.clip(((values - low) / (high - low) * (len(SPARK) - 1)).round().astype(int), 0, len(SPARK) - 1)
    return "".join(SPARK[i] for i in index)


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _vector_text(values: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(_fmt(float(v)) for v in values[:limit])
    return f"[{shown}{', ...' if values.size > limit else ''}]" + (f" ({values.size})" if values.size > limit else "")


class Session:
    """A live machine and what was typed into it. ``execute(line)`` runs one input line;
    ``check(line)`` says what would be wrong with it without running it; ``complete``
    and ``toolbar`` feed a terminal front end."""

    def __init__(self, *, out: Callable[[str], None] = print, err: Callable[[str], None] | None = None,
                 input_name: str = "<repl>", seed: int | None = None, model: str | None = None,
                 data: dict | None = None, max_steps: int | None = None, timeout: float | None = None,
                 repeat_on_empty: bool = False):
        self.out = out
        self.err = err or out
        self.input_name = input_name
        self.data_given = dict(data or {})
        self.max_steps, self.timeout = max_steps, timeout
        self.repeat_on_empty = repeat_on_empty
        self.input_lines: list[str] = []
        self.overrides: dict[str, object] = {k: v for k, v in (("seed", seed), ("model", model)) if v is not None}
        self.typed_core: dict[str, object] = {}
        self.show: set[str] = {"y"}
        self.input_errors = self.runtime_faults = 0
        self.finished = False
        self.pending: list[int] = []  # input line numbers of an open .macro block
        self._unload()
        self._new_machine(self._build())

    # ------------------------------------------------------------------ public API
    @property
    def line_number(self) -> int:
        return len(self.input_lines)

    @property
    def exit_status(self) -> int:
        """0, 65 after any bad input, else 70 after any runtime fault."""
        return EX_DATAERR if self.input_errors else (EX_SOFTWARE if self.runtime_faults else 0)

    def prompt(self) -> str:
        return "...  " if self.pending else "kta> "

    def execute(self, line: str) -> bool:
        """Run one input line; False once the session should end (.quit)."""
        line = line.rstrip("\r\n")
        if "\n" in line:
            return all(self.execute(part) for part in line.split("\n"))
        self.input_lines.append(line)
        number = self.line_number
        stripped = line.strip()
        try:
            if self.pending:
                self._continue_block(number, stripped)
            elif not stripped:
                if self.repeat_on_empty and self.last_repeat is not None:
                    self.input_lines[-1] = self.input_lines[self.last_repeat - 1]
                    self._run_line(self.input_lines[-1], number)
            elif _first_word(stripped).lower() == ".macro":
                self.pending = [number]
            elif stripped.startswith(".") and _first_word(stripped)[1:].lower() in COMMANDS:
                self._run_command(line, number)
            else:
                self._run_line(line, number)
        except KtasmError as exc:
            self.input_errors += 1
            exc.sources[self.input_name] = self._input_text()
            self.err(exc.render())
        except CommandError as exc:
            self.input_errors += 1
            self.err(Diagnostic(Span(self.input_name, number, exc.col, exc.end_col), exc.message).format(line))
        except KeyboardInterrupt:
            self.err("interrupted")
        return not self.finished

    def check(self, line: str) -> Diagnostic | None:
        """The first problem with line as the next input, or None (nothing runs)."""
        stripped = line.strip()
        if self.pending or not stripped or _first_word(stripped).lower() == ".macro":
            return None
        number = self.line_number + 1
        if stripped.startswith("."):
            word = _first_word(stripped)
            if word[1:].lower() in COMMANDS:
                return None
            if word[1:].lower() not in DIRECTIVES:
                col = line.index(word) + 1
                return Diagnostic(Span(self.input_name, number, col, col + len(word)),
                                  f"unknown command or directive {word}", (".help lists the commands",))
        try:
            self._plan(line, number, self._input_text(line))
        except KtasmError as exc:
            mine = [d for d in exc.diagnostics if d.span.file == self.input_name and d.span.line == number]
            return (mine or exc.diagnostics)[0]
        return None

    # ------------------------------------------------------------------ programs
    def _unload(self) -> None:
        self.file_path: str | None = None
        self.file_text = ""
        self.file_statements: list = []
        self.file_sources = Sources()
        self.decls: list = []
        self.decl_sources = Sources()
        self.decl_lines: list[int] = []

    def _input_text(self, extra: str | None = None) -> str:
        return "\n".join(self.input_lines + ([extra] if extra is not None else []))

    def _core_items(self) -> list:
        """The session's .core keys (typed, then --seed/--model/.seed) as directive items."""
        span = Span(self.input_name, 0, 1)
        return [_value_item(k, v, span) for k, v in {**self.typed_core, **self.overrides}.items()]

    def _sources(self, decl_sources: Sources | None, input_text: str) -> Sources:
        merged = _copy_sources(self.file_sources)
        for name, text in (decl_sources or self.decl_sources).texts.items():
            merged.texts.setdefault(name, text)
        merged.texts[self.input_name] = input_text
        return merged

    def _build(self, decls: list | None = None, extra: tuple = (), core_items: list | None = None,
               decl_sources: Sources | None = None, input_text: str | None = None):
        errors = Collector()
        statements = expand_macros([*self.file_statements, *(self.decls if decls is None else decls), *extra], errors)
        statements = _with_core(statements, self._core_items() if core_items is None else core_items)
        sources = self._sources(decl_sources, self._input_text() if input_text is None else input_text)
        return assemble_statements(statements, sources, errors)

    def _new_machine(self, program) -> None:
        from vm.machine import DataError, Machine

        try:  # --data names a program does not declare wait for one that does
            machine = Machine(program, self._data_for(program))
        except DataError as exc:
            raise CommandError(str(exc)) from None
        old = getattr(self, "machine", None)
        if old is not None and old.program.code.shape[0] == program.code.shape[0]:
            machine.breaks[:] = old.breaks
        self.machine = machine
        self.history: list[tuple[int, int, float]] = []  # (step, lane, y) of every read
        self.last_lane, self.last_aat = 0, None
        self.last_repeat: int | None = None

    def _data_for(self, program) -> dict:
        return {k: v for k, v in self.data_given.items() if k in program.data_names}

    def _error(self, span: Span, message: str, *notes: str) -> KtasmError:
        return KtasmError([Diagnostic(span, message, notes)])

    def _plan(self, line: str, number: int, input_text: str) -> _Plan:
        errors = Collector()
        statements = parse_text(line, self.input_name, errors, first_line=number)
        if errors:
            raise KtasmError(errors.diagnostics, {self.input_name: input_text})
        labels = [s for s in statements if isinstance(s, ast.Label)]
        if labels:
            raise self._error(labels[0].span, "labels belong in a program file",
                              "write the program in a file, .load it, then .step, .break and .continue")
        if not statements:
            return _Plan("nothing")
        stmt = statements[0]
        base = self.machine.program
        if isinstance(stmt, ast.Directive) and stmt.name == "core":
            keys = tuple(item.key.lower() for item in stmt.items if item.key)
            items = [item for item in self._core_items() if item.key not in keys]
            program = self._build(core_items=items + list(stmt.items), input_text=input_text)
            return _Plan("core", program, core_keys=keys)
        if isinstance(stmt, ast.Directive):
            sources = _copy_sources(self.decl_sources)
            spliced = splice_includes(statements, self.input_name, errors, sources)
            if errors:
                raise KtasmError(errors.diagnostics, {self.input_name: input_text})
            program = self._build(self.decls + spliced, decl_sources=sources, input_text=input_text)
            if program.code.shape[0] != base.code.shape[0]:
                raise self._error(stmt.span, "an .include at the prompt may bring declarations and "
                                             "macros, not instructions", "use .load FILE for a program")
            return _Plan("declare", program, tuple(spliced), sources)
        ins = isa.lookup(stmt.mnemonic)
        if ins is not None and ins.group == "control" and ins.mnemonic != "NOP":
            raise self._error(Span(stmt.span.file, stmt.span.line, stmt.span.col, stmt.span.col + len(stmt.mnemonic)),
                              f"{ins.mnemonic} needs a program around it",
                              "write the program in a file, .load it, then .step or .continue")
        program = self._build(extra=(stmt,), input_text=input_text)
        added = [(len(program.aat_names), len(base.aat_names), "AATs"),
                 (len(program.devices), len(base.devices), "devices"),
                 (len(program.data_names), len(base.data_names), "data"),
                 (program.n_counters, base.n_counters, "LOOP counters")]
        for new, old, what in added:
            if new != old:
                raise self._error(stmt.span, f"this line adds {what}: a macro that declares or loops "
                                             "needs a program around it", "put it in a file and .load it")
        return _Plan("run", program)

    # ------------------------------------------------------------------ source lines
    def _run_line(self, line: str, number: int) -> None:
        plan = self._plan(line, number, self._input_text())
        if plan.kind == "declare":
            self._declare(plan, number)
        elif plan.kind == "core":
            self._reconfigure(plan)
        elif plan.kind == "run":
            self.last_repeat = number
            self._run_immediate(plan.program)

    def _continue_block(self, number: int, stripped: str) -> None:
        self.pending.append(number)
        if _first_word(stripped).lower() != ".endm":
            return
        lines, self.pending = self.pending, []
        errors = Collector()
        statements = []
        for n in lines:
            statements += parse_text(self.input_lines[n - 1], self.input_name, errors, first_line=n)
        if errors:
            raise KtasmError(errors.diagnostics, {self.input_name: self._input_text()})
        program = self._build(self.decls + statements)
        if program.code.shape[0] != self.machine.program.code.shape[0]:
            raise self._error(statements[0].span, "instructions outside a macro body need a program")
        self._declare(_Plan("declare", program, tuple(statements), self.decl_sources), *lines)

    def _declare(self, plan: _Plan, *numbers: int) -> None:
        from vm.machine import DataError

        old = self.machine.program
        self.machine.data_given = self._data_for(plan.program)
        try:
            self.machine.switch_program(plan.program)
        except DataError as exc:
            first = plan.statements[0].span
            raise self._error(first, str(exc)) from None
        self.decls += list(plan.statements)
        self.decl_sources = plan.sources
        self.decl_lines += list(numbers)
        self._echo_declared(old, plan.program, plan.statements)

    def _echo_declared(self, old, new, statements) -> None:
        for name, row in zip(new.aat_names[len(old.aat_names):], new.aat_init[len(old.aat_names):], strict=True):
            self.out(f"aat {name} = ({', '.join('_' if a < 0 else str(int(a)) for a in row)})")
        for name, value in new.consts.items():
            if name not in old.consts:
                self.out(f"const {name} = {value:.12g}")
        for dev in new.devices[len(old.devices):]:
            defaults = _config.DEVICE_KINDS[dev["kind"]].defaults()
            keys = " ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                            for k, v in dev["values"].items() if v != defaults.get(k))
            self.out(f"{dev['kind']} {dev['name']}: {keys}")
        for slot, name in enumerate(new.data_names[len(old.data_names):], start=len(old.data_names)):
            _, rows, cols = (int(v) for v in self.machine.data_meta[slot])
            self.out(f"data {name}: {rows} x {cols}")
        macros = [s for s in statements if isinstance(s, ast.Directive) and s.name == "macro"]
        for m in macros:
            names = [i.value.id for i in m.items if isinstance(i.value, ast.Name)]
            if names:
                self.out(f"macro {names[0]} {', '.join(names[1:])}".rstrip())

    def _reconfigure(self, plan: _Plan) -> None:
        for key in plan.core_keys:
            self.typed_core[key] = plan.program.core[key]
            self.overrides.pop(key, None)
        if plan.program.core == self.machine.program.core:
            self.out("core unchanged")
            return
        self._new_machine(plan.program)
        self.out(f"core {self.core_text()}: a fresh core (devices, registers and pc start over)")

    def core_text(self) -> str:
        core = self.machine.program.core
        keys = ("model", "rows", "cols", "spaces", "lanes", "init", "seed")
        return " ".join(f"{k}={core[k]}" for k in keys)

    # ------------------------------------------------------------------ execution
    def _run_immediate(self, program) -> None:
        """Execute program's instructions after the current program's, then drop them."""
        from vm import interp

        m = self.machine
        base = m.program
        n, k = base.code.shape[0], program.code.shape[0] - base.code.shape[0]
        if k == 0:
            return
        saved, saved_fault = m.status.copy(), m.fault_value.copy()
        m.switch_program(program)
        m.status[interp.ST_PC] = n
        m.status[interp.ST_REASON] = interp.BUDGET
        executed = 0
        try:
            while n <= m.pc < n + k:
                if executed >= IMMEDIATE_STEP_LIMIT:
                    self.err(f"stopped after {executed} instructions (a loop at the prompt?)")
                    break
                if not self._step_reported(print_it=(k == 1 or executed < PRINT_EACH_STEP), listing=k > 1):
                    break
                executed += 1
        finally:
            m.status[interp.ST_PC] = saved[interp.ST_PC]
            m.status[interp.ST_REASON] = saved[interp.ST_REASON]
            m.status[interp.ST_FAULT] = saved[interp.ST_FAULT]
            m.fault_value[:] = saved_fault
            m.switch_program(base)

    def _step_reported(self, print_it: bool, listing: bool) -> bool:
        """One instruction on the step path with its effects printed; False on a fault."""
        m = self.machine
        program, pc = m.program, m.pc
        before = (m.vals.copy(), len(m.output_values()), m.vec.copy())
        steps = m.steps
        result = m.step(1)
        if result.reason == "fault":
            self._report_fault(program, result.fault)
            return False
        if m.steps == steps:  # nothing ran: the program had stopped
            return False
        effects = self._effects(program, pc, before)
        if print_it:
            if listing:
                self.out(self._listing(pc, pc + 1, program))
            for text in effects:
                self.out(("    " if listing else "") + text)
        return True

    def _effects(self, program, pc: int, before) -> list[str]:
        """What instruction pc did: y or the pair's w and m, registers, outputs, vectors."""
        m = self.machine
        vals, n_out, vec = before
        row = program.code[pc]
        ins = isa.INSTRUCTIONS[int(row[0])]
        fields = {o.name: (o, int(row[pos])) for o, pos in ins.fields()}
        lines, shown_regs = [], set()
        lane_field = next((v for o, v in fields.values() if o.kind == isa.LANE), None)
        aat_field = next((v for o, v in fields.values() if o.kind == isa.AAT), None)
        if lane_field is not None and aat_field is not None:
            lane = int(vals[lane_field])
            self.last_lane, self.last_aat = lane, aat_field
            aat_name = program.aat_names[aat_field]
            reads = ins.group in ("kT-RAM read", "fused") or ins.mnemonic == "COIN"
            text = f"L{lane} {aat_name}:"
            if reads:
                y = float(m.core.lane_y[lane])
                self.history.append((m.steps, lane, y))
                text += f" y = {y:+.6f}"
                rd = fields.get("rd", (None, -1))[1]
                if ins.mnemonic != "COIN" and rd >= 0:
                    text += f" -> r{rd}"
                    shown_regs.add(rd)
            if not reads or ins.group == "fused" or self.show & {"w", "m"}:
                w, mag = m.core.weights(lane, self._aat_tuple(aat_field))
                text += f"  w = {w:+.6f}  m = {mag:.6g}"
            if ins.mnemonic != "GAB":
                lines.append(text)
                if self.show & {"ga", "gb"}:
                    lines += self._pair_table(lane, self._enabled_pairs(aat_field))
        regs = m.vals[:isa.N_REGISTERS]
        for r in np.flatnonzero(regs != vals[:isa.N_REGISTERS]).tolist():
            if r not in shown_regs:
                lines.append(f"r{r} = {_fmt(float(regs[r]))}")
        new_out = m.output_values()[n_out:]
        if new_out.size:
            lines.append(f"out {_vector_text(new_out)}")
        if vec.shape[0] == m.vec.shape[0] and not np.array_equal(vec, m.vec, equal_nan=True):
            for d, dev in enumerate(program.devices):
                off, n = m.vec_meta[m.dev_meta[d, 1]]
                if not np.array_equal(vec[off:off + n], m.vec[off:off + n], equal_nan=True):
                    lines.append(f"{dev['name']} = {_vector_text(m.vec[off:off + n])}")
        return lines

    def _aat_tuple(self, aat_row: int) -> tuple:
        return tuple(int(a) if a >= 0 else None for a in self.machine.aats[aat_row])

    def _enabled_pairs(self, aat_row: int) -> list[tuple[int, int]]:
        return [(s, int(a)) for s, a in enumerate(self.machine.aats[aat_row]) if a >= 0]

    def _pair_table(self, lane: int, pairs: list[tuple[int, int]], names: dict | None = None) -> list[str]:
        g = self.machine.core.g
        head = f"  {'space':>5} {'addr':>5}  {'Ga':>11} {'Gb':>11} {'m = Ga+Gb':>11} {'w':>9}"
        out = [head + ("  AATs" if names else "")]
        for s, a in pairs:
            ga, gb = float(g[0, lane, s, a]), float(g[1, lane, s, a])
            mag = ga + gb
            w = (ga - gb) / mag if mag else 0.0
            text = f"  {s:>5} {a:>5}  {ga:>11.5g} {gb:>11.5g} {mag:>11.5g} {w:>+9.5f}"
            if names:
                text += "  " + " ".join(names.get((s, a), []))
            out.append(text.rstrip())
        return out

    # ------------------------------------------------------------------ dot-commands
    def _run_command(self, line: str, number: int) -> None:
        word = _first_word(line.strip())
        start = line.index(word) + len(word)
        rest = line[start:]
        args, cols = _split_args(rest, start)
        COMMANDS[word[1:].lower()].handler(self, args, cols)

    def _need_running(self) -> None:
        m = self.machine
        if m.finished or m.pc >= m.program.code.shape[0]:
            reason = m.stop_reason if m.finished else "end"
            raise CommandError(f"the program has stopped ({reason}): .reset to run it again")

    def _need_program(self) -> None:
        if self.file_path is None:
            raise CommandError("no program loaded: .load FILE first")

    @command("help", ".help [command | mnemonic]", "this list; the usage of a command; an instruction's "
             "operands, summary and example", "help")
    def _help(self, args, cols):
        if not args:
            self.out("Type an instruction (FF L0, z) or a declaration (.aat z = (0)) to run it at once.")
            self.out("Commands:")
            for c in COMMANDS.values():
                self.out(f"  {c.usage:<28} {c.summary}")
            self.out("Directives: " + " ".join("." + d for d in DIRECTIVES))
            self.out("Instructions: .help MNEMONIC (e.g. .help FF); docs/instructions.md lists them all.")
            return
        topic = args[0].lstrip(".")
        if topic.lower() in COMMANDS:
            c = COMMANDS[topic.lower()]
            self.out(f"{c.usage}\n  {c.summary}")
            return
        ins = isa.lookup(topic)
        if ins is None:
            raise CommandError(f"no command or instruction {args[0]!r}", cols[0], cols[0] + len(args[0]))
        self.out(f"{ins.signature()}    ({ins.group})\n  {ins.summary}")
        for o in ins.source_operands:
            self.out(f"  {o.name:<8} {isa.KIND_HELP[o.kind]}{' (optional)' if o.optional else ''}")
        if ins.example:
            self.out(f"  e.g. {ins.example}")

    @command("state", ".state [lane] [all]", "a table of the lane's pairs: Ga, Gb, m = Ga+Gb, w", "lane")
    def _state(self, args, cols):
        core = self.machine.core
        lane, show_all = self.last_lane, False
        for arg, col in zip(args, cols, strict=True):
            if arg.lower() == "all":
                show_all = True
                continue
            lane = self._lane_argument(arg, col, "or 'all'")
        names: dict[tuple[int, int], list[str]] = {}
        for row, name in enumerate(self.machine.program.aat_names):
            for pair in self._enabled_pairs(row):
                names.setdefault(pair, []).append(name)
        every = [(s, a) for s in range(core.spaces_per_lane) for a in range(core.num_addresses)]
        if show_all or len(every) <= STATE_ALL_LIMIT:
            pairs = every
        else:
            pairs = sorted(names)
        self.out(f"L{lane}  y = {float(core.lane_y[lane]):+.6f}  ({core.model}; GMAX {core.gmax:.4g}, "
                 f"GMIN {core.gmin:.4g})")
        self.out("\n".join(self._pair_table(lane, pairs, names)))
        if len(pairs) < len(every):
            self.out(f"  ({len(every) - len(pairs)} more pairs outside the declared AATs: .state L{lane} all)")

    @command("show", ".show [y] [ga] [gb] [m] [w] | all", "what an instruction on a pair prints "
             "(default y; m and w: the AAT's read; ga, gb: a table of its pairs)", "show")
    def _show(self, args, cols):
        if args:
            fields = set()
            for arg, col in zip(args, cols, strict=True):
                if arg.lower() == "all":
                    fields |= set(SHOW_FIELDS)
                elif arg.lower() in SHOW_FIELDS:
                    fields.add(arg.lower())
                else:
                    raise CommandError(f"unknown field {arg!r}: expected {', '.join(SHOW_FIELDS)} or all",
                                       col, col + len(arg))
            self.show = fields | {"y"}
        self.out("show " + " ".join(f for f in SHOW_FIELDS if f in self.show))

    def _lane_argument(self, arg: str, col: int, alternative: str = "") -> int:
        """A lane from 'L3' or '3', checked against the core."""
        n = self.machine.core.num_lanes
        text = arg[1:] if arg[:1] in "lL" else arg
        if not text.isdigit() or not 0 <= int(text) < n:
            raise CommandError(f"expected a lane L0..L{n - 1}{' ' + alternative if alternative else ''}, "
                               f"got {arg!r}", col, col + len(arg))
        return int(text)

    def _reads_by_lane(self) -> dict[int, np.ndarray]:
        lanes = np.array([lane for _, lane, _ in self.history], dtype=np.int64)
        ys = np.array([y for _, _, y in self.history], dtype=np.float64)
        return {int(lane): ys[lanes == lane] for lane in np.unique(lanes)}

    @command("history", ".history [lane]", "a sparkline of y per read, per lane")
    def _history(self, args, cols):
        if not self.history:
            self.out("no reads yet (each FF, RF, FFLV, RFLV, fused read or COIN adds one)")
            return
        reads = self._reads_by_lane()
        lanes = [self._lane_argument(args[0], cols[0])] if args else sorted(reads)
        width = 60
        for lane in lanes:
            ys = reads.get(lane, np.zeros(0))
            if ys.size == 0:
                self.out(f"L{lane}: no reads")
                continue
            shown = ys[-width:]
            self.out(f"L{lane} {sparkline(shown)}  {ys.size} reads{' (last ' + str(width) + ')' if ys.size > width else ''}, "
                     f"y {shown.min():+.4f} .. {shown.max():+.4f}, last {ys[-1]:+.4f}")

    @command("plot", ".plot FILE.png", "draw y per read for each lane (needs matplotlib)", "file")
    def _plot(self, args, cols):
        path, col = _one_argument(args, cols, ".plot FILE.png")
        if not self.history:
            raise CommandError("nothing to plot: no reads yet", col)
        try:
            import matplotlib
        except ImportError:
            raise CommandError("'.plot' needs matplotlib: pip install matplotlib", 1) from None
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(7, 3.5))
        for lane, ys in sorted(self._reads_by_lane().items()):
            ax.plot(range(1, len(ys) + 1), ys, marker=".", label=f"L{lane}")
        ax.set_xlabel("read")
        ax.set_ylabel("y")
        ax.legend()
        try:
            fig.savefig(path, dpi=100, bbox_inches="tight")
        except (OSError, ValueError) as exc:
            raise CommandError(f"cannot write {path}: {exc}", col, col + len(path)) from None
        finally:
            plt.close(fig)
        self.out(f"wrote {path}")

    @command("load", ".load FILE", "assemble FILE and run it on a fresh core (.step, .break, .continue)", "file")
    def _load(self, args, cols):
        path, col = _one_argument(args, cols, ".load FILE")
        try:
            with open(path) as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}",
                               col, col + len(path)) from None
        self.load_text(text, path)

    def load_text(self, text: str, path: str) -> None:
        """Make path (with this text) the session's program, on a fresh core."""
        errors = Collector()
        sources = Sources()
        sources.texts[path] = text
        if os.path.isfile(path):
            sources.included.add(os.path.realpath(path))
        statements = splice_includes(parse_text(text, path, errors), path, errors, sources)
        if errors:
            raise KtasmError(errors.diagnostics, sources.texts)
        saved = (self.file_path, self.file_text, self.file_statements, self.file_sources, self.decls,
                 self.decl_sources, self.decl_lines, self.typed_core, self.overrides)
        self._unload()
        self.file_path, self.file_text, self.file_statements, self.file_sources = path, text, statements, sources
        self.typed_core = {}
        self.overrides = {k: v for k, v in self.overrides.items() if k in SESSION_OVERRIDES}
        try:
            program = self._build()
            self._new_machine(program)
        except BaseException:
            (self.file_path, self.file_text, self.file_statements, self.file_sources, self.decls,
             self.decl_sources, self.decl_lines, self.typed_core, self.overrides) = saved
            raise
        self.out(f"loaded {path}: {program.code.shape[0]} instructions; core {self.core_text()}")

    @command("step", ".step [n]", "execute the loaded program's next n instructions (default 1), "
             "stopping at a breakpoint")
    def _step(self, args, cols):
        self._need_program()
        n = _count(args, cols, default=1)
        m = self.machine
        self._need_running()
        self.last_repeat = self.line_number
        for i in range(n):
            if i > 0 and (m.finished or m.at_breakpoint()):
                break
            if not self._step_reported(print_it=n <= PRINT_EACH_STEP, listing=True):
                break
        if m.stop_reason != "fault":
            self._where()

    @command("continue", ".continue [n]", "run the loaded program (compiled) to a breakpoint, HALT, "
             "the end, or n instructions")
    def _continue(self, args, cols):
        self._need_program()
        m = self.machine
        self._need_running()
        budget = _count(args, cols, default=None)
        if self.max_steps is not None:
            budget = self.max_steps if budget is None else min(budget, self.max_steps)
        before_steps, before_out = m.steps, len(m.output_values())
        result = m.run(max_steps=budget, timeout=self.timeout)
        new_out = result.outputs[before_out:]
        if new_out.size:
            self.out(f"out {_vector_text(new_out, limit=16)}")
        self.out(f"{result.reason}: {m.steps - before_steps} instructions")
        if result.fault is not None:
            self._report_fault(m.program, result.fault)
            return
        self._where()

    def _report_fault(self, program, fault) -> None:
        self.runtime_faults += 1
        self.err(runtime_error_text(program, fault.pc, fault.message))

    def _where(self) -> None:
        m = self.machine
        if m.pc >= m.program.code.shape[0]:
            self.out(f"pc {m.pc}: the end of the program")
            return
        self.out(self._listing(m.pc, m.pc + 1))

    def _listing(self, start: int, stop: int, program=None) -> str:
        from ktasm.disasm import disassemble

        m = self.machine
        return disassemble(program or m.program, current=m.pc, start=start, stop=stop, with_header=False,
                           breakpoints=set(np.flatnonzero(m.breaks).tolist()))

    def _resolve_place(self, arg: str, col: int) -> int:
        """A pc from a label or a line number of the loaded file."""
        p = self.machine.program
        if arg in p.labels:
            return p.labels[arg]
        if arg.isdigit():
            line = int(arg)
            here = np.flatnonzero((p.lines[:, 0] == 0) & (p.lines[:, 1] == line))
            if here.size:
                return int(here[0])
            later = np.flatnonzero((p.lines[:, 0] == 0) & (p.lines[:, 1] > line))
            note = f" (the next is on line {int(p.lines[later[0], 1])})" if later.size else ""
            raise CommandError(f"no instruction on line {line} of {self.file_path}{note}", col, col + len(arg))
        raise CommandError(f"expected a line number or a label, got {arg!r}", col, col + len(arg))

    @command("break", ".break [LINE | label | clear [LINE | label]]",
             "list breakpoints, set one before a line or label, or clear one (all)", "break")
    def _break(self, args, cols):
        self._need_program()
        m = self.machine
        if args and args[0].lower() == "clear":
            if len(args) == 1:
                m.breaks[:] = 0
                self.out("breakpoints cleared")
                return
            m.set_breakpoint(self._resolve_place(args[1], cols[1]), False)
        elif args:
            pc = self._resolve_place(args[0], cols[0])
            m.set_breakpoint(pc, True)
        pcs = np.flatnonzero(m.breaks).tolist()
        if not pcs:
            self.out("no breakpoints")
        for pc in pcs:
            self.out(self._listing(pc, pc + 1))

    @command("list", ".list [all | LINE | label]", "disassembly around the current instruction "
             "(--> current, * breakpoint)", "list")
    def _list(self, args, cols):
        self._need_program()
        m = self.machine
        n = m.program.code.shape[0]
        if args and args[0].lower() == "all":
            start, stop = 0, n
        else:
            at = self._resolve_place(args[0], cols[0]) if args else m.pc
            start, stop = max(0, at - 5), at + 10
        self.out(self._listing(start, stop) if n else "(no instructions)")

    @command("reset", ".reset", "a fresh core from the seed, program from the start; declarations and "
             "breakpoints are kept")
    def _reset(self, args, cols):
        self._new_machine(self.machine.program)
        self.out(f"reset: core {self.core_text()}")

    @command("seed", ".seed N", "reset with seed N (as .core seed=N; kept by .load)")
    def _seed(self, args, cols):
        if len(args) != 1 or not args[0].isdigit() or int(args[0]) >= 2**63:
            raise CommandError("usage: .seed N (an integer >= 0)", cols[0] if cols else 1)
        saved = dict(self.overrides), dict(self.typed_core)
        self.overrides["seed"] = int(args[0])
        self.typed_core.pop("seed", None)
        try:
            self._new_machine(self._build())
        except BaseException:
            self.overrides, self.typed_core = saved
            raise
        self.out(f"seed {args[0]}: core {self.core_text()}")

    @command("save", ".save FILE", "save the session (program, declarations, device state, registers, "
             "history), exactly", "file")
    def _save(self, args, cols):
        path, col = _one_argument(args, cols, ".save FILE")
        try:
            self.save(path)
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror or exc}", col, col + len(path)) from None
        self.out(f"saved {path}")

    @command("restore", ".restore FILE", "become the session saved in FILE (its future is bit for bit "
             "the same)", "file")
    def _restore(self, args, cols):
        path, col = _one_argument(args, cols, ".restore FILE")
        try:
            self.restore(path)
        except ValueError as exc:
            raise CommandError(str(exc), col, col + len(path)) from None
        self.out(f"restored {path}: core {self.core_text()}, pc {self.machine.pc}")

    @command("quit", ".quit", "leave (so does Ctrl-D)")
    def _quit(self, args, cols):
        self.finished = True

    # ------------------------------------------------------------------ save / restore
    def save(self, path: str) -> None:
        m = self.machine
        meta = {"format": SESSION_FORMAT, "file_path": self.file_path, "file_text": self.file_text,
                "input_lines": self.input_lines, "decl_lines": self.decl_lines,
                "typed_core": self.typed_core, "overrides": self.overrides, "show": sorted(self.show),
                "last_lane": self.last_lane, "last_aat": self.last_aat}
        history = np.array(self.history, dtype=np.float64).reshape(-1, 3)
        with open(path, "wb") as fh:
            np.savez(fh, session=np.array(json.dumps(meta)), history=history, breaks=m.breaks,
                     **m.get_state())

    def restore(self, path: str) -> None:
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
            meta = json.loads(str(arrays.pop("session")))
        except (OSError, ValueError, KeyError, EOFError) as exc:
            raise ValueError(f"cannot read session {path}: {exc}") from None
        if meta.get("format") != SESSION_FORMAT:
            raise ValueError(f"{path} is not a ktasm REPL session")
        quiet = lambda text: None  # noqa: E731
        fresh = Session(out=quiet, err=quiet, input_name=self.input_name, data=self.data_given,
                        max_steps=self.max_steps, timeout=self.timeout, repeat_on_empty=self.repeat_on_empty)
        fresh.input_lines = list(meta["input_lines"])
        fresh.typed_core, fresh.overrides = dict(meta["typed_core"]), dict(meta["overrides"])
        try:
            if meta["file_path"] is not None:
                fresh.load_text(meta["file_text"], meta["file_path"])
                fresh.typed_core, fresh.overrides = dict(meta["typed_core"]), dict(meta["overrides"])
            errors = Collector()
            sources = Sources()
            for n in meta["decl_lines"]:
                stmts = parse_text(fresh.input_lines[n - 1], fresh.input_name, errors, first_line=n)
                fresh.decls += splice_includes(stmts, fresh.input_name, errors, sources)
            if errors:
                raise KtasmError(errors.diagnostics)
            fresh.decl_sources, fresh.decl_lines = sources, list(meta["decl_lines"])
            program = fresh._build()
        except (KtasmError, CommandError) as exc:
            raise ValueError(f"cannot rebuild the session saved in {path}: {exc}") from None
        fresh._new_machine(program)
        m = fresh.machine
        breaks = arrays.pop("breaks")
        history = arrays.pop("history")
        try:
            m.set_state(arrays)
        except (KeyError, ValueError) as exc:
            raise ValueError(f"{path}: the saved state does not fit the rebuilt program "
                             f"(did a file it includes change?): {exc}") from None
        if breaks.shape == m.breaks.shape:
            m.breaks[:] = breaks
        fresh.history = [(int(s), int(lane), float(y)) for s, lane, y in history]
        fresh.show = set(meta["show"])
        fresh.last_lane, fresh.last_aat = int(meta["last_lane"]), meta["last_aat"]
        for name in ("input_lines", "file_path", "file_text", "file_statements", "file_sources", "decls",
                     "decl_sources", "decl_lines", "typed_core", "overrides", "machine", "history", "show",
                     "last_lane", "last_aat"):
            setattr(self, name, getattr(fresh, name))
        self.last_repeat = None

    # ------------------------------------------------------------------ toolbar
    def toolbar(self) -> str:
        m = self.machine
        core = m.core
        lane = self.last_lane
        y = float(core.lane_y[lane])
        if self.last_aat is not None and self.last_aat < len(m.program.aat_names):
            mag = core.weights(lane, self._aat_tuple(self.last_aat))[1]
            where = f"L{lane} {m.program.aat_names[self.last_aat]}: y {y:+.4f} m {mag:.4g}"
        else:
            where = f"L{lane}: y {y:+.4f} m -"
        stats = m.stats()
        n = m.program.code.shape[0]
        pc = f"pc {m.pc}/{n}" if self.file_path else "pc -"
        return (f" {core.model} | {where} | {pc} | steps {m.steps} | "
                f"{stats['modeled_time_s']:.4g} s {stats['modeled_energy_j']:.4g} J ")

    # ------------------------------------------------------------------ completion
    def complete(self, before_cursor: str) -> list[Suggestion]:
        """Completions for the text before the cursor: mnemonics, registers, lanes, AAT
        and device names, dot-commands and their arguments."""
        text = before_cursor.lstrip()
        word = _last_word(text)
        if text.startswith(".") and " " not in text:
            names = [(f".{c.name}", c.summary) for c in COMMANDS.values()]
            names += [(f".{d}", "directive") for d in DIRECTIVES]
            return _matching(names, word)
        if text.startswith("."):
            head = _first_word(text)[1:].lower()
            if head in COMMANDS:
                return self._complete_argument(COMMANDS[head].argument, word)
            if head == "core":
                return _matching([(f"{k.key}=", k.help) for k in _config.CORE_KEYS], word)
            return []
        if " " not in text:
            return _matching(self._mnemonics(), word)
        mnemonic, _, operands = text.partition(" ")
        index = operands.count(",")
        ins = isa.lookup(mnemonic)
        if ins is None:
            return _matching(self._names_for(None), word)
        source = ins.source_operands
        # optional operands before this one may be left out, so it may be a later one
        skippable = sum(o.optional for o in source[:index + 1])
        names = [n for o in source[index:index + skippable + 1] for n in self._names_for(o.kind)]
        return _matching(names, word)

    def _mnemonics(self) -> list[tuple[str, str]]:
        names = [(ins.mnemonic, ins.summary) for ins in isa.INSTRUCTIONS]
        macros = [s for s in [*self.file_statements, *self.decls]
                  if isinstance(s, ast.Directive) and s.name == "macro" and s.items]
        for m in macros:
            value = m.items[0].value
            if isinstance(value, ast.Name):
                names.append((value.id, "macro"))
        return names

    def _names_for(self, kind: str | None) -> list[tuple[str, str]]:
        m = self.machine
        p = m.program
        regs = [(f"r{i}", f"= {_fmt(float(m.vals[i]))}") for i in range(isa.N_REGISTERS)]
        lanes = [(f"L{i}", f"y = {float(m.core.lane_y[i]):+.4f}") for i in range(min(m.core.num_lanes, 64))]
        aats = [(name, "(" + ", ".join("_" if a < 0 else str(int(a)) for a in m.aats[i]) + ")")
                for i, name in enumerate(p.aat_names)]
        consts = [(name, f"= {value:.6g}") for name, value in p.consts.items()]
        data = [(name, "data") for name in p.data_names]
        labels = [(name, f"pc {pc}") for name, pc in p.labels.items() if "@" not in name]

        def devices(*kinds):
            return [(d["name"], d["kind"]) for d in p.devices if d["kind"] in kinds]

        by_kind = {
            isa.REG: regs, isa.RANGE: regs, isa.LANE: lanes, isa.AAT: aats, isa.DATA: data,
            isa.VALUE: regs + consts, isa.LABEL: labels, isa.VEC: devices("vec", "bank", "ou"),
            isa.MTJ: devices("mtj"), isa.PAIRS: devices("pairs"), isa.BANK: devices("bank"), isa.OU: devices("ou"),
        }
        if kind is None:
            return regs + lanes + aats + consts + data + devices("vec", "mtj", "pairs", "bank", "ou")
        return by_kind.get(kind, [])

    def _complete_argument(self, argument: str, word: str) -> list[Suggestion]:
        if argument == "file":
            return _complete_path(word)
        if argument == "help":
            return _matching([(c.name, c.summary) for c in COMMANDS.values()]
                             + [(i.mnemonic, i.summary) for i in isa.INSTRUCTIONS], word)
        if argument == "lane":
            return _matching(self._names_for(isa.LANE) + [("all", "every pair")], word)
        if argument == "show":
            return _matching([(f, "") for f in (*SHOW_FIELDS, "all")], word)
        if argument in ("break", "list"):
            extra = [("clear", "remove breakpoints")] if argument == "break" else [("all", "the whole program")]
            return _matching(self._names_for(isa.LABEL) + extra, word)
        return []


# ---------------------------------------------------------------------- helpers
def _first_word(text: str) -> str:
    return text.split(None, 1)[0] if text.split() else ""


def _last_word(text: str) -> str:
    """The word being typed: after the last space, comma, '(' or '['."""
    cut = max(text.rfind(c) for c in " ,([\t")
    return text[cut + 1:]


def _matching(names, word: str) -> list[Suggestion]:
    """names (text, meta) that start with word (case-insensitive), each once."""
    seen, out = set(), []
    low = word.lower()
    for text, meta in names:
        if text.lower().startswith(low) and text not in seen:
            seen.add(text)
            out.append(Suggestion(text, len(word), meta))
    return out


def _complete_path(word: str) -> list[Suggestion]:
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


def _split_args(rest: str, offset: int) -> tuple[list[str], list[int]]:
    """Arguments after a command and their 1-based columns in the line (shell quoting)."""
    try:
        args = shlex.split(rest, comments=False)
    except ValueError:
        args = rest.split()
    cols, pos = [], 0
    for arg in args:
        found = rest.find(arg, pos)
        found = found if found >= 0 else pos
        cols.append(offset + found + 1)
        pos = found + len(arg)
    return args, cols


def _one_argument(args, cols, usage: str) -> tuple[str, int]:
    """The single argument of a command and its column."""
    if len(args) != 1:
        raise CommandError(f"usage: {usage}", cols[1] if len(args) > 1 else 1)
    return args[0], cols[0]


def _count(args, cols, default):
    if not args:
        return default
    if not args[0].isdigit() or int(args[0]) < 1:
        raise CommandError(f"expected a count >= 1, got {args[0]!r}", cols[0], cols[0] + len(args[0]))
    return int(args[0])


assert not set(COMMANDS) & set(DIRECTIVES), "a dot-command may not share a directive's name"
