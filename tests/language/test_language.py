"""The .kta language: the invalid-program corpus, macros and includes, golden programs,
and that every shipped program and stdlib file assembles."""

import json
import math
import os
import re

import numpy as np
import pytest
from conftest import DATA, REPO

from ktasm.assembler import assemble_file, assemble_text
from ktasm.disasm import disassemble
from ktasm.errors import Collector, KtasmError
from ktasm.expand import stdlib_dir
from ktasm.parser import parse_text
from vm.machine import Machine

ROOT = REPO
GOLDEN = DATA / "golden"


def _corpus():
    text = (DATA / "corpus" / "invalid.kta").read_text()
    cases = []
    for block in text.split("\n=== ")[1:]:
        name, _, body = block.partition("\n")
        m = re.search(r"^; expect (\d+):(\d+): (.*)$", body, re.M)
        cases.append(pytest.param(body, int(m.group(1)), int(m.group(2)), m.group(3), id=name.strip()))
    return cases


@pytest.mark.parametrize("src, line, col, message", _corpus())
def test_invalid_program_reports_one_error_at_its_position(src, line, col, message):
    with pytest.raises(KtasmError) as info:
        assemble_text(src, "case.kta")
    diags = info.value.diagnostics
    assert len(diags) == 1, info.value.render()
    d = diags[0]
    assert (d.span.line, d.span.col) == (line, col), info.value.render()
    assert message in " ".join((d.message,) + d.notes), info.value.render()
    rendered = info.value.render()
    assert rendered.startswith(f"case.kta:{line}:{col}: error: ")
    assert rendered.splitlines()[2].index("^") == 4 + col - 1  # caret under the column


def test_every_error_is_reported_at_once():
    src = "FFX r0\nMOV r99, 1\nJMP nowhere\nMOV r0, (1\nHALT\n"
    with pytest.raises(KtasmError) as info:
        assemble_text(src, "many.kta")
    assert [d.span.line for d in info.value.diagnostics] == [1, 2, 3, 4]
    assert info.value.render().endswith("4 errors")


def test_spans_stay_out_of_ast_equality():
    a = parse_text("FF   r0,L0 ,  x ; comment", "a", Collector())
    b = parse_text("  ff r0, L0, x", "b", Collector())
    assert a[0].operands == b[0].operands
    assert a[0].span.col == 1 and b[0].span.col == 3


def test_case_insensitive_mnemonics_registers_lanes_and_directives():
    upper = assemble_text(".CORE LANES=2 SEED=3\n.AAT x = 0\nff R1, l1, x\nOUT r1\n")
    lower = assemble_text(".core lanes=2 seed=3\n.aat x = 0\nFF r1, L1, x\nout R1\n")
    np.testing.assert_array_equal(upper.code, lower.code)
    assert Machine(upper).run().outputs.tolist() == Machine(lower).run().outputs.tolist()


def test_hash_comments_and_blank_lines():
    program = assemble_text("# header\n\n   \nMOV r0, 2  # two\nOUT r0 ; out\n")
    assert Machine(program).run().outputs.tolist() == [2.0]


# ---------------------------------------------------------------- macros, includes
def test_macro_arguments_and_local_labels_per_expansion():
    src = """
    .macro CLAMP0 reg
            JGE reg, 0, ok
            MOV reg, 0
    ok:
    .endm
        MOV r1, -3
        MOV r2, 4
        CLAMP0 r1
        CLAMP0 r2
        OUT r1
        OUT r2
    """
    program = assemble_text(src)
    assert Machine(program).run().outputs.tolist() == [0.0, 4.0]
    local = [name for name in program.labels if name.startswith("ok@")]
    assert len(local) == 2 and len({program.labels[n] for n in local}) == 2


def test_macro_may_call_macros_and_take_lanes_and_aats():
    src = """
    .core lanes=2 seed=5
    .aat z = 0
    .macro READ2 dst, lane, x
        FF dst, lane, x
    .endm
    .macro TWICE dst, lane, x
        READ2 dst, lane, x
        READ2 dst, lane, x
    .endm
        TWICE r0, L1, z
        OUT r0
    """
    direct = ".core lanes=2 seed=5\n.aat z = 0\nFF r0, L1, z\nFF r0, L1, z\nOUT r0\n"
    assert (
        Machine(assemble_text(src)).run().outputs.tolist()
        == Machine(assemble_text(direct)).run().outputs.tolist()
    )


def test_error_inside_macro_notes_the_call_site():
    src = ".macro BAD a\n    MOV a, nope\n.endm\n    BAD r1\n"
    with pytest.raises(KtasmError) as info:
        assemble_text(src, "m.kta")
    assert "in macro 'BAD' called at m.kta:4:5" in info.value.render()


def test_includes_relative_stdlib_path_and_once(tmp_path, monkeypatch):
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "inc.kta").write_text(".const K = 7\n.macro PUTK\n    OUT K\n.endm\n")
    (tmp_path / "main.kta").write_text(
        '.include "lib/inc.kta"\n.include "lib/inc.kta"\n'
        '.include "stdlib/ahah.kta"\n.include "ahah.kta"\nPUTK\n'
    )
    program = assemble_file(tmp_path / "main.kta")
    assert Machine(program).run().outputs.tolist() == [7.0]
    assert sum(f.endswith("ahah.kta") for f in program.files) == 1
    # KTASM_PATH
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "far.kta").write_text("OUT 3\n")
    (tmp_path / "uses_path.kta").write_text('.include "far.kta"\n')
    monkeypatch.setenv("KTASM_PATH", str(other))
    assert Machine(assemble_file(tmp_path / "uses_path.kta")).run().outputs.tolist() == [3.0]


def test_stdlib_supervised_step_teaches_toward_the_target():
    """The reference rule: the label's lane goes up (RH); a lane that says yes wrongly
    comes down (RL) until it says no; a lane already saying no is left near where it is."""
    src = """
    .include "ahah.kta"
    .core cols=2 lanes=3 seed=1 read_noise=0
    .aat x = 1
        SETY  L1, x, 0.5, 0.5
        SETY  L2, x, -0.3, 0.5
        LOOP 400
            SUPERVISED r0, L0, x, 1
            SUPERVISED r1, L1, x, -1
            SUPERVISED r2, L2, x, -1
        ENDLOOP
        OUT r0
        OUT r1
        OUT r2
    """
    up, false_yes, no = Machine(assemble_text(src)).run().outputs
    assert up > 0.5  # from y = 0 (medium init)
    assert -0.05 < false_yes <= 0.01  # from 0.5 down to the boundary, not beyond
    assert no < -0.25  # kept saying no


# ---------------------------------------------------------------- shipped files
def _shipped():
    files = sorted(stdlib_dir().glob("*.kta")) + sorted((ROOT / "docs").rglob("*.kta"))
    if (ROOT / "programs").is_dir():
        files += sorted((ROOT / "programs").rglob("*.kta"))
    return files


@pytest.mark.parametrize("path", _shipped(), ids=lambda p: p.name)
def test_every_shipped_program_and_stdlib_file_assembles(path):
    assemble_file(path)


# ---------------------------------------------------------------- golden programs
def _golden():
    return sorted(GOLDEN.glob("*.kta"))


@pytest.mark.parametrize("path", _golden(), ids=lambda p: p.name)
def test_golden_disassembly_and_outputs(path):
    """Expected disassembly and outputs are stored beside each program; regenerate with
    KTASM_UPDATE_GOLDEN=1 after a deliberate change and review the diff."""
    cwd = os.getcwd()
    os.chdir(GOLDEN)  # so file names in the listing are relative
    try:
        program = assemble_file(path.name)
        listing = disassemble(program) + "\n"
        data = {p.stem.split(".", 1)[1]: np.load(p) for p in GOLDEN.glob(f"{path.stem}.*.npy")}
        result = Machine(program, data).run()
    finally:
        os.chdir(cwd)
    outputs = {
        "outputs": result.outputs.tolist(),
        "reason": result.reason,
        "instructions": result.stats["instructions"],
    }
    dis_file, out_file = path.with_suffix(".dis"), path.with_suffix(".out.json")
    if os.environ.get("KTASM_UPDATE_GOLDEN") == "1":
        dis_file.write_text(listing)
        out_file.write_text(json.dumps(outputs, indent=1) + "\n")
    assert listing == dis_file.read_text()
    assert outputs == json.loads(out_file.read_text())


# ---------------------------------------------------------------- tutorial
def test_tutorial_programs_show_what_the_tutorial_says():
    tutorial = ROOT / "docs" / "tutorial"
    y, ga, gb, w = Machine(assemble_file(tutorial / "01_one_pair.kta")).run().outputs
    assert w == pytest.approx((ga - gb) / (ga + gb), abs=1e-15)
    assert abs(y - w) < 0.1  # a noisy read of the same weight
    young, mature, ratio = Machine(assemble_file(tutorial / "02_annealing.kta")).run().outputs
    assert ratio == mature / young and 8 <= ratio <= 14
    switched, x2, mean = Machine(assemble_file(tutorial / "03_devices.kta")).run().outputs
    assert abs(switched - 0.5) < 4 * math.sqrt(0.25 / 4096)
    assert abs(x2 - 0.85214) < 0.03  # 4 standard errors, and the dt = 0.005 bias
    assert abs(mean - 2.0) < 4 * 0.5 / 64


def test_tutorial_subroutine_and_bandit_programs():
    tutorial = ROOT / "docs" / "tutorial"
    result = Machine(assemble_file(tutorial / "04_subroutines.kta")).run()
    assert result.named["w0"] > 0.3 and result.named["w1"] < -0.3
    bandit = assemble_file(tutorial / "05_bandit.kta")
    assert bandit.consts["INPUT_A"] == pytest.approx(math.log(0.3 / 0.7) / 2, rel=1e-15)
    for seed in (1, 2, 3):
        named = Machine(bandit, seed=seed).run().named
        share = named["share_b"]
        assert share > 0.85
        assert abs(named["p_b"] - 0.6) < 4 * math.sqrt(0.24 / (2000 * share))
        expected = 0.6 * share + 0.3 * (1 - share)
        assert abs(named["mean_reward"] - expected) < 4 * math.sqrt(0.25 / 2000)
    short = Machine(assemble_file(tutorial / "05_bandit.kta", defines={"STEPS": 200})).run()
    assert short.stats["instructions"] < Machine(bandit).run().stats["instructions"] / 5
