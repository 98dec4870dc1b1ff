"""The text the REPL prints, computed and returned, never printed here: numbers, vectors,
sparklines, pair tables, what an instruction did, what a declaration added, the core line,
the disassembly around the pc and the toolbar."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from ktasm import ast
from vm import config as _config
from vm import isa
from vm.bytecode import Program

if TYPE_CHECKING:
    from ktasm.repl.state import Read, SessionState
    from vm.machine import Machine

SHOW_FIELDS = ("y", "ga", "gb", "m", "w")
SPARK = "▁▂▃▄▅▆▇█"
CORE_TEXT_KEYS = ("model", "rows", "cols", "spaces", "lanes", "init", "seed")

Pair = tuple[int, int]  # (space, address)


def sparkline(values: Iterable[float] | np.ndarray) -> str:
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return ""
    low, high = float(values.min()), float(values.max())
    if high - low <= 1e-12 * max(1.0, abs(high)):
        return SPARK[len(SPARK) // 2] * values.size
    index = np.clip(((values - low) / (high - low) * (len(SPARK) - 1)).round().astype(int), 0, len(SPARK) - 1)
    return "".join(SPARK[i] for i in index)


def number(v: float) -> str:
    return f"{v:.6g}"


def vector_text(values: np.ndarray, limit: int = 8) -> str:
    shown = ", ".join(number(float(v)) for v in values[:limit])
    if values.size <= limit:
        return f"[{shown}]"
    return f"[{shown}, ...] ({values.size})"


def aat_text(row: np.ndarray) -> str:
    """An AAT row as written: (0, _, 3)."""
    return "(" + ", ".join("_" if a < 0 else str(int(a)) for a in row) + ")"


def aat_tuple(row: np.ndarray) -> tuple[int | None, ...]:
    """An AAT row as the core's API takes it (None: a disabled space)."""
    return tuple(int(a) if a >= 0 else None for a in row)


def enabled_pairs(row: np.ndarray) -> list[Pair]:
    return [(s, int(a)) for s, a in enumerate(row) if a >= 0]


def pair_table(
    g: np.ndarray,
    lane: int,
    pairs: list[Pair],
    names: dict[Pair, list[str]] | None = None,
    wear: dict[str, np.ndarray] | None = None,
) -> list[str]:
    """One row per pair of the lane: Ga, Gb, m = Ga+Gb, w, and the AATs that name it; with
    ``wear`` (a core's per-device rows by name) each side's switching events and stuck marks."""
    wear = wear or {}
    head = f"  {'space':>5} {'addr':>5}  {'Ga':>11} {'Gb':>11} {'m = Ga+Gb':>11} {'w':>9}"
    if "events" in wear:
        head += f" {'events a/b':>13}"
    if "stuck" in wear:
        head += f" {'stuck':>9}"
    out = [head + ("  AATs" if names else "")]
    for s, a in pairs:
        ga, gb = float(g[0, lane, s, a]), float(g[1, lane, s, a])
        mag = ga + gb
        w = (ga - gb) / mag if mag else 0.0
        text = f"  {s:>5} {a:>5}  {ga:>11.5g} {gb:>11.5g} {mag:>11.5g} {w:>+9.5f}"
        if "events" in wear:
            events = wear["events"]
            text += f" {f'{int(events[0, lane, s, a])}/{int(events[1, lane, s, a])}':>13}"
        if "stuck" in wear:
            marks = [
                f"{side}:{'GMAX' if v > 0 else 'GMIN'}"
                for side, v in zip("ab", wear["stuck"][:, lane, s, a], strict=True)
                if v != 0
            ]
            text += f" {' '.join(marks) or '-':>9}"
        if names:
            text += "  " + " ".join(names.get((s, a), []))
        out.append(text.rstrip())
    return out


def core_text(core: dict) -> str:
    return " ".join(f"{k}={core[k]}" for k in CORE_TEXT_KEYS)


def listing(machine: Machine, start: int, stop: int, program: Program | None = None) -> str:
    """The disassembly of [start, stop), marking the pc and the breakpoints."""
    from ktasm.disasm import disassemble

    return disassemble(
        program or machine.program,
        current=machine.pc,
        start=start,
        stop=stop,
        with_header=False,
        breakpoints=set(np.flatnonzero(machine.breaks).tolist()),
    )


def declared_text(old: Program, new: Program, statements: tuple, data_meta: np.ndarray) -> list[str]:
    """What a declaration added to old: AATs, constants, devices, data tables, macros."""
    lines = []
    first = len(old.aat_names)
    for name, row in zip(new.aat_names[first:], new.aat_init[first:], strict=True):
        lines.append(f"aat {name} = {aat_text(row)}")
    lines += [f"const {name} = {value:.12g}" for name, value in new.consts.items() if name not in old.consts]
    for dev in new.devices[len(old.devices) :]:
        defaults = _config.DEVICE_KINDS[dev["kind"]].defaults()
        keys = " ".join(
            f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
            for k, v in dev["values"].items()
            if v != defaults.get(k)
        )
        lines.append(f"{dev['kind']} {dev['name']}: {keys}")
    for slot, name in enumerate(new.data_names[len(old.data_names) :], start=len(old.data_names)):
        _, rows, cols = (int(v) for v in data_meta[slot])
        lines.append(f"data {name}: {rows} x {cols}")
    for stmt in statements:
        if isinstance(stmt, ast.Directive) and stmt.name == "macro":
            names = [i.value.id for i in stmt.items if isinstance(i.value, ast.Name)]
            if names:
                lines.append(f"macro {names[0]} {', '.join(names[1:])}".rstrip())
    return lines


# ---------------------------------------------------------------------- what an instruction did
@dataclass(frozen=True)
class Snapshot:
    """What the machine held before an instruction, to tell what it changed."""

    vals: np.ndarray
    n_outputs: int
    vec: np.ndarray

    @classmethod
    def of(cls, machine: Machine) -> Snapshot:
        return cls(machine.vals.copy(), len(machine.output_values()), machine.vec.copy())


@dataclass
class Effects:
    """The lines that say what an instruction did, and the read and pair it used."""

    lines: list[str] = field(default_factory=list)
    read: Read | None = None
    pair: tuple[int, int] | None = None  # (lane, AAT row) of an instruction on a pair
    shown_registers: set[int] = field(default_factory=set)  # printed with the read already


def instruction_effects(
    machine: Machine, program: Program, pc: int, before: Snapshot, show: set[str]
) -> Effects:
    """What instruction pc of program did: y or the pair's w and m, registers, outputs, vectors."""
    row = program.code[pc]
    ins = isa.INSTRUCTIONS[int(row[0])]
    fields = {o.name: (o, int(row[pos])) for o, pos in ins.fields()}
    effects = Effects()
    lane_field = next((v for o, v in fields.values() if o.kind == isa.LANE), None)
    aat_field = next((v for o, v in fields.values() if o.kind == isa.AAT), None)
    if lane_field is not None and aat_field is not None:
        rd = fields["rd"][1] if "rd" in fields else -1
        _pair_effect(effects, machine, program, ins, int(before.vals[lane_field]), aat_field, rd, show)
    _register_effects(effects, machine, before)
    _output_and_vector_effects(effects, machine, program, before)
    if ins.mnemonic in ("CALL", "RET"):
        from ktasm.disasm import label_names

        label = label_names(program).get(machine.pc)
        where = f"pc {machine.pc}" + (f" ({label})" if label else "")
        verb = "call" if ins.mnemonic == "CALL" else "return to"
        effects.lines.append(f"{verb} {where}; call depth {len(machine.call_stack)}")
    return effects


def _pair_effect(
    effects: Effects,
    machine: Machine,
    program: Program,
    ins: isa.Instruction,
    lane: int,
    aat: int,
    rd: int,
    show: set[str],
) -> None:
    """A read's y (and its register); a feedback's (or, on request, a read's) w and m."""
    core = machine.core
    effects.pair = (lane, aat)
    reads = ins.group in ("kT-RAM read", "fused") or ins.mnemonic == "COIN"
    text = f"L{lane} {program.aat_names[aat]}:"
    if reads:
        y = float(core.lane_y[lane])
        effects.read = (machine.steps, lane, y)
        text += f" y = {y:+.6f}"
        if ins.mnemonic != "COIN" and rd >= 0:
            text += f" -> r{rd}"
            effects.shown_registers.add(rd)
    if not reads or ins.group == "fused" or show & {"w", "m"}:
        w, mag = core.weights(lane, aat_tuple(machine.aats[aat]))
        text += f"  w = {w:+.6f}  m = {mag:.6g}"
    if ins.mnemonic != "GAB":  # GAB's registers say it all
        effects.lines.append(text)
        if show & {"ga", "gb"}:
            effects.lines += pair_table(core.g, lane, enabled_pairs(machine.aats[aat]))


def _register_effects(effects: Effects, machine: Machine, before: Snapshot) -> None:
    regs = machine.vals[: isa.N_REGISTERS]
    for r in np.flatnonzero(regs != before.vals[: isa.N_REGISTERS]).tolist():
        if r not in effects.shown_registers:
            effects.lines.append(f"r{r} = {number(float(regs[r]))}")


def _output_and_vector_effects(
    effects: Effects, machine: Machine, program: Program, before: Snapshot
) -> None:
    new_out = machine.output_values()[before.n_outputs :]
    if new_out.size:
        effects.lines.append(f"out {vector_text(new_out)}")
    vec = before.vec
    if vec.shape[0] != machine.vec.shape[0] or np.array_equal(vec, machine.vec, equal_nan=True):
        return
    for d, dev in enumerate(program.devices):
        off, n = machine.vec_meta[machine.dev_meta[d, 1]]
        if not np.array_equal(vec[off : off + n], machine.vec[off : off + n], equal_nan=True):
            effects.lines.append(f"{dev['name']} = {vector_text(machine.vec[off : off + n])}")


# ---------------------------------------------------------------------- the toolbar
def toolbar_text(state: SessionState) -> str:
    """Model, the last lane (and AAT) with y and m, pc, steps, modeled time and energy."""
    m = state.machine
    core = m.core
    lane = state.last_lane
    y = float(core.lane_y[lane])
    if state.last_aat is not None and state.last_aat < len(m.program.aat_names):
        mag = core.weights(lane, aat_tuple(m.aats[state.last_aat]))[1]
        where = f"L{lane} {m.program.aat_names[state.last_aat]}: y {y:+.4f} m {mag:.4g}"
    else:
        where = f"L{lane}: y {y:+.4f} m -"
    stats = m.stats()
    n = m.program.code.shape[0]
    pc = f"pc {m.pc}/{n}" if state.parts.file_path else "pc -"
    return (
        f" {core.model} | {where} | {pc} | steps {m.steps} | "
        f"{stats['modeled_time_s']:.4g} s {stats['modeled_energy_j']:.4g} J "
    )
