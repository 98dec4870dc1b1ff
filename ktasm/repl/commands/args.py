"""Command arguments checked in one place: a single argument, a count, a lane."""

from __future__ import annotations

from ktasm.repl.commands.registry import CommandError


def one_argument(args: list[str], cols: list[int], usage: str) -> tuple[str, int]:
    """The single argument of a command and its column."""
    if len(args) != 1:
        raise CommandError(f"usage: {usage}", cols[1] if len(args) > 1 else 1)
    return args[0], cols[0]


def count_argument(args: list[str], cols: list[int]) -> int | None:
    """The count >= 1 a command was given, or None."""
    if not args:
        return None
    if not args[0].isdigit() or int(args[0]) < 1:
        raise CommandError(f"expected a count >= 1, got {args[0]!r}", cols[0], cols[0] + len(args[0]))
    return int(args[0])


def lane_argument(arg: str, col: int, num_lanes: int, alternative: str = "") -> int:
    """A lane from 'L3' or '3', checked against the core's num_lanes."""
    text = arg[1:] if arg[:1] in "lL" else arg
    if not text.isdigit() or not 0 <= int(text) < num_lanes:
        other = f" {alternative}" if alternative else ""
        raise CommandError(f"expected a lane L0..L{num_lanes - 1}{other}, got {arg!r}", col, col + len(arg))
    return int(text)
