"""``Machine``: an assembled program bound to a live core, its data and its registers.

``run()`` executes the whole program in the compiled interpreter loop, in chunks so that
Ctrl-C stops it cleanly between chunks; ``step()`` executes instructions one at a time
through the same loop run as plain Python. Both leave the same state behind.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from vm import checkpoint as _checkpoint
from vm import codes, faults, isa, numba_cache
from vm import config as _config
from vm import interp as _interp
from vm.bytecode import Program
from vm.checkpoint import CHECKPOINT_FORMAT, CheckpointError
from vm.data import DataError, MissingData, bind_tables, load_table
from vm.devices import execute as _devices
from vm.devices import layout as _layout
from vm.devices.mtj import MTJ_BASE, PAIRS_BASE, R_RP, R_RPS, R_SPREAD, R_TMR, R_TMRS, R_V50
from vm.ktram.core import CORE_STATE, Core, restore_arrays
from vm.state import CALL_DEPTH, DeviceState, ProgramState
from vm.watchdog import watching

__all__ = [
    "CHECKPOINT_FORMAT",
    "CheckpointError",
    "DataError",
    "Machine",
    "MissingData",
    "RunResult",
    "RuntimeFault",
    "Terminated",
    "group_outputs",
    "load_table",
]

# Instructions per compiled call: Ctrl-C and --timeout are seen between calls (~0.1 s).
CHUNK_STEPS = 1 << 20

# OUT values a run may keep (8 bytes each): an OUT in an endless loop stops here, not in
# swap. Machine(max_outputs=...) and `ktasm run --max-outputs` raise it.
MAX_OUTPUTS = 1 << 24

STOP_REASONS = {
    _interp.BUDGET: "max_steps",
    _interp.HALTED: "halted",
    _interp.ENDED: "end",
    _interp.FAULTED: "fault",
    _interp.BREAK: "break",
}


_MACHINE_ARRAYS = ("vals", "aats", "status", "fault_value", "calls", "vec", "dev_meters")


class Terminated(KeyboardInterrupt):
    """Raised by a SIGTERM handler (the CLI's): the run stops as for Ctrl-C, reason
    'terminated'."""


class RuntimeFault(Exception):
    """A program fault at run time (bad lane, division by zero, ...) at instruction pc;
    ``operand`` names the operand whose value raised it (None when no one operand did)."""

    def __init__(self, message: str, pc: int, operand: str | None = None):
        super().__init__(message)
        self.message = message
        self.pc = pc
        self.operand = operand


@dataclass
class RunResult:
    """What ``Machine.run`` and ``Machine.step`` return.

    ``outputs``: every value output so far (float64); ``stats``: instructions, run_seconds,
    modeled_time_s, modeled_energy_j and ``by_family`` (ktram, mtj, pbit, langevin), and
    ``devices`` (switching events, worn-out and stuck devices) on a core with non-idealities;
    ``reason``: why it stopped (halted, end, max_steps, timeout, interrupted, break, fault);
    ``fault``: the ``RuntimeFault`` (message, pc) when it faulted; ``registers``: r0..r15;
    ``named``: the named outputs (``OUT value, "name"``, ``VOUT vec, "name"``) by name, as
    ``group_outputs`` gives them; ``output_tags``: each output's name as an index into
    ``output_names`` (-1: unnamed).
    """

    outputs: np.ndarray
    stats: dict
    reason: str  # halted | end | max_steps | timeout | interrupted | terminated | fault | output_limit
    fault: RuntimeFault | None = None
    registers: np.ndarray = field(default_factory=lambda: np.zeros(isa.N_REGISTERS))
    named: dict = field(default_factory=dict)
    output_tags: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    output_names: tuple[str, ...] = ()
    output_widths: tuple[int, ...] = ()

    @property
    def unnamed(self) -> np.ndarray:
        """The outputs written without a name, in order."""
        return self.outputs[self.output_tags < 0] if self.output_tags.size else self.outputs

    def __repr__(self) -> str:
        from vm.display import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from vm.display import result_html

        return result_html(self)


def group_outputs(values: np.ndarray, tags: np.ndarray, names, widths) -> dict:
    """The named outputs by name, in the order names are declared, left out when never
    written: a scalar name (OUT) is a float when written once, else a 1-D array of its
    values; a vector name (VOUT) is a 1-D array when written once, else one row per write."""
    out: dict = {}
    for tag, (name, width) in enumerate(zip(names, widths, strict=True)):
        picked = values[tags == tag]
        if picked.size == 0:
            continue
        if width == 0:
            out[name] = float(picked[0]) if picked.size == 1 else picked
        else:
            rows = picked[: picked.size - picked.size % width].reshape(-1, width)
            out[name] = rows[0] if rows.shape[0] == 1 else rows
    return out


def _copy_or_view(values: np.ndarray) -> np.ndarray:
    """A copy, or an unwritable view when the run filled memory with outputs (the results
    are still handed over)."""
    try:
        return values.copy()
    except MemoryError:
        view = values.view()
        view.flags.writeable = False
        return view


def fresh_vectors(devices, vec_meta, dev_meta, dev_params, first_device: int, device_seed) -> np.ndarray:
    """The vector arena of devices (laid out by vec_meta, dev_meta), those from
    first_device on at their start state (zeros; each MTJ's v50 from a generator seeded
    by device_seed and the device's index)."""
    vec = np.zeros(int(vec_meta[:, 1].sum()) if len(vec_meta) else 0)
    for d, dev in enumerate(devices[first_device:], start=first_device):
        if dev["kind"] not in ("mtj", "pairs"):
            continue
        base = MTJ_BASE if dev["kind"] == "mtj" else PAIRS_BASE
        p = dev_params[d]
        generator = np.random.default_rng([device_seed, d])
        slot = dev_meta[d, _layout.slot_column(dev["kind"], "v50")]
        off, n = vec_meta[slot]
        vec[off : off + n] = p[base + R_V50] + p[base + R_SPREAD] * generator.standard_normal(n)
        # each device's rp (log-normal) and TMR0 (normal, relative), drawn after v50
        # from the same generator, so a device without spread keeps its v50 draw
        off, n = vec_meta[dev_meta[d, _layout.slot_column(dev["kind"], "rp")]]
        vec[off : off + n] = p[base + R_RP] * np.exp(p[base + R_RPS] * generator.standard_normal(n))
        off, n = vec_meta[dev_meta[d, _layout.slot_column(dev["kind"], "tmr")]]
        vec[off : off + n] = p[base + R_TMR] * np.maximum(
            0.0, 1.0 + p[base + R_TMRS] * generator.standard_normal(n)
        )
    return vec


def device_wear(core: Core) -> dict:
    """A core's devices in figures when it has non-idealities (empty when ideal): switching
    events in all and at most on one device, devices worn out (endurance) and stuck."""
    if not core.device_rows:
        return {}
    events = core.device_values("events")
    limit = core.nonideal.endurance
    return {
        "switching_events": int(events.sum()),
        "max_events": int(events.max()) if events.size else 0,
        "worn_out": int(np.count_nonzero(events >= limit)) if limit > 0 else 0,
        "stuck": int(np.count_nonzero(core.device_values("stuck"))) if core.nonideal.stuck > 0 else 0,
        "devices": int(events.size),
    }


class Machine:
    """Run a ``Program``: ``Machine(program, data={"name": array}).run()``.

    ``seed`` and ``model`` override the program's ``.core`` line. ``data`` binds the
    program's ``.data`` names to arrays (or file paths); names left out use the file the
    program names. ``device_seed`` (default: the seed) draws the MTJ devices' own values
    (v50, rp, TMR0), so runs with different random streams can share the same devices.
    """

    # the arrays the state bundles are built from (vm.state)
    vals: np.ndarray
    aats: np.ndarray
    outputs: np.ndarray
    output_tags: np.ndarray
    status: np.ndarray
    fault_value: np.ndarray
    calls: np.ndarray
    vec: np.ndarray
    dev_meters: np.ndarray

    def __init__(
        self,
        program: Program,
        data: dict | None = None,
        *,
        seed: int | None = None,
        model: str | None = None,
        output_capacity: int = 1024,
        max_outputs: int = MAX_OUTPUTS,
        device_seed: int | None = None,
    ):
        if not isinstance(max_outputs, int) or max_outputs < 1:
            raise ValueError(f"max_outputs: expected an integer >= 1, got {max_outputs!r}")
        self.max_outputs = max_outputs
        self.outputs_out_of_memory = False  # an output_limit stop because memory ran out
        self.program = program
        config = dict(program.core)
        for key, value in (("seed", seed), ("model", model)):
            if value is not None:
                problem = _config.BY_KEY[key].check(value)
                if problem:
                    raise ValueError(problem)
                config[key] = value
        self.seed = config["seed"]
        self.device_seed = self.seed if device_seed is None else int(device_seed)
        self.core = Core(**_config.core_kwargs(config))
        self.vec_meta, self.dev_meta, self.dev_params = _layout.build(program.devices)
        self.data_given = dict(data or {})
        self.data, self.data_meta = bind_tables(
            program, self.data_given, self.vec_meta, self.core.spaces_per_lane
        )
        self.breaks = np.zeros(program.code.shape[0], dtype=np.uint8)
        self.reset_devices()
        self.reset_program_state(output_capacity)
        self.run_seconds = 0.0

    def reset_devices(self) -> None:
        """Vectors and device states to zero, MTJ devices parallel; each MTJ's v50 drawn
        from N(v50, spread) by a generator of its own (seeded by the seed and the device)."""
        self.vec = fresh_vectors(
            self.program.devices, self.vec_meta, self.dev_meta, self.dev_params, 0, self.device_seed
        )
        self.dev_meters = np.zeros((_devices.N_METERS, 2))

    def switch_program(self, program: Program) -> None:
        """Bind a program that repeats this one's declarations and code, in order, and may
        add more after them (the REPL: a declaration typed, one instruction appended or
        dropped). Registers, loop counters, the live AAT rows, device state, data, pc and
        outputs are kept; what the new program adds starts at its initial state. Raises
        ValueError, changing nothing, if the programs do not line up."""
        old = self.program
        k = min(old.code.shape[0], program.code.shape[0])
        c = min(len(old.constants), len(program.constants))
        devices = lambda p: [(d["kind"], d["name"], d["values"]) for d in p.devices]  # noqa: E731
        for ok, what in (
            (program.core == old.core, "the core configuration"),
            (program.n_counters == old.n_counters, "the loop counters"),
            (np.array_equal(program.code[:k], old.code[:k]), "the code"),
            (np.array_equal(program.constants[:c], old.constants[:c]), "the constants"),
            (program.aat_names[: len(old.aat_names)] == old.aat_names, "the AATs"),
            (program.output_names[: len(old.output_names)] == old.output_names, "the output names"),
            (program.data_names[: len(old.data_names)] == old.data_names, "the data"),
            (devices(program)[: len(old.devices)] == devices(old), "the devices"),
        ):
            if not ok:
                raise ValueError(f"switch_program: {what} of the new program differ from the old")
        # tables already bound are passed as arrays: checked against the new program's uses, not re-read
        bound = {
            name: self.data[off : off + rows * cols].reshape(rows, cols)
            for name, (off, rows, cols) in zip(old.data_names, self.data_meta.tolist(), strict=True)
        }
        vec_meta, dev_meta, dev_params = _layout.build(program.devices)
        data, data_meta = bind_tables(
            program, {**self.data_given, **bound}, vec_meta, self.core.spaces_per_lane
        )
        self.program = program
        vec = fresh_vectors(
            program.devices, vec_meta, dev_meta, dev_params, len(old.devices), self.device_seed
        )
        vec[: self.vec.shape[0]] = self.vec
        vals = program.initial_values()
        vals[: program.first_constant] = self.vals[: program.first_constant]
        aats = program.aat_init.copy()
        aats[: self.aats.shape[0]] = self.aats[: aats.shape[0]]
        breaks = np.zeros(program.code.shape[0], dtype=np.uint8)
        breaks[:k] = self.breaks[:k]
        self.data, self.data_meta = data, data_meta
        self.vec_meta, self.dev_meta, self.dev_params, self.vec = vec_meta, dev_meta, dev_params, vec
        self.vals, self.aats, self.breaks = vals, aats, breaks

    def reset_program_state(self, output_capacity: int = 1024) -> None:
        """Registers, counters, AATs, outputs, the call stack and pc back to the start
        (devices kept)."""
        self.vals = self.program.initial_values()
        self.aats = self.program.aat_init.copy()
        self.outputs = np.empty(max(1, min(output_capacity, self.max_outputs)), dtype=np.float64)
        self.output_tags = np.full(self.outputs.shape[0], -1, dtype=np.int32)
        self.status = np.zeros(_interp.N_STATUS, dtype=np.int64)
        self.fault_value = np.zeros(1, dtype=np.float64)
        self.calls = np.zeros(CALL_DEPTH, dtype=np.int64)

    # ------------------------------------------------------------------ state
    @property
    def registers(self) -> np.ndarray:
        """r0..r15 (a view into the value file: writes go through)."""
        return self.vals[: isa.N_REGISTERS]

    @property
    def pc(self) -> int:
        """The index of the next instruction."""
        return int(self.status[_interp.ST_PC])

    @property
    def steps(self) -> int:
        """Instructions executed so far (run and step together)."""
        return int(self.status[_interp.ST_STEPS])

    @property
    def finished(self) -> bool:
        """Halted, ran off the end, or faulted: running again does nothing."""
        return int(self.status[_interp.ST_REASON]) in (_interp.HALTED, _interp.ENDED, _interp.FAULTED)

    @property
    def stop_reason(self) -> str:
        """Why the last run or step stopped: halted, end, fault, break, max_steps."""
        return self._reason_name()

    def output_values(self) -> np.ndarray:
        """A copy of the outputs so far (OUT, VOUT), in order."""
        return _copy_or_view(self.outputs[: int(self.status[_interp.ST_OUTPUTS])])

    def output_tags_so_far(self) -> np.ndarray:
        """Each output's name so far, an index into ``program.output_names`` (-1: unnamed)."""
        return _copy_or_view(self.output_tags[: int(self.status[_interp.ST_OUTPUTS])])

    def named_outputs(self) -> dict:
        """The named outputs so far by name (see ``group_outputs``)."""
        return group_outputs(
            self.output_values(),
            self.output_tags_so_far(),
            self.program.output_names,
            self.program.output_widths,
        )

    @property
    def call_stack(self) -> list[int]:
        """The return pcs on the call stack, the innermost last."""
        return self.calls[: int(self.status[_interp.ST_DEPTH])].tolist()

    def vector(self, name: str) -> np.ndarray:
        """A copy of a vector (a .vec, or a .bank/.ou's state) by name."""
        names = [d["name"] for d in self.program.devices]
        if name not in names:
            raise KeyError(f"no vector {name!r}")
        index = names.index(name)
        if self.program.devices[index]["kind"] not in ("vec", "bank", "ou"):
            raise KeyError(f"{name!r} is a {self.program.devices[index]['kind']}, not a vector")
        off, n = self.vec_meta[self.dev_meta[index, codes.SLOT_VEC_VALUES]]
        return self.vec[off : off + n].copy()

    def stats(self) -> dict:
        """Instructions, wall time, and modeled physical time and energy: totals, then by
        device family (ops run one after another, so times add)."""
        families = {"ktram": (self.core.modeled_time_s, self.core.modeled_energy_j)}
        for name, row in (
            ("mtj", _devices.M_MTJ),
            ("pbit", _devices.M_PBIT),
            ("langevin", _devices.M_LANGEVIN),
            ("periphery", _devices.M_PERIPHERY),
        ):
            families[name] = (float(self.dev_meters[row, 0]), float(self.dev_meters[row, 1]))
        stats = {
            "instructions": self.steps,
            "run_seconds": self.run_seconds,
            "modeled_time_s": sum(t for t, _ in families.values()),
            "modeled_energy_j": sum(e for _, e in families.values()),
            "by_family": {k: {"time_s": t, "energy_j": e} for k, (t, e) in families.items()},
        }
        wear = device_wear(self.core)
        if wear:
            stats["devices"] = wear
        return stats

    # ------------------------------------------------------------------ execution
    def run(self, max_steps: int | None = None, timeout: float | None = None) -> RunResult:
        """Run until HALT, the end, a fault, a breakpoint (not the one it starts on),
        max_steps more instructions, timeout seconds of execution, Ctrl-C or SIGTERM (when
        the CLI routes it: Terminated). A deadline or a signal stops the compiled loop
        within microseconds, inside a long instruction too (vm.watchdog). State stays
        consistent: running again resumes."""
        if timeout is not None and not (
            isinstance(timeout, (int, float)) and timeout > 0 and math.isfinite(timeout)
        ):
            raise ValueError(f"timeout: expected a finite number of seconds > 0, got {timeout!r}")
        remaining = max_steps if max_steps is not None else -1
        reason = "end"
        try:
            self._compile()
            deadline = None if timeout is None else time.perf_counter() + timeout
            with watching(self.status, deadline):
                while True:
                    if self.finished:
                        reason = self._reason_name()
                        break
                    if deadline is not None and time.perf_counter() >= deadline:
                        reason = "timeout"
                        break
                    budget = CHUNK_STEPS if remaining < 0 else min(CHUNK_STEPS, remaining)
                    if budget == 0:
                        reason = "max_steps"
                        break
                    before = self.steps
                    self.status[_interp.ST_STOP] = 0  # a stray signal's stop is spent
                    start = time.perf_counter()
                    code = self._loop(*self._args(budget))
                    self.run_seconds += time.perf_counter() - start
                    if remaining >= 0:
                        remaining -= self.steps - before
                    if code == _interp.OUT_FULL:
                        if not self._grow_outputs():
                            reason = "output_limit"
                            break
                    elif code != _interp.BUDGET:
                        reason = STOP_REASONS[code]
                        break
                    elif self.steps > before and self.at_breakpoint():  # a chunk ended on one
                        self.status[_interp.ST_REASON] = _interp.BREAK
                        reason = "break"
                        break
        except Terminated:
            reason = "terminated"
        except KeyboardInterrupt:
            reason = "interrupted"
        self.core.sync()
        return self._result(reason)

    def step(self, n: int = 1) -> RunResult:
        """Execute up to n instructions one by one through the Python interpreter path,
        stopping before a breakpoint (not the one it starts on)."""
        reason = "max_steps"
        for i in range(n):
            if self.finished:
                reason = self._reason_name()
                break
            if i > 0 and self.at_breakpoint():
                self.status[_interp.ST_REASON] = _interp.BREAK
                reason = "break"
                break
            with np.errstate(all="ignore"):  # the compiled loop does not warn either
                code = _interp.run.py_func(*self._args(1))
                while code == _interp.OUT_FULL:
                    if not self._grow_outputs():
                        return self._result("output_limit")
                    code = _interp.run.py_func(*self._args(1))
            if code != _interp.BUDGET:
                reason = STOP_REASONS[code]
                break
        self.core.sync()
        return self._result(reason)

    def set_breakpoint(self, pc: int, on: bool = True) -> None:
        """Stop ``run`` and ``step`` before instruction pc (on=False removes it);
        ValueError when pc is out of range."""
        if not 0 <= pc < self.program.code.shape[0]:
            raise ValueError(f"breakpoint: pc {pc} out of range [0, {self.program.code.shape[0]})")
        self.breaks[pc] = 1 if on else 0

    def at_breakpoint(self) -> bool:
        """Whether the next instruction has a breakpoint."""
        return self.pc < self.breaks.shape[0] and bool(self.breaks[self.pc])

    def fault(self) -> RuntimeFault | None:
        """The fault the machine stopped on (message and pc), or None."""
        if int(self.status[_interp.ST_REASON]) != _interp.FAULTED:
            return None
        code, value = int(self.status[_interp.ST_FAULT]), float(self.fault_value[0])
        message = faults.message(
            code, value, n_lanes=self.core.num_lanes, n_addresses=self.core.num_addresses
        )
        return RuntimeFault(message, self.pc, self._fault_operand(code, value))

    def _fault_operand(self, code: int, value: float) -> str | None:
        """The operand of the instruction at pc that raised fault code: the one the table
        names for it, or of several the one holding the reported value."""
        if self.pc >= self.program.code.shape[0]:
            return None
        row = self.program.code[self.pc]
        ins = isa.INSTRUCTIONS[int(row[0])]
        name = faults.FAULTS[code].name
        candidates = [(o, pos) for o, pos in ins.fields() if o.fault == name and not o.hidden]
        if len(candidates) > 1:
            held = [
                (o, pos)
                for o, pos in candidates
                if o.kind in (isa.VALUE, isa.LANE)
                and 0 <= row[pos] < self.vals.shape[0]
                and (
                    self.vals[row[pos]] == value
                    or (value != value and self.vals[row[pos]] != self.vals[row[pos]])
                )
            ]
            candidates = held or candidates[:1]
        return candidates[0][0].name if candidates else None

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, np.ndarray]:
        """Everything that defines the rest of the run (copies): device state, random
        stream, registers, counters, AATs, pc, outputs so far."""
        state = {f"core_{k}": v for k, v in self.core.get_state().items()}
        state.update({k: getattr(self, k).copy() for k in _MACHINE_ARRAYS})
        state["outputs"] = self.output_values()
        state["output_tags"] = self.output_tags_so_far()
        return state

    def set_state(self, state: dict) -> None:
        """Restore get_state()'s arrays; a bad state leaves the machine as it was.

        A state comes from a file anyone can write, and the compiled loop indexes with its
        values without checks: every value that indexes or drives the loop is checked here
        (as the verifier checks code), and CheckpointError names the first bad one."""
        if not isinstance(state, dict) or "outputs" not in state or "status" not in state:
            raise CheckpointError("checkpoint: no outputs or status array")
        outputs = np.asarray(state["outputs"])
        if outputs.dtype != np.float64 or outputs.ndim != 1:
            raise CheckpointError(
                f"state['outputs']: expected float64[n], got {outputs.dtype}{list(outputs.shape)}"
            )
        if outputs.shape[0] > self.max_outputs:
            raise CheckpointError(
                f"checkpoint: {outputs.shape[0]} outputs, more than the limit of {self.max_outputs} "
                "(raise it with --max-outputs)"
            )
        if "output_tags" not in state:
            raise CheckpointError("checkpoint: no 'output_tags' array")
        tags = np.asarray(state["output_tags"])
        if tags.dtype != np.int32 or tags.shape != outputs.shape:
            raise CheckpointError(
                f"state['output_tags']: expected int32{list(outputs.shape)}, got {tags.dtype}{list(tags.shape)}"
            )
        problem = _checkpoint.tags_problem(self.program, tags)
        if problem:
            raise CheckpointError(f"checkpoint: {problem}")
        before = self.get_state()
        try:
            restore_arrays(self.core, CORE_STATE, state, prefix="core_")
            restore_arrays(self, _MACHINE_ARRAYS, state)
            problem = _checkpoint.state_problem(self, outputs.shape[0])
            if problem:
                raise CheckpointError(f"checkpoint: {problem}")
        except (KeyError, ValueError) as exc:
            restore_arrays(self.core, CORE_STATE, before, prefix="core_")
            restore_arrays(self, _MACHINE_ARRAYS, before)
            if isinstance(exc, KeyError):
                raise CheckpointError(f"checkpoint: no {exc} array") from None
            if isinstance(exc, CheckpointError):
                raise
            raise CheckpointError(f"checkpoint: {exc}") from None
        room = max(outputs.shape[0], min(max(1024, 2 * outputs.shape[0]), self.max_outputs), 1)
        self.outputs = np.empty(room, dtype=np.float64)
        self.outputs[: outputs.shape[0]] = outputs
        self.output_tags = np.full(room, -1, dtype=np.int32)
        self.output_tags[: tags.shape[0]] = tags

    def save_checkpoint(self, path) -> None:
        """An .npz file (no pickles) that load_checkpoint resumes from, bit for bit."""
        _checkpoint.save(self, path)

    def load_checkpoint(self, path, seed: int | None = None) -> None:
        """Resume from a checkpoint of this program and model; with seed, refuse one
        written by a run on another seed (its random stream would overrule the seed)."""
        _checkpoint.load(self, path, seed)

    # ------------------------------------------------------------------ display
    def __repr__(self) -> str:
        from vm.display import machine_repr

        return machine_repr(self)

    def _repr_html_(self) -> str:
        """The pairs the AATs name (Ga, Gb, m, w), registers, outputs, time and energy."""
        from vm.display import machine_html

        return machine_html(self)

    # ------------------------------------------------------------------ helpers
    def _args(self, budget: int) -> tuple:
        """interp.run's arguments: the three state bundles (views of this machine's arrays)."""
        program = ProgramState(
            self.program.code,
            self.vals,
            self.aats,
            self.data,
            self.data_meta,
            self.outputs,
            self.output_tags,
            self.status,
            self.fault_value,
            self.breaks,
            self.calls,
        )
        devices = DeviceState(self.vec, self.vec_meta, self.dev_meta, self.dev_params, self.dev_meters)
        return program, self.core.state, devices, budget

    def _compile(self) -> None:
        """Pick the loop variant this program and core need (only the device families the
        code uses are compiled, vm.interp.families_of), and compile it (or load it from
        Numba's cache) before timing, in the background so that Ctrl-C stays safe
        (vm.compiling): run_seconds excludes compilation."""
        from numba import typeof

        from vm.compiling import CACHED_DELAY_S, DELAY_S, in_background, is_cached, notice

        self._loop = _interp.loop_for(_interp.families_of(self.program.code, self.core.state.params))
        if self._loop.signatures:
            return
        signature = tuple(typeof(arg) for arg in self._args(0))
        delay = CACHED_DELAY_S if is_cached(self._loop, signature) else DELAY_S
        with notice(delay=delay):
            try:
                in_background(self._loop.compile, signature)
            except (KeyboardInterrupt, MemoryError):
                raise
            except Exception as exc:  # a damaged Numba cache made every run fail
                if not numba_cache.repair(exc):
                    raise
                in_background(self._loop.compile, signature)
        saved = self.status.copy()
        self._loop(*self._args(0))  # the first call resolves the argument types (~1 ms): untimed
        self.status[...] = saved

    def _grow_outputs(self) -> bool:
        """Twice the room for outputs, up to max_outputs; False when that is reached."""
        have = self.outputs.shape[0]
        if have >= self.max_outputs:
            return False
        try:
            grown = np.empty(min(have * 2, self.max_outputs), dtype=np.float64)
            tags = np.full(grown.shape[0], -1, dtype=np.int32)
        except MemoryError:  # stop as at the limit: the outputs so far are kept and reported
            self.outputs_out_of_memory = True
            return False
        grown[:have] = self.outputs
        tags[:have] = self.output_tags
        self.outputs, self.output_tags = grown, tags
        return True

    def _reason_name(self) -> str:
        return STOP_REASONS[int(self.status[_interp.ST_REASON])]

    def _result(self, reason: str) -> RunResult:
        fault = self.fault() if reason == "fault" else None
        program = self.program
        return RunResult(
            self.output_values(),
            self.stats(),
            reason,
            fault,
            self.registers.copy(),
            self.named_outputs() if program.output_names else {},
            self.output_tags_so_far(),
            tuple(program.output_names),
            tuple(program.output_widths),
        )
