"""Assembler throughput: source lines per second for a long program of typical lines
(kT-RAM reads and feedback with AAT names, register arithmetic, constant expressions,
labels and jumps, loops, macro calls, comments), the whole of ``assemble_text``; the same
program with every line made distinct by a numbered comment (the parser reads a repeated
line once: this is its rate when nothing repeats); the same with every 5th line a mistake
(each reported, most with a 'did you mean' note); and Lark's LALR parse of the same
lines alone, the floor of parsing every line with Lark.

    python benchmarks/bench_assembler.py [--lines N] [--rounds N] [--json]
    python benchmarks/before_after.py BASE_TREE benchmarks/bench_assembler.py

Run it through ``before_after.py`` to see the ratio against an older tree in one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import time


def program(n_lines: int, seed: int = 0) -> str:
    """A valid program of about n_lines lines (its last group of lines whole)."""
    rng = random.Random(seed)
    out = [
        ".core rows=1 cols=16 spaces=4 lanes=16 model=float seed=1",
        ".const N = 10",
        ".const GAIN = 0.5 * N",
        ".aat a = (0, 1, 2, 3)",
        ".aat b = (4, _, 6, 7)",
        ".macro TEACH lane, x",
        "    FF r0, lane, x",
        "    RH lane, x",
        ".endm",
    ]
    k = 0
    while len(out) < n_lines:
        k += 1
        lane, reg = rng.randrange(16), rng.randrange(16)
        out += rng.choice(
            [
                [f"        FF.RH r{reg}, L{lane}, a   ; read, then teach"],
                [f"        RL    L{lane}, b"],
                [f"        ADD   r{reg}, r{rng.randrange(16)}, {rng.randrange(100)}"],
                ["        MUL   r1, r2, GAIN * 2"],
                [f"top{k}:  SUB   r3, r3, 1", f"        JNE   r3, 0, top{k}"],
                [
                    f"        MOV   r4, {rng.randrange(9)}",
                    "        LOOP  r4",
                    f"          FF r5, L[{lane}], a, 0.5",
                    "        ENDLOOP",
                ],
                [f"        TEACH L{lane}, b"],
                ["        ; a comment line"],
                [f"        FFLV  L{lane}, a"],
                [f"        OUT   r{reg}"],
            ]
        )
    return "\n".join(out) + "\n"


def distinct(text: str) -> str:
    """text with a numbered comment on each line that has none: no two lines the same."""
    lines = text.split("\n")
    return "\n".join(
        f"{line} ; {k}" if line.strip() and ";" not in line else line for k, line in enumerate(lines)
    )


MISTAKES = (  # what the error-heavy program gets wrong; {} a line number: a new name each time
    "        FF r1, L3, nosuch",
    "        ADDX r1, r2, 3",
    "        JMP nolabel",
    "        RH L99, a",
    "        MUL r1, r2, GAINN",
    "        JMP top{}x",
    "        FF r1, L3, q{}",
)


def with_errors(text: str, every: int = 5, seed: int = 1) -> str:
    """text with every ``every``-th line replaced by a mistake (each reported, most with
    a 'did you mean' note)."""
    rng = random.Random(seed)
    lines = text.split("\n")
    for k in range(10, len(lines), every):
        lines[k] = rng.choice(MISTAKES).format(k) + f" ; {k}"
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print {measure: value} (before_after.py)")
    args = parser.parse_args()

    from ktasm import parser as kparser
    from ktasm.assembler import assemble_text
    from ktasm.errors import KtasmError

    text = program(args.lines)
    unique = distinct(text)
    n_lines = text.count("\n")
    lines = [line for line in text.split("\n") if line.strip()]
    wrong = with_errors(text)
    assemble_text(program(100), "warm.kta")  # Lark's tables built
    lark = kparser._parser()
    whole, whole_cpu, alone, alone_cpu, once, once_cpu, bad_cpu = [], [], [], [], [], [], []
    for _ in range(args.rounds):
        start, cpu = time.perf_counter(), time.process_time()
        assemble_text(text, "bench.kta")
        whole.append(n_lines / (time.perf_counter() - start))
        whole_cpu.append(n_lines / (time.process_time() - cpu))
        start, cpu = time.perf_counter(), time.process_time()
        assemble_text(unique, "bench.kta")
        once.append(n_lines / (time.perf_counter() - start))
        once_cpu.append(n_lines / (time.process_time() - cpu))
        cpu = time.process_time()
        with contextlib.suppress(KtasmError):
            assemble_text(wrong, "bench.kta")
        bad_cpu.append(n_lines / (time.process_time() - cpu))
        start, cpu = time.perf_counter(), time.process_time()
        for line in lines[:5000]:
            lark.parse(line)
        alone.append(min(len(lines), 5000) / (time.perf_counter() - start))
        alone_cpu.append(min(len(lines), 5000) / (time.process_time() - cpu))
    # CPU time too: on a busy machine wall time also counts the waits for a core
    result = {
        f"assemble_text, {args.lines}-line program: lines/s": statistics.median(whole),
        f"assemble_text, {args.lines}-line program: lines/CPU-s": statistics.median(whole_cpu),
        "same, every line distinct: lines/s": statistics.median(once),
        "same, every line distinct: lines/CPU-s": statistics.median(once_cpu),
        "same, every 5th line an error: lines/CPU-s": statistics.median(bad_cpu),
        "Lark parse of each line alone: lines/s": statistics.median(alone),
        "Lark parse of each line alone: lines/CPU-s": statistics.median(alone_cpu),
    }
    if args.json:
        print(json.dumps(result))
        return
    for name, value in result.items():
        print(f"{name:55} {value:10.0f}")


if __name__ == "__main__":
    main()
