"""The non-ideality keys everywhere a .core key goes: .core, Core(...), the REPL, the memory
check, bytecode; the per-device state in checkpoints (bit-exact across AGE), stats, .state,
and as untrusted input."""

from __future__ import annotations

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from ktasm.errors import KtasmError
from ktasm.repl.engine import Session
from vm import Core, config
from vm.bytecode import Program
from vm.ktram.nonideal import NonIdeal
from vm.machine import CheckpointError, Machine

KEYS = {
    "d2d": 0.1,
    "c2c": 0.05,
    "stuck": 0.2,
    "stuck_high": 0.25,
    "endurance": 12,
    "drift": 0.05,
    "drift_spread": 0.01,
    "drift_t0": 2.5,
    "adc_bits": 6,
}
BAD = {
    "d2d": (-0.1, "d2d: expected >= 0"),
    "c2c": (1.5, "c2c: expected <= 1"),
    "stuck": (1.01, "stuck: expected <= 1"),
    "stuck_high": (-0.5, "stuck_high: expected >= 0"),
    "endurance": (2.5, "endurance: expected an integer"),
    "drift": (-0.05, "drift: expected >= 0"),
    "drift_spread": (-1, "drift_spread: expected >= 0"),
    "drift_t0": (0, "drift_t0: expected > 0"),
    "adc_bits": (-1, "adc_bits: expected >= 0"),
}

AGEING = """
.core cols=4 spaces=3 lanes=2 seed=7 read_noise=0.02 {keys}
.aat x = (1, 3, 0)
.aat y = (2, _, 1)
    SETY L1, y, 0.3, 0.4
    LOOP 40
        FF.RU r0, L0, x
        RF.RH r1, L1, y, 0.3
        AGE 3600
        FFLV r2, L1, y
        OUT r0
        OUT r2
    ENDLOOP
    GAB r3, r4, L1, y
    OUT r3
"""
ALL_KEYS = " ".join(f"{k}={v}" for k, v in KEYS.items())


@pytest.mark.parametrize("key", list(KEYS))
def test_each_key_through_core_the_assembler_and_bytecode(key):
    value = KEYS[key]
    program = assemble_text(f".core cols=2 {key}={value}\nOUT 1\n")
    assert program.core[key] == value
    again = Program.from_bytes(program.to_bytes())
    machine = Machine(again)
    assert getattr(machine.core.nonideal, key) == value
    assert getattr(Core(1, 2, **{key: value}).nonideal, key) == value


@pytest.mark.parametrize("key", list(BAD))
def test_a_bad_value_is_refused_at_its_column_and_by_core(key):
    value, message = BAD[key]
    with pytest.raises(KtasmError) as info:
        assemble_text(f"; bad\n.core cols=2 {key}={value}\n", "bad.kta")
    (diag,) = info.value.diagnostics
    assert (diag.span.line, diag.span.col) == (2, 15 + len(key)) and message in diag.message
    assert info.value.render().startswith(f"bad.kta:2:{15 + len(key)}: error: ")
    with pytest.raises(ValueError, match=key):
        Core(1, 2, **{key: value})


def test_age_is_refused_for_a_negative_or_non_finite_constant_and_faults_for_a_register():
    for operand, col in (("-1", 5), ("-1e-9", 5), ("1e400", 5)):
        with pytest.raises(KtasmError) as info:
            assemble_text(f"AGE {operand}\n", "age.kta")
        (diag,) = info.value.diagnostics
        assert (diag.span.line, diag.span.col) == (1, col), info.value.render()
    result = Machine(assemble_text("MOV r1, -3\nAGE r1\n")).run()
    assert result.reason == "fault" and "AGE seconds -3" in result.fault.message and result.fault.pc == 1
    result = Machine(assemble_text("MOV r1, 0\nDIV r2, r1, r1\n")).run()  # NaN through a register
    nan = Machine(
        assemble_text("MOV r1, 0\nSUB r2, r1, 1\nMUL r2, r2, 1e308\nMUL r2, r2, 1e308\nAGE r2\n")
    ).run()
    assert nan.reason == "fault" and "AGE seconds" in nan.fault.message


def test_the_memory_check_counts_the_per_device_rows():
    core = dict(config.DEFAULTS, rows=64, cols=64, spaces=64, lanes=64)
    plain = config.device_bytes(core)
    rows = len(NonIdeal(**KEYS).rows())
    assert rows == 8
    assert config.device_bytes({**core, **KEYS}) > plain * (6 + rows) / 6
    assert config.device_bytes({**core, "adc_bits": 4}) == plain  # the ADC keeps nothing per device
    big = dict(config.DEFAULTS, rows=256, cols=256, spaces=256, lanes=64)
    if config.memory_error(big) is None:  # on a machine with room for the plain core
        assert config.memory_error({**big, **KEYS}) is not None or config.MEMORY_LIMIT_BYTES > 8 << 30


def test_checkpoints_across_age_are_bit_exact(tmp_path):
    program = assemble_text(AGEING.format(keys=ALL_KEYS))
    unbroken = Machine(program)
    whole = unbroken.run()
    for stop in (5, 57, 130):
        first = Machine(program)
        first.run(max_steps=stop)
        path = tmp_path / f"c{stop}.npz"
        first.save_checkpoint(path)
        resumed = Machine(program)
        resumed.load_checkpoint(path)
        rest = resumed.run()
        np.testing.assert_array_equal(rest.outputs, whole.outputs)
        for name, array in unbroken.get_state().items():
            np.testing.assert_array_equal(resumed.get_state()[name], array, err_msg=name)
    assert whole.stats["devices"]["switching_events"] > 0
    assert whole.stats["modeled_time_s"] > 40 * 3600


def _ageing_machine() -> Machine:
    m = Machine(assemble_text(AGEING.format(keys=ALL_KEYS)))
    m.run(max_steps=60)
    return m


def _row(machine: Machine, name: str) -> int:
    return machine.core.nonideal.row(name)


@pytest.mark.parametrize(
    "row, value, match",
    [
        ("events", -1.0, "switching event"),
        ("events", 0.5, "switching event"),
        ("stuck", 2.0, "stuck mark"),
        ("gmin", -1.0, "own range"),
        ("gmax", 1e-9, "own range"),
        ("step", 0.0, "step multiplier"),
        ("nu", np.nan, "drift exponent"),
        ("nu", 1e300, "drift exponent"),
        ("t_w", -1.0, "last write"),
        ("t_w", 1e12, "last write"),
        ("g_w", 10.0, "conductance"),
        ("g_w", np.inf, "conductance"),
    ],
)
def test_damaged_per_device_state_is_refused_and_changes_nothing(row, value, match):
    m = _ageing_machine()
    before = m.get_state()
    state = {k: v.copy() for k, v in before.items()}
    state["core_per_device"][_row(m, row), 0, 1, 0, 2] = value
    with pytest.raises(CheckpointError, match=match):
        m.set_state(state)
    for name, array in m.get_state().items():
        np.testing.assert_array_equal(array, before[name], err_msg=name)


def test_a_per_device_array_of_the_wrong_shape_is_refused():
    m = _ageing_machine()
    state = m.get_state()
    state["core_per_device"] = state["core_per_device"][:3]
    with pytest.raises(CheckpointError, match="per_device"):
        m.set_state(state)


def test_every_key_typed_at_the_repl_reaches_the_core():
    out: list[str] = []
    session = Session(out=out.append, err=out.append)
    for key, value in KEYS.items():
        session.execute(f".core cols=2 {key}={value}")
        assert getattr(session.machine.core.nonideal, key) == value, "\n".join(out)
    session.execute(f".core cols=2 {ALL_KEYS}")
    assert session.machine.core.nonideal == NonIdeal(**KEYS)
    session.execute(".core stuck=2")
    assert "stuck: expected <= 1" in out[-1] or any("stuck: expected <= 1" in line for line in out[-3:])


def test_the_repl_takes_the_keys_ages_and_shows_the_wear():
    out: list[str] = []
    session = Session(out=out.append, err=out.append)
    for line in (
        ".core cols=2 spaces=2 read_noise=0 drift=0.05 stuck=0.3 endurance=5 seed=2",
        ".aat x = (0, 1)",
        "FF L0, x",
        ".age 1e6",
        "FFLV r0, L0, x",
        ".state",
        ".age -1",
        ".age soon",
    ):
        session.execute(line)
    text = "\n".join(out)
    assert "aged 1e+06 s: the core's modeled time is 1000000" in text
    assert "drift=0.05" in text and "events a/b" in text and "stuck" in text
    assert "expected a number of seconds >= 0, got '-1'" in text
    assert "expected a number of seconds >= 0, got 'soon'" in text
    assert session.machine.core.nonideal.endurance == 5
    quiet: list[str] = []
    Session(out=quiet.append, err=quiet.append).execute(".age 10")
    assert "no drift" in quiet[-1]
