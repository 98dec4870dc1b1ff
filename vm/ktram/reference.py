"""Pure-NumPy reference of the kT-RAM kernels (same signatures as ``kernels``).

Written for clarity, vectorised over the enabled pairs of an AAT, and kept so that the
Numba kernels can be tested against it on random instruction streams. It draws from the
pure-Python twin of the kernel generator, so with the same state both agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from vm.ktram.isa import FEEDBACK, OPK_COEFF, OPK_DIR, OPK_KIND, OPK_LV, OPK_USES_H
from vm.ktram.models import (
    BYTE,
    FLOAT,
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
from vm.rng import PyXoshiro


def read_sigma(y_clean, m, v_app, params):
    """Standard deviation of one read: thermal + flicker (+ comparator), in quadrature.

    sigma^2 = (m_ref/m) (NOISE_TH^2/v^2 + (NOISE_FL (1-y^2))^2) + v_cmp^2/v^2, written over
    one common denominator m v^2.
    """
    fl = params[P_NOISE_FL] * (1.0 - y_clean * y_clean) * v_app
    th = params[P_NOISE_TH]
    cmp = params[P_CMP_V]
    return float(np.sqrt((params[P_M_REF] * (th * th + fl * fl) + cmp * cmp * m) / (m * v_app * v_app)))


def noisy_read(y_clean, m, v_app, params, rng):
    """kernels.noisy_read, drawing from the PyXoshiro twin."""
    if m <= 0.0:
        return y_clean
    sigma = read_sigma(y_clean, m, v_app, params)
    if sigma > 0.0:
        return float(np.clip(y_clean + sigma * rng.standard_normal(), -1.0, 1.0))
    return y_clean


def drive_devices(model, params, g, dv, pw, normals=None, x=None):
    """New conductances (and MSS fractions) of devices g (1-D) all driven by dv volts.

    ``normals``: for MSS, shape (len(g), 2): the (on, off) draws of each device.
    """
    gmin, gmax = params[P_GMIN], params[P_GMAX]
    if model == FLOAT:
        dead = params[P_FLOAT_DEAD]
        if -dead < dv < dead:
            return g.copy(), None
        return np.clip(g + params[P_FLOAT_STEP] * dv, gmin, gmax), None
    if model == BYTE:
        return np.clip(g + np.floor(dv + 0.5), gmin, gmax), None
    if model == RS:
        vth = params[P_RS_VTH]
        if dv > vth:
            return np.clip(g + params[P_RS_RATE] * (dv - vth) * pw * (gmax - g), gmin, gmax), None
        if dv < -vth:
            return np.clip(g + params[P_RS_RATE] * (-(dv + vth)) * pw * (gmin - g), gmin, gmax), None
        return g.copy(), None
    # MSS
    n, vt = params[P_MSS_N], params[P_MSS_VT]
    alpha = pw / params[P_MSS_TAU]
    with np.errstate(over="ignore"):
        p_on = alpha / (1.0 + np.exp(-(dv - params[P_MSS_VON]) / vt))
        p_off = alpha * (1.0 - 1.0 / (1.0 + np.exp(-(dv + params[P_MSS_VOFF]) / vt)))

    def count(n_avail, p, z):
        mu = n_avail * p
        var = mu * (1.0 - p)
        return np.floor(mu + np.where(var > 0.0, np.sqrt(np.maximum(var, 0.0)), 0.0) * z + 0.5)

    n_on = count((1.0 - x) * n, p_on, normals[:, 0])
    n_off = count(x * n, p_off, normals[:, 1])
    x_new = np.clip(x + (n_on - n_off) / n, 0.0, 1.0)
    return x_new / params[P_MSS_RON] + (1.0 - x_new) / params[P_MSS_ROFF], x_new


def execute(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, lane, aat, op, dial):
    rng = PyXoshiro(rng_state, rng_spare)
    aat = np.asarray(aat)
    spaces = np.flatnonzero(aat >= 0)
    addrs = aat[spaces]
    ga, gb = g[0, lane, spaces, addrs], g[1, lane, spaces, addrs]
    direction = ops[op, OPK_DIR]
    if ops[op, OPK_KIND] == FEEDBACK:
        y = float(lane_y[lane])
        v_app = params[P_VF] if direction > 0 else params[P_VR]
        h = -1.0 if (ops[op, OPK_USES_H] and y < 0.0) else 1.0
        vy = ops[op, OPK_COEFF] * v_app * h
        pw = params[P_PW]
    else:
        if ops[op, OPK_LV]:
            v_nom = params[P_VFLV] if direction > 0 else params[P_VRLV]
        else:
            v_nom = params[P_VF] if direction > 0 else params[P_VR]
        v_app = v_nom * max(1e-3, 1.0 - dial)
        # pair by pair, in space order (a sequential sum, unlike np.sum's pairwise one)
        top = float(np.add.accumulate(ga - gb)[-1]) if spaces.size else 0.0
        bot = float(np.add.accumulate(ga + gb)[-1]) if spaces.size else 0.0
        y = 0.0
        if bot != 0.0:
            y = noisy_read(top / bot, bot, v_app, params, rng)
        lane_y[lane] = y
        vy = v_app * y
        pw = params[P_PW]  # a read drives for the core's pulse width
    dva, dvb = v_app - vy, vy + v_app
    if not spaces.size:
        meters[0] += pw
        return y
    normals_a = normals_b = None
    if model not in (FLOAT, BYTE, RS):
        # draw order: space by space, a-device (on, off) then b-device (on, off)
        draws = np.array([rng.standard_normal() for _ in range(4 * spaces.size)]).reshape(-1, 2, 2)
        normals_a, normals_b = draws[:, 0, :], draws[:, 1, :]
    unit = params[P_G_UNIT]
    energy_terms = np.stack([dva * dva * ga * unit * pw, dvb * dvb * gb * unit * pw], axis=1).ravel()
    new_a, x_a = drive_devices(model, params, ga, dva, pw, normals_a, x[0, lane, spaces, addrs])
    new_b, x_b = drive_devices(model, params, gb, dvb, pw, normals_b, x[1, lane, spaces, addrs])
    g[0, lane, spaces, addrs] = new_a
    g[1, lane, spaces, addrs] = new_b
    if x_a is not None:
        x[0, lane, spaces, addrs] = x_a
        x[1, lane, spaces, addrs] = x_b
    meters[0] += pw
    meters[1] += float(np.add.accumulate(energy_terms)[-1])
    return y


def execute_stream(core, lanes, aat_table, aat_index, opcodes, dials, out_y):
    model, params, ops, g, x, lane_y, meters, rng_state, rng_spare = core
    for i in range(len(opcodes)):
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
