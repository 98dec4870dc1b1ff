"""Numba kernels of the kT-RAM physics: one instruction, and a whole stream in one call.

The core's state is the arrays of a ``vm.state.CoreState`` (model, constants, conductances,
MSS fractions, retained y, meters, random stream, the devices' non-ideal state). ``execute``
takes them one by one: it runs once per instruction, and a bundle handed to a compiled
callee costs more than the physics (see vm.state). ``execute_stream`` takes the bundle and
unpacks it once. An AAT is an int64 array with one entry per space: an address, or -1 for
a disabled space.

Two kernels do the work: ``ideal_step`` (every device perfect: the reference's physics;
inlined into ``execute_ideal_at``, the interpreter's entry, and ``stream_ideal``) and
``execute_nonideal`` (d2d and c2c spread, stuck devices, endurance, drift, the ADC:
vm.ktram.nonideal). One flag in ``params`` picks one; the compiled loop and the stream read
it once, so an ideal core pays nothing for the other. Every draw is a ziggurat normal.

``vm.ktram.reference`` implements the same functions in NumPy; tests compare the two.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

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
from vm.numba_cache import NO_REFCOUNTS
from vm.rng import xo_next, xo_normal_slow, zig_candidate


@njit(cache=True)
def sigma_of(y_clean, m, v_app, th, fl_gain, cmp, m_ref):
    """Standard deviation of one read: thermal + flicker (+ comparator), in quadrature.

    sigma^2 = (m_ref/m) (NOISE_TH^2/v^2 + (NOISE_FL (1-y^2))^2) + v_cmp^2/v^2, that is
    sqrt(m_ref (NOISE_TH^2 + (NOISE_FL (1-y^2) v)^2) + v_cmp^2 m) / (|v| sqrt(m)): the
    divisor does not depend on y, so it is computed beside y = top/bot instead of after it
    (a division off the chain of a read). Scalars only (the hot path's form)."""
    scale = 1.0 / (abs(v_app) * math.sqrt(m))
    fl = fl_gain * (1.0 - y_clean * y_clean) * v_app
    return math.sqrt(m_ref * (th * th + fl * fl) + cmp * cmp * m) * scale


@njit(cache=True)
def read_sigma(y_clean, m, v_app, params):
    """``sigma_of`` with the law's constants read from params."""
    return sigma_of(
        y_clean, m, v_app, params[P_NOISE_TH], params[P_NOISE_FL], params[P_CMP_V], params[P_M_REF]
    )


@njit(cache=True)
def normal(s0, s1, s2, s3):
    """One standard normal from the stream's words (the ziggurat, vm.rng): its fast path
    inline, the rare one out of line. Every kT-RAM draw (read noise, MSS switching, c2c)
    is one of these: 2.0 ns against the polar method's 6.1 (issue 23)."""
    r, s0, s1, s2, s3 = xo_next(s0, s1, s2, s3)
    idx, sign, z, accepted = zig_candidate(r)
    if not accepted:
        z, s0, s1, s2, s3 = xo_normal_slow(idx, z, sign, s0, s1, s2, s3)
    return z, s0, s1, s2, s3


@njit(cache=True)
def array_normal(rng_state):
    """``normal`` drawn through the state array (the non-ideal path, calls from Python)."""
    z, s0, s1, s2, s3 = normal(rng_state[0], rng_state[1], rng_state[2], rng_state[3])
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return z


@njit(cache=True)
def noisy_read(y_clean, m, v_app, params, rng_state):
    """One read's reported (and driving) y: y_clean plus one draw at the read's sigma,
    clipped to [-1, 1]. A clean read (sigma 0: read_noise = 0) or an empty one (m <= 0)
    returns y_clean and draws nothing."""
    if m <= 0.0:
        return y_clean
    sigma = read_sigma(y_clean, m, v_app, params)
    if sigma > 0.0:
        return min(max(y_clean + sigma * array_normal(rng_state), -1.0), 1.0)
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
def mss_probs(dv, pw, vt, tau, v_on, gap):
    """MSS: the (on, off) switching probabilities of a switch driven by dv for pw. The same
    for every device one drive reaches on one side: computed once per instruction and side,
    not per pair (four exp per pair were most of an MSS instruction). The off exponent
    exp(-(dv + Voff)/VT) is the on one times gap = exp(-(Von + Voff)/VT) (P_MSS_GAP)."""
    alpha = pw / tau
    e_on = math.exp(-(dv - v_on) / vt)
    p_on = alpha / (1.0 + e_on)
    p_off = alpha * (1.0 - 1.0 / (1.0 + e_on * gap))
    return p_on, p_off


@njit(cache=True)
def mss_move(x0, p_on, p_off, n, z_on, z_off):
    """MSS: binomial (normal-approximated) switching of N metastable switches; new x."""
    n_on = mss_switch_count((1.0 - x0) * n, p_on, z_on)
    n_off = mss_switch_count(x0 * n, p_off, z_off)
    return min(max(x0 + (n_on - n_off) * (1.0 / n), 0.0), 1.0)


@njit(cache=True)
def mss_conductance(xs, r_on, r_off):
    """MSS: the conductance of a device switched to fraction xs (divisions, as the core's
    initial conductances are computed: products with the reciprocals differ in the last
    bit, and a device that did not switch would change)."""
    return xs / r_on + (1.0 - xs) / r_off


@njit(cache=True)
def mss_step(x0, dv, pw, n, vt, tau, v_on, gap, z_on, z_off):
    """MSS: one device's new x (``mss_probs`` then ``mss_move``)."""
    p_on, p_off = mss_probs(dv, pw, vt, tau, v_on, gap)
    return mss_move(x0, p_on, p_off, n, z_on, z_off)


@njit(cache=True)
def mss_fraction(r, r_on, r_off):
    """MSS: the switched fraction x of a device of resistance r in [Ron, Roff]."""
    return min(max((r_on * (r - r_off)) / (r * (r_on - r_off)), 0.0), 1.0)


@njit(cache=True)
def set_device(model, params, g, x, ni, t, side, lane, space, address, value):
    """Set one device's conductance at time t: clamped (to its own range under d2d), byte
    truncated; MSS through its resistance (clamped to [Ron, Roff]) and switched fraction x,
    g following x. A stuck or worn-out device keeps its value; under drift the write
    restarts the device's drift clock. Not a switching event (a set-up write)."""
    if params[P_NONIDEAL] != 0.0:
        set_device_nonideal(model, params, g, x, ni, t, side, lane, space, address, value)
        return
    set_device_ideal(model, params, g, x, side, lane, space, address, value)


@njit(cache=True)
def set_device_ideal(model, params, g, x, side, lane, space, address, value):
    """``set_device`` on an ideal core (compiled without the non-ideal device functions)."""
    if model == MSS:
        r_on = params[P_MSS_RON]
        r_off = params[P_MSS_ROFF]
        r = 1.0 / value if value > 0.0 else r_off
        xs = mss_fraction(min(max(r, r_on), r_off), r_on, r_off)
        x[side, lane, space, address] = xs
        g[side, lane, space, address] = mss_conductance(xs, r_on, r_off)
        return
    v = min(max(value, params[P_GMIN]), params[P_GMAX])
    if model == BYTE:
        v = float(math.trunc(v))
    g[side, lane, space, address] = v


@njit(cache=True)
def set_pair(model, params, g, x, ni, t, lane, space, address, ga, gb):
    """Set one pair's conductances: set_device on its a-device, then on its b-device."""
    set_device(model, params, g, x, ni, t, 0, lane, space, address, ga)
    set_device(model, params, g, x, ni, t, 1, lane, space, address, gb)


@njit(cache=True)
def execute(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni, lane, aat, op, dial):
    """Execute one instruction on one lane through one AAT; returns y (feedback: retained y).
    ni: the per-device non-ideality array (CoreState.per_device): an ideal core runs
    ``execute_ideal``, which never reads it, a core with non-idealities ``execute_nonideal``.
    rng_spare is not read (every kT-RAM draw is a ziggurat normal); kept for the bundle."""
    if params[P_NONIDEAL] != 0.0:
        return execute_nonideal(
            model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni, lane, aat, op, dial
        )
    return execute_ideal(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, lane, aat, op, dial)


# The ideal core's hot path. ``ideal_step`` is inlined into its callers at Numba's IR level
# (inline="always"): a compiled call with nine array arguments and a per-step AAT view
# cost more than a 1-space instruction's physics (issue 23: 23-27 ns). The stream's random
# words live in scalars (s0..s3) for the whole stream; the model and kind branches are
# taken once per instruction, outside the per-pair loops.


@njit(cache=True, inline="always")
def read_voltage(params, ops, op, dial):
    """A read's applied voltage: the nominal (low or full, by direction) times the dial."""
    direction = ops[op, OPK_DIR]
    if ops[op, OPK_LV] != 0:
        v_nom = params[P_VFLV] if direction > 0 else params[P_VRLV]
    else:
        v_nom = params[P_VF] if direction > 0 else params[P_VR]
    return v_nom * max(1e-3, 1.0 - dial)


@njit(cache=True, inline="always")
def ideal_step(model, params, ops, g, x, lane_y, meters, lane, aats, row, op, dial, s0, s1, s2, s3):
    """One instruction on an ideal core through AAT row ``row`` of ``aats``; returns
    (y, s0, s1, s2, s3): y as ``execute_ideal`` returns it, and the stream's words after."""
    n_spaces = aats.shape[1]
    # unsigned indices: Numba wraps a negative signed index around (a test and an add per
    # index of every access); none of these is negative
    lane = np.uint64(lane)
    row = np.uint64(row)
    op = np.uint64(op)
    if ops[op, OPK_KIND] == FEEDBACK:
        y = lane_y[lane]
        v_app = params[P_VF] if ops[op, OPK_DIR] > 0 else params[P_VR]
        h = 1.0
        if ops[op, OPK_USES_H] != 0 and y < 0.0:
            h = -1.0
        vy = ops[op, OPK_COEFF] * v_app * h
    else:
        v_app = read_voltage(params, ops, op, dial)
        top = 0.0
        bot = 0.0
        for si in range(n_spaces):
            s = np.uint64(si)
            a = aats[row, s]
            if a >= 0:
                a = np.uint64(a)
                ga = g[0, lane, s, a]
                gb = g[1, lane, s, a]
                top += ga - gb
                bot += ga + gb
        y = 0.0
        if bot != 0.0:
            y = top / bot
        noisy = params[P_NOISE_TH] != 0.0 or params[P_NOISE_FL] != 0.0 or params[P_CMP_V] != 0.0
        if bot > 0.0 and noisy:  # a clean read (sigma 0) or an empty one draws nothing
            sigma = sigma_of(
                y, bot, v_app, params[P_NOISE_TH], params[P_NOISE_FL], params[P_CMP_V], params[P_M_REF]
            )
            if sigma > 0.0:
                z, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                y = min(max(y + sigma * z, -1.0), 1.0)
        lane_y[lane] = y
        # The noisy sample drives the back-action: sample once, drive with it, for the
        # core's pulse width (read_pulse_width is the noise bandwidth only).
        vy = v_app * y
    pw = params[P_PW]
    dva = v_app - vy
    dvb = vy + v_app
    gmin = params[P_GMIN]
    gmax = params[P_GMAX]
    # energy V^2 G t of the driven devices: every a-device sees dva, every b-device dvb, so
    # it is (dva^2 sum Ga + dvb^2 sum Gb) G_unit t, the sums taken before the drive (one
    # add per device on two independent chains; a running energy sum, two dependent adds
    # per pair, bounded wide lanes)
    sum_a = 0.0
    sum_b = 0.0
    # One loop per model, so the model branch stays out of the per-pair loop (a shared
    # per-device dispatcher measured up to 45% slower on 64-space lanes).
    if model == FLOAT:
        step = params[P_FLOAT_STEP]
        dead = params[P_FLOAT_DEAD]
        for si in range(n_spaces):
            s = np.uint64(si)
            a = aats[row, s]
            if a >= 0:
                a = np.uint64(a)
                ga = g[0, lane, s, a]
                gb = g[1, lane, s, a]
                sum_a += ga
                sum_b += gb
                g[0, lane, s, a] = float_step(ga, dva, step, dead, gmin, gmax)
                g[1, lane, s, a] = float_step(gb, dvb, step, dead, gmin, gmax)
    elif model == BYTE:
        for si in range(n_spaces):
            s = np.uint64(si)
            a = aats[row, s]
            if a >= 0:
                a = np.uint64(a)
                ga = g[0, lane, s, a]
                gb = g[1, lane, s, a]
                sum_a += ga
                sum_b += gb
                g[0, lane, s, a] = byte_step(ga, dva, gmin, gmax)
                g[1, lane, s, a] = byte_step(gb, dvb, gmin, gmax)
    elif model == RS:
        rate = params[P_RS_RATE]
        vth = params[P_RS_VTH]
        for si in range(n_spaces):
            s = np.uint64(si)
            a = aats[row, s]
            if a >= 0:
                a = np.uint64(a)
                ga = g[0, lane, s, a]
                gb = g[1, lane, s, a]
                sum_a += ga
                sum_b += gb
                g[0, lane, s, a] = rs_step(ga, dva, pw, rate, vth, gmin, gmax)
                g[1, lane, s, a] = rs_step(gb, dvb, pw, rate, vth, gmin, gmax)
    else:  # MSS: draws in order a(on, off), b(on, off), space by space
        n = params[P_MSS_N]
        r_on = params[P_MSS_RON]
        r_off = params[P_MSS_ROFF]
        vt = params[P_MSS_VT]
        tau = params[P_MSS_TAU]
        pa_on, pa_off = mss_probs(dva, pw, vt, tau, params[P_MSS_VON], params[P_MSS_GAP])
        pb_on, pb_off = mss_probs(dvb, pw, vt, tau, params[P_MSS_VON], params[P_MSS_GAP])
        for si in range(n_spaces):
            s = np.uint64(si)
            a = aats[row, s]
            if a >= 0:
                a = np.uint64(a)
                sum_a += g[0, lane, s, a]
                z_on, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                z_off, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                xs = mss_move(x[0, lane, s, a], pa_on, pa_off, n, z_on, z_off)
                x[0, lane, s, a] = xs
                g[0, lane, s, a] = mss_conductance(xs, r_on, r_off)
                sum_b += g[1, lane, s, a]
                z_on, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                z_off, s0, s1, s2, s3 = normal(s0, s1, s2, s3)
                xs = mss_move(x[1, lane, s, a], pb_on, pb_off, n, z_on, z_off)
                x[1, lane, s, a] = xs
                g[1, lane, s, a] = mss_conductance(xs, r_on, r_off)
    meters[0] += pw
    meters[1] += (dva * dva * sum_a + dvb * dvb * sum_b) * (params[P_G_UNIT] * pw)
    return y, s0, s1, s2, s3


@njit(cache=True, inline="always")
def ideal_at(model, params, ops, g, x, lane_y, meters, rng_state, lane, aats, row, op, dial):
    """``ideal_step`` through the stream's state array (one instruction of the compiled
    interpreter: the words are loaded and stored around it, since other devices draw from
    the same stream between kT-RAM instructions)."""
    y, s0, s1, s2, s3 = ideal_step(
        model,
        params,
        ops,
        g,
        x,
        lane_y,
        meters,
        lane,
        aats,
        row,
        op,
        dial,
        rng_state[0],
        rng_state[1],
        rng_state[2],
        rng_state[3],
    )
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return y


# The hot kernels compile without reference counting (NO_REFCOUNTS): they allocate
# nothing, and the counts Numba adds for array arguments, on entry and exit and for an
# inlined callee's, were ~14 atomic calls an instruction (~100 ns, most of a 1-space
# instruction). A function compiled so must not create arrays, only index them.
@njit(**NO_REFCOUNTS)
def execute_ideal_at(model, params, ops, g, x, lane_y, meters, rng_state, lane, aats, row, op, dial):
    """``execute`` on an ideal core (every device perfect, time without effect) through
    AAT row ``row`` of the table ``aats`` (the compiled interpreter's form: no view)."""
    return ideal_at(model, params, ops, g, x, lane_y, meters, rng_state, lane, aats, row, op, dial)


@njit(**NO_REFCOUNTS)
def execute_ideal(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, lane, aat, op, dial):
    """``execute_ideal_at`` through one AAT (an int64 array, one entry per space). The row
    is an int64, not the literal 0: a literal would compile a second ``execute_ideal_at``
    (~6 s of a cold run)."""
    return execute_ideal_at(
        model, params, ops, g, x, lane_y, meters, rng_state, lane, aat[None, :], np.int64(0), op, dial
    )


@njit(cache=True)
def read_sample(params, rng_state, rng_spare, y_clean, m, v_app):
    """``noisy_read`` for one call from Python (Core.read_sample)."""
    return noisy_read(y_clean, m, v_app, params, rng_state)


@njit(cache=True)
def execute_stream(core, lanes, aat_table, aat_index, opcodes, dials, out_y):
    """Execute a whole instruction stream; step i uses aat_table[aat_index[i]]."""
    model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni = core
    if params[P_NONIDEAL] != 0.0:  # checked once per stream
        stream_nonideal(
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
            lanes,
            aat_table,
            aat_index,
            opcodes,
            dials,
            out_y,
        )
    else:
        stream_ideal(
            model,
            params,
            ops,
            g,
            x,
            lane_y,
            meters,
            rng_state,
            lanes,
            aat_table,
            aat_index,
            opcodes,
            dials,
            out_y,
        )


@njit(**NO_REFCOUNTS)  # see execute_ideal_at
def stream_ideal(
    model, params, ops, g, x, lane_y, meters, rng_state, lanes, aat_table, aat_index, opcodes, dials, out_y
):
    """The ideal core's stream: ``ideal_step`` in a loop, the random words in registers."""
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    for i in range(opcodes.shape[0]):
        out_y[i], s0, s1, s2, s3 = ideal_step(
            model,
            params,
            ops,
            g,
            x,
            lane_y,
            meters,
            lanes[i],
            aat_table,
            aat_index[i],
            opcodes[i],
            dials[i],
            s0,
            s1,
            s2,
            s3,
        )
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3


@njit(cache=True)
def stream_nonideal(
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
    lanes,
    aat_table,
    aat_index,
    opcodes,
    dials,
    out_y,
):
    """A stream on a core with non-idealities: the loop over ``execute_nonideal``."""
    for i in range(opcodes.shape[0]):
        out_y[i] = execute_nonideal(
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
# vm.ktram.nonideal: d2d and c2c spread, stuck devices, endurance, drift, the ADC. ni is
# float64[rows, 2, lanes, spaces, addresses]; each feature's first row is in a P_ROW_*
# slot (-1: off). Written for clarity over speed: the ideal path above never comes here.


@njit(cache=True)
def adc(y, levels):
    """A lane read through a B-bit ADC over [-1, 1]: the centre of its bin of width
    2 / levels (levels = 2**B); y itself when levels is 0."""
    if levels <= 0.0:
        return y
    q = 2.0 / levels
    k = min(max(math.floor((y + 1.0) / q), 0.0), levels - 1.0)
    return -1.0 + (k + 0.5) * q


@njit(cache=True)
def is_stuck(params, ni, side, lane, space, address):
    row = int(params[P_ROW_STUCK])
    return row >= 0 and ni[row, side, lane, space, address] != 0.0


@njit(cache=True)
def device_range(params, ni, side, lane, space, address):
    """(GMIN, GMAX, step multiplier) of one device: its own under d2d, else the model's."""
    row = int(params[P_ROW_D2D])
    if row < 0:
        return params[P_GMIN], params[P_GMAX], 1.0
    return (
        ni[row, side, lane, space, address],
        ni[row + 1, side, lane, space, address],
        ni[row + 2, side, lane, space, address],
    )


@njit(cache=True)
def device_now(params, g, ni, t, side, lane, space, address):
    """One device's conductance at modeled time t: under drift g_w ((t - t_w + T0)/T0)^-nu
    from its last write (stored back into g, so g shows it), else g as it is. A stuck
    device does not drift."""
    row = int(params[P_ROW_DRIFT])
    if row < 0 or is_stuck(params, ni, side, lane, space, address):
        return g[side, lane, space, address]
    value = drifted(
        ni[row + 2, side, lane, space, address],
        ni[row + 1, side, lane, space, address],
        ni[row, side, lane, space, address],
        t,
        params[P_DRIFT_T0],
    )
    g[side, lane, space, address] = value
    return value


@njit(cache=True)
def record_write(params, g, ni, t, side, lane, space, address, value):
    """Store a device's new conductance; under drift its clock restarts at t."""
    g[side, lane, space, address] = value
    row = int(params[P_ROW_DRIFT])
    if row >= 0:
        ni[row + 1, side, lane, space, address] = t
        ni[row + 2, side, lane, space, address] = value


@njit(cache=True)
def worn_out(params, ni, side, lane, space, address):
    """Whether a device has used up its endurance (it moves no more)."""
    row = int(params[P_ROW_EVENTS])
    limit = params[P_ENDURANCE]
    return row >= 0 and limit > 0.0 and ni[row, side, lane, space, address] >= limit


@njit(cache=True)
def set_device_nonideal(model, params, g, x, ni, t, side, lane, space, address, value):
    """set_device on a core with non-idealities: its own range, stuck and worn-out devices
    unchanged, the drift clock restarted."""
    if is_stuck(params, ni, side, lane, space, address) or worn_out(params, ni, side, lane, space, address):
        return
    lo, hi, _ = device_range(params, ni, side, lane, space, address)
    if model == MSS:
        if int(params[P_ROW_D2D]) < 0:
            r_on = params[P_MSS_RON]
            r_off = params[P_MSS_ROFF]
            r = 1.0 / value if value > 0.0 else r_off
            xs = mss_fraction(min(max(r, r_on), r_off), r_on, r_off)
            v = mss_conductance(xs, r_on, r_off)
        else:
            xs = min(max((value - lo) / (hi - lo), 0.0), 1.0) if hi > lo else 0.0
            v = xs * hi + (1.0 - xs) * lo
        x[side, lane, space, address] = xs
    else:
        v = min(max(value, lo), hi)
        if model == BYTE:
            v = float(math.trunc(v))
    record_write(params, g, ni, t, side, lane, space, address, v)


@njit(cache=True)
def drifted(g_w, t_w, nu, t, t0):
    """The drift law: a device written to g_w at t_w, seen at t."""
    return g_w * ((t - t_w + t0) / t0) ** (-nu)


@njit(cache=True)
def byte_level(v, hi):
    """A byte device's whole level after an event: the nearest to v, at most hi. A drifted
    start lies between levels, just below the one last written: truncating it lost a level
    on every write under drift (an up step of 2 became 1, a down step 3), which stopped a
    byte target learning at any drift."""
    return float(min(math.floor(v + 0.5), math.floor(hi)))


@njit(cache=True)
def scaled_step(model, old, new, k, lo, hi):
    """A switching event's change new - old scaled by k (d2d step, c2c draw), clamped."""
    if model == MSS:
        return min(max(old + (new - old) * k, 0.0), 1.0)
    if model == BYTE:
        return min(max(old + math.floor((new - old) * k + 0.5), lo), hi)
    return min(max(old + (new - old) * k, lo), hi)


@njit(cache=True)
def execute_nonideal(model, params, ops, g, x, lane_y, meters, rng_state, rng_spare, ni, lane, aat, op, dial):
    """``execute`` on a core with non-idealities. Same voltages, energy and draw order as
    ``execute_ideal``, and per device:

    - drift: every enabled device is first brought to the present (``drifted``), a stuck
      one excepted; a read sees those conductances and reports through the ADC (the
      back-action drives with the analog y);
    - each device's drive is the model's own update on the device's own range (d2d),
      widened to take in a drifted g0 (a drive never snaps a device back against its own
      direction); a drive that would change the device is a switching event (counted);
      a stuck device, or one past its endurance, does not move; the change is scaled by
      the device's step multiplier (d2d) and a lognormal draw of the event (c2c), drawn
      after the event's own draws (MSS draws its two normals first, whatever follows);
    - a write restarts the device's drift clock.

    Written out in one loop with scalar helpers: in Numba a helper taking arrays costs
    more per device than the physics."""
    t = meters[0]
    r_d2d = int(params[P_ROW_D2D])
    r_stuck = int(params[P_ROW_STUCK])
    r_events = int(params[P_ROW_EVENTS])
    r_drift = int(params[P_ROW_DRIFT])
    t0 = params[P_DRIFT_T0]
    n_spaces = aat.shape[0]
    if r_drift >= 0:
        for s in range(n_spaces):
            a = aat[s]
            if a >= 0:
                for side in range(2):
                    if r_stuck < 0 or ni[r_stuck, side, lane, s, a] == 0.0:
                        g[side, lane, s, a] = drifted(
                            ni[r_drift + 2, side, lane, s, a],
                            ni[r_drift + 1, side, lane, s, a],
                            ni[r_drift, side, lane, s, a],
                            t,
                            t0,
                        )
    direction = ops[op, OPK_DIR]
    if ops[op, OPK_KIND] == FEEDBACK:
        y = lane_y[lane]
        v_app = params[P_VF] if direction > 0 else params[P_VR]
        h = 1.0
        if ops[op, OPK_USES_H] != 0 and y < 0.0:
            h = -1.0
        vy = ops[op, OPK_COEFF] * v_app * h
        reported = y
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
            y = noisy_read(top / bot, bot, v_app, params, rng_state)
        reported = adc(y, params[P_ADC_LEVELS])
        lane_y[lane] = reported
        vy = v_app * y
    pw = params[P_PW]
    dva = v_app - vy
    dvb = vy + v_app
    sum_a = 0.0  # the devices' conductances before the drive, for the energy (ideal_step)
    sum_b = 0.0
    endurance = params[P_ENDURANCE]
    c2c = params[P_C2C]
    for s in range(n_spaces):
        a = aat[s]
        if a < 0:
            continue
        for side in range(2):
            dv = dva if side == 0 else dvb
            g0 = g[side, lane, s, a]
            if side == 0:
                sum_a += g0
            else:
                sum_b += g0
            z_on = 0.0
            z_off = 0.0
            if model == MSS:
                z_on = array_normal(rng_state)
                z_off = array_normal(rng_state)
            if r_stuck >= 0 and ni[r_stuck, side, lane, s, a] != 0.0:
                continue
            lo = params[P_GMIN]
            hi = params[P_GMAX]
            k = 1.0
            if r_d2d >= 0:
                lo = ni[r_d2d, side, lane, s, a]
                hi = ni[r_d2d + 1, side, lane, s, a]
                k = ni[r_d2d + 2, side, lane, s, a]
            if model == MSS:
                old = x[side, lane, s, a]
                new = mss_step(
                    old,
                    dv,
                    pw,
                    params[P_MSS_N],
                    params[P_MSS_VT],
                    params[P_MSS_TAU],
                    params[P_MSS_VON],
                    params[P_MSS_GAP],
                    z_on,
                    z_off,
                )
            else:
                old = g0
                lo = min(lo, g0)
                hi = max(hi, g0)
                if model == FLOAT:
                    new = float_step(g0, dv, params[P_FLOAT_STEP], params[P_FLOAT_DEAD], lo, hi)
                elif model == BYTE:
                    new = byte_step(g0, dv, lo, hi)
                else:
                    new = rs_step(g0, dv, pw, params[P_RS_RATE], params[P_RS_VTH], lo, hi)
            if new == old:
                continue  # no switching: not an event
            if r_events >= 0:
                count = ni[r_events, side, lane, s, a] + 1.0
                ni[r_events, side, lane, s, a] = count
                if endurance > 0.0 and count > endurance:
                    continue  # worn out: the event is counted, the device does not move
            if c2c > 0.0:
                k *= math.exp(c2c * array_normal(rng_state) - 0.5 * c2c * c2c)
            if k != 1.0:
                new = scaled_step(model, old, new, k, lo, hi)
            if model == MSS:
                x[side, lane, s, a] = new
                if r_d2d < 0:
                    new = mss_conductance(new, params[P_MSS_RON], params[P_MSS_ROFF])
                else:
                    new = new * hi + (1.0 - new) * lo
            elif model == BYTE:
                new = byte_level(new, hi)
            g[side, lane, s, a] = new
            if r_drift >= 0:
                ni[r_drift + 1, side, lane, s, a] = t
                ni[r_drift + 2, side, lane, s, a] = new
    meters[0] += pw
    meters[1] += (dva * dva * sum_a + dvb * dvb * sum_b) * (params[P_G_UNIT] * pw)
    return reported


@njit(cache=True)
def set_pair_ideal(model, params, g, x, lane, space, address, ga, gb):
    """``set_pair`` on an ideal core."""
    set_device_ideal(model, params, g, x, 0, lane, space, address, ga)
    set_device_ideal(model, params, g, x, 1, lane, space, address, gb)


@njit(cache=True)
def pair_sums_ideal(g, lane, aat):
    """``pair_sums`` on an ideal core (no drift: the stored conductances)."""
    sum_a = 0.0
    sum_b = 0.0
    for s in range(aat.shape[0]):
        a = aat[s]
        if a >= 0:
            sum_a += g[0, lane, s, a]
            sum_b += g[1, lane, s, a]
    return sum_a, sum_b


@njit(cache=True)
def pair_sums(params, g, ni, t, lane, aat):
    """(sum Ga, sum Gb) over an AAT's enabled pairs at time t (drift applied): GAB."""
    sum_a = 0.0
    sum_b = 0.0
    for s in range(aat.shape[0]):
        a = aat[s]
        if a >= 0:
            sum_a += device_now(params, g, ni, t, 0, lane, s, a)
            sum_b += device_now(params, g, ni, t, 1, lane, s, a)
    return sum_a, sum_b


@njit(cache=True)
def sync(params, g, ni, t):
    """Every device's g brought to time t (drift); nothing without drift. Idempotent: the
    future depends on g_w and t_w only, never on when g was last brought up to date."""
    if int(params[P_ROW_DRIFT]) < 0:
        return
    for side in range(2):
        for lane in range(g.shape[1]):
            for s in range(g.shape[2]):
                for a in range(g.shape[3]):
                    device_now(params, g, ni, t, side, lane, s, a)


@njit(cache=True)
def age(params, g, ni, meters, seconds):
    """AGE: seconds of modeled time pass with no drive and no energy; drift acts."""
    meters[0] += seconds
    sync(params, g, ni, meters[0])
