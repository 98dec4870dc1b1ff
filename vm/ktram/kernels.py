"""Numba kernels of the kT-RAM physics: one instruction, and a whole stream in one call.

All state is plain arrays (see ``vm.ktram.core.Core`` for their shapes):
  g        float64[2, lanes, spaces, addresses]  conductances, side 0 = a, side 1 = b
  x        float64[2, lanes, spaces, addresses]  MSS switched fraction (unused by other models)
  lane_y   float64[lanes]                        each lane's retained y
  meters   float64[2]                            modeled time (s), modeled energy (J)
  rng_state uint64[4], rng_spare float64[2]      the core's random stream (vm.rng)
  params   float64[N_PARAMS]                     constants, slots named in models.py
  ops      int64[14, 5]                          isa.OP_TABLE
An AAT is an int64 array with one entry per space: an address, or -1 for a disabled space.

``vm.ktram.reference`` implements the same functions in NumPy; tests compare the two.
"""

from __future__ import annotations

import math

from numba import njit

from vm.ktram.isa import FEEDBACK, OPK_COEFF, OPK_DIR, OPK_KIND, OPK_LV, OPK_USES_H
from vm.ktram.models import (
    BYTE, FLOAT, P_BW_FLICKER, P_BW_THERMAL, P_CMP_V, P_FLOAT_DEAD, P_FLOAT_STEP, P_G_UNIT,
    P_GMAX, P_GMIN, P_M_REF, P_MSS_N, P_MSS_ROFF, P_MSS_RON, P_MSS_TAU, P_MSS_VOFF,
    P_MSS_VON, P_MSS_VT, P_PW, P_PW_READ, P_READ_NOISE, P_RS_RATE, P_RS_VTH, P_TEMPERATURE,
    P_VF, P_VFLV, P_VR, P_VRLV, RS, T_REF,
)
from vm.rng import standard_normal


@njit(cache=True)
def read_sigma(y_clean, m, v_app, params):
    """Standard deviation of one read: thermal + flicker (+ comparator), in quadrature."""
    f_m = math.sqrt(params[P_M_REF] / m)
    rn = params[P_READ_NOISE]
    sigma_th = (rn * 0.1 * math.sqrt(params[P_TEMPERATURE] / T_REF) * 0.05 * f_m
                / abs(v_app) * params[P_BW_THERMAL])
    sigma_fl = rn * 1.0 * (1.0 - y_clean * y_clean) * f_m * params[P_BW_FLICKER]
    sigma_cmp = params[P_CMP_V] / abs(v_app)
    return math.sqrt(sigma_th * sigma_th + sigma_fl * sigma_fl + sigma_cmp * sigma_cmp)


@njit(cache=True)
def mss_switch_count(n_avail, p, z):
    """Switches that flip: round(Normal(n p, sqrt(n p (1-p)))), half-up."""
    mu = n_avail * p
    var = mu * (1.0 - p)
    sd = math.sqrt(var) if var > 0.0 else 0.0
    return math.floor(mu + sd * z + 0.5)


@njit(cache=True)
def drive_device(model, params, g, x, side, lane, space, addr, dv, pw, rng_state, rng_spare):
    """Apply one drive of dv volts for pw seconds to one device; returns energy in J."""
    g0 = g[side, lane, space, addr]
    energy = dv * dv * g0 * params[P_G_UNIT] * pw
    gmin = params[P_GMIN]
    gmax = params[P_GMAX]
    if model == FLOAT:
        dead = params[P_FLOAT_DEAD]
        if not (-dead < dv < dead):
            g[side, lane, space, addr] = min(max(g0 + params[P_FLOAT_STEP] * dv, gmin), gmax)
    elif model == BYTE:
        g[side, lane, space, addr] = min(max(g0 + math.floor(dv + 0.5), gmin), gmax)
    elif model == RS:
        vth = params[P_RS_VTH]
        if dv > vth:
            vt = dv - vth
            g[side, lane, space, addr] = min(max(g0 + params[P_RS_RATE] * vt * pw * (gmax - g0), gmin), gmax)
        elif dv < -vth:
            vt = -(dv + vth)
            g[side, lane, space, addr] = min(max(g0 + params[P_RS_RATE] * vt * pw * (gmin - g0), gmin), gmax)
    else:  # MSS
        n = params[P_MSS_N]
        vt = params[P_MSS_VT]
        alpha = pw / params[P_MSS_TAU]
        p_on = alpha / (1.0 + math.exp(-(dv - params[P_MSS_VON]) / vt))
        p_off = alpha * (1.0 - 1.0 / (1.0 + math.exp(-(dv + params[P_MSS_VOFF]) / vt)))
        xs = x[side, lane, space, addr]
        z_on = standard_normal(rng_state, rng_spare)
        z_off = standard_normal(rng_state, rng_spare)
        n_on = mss_switch_count((1.0 - xs) * n, p_on, z_on)
        n_off = mss_switch_count(xs * n, p_off, z_off)
        xs = min(max(xs + (n_on - n_off) / n, 0.0), 1.0)
        x[side, lane, space, addr] = xs
        g[side, lane, space, addr] = xs / params[P_MSS_RON] + (1.0 - xs) / params[P_MSS_ROFF]
    return energy


@njit(cache=True)
def execute(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, lane, aat, op, dial):
    """Execute one instruction on one lane through one AAT; returns y (feedback: retained y)."""
    n_spaces = aat.shape[0]
    direction = ops[op, OPK_DIR]
    if ops[op, OPK_KIND] == FEEDBACK:
        y = lane_y[lane]
        v_app = params[P_VF] if direction > 0 else params[P_VR]
        h = 1.0
        if ops[op, OPK_USES_H] != 0 and y < 0.0:
            h = -1.0
        vy = ops[op, OPK_COEFF] * v_app * h
        pw = params[P_PW]
    else:
        if ops[op, OPK_LV] != 0:
            v_nom = params[P_VFLV] if direction > 0 else params[P_VRLV]
        else:
            v_nom = params[P_VF] if direction > 0 else params[P_VR]
        v_app = v_nom * max(1e-3, 1.0 - dial)
        top = 0.0
        bot = 0.0
        for s in range(n_spaces):
            a = aat[s]
            if a >= 0:
                ga = g[0, lane, s, a]
                gb = g[1, lane, s, a]
                top += ga - gb
                bot += ga + gb
        y = 0.0
        if bot != 0.0:
            y = top / bot
            sigma = read_sigma(y, bot, v_app, params)
            if sigma > 0.0:
                y = min(max(y + sigma * standard_normal(rng_state, rng_spare), -1.0), 1.0)
        lane_y[lane] = y
        # The noisy sample drives the back-action: sample once, drive with it.
        vy = v_app * y
        pw = params[P_PW_READ]
    dva = v_app - vy
    dvb = vy + v_app
    energy = 0.0
    for s in range(n_spaces):
        a = aat[s]
        if a >= 0:
            energy += drive_device(model, params, g, x, 0, lane, s, a, dva, pw, rng_state, rng_spare)
            energy += drive_device(model, params, g, x, 1, lane, s, a, dvb, pw, rng_state, rng_spare)
    meters[0] += pw
    meters[1] += energy
    return y


@njit(cache=True)
def execute_stream(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare,
                   lanes, aat_table, aat_index, opcodes, dials, out_y):
    """Execute a whole instruction stream; step i uses aat_table[aat_index[i]]."""
    for i in range(opcodes.shape[0]):
        out_y[i] = execute(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare,
                           lanes[i], aat_table[aat_index[i]], opcodes[i], dials[i])
