"""Numba kernels against the pure-NumPy reference on random instruction streams."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vm import Core
from vm.ktram import kernels, reference
from vm.ktram.isa import MNEMONICS
from vm.ktram.models import MODEL_IDS, NAMED_INITS
from vm.state import CoreState

STATE = ("g", "x", "lane_y", "meters", "rng_state", "rng_spare", "per_device")


@st.composite
def programs(draw):
    model = draw(st.sampled_from(sorted(MODEL_IDS)))
    spaces = draw(st.integers(1, 4))
    rows, cols = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    lanes = draw(st.integers(1, 3))
    core = Core(
        rows,
        cols,
        spaces_per_lane=spaces,
        num_lanes=lanes,
        model=model,
        init=draw(st.sampled_from(sorted(NAMED_INITS))),
        seed=draw(st.integers(0, 2**32)),
        read_noise=draw(st.sampled_from([0.0, 0.02, 0.3])),
        comparator=draw(st.booleans()),
        read_pulse_width=draw(st.sampled_from([None, 1e-7, 1e-5])),
    )
    n = draw(st.integers(1, 60))
    entry = st.one_of(st.none(), st.integers(0, rows * cols - 1))
    aats = np.array(
        draw(st.lists(st.lists(entry, min_size=spaces, max_size=spaces), min_size=n, max_size=n)),
        dtype=object,
    )
    table = np.where(aats == None, -1, aats).astype(np.int64)  # noqa: E711
    stream = (
        np.array(draw(st.lists(st.integers(0, lanes - 1), min_size=n, max_size=n)), dtype=np.int64),
        table,
        np.array(draw(st.lists(st.integers(0, len(MNEMONICS) - 1), min_size=n, max_size=n)), dtype=np.int64),
        np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 0.5, 0.99, 1.0]), min_size=n, max_size=n))),
    )
    return core, stream


def _run(module, core, state, stream):
    lanes, table, ops, dials = stream
    out = np.empty(len(ops))
    bundle = CoreState(
        core.model_id,
        core.params,
        core.ops,
        state["g"],
        state["x"],
        state["lane_y"],
        state["meters"],
        state["rng_state"],
        state["rng_spare"],
        state["per_device"],
    )
    module.execute_stream(bundle, lanes, table, np.arange(len(ops), dtype=np.int64), ops, dials, out)
    return out


@settings(max_examples=150, deadline=None)
@given(programs())
def test_numba_kernel_equals_numpy_reference(program):
    core, stream = program
    fast, slow = core.get_state(), core.get_state()
    y_fast = _run(kernels, core, fast, stream)
    y_slow = _run(reference, core, slow, stream)
    np.testing.assert_array_equal(y_fast, y_slow)
    for name in STATE:
        if name == "meters":  # energy is a long float sum: equal to rounding
            np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, atol=0)
        else:
            np.testing.assert_array_equal(fast[name], slow[name], err_msg=name)


def test_rng_twin_matches_kernel_stream():
    from vm import rng

    state, spare = rng.new_state(np.random.default_rng(3))
    s2, sp2 = state.copy(), spare.copy()
    twin = rng.PyXoshiro(s2, sp2)

    draws = np.array([rng.standard_normal(state, spare) for _ in range(1001)])
    twin_draws = np.array([twin.standard_normal() for _ in range(1001)])
    np.testing.assert_array_equal(draws, twin_draws)
    np.testing.assert_array_equal(state, s2)


@settings(max_examples=100, deadline=None)
@given(programs())
def test_physical_invariants_hold_after_every_instruction(program):
    core, stream = program
    lanes, table, ops, dials = stream
    for i in range(len(ops)):
        y = core.execute_stream(lanes[i : i + 1], table[i : i + 1], ops[i : i + 1], dials[i : i + 1])[0]
        assert -1.0 <= y <= 1.0
        assert np.all(np.isfinite(core.g)) and np.all(np.isfinite(core.lane_y))
        assert core.g.min() >= core.gmin and core.g.max() <= core.gmax
        assert np.all(np.abs(core.lane_y) <= 1.0)
        if core.model == "byte":
            assert np.all(core.g == np.trunc(core.g))
        if core.model == "mss":
            assert core.x.min() >= 0.0 and core.x.max() <= 1.0
        assert np.all(np.isfinite(core.meters))
        assert core.meters[0] > 0 and core.meters[1] >= 0


def test_per_instruction_path_equals_compiled_stream():
    rng = np.random.default_rng(5)
    for model in sorted(MODEL_IDS):
        a = Core(2, 2, spaces_per_lane=3, num_lanes=2, model=model, init="medium_noise", seed=8)
        b = Core(2, 2, spaces_per_lane=3, num_lanes=2, model=model, init="medium_noise", seed=8)
        n = 300
        lanes = rng.integers(0, 2, n)
        aats = [tuple(None if v < 0 else int(v) for v in row) for row in rng.integers(-1, 4, (n, 3))]
        ops = [MNEMONICS[k] for k in rng.integers(0, 14, n)]
        dials = rng.choice([0.0, 0.4, 0.95], n)
        one_by_one = [
            a.lane(int(lanes[i])).evaluate(aats[i], ops[i], noise=float(dials[i])) for i in range(n)
        ]
        np.testing.assert_array_equal(one_by_one, b.execute_stream(lanes, aats, ops, dials))
        for name in STATE:
            np.testing.assert_array_equal(a.get_state()[name], b.get_state()[name])


def test_read_noise_is_one_ziggurat_draw_from_the_core_stream():
    """A noisy read adds sigma times the stream's next ziggurat normal (vm.rng.xo_normal, the
    twin's fast_normal), not a polar one: the draw is replayed from a copy of the state."""
    from vm import rng

    core = Core(2, 2, model="float", seed=11, read_noise=0.3)
    for y_clean, m, v in [(0.1, 0.05, 1.0), (-0.7, 0.2, 0.05), (0.95, 0.01, -1.0)]:
        twin = rng.PyXoshiro(core.rng_state.copy(), core.rng_spare.copy())
        sigma = kernels.read_sigma(y_clean, m, v, core.params)
        want = min(max(y_clean + sigma * twin.fast_normal(), -1.0), 1.0)
        assert core.read_sample(y_clean, m, v) == want
        np.testing.assert_array_equal(core.rng_state, twin.state)


def test_read_sigma_is_the_noise_law():
    """sigma^2 = (m_ref/m)(NOISE_TH^2/v^2 + (NOISE_FL (1-y^2))^2) + v_cmp^2/v^2, the law as
    written, against the kernel's rearranged form."""
    from vm.ktram.models import P_CMP_V, P_M_REF, P_NOISE_FL, P_NOISE_TH

    for comparator in (False, True):
        p = Core(2, 2, model="float", read_noise=0.05, comparator=comparator).params
        for y, m, v in [(0.0, 0.1, 1.0), (0.5, 1e-3, 0.05), (-0.9, 2.0, -0.25), (0.99, 0.5, 1e-3)]:
            law = (p[P_M_REF] / m) * (p[P_NOISE_TH] ** 2 / v**2 + (p[P_NOISE_FL] * (1 - y * y)) ** 2)
            law += p[P_CMP_V] ** 2 / v**2
            assert kernels.read_sigma(y, m, v, p) == pytest.approx(np.sqrt(law), rel=1e-13)


def test_a_drive_meters_v_squared_g_t_of_every_device():
    """The energy of a read (computed from per-side sums) is sum over driven devices of
    dV^2 G t, device by device, with the pre-drive conductances."""
    from vm.ktram.models import P_G_UNIT, P_PW, P_VF

    core = Core(
        3, 3, spaces_per_lane=4, num_lanes=1, model="float", init="medium_noise", seed=3, read_noise=0
    )
    aat = (2, None, 7, 4)
    ga = [float(core.g[0, 0, s, a]) for s, a in enumerate(aat) if a is not None]
    gb = [float(core.g[1, 0, s, a]) for s, a in enumerate(aat) if a is not None]
    y = core.evaluate(aat, "FF")
    v = core.params[P_VF]
    dva, dvb = v - v * y, v + v * y
    want = (
        sum(dva * dva * a + dvb * dvb * b for a, b in zip(ga, gb, strict=True))
        * core.params[P_G_UNIT]
        * core.params[P_PW]
    )
    assert core.meters[1] == pytest.approx(want, rel=1e-13)


def test_mss_switching_probabilities_match_the_two_exponential_law():
    """mss_probs takes the off exponent as the on one times exp(-(Von+Voff)/VT) (P_MSS_GAP);
    the probabilities are the law's, and the slot follows the profile."""
    from vm.ktram.models import P_MSS_GAP, P_MSS_TAU, P_MSS_VOFF, P_MSS_VON, P_MSS_VT, MSSProfile

    profile = MSSProfile(Von=0.3, Voff=0.2, temperature=350.0)
    p = Core(2, 2, model="mss", profile=profile).params
    assert p[P_MSS_GAP] == pytest.approx(np.exp(-(0.3 + 0.2) / profile.vt), rel=1e-15)
    pw, vt, tau, v_on, v_off = 1e-6, p[P_MSS_VT], p[P_MSS_TAU], p[P_MSS_VON], p[P_MSS_VOFF]
    for dv in np.linspace(-0.6, 0.6, 25):
        p_on, p_off = kernels.mss_probs(dv, pw, vt, tau, v_on, p[P_MSS_GAP])
        alpha = pw / tau
        assert p_on == pytest.approx(alpha / (1 + np.exp(-(dv - v_on) / vt)), rel=1e-13)
        want_off = alpha * (1 - 1 / (1 + np.exp(-(dv + v_off) / vt)))
        assert p_off == pytest.approx(want_off, rel=1e-9, abs=4e-16 * alpha)  # 1 - 1/(1+e) cancels
