"""Replay every case recorded from the reference kT-RAM emulator."""

import json

import numpy as np
import pytest
from conftest import CONFORMANCE

from vm import Core

CASES_FILE = CONFORMANCE / "ktram_cases.jsonl"


def _load_cases():
    if not CASES_FILE.exists():
        return []
    with CASES_FILE.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


CASES = _load_cases()


def _aat(entries):
    return tuple(entries)


def _core(case):
    rows, cols = case["crossbar"]
    return Core(
        rows,
        cols,
        spaces_per_lane=case["spaces_per_lane"],
        num_lanes=case["num_lanes"],
        model=case["model"],
        init=case["init"],
        seed=case["seed"],
        read_noise=case["read_noise"],
    )


def _assert_close(got, want, model, what):
    if model == "byte":
        assert got == want, f"{what}: got {got!r}, want {want!r} (byte is exact)"
    else:
        assert got == pytest.approx(want, rel=1e-12, abs=1e-300), f"{what}: got {got!r}, want {want!r}"


def _check_gab(core, table, model, what):
    for lane, entries in enumerate(table):
        for space, addr, ga, gb in entries:
            _assert_close(
                float(core.g[0, lane, space, addr]),
                ga,
                model,
                f"{what} lane {lane} space {space} addr {addr} Ga",
            )
            _assert_close(
                float(core.g[1, lane, space, addr]),
                gb,
                model,
                f"{what} lane {lane} space {space} addr {addr} Gb",
            )


def test_cases_present():
    assert len(CASES) >= 200, f"expected the recorded conformance cases in {CASES_FILE}"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_replay_per_instruction(case):
    core = _core(case)
    _check_gab(core, case["init_gab"], case["model"], "init")
    for step in case["setup"]:
        if step["op"] == "set_start_y":
            core.set_start_y(step["lane"], _aat(step["aat"]), y0=step["y0"], level=step["level"])
        else:
            core.set_gab(step["lane"], _aat(step["aat"]), step["ga"], step["gb"])
    for i, (entry, want) in enumerate(zip(case["stream"], case["expect"], strict=True)):
        lane, aat, instr = entry[:3]
        dial = entry[3] if len(entry) > 3 else 0.0
        got = core.lane(lane).evaluate(_aat(aat), instr, noise=dial)
        _assert_close(got, want, case["model"], f"step {i} ({instr} lane {lane} aat {aat})")
    _check_gab(core, case["final_gab"], case["model"], "final")
    for lane, want in enumerate(case["final_lane_y"]):
        _assert_close(core.lane(lane).y, want, case["model"], f"final y of lane {lane}")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_replay_compiled_stream(case):
    """The same cases through the one-call compiled stream path."""
    core = _core(case)
    for step in case["setup"]:
        if step["op"] == "set_start_y":
            core.set_start_y(step["lane"], _aat(step["aat"]), y0=step["y0"], level=step["level"])
        else:
            core.set_gab(step["lane"], _aat(step["aat"]), step["ga"], step["gb"])
    stream = case["stream"]
    ys = core.execute_stream(
        [e[0] for e in stream],
        [_aat(e[1]) for e in stream],
        [e[2] for e in stream],
        [e[3] if len(e) > 3 else 0.0 for e in stream],
    )
    want = np.array(case["expect"])
    if case["model"] == "byte":
        np.testing.assert_array_equal(ys, want)
    else:
        np.testing.assert_allclose(ys, want, rtol=1e-12, atol=0)
    _check_gab(core, case["final_gab"], case["model"], "final")


@pytest.mark.parametrize("name", ["ktram_cases.jsonl", "read_noise_stats.json"])
def test_the_repository_copy_is_the_shared_recording(shared_dir, name):
    """The tests replay tests/data/conformance so a clone passes without ../shared; where
    ../shared is present, the copy must be what it holds."""
    assert (CONFORMANCE / name).read_bytes() == (shared_dir / "conformance" / name).read_bytes(), (
        f"tests/data/conformance/{name} differs from ../shared: copy it again"
    )
