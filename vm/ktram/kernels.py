"""Numba kernels of the kT-RAM physics: one instruction, and a whole stream in one call.

The core's state is the arrays of a ``vm.state.CoreState`` (model, constants, conductances,
MSS fractions, retained y, meters, random stream). ``execute`` takes them one by one: it
runs once per instruction, and a bundle handed to a compiled callee costs more than the
physics (see vm.state). ``execute_stream`` takes the bundle and unpacks it once. An AAT is
an int64 array with one entry per space: an address, or -1 for a disabled space.

``vm.ktram.reference`` implements the same functions in NumPy; tests compare the two.
"""

from __future__ import annotations

import math

from numba import njit

from vm.ktram.isa import FEEDBACK, OPK_COEFF, OPK_DIR, OPK_KIND, OPK_LV, OPK_USES_H
from vm.ktram.models import (
    BYTE,
    FLOAT,
    MSS,
    P_CMP_V,
    P_FLOAT_DEAD,
    P_FLOAT_STEP,
    P_G_UNIT,
    P_GMAX,
    P_GMIN,
    P_M_REF,
    P_MSS_N,
    P_MSS_ROFF,
    P_MSS_RON,
    P_MSS_TAU,
    P_MSS_VOFF,
    P_MSS_VON,
    P_MSS_VT,
    P_NOISE_FL,
    P_NOISE_TH,
    P_PW,
    P_RS_RATE,
    P_RS_VTH,
    P_VF,
    P_VFLV,
    P_VR,
    P_VRLV,
    RS,
)
from vm.rng import standard_normal


@njit(cache=True)
def read_sigma(y_clean, m, v_app, params):
    """Standard deviation of one read: thermal + flicker (+ comparator), in quadrature.

    sigma^2 = (m_ref/m) (NOISE_TH^2/v^2 + (NOISE_FL (1-y^2))^2) + v_cmp^2/v^2, written over
    one common denominator m v^2.
    """
    fl = params[P_NOISE_FL] * (1.0 - y_clean * y_clean) * v_app
    th = params[P_NOISE_TH]
    cmp = params[P_CMP_V]
    return math.sqrt((params[P_M_REF] * (th * th + fl * fl) + cmp * cmp * m) / (m * v_app * v_app))


@njit(cache=True)
def noisy_read(y_clean, m, v_app, params, rng_state, rng_spare):
    """One read's reported (and driving) y: y_clean plus one draw at the read's sigma,
    clipped to [-1, 1]. A clean read (sigma 0: read_noise = 0) or an empty one (m <= 0)
    returns y_clean and draws nothing."""
    if m <= 0.0:
        return y_clean
    sigma = read_sigma(y_clean, m, v_app, params)
    if sigma > 0.0:
        return min(max(y_clean + sigma * standard_normal(rng_state, rng_spare), -1.0), 1.0)
    return y_clean


@njit(cache=True)
def mss_switch_count(n_avail, p, z):
    """Switches that flip: round(Normal(n p, sqrt(n p (1-p)))), half-up."""
    mu = n_avail * p
    var = mu * (1.0 - p)
    sd = math.sqrt(var) if var > 0.0 else 0.0
    return math.floor(mu + sd * z + 0.5)


# Per-device updates take and return scalars only: in Numba a helper that takes arrays
# costs ~10 ns a call here, more than the physics itself.


@njit(cache=True)
def float_step(g0, dv, step, dead, gmin, gmax):
    """Float: nothing strictly inside the dead zone, else g += step*dV, clamped."""
    if -dead < dv < dead:
        return g0
    return min(max(g0 + step * dv, gmin), gmax)


@njit(cache=True)
def byte_step(g0, dv, gmin, gmax):
    """Byte: g = int(clamp(g + floor(dV + 0.5), 1, 255))."""
    return min(max(g0 + math.floor(dv + 0.5), gmin), gmax)


@njit(cache=True)
def rs_step(g0, dv, pw, rate, vth, gmin, gmax):
    """RS: above threshold, relax toward the rail at rate*(|dV|-Vth)."""
    if dv > vth:
        return min(max(g0 + rate * (dv - vth) * pw * (gmax - g0), gmin), gmax)
    if dv < -vth:
        return min(max(g0 + rate * (-(dv + vth)) * pw * (gmin - g0), gmin), gmax)
    return g0


@njit(cache=True)
def mss_step(x0, dv, pw, n, vt, tau, v_on, v_off, z_on, z_off):
    """MSS: binomial (normal-approximated) switching of N metastable switches; new x."""
    alpha = pw / tau
    p_on = alpha / (1.0 + math.exp(-(dv - v_on) / vt))
    p_off = alpha * (1.0 - 1.0 / (1.0 + math.exp(-(dv + v_off) / vt)))
    n_on = mss_switch_count((1.0 - x0) * n, p_on, z_on)
    n_off = mss_switch_count(x0 * n, p_off, z_off)
    return min(max(x0 + (n_on - n_off) / n, 0.0), 1.0)


@njit(cache=True)
def mss_fraction(r, r_on, r_off):
    """MSS: the switched fraction x of a device of resistance r in [Ron, Roff]."""
    return min(max((r_on * (r - r_off)) / (r * (r_on - r_off)), 0.0), 1.0)


@njit(cache=True)
def set_device(model, params, g, x, side, lane, space, address, value):
    """Set one device's conductance: clamped, byte truncated; MSS through its resistance
    (clamped to [Ron, Roff]) and switched fraction x, g following x."""
    if model == MSS:
        r_on = params[P_MSS_RON]
        r_off = params[P_MSS_ROFF]
        r = 1.0 / value if value > 0.0 else r_off
        xs = mss_fraction(min(max(r, r_on), r_off), r_on, r_off)
        x[side, lane, space, address] = xs
        g[side, lane, space, address] = xs / r_on + (1.0 - xs) / r_off
        return
    v = min(max(value, params[P_GMIN]), params[P_GMAX])
    if model == BYTE:
        v = float(math.trunc(v))
    g[side, lane, space, address] = v


@njit(cache=True)
def set_pair(model, params, g, x, lane, space, address, ga, gb):
    """Set one pair's conductances: set_device on its a-device, then on its b-device."""
    set_device(model, params, g, x, 0, lane, space, address, ga)
    set_device(model, params, g, x, 1, lane, space, address, gb)


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
            y = noisy_read(top / bot, bot, v_app, params, rng_state, rng_spare)
        lane_y[lane] = y
        # The noisy sample drives the back-action: sample once, drive with it, for the
        # core's pulse width (read_pulse_width is the noise bandwidth only).
        vy = v_app * y
        pw = params[P_PW]
    dva = v_app - vy
    dvb = vy + v_app
    gmin = params[P_GMIN]
    gmax = params[P_GMAX]
    # energy V^2 G t of both devices of each driven pair, a then b, in space order
    e_scale = params[P_G_UNIT] * pw
    energy = 0.0
    # One loop per model, so the model branch stays out of the per-pair loop (a shared
    # per-device dispatcher measured up to 45% slower on 64-space lanes).
    if model == FLOAT:
        step = params[P_FLOAT_STEP]
        dead = params[P_FLOAT_DEAD]
        for s in range(n_spaces):
            a = aat[s]
            if a >= 0:
                ga = g[0, lane, s, a]
                gb = g[1, lane, s, a]
                energy += dva * dva * ga * e_scale
                energy += dvb * dvb * gb * e_scale
                g[0, lane, s, a] = float_step(ga, dva, step, dead, gmin, gmax)
                g[1, lane, s, a] = float_step(gb, dvb, step, dead, gmin, gmax)
    elif model == BYTE:
        for s in range(n_spaces):
            a = aat[s]
            if a >= 0:
                ga = g[0, lane, s, a]
                gb = g[1, lane, s, a]
                energy += dva * dva * ga * e_scale
                energy += dvb * dvb * gb * e_scale
                g[0, lane, s, a] = byte_step(ga, dva, gmin, gmax)
                g[1, lane, s, a] = byte_step(gb, dvb, gmin, gmax)
    elif model == RS:
        rate = params[P_RS_RATE]
        vth = params[P_RS_VTH]
        for s in range(n_spaces):
            a = aat[s]
            if a >= 0:
                ga = g[0, lane, s, a]
                gb = g[1, lane, s, a]
                energy += dva * dva * ga * e_scale
                energy += dvb * dvb * gb * e_scale
                g[0, lane, s, a] = rs_step(ga, dva, pw, rate, vth, gmin, gmax)
                g[1, lane, s, a] = rs_step(gb, dvb, pw, rate, vth, gmin, gmax)
    else:  # MSS: draws in order a(on, off), b(on, off), space by space
        n = params[P_MSS_N]
        vt = params[P_MSS_VT]
        tau = params[P_MSS_TAU]
        v_on = params[P_MSS_VON]
        v_off = params[P_MSS_VOFF]
        r_on = params[P_MSS_RON]
        r_off = params[P_MSS_ROFF]
        for s in range(n_spaces):
            a = aat[s]
            if a >= 0:
                for side in range(2):
                    dv = dva if side == 0 else dvb
                    g0 = g[side, lane, s, a]
                    energy += dv * dv * g0 * e_scale
                    z_on = standard_normal(rng_state, rng_spare)
                    z_off = standard_normal(rng_state, rng_spare)
                    xs = mss_step(x[side, lane, s, a], dv, pw, n, vt, tau, v_on, v_off, z_on, z_off)
                    x[side, lane, s, a] = xs
                    g[side, lane, s, a] = xs / r_on + (1.0 - xs) / r_off
    meters[0] += pw
    meters[1] += energy
    return y


@njit(cache=True)
def read_sample(params, rng_state, rng_spare, y_clean, m, v_app):
    """``noisy_read`` for one call from Python (Core.read_sample)."""
    return noisy_read(y_clean, m, v_app, params, rng_state, rng_spare)


@njit(cache=True)
def execute_stream(core, lanes, aat_table, aat_index, opcodes, dials, out_y):
    """Execute a whole instruction stream; step i uses aat_table[aat_index[i]]."""
    model, params, ops, g, x, lane_y, meters, rng_state, rng_spare = core
    for i in range(opcodes.shape[0]):
        out_y[i] = execute(
            model,
            params,
            ops,
            g,
            x,
            lane_y,
            meters,
            rng_state,
            rng_spare,
            lanes[i],
            aat_table[aat_index[i]],
            opcodes[i],
            dials[i],
        )
