"""The devices' non-idealities against their laws (docs/devices.md, "kT-RAM devices that
age and fail"): drift's power law, the d2d and c2c spreads (KS), the stuck fraction (binomial), endurance
counts, the ADC's levels, AGE's cost. Statistics against the equations, never against
numbers copied from the implementation."""

import math

import numpy as np
import pytest
from scipy import stats

from vm import Core
from vm.ktram.nonideal import lognormal_sigma

FEEDBACK_STEP = 2e-4  # float: FH drives Ga with 2 V, g += 1e-4 * dV


def _lognormal_ks(values, relative_sd):
    """KS p-value of values against the lognormal of mean 1 and relative sd relative_sd."""
    s = lognormal_sigma(relative_sd)
    return stats.kstest(values, stats.lognorm(s, scale=math.exp(-0.5 * s * s)).cdf).pvalue


# ---------------------------------------------------------------------- drift
def test_log_g_against_log_t_has_slope_minus_nu():
    nu = 0.05
    core = Core(4, 8, spaces_per_lane=2, model="float", init="medium_noise", seed=1, read_noise=0.0, drift=nu)
    g0 = core.g.copy()
    times = np.logspace(3, 4, 11)  # a decade, long after the write at 0 s
    logs = []
    for t in times:
        core.age(t - core.modeled_time_s)
        logs.append(np.log(core.g.copy()))
    slopes = np.polyfit(np.log(times), np.array(logs).reshape(len(times), -1), 1)[0]
    # d ln G / d ln t = -nu t / (t + T0): -nu to 1e-3 over this decade
    np.testing.assert_allclose(slopes, -nu, rtol=1.5e-3)
    # and exactly the law against ln((t + T0) / T0)
    law = g0 * ((times[-1] + 1.0) / 1.0) ** -nu
    np.testing.assert_allclose(core.g, law, rtol=1e-12)


def test_the_spread_of_nu_across_devices_is_drift_spread():
    nu, spread = 0.05, 0.01
    core = Core(8, 8, spaces_per_lane=4, num_lanes=4, read_noise=0.0, drift=nu, drift_spread=spread, seed=5)
    times = np.logspace(2, 3, 5)
    logs = []
    for t in times:
        core.age(t - core.modeled_time_s)
        logs.append(np.log(core.g.ravel()))
    base = np.log((times + 1.0) / 1.0)
    fitted = -np.polyfit(base, np.array(logs), 1)[0]  # each device's own nu
    n = fitted.size
    assert abs(fitted.mean() - nu) < 4 * spread / math.sqrt(n)
    # sample variance against sigma^2: chi-square with n - 1 degrees of freedom
    chi2 = (n - 1) * fitted.var(ddof=1) / spread**2
    assert stats.chi2(n - 1).sf(chi2) > 1e-3 and stats.chi2(n - 1).cdf(chi2) > 1e-3
    np.testing.assert_allclose(fitted, core.device_values("nu").ravel(), rtol=1e-9)


def test_a_write_restarts_the_drift_clock_and_time_passes_during_programs():
    core = Core(1, 1, read_noise=0.0, drift=0.1, seed=2)
    core.age(1000.0)
    core.evaluate((0,), "FH")  # a write at t = 1000 s: Ga moves, Gb (0 V) does not
    t_write = core.device_values("t_w")[0, 0, 0, 0]
    assert t_write == pytest.approx(1000.0)
    ga_written, gb_old = core.device_values("g_w")[:, 0, 0, 0]
    core.age(500.0)
    t = core.modeled_time_s
    assert core.g[0, 0, 0, 0] == pytest.approx(ga_written * ((t - t_write + 1.0) / 1.0) ** -0.1, rel=1e-12)
    assert core.g[1, 0, 0, 0] == pytest.approx(gb_old * (t + 1.0) ** -0.1, rel=1e-12)  # since 0 s
    # a long program ages the core too: a million reads are a modeled second
    before = core.g[1, 0, 0, 0]
    core.execute_stream(np.zeros(100_000, np.int64), np.zeros((100_000, 1), np.int64), ["FFLV"] * 100_000)
    assert core.g[1, 0, 0, 0] < before


@pytest.mark.parametrize("age", [1e-3, 0.5, 1000.0])
def test_a_drifted_byte_device_steps_from_its_nearest_level(age):
    """Byte levels are whole numbers; under drift a device lies just below the level it was
    written to, and a feedback moves it from the nearest level by the whole step it takes
    without drift, up and down (truncating lost a level on every write)."""
    fresh = Core(1, 1, model="byte", read_noise=0.0, seed=2)
    start = fresh.g[0, 0, 0, 0]
    fresh.evaluate((0,), "FH")  # Ga up
    step_up = fresh.g[0, 0, 0, 0] - start
    fresh.evaluate((0,), "RL")  # Ga down
    step_down = fresh.g[0, 0, 0, 0] - start - step_up
    assert step_up > 0 > step_down
    core = Core(1, 1, model="byte", read_noise=0.0, drift=0.05, seed=2)
    core.age(age)
    for op, step in (("FH", step_up), ("RL", step_down)):
        drifted = core.g[0, 0, 0, 0]
        assert drifted != round(drifted)  # between levels
        core.evaluate((0,), op)
        assert core.device_values("g_w")[0, 0, 0, 0] == round(drifted) + step, op


# ---------------------------------------------------------------------- d2d and c2c
def test_d2d_draws_each_device_range_and_step_lognormal():
    sigma = 0.1
    core = Core(16, 16, spaces_per_lane=2, num_lanes=2, d2d=sigma, seed=3)
    for name, nominal in (("gmax", core.gmax), ("gmin", core.gmin), ("step", 1.0)):
        values = core.device_values(name).ravel() / nominal
        assert _lognormal_ks(values, sigma) > 1e-3, name
        assert abs(values.std() / values.mean() - sigma) < 0.1 * sigma
    # a wrong spread is told apart
    assert _lognormal_ks(core.device_values("gmax").ravel() / core.gmax, 1.5 * sigma) < 1e-6


def test_a_d2d_device_moves_by_its_own_step_and_stops_at_its_own_rail():
    core = Core(1, 1, init="low_noiseless", d2d=0.2, read_noise=0.0, seed=11)
    step, gmax = core.device_values("step")[0, 0, 0, 0], core.device_values("gmax")[0, 0, 0, 0]
    before = core.g[0, 0, 0, 0]
    core.evaluate((0,), "FH")
    assert core.g[0, 0, 0, 0] - before == pytest.approx(FEEDBACK_STEP * step, rel=1e-9)
    core.execute_stream(np.zeros(3000, np.int64), np.zeros((3000, 1), np.int64), ["FH"] * 3000)
    assert core.g[0, 0, 0, 0] == gmax


def test_c2c_spreads_each_step_lognormal():
    sigma = 0.2
    core = Core(1, 1, c2c=sigma, read_noise=0.0, seed=4)
    n = 4000
    ga = np.empty(n + 1)
    ga[0] = core.g[0, 0, 0, 0]
    for i, op in enumerate(["FH", "RL"] * (n // 2)):  # Ga up then down: it stays mid-range
        core.evaluate((0,), op)
        ga[i + 1] = core.g[0, 0, 0, 0]
    ratios = np.abs(np.diff(ga)) / FEEDBACK_STEP
    assert _lognormal_ks(ratios, sigma) > 1e-3
    assert abs(ratios.mean() - 1.0) < 4 * sigma / math.sqrt(n)


# ---------------------------------------------------------------------- stuck and endurance
def test_the_stuck_fraction_is_binomial_and_no_drive_moves_them():
    p, high = 0.1, 0.3
    core = Core(4, 8, spaces_per_lane=4, num_lanes=4, stuck=p, stuck_high=high, seed=6, read_noise=0.02)
    marks = core.device_values("stuck")
    n, k = marks.size, int(np.count_nonzero(marks))
    assert abs(k - n * p) < 4 * math.sqrt(n * p * (1 - p))
    k_high = int(np.count_nonzero(marks > 0))
    assert abs(k_high - k * high) < 4 * math.sqrt(k * high * (1 - high))
    np.testing.assert_array_equal(core.g[marks > 0], core.gmax)
    np.testing.assert_array_equal(core.g[marks < 0], core.gmin)
    pinned = core.g[marks != 0].copy()
    rng = np.random.default_rng(0)
    m = 3000
    core.execute_stream(rng.integers(0, 4, m), rng.integers(0, 32, (m, 4)), rng.integers(0, 14, m))
    core.set_gab(0, (0, 1, 2, 3), core.gmax / 2, core.gmax / 3)  # set-up writes are ignored too
    np.testing.assert_array_equal(core.g[marks != 0], pinned)
    assert np.any(core.g[marks == 0] != Core(4, 8, spaces_per_lane=4, num_lanes=4, seed=6).g[marks == 0])


def test_a_device_moves_on_its_first_n_switching_events_and_never_after():
    limit, drives = 7, 40
    core = Core(1, 1, endurance=limit, read_noise=0.0, seed=1)
    ga = [core.g[0, 0, 0, 0]]
    for op in ["FH", "RL"] * (drives // 2):
        core.evaluate((0,), op)
        ga.append(core.g[0, 0, 0, 0])
    assert np.count_nonzero(np.diff(ga)) == limit
    events = core.device_values("events")
    assert events[0, 0, 0, 0] == drives  # every switching drive is counted
    assert events[1, 0, 0, 0] == 0  # Gb sees 0 V: no event
    core.set_gab(0, (0,), core.gmax, core.gmax)  # a worn-out device cannot be programmed either
    assert core.g[0, 0, 0, 0] == ga[-1] and core.g[1, 0, 0, 0] == core.gmax


# ---------------------------------------------------------------------- the ADC
@pytest.mark.parametrize("bits", [1, 3, 6])
def test_adc_reads_take_2_to_the_b_levels(bits):
    levels = 2**bits
    q = 2.0 / levels
    centres = -1.0 + (np.arange(levels) + 0.5) * q
    core = Core(1, 1, spaces_per_lane=4, adc_bits=bits, read_noise=0.0, seed=2)
    rng = np.random.default_rng(bits)
    seen = set()
    for _ in range(400):
        ga, gb = rng.uniform(core.gmin, core.gmax, 4), rng.uniform(core.gmin, core.gmax, 4)
        core.set_gab(0, (0, 0, 0, 0), ga, gb)
        clean = float(np.sum(ga - gb) / np.sum(ga + gb))
        y = core.evaluate((0, 0, 0, 0), "FFLV")
        assert np.min(np.abs(centres - y)) < 1e-12
        assert abs(y - clean) <= q / 2 + 1e-12
        seen.add(round(y, 9))
    assert len(seen) >= min(levels, 4)  # the reads visit several levels


def test_the_adc_quantises_the_report_while_the_analog_read_drives_the_devices():
    ideal = Core(2, 2, spaces_per_lane=3, read_noise=0.02, seed=8, init="medium_noise")
    digital = Core(2, 2, spaces_per_lane=3, read_noise=0.02, seed=8, init="medium_noise", adc_bits=4)
    rng = np.random.default_rng(1)
    n = 300
    args = (np.zeros(n, np.int64), rng.integers(0, 4, (n, 3)), rng.choice([0, 1, 9, 10], n))
    y_ideal, y_digital = ideal.execute_stream(*args), digital.execute_stream(*args)
    reads = np.isin(args[2], [0, 1])
    assert np.all(np.abs(y_digital[reads] - y_ideal[reads]) <= 1 / 16 + 1e-12)
    # feedbacks (RH, RL) use the retained y's sign only, which the ADC keeps
    np.testing.assert_array_equal(ideal.g, digital.g)


# ---------------------------------------------------------------------- AGE
def test_age_adds_its_seconds_to_modeled_time_and_no_energy():
    from ktasm.assembler import assemble_text
    from vm.machine import Machine

    source = """.core cols=2 spaces=2 seed=1 {keys}
.aat x = (0, 1)
        FF.RH r0, L0, x
        ABS   r2, r0
        AGE   86400
        AGE   r2
        FF    r1, L0, x
        OUT   r1
"""
    for keys in ("", "drift=0.05 drift_spread=0.01 d2d=0.1 stuck=0.2 endurance=3 c2c=0.1 adc_bits=5"):
        for run in ("step", "run"):
            machine = Machine(assemble_text(source.format(keys=keys)))
            if run == "step":
                machine.step(2)
            else:
                machine.set_breakpoint(2)
                machine.run()
            before = machine.stats()
            r2 = float(machine.registers[2])
            machine.step(2) if run == "step" else machine.run(max_steps=2)
            after = machine.stats()
            assert after["modeled_energy_j"] == before["modeled_energy_j"]
            assert after["modeled_time_s"] == before["modeled_time_s"] + 86400.0 + r2
            assert after["by_family"]["ktram"]["time_s"] == after["modeled_time_s"]
    # without drift ageing changes no conductance
    core = Core(2, 2, seed=3)
    before = core.g.copy()
    core.age(1e9)
    np.testing.assert_array_equal(core.g, before)
    assert core.modeled_energy_j == 0.0 and core.modeled_time_s == 1e9
    with pytest.raises(ValueError, match="seconds"):
        core.age(-1.0)
    with pytest.raises(ValueError, match="seconds"):
        core.age(float("inf"))
