"""``ktasm repl``: drive a live core one line at a time.

``engine`` holds the session (assembling each line with the real assembler and running it
on a ``vm.Machine``), the dot-commands and completion; it never imports prompt-toolkit, so
``ktasm repl -e LINE`` and piped input use it alone. ``terminal`` is the prompt-toolkit
front end: completion, highlighting, history, a validator and the bottom toolbar.
"""
