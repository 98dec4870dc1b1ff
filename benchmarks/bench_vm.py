"""Interpreter throughput: .kta loops in the VM vs the same loops written in plain Python.

  scalar   LOOP n { ADD, MUL, SUB, JLT } : dispatch cost of simple instructions
  ktram    LOOP n { FF.RH r0, L0, x ; ADD } on 16 spaces: the VM around the physics kernel
Each runs through Machine.run (the compiled loop; instructions/s from its stats), through
Machine.step (the plain-Python path of the same loop), and as a hand-written Python loop
(floats for the scalar loop, one Core.evaluate call per kT-RAM instruction for ktram).

    python benchmarks/bench_vm.py [--quick]
"""

from __future__ import annotations

import argparse
import time

from ktasm.assembler import assemble_text
from vm import Core
from vm.machine import Machine

SCALAR = """
    LOOP {n}
        ADD r0, r0, 1.5
        MUL r1, r0, 0.5
        SUB r2, r1, r0
        JLT r2, 0, next
next:
    ENDLOOP
    OUT r2
"""

KTRAM = """
.core rows=4 cols=4 spaces=16 lanes=2 model=float seed=1 read_noise=0.02
.aat x = ({aat})
    LOOP {n}
        FF.RH r0, L0, x
        ADD r1, r1, r0
    ENDLOOP
    OUT r1
"""
AAT = ", ".join(str((3 * s) % 16) for s in range(16))


def plain_python_scalar(n: int) -> float:
    r0 = r1 = r2 = 0.0
    for _ in range(n):
        r0 += 1.5
        r1 = r0 * 0.5
        r2 = r1 - r0
        if r2 < 0:
            pass
    return r2


def plain_python_ktram(n: int) -> float:
    core = Core(4, 4, 16, 2, "float", "medium", 1, 0.02)
    aat = tuple((3 * s) % 16 for s in range(16))
    total = 0.0
    for _ in range(n):
        y = core.evaluate(aat, "FF", 0)
        core.evaluate(aat, "RH", 0)
        total += y
    return total


def rate_run(src: str) -> tuple[float, float]:
    m = Machine(assemble_text(src))
    result = m.run()
    return result.stats["instructions"] / result.stats["run_seconds"], result.outputs[-1]


def rate_step(src: str, steps: int) -> float:
    m = Machine(assemble_text(src))
    start = time.perf_counter()
    m.step(steps)
    return steps / (time.perf_counter() - start)


def rate_python(fn, n: int, instructions_per_pass: int) -> float:
    start = time.perf_counter()
    fn(n)
    return n * instructions_per_pass / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller loops (a smoke run)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    rows = []
    # per pass: scalar = ADD MUL SUB JLT ENDLOOP (5); ktram = FF.RH ADD ENDLOOP (3)
    n = 20_000_000 // scale
    vm_rate, _ = rate_run(SCALAR.format(n=n))
    rows.append(
        (
            "scalar",
            vm_rate,
            rate_step(SCALAR.format(n=n), 20_000 // scale),
            rate_python(plain_python_scalar, n // 10, 5),
        )
    )
    n = 2_000_000 // scale
    vm_rate, _ = rate_run(KTRAM.format(n=n, aat=AAT))
    rows.append(
        (
            "ktram (16 spaces)",
            vm_rate,
            rate_step(KTRAM.format(n=n, aat=AAT), 5_000 // scale),
            rate_python(plain_python_ktram, 50_000 // scale, 3),
        )
    )
    print(
        f"{'loop':<18} {'VM run instr/s':>15} {'ns/instr':>9} {'VM step instr/s':>16} "
        f"{'plain Python instr/s':>21} {'run / Python':>13}"
    )
    for name, fast, step, py in rows:
        print(f"{name:<18} {fast:>15.3g} {1e9 / fast:>9.1f} {step:>16.3g} {py:>21.3g} {fast / py:>12.0f}x")


if __name__ == "__main__":
    main()
