"""Data tables bound to a program: read from files or given as arrays, each checked against
what the instructions that use it need (``vm.isa`` data_shape rules), laid out flat with a
``data_meta`` row (offset, rows, cols) each."""

from __future__ import annotations

import os

import numpy as np

from vm import isa
from vm.bytecode import Program


class DataError(ValueError):
    """Data given to a program that does not fit what the program declares."""


class MissingData(DataError):
    """A .data table the program declares with no file and that was not given."""


def load_table(path: str | os.PathLike) -> np.ndarray:
    """A data table from .npy or .csv/.txt (comma or whitespace separated), as 2-D float64."""
    try:
        if str(path).endswith(".npy"):
            arr = np.load(path, allow_pickle=False)
        else:
            with open(path) as fh:
                first = fh.readline()
            arr = np.loadtxt(path, delimiter="," if "," in first else None, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(f"cannot read data file {path}: {exc}") from None
    return np.asarray(arr)


def _data_shapes(program: Program, vec_meta: np.ndarray, spaces: int) -> dict[int, list]:
    """Per data slot, the (rows or None, cols, why) its uses need (isa data_shape rules)."""
    out: dict[int, list] = {}
    for row in program.code:
        ins = isa.INSTRUCTIONS[int(row[0])]
        if not ins.data_shape:
            continue
        fields = {o.name: int(row[pos]) for o, pos in ins.fields()}
        table = fields["table"]
        rule, _, arg = ins.data_shape.partition("=")
        if arg == "spaces":
            need = (None, spaces, "is loaded into AATs (one column per space)")
        elif rule == "shape":
            values = program.devices[fields[arg]]["values"]
            need = (
                values["rows"],
                values["cols"],
                f"programs pair array {program.devices[fields[arg]]['name']!r}",
            )
        elif arg.isdigit():
            need = (None, int(arg), f"is used by {ins.mnemonic}")
        else:
            slot = fields[arg]
            need = (
                None,
                int(vec_meta[slot, 1]),
                f"is loaded into a vector of {int(vec_meta[slot, 1])} elements by {ins.mnemonic}",
            )
        out.setdefault(table, []).append(need)
    return out


def bind_tables(
    program: Program, given: dict, vec_meta: np.ndarray, spaces: int
) -> tuple[np.ndarray, np.ndarray]:
    """The program's tables from given (arrays or paths) and the files it names, each
    checked against its uses (vector lengths from vec_meta, default the machine's)."""
    p = program
    unknown = sorted(set(given) - set(p.data_names))
    if unknown:
        raise DataError(
            f"data {unknown[0]!r} is not declared by the program"
            + (f" (it declares: {', '.join(p.data_names)})" if p.data_names else "")
        )
    shapes = _data_shapes(program, vec_meta, spaces)
    tables, meta, offset = [], np.zeros((len(p.data_names), 3), dtype=np.int64), 0
    for slot, (name, path) in enumerate(zip(p.data_names, p.data_paths, strict=True)):
        value = given.get(name, path)
        if value is None:
            raise MissingData(f"the program needs data {name!r}: pass --data {name}=FILE (.npy or .csv)")
        if isinstance(value, (str, os.PathLike)):
            value = load_table(value)
        arr = np.asarray(value)
        if arr.dtype.kind not in "biuf":
            raise DataError(f"data {name!r}: expected numbers, got dtype {arr.dtype}")
        arr = arr.astype(np.float64)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise DataError(f"data {name!r}: expected a 1-D or 2-D table, got shape {arr.shape}")
        for rows, cols, why in shapes.get(slot, ()):
            if (rows is not None and arr.shape[0] != rows) or arr.shape[1] != cols:
                want = (
                    f"shape ({rows}, {cols})"
                    if rows is not None
                    else f"{cols} column{'s' if cols != 1 else ''}"
                )
                raise DataError(
                    f"data {name!r} {why}, so it needs {want}; it has shape {arr.shape[0]} x {arr.shape[1]}"
                )
        meta[slot] = (offset, arr.shape[0], arr.shape[1])
        offset += arr.size
        tables.append(arr.ravel())
    flat = np.concatenate(tables) if tables else np.zeros(0)
    return np.ascontiguousarray(flat, dtype=np.float64), meta
