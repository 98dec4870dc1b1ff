"""Seed 001's pieces: the codecs against their definitions, the stream file's refusals,
the ASSIMILATE rule against the same update made by hand on vm.Core, and the ledger."""

import json
import math
import zipfile

import numpy as np
import pytest

from ktasm.assembler import assemble_text
from ktasm.programs import assimilation
from ktasm.programs.aatstream import (
    AddressCodec,
    LevelCodec,
    Stream,
    StreamError,
    ThermometerCodec,
    VQCodec,
    WinnerCodec,
    aat_bits,
    jaccard,
    ledger,
)
from vm.machine import Machine


def test_level_codec_error_is_within_half_a_step_and_the_bias_space_is_on():
    rng = np.random.default_rng(1)
    x = rng.uniform(-2, 3, (500, 6))
    codec = LevelCodec.fit(x, 9)
    a = codec.encode(x)
    assert a.shape == (500, 7) and (a[:, -1] == 0).all()
    assert a[:, :-1].min() >= 0 and a[:, :-1].max() <= 8 and (a == np.rint(a)).all()
    step = (codec.hi - codec.lo) / 8
    assert (np.abs(codec.decode(a) - x) <= step / 2 + 1e-12).all()
    blank = np.maximum(x, 0)  # a third of the values exactly 0
    sparse = LevelCodec.fit(blank, 9, sparse=True)
    lowest = np.rint(blank / ((sparse.hi - sparse.lo) / 8)) == 0
    assert ((sparse.encode(blank)[:, :-1] == -1) == lowest).all() and lowest.mean() > 0.3


def test_winner_codec_codes_the_argmax_and_decodes_to_the_least_squares_centroids():
    rng = np.random.default_rng(2)
    h = rng.normal(size=(2000, 12))
    codec = WinnerCodec(3, 4).fit(h)
    codes = codec.encode(h)
    assert (codes == h.reshape(-1, 3, 4).argmax(axis=2)).all()
    error = codec.reconstruction_error(h)
    assert 0 < error < 1
    nudged = WinnerCodec(3, 4, codec.centroids + rng.normal(0, 0.05, codec.centroids.shape))
    assert nudged.reconstruction_error(h) > error  # the conditional mean is the best decoder


def test_thermometer_codec_enables_a_space_per_step_reached_and_decodes_within_half_a_step():
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 1, (300, 5))
    x[:, 4] = 0.25  # a constant feature: its codebook holds one code, no bits
    codec = ThermometerCodec.fit(x, 4)
    a = codec.encode(x)
    assert a.shape == (300, 5 * 4 + 1) and (a[:, -1] == 0).all() and set(np.unique(a)) <= {-1.0, 0.0}
    on = (a[:, :-1] >= 0).reshape(300, 5, 4)
    count = on.sum(axis=2)
    assert (on == (np.arange(4)[None, None, :] < count[:, :, None])).all()  # a thermometer
    assert (
        count == np.rint((x - codec.lo) / np.where(codec.hi > codec.lo, codec.hi - codec.lo, 1) * 4)
    ).all()
    step = np.where(codec.hi > codec.lo, codec.hi - codec.lo, 1.0) / 4
    assert (np.abs(codec.decode(a) - x) <= step / 2 + 1e-12).all()
    assert codec.code_bits() == pytest.approx(4 * math.log2(5))


def test_vq_codec_codes_the_nearest_centroid_an_argmax_of_linear_scores():
    rng = np.random.default_rng(8)
    centres = rng.normal(0, 3, (4, 6))
    h = np.repeat(centres, 100, axis=0) + rng.normal(0, 0.3, (400, 6))
    h = np.hstack([h, h[::-1]])  # two subspaces of 6
    codec = VQCodec(2, 4, seed=1).fit(h)
    codes = codec.encode(h)
    blocks = h.reshape(400, 2, 6)
    nearest = ((blocks[:, :, None, :] - codec.centroids[None]) ** 2).sum(axis=3).argmin(axis=2)
    assert (codes == nearest).all()
    assert codec.reconstruction_error(h) < 0.05  # four clusters per subspace, found
    assert len(np.unique(codes[:, 0])) == 4
    assert (VQCodec(2, 4, seed=1).fit(h).centroids == codec.centroids).all()  # same seed, same codec


def test_vq_codec_by_label_fits_each_labels_centroids_on_its_examples_alone():
    rng = np.random.default_rng(11)
    centres = 5.0 * np.eye(6)  # labels 0, 1, 2: two well-separated clusters each
    h = np.repeat(centres, 50, axis=0) + rng.normal(0, 0.2, (300, 6))
    labels = np.repeat([0, 0, 1, 1, 2, 2], 50)
    codec = VQCodec(1, 6, seed=3).fit(h, labels=labels)
    for label in range(3):  # label c's two centroids are its two cluster means
        found = codec.centroids[0, 2 * label : 2 * label + 2]
        means = np.array([h[labels == label][:50].mean(axis=0), h[labels == label][50:].mean(axis=0)])
        assert np.allclose(np.sort(found, axis=0), np.sort(means, axis=0))
    assert (codec.encode(h)[:, 0] // 2 == labels).all()  # each code names its label
    with pytest.raises(ValueError, match="cannot split evenly"):
        VQCodec(1, 5).fit(h, labels=labels)


def test_jaccard_counts_matching_spaces_as_a_set_overlap():
    a = np.array([[0, 1, 2, 3], [0, 1, 2, 3]])
    b = np.array([[0, 1, 2, 3], [0, 1, 0, 0]])
    assert jaccard(a, b) == pytest.approx((1.0 + 2 / 6) / 2)
    assert aat_bits(np.array([[1, -1, 2]]), 3, 16) == math.ceil(2 * math.log2(48))


def _stream(rng):
    codec = LevelCodec.fit(rng.uniform(0, 1, (50, 4)), 5)
    winners = WinnerCodec(2, 3)
    x, xc = rng.uniform(0, 1, (40, 4)), rng.uniform(0, 1, (10, 4))
    w = rng.normal(size=(4, 6))
    return Stream.from_teacher(codec, winners, x, lambda v: v @ w, xc)


def test_a_stream_round_trips_through_its_file(tmp_path):
    stream = _stream(np.random.default_rng(3))
    path = tmp_path / "s.npz"
    stream.save(path)
    back = Stream.load(path, stream.input_codec, stream.output_codec)
    for name, table in stream.tables().items():
        assert (back.tables()[name] == table).all(), name


def _rewrite(path, out, change):
    with zipfile.ZipFile(path) as z:
        arrays = {n[:-4]: np.load(z.open(n)) for n in z.namelist()}
    change(arrays)
    np.savez(out, **arrays)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda a: a["stream_out"].__setitem__((0, 0), (a["stream_out"][0, 0] + 1) % 3), "damaged"),
        (lambda a: a.pop("check_in"), "no check_in"),
        (lambda a: a.pop("header"), "no header"),
        (lambda a: a.__setitem__("header", np.frombuffer(b"{not json", np.uint8)), "not readable"),
        (
            lambda a: a.__setitem__(
                "header",
                np.frombuffer(
                    json.dumps({**json.loads(a["header"].tobytes()), "version": 99}).encode(), np.uint8
                ),
            ),
            "version 99",
        ),
    ],
)
def test_a_damaged_or_foreign_stream_is_refused_with_the_reason(tmp_path, damage, message):
    stream = _stream(np.random.default_rng(4))
    path = tmp_path / "s.npz"
    stream.save(path)
    _rewrite(path, tmp_path / "bad.npz", damage)
    with pytest.raises(StreamError, match=message):
        Stream.load(tmp_path / "bad.npz", stream.input_codec, stream.output_codec)


def test_a_stream_for_other_codecs_or_out_of_range_addresses_is_refused(tmp_path):
    stream = _stream(np.random.default_rng(5))
    path = tmp_path / "s.npz"
    stream.save(path)
    with pytest.raises(StreamError, match="another output codec"):
        Stream.load(path, stream.input_codec, WinnerCodec(3, 2))
    with pytest.raises(StreamError, match="another input codec"):
        Stream.load(path, AddressCodec(2, 3), stream.output_codec)
    stream.outputs[0, 0] = 7  # outside the group of 3 (the checksum is recomputed on save)
    stream.save(path)
    with pytest.raises(StreamError, match="outside"):
        Stream.load(path, stream.input_codec, stream.output_codec)
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(StreamError):
        Stream.load(tmp_path / "text.npz", stream.input_codec, stream.output_codec)


RULE = """
.include "assimilate.kta"
.core rows=1 cols=4 spaces=3 lanes=6 model=float init=low seed=9
.data pairs_in
.data pairs_out
.aat x
.vec scores n=3
        LDAAT x, pairs_in, 0
        MOV   r6, 0
        ASSIMILATE x, pairs_out, r6, 2, 3, MARGIN, r3, r4, r2, r5, r0, r7, r8, r9, scores
"""


def rule_and_hand_core(text: str):
    """RULE's program (one pair: input AAT (1, 3, 0); group 0 wants lane 2, group 1 lane 3)
    run, and a vm.Core in the program's starting state for the same update by hand:
    (the machine after the run, the core, the AAT)."""
    import vm

    data = {"pairs_in": np.array([[1.0, 3.0, 0.0]]), "pairs_out": np.array([[2.0, 0.0]])}
    machine = Machine(assemble_text(text, "rule.kta"), data=data)
    assert machine.run().reason == "end"
    core = vm.Core(1, 4, spaces_per_lane=3, num_lanes=6, model="float", init="low", seed=9)
    return machine, core, [1, 3, 0]


@pytest.mark.parametrize("margin", [0.3, -3.0])
def test_assimilate_is_the_margin_gated_supervised_rule_on_each_group(margin):
    """One pair through the macro equals the update made by hand on vm.Core: per group,
    FFLV reads of its lanes; if the wanted lane leads the others by less than the margin,
    FF then RH on the wanted lane, RL on an unwanted lane that read positive, RF else; a
    group that leads is left alone (reads lie in [-1, 1]: at -3 every group leads)."""
    machine, core, aat = rule_and_hand_core(RULE.replace("MARGIN", str(margin)))
    before = np.asarray(core.ga).copy()
    for group, want in enumerate((2, 0)):
        lanes = range(3 * group, 3 * group + 3)
        reads = np.array([core.evaluate(aat, "FFLV", lane) for lane in lanes])
        if reads[want] - np.delete(reads, want).max() >= margin:
            continue
        for a, lane in enumerate(lanes):
            y = core.evaluate(aat, "FF", lane)
            core.evaluate(aat, "RH" if a == want else ("RL" if y > 0 else "RF"), lane)
    assert (np.asarray(machine.core.ga) == np.asarray(core.ga)).all()
    assert (np.asarray(machine.core.gb) == np.asarray(core.gb)).all()
    assert (np.asarray(core.ga) == before).all() == (margin < 0)


@pytest.mark.parametrize("margin", [0.3, 0.02, -3.0, 3.0])
def test_assimilate_rivals_pushes_the_wanted_lane_up_and_its_rivals_down(margin):
    """One pair through ASSIMILATE_RIVALS equals the update made by hand on vm.Core: per
    group, FFLV reads of its lanes; a group whose wanted lane leads the others by the
    margin is left alone; otherwise the wanted lane takes FF then RH, each other lane that
    read at least (the wanted lane's read - margin) FF then RL, the rest nothing."""
    text = RULE.replace("ASSIMILATE x", "ASSIMILATE_RIVALS x").replace("MARGIN", str(margin))
    machine, core, aat = rule_and_hand_core(text)
    before = np.asarray(core.ga).copy(), np.asarray(core.gb).copy()
    touched = []
    for group, want in enumerate((2, 0)):
        lanes = range(3 * group, 3 * group + 3)
        reads = np.array([core.evaluate(aat, "FFLV", lane) for lane in lanes])
        if reads[want] - np.delete(reads, want).max() >= margin:
            continue
        for a, lane in enumerate(lanes):
            if a == want or reads[a] >= reads[want] - margin:
                core.evaluate(aat, "FF", lane)
                core.evaluate(aat, "RH" if a == want else "RL", lane)
                touched.append(lane)
    assert (np.asarray(machine.core.ga) == np.asarray(core.ga)).all()
    assert (np.asarray(machine.core.gb) == np.asarray(core.gb)).all()
    moved = [
        lane
        for lane in range(6)
        if not (np.asarray(core.ga)[lane] == before[0][lane]).all()
        or not (np.asarray(core.gb)[lane] == before[1][lane]).all()
    ]
    assert moved == sorted(touched)  # the lanes fed back, and no other
    # reads 0.54 0.48 -0.69 | -0.21 -0.01 -0.32: at 0.02 lane 5 (-0.32) is no rival of lane 3
    expected = {0.3: [0, 1, 2, 3, 4, 5], 0.02: [0, 1, 2, 3, 4], -3.0: [], 3.0: [0, 1, 2, 3, 4, 5]}
    assert touched == expected[margin]


def test_the_ledger_prices_both_moves_with_the_seeds_expression():
    book = ledger(1000, 20_000)
    per_bit = book["ledger_assumptions"]["capacitance_f"] * book["ledger_assumptions"]["volts"] ** 2
    assert book["energy_streamed_j"] == pytest.approx(1000 * per_bit)
    assert book["energy_weights_j"] / book["energy_streamed_j"] == pytest.approx(20.0)


def test_the_program_declares_what_the_driver_replaces():
    from ktasm.programs import source_path

    text = source_path("assimilation").read_text()
    assert assimilation.CORE_LINE in text
    target = assimilation.Target("t", "byte", 3)
    program = assemble_text(text.replace(assimilation.CORE_LINE, target.core_line(513, 1, 32)), "a.kta")
    assert (program.core["model"], program.core["lanes"], program.core["spaces"]) == ("byte", 32, 513)


def test_a_weight_copy_makes_each_hidden_group_emit_the_teachers_code():
    """Copied into a healthy float core, a lane's clean read is the VQ score of its
    centroid (less what its group shares) over the enabled spaces, one scale for every
    lane: the copy's codes are the teacher's on the quantised pixels."""
    import vm

    rng = np.random.default_rng(6)
    x = rng.integers(0, 17, (80, 5)) / 16.0
    teacher = assimilation.Teacher(
        rng.normal(size=(5, 8)), rng.normal(size=8), rng.normal(size=(8, 10)), np.zeros(10)
    )
    pixels = ThermometerCodec.fit(x, 8)
    code = VQCodec(2, 4, seed=2).fit(teacher.hidden(x))
    hidden, _ = assimilation.teacher_tables(teacher, pixels, code)
    core = vm.Core(1, 1, spaces_per_lane=pixels.spaces, num_lanes=8, model="float", init="low", seed=1)
    assimilation.copy_weights(core, hidden)
    aats = [[int(a) if a >= 0 else None for a in row] for row in pixels.encode(x)]
    reads = np.array([[core.weights(u, aat)[0] for u in range(8)] for aat in aats])
    enabled = (pixels.encode(x) >= 0).sum(axis=1)[:, None]
    scores = code.scores(teacher.hidden(pixels.decode(pixels.encode(x)))).reshape(80, 8)
    centred = (scores.reshape(80, 2, 4) - scores.reshape(80, 2, 4).mean(axis=2, keepdims=True)).reshape(80, 8)
    scale = (reads * enabled * centred).sum() / ((reads * enabled) ** 2).sum()
    assert np.allclose(reads * enabled * scale, centred, atol=1e-9 * np.abs(centred).max())
    assert (
        reads.reshape(80, 2, 4).argmax(axis=2) == code.encode(teacher.hidden(pixels.decode(pixels.encode(x))))
    ).all()


def test_copy_precision_is_the_fewest_bits_that_keep_the_teachers_accuracy():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(400, 6))
    y = (x[:, 0] > 0).astype(np.int64)
    teacher = assimilation.train_teacher(x, y, 8, 1, epochs=20)
    bits = assimilation.copy_precision(teacher, x, y)
    full = np.mean(teacher.predict(x) == y)
    rounded = assimilation.Teacher(
        *(assimilation._round_to_bits(w, bits) for w in (teacher.w1, teacher.b1, teacher.w2, teacher.b2))
    )
    assert np.mean(rounded.predict(x) == y) >= full - 0.005
    if bits > 2:
        fewer = assimilation.Teacher(
            *(
                assimilation._round_to_bits(w, bits - 1)
                for w in (teacher.w1, teacher.b1, teacher.w2, teacher.b2)
            )
        )
        assert np.mean(fewer.predict(x) == y) < full - 0.005


def _rh_switched_off(core_line: str) -> float:
    """The fraction of the b-devices' on switches one RH turns off, on every pair of 8
    lanes x 64 spaces (an RH drives the b-device 2 |VR| below its a-device)."""
    text = core_line + "\n.data pairs_in\n.aat x\n        LDAAT x, pairs_in, 0\n"
    text += "".join(f"        RH    L{lane}, x\n" for lane in range(8))
    machine = Machine(assemble_text(text, "rh.kta"), data={"pairs_in": np.zeros((1, 64))})
    gmin, gmax = machine.core.gmin, machine.core.gmax

    def on():  # switched fraction x of every b-device read: G = x GMAX + (1 - x) GMIN
        return ((np.asarray(machine.core.gb)[:, :, 0] - gmin) / (gmax - gmin)).sum()

    before = on()
    assert machine.run().reason == "end"
    return 1.0 - on() / before


def test_the_mss_targets_pulse_keeps_a_feedback_step_to_a_hundredth_of_the_switches():
    """An MSS drive above threshold switches pw/tau of the available switches (tau 10 us):
    a tenth at the model's 1 us (a pair then remembers ~10 updates: the held-out check
    peaked after one pass and fell), a hundredth at the target's CORE_KEYS pulse width.
    About 12 of init=low's 19 on switches per device x 512 devices: binomial sd ~0.001."""
    target = assimilation.Target("mss", "mss", 3)
    line = target.core_line(64, 2, 8)
    assert f"pulse_width={assimilation.CORE_KEYS['mss']['pulse_width']!r}" in line
    default = line.replace(f" pulse_width={assimilation.CORE_KEYS['mss']['pulse_width']!r}", "")
    assert 0.005 < _rh_switched_off(line) < 0.016
    assert 0.08 < _rh_switched_off(default) < 0.14
    assert "pulse_width" not in assimilation.Target("f", "float", 3).core_line(64, 2, 8)
