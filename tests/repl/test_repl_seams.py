"""The REPL's seams: the builder plans a line without printing or changing the session;
.save and .restore write and swap the one SessionState."""

import numpy as np

from ktasm.repl.builder import Declare, Reconfigure, RunNow
from ktasm.repl.engine import Session


def test_the_builder_plans_a_line_and_changes_nothing():
    printed = []
    session = Session(out=printed.append)
    session.execute(".aat z = (0)")
    state, decls, shown = session.machine.get_state(), list(session.state.parts.decls), len(printed)
    builder, program = session.builder, session.machine.program
    assert isinstance(builder.plan(".aat q = (0)", 2, "", program), Declare)
    assert isinstance(builder.plan(".core lanes=2", 2, "", program), Reconfigure)
    run = builder.plan("FF L0, z", 2, "", program)
    assert isinstance(run, RunNow) and run.program.code.shape[0] == program.code.shape[0] + 1
    assert builder.plan("; only a comment", 2, "", program) is None
    assert len(printed) == shown and session.state.parts.decls == decls
    assert session.machine.program is program
    for key, value in session.machine.get_state().items():
        np.testing.assert_array_equal(value, state[key], err_msg=key)


def test_restore_swaps_in_the_saved_state(tmp_path):
    path = str(tmp_path / "s.npz")
    saved = Session(out=lambda text: None)
    for line in (".aat z = (0)", "FH L0, z", "FF L0, z", ".show m"):
        saved.execute(line)
    saved.save(path)
    session = Session(out=lambda text: None)
    before = session.state
    session.restore(path)
    assert session.state is not before
    assert session.state.history == saved.state.history and session.state.show == {"y", "m"}
    assert session.input_lines == saved.input_lines and session.state.last_aat == 0
