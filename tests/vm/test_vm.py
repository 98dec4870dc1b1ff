"""The VM: instruction semantics, faults, results equal to driving vm.Core directly, and
the compiled loop against the plain-Python step path on random programs."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ktasm.assembler import assemble_text
from vm import Core, isa
from vm.machine import CHUNK_STEPS, DataError, Machine, MissingData


def run(src, data=None, **kw):
    return Machine(assemble_text(src), data, **kw).run()


def outputs(src, data=None, **kw):
    result = run(src, data, **kw)
    assert result.fault is None, result.fault
    return result.outputs.tolist()


# ---------------------------------------------------------------- scalar semantics
def test_arithmetic_and_minmax():
    out = outputs("""
        MOV r0, 7
        MOV r1, 2
        ADD r2, r0, r1
        SUB r3, r0, r1
        MUL r4, r0, 2.5
        DIV r5, r0, r1
        MIN r6, r0, r1
        MAX r7, r0, r1
        NEG r8, r0
        ABS r9, r8
        FLOOR r10, -2.5
        OUT r2
        OUT r3
        OUT r4
        OUT r5
        OUT r6
        OUT r7
        OUT r8
        OUT r9
        OUT r10
    """)
    assert out == [9, 5, 17.5, 3.5, 2, 7, -7, 7, -3]


def test_constant_expressions_and_registers_start_at_zero():
    out = outputs("""
        .const A = 3
        .const B = (A + 1) * -2 / 4
        OUT B
        OUT r5
        OUT A * A
    """)
    assert out == [-2.0, 0.0, 9.0]


def test_nested_loops_count_and_zero_or_negative_counts_skip():
    out = outputs("""
        MOV r1, 3
        LOOP r1
            LOOP 4
                ADD r0, r0, 1
            ENDLOOP
        ENDLOOP
        OUT r0
        LOOP 0
            OUT 99
        ENDLOOP
        LOOP -2
            OUT 98
        ENDLOOP
        LOOP 2.9
            OUT 1
        ENDLOOP
    """)
    assert out == [12, 1, 1]


def test_loop_count_is_read_once():
    # changing the register inside the body does not change the trip count
    assert outputs("""
        MOV r1, 3
        LOOP r1
            ADD r1, r1, 10
            ADD r0, r0, 1
        ENDLOOP
        OUT r0
    """) == [3]


def test_conditional_jumps_fibonacci():
    out = outputs("""
        MOV r0, 0
        MOV r1, 1
    next:
        OUT r0
        ADD r2, r0, r1
        MOV r0, r1
        MOV r1, r2
        JLT r0, 50, next
        HALT
        OUT 12345
    """)
    assert out == [0, 1, 1, 2, 3, 5, 8, 13, 21, 34]


@pytest.mark.parametrize(
    "op, a, b, taken",
    [
        ("JEQ", 1, 1, True),
        ("JEQ", 1, 2, False),
        ("JNE", 1, 2, True),
        ("JNE", 2, 2, False),
        ("JLT", 1, 2, True),
        ("JLT", 2, 2, False),
        ("JLE", 2, 2, True),
        ("JLE", 3, 2, False),
        ("JGT", 3, 2, True),
        ("JGT", 2, 2, False),
        ("JGE", 2, 2, True),
        ("JGE", 1, 2, False),
    ],
)
def test_each_comparison(op, a, b, taken):
    out = outputs(f"MOV r0, {a}\n{op} r0, {b}, yes\nOUT 0\nHALT\nyes: OUT 1\n")
    assert out == [1 if taken else 0]


def test_argmax_takes_first_of_ties_and_reports_offset():
    assert outputs("""
        MOV r3, 5
        MOV r4, 9
        MOV r5, 9
        MOV r6, -1
        ARGMAX r0, r3..r6
        OUT r0
        ARGMAX r1, r6..r6
        OUT r1
    """) == [1, 0]


def test_min_max_propagate_nan_in_both_engines():
    src = """
        MOV r0, 1e308
        MUL r0, r0, 10
        SUB r1, r0, r0
        MIN r2, r1, 3
        MIN r3, 3, r1
        MAX r4, r1, 3
        OUT r2
        OUT r3
        OUT r4
    """
    for result in (Machine(assemble_text(src)).run(), Machine(assemble_text(src)).step(100)):
        assert all(math.isnan(v) for v in result.outputs)


def test_halt_stops_and_running_again_does_nothing():
    m = Machine(assemble_text("OUT 1\nHALT\nOUT 2\n"))
    first = m.run()
    assert first.reason == "halted" and first.outputs.tolist() == [1.0]
    again = m.run()
    assert again.reason == "halted" and again.stats["instructions"] == 2


def test_end_of_text_ends_the_program():
    result = run("OUT 1\n")
    assert result.reason == "end" and result.stats["instructions"] == 1


def test_outputs_grow_beyond_the_initial_buffer():
    out = outputs("LOOP 5000\nADD r0, r0, 1\nOUT r0\nENDLOOP\n")
    assert out == list(range(1, 5001))


def test_max_steps_then_resume_equals_unbroken_run():
    src = """
        .core cols=4 spaces=2 lanes=2 seed=11 read_noise=0.05
        .aat x = (1, 3)
        LOOP 300
            FF r0, L1, x
            RU L1, x
            OUT r0
        ENDLOOP
    """
    whole = run(src)
    m = Machine(assemble_text(src))
    parts = [m.run(max_steps=k) for k in (1, 7, 100, 333)]
    assert [p.reason for p in parts] == ["max_steps"] * 4
    rest = m.run()
    assert rest.reason == "end"
    np.testing.assert_array_equal(rest.outputs, whole.outputs)
    assert rest.stats["instructions"] == whole.stats["instructions"]


def test_run_longer_than_one_chunk():
    n = CHUNK_STEPS + 10
    result = run(f"LOOP {n}\nADD r0, r0, 1\nENDLOOP\nOUT r0\n")
    assert result.outputs.tolist() == [n]
    assert result.stats["instructions"] == 2 * n + 2  # LOOP, n bodies, n ENDLOOPs, OUT


# ---------------------------------------------------------------- faults
@pytest.mark.parametrize(
    "src, message",
    [
        ("DIV r0, 1, r1\n", "division by zero"),
        (".core lanes=2\nMOV r0, 2\nFF L[r0], (0)\n", "lane index 2 out of range [0, 2)"),
        (".core lanes=2\nMOV r0, -1\nRH L[r0], (0)\n", "lane index -1 out of range [0, 2)"),
        ("MOV r0, 1.5\nFFLV L0, (0), r0\n", "read dial 1.5 out of range [0, 1]"),
        ("MOV r0, 1.5\nSETY L0, (0), r0, 0.1\n", "SETY y0 1.5 out of range [-1, 1]"),
        ("MOV r0, -1\nSETY L0, (0), 0, r0\n", "SETY level -1 must be >= 0"),
        ("MOV r0, 1\nSETY L0, (0), r0, 0.1\n", "SETY y0 1 is out of reach at this level"),
        ("MOV r0, 0.9\nSETY L0, (0), r0, 0.6\n", "SETY y0 0.9 is out of reach at this level"),
        (
            "MOV r0, 1e308\nMUL r0, r0, 10\nLOOP r0  ; faults here\nENDLOOP\n",
            "LOOP count inf is not a finite number",
        ),
        (".data t\nLD r0, t, 3, 0\n", "data row 3 out of range"),
        (".data t\nLD r0, t, 0, 2\n", "data column 2 out of range"),
        (
            ".core cols=4\n.data t\n.aat x\nLDAAT x, t, 1\n",
            "AAT address 5 out of range [0, 4) (negative disables a space)",
        ),
    ],
)
def test_runtime_faults_name_the_instruction(src, message):
    table = np.array([[1.0, 2.0], [5.0, 6.0], [3.0, 4.0]])
    if "LDAAT" in src:
        table = table[:, :1]
    data = {"t": table} if ".data" in src else None
    program = assemble_text(src, "f.kta")
    for result in (Machine(program, data).run(), Machine(program, data).step(50)):
        assert result.reason == "fault"
        assert result.fault.message.startswith(message)
        lines = src.splitlines()
        fault_line = next((k for k, text in enumerate(lines, 1) if "faults here" in text), len(lines))
        assert program.location(result.fault.pc)[1] == fault_line


# ---------------------------------------------------------------- data
def test_data_tables_rows_cols_and_runtime_aats(tmp_path):
    feats = np.array([[0, 3, -1], [2, -5, 1]], dtype=float)
    csv = tmp_path / "labels.csv"
    csv.write_text("1\n0\n")
    src = f"""
        .core cols=4 spaces=3 lanes=1 seed=2
        .data feats
        .data labels = "{csv}"
        .aat x
        ROWS r0, feats
        COLS r1, feats
        OUT r0
        OUT r1
        LD r2, labels, 1, 0
        OUT r2
        LD r2, labels, 0, 0
        OUT r2
        LDAAT x, feats, 1
        SETY L0, x, 0.5, 0.25
        GAB r3, r4, L0, x
        OUT r3
        OUT r4
    """
    m = Machine(assemble_text(src), {"feats": feats})
    result = m.run()
    gmax = m.core.gmax
    assert result.outputs.tolist() == [2, 3, 0, 1, 2 * 0.25 * gmax * 1.5, 2 * 0.25 * gmax * 0.5]
    np.testing.assert_array_equal(m.aats[0], [2, -1, 1])


def test_data_errors_are_clear():
    program = assemble_text(".core spaces=2\n.data t\n.aat x\nLDAAT x, t, 0\n")
    with pytest.raises(MissingData, match="needs data 't'"):
        Machine(program)
    with pytest.raises(DataError, match="one column per space"):
        Machine(program, {"t": np.zeros((3, 3))})
    with pytest.raises(DataError, match="not declared"):
        Machine(program, {"t": np.zeros((3, 2)), "u": np.zeros(2)})
    with pytest.raises(DataError, match="expected numbers"):
        Machine(program, {"t": np.array([["a", "b"]])})


# ---------------------------------------------------------------- kT-RAM through the VM
PROFILE = """
.core rows=1 cols=16 spaces=4 lanes=3 model={model} init=medium seed=7 read_noise=0.02
.aat  x1 = (0, 5, _, 15)
.const N = 60
start:
    SETY  L0, x1, 0.3, 0.3
    LOOP  N
        FF    r0, L0, x1
        RH    L0, x1
        FF.RH r1, L2, x1
        FFLV  r2, L1, x1, 0.4
        OUT   r0
        OUT   r1
        OUT   r2
    ENDLOOP
    GAB   r2, r3, L0, x1
    OUT   r2
    OUT   r3
    HALT
"""


@pytest.mark.parametrize("model", ["float", "byte", "rs", "mss"])
def test_program_equals_the_same_stream_on_core(model):
    m = Machine(assemble_text(PROFILE.format(model=model)))
    result = m.run()
    core = Core(1, 16, 4, 3, model, "medium", 7, 0.02)
    x1 = (0, 5, None, 15)
    core.set_start_y(0, x1, 0.3, 0.3)
    expected = []
    for _ in range(60):
        y0 = core.evaluate(x1, "FF", 0)
        core.evaluate(x1, "RH", 0)
        y1 = core.evaluate(x1, "FF", 2)
        core.evaluate(x1, "RH", 2)
        y2 = core.evaluate(x1, "FFLV", 1, noise=0.4)
        expected += [y0, y1, y2]
    pairs = core.read_gab(0, x1)
    expected += [sum(p[0] for p in pairs), sum(p[1] for p in pairs)]
    assert result.outputs.tolist() == expected
    for name, value in core.get_state().items():
        np.testing.assert_array_equal(getattr(m.core, name), value, err_msg=name)
    assert result.stats["modeled_time_s"] == core.modeled_time_s > 0
    assert result.stats["modeled_energy_j"] == core.modeled_energy_j > 0
    assert result.stats["instructions"] == 2 + 60 * 8 + 4  # SETY LOOP, 7 + ENDLOOP per pass, GAB OUT OUT HALT


def test_seed_and_model_overrides():
    program = assemble_text(PROFILE.format(model="float"))
    base = Machine(program).run().outputs
    np.testing.assert_array_equal(Machine(program, seed=7).run().outputs, base)
    assert not np.array_equal(Machine(program, seed=8).run().outputs, base)
    byte = Machine(program, model="byte")
    assert byte.core.model == "byte" and byte.run().fault is None
    with pytest.raises(ValueError, match="model"):
        Machine(program, model="nope")


def test_read_without_register_still_sets_lane_y_for_feedback():
    # FF with no rd, then RU: RU uses the retained y of the read
    src = ".core cols=2 seed=4\n.aat z = 1\nSETY L0, z, -0.4, 0.3\nFF L0, z\nRU L0, z\nFF r0, L0, z\nOUT r0\n"
    core = Core(1, 2, 1, 1, seed=4)
    core.set_start_y(0, (1,), -0.4, 0.3)
    core.evaluate((1,), "FF")
    core.evaluate((1,), "RU")
    assert outputs(src) == [core.evaluate((1,), "FF")]


# ---------------------------------------------------------------- compiled loop == step path
def _random_program(draw) -> str:
    """A random valid program built from the instruction table (jumps may loop: the run
    is bounded by a step budget)."""
    lanes = draw(st.integers(1, 3))
    spaces = draw(st.integers(1, 3))
    cols = draw(st.integers(1, 4))
    model = draw(st.sampled_from(["float", "byte", "rs", "mss"]))
    noise = draw(st.sampled_from([0.0, 0.02, 0.3]))
    addresses = ", ".join(str(draw(st.integers(0, cols - 1))) for _ in range(spaces))
    lines = [
        f".core cols={cols} spaces={spaces} lanes={lanes} model={model} "
        f"read_noise={noise} seed={draw(st.integers(0, 99))}",
        f".aat a0 = ({addresses},)",
        ".aat a1",
        ".data t",
        ".data tv",
        ".data tw",
        ".data tm",
        ".vec v1 n=4",
        ".vec v2 n=4",
        ".vec v16 n=16",
        ".vec vr n=2",
        f".mtj m n=4 mode={draw(st.sampled_from(['reset', 'toggle']))}",
        f".pairs w rows=2 cols=4 levels=2 read_noise={draw(st.sampled_from([0, 0.02]))}",
        ".bank b n=4 j2=-4 j4=4 temperature=0.5 dt=0.05 tf=0.2",
        ".ou o n=4 window=5e-8",
    ]
    n_labels = 3
    regs = st.integers(0, 7).map(lambda i: f"r{i}")
    number = st.sampled_from(["0", "1", "2", "0.5", "-1", "0.25", "3", "0x3", "0b10"])
    value = st.one_of(regs, number)
    # a constant that keeps every static rule (vm.isa.STATIC_RULES; the vectors have 4 elements)
    valid_value = st.one_of(regs, st.sampled_from(["0.5", "1", "0.25"]))
    operand = {
        isa.REG: regs,
        isa.VALUE: value,
        isa.LANE: st.one_of(st.integers(0, lanes - 1).map(lambda i: f"L{i}"), regs.map(lambda r: f"L[{r}]")),
        isa.AAT: st.sampled_from(["a0", "a1"]),
        isa.DATA: st.just("t"),
        isa.VEC: st.sampled_from(["v1", "v2", "b", "o"]),
        isa.MTJ: st.just("m"),
        isa.PAIRS: st.just("w"),
        isa.BANK: st.just("b"),
        isa.OU: st.just("o"),
        isa.LABEL: st.integers(0, n_labels - 1).map(lambda i: f"lab{i}"),
        isa.RANGE: st.tuples(st.integers(0, 7), st.integers(0, 3)).map(lambda t: f"r{t[0]}..r{t[0] + t[1]}"),
    }
    plain = [i for i in isa.INSTRUCTIONS if i.mnemonic not in ("LOOP", "ENDLOOP", "HALT")]
    body = []
    depth = 0
    for _ in range(draw(st.integers(1, 25))):
        choice = draw(st.integers(0, 9))
        if choice == 0 and depth < 2:
            body.append(f"LOOP {draw(st.one_of(regs, st.sampled_from(['0', '2', '3'])))}")
            depth += 1
        elif choice == 1 and depth > 0:
            body.append("ENDLOOP")
            depth -= 1
        else:
            ins = draw(st.sampled_from(plain))
            special = {("ISING", "spins"): "v16", ("PPMAC", "vd"): "vr", ("PPSTATE", "vd"): "v16"}
            tables = {"": "t", "cols=spaces": "t", "cols=vd": "tv", "shape=pairs": "tw", "cols=3": "tm"}
            tags = {"OUT": '"s"', "VOUT": '"v"'}  # one name per kind of output
            ops = [
                special.get((ins.mnemonic, o.name))
                or (tables[ins.data_shape] if o.kind == isa.DATA else None)
                or (tags[ins.mnemonic] if o.kind == isa.TAG else None)
                or draw(valid_value if o.valid else operand[o.kind])
                for o in ins.source_operands
                if not o.optional or draw(st.booleans())
            ]
            if ins.mnemonic in ("FFLV", "RFLV", "FF", "RF") and len(ops) == 4:
                ops[3] = draw(st.sampled_from(["0", "0.3", "r1"]))
            body.append(f"{ins.mnemonic} {', '.join(ops)}")
        body.append("OUT r0")
    body += ["ENDLOOP"] * depth
    for k in range(n_labels):
        body.insert(draw(st.integers(0, len(body))), f"lab{k}:")
    return "\n".join(lines + body) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_compiled_loop_and_step_path_agree(data):
    src = data.draw(st.composite(_random_program)())
    program = assemble_text(src)
    table = np.array([[0.0, 1.0, 3.0], [2.0, -1.0, 1.0], [1.0, 1.0, 0.0]])[:, : program.core["spaces"]]
    budget = 400
    tables = {
        "t": table,
        "tv": np.arange(8.0).reshape(2, 4) - 3,
        "tw": np.array([[1, -1, 0.5, 0], [-0.3, 1, 1, -1]]),
        "tm": np.array([[1.0, -2.0, 0.5], [3.0, 1.0, 0.1]]),
    }
    fast = Machine(program, tables)
    slow = Machine(program, tables)
    r_fast = fast.run(max_steps=budget)
    r_slow = slow.step(budget)
    assert r_fast.reason == r_slow.reason, src
    np.testing.assert_array_equal(r_fast.outputs, r_slow.outputs)
    for name in ("vals", "aats", "status", "fault_value", "calls", "vec", "dev_meters"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(slow, name), err_msg=name)
    np.testing.assert_array_equal(fast.output_tags_so_far(), slow.output_tags_so_far())
    for name, value in fast.core.get_state().items():
        np.testing.assert_array_equal(getattr(slow.core, name), value, err_msg=name)


# ---------------------------------------------------------------- checkpoints
CHECKPOINTED = """
.core cols=4 spaces=2 lanes=2 model={model} seed=3 read_noise=0.05
.aat x = (1, 3)
    LOOP 150
        FF.RU r0, L1, x
        RFLV r1, L0, x, 0.5
        OUT r0
        OUT r1
    ENDLOOP
"""


@pytest.mark.parametrize("model", ["float", "mss"])
@pytest.mark.parametrize("split", [0, 1, 5, 200, 598])
def test_checkpoint_split_anywhere_resumes_bit_for_bit(tmp_path, model, split):
    program = assemble_text(CHECKPOINTED.format(model=model))
    whole = Machine(program).run()
    first = Machine(program)
    first.run(max_steps=split)
    first.save_checkpoint(tmp_path / "s.npz")
    second = Machine(program, seed=999)  # the checkpoint carries the random stream
    second.load_checkpoint(tmp_path / "s.npz")
    rest = second.run()
    np.testing.assert_array_equal(rest.outputs, whole.outputs)
    assert rest.stats["instructions"] == whole.stats["instructions"]
    assert rest.stats["modeled_energy_j"] == whole.stats["modeled_energy_j"]


def test_checkpoint_of_another_program_or_model_is_refused(tmp_path):
    from vm.machine import CheckpointError

    program = assemble_text(CHECKPOINTED.format(model="float"))
    m = Machine(program)
    m.run(max_steps=10)
    m.save_checkpoint(tmp_path / "s.npz")
    other = Machine(assemble_text(CHECKPOINTED.format(model="float").replace("150", "151")))
    with pytest.raises(CheckpointError, match="from another program"):
        other.load_checkpoint(tmp_path / "s.npz")
    with pytest.raises(CheckpointError, match="another device model"):
        Machine(program, model="byte").load_checkpoint(tmp_path / "s.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(CheckpointError, match="not a checkpoint"):
        Machine(program).load_checkpoint(tmp_path / "junk.npz")


def test_bad_state_leaves_the_machine_unchanged():
    program = assemble_text(CHECKPOINTED.format(model="float"))
    m = Machine(program)
    m.run(max_steps=7)
    before = m.get_state()
    broken = dict(before, aats=np.zeros((5, 5), dtype=np.int64))
    with pytest.raises(ValueError, match="aats"):
        m.set_state(broken)
    for name, value in m.get_state().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


@pytest.mark.parametrize("model", ["float", "byte", "rs", "mss"])
def test_sety_sets_the_weight_asked_or_faults(model):
    """SETY never clamps silently: a reachable (y0, level) reads back y0 from the devices
    (byte: to its whole-unit quantum), an unreachable one faults naming y0."""
    from vm.ktram.models import conductance_range

    gmin, gmax = conductance_range(model, None)
    rng = np.random.default_rng(7)
    reached = refused = 0
    for y0, level in zip(rng.uniform(-1, 1, 60).tolist(), rng.uniform(0, 1, 60).tolist(), strict=True):
        src = f".core cols=1 model={model}\n.aat x = 0\nSETY L0, x, {y0!r}, {level!r}\nGAB r1, r2, L0, x\nOUT r1\nOUT r2\n"
        result = Machine(assemble_text(src, "f.kta")).run()
        reachable = level * (1 + abs(y0)) <= 1 and level * gmax * (1 - abs(y0)) >= gmin
        if not reachable:
            refused += 1
            assert result.reason == "fault" and "out of reach" in result.fault.message
            continue
        reached += 1
        ga, gb = result.outputs
        quantum = 2.0 / (ga + gb) if model == "byte" else 1e-9
        assert abs((ga - gb) / (ga + gb) - y0) <= quantum
        assert gmin <= min(ga, gb) and max(ga, gb) <= gmax
    assert reached > 5 and refused > 5
