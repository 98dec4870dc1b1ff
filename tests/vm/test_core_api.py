"""The Core API: the reference's signatures, set-up ops, inits, and clear errors."""

import pickle

import numpy as np
import pytest

from vm import Core
from vm.ktram.isa import BY_MNEMONIC, INSTRUCTIONS, MNEMONICS, OP_TABLE
from vm.ktram.models import DEVICE_MODELS, NAMED_INITS


def test_instruction_table_covers_the_fourteen_with_published_fu_fa_convention():
    assert MNEMONICS == (
        "FF",
        "RF",
        "FFLV",
        "RFLV",
        "FH",
        "FL",
        "FU",
        "FA",
        "FZ",
        "RH",
        "RL",
        "RU",
        "RA",
        "RZ",
    )
    assert [i.code for i in INSTRUCTIONS] == list(range(14))
    assert OP_TABLE.shape == (14, 5)


@pytest.mark.parametrize("model", sorted(DEVICE_MODELS))
@pytest.mark.parametrize(
    "instr,sign_from_positive_lean",
    [
        ("FH", +1),
        ("FL", -1),
        ("RH", +1),
        ("RL", -1),
        ("FU", +1),
        ("RU", +1),  # reinforce: push a positive weight further up
        ("FA", -1),
        ("RA", -1),  # oppose: pull it back toward 0
    ],
)
def test_feedback_moves_weight_in_the_published_direction(model, instr, sign_from_positive_lean):
    core = Core(1, 1, model=model, init="medium_noiseless", seed=0, read_noise=0.0)
    core.set_start_y(0, (0,), y0=0.3, level=0.4)
    core.evaluate((0,), "FFLV")  # retained y = +0.3
    w0 = core.weights(0, (0,))[0]
    for _ in range(5):
        core.evaluate((0,), instr)
    w1 = core.weights(0, (0,))[0]
    assert np.sign(w1 - w0) == sign_from_positive_lean, f"{instr} on {model}: {w0} -> {w1}"


@pytest.mark.parametrize("instr,sign_of_dm", [("FZ", +1), ("RZ", -1), ("FH", +1), ("RH", -1)])
def test_forward_feedback_accumulates_reverse_depletes(instr, sign_of_dm):
    core = Core(1, 1, model="float", init="medium_noiseless", seed=0, read_noise=0.0)
    m0 = core.weights(0, (0,))[1]
    core.evaluate((0,), instr)
    assert np.sign(core.weights(0, (0,))[1] - m0) == sign_of_dm


def test_feedback_uses_retained_y_and_returns_it():
    core = Core(1, 2, model="float", init="medium_noiseless", seed=0, read_noise=0.0)
    core.set_start_y(0, (1,), y0=-0.5, level=0.5)
    y = core.evaluate((1,), "FF")
    # a different AAT: the feedback still sees (and returns) the last read's y
    assert core.evaluate((0,), "RU") == y
    assert core.lane(0).y == y


def test_set_start_y_sets_weight_and_magnitude():
    for model in ("float", "rs", "mss"):
        core = Core(1, 1, model=model, seed=0, read_noise=0.0)
        core.set_start_y(0, (0,), y0=0.25, level=0.3)
        y, m = core.weights(0, (0,))
        assert y == pytest.approx(0.25, abs=1e-12)
        assert m == pytest.approx(2 * 0.3 * core.gmax, rel=1e-12)


def test_read_gab_single_and_multi_space():
    core = Core(2, 2, spaces_per_lane=3, num_lanes=2, seed=4)
    assert isinstance(core.read_gab(1, (None, 3, None)), tuple)
    pairs = core.read_gab(1, (0, None, 2))
    assert isinstance(pairs, list) and len(pairs) == 2
    core.set_gab(1, (0, None, 2), [0.01, 0.02], 0.03)
    assert core.read_gab(1, (0, None, 2)) == [(0.01, 0.03), (0.02, 0.03)]


@pytest.mark.parametrize("init", sorted(NAMED_INITS))
def test_named_init_statistics(init):
    from scipy.stats import norm

    mean, var = NAMED_INITS[init]
    core = Core(16, 16, spaces_per_lane=4, num_lanes=4, model="float", init=init, seed=9)
    frac = (core.g - core.gmin) / (core.gmax - core.gmin)
    if var == 0:
        assert np.all(frac == mean)
        return
    n = frac.size
    # the draw is Normal(mean, var), clamped to the conductance range
    for observed, expected in (
        ((frac == 0.0).mean(), norm.cdf(0.0, mean, var)),
        ((frac == 1.0).mean(), norm.sf(1.0, mean, var)),
    ):
        se = np.sqrt(max(expected * (1 - expected), 1e-12) / n)
        assert abs(observed - expected) < 4 * se + 1e-9, f"clamped fraction {observed} vs {expected}"
    inside = frac[(frac > 0.0) & (frac < 1.0)]
    # mean of a Normal truncated to (0, 1)
    a, b = (0.0 - mean) / var, (1.0 - mean) / var
    z = norm.cdf(b) - norm.cdf(a)
    truncated_mean = mean + var * (norm.pdf(a) - norm.pdf(b)) / z
    assert inside.mean() == pytest.approx(truncated_mean, abs=4 * var / np.sqrt(inside.size))


def test_same_seed_same_result_bit_for_bit():
    def run(seed):
        core = Core(
            2, 2, spaces_per_lane=2, num_lanes=2, model="mss", init="medium_noise", seed=seed, read_noise=0.05
        )
        ys = [
            core.lane(i % 2).evaluate((i % 4, (i * 3) % 4), MNEMONICS[i % 14], noise=0.3) for i in range(300)
        ]
        return np.array(ys), core.g.copy()

    (y1, g1), (y2, g2), (y3, _) = run(5), run(5), run(6)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(g1, g2)
    assert not np.array_equal(y1, y3)


def test_checkpoint_resume_is_exact():
    core = Core(1, 4, spaces_per_lane=2, model="mss", seed=2, read_noise=0.02)
    stream = ([0] * 200, [(i % 4, (i + 1) % 4) for i in range(200)], ["FF", "RH", "RF", "FL"] * 50)
    whole = core.get_state()
    full = core.execute_stream(*stream)
    core.set_state(whole)
    first = core.execute_stream(stream[0][:77], stream[1][:77], stream[2][:77])
    saved = core.get_state()
    other = Core(1, 4, spaces_per_lane=2, model="mss", seed=999, read_noise=0.02)
    other.set_state(saved)
    rest = other.execute_stream(stream[0][77:], stream[1][77:], stream[2][77:])
    np.testing.assert_array_equal(np.concatenate([first, rest]), full)


def test_a_stream_through_an_aat_table_and_indices_matches_one_aat_per_step():
    """execute_stream(aat_index=...): step i reads row aat_index[i] of the AAT table, the
    same as passing that AAT at step i; mnemonics, opcodes and evaluate agree."""
    table = [(0, 1), (2, None), (3, 3)]
    index = np.array([0, 0, 1, 2, 1, 0, 2, 2] * 5)
    names = ["FF", "RH", "RF", "fl", "FFLV", "RZ", "ff", "RH"] * 5
    lanes = [i % 2 for i in range(40)]

    def core():
        return Core(2, 2, spaces_per_lane=2, num_lanes=2, model="float", seed=4, read_noise=0.03)

    per_step = core().execute_stream(lanes, [table[i] for i in index], names, noise=0.2)
    indexed = core().execute_stream(lanes, table, names, noise=0.2, aat_index=index)
    codes = np.array([MNEMONICS.index(n.upper()) for n in names])
    as_array = core().execute_stream(
        lanes, np.array([[a if a is not None else -1 for a in t] for t in table]), codes, 0.2, aat_index=index
    )
    one = core()
    called = [one.evaluate(table[i], names[k], lanes[k], 0.2) for k, i in enumerate(index)]
    np.testing.assert_array_equal(per_step, indexed)
    np.testing.assert_array_equal(per_step, as_array)
    np.testing.assert_array_equal(per_step, called)


def test_evaluate_after_a_pickle_round_trip_continues_the_same_stream():
    a = Core(2, 2, num_lanes=2, seed=3, read_noise=0.05)
    a.evaluate((1,), "FF", 1)  # binds the compiled entry, which a pickle leaves out
    b = pickle.loads(pickle.dumps(a))
    assert [a.evaluate((2,), "RF", 0, 0.1) for _ in range(5)] == [
        b.evaluate((2,), "RF", 0, 0.1) for _ in range(5)
    ]


def test_modeled_time_counts_pulse_widths_and_energy_is_v2_g_t():
    core = Core(1, 1, model="float", init="medium_noiseless", read_noise=0.0)
    core.evaluate((0,), "FZ")  # dVa = dVb = 1 V on two devices of 0.0502 units
    assert core.modeled_time_s == pytest.approx(1e-6)
    unit = DEVICE_MODELS["float"].siemens_per_unit
    assert core.modeled_energy_j == pytest.approx(2 * 1.0 * 0.0502 * unit * 1e-6, rel=1e-12)


@pytest.mark.parametrize(
    "call,needle",
    [
        (lambda c: c.evaluate((0, 0), "XX"), "instr: unknown kT-RAM instruction 'XX'"),
        (lambda c: c.evaluate((0,), "FF"), "aat: expected 2 entries"),
        (lambda c: c.evaluate((0, 9), "FF"), "aat[1]: expected an address in [0, 6)"),
        (lambda c: c.evaluate((0, -1), "FF"), "aat[1]: expected an address in [0, 6)"),
        (lambda c: c.evaluate((0, 1.5), "FF"), "aat[1]"),
        (lambda c: c.evaluate((0, 0), "FF", lane_index=3), "lane: expected an index in [0, 3)"),
        (lambda c: c.lane(-1), "lane: expected an index in [0, 3)"),
        (lambda c: c.evaluate((0, 0), "FF", noise=1.5), "noise: expected a number in [0.0, 1.0]"),
        (lambda c: c.set_start_y(0, (0, 0), y0=0.2, level=-0.1), "level: expected a number in [0.0, inf)"),
        (lambda c: c.set_start_y(0, (0, 0), y0=1.2, level=0.1), "y0: expected a number in [-1.0, 1.0]"),
        (lambda c: c.set_gab(0, (0, 0), [1, 2, 3], 0.1), "ga: expected a scalar or 2 values"),
        (lambda c: c.set_gab(0, (0, 0), float("nan"), 0.1), "ga: conductances must be finite"),
        (lambda c: c.read_gab(5, (0, 0)), "lane: expected an index in [0, 3)"),
        (lambda c: c.execute_stream([0, 7], [(0, 0)] * 2, ["FF"] * 2), "lanes: lane 7 out of range [0, 3)"),
        (lambda c: c.execute_stream([0], [(0, 0)], ["FF", "RH"]), "instructions: expected 1"),
        (lambda c: c.execute_stream([0], np.array([[0, 6]]), ["FF"]), "aats[0][1]"),
        (
            lambda c: c.execute_stream([0], [(0, 0)], ["FF"], aat_index=[1]),
            "aat_index: row 1 out of range [0, 1)",
        ),
        (lambda c: c.execute_stream([0], [(0, 0)], ["FF"], aat_index=[0, 0]), "aat_index: expected 1"),
        (lambda c: c.execute_stream([0], [(0, 9)], ["FF"], aat_index=[0]), "aat[1]"),
        (lambda c: c.evaluate((0, 0), "FF", noise=float("nan")), "noise: expected a number"),
        (lambda c: c.evaluate((0, 0), "FF", lane_index=True), "lane: expected an index"),
    ],
)
def test_bad_arguments_raise_clear_value_errors(call, needle):
    core = Core(2, 3, spaces_per_lane=2, num_lanes=3)
    with pytest.raises(ValueError) as err:
        call(core)
    assert needle in str(err.value)


@pytest.mark.parametrize(
    "kwargs,needle",
    [
        ({"model": "quantum"}, "model: unknown device model 'quantum'; expected one of float, byte, rs, mss"),
        ({"init": "warm"}, "init: unknown init 'warm'"),
        ({"spaces_per_lane": 0}, "spaces_per_lane: expected an integer >= 1"),
        ({"num_lanes": 2.5}, "num_lanes: expected an integer >= 1"),
        ({"read_noise": -1}, "read_noise"),
        ({"comparator_code": 300}, "comparator_code: expected an integer in [0, 255]"),
        ({"Vf": 0.0}, "Vf: expected a finite non-zero voltage"),
    ],
)
def test_bad_constructor_arguments(kwargs, needle):
    with pytest.raises(ValueError) as err:
        Core(1, 1, **kwargs)
    assert needle in str(err.value)


def test_instruction_lookup_is_case_insensitive():
    core = Core(1, 1, read_noise=0.0)
    assert core.evaluate((0,), "fflv") == core.evaluate((0,), "FFLV")
    assert BY_MNEMONIC["FU"].uses_h and BY_MNEMONIC["FU"].coeff == -1


def test_instruction_docs_are_generated_from_the_tables():
    from pathlib import Path

    from ktasm.reference import document

    doc = (Path(__file__).resolve().parents[2] / "docs" / "instructions.md").read_text()
    assert doc == document(), (
        "docs/instructions.md is stale: python -m ktasm.reference > docs/instructions.md"
    )


# Declarations for every name the instruction table's examples use.
EXAMPLE_PREAMBLE = """
.core cols=4
.aat x = 0
.data inputs
.data labels
.data features
.data weights
.data mixture
.vec h n=16
.vec g n=16
.vec h2 n=16
.vec s n=16
.vec bits n=16
.vec ohms n=16
.vec current n=16
.vec cells n=64
.vec v n=4
.vec drift n=4
.pairs w rows=16 cols=4
.mtj coins n=16
.bank layer n=16
.ou noise n=2
start:
done:
"""


def test_every_instruction_example_assembles():
    from ktasm.assembler import assemble_text
    from vm import isa

    block = {"LOOP": ("", "\nENDLOOP"), "ENDLOOP": ("LOOP 2\n", "")}
    for ins in isa.INSTRUCTIONS:
        before, after = block.get(ins.mnemonic, ("", ""))
        program = assemble_text(
            EXAMPLE_PREAMBLE + before + ins.example + after + "\n", f"<{ins.mnemonic} example>"
        )
        assert ins.opcode in program.code[:, 0]
