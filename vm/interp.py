"""The interpreter loop: runs bytecode, calling the physics kernels for kT-RAM instructions.

``run`` is written once and executed two ways: compiled by Numba (``run``, the whole
program in one native loop) and as plain Python (``run.py_func``, the step path of the
REPL and debugger). Tests run random programs both ways and compare every array.

State is plain arrays (see ``vm.machine.Machine``):
  code      int64[n, 5]         opcode and operand fields (vm.isa)
  vals      float64[n_values]   registers r0..r15, loop counters, constant pool
  aats      int64[n_aat, spaces] the AAT table (LDAAT rewrites rows)
  data      float64[total], data_meta int64[n_data, 3] (offset, rows, cols)
  outputs   float64[capacity]   OUT values; OUT on a full buffer returns OUT_FULL
  status    int64[N_STATUS]     pc, steps, outputs used, stop reason, fault code
  fault_value float64[1]        the value that caused a fault
  vec       float64[total]      vector arena (vector registers and device state, vm.devices)
  vec_meta, dev_meta, dev_params, dev_meters: see vm.devices.execute
  breaks    uint8[n]            1 at a breakpoint: the loop stops *before* that instruction,
                                except as the first instruction of a call (so a stop resumes)
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vm.isa import (
    FUSED_FIRST, FUSED_LAST, N_KT, N_KT_FEEDBACKS, OP_ABS, OP_ADD, OP_ARGMAX, OP_COLS, OP_DIV,
    OP_ENDLOOP, OP_FLOOR, OP_GAB, OP_HALT, OP_JEQ, OP_JGE, OP_JGT, OP_JLE, OP_JLT, OP_JMP, OP_JNE,
    OP_LD, OP_LDAAT, OP_LOOP, OP_MAX, OP_MIN, OP_MOV, OP_MUL, OP_NEG, OP_OUT, OP_ROWS, OP_SETY,
    OP_SUB, OPCODES, DEVICE_FIRST,
)
from vm.devices import execute as dev
from vm.ktram.isa import FEEDBACK, OPK_KIND, READS
from vm.ktram.kernels import execute as kt_execute
from vm.ktram.kernels import set_pair
from vm.ktram.models import P_GMAX

# status slots
ST_PC, ST_STEPS, ST_OUTPUTS, ST_REASON, ST_FAULT = range(5)
N_STATUS = 5

# stop reasons
BUDGET, HALTED, ENDED, OUT_FULL, FAULTED, BREAK = range(6)

# runtime faults
(F_NONE, F_LANE, F_DIAL, F_DIV_ZERO, F_ROW, F_COL, F_ADDRESS, F_Y0, F_LEVEL, F_COUNT) = range(10)
FAULT_MESSAGES = {
    F_LANE: "lane index {v} out of range [0, {n_lanes})",
    F_DIAL: "read dial {v} out of range [0, 1]",
    F_DIV_ZERO: "division by zero",
    F_ROW: "data row {v} out of range",
    F_COL: "data column {v} out of range",
    F_ADDRESS: "AAT address {v} out of range [0, {n_addresses}) (negative disables a space)",
    F_Y0: "SETY y0 {v} out of range [-1, 1]",
    F_LEVEL: "SETY level {v} must be >= 0",
    F_COUNT: "LOOP count {v} is not a finite number",
    **dev.FAULT_MESSAGES,
}
assert dev.F_ROW == F_ROW and min(dev.FAULT_MESSAGES) == F_COUNT + 1
OP_VOUT = OPCODES["VOUT"]
OP_COIN = OPCODES["COIN"]
OP_FFLV = OPCODES["FFLV"]

N_READS = len(READS)


@njit(cache=True)
def read_fault(lane_v, dial, n_lanes):
    """F_LANE or F_DIAL if a kT-RAM read's lane or dial is out of range, else F_NONE."""
    if not (lane_v >= 0.0 and lane_v < n_lanes):
        return F_LANE
    if not (dial >= 0.0 and dial <= 1.0):
        return F_DIAL
    return F_NONE


@njit(cache=True)
def run(code, vals, aats, data, data_meta, outputs, status, fault_value,
        model, params, ops, g, x, lane_y, meters, rng_state, rng_spare,
        vec, vec_meta, dev_meta, dev_params, dev_meters, breaks, max_steps):
    """Run from status[ST_PC] for at most max_steps instructions; returns the stop reason."""
    pc = status[ST_PC]
    n_out = status[ST_OUTPUTS]
    n_code = code.shape[0]
    n_lanes = g.shape[1]
    n_spaces = aats.shape[1]
    n_addresses = g.shape[3]
    steps = 0
    reason = BUDGET
    fault = F_NONE
    bad = 0.0
    while steps < max_steps:
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
        if op <= FUSED_LAST:  # kT-RAM: a read, a feedback, or a fused read + feedback
            if op < N_KT:
                first = op
                second = -1
            else:
                first = (op - FUSED_FIRST) // N_KT_FEEDBACKS
                second = N_READS + (op - FUSED_FIRST) % N_KT_FEEDBACKS
            if ops[first, OPK_KIND] == FEEDBACK:  # feedback rows: lane, aat
                lane_v = vals[a]
                aat = b
                dial = 0.0
            else:  # read rows: [rd], lane, aat, dial
                lane_v = vals[b]
                aat = c
                dial = vals[d]
            fault = read_fault(lane_v, dial, n_lanes)
            if fault != F_NONE:
                bad = lane_v if fault == F_LANE else dial
                break
            lane = int(lane_v)
            y = kt_execute(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare,
                           lane, aats[aat], first, dial)
            if second >= 0:
                kt_execute(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare,
                           lane, aats[aat], second, 0.0)
            if ops[first, OPK_KIND] != FEEDBACK and a >= 0:
                vals[a] = y
        elif op >= DEVICE_FIRST:
            if op == OP_VOUT:
                off = vec_meta[a, 0]
                n = vec_meta[a, 1]
                if n_out + n > outputs.shape[0]:
                    reason = OUT_FULL
                    break
                outputs[n_out:n_out + n] = vec[off:off + n]
                n_out += n
            elif op == OP_COIN:
                lane_v = vals[b]
                dial = vals[d]
                fault = read_fault(lane_v, dial, n_lanes)
                if fault != F_NONE:
                    bad = lane_v if fault == F_LANE else dial
                    break
                y = kt_execute(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare,
                               int(lane_v), aats[c], OP_FFLV, dial)
                vals[a] = 1.0 if y > 0.0 else -1.0
            else:
                fault = dev.execute(op, a, b, c, d, vals, vec, vec_meta, dev_meta, dev_params,
                                    dev_meters, data, data_meta, rng_state, fault_value)
                if fault != F_NONE:
                    bad = fault_value[0]
                    break
        elif op == OP_MOV:
            vals[a] = vals[b]
        elif op == OP_ADD:
            vals[a] = vals[b] + vals[c]
        elif op == OP_SUB:
            vals[a] = vals[b] - vals[c]
        elif op == OP_MUL:
            vals[a] = vals[b] * vals[c]
        elif op == OP_DIV:
            if vals[c] == 0.0:
                fault = F_DIV_ZERO
                bad = vals[b]
                break
            vals[a] = vals[b] / vals[c]
        elif op == OP_MIN:  # written out so NaN propagates the same way in both engines
            u = vals[b]
            w = vals[c]
            vals[a] = u if (u <= w or u != u) else w
        elif op == OP_MAX:
            u = vals[b]
            w = vals[c]
            vals[a] = u if (u >= w or u != u) else w
        elif op == OP_NEG:
            vals[a] = -vals[b]
        elif op == OP_ABS:
            vals[a] = abs(vals[b])
        elif op == OP_FLOOR:
            vals[a] = np.floor(vals[b])  # math.floor returns an int: fails on NaN in Python
        elif op == OP_ARGMAX:
            best = 0
            for k in range(1, c):
                if vals[b + k] > vals[b + best]:
                    best = k
            vals[a] = best
        elif op == OP_JMP:
            nxt = a
        elif op == OP_JEQ:
            if vals[a] == vals[b]:
                nxt = c
        elif op == OP_JNE:
            if vals[a] != vals[b]:
                nxt = c
        elif op == OP_JLT:
            if vals[a] < vals[b]:
                nxt = c
        elif op == OP_JLE:
            if vals[a] <= vals[b]:
                nxt = c
        elif op == OP_JGT:
            if vals[a] > vals[b]:
                nxt = c
        elif op == OP_JGE:
            if vals[a] >= vals[b]:
                nxt = c
        elif op == OP_LOOP:
            count = vals[a]
            if not math.isfinite(count):
                fault = F_COUNT
                bad = count
                break
            count = math.floor(min(count, 9.0e15))  # beyond 2**53 counting down stalls
            if count <= 0.0:
                nxt = c
            else:
                vals[b] = count
        elif op == OP_ENDLOOP:
            vals[a] -= 1.0
            if vals[a] > 0.0:
                nxt = b
        elif op == OP_HALT:
            steps += 1
            reason = HALTED
            break
        elif op == OP_OUT:
            if n_out >= outputs.shape[0]:
                reason = OUT_FULL
                break
            outputs[n_out] = vals[a]
            n_out += 1
        elif op == OP_LD:
            row = vals[c]
            col = vals[d]
            if not (row >= 0.0 and row < data_meta[b, 1]):
                fault = F_ROW
                bad = row
                break
            if not (col >= 0.0 and col < data_meta[b, 2]):
                fault = F_COL
                bad = col
                break
            vals[a] = data[data_meta[b, 0] + int(row) * data_meta[b, 2] + int(col)]
        elif op == OP_LDAAT:
            row = vals[c]
            if not (row >= 0.0 and row < data_meta[b, 1]):
                fault = F_ROW
                bad = row
                break
            base = data_meta[b, 0] + int(row) * data_meta[b, 2]
            for s in range(n_spaces):  # the loader checked the table has one column per space
                v = data[base + s]
                if not (v < n_addresses):  # NaN lands here too
                    fault = F_ADDRESS
                    bad = v
                    break
            if fault != F_NONE:
                break
            for s in range(n_spaces):
                v = data[base + s]
                aats[a, s] = int(v) if v >= 0.0 else -1
        elif op == OP_ROWS:
            vals[a] = data_meta[b, 1]
        elif op == OP_COLS:
            vals[a] = data_meta[b, 2]
        elif op == OP_SETY:
            lane_v = vals[a]
            y0 = vals[c]
            level = vals[d]
            if not (lane_v >= 0.0 and lane_v < n_lanes):
                fault = F_LANE
                bad = lane_v
                break
            if not (y0 >= -1.0 and y0 <= 1.0):
                fault = F_Y0
                bad = y0
                break
            if not (level >= 0.0 and math.isfinite(level)):
                fault = F_LEVEL
                bad = level
                break
            lane = int(lane_v)
            scale = level * params[P_GMAX]
            for s in range(n_spaces):
                address = aats[b, s]
                if address >= 0:
                    set_pair(model, params, g, x, lane, s, address,
                             scale * (1.0 + y0), scale * (1.0 - y0))
        elif op == OP_GAB:
            lane_v = vals[c]
            if not (lane_v >= 0.0 and lane_v < n_lanes):
                fault = F_LANE
                bad = lane_v
                break
            lane = int(lane_v)
            sum_a = 0.0
            sum_b = 0.0
            for s in range(n_spaces):
                address = aats[d, s]
                if address >= 0:
                    sum_a += g[0, lane, s, address]
                    sum_b += g[1, lane, s, address]
            vals[a] = sum_a
            vals[b] = sum_b
        # else NOP
        pc = nxt
        steps += 1
    if fault != F_NONE:
        reason = FAULTED
        fault_value[0] = bad
    status[ST_PC] = pc
    status[ST_STEPS] += steps
    status[ST_OUTPUTS] = n_out
    status[ST_REASON] = reason
    status[ST_FAULT] = fault
    return reason
