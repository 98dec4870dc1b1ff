"""What a REPL session is: one ``SessionState`` that ``.save`` writes and ``.restore`` swaps in.

``ProgramParts`` is what the session's program is assembled from (the loaded file, the
declarations typed since, the .core keys); the rest of the state is the live machine and
what the REPL remembers about it. The .save file is an ``.npz`` without pickles: the
machine's state arrays, the breakpoints, the read history and a JSON string with the rest.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from ktasm.expand import Sources
from vm.archive import read_npz

if TYPE_CHECKING:
    from vm.machine import Machine

SESSION_FORMAT = "ktasm-repl-session-1"
SESSION_OVERRIDES = ("seed", "model")  # kept by .load (the keys `ktasm run` overrides too)

MAX_SESSION_BYTES = 1 << 28  # what a .restore reads at most (a session is its state and text)

Read = tuple[int, int, float]  # (step, lane, y) of one read on the step path
CoreValues = dict[str, str | float]  # .core key -> value


@dataclass
class ProgramParts:
    """What the session's program is assembled from: the loaded file, then the declarations
    typed since, with the .core keys typed and given (--seed/--model/.seed) laid over it."""

    file_path: str | None = None
    file_text: str = ""
    file_statements: list = field(default_factory=list)
    file_sources: Sources = field(default_factory=Sources)
    decls: list = field(default_factory=list)
    decl_sources: Sources = field(default_factory=Sources)
    decl_lines: list[int] = field(default_factory=list)  # the input lines the declarations came from
    typed_core: CoreValues = field(default_factory=dict)
    overrides: CoreValues = field(default_factory=dict)
    defines: dict[str, float] = field(default_factory=dict)  # -D NAME=VALUE


@dataclass
class SessionState:
    """Everything .save writes and .restore replaces: what was typed, the program it built,
    the live machine and what the REPL remembers about it."""

    parts: ProgramParts
    machine: Machine
    input_lines: list[str] = field(default_factory=list)
    show: set[str] = field(default_factory=lambda: {"y"})  # what an instruction on a pair prints
    history: list[Read] = field(default_factory=list)
    last_lane: int = 0
    last_aat: int | None = None  # the AAT row the last instruction on a pair used
    last_repeat: int | None = None  # the input line an empty line repeats
    pending: list[int] = field(default_factory=list)  # input line numbers of an open .macro block

    def replace_machine(self, machine: Machine) -> None:
        """Run on machine from now on; breakpoints carry over when the code is as long, and
        the read history starts over."""
        if self.machine.program.code.shape[0] == machine.program.code.shape[0]:
            machine.breaks[:] = self.machine.breaks
        self.machine = machine
        self.history = []
        self.last_lane, self.last_aat, self.last_repeat = 0, None, None


@dataclass
class SavedSession:
    """A .save file as read back: its JSON part and its arrays."""

    meta: dict[str, Any]
    machine_state: dict[str, np.ndarray]
    breaks: np.ndarray
    history: list[Read]


def write_session(state: SessionState, path: str) -> None:
    parts, machine = state.parts, state.machine
    meta = {
        "format": SESSION_FORMAT,
        "file_path": parts.file_path,
        "file_text": parts.file_text,
        "input_lines": state.input_lines,
        "decl_lines": parts.decl_lines,
        "typed_core": parts.typed_core,
        "overrides": parts.overrides,
        "defines": parts.defines,
        "show": sorted(state.show),
        "last_lane": state.last_lane,
        "last_aat": state.last_aat,
    }
    history = np.array(state.history, dtype=np.float64).reshape(-1, 3)
    arrays = {"session": np.array(json.dumps(meta)), "history": history, "breaks": machine.breaks}
    with open(path, "wb") as fh:
        _write_npz(fh, {**arrays, **machine.get_state()})


def _write_npz(fh: IO[bytes], arrays: dict[str, np.ndarray]) -> None:
    # numpy's stub lets a **dict reach savez's allow_pickle: bool; none of these keys is that
    named: dict[str, Any] = arrays
    np.savez(fh, **named)


def read_session(path: str) -> SavedSession:
    """The session saved in path; ValueError if it is not one."""
    arrays = read_npz(path, MAX_SESSION_BYTES, "REPL session")
    try:
        meta = json.loads(str(arrays.pop("session")))
    except KeyError:
        raise ValueError(f"{path} is not a ktasm REPL session (no session record)") from None
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: the session record is damaged: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != SESSION_FORMAT:
        raise ValueError(f"{path} is not a ktasm REPL session")
    problem = _meta_problem(meta)
    if problem:
        raise ValueError(f"{path}: the session record is damaged: {problem}")
    try:
        breaks, history = arrays.pop("breaks"), arrays.pop("history")
    except KeyError as exc:
        raise ValueError(f"cannot read session {path}: no {exc} array") from None
    if history.ndim != 2 or history.shape[1] != 3 or history.dtype != np.float64:
        raise ValueError(f"{path}: the read history is damaged (expected float64[n, 3])")
    if not np.all(np.isfinite(history[:, :2]) & (np.abs(history[:, :2]) < 2.0**62)):
        raise ValueError(f"{path}: the read history is damaged (a step or lane is not a whole number)")
    if breaks.dtype != np.uint8 or breaks.ndim != 1:
        raise ValueError(f"{path}: the breakpoints are damaged (expected uint8[n])")
    reads = [(int(step), int(lane), float(y)) for step, lane, y in history]
    return SavedSession(meta, arrays, breaks, reads)


def _meta_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with a session record's types, or None (the REPL trusts them after)."""

    def strings(v: Any) -> bool:
        return isinstance(v, list) and all(isinstance(x, str) for x in v)

    def whole(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 31

    def core_values(v: Any) -> bool:
        return isinstance(v, dict) and all(
            isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v.values()
        )

    checks = (
        ("file_path", lambda v: v is None or isinstance(v, str), "a path or null"),
        ("file_text", lambda v: isinstance(v, str), "a string"),
        ("input_lines", strings, "a list of strings"),
        ("decl_lines", lambda v: isinstance(v, list) and all(whole(x) for x in v), "a list of line numbers"),
        ("typed_core", core_values, "a table of .core values"),
        ("overrides", core_values, "a table of .core values"),
        ("show", strings, "a list of strings"),
        ("last_lane", whole, "a lane number"),
        ("last_aat", lambda v: v is None or whole(v), "an AAT row or null"),
    )
    for key, ok, expected in checks:
        if key not in meta:
            return f"no {key!r}"
        if not ok(meta[key]):
            return f"{key!r} is not {expected}"
    defines = meta.setdefault("defines", {})  # sessions saved before -D have none
    if not (
        isinstance(defines, dict)
        and all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            for k, v in defines.items()
        )
    ):
        return "'defines' is not a table of constants"
    if any(not 1 <= n <= len(meta["input_lines"]) for n in meta["decl_lines"]):
        return "'decl_lines' names an input line that is not there"
    return None
