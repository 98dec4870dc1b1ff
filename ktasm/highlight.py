"""Syntax colour for .kta: a Pygments lexer whose mnemonics and directives come from the
instruction table and the assembler's directive list (one source of truth), used by
``ktasm programs show`` and the REPL."""

from __future__ import annotations

import re

from pygments.lexer import RegexLexer, bygroups, words
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text

from ktasm.consteval import FUNCTIONS
from vm import isa

# a number as the grammar reads it (ktasm/grammar.lark NUMBER): hex and binary first
NUMBER = r"0[xX][0-9a-fA-F]+|0[bB][01]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?"
OPERATOR = r"\.\.|==|!=|<=|>=|&&|\|\||[-+*/%=<>!]"
CONST_FUNCTIONS = (*FUNCTIONS, "defined")  # the functions of constant expressions


def _directives() -> tuple[str, ...]:
    from ktasm.assembler import DIRECTIVES

    return tuple("." + d for d in DIRECTIVES)


class KtaLexer(RegexLexer):
    name = "kT-RAM assembly"
    aliases = ["kta"]
    filenames = ["*.kta"]
    flags = re.IGNORECASE | re.MULTILINE

    tokens = {
        "root": [
            (r"[;#].*?$", Comment.Single),
            (r"^(\s*)([A-Za-z_]\w*)(:)", bygroups(Text, Name.Label, Punctuation)),
            (words(_directives(), suffix=r"\b"), Keyword.Namespace),
            (r"([A-Za-z_]\w*)(\s*)(=)(?!=)", bygroups(Name.Attribute, Text, Operator)),
            (words(CONST_FUNCTIONS, prefix=r"(?<![\w.])", suffix=r"(?=\s*\()"), Name.Function),
            (
                words(sorted(isa.OPCODES, key=len, reverse=True), prefix=r"(?<![\w.])", suffix=r"(?![\w.])"),
                Keyword,
            ),
            (r"\br(1[0-5]|[0-9])\b", Name.Variable),
            (r"\bL(\d+)\b|\bL(?=\[)", Name.Builtin),
            (r'"[^"\n]*"', String),
            (NUMBER, Number),
            (OPERATOR, Operator),
            (r"[(),\[\]]", Punctuation),
            (r"[A-Za-z_]\w*", Name),
            (r"\s+", Text),
        ],
    }


def highlight_terminal(source: str) -> str:
    """source with ANSI colours."""
    from pygments import highlight
    from pygments.formatters import TerminalFormatter

    return highlight(source, KtaLexer(), TerminalFormatter())
