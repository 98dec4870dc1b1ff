"""``ktasm repl``: drive a live core one line at a time.

``engine`` holds ``Session``, the orchestrator: it routes each input line to a dot-command
or to the builder and carries out the result. Under it, none importing prompt-toolkit (so
``ktasm repl -e LINE`` and piped input use them alone):

- ``state``: ``SessionState``, everything ``.save`` writes and ``.restore`` swaps in, and
  the .save file format;
- ``builder``: a typed line (or a loaded file) to the program it gives, as a plan; it
  prints nothing and changes nothing;
- ``stepping``: instructions run one at a time on the step path, with what each did;
- ``format``: the text printed (sparklines, pair tables, instruction effects, toolbar);
- ``complete``: Tab completion, first word then argument kind;
- ``commands``: the dot-commands, one module per family, in the ``@command`` registry.

``terminal`` is the prompt-toolkit front end: completion, highlighting, history, a
validator and the bottom toolbar.
"""
