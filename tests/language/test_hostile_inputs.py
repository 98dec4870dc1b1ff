"""Inputs that ended in "internal error", a wrong position or unbounded work (issue 15,
classes 3, 5 and 6): each now gives a positioned error, or works."""

from __future__ import annotations

import hashlib
import json
import struct
import time

import pytest

from ktasm.assembler import assemble_file, assemble_text
from ktasm.errors import KtasmError
from vm.bytecode import _HEADER, BytecodeError, Program


def errors_of(text: str) -> str:
    with pytest.raises(KtasmError) as info:
        assemble_text(text, "t.kta")
    return info.value.render()


@pytest.mark.parametrize(
    "text, where",
    [
        ("    MOV r0, " + "+".join(["1"] * 1000) + "\n", "t.kta:1:"),
        ("    MOV r0, " + "-" * 1000 + "1\n", "t.kta:1:"),
        ("    MOV r0, " + "*".join(["2"] * 500) + "\n", "t.kta:1:"),
    ],
)
def test_deeply_nested_expressions_are_a_positioned_error(text, where):
    rendered = errors_of(text)
    assert rendered.startswith(where) and "nested more than" in rendered


def test_huge_numbers_in_names_are_range_errors():
    assert "lane inf out of range" in errors_of(".aat z = (0)\n    FF r0, L" + "9" * 400 + ", z\n")
    assert "no register" in errors_of("    MOV r" + "1" * 5000 + ", 1\n")


def test_a_thousand_chained_includes_stop_at_a_depth_limit(tmp_path):
    for i in range(1001):
        body = f'.include "f{i + 1}.kta"\n' if i < 1000 else "    NOP\n"
        (tmp_path / f"f{i}.kta").write_text(body)
    with pytest.raises(KtasmError, match="includes nested more than 64"):
        assemble_file(tmp_path / "f0.kta")


def test_a_macro_bomb_is_refused_quickly(monkeypatch):
    body = "".join("    ADD r0, r0, 1\n" for _ in range(200))
    text = f".macro BIG\n{body}.endm\n.macro TEN\n" + "    BIG\n" * 10 + ".endm\n" + "    TEN\n" * 1000
    start = time.perf_counter()
    assert "expand this program to more than 200000 statements" in errors_of(text)
    assert time.perf_counter() - start < 15
    monkeypatch.setenv("KTASM_MAX_STATEMENTS", "1000")
    assert "KTASM_MAX_STATEMENTS" in errors_of(f".macro BIG\n{body}.endm\n" + "    BIG\n" * 10)


def test_non_utf8_is_reported_at_its_line_and_column(tmp_path):
    path = tmp_path / "bad.kta"
    path.write_bytes(b".core seed=1\n    MOV r0, 2\n    OUT r0 ; caf\xe9\n")
    with pytest.raises(KtasmError) as info:
        assemble_file(path)
    assert info.value.render().startswith(f"{path}:3:17: error: not UTF-8 text: byte 0xe9")


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "bom.kta"
    path.write_bytes(b"\xef\xbb\xbf    MOV r0, 2\n    OUT r0\n")
    assert assemble_file(path).code.shape[0] == 2


def test_a_form_feed_does_not_shift_the_quoted_line():
    rendered = errors_of("    MOV r0, 1\n\f    NOP\n    MOV r1, zz\n")
    assert rendered.startswith("t.kta:3:") and "    MOV r1, zz" in rendered.splitlines()[1]


def test_twenty_thousand_errors_are_reported_in_linear_time():
    """4x the errors take about 4x the time (quadratic rendering took 16x: 20 s for 20,000);
    a ratio, so a loaded machine slows both sides alike."""

    def seconds(n: int) -> float:
        start = time.perf_counter()
        rendered = errors_of("    MOV r0, zz\n" * n)
        assert rendered.endswith(f"{n} errors")
        return time.perf_counter() - start

    small = min(seconds(5_000) for _ in range(2))
    assert seconds(20_000) < 8 * small + 0.5


def _ktb_with_meta(meta_bytes: bytes, arrays: bytes) -> bytes:
    payload = struct.pack("<I", len(meta_bytes)) + meta_bytes + arrays
    major, minor = 1, 0
    good = assemble_text("    NOP\n").to_bytes()
    _, major, minor, _, _, _ = _HEADER.unpack_from(good)
    return _HEADER.pack(good[:4], major, minor, 0, len(payload), hashlib.sha256(payload).digest()) + payload


def _meta_and_arrays():
    blob = assemble_text(".aat z = (0)\n    FF r0, L0, z\n").to_bytes()
    payload = blob[_HEADER.size :]
    (n,) = struct.unpack_from("<I", payload)
    return json.loads(payload[4 : 4 + n]), payload[4 + n :]


@pytest.mark.parametrize(
    "damage",
    [
        lambda m: m.update(n_counters=int("9" * 4000)),
        lambda m: m.update(labels={"x": [[[[1]]]]}),
        lambda m: m.update(aat_names=[{"a": 1}]),
        lambda m: m.update(files=[3]),
        lambda m: m.update(consts={"k": "text"}),
        lambda m: m.update(core=[1, 2]),
        lambda m: m.update(shapes=[[10**30, 5], [0], [1, 1], [1, 3]]),
        lambda m: m.update(devices=[{"kind": "bank", "name": "h", "values": {"n": "x"}}]),
    ],
)
def test_crafted_bytecode_metadata_with_a_good_checksum_is_a_bytecode_error(damage):
    meta, arrays = _meta_and_arrays()
    damage(meta)
    with pytest.raises(BytecodeError):
        Program.from_bytes(_ktb_with_meta(json.dumps(meta).encode(), arrays))


def test_deeply_nested_bytecode_metadata_is_a_bytecode_error():
    _, arrays = _meta_and_arrays()
    with pytest.raises(BytecodeError, match="nested too deeply|malformed"):
        Program.from_bytes(_ktb_with_meta(b"[" * 100_000 + b"]" * 100_000, arrays))


def test_an_integer_seed_keeps_every_digit():
    assert assemble_text(f".core seed={2**53 + 1}\n").core["seed"] == 2**53 + 1
