"""``Machine``: an assembled program bound to a live core, its data and its registers.

``run()`` executes the whole program in the compiled interpreter loop, in chunks so that
Ctrl-C stops it cleanly between chunks; ``step()`` executes instructions one at a time
through the same loop run as plain Python. Both leave the same state behind.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vm import codes, faults, isa
from vm import config as _config
from vm import interp as _interp
from vm.bytecode import Program
from vm.data import DataError, MissingData, bind_tables, load_table
from vm.devices import execute as _devices
from vm.devices import layout as _layout
from vm.devices.mtj import MTJ_BASE, PAIRS_BASE, R_SPREAD, R_V50
from vm.ktram.core import CORE_STATE, Core, restore_arrays
from vm.state import DeviceState, ProgramState

__all__ = [
    "CheckpointError",
    "DataError",
    "Machine",
    "MissingData",
    "RunResult",
    "RuntimeFault",
    "load_table",
]

# Instructions per compiled call: Ctrl-C and --timeout are seen between calls (~0.1 s).
CHUNK_STEPS = 1 << 20

STOP_REASONS = {
    _interp.BUDGET: "max_steps",
    _interp.HALTED: "halted",
    _interp.ENDED: "end",
    _interp.FAULTED: "fault",
    _interp.BREAK: "break",
}


CHECKPOINT_FORMAT = "ktasm-checkpoint-1"
_MACHINE_ARRAYS = ("vals", "aats", "status", "fault_value", "vec", "dev_meters")


class CheckpointError(ValueError):
    """A checkpoint that does not belong to this program, model or ktasm version."""


class RuntimeFault(Exception):
    """A program fault at run time (bad lane, division by zero, ...) at instruction pc."""

    def __init__(self, message: str, pc: int):
        super().__init__(message)
        self.message = message
        self.pc = pc


@dataclass
class RunResult:
    """What ``Machine.run`` and ``Machine.step`` return.

    ``outputs``: every value output so far (float64); ``stats``: instructions, run_seconds,
    modeled_time_s, modeled_energy_j and ``by_family`` (ktram, mtj, pbit, langevin);
    ``reason``: why it stopped (halted, end, max_steps, timeout, interrupted, break, fault);
    ``fault``: the ``RuntimeFault`` (message, pc) when it faulted; ``registers``: r0..r15.
    """

    outputs: np.ndarray
    stats: dict
    reason: str  # halted | end | max_steps | timeout | interrupted | fault
    fault: RuntimeFault | None = None
    registers: np.ndarray = field(default_factory=lambda: np.zeros(isa.N_REGISTERS))

    def __repr__(self) -> str:
        from vm.display import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from vm.display import result_html

        return result_html(self)


class Machine:
    """Run a ``Program``: ``Machine(program, data={"name": array}).run()``.

    ``seed`` and ``model`` override the program's ``.core`` line. ``data`` binds the
    program's ``.data`` names to arrays (or file paths); names left out use the file the
    program names.
    """

    # the arrays the state bundles are built from (vm.state)
    vals: np.ndarray
    aats: np.ndarray
    outputs: np.ndarray
    status: np.ndarray
    fault_value: np.ndarray
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
    ):
        self.program = program
        config = dict(program.core)
        for key, value in (("seed", seed), ("model", model)):
            if value is not None:
                problem = _config.BY_KEY[key].check(value)
                if problem:
                    raise ValueError(problem)
                config[key] = value
        self.seed = config["seed"]
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
        self.vec = self._fresh_vectors(
            self.program.devices, self.vec_meta, self.dev_meta, self.dev_params, first_device=0
        )
        self.dev_meters = np.zeros((_devices.N_METERS, 2))

    def _fresh_vectors(self, devices, vec_meta, dev_meta, dev_params, first_device: int) -> np.ndarray:
        """The vector arena of devices (laid out by vec_meta, dev_meta), those from
        first_device on at their start state (zeros; each MTJ's v50 from a generator seeded
        by the seed and the device's index)."""
        vec = np.zeros(int(vec_meta[:, 1].sum()) if len(vec_meta) else 0)
        for d, dev in enumerate(devices[first_device:], start=first_device):
            if dev["kind"] not in ("mtj", "pairs"):
                continue
            base = MTJ_BASE if dev["kind"] == "mtj" else PAIRS_BASE
            p = dev_params[d]
            slot = dev_meta[d, _layout.slot_column(dev["kind"], "v50")]
            off, n = vec_meta[slot]
            generator = np.random.default_rng([self.seed, d])
            vec[off : off + n] = p[base + R_V50] + p[base + R_SPREAD] * generator.standard_normal(n)
        return vec

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
        vec = self._fresh_vectors(
            program.devices, vec_meta, dev_meta, dev_params, first_device=len(old.devices)
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
        """Registers, counters, AATs, outputs and pc back to the start (devices kept)."""
        self.vals = self.program.initial_values()
        self.aats = self.program.aat_init.copy()
        self.outputs = np.empty(max(1, output_capacity), dtype=np.float64)
        self.status = np.zeros(_interp.N_STATUS, dtype=np.int64)
        self.fault_value = np.zeros(1, dtype=np.float64)

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
        """A copy of the outputs so far (OUT, VOUT, COIN ...), in order."""
        return self.outputs[: int(self.status[_interp.ST_OUTPUTS])].copy()

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
        ):
            families[name] = (float(self.dev_meters[row, 0]), float(self.dev_meters[row, 1]))
        return {
            "instructions": self.steps,
            "run_seconds": self.run_seconds,
            "modeled_time_s": sum(t for t, _ in families.values()),
            "modeled_energy_j": sum(e for _, e in families.values()),
            "by_family": {k: {"time_s": t, "energy_j": e} for k, (t, e) in families.items()},
        }

    # ------------------------------------------------------------------ execution
    def run(self, max_steps: int | None = None, timeout: float | None = None) -> RunResult:
        """Run until HALT, the end, a fault, a breakpoint (not the one it starts on),
        max_steps more instructions, timeout seconds of execution, or Ctrl-C. State stays
        consistent: running again resumes."""
        self._compile()
        remaining = max_steps if max_steps is not None else -1
        deadline = None if timeout is None else time.perf_counter() + timeout
        reason = "end"
        try:
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
                start = time.perf_counter()
                code = _interp.run(*self._args(budget))
                self.run_seconds += time.perf_counter() - start
                if remaining >= 0:
                    remaining -= self.steps - before
                if code == _interp.OUT_FULL:
                    self._grow_outputs()
                elif code != _interp.BUDGET:
                    reason = STOP_REASONS[code]
                    break
                elif self.steps > before and self.at_breakpoint():  # a chunk ended on one
                    self.status[_interp.ST_REASON] = _interp.BREAK
                    reason = "break"
                    break
        except KeyboardInterrupt:
            reason = "interrupted"
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
                    self._grow_outputs()
                    code = _interp.run.py_func(*self._args(1))
            if code != _interp.BUDGET:
                reason = STOP_REASONS[code]
                break
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
        message = faults.message(
            int(self.status[_interp.ST_FAULT]),
            float(self.fault_value[0]),
            n_lanes=self.core.num_lanes,
            n_addresses=self.core.num_addresses,
        )
        return RuntimeFault(message, self.pc)

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict[str, np.ndarray]:
        """Everything that defines the rest of the run (copies): device state, random
        stream, registers, counters, AATs, pc, outputs so far."""
        state = {f"core_{k}": v for k, v in self.core.get_state().items()}
        state.update({k: getattr(self, k).copy() for k in _MACHINE_ARRAYS})
        state["outputs"] = self.output_values()
        return state

    def set_state(self, state: dict) -> None:
        """Restore get_state()'s arrays; a bad state leaves the machine as it was."""
        outputs = np.asarray(state["outputs"], dtype=np.float64)
        if outputs.ndim != 1 or int(np.asarray(state["status"])[_interp.ST_OUTPUTS]) != outputs.shape[0]:
            raise CheckpointError("checkpoint: output count does not match the outputs saved")
        before = self.get_state()
        try:
            restore_arrays(self.core, CORE_STATE, state, prefix="core_")
            restore_arrays(self, _MACHINE_ARRAYS, state)
        except (KeyError, ValueError):
            restore_arrays(self.core, CORE_STATE, before, prefix="core_")
            restore_arrays(self, _MACHINE_ARRAYS, before)
            raise
        self.outputs = np.empty(max(1024, 2 * outputs.shape[0]), dtype=np.float64)
        self.outputs[: outputs.shape[0]] = outputs

    def save_checkpoint(self, path) -> None:
        """An .npz file (no pickles) that load_checkpoint resumes from, bit for bit."""
        arrays: dict[str, Any] = {
            "format": np.array(CHECKPOINT_FORMAT),
            "program": np.array(self.program.fingerprint()),
            "model": np.array(self.core.model),
            **self.get_state(),
        }
        np.savez(path, **arrays)

    def load_checkpoint(self, path) -> None:
        """Resume from a ``save_checkpoint`` file of this program and model, bit for
        bit; ``CheckpointError`` (nothing changed) otherwise."""
        try:
            with np.load(path, allow_pickle=False) as f:
                state = {k: f[k] for k in f.files}
        except (OSError, ValueError, EOFError) as exc:
            raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None
        for key, expected, what in (
            ("format", CHECKPOINT_FORMAT, "a checkpoint of another ktasm version"),
            ("program", self.program.fingerprint(), "from another program"),
            ("model", self.core.model, "from a run on another device model"),
        ):
            if key not in state or str(state[key]) != expected:
                raise CheckpointError(f"checkpoint {path} is {what}; refusing to load it")
        try:
            self.set_state(state)
        except (KeyError, ValueError) as exc:
            raise CheckpointError(f"checkpoint {path} is damaged: {exc}") from None

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
            self.status,
            self.fault_value,
            self.breaks,
        )
        devices = DeviceState(self.vec, self.vec_meta, self.dev_meta, self.dev_params, self.dev_meters)
        return program, self.core.state, devices, budget

    def _compile(self) -> None:
        """Compile (or load from cache) before timing: run_seconds excludes compilation."""
        from vm.compiling import CACHED_DELAY_S, DELAY_S, is_cached, notice

        saved = self.status.copy()
        compiled = bool(_interp.run.signatures)
        delay = CACHED_DELAY_S if not compiled and is_cached(_interp.run) else DELAY_S
        with notice(compiled=compiled, delay=delay):
            _interp.run(*self._args(0))
        self.status[...] = saved

    def _grow_outputs(self) -> None:
        grown = np.empty(self.outputs.shape[0] * 2, dtype=np.float64)
        grown[: self.outputs.shape[0]] = self.outputs
        self.outputs = grown

    def _reason_name(self) -> str:
        return STOP_REASONS[int(self.status[_interp.ST_REASON])]

    def _result(self, reason: str) -> RunResult:
        fault = self.fault() if reason == "fault" else None
        return RunResult(self.output_values(), self.stats(), reason, fault, self.registers.copy())
