"""vm.Core as a drop-in for the reference emulator's ``ktram_neural_core.Core`` (issue 20).

Each test checks one part of the reference's public surface against its documented
behaviour (core.py and lane.py of knowm/ktram-neural-core, the newest version with the
comparator): constructor keywords and defaults, attributes, setters, errors, the read-noise
master switch, pulse widths, the MSS thermal voltage, pickling and the FU/FA convention.
"""

from __future__ import annotations

import inspect
import json
import math
import pickle

import numpy as np
import pytest
from conftest import CONFORMANCE

from ktasm.assembler import assemble_text
from vm import Core, config
from vm.ktram.isa import BY_MNEMONIC, OP_TABLES, UnknownNameError
from vm.ktram.kernels import read_sigma
from vm.ktram.models import (
    DEVICE_MODELS,
    P_CMP_V,
    P_MSS_VT,
    P_NOISE_FL,
    P_NOISE_TH,
    P_PW,
    MssParams,
    MSSProfile,
    comparator_code_for,
)
from vm.machine import Machine

CASES_FILE = CONFORMANCE / "ktram_cases.jsonl"  # the repository's copy (tests/data)
Z = (0,)

# The reference's documented defaults (core.py): model-aware voltages and pulse width, and
# the read-noise law's constants.
REFERENCE_DEFAULTS = {
    "read_noise": 0.02,
    "noise_thermal": 0.1,
    "noise_flicker": 1.0,
    "temperature": 298.0,
    "flicker_decades": 6.0,
    "comparator_code": 10,
}
MODEL_DEFAULTS = {
    "float": (1.0, -1.0, 0.05, -0.05, 1e-6, 0.1),
    "byte": (1.0, -1.0, 0.05, -0.05, 1e-6, 255.0),
    "rs": (1.0, -1.0, 0.05, -0.05, 1e-8, 1e-3),
    "mss": (0.25, -0.25, 0.05, -0.05, 1e-6, 1e-3),
}


def reference_sigma(core: Core, y: float, m: float, v: float) -> float:
    """The reference's read_sample law, written from its docstring."""
    f_m = math.sqrt(core.read_noise_ref_m) / math.sqrt(m)
    bw_th = math.sqrt(core.read_noise_ref_pw / core.read_pulse_width)
    ln_ref = core.flicker_decades * math.log(10.0)
    ln_band = ln_ref + math.log(core.read_noise_ref_pw / core.read_pulse_width)
    bw_fl = math.sqrt(ln_band / ln_ref) if ln_band > 0 else 0.0
    th = (
        core.read_noise
        * core.noise_thermal
        * math.sqrt(core.temperature / 298.0)
        * 0.05
        * f_m
        / abs(v)
        * bw_th
    )
    fl = core.read_noise * core.noise_flicker * (1 - y * y) * f_m * bw_fl
    cmp = core.comparator_noise / abs(v)
    return math.sqrt(th * th + fl * fl + cmp * cmp)


# ---------------------------------------------------------------- constructor keywords
@pytest.mark.parametrize("model", sorted(MODEL_DEFAULTS))
def test_defaults_are_the_references(model):
    core = Core(1, 1, model=model)
    vf, vr, vflv, vrlv, pw, gmax = MODEL_DEFAULTS[model]
    assert (
        core.forward_voltage,
        core.reverse_voltage,
        core.forward_low_voltage,
        core.reverse_low_voltage,
    ) == (vf, vr, vflv, vrlv)
    assert core.pulse_width == core.read_pulse_width == core.read_noise_ref_pw == pw
    assert core.read_noise_ref_m == pytest.approx(gmax, rel=1e-15)
    for name, value in REFERENCE_DEFAULTS.items():
        assert getattr(core, name) == value, name
    assert core.fidelity == core.fidelity_name == "ideal"
    assert core.comparator_enabled is False  # the project's default (reference: on); docs/physics.md
    assert (core.profile is not None) == (model == "mss")


def test_every_reference_keyword_is_accepted():
    profile = MSSProfile(Ron=2e3, Roff=2e4, N=500, tau=2e-5, Von=0.3, Voff=0.25, temperature=310.0)
    core = Core(
        2,
        3,
        spaces_per_lane=2,
        num_lanes=2,
        model="MSS",
        fidelity="ideal",
        init="Medium",
        seed=5,
        profile=profile,
        forward_voltage=0.3,
        reverse_voltage=-0.35,
        forward_low_voltage=0.04,
        reverse_low_voltage=-0.06,
        pulse_width=2e-6,
        read_pulse_width=1e-6,
        read_noise=0.03,
        noise_thermal=0.2,
        noise_flicker=0.8,
        temperature=320.0,
        read_noise_ref_m=4e-4,
        read_noise_ref_pw=3e-6,
        flicker_decades=5.0,
        comparator_enabled=True,
        comparator_code=45,
    )
    assert (core.crossbar_rows, core.crossbar_cols, core.spaces_per_lane, core.num_lanes) == (2, 3, 2, 2)
    assert core.model_name == "mss" and core.init_name == "medium" and core.profile is profile
    assert (
        core.forward_voltage,
        core.reverse_voltage,
        core.forward_low_voltage,
        core.reverse_low_voltage,
    ) == (0.3, -0.35, 0.04, -0.06)
    assert (core.pulse_width, core.read_pulse_width, core.read_noise_ref_pw) == (2e-6, 1e-6, 3e-6)
    assert (core.read_noise, core.noise_thermal, core.noise_flicker, core.temperature) == (
        0.03,
        0.2,
        0.8,
        320.0,
    )
    assert (core.read_noise_ref_m, core.flicker_decades) == (4e-4, 5.0)
    assert core.comparator_enabled and core.comparator_code == 45
    assert core.comparator_noise == pytest.approx(1e-3, abs=1e-15)
    assert core.gmax == pytest.approx(1 / 2e3) and core.gmin == pytest.approx(1 / 2e4)
    assert core.params[P_PW] == 2e-6
    assert core.params[P_MSS_VT] == profile.vt  # the devices' kT/q is the profile's, not the core's


def test_short_names_are_aliases_of_one_table():
    params = inspect.signature(Core).parameters
    for key in config.CORE_KEYS:
        assert key.argument in params, f".core {key.key} -> {key.argument} is not a Core keyword"
    for alias, keyword in config.CORE_ARGUMENT_ALIASES.items():
        assert keyword in params and alias not in params
    a = Core(1, 1, model="rs", Vf=0.7, Vr=-0.8, Vflv=0.02, Vrlv=-0.03, comparator=True)
    b = Core(
        1,
        1,
        model="rs",
        forward_voltage=0.7,
        reverse_voltage=-0.8,
        forward_low_voltage=0.02,
        reverse_low_voltage=-0.03,
        comparator_enabled=True,
    )
    np.testing.assert_array_equal(a.params, b.params)
    old = Core(1, 1, model="mss", mss=MssParams(r_on=2e3, tau=3e-5))
    assert old.mss == Core(1, 1, model="mss", profile=MSSProfile(Ron=2e3, tau=3e-5)).mss
    with pytest.raises(TypeError, match="both 'forward_voltage' and its alias 'Vf'"):
        Core(1, 1, forward_voltage=0.5, Vf=0.6)
    with pytest.raises(TypeError, match="did you mean 'forward_voltage'"):
        Core(1, 1, forward_volage=0.5)


def test_core_keys_reach_the_core():
    program = assemble_text(
        ".core cols=2 model=mss vf=0.3 pulse_width=2e-6 read_pulse_width=1e-7 comparator=1 "
        "comparator_code=20 noise_thermal=0.3 noise_flicker=0.5 flicker_decades=4 "
        "read_noise_ref_m=5e-4 read_noise_ref_pw=1e-6 convention=reference\nHALT\n"
    )
    core = Machine(program).core
    assert (core.forward_voltage, core.pulse_width, core.read_pulse_width) == (0.3, 2e-6, 1e-7)
    assert core.comparator_enabled is True and core.comparator_code == 20
    assert (core.noise_thermal, core.noise_flicker, core.flicker_decades) == (0.3, 0.5, 4.0)
    assert (core.read_noise_ref_m, core.read_noise_ref_pw, core.convention) == (5e-4, 1e-6, "reference")
    default = Machine(assemble_text(".core cols=2\nHALT\n")).core
    assert default.convention == "project" and default.noise_thermal == 0.1


# ---------------------------------------------------------------- attributes and lane.spaces
def test_configuration_attributes_can_be_assigned_and_take_effect():
    a = Core(1, 1, model="rs", init="medium_noiseless", read_noise=0.0)
    b = Core(1, 1, model="rs", init="medium_noiseless", read_noise=0.0, forward_voltage=1.4, pulse_width=3e-8)
    a.forward_voltage = 1.4
    a.pulse_width = 3e-8
    np.testing.assert_array_equal(a.params, b.params)
    assert [a.evaluate(Z, i) for i in ("FF", "FH", "RF")] == [b.evaluate(Z, i) for i in ("FF", "FH", "RF")]
    with pytest.raises(ValueError, match="pulse_width"):
        a.pulse_width = -1.0
    assert a.pulse_width == 3e-8  # a bad value changes nothing


def test_lane_spaces_view_the_devices():
    core = Core(2, 2, spaces_per_lane=3, num_lanes=2, model="byte", init="medium_noise", seed=3)
    lane = core.lane(1)
    assert len(lane.spaces) == 3 and core.lane() is core.lane(0)
    space = lane.spaces[2]
    assert space.size == space.a.size == 4 and (space.a.rows, space.a.cols) == (2, 2)
    assert space.conductances(3) == core.read_gab(1, (None, None, 3))
    assert space.conductances(None) == (0.0, 0.0)
    device = space.b.device_at(1)
    assert (device.GMIN, device.GMAX) == (1.0, 255.0)
    device.set_g(300.7)  # clamped, byte truncates
    assert device.g() == 255.0 == core.read_gab(1, (None, None, 1))[1]
    assert space.a.device_at(1).g() == core.read_gab(1, (None, None, 1))[0]
    lane.y = 0.25
    assert core.lane_y[1] == 0.25 and core.evaluate((0, None, None), "FZ", lane_index=1) == 0.25
    mss = Core(1, 1, model="mss", init="medium_noiseless")
    assert mss.lane(0).spaces[0].a.device_at(0).x == float(mss.x[0, 0, 0, 0])


# ---------------------------------------------------------------- methods
def test_v_app_and_drive_voltage():
    core = Core(
        1, 1, forward_voltage=0.9, reverse_voltage=-1.1, forward_low_voltage=0.04, reverse_low_voltage=-0.03
    )
    assert [core.v_app(i) for i in ("FF", "RF", "FFLV", "RFLV", "FH", "RU")] == [
        0.9,
        -1.1,
        0.04,
        -0.03,
        0.9,
        -1.1,
    ]
    assert core.v_app(BY_MNEMONIC["FFLV"]) == 0.04
    assert (core.drive_voltage("forward"), core.drive_voltage("reverse")) == (0.9, -1.1)
    assert (core.drive_voltage(1), core.drive_voltage(-1)) == (0.9, -1.1)
    with pytest.raises(ValueError, match="direction"):
        core.drive_voltage("sideways")


def test_set_voltages_leaves_what_it_is_not_given():
    core = Core(1, 1)
    core.set_voltages(forward_low_voltage=0.02)
    assert (
        core.forward_voltage,
        core.reverse_voltage,
        core.forward_low_voltage,
        core.reverse_low_voltage,
    ) == (1.0, -1.0, 0.02, -0.05)
    core.set_voltages(1.5, -0.5)
    assert (core.forward_voltage, core.reverse_voltage, core.forward_low_voltage) == (1.5, -0.5, 0.02)
    with pytest.raises(ValueError, match="reverse_voltage"):
        core.set_voltages(2.0, 0.0)  # refused whole: forward_voltage is left at 1.5
    assert core.forward_voltage == 1.5


def test_pulse_width_setters_are_independent():
    core = Core(1, 1, model="rs")
    core.set_pulse_width(5e-8)
    assert (core.pulse_width, core.read_pulse_width, core.read_noise_ref_pw) == (5e-8, 1e-8, 1e-8)
    core.set_read_pulse_width(2e-9)
    assert (core.pulse_width, core.read_pulse_width) == (5e-8, 2e-9)
    assert read_sigma(0.2, 1e-3, 1.0, core.params) == pytest.approx(
        reference_sigma(core, 0.2, 1e-3, 1.0), rel=1e-12
    )


def test_set_read_noise_follows_the_law():
    core = Core(1, 1, model="byte")
    core.set_read_noise(
        read_noise=0.05,
        noise_thermal=0.4,
        noise_flicker=0.7,
        temperature=350.0,
        read_noise_ref_m=100.0,
        read_noise_ref_pw=4e-6,
        flicker_decades=3.0,
    )
    assert (core.read_noise, core.noise_thermal, core.noise_flicker, core.temperature) == (
        0.05,
        0.4,
        0.7,
        350.0,
    )
    assert (core.read_noise_ref_m, core.read_noise_ref_pw, core.flicker_decades) == (100.0, 4e-6, 3.0)
    core.set_comparator(True, 30)
    for y, m, v in ((0.0, 255.0, 0.05), (0.7, 40.0, 1.0), (-0.3, 510.0, -0.02)):
        assert read_sigma(y, m, v, core.params) == pytest.approx(reference_sigma(core, y, m, v), rel=1e-12)
    core.set_read_noise(noise_flicker=0.1)  # the rest as it was
    assert (core.read_noise, core.noise_flicker, core.temperature) == (0.05, 0.1, 350.0)


def test_set_comparator_and_its_noise_register():
    core = Core(1, 1)
    assert core.comparator_noise == 0.0
    core.set_comparator(enabled=True)
    assert core.comparator_noise == pytest.approx(300e-6, abs=1e-15)
    assert core.set_comparator_noise(1e-3) == 45 == core.comparator_code  # not 44 (binary floats)
    assert core.set_comparator_noise(300e-6) == 10
    assert core.set_comparator_noise(5.2e-3) == 255
    assert core.set_comparator_noise(1.01e-3, round_ok=True) == 46
    for bad, needle in (
        (99e-6, "below the register's floor"),
        (1.01e-3, "not a register code"),
        (5.3e-3, "above the register's ceiling"),
    ):
        with pytest.raises(ValueError, match=needle):
            core.set_comparator_noise(bad)
    assert core.comparator_code == 46  # refusals change nothing
    core.set_comparator(enabled=False)
    assert core.comparator_noise == 0.0 and core.comparator_code == 46
    assert comparator_code_for(0.0031) == 150


def test_read_sample_draws_from_the_law():
    core = Core(1, 1, seed=4, comparator_enabled=True)
    n = 20000
    ys = np.array([core.read_sample(0.3, 0.02, 0.1) for _ in range(n)])
    sigma = reference_sigma(core, 0.3, 0.02, 0.1)
    assert ys.std(ddof=1) == pytest.approx(sigma, rel=0.03)
    assert abs(ys.mean() - 0.3) < 5 * sigma / math.sqrt(n)
    assert core.read_sample(0.3, 0.0, 0.1) == 0.3  # nothing selected: clean
    assert np.all(np.abs([core.read_sample(0.999, 1e-4, 0.001) for _ in range(50)]) <= 1.0)  # clipped


def test_pickle_round_trips():
    core = Core(
        2,
        2,
        spaces_per_lane=2,
        num_lanes=2,
        model="mss",
        init="medium_noise",
        seed=11,
        comparator_enabled=True,
        convention="reference",
        pulse_width=2e-6,
    )
    for i in range(20):
        core.evaluate((i % 4, (i + 1) % 4), ("FF", "FU", "RF", "RH")[i % 4], lane_index=i % 2)
    copy = pickle.loads(pickle.dumps(core))
    assert copy.pulse_width == 2e-6 and copy.convention == "reference" and copy.comparator_enabled
    stream = ([0, 1] * 50, [(i % 4, None) for i in range(100)], ["FF", "FA", "RFLV", "RU"] * 25)
    np.testing.assert_array_equal(core.execute_stream(*stream), copy.execute_stream(*stream))
    for name, value in core.get_state().items():
        np.testing.assert_array_equal(getattr(copy, name), value, err_msg=name)
    copy.set_read_noise(read_noise=0.5)  # the copy is its own core
    assert core.read_noise == 0.02


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call",
    [
        lambda: Core(1, 1).evaluate(Z, "ZZ"),
        lambda: Core(1, 1).lane(0).evaluate(Z, "XX"),
        lambda: Core(1, 1).v_app("NOPE"),
        lambda: Core(1, 1, model="quantum"),
        lambda: Core(1, 1, init="warm"),
        lambda: Core(1, 1, fidelity="physical"),
        lambda: Core(1, 1, convention="mine"),
    ],
)
def test_unknown_names_are_key_and_value_errors(call):
    with pytest.raises(KeyError) as err:
        call()
    assert isinstance(err.value, ValueError) and isinstance(err.value, UnknownNameError)
    assert not str(err.value).startswith("'")  # the message, not KeyError's quoted repr


def test_the_references_sixth_positional_argument_is_explained():
    with pytest.raises(KeyError, match="pass it and the arguments after it by keyword"):
        Core(1, 1, 1, 1, "float", "ideal", "medium")


@pytest.mark.parametrize(
    "code,error",
    [
        (2.5, TypeError),
        (True, TypeError),
        (np.float64(3.0), TypeError),
        ("10", TypeError),
        (256, ValueError),
        (-1, ValueError),
    ],
)
def test_comparator_code_the_register_cannot_hold(code, error):
    with pytest.raises(error, match="comparator_code"):
        Core(1, 1, comparator_code=code)
    core = Core(1, 1)
    with pytest.raises(error, match="comparator_code"):
        core.set_comparator(code=code)
    with pytest.raises(error, match="comparator_code"):
        core.comparator_code = code
    assert core.comparator_code == 10
    assert Core(1, 1, comparator_code=np.int64(7)).comparator_code == 7


# ---------------------------------------------------------------- read_noise = 0 is the master switch
@pytest.mark.parametrize("model", sorted(MODEL_DEFAULTS))
def test_read_noise_zero_is_clean_whatever_the_comparator(model):
    def pair(**kw):
        return Core(1, 2, model=model, init="medium_noise", seed=2, read_noise=0.0, **kw)

    quiet = pair(comparator_enabled=True, comparator_code=255)
    assert quiet.params[P_CMP_V] == 0.0 and quiet.comparator_noise > 0  # the register is kept, unused
    before = quiet.rng_state.copy()
    assert quiet.read_sample(0.4, 1.0, 0.05) == 0.4
    y_clean = quiet.weights(0, (1,))[0]
    assert quiet.evaluate((1,), "FFLV", noise=0.9) == y_clean
    if model != "mss":  # an MSS drive draws its switching; a clean read draws nothing
        np.testing.assert_array_equal(quiet.rng_state, before)
    stream = ([0] * 60, [(i % 2,) for i in range(60)], ["FF", "RH", "RFLV", "FU"] * 15)
    np.testing.assert_array_equal(
        pair(comparator_enabled=True).execute_stream(*stream), pair().execute_stream(*stream)
    )
    quiet.set_read_noise(read_noise=0.02)  # back on: the comparator term returns
    assert quiet.params[P_CMP_V] == pytest.approx(5.2e-3)


# ---------------------------------------------------------------- pulse widths and temperature
@pytest.mark.parametrize("model", ["rs", "mss"])
def test_a_read_writes_for_pulse_width_not_read_pulse_width(model):
    def run(**kw):
        core = Core(1, 1, model=model, init="medium_noiseless", seed=9, read_noise=0.0, **kw)
        ys = core.execute_stream([0] * 40, [Z] * 40, ["FF", "RH"] * 20)
        return ys, core.g.copy(), core.modeled_time_s

    ys, g, t = run()
    ys_short, g_short, t_short = run(read_pulse_width=1e-11)
    np.testing.assert_array_equal(ys, ys_short)
    np.testing.assert_array_equal(g, g_short)
    assert t == t_short == pytest.approx(40 * DEVICE_MODELS[model].pulse_width)


def test_noise_bandwidth_is_anchored_to_the_cores_pulse_width():
    default, slow = Core(1, 1), Core(1, 1, pulse_width=1e-5)
    assert slow.read_noise_ref_pw == 1e-5 and slow.read_pulse_width == 1e-5
    assert slow.params[P_NOISE_TH] == default.params[P_NOISE_TH]
    assert slow.params[P_NOISE_FL] == default.params[P_NOISE_FL]
    short = Core(1, 1, pulse_width=1e-5, read_pulse_width=1e-7)  # 100x the bandwidth
    assert short.params[P_NOISE_TH] == pytest.approx(10 * default.params[P_NOISE_TH], rel=1e-12)
    assert short.params[P_NOISE_FL] == pytest.approx(default.params[P_NOISE_FL] * math.sqrt(8 / 6), rel=1e-12)


def test_mss_thermal_voltage_stays_at_the_profiles_temperature():
    room = MSSProfile().vt
    assert room == pytest.approx(0.025680, abs=2e-6)  # kT/q at 298 K
    hot_core = Core(1, 1, model="mss", temperature=400.0)
    assert hot_core.params[P_MSS_VT] == room
    assert hot_core.params[P_NOISE_TH] > Core(1, 1, model="mss").params[P_NOISE_TH]  # read noise does see it
    hot_devices = Core(1, 1, model="mss", profile=MSSProfile(temperature=400.0))
    assert hot_devices.params[P_MSS_VT] == pytest.approx(room * 400 / 298, rel=1e-12)


def test_mss_init_stores_a_whole_ohm_resistance():
    core = Core(1, 1, model="mss", init="medium_noiseless")
    ga, gb = core.read_gab(0, Z)
    # g = 1e-4 + 0.5 * 9e-4 = 5.5e-4 S is 1818.18 ohm: the device starts at 1818 ohm
    assert ga == gb and 1 / ga == pytest.approx(1818.0, abs=1e-9)
    noisy = Core(2, 2, model="mss", init="medium_high_noise", seed=1)
    r = 1 / noisy.g
    np.testing.assert_allclose(r, np.round(r), atol=1e-8)


# ---------------------------------------------------------------- FU/FA convention
def _reference_stream(entry):
    swap = {"FU": "FA", "FA": "FU"}
    return [entry[0], entry[1], swap.get(entry[2], entry[2]), *entry[3:]]


CASES = [json.loads(line) for line in CASES_FILE.open() if line.strip()]
SWAPPING = [c for c in CASES if any(e[2] in ("FU", "FA") for e in c["stream"])][:40]


def test_reference_convention_swaps_forward_fu_fa_only():
    project, reference = OP_TABLES["project"], OP_TABLES["reference"]
    differs = sorted(
        {name for name, ins in BY_MNEMONIC.items() if (project[ins.code] != reference[ins.code]).any()}
    )
    assert differs == ["FA", "FU"]
    assert reference[BY_MNEMONIC["FU"].code].tolist() == project[BY_MNEMONIC["FA"].code].tolist()


@pytest.mark.parametrize("case", SWAPPING, ids=[c["id"] for c in SWAPPING])
def test_a_ported_reference_stream_behaves_as_it_did(case):
    """A conformance stream written in the reference's own FU/FA, run with convention="reference"."""
    rows, cols = case["crossbar"]
    core = Core(
        rows,
        cols,
        spaces_per_lane=case["spaces_per_lane"],
        num_lanes=case["num_lanes"],
        model=case["model"],
        init=case["init"],
        seed=case["seed"],
        read_noise=case["read_noise"],
        convention="reference",
    )
    for step in case["setup"]:
        if step["op"] == "set_start_y":
            core.set_start_y(step["lane"], tuple(step["aat"]), y0=step["y0"], level=step["level"])
        else:
            core.set_gab(step["lane"], tuple(step["aat"]), step["ga"], step["gb"])
    got = [
        core.lane(e[0]).evaluate(tuple(e[1]), e[2], noise=e[3] if len(e) > 3 else 0.0)
        for e in map(_reference_stream, case["stream"])
    ]
    np.testing.assert_allclose(got, case["expect"], rtol=1e-12, atol=0)


def test_core_convention_key_runs_a_reference_program():
    body = ".aat z = 0\nSETY L0, z, 0.3, 0.4\nLOOP 20\nFF r0, L0, z\nFU L0, z\nOUT r0\nENDLOOP\n"
    ported = Machine(assemble_text(".core cols=1 read_noise=0 convention=reference\n" + body)).run().outputs
    core = Core(1, 1, read_noise=0.0, seed=0, convention="reference")
    core.set_start_y(0, Z, 0.3, 0.4)
    expected = []
    for _ in range(20):
        expected.append(core.evaluate(Z, "FF"))
        core.evaluate(Z, "FU")
    assert ported.tolist() == expected
    project = Machine(assemble_text(".core cols=1 read_noise=0\n" + body.replace("FU", "FA"))).run().outputs
    assert project.tolist() == expected


# ---------------------------------------------------------------- a reference script, unchanged
def test_a_reference_script_runs_unchanged():
    """The reference's own core tests, as a ported script would run them (reference FU/FA)."""
    core = Core(1, 1, model="byte", init="medium_noiseless", convention="reference")
    lane = core.lane(0)
    lane.evaluate(Z, "FF")  # 128/128 reads y = 0 and adapts both by +1
    assert core.read_gab(0, Z) == (129.0, 129.0)
    lane.evaluate(Z, "RH")  # Vy = -1: dVa = 0, dVb = -2
    assert core.read_gab(0, Z) == (129.0, 127.0)

    core = Core(1, 1, model="float", init="medium_noiseless", read_noise=0)
    lane = core.lane(0)
    lane.evaluate(Z, "RH")
    assert (lane.evaluate(Z, "FF") > 0) == (lane.evaluate(Z, "RF") > 0)
    y = lane.evaluate(Z, "FF")
    assert lane.evaluate(Z, "FZ") == y == lane.y
    ga0, gb0 = core.read_gab(0, Z)
    lane.evaluate(Z, "FZ")
    ga1, gb1 = core.read_gab(0, Z)
    assert ga1 - ga0 == pytest.approx(gb1 - gb0)

    two = Core(1, 1, spaces_per_lane=2, model="float", init="medium_noiseless", read_noise=0)
    assert two.lane(0).evaluate((0, None), "FF") == pytest.approx(0.0)
    with pytest.raises(ValueError):
        two.lane(0).evaluate((0,), "FF")
    try:
        two.lane(0).evaluate((0, None), "ZZ")
    except KeyError as err:  # the reference's type
        assert "ZZ" in str(err)
    else:
        raise AssertionError("an unknown instruction must raise")

    # the reference's run-time knobs
    core.set_voltages(forward_low_voltage=0.02)
    core.set_read_noise(read_noise=0.02)
    core.set_comparator(enabled=True, code=45)
    assert core.comparator_noise == pytest.approx(1e-3)
    core.set_read_pulse_width(core.pulse_width / 4)
    ys = np.array([lane.evaluate(Z, "FFLV") for _ in range(4000)])
    m = sum(core.read_gab(0, Z))
    assert ys.std(ddof=1) == pytest.approx(reference_sigma(core, float(ys.mean()), m, 0.02), rel=0.06)
