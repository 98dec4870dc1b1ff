"""Assembled programs and the ``.ktb`` bytecode file.

File layout (little-endian)::

    header   magic b"KTB\\x1a" | u16 major | u16 minor | u32 flags (0) | u64 payload bytes
             | 32-byte SHA-256 of the payload
    payload  u32 n | n bytes of UTF-8 JSON (core config, symbols, names, array shapes,
             source files) | code int64[n, 5] | constants float64 | aat_init int64 | lines int64[n, 3]

A reader loads any file with its own major version and any minor version; the loader
checks the header, the checksum, every array shape and then every instruction against
the instruction table (``verify``), so the interpreter never indexes out of bounds.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass, field

import numpy as np

from vm import config as _config
from vm import isa

MAGIC = b"KTB\x1a"
# 1.1: device declarations (.vec .mtj .pairs .bank .ou); 2.0: opcodes renumbered (CALL, RET,
# the math rows, AGE), output names, the devices' non-ideality .core keys
FORMAT_MAJOR = 2
FORMAT_MINOR = 0
_HEADER = struct.Struct("<4sHHIQ32s")


class BytecodeError(ValueError):
    """A .ktb file (or Program) that cannot be loaded: says what is wrong."""


@dataclass
class Program:
    """An assembled program: what the VM runs and the disassembler prints."""

    core: dict  # .core configuration, every key present (vm.config.CORE_KEYS)
    code: np.ndarray  # int64[n, isa.CODE_WIDTH]
    constants: np.ndarray  # float64[k]: the constant pool
    n_counters: int  # loop-counter slots
    aat_names: list[str]
    aat_init: np.ndarray  # int64[n_aat, spaces]: -1 = disabled space
    data_names: list[str]
    data_paths: list[str | None]  # default file per data slot (None: must be given)
    lines: np.ndarray  # int64[n, 3]: file index, line, column of each instruction
    files: list[str]  # source file names
    sources: list[str]  # their text, so errors and disassembly can quote lines
    labels: dict[str, int] = field(default_factory=dict)
    consts: dict[str, float] = field(default_factory=dict)
    # declared devices, in order: {"kind": "mtj", "name": "coins", "values": {key: value}}
    devices: list[dict] = field(default_factory=list)
    # the names OUT and VOUT write under (a TAG field indexes them), and each one's width:
    # 0 for a scalar (OUT), the vector's length for VOUT
    output_names: list[str] = field(default_factory=list)
    output_widths: list[int] = field(default_factory=list)

    @property
    def n_values(self) -> int:
        """Length of the value file: registers, loop counters, constants."""
        return isa.N_REGISTERS + self.n_counters + len(self.constants)

    @property
    def first_constant(self) -> int:
        """Index of the first constant in the value file."""
        return isa.N_REGISTERS + self.n_counters

    def initial_values(self) -> np.ndarray:
        """The value file at start: registers and counters zero, then the constant pool."""
        vals = np.zeros(self.n_values, dtype=np.float64)
        vals[self.first_constant :] = self.constants
        return vals

    def __repr__(self) -> str:
        from vm.display import program_repr

        return program_repr(self)

    def _repr_html_(self) -> str:
        from vm.display import program_html

        return program_html(self)

    def location(self, pc: int) -> tuple[str, int, int]:
        """(file, line, column) of instruction pc."""
        f, line, col = (int(v) for v in self.lines[pc])
        return self.files[f], line, col

    def source_line(self, pc: int) -> str:
        """The source line instruction pc was assembled from ('' if unknown)."""
        f, line, _ = (int(v) for v in self.lines[pc])
        text = self.sources[f].splitlines()
        return text[line - 1] if 0 < line <= len(text) else ""

    # ------------------------------------------------------------------ file format
    def to_bytes(self) -> bytes:
        """The program as a .ktb file's bytes (header, checksum, payload)."""
        arrays = [
            np.ascontiguousarray(self.code, dtype="<i8"),
            np.ascontiguousarray(self.constants, dtype="<f8"),
            np.ascontiguousarray(self.aat_init, dtype="<i8"),
            np.ascontiguousarray(self.lines, dtype="<i8"),
        ]
        meta = {
            "core": self.core,
            "n_counters": self.n_counters,
            "aat_names": self.aat_names,
            "data_names": self.data_names,
            "data_paths": self.data_paths,
            "files": self.files,
            "sources": self.sources,
            "labels": self.labels,
            "consts": self.consts,
            "devices": self.devices,
            "output_names": self.output_names,
            "output_widths": self.output_widths,
            "shapes": [list(a.shape) for a in arrays],
        }
        meta_bytes = json.dumps(meta, sort_keys=True).encode()
        payload = struct.pack("<I", len(meta_bytes)) + meta_bytes + b"".join(a.tobytes() for a in arrays)
        header = _HEADER.pack(
            MAGIC, FORMAT_MAJOR, FORMAT_MINOR, 0, len(payload), hashlib.sha256(payload).digest()
        )
        return header + payload

    @classmethod
    def from_bytes(cls, blob: bytes) -> Program:
        """A Program from a .ktb file's bytes: header, checksum, shapes and every
        instruction verified; ``BytecodeError`` saying what is wrong otherwise."""
        if len(blob) < _HEADER.size:
            raise BytecodeError(f"truncated file: {len(blob)} bytes, a header needs {_HEADER.size}")
        magic, major, minor, flags, n_payload, digest = _HEADER.unpack_from(blob)
        if magic != MAGIC:
            raise BytecodeError("not a ktasm bytecode file (bad magic number)")
        if major != FORMAT_MAJOR:
            raise BytecodeError(
                f"bytecode format {major}.{minor} is not supported by this "
                f"ktasm (reads {FORMAT_MAJOR}.x); reassemble the source"
            )
        if flags != 0:
            raise BytecodeError(f"unknown format flags {flags:#x}")
        payload = blob[_HEADER.size :]
        if len(payload) != n_payload:
            raise BytecodeError(
                f"truncated or padded file: payload is {len(payload)} bytes, header says {n_payload}"
            )
        if hashlib.sha256(payload).digest() != digest:
            raise BytecodeError("checksum mismatch: the file is corrupt")
        try:
            (n_meta,) = struct.unpack_from("<I", payload)
            meta = json.loads(payload[4 : 4 + n_meta].decode())
            offset = 4 + n_meta
            arrays = []
            for shape, dtype in zip(meta["shapes"], ("<i8", "<f8", "<i8", "<i8"), strict=True):
                count = math.prod(shape)
                if any(not isinstance(d, int) or d < 0 for d in shape) or offset + 8 * count > len(payload):
                    raise BytecodeError(f"array of shape {shape} does not fit in the file")
                arrays.append(
                    np.frombuffer(payload, dtype=dtype, count=count, offset=offset)
                    .reshape(shape)
                    .astype(dtype[1:], copy=True)
                )
                offset += 8 * count
            if offset != len(payload):
                raise BytecodeError("trailing bytes after the last array")
            program = cls(
                core=dict(meta["core"]),
                code=arrays[0],
                constants=arrays[1],
                n_counters=int(meta["n_counters"]),
                aat_names=list(meta["aat_names"]),
                aat_init=arrays[2],
                data_names=list(meta["data_names"]),
                data_paths=list(meta["data_paths"]),
                lines=arrays[3],
                files=list(meta["files"]),
                sources=list(meta["sources"]),
                labels=dict(meta["labels"]),
                consts=dict(meta["consts"]),
                devices=list(meta.get("devices", [])),
                output_names=list(meta.get("output_names", [])),
                output_widths=list(meta.get("output_widths", [])),
            )
            verify(program)
        except BytecodeError:
            raise
        except RecursionError:
            raise BytecodeError("malformed metadata: nested too deeply") from None
        except (
            KeyError,
            TypeError,
            ValueError,
            AttributeError,
            IndexError,
            OverflowError,
            struct.error,
            UnicodeDecodeError,
        ) as exc:
            raise BytecodeError(f"malformed metadata: {type(exc).__name__}: {str(exc)[:200]}") from None
        return program

    def fingerprint(self) -> str:
        """SHA-256 of the encoded program: checkpoints name the program they belong to."""
        return hashlib.sha256(self.to_bytes()).hexdigest()

    def save(self, path) -> None:
        """Write the program as a .ktb file; ``Program.load`` reads it back (verified)."""
        with open(path, "wb") as fh:
            fh.write(self.to_bytes())

    @classmethod
    def load(cls, path) -> Program:
        """Read and verify a .ktb file (see ``from_bytes``)."""
        with open(path, "rb") as fh:
            return cls.from_bytes(fh.read())


def verify(p: Program) -> None:
    """Check a program against the instruction table and its own tables (BytecodeError)."""

    def fail(msg):
        raise BytecodeError(msg)

    if not isinstance(p.core, dict) or set(p.core) != set(_config.BY_KEY):
        fail("core configuration: wrong set of keys")
    for key, spec in _config.BY_KEY.items():
        value = p.core[key]
        if value is None and spec.default is None:
            continue
        plain = isinstance(value, (int, float, str)) and not isinstance(value, bool)
        problem = spec.check(value) if plain else f"{key}: unexpected value {value!r}"
        if problem:
            fail(f"core configuration: {problem}")

    def strings(values, optional: bool = False) -> bool:
        return all(isinstance(v, str) or (optional and v is None) for v in values)

    for what, ok in (
        ("AAT names", strings(p.aat_names)),
        ("data names", strings(p.data_names)),
        ("data paths", strings(p.data_paths, optional=True)),
        ("file names", strings(p.files)),
        ("sources", strings(p.sources)),
        ("labels", strings(p.labels) and all(type(v) is int for v in p.labels.values())),
        ("constants", strings(p.consts) and all(type(v) in (int, float) for v in p.consts.values())),
        ("output names", strings(p.output_names) and len(set(p.output_names)) == len(p.output_names)),
        (
            "output widths",
            len(p.output_widths) == len(p.output_names)
            and all(type(w) is int and 0 <= w < 1 << 40 for w in p.output_widths),
        ),
    ):
        if not ok:
            fail(f"{what}: unexpected value types")
    n = p.code.shape[0] if p.code.ndim == 2 else -1
    if p.code.ndim != 2 or p.code.shape[1] != isa.CODE_WIDTH:
        fail(f"code: expected shape (n, {isa.CODE_WIDTH}), got {p.code.shape}")
    if p.lines.shape != (n, 3):
        fail(f"line table: expected shape ({n}, 3), got {p.lines.shape}")
    if p.constants.ndim != 1 or not np.all(np.isfinite(p.constants)):
        fail("constant pool: expected finite float64 values")
    if not isinstance(p.n_counters, int) or not 0 <= p.n_counters <= 1 << 20:
        fail("loop counters: bad count")
    spaces, addresses = p.core["spaces"], p.core["rows"] * p.core["cols"]
    if p.aat_init.shape != (len(p.aat_names), spaces):
        fail(f"AAT table: expected shape ({len(p.aat_names)}, {spaces}), got {p.aat_init.shape}")
    if p.aat_init.size and (p.aat_init.min() < -1 or p.aat_init.max() >= addresses):
        fail(f"AAT table: addresses must be in [-1, {addresses})")
    if len(p.data_paths) != len(p.data_names):
        fail("data table: names and paths differ in length")
    if len(p.sources) != len(p.files) or (
        n and (p.lines[:, 0].min() < 0 or p.lines[:, 0].max() >= len(p.files))
    ):
        fail("line table: file index out of range")
    vec_meta, dev_meta, dev_params = _verify_devices(p.devices, p.core, fail)
    kinds = [d["kind"] for d in p.devices]
    limits = {
        isa.REG: (0, isa.N_REGISTERS),
        isa.VALUE: (0, p.n_values),
        isa.LANE: (0, p.n_values),
        isa.AAT: (0, len(p.aat_names)),
        isa.DATA: (0, len(p.data_names)),
        isa.LABEL: (0, n + 1),
        isa.COUNTER: (isa.N_REGISTERS, isa.N_REGISTERS + p.n_counters),
        isa.VEC: (0, len(vec_meta)),
        isa.TAG: (0, len(p.output_names)),
    }
    length_of = device_lengths(p.devices, vec_meta)
    for pc in range(n):
        row = p.code[pc]
        op = int(row[0])
        if not 0 <= op < isa.N_OPCODES:
            fail(f"instruction {pc}: unknown opcode {op}")
        ins = isa.INSTRUCTIONS[op]
        used = 1
        for operand, pos in ins.fields():
            used = pos + operand.width
            value = int(row[pos])
            if operand.kind == isa.RANGE:
                first, count = value, int(row[pos + 1])
                if not (0 <= first and 1 <= count and first + count <= isa.N_REGISTERS):
                    fail(f"instruction {pc} ({ins.mnemonic}): bad register range")
                continue
            if operand.optional and operand.kind in (isa.REG, isa.TAG) and value == -1:
                continue
            if operand.kind in isa.DEVICE_OPERANDS:
                if not (0 <= value < len(kinds) and kinds[value] == isa.DEVICE_OPERANDS[operand.kind]):
                    fail(
                        f"instruction {pc} ({ins.mnemonic}): {operand.name} field {value} is not "
                        f"a {isa.DEVICE_OPERANDS[operand.kind]} device"
                    )
                continue
            low, high = limits[operand.kind]
            if not low <= value < high:
                fail(
                    f"instruction {pc} ({ins.mnemonic}): {operand.name} field {value} "
                    f"out of range [{low}, {high})"
                )
        if np.any(row[used:] != 0):
            fail(f"instruction {pc} ({ins.mnemonic}): unused fields must be 0")
        for operand, pos in ins.fields():
            if operand.kind == isa.TAG and row[pos] >= 0:
                vector = ins.fields()[0]
                width = int(vec_meta[row[vector[1]], 1]) if vector[0].kind == isa.VEC else 0
                if p.output_widths[row[pos]] != width:
                    fail(
                        f"instruction {pc} ({ins.mnemonic}): output name {p.output_names[row[pos]]!r} has another width"
                    )
        for problem in isa.length_problems(ins, row, length_of):
            fail(f"instruction {pc}: {problem}")


def device_lengths(devices: list[dict], vec_meta: np.ndarray):
    """length_of(kind, field, attr) for isa.length_problems: a vector slot's length, or a
    device's rows / cols / n / cells."""

    def length_of(kind, value, attr):
        if attr is None:
            if kind == isa.VEC:
                return int(vec_meta[value, 1])
            attr = "n"
        values = devices[value]["values"]
        if attr == "cells":
            return values["rows"] * values["cols"] * values["levels"]
        return values[attr]

    return length_of


def _verify_devices(devices, core, fail):
    from vm.devices import layout  # no Numba

    if not isinstance(devices, list):
        fail("devices: expected a list")
    total = 0
    for d, dev in enumerate(devices):
        if not (
            isinstance(dev, dict)
            and set(dev) == {"kind", "name", "values"}
            and dev["kind"] in _config.DEVICE_KINDS
            and isinstance(dev["values"], dict)
        ):
            fail(f"device {d}: malformed declaration")
        spec = _config.DEVICE_KINDS[dev["kind"]]
        if set(dev["values"]) != set(spec.by_key):
            fail(f"device {d} ({dev['kind']}): wrong set of keys")
        for key, value in dev["values"].items():
            plain = isinstance(value, (int, float, str)) and not isinstance(value, bool)
            problem = spec.by_key[key].check(value) if plain else f"{key}: unexpected value {value!r}"
            if problem:
                fail(f"device {d} ({dev['kind']}): {problem}")
        dev["values"] = {k: spec.by_key[k].convert(v) for k, v in dev["values"].items()}
        problem = _config.device_problem(dev["kind"], dev["values"])
        if problem:
            fail(f"device {d} ({dev['kind']}): {problem}")
        total += sum(layout.slot_lengths(dev["kind"], dev["values"]))
    problem = _config.memory_error(core, total)
    if problem:
        fail(f"core configuration: {problem}")
    return layout.build(devices)
