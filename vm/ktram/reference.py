"""Pure-NumPy reference of the kT-RAM kernels (same signatures as ``kernels``).

Written for clarity, vectorised over the enabled pairs of an AAT, and kept so that the
Numba kernels can be tested against it on random instruction streams. It draws from the
pure-Python twin of the kernel generator, so with the same state both agree bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from vm.ktram.isa import FEEDBACK, OPK_COEFF, OPK_DIR, OPK_KIND, OPK_LV, OPK_USES_H
from vm.ktram.models import (
    BYTE,
    FLOAT,
    MSS,
    P_ADC_LEVELS,
    P_C2C,
    P_CMP_V,
    P_DRIFT_T0,
    P_ENDURANCE,
    P_FLOAT_DEAD,
    P_FLOAT_STEP,
    P_G_UNIT,
    P_GMAX,
    P_GMIN,
    P_M_REF,
    P_MSS_GAP,
    P_MSS_N,
    P_MSS_ROFF,
    P_MSS_RON,
    P_MSS_TAU,
    P_MSS_VON,
    P_MSS_VT,
    P_NOISE_FL,
    P_NOISE_TH,
    P_NONIDEAL,
    P_PW,
    P_ROW_D2D,
    P_ROW_DRIFT,
    P_ROW_EVENTS,
    P_ROW_STUCK,
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

    sigma^2 = (m_ref/m) (NOISE_TH^2/v^2 + (NOISE_FL (1-y^2))^2) + v_cmp^2/v^2, computed as
    sqrt(m_ref (NOISE_TH^2 + (NOISE_FL (1-y^2) v)^2) + v_cmp^2 m) / (|v| sqrt(m)) (kernels.sigma_of).
    """
    scale = 1.0 / (abs(v_app) * math.sqrt(m))
    fl = params[P_NOISE_FL] * (1.0 - y_clean * y_clean) * v_app
    th = params[P_NOISE_TH]
    cmp = params[P_CMP_V]
    return math.sqrt(params[P_M_REF] * (th * th + fl * fl) + cmp * cmp * m) * scale


def noisy_read(y_clean, m, v_app, params, rng):
    """kernels.noisy_read, drawing from the PyXoshiro twin."""
    if m <= 0.0:
        return y_clean
    sigma = read_sigma(y_clean, m, v_app, params)
    if sigma > 0.0:
        return float(np.clip(y_clean + sigma * rng.fast_normal(), -1.0, 1.0))
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
    n = params[P_MSS_N]
    p_on, p_off = mss_probs(params, dv, pw)

    def count(n_avail, p, z):
        mu = n_avail * p
        var = mu * (1.0 - p)
        return np.floor(mu + np.where(var > 0.0, np.sqrt(np.maximum(var, 0.0)), 0.0) * z + 0.5)

    n_on = count((1.0 - x) * n, p_on, normals[:, 0])
    n_off = count(x * n, p_off, normals[:, 1])
    x_new = np.clip(x + (n_on - n_off) * (1.0 / n), 0.0, 1.0)
    return mss_conductance(params, x_new), x_new


def mss_probs(params, dv, pw):
    """kernels.mss_probs: the (on, off) switching probabilities of a drive dv, pw."""
    alpha = pw / params[P_MSS_TAU]
    with np.errstate(over="ignore"):
        e_on = np.exp(-(dv - params[P_MSS_VON]) / params[P_MSS_VT])
    return alpha / (1.0 + e_on), alpha * (1.0 - 1.0 / (1.0 + e_on * params[P_MSS_GAP]))


def mss_conductance(params, xs):
    """kernels.mss_conductance: xs/Ron + (1-xs)/Roff."""
    return xs / params[P_MSS_RON] + (1.0 - xs) / params[P_MSS_ROFF]


def execute(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni, lane, aat, op, dial):
    if params[P_NONIDEAL] != 0.0:
        return execute_nonideal(
            model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni, lane, aat, op, dial
        )
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
        draws = np.array([rng.fast_normal() for _ in range(4 * spaces.size)]).reshape(-1, 2, 2)
        normals_a, normals_b = draws[:, 0, :], draws[:, 1, :]
    # energy: (dva^2 sum Ga + dvb^2 sum Gb) G_unit t, each sum in space order, before the drive
    sum_a = float(np.add.accumulate(ga)[-1])
    sum_b = float(np.add.accumulate(gb)[-1])
    new_a, x_a = drive_devices(model, params, ga, dva, pw, normals_a, x[0, lane, spaces, addrs])
    new_b, x_b = drive_devices(model, params, gb, dvb, pw, normals_b, x[1, lane, spaces, addrs])
    g[0, lane, spaces, addrs] = new_a
    g[1, lane, spaces, addrs] = new_b
    if x_a is not None:
        x[0, lane, spaces, addrs] = x_a
        x[1, lane, spaces, addrs] = x_b
    meters[0] += pw
    meters[1] += (dva * dva * sum_a + dvb * dvb * sum_b) * (params[P_G_UNIT] * pw)
    return y


def execute_stream(core, lanes, aat_table, aat_index, opcodes, dials, out_y):
    model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni = core
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
            ni,
            lanes[i],
            aat_table[aat_index[i]],
            opcodes[i],
            dials[i],
        )


# ---------------------------------------------------------------------- non-idealities
class Devices:
    """The non-ideal state of a core's devices, read by name (the kernels' twin: rows found
    through the P_ROW_* slots of params)."""

    def __init__(self, params, g, x, ni):
        self.params, self.g, self.x, self.ni = params, g, x, ni
        self.d2d = int(params[P_ROW_D2D])
        self.stuck_row = int(params[P_ROW_STUCK])
        self.events = int(params[P_ROW_EVENTS])
        self.drift = int(params[P_ROW_DRIFT])

    def stuck(self, dev) -> bool:
        return self.stuck_row >= 0 and self.ni[(self.stuck_row,) + tuple(dev)] != 0.0

    def range(self, dev) -> tuple[float, float, float]:
        if self.d2d < 0:
            return float(self.params[P_GMIN]), float(self.params[P_GMAX]), 1.0
        return tuple(float(self.ni[(self.d2d + k,) + tuple(dev)]) for k in range(3))  # type: ignore[return-value]

    def now(self, dev, t) -> float:
        """The device's conductance at time t (drift since its last write), kept in g."""
        if self.drift < 0 or self.stuck(dev):
            return float(self.g[dev])
        nu, t_w, g_w = (float(self.ni[(self.drift + k,) + tuple(dev)]) for k in range(3))
        t0 = float(self.params[P_DRIFT_T0])
        self.g[dev] = g_w * math.pow((t - t_w + t0) / t0, -nu)
        return float(self.g[dev])

    def write(self, dev, value, t) -> None:
        self.g[dev] = value
        if self.drift >= 0:
            self.ni[(self.drift + 1,) + tuple(dev)] = t
            self.ni[(self.drift + 2,) + tuple(dev)] = value


def adc(y, levels):
    """The centre of y's bin among levels equal bins over [-1, 1] (levels 0: y)."""
    if levels <= 0:
        return y
    q = 2.0 / levels
    return -1.0 + (min(max(math.floor((y + 1.0) / q), 0.0), levels - 1.0) + 0.5) * q


def _mss_update(params, x0, dv, pw, z_on, z_off):
    """An MSS device's new switched fraction: binomial (normal-approximated) switching."""
    n = params[P_MSS_N]
    p_on, p_off = mss_probs(params, dv, pw)

    def count(n_avail, p, z):
        mu = n_avail * p
        var = mu * (1.0 - p)
        return math.floor(mu + (math.sqrt(var) if var > 0.0 else 0.0) * z + 0.5)

    n_on, n_off = count((1.0 - x0) * n, p_on, z_on), count(x0 * n, p_off, z_off)
    return min(max(x0 + (n_on - n_off) * (1.0 / n), 0.0), 1.0)


def _model_update(model, params, old, dv, pw, lo, hi, z_on, z_off):
    """The model's new conductance of one device (MSS: its switched fraction)."""
    if model == FLOAT:
        if -params[P_FLOAT_DEAD] < dv < params[P_FLOAT_DEAD]:
            return old
        return min(max(old + params[P_FLOAT_STEP] * dv, lo), hi)
    if model == BYTE:
        return min(max(old + math.floor(dv + 0.5), lo), hi)
    if model == RS:
        vth, rate = params[P_RS_VTH], params[P_RS_RATE]
        if dv > vth:
            return min(max(old + rate * (dv - vth) * pw * (hi - old), lo), hi)
        if dv < -vth:
            return min(max(old + rate * (-(dv + vth)) * pw * (lo - old), lo), hi)
        return old
    return _mss_update(params, old, dv, pw, z_on, z_off)


def drive_device(model, params, devices: Devices, rng, dev, g0, dv, pw, t) -> None:
    """kernels.drive_device: one device driven on a core with non-idealities."""
    z_on = z_off = 0.0
    if model == MSS:  # its two normals come first, whatever follows
        z_on, z_off = rng.fast_normal(), rng.fast_normal()
    if devices.stuck(dev):
        return
    lo, hi, k = devices.range(dev)
    if model == MSS:
        old = float(devices.x[dev])
    else:
        old = g0
        lo, hi = min(lo, g0), max(hi, g0)  # a drifted device is not snapped back against the drive
    new = _model_update(model, params, old, dv, pw, lo, hi, z_on, z_off)
    if new == old:
        return
    if devices.events >= 0:
        devices.ni[(devices.events,) + tuple(dev)] += 1.0
        if params[P_ENDURANCE] > 0 and devices.ni[(devices.events,) + tuple(dev)] > params[P_ENDURANCE]:
            return
    s = params[P_C2C]
    if s > 0.0:
        k *= math.exp(s * rng.fast_normal() - 0.5 * s * s)
    if k != 1.0:
        step = (new - old) * k
        if model == MSS:
            new = min(max(old + step, 0.0), 1.0)
        elif model == BYTE:
            new = min(max(old + math.floor(step + 0.5), lo), hi)
        else:
            new = min(max(old + step, lo), hi)
    if model == MSS:
        devices.x[dev] = new
        if devices.d2d < 0:
            new = float(mss_conductance(params, new))
        else:
            new = new * hi + (1.0 - new) * lo
    elif model == BYTE:  # the nearest whole level, at most hi (kernels.byte_level)
        new = float(min(math.floor(new + 0.5), math.floor(hi)))
    devices.write(dev, new, t)


def execute_nonideal(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni, lane, aat, op, dial):
    """kernels.execute_nonideal, device by device."""
    rng = PyXoshiro(rng_state, rng_spare)
    devices = Devices(params, g, x, ni)
    t = float(meters[0])
    pairs = [(s, int(a)) for s, a in enumerate(np.asarray(aat)) if a >= 0]
    direction = ops[op, OPK_DIR]
    if ops[op, OPK_KIND] == FEEDBACK:
        y = float(lane_y[lane])
        v_app = params[P_VF] if direction > 0 else params[P_VR]
        h = -1.0 if (ops[op, OPK_USES_H] and y < 0.0) else 1.0
        vy = ops[op, OPK_COEFF] * v_app * h
        reported = y
    else:
        if ops[op, OPK_LV]:
            v_nom = params[P_VFLV] if direction > 0 else params[P_VRLV]
        else:
            v_nom = params[P_VF] if direction > 0 else params[P_VR]
        v_app = v_nom * max(1e-3, 1.0 - dial)
        top = bot = 0.0
        for s, a in pairs:
            ga, gb = devices.now((0, lane, s, a), t), devices.now((1, lane, s, a), t)
            top += ga - gb
            bot += ga + gb
        y = noisy_read(top / bot, bot, v_app, params, rng) if bot != 0.0 else 0.0
        reported = adc(y, params[P_ADC_LEVELS])
        lane_y[lane] = reported
        vy = v_app * y  # the analog y drives the back-action
    pw = params[P_PW]
    sums = [0.0, 0.0]  # each side's conductances before the drive, for the energy
    for s, a in pairs:
        for side, dv in ((0, v_app - vy), (1, vy + v_app)):
            dev = (side, lane, s, a)
            g0 = devices.now(dev, t)
            sums[side] += g0
            drive_device(model, params, devices, rng, dev, g0, dv, pw, t)
    dva, dvb = v_app - vy, vy + v_app
    meters[0] += pw
    meters[1] += (dva * dva * sums[0] + dvb * dvb * sums[1]) * (params[P_G_UNIT] * pw)
    return reported


def set_device(model, params, g, x, ni, t, side, lane, space, address, value) -> None:
    """kernels.set_device on a core with non-idealities (a set-up write)."""
    devices = Devices(params, g, x, ni)
    dev = (side, lane, space, address)
    row = devices.events
    if devices.stuck(dev) or (
        row >= 0 and params[P_ENDURANCE] > 0 and ni[(row,) + tuple(dev)] >= params[P_ENDURANCE]
    ):
        return
    lo, hi, _ = devices.range(dev)
    if model == MSS:
        if devices.d2d < 0:
            r_on, r_off = params[P_MSS_RON], params[P_MSS_ROFF]
            r = 1.0 / value if value > 0.0 else r_off
            r = min(max(r, r_on), r_off)
            xs = min(max((r_on * (r - r_off)) / (r * (r_on - r_off)), 0.0), 1.0)
            v = float(mss_conductance(params, xs))
        else:
            xs = min(max((value - lo) / (hi - lo), 0.0), 1.0) if hi > lo else 0.0
            v = xs * hi + (1.0 - xs) * lo
        x[dev] = xs
    else:
        v = min(max(value, lo), hi)
        if model == BYTE:
            v = float(math.trunc(v))
    devices.write(dev, v, t)


def age(params, g, ni, meters, seconds) -> None:
    """kernels.age: time passes; every device's g brought to the new time."""
    meters[0] += seconds
    if int(params[P_ROW_DRIFT]) < 0:
        return
    devices = Devices(params, g, None, ni)
    t = float(meters[0])
    for dev in np.ndindex(g.shape):
        devices.now(dev, t)
