"""Rich display for notebooks: ``_repr_html_`` and short ``__repr__`` text for ``Machine``,
``RunResult``, ``Program`` and ``Core``.

Plain HTML tables (no styles beyond a caption): the pairs' state with w and m, the
registers that are not zero, the outputs, and modeled time and energy. Every table is
capped (``MAX_ROWS``) so a large core never floods a notebook. NumPy only: importing this
module does not compile anything.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import numpy as np

from vm import isa

if TYPE_CHECKING:
    from vm.bytecode import Program
    from vm.ktram.core import Core
    from vm.machine import Machine, RunResult

MAX_ROWS = 32  # rows per table
MAX_OUTPUTS = 12  # output values listed (the rest summarised)


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _table(caption: str, head: list[str], rows: list[list[str]], more: int = 0) -> str:
    out = [f"<table><caption style='text-align:left'><b>{html.escape(caption)}</b></caption>"]
    out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>")
    if more:
        out.append(f"<tr><td colspan='{len(head)}'>... {more} more</td></tr>")
    out.append("</table>")
    return "".join(out)


def _values_text(values: np.ndarray) -> str:
    shown = ", ".join(_fmt(float(v)) for v in values[:MAX_OUTPUTS])
    return f"[{shown}{', ...' if values.shape[0] > MAX_OUTPUTS else ''}]"


# ---------------------------------------------------------------------- pairs
def pair_rows(core: Core, aats: np.ndarray | None = None) -> tuple[list[list[str]], int]:
    """One row per pair (lane, space, address, Ga, Gb, m = Ga+Gb, w): the pairs the AAT
    rows name, or every pair of a core with at most MAX_ROWS of them; and how many more."""
    g = core.g
    lanes = range(core.num_lanes)
    if aats is not None and aats.size:
        pairs = sorted({(s, int(a)) for row in aats for s, a in enumerate(row) if a >= 0})
    else:
        pairs = [(s, a) for s in range(core.spaces_per_lane) for a in range(core.num_addresses)]
    every = [(lane, s, a) for lane in lanes for s, a in pairs]
    rows = []
    for lane, s, a in every[:MAX_ROWS]:
        ga, gb = float(g[0, lane, s, a]), float(g[1, lane, s, a])
        m = ga + gb
        w = (ga - gb) / m if m else 0.0
        rows.append([f"L{lane}", str(s), str(a), _fmt(ga), _fmt(gb), _fmt(m), f"{w:+.5f}"])
    return rows, max(0, len(every) - MAX_ROWS)


PAIR_HEAD = ["lane", "space", "addr", "Ga", "Gb", "m = Ga+Gb", "w"]


def _pairs_html(core: Core, aats: np.ndarray | None = None) -> str:
    rows, more = pair_rows(core, aats)
    return _table("pairs", PAIR_HEAD, rows, more)


def _stats_html(stats: dict) -> str:
    rows = [
        ["instructions", str(stats.get("instructions", 0))],
        ["modeled time", f"{_fmt(stats.get('modeled_time_s', 0.0))} s"],
        ["modeled energy", f"{_fmt(stats.get('modeled_energy_j', 0.0))} J"],
    ]
    for family, v in stats.get("by_family", {}).items():
        if v["time_s"] or v["energy_j"]:
            rows.append([f"  {family}", f"{_fmt(v['time_s'])} s, {_fmt(v['energy_j'])} J"])
    wear = stats.get("devices")
    if wear:  # a core with non-idealities
        rows.append(
            [
                "kT-RAM devices",
                f"{wear['switching_events']} switching events (at most {wear['max_events']} on one), "
                f"{wear['worn_out']} worn out, {wear['stuck']} stuck, of {wear['devices']}",
            ]
        )
    return _table("time and energy", ["", ""], rows)


def _registers_html(registers: np.ndarray) -> str:
    rows = [[f"r{i}", _fmt(float(v))] for i, v in enumerate(registers) if v != 0]
    return _table("registers (not zero)", ["register", "value"], rows) if rows else ""


# ---------------------------------------------------------------------- objects
def core_html(core: Core) -> str:
    head = html.escape(repr(core))
    lanes = [[f"L{i}", f"{float(y):+.6f}"] for i, y in enumerate(core.lane_y[:MAX_ROWS])]
    return (
        f"<div><code>{head}</code>"
        + _table("lanes", ["lane", "y"], lanes, max(0, core.num_lanes - MAX_ROWS))
        + _pairs_html(core)
        + "</div>"
    )


def program_repr(program: Program) -> str:
    return (
        f"<Program {program.files[0] if program.files else '?'}: {program.code.shape[0]} instructions, "
        f"{len(program.aat_names)} AATs, {len(program.devices)} devices, model={program.core.get('model')}>"
    )


def program_html(program: Program) -> str:
    core = program.core
    rows = [[k, str(core[k])] for k in ("rows", "cols", "spaces", "lanes", "model", "seed") if k in core]
    names = [
        ["AATs", ", ".join(program.aat_names)],
        ["data", ", ".join(program.data_names)],
        ["devices", ", ".join(f"{d['name']} ({d['kind']})" for d in program.devices)],
        ["labels", ", ".join(n for n in program.labels if "@" not in n)],
        ["constants", ", ".join(f"{k} = {_fmt(v)}" for k, v in program.consts.items())],
    ]
    return (
        f"<div><code>{html.escape(program_repr(program))}</code>"
        + _table(".core", ["key", "value"], rows)
        + _table("names", ["kind", "names"], [r for r in names if r[1]])
        + "</div>"
    )


def machine_repr(machine: Machine) -> str:
    p = machine.program
    name = p.files[0] if p.files else "?"
    where = machine.stop_reason if machine.steps else "not started"
    return (
        f"<Machine {name}: pc={machine.pc}/{p.code.shape[0]}, {where}, "
        f"{machine.steps} steps, {int(machine.output_values().shape[0])} outputs>"
    )


def machine_html(machine: Machine) -> str:
    outputs = machine.output_values()
    p = machine.program
    vectors = [
        [d["name"], d["kind"], _values_text(machine.vector(d["name"]))]
        for d in p.devices
        if d["kind"] in ("vec", "bank", "ou")
    ]
    aat_rows = machine.aats if machine.aats.size else None
    return (
        f"<div><code>{html.escape(machine_repr(machine))}</code>"
        + _pairs_html(machine.core, aat_rows)
        + _registers_html(machine.registers)
        + _table("outputs", ["count", "values"], [[str(outputs.shape[0]), _values_text(outputs)]])
        + (_table("vectors", ["name", "kind", "values"], vectors) if vectors else "")
        + _stats_html(machine.stats())
        + "</div>"
    )


def result_repr(result: RunResult) -> str:
    fault = f", fault: {result.fault.message}" if result.fault is not None else ""
    return (
        f"<RunResult {result.reason}: {result.outputs.shape[0]} outputs, "
        f"{result.stats.get('instructions', 0)} instructions{fault}>"
    )


def result_html(result: RunResult) -> str:
    registers = result.registers[: isa.N_REGISTERS]
    return (
        f"<div><code>{html.escape(result_repr(result))}</code>"
        + _table(
            "outputs", ["count", "values"], [[str(result.outputs.shape[0]), _values_text(result.outputs)]]
        )
        + _registers_html(registers)
        + _stats_html(result.stats)
        + "</div>"
    )
