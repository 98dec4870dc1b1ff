"""The session as a whole: ``.reset``, ``.seed``, ``.save``, ``.restore``, ``.quit``."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from ktasm.errors import KtasmError
from ktasm.repl.builder import ProgramBuilder, parse_declarations
from ktasm.repl.commands.args import one_argument
from ktasm.repl.commands.registry import CommandError, command
from ktasm.repl.format import SHOW_FIELDS
from ktasm.repl.state import SessionState, read_session
from vm.bytecode import Program

if TYPE_CHECKING:
    from ktasm.repl.engine import Session


@command(
    "reset",
    ".reset",
    "a fresh core from the seed, program from the start; declarations and breakpoints are kept",
)
def reset(session: Session, args: list[str], cols: list[int]) -> None:
    session.start_machine(session.machine.program)
    session.out(f"reset: core {session.core_text()}")


@command("seed", ".seed N", "reset with seed N (as .core seed=N; kept by .load)")
def reseed(session: Session, args: list[str], cols: list[int]) -> None:
    if len(args) != 1 or not args[0].isdigit() or int(args[0]) >= 2**63:
        raise CommandError("usage: .seed N (an integer >= 0)", cols[0] if cols else 1)
    parts = session.state.parts
    seeded = replace(
        parts,
        overrides={**parts.overrides, "seed": int(args[0])},
        typed_core={k: v for k, v in parts.typed_core.items() if k != "seed"},  # the given seed wins
    )
    session.start_machine(ProgramBuilder(seeded, session.input_name).build(session.input_text()))
    session.state.parts = seeded
    session.out(f"seed {args[0]}: core {session.core_text()}")


@command(
    "save",
    ".save FILE",
    "save the session (program, declarations, device state, registers, history), exactly",
    "file",
)
def save(session: Session, args: list[str], cols: list[int]) -> None:
    path, col = one_argument(args, cols, ".save FILE")
    try:
        session.save(path)
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}", col, col + len(path)) from None
    session.out(f"saved {path}")


@command(
    "restore",
    ".restore FILE",
    "become the session saved in FILE (its future is bit for bit the same)",
    "file",
)
def restore(session: Session, args: list[str], cols: list[int]) -> None:
    path, col = one_argument(args, cols, ".restore FILE")
    try:
        session.restore(path)
    except ValueError as exc:
        raise CommandError(str(exc), col, col + len(path)) from None
    session.out(f"restored {path}: core {session.core_text()}, pc {session.machine.pc}")


@command("quit", ".quit", "leave (so does Ctrl-D)")
def quit_session(session: Session, args: list[str], cols: list[int]) -> None:
    session.finished = True


def rebuilt_state(session: Session, path: str) -> SessionState:
    """The state of the session saved in path: its program rebuilt the way it was typed,
    on a quiet twin of session, then the saved machine state, breakpoints and reads laid
    on; ValueError if it cannot be read or rebuilt (session is left as it was)."""
    saved = read_session(path)
    meta = saved.meta
    twin = type(session)(
        out=_quiet,
        err=_quiet,
        input_name=session.input_name,
        data=session.data_given,
        defines=meta["defines"],
        max_steps=session.max_steps,
        timeout=session.timeout,
        repeat_on_empty=session.repeat_on_empty,
    )
    try:
        program = _retyped_program(twin, meta)
    except (KtasmError, CommandError) as exc:
        raise ValueError(f"cannot rebuild the session saved in {path}: {exc}") from None
    twin.start_machine(program)
    state = twin.state
    try:
        state.machine.set_state(saved.machine_state)
    except (KeyError, ValueError) as exc:
        raise ValueError(
            f"{path}: the saved state does not fit the rebuilt program "
            f"(did a file it includes change?): {exc}"
        ) from None
    machine = state.machine
    if not meta["last_lane"] < machine.core.num_lanes or not (
        meta["last_aat"] is None or meta["last_aat"] < len(machine.program.aat_names)
    ):
        raise ValueError(f"{path}: the session record is damaged: its last lane or AAT is not in the program")
    if saved.breaks.shape == machine.breaks.shape:
        machine.breaks[:] = saved.breaks
    state.history, state.show = saved.history, set(meta["show"]) & set(SHOW_FIELDS)
    state.last_lane, state.last_aat = int(meta["last_lane"]), meta["last_aat"]
    return state


def _retyped_program(twin: Session, meta: dict) -> Program:
    """twin given the saved input lines, file, .core keys and declarations; their program."""
    state = twin.state
    state.input_lines = list(meta["input_lines"])
    state.parts.typed_core, state.parts.overrides = dict(meta["typed_core"]), dict(meta["overrides"])
    if meta["file_path"] is not None:
        twin.load_text(meta["file_text"], meta["file_path"])
        # .load starts new parts without the typed .core keys: put them back
        state.parts.typed_core, state.parts.overrides = dict(meta["typed_core"]), dict(meta["overrides"])
    parts = state.parts
    parts.decls, parts.decl_sources = parse_declarations(
        state.input_lines, meta["decl_lines"], twin.input_name, parts.defines
    )
    parts.decl_lines = list(meta["decl_lines"])
    return twin.builder.build(twin.input_text())


def _quiet(text: str) -> None:
    """Where the twin that rebuilds a saved session writes: nowhere."""
