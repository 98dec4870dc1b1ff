"""Rich display: short reprs and HTML tables for Machine, RunResult, Program and Core; the
compile notice."""

import io
import re

import numpy as np

from ktasm.assembler import assemble_text
from vm import compiling
from vm.ktram.core import Core
from vm.machine import Machine

SOURCE = """.core lanes=2 seed=3 init=medium
.aat a = (0)
.vec v n=3
.const K = 2.5
start:
        FF    L0, a
        OUT   K
        MOV   r2, 7
"""


def _machine():
    return Machine(assemble_text(SOURCE, "demo.kta"))


def test_short_reprs_name_the_program_and_its_state():
    m = _machine()
    assert repr(m.program) == "<Program demo.kta: 3 instructions, 1 AATs, 1 devices, model=float>"
    assert repr(m) == "<Machine demo.kta: pc=0/3, not started, 0 steps, 0 outputs>"
    result = m.run()
    assert repr(result) == "<RunResult end: 1 outputs, 3 instructions>"
    assert repr(m) == "<Machine demo.kta: pc=3/3, end, 3 steps, 1 outputs>"
    assert "\n" not in repr(Core(2, 2)) and len(repr(m.program)) < 120  # never the arrays


def _cells(html):
    return re.findall(r"<td>([^<]*)</td>", html)


def test_machine_html_has_pairs_with_w_and_m_registers_outputs_and_energy():
    m = _machine()
    m.run()
    html = m._repr_html_()
    for caption in ("pairs", "registers (not zero)", "outputs", "vectors", "time and energy"):
        assert f"<b>{caption}</b>" in html
    cells = _cells(html)
    ga, gb = (float(m.core.g[k, 0, 0, 0]) for k in (0, 1))
    row = cells.index("L0")
    assert cells[row : row + 3] == ["L0", "0", "0"]
    assert float(cells[row + 5]) == np.float64(f"{ga + gb:.6g}")  # m = Ga + Gb
    assert abs(float(cells[row + 6]) - (ga - gb) / (ga + gb)) < 1e-5  # w
    assert "L1" in cells  # both lanes of the AAT's pair
    assert cells[cells.index("r2") + 1] == "7"
    assert "[2.5]" in cells
    assert any(c.endswith(" J") for c in cells)


def test_result_program_and_core_html():
    m = _machine()
    result = m.run()
    assert "[2.5]" in _cells(result._repr_html_())
    program_cells = _cells(m.program._repr_html_())
    assert "K = 2.5" in program_cells and "start" in program_cells and "v (vec)" in program_cells
    core = Core(2, 2, num_lanes=40)
    html = core._repr_html_()
    assert html.count("<td>L") == 2 * 32  # lanes and pairs capped (40 lanes x 4 pairs = 160 rows)
    assert "... 8 more" in html and "... 128 more" in html


def test_compile_notice_only_when_not_compiled_and_slow(monkeypatch):
    import time

    monkeypatch.setenv("KTASM_PROGRESS", "1")
    stream = io.StringIO()
    with compiling.notice(stream=stream, delay=0.05):
        time.sleep(0.7)
    assert compiling.MESSAGE in stream.getvalue()
    quiet = io.StringIO()
    with compiling.notice(stream=quiet, delay=0.5):
        pass
    assert quiet.getvalue() == ""
    monkeypatch.setenv("KTASM_PROGRESS", "0")
    assert not compiling.enabled(io.StringIO())


def test_programs_progress_is_a_tqdm_bar_on_a_terminal_only():
    from programs import Progress

    stream = io.StringIO()
    bar = Progress(stream, enabled=True)
    for done in range(0, 11):
        bar.update("training", done, 10)
    text = stream.getvalue()
    assert "training" in text and "10/10" in text
    assert bar._bar is None  # closed at the end
    silent = io.StringIO()
    Progress(silent).update("training", 1, 10)  # a StringIO is not a terminal
    assert silent.getvalue() == ""


def test_is_cached_sees_each_closure_variant_and_signature(tmp_path, monkeypatch):
    """The loop's variants share one index file: is_cached must find the variant's own key."""
    import importlib
    import sys

    from numba import float64, int64

    (tmp_path / "variants_mod.py").write_text(
        "from numba import njit\n"
        "def make(flag):\n"
        "    @njit(cache=True)\n"
        "    def f(x):\n"
        "        return x + 1 if flag else x - 1\n"
        "    return f\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("variants_mod")
    on, off = module.make(True), module.make(False)
    assert not compiling.is_cached(on, (float64,))
    on.compile((float64,))
    assert compiling.is_cached(on, (float64,))
    assert not compiling.is_cached(off, (float64,))  # same file, same index, other cells
    assert not compiling.is_cached(on, (int64,))
    assert compiling.is_cached(object(), (float64,)) is False  # not a cached dispatcher
    sys.modules.pop("variants_mod")
