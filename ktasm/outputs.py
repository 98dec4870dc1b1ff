"""A run's outputs as ``ktasm run`` shows and writes them: named outputs (``OUT value,
"name"``, ``VOUT vec, "name"``) by name, the unnamed ones as they always were.

- text: one line per output, ``name = value`` for a named one (a vector on one line);
- ``--json``: ``"outputs"`` (the unnamed values) and ``"named"`` (``vm.machine.group_outputs``);
- ``--out FILE``: ``.npz`` (one array per name, the unnamed under ``outputs``), ``.json``
  (as ``--json``'s two keys), ``.csv`` (``name,write,element,value``, one row per value in
  the order written; the unnamed under ``outputs``).
"""

from __future__ import annotations

import csv
import json
import math
import os
from collections.abc import Iterator

import numpy as np

FORMATS = (".npz", ".csv", ".json")
CHUNK = 1 << 16  # values turned into text at a time: a billion outputs are never one list


def chunks(values: np.ndarray) -> Iterator[np.ndarray]:
    """values in slices of CHUNK (views)."""
    for start in range(0, values.shape[0], CHUNK):
        yield values[start : start + CHUNK]


UNNAMED = "outputs"  # the key the unnamed outputs go under in a file (a name the assembler reserves)


def json_number(v: float):
    """JSON has no NaN or infinities: those become the strings JavaScript prints."""
    if math.isfinite(v):
        return v
    return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")


def json_value(value):
    """A named output's value for JSON: a number, or (nested) lists of numbers."""
    if isinstance(value, np.ndarray):
        if value.ndim == 1:
            return [json_number(v) for v in value.tolist()]
        return [json_value(row) for row in value]
    return json_number(float(value))


def json_named(named: dict) -> dict:
    """The named outputs as JSON-ready values."""
    return {name: json_value(value) for name, value in named.items()}


def writes(result) -> Iterator[tuple[str | None, list[float]]]:
    """(name or None, values) for each write, in order: one value for OUT (or an unnamed
    output), a vector's values for a named VOUT."""
    if not result.output_names:
        for chunk in chunks(result.outputs):
            for v in chunk.tolist():
                yield None, [v]
        return
    values = result.outputs.tolist()
    tags = result.output_tags.tolist()
    i = 0
    while i < len(values):
        tag = tags[i]
        if tag < 0:
            yield None, [values[i]]
            i += 1
            continue
        width = max(1, result.output_widths[tag])
        yield result.output_names[tag], values[i : i + width]
        i += width


def text_lines(result) -> Iterator[str]:
    """What ``ktasm run`` prints for the outputs: a value per line, ``name = ...`` for a
    named one."""
    for name, values in writes(result):
        if name is None:
            yield repr(values[0])
        elif len(values) == 1 and not result.output_widths[result.output_names.index(name)]:
            yield f"{name} = {values[0]!r}"
        else:
            yield f"{name} = [{', '.join(repr(v) for v in values)}]"


def write(path: str, result) -> None:
    """The outputs to path, in the format its extension names (FORMATS)."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".npz":
        arrays = {UNNAMED: result.unnamed}
        arrays.update({name: np.asarray(value, dtype=np.float64) for name, value in result.named.items()})
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)
    elif ext == ".json":
        record = {
            UNNAMED: [json_number(v) for v in result.unnamed.tolist()],
            "named": json_named(result.named),
        }
        with open(path, "w") as fh:
            json.dump(record, fh, allow_nan=False)
            fh.write("\n")
    elif ext == ".csv":
        counts: dict[str, int] = {}
        with open(path, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["name", "write", "element", "value"])
            for name, values in writes(result):
                key = UNNAMED if name is None else name
                k = counts.get(key, 0)
                counts[key] = k + 1
                for element, v in enumerate(values):
                    out.writerow([key, k, element, repr(v)])
    else:
        raise ValueError(f"{path}: unknown output format (expected {', '.join(FORMATS)})")
