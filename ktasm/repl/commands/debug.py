"""Driving the loaded program: ``.load``, ``.step``, ``.continue``, ``.break``, ``.list``; and
the core's clock: ``.age``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ktasm.repl.commands.args import count_argument, one_argument
from ktasm.repl.commands.registry import CommandError, command
from ktasm.repl.format import listing, vector_text
from ktasm.repl.stepping import PRINT_EACH_STEP, print_where, report_fault, step_reported

if TYPE_CHECKING:
    from ktasm.repl.engine import Session


@command("load", ".load FILE", "assemble FILE and run it on a fresh core (.step, .break, .continue)", "file")
def load_program(session: Session, args: list[str], cols: list[int]) -> None:
    path, col = one_argument(args, cols, ".load FILE")
    from ktasm.assembler import decode_source
    from ktasm.errors import KtasmError
    from vm.archive import ArchiveError, max_program_bytes, read_bytes

    try:
        text = decode_source(read_bytes(path, "program", max_program_bytes()), path)
    except ArchiveError as exc:
        raise CommandError(str(exc), col, col + len(path)) from None
    except KtasmError as exc:  # not UTF-8: where
        raise CommandError(
            f"cannot read {path}: {exc.diagnostics[0].span}: {exc.diagnostics[0].message}",
            col,
            col + len(path),
        ) from None
    session.load_text(text, path)


@command(
    "step",
    ".step [n]",
    "execute the loaded program's next n instructions (default 1), stopping at a breakpoint",
)
def step(session: Session, args: list[str], cols: list[int]) -> None:
    _need_program(session)
    given = count_argument(args, cols)
    n = 1 if given is None else given
    m = session.machine
    _need_running(session)
    session.state.last_repeat = session.line_number
    for i in range(n):
        if i > 0 and (m.finished or m.at_breakpoint()):
            break
        if not step_reported(session, print_it=n <= PRINT_EACH_STEP, with_listing=True):
            break
    if m.stop_reason != "fault":
        print_where(session)


@command(
    "continue",
    ".continue [n]",
    "run the loaded program (compiled) to a breakpoint, HALT, the end, or n instructions",
)
def continue_program(session: Session, args: list[str], cols: list[int]) -> None:
    _need_program(session)
    m = session.machine
    _need_running(session)
    budget = count_argument(args, cols)
    if session.max_steps is not None:
        budget = session.max_steps if budget is None else min(budget, session.max_steps)
    before_steps, before_out = m.steps, len(m.output_values())
    result = m.run(max_steps=budget, timeout=session.timeout)
    new_out = result.outputs[before_out:]
    if new_out.size:
        session.out(f"out {vector_text(new_out, limit=16)}")
    session.out(f"{result.reason}: {m.steps - before_steps} instructions")
    if result.fault is not None:
        report_fault(session, m.program, result.fault)
        return
    print_where(session)


@command(
    "break",
    ".break [LINE | label | clear [LINE | label]]",
    "list breakpoints, set one before a line or label, or clear one (all)",
    "break",
)
def breakpoints(session: Session, args: list[str], cols: list[int]) -> None:
    _need_program(session)
    m = session.machine
    if args and args[0].lower() == "clear":
        if len(args) == 1:
            m.breaks[:] = 0
            session.out("breakpoints cleared")
            return
        m.set_breakpoint(_resolve_place(session, args[1], cols[1]), False)
    elif args:
        m.set_breakpoint(_resolve_place(session, args[0], cols[0]), True)
    pcs = np.flatnonzero(m.breaks).tolist()
    if not pcs:
        session.out("no breakpoints")
    for pc in pcs:
        session.out(listing(m, pc, pc + 1))


@command(
    "list",
    ".list [all | LINE | label]",
    "disassembly around the current instruction (--> current, * breakpoint)",
    "list",
)
def list_program(session: Session, args: list[str], cols: list[int]) -> None:
    _need_program(session)
    m = session.machine
    n = m.program.code.shape[0]
    if args and args[0].lower() == "all":
        start, stop = 0, n
    else:
        at = _resolve_place(session, args[0], cols[0]) if args else m.pc
        start, stop = max(0, at - 5), at + 10
    session.out(listing(m, start, stop) if n else "(no instructions)")


@command(
    "age",
    ".age SECONDS",
    "let SECONDS of modeled time pass with no drive (as AGE): the devices drift (.core drift=NU)",
)
def age(session: Session, args: list[str], cols: list[int]) -> None:
    text, col = one_argument(args, cols, ".age SECONDS")
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds >= 0):
        raise CommandError(f"expected a number of seconds >= 0, got {text!r}", col, col + len(text))
    core = session.machine.core
    core.age(seconds)
    note = "" if core.nonideal.drifts else " (no drift: .core drift=NU makes the devices drift)"
    session.out(f"aged {seconds:g} s: the core's modeled time is {core.modeled_time_s:.9g} s{note}")


def _need_program(session: Session) -> None:
    if session.state.parts.file_path is None:
        raise CommandError("no program loaded: .load FILE first")


def _need_running(session: Session) -> None:
    m = session.machine
    if m.finished or m.pc >= m.program.code.shape[0]:
        reason = m.stop_reason if m.finished else "end"
        raise CommandError(f"the program has stopped ({reason}): .reset to run it again")


def _resolve_place(session: Session, arg: str, col: int) -> int:
    """A pc from a label or a line number of the loaded file."""
    p = session.machine.program
    if arg in p.labels:
        return p.labels[arg]
    if not arg.isdigit():
        raise CommandError(f"expected a line number or a label, got {arg!r}", col, col + len(arg))
    line = int(arg)
    in_file = p.lines[:, 0] == 0  # file 0 is the loaded file; others are its includes
    here = np.flatnonzero(in_file & (p.lines[:, 1] == line))
    if here.size:
        return int(here[0])
    later = np.flatnonzero(in_file & (p.lines[:, 1] > line))
    note = f" (the next is on line {int(p.lines[later[0], 1])})" if later.size else ""
    file_path = session.state.parts.file_path
    raise CommandError(f"no instruction on line {line} of {file_path}{note}", col, col + len(arg))
