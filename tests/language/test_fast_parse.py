"""The parser's fast path (ktasm.parser._FastLine) against Lark alone: random lines, and
random programs, give the same statements (spans, number texts and origins included) and
the same diagnostics, and the fast path reads the common lines itself."""

import dataclasses
import random

import pytest

from ktasm import assembler, parser
from ktasm.assembler import assemble_text
from ktasm.errors import Collector, KtasmError

# pieces of lines: the shapes the fast path reads, and the near misses it must leave to Lark
PIECES = [
    "/",
    "%",
    " - ",
    "* -",
    "-x",
    "- L[2]",
    "K",
    "+ 1",
    "FF.RH",
    "RL",
    "ADD",
    "MOV",
    "OUT",
    "HALT",
    "JNE",
    "LOOP",
    "ENDLOOP",
    "TEACH",
    "start",
    "r0",
    "r15",
    "r16",
    "L3",
    "L",
    "a",
    "b.c",
    "_",
    "x1",
    "e",
    "e5",
    "1",
    "0",
    "12",
    "1.5",
    "1.",
    ".5",
    "1e3",
    "1.5e-3",
    "1e",
    "0x1F",
    "0x",
    "0b101",
    "0b2",
    "12abc",
    "1.2.3",
    "-",
    "+",
    "*",
    "(",
    ")",
    "[",
    "]",
    "L[",
    "L[3]",
    "L[r3]",
    "L [3]",
    "L[ 3 ]",
    "L[-1]",
    "..",
    '"name"',
    '"a b"',
    '"',
    ",",
    ", ",
    " , ",
    ":",
    ": ",
    "::",
    "=",
    ".const",
    ".aat",
    ";c",
    "# c",
    "; x, y",
    " ",
    "  ",
    "\t",
    "\f",
    "\r",
    "\v",
    "\u00a0",
    "\u0663",
    "!",
    "==",
    "&&",
]


def _lark_only(monkeypatch) -> None:
    monkeypatch.setattr(parser, "_fast_line", lambda: lambda *args: False)
    monkeypatch.setattr(parser, "_compact_line", lambda: lambda line: None)
    # and every instruction through the assembler's full path, none from remembered texts
    monkeypatch.setattr(assembler._Assembler, "encode_texts", lambda *args: False)


def _shape(node):
    """node as plain data with every field, spans and texts included (equality skips them)."""
    if dataclasses.is_dataclass(node):
        fields = dataclasses.fields(node)
        return (type(node).__name__, *(_shape(getattr(node, f.name)) for f in fields))
    if isinstance(node, (tuple, list)):
        return tuple(_shape(n) for n in node)
    return node


def _parse(text: str):
    errors = Collector()
    statements = parser.parse_text(text, "t.kta", errors)
    return _shape(statements), _shape(errors.diagnostics)


def _random_line(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) + rng.choice(["", " ", " ", ", "]) for _ in range(rng.randrange(1, 9)))


ATOMS = ["r1", "L2", "L[r3]", "L[4]", "K", "b.c", "7", "0x1F", "1.5e-3", ".5", "-2", "-K", "- L[1]", '"s"']


def _shaped_line(rng: random.Random) -> str:
    """A line of the shape the fast path reads, then maybe one piece put in or one character cut."""
    space = lambda: rng.choice(["", " ", " ", "  ", "\t"])  # noqa: E731
    operands = []
    for _ in range(rng.randrange(5)):
        parts = [rng.choice(ATOMS)]
        for _ in range(rng.choice([0, 0, 1, 2, 3, 9])):
            parts += [space() + rng.choice("+-*/%") + space(), rng.choice(ATOMS)]
        operands.append("".join(parts))
    heads = ["ADD", "FF.RH", "OUT", "MOV", ".const", ".core", ".macro", ".vec", ".endm", ".Data", ".if"]
    line = rng.choice(["", "top: ", "x:", "  "]) + rng.choice(heads)
    if line.endswith(tuple(heads[4:])):  # a directive: keyed items, and items after a blank
        operands = [rng.choice(["", "", "k=", "N = ", "a.b =", "n= "]) + o for o in operands]
        gaps = [rng.choice([", ", " ", "  ", ","]) for _ in operands]
        line += "".join(g + o for g, o in zip([" "] + gaps, operands, strict=False))
    else:
        line += " " + (space() + "," + space()).join(operands) if operands else ""
    line += rng.choice(["", " ; c", "#c"])
    cut = rng.randrange(len(line) + 1)
    mutation = rng.randrange(3)
    if mutation == 1:
        line = line[:cut] + rng.choice(PIECES) + line[cut:]
    elif mutation == 2:
        line = line[:cut] + line[cut + 1 :]
    return line


def test_random_lines_parse_the_same_with_and_without_the_fast_path(monkeypatch):
    rng = random.Random(23)
    lines = [_random_line(rng) for _ in range(3000)] + [_shaped_line(rng) for _ in range(3000)]
    fast = [_parse(line) for line in lines]
    taken = sum(parser._fast_line()(line, "t.kta", 1, []) for line in lines)
    _lark_only(monkeypatch)
    slow = [_parse(line) for line in lines]
    for line, a, b in zip(lines, fast, slow, strict=True):
        assert a == b, repr(line)
    assert 1500 < taken < 5000  # both paths were exercised


def _program(rng: random.Random, n: int, bad: bool) -> str:
    out = [".core cols=16 spaces=2 lanes=8", ".aat a = (0, 1)", ".const K = 2"]
    out += [".macro TEACH lane, x", "  FF r0, lane, x", "  RH lane, x", ".endm"]
    shapes = [
        "FF.RH r{r}, L{l}, a ; teach",
        "RL L{l}, a",
        "ADD r{r}, r{r}, {n}",
        "MOV r{r}, -{n}",
        "top{k}: SUB r3, r3, 1\nJNE r3, 0, top{k}",
        "LOOP r{r}\n  RL L{l}, a\nENDLOOP",
        "TEACH L{l}, a",
        "FF r1, L[r{r}], a, 0.5",
        'OUT r{r}, "o{l}"',
        "MUL r1, r2, K * {n}",
    ]
    wrong = [
        "JMP nowhere{k}",
        "top{j}: OUT r1",
        "LOOP r1",
        "ENDLOOP",
        "FF r1, L{l}, b",
        "ADD r1, r2",
        "BOGUS r1",
        "start HALT",
        "12abc r1",
        "FF r1 L1, a",
    ]
    lines = []
    for k in range(n):
        shape = rng.choice(shapes + wrong if bad else shapes)
        lines.append(
            shape.format(
                r=rng.randrange(18 if bad else 16),
                l=rng.randrange(10 if bad else 8),
                n=rng.randrange(40),
                k=k,
                j=k % 3,
            )
        )
    return "\n".join(out + lines)


def _assemble(text: str):
    try:
        program = assemble_text(text, "p.kta")
    except KtasmError as exc:
        return None, str(exc)
    return program.code.tobytes() + program.lines.tobytes() + program.constants.tobytes(), ""


@pytest.mark.parametrize("seed", range(6))
def test_random_programs_give_the_same_bytecode_and_errors_both_ways(monkeypatch, seed):
    rng = random.Random(seed)
    programs = [_program(rng, rng.randrange(1, 60), bad=k % 2 == 1) for k in range(16)]
    fast = [_assemble(text) for text in programs]
    _lark_only(monkeypatch)
    slow = [_assemble(text) for text in programs]
    assert fast == slow
    assert any(code is not None for code, _ in fast) and any(text for _, text in fast)


def test_the_common_lines_take_the_fast_path():
    fast = parser._fast_line()
    for line in [
        "FF.RH r1, L3, a ; c",
        "MUL r1, -r2, K * 2 - 1 % N",
        "top: SUB r3, r3, 1",
        "  RL L[r2], a",
        'OUT r0, "x"',
        "HALT",
        "; c",
    ]:
        assert fast(line, "t.kta", 1, [])
    for line in [
        ".aat a = (0, 1)",
        ".if N > 1",
        "MUL r1, r2, (K * 2)",
        "ADD r1,",
        "12abc r1",
        "L [3]",
        "SEQ r1, r2 == 1",
    ]:
        assert not fast(line, "t.kta", 1, [])


def test_compact_lines_make_the_nodes_parse_text_makes(monkeypatch):
    rng = random.Random(5)
    lines = [_shaped_line(rng) for _ in range(3000)] + [_random_line(rng) for _ in range(1000)]
    compact = 0
    for line in lines:
        errors = Collector()
        statements = parser.parse_text(line, "t.kta", errors, first_line=7, compact=True)
        compact += sum(type(s) is tuple for s in statements)
        made = [parser.materialize(s) if type(s) is tuple else s for s in statements]
        assert (_shape(made), _shape(errors.diagnostics)) == _parse_at(line, 7), repr(line)
        for s in statements:
            if type(s) is tuple:  # what the assembler reads of it without the node
                node = parser.materialize(s)
                assert (s[0], s[2], s[3], s[4]) == (
                    node.mnemonic,
                    node.span.file,
                    node.span.line,
                    node.span.col,
                )
                assert parser.operand_texts(node) in (None, s[1])
                assert len(s[1]) == len(node.operands)
    assert compact > 400  # both paths exercised


def _parse_at(text: str, first_line: int):
    errors = Collector()
    statements = parser.parse_text(text, "t.kta", errors, first_line=first_line)
    return _shape(statements), _shape(errors.diagnostics)


MACROS = """.core cols=16 spaces=2 lanes=8
.aat a = (0, 1)
.aat b = (2, _)
.const K = 2
.macro INNER lane, x
  FF r1, lane, x
loop: SUB r2, r2, 1
  JNE r2, 0, loop
.endm
.macro OUTER lane, x, n
  MOV r2, n
  INNER lane, x
  RH L[K], x
  FF r4, lane, x, 0.5
.endm
.macro BAD lane
  FF r1, lane, nowhere
  MOV r1, nowhere + 1
.endm
.macro ZERO
  HALT
.endm
"""
CALLS = ["OUTER L{l}, a, {n}", "OUTER L{l}, b, -{n}", "INNER L[r{r}], a", "OUTER L[{n}], a, K*{n}", "ZERO"]
BAD_CALLS = [
    "INNER L{l}, {x}",
    "BAD L{l}",
    "ZERO r1",
    "INNER L1",
    "OUTER L{l}, a, {n}, 3",
    "top{k}: INNER L{l}, b",
]


@pytest.mark.parametrize("seed", range(3))
def test_macro_programs_give_the_same_bytecode_and_errors_both_ways(monkeypatch, seed):
    """Macro bodies expanded as compact lines (their argument texts put in) against nodes."""
    rng = random.Random(seed)
    programs = []
    for k in range(24):
        good = k % 2 == 0
        calls = [
            rng.choice(CALLS if good else CALLS + BAD_CALLS).format(
                l=rng.randrange(8 if good else 10),
                n=rng.randrange(5),
                r=rng.randrange(16 if good else 18),
                x=rng.choice(["c", "1", "(0, 1)", "b"]),
                k=k,
            )
            for _ in range(rng.randrange(1, 20))
        ]
        programs.append(MACROS + "\n".join(calls) + "\nHALT\n")
    fast = [_assemble(text) for text in programs]
    _lark_only(monkeypatch)
    slow = [_assemble(text) for text in programs]
    assert fast == slow
    assert sum(code is not None for code, _ in fast) >= 12 and sum(bool(text) for _, text in fast) >= 6


REFUSED = [  # names whose declaration was refused: their uses are refused without a message
    ".const BAD = nowhere + 1\nMOV r1, BAD\nMOV r1, BAD\nADD r2, r1, BAD\nMOV r3, 1\nADD r2, r1, BAD",
    ".aat a = (0, 1)\n.const K = 1 / 0\nFF r1, L[K], a\nFF r1, L[K], a\nFF r1, L1, a, K\nFF r1, L1, a, 2",
    '.vec v n=0\nVFILL v, 1\nVFILL v, 1\nVOUT v, "x"\nVOUT v, "x"\nOUT r1, "x"\nHALT',
    ".aat a = (0, 1)\nLOOP r1\nRL L1, a\nRL L1, a\nENDLOOP\nENDLOOP\nLOOP 3\nRL L1, a",
]


@pytest.mark.parametrize("text", REFUSED)
def test_refused_names_and_loops_give_the_same_errors_both_ways(monkeypatch, text):
    text = ".core cols=16 spaces=2 lanes=4\n" + text
    fast = _assemble(text)
    _lark_only(monkeypatch)
    assert fast == _assemble(text)
    assert fast[0] is None  # each has an error
