"""Fuzz the assembler, the loader and the VM: every input must give a result or a clear
error with a position, never another exception.

    python -m ktasm.fuzz --minutes 10 [--seed N]

Inputs are mutations of the shipped programs (golden tests, the corpus in tests/data/corpus,
tutorial, stdlib): character
flips, inserted tokens, deleted, duplicated and swapped lines. A program that assembles
is also written to bytecode, damaged, loaded, and run with a step budget. What ran is
checkpointed, and the checkpoint damaged (hostile values in its arrays, flipped or cut
bytes) and resumed: it must be refused or run. Some inputs also become a REPL session
that is saved, damaged and restored, data files of damaged bytes, and a ``ktasm run`` in
process with a bad output path. The test suite runs a short fixed-seed round; the long
run's counts are recorded in docs/language.md.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ktasm.assembler import DIRECTIVES, assemble_text
from ktasm.consteval import FUNCTIONS
from ktasm.errors import KtasmError
from vm import isa
from vm.bytecode import BytecodeError, Program
from vm.config import pair_count
from vm.devices.layout import slot_lengths

# every mnemonic, directive and constant function from their tables, then the rest of the syntax
TOKENS = (
    list(isa.MNEMONICS)
    + [f".{d}" for d in DIRECTIVES]
    + [f"{f}(" for f in FUNCTIONS]
    + [
        "defined(",
        '"name"',
        '"h"',
        '""',
        "0x1F",
        "0b101",
        "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
        "==",
        "!=",
        "<",
        ">=",
        "&&",
        "||",
        "!",
        "%",
        "r0",
        "r15",
        "r16",
        "L0",
        "L[r1]",
        "L9",
        "_",
        "(",
        ")",
        ",",
        "..",
        "=",
        ":",
        ";",
        "#",
        "-",
        "*",
        "/",
        "drift=0.05",
        "drift_spread=0.5",
        "d2d=0.3",
        "c2c=0.2",
        "stuck=0.5",
        "endurance=3",
        "adc_bits=2",
        "AGE 1e9",
        "1e308",
        "-1",
        "0",
        "0.5",
        "lanes=3",
        "spaces=2",
        "model=mss",
        '"x.kta"',
        "\t",
        "\n",
        "é",
        "\x00",
    ]
)


# Programs with bigger cores are assembled and loaded but not run: a legal core of a few
# GiB takes seconds to initialise, which would starve the rest of the round.
MAX_RUN_PAIRS = 1 << 16


def seed_programs() -> list[str]:
    root = Path(__file__).resolve().parent.parent
    from ktasm.expand import stdlib_dir

    paths = (
        list((root / "tests" / "data" / "golden").glob("*.kta"))
        + list((root / "tests" / "data" / "corpus").glob("*.kta"))
        + list((root / "docs").rglob("*.kta"))
        + list(stdlib_dir().glob("*.kta"))
    )
    texts = [p.read_text() for p in sorted(paths)]
    return texts or [".aat x = 0\nFF r0, L0, x\nOUT r0\n"]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.split("\n")
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(6)
        i = rng.randrange(len(lines)) if lines else 0
        if kind == 0 and lines:
            del lines[i]
        elif kind == 1 and lines:
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
        elif kind == 2 and len(lines) > 1:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == 3 and lines:
            pos = rng.randint(0, len(lines[i]))
            lines[i] = lines[i][:pos] + rng.choice(TOKENS) + lines[i][pos:]
        elif kind == 4 and lines and lines[i]:
            pos = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:pos] + chr(rng.randrange(32, 127)) + lines[i][pos + 1 :]
        else:
            lines.insert(i, " ".join(rng.choice(TOKENS) for _ in range(rng.randint(1, 6))))
    return "\n".join(lines)


@dataclass
class FuzzReport:
    inputs: int = 0
    assembled: int = 0
    rejected: int = 0
    ran: int = 0
    bytecode_rejected: int = 0
    checkpoints_refused: int = 0
    checkpoints_resumed: int = 0
    sessions: int = 0
    data_files: int = 0
    cli_paths: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (input, what went wrong)
    slowest: tuple[float, str] = (0.0, "")  # (seconds, input)


def check_one(text: str, rng: random.Random, report: FuzzReport, run_budget: int = 2000) -> None:
    """Assemble, round-trip, damage and run one input; record anything unexpected."""
    report.inputs += 1
    try:
        program = assemble_text(text, "fuzz.kta")
    except KtasmError as exc:
        report.rejected += 1
        for d in exc.diagnostics:
            if d.span.line < 1 or d.span.col < 1 or not d.message:
                report.failures.append((text, f"diagnostic without a position: {d}"))
        return
    except Exception as exc:  # noqa: BLE001 - the point of fuzzing
        report.failures.append((text, f"assembler raised {type(exc).__name__}: {exc}"))
        return
    report.assembled += 1
    blob = bytearray(program.to_bytes())
    try:
        Program.from_bytes(bytes(blob))
    except Exception as exc:  # noqa: BLE001
        report.failures.append((text, f"own bytecode refused: {type(exc).__name__}: {exc}"))
        return
    pos = rng.randrange(len(blob))
    blob[pos] ^= rng.randrange(1, 256)
    try:
        Program.from_bytes(bytes(blob[: rng.randint(0, len(blob))]) if rng.random() < 0.3 else bytes(blob))
    except BytecodeError:
        report.bytecode_rejected += 1
    except Exception as exc:  # noqa: BLE001
        report.failures.append((text, f"loader raised {type(exc).__name__}: {exc}"))
    elements = sum(sum(slot_lengths(d["kind"], d["values"])) for d in program.devices)
    if program.data_names or pair_count(program.core) + elements > MAX_RUN_PAIRS:
        return
    from vm.machine import Machine

    try:
        machine = Machine(program)
        machine.run(max_steps=run_budget, timeout=5.0)
        report.ran += 1
    except Exception as exc:  # noqa: BLE001
        report.failures.append((text, f"VM raised {type(exc).__name__}: {exc}"))
        return
    with tempfile.TemporaryDirectory() as scratch:
        check_checkpoint(text, program, machine, rng, report, scratch, run_budget)
        if rng.random() < 0.1:
            check_session(text, rng, report, scratch)
        if rng.random() < 0.1:
            check_data_file(text, rng, report, scratch)
        if rng.random() < 0.03:
            check_cli_path(text, rng, report, scratch)


HOSTILE_INTS = (-1, 1 << 31, 1 << 62, -(1 << 62), 255, 7)
HOSTILE_FLOATS = (float("nan"), float("inf"), -float("inf"), 1e300, -1.0, 2.0**53)


def _damage_bytes(blob: bytes, rng: random.Random) -> bytes:
    data = bytearray(blob)
    if rng.random() < 0.3:
        return bytes(data[: rng.randint(0, len(data))])
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
    return bytes(data)


def check_checkpoint(text, program, machine, rng, report, scratch, run_budget) -> None:
    """A damaged checkpoint of this run is refused (CheckpointError) or resumes cleanly."""
    import numpy as np

    from vm.machine import CHECKPOINT_FORMAT, CheckpointError, Machine

    path = os.path.join(scratch, "c.npz")
    state = machine.get_state()
    if rng.random() < 0.6:
        for name in rng.sample(sorted(state), rng.randint(1, 2)):
            flat = state[name].reshape(-1)
            if flat.size == 0:
                continue
            i = rng.randrange(flat.size)
            if flat.dtype.kind == "f":
                flat[i] = rng.choice(HOSTILE_FLOATS)
            elif flat.dtype.kind == "u":
                flat[:] = 0
            else:  # wrapped to the array's width (output_tags is int32)
                flat[i] = np.asarray(rng.choice(HOSTILE_INTS)).astype(flat.dtype)
        arrays = {
            "format": np.array(CHECKPOINT_FORMAT),
            "program": np.array(program.fingerprint()),
            "model": np.array(machine.core.model),
            "seed": np.array(str(machine.seed)),
            **state,
        }
        np.savez(path, **arrays)
    else:
        machine.save_checkpoint(path)
        with open(path, "rb") as fh:
            blob = _damage_bytes(fh.read(), rng)
        with open(path, "wb") as fh:
            fh.write(blob)
    resumed = Machine(program)
    try:
        resumed.load_checkpoint(path)
    except CheckpointError:
        report.checkpoints_refused += 1
        return
    except Exception as exc:  # noqa: BLE001
        report.failures.append((text, f"checkpoint load raised {type(exc).__name__}: {exc}"))
        return
    try:
        resumed.run(max_steps=run_budget, timeout=5.0)
        report.checkpoints_resumed += 1
    except Exception as exc:  # noqa: BLE001
        report.failures.append((text, f"resumed checkpoint raised {type(exc).__name__}: {exc}"))


def check_session(text, rng, report, scratch) -> None:
    """The program as a REPL session: saved, damaged, restored: an error line, never a crash."""
    from ktasm.repl.engine import Session

    path = os.path.join(scratch, "p.kta")
    with open(path, "w") as fh:
        fh.write(text)
    quiet: list[str] = []
    session = Session(out=quiet.append, err=quiet.append, input_name="<fuzz>", max_steps=200)
    saved = os.path.join(scratch, "s.npz")
    try:
        for line in (f".load {path}", ".step 3", f".save {saved}"):
            session.execute(line)
        if os.path.exists(saved):
            with open(saved, "rb") as fh:
                blob = _damage_bytes(fh.read(), rng)
            with open(saved, "wb") as fh:
                fh.write(blob)
            session.execute(f".restore {saved}")
            session.execute(".step 3")
        report.sessions += 1
    except Exception as exc:  # noqa: BLE001
        report.failures.append((text, f"REPL session raised {type(exc).__name__}: {exc}"))


def check_data_file(text, rng, report, scratch) -> None:
    """Damaged .npy and .csv bytes read as a table or refused with DataError."""
    import numpy as np

    from vm.data import DataError, load_table

    for suffix in (".npy", ".csv"):
        path = os.path.join(scratch, "t" + suffix)
        if suffix == ".npy":
            buffer = io.BytesIO()
            np.save(buffer, np.arange(rng.randint(0, 40), dtype=np.float64).reshape(-1, 1))
            blob = buffer.getvalue()
        else:
            blob = "\n".join(",".join(str(rng.random()) for _ in range(3)) for _ in range(5)).encode()
        with open(path, "wb") as fh:
            fh.write(_damage_bytes(blob, rng))
        try:
            load_table(path)
        except DataError:
            pass
        except Exception as exc:  # noqa: BLE001
            report.failures.append((text, f"load_table({suffix}) raised {type(exc).__name__}: {exc}"))
    report.data_files += 1


def check_cli_path(text, rng, report, scratch) -> None:
    """ktasm run with an output path that cannot be written: a named error, no internal one."""
    from ktasm.cli import main

    program = os.path.join(scratch, "p.kta")
    with open(program, "w") as fh:
        fh.write(text)
    bad = rng.choice([scratch, os.path.join(scratch, "no", "dir", "c.npz"), os.path.join(program, "x")])
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            main(["run", program, "--max-steps", "200", "--save-state", bad])
        except SystemExit:
            pass
        except Exception as exc:  # noqa: BLE001
            report.failures.append((text, f"ktasm run raised {type(exc).__name__}: {exc}"))
            return
    if "internal error" in err.getvalue() or "Traceback" in err.getvalue():
        report.failures.append((text, f"ktasm run --save-state {bad}: {err.getvalue()[-300:]}"))
    report.cli_paths += 1


def fuzz(seconds: float | None = None, iterations: int | None = None, seed: int = 0) -> FuzzReport:
    rng = random.Random(seed)
    seeds = seed_programs()
    report = FuzzReport()
    deadline = None if seconds is None else time.monotonic() + seconds
    while (iterations is None or report.inputs < iterations) and (
        deadline is None or time.monotonic() < deadline
    ):
        text = mutate(rng.choice(seeds), rng)
        start = time.monotonic()
        check_one(text, rng, report)
        elapsed = time.monotonic() - start
        if elapsed > report.slowest[0]:
            report.slowest = (elapsed, text)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description="Fuzz the ktasm assembler, loader and VM.")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    report = fuzz(seconds=60 * args.minutes, seed=args.seed)
    print(
        f"inputs {report.inputs}: assembled {report.assembled}, rejected with diagnostics "
        f"{report.rejected}, ran {report.ran}, damaged bytecode refused {report.bytecode_rejected}; "
        f"damaged checkpoints refused {report.checkpoints_refused}, resumed {report.checkpoints_resumed}; "
        f"sessions {report.sessions}, data files {report.data_files}, CLI output paths {report.cli_paths}; "
        f"failures {len(report.failures)}; slowest input {report.slowest[0]:.2f} s"
    )
    for text, problem in report.failures[:10]:
        print(f"--- {problem}\n{text}")
    raise SystemExit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
