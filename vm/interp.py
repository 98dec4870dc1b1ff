"""The interpreter loop: runs bytecode, calling the physics kernels for kT-RAM instructions.

The loop is written once (``make_loop``) and executed two ways: compiled by Numba (the
whole program in one native loop) and as plain Python (``run.py_func``, the step path of the
REPL and debugger). Tests run random programs both ways and compare every array. Each
program runs the variant with only the device families its code uses compiled in
(``loop_for(families_of(code, params))``: a kT-RAM program never waits for the MTJ, p-bit
or Langevin kernels to compile); ``run`` is the variant with every family.

The state is three bundles (``vm.state``): the program in execution (code, value file,
AATs, data, outputs and their names, status, breakpoints, the call stack), the kT-RAM
core, and the declared devices with their vector arena. The math rows that Python's
``math`` would raise on (EXP, LOG, POW, MOD, SIGMOID) go through ``elementary``, compiled
for both paths. A breakpoint stops the loop *before* its instruction, except as the
first instruction of a call (so a stop resumes). Opcodes, operand fields and fault codes
are the generated constants of ``vm.codes``.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from vm import codes
from vm.devices import execute as dev
from vm.ktram.isa import FEEDBACK, OPK_KIND
from vm.ktram.kernels import age as kt_age
from vm.ktram.kernels import execute_ideal_at as kt_ideal_at
from vm.ktram.kernels import execute_nonideal as kt_nonideal
from vm.ktram.kernels import pair_sums, pair_sums_ideal, set_pair, set_pair_ideal
from vm.ktram.models import P_GMAX, P_GMIN, P_NONIDEAL
from vm.rng import uniform
from vm.state import (
    BREAK,
    BUDGET,
    DATA_COLS,
    DATA_OFFSET,
    DATA_ROWS,
    ENDED,
    FAULTED,
    HALTED,
    N_STATUS,
    OUT_FULL,
    ST_DEPTH,
    ST_FAULT,
    ST_OUTPUTS,
    ST_PARTIAL,
    ST_PC,
    ST_REASON,
    ST_STEPS,
    ST_STOP,
)

__all__ = [
    "BREAK",
    "BUDGET",
    "ENDED",
    "FAULTED",
    "HALTED",
    "N_STATUS",
    "OUT_FULL",
    "ST_DEPTH",
    "ST_FAULT",
    "ST_OUTPUTS",
    "ST_PARTIAL",
    "ST_PC",
    "ST_REASON",
    "ST_STEPS",
    "ST_STOP",
    "run",
]

# Every read row has FF's operand layout and every feedback row FH's; COIN is an FFLV read
# (rd takes its sign) with the same layout, so it goes through the read branch.
READ_RD, READ_LANE, READ_AAT, READ_DIAL = codes.FF_RD, codes.FF_LANE, codes.FF_AAT, codes.FF_DIAL
FEEDBACK_LANE, FEEDBACK_AAT = codes.FH_LANE, codes.FH_AAT
_READ_LAYOUT = (READ_RD, READ_LANE, READ_AAT, READ_DIAL)
if (codes.COIN_RD, codes.COIN_LANE, codes.COIN_AAT, codes.COIN_DIAL) != _READ_LAYOUT:
    raise ImportError("COIN's operands must have FF's layout (vm/isa.py)")


@njit(cache=True)
def read_fault(lane_v, dial, n_lanes):
    """F_LANE or F_DIAL if a kT-RAM read's lane or dial is out of range, else F_NONE."""
    if not (lane_v >= 0.0 and lane_v < n_lanes):
        return codes.F_LANE
    if not (dial >= 0.0 and dial <= 1.0):
        return codes.F_DIAL
    return codes.F_NONE


@njit(cache=True)
def elementary(op, u, w):
    """MOD, EXP, LOG, POW or SIGMOID of operands the loop has checked. Compiled for both
    paths (the step path calls it compiled too): the same libm bits, and inf where Python's
    math raises OverflowError."""
    if op == codes.OP_MOD:  # as Python's %: fmod is exact, then the sign of w
        r = np.fmod(u, w)
        if r == 0.0:
            return math.copysign(0.0, w)
        return r + w if (r < 0.0) != (w < 0.0) else r
    if op == codes.OP_EXP:
        return math.exp(u)
    if op == codes.OP_LOG:
        return math.log(u) if u != 0.0 else -math.inf
    if op == codes.OP_POW:
        return math.pow(u, w)
    if u >= 0.0:  # SIGMOID, written so that neither branch overflows
        return 1.0 / (1.0 + math.exp(-u))
    e = math.exp(u)
    return e / (1.0 + e)


class Families(NamedTuple):
    """What a program's loop compiles beyond the scalar rows and the ideal kT-RAM kernel:
    the non-ideal kT-RAM kernel (spread, stuck devices, wear, drift), AGE, and each device
    family of vm.isa.DEVICE_FAMILIES. A family left out costs nothing to compile; its
    rows must not occur in the code (``families_of`` decides from the code itself)."""

    nonideal: bool = True
    ageing: bool = True
    vectors: bool = True
    pbits: bool = True
    mtjs: bool = True
    pairs: bool = True
    langevin: bool = True


def families_of(code: np.ndarray, params: np.ndarray) -> Families:
    """The families a loop needs to run code on a core with these parameters."""
    used = np.zeros(codes.N_OPCODES + 1, dtype=bool)
    used[code[:, 0]] = True
    used[codes.OP_COIN] = False  # a p-bit row the loop runs on the kT-RAM kernel

    def any_of(first: int, last: int) -> bool:
        return bool(used[first : last + 1].any())

    return Families(
        nonideal=bool(params[P_NONIDEAL] != 0.0),
        ageing=bool(used[codes.OP_AGE]),
        vectors=any_of(codes.VECTOR_FIRST, codes.VECTOR_LAST),
        pbits=any_of(codes.PBIT_FIRST, codes.PBIT_LAST),
        mtjs=any_of(codes.MTJ_FIRST, codes.MTJ_LAST),
        pairs=any_of(codes.PAIRS_FIRST, codes.PAIRS_LAST),
        langevin=any_of(codes.LANGEVIN_FIRST, codes.LANGEVIN_LAST),
    )


def make_loop(families: Families):
    """The interpreter loop with only these families compiled in. The flags are constants
    of the closure: Numba prunes the branches they turn off before typing, so their callees
    are never compiled, and caches each variant under its own key (the flags' values)."""
    nonideal, ageing, vectors, pbits, mtjs, pairs, langevin = families

    @njit(cache=True, nogil=True)
    def run(prog, core, devs, max_steps):
        """Run from prog.status[ST_PC] for at most max_steps instructions, or until
        status[ST_STOP] is set (from another thread: the loop runs without the GIL); returns
        the stop reason (BUDGET for both)."""
        # Unpacked once: an array read out of a bundle inside the loop costs a reference count
        # each time, and a bundle handed to a callee far more (vm.state).
        code, vals, aats, data, data_meta, outputs, output_tags, status, fault_value, breaks, calls = prog
        model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni = core
        vec, vec_meta, dev_meta, dev_params, dev_meters = devs
        pc = status[ST_PC]
        n_out = status[ST_OUTPUTS]
        n_code = code.shape[0]
        n_lanes = g.shape[1]
        n_spaces = aats.shape[1]
        n_addresses = g.shape[3]
        ideal = params[P_NONIDEAL] == 0.0  # once: the ideal kT-RAM path is the kernel as it always was
        steps = 0
        reason = BUDGET
        fault = codes.F_NONE
        bad = 0.0
        while steps < max_steps:
            if status[ST_STOP] != 0:  # one load per instruction: a deadline or a signal
                break
            if pc >= n_code:
                reason = ENDED
                break
            if breaks[pc] != 0 and steps > 0:
                reason = BREAK
                break
            op = code[pc, 0]
            a = code[pc, 1]
            b = code[pc, 2]
            c = code[pc, 3]
            d = code[pc, 4]
            nxt = pc + 1
            if op <= codes.FUSED_LAST or op == codes.OP_COIN:  # kT-RAM: a read, a feedback, fused
                if op == codes.OP_COIN:
                    first = codes.OP_FFLV
                    second = -1
                elif op < codes.N_KT:
                    first = op
                    second = -1
                else:
                    first = (op - codes.FUSED_FIRST) // codes.N_KT_FEEDBACKS
                    second = codes.N_KT_READS + (op - codes.FUSED_FIRST) % codes.N_KT_FEEDBACKS
                if ops[first, OPK_KIND] == FEEDBACK:
                    lane_v = vals[code[pc, FEEDBACK_LANE]]
                    aat = code[pc, FEEDBACK_AAT]
                    dial = 0.0
                else:
                    lane_v = vals[code[pc, READ_LANE]]
                    aat = code[pc, READ_AAT]
                    dial = vals[code[pc, READ_DIAL]]
                fault = read_fault(lane_v, dial, n_lanes)
                if fault != codes.F_NONE:
                    bad = lane_v if fault == codes.F_LANE else dial
                    break
                lane = int(lane_v)
                y = 0.0
                if ideal:  # the AAT as a row of the table: no view per instruction
                    y = kt_ideal_at(
                        model, params, ops, g, x, lane_y, meters, rng_state, lane, aats, aat, first, dial
                    )
                    if second >= 0:
                        kt_ideal_at(
                            model, params, ops, g, x, lane_y, meters, rng_state, lane, aats, aat, second, 0.0
                        )
                elif nonideal:
                    y = kt_nonideal(
                        model,
                        params,
                        ops,
                        g,
                        x,
                        lane_y,
                        meters,
                        rng_state,
                        rng_spare,
                        ni,
                        lane,
                        aats[aat],
                        first,
                        dial,
                    )
                    if second >= 0:
                        kt_nonideal(
                            model,
                            params,
                            ops,
                            g,
                            x,
                            lane_y,
                            meters,
                            rng_state,
                            rng_spare,
                            ni,
                            lane,
                            aats[aat],
                            second,
                            0.0,
                        )
                if op == codes.OP_COIN:
                    vals[code[pc, READ_RD]] = 1.0 if y > 0.0 else -1.0
                elif ops[first, OPK_KIND] != FEEDBACK and code[pc, READ_RD] >= 0:
                    vals[code[pc, READ_RD]] = y
            elif op >= codes.DEVICE_FIRST:
                if op == codes.OP_VOUT:
                    off = vec_meta[a, 0]
                    n = vec_meta[a, 1]
                    if n_out + n > outputs.shape[0]:
                        reason = OUT_FULL
                        break
                    for k in range(n):  # not a slice copy: that compiles Numba's shape-error
                        outputs[n_out + k] = vec[off + k]  # messages (string formatting, seconds)
                        output_tags[n_out + k] = b
                    n_out += n
                else:  # one device family's function (vm.devices.execute), when compiled in
                    fault = codes.F_NONE
                    if op <= codes.VECTOR_LAST:
                        if vectors:
                            fault = dev.vector_op(
                                op, a, b, c, vals, vec, vec_meta, data, data_meta, fault_value
                            )
                    elif op <= codes.PBIT_LAST:
                        if pbits:
                            fault = dev.pbit_op(
                                op, a, b, c, d, vals, vec, vec_meta, dev_meters, rng_state, fault_value
                            )
                    elif op <= codes.MTJ_LAST:
                        if mtjs:
                            fault = dev.mtj_op(
                                op,
                                a,
                                b,
                                c,
                                vals,
                                vec,
                                vec_meta,
                                dev_meta,
                                dev_params,
                                dev_meters,
                                rng_state,
                                fault_value,
                            )
                    elif op <= codes.PAIRS_LAST:
                        if pairs:
                            fault = dev.pairs_op(
                                op,
                                a,
                                b,
                                c,
                                d,
                                vals,
                                vec,
                                vec_meta,
                                dev_meta,
                                dev_params,
                                dev_meters,
                                data,
                                data_meta,
                                rng_state,
                                fault_value,
                            )
                    elif langevin:
                        fault = dev.langevin_op(
                            op,
                            a,
                            b,
                            c,
                            vals,
                            vec,
                            vec_meta,
                            dev_meta,
                            dev_params,
                            dev_meters,
                            data,
                            data_meta,
                            rng_state,
                            fault_value,
                            status,
                        )
                    if fault != codes.F_NONE:
                        bad = fault_value[0]
                        break
                    if status[ST_PARTIAL] != 0:  # stopped inside a long instruction: resume it here
                        break
            elif op == codes.OP_MOV:
                vals[a] = vals[b]
            elif op == codes.OP_ADD:
                vals[a] = vals[b] + vals[c]
            elif op == codes.OP_SUB:
                vals[a] = vals[b] - vals[c]
            elif op == codes.OP_MUL:
                vals[a] = vals[b] * vals[c]
            elif op == codes.OP_DIV:
                if vals[c] == 0.0:
                    fault = codes.F_DIV_ZERO
                    bad = vals[b]
                    break
                vals[a] = vals[b] / vals[c]
            elif op == codes.OP_MIN:  # written out so NaN propagates the same way in both engines
                u = vals[b]
                w = vals[c]
                vals[a] = u if (u <= w or u != u) else w
            elif op == codes.OP_MAX:
                u = vals[b]
                w = vals[c]
                vals[a] = u if (u >= w or u != u) else w
            elif op == codes.OP_NEG:
                vals[a] = -vals[b]
            elif op == codes.OP_ABS:
                vals[a] = abs(vals[b])
            elif op == codes.OP_FLOOR:
                vals[a] = np.floor(vals[b])  # math.floor returns an int: fails on NaN in Python
            elif op == codes.OP_ARGMAX:
                best = 0
                for k in range(1, c):
                    if vals[b + k] > vals[b + best]:
                        best = k
                vals[a] = best
            elif op == codes.OP_JMP:
                nxt = a
            elif op == codes.OP_JEQ:
                if vals[a] == vals[b]:
                    nxt = c
            elif op == codes.OP_JNE:
                if vals[a] != vals[b]:
                    nxt = c
            elif op == codes.OP_JLT:
                if vals[a] < vals[b]:
                    nxt = c
            elif op == codes.OP_JLE:
                if vals[a] <= vals[b]:
                    nxt = c
            elif op == codes.OP_JGT:
                if vals[a] > vals[b]:
                    nxt = c
            elif op == codes.OP_JGE:
                if vals[a] >= vals[b]:
                    nxt = c
            elif op == codes.OP_LOOP:
                count = vals[a]
                if not math.isfinite(count):
                    fault = codes.F_COUNT
                    bad = count
                    break
                count = math.floor(min(count, 9.0e15))  # beyond 2**53 counting down stalls
                if count <= 0.0:
                    nxt = c
                else:
                    vals[b] = count
            elif op == codes.OP_ENDLOOP:
                vals[a] -= 1.0
                if vals[a] > 0.0:
                    nxt = b
            elif op == codes.OP_HALT:
                steps += 1
                reason = HALTED
                break
            elif op == codes.OP_OUT:
                if n_out >= outputs.shape[0]:
                    reason = OUT_FULL
                    break
                outputs[n_out] = vals[a]
                output_tags[n_out] = b
                n_out += 1
            elif op == codes.OP_LD:
                row = vals[c]
                col = vals[d]
                if not (row >= 0.0 and row < data_meta[b, DATA_ROWS]):
                    fault = codes.F_ROW
                    bad = row
                    break
                if not (col >= 0.0 and col < data_meta[b, DATA_COLS]):
                    fault = codes.F_COL
                    bad = col
                    break
                vals[a] = data[data_meta[b, DATA_OFFSET] + int(row) * data_meta[b, DATA_COLS] + int(col)]
            elif op == codes.OP_LDAAT:
                row = vals[c]
                if not (row >= 0.0 and row < data_meta[b, DATA_ROWS]):
                    fault = codes.F_ROW
                    bad = row
                    break
                base = data_meta[b, DATA_OFFSET] + int(row) * data_meta[b, DATA_COLS]
                for s in range(n_spaces):  # the loader checked the table has one column per space
                    v = data[base + s]
                    if not (v < n_addresses):  # NaN lands here too
                        fault = codes.F_ADDRESS
                        bad = v
                        break
                if fault != codes.F_NONE:
                    break
                for s in range(n_spaces):
                    v = data[base + s]
                    aats[a, s] = int(v) if v >= 0.0 else -1
            elif op == codes.OP_ROWS:
                vals[a] = data_meta[b, DATA_ROWS]
            elif op == codes.OP_COLS:
                vals[a] = data_meta[b, DATA_COLS]
            elif op == codes.OP_SETY:
                lane_v = vals[a]
                y0 = vals[c]
                level = vals[d]
                if not (lane_v >= 0.0 and lane_v < n_lanes):
                    fault = codes.F_LANE
                    bad = lane_v
                    break
                if not (y0 >= -1.0 and y0 <= 1.0):
                    fault = codes.F_Y0
                    bad = y0
                    break
                if not (level >= 0.0 and math.isfinite(level)):
                    fault = codes.F_LEVEL
                    bad = level
                    break
                lane = int(lane_v)
                scale = level * params[P_GMAX]
                # Both devices must be reachable: a clamped device would set another weight.
                too_high = scale * (1.0 + abs(y0)) > params[P_GMAX] * (1.0 + 1e-12)
                too_low = scale * (1.0 - abs(y0)) < params[P_GMIN] * (1.0 - 1e-12)
                if too_high or too_low:
                    fault = codes.F_SETY_REACH
                    bad = y0
                    break
                for s in range(n_spaces):
                    address = aats[b, s]
                    if address < 0:
                        continue
                    if ideal:  # the ideal core compiles no non-ideal device code
                        set_pair_ideal(
                            model, params, g, x, lane, s, address, scale * (1.0 + y0), scale * (1.0 - y0)
                        )
                    elif nonideal:
                        set_pair(
                            model,
                            params,
                            g,
                            x,
                            ni,
                            meters[0],
                            lane,
                            s,
                            address,
                            scale * (1.0 + y0),
                            scale * (1.0 - y0),
                        )
            elif op == codes.OP_GAB:
                lane_v = vals[c]
                if not (lane_v >= 0.0 and lane_v < n_lanes):
                    fault = codes.F_LANE
                    bad = lane_v
                    break
                sum_a, sum_b = 0.0, 0.0
                if ideal:
                    sum_a, sum_b = pair_sums_ideal(g, int(lane_v), aats[d])
                elif nonideal:
                    sum_a, sum_b = pair_sums(params, g, ni, meters[0], int(lane_v), aats[d])
                vals[a] = sum_a
                vals[b] = sum_b
            elif op == codes.OP_CALL:
                depth = status[ST_DEPTH]
                if depth >= calls.shape[0]:
                    fault = codes.F_CALL_DEPTH
                    bad = float(depth)
                    break
                calls[depth] = pc + 1
                status[ST_DEPTH] = depth + 1
                nxt = a
            elif op == codes.OP_RET:
                depth = status[ST_DEPTH]
                if depth <= 0:
                    fault = codes.F_RET_EMPTY
                    bad = 0.0
                    break
                status[ST_DEPTH] = depth - 1
                nxt = calls[depth - 1]
            elif op == codes.OP_SQRT:
                u = vals[b]
                if u < 0.0:
                    fault = codes.F_SQRT
                    bad = u
                    break
                vals[a] = math.sqrt(u)
            elif op == codes.OP_LOG:
                u = vals[b]
                if u < 0.0:
                    fault = codes.F_LOG
                    bad = u
                    break
                vals[a] = elementary(op, u, 0.0)
            elif op == codes.OP_EXP or op == codes.OP_SIGMOID:
                vals[a] = elementary(op, vals[b], 0.0)
            elif op == codes.OP_MOD:
                if vals[c] == 0.0:
                    fault = codes.F_DIV_ZERO
                    bad = vals[b]
                    break
                vals[a] = elementary(op, vals[b], vals[c])
            elif op == codes.OP_POW:
                u = vals[b]
                w = vals[c]
                if (u < 0.0 and math.isfinite(w) and w != np.floor(w)) or (u == 0.0 and w < 0.0):
                    fault = codes.F_POW
                    bad = u
                    break
                vals[a] = elementary(op, u, w)
            elif op == codes.OP_RAND:
                vals[a] = uniform(rng_state)
            elif op == codes.OP_SEQ:
                vals[a] = 1.0 if vals[b] == vals[c] else 0.0
            elif op == codes.OP_SNE:
                vals[a] = 1.0 if vals[b] != vals[c] else 0.0
            elif op == codes.OP_SLT:
                vals[a] = 1.0 if vals[b] < vals[c] else 0.0
            elif op == codes.OP_SLE:
                vals[a] = 1.0 if vals[b] <= vals[c] else 0.0
            elif op == codes.OP_SGT:
                vals[a] = 1.0 if vals[b] > vals[c] else 0.0
            elif op == codes.OP_SGE:
                vals[a] = 1.0 if vals[b] >= vals[c] else 0.0
            elif op == codes.OP_AGE:
                seconds = vals[a]
                if not (seconds >= 0.0 and math.isfinite(seconds)):
                    fault = codes.F_AGE
                    bad = seconds
                    break
                if ageing:
                    kt_age(params, g, ni, meters, seconds)
            # else NOP
            pc = nxt
            steps += 1
        if fault != codes.F_NONE:
            reason = FAULTED
            fault_value[0] = bad
        status[ST_PC] = pc
        status[ST_STEPS] += steps
        status[ST_OUTPUTS] = n_out
        status[ST_REASON] = reason
        status[ST_FAULT] = fault
        return reason

    return run


_LOOPS: dict[Families, Any] = {}


def loop_for(families: Families):
    """The loop variant for families, made once per process."""
    loop = _LOOPS.get(families)
    if loop is None:
        loop = _LOOPS[families] = make_loop(families)
    return loop


ALL = Families()
run = loop_for(ALL)  # every family: the loop tests and tools call by this name
