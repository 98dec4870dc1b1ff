"""The terminal front end of ``ktasm repl``: a prompt-toolkit session around the engine.

Completion, the validator and the toolbar only ask the engine (``Session.complete``,
``Session.check``, ``Session.toolbar``); the Pygments lexer is ``ktasm.highlight``'s.
"""

from __future__ import annotations

import os
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import Completer, Completion
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.lexers import PygmentsLexer
from prompt_toolkit.validation import ValidationError, Validator

from ktasm.highlight import KtaLexer
from ktasm.repl.engine import Session


class SessionCompleter(Completer):
    def __init__(self, session: Session):
        self.session = session

    def get_completions(self, document, complete_event):
        for s in self.session.complete(document.text_before_cursor):
            yield Completion(s.text, start_position=-s.replace, display_meta=s.meta)


class SessionValidator(Validator):
    """Refuses a line the assembler would refuse, with the cursor on the error's column."""

    def __init__(self, session: Session):
        self.session = session

    def validate(self, document) -> None:
        problem = self.session.check(document.text)
        if problem is not None:
            position = min(max(problem.span.col - 1, 0), len(document.text))
            raise ValidationError(cursor_position=position, message=problem.message)


def default_history() -> History:
    """~/.local/state/ktasm/history (or $KTASM_HISTORY); in memory if it cannot be written."""
    path = os.environ.get("KTASM_HISTORY") or str(
        Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "ktasm" / "history"
    )
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).touch()
        return FileHistory(path)
    except OSError:
        return InMemoryHistory()


def make_prompt(session: Session, history: History | None = None, **io) -> PromptSession:
    """The PromptSession; io may give input= and output= (tests pass a pipe and a dummy)."""
    return PromptSession(
        history=history if history is not None else default_history(),
        auto_suggest=AutoSuggestFromHistory(),
        lexer=PygmentsLexer(KtaLexer),
        completer=SessionCompleter(session),
        complete_while_typing=False,  # Tab completes; typing stays quiet
        validator=SessionValidator(session),
        validate_while_typing=False,  # checked on Enter: the error's column is marked then
        bottom_toolbar=session.toolbar,
        **io,
    )


def run_terminal(session: Session, prompt: PromptSession | None = None) -> None:
    """Read and run lines until .quit or Ctrl-D; Ctrl-C drops the line being typed."""
    prompt = prompt or make_prompt(session)
    session.out(f"ktasm repl: .help for commands, Tab completes, Ctrl-D leaves. core {session.core_text()}")
    while not session.finished:
        try:
            line = prompt.prompt(session.prompt())
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        session.execute(line)
