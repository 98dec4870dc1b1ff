"""Text -> AST. Lark parses each line with positions; this module turns its trees into
``ktasm.ast`` nodes with spans and its exceptions into diagnostics (all of them: a bad
line does not stop the lines after it from being checked)."""

from __future__ import annotations

import math
import re
import sys
from functools import lru_cache
from importlib import resources
from typing import TypeAlias

import lark

from ktasm import ast
from ktasm.errors import Collector, Span, span_at

# What a terminal is called in messages (never __ANON_n).
TERMINAL_NAMES = {
    "NAME": "a name",
    "NUMBER": "a number",
    "STRING": "a quoted string",
    "DIRECTIVE": "a directive",
    "COMMA": "','",
    "LPAR": "'('",
    "RPAR": "')'",
    "COLON": "':'",
    "EQUAL": "'='",
    "DOTDOT": "'..'",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "PERCENT": "'%'",
    "COMPARE": "a comparison",
    "ANDAND": "'&&'",
    "OROR": "'||'",
    "BANG": "'!'",
    "LSQB": "'['",
    "RSQB": "']'",
    "$END": "end of line",
}


def _grammar() -> str:
    return resources.files("ktasm").joinpath("grammar.lark").read_text()


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    return lark.Lark(
        _grammar(), parser="lalr", start="line", propagate_positions=True, maybe_placeholders=True
    )


def parse_text(
    text: str, file: str, errors: Collector, first_line: int = 1, *, compact: bool = False
) -> list:
    """Statements of one source text (labels, directives, instructions) in order; its
    first line is numbered first_line (the REPL numbers each input line).

    compact (the assembler's own pipeline): the commonest instruction lines come out as
    ``Compact`` tuples, not ``ast.Instruction`` nodes (``materialize`` makes the node)."""
    out: list = []
    fast = _fast_line()
    whole = _compact_line() if compact else None
    read: dict[str, tuple | None] = {}  # a line seen before reads the same (most lines repeat)
    for number, line in enumerate(text.split("\n"), start=first_line):
        if whole is not None:
            parts = read.get(line, _UNREAD)
            if parts is _UNREAD:
                parts = read[line] = _compact_parts(whole(line))
            if parts is not None:
                label, label_col, label_end, mnemonic, texts, col = parts
                if label is not None:
                    out.append(ast.quick_label(label, span_at(file, number, label_col, label_end)))
                if mnemonic is not None:
                    out.append((mnemonic, texts, file, number, col, line))
                continue
        if not line.strip():
            continue
        if fast(line, file, number, out):
            continue
        parser = _parser()
        try:
            tree = parser.parse(line)
        except lark.exceptions.UnexpectedInput as exc:
            span, message, *notes = _describe(exc, line, file, number)
            errors.error(span, message, *notes)
            if notes != [label_hint(line[span.col - 1 : span.end_col - 1])]:
                continue
            try:  # a label without its colon: read on as if it had one (same columns), so its uses resolve
                assert span.end_col is not None
                tree = parser.parse(line[: span.end_col - 1] + ":" + line[span.end_col :])
            except lark.exceptions.UnexpectedInput:
                continue
        deep = _too_deep(tree)
        if deep is not None:
            errors.error(
                _span(file, number, deep),
                f"expression nested more than {MAX_EXPRESSION_DEPTH} levels deep",
                "split it with .const names",
            )
            continue
        label, statement = tree.children
        if label is not None:
            assert isinstance(label, lark.Tree)  # the label rule: NAME ":"
            token = label.children[0]
            out.append(ast.Label(str(token), _span(file, number, token)))
        if statement is not None:
            out.append(_Builder(file, number).statement(statement))
    return out


class _FastLine:
    """The commonest lines read without Lark (its LALR parse with tree building costs ~50x
    this): an optional label, then a mnemonic with operands that are each a string, or up to
    MAX_OPERATORS of + - * / % between atoms (a name, L[name or number] or a number, each
    maybe negated). The token patterns are the grammar's own terminals; a line it does not
    wholly recognise is left to Lark, which gives the same statements (the differential test
    in tests/language/test_fast_parse.py checks that) or the diagnostic."""

    MAX_OPERATORS = 8  # far below MAX_EXPRESSION_DEPTH, which Lark's path checks

    def __init__(self, parser: lark.Lark):
        term = {t.name: t.pattern.to_regexp() for t in parser.terminals}
        (blank,) = [term[n] for n in parser.ignore_tokens if n != "COMMENT"]
        name, number, comment = term["NAME"], term["NUMBER"], term["COMMENT"]
        ws = f"(?:{blank})?"
        head = re.compile(
            rf"{ws}(?:(?P<label>{name}){ws}:{ws})?"
            rf"(?:(?:(?P<mnemonic>{name})|(?P<directive>{term['DIRECTIVE']}))(?P<gap>{blank})?)?"
        )
        self.head = head.match
        self.head_groups = tuple(head.groupindex[k] for k in ("label", "mnemonic", "directive", "gap"))
        self.key = re.compile(rf"({name}){ws}={ws}").match  # a directive's key=
        self.blank = re.compile(blank).match
        self.tail = re.compile(rf"{ws}(?:{comment})?\Z").match
        # parse_text(compact=True): a line with no ':' has no label to look for
        self.labelled = _compact_pattern(term, blank).fullmatch
        self.unlabelled = _compact_pattern(term, blank, label=False).fullmatch
        # an atom, then maybe an operator or a comma after it
        atom = re.compile(
            rf"(?P<atom>(?:(?P<minus>-){ws})?(?:(?P<name>{name})"
            rf"(?:\[{ws}(?:(?P<iname>{name})|(?P<inumber>{number})){ws}\])?|(?P<number>{number}))"
            rf"|(?P<string>{term['STRING']}))(?:{ws}(?:(?P<op>[-+*/%])|(?P<comma>,)){ws})?"
        )
        self.atom = atom.match
        # group numbers (the terminals' own groups shift them), 1-based as start() takes
        self.groups = tuple(
            atom.groupindex[k]
            for k in ("atom", "minus", "name", "iname", "inumber", "number", "string", "op", "comma")
        )

    def compact(self, line: str) -> re.Match | None:
        """The match of a whole compact line (parse_text(compact=True)), or None."""
        return (self.labelled if ":" in line else self.unlabelled)(line)

    def __call__(self, line: str, file: str, number: int, out: list) -> bool:
        """Append line's statements to out and say True, or say False and append nothing."""
        head = self.head(line)
        assert head is not None  # every part of it is optional
        pos = head.end()
        at_label, at_mnemonic, at_directive, at_gap = self.head_groups  # by number: names cost more
        g = head.groups()
        label, mnemonic, directive, gap = (
            g[at_label - 1],
            g[at_mnemonic - 1],
            g[at_directive - 1],
            g[at_gap - 1],
        )
        operands: list = []
        if directive is not None:
            items = self._items(line, pos, file, number) if gap is not None else ([], pos)
            if items is None:
                return False
            operands, pos = items
        elif gap is not None:
            more = True
            while more:
                read = self._operand(line, pos, file, number)
                if read is None:
                    if operands:
                        return False
                    break  # no operand at all: the tail may still be a comment
                node, pos, more = read
                operands.append(node)
        if self.tail(line, pos) is None:
            return False
        if label is not None:
            out.append(
                ast.quick_label(
                    label, span_at(file, number, head.start(at_label) + 1, head.end(at_label) + 1)
                )
            )
        if mnemonic is not None:
            start = head.start(at_mnemonic) + 1
            end = operands[-1].span.end_col if operands else start + len(mnemonic)
            out.append(ast.quick_instruction(mnemonic, tuple(operands), span_at(file, number, start, end)))
        elif directive is not None:
            start = head.start(at_directive) + 1
            end = operands[-1].span.end_col if operands else start + len(directive)
            out.append(
                ast.Directive(directive[1:].lower(), tuple(operands), span_at(file, number, start, end))
            )
        return True

    def _items(self, line: str, pos: int, file: str, number: int) -> tuple[list, int] | None:
        """A directive's items from pos (key=value or a value, each after a comma or a
        blank) and where they end; None if not read."""
        items: list[ast.DirItem] = []
        while True:
            key = self.key(line, pos)
            read = self._operand(line, key.end() if key else pos, file, number)
            if read is None:
                return None if items or key else (items, pos)  # none at all: maybe a comment
            value, pos, more = read
            if key is None:
                items.append(ast.DirItem(None, value, value.span))
            else:
                span = span_at(file, number, key.start() + 1, value.span.end_col)
                items.append(ast.DirItem(key[1], value, span))
            if more:
                continue
            if self.tail(line, pos) is not None:
                return items, pos
            blank = self.blank(line, pos)
            if blank is None:
                return None
            pos = blank.end()

    def _operand(self, line: str, pos: int, file: str, number: int) -> tuple[ast.Expr, int, bool] | None:
        """The operand at pos, where the next one starts (or this one ends) and whether a
        comma said there is one; None if not read."""
        m = self.atom(line, pos)
        if m is None:
            return None
        g = m.groups()
        op_at, comma_at = self.groups[7] - 1, self.groups[8] - 1
        if g[op_at] is None:  # one atom: the commonest operand
            return self._atom(m, g, file, number), m.end(), g[comma_at] is not None
        atoms: list[ast.Expr] = [self._atom(m, g, file, number)]
        ops: list[str] = []
        while True:
            if isinstance(atoms[-1], ast.String) or len(ops) == self.MAX_OPERATORS:
                return None  # a string is no expression; a long chain is Lark's to check
            ops.append(g[op_at])
            m = self.atom(line, m.end())
            if m is None:
                return None
            g = m.groups()
            atoms.append(self._atom(m, g, file, number))
            if g[op_at] is None:  # the operand ends
                break
        pos, more = m.end(), g[comma_at] is not None
        if isinstance(atoms[-1], ast.String):
            return None
        # * / % bind tighter than + -, each left to right (the grammar's product and sum)
        terms, term_ops = [atoms[0]], list[str]()
        for op, right in zip(ops, atoms[1:], strict=True):
            if op in "*/%":
                terms.append(_binary(op, terms.pop(), right))
            else:
                terms.append(right)
                term_ops.append(op)
        node = terms[0]
        for op, right in zip(term_ops, terms[1:], strict=True):
            node = _binary(op, node, right)
        return node, pos, more

    def _atom(self, m: re.Match, g: tuple, file: str, number: int) -> ast.Expr:
        atom, minus, name, iname, inumber, value, string, _, _ = self.groups
        end = m.end(atom) + 1
        if (
            g[name - 1] is not None
            and g[iname - 1] is None
            and g[inumber - 1] is None
            and g[minus - 1] is None
        ):
            return ast.quick_name(g[name - 1], span_at(file, number, m.start(name) + 1, end))  # the commonest
        if g[string - 1] is not None:
            return ast.quick_string(g[string - 1][1:-1], span_at(file, number, m.start(atom) + 1, end))
        key = name if g[name - 1] is not None else value
        text = g[key - 1]
        span = span_at(file, number, m.start(key) + 1, end)
        node: ast.Expr
        if key == value:
            node = ast.quick_number(_number_value(text), span, text)
        elif g[iname - 1] is None and g[inumber - 1] is None:
            node = ast.quick_name(text, span)
        else:
            base = ast.quick_name(text, span_at(file, number, m.start(key) + 1, m.end(key) + 1))
            inner = iname if g[iname - 1] is not None else inumber
            index_span = span_at(file, number, m.start(inner) + 1, m.end(inner) + 1)
            index: ast.Expr = (
                ast.quick_name(g[inner - 1], index_span)
                if inner == iname
                else ast.quick_number(_number_value(g[inner - 1]), index_span, g[inner - 1])
            )
            node = ast.Indexed(base, index, span)
        if g[minus - 1] is not None:
            return ast.Unary("-", node, span_at(file, number, m.start(atom) + 1, end))
        return node


# A compact instruction line (parse_text(compact=True)): (mnemonic, operand texts as
# written, file, line number, column of the mnemonic, the source line). The assembler
# encodes it from the texts when every operand text is one it has encoded before, and
# makes the node (``materialize``) for anything else, errors included.
Compact: TypeAlias = tuple[str, tuple[str, ...], str, int, int, str | tuple]


def _compact_pattern(term: dict[str, str], blank: str, label: bool = True) -> re.Pattern:
    """One regex for a whole line of the shape _FastLine reads as a label and an
    instruction: [label:] [mnemonic [up to 4 operands]] [comment], each operand a quoted
    string or up to MAX_OPERATORS of + - * / % between atoms; term: the grammar's terminals."""
    # the terminals' own groups made non-capturing: the line's groups are its 6 parts
    term = {k: re.sub(r"(?<!\\)\((?!\?)", "(?:", v) for k, v in term.items()}
    name, number = term["NAME"], term["NUMBER"]
    # Python 3.11 on: blanks and atoms never given back once read (no other split of a line
    # could match: an atom is followed by a blank, an operator, a comma or the end), which
    # saves a fifth of the time
    atomic = sys.version_info >= (3, 11)
    ws = f"(?:{blank})?+" if atomic else f"(?:{blank})?"
    atom = rf"(?:-{ws})?(?:{name}(?:\[{ws}(?:{name}|{number}){ws}\])?|(?:{number}))"
    atom = f"(?>{atom})" if atomic else atom
    name = f"(?>{name})" if atomic else name
    chain = rf"{atom}(?:{ws}[-+*/%]{ws}{atom}){{0,{_FastLine.MAX_OPERATORS}}}"
    operand = rf"({term['STRING']}|{chain})"
    rest = ""
    for _ in range(3):  # no instruction takes more than 4 (a longer line goes to _FastLine)
        rest = rf"(?:{ws},{ws}{operand}{rest})?"
    operands = rf"(?:{blank}{operand}{rest})?"  # the first after a blank, the rest after commas
    # label=False, for a line without a ':': the label group kept (numbers unchanged), never tried
    head = rf"(?:({name}){ws}:{ws})?" if label else "(?:(?!)())?"
    pattern = re.compile(rf"{ws}{head}(?:({name}){operands})?{ws}(?:{term['COMMENT']})?")
    assert pattern.groups == 6, pattern.pattern  # label, mnemonic, 4 operands
    return pattern


_UNREAD = ()


def _compact_parts(m: re.Match | None) -> tuple | None:
    """(label, its column and end column, mnemonic, operand texts, its column) of a
    compact line's match (a part left out None); None for no match."""
    if m is None:
        return None
    g, last = m.groups(), m.lastindex or 0  # the operand groups nest: the ones left out are last
    label = g[0]
    return (
        label,
        0 if label is None else m.start(1) + 1,
        0 if label is None else m.end(1) + 1,
        g[1],
        g[2:last] if last > 2 else (),
        m.start(2) + 1,
    )


def _compact_line():
    return _fast_line().compact


def materialize(line: Compact) -> ast.Instruction:
    """The ast.Instruction of a compact line, as parse_text makes it without compact (or
    as ktasm.expand makes it, for a line from a macro body: its last item says how)."""
    source = line[5]
    if not isinstance(source, str):
        make, *args = source
        return make(*args)
    out: list = []
    ok = _fast_line()(source, line[2], line[3], out)
    assert ok and isinstance(out[-1], ast.Instruction), line  # the compact regex reads less than _FastLine
    return out[-1]


def operand_texts(stmt: ast.Instruction) -> tuple[str, ...] | None:
    """An instruction's operands as a compact line's texts (names and numbers as
    written); None if some operand is neither."""
    texts = []
    for node in stmt.operands:
        if type(node) is ast.Name:
            texts.append(node.id)
        elif type(node) is ast.Number and node.text is not None:
            texts.append(node.text)
        else:
            return None
    return tuple(texts)


def _binary(op: str, left: ast.Expr, right: ast.Expr) -> ast.Binary:
    s = left.span
    return ast.Binary(op, left, right, span_at(s.file, s.line, s.col, right.span.end_col))


@lru_cache(maxsize=1)
def _fast_line() -> _FastLine:
    # the grammar's terminals without its LALR tables (a third of the time to build): a
    # program whose every line takes the fast path never builds them
    return _FastLine(lark.Lark(_grammar(), parser=None, lexer="basic"))


_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")

MAX_EXPRESSION_DEPTH = 100  # the AST is walked recursively: deeper would exhaust Python's stack


def _too_deep(tree: lark.Tree) -> lark.Tree | None:
    """The first node nested deeper than MAX_EXPRESSION_DEPTH (walked without recursion)."""
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            return node
        stack.extend((kid, depth + 1) for kid in node.children if isinstance(kid, lark.Tree))
    return None


_TWO_WORDS = re.compile(r"\s*([A-Za-z_][\w.]*)\s+([A-Za-z_][\w.]*)(?=\s|$|[;#])")


def _missing_colon(line: str, file: str, number: int):
    """(span, message, note) when a line starts with a word that is no instruction followed
    by one that is: a label written without its colon."""
    from vm import isa

    m = _TWO_WORDS.match(line)
    if m is None or isa.lookup(m.group(1)) is not None or isa.lookup(m.group(2)) is None:
        return None
    span = Span(file, number, m.start(1) + 1, m.end(1) + 1)
    return span, f"unknown instruction {m.group(1)!r}", label_hint(m.group(1))


def label_hint(word: str) -> str:
    """The note for a word that may be a label written without its colon."""
    return f"a label needs a colon: '{word}:'"


def _describe(exc: lark.exceptions.UnexpectedInput, line: str, file: str, number: int):
    col = getattr(exc, "column", None)
    if not isinstance(col, int) or col < 1:
        col = len(line.rstrip()) + 1
    if isinstance(exc, lark.exceptions.UnexpectedCharacters):
        char = line[col - 1] if col - 1 < len(line) else ""
        return Span(file, number, col, col + 1), f"unexpected character {char!r}"
    token = getattr(exc, "token", None)
    label = _missing_colon(line, file, number)
    if label is not None:
        return label
    if token is not None and token.type == "NAME" and token.column > 1 and line[token.column - 2].isdigit():
        start = token.column - 2
        while start > 0 and (line[start - 1].isalnum() or line[start - 1] == "."):
            start -= 1
        word = line[start : token.end_column - 1]
        return (
            Span(file, number, start + 1, token.end_column),
            f"bad number {word!r}",
            "numbers: 12, 1.5e-3, 0x1F (hexadecimal), 0b101 (binary)",
        )
    raw_expected = set(getattr(exc, "expected", ()) or ())
    if token is not None and "COMMA" in raw_expected and token.type in ("NAME", "NUMBER", "STRING", "LPAR"):
        return Span(file, number, token.column, token.end_column), f"expected ',' before {str(token)!r}"
    operators = {"PLUS", "MINUS", "STAR", "SLASH", "PERCENT", "COMPARE", "ANDAND", "OROR"}
    if raw_expected - operators:  # an operator could go on, but is never what is missing
        raw_expected -= operators
    expected = sorted({TERMINAL_NAMES.get(t, t) for t in raw_expected if not t.startswith("__")})
    hint = f"; expected {' or '.join(expected)}" if expected and len(expected) <= 6 else ""
    if token is None or token.type == "$END":
        end = len(line.split(";")[0].split("#")[0].rstrip()) + 1
        return Span(file, number, end, end + 1), f"unexpected end of line{hint}"
    return (Span(file, number, token.column, token.end_column), f"unexpected {str(token)!r}{hint}")


def _number_value(text: str) -> float:
    """A NUMBER token's value: decimal, or 0x hex / 0b binary integers (inf past float's range,
    which the assembler refuses as not finite)."""
    if text[:2].lower() in ("0x", "0b"):
        try:
            return float(int(text, 0))
        except OverflowError:
            return math.inf
    return float(text)


def _span(file: str, number: int, node: lark.Token | lark.Tree) -> Span:
    if isinstance(node, lark.Token):
        assert node.column is not None  # tokens from the lexer always have positions
        return Span(file, number, node.column, node.end_column)
    meta = node.meta
    return Span(file, number, getattr(meta, "column", 1), getattr(meta, "end_column", None))


class _Builder:
    """Lark tree of one line -> AST nodes."""

    def __init__(self, file: str, number: int):
        self.file = file
        self.number = number

    def span(self, node) -> Span:
        return _span(self.file, self.number, node)

    def statement(self, tree):
        if tree.data == "directive":
            token, *items = tree.children
            items = tuple(self.dir_item(i) for i in items if i is not None)
            return ast.Directive(str(token)[1:].lower(), items, self.span(tree))
        token, *operands = tree.children
        return ast.Instruction(
            str(token), tuple(self.expr(o) for o in operands if o is not None), self.span(tree)
        )

    def dir_item(self, tree):
        if tree.data == "keyed":
            key, value = tree.children
            return ast.DirItem(str(key), self.expr(value), self.span(tree))
        return ast.DirItem(None, self.expr(tree.children[0]), self.span(tree))

    def logic(self, node) -> ast.Expr:
        """A flat chain a OP b OP c ... of comparisons, && and || grouped by precedence:
        comparisons bind tightest, then &&, then ||, each left to right."""
        operands: list = []
        ops: list[str] = []
        while isinstance(node, lark.Tree) and node.data == "logic":
            left, op, right = node.children
            operands.append(self.expr(right))
            ops.append(str(op))
            node = left
        operands.append(self.expr(node))
        operands.reverse()
        ops.reverse()
        for level in (_COMPARISONS, ("&&",), ("||",)):
            grouped, grouped_ops = [operands[0]], []
            for op, right in zip(ops, operands[1:], strict=True):
                if op in level:
                    left = grouped.pop()
                    span = Span(self.file, self.number, left.span.col, right.span.end_col)
                    grouped.append(ast.Binary(op, left, right, span))
                else:
                    grouped.append(right)
                    grouped_ops.append(op)
            operands, ops = grouped, grouped_ops
        return operands[0]

    def expr(self, node):
        span = self.span(node)
        if isinstance(node, lark.Token):  # STRING
            return ast.String(str(node)[1:-1], span)
        kind, kids = node.data, node.children
        if kind == "number":
            return ast.Number(_number_value(str(kids[0])), span, str(kids[0]))
        if kind == "name":
            return ast.Name(str(kids[0]), span)
        if kind == "indexed":
            return ast.Indexed(ast.Name(str(kids[0]), self.span(kids[0])), self.expr(kids[1]), span)
        if kind == "negate":
            return ast.Unary("-", self.expr(kids[1]), span)
        if kind == "logical_not":
            return ast.Unary("!", self.expr(kids[1]), span)
        if kind == "call":
            args = tuple(self.expr(k) for k in kids[1:] if k is not None)
            return ast.Call(ast.Name(str(kids[0]), self.span(kids[0])), args, span)
        if kind == "unary":  # unary plus
            return self.expr(kids[1])
        if kind == "binary":
            return ast.Binary(str(kids[1]), self.expr(kids[0]), self.expr(kids[2]), span)
        if kind == "paren":
            return self.expr(kids[0])
        if kind == "logic":
            return self.logic(node)
        if kind == "aat_tuple":
            return ast.AatTuple(tuple(self.expr(k) for k in kids), span)
        if kind == "reg_range":
            return ast.RegRange(
                ast.Name(str(kids[0]), self.span(kids[0])), ast.Name(str(kids[2]), self.span(kids[2])), span
            )
        raise AssertionError(f"unhandled grammar rule {kind}")  # pragma: no cover
