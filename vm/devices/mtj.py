"""VCMA-MTJ kernels: the switching model, p-bit arrays, probabilistic differential pairs.

Model (PHYSICS.md section 2; parameters in ``vm.config.MTJ_DEVICE_KEYS``):

- Precessional switching for a pulse of amplitude V and width t <= t_prec:
  ``P = sigmoid((V - v50_i) / w) * D(t) / D(t*)`` with ``D(t) = (1 - cos(pi t/t_half)
  e^(-t/tau_phi)) / 2`` and t* its first peak, so a pulse at (v50, t*) switches half the
  time (the seed's 1.5 V and ~700 ps). ``w = window * T/300``; v50_i carries the
  device-to-device spread.
- A longer pulse switches thermally for the rest of its width (Neel-Brown):
  ``P = 1 - (1 - P_prec(t_prec)) exp(-(t - t_prec)/tau)``, ``tau = tau0 exp(Delta)``,
  ``Delta = delta0 (300/T) max(0, 1 - V/vc)``.
- Read: ``R = rp`` (state 0, parallel) or ``rp (1 + TMR(V))`` (state 1), ``TMR(V) =
  tmr/(1 + (V/vh)^2)``; one read multiplies G by (1 + read_noise z).

A probabilistic differential pair is a data-bit D and a p-bit P in one cell read as
G(D) - G(P). Both are stored as "1 = parallel (high G)"; a weight's sign sets D. Each
use resets P to D's state and pulses it at the amplitude whose switching probability is
q: a switched P makes the cell +-dG (kept), an unswitched one 0 (dropped).
"""

from __future__ import annotations

import math

from numba import njit

from vm import config as _config
from vm.devices.layout import param
from vm.rng import xo_normal, xo_uniform

_KEYS = [k.key for k in _config.MTJ_DEVICE_KEYS]
(
    R_RP,
    R_TMR,
    R_VH,
    R_V50,
    R_WINDOW,
    R_THALF,
    R_TPHI,
    R_TPREC,
    R_DELTA0,
    R_VC,
    R_TAU0,
    R_SPREAD,
    R_TEMP,
    R_NOISE,
    R_TREAD,
) = (
    _KEYS.index(k)
    for k in (
        "rp",
        "tmr",
        "vh",
        "v50",
        "window",
        "t_half",
        "tau_phi",
        "t_prec",
        "delta0",
        "vc",
        "tau0",
        "spread",
        "temperature",
        "read_noise",
        "read_time",
    )
)
MTJ_BASE = param("mtj", "rp")  # where the shared device keys start in each kind's row
PAIRS_BASE = param("pairs", "rp")
MTJ_MODE = param("mtj", "mode")  # 0 reset, 1 toggle
PP_ROWS, PP_COLS, PP_LEVELS, PP_SCALE, PP_VREAD, PP_VWRITE = (
    param("pairs", k) for k in ("rows", "cols", "levels", "scale", "v_read", "v_write")
)
assert MTJ_MODE == param("mtj", "n") + 1 + len(_KEYS)


@njit(cache=True)
def precession(t, t_half, tau_phi):
    return 0.5 * (1.0 - math.cos(math.pi * t / t_half) * math.exp(-t / tau_phi))


@njit(cache=True)
def first_peak_time(t_half, tau_phi):
    """t* where the damped precession first peaks: tan(pi t/t_half) = -t_half/(pi tau_phi)."""
    a = math.pi / t_half
    return (math.pi - math.atan(1.0 / (a * tau_phi))) / a


@njit(cache=True)
def switch_probability(v, t, v50, p, base):
    temp = p[base + R_TEMP]
    w = p[base + R_WINDOW] * temp / 300.0
    t_half = p[base + R_THALF]
    tau_phi = p[base + R_TPHI]
    t_prec = p[base + R_TPREC]
    peak = precession(first_peak_time(t_half, tau_phi), t_half, tau_phi)
    p_v = 1.0 / (1.0 + math.exp(-(v - v50) / w))
    prob = p_v * precession(min(t, t_prec), t_half, tau_phi) / peak
    if t > t_prec:
        delta = p[base + R_DELTA0] * (300.0 / temp) * max(0.0, 1.0 - v / p[base + R_VC])
        tau = p[base + R_TAU0] * math.exp(delta)
        prob = 1.0 - (1.0 - prob) * math.exp(-(t - t_prec) / tau)
    return min(prob, 1.0)


@njit(cache=True)
def tmr_at(v, p, base):
    r = v / p[base + R_VH]
    return p[base + R_TMR] / (1.0 + r * r)


@njit(cache=True)
def conductance(parallel, v, p, base):
    """G of a device in the parallel (True) or antiparallel state, read at v volts."""
    if parallel:
        return 1.0 / p[base + R_RP]
    return 1.0 / (p[base + R_RP] * (1.0 + tmr_at(v, p, base)))


@njit(cache=True)
def pulse(states, v50s, p, v, t, rng_state):
    """A write pulse on an MTJ array (state 1 = antiparallel). Returns the energy (J)."""
    base = MTJ_BASE
    reset = p[MTJ_MODE] == 0.0
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    for i in range(states.shape[0]):
        prob = switch_probability(v, t, v50s[i], p, base)
        u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
        switched = u < prob
        old = states[i]
        energy += v * v * conductance(old == 0.0, v, p, base) * t
        if reset:
            energy += v * v * conductance(True, v, p, base) * t  # the reset pulse
            states[i] = 1.0 if switched else 0.0
        elif switched:
            states[i] = 1.0 - old
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return energy


@njit(cache=True)
def read(out, states, p, v, resistance, rng_state):
    """Conductances (or resistances) of an MTJ array read at v volts. Returns the energy."""
    base = MTJ_BASE
    sigma = p[base + R_NOISE]
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    for i in range(states.shape[0]):
        g = conductance(states[i] == 0.0, v, p, base)
        if sigma > 0.0:
            z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
            g = g * (1.0 + sigma * z)
        energy += v * v * g * p[base + R_TREAD]
        out[i] = 1.0 / g if resistance else g
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return energy


@njit(cache=True)
def quantize(w, scale, levels):
    """Pairs set positive (out of levels) for weight w: round((w/scale + 1)/2 * levels)."""
    u = min(max(w / scale, -1.0), 1.0)
    return int(math.floor((u + 1.0) * 0.5 * levels + 0.5))


@njit(cache=True)
def pairs_load(data_bits, pbits, p, weights):
    """Program the data bits from weights (rows*cols, row-major); p-bits copy them (every
    cell reads 0 until its first use). Returns the energy (J); time is rows * t_half."""
    base = PAIRS_BASE
    levels = int(p[PP_LEVELS])
    vw = p[PP_VWRITE]
    energy = 0.0
    for c in range(weights.shape[0]):
        n_pos = quantize(weights[c], p[PP_SCALE], levels)
        for k in range(levels):
            bit = 1.0 if k < n_pos else 0.0
            data_bits[c * levels + k] = bit
            pbits[c * levels + k] = bit
            energy += 2.0 * vw * vw * conductance(True, vw, p, base) * p[base + R_THALF]
    return energy


@njit(cache=True)
def pairs_dg(p):
    v = p[PP_VREAD]
    return conductance(True, v, p, PAIRS_BASE) - conductance(False, v, p, PAIRS_BASE)


@njit(cache=True)
def pairs_mac(out, data_bits, pbits, v50s, p, x, q, rng_state):
    """out = W x through the pairs with every p-bit re-written at q. Returns (time, energy)."""
    base = PAIRS_BASE
    rows = int(p[PP_ROWS])
    cols = int(p[PP_COLS])
    levels = int(p[PP_LEVELS])
    vr = p[PP_VREAD]
    vw = p[PP_VWRITE]
    sigma = p[base + R_NOISE]
    t_read = p[base + R_TREAD]
    t_half = p[base + R_THALF]
    g_hi = conductance(True, vr, p, base)
    g_lo = conductance(False, vr, p, base)
    unit = p[PP_SCALE] / (levels * (g_hi - g_lo))
    stochastic = 0.0 < q < 1.0
    t_pulse = first_peak_time(t_half, p[base + R_TPHI])
    v_q = 0.0
    if stochastic:
        w = p[base + R_WINDOW] * p[base + R_TEMP] / 300.0
        v_q = p[base + R_V50] + w * math.log(q / (1.0 - q))
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    for i in range(rows):
        acc = 0.0
        for j in range(cols):
            xj = x[j]
            cell_sum = 0.0
            spread = 0.0  # sum of the cell's devices' squared conductances
            first = (i * cols + j) * levels
            if not stochastic:
                # every P is D's complement (q >= 1) or D itself: only the count of
                # positive pairs matters, so the cell is summed in closed form
                count = 0  # an integer count: a float sum would be a serial add chain
                flip = q >= 1.0
                for c in range(first, first + levels):
                    d = data_bits[c]
                    pbits[c] = 1.0 - d if flip else d
                    count += d == 1.0
                n_pos = float(count)
                n_neg = levels - n_pos
                if flip:
                    cell_sum = (n_pos - n_neg) * (g_hi - g_lo)
                    spread = levels * (g_hi * g_hi + g_lo * g_lo)
                    energy += vr * vr * levels * (g_hi + g_lo) * t_read
                else:
                    spread = 2.0 * (n_pos * g_hi * g_hi + n_neg * g_lo * g_lo)
                    energy += vr * vr * 2.0 * (n_pos * g_hi + n_neg * g_lo) * t_read
                energy += levels * vw * vw * g_hi * t_half  # reset P to D
            for k in range(levels if stochastic else 0):
                c = first + k
                d = data_bits[c]
                u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
                keep = u < switch_probability(v_q, t_pulse, v50s[c], p, base)
                energy += v_q * v_q * g_hi * t_pulse
                pb = 1.0 - d if keep else d
                pbits[c] = pb
                energy += vw * vw * g_hi * t_half  # reset P to D
                gd = g_hi if d == 1.0 else g_lo
                gp = g_hi if pb == 1.0 else g_lo
                energy += vr * vr * (gd + gp) * t_read
                cell_sum += gd - gp
                spread += gd * gd + gp * gp
            if sigma > 0.0:
                # every device's read error is an independent N(0, (sigma g)^2): the cell's
                # sum of them is one normal of the summed variance (one draw, not 2 levels)
                z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
                cell_sum += sigma * math.sqrt(spread) * z
            acc += xj * cell_sum
        out[i] = acc * unit
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    time = t_half + t_read + (t_pulse if stochastic else 0.0)
    return time, energy


@njit(cache=True)
def pairs_state(out, data_bits, pbits, p, rng_state):
    """Each pair's G(D) - G(P) in units of dG, with read noise. Returns the energy."""
    base = PAIRS_BASE
    vr = p[PP_VREAD]
    sigma = p[base + R_NOISE]
    g_hi = conductance(True, vr, p, base)
    g_lo = conductance(False, vr, p, base)
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    for c in range(data_bits.shape[0]):
        gd = g_hi if data_bits[c] == 1.0 else g_lo
        gp = g_hi if pbits[c] == 1.0 else g_lo
        energy += vr * vr * (gd + gp) * p[base + R_TREAD]
        if sigma > 0.0:
            z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
            gd = gd * (1.0 + sigma * z)
            z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
            gp = gp * (1.0 + sigma * z)
        out[c] = (gd - gp) / (g_hi - g_lo)
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return energy
