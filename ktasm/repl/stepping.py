"""The step path: instructions run one at a time and what each did printed (``.step``, and
an instruction typed at the prompt, which runs after the program and is dropped again)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ktasm.errors import runtime_error_text
from ktasm.repl.format import Snapshot, instruction_effects, listing
from vm.bytecode import Program

if TYPE_CHECKING:
    from ktasm.repl.engine import Session
    from vm.machine import RuntimeFault

IMMEDIATE_STEP_LIMIT = 1_000_000  # a macro typed at the prompt that loops forever stops here
PRINT_EACH_STEP = 20  # up to this many instructions each is printed, then only a summary


def run_immediate(session: Session, program: Program) -> None:
    """Execute program's instructions after the machine's program, then drop them: the
    program's pc, stop reason and fault are as they were."""
    from vm import interp

    m = session.machine
    base = m.program
    n, k = base.code.shape[0], program.code.shape[0] - base.code.shape[0]
    if k == 0:
        return
    saved, saved_fault, saved_calls = m.status.copy(), m.fault_value.copy(), m.calls.copy()
    m.switch_program(program)
    m.status[interp.ST_PC] = n
    m.status[interp.ST_REASON] = interp.BUDGET
    m.status[interp.ST_PARTIAL] = 0  # a window stopped inside belongs to the program's pc
    executed = 0
    try:
        while n <= m.pc < n + k:
            if executed >= IMMEDIATE_STEP_LIMIT:
                session.err(f"stopped after {executed} instructions (a loop at the prompt?)")
                break
            print_it = k == 1 or executed < PRINT_EACH_STEP
            if not step_reported(session, print_it=print_it, with_listing=k > 1):
                break
            executed += 1
    finally:
        for slot in (interp.ST_PC, interp.ST_REASON, interp.ST_FAULT, interp.ST_PARTIAL, interp.ST_DEPTH):
            m.status[slot] = saved[slot]
        m.fault_value[:] = saved_fault
        m.calls[:] = saved_calls
        m.switch_program(base)


def step_reported(session: Session, print_it: bool, with_listing: bool) -> bool:
    """One instruction on the step path, its read recorded and (print_it) its effects
    printed, under its disassembly line if with_listing; False on a fault or a stopped program."""
    state = session.state
    m = state.machine
    program, pc = m.program, m.pc
    before = Snapshot.of(m)
    steps = m.steps
    result = m.step(1)
    if result.fault is not None:
        report_fault(session, program, result.fault)
        return False
    if m.steps == steps:  # nothing ran: the program had stopped
        return False
    effects = instruction_effects(m, program, pc, before, state.show)
    if effects.pair is not None:
        state.last_lane, state.last_aat = effects.pair
    if effects.read is not None:
        state.history.append(effects.read)
    if print_it:
        if with_listing:
            session.out(listing(m, pc, pc + 1, program))
        for text in effects.lines:
            session.out(("    " if with_listing else "") + text)
    return True


def report_fault(session: Session, program: Program, fault: RuntimeFault) -> None:
    session.runtime_faults += 1
    session.err(runtime_error_text(program, fault.pc, fault.message, fault.operand))


def print_where(session: Session) -> None:
    """The instruction at the pc, or that the program has ended."""
    m = session.machine
    if m.pc >= m.program.code.shape[0]:
        session.out(f"pc {m.pc}: the end of the program")
        return
    session.out(listing(m, m.pc, m.pc + 1))
