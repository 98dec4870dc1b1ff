"""One device instruction (opcodes from ``vm.isa.DEVICE_FIRST`` on; VOUT and COIN are run
by the interpreter, which owns the outputs and the kT-RAM core).

Operand fields hold vector slots (``vec_meta`` rows: offset, length) or device indices
(``dev_meta`` rows: kind, slot0, slot1, slot2; ``dev_params`` rows: the declaration's
keys). The loader has checked every field and every static length, so kernels index
without checks; values are checked here and reported as faults.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vm.devices import langevin, mtj, pbit
from vm.isa import OPCODES

# faults (continuing vm.interp's codes)
F_INDEX, F_Q, F_PULSE, F_INPUT, F_MIXTURE, F_SCALE = range(10, 16)
FAULT_MESSAGES = {
    F_INDEX: "vector index {v} out of range",
    F_Q: "keep probability q = {v} out of range [0, 1]",
    F_PULSE: "pulse {v} is not a finite amplitude and a width >= 0",
    F_INPUT: "p-bit input {v} is not a finite number",
    F_MIXTURE: "mixture table: weights must be >= 0 with a positive sum and scales >= 0 (bad value {v})",
    F_SCALE: "sampler scale {v} must be a finite number >= 0",
}
F_NONE = 0
F_ROW = 4  # vm.interp's "data row out of range" (asserted there)

# modeled-cost meters: one row per family, (time s, energy J)
M_MTJ, M_PBIT, M_LANGEVIN = range(3)
N_METERS = 3

(VFILL, VMOV, VADD, VSUB, VMUL, VSCALE, VADDS, VAXPY, VTANH, VRELU, VGET, VSET, VSUM, VDOT,
 VARGMAX, VLD, PBIT, PDIT, VPBIT, ISING, MPULSE, MRESET, MREAD, MRES, MSTATE, PPLOAD, PPMAC,
 PPSTATE, RELAX, OUS, MIXS) = (OPCODES[m] for m in (
    "VFILL", "VMOV", "VADD", "VSUB", "VMUL", "VSCALE", "VADDS", "VAXPY", "VTANH", "VRELU",
    "VGET", "VSET", "VSUM", "VDOT", "VARGMAX", "VLD", "PBIT", "PDIT", "VPBIT", "ISING",
    "MPULSE", "MRESET", "MREAD", "MRES", "MSTATE", "PPLOAD", "PPMAC", "PPSTATE", "RELAX", "OUS",
    "MIXS"))


@njit(cache=True)
def view(vec, vec_meta, slot):
    off = vec_meta[slot, 0]
    return vec[off:off + vec_meta[slot, 1]]


@njit(cache=True)
def table_view(data, data_meta, table):
    off = data_meta[table, 0]
    return data[off:off + data_meta[table, 1] * data_meta[table, 2]].reshape(
        (data_meta[table, 1], data_meta[table, 2]))


@njit(cache=True)
def execute(op, a, b, c, d, vals, vec, vec_meta, dev_meta, dev_params, meters, data, data_meta,
            rng_state, fault_value):
    """Run one device instruction; returns a fault code (0: none), the bad value in fault_value."""
    if op == VFILL:
        view(vec, vec_meta, a)[:] = vals[b]
    elif op == VMOV:
        view(vec, vec_meta, a)[:] = view(vec, vec_meta, b)
    elif op == VADD or op == VSUB or op == VMUL:
        out = view(vec, vec_meta, a)
        x = view(vec, vec_meta, b)
        y = view(vec, vec_meta, c)
        for i in range(out.shape[0]):
            if op == VADD:
                out[i] = x[i] + y[i]
            elif op == VSUB:
                out[i] = x[i] - y[i]
            else:
                out[i] = x[i] * y[i]
    elif op == VSCALE or op == VADDS or op == VAXPY:
        out = view(vec, vec_meta, a)
        x = view(vec, vec_meta, b)
        s = vals[c]
        for i in range(out.shape[0]):
            if op == VSCALE:
                out[i] = s * x[i]
            elif op == VADDS:
                out[i] = x[i] + s
            else:
                out[i] = out[i] + s * x[i]
    elif op == VTANH:
        out = view(vec, vec_meta, a)
        x = view(vec, vec_meta, b)
        for i in range(out.shape[0]):
            out[i] = math.tanh(x[i])
    elif op == VRELU:
        out = view(vec, vec_meta, a)
        x = view(vec, vec_meta, b)
        for i in range(out.shape[0]):
            out[i] = x[i] if (x[i] > 0.0 or x[i] != x[i]) else 0.0  # NaN stays NaN
    elif op == VGET or op == VSET:
        target = view(vec, vec_meta, b if op == VGET else a)
        index = vals[c] if op == VGET else vals[b]
        if not (index >= 0.0 and index < target.shape[0]):
            fault_value[0] = index
            return F_INDEX
        if op == VGET:
            vals[a] = target[int(index)]
        else:
            target[int(index)] = vals[c]
    elif op == VSUM:
        vals[a] = np.sum(view(vec, vec_meta, b))
    elif op == VDOT:
        x = view(vec, vec_meta, b)
        y = view(vec, vec_meta, c)
        total = 0.0
        for i in range(x.shape[0]):
            total += x[i] * y[i]
        vals[a] = total
    elif op == VARGMAX:
        x = view(vec, vec_meta, b)
        best = 0
        for i in range(1, x.shape[0]):
            if x[i] > x[best]:
                best = i
        vals[a] = best
    elif op == VLD:
        row = vals[c]
        if not (row >= 0.0 and row < data_meta[b, 1]):
            fault_value[0] = row
            return F_ROW
        view(vec, vec_meta, a)[:] = table_view(data, data_meta, b)[int(row)]
    elif op == PBIT or op == PDIT or op == VPBIT or op == ISING:
        return _pbit_op(op, a, b, c, d, vals, vec, vec_meta, meters, rng_state, fault_value)
    elif op == MPULSE or op == MRESET or op == MREAD or op == MRES or op == MSTATE:
        return _mtj_op(op, a, b, c, vals, vec, vec_meta, dev_meta, dev_params, meters, rng_state,
                       fault_value)
    elif op == PPLOAD or op == PPMAC or op == PPSTATE:
        return _pairs_op(op, a, b, c, d, vals, vec, vec_meta, dev_meta, dev_params, meters, data,
                         data_meta, rng_state, fault_value)
    elif op == RELAX or op == OUS or op == MIXS:
        return _langevin_op(op, a, b, c, vals, vec, vec_meta, dev_meta, dev_params, meters, data,
                            data_meta, rng_state, fault_value)
    return F_NONE


@njit(cache=True)
def _pbit_op(op, a, b, c, d, vals, vec, vec_meta, meters, rng_state, fault_value):
    bits = 1
    if op == PBIT:
        value = vals[b]
        if not math.isfinite(value):
            fault_value[0] = value
            return F_INPUT
        vals[a] = pbit.pbit(value, vals[c], rng_state)
    elif op == PDIT:
        logits = vals[b:b + c]
        for v in logits:
            if not math.isfinite(v):
                fault_value[0] = v
                return F_INPUT
        vals[a] = pbit.pdit(logits, vals[d], rng_state)
        bits = c
    elif op == VPBIT:
        x = view(vec, vec_meta, b)
        pbit.vpbit(view(vec, vec_meta, a), x, vals[c], rng_state)
        bits = x.shape[0]
    else:
        spins = view(vec, vec_meta, a)
        side = int(math.floor(math.sqrt(spins.shape[0]) + 0.5))
        pbit.ising_sweep(spins, side, vals[b], vals[c], vals[d], rng_state)
        bits = spins.shape[0]
    windows = 2.0 if op == ISING else 1.0
    meters[M_PBIT, 0] += windows * pbit.WINDOW_S
    meters[M_PBIT, 1] += bits * pbit.ENERGY_PER_BIT_J
    return F_NONE


@njit(cache=True)
def _mtj_op(op, a, b, c, vals, vec, vec_meta, dev_meta, dev_params, meters, rng_state, fault_value):
    device = b if op in (MREAD, MRES, MSTATE) else a
    p = dev_params[device]
    states = view(vec, vec_meta, dev_meta[device, 1])
    if op == MPULSE:
        v = vals[b]
        t = vals[c]
        if not (math.isfinite(v) and math.isfinite(t) and t >= 0.0):
            fault_value[0] = v if not math.isfinite(v) else t
            return F_PULSE
        energy = mtj.pulse(states, view(vec, vec_meta, dev_meta[device, 2]), p, v, t, rng_state)
        meters[M_MTJ, 0] += t * (2.0 if p[mtj.MTJ_MODE] == 0.0 else 1.0)
        meters[M_MTJ, 1] += energy
    elif op == MRESET:
        states[:] = 0.0
        meters[M_MTJ, 0] += p[mtj.MTJ_BASE + mtj.R_THALF]
    elif op == MSTATE:
        view(vec, vec_meta, a)[:] = states
    else:
        v = vals[c]
        if not math.isfinite(v):
            fault_value[0] = v
            return F_PULSE
        meters[M_MTJ, 1] += mtj.read(view(vec, vec_meta, a), states, p, v, op == MRES, rng_state)
        meters[M_MTJ, 0] += p[mtj.MTJ_BASE + mtj.R_TREAD]
    return F_NONE


@njit(cache=True)
def _pairs_op(op, a, b, c, d, vals, vec, vec_meta, dev_meta, dev_params, meters, data, data_meta,
              rng_state, fault_value):
    device = a if op == PPLOAD else b
    p = dev_params[device]
    data_bits = view(vec, vec_meta, dev_meta[device, 1])
    pbits = view(vec, vec_meta, dev_meta[device, 2])
    if op == PPLOAD:
        weights = table_view(data, data_meta, b).ravel()
        meters[M_MTJ, 1] += mtj.pairs_load(data_bits, pbits, p, weights)
        meters[M_MTJ, 0] += p[mtj.PP_ROWS] * p[mtj.PAIRS_BASE + mtj.R_THALF]
    elif op == PPMAC:
        q = vals[d]
        if not (q >= 0.0 and q <= 1.0):
            fault_value[0] = q
            return F_Q
        time, energy = mtj.pairs_mac(view(vec, vec_meta, a), data_bits, pbits,
                                     view(vec, vec_meta, dev_meta[device, 3]), p,
                                     view(vec, vec_meta, c), q, rng_state)
        meters[M_MTJ, 0] += time
        meters[M_MTJ, 1] += energy
    else:
        meters[M_MTJ, 1] += mtj.pairs_state(view(vec, vec_meta, a), data_bits, pbits, p, rng_state)
        meters[M_MTJ, 0] += p[mtj.PAIRS_BASE + mtj.R_TREAD]
    return F_NONE


@njit(cache=True)
def _langevin_op(op, a, b, c, vals, vec, vec_meta, dev_meta, dev_params, meters, data, data_meta,
                 rng_state, fault_value):
    p = dev_params[a]
    x = view(vec, vec_meta, dev_meta[a, 1])
    if op == RELAX:
        time = langevin.relax(x, view(vec, vec_meta, b), p, rng_state)
        meters[M_LANGEVIN, 0] += time
        meters[M_LANGEVIN, 1] += x.shape[0] * p[langevin.B_POWER] * time
        return F_NONE
    if op == OUS:
        scale = vals[c]
        if not (math.isfinite(scale) and scale >= 0.0):
            fault_value[0] = scale
            return F_SCALE
        langevin.ou_step(x, vals[b], scale, p, rng_state)
    else:
        table = table_view(data, data_meta, b)
        total = 0.0
        for k in range(table.shape[0]):
            w = table[k, 0]
            if not (w >= 0.0 and math.isfinite(w) and table[k, 2] >= 0.0
                    and math.isfinite(table[k, 1]) and math.isfinite(table[k, 2])):
                fault_value[0] = w if not (w >= 0.0 and math.isfinite(w)) else table[k, 2]
                return F_MIXTURE
            total += w
        if not total > 0.0:
            fault_value[0] = total
            return F_MIXTURE
        langevin.mixture_step(x, table, p, rng_state)
    window = p[langevin.O_WINDOW]
    meters[M_LANGEVIN, 0] += window
    meters[M_LANGEVIN, 1] += x.shape[0] * p[langevin.O_POWER] * window
    return F_NONE
