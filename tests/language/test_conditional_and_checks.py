"""Conditional assembly (.if/.elif/.else/.endif), -D definitions, hex and binary literals,
the functions of constant expressions, the static checks of constant operands (each with
its caret column) and the diagnostics for a label without its colon, a missing comma and
a bad declaration's uses."""

from __future__ import annotations

import math

import pytest

from ktasm.assembler import assemble_file, assemble_text
from ktasm.errors import KtasmError
from vm import isa
from vm.machine import Machine


def outputs(src: str, **kw) -> list[float]:
    result = Machine(assemble_text(src, "c.kta", **kw)).run()
    assert result.fault is None, result.fault
    return result.outputs.tolist()


def errors(src: str, **kw) -> list:
    with pytest.raises(KtasmError) as info:
        assemble_text(src, "c.kta", **kw)
    return info.value.diagnostics


def one_error(src: str, **kw):
    found = errors(src, **kw)
    assert len(found) == 1, [d.format() for d in found]
    return found[0]


# ---------------------------------------------------------------- .if
BRANCHES = """
.const MODE = {mode}
.if MODE == 1
    OUT 1
.elif MODE == 2
    OUT 2
.  placeholder
.else
    OUT 3
.endif
    OUT 9
""".replace(".  placeholder\n", "")


@pytest.mark.parametrize("mode, kept", [(1, 1), (2, 2), (3, 3), (0, 3)])
def test_if_elif_else_keeps_one_branch(mode, kept):
    assert outputs(BRANCHES.format(mode=mode)) == [kept, 9]


def test_if_blocks_nest_and_an_inner_block_of_a_dropped_branch_is_not_evaluated():
    src = """
    .const A = 1
    .const B = 0
    .if A
        .if B
            OUT 11
        .else
            OUT 12
            .if A && !B
                OUT 13
            .endif
        .endif
    .else
        .if nowhere_defined > 1     ; never evaluated: its branch is dropped
            OUT 14
        .endif
    .endif
    """
    assert outputs(src) == [12, 13]


def test_if_sees_consts_above_it_and_drops_labels_and_declarations():
    src = """
    .if 1
        .const N = 4
    .else
        .const N = 40
    skipped:
        .aat y = 0
    .endif
    .if N == 4
        OUT N
    .endif
    """
    program = assemble_text(src)
    assert Machine(program).run().outputs.tolist() == [4]
    assert "skipped" not in program.labels and program.aat_names == []


def test_if_inside_a_macro_sees_its_arguments():
    src = """
    .macro PUT k
    .if k > 2
        OUT k * 10
    .else
        OUT k
    .endif
    .endm
        PUT 1
        PUT 3
    """
    assert outputs(src) == [1, 30]


def test_if_around_an_include_skips_the_missing_file(tmp_path):
    (tmp_path / "lib.kta").write_text(".const K = 7\n")
    (tmp_path / "main.kta").write_text(
        '.if 0\n.include "missing.kta"\n.else\n.include "lib.kta"\n.endif\nOUT K\n'
    )
    assert Machine(assemble_file(tmp_path / "main.kta")).run().outputs.tolist() == [7]


@pytest.mark.parametrize(
    "src, line, col, message",
    [
        (".if 1\nOUT 1\n", 1, 1, ".if without a matching .endif"),
        ("OUT 1\n.endif\n", 2, 1, ".endif without an .if"),
        (".else\n", 1, 1, ".else without an .if"),
        (".elif 1\n", 1, 1, ".elif without an .if"),
        (".if 1\n.else\n.elif 1\n.endif\n", 3, 1, ".elif after .else"),
        (".if 1\n.else\n.else\n.endif\n", 3, 1, ".else after .else"),
        (".if r1 > 0\n.endif\n", 1, 5, "register r1 cannot be used in a constant expression"),
        (".if nope\n.endif\n", 1, 5, "unknown name 'nope'"),
        (".if\n.endif\n", 1, 1, ".if expects one constant expression"),
        (".if 1, 2\n.endif\n", 1, 1, ".if expects one constant expression"),
        (".if 1\n.endif 3\n", 2, 8, ".endif takes nothing after it"),
    ],
)
def test_if_errors_are_positioned(src, line, col, message):
    d = one_error(src)
    assert (d.span.line, d.span.col) == (line, col), d.format()
    assert message in d.message


def test_if_errors_inside_an_included_file_close_there(tmp_path):
    (tmp_path / "open.kta").write_text(".if 1\n.const K = 1\n")
    (tmp_path / "main.kta").write_text('.include "open.kta"\n.endif\nOUT K\n')
    with pytest.raises(KtasmError) as info:
        assemble_file(tmp_path / "main.kta")
    messages = sorted(d.message for d in info.value.diagnostics)
    assert messages == [".endif without an .if", ".if without a matching .endif"]


# ---------------------------------------------------------------- -D
def test_defines_override_and_define_constants():
    src = ".const N = 3\n.if defined(FAST)\nOUT 100\n.endif\nOUT N\nOUT N * 2\n"
    assert outputs(src) == [3, 6]
    assert outputs(src, defines={"N": 5}) == [5, 10]
    assert outputs(src, defines={"FAST": 1, "N": 0.5}) == [100, 0.5, 1.0]


def test_a_define_may_replace_a_const_that_would_not_assemble():
    assert outputs(".const N = nope + 1\nOUT N\n", defines={"N": 2}) == [2]


@pytest.mark.parametrize(
    "defines, message",
    [
        ({"N": "abc"}, "expected a finite number"),
        ({"N": math.nan}, "expected a finite number"),
        ({"N": True}, "expected a finite number"),
        ({"1N": 1}, "a constant's name"),
        ({"r3": 1}, "reserved"),
        ({"L2": 1}, "reserved"),
    ],
)
def test_bad_defines_are_refused(defines, message):
    with pytest.raises(ValueError, match=message):
        assemble_text("OUT 1\n", defines=defines)


def test_a_define_that_collides_with_a_label_is_an_error_at_the_label():
    d = one_error("N: OUT 1\n", defines={"N": 1})
    assert (d.span.line, d.span.col) == (1, 1) and "already defined as a const" in d.message


# ---------------------------------------------------------------- literals and functions
def test_hex_and_binary_literals():
    assert outputs("OUT 0x1F\nOUT 0b101\nOUT 0XFF + 0B1\nOUT -0x10\n") == [31, 5, 256, -16]
    program = assemble_text(".core seed=0xFFFFFFFFFFFFFFF\nOUT 1\n")
    assert program.core["seed"] == 0xFFFFFFFFFFFFFFF  # exact, not through a float


def test_a_bad_hex_literal_is_a_syntax_error():
    d = one_error("OUT 0x1G\n")
    assert (d.span.line, d.span.col, d.message) == (1, 5, "bad number '0x1G'")


def test_constant_functions_and_operators():
    src = """
    .const P = 0.25
    OUT log(P / (1 - P))
    OUT sqrt(2)
    OUT exp(1)
    OUT pow(2, 0.5)
    OUT sigmoid(0)
    OUT mod(-7, 3)
    OUT -7 % 3
    OUT min(1, 2) + max(1, 2) + abs(-3) + floor(2.7)
    OUT (1 < 2) + (2 <= 2) + (3 > 4) + (1 == 1) + (1 != 1) + (0 >= 1)
    OUT 1 || 0 && 0
    OUT (1 || 0) && 0
    OUT !0 + !5
    """
    out = outputs(src)
    assert out[:5] == [math.log(1 / 3), math.sqrt(2), math.e, math.sqrt(2), 0.5]
    assert out[5:] == [2, 2, 8, 3, 1, 0, 1]


@pytest.mark.parametrize(
    "expr, col, message",
    [
        ("sqrt(-1)", 10, "sqrt of a negative number (-1) in a constant expression"),
        ("log(-2)", 9, "log of a negative number (-2)"),
        ("log(0)", 9, "log of 0 is -inf"),
        ("pow(-8, 1/3)", 5, "pow(-8, 0.333333) has no real value"),
        ("mod(1, 0)", 5, "mod by zero"),
        ("5 % 0", 9, "mod by zero in a constant expression"),
        ("sqrt(1, 2)", 5, "sqrt() takes 1 argument, got 2"),
        ("sqrtt(2)", 5, "unknown function 'sqrtt'"),
        ("exp(1000)", 5, "expression is not a finite number"),
    ],
)
def test_constant_function_errors(expr, col, message):
    d = one_error(f"OUT {expr}\n")
    assert d.span.col == col, d.format()
    assert message in d.message


# ---------------------------------------------------------------- static checks
PRELUDE = (
    ".core lanes=2 cols=2\n.aat z = 0\n.vec h n=4\n.mtj m n=4\n.pairs w rows=2 cols=4 levels=1\n"
    ".vec h2 n=2\n.ou o n=4\n.data t\n"
)
STATIC = [
    ("FF r0, L0, z, 1.5", "1.5", "read dial 1.5 out of range [0, 1]"),
    ("FF.RH r0, L0, z, -0.1", "-0.1", "read dial -0.1 out of range [0, 1]"),
    ("COIN r0, L0, z, 2", "2", "read dial 2 out of range [0, 1]"),
    ("DIV r0, r1, 0", "0", "division by zero"),
    ("MOD r0, r1, 0", "0", "division by zero"),
    ("SQRT r0, -1", "-1", "SQRT of a negative number -1"),
    ("LOG r0, -3", "-3", "LOG of a negative number -3"),
    ("POW r0, -2, 0.5", "-2", "POW of base -2 has no real value"),
    ("POW r0, 0, -1", "0", "POW of base 0 has no real value"),
    ("MPULSE m, 1.5, -1", "-1", "pulse -1 is not a finite amplitude and a width >= 0"),
    ("MPULSEV m, h, -1e-9", "-1e-9", "pulse -1e-09 is not a finite amplitude and a width >= 0"),
    ("SETY L0, z, 2, 0.1", "2", "SETY y0 2 out of range [-1, 1]"),
    ("SETY L0, z, 0.5, -0.1", "-0.1", "SETY level -0.1 must be >= 0"),
    ("VGET r0, h, 4", "4", "vector index 4 out of range"),
    ("VSET h, -1, 0", "-1", "vector index -1 out of range"),
    ("LD r0, t, -1, 0", "-1", "data row -1 out of range"),
    ("LD r0, t, 0, -2", "-2", "data column -2 out of range"),
    ("VLD h, t, -1", "-1", "data row -1 out of range"),
    ("PPMAC h2, w, h, 1.5", "1.5", "keep probability q = 1.5 out of range [0, 1]"),
    ("OUS o, 0, -1", "-1", "sampler scale -1 must be a finite number >= 0"),
]


@pytest.mark.parametrize("line, operand, message", STATIC, ids=[s[0] for s in STATIC])
def test_a_constant_operand_that_would_fault_is_refused_with_the_caret_on_it(line, operand, message):
    src = PRELUDE + "    " + line + "\n"
    with pytest.raises(KtasmError) as info:
        assemble_text(src, "s.kta")
    (d,) = info.value.diagnostics
    col = 5 + line.rindex(operand)
    assert (d.span.line, d.span.col, d.span.end_col) == (9, col, col + len(operand)), d.format()
    assert message in d.message
    rendered = info.value.render().splitlines()
    assert rendered[0].startswith(f"s.kta:9:{col}: error: ")
    assert rendered[2].index("^") == 4 + col - 1


def test_a_constant_through_a_name_is_checked_too():
    d = one_error(".const D = 2 - 2\nDIV r0, 1, D\n")
    assert (d.span.line, d.span.col) == (2, 12) and "division by zero" in d.message


def test_registers_and_good_constants_pass_the_static_checks():
    program = assemble_text(PRELUDE + "FF r0, L0, z, 1\nDIV r0, r1, r2\nVGET r0, h, 3\nPOW r0, -2, 3\n")
    assert program.code.shape[0] == 4


def test_every_static_rule_is_exercised():
    rules = {o.valid.partition(":")[0] for i in isa.INSTRUCTIONS for o in i.operands if o.valid}
    assert rules == set(isa.STATIC_RULES)


# ---------------------------------------------------------------- diagnostics
def test_a_label_without_its_colon_gets_a_hint():
    d = errors("again\nJMP again\n")[0]
    assert "unknown instruction 'again'" in d.message and d.notes == ("a label needs a colon: 'again:'",)
    d = one_error("start ADD r0, r0, 1\n")
    assert (d.span.col, d.span.end_col) == (1, 6)
    assert d.notes == ("a label needs a colon: 'start:'",)
    d = one_error("start HALT\n")
    assert d.notes == ("a label needs a colon: 'start:'",)


def test_a_missing_comma_says_so():
    d = one_error("ADD r0 r1, 2\n")
    assert (d.span.col, d.message) == (8, "expected ',' before 'r1'")
    d = one_error('OUT r0 "name"\n')
    assert d.message == "expected ',' before '\"name\"'"


def test_a_bad_device_declaration_does_not_cascade_into_its_uses():
    d = one_error(".mtj m n=4 sprad=0.1\nMRESET m\nMPULSE m, 1, 1e-9\nMSTATE m2, m\n.vec m2 n=4\n")
    assert d.span.line == 1 and "unknown .mtj key 'sprad'" in d.message


def test_a_bad_const_does_not_cascade_into_its_uses():
    d = one_error(".const K = sqrt(-1)\nOUT K\nOUT K + 1\n")
    assert d.span.line == 1


def test_did_you_mean_suggests_only_close_mnemonics():
    assert errors("RETT\n")[0].notes[0] == "did you mean 'RET'?"
    assert errors("hlat\n")[0].notes[0] == "did you mean 'HALT'?"
    assert errors("MRESTE m\n")[0].notes[0].startswith("did you mean 'MRESET'")
    assert errors("REX r0\n")[0].notes == ("did you mean 'RET'?",)
    assert not any("MRESET" in n for n in errors("RTX r0\n")[0].notes)
    assert errors("BANANA r0\n")[0].notes == ()


def _full_osa(a: str, b: str) -> int:
    """Optimal string alignment distance, every cell computed (the bounded one's twin)."""
    d = [[i + j if i * j == 0 else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def test_the_bounded_edit_distance_is_exact_up_to_its_limit():
    import random

    from ktasm.consteval import edit_distance

    rng = random.Random(7)
    for _ in range(3000):
        a, b = ("".join(rng.choice("abc") for _ in range(rng.randrange(8))) for _ in range(2))
        for limit in (0, 1, 2):
            assert edit_distance(a, b, limit) == min(_full_osa(a, b), limit + 1), (a, b, limit)


def test_did_you_mean_notes_stop_after_a_bound_and_say_so_once():
    from ktasm.assembler import HINT_LOOKUPS

    labels = "".join(f"top{k}: NOP\n" for k in range(50))
    uses = "".join(f"JMP top{k}x\n" for k in range(HINT_LOOKUPS + 20))
    found = [d for d in errors(labels + uses) if "is not defined" in d.message]
    assert len(found) == HINT_LOOKUPS + 20  # every error is still reported
    assert found[0].notes[0].startswith("did you mean 'top0'")
    assert found[HINT_LOOKUPS - 1].notes[0].startswith("did you mean")
    assert "no more 'did you mean' notes" in found[HINT_LOOKUPS].notes[0]
    assert all(d.notes == () for d in found[HINT_LOOKUPS + 1 :])
    again = errors(labels + "JMP top3x\n" * 5)  # the same word asks once, notes alike
    assert len({d.notes for d in again}) == 1 and again[0].notes[0].startswith("did you mean 'top3'")


def test_the_highlighter_knows_the_new_literals_operators_and_functions():
    from pygments.token import Name, Number, Operator

    from ktasm.highlight import KtaLexer

    tokens = [
        t for t in KtaLexer().get_tokens(".if N >= 0x1F && !defined(X)\nOUT sqrt(2) % 0b11\n") if t[1].strip()
    ]
    kinds = dict((text, kind) for kind, text in tokens)
    assert kinds["0x1F"] in Number and kinds["0b11"] in Number
    assert kinds[">="] in Operator and kinds["&&"] in Operator and kinds["%"] in Operator
    assert kinds["sqrt"] in Name.Function and kinds["defined"] in Name.Function


def test_the_corpus_program_of_the_new_syntax_runs_the_same_on_both_paths():
    import numpy as np
    from conftest import DATA

    path = DATA / "corpus" / "syntax.kta"
    for defines in ({}, {"FAST": 1}):
        program = assemble_file(path, defines=defines)
        fast, slow = Machine(program).run(), Machine(program).step(100_000)
        assert fast.reason == slow.reason == "halted"
        np.testing.assert_array_equal(fast.outputs, slow.outputs)
        assert set(fast.named) == {"mean", "sigmoid", "h"}
