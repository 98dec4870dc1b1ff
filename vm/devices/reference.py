"""Plain NumPy twins of the device kernels (same arguments, same random draws).

Written for clarity and vectorised where the draw order allows: each function first
draws its random numbers in the kernel's order from the pure-Python twin of the
generator, then does the arithmetic on whole arrays. Transcendental functions may differ
from the kernels' in the last bit, so differential tests compare continuous values to
1e-12 and discrete states exactly.
"""

from __future__ import annotations

import math

import numpy as np

from vm.devices import langevin as L
from vm.devices import mtj as M
from vm.devices import pbit as P
from vm.rng import PyXoshiro, py_substream


def _rng(state):
    return PyXoshiro(state, np.zeros(2))


# ------------------------------------------------------------------ Langevin
def relax(x, current, p, state):
    key = _rng(state).next_u64()
    steps = max(1, int(math.floor(p[L.B_TF] / p[L.B_DT] + 0.5)))
    j2, j3, j4, dt, rail = p[L.B_J2], p[L.B_J3], p[L.B_J4], p[L.B_DT], p[L.B_RAIL]
    amp = math.sqrt(2.0 * p[L.B_TEMP] * dt)
    n_blocks = -(-x.shape[0] // L.BLOCK)
    for chunk, first in enumerate(range(0, steps, L.CHUNK_STEPS)):
        last = min(first + L.CHUNK_STEPS, steps)
        for b in range(n_blocks):
            block = slice(b * L.BLOCK, min((b + 1) * L.BLOCK, x.shape[0]))
            piece = chunk * n_blocks + b
            lanes = [
                PyXoshiro(py_substream(key, piece * L.BLOCK + k), np.zeros(2))
                for k in range(block.stop - block.start)
            ]
            z = np.array([_lane_normals(gen, last - first) for gen in lanes]).T
            xb, ib = x[block].copy(), current[block]
            for k in range(last - first):
                force = ib - xb * (j2 + xb * (j3 + xb * j4))
                xb = np.minimum(np.maximum(xb + force * dt + amp * z[k], -rail), rail)
            x[block] = xb
    return p[L.B_TF] * p[L.B_UNIT]


def _lane_normals(gen, steps):
    """One unit's normals for a chunk of steps: a draw for two steps (low half, high half)."""
    z = []
    for t in range(0, steps, 2):
        r = gen.next_u64()
        z.append(gen.normal32(r & 0xFFFFFFFF))
        if t + 1 < steps:
            z.append(gen.normal32(r >> 32))
    return z


def ou_coefficients(p):
    h = p[L.O_WINDOW] / p[L.O_TAU0]
    return math.exp(-h), math.sqrt(-math.expm1(-2.0 * h))


def ou_step(x, mean, scale, p, state):
    gen = _rng(state)
    a, b = ou_coefficients(p)
    z = np.array([gen.fast_normal() for _ in range(x.shape[0])])
    x[:] = mean + (x - mean) * a + scale * b * z


def mixture_step(x, table, p, state):
    gen = _rng(state)
    a, b = ou_coefficients(p)
    draws = np.array([(gen.uniform(), gen.fast_normal()) for _ in range(x.shape[0])]).reshape(-1, 2)
    cum = np.cumsum(table[:, 0])
    component = np.minimum(np.searchsorted(cum, draws[:, 0] * cum[-1], side="right"), len(table) - 1)
    mean, scale = table[component, 1], table[component, 2]
    x[:] = mean + (x - mean) * a + scale * b * draws[:, 1]


# ------------------------------------------------------------------ MTJ
def switch_probability(v, t, v50, p, base):
    """The compact model of vm.devices.mtj, on arrays."""
    temp = p[base + M.R_TEMP]
    w = p[base + M.R_WINDOW] * temp / 300.0
    t_half, tau_phi, t_prec = p[base + M.R_THALF], p[base + M.R_TPHI], p[base + M.R_TPREC]

    def precession(s):
        return 0.5 * (1.0 - np.cos(np.pi * s / t_half) * np.exp(-s / tau_phi))

    a = np.pi / t_half
    peak = precession((np.pi - np.arctan(1.0 / (a * tau_phi))) / a)
    prob = 1.0 / (1.0 + np.exp(-(v - np.asarray(v50)) / w)) * precession(min(t, t_prec)) / peak
    if t > t_prec:
        delta = p[base + M.R_DELTA0] * (300.0 / temp) * max(0.0, 1.0 - v / p[base + M.R_VC])
        prob = 1.0 - (1.0 - prob) * np.exp(-(t - t_prec) / (p[base + M.R_TAU0] * np.exp(delta)))
    return np.minimum(prob, 1.0)


def conductance(parallel, v, rp, tmr0, vh):
    """Each device's G (its own rp and TMR0) at v volts."""
    tmr = np.asarray(tmr0) / (1.0 + (v / vh) ** 2)
    return np.where(parallel, 1.0 / np.asarray(rp), 1.0 / (np.asarray(rp) * (1.0 + tmr)))


def first_peak(p, base):
    a = np.pi / p[base + M.R_THALF]
    return (np.pi - np.arctan(1.0 / (a * p[base + M.R_TPHI]))) / a


def pulse(states, v50s, rps, tmrs, p, amps, v, t, state):
    """Returns (time, energy) like the kernel."""
    gen = _rng(state)
    base = M.MTJ_BASE
    vh, v_reset, t_reset = p[base + M.R_VH], p[base + M.R_VRESET], p[base + M.R_THALF]
    volts = np.asarray(amps) if len(amps) else np.full(states.shape[0], v)
    u = np.array([gen.uniform() for _ in range(states.shape[0])])
    prob = np.array([switch_probability(vi, t, v50, p, base) for vi, v50 in zip(volts, v50s, strict=True)])
    switched = u < prob
    if p[M.MTJ_MODE] == 0.0:
        e_reset = v_reset**2 * conductance(states == 0.0, v_reset, rps, tmrs, vh) * t_reset
        energy = float(np.sum(e_reset + volts**2 * conductance(True, volts, rps, tmrs, vh) * t))
        states[:] = switched.astype(float)
        return t + t_reset, energy
    energy = float(np.sum(volts**2 * conductance(states == 0.0, volts, rps, tmrs, vh) * t))
    states[:] = np.where(switched, 1.0 - states, states)
    return t, energy


def reset(states, rps, tmrs, p):
    base = M.MTJ_BASE
    v = p[base + M.R_VRESET]
    energy = float(
        np.sum(v * v * conductance(states == 0.0, v, rps, tmrs, p[base + M.R_VH]) * p[base + M.R_THALF])
    )
    states[:] = 0.0
    return energy


def read(out, states, rps, tmrs, p, v, resistance, state):
    gen = _rng(state)
    base = M.MTJ_BASE
    g = conductance(states == 0.0, v, rps, tmrs, p[base + M.R_VH])
    sigma = p[base + M.R_NOISE]
    if sigma > 0.0:
        g = g * (1.0 + sigma * np.array([gen.fast_normal() for _ in range(states.shape[0])]))
    out[:] = 1.0 / g if resistance else g
    return float(np.sum(v * v * g * p[base + M.R_TREAD]))


def sense_cost(states, rps, tmrs, p):
    n = states.shape[0]
    v, t_sense = p[M.MS_VSENSE], p[M.MS_TSENSE]
    g = conductance(states == 0.0, v, rps, tmrs, p[M.MTJ_BASE + M.R_VH])
    energy = float(np.sum(v * v * g * t_sense)) + n * (p[M.MS_ESENSE] + p[M.MS_ELATCH] + p[M.MS_EBUS])
    time = math.ceil(n / p[M.MS_AMPS]) * t_sense + math.ceil(n / p[M.MS_BUSW]) * p[M.MS_TBUS]
    return time, energy


def pairs_load(data_bits, pbits, rps, tmrs, cache, p, weights):
    """(cache: the kernel's cell sums and device table, shortcuts of the same numbers; the twin
    recomputes them.)"""
    base = M.PAIRS_BASE
    levels = int(p[M.PP_LEVELS])
    vw, vh = p[M.PP_VWRITE], p[base + M.R_VH]
    u = np.clip(weights / p[M.PP_SCALE], -1.0, 1.0)
    n_pos = np.floor((u + 1.0) * 0.5 * levels + 0.5)
    bits = (np.arange(levels)[None, :] < n_pos[:, None]).astype(float).ravel()
    g = conductance(data_bits == 1.0, vw, rps[0::2], tmrs[0::2], vh) + conductance(
        pbits == 1.0, vw, rps[1::2], tmrs[1::2], vh
    )
    data_bits[:] = bits
    pbits[:] = bits
    return float(np.sum(vw * vw * g * p[base + M.R_THALF]))


def pairs_dg(p):
    base = M.PAIRS_BASE
    v = p[M.PP_VREAD]
    rp, tmr, vh = p[base + M.R_RP], p[base + M.R_TMR], p[base + M.R_VH]
    return float(conductance(True, v, rp, tmr, vh) - conductance(False, v, rp, tmr, vh))


def pairs_mac(out, data_bits, pbits, v50s, rps, tmrs, cache, p, x, q, state):
    """Returns (time, energy) like the kernel (which may read its cache; this recomputes)."""
    gen = _rng(state)
    base = M.PAIRS_BASE
    rows, cols, levels = int(p[M.PP_ROWS]), int(p[M.PP_COLS]), int(p[M.PP_LEVELS])
    vr, sigma, vh = p[M.PP_VREAD], p[base + M.R_NOISE], p[base + M.R_VH]
    v_reset, t_half, t_read = p[base + M.R_VRESET], p[base + M.R_THALF], p[base + M.R_TREAD]
    stochastic = 0.0 < q < 1.0
    n = data_bits.shape[0]
    u = np.zeros(n)
    z = np.zeros(rows * cols)
    for cell in range(rows * cols):  # the kernel's draw order: each pair's mask, then the cell's normal
        if stochastic:
            for k in range(levels):
                u[cell * levels + k] = gen.uniform()
        if sigma > 0.0:
            z[cell] = gen.fast_normal()
    rp_d, rp_p, tmr_d, tmr_p = rps[0::2], rps[1::2], tmrs[0::2], tmrs[1::2]
    old = pbits.copy()
    e_reset = v_reset**2 * conductance(old == 1.0, v_reset, rp_p, tmr_p, vh) * t_half
    t_pulse = first_peak(p, base)
    if stochastic:
        w = p[base + M.R_WINDOW] * p[base + M.R_TEMP] / 300.0
        v_q = p[base + M.R_V50] + w * math.log(q / (1.0 - q))
        keep = u < switch_probability(v_q, t_pulse, v50s, p, base)
        written = np.ones(n, dtype=bool)
        energy = float(
            np.sum(e_reset + v_q**2 * conductance(data_bits == 1.0, v_q, rp_p, tmr_p, vh) * t_pulse)
        )
    else:
        keep = np.full(n, q >= 1.0)
        written = np.where(keep, 1.0 - data_bits, data_bits) != old
        energy = float(np.sum(np.where(written, e_reset, 0.0)))
    pbits[:] = np.where(keep, 1.0 - data_bits, data_bits)
    gd = conductance(data_bits == 1.0, vr, rp_d, tmr_d, vh)
    gp = conductance(pbits == 1.0, vr, rp_p, tmr_p, vh)
    energy += float(np.sum(vr * vr * (gd + gp) * t_read))
    cells = (gd - gp).reshape(rows, cols, levels).sum(axis=2)
    if sigma > 0.0:  # the devices' independent read errors, summed per cell
        cells = cells + sigma * np.sqrt(
            (gd * gd + gp * gp).reshape(rows, cols, levels).sum(axis=2)
        ) * z.reshape(rows, cols)
    out[:] = (cells * x[None, :]).sum(axis=1) * (p[M.PP_SCALE] / (levels * pairs_dg(p)))
    rows_written = int(np.sum(written.reshape(rows, cols * levels).any(axis=1)))
    row_time = t_half + t_pulse if stochastic else t_half
    return rows_written * row_time + t_read, energy


def pairs_state(out, data_bits, pbits, rps, tmrs, p, state):
    gen = _rng(state)
    base = M.PAIRS_BASE
    vr, sigma, vh = p[M.PP_VREAD], p[base + M.R_NOISE], p[base + M.R_VH]
    gd = conductance(data_bits == 1.0, vr, rps[0::2], tmrs[0::2], vh)
    gp = conductance(pbits == 1.0, vr, rps[1::2], tmrs[1::2], vh)
    energy = float(np.sum(vr * vr * (gd + gp) * p[base + M.R_TREAD]))
    if sigma > 0.0:
        z = np.array([gen.fast_normal() for _ in range(2 * data_bits.shape[0])]).reshape(-1, 2)
        gd, gp = gd * (1.0 + sigma * z[:, 0]), gp * (1.0 + sigma * z[:, 1])
    out[:] = (gd - gp) / pairs_dg(p)
    return energy


# ------------------------------------------------------------------ p-bits
def vpbit(out, a, beta, state):
    gen = _rng(state)
    u = np.array([gen.uniform() for _ in range(a.shape[0])])
    out[:] = np.where(2.0 * u - 1.0 < np.tanh(beta * a), 1.0, -1.0)


def pdit(logits, beta, state):
    u = _rng(state).uniform()
    cum = np.cumsum(np.exp(beta * logits - np.max(beta * logits)))
    return int(min(np.searchsorted(cum, u * cum[-1], side="right"), len(logits) - 1))


def _ising_uniforms(key, color, side):
    """u[i, j] for the colour's sites: a group of rows draws from its lanes, row after row;
    word t of a row is lane t % L's next draw and gives its sites 2t (low half) and 2t + 1
    (high), for t < T, T the row's sites / 2 rounded up to a multiple of L."""
    lanes, rows = P.ISING_LANES, P.ISING_GROUP_ROWS
    groups = -(-side // rows)
    u = np.zeros((side, side))
    for g in range(groups):
        gens = [
            PyXoshiro(py_substream(key, (color * groups + g) * lanes + k), np.zeros(2)) for k in range(lanes)
        ]
        for i in range(g * rows, min(side, (g + 1) * rows)):
            sites = len(range((i + color) % 2, side, 2))
            n_words = ((sites + 1) // 2 + lanes - 1) // lanes * lanes
            words = [gens[t % lanes].next_u64() for t in range(n_words)]
            row = [h for r in words for h in (r & 0xFFFFFFFF, r >> 32)]
            u[i, (i + color) % 2 :: 2] = row[:sites]
    return u


def ising_sweep(spins, side, coupling, field, beta, state):
    key = _rng(state).next_u64()
    grid = spins.reshape(side, side)
    ii, jj = np.indices((side, side))
    for color in range(2):
        mask = (ii + jj) % 2 == color
        u = _ising_uniforms(key, color, side)
        total = np.roll(grid, 1, 0) + np.roll(grid, -1, 0) + np.roll(grid, 1, 1) + np.roll(grid, -1, 1)
        threshold = (1.0 + np.tanh(beta * (coupling * total + field))) * 2.0**31
        new = np.where(u < threshold, 1.0, -1.0)
        grid[mask] = new[mask]
    spins[:] = grid.ravel()
