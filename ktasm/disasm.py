"""Bytecode -> text, driven by ``vm.isa``. One formatter serves ``ktasm dis``, the REPL's
``.list`` (``current=pc`` marks an instruction with ``-->``) and run-time error messages.

Columns, as in CPython's ``dis``: source line (where it changes), ``>>`` on jump targets,
pc, mnemonic, resolved operands, and the source text.
"""

from __future__ import annotations

from vm import isa
from vm.bytecode import Program
from vm.config import CORE_KEYS, DEVICE_KINDS
from vm.devices import layout


def _value(p: Program, index: int) -> str:
    if index < isa.N_REGISTERS:
        return f"r{index}"
    if index < p.first_constant:
        return f"counter{index - isa.N_REGISTERS}"
    return f"{p.constants[index - p.first_constant]:.12g}"


def _lane(p: Program, index: int) -> str:
    if index < isa.N_REGISTERS:
        return f"L[r{index}]"
    return f"L{int(p.constants[index - p.first_constant])}"


def _target(p: Program, pc: int, names: dict[int, str]) -> str:
    label = names.get(pc)
    return f"{pc}" + (f" ({label})" if label else "")


def vector_names(p: Program) -> dict[int, str]:
    """Each vector slot's name as source writes it: the device's name for its first slot
    (a .vec's values, a .bank's state), NAME.slot for the others."""
    out: dict[int, str] = {}
    _, dev_meta, _ = layout.build(p.devices)
    for d, dev in enumerate(p.devices):
        for j, slot in enumerate(layout.SLOTS[dev["kind"]]):
            out[int(dev_meta[d, 1 + j])] = dev["name"] if j == 0 else f"{dev['name']}.{slot}"
    return out


def format_operands(p: Program, pc: int, names: dict[int, str] | None = None) -> str:
    """The operands of instruction pc as source-like text, jump targets resolved."""
    names = names if names is not None else label_names(p)
    row = p.code[pc]
    ins = isa.INSTRUCTIONS[int(row[0])]
    parts = []
    for operand, pos in ins.fields():
        v = int(row[pos])
        kind = operand.kind
        if kind == isa.REG:
            if v >= 0:
                parts.append(f"r{v}")
        elif kind == isa.VALUE:
            if not (
                operand.optional
                and operand.default is not None
                and v >= p.first_constant
                and p.constants[v - p.first_constant] == operand.default
            ):
                parts.append(_value(p, v))
        elif kind == isa.LANE:
            parts.append(_lane(p, v))
        elif kind == isa.AAT:
            parts.append(p.aat_names[v])
        elif kind == isa.DATA:
            parts.append(p.data_names[v])
        elif kind == isa.RANGE:
            parts.append(f"r{v}..r{v + int(row[pos + 1]) - 1}")
        elif kind == isa.VEC:
            parts.append(vector_names(p).get(v, f"vec{v}"))
        elif kind == isa.TAG:
            if 0 <= v < len(p.output_names):
                parts.append(f'"{p.output_names[v]}"')
        elif kind in isa.DEVICE_OPERANDS:
            parts.append(p.devices[v]["name"] if 0 <= v < len(p.devices) else f"device{v}")
        elif kind == isa.LABEL:
            parts.append(
                ("exit -> " if operand.name == "exit" else "-> ") + _target(p, v, names)
                if operand.hidden
                else _target(p, v, names)
            )
    return ", ".join(parts)


def label_names(p: Program) -> dict[int, str]:
    names: dict[int, str] = {}
    for name, pc in sorted(p.labels.items(), key=lambda kv: kv[1]):
        if "@" not in name:  # macro-local labels stay out of the listing
            names.setdefault(pc, name)
    return names


def jump_targets(p: Program) -> set[int]:
    targets = set()
    for row in p.code:
        ins = isa.INSTRUCTIONS[int(row[0])]
        for operand, pos in ins.fields():
            if operand.kind == isa.LABEL:
                targets.add(int(row[pos]))
    return targets


def header(p: Program) -> list[str]:
    core = " ".join(f"{k.key}={p.core[k.key]}" for k in CORE_KEYS if p.core[k.key] is not None)
    source = f" from {p.files[0]}" if p.files else ""
    out = [f"; {p.code.shape[0]} instructions{source}", f"; .core {core}"]
    for name, row in zip(p.aat_names, p.aat_init, strict=True):
        out.append(f"; .aat {name} = ({', '.join('_' if a < 0 else str(int(a)) for a in row)})")
    for name, value in p.consts.items():
        out.append(f"; .const {name} = {value:.12g}")
    for name, path in zip(p.data_names, p.data_paths, strict=True):
        out.append(f"; .data {name}" + (f' = "{path}"' if path else ""))
    for dev in p.devices:
        spec = DEVICE_KINDS[dev["kind"]]
        keys = [
            f"{k.key}={dev['values'][k.key]:g}"
            if isinstance(dev["values"][k.key], float)
            else f"{k.key}={dev['values'][k.key]}"
            for k in spec.keys
            if k.default is None or dev["values"][k.key] != k.default
        ]
        out.append(f"; .{dev['kind']} {dev['name']} {' '.join(keys)}".rstrip())
    return out


def disassemble(
    p: Program,
    current: int | None = None,
    start: int = 0,
    stop: int | None = None,
    with_header: bool = True,
    breakpoints=frozenset(),
) -> str:
    """Line, mark (--> current, >> jump target, * breakpoint), pc, mnemonic, resolved
    operands, source."""
    names = label_names(p)
    targets = jump_targets(p)
    out = header(p) if with_header else []
    last_line = None
    stop = p.code.shape[0] if stop is None else min(stop, p.code.shape[0])
    for pc in range(max(0, start), stop):
        ins = isa.INSTRUCTIONS[int(p.code[pc, 0])]
        file_index, line, _ = (int(v) for v in p.lines[pc])
        where = (file_index, line)
        line_col = f"{line:>5}" if where != last_line else " " * 5
        last_line = where
        mark = "-->" if pc == current else (">> " if pc in targets else "   ")
        if pc in breakpoints:
            mark = "*" + mark[1:]
        if pc in names:
            out.append(f"{names[pc]}:")
        text = f"{line_col} {mark} {pc:>5}  {ins.mnemonic:<9} {format_operands(p, pc, names)}"
        source = p.source_line(pc).split(";")[0].strip()
        out.append(f"{text:<60} ; {source}" if source else text)
    return "\n".join(out)
