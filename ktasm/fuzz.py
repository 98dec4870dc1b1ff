"""Fuzz the assembler, the loader and the VM: every input must give a result or a clear
error with a position, never another exception.

    python -m ktasm.fuzz --minutes 10 [--seed N]

Inputs are mutations of the shipped programs (golden tests, tutorial, stdlib): character
flips, inserted tokens, deleted, duplicated and swapped lines. A program that assembles
is also written to bytecode, damaged, loaded, and run with a step budget. The test suite
runs a short fixed-seed round; the long run's counts are recorded in docs/language.md.
"""

from __future__ import annotations

import argparse
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from ktasm.assembler import assemble_text
from ktasm.errors import KtasmError
from vm import isa
from vm.bytecode import BytecodeError, Program
from vm.config import pair_count
from vm.devices.layout import slot_lengths

TOKENS = list(isa.MNEMONICS) + [
    ".core",
    ".aat",
    ".const",
    ".data",
    ".include",
    ".macro",
    ".endm",
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


# Programs with bigger cores are assembled and loaded but not run: a legal core of a few
# GiB takes seconds to initialise, which would starve the rest of the round.
MAX_RUN_PAIRS = 1 << 16


def seed_programs() -> list[str]:
    root = Path(__file__).resolve().parent.parent
    from ktasm.expand import stdlib_dir

    paths = (
        list((root / "tests" / "golden").glob("*.kta"))
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
        Machine(program).run(max_steps=run_budget, timeout=5.0)
        report.ran += 1
    except Exception as exc:  # noqa: BLE001
        report.failures.append((text, f"VM raised {type(exc).__name__}: {exc}"))


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
        f"{report.rejected}, ran {report.ran}, damaged bytecode refused {report.bytecode_rejected}, "
        f"failures {len(report.failures)}; slowest input {report.slowest[0]:.2f} s"
    )
    for text, problem in report.failures[:10]:
        print(f"--- {problem}\n{text}")
    raise SystemExit(1 if report.failures else 0)


if __name__ == "__main__":
    main()
