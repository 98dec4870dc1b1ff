"""Checkpoints and REPL sessions are untrusted input: every value that indexes or drives the
compiled loop is checked before it runs (issue 15, class 1). Each case here made the loop read
or write outside its arrays, spin forever, or run on silently wrong state before the checks."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from vm.machine import CHECKPOINT_FORMAT, CheckpointError, Machine

SOURCE = """
.core cols=4 spaces=2 lanes=2 seed=3 read_noise=0.05
.aat x = (1, 3)
.vec v n=4
    LOOP 50
        FF.RU r0, L1, x
        RFLV r1, L0, x, 0.5
        VSET v, 2, r0
        OUT r0
    ENDLOOP
"""


def machine(**kw) -> Machine:
    m = Machine(assemble_text(SOURCE), **kw)
    m.run(max_steps=23)
    return m


def broken(state: dict, name: str, change) -> dict:
    state = {k: v.copy() for k, v in state.items()}
    change(state[name])
    return state


def _set(index, value):
    def change(array):
        array[index] = value

    return change


CASES = {
    "pc far past the code": ("status", _set(0, 1 << 40), "pc"),
    "pc negative": ("status", _set(0, -1), "pc"),
    "halted past the end": ("status", lambda s: s.__setitem__(slice(0, 4, 3), (999, 1)), "pc"),
    "instruction count negative": ("status", _set(1, -5), "instruction count"),
    "output count beyond the outputs": ("status", _set(2, 10**6), "output count"),
    "unknown stop reason": ("status", _set(3, 77), "stop reason"),
    "unknown fault code": ("status", lambda s: s.__setitem__(slice(3, 5), (4, 999)), "fault code"),
    "fault without a faulted stop": ("status", _set(4, 1), "fault code"),
    "AAT address past the crossbar": ("aats", _set((0, 0), 1 << 33), "AAT address"),
    "AAT address very negative": ("aats", _set((0, 1), -7), "AAT address"),
    "all-zero random stream": ("core_rng_state", lambda s: s.fill(0), "all zeros"),
    "damaged spare normal": ("core_rng_spare", _set(0, 7.0), "spare"),
    "NaN loop counter": ("vals", _set(16, np.nan), "loop counter"),
    "huge loop counter": ("vals", _set(16, 1e300), "loop counter"),
    "constant pool rewritten": ("vals", _set(-1, 12345.0), "constant pool"),
    "NaN conductance": ("core_g", _set((0, 0, 0, 0), np.nan), "conductance"),
    "conductance past the rail": ("core_g", _set((1, 1, 1, 1), 1e9), "conductance"),
    "negative meter": ("core_meters", _set(0, -1.0), "meter"),
    "infinite device meter": ("dev_meters", _set((0, 0), np.inf), "meter"),
    "NaN retained y": ("core_lane_y", _set(0, np.nan), "retained y"),
    "call stack deeper than its capacity": ("status", _set(7, 10**6), "call stack depth"),
    "negative call stack depth": ("status", _set(7, -1), "call stack depth"),
    "a return pc of 0 on the call stack": ("status", _set(7, 1), "return pc"),
    "an output name that is not the program's": ("output_tags", _set(0, 3), "output name index"),
    "an output name below -1": ("output_tags", _set(1, -2), "output name index"),
}


def test_a_return_pc_that_does_not_follow_a_call_is_refused():
    program = assemble_text("LOOP 3\nCALL sub\nENDLOOP\nHALT\nsub: NOP\nRET\n")
    m = Machine(program)
    m.run(max_steps=3)
    state = m.get_state()
    assert state["status"][7] == 1 and state["calls"][0] == 2
    for pc, match in ((3, "does not follow a CALL"), (len(program.code) + 1, "out of range")):
        bad = {k: v.copy() for k, v in state.items()}
        bad["calls"][0] = pc
        with pytest.raises(CheckpointError, match=match):
            m.set_state(bad)
    m.set_state(state)
    assert m.run().reason == "halted"


def test_named_outputs_must_be_whole_vectors():
    program = assemble_text('.vec h n=3\nLOOP 2\nVOUT h, "h"\nENDLOOP\n')
    m = Machine(program)
    m.run()
    state = m.get_state()
    state["output_tags"][4] = -1
    with pytest.raises(CheckpointError, match="not whole vectors of 3"):
        m.set_state(state)


@pytest.mark.parametrize("case", list(CASES))
def test_a_crafted_state_is_refused_and_changes_nothing(case):
    name, change, match = CASES[case]
    m = machine()
    before = m.get_state()
    with pytest.raises(CheckpointError, match=match):
        m.set_state(broken(before, name, change))
    for key, value in m.get_state().items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
    m.run()  # and the machine still runs
    assert m.stop_reason == "end"


def test_a_state_missing_an_array_or_of_the_wrong_type_is_refused():
    m = machine()
    state = m.get_state()
    del state["core_g"]
    with pytest.raises(CheckpointError, match="core_g"):
        m.set_state(state)
    with pytest.raises(CheckpointError, match="outputs"):
        m.set_state(dict(m.get_state(), outputs=np.zeros((2, 2))))
    with pytest.raises(CheckpointError, match="status"):
        m.set_state(dict(m.get_state(), status=np.zeros(5, dtype=np.float64)))


def _save(path, m: Machine, **replace) -> None:
    arrays = {
        "format": np.array(CHECKPOINT_FORMAT),
        "program": np.array(m.program.fingerprint()),
        "model": np.array(m.core.model),
        "seed": np.array(str(m.seed)),
        **m.get_state(),
        **replace,
    }
    np.savez(path, **arrays)


def test_a_crafted_checkpoint_file_with_the_right_fingerprint_is_refused(tmp_path):
    m = machine()
    state = m.get_state()
    aats = state["aats"].copy()
    aats[0, 0] = 10**9
    _save(tmp_path / "evil.npz", m, aats=aats)
    fresh = Machine(m.program)
    with pytest.raises(CheckpointError, match="AAT address"):
        fresh.load_checkpoint(tmp_path / "evil.npz")
    assert fresh.pc == 0


def test_a_checkpoint_that_inflates_past_the_limit_is_refused_before_reading(tmp_path):
    m = machine(max_outputs=1000)
    path = tmp_path / "bomb.npz"
    _save(path, m)
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED) as z:
        with z.open("huge.npy", "w", force_zip64=True) as fh:
            np.lib.format.write_array(fh, np.zeros(20_000_000))  # 160 MB of zeros, ~150 KB deflated
    assert path.stat().st_size < 2_000_000
    with pytest.raises(CheckpointError, match="more than the .* a checkpoint"):
        Machine(m.program, max_outputs=1000).load_checkpoint(path)


def test_a_checkpoint_with_more_outputs_than_the_limit_is_refused(tmp_path):
    m = machine()
    _save(tmp_path / "s.npz", m)
    with pytest.raises(CheckpointError, match="--max-outputs"):
        Machine(m.program, max_outputs=2).load_checkpoint(tmp_path / "s.npz")


@pytest.mark.parametrize("content", [b"hello, I am text\n", b"\x93NUMPY\x01\x00garbage", b""])
def test_a_file_that_is_not_a_checkpoint_is_named_so_without_numpy_wording(tmp_path, content):
    path = tmp_path / "c.npz"
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as info:
        machine().load_checkpoint(path)
    text = str(info.value)
    assert "not a checkpoint" in text
    assert "pickle" not in text and "unsafe" not in text.lower()


def test_a_truncated_checkpoint_is_damaged_not_an_internal_error(tmp_path):
    m = machine()
    _save(tmp_path / "s.npz", m)
    data = (tmp_path / "s.npz").read_bytes()
    for cut in (10, len(data) // 2, len(data) - 30):
        (tmp_path / "t.npz").write_bytes(data[:cut])
        with pytest.raises(CheckpointError):
            Machine(m.program).load_checkpoint(tmp_path / "t.npz")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_special_files_are_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        with pytest.raises(CheckpointError, match="not a regular file"):
            machine().load_checkpoint(path)


def test_a_checkpoint_of_another_seed_is_refused_when_a_seed_is_given(tmp_path):
    m = machine()
    m.save_checkpoint(tmp_path / "s.npz")
    with pytest.raises(CheckpointError, match="seed 3, not 9"):
        Machine(m.program, seed=9).load_checkpoint(tmp_path / "s.npz", seed=9)
    Machine(m.program, seed=3).load_checkpoint(tmp_path / "s.npz", seed=3)


# ------------------------------------------------------------------ generated states
GENERATED = r"""
import sys
import numpy as np
from ktasm.assembler import assemble_text
from vm.machine import CHECKPOINT_FORMAT, CheckpointError, Machine

rng = np.random.default_rng(int(sys.argv[1]))
program = assemble_text(open(sys.argv[2]).read())
hostile = np.array([0, 1, -1, 2, 3, 4, 5, 7, 8, 15, 16, 255, 256, 1 << 31, -(1 << 31), 1 << 62, -(1 << 62)])
floats = np.array([0.0, 1.0, -1.0, 0.5, np.nan, np.inf, -np.inf, 1e300, -1e300, 3.0, 1e-300, 2.0**53])
refused = ran = 0
base = Machine(program)
base.run(max_steps=40)
good = base.get_state()
for trial in range(int(sys.argv[3])):
    state = {k: v.copy() for k, v in good.items()}
    for name in rng.choice(sorted(state), size=rng.integers(1, 4), replace=False):
        a = state[name]
        if a.size == 0:
            continue
        flat = a.reshape(-1)
        for _ in range(rng.integers(1, 3)):
            i = rng.integers(flat.size)
            if a.dtype.kind == "f":
                flat[i] = rng.choice(floats) if rng.random() < 0.7 else flat[i] * rng.normal()
            elif a.dtype.kind == "u":
                flat[i] = 0 if rng.random() < 0.5 else rng.integers(1 << 63)
                if rng.random() < 0.3:
                    flat[:] = 0
            else:
                value = rng.choice(hostile) if rng.random() < 0.8 else int(flat[i]) + int(rng.integers(-3, 4))
                flat[i] = np.asarray(value).astype(a.dtype)  # wrapped to the width (output_tags: int32)
    m = Machine(program)
    try:
        m.set_state(state)
    except CheckpointError:
        refused += 1
        continue
    m.run(max_steps=3000)  # IndexError here (NUMBA_BOUNDSCHECK=1) would be the hole
    ran += 1
print(refused, ran)
"""


# SOURCE with a subroutine and named outputs, so the call stack and the output names are damaged too
WITH_CALLS = SOURCE.replace(
    "        OUT r0\n", '        CALL twice\n        OUT r0, "r0"\n        VOUT v, "v"\n'
) + ("    HALT\ntwice:\n    ADD r0, r0, r0\n    RET\n")


@pytest.mark.slow
def test_generated_states_never_index_outside_the_arrays(tmp_path):
    """Random damage to a real state, run with Numba's bounds checks on: each state is
    refused or runs without an out-of-bounds access."""
    (tmp_path / "p.kta").write_text(WITH_CALLS)
    (tmp_path / "gen.py").write_text(GENERATED)
    env = dict(os.environ, NUMBA_BOUNDSCHECK="1", NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, str(tmp_path / "gen.py"), "7", str(tmp_path / "p.kta"), "600"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    refused, ran = map(int, done.stdout.split())
    assert refused > 100 and ran > 50  # both branches are exercised
