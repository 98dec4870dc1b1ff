"""The device families' instructions (opcodes from ``vm.codes.DEVICE_FIRST`` on), one function
per family (``vm.isa.DEVICE_FAMILIES``), so that a program's loop compiles only the families
it uses (``vm.interp.loop_for``); VOUT and COIN are run by the interpreter, which owns the
outputs and the kT-RAM core.

Operand fields hold vector slots (``vec_meta`` rows: offset, length) or device indices
(``dev_meta`` rows: the kind, then the slot of each named slot, ``vm.codes.SLOT_*``;
``dev_params`` rows: the declaration's keys). The loader has checked every field and
every static length, so kernels index without checks; values are checked here and
reported as faults (``vm.faults``). Each takes the arrays of the program and
device bundles (``vm.state``) one by one: it runs once per instruction, and a bundle handed
to a compiled callee costs ~50x a small vector instruction (measured).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vm import codes
from vm.devices import langevin, mtj, pbit
from vm.state import DATA_COLS, DATA_OFFSET, DATA_ROWS

# a .bank and an .ou keep their state in the same column (RELAX, OUS, MIXS share a path)
assert codes.SLOT_BANK_STATE == codes.SLOT_OU_STATE

# modeled-cost meters: one row per family, (time s, energy J); "periphery" is the ex-situ
# p-bit's sense amplifiers, latches and bus (MSENSE)
M_MTJ, M_PBIT, M_LANGEVIN, M_PERIPHERY = range(4)
N_METERS = 4


@njit(cache=True)
def view(vec, vec_meta, slot):
    off = vec_meta[slot, 0]
    return vec[off : off + vec_meta[slot, 1]]


@njit(cache=True)
def table_view(data, data_meta, table):
    off = data_meta[table, DATA_OFFSET]
    rows, cols = data_meta[table, DATA_ROWS], data_meta[table, DATA_COLS]
    return data[off : off + rows * cols].reshape((rows, cols))


@njit(cache=True)
def vector_op(op, a, b, c, vals, vec, vec_meta, data, data_meta, fault_value):
    """One vector instruction (VECTOR_FIRST..VECTOR_LAST) with operand fields a..c; returns
    a fault code (F_NONE: none) and leaves the bad value in fault_value[0]."""
    if op == codes.OP_VFILL:
        view(vec, vec_meta, a)[:] = vals[b]
    elif op == codes.OP_VMOV:
        view(vec, vec_meta, a)[:] = view(vec, vec_meta, b)
    elif op == codes.OP_VADD or op == codes.OP_VSUB or op == codes.OP_VMUL:
        out = view(vec, vec_meta, a)
        x = view(vec, vec_meta, b)
        y = view(vec, vec_meta, c)
        for i in range(out.shape[0]):
            if op == codes.OP_VADD:
                out[i] = x[i] + y[i]
            elif op == codes.OP_VSUB:
                out[i] = x[i] - y[i]
            else:
                out[i] = x[i] * y[i]
    elif op == codes.OP_VSCALE or op == codes.OP_VADDS or op == codes.OP_VAXPY:
        out = view(vec, vec_meta, a)
        x = view(vec, vec_meta, b)
        s = vals[c]
        for i in range(out.shape[0]):
            if op == codes.OP_VSCALE:
                out[i] = s * x[i]
            elif op == codes.OP_VADDS:
                out[i] = x[i] + s
            else:
                out[i] = out[i] + s * x[i]
    elif op == codes.OP_VTANH:
        out = view(vec, vec_meta, a)
        x = view(vec, vec_meta, b)
        for i in range(out.shape[0]):
            out[i] = math.tanh(x[i])
    elif op == codes.OP_VRELU:
        out = view(vec, vec_meta, a)
        x = view(vec, vec_meta, b)
        for i in range(out.shape[0]):
            out[i] = x[i] if (x[i] > 0.0 or x[i] != x[i]) else 0.0  # NaN stays NaN
    elif op == codes.OP_VGET or op == codes.OP_VSET:
        target = view(vec, vec_meta, b if op == codes.OP_VGET else a)
        index = vals[c] if op == codes.OP_VGET else vals[b]
        if not (index >= 0.0 and index < target.shape[0]):
            fault_value[0] = index
            return codes.F_INDEX
        if op == codes.OP_VGET:
            vals[a] = target[int(index)]
        else:
            target[int(index)] = vals[c]
    elif op == codes.OP_VSUM:
        vals[a] = np.sum(view(vec, vec_meta, b))
    elif op == codes.OP_VDOT:
        x = view(vec, vec_meta, b)
        y = view(vec, vec_meta, c)
        total = 0.0
        for i in range(x.shape[0]):
            total += x[i] * y[i]
        vals[a] = total
    elif op == codes.OP_VARGMAX:
        x = view(vec, vec_meta, b)
        best = 0
        for i in range(1, x.shape[0]):
            if x[i] > x[best]:
                best = i
        vals[a] = best
    elif op == codes.OP_VLD:
        row = vals[c]
        if not (row >= 0.0 and row < data_meta[b, DATA_ROWS]):
            fault_value[0] = row
            return codes.F_ROW
        view(vec, vec_meta, a)[:] = table_view(data, data_meta, b)[int(row)]
    return codes.F_NONE


@njit(cache=True)
def pbit_op(op, a, b, c, d, vals, vec, vec_meta, meters, rng_state, fault_value):
    bits = 1
    if op == codes.OP_PBIT:
        value = vals[b]
        if not math.isfinite(value):
            fault_value[0] = value
            return codes.F_INPUT
        vals[a] = pbit.pbit(value, vals[c], rng_state)
    elif op == codes.OP_PDIT:
        logits = vals[b : b + c]
        for v in logits:
            if not math.isfinite(v):
                fault_value[0] = v
                return codes.F_INPUT
        vals[a] = pbit.pdit(logits, vals[d], rng_state)
        bits = c
    elif op == codes.OP_VPBIT:
        x = view(vec, vec_meta, b)
        pbit.vpbit(view(vec, vec_meta, a), x, vals[c], rng_state)
        bits = x.shape[0]
    else:
        spins = view(vec, vec_meta, a)
        side = int(math.floor(math.sqrt(spins.shape[0]) + 0.5))
        pbit.ising_sweep(spins, side, vals[b], vals[c], vals[d], rng_state)
        bits = spins.shape[0]
    windows = 2.0 if op == codes.OP_ISING else 1.0
    meters[M_PBIT, 0] += windows * pbit.WINDOW_S
    meters[M_PBIT, 1] += bits * pbit.ENERGY_PER_BIT_J
    return codes.F_NONE


@njit(cache=True)
def mtj_op(op, a, b, c, vals, vec, vec_meta, dev_meta, dev_params, meters, rng_state, fault_value):
    device = b if op in (codes.OP_MREAD, codes.OP_MRES, codes.OP_MSTATE, codes.OP_MSENSE) else a
    p = dev_params[device]
    states = view(vec, vec_meta, dev_meta[device, codes.SLOT_MTJ_STATES])
    rps = view(vec, vec_meta, dev_meta[device, codes.SLOT_MTJ_RP])
    tmrs = view(vec, vec_meta, dev_meta[device, codes.SLOT_MTJ_TMR])
    if op == codes.OP_MPULSE or op == codes.OP_MPULSEV:
        t = vals[c]
        if op == codes.OP_MPULSEV:
            amps = view(vec, vec_meta, b)
            v = 0.0  # checked below: the first amplitude that is not finite, if any
            for k in range(amps.shape[0]):
                if not math.isfinite(amps[k]):
                    v = amps[k]
                    break
        else:
            amps = vec[0:0]
            v = vals[b]
        if not (math.isfinite(v) and math.isfinite(t) and t >= 0.0):
            fault_value[0] = v if not math.isfinite(v) else t
            return codes.F_PULSE
        time, energy = mtj.pulse(
            states,
            view(vec, vec_meta, dev_meta[device, codes.SLOT_MTJ_V50]),
            rps,
            tmrs,
            p,
            amps,
            v,
            t,
            rng_state,
        )
        meters[M_MTJ, 0] += time
        meters[M_MTJ, 1] += energy
    elif op == codes.OP_MRESET:
        meters[M_MTJ, 1] += mtj.reset(states, rps, tmrs, p)
        meters[M_MTJ, 0] += p[mtj.MTJ_BASE + mtj.R_THALF]
    elif op == codes.OP_MSTATE:
        view(vec, vec_meta, a)[:] = states
    elif op == codes.OP_MSENSE:
        time, energy = mtj.sense_cost(states, rps, tmrs, p)
        view(vec, vec_meta, a)[:] = states
        meters[M_PERIPHERY, 0] += time
        meters[M_PERIPHERY, 1] += energy
    else:
        v = vals[c]
        if not math.isfinite(v):
            fault_value[0] = v
            return codes.F_PULSE
        meters[M_MTJ, 1] += mtj.read(
            view(vec, vec_meta, a), states, rps, tmrs, p, v, op == codes.OP_MRES, rng_state
        )
        meters[M_MTJ, 0] += p[mtj.MTJ_BASE + mtj.R_TREAD]
    return codes.F_NONE


@njit(cache=True)
def pairs_op(
    op, a, b, c, d, vals, vec, vec_meta, dev_meta, dev_params, meters, data, data_meta, rng_state, fault_value
):
    device = a if op == codes.OP_PPLOAD else b
    p = dev_params[device]
    data_bits = view(vec, vec_meta, dev_meta[device, codes.SLOT_PAIRS_DATA_BITS])
    pbits = view(vec, vec_meta, dev_meta[device, codes.SLOT_PAIRS_PBITS])
    rps = view(vec, vec_meta, dev_meta[device, codes.SLOT_PAIRS_RP])
    tmrs = view(vec, vec_meta, dev_meta[device, codes.SLOT_PAIRS_TMR])
    cache = view(vec, vec_meta, dev_meta[device, codes.SLOT_PAIRS_CACHE])
    if op == codes.OP_PPLOAD:
        weights = table_view(data, data_meta, b).ravel()
        meters[M_MTJ, 1] += mtj.pairs_load(data_bits, pbits, rps, tmrs, cache, p, weights)
        meters[M_MTJ, 0] += p[mtj.PP_ROWS] * p[mtj.PAIRS_BASE + mtj.R_THALF]
    elif op == codes.OP_PPMAC:
        q = vals[d]
        if not (q >= 0.0 and q <= 1.0):
            fault_value[0] = q
            return codes.F_Q
        time, energy = mtj.pairs_mac(
            view(vec, vec_meta, a),
            data_bits,
            pbits,
            view(vec, vec_meta, dev_meta[device, codes.SLOT_PAIRS_V50]),
            rps,
            tmrs,
            cache,
            p,
            view(vec, vec_meta, c),
            q,
            rng_state,
        )
        meters[M_MTJ, 0] += time
        meters[M_MTJ, 1] += energy
    else:
        meters[M_MTJ, 1] += mtj.pairs_state(view(vec, vec_meta, a), data_bits, pbits, rps, tmrs, p, rng_state)
        meters[M_MTJ, 0] += p[mtj.PAIRS_BASE + mtj.R_TREAD]
    return codes.F_NONE


@njit(cache=True)
def langevin_op(
    op,
    a,
    b,
    c,
    vals,
    vec,
    vec_meta,
    dev_meta,
    dev_params,
    meters,
    data,
    data_meta,
    rng_state,
    fault_value,
    status,
):
    p = dev_params[a]
    x = view(vec, vec_meta, dev_meta[a, codes.SLOT_BANK_STATE])
    if op == codes.OP_RELAX:
        if not langevin.relax_window(x, view(vec, vec_meta, b), p, rng_state, status):
            return codes.F_NONE  # stopped inside the window; the loop resumes it
        time = p[langevin.B_TF] * p[langevin.B_UNIT]
        meters[M_LANGEVIN, 0] += time
        meters[M_LANGEVIN, 1] += x.shape[0] * p[langevin.B_POWER] * time
        return codes.F_NONE
    if op == codes.OP_OUS:
        scale = vals[c]
        if not (math.isfinite(scale) and scale >= 0.0):
            fault_value[0] = scale
            return codes.F_SCALE
        langevin.ou_step(x, vals[b], scale, p, rng_state)
    else:
        table = table_view(data, data_meta, b)
        total = 0.0
        for k in range(table.shape[0]):
            w = table[k, 0]
            if not (
                w >= 0.0
                and math.isfinite(w)
                and table[k, 2] >= 0.0
                and math.isfinite(table[k, 1])
                and math.isfinite(table[k, 2])
            ):
                fault_value[0] = w if not (w >= 0.0 and math.isfinite(w)) else table[k, 2]
                return codes.F_MIXTURE
            total += w
        if not total > 0.0:
            fault_value[0] = total
            return codes.F_MIXTURE
        langevin.mixture_step(x, table, p, rng_state)
    window = p[langevin.O_WINDOW]
    meters[M_LANGEVIN, 0] += window
    meters[M_LANGEVIN, 1] += x.shape[0] * p[langevin.O_POWER] * window
    return codes.F_NONE
