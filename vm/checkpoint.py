"""Checkpoints: a machine's state saved to an ``.npz`` (no pickles) and read back as
untrusted input. The compiled loop indexes with a state's values without checks, so every
value that indexes or steers it is checked here before a run, as the bytecode verifier
checks code."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from vm import codes, faults, isa
from vm import interp as _interp
from vm.archive import ArchiveError, read_npz

if TYPE_CHECKING:
    from vm.machine import Machine

# 2: status has the stop and partial-window slots; 3: the call stack (status[ST_DEPTH], calls),
# each output's name (output_tags) and the core's per-device non-ideal state (core_per_device);
# 4: a .pairs array's cache slot holds a table of 7 numbers per device (PPMAC's switching draw)
CHECKPOINT_FORMAT = "ktasm-checkpoint-4"
# The largest drift exponent a state may hold: .core allows drift and drift_spread up to 1,
# so a drawn nu beyond 20 (19 sd) is a damaged state, whose law would overflow to 0 or inf.
MAX_NU = 20.0


class CheckpointError(ValueError):
    """A checkpoint that does not belong to this program, model or ktasm version."""


def save(machine: Machine, path) -> None:
    """An .npz file (no pickles) that load resumes from, bit for bit."""
    arrays: dict[str, Any] = {
        "format": np.array(CHECKPOINT_FORMAT),
        "program": np.array(machine.program.fingerprint()),
        "model": np.array(machine.core.model),
        "seed": np.array(str(machine.seed)),
        **machine.get_state(),
    }
    np.savez(path, **arrays)


def bytes_limit(machine: Machine) -> int:
    """The most bytes a checkpoint's arrays can need: this machine's state and
    max_outputs outputs, with room for the small strings."""
    state = sum(v.nbytes for v in machine.get_state().values())
    return 2 * state + 8 * machine.max_outputs + (1 << 20)


def load(machine: Machine, path, seed: int | None = None) -> None:
    """Resume from a checkpoint of this program and model; with seed, refuse one
    written by a run on another seed (its random stream would overrule the seed)."""
    try:
        state = read_npz(path, bytes_limit(machine), "checkpoint")
    except ArchiveError as exc:
        raise CheckpointError(str(exc)) from None
    for key, expected, what in (
        ("format", CHECKPOINT_FORMAT, "a checkpoint of another ktasm version"),
        ("program", machine.program.fingerprint(), "from another program"),
        ("model", machine.core.model, "from a run on another device model"),
    ):
        if key not in state or state[key].shape != () or str(state[key]) != expected:
            raise CheckpointError(f"checkpoint {path} is {what}; refusing to load it")
    saved_seed = str(state.pop("seed", "?"))
    if seed is not None and saved_seed != str(seed):
        raise CheckpointError(
            f"checkpoint {path} is from a run with seed {saved_seed}, not {seed}; "
            "its random stream would overrule --seed (drop --seed, or pass the same one)"
        )
    try:
        machine.set_state(state)
    except (KeyError, ValueError) as exc:
        raise CheckpointError(f"checkpoint {path} is damaged: {exc}") from None


def state_problem(machine: Machine, n_outputs: int) -> str | None:
    """What is wrong with the machine's current state arrays as a place to run from, or
    None. Checks every value that the compiled loop indexes with or that steers it."""
    program, core = machine.program, machine.core
    n_code = program.code.shape[0]
    pc, steps, n_out, reason, fault = (int(v) for v in machine.status[: _interp.ST_FAULT + 1])
    if not 0 <= pc <= n_code:
        return f"pc {pc} out of range [0, {n_code}]"
    if reason in (_interp.HALTED, _interp.FAULTED, _interp.BREAK) and pc == n_code:
        return f"pc {pc} is past the end for stop reason {reason}"
    if not 0 <= steps < 1 << 62:
        return f"instruction count {steps} out of range"
    if n_out != n_outputs:
        return f"output count {n_out} does not match the {n_outputs} outputs saved"
    if reason not in (
        _interp.BUDGET,
        _interp.HALTED,
        _interp.ENDED,
        _interp.OUT_FULL,
        _interp.FAULTED,
        _interp.BREAK,
    ):
        return f"stop reason {reason} unknown"
    if not 0 <= fault < len(faults.FAULTS) or (fault != codes.F_NONE) != (reason == _interp.FAULTED):
        return f"fault code {fault} does not fit stop reason {reason}"
    partial = int(machine.status[_interp.ST_PARTIAL])
    if partial != 0:
        window = window_iterations(machine, pc)
        if not 0 < partial < window:
            return f"a RELAX stopped inside its window at {partial} of {window} iterations is not at pc {pc}"
    machine.status[_interp.ST_STOP] = 0  # a request to stop is not part of the future
    problem = calls_problem(machine)
    if problem:
        return problem
    first = program.first_constant
    counters = machine.vals[isa.N_REGISTERS : first]
    if not np.all(np.isfinite(counters) & (np.floor(counters) == counters) & (np.abs(counters) <= 9.0e15)):
        return "a loop counter is not a whole number in [-9e15, 9e15]"
    if not np.array_equal(machine.vals[first:], program.constants):
        return "the constant pool differs from the program's"
    addresses = core.num_addresses
    if machine.aats.size and (machine.aats.min() < -1 or machine.aats.max() >= addresses):
        return f"an AAT address is out of range [-1, {addresses})"
    if not core.rng_state.any():
        return "the random stream's state is all zeros (it would never leave it)"
    if core.rng_spare[0] not in (0.0, 1.0) or not np.isfinite(core.rng_spare[1]):
        return "the random stream's spare normal is damaged"
    problem = conductance_problem(core)
    if problem:
        return problem
    if not np.all((core.x >= 0.0) & (core.x <= 1.0)):
        return "an MSS switched fraction is outside [0, 1]"
    if not np.all(np.isfinite(core.lane_y)):
        return "a lane's retained y is not finite"
    for name, meters in (("core", core.meters), ("device", machine.dev_meters)):
        if not np.all(np.isfinite(meters) & (meters >= 0.0)):
            return f"a {name} meter (modeled time or energy) is negative or not finite"
    return None


def calls_problem(machine: Machine) -> str | None:
    """What is wrong with the call stack (its depth, and each return pc: just after a CALL
    of this program), or None."""
    code = machine.program.code
    depth = int(machine.status[_interp.ST_DEPTH])
    if not 0 <= depth <= machine.calls.shape[0]:
        return f"call stack depth {depth} out of range [0, {machine.calls.shape[0]}]"
    returns = machine.calls[:depth]
    if depth and not (np.all((returns >= 1) & (returns <= code.shape[0]))):
        return f"a return pc on the call stack is out of range [1, {code.shape[0]}]"
    if depth and not np.all(code[returns - 1, 0] == codes.OP_CALL):
        return "a return pc on the call stack does not follow a CALL"
    return None


def tags_problem(program, tags: np.ndarray) -> str | None:
    """What is wrong with the outputs' names (each -1 or a name of the program; a vector
    name's values in whole writes, one after another), or None."""
    n = len(program.output_names)
    if tags.size and (tags.min() < -1 or tags.max() >= n):
        return f"an output name index is out of range [-1, {n})"
    for tag, width in enumerate(program.output_widths):
        if width <= 1:
            continue
        where = np.flatnonzero(tags == tag)
        if where.size % width or not np.all(np.diff(where.reshape(-1, width), axis=1) == 1):
            return f"the outputs named {program.output_names[tag]!r} are not whole vectors of {width}"
    return None


def conductance_problem(core) -> str | None:
    """What is wrong with a core's conductances and per-device non-ideal state, or None.

    Ideal: every g in [GMIN, GMAX] (byte: whole numbers). Under d2d each device's own range
    must lie in (0, inf) with GMIN <= GMAX and its step be positive; under drift g_w is
    checked against the range instead of g (which has drifted: finite and > 0), t_w must
    be in [0, now] (the law's base stays >= 1) and |nu| <= MAX_NU; events are whole numbers >= 0
    and stuck marks -1, 0 or +1."""
    settings = core.nonideal
    rows = {name: core.device_values(name) for name in core.device_rows}
    gmin, gmax = core.gmin, core.gmax
    lo, hi = np.float64(gmin), np.float64(gmax)
    if "gmin" in rows:
        lo, hi, step = rows["gmin"], rows["gmax"], rows["step"]
        if not np.all(np.isfinite(lo) & np.isfinite(hi) & (lo > 0) & (lo <= hi)):
            return "a device's own range (d2d) is not 0 < GMIN <= GMAX"
        if not np.all(np.isfinite(step) & (step > 0)):
            return "a device's step multiplier (d2d) is not a finite number > 0"
    if "events" in rows:
        events = rows["events"]
        if not np.all((events >= 0) & (events <= 2.0**53) & (np.floor(events) == events)):
            return "a device's switching event count is not a whole number >= 0"
    if "stuck" in rows and not np.all(np.isin(rows["stuck"], (-1.0, 0.0, 1.0))):
        return "a device's stuck mark is not -1, 0 or +1"
    g = core.g
    written = g
    if settings.drifts:
        if not np.all(np.isfinite(g) & (g > 0)):
            return "a drifted conductance is not a finite number > 0"
        if not np.all(np.abs(rows["nu"]) <= MAX_NU):
            return f"a device's drift exponent is not a number in [-{MAX_NU:g}, {MAX_NU:g}]"
        t_w = rows["t_w"]
        if not np.all((t_w >= 0.0) & (t_w <= core.meters[0])):
            return "a device's last write is not in [0, the core's modeled time]"
        written = rows["g_w"]
        if "stuck" in rows:  # a stuck device does not drift: its g is its value
            written = np.where(rows["stuck"] != 0, g, written)
    tolerance_lo, tolerance_hi = lo * (1 - 1e-12), hi * (1 + 1e-12)
    if not np.all(np.isfinite(written) & (written >= tolerance_lo) & (written <= tolerance_hi)):
        return f"a conductance is outside [{gmin:g}, {gmax:g}]" + (
            " (each device's own)" if "gmin" in rows else ""
        )
    if core.model == "byte" and not np.array_equal(np.trunc(written), written):
        return "a byte-model conductance is not a whole number"
    return None


def window_iterations(machine: Machine, pc: int) -> int:
    """(block, step) iterations of the RELAX window at pc, or 0 if pc is no RELAX."""
    from vm.devices import langevin

    if pc >= machine.program.code.shape[0] or int(machine.program.code[pc, 0]) != codes.OP_RELAX:
        return 0
    device = int(machine.program.code[pc, codes.RELAX_BANK])
    n = machine.program.devices[device]["values"]["n"]
    p = machine.dev_params[device]
    steps = max(1, int(math.floor(p[langevin.B_TF] / p[langevin.B_DT] + 0.5)))
    return -(-n // langevin.BLOCK) * steps
