"""Data tables bound to a program: read from files or given as arrays, each checked against
what the instructions that use it need (``vm.isa`` data_shape rules), laid out flat with a
``data_meta`` row (offset, rows, cols) each."""

from __future__ import annotations

import io
import os
import warnings

import numpy as np

from vm import isa
from vm.archive import ArchiveError, read_bytes
from vm.bytecode import Program


class DataError(ValueError):
    """Data given to a program that does not fit what the program declares."""


class MissingData(DataError):
    """A .data table the program declares with no file and that was not given."""


def load_table(path: str | os.PathLike) -> np.ndarray:
    """A data table from .npy or .csv/.txt (comma or whitespace separated; a first row that
    is not numbers is a header and skipped), as 2-D float64. The file is read once, within
    the file size limit (vm.archive), so a pipe works and /dev/zero ends with an error."""
    try:
        blob = read_bytes(path, "data file")
    except ArchiveError as exc:
        raise DataError(str(exc)) from None
    if blob.startswith(b"\x93NUMPY"):
        return _npy_table(blob, path)
    if str(path).endswith(".npy"):
        raise DataError(f"cannot read data file {path}: not a .npy file (no NumPy header)")
    try:
        text = blob.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = blob.count(b"\n", 0, exc.start) + 1
        raise DataError(f"cannot read data file {path}: line {line}: not UTF-8 text") from None
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise DataError(f"data file {path} is empty: expected rows of numbers")
    delimiter = "," if "," in lines[0] else None
    if _header_row(lines[0], delimiter):
        lines = lines[1:]
        if not lines:
            raise DataError(f"data file {path} has a header row and no rows of numbers")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = np.loadtxt(io.StringIO("\n".join(lines)), delimiter=delimiter, ndmin=2)
    except ValueError as exc:
        raise DataError(f"cannot read data file {path}: {exc}") from None
    return np.asarray(arr)


def _header_row(line: str, delimiter: str | None) -> bool:
    """A row of names (no field is a number): column headings."""

    def number(field: str) -> bool:
        try:
            float(field)
        except ValueError:
            return False
        return True

    return not any(number(f) for f in line.split(delimiter))


def _npy_table(blob: bytes, path) -> np.ndarray:
    """A .npy array from its bytes: the header checked against the bytes there are before
    anything is allocated (a header can claim terabytes)."""
    fh = io.BytesIO(blob)
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        elif version in ((2, 0), (3, 0)):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
        else:
            raise ValueError(f"unsupported .npy version {version}")
        if dtype.hasobject:
            raise ValueError("it holds Python objects, not numbers")
        need = int(np.prod(shape, dtype=object)) * dtype.itemsize
        have = len(blob) - fh.tell()
        if need != have:
            raise ValueError(f"its header describes {need} bytes of data, the file has {have}")
        fh.seek(0)
        return np.asarray(np.lib.format.read_array(fh, allow_pickle=False))
    except Exception as exc:  # NumPy parses the header as Python source: TokenError, TypeError, ...
        raise DataError(
            f"cannot read data file {path}: a damaged .npy header ({type(exc).__name__}: {exc})"
        ) from None


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
