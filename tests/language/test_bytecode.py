"""The .ktb format: round trips, and every kind of damage refused with a clear message."""

import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ktasm.assembler import assemble_file, assemble_text
from ktasm.disasm import disassemble
from vm import isa
from vm.bytecode import _HEADER, FORMAT_MAJOR, FORMAT_MINOR, MAGIC, BytecodeError, Program
from vm.machine import Machine

GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden"
SRC = """
.core cols=8 spaces=2 lanes=2 model=rs seed=5
.aat x = (1, _)
.aat y = (7, 3)
.const K = 2.5
top:
    LOOP 20
        FF.RU r0, L1, y
        FFLV r1, L0, x, 0.2
        OUT r0
        ADD r2, r2, K
    ENDLOOP
    JLT r2, 60, top
    OUT r2
"""


def _same(a: Program, b: Program):
    for name in ("code", "constants", "aat_init", "lines"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in (
        "core",
        "n_counters",
        "aat_names",
        "data_names",
        "data_paths",
        "files",
        "sources",
        "labels",
        "consts",
    ):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize(
    "path", sorted(GOLDEN.glob("*.kta")) + [None], ids=lambda p: p.name if p else "inline"
)
def test_round_trip_assemble_write_load_disassemble_run(path, tmp_path):
    program = assemble_file(path) if path else assemble_text(SRC, "inline.kta")
    out = tmp_path / "p.ktb"
    program.save(out)
    loaded = Program.load(out)
    _same(program, loaded)
    assert disassemble(loaded) == disassemble(program)
    data = {p.stem.split(".", 1)[1]: np.load(p) for p in GOLDEN.glob(f"{path.stem}.*.npy")} if path else None
    a, b = Machine(program, data).run(), Machine(loaded, data).run()
    np.testing.assert_array_equal(a.outputs, b.outputs)
    assert a.stats["instructions"] == b.stats["instructions"]
    assert loaded.to_bytes() == program.to_bytes()  # deterministic encoding


def _reheader(blob: bytes, **changes) -> bytes:
    magic, major, minor, flags, n, digest = _HEADER.unpack_from(blob)
    fields = dict(magic=magic, major=major, minor=minor, flags=flags, n=n, digest=digest) | changes
    return _HEADER.pack(*fields.values()) + blob[_HEADER.size :]


def test_damage_is_refused_with_a_reason():
    blob = assemble_text(SRC).to_bytes()
    cases = {
        "not a ktasm bytecode file": b"PK\x03\x04" + blob[4:],
        "truncated file": blob[:10],
        "truncated or padded": blob[:-1],
        "checksum mismatch": blob[:-3] + bytes([blob[-3] ^ 0x10]) + blob[-2:],
        f"bytecode format {FORMAT_MAJOR + 1}.{FORMAT_MINOR} is not supported": _reheader(
            blob, major=FORMAT_MAJOR + 1
        ),
    }
    for needle, damaged in cases.items():
        with pytest.raises(BytecodeError, match=needle.replace(".", r"\.")):
            Program.from_bytes(damaged)


def test_newer_minor_version_still_loads():
    blob = assemble_text(SRC).to_bytes()
    Program.from_bytes(_reheader(blob, minor=7))


@pytest.mark.parametrize(
    "breakage, message",
    [
        (lambda p: p.code.__setitem__((0, 0), isa.N_OPCODES), "unknown opcode"),
        (lambda p: p.code.__setitem__((1, 1), 16 + 1000), "out of range"),  # FF.RU rd
        (lambda p: p.code.__setitem__((1, 3), 5), "aat field 5 out of range"),
        (lambda p: p.code.__setitem__((-1, 3), 3), "unused fields must be 0"),  # OUT uses two fields
        (lambda p: p.code.__setitem__((0, 3), 999), "exit field 999 out of range"),  # LOOP exit pc
        (lambda p: p.aat_init.__setitem__((0, 0), 8), "AAT table"),
        (lambda p: p.core.__setitem__("lanes", 0), "lanes: expected >= 1"),
        (lambda p: p.core.__setitem__("model", "quantum"), "model"),
        (lambda p: p.core.pop("seed"), "wrong set of keys"),
        (lambda p: setattr(p, "constants", np.array([np.nan] * len(p.constants))), "finite"),
        (lambda p: setattr(p, "lines", p.lines[:-1]), "line table"),
    ],
)
def test_loader_verifies_every_field(breakage, message):
    program = assemble_text(SRC)
    breakage(program)
    with pytest.raises(BytecodeError, match=message):
        Program.from_bytes(program.to_bytes())  # a valid header and checksum around it


def test_malformed_metadata_is_a_bytecode_error():
    import hashlib

    meta = b"{not json"
    payload = struct.pack("<I", len(meta)) + meta
    blob = _HEADER.pack(MAGIC, FORMAT_MAJOR, 0, 0, len(payload), hashlib.sha256(payload).digest()) + payload
    with pytest.raises(BytecodeError, match="malformed metadata"):
        Program.from_bytes(blob)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_flips_and_truncations_never_load_silently(data):
    """Damage is refused, except in the minor version field (newer minors load)."""
    program = assemble_text(SRC)
    blob = bytearray(program.to_bytes())
    if data.draw(st.booleans()):
        cut = data.draw(st.integers(0, len(blob) - 1))
        damaged = bytes(blob[:cut])
    else:
        pos = data.draw(st.integers(0, len(blob) - 1))
        blob[pos] ^= data.draw(st.integers(1, 255))
        damaged = bytes(blob)
        if pos in (6, 7):  # minor version
            _same(Program.from_bytes(damaged), program)
            return
    with pytest.raises(BytecodeError):
        Program.from_bytes(damaged)
