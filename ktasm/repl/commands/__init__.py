"""The dot-commands: one module per family, each command a plain function registered with
``@command`` (``registry``) in ``COMMANDS``, which ``.help``, completion and docs/repl.md read.

``help`` (.help), ``inspect`` (.state .show .history .plot), ``debug`` (.load .step .continue
.break .list .age), ``session`` (.reset .seed .save .restore .quit); ``args`` checks their
arguments. Importing this package registers them all.
"""

from ktasm.assembler import DIRECTIVES
from ktasm.repl.commands.registry import COMMANDS, Command, CommandError, command, find_command, run_command

# The families register on import, and .help lists the commands in that order.
# isort: off
from ktasm.repl.commands import help, inspect, debug, session  # noqa: F401
# isort: on

assert not set(COMMANDS) & set(DIRECTIVES), "a dot-command may not share a directive's name"

__all__ = ["COMMANDS", "Command", "CommandError", "command", "find_command", "run_command"]
