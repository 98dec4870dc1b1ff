"""The non-ideal kT-RAM kernels (d2d, c2c, stuck, endurance, drift, ADC, AGE, set-up writes)
against their NumPy twins in vm.ktram.reference, and the ideal path left as it was."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vm import Core
from vm.ktram import kernels, reference
from vm.ktram.isa import MNEMONICS
from vm.ktram.models import MODEL_IDS, NAMED_INITS, P_NONIDEAL
from vm.state import CoreState

STATE = ("g", "x", "lane_y", "meters", "rng_state", "rng_spare", "per_device")


@st.composite
def nonideal_cores(draw):
    """A small core with a random mix of non-idealities (each possibly off)."""
    model = draw(st.sampled_from(sorted(MODEL_IDS)))
    spaces, rows, cols, lanes = draw(st.integers(1, 3)), draw(st.integers(1, 2)), draw(st.integers(1, 3)), 2
    keys = {
        "d2d": draw(st.sampled_from([0.0, 0.0, 0.1, 0.5])),
        "c2c": draw(st.sampled_from([0.0, 0.0, 0.05, 0.3])),
        "stuck": draw(st.sampled_from([0.0, 0.0, 0.2, 0.6])),
        "stuck_high": draw(st.sampled_from([0.0, 0.5, 1.0])),
        "endurance": draw(st.sampled_from([0, 0, 1, 3, 20])),
        "drift": draw(st.sampled_from([0.0, 0.0, 0.05, 0.3])),
        "drift_spread": draw(st.sampled_from([0.0, 0.0, 0.02, 0.2])),
        "drift_t0": draw(st.sampled_from([1.0, 1e-6, 30.0])),
        "adc_bits": draw(st.sampled_from([0, 0, 1, 3, 8])),
    }
    core = Core(
        rows,
        cols,
        spaces_per_lane=spaces,
        num_lanes=lanes,
        model=model,
        init=draw(st.sampled_from(sorted(NAMED_INITS))),
        seed=draw(st.integers(0, 2**32)),
        read_noise=draw(st.sampled_from([0.0, 0.02, 0.3])),
        **keys,
    )
    return core, draw(stream_of(core))


def stream_of(core):
    """Steps: ("run", lanes, aats, ops, dials) chunks, ("age", seconds), ("set", lane, aat, ga, gb)."""
    n_addr, spaces = core.num_addresses, core.spaces_per_lane
    aat = st.lists(st.one_of(st.just(-1), st.integers(0, n_addr - 1)), min_size=spaces, max_size=spaces)

    @st.composite
    def chunk(draw):
        n = draw(st.integers(1, 25))
        return (
            "run",
            np.array(
                draw(st.lists(st.integers(0, core.num_lanes - 1), min_size=n, max_size=n)), dtype=np.int64
            ),
            np.array(draw(st.lists(aat, min_size=n, max_size=n)), dtype=np.int64).reshape(n, spaces),
            np.array(
                draw(st.lists(st.integers(0, len(MNEMONICS) - 1), min_size=n, max_size=n)), dtype=np.int64
            ),
            np.array(draw(st.lists(st.sampled_from([0.0, 0.5, 0.99]), min_size=n, max_size=n))),
        )

    age = st.tuples(st.just("age"), st.sampled_from([0.0, 1e-6, 3.0, 1e4, 1e9]))
    setting = st.tuples(
        st.just("set"),
        st.integers(0, core.num_lanes - 1),
        aat,
        st.floats(-0.01, 2 * core.gmax, allow_nan=False),
        st.floats(-0.01, 2 * core.gmax, allow_nan=False),
    )
    return st.lists(st.one_of(chunk(), age, setting), min_size=1, max_size=6)


def _bundle(core, state) -> CoreState:
    return CoreState(core.model_id, core.params, core.ops, *(state[name] for name in STATE))


def _apply(module, core, state, steps) -> list:
    """Run steps on a copy of the core's state through kernels or their twins."""
    bundle = _bundle(core, state)
    ys = []
    for step in steps:
        if step[0] == "run":
            _, lanes, table, ops, dials = step
            out = np.empty(len(ops))
            idx = np.arange(len(ops), dtype=np.int64)
            module.execute_stream(bundle, lanes, table, idx, ops, dials, out)
            ys.append(out)
        elif step[0] == "age":
            module.age(core.params, state["g"], state["per_device"], state["meters"], float(step[1]))
        else:
            _, lane, aat, ga, gb = step
            t = float(state["meters"][0])
            for s, a in enumerate(aat):
                if a < 0:
                    continue
                for side, value in ((0, ga), (1, gb)):
                    args = (core.model_id, core.params, state["g"], state["x"], state["per_device"], t)
                    if module is kernels:
                        kernels.set_device(*args, side, lane, s, a, value)
                    else:
                        reference.set_device(*args, side, lane, s, a, value)
    return ys


@settings(max_examples=150, deadline=None)
@given(nonideal_cores())
def test_nonideal_kernels_equal_their_numpy_twins(case):
    core, steps = case
    fast, slow = core.get_state(), core.get_state()
    y_fast = _apply(kernels, core, fast, steps)
    y_slow = _apply(reference, core, slow, steps)
    for a, b in zip(y_fast, y_slow, strict=True):
        np.testing.assert_array_equal(a, b)
    for name in STATE:
        if name == "meters":  # energy is a long float sum: equal to rounding
            np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, atol=0)
        else:
            np.testing.assert_array_equal(fast[name], slow[name], err_msg=name)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(MODEL_IDS)), st.integers(0, 2**32), st.data())
def test_the_nonideal_path_with_nothing_on_is_the_ideal_kernel_bit_for_bit(model, seed, data):
    """execute_nonideal on a core with no non-ideality equals execute_ideal: the slow path
    adds only what its features do."""
    ideal = Core(2, 2, spaces_per_lane=3, num_lanes=2, model=model, init="medium_noise", seed=seed)
    forced = Core(2, 2, spaces_per_lane=3, num_lanes=2, model=model, init="medium_noise", seed=seed)
    forced.params[P_NONIDEAL] = 1.0
    steps = [s for s in data.draw(stream_of(ideal)) if s[0] == "run"]
    for step in steps:
        _, lanes, table, ops, dials = step
        np.testing.assert_array_equal(
            ideal.execute_stream(lanes, table, ops, dials), forced.execute_stream(lanes, table, ops, dials)
        )
    for name in STATE:
        np.testing.assert_array_equal(getattr(ideal, name), getattr(forced, name), err_msg=name)


def test_every_key_left_at_its_default_is_the_ideal_core():
    """Explicit zeros (and the default stuck_high, drift_t0) build the ideal core: same
    init, same stream, no per-device rows, the ideal kernel."""
    rng = np.random.default_rng(2)
    for model in sorted(MODEL_IDS):
        plain = Core(2, 2, spaces_per_lane=3, num_lanes=2, model=model, init="medium_noise", seed=4)
        zeros = Core(
            2,
            2,
            spaces_per_lane=3,
            num_lanes=2,
            model=model,
            init="medium_noise",
            seed=4,
            d2d=0,
            c2c=0,
            stuck=0,
            stuck_high=0.5,
            endurance=0,
            drift=0,
            drift_spread=0,
            drift_t0=1,
            adc_bits=0,
        )
        assert zeros.device_rows == () and zeros.params[P_NONIDEAL] == 0.0
        n = 200
        args = (rng.integers(0, 2, n), rng.integers(-1, 4, (n, 3)), rng.integers(0, 14, n), np.zeros(n))
        np.testing.assert_array_equal(plain.execute_stream(*args), zeros.execute_stream(*args))
        for name in STATE:
            np.testing.assert_array_equal(getattr(plain, name), getattr(zeros, name))


def test_a_feature_on_leaves_the_init_and_the_random_stream_as_they_were():
    """The non-idealities draw from generators of their own: the same seed gives the same
    initial fractions and the same kernel stream with them or without."""
    plain = Core(2, 3, spaces_per_lane=2, num_lanes=2, init="medium_noise", seed=9)
    drifting = Core(2, 3, spaces_per_lane=2, num_lanes=2, init="medium_noise", seed=9, drift=0.05, c2c=0.1)
    np.testing.assert_array_equal(plain.g, drifting.g)
    np.testing.assert_array_equal(plain.rng_state, drifting.rng_state)
    a = Core(2, 3, seed=9, drift=0.05, drift_spread=0.01)
    b = Core(2, 3, seed=9, drift=0.05, drift_spread=0.01, stuck=0.5)
    np.testing.assert_array_equal(a.device_values("nu"), b.device_values("nu"))


def test_the_kernels_check_one_flag_on_the_ideal_path():
    """An ideal core's parameter vector says off, and its per-device array is empty."""
    core = Core(4, 4, spaces_per_lane=8, num_lanes=3)
    assert core.params[P_NONIDEAL] == 0.0
    assert core.per_device.shape == (0, 2, 3, 8, 16) and core.per_device.nbytes == 0
