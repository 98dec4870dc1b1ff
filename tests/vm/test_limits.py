"""Limits are honoured within a second (issue 15, class 2): a deadline inside one long
instruction, a chunk of expensive instructions, absurd windows, output limits."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from ktasm.errors import KtasmError
from vm.machine import Machine

LONG_WINDOW = """
.bank h n=1 dt=1e-12 tf=1
.vec cur n=1
    RELAX h, cur
    OUT r0
"""


def test_a_deadline_inside_a_1e12_step_relax_stops_within_a_second():
    m = Machine(assemble_text(LONG_WINDOW))
    m.run(max_steps=0)  # compiled before timing
    start = time.perf_counter()
    result = m.run(timeout=0.3)
    elapsed = time.perf_counter() - start
    assert result.reason == "timeout"
    assert elapsed < 1.3, elapsed
    assert m.pc == 0 and m.status[6] > 0  # inside the window, which a resume continues


EXPENSIVE_CHUNK = """
.bank h n=256 dt=0.001 tf=1
.vec cur n=256
    LOOP 1000000
        RELAX h, cur
    ENDLOOP
"""


def test_a_deadline_in_a_loop_of_expensive_instructions_stops_within_a_second():
    m = Machine(assemble_text(EXPENSIVE_CHUNK))
    m.run(max_steps=0)
    start = time.perf_counter()
    assert m.run(timeout=0.3).reason == "timeout"
    assert time.perf_counter() - start < 1.3


SPLIT = """
.core seed=5
.bank h n=130 dt=0.001 tf=40 temperature=0.4
.vec cur n=130
    VFILL cur, 0.3
    LOOP 3
        RELAX h, cur
        VOUT h
    ENDLOOP
"""


def test_a_window_stopped_by_a_deadline_resumes_bit_for_bit_from_a_checkpoint(tmp_path):
    program = assemble_text(SPLIT)
    whole = Machine(program).run()
    first = Machine(program)
    first.run(max_steps=0)
    assert first.run(timeout=0.05).reason == "timeout"
    assert first.status[6] > 0  # stopped inside a window
    first.save_checkpoint(tmp_path / "c.npz")
    second = Machine(program)
    second.load_checkpoint(tmp_path / "c.npz")
    rest = second.run()
    assert rest.reason == "end"
    np.testing.assert_array_equal(rest.outputs, whole.outputs)
    assert rest.stats["modeled_time_s"] == whole.stats["modeled_time_s"]
    assert rest.stats["instructions"] == whole.stats["instructions"]


@pytest.mark.parametrize("keys", ["dt=1e-300 tf=1e10", "dt=1e-20 tf=1"])
def test_an_absurd_window_is_refused_at_its_declaration(keys):
    with pytest.raises(KtasmError, match=r"window of tf/dt = .* steps is more than"):
        assemble_text(f".bank h n=1 {keys}\n")


def test_outputs_in_an_endless_loop_stop_at_the_limit():
    m = Machine(assemble_text("top:\n    OUT r0\n    JMP top\n"), max_outputs=5000)
    result = m.run()
    assert result.reason == "output_limit"
    assert result.outputs.shape == (5000,) and m.outputs.shape[0] <= 5000


def test_vector_outputs_stop_at_the_limit_too():
    m = Machine(assemble_text(".vec v n=7\ntop:\n    VOUT v\n    JMP top\n"), max_outputs=100)
    assert m.run().reason == "output_limit"
    assert m.step(50).reason == "output_limit"


def test_timeout_must_be_finite():
    m = Machine(assemble_text("NOP\n"))
    for bad in (float("nan"), float("inf"), 0.0, -1.0):
        with pytest.raises(ValueError, match="timeout"):
            m.run(timeout=bad)
