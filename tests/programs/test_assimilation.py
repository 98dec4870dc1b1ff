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
        LDAAT x, pairs_in, 0
        MOV   r6, 0
        ASSIMILATE x, pairs_out, r6, 2, 3, r3, r4, r2, r5, r0
"""


def test_assimilate_is_the_supervised_rule_on_each_lane_of_a_k_hot_target():
    """One pair through the macro equals the update made by hand on vm.Core: per group,
    FF then RH on the wanted lane, RL on an unwanted lane that read positive, RF else."""
    import vm

    pairs_in = np.array([[1.0, 3.0, 0.0]])
    pairs_out = np.array([[2.0, 0.0]])  # group 0 wants lane 2, group 1 lane 3
    machine = Machine(assemble_text(RULE, "rule.kta"), data={"pairs_in": pairs_in, "pairs_out": pairs_out})
    assert machine.run().reason == "end"

    core = vm.Core(1, 4, spaces_per_lane=3, num_lanes=6, model="float", init="low", seed=9)
    aat = [1, 3, 0]
    wanted = {2, 3}
    for lane in range(6):
        y = core.evaluate(aat, "FF", lane)
        core.evaluate(aat, "RH" if lane in wanted else ("RL" if y > 0 else "RF"), lane)
    assert (np.asarray(machine.core.ga) == np.asarray(core.ga)).all()
    assert (np.asarray(machine.core.gb) == np.asarray(core.gb)).all()


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
    program = assemble_text(text.replace(assimilation.CORE_LINE, target.core_line(65, 17, 128)), "a.kta")
    assert (program.core["model"], program.core["lanes"], program.core["spaces"]) == ("byte", 128, 65)


def test_a_weight_copy_makes_each_hidden_lane_read_the_teachers_pre_activation():
    """Copied into a healthy float core, a lane's clean read is z_u scaled by one constant
    for every lane: the copy's winners are the teacher's."""
    import vm

    rng = np.random.default_rng(6)
    x = rng.integers(0, 17, (60, 5)) / 16.0
    teacher = assimilation.Teacher(
        rng.normal(size=(5, 8)), rng.normal(size=8), rng.normal(size=(8, 10)), np.zeros(10)
    )
    pixels = LevelCodec.fit(x, 17)
    winners = WinnerCodec(2, 4).fit(teacher.hidden(x))
    hidden, _ = assimilation.teacher_tables(teacher, pixels, winners)
    core = vm.Core(1, 17, spaces_per_lane=pixels.spaces, num_lanes=8, model="float", init="low", seed=1)
    assimilation.copy_weights(core, hidden)
    reads = np.array(
        [[core.weights(u, [int(a) for a in row])[0] for u in range(8)] for row in pixels.encode(x)]
    )
    z = teacher.hidden(pixels.decode(pixels.encode(x)))
    scale = (reads * z).sum() / (reads**2).sum()
    assert np.allclose(reads * scale, z, rtol=1e-9, atol=1e-9 * np.abs(z).max())
    assert (winners.encode(reads) == winners.encode(z)).all()
