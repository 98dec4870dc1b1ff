"""The REPL's session: a live machine driven one input line at a time.

``Session`` routes each line: a dot-command to its handler (``commands``), anything else
to the program builder (``builder``), whose plan it then carries out: a declaration extends
the program (``Machine.switch_program`` keeps every state array), a ``.core`` line rebuilds
the core, an instruction runs on the step path (``stepping``) after the program and is
dropped again, so the loaded program's pc does not move. Everything ``.save`` and
``.restore`` need is the one ``SessionState`` (``state``).

Nothing here imports prompt-toolkit; ``Session(out=..., err=...)`` writes text through
the two callables it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ktasm.assembler import DIRECTIVES
from ktasm.consteval import check_defines
from ktasm.errors import Diagnostic, KtasmError, Span
from ktasm.repl.builder import Declare, ProgramBuilder, Reconfigure, RunNow, parse_file
from ktasm.repl.commands import COMMANDS, Command, CommandError, command, find_command, run_command
from ktasm.repl.commands.registry import first_word
from ktasm.repl.commands.session import rebuilt_state
from ktasm.repl.complete import Suggestion, complete
from ktasm.repl.format import SHOW_FIELDS, core_text, declared_text, sparkline, toolbar_text
from ktasm.repl.state import (
    SESSION_FORMAT,
    SESSION_OVERRIDES,
    CoreValues,
    ProgramParts,
    SessionState,
    write_session,
)
from ktasm.repl.stepping import run_immediate
from vm.bytecode import Program

if TYPE_CHECKING:
    from vm.machine import Machine

__all__ = [
    "COMMANDS",
    "EX_DATAERR",
    "EX_SOFTWARE",
    "SESSION_FORMAT",
    "SHOW_FIELDS",
    "Command",
    "CommandError",
    "Session",
    "Suggestion",
    "command",
    "sparkline",
]

EX_DATAERR, EX_SOFTWARE = 65, 70


class Session:
    """A live machine and what was typed into it. ``execute(line)`` runs one input line;
    ``check(line)`` says what would be wrong with it without running it; ``complete``
    and ``toolbar`` feed a terminal front end."""

    def __init__(
        self,
        *,
        out: Callable[[str], None] = print,
        err: Callable[[str], None] | None = None,
        input_name: str = "<repl>",
        seed: int | None = None,
        model: str | None = None,
        data: dict | None = None,
        defines: dict | None = None,
        max_steps: int | None = None,
        timeout: float | None = None,
        repeat_on_empty: bool = False,
    ):
        self.out = out
        self.err = err or out
        self.input_name = input_name
        self.data_given = dict(data or {})
        self.max_steps, self.timeout = max_steps, timeout
        self.repeat_on_empty = repeat_on_empty
        self.input_errors = self.runtime_faults = 0
        self.finished = False
        given: CoreValues = {k: v for k, v in (("seed", seed), ("model", model)) if v is not None}
        parts = ProgramParts(overrides=given, defines=check_defines(defines))
        self.state = SessionState(parts, self._machine_for(ProgramBuilder(parts, input_name).build("")))

    # ------------------------------------------------------------------ public API
    @property
    def machine(self) -> Machine:
        """The live ``vm.machine.Machine`` the session drives."""
        return self.state.machine

    @property
    def file_path(self) -> str | None:
        """The loaded file (``.load``), or None."""
        return self.state.parts.file_path

    @property
    def input_lines(self) -> list[str]:
        """Every line typed so far, in order (what errors quote)."""
        return self.state.input_lines

    @property
    def line_number(self) -> int:
        """How many lines have been typed."""
        return len(self.state.input_lines)

    @property
    def exit_status(self) -> int:
        """0, 65 after any bad input, else 70 after any runtime fault."""
        return EX_DATAERR if self.input_errors else (EX_SOFTWARE if self.runtime_faults else 0)

    def end_of_input(self) -> None:
        """The input ended: a .macro block still open is an error (it was dropped silently)."""
        if self.state.pending:
            first = self.state.pending[0]
            self.state.pending = []
            self.input_errors += 1
            self.err(
                f"{self.input_name}:{first}:1: error: .macro without .endm: the input ended inside it, "
                "so nothing of it was defined"
            )

    @property
    def builder(self) -> ProgramBuilder:
        """A ``ProgramBuilder`` over the session's program parts."""
        return ProgramBuilder(self.state.parts, self.input_name)

    def prompt(self) -> str:
        """The prompt to show: ``kta> ``, or ``...  `` inside a .macro block."""
        return "...  " if self.state.pending else "kta> "

    def execute(self, line: str) -> bool:
        """Run one input line; False once the session should end (.quit)."""
        line = line.rstrip("\r\n")
        if "\n" in line:
            return all(self.execute(part) for part in line.split("\n"))
        self.state.input_lines.append(line)
        number = self.line_number
        try:
            self._route(line, number)
        except KtasmError as exc:
            self.input_errors += 1
            exc.sources[self.input_name] = self.input_text()
            self.err(exc.render())
        except CommandError as exc:
            self.input_errors += 1
            self.err(
                Diagnostic(Span(self.input_name, number, exc.col, exc.end_col), exc.message).format(line)
            )
        except KeyboardInterrupt:
            self.err("interrupted")
        return not self.finished

    def check(self, line: str) -> Diagnostic | None:
        """The first problem with line as the next input, or None (nothing runs)."""
        stripped = line.strip()
        if self.state.pending or not stripped or first_word(stripped).lower() == ".macro":
            return None
        number = self.line_number + 1
        if stripped.startswith("."):
            word = first_word(stripped)
            if find_command(stripped):
                return None
            if word[1:].lower() not in DIRECTIVES:
                col = line.index(word) + 1
                return Diagnostic(
                    Span(self.input_name, number, col, col + len(word)),
                    f"unknown command or directive {word}",
                    (".help lists the commands",),
                )
        try:
            self.builder.plan(line, number, self.input_text(line), self.machine.program)
        except KtasmError as exc:
            mine = [d for d in exc.diagnostics if d.span.file == self.input_name and d.span.line == number]
            return (mine or exc.diagnostics)[0]
        return None

    def complete(self, before_cursor: str) -> list[Suggestion]:
        """Completions for the text before the cursor: mnemonics, registers, lanes, AAT
        and device names, dot-commands and their arguments."""
        return complete(self.state, before_cursor)

    def toolbar(self) -> str:
        """The bottom toolbar's text: pc, steps, outputs, modeled time."""
        return toolbar_text(self.state)

    def core_text(self) -> str:
        """The core's configuration as ``key=value`` words."""
        return core_text(self.machine.program.core)

    def input_text(self, extra: str | None = None) -> str:
        """Every input line so far (and extra), as the text errors quote."""
        return "\n".join(self.state.input_lines + ([extra] if extra is not None else []))

    # ------------------------------------------------------------------ programs and machines
    def load_text(self, text: str, path: str) -> None:
        """Make path (with this text) the session's program, on a fresh core; typed
        declarations and .core keys go, --seed/--model and .seed stay."""
        defines = self.state.parts.defines
        statements, sources = parse_file(text, path, defines)
        kept = {k: v for k, v in self.state.parts.overrides.items() if k in SESSION_OVERRIDES}
        parts = ProgramParts(path, text, statements, sources, overrides=kept, defines=defines)
        program = ProgramBuilder(parts, self.input_name).build(self.input_text())
        self.start_machine(program)
        self.state.parts = parts
        self.out(f"loaded {path}: {program.code.shape[0]} instructions; core {self.core_text()}")

    def start_machine(self, program: Program) -> None:
        """A fresh machine for program (breakpoints kept when the code is as long)."""
        self.state.replace_machine(self._machine_for(program))

    def _machine_for(self, program: Program) -> Machine:
        from vm.machine import DataError, Machine

        try:
            return Machine(program, self._data_for(program))
        except DataError as exc:
            raise CommandError(str(exc)) from None

    def _data_for(self, program: Program) -> dict:
        """The --data bindings program declares (the others wait for a program that does)."""
        return {k: v for k, v in self.data_given.items() if k in program.data_names}

    # ------------------------------------------------------------------ save / restore
    def save(self, path: str) -> None:
        """Write the session (program parts, state, history) to path; ``restore`` reads it."""
        write_session(self.state, path)

    def restore(self, path: str) -> None:
        """Become the session saved in path; ValueError (and nothing changes) if it cannot
        be read or rebuilt."""
        self.state = rebuilt_state(self, path)

    # ------------------------------------------------------------------ one input line
    def _route(self, line: str, number: int) -> None:
        state = self.state
        stripped = line.strip()
        if state.pending:
            self._continue_block(number, stripped)
        elif not stripped:
            if self.repeat_on_empty and state.last_repeat is not None:
                state.input_lines[-1] = state.input_lines[state.last_repeat - 1]
                self._route(state.input_lines[-1], number)  # an instruction or a .step
        elif first_word(stripped).lower() == ".macro":
            state.pending = [number]
        elif find_command(stripped):
            run_command(self, line)
        else:
            self._run_line(line, number)

    def _run_line(self, line: str, number: int) -> None:
        plan = self.builder.plan(line, number, self.input_text(), self.machine.program)
        if isinstance(plan, Declare):
            self._declare(plan, number)
        elif isinstance(plan, Reconfigure):
            self._reconfigure(plan)
        elif isinstance(plan, RunNow):
            self.state.last_repeat = number
            run_immediate(self, plan.program)

    def _continue_block(self, number: int, stripped: str) -> None:
        """One more line of an open .macro block; at .endm, declare the block."""
        state = self.state
        state.pending.append(number)
        if first_word(stripped).lower() != ".endm":
            return
        numbers, state.pending = state.pending, []
        lines = [(n, state.input_lines[n - 1]) for n in numbers]
        self._declare(self.builder.macro_block(lines, self.input_text(), self.machine.program), *numbers)

    def _declare(self, plan: Declare, *numbers: int) -> None:
        from vm.machine import DataError

        machine = self.machine
        old = machine.program
        machine.data_given = self._data_for(plan.program)
        try:
            machine.switch_program(plan.program)
        except DataError as exc:
            raise KtasmError([Diagnostic(plan.statements[0].span, str(exc))]) from None
        parts = self.state.parts
        parts.decls += list(plan.statements)
        parts.decl_sources = plan.sources
        parts.decl_lines += list(numbers)
        for text in declared_text(old, plan.program, plan.statements, machine.data_meta):
            self.out(text)

    def _reconfigure(self, plan: Reconfigure) -> None:
        parts = self.state.parts
        for key in plan.core_keys:  # a typed key replaces a given one (--seed, --model, .seed)
            parts.typed_core[key] = plan.program.core[key]
            parts.overrides.pop(key, None)
        if plan.program.core == self.machine.program.core:
            self.out("core unchanged")
            return
        self.start_machine(plan.program)
        self.out(f"core {self.core_text()}: a fresh core (devices, registers and pc start over)")
