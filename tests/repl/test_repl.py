"""ktasm repl: the engine through -e, piped input and its API; the prompt-toolkit session
through a pipe input; breakpoints and program switching in the machine underneath."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ktasm.assembler import assemble_text
from ktasm.cli import cli
from ktasm.repl.engine import COMMANDS, Session, sparkline
from vm import config
from vm.devices.layout import SLOTS
from vm.ktram.core import Core
from vm.machine import Machine

REPO = Path(__file__).resolve().parents[2]
ANNEAL = REPO / "tests" / "data" / "golden" / "anneal.kta"
Y = re.compile(r"L(\d+) (\w+): y = ([-+]\d\.\d+)")


class Recorder:
    """A session whose output lines are kept (stdout and stderr apart)."""

    def __init__(self, **kwargs):
        self.out, self.err = [], []
        self.session = Session(out=self.out.append, err=self.err.append, **kwargs)

    def __call__(self, *lines):
        start = len(self.out)
        for line in lines:
            self.session.execute(line)
        return "\n".join(self.out[start:])


def _ys(text):
    return [float(m.group(3)) for m in Y.finditer(text)]


def _repl(*args, input=None):
    return CliRunner().invoke(cli, ["repl", *args], input=input)


# ---------------------------------------------------------------------- -e and piped input
def test_e_lines_run_on_a_live_core_and_print_what_the_core_api_gives():
    lines = [".aat z = (0)", "FF L0, z", "FH L0, z", "FF L0, z", ".state"]
    result = _repl(*[x for line in lines for x in ("-e", line)])
    assert result.exit_code == 0, result.output
    core = Core(**config.core_kwargs(config.DEFAULTS))
    expected = [core.evaluate((0,), "FF")]
    core.evaluate((0,), "FH")
    expected.append(core.evaluate((0,), "FF"))
    got = _ys(result.output)
    assert got == pytest.approx(expected, abs=5e-7)
    ga, gb = core.read_gab(0, (0,))
    row = re.search(r"^\s+0\s+0\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+z$", result.output, re.M)
    assert row, result.output
    assert float(row.group(1)) == pytest.approx(ga, rel=1e-4)
    assert float(row.group(2)) == pytest.approx(gb, rel=1e-4)
    assert float(row.group(3)) == pytest.approx(ga + gb, rel=1e-4)
    assert float(row.group(4)) == pytest.approx((ga - gb) / (ga + gb), abs=1e-5)


def test_piped_input_reports_a_bad_line_with_caret_and_goes_on():
    script = ".aat z = (0)\nFF L0, nope\nFF L0, z\n"
    proc = subprocess.run(
        [sys.executable, "-m", "ktasm", "repl"], input=script, capture_output=True, text=True
    )
    assert proc.returncode == 65, proc.stderr
    assert "<stdin>:2:8: error: FF aat: 'nope' is not defined" in proc.stderr
    assert "    FF L0, nope\n           ^~~~" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(_ys(proc.stdout)) == 1  # the line after the error ran


def test_runtime_fault_prints_a_caret_keeps_state_and_exits_70():
    rec = Recorder()
    rec(".aat z = (0)", "MOV r1, 5")
    before = rec.session.machine.get_state()
    rec("FF L[r1], z")
    assert "<repl>:3:4: runtime error: lane index 5 out of range [0, 1)" in rec.err[-1]
    after = rec.session.machine.get_state()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)
    assert rec.session.exit_status == 70
    assert len(_ys(rec("FF L0, z"))) == 1  # the machine is not left faulted


def test_declarations_extend_the_live_machine_without_touching_its_state():
    rec = Recorder()
    rec(".aat z = (0)", "FH L0, z", "FH L0, z", "MOV r3, 7")
    g = rec.session.machine.core.g.copy()
    text = rec(".const N = 3*2", ".vec v n=4", "VFILL v, N", ".aat q = (0)", ".mtj coins n=8")
    assert "const N = 6" in text and "vec v: n=4" in text and "aat q = (0)" in text
    assert "v = [6, 6, 6, 6]" in text
    np.testing.assert_array_equal(rec.session.machine.core.g, g)
    assert rec.session.machine.registers[3] == 7
    assert "coins = [" in rec("MPULSE coins, 1.5, 0.7e-9")
    assert len(_ys(rec("FF L0, q"))) == 1


def test_core_reconfigures_and_a_bad_core_changes_nothing():
    rec = Recorder()
    rec(".aat z = (0)")
    text = rec(".core lanes=3 model=byte")
    assert "a fresh core" in text
    assert rec.session.machine.core.num_lanes == 3 and rec.session.machine.core.model == "byte"
    assert len(_ys(rec("FF L2, z"))) == 1
    g = rec.session.machine.core.g.copy()
    rec(".core spaces=2")  # the AAT z has one entry: refused
    assert "AAT has 1 entries; the core has 2 spaces" in rec.err[-1]
    assert rec.session.machine.core.spaces_per_lane == 1
    np.testing.assert_array_equal(rec.session.machine.core.g, g)
    rec(".core model=float")  # keys typed earlier stay
    assert rec.session.machine.core.num_lanes == 3


def test_labels_and_jumps_need_a_program():
    rec = Recorder()
    rec("top: NOP", "JMP top", "LOOP 3")
    assert "labels belong in a program file" in rec.err[0]
    assert "JMP needs a program around it" in rec.err[1]
    assert "LOOP needs a program around it" in rec.err[2]


def test_a_macro_typed_over_several_lines_runs_as_one_block():
    rec = Recorder()
    assert rec.session.prompt() == "kta> "
    rec(".aat z = (0)", ".macro VOTE lane, x", "FF lane, x")
    assert rec.session.prompt() == "...  "
    text = rec("FH lane, x", ".endm")
    assert "macro VOTE lane, x" in text
    text = rec("VOTE L0, z")
    assert len(_ys(text)) == 1 and "w = " in text


def test_stdlib_include_at_the_prompt():
    rec = Recorder()
    rec('.include "thompson.kta"')
    assert not rec.err, rec.err
    assert any(s.text == "TS_VOTE" for s in rec.session.complete("TS_V"))


def test_seed_gives_the_same_reads_and_another_seed_others():
    def reads(seed):
        rec = Recorder()
        rec(".aat z = (0)", f".seed {seed}")
        return _ys(rec(*["FFLV L0, z, 0.9"] * 5))

    assert reads(3) == reads(3)
    assert reads(3) != reads(4)


def test_empty_line_repeats_the_last_step_only_interactively():
    rec = Recorder(repeat_on_empty=True)
    rec(".aat z = (0)")
    assert len(_ys(rec("FF L0, z", "", ""))) == 3
    piped = Recorder()
    piped(".aat z = (0)")
    assert len(_ys(piped("FF L0, z", "", ""))) == 1


def test_empty_line_repeats_a_step_command():
    stepped = Recorder(repeat_on_empty=True)
    stepped(f".load {ANNEAL}")
    stepped(".step 2", "", "")
    assert stepped.session.machine.steps == 6  # three .step 2 (pc loops back)
    assert not stepped.err, stepped.err


# ---------------------------------------------------------------------- programs and the debugger
def test_load_break_continue_step_match_the_whole_run():
    golden = json.loads((REPO / "tests" / "data" / "golden" / "anneal.out.json").read_text())["outputs"]
    rec = Recorder()
    text = rec(f".load {ANNEAL}", ".break 12", ".continue")
    outs = [float(v) for v in re.search(r"out \[([^\]]*)\]", text).group(1).split(",")]
    assert outs == pytest.approx(golden[:5], rel=1e-5)
    assert "break: 18 instructions" in text
    assert re.search(r"^\s+12 \*->\s+6\s+OUT", text, re.M)
    text = rec(".step 2")
    steps = [float(v) for v in re.findall(r"out \[([^\]]*)\]", text)]
    assert steps == pytest.approx(golden[5:], rel=1e-5)
    assert "the end of the program" in text
    rec(".step")
    assert "the program has stopped (end)" in rec.err[-1]
    text = rec(".reset", ".list")
    assert re.search(r"^\s+6 -->\s+0\s+SETY", text, re.M)
    rec(".break 99")
    assert "no instruction on line 99" in rec.err[-1]


def test_immediate_lines_leave_the_program_where_it_was():
    rec = Recorder()
    rec(f".load {ANNEAL}", ".step 2")
    pc, outs = rec.session.machine.pc, rec.session.machine.output_values()
    rec("FH L0, pair", "FF r5, L0, pair", ".aat extra = (0)", "RH L0, extra")
    m = rec.session.machine
    assert m.pc == pc and np.array_equal(m.output_values(), outs)
    assert m.program.code.shape[0] == 8
    assert m.registers[5] > 0 and m.registers[5] == m.core.lane_y[0]  # FH leaned the pair: y > 0
    assert m.program.aat_names == ["pair", "extra"]


def test_save_and_restore_give_the_same_future_bit_for_bit(tmp_path):
    path = tmp_path / "s.npz"
    rec = Recorder()
    rec(f".load {ANNEAL}", ".aat z = (0)", ".step 3", "FH L0, z", f".save {path}")
    future = ["FFLV L0, z, 0.8"] * 4 + [".step 2", "FF L0, z"]
    first = rec(*future)
    other = Recorder()
    other(".core lanes=4", ".aat q = (0)")
    assert "restored" in other(f".restore {path}")
    assert other(*future) == first
    assert other.session.machine.core.num_lanes == 1


def test_restore_refuses_a_bad_file_and_keeps_the_session(tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a session")
    rec = Recorder()
    rec(".aat z = (0)", "FH L0, z")
    g = rec.session.machine.core.g.copy()
    rec(f".restore {bad}")
    assert "is not a REPL session" in rec.err[-1]
    np.testing.assert_array_equal(rec.session.machine.core.g, g)
    assert len(_ys(rec("FF L0, z"))) == 1


def test_history_sparkline_and_plot(tmp_path):
    rec = Recorder()
    rec(".aat z = (0)", ".core lanes=2")
    rec(*["FF.RH L0, z", "FF L1, z"] * 6)
    text = rec(".history")
    assert re.search(r"L0 [▁▂▃▄▅▆▇█]{6}  6 reads", text) and "L1 " in text
    assert sparkline([0, 1, 2, 3]) == "▁▃▆█"
    pytest.importorskip("matplotlib")
    rec(f".plot {tmp_path / 'y.png'}")
    assert (tmp_path / "y.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_show_prints_the_pairs_on_request():
    rec = Recorder()
    rec(".aat z = (0)")
    assert "Ga" not in rec("FF L0, z")
    rec(".show ga gb")
    text = rec("FF L0, z")
    assert "Ga" in text and "m = Ga+Gb" in text
    rec(".show nope")
    assert "unknown field 'nope'" in rec.err[-1]


def test_help_covers_every_command_and_reads_the_instruction_table():
    rec = Recorder()
    text = rec(".help")
    for name in COMMANDS:
        assert f".{name}" in text
    assert "e.g. FF r0, L0, x" in rec(".help FF")
    doc = (REPO / "docs" / "repl.md").read_text()
    for c in COMMANDS.values():
        usage = c.usage.replace("|", "\\|")  # as a Markdown table cell writes it
        assert f"`{usage}`" in doc, f"docs/repl.md does not describe {c.usage}"


def test_quit_ends_the_session():
    rec = Recorder()
    assert rec.session.execute(".quit") is False
    result = _repl("-e", ".quit", "-e", ".aat z = (0)")
    assert result.exit_code == 0 and "aat z" not in result.output


# ---------------------------------------------------------------------- completion, validator, toolbar
def _texts(session, before):
    return [s.text for s in session.complete(before)]


def test_completion_from_the_table_and_the_declarations():
    rec = Recorder()
    rec(".aat zed = (0)", ".core lanes=2", ".vec v n=2")
    s = rec.session
    assert {"FF", "FFLV", "FF.FH"} <= set(_texts(s, "ff"))
    assert _texts(s, "FF L") == ["L0", "L1"]  # the optional rd may be left out
    assert "r3" in _texts(s, "FF ")
    assert _texts(s, "FF r0, L0, z") == ["zed"]
    assert _texts(s, "VFILL ") == ["v"]
    assert ".state" in _texts(s, ".st") and ".aat" in _texts(s, ".a")
    assert "FH" in _texts(s, ".help F")
    assert "model=" in _texts(s, ".core mo")
    assert f"{ANNEAL.parent}/anneal.kta" in _texts(s, f".load {ANNEAL.parent}/ann")


def test_check_points_at_the_column_without_running():
    rec = Recorder()
    rec(".aat z = (0)")
    steps = rec.session.machine.steps
    problem = rec.session.check("FF L0, nope")
    assert problem.span.col == 8 and "not defined" in problem.message
    assert rec.session.check("FF L0, z") is None
    assert rec.session.check(".bogus 3").span.col == 1
    assert rec.session.machine.steps == steps


def test_toolbar_shows_model_lane_pc_and_modeled_cost():
    rec = Recorder()
    rec(".aat z = (0)", "FH L0, z", "FF L0, z")
    m = rec.session.machine
    bar = rec.session.toolbar()
    y, mag = m.core.lane_y[0], m.core.weights(0, (0,))[1]
    assert bar.split("|")[0].strip() == "float"
    assert f"y {y:+.4f}" in bar and f"m {mag:.4g}" in bar
    assert f"{m.stats()['modeled_energy_j']:.4g} J" in bar and "pc -" in bar
    rec(f".load {ANNEAL}")
    assert "pc 0/8" in rec.session.toolbar()


def test_prompt_toolkit_session_through_a_pipe():
    from prompt_toolkit.completion import CompleteEvent
    from prompt_toolkit.document import Document
    from prompt_toolkit.history import InMemoryHistory
    from prompt_toolkit.input import create_pipe_input
    from prompt_toolkit.output import DummyOutput

    from ktasm.repl.terminal import make_prompt, run_terminal

    rec = Recorder(repeat_on_empty=True)
    with create_pipe_input() as pipe:
        prompt = make_prompt(rec.session, history=InMemoryHistory(), input=pipe, output=DummyOutput())
        assert prompt.bottom_toolbar() == rec.session.toolbar()
        for keys in (
            ".aat z = (0)\r",
            "FF L0, z\r",
            "\r",  # Enter again repeats the read
            "FF L0, nope\r",
            "\x03",  # refused by the validator; Ctrl-C drops it
            "FH L0, z\r",
            "MOV r1, 2\x03",  # Ctrl-C cancels a line being typed
            ".quit\r",
            "\x03\x04",
        ):
            pipe.send_text(keys)
        run_terminal(rec.session, prompt)
        completions = list(prompt.completer.get_completions(Document("FF r0, L0, "), CompleteEvent()))
    assert rec.session.input_lines == [".aat z = (0)", "FF L0, z", "FF L0, z", "FH L0, z", ".quit"]
    assert len(_ys("\n".join(rec.out))) == 2 and not rec.err
    assert [c.text for c in completions] == ["z", *[f"r{i}" for i in range(16)]]
    assert rec.session.machine.registers[1] == 0


# ---------------------------------------------------------------------- the machine underneath
LOOP_PROGRAM = """
.core cols=2 seed=1 read_noise=0.05
.aat z = (1)
        MOV r2, 0
        LOOP 6
body:       FFLV r0, L0, z, 0.5
            FH L0, z
            ADD r2, r2, r0
            OUT r2
        ENDLOOP
"""


def test_breakpoints_stop_the_compiled_loop_each_time_round(monkeypatch):
    import vm.machine as machine_module

    program = assemble_text(LOOP_PROGRAM)
    body = program.labels["body"]
    reference = Machine(program)
    reference.run()

    def stops(chunk):
        monkeypatch.setattr(machine_module, "CHUNK_STEPS", chunk)
        m = Machine(program)
        m.set_breakpoint(body)
        seen = []
        while True:
            r = m.run()
            if r.reason != "break":
                break
            assert m.pc == body
            seen.append(len(r.outputs))
        for key, value in reference.get_state().items():
            np.testing.assert_array_equal(value, m.get_state()[key], err_msg=key)
        return seen

    assert stops(1 << 20) == [0, 1, 2, 3, 4, 5]
    assert stops(1) == stops(3) == [0, 1, 2, 3, 4, 5]  # chunks ending on a breakpoint too

    stepper = Machine(program)
    stepper.set_breakpoint(body)
    r = stepper.step(100)
    assert r.reason == "break" and stepper.pc == body and stepper.steps == 2


def test_switch_program_checks_bound_data_without_reading_it_again(tmp_path):
    table = tmp_path / "t.csv"
    table.write_text("1,2\n3,4\n")
    m = Machine(assemble_text(f'.data t = "{table}"\n'))
    table.unlink()  # a switch must not go back to the file
    m.switch_program(assemble_text(f'.data t = "{table}"\n.aat z = (0)\nLD r1, t, 1, 0\n'))
    m.step(1)
    assert m.registers[1] == 3
    with pytest.raises(ValueError, match="3 columns"):  # the new use is still checked
        m.switch_program(
            assemble_text(f'.data t = "{table}"\n.aat z = (0)\n.vec v n=3\nLD r1, t, 1, 0\nVLD v, t, 0\n')
        )
    assert m.program.code.shape[0] == 1


def test_switch_program_keeps_state_and_refuses_a_different_program():
    first = assemble_text(".aat z = (0)\n.vec v n=2\n")
    m = Machine(first)
    m.core.evaluate((0,), "FH")
    m.vals[4] = 2.5
    m.vec[:] = [1, 2]
    g = m.core.g.copy()
    grown = assemble_text(".aat z = (0)\n.vec v n=2\n.aat q = (0)\n.mtj c n=3\nFF r1, L0, q\n")
    m.switch_program(grown)
    assert (
        m.vals[4] == 2.5 and np.array_equal(m.vec[:2], [1, 2]) and m.vec.shape[0] == 2 + 3 * len(SLOTS["mtj"])
    )
    np.testing.assert_array_equal(m.core.g, g)
    m.step(1)
    assert m.registers[1] == m.core.lane_y[0]
    for other in (".aat q = (0)\n.aat z = (0)\n", ".core lanes=2\n.aat z = (0)\n.vec v n=2\n"):
        state = m.get_state()
        with pytest.raises(ValueError, match="switch_program"):
            m.switch_program(assemble_text(other))
        assert m.program is grown
        for key, value in state.items():
            np.testing.assert_array_equal(value, m.get_state()[key])


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_ktasm_repl_on_a_terminal(tmp_path):
    """The CLI on a pty starts the prompt-toolkit session: lines run, history is written,
    Ctrl-D leaves with status 0."""
    import os
    import pty
    import select
    import time

    master, slave = pty.openpty()
    env = dict(os.environ, TERM="xterm", KTASM_HISTORY=str(tmp_path / "history"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ktasm", "repl"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
    )
    os.close(slave)
    seen = b""

    def read_until(token: bytes, timeout: float = 60) -> bool:
        nonlocal seen
        end = time.time() + timeout
        while time.time() < end:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    return False
                if token in seen:
                    return True
        return False

    try:
        assert read_until(b"kta>"), seen
        os.write(master, b".aat z = (0)\r")
        assert read_until(b"aat z = (0)")
        os.write(master, b"FF L0, z\r")
        assert read_until(b"y = ")
        seen = b""
        assert read_until(b"kta>", 20)
        os.write(master, b"\x04")
        end = time.time() + 30
        while proc.poll() is None and time.time() < end:
            read_until(b"\x00", 0.5)  # keep the pty drained
        assert proc.returncode == 0
        assert "FF L0, z" in (tmp_path / "history").read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)


def test_bad_files_and_arguments_are_reported_and_change_nothing(tmp_path):
    bad = tmp_path / "bad.kta"
    bad.write_text(".aat z = (0)\nFF L0, zz\n")
    rec = Recorder()
    rec(f".load {ANNEAL}", ".step")
    pc = rec.session.machine.pc
    rec(f".load {bad}", ".load /no/such/file.kta", ".step many", ".save /no/such/dir/s.npz", ".list 1000")
    assert f"{bad}:2:8: error: FF aat: 'zz' is not defined" in rec.err[0]
    assert "cannot read program /no/such/file.kta" in rec.err[1]
    assert "expected a count >= 1, got 'many'" in rec.err[2] and "cannot write" in rec.err[3]
    assert "no instruction on line 1000" in rec.err[4]
    assert rec.session.file_path == str(ANNEAL) and rec.session.machine.pc == pc
    proc = subprocess.run([sys.executable, "-m", "ktasm", "repl", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 65 and "'zz' is not defined" in proc.stderr and "Traceback" not in proc.stderr


def test_continue_is_bounded_by_max_steps():
    path = REPO / "tests" / "data" / "golden" / "anneal.kta"
    result = _repl(str(path), "--max-steps", "3", "-e", ".continue", "-e", ".continue")
    assert result.exit_code == 0, result.output
    assert result.output.count("max_steps: 3 instructions") == 2


def test_mutated_lines_never_escape_the_engine():
    """Every line of mutated shipped programs, fed to one session: each is run or reported;
    no exception leaves execute()."""
    import random

    from ktasm.fuzz import mutate, seed_programs

    rng = random.Random(7)
    rec = Recorder(max_steps=10_000)
    rec(".core lanes=2 spaces=2 cols=4", ".aat x = (0, 1)", ".vec v n=3")
    texts = seed_programs()
    for _ in range(40):
        for line in mutate(rng.choice(texts), rng).split("\n")[:60]:
            if line.strip().lower().startswith((".load", ".restore", ".save", ".plot", ".quit")):
                continue
            rec.session.execute(line)
    assert rec.session.input_errors > 0  # the mutations did reach the checks
    rec.session.execute("MOV r15, 42")  # still a working session
    assert rec.session.machine.registers[15] == 42
