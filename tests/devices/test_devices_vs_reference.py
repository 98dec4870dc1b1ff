"""Device kernels (Numba) against their plain NumPy twins on random inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vm.config import DEVICE_KINDS
from vm.devices import langevin, layout, mtj, pbit
from vm.devices import reference as ref
from vm.devices.layout import build

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def params(kind, **values):
    spec = DEVICE_KINDS[kind]
    full = spec.defaults()
    full.update(values)
    return build([{"kind": kind, "name": "d", "values": full}])[2][0]


def states(seed):
    s = np.random.default_rng(seed).integers(1, 2**63, size=4, dtype=np.uint64)
    return s.copy(), s.copy()


def assert_twins(fast, slow, st_fast, st_slow):
    # an output that is a sum cancelling to near 0 keeps only absolute accuracy: compare it
    # at the scale of the largest output (hypothesis found a 5e-12 relative gap at 1e-16)
    scale = float(np.abs(slow).max()) if np.size(slow) else 0.0
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=max(1e-12 * scale, 1e-300))
    np.testing.assert_array_equal(st_fast, st_slow)


@SETTINGS
@given(
    st.integers(1, 150),
    st.integers(0, 2**32),
    st.floats(-5, 2),
    st.floats(0, 1),
    st.floats(0.0, 2.0),
    st.sampled_from([0.01, 0.05, 0.2]),
    st.sampled_from([0.05, 0.3, 1.0]),
)
def test_relax(n, seed, j2, j3, temperature, dt, tf):
    p = params("bank", n=n, j2=j2, j3=j3, j4=1.0, temperature=temperature, dt=dt, tf=tf, rail=3.0)
    rng = np.random.default_rng(seed)
    x0, cur = rng.normal(size=n), rng.normal(size=n)
    a, b = x0.copy(), x0.copy()
    sa, sb = states(seed)
    assert langevin.relax(a, cur, p, sa) == ref.relax(b, cur, p, sb)
    assert_twins(a, b, sa, sb)


@SETTINGS
@given(st.integers(1, 100), st.integers(0, 2**32), st.floats(-3, 3), st.floats(0, 3), st.floats(1e-9, 1e-5))
def test_ou_and_mixture(n, seed, mean, scale, window):
    p = params("ou", n=n, tau0=1e-7, window=window)
    x0 = np.random.default_rng(seed).normal(size=n)
    a, b = x0.copy(), x0.copy()
    sa, sb = states(seed)
    langevin.ou_step(a, mean, scale, p, sa)
    ref.ou_step(b, mean, scale, p, sb)
    assert_twins(a, b, sa, sb)
    table = np.abs(np.random.default_rng(seed + 1).normal(size=(3, 3)))
    table[1, 0] = 0.0  # a zero-weight component is never picked
    langevin.mixture_step(a, table, p, sa)
    ref.mixture_step(b, table, p, sb)
    assert_twins(a, b, sa, sb)


def device_spread(rng, n, rp=5e3, tmr=1.0):
    """Per-device rp and TMR0 with a spread, as the machine draws them."""
    return rp * np.exp(0.05 * rng.normal(size=n)), tmr * (1.0 + 0.03 * rng.normal(size=n))


@SETTINGS
@given(
    st.integers(1, 200),
    st.integers(0, 2**32),
    st.floats(0.0, 2.5),
    st.floats(0.0, 2e-8),
    st.sampled_from(["reset", "toggle"]),
    st.sampled_from([0.0, 0.02]),
    st.booleans(),
)
def test_mtj_pulse_read_and_sense(n, seed, volts, width, mode, noise, per_device):
    p = params("mtj", n=n, mode=mode, read_noise=noise)
    rng = np.random.default_rng(seed)
    v50s = 1.5 + 0.1 * rng.normal(size=n)
    rps, tmrs = device_spread(rng, n)
    amps = volts + 0.1 * rng.normal(size=n) if per_device else np.zeros(0)
    s0 = (rng.random(n) < 0.5).astype(float)
    a, b = s0.copy(), s0.copy()
    sa, sb = states(seed)
    cost_a = mtj.pulse(a, v50s, rps, tmrs, p, amps, volts, width, sa)
    cost_b = ref.pulse(b, v50s, rps, tmrs, p, amps, volts, width, sb)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(sa, sb)
    np.testing.assert_allclose(cost_a, cost_b, rtol=1e-12)
    np.testing.assert_allclose(mtj.sense_cost(a, rps, tmrs, p), ref.sense_cost(b, rps, tmrs, p), rtol=1e-12)
    for resistance in (False, True):
        out_a, out_b = np.zeros(n), np.zeros(n)
        e_a = mtj.read(out_a, a, rps, tmrs, p, 0.2, resistance, sa)
        e_b = ref.read(out_b, b, rps, tmrs, p, 0.2, resistance, sb)
        assert_twins(out_a, out_b, sa, sb)
        assert e_a == pytest.approx(e_b, rel=1e-12)
    e_a, e_b = mtj.reset(a, rps, tmrs, p), ref.reset(b, rps, tmrs, p)
    np.testing.assert_array_equal(a, b)
    assert e_a == pytest.approx(e_b, rel=1e-12)


@SETTINGS
@given(
    st.integers(1, 6),
    st.integers(1, 6),
    st.integers(1, 4),
    st.integers(0, 2**32),
    st.lists(st.sampled_from([0.0, 0.1, 0.5, 0.9, 1.0]), min_size=1, max_size=4),
    st.sampled_from([0.0, 0.03]),
)
def test_pairs(rows, cols, levels, seed, qs, noise):
    p = params("pairs", rows=rows, cols=cols, levels=levels, scale=2.0, read_noise=noise)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(-2.5, 2.5, size=rows * cols)
    n = rows * cols * levels
    rps, tmrs = device_spread(rng, 2 * n)
    d_a, p_a, d_b, p_b = (np.zeros(n) for _ in range(4))
    cache = np.zeros(layout.pairs_cache_length(rows * cols, n))
    e_a = mtj.pairs_load(d_a, p_a, rps, tmrs, cache, p, weights)
    e_b = ref.pairs_load(d_b, p_b, rps, tmrs, cache, p, weights)
    np.testing.assert_array_equal(d_a, d_b)
    assert e_a == pytest.approx(e_b, rel=1e-12)
    v50s = 1.5 + 0.05 * rng.normal(size=n)
    x = rng.normal(size=cols)
    sa, sb = states(seed)
    macs_twin(p, (d_a, p_a), (d_b, p_b), v50s, rps, tmrs, cache, x, qs, sa, sb)
    cells_a, cells_b = np.zeros(n), np.zeros(n)
    e_a = mtj.pairs_state(cells_a, d_a, p_a, rps, tmrs, p, sa)
    e_b = ref.pairs_state(cells_b, d_b, p_b, rps, tmrs, p, sb)
    assert_twins(cells_a, cells_b, sa, sb)
    assert e_a == pytest.approx(e_b, rel=1e-12)


def run_pairs_twins(p, rows, cols, levels, qs, seed):
    """The kernel and the twin through PPLOAD then MACs at qs; p-bits, generator and costs equal."""
    rng = np.random.default_rng(seed)
    n = rows * cols * levels
    rps, tmrs = device_spread(rng, 2 * n)
    d_a, p_a, d_b, p_b = (np.zeros(n) for _ in range(4))
    cache = np.zeros(layout.pairs_cache_length(rows * cols, n))
    weights = rng.uniform(-1.2, 1.2, size=rows * cols)
    mtj.pairs_load(d_a, p_a, rps, tmrs, cache, p, weights)
    ref.pairs_load(d_b, p_b, rps, tmrs, cache, p, weights)
    v50s = 1.5 + 0.1 * rng.normal(size=n)
    x = rng.normal(size=cols)
    sa, sb = states(seed)
    macs_twin(p, (d_a, p_a), (d_b, p_b), v50s, rps, tmrs, cache, x, qs, sa, sb)


def macs_twin(p, kernel_bits, twin_bits, v50s, rps, tmrs, cache, x, qs, sa, sb):
    """PPMAC at each q of qs in turn (a deterministic use after another writes nothing),
    by the kernel on kernel_bits (data bits, p-bits) and by the twin on twin_bits: outputs,
    p-bits, generators and costs equal."""
    (d_a, p_a), (d_b, p_b) = kernel_bits, twin_bits
    rows = int(p[mtj.PP_ROWS])
    for q in qs:
        out_a, out_b = np.zeros(rows), np.zeros(rows)
        cost_a = mtj.pairs_mac(out_a, d_a, p_a, v50s, rps, tmrs, cache, p, x, q, sa)
        cost_b = ref.pairs_mac(out_b, d_b, p_b, v50s, rps, tmrs, cache, p, x, q, sb)
        np.testing.assert_array_equal(p_a, p_b)
        assert_twins(out_a, out_b, sa, sb)
        np.testing.assert_allclose(cost_a, cost_b, rtol=1e-12)


@pytest.mark.parametrize(
    "keys",
    [
        {},
        {"window": 0.001},  # |v/w| past EXP_LIMIT: no table entry, every keep exact
        {"t_prec": 1e-10},  # the pulse outlasts precession: the thermal decay term
        {"temperature": 400.0, "read_noise": 0.0},
    ],
)
def test_pairs_table_paths_match_the_twin(keys):
    # q = 0 after stochastic uses reads the cached sums and writes the p-bits back; q = 1
    # twice in a row visits no device
    p = params("pairs", rows=3, cols=5, levels=31, scale=1.0, spread=0.1, **keys)
    run_pairs_twins(p, 3, 5, 31, [0.0, 0.9, 0.0, 0.3, 1.0, 1.0, 0.5, 0.0, 0.0], seed=7)


def test_switch_near_is_within_a_thousandth_of_the_margin():
    """pairs_mac decides a keep by switch_near where it is more than MARGIN from the draw:
    its error against the exact probability must stay far below MARGIN wherever the table
    has entries (|v/w| <= EXP_LIMIT)."""
    rng = np.random.default_rng(3)
    for keys in ({}, {"t_prec": 1e-10}, {"window": 0.0026}):
        p = params("pairs", rows=1, cols=1, levels=1, **keys)
        base = mtj.PAIRS_BASE
        t = mtj.first_peak_time(p[base + mtj.R_THALF], p[base + mtj.R_TPHI])
        w = p[base + mtj.R_WINDOW] * p[base + mtj.R_TEMP] / 300.0
        limit = mtj.EXP_LIMIT * w
        worst = 0.0
        for v, v50 in rng.uniform(-limit, limit, size=(4000, 2)):
            sw_w, prec, peak, decay = mtj.switch_setup(v, t, p, base)
            exact = mtj.switch_probability(v, t, v50, p, base)
            near = mtj.switch_near(math.exp(-v / w) * math.exp(v50 / w), prec / peak, decay)
            worst = max(worst, abs(near - exact))
        assert worst < 1e-3 * mtj.MARGIN, (keys, worst)


@SETTINGS
@given(
    st.integers(1, 50),
    st.integers(0, 2**32),
    st.floats(-3, 3),
    st.sampled_from([2, 4, 6]),
    st.floats(-1, 1),
    st.floats(-0.5, 0.5),
)
def test_pbits_and_ising(n, seed, beta, side, coupling, field):
    rng = np.random.default_rng(seed)
    a_in = rng.normal(size=n)
    out_a, out_b = np.zeros(n), np.zeros(n)
    sa, sb = states(seed)
    pbit.vpbit(out_a, a_in, beta, sa)
    ref.vpbit(out_b, a_in, beta, sb)
    assert_twins(out_a, out_b, sa, sb)
    assert pbit.pdit(a_in, beta, sa) == ref.pdit(a_in, beta, sb)
    spins = np.where(rng.random(side * side) < 0.5, 1.0, -1.0)
    ga, gb = spins.copy(), spins.copy()
    for _ in range(3):
        pbit.ising_sweep(ga, side, coupling, field, beta, sa)
        ref.ising_sweep(gb, side, coupling, field, beta, sb)
    assert_twins(ga, gb, sa, sb)


@pytest.mark.parametrize("side", [18, 34, 40])
@pytest.mark.parametrize("spins_are", ["signs", "with zeros", "fractional"])
def test_ising_twin_on_lattices_of_several_row_groups(side, spins_are):
    """Lattices of more than one group of rows, rows whose sites are not a whole number of
    lane words, and each of the kernel's paths: +-1 spins (the split lattice), spins with
    zeros (the table), fractional spins (tanh)."""
    rng = np.random.default_rng(side)
    spins = np.where(rng.random(side * side) < 0.5, 1.0, -1.0)
    if spins_are == "with zeros":
        spins[rng.random(side * side) < 0.1] = 0.0
    elif spins_are == "fractional":
        spins[rng.random(side * side) < 0.1] = 0.3
    ga, gb = spins.copy(), spins.copy()
    sa, sb = states(side)
    for _ in range(2):
        pbit.ising_sweep(ga, side, 0.7, 0.1, 0.44, sa)
        ref.ising_sweep(gb, side, 0.7, 0.1, 0.44, sb)
    assert_twins(ga, gb, sa, sb)
    assert not np.array_equal(ga, spins)


@SETTINGS
@given(st.integers(1, 150), st.integers(0, 2**32), st.sampled_from([0.005, 0.0125]), st.integers(1, 7))
def test_relax_stopped_inside_its_window_resumes_bit_for_bit(n, seed, dt, every):
    """A RELAX window stopped (status[ST_STOP]) after any round resumes from
    status[ST_PARTIAL] to the same units and random stream as the unbroken window."""
    from vm.state import N_STATUS, ST_PARTIAL, ST_STOP

    p = params("bank", n=n, j2=-1.0, j3=0.2, j4=1.0, temperature=0.7, dt=dt, tf=1.0, rail=3.0)
    rng = np.random.default_rng(seed)
    x0, cur = rng.normal(size=n), rng.normal(size=n)
    whole, parts = x0.copy(), x0.copy()
    s_whole, s_parts = states(seed)
    langevin.relax(whole, cur, p, s_whole)
    status = np.zeros(N_STATUS, dtype=np.int64)
    calls = 0
    while True:
        status[ST_STOP] = 1 if calls % every == 0 else 0
        calls += 1
        if langevin.relax_window(parts, cur, p, s_parts, status):
            break
        assert status[ST_PARTIAL] > 0
    assert status[ST_PARTIAL] == 0 and calls > 1
    np.testing.assert_array_equal(parts, whole)
    np.testing.assert_array_equal(s_parts, s_whole)


@pytest.fixture
def one_thread():
    """Run the body's kernels on one thread, then restore the thread count."""
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(threads)


def _wide_runs():
    """A wide Ising sweep and a wide RELAX window (both past their thread thresholds)."""
    side = 256
    assert side * side >= pbit.ISING_PARALLEL_SITES
    rng = np.random.default_rng(3)
    spins = np.where(rng.random(side * side) < 0.5, 1.0, -1.0)
    s_ising = states(3)[0]
    for _ in range(2):
        pbit.ising_sweep(spins, side, 1.0, 0.1, 0.44, s_ising)
    n = 4100
    assert n >= langevin.RELAX_PARALLEL_UNITS
    p = params("bank", n=n, j2=-1.0, j3=0.2, j4=1.0, temperature=0.7, dt=0.025, tf=1.625, rail=3.0)
    x, cur = rng.normal(size=n), rng.normal(size=n)
    s_relax = states(4)[0]
    langevin.relax(x, cur, p, s_relax)
    return spins, s_ising, x, s_relax


def test_wide_ising_and_relax_match_their_twins_on_any_number_of_threads(one_thread):
    """The threaded paths (rows of a colour, blocks of a window, each on its own substream)
    give the numbers of one thread and of the NumPy twins."""
    import numba

    single = _wide_runs()
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    threaded = _wide_runs()
    for a, b in zip(single, threaded, strict=True):
        np.testing.assert_array_equal(a, b)
    side, rng = 256, np.random.default_rng(3)
    spins = np.where(rng.random(side * side) < 0.5, 1.0, -1.0)
    s_ising = states(3)[0]
    for _ in range(2):
        ref.ising_sweep(spins, side, 1.0, 0.1, 0.44, s_ising)
    np.testing.assert_array_equal(spins, threaded[0])
    np.testing.assert_array_equal(s_ising, threaded[1])
    n = 4100
    p = params("bank", n=n, j2=-1.0, j3=0.2, j4=1.0, temperature=0.7, dt=0.025, tf=1.625, rail=3.0)
    x, cur = rng.normal(size=n), rng.normal(size=n)
    s_relax = states(4)[0]
    ref.relax(x, cur, p, s_relax)
    assert_twins(threaded[2], x, threaded[3], s_relax)


def test_a_wide_window_stopped_after_every_round_resumes_bit_for_bit():
    """Past GROUP_BLOCKS blocks a chunk takes several rounds; stopping after each one and
    resuming gives the unbroken window."""
    from vm.state import N_STATUS, ST_PARTIAL, ST_STOP

    n = langevin.GROUP_BLOCKS * langevin.BLOCK + 100
    p = params("bank", n=n, j2=-1.0, j3=0.2, j4=1.0, temperature=0.7, dt=0.025, tf=2.5, rail=3.0)
    rng = np.random.default_rng(5)
    x0, cur = rng.normal(size=n), rng.normal(size=n)
    whole, parts = x0.copy(), x0.copy()
    s_whole, s_parts = states(5)
    langevin.relax(whole, cur, p, s_whole)
    status = np.zeros(N_STATUS, dtype=np.int64)
    status[ST_STOP] = 1
    calls = 1
    while not langevin.relax_window(parts, cur, p, s_parts, status):
        calls += 1
        assert status[ST_PARTIAL] == calls - 1
    assert calls == 4  # 100 steps: 2 chunks of 2 groups
    np.testing.assert_array_equal(parts, whole)
    np.testing.assert_array_equal(s_parts, s_whole)
