"""The IPython extension: ``%load_ext ktasm``.

- ``%%kta [--seed N] [--model M] [-D name=value ...] [--out NAME] [--max-steps N]``: the
  cell is a ``.kta`` program; it is assembled and run, and its ``RunResult`` is bound to
  ``NAME`` (default ``kta``) with the ``Machine`` as ``NAME_machine``. A ``-D`` value that
  is a number defines a constant, as ``ktasm run -D`` does (``-D N=12``); any other is a
  notebook variable (an array or a path) or a file path for the program's ``.data`` name.
  The cell's value is the machine, so the pairs' table shows under the cell.
- ``%kta LINE``: one input line to a REPL session that lives as long as the kernel
  (``ktasm.repl.engine.Session``: instructions, declarations, dot-commands). ``%kta``
  alone shows the session's machine. The session is ``ipython.user_ns["kta_session"]``.

Bad input prints the caret diagnostic (``cell:line:col``, the line, a caret) on stderr,
never a traceback; a runtime fault prints the faulting line the same way.
"""

from __future__ import annotations

import shlex
import sys
from typing import Any

from ktasm.errors import KtasmError, runtime_error_text

SESSION_NAME = "kta_session"
CELL_FILE = "<cell>"


class MagicUsageError(ValueError):
    """Bad %%kta options: the message is shown as is."""


def parse_options(line: str) -> dict[str, Any]:
    """%%kta's options: seed, model, defines [(name, value text)], out, max_steps."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise MagicUsageError(f"%%kta: {exc}") from None
    options: dict[str, Any] = {"seed": None, "model": None, "defines": [], "out": "kta", "max_steps": None}
    i = 0
    while i < len(words):
        word = words[i]
        key, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
        if key in ("--seed", "--model", "--out", "--max-steps", "-D"):
            if eq:
                value = inline
            elif i + 1 < len(words):
                i += 1
                value = words[i]
            else:
                raise MagicUsageError(f"%%kta: {key} needs a value")
        elif word.startswith("-D") and len(word) > 2:
            key, value = "-D", word[2:]
        else:
            raise MagicUsageError(
                f"%%kta: unknown option {word!r} (expected --seed, --model, -D name=value, --out, --max-steps)"
            )
        if key in ("--seed", "--max-steps"):
            try:
                options[key[2:].replace("-", "_")] = int(value)
            except ValueError:
                raise MagicUsageError(f"%%kta: {key} expects an integer, got {value!r}") from None
        elif key == "--model":
            options["model"] = value
        elif key == "--out":
            if not value.isidentifier():
                raise MagicUsageError(f"%%kta: --out expects a variable name, got {value!r}")
            options["out"] = value
        else:
            name, eq, text = value.partition("=")
            if not eq or not name:
                raise MagicUsageError(f"%%kta: -D expects name=value, got {value!r}")
            options["defines"].append((name, text))
        i += 1
    return options


def resolve_data(defines: list[tuple[str, str]], namespace: dict) -> dict:
    """-D name=value: a notebook variable called value if there is one, else the text (a path)."""
    return {name: namespace[text] if text in namespace else text for name, text in defines}


def run_cell(line: str, cell: str, namespace: dict, err=None):
    """Assemble and run cell with %%kta's options; bind the result in namespace. Returns
    the Machine, or None after an error (already printed on err)."""
    err = err or (lambda text: print(text, file=sys.stderr))
    from ktasm.assembler import assemble_text
    from ktasm.consteval import parse_number

    try:
        options = parse_options(line)
        constants = {n: parse_number(t) for n, t in options["defines"] if parse_number(t) is not None}
        options["defines"] = [(n, t) for n, t in options["defines"] if n not in constants]
        program = assemble_text(cell, CELL_FILE, defines=constants)
    except (MagicUsageError, ValueError) as exc:
        err(str(exc))
        return None
    except KtasmError as exc:
        err(exc.render())
        return None
    from vm.machine import DataError, Machine

    try:
        machine = Machine(
            program,
            resolve_data(options["defines"], namespace),
            seed=options["seed"],
            model=options["model"],
        )
    except (DataError, ValueError) as exc:
        err(f"%%kta: {exc}")
        return None
    result = machine.run(max_steps=options["max_steps"])
    namespace[options["out"]] = result
    namespace[options["out"] + "_machine"] = machine
    if result.fault is not None:
        err(runtime_error_text(program, result.fault.pc, result.fault.message, result.fault.operand))
    elif result.reason not in ("halted", "end"):
        err(f"%%kta: stopped ({result.reason}) after {result.stats['instructions']} instructions")
    return machine


def session_for(namespace: dict, out=None, err=None):
    """The kernel's REPL session (created on first use, kept in namespace)."""
    session = namespace.get(SESSION_NAME)
    if session is None:
        from ktasm.repl.engine import Session

        session = Session(
            out=out or print,
            err=err or (lambda text: print(text, file=sys.stderr)),
            input_name="<kta>",
            repeat_on_empty=False,
        )
        namespace[SESSION_NAME] = session
    return session


def run_line(line: str, namespace: dict):
    """One input line to the kernel's REPL session; the machine when line is empty."""
    session = session_for(namespace)
    if not line.strip():
        return session.machine
    session.execute(line)
    return None


def load_ipython_extension(ipython) -> None:
    """Register %%kta and %kta (``%load_ext ktasm``)."""

    def kta(line: str, cell: str | None = None):
        if cell is None:
            return run_line(line, ipython.user_ns)
        return run_cell(line, cell, ipython.user_ns)

    ipython.register_magic_function(kta, magic_kind="line_cell", magic_name="kta")
