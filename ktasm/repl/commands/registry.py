"""The dot-command registry: ``@command`` records a handler with the usage and summary that
``.help``, completion and docs/repl.md all read; ``run_command`` calls the handler with the
line's arguments and their columns."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ktasm.repl.engine import Session

Handler = Callable[["Session", list[str], list[int]], None]  # (session, arguments, their columns)


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
    handler: Handler


COMMANDS: dict[str, Command] = {}


def command(name: str, usage: str, summary: str, argument: str = "none") -> Callable[[Handler], Handler]:
    """Register a dot-command (its usage and summary are its help and its docs)."""

    def register(handler: Handler) -> Handler:
        COMMANDS[name] = Command(name, usage, summary, argument, handler)
        return handler

    return register


def first_word(text: str) -> str:
    return text.split(None, 1)[0] if text.split() else ""


def find_command(stripped: str) -> Command | None:
    """The dot-command a (stripped) line starts with, if any."""
    if not stripped.startswith("."):
        return None
    return COMMANDS.get(first_word(stripped)[1:].lower())


def run_command(session: Session, line: str) -> None:
    """Run the dot-command line starts with (find_command found one)."""
    word = first_word(line.strip())
    start = line.index(word) + len(word)
    args, cols = split_args(line[start:], start)
    COMMANDS[word[1:].lower()].handler(session, args, cols)


def split_args(rest: str, offset: int) -> tuple[list[str], list[int]]:
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
