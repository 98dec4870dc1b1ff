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
- Read: ``R = rp_i`` (state 0, parallel) or ``rp_i (1 + TMR_i(V))`` (state 1), ``TMR_i(V) =
  tmr_i/(1 + (V/vh)^2)``, rp_i and tmr_i each device's own (drawn once from rp, tmr and their
  spreads); one read multiplies G by (1 + read_noise z).

Cost (docs/devices.md, term by term): every pulse and every read across a device is
``V^2 G(state, V) t``, the Joule energy of the junction at the bias it sees. A reset is a
pulse of v_reset for t_half; MSENSE adds the periphery's per-bit sense, latch and bus
energies and its time.

A probabilistic differential pair is a data-bit D and a p-bit P in one cell read as
G(D) - G(P). Both are stored as "1 = parallel (high G)"; a weight's sign sets D. Each
use resets P to D's state and pulses it at the amplitude whose switching probability is
q: a switched P makes the cell +-dG (kept), an unswitched one 0 (dropped). A deterministic
MAC (q = 0 or 1) writes only the p-bits whose state must change (none when the last use had
the same q): no p-bit pulse at all in a run of q = 1 MACs.
"""

from __future__ import annotations

import math

from numba import njit

from vm import config as _config
from vm.devices.layout import PAIRS_TABLE, param
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
    R_RPS,
    R_TMRS,
    R_VRESET,
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
        "rp_spread",
        "tmr_spread",
        "v_reset",
    )
)
MTJ_BASE = param("mtj", "rp")  # where the shared device keys start in each kind's row
PAIRS_BASE = param("pairs", "rp")
MTJ_MODE = param("mtj", "mode")  # 0 reset, 1 toggle
PP_ROWS, PP_COLS, PP_LEVELS, PP_SCALE, PP_VREAD, PP_VWRITE = (
    param("pairs", k) for k in ("rows", "cols", "levels", "scale", "v_read", "v_write")
)
MS_AMPS, MS_VSENSE, MS_TSENSE, MS_ESENSE, MS_ELATCH, MS_BUSW, MS_TBUS, MS_EBUS = (
    param("mtj", k.key) for k in _config.PERIPHERY_KEYS
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
def switch_setup(v, t, p, base):
    """The parts of switch_probability that do not depend on the device's v50, once per
    pulse: (w, the precession factor, its first peak, the thermal decay or -1 for none)."""
    temp = p[base + R_TEMP]
    w = p[base + R_WINDOW] * temp / 300.0
    t_half = p[base + R_THALF]
    tau_phi = p[base + R_TPHI]
    t_prec = p[base + R_TPREC]
    peak = precession(first_peak_time(t_half, tau_phi), t_half, tau_phi)
    prec = precession(min(t, t_prec), t_half, tau_phi)
    decay = -1.0
    if t > t_prec:
        delta = p[base + R_DELTA0] * (300.0 / temp) * max(0.0, 1.0 - v / p[base + R_VC])
        tau = p[base + R_TAU0] * math.exp(delta)
        decay = math.exp(-(t - t_prec) / tau)
    return w, prec, peak, decay


@njit(cache=True)
def switch_of(e, prec, peak, decay):
    """The switching probability from e = exp(-(v - v50)/w) and switch_setup's numbers."""
    prob = 1.0 / (1.0 + e) * prec / peak
    if decay >= 0.0:
        prob = 1.0 - (1.0 - prob) * decay
    return min(prob, 1.0)


@njit(cache=True)
def switch_near(e, ratio, decay):
    """switch_of to ~1e-12 (ratio = prec/peak, one division): pairs_mac's filter."""
    prob = ratio / (1.0 + e)
    if decay >= 0.0:
        prob = 1.0 - (1.0 - prob) * decay
    return min(prob, 1.0)


@njit(cache=True)
def switch_at(v, v50, w, prec, peak, decay):
    """switch_probability from switch_setup's numbers (the same operations, the same bits)."""
    return switch_of(math.exp(-(v - v50) / w), prec, peak, decay)


@njit(cache=True)
def switch_probability(v, t, v50, p, base):
    w, prec, peak, decay = switch_setup(v, t, p, base)
    return switch_at(v, v50, w, prec, peak, decay)


@njit(cache=True)
def tmr_at(v, tmr0, vh):
    r = v / vh
    return tmr0 / (1.0 + r * r)


@njit(cache=True)
def conductance(parallel, v, rp, tmr0, vh):
    """G of a device (its own rp and TMR0) in the parallel (True) or antiparallel state at v volts."""
    if parallel:
        return 1.0 / rp
    return 1.0 / (rp * (1.0 + tmr_at(v, tmr0, vh)))


@njit(cache=True)
def conductance_k(parallel, rp, tmr0, k):
    """conductance with the bias factor k = 1 + (v/vh)^2 taken once per pulse (the same bits)."""
    if parallel:
        return 1.0 / rp
    return 1.0 / (rp * (1.0 + tmr0 / k))


@njit(cache=True)
def bias_k(v, vh):
    r = v / vh
    return 1.0 + r * r


@njit(cache=True)
def reset_energy(old, rp, tmr0, k_reset, e_reset, t_half):
    """A p-bit's reset pulse (e_reset = v_reset^2 for t_half) from state old (1 = parallel)."""
    return e_reset * conductance_k(old == 1.0, rp, tmr0, k_reset) * t_half


@njit(cache=True)
def read_g(parallel, rp, tmr0, bias):
    """G of a pair's device at v_read, bias = 1/(1 + (v_read/vh)^2) of its TMR(V)."""
    g = 1.0 / rp
    if not parallel:
        g = g / (1.0 + tmr0 * bias)
    return g


@njit(cache=True)
def nominal_conductance(parallel, v, p, base):
    """G of the nominal device (the declaration's rp and tmr)."""
    return conductance(parallel, v, p[base + R_RP], p[base + R_TMR], p[base + R_VH])


@njit(cache=True)
def pulse(states, v50s, rps, tmrs, p, amps, v, t, rng_state):
    """A write pulse on an MTJ array (state 1 = antiparallel), of amplitude v, or amps[i] on
    device i when amps is not empty. Reset mode: a reset pulse (v_reset, t_half) to parallel,
    then the pulse. Returns (time, energy)."""
    base = MTJ_BASE
    vh = p[base + R_VH]
    reset = p[MTJ_MODE] == 0.0
    v_reset = p[base + R_VRESET]
    t_reset = p[base + R_THALF]
    per_device = amps.shape[0] > 0
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    for i in range(states.shape[0]):
        vi = amps[i] if per_device else v
        prob = switch_probability(vi, t, v50s[i], p, base)
        u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
        switched = u < prob
        old = states[i]
        if reset:
            energy += v_reset * v_reset * conductance(old == 0.0, v_reset, rps[i], tmrs[i], vh) * t_reset
            energy += vi * vi * conductance(True, vi, rps[i], tmrs[i], vh) * t
            states[i] = 1.0 if switched else 0.0
        else:
            energy += vi * vi * conductance(old == 0.0, vi, rps[i], tmrs[i], vh) * t
            if switched:
                states[i] = 1.0 - old
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return t + (t_reset if reset else 0.0), energy


@njit(cache=True)
def reset(states, rps, tmrs, p):
    """Every device to parallel with one reset pulse (v_reset, t_half). Returns the energy."""
    base = MTJ_BASE
    v_reset = p[base + R_VRESET]
    energy = 0.0
    for i in range(states.shape[0]):
        g = conductance(states[i] == 0.0, v_reset, rps[i], tmrs[i], p[base + R_VH])
        energy += v_reset * v_reset * g * p[base + R_THALF]
        states[i] = 0.0
    return energy


@njit(cache=True)
def read(out, states, rps, tmrs, p, v, resistance, rng_state):
    """Conductances (or resistances) of an MTJ array read at v volts. Returns the energy."""
    base = MTJ_BASE
    sigma = p[base + R_NOISE]
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    for i in range(states.shape[0]):
        g = conductance(states[i] == 0.0, v, rps[i], tmrs[i], p[base + R_VH])
        if sigma > 0.0:
            z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
            g = g * (1.0 + sigma * z)
        energy += v * v * g * p[base + R_TREAD]
        out[i] = 1.0 / g if resistance else g
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return energy


@njit(cache=True)
def sense_cost(states, rps, tmrs, p):
    """(time, energy) of MSENSE: every device sensed (v_sense across it for t_sense) by one
    of sense_amps amplifiers through a column mux, latched, and moved over a bus_width-bit
    bus: time ceil(n/sense_amps) t_sense + ceil(n/bus_width) t_bus; energy per bit
    V^2 G t_sense + e_sense + e_latch + e_bus."""
    n = states.shape[0]
    v = p[MS_VSENSE]
    t_sense = p[MS_TSENSE]
    energy = 0.0
    for i in range(n):
        g = conductance(states[i] == 0.0, v, rps[i], tmrs[i], p[MTJ_BASE + R_VH])
        energy += v * v * g * t_sense
    energy += n * (p[MS_ESENSE] + p[MS_ELATCH] + p[MS_EBUS])
    amps = int(p[MS_AMPS])
    width = int(p[MS_BUSW])
    time = ((n + amps - 1) // amps) * t_sense + ((n + width - 1) // width) * p[MS_TBUS]
    return time, energy


# The pairs' cache slot (vm.devices.layout.pairs_cache_length): per cell the sums of the last
# deterministic q (3 each), per device the numbers that do not change (TABLE each), then the
# table's mark, whether the p-bits still hold that q's states, and that q + 1 (0: none).
TABLE = PAIRS_TABLE
T_S, T_R0, T_R1, T_GP0, T_GP1, T_GD0, T_GD1 = range(TABLE)  # X0, X1: by state (an index, no branch)
C_TABLE, C_CLEAN, C_TAG = -3, -2, -1
# exp(v50/w) and exp(-v_q/w) are tabulated only while |v/w| <= EXP_LIMIT; there the product
# is exp(-(v_q - v50)/w) to ~1e-12 relative (the arguments' rounding, ~600 * 2^-52), so a
# draw further than MARGIN from the probability it gives is decided by it alone, and the
# rest (~2e-9 of them) by the exact exponential: the same keep as switch_probability's.
EXP_LIMIT = 600.0
MARGIN = 1e-9


@njit(cache=True)
def quantize(w, scale, levels):
    """Pairs set positive (out of levels) for weight w: round((w/scale + 1)/2 * levels)."""
    u = min(max(w / scale, -1.0), 1.0)
    return int(math.floor((u + 1.0) * 0.5 * levels + 0.5))


@njit(cache=True)
def pairs_load(data_bits, pbits, rps, tmrs, cache, p, weights):
    """Program the data bits from weights (rows*cols, row-major); p-bits copy them (every
    cell reads 0 until its first use): two writes (v_write, t_half) per pair. Returns the
    energy (J); time is rows * t_half."""
    base = PAIRS_BASE
    levels = int(p[PP_LEVELS])
    vw = p[PP_VWRITE]
    vh = p[base + R_VH]
    t_write = p[base + R_THALF]
    energy = 0.0
    for c in range(weights.shape[0]):
        n_pos = quantize(weights[c], p[PP_SCALE], levels)
        for k in range(levels):
            i = c * levels + k
            bit = 1.0 if k < n_pos else 0.0
            g_d = conductance(data_bits[i] == 1.0, vw, rps[2 * i], tmrs[2 * i], vh)
            g_p = conductance(pbits[i] == 1.0, vw, rps[2 * i + 1], tmrs[2 * i + 1], vh)
            energy += vw * vw * (g_d + g_p) * t_write
            data_bits[i] = bit
            pbits[i] = bit
    cache[C_TAG] = 0.0  # the cells' cached sums no longer hold (the device table does)
    return energy


@njit(cache=True)
def pairs_dg(p):
    v = p[PP_VREAD]
    return nominal_conductance(True, v, p, PAIRS_BASE) - nominal_conductance(False, v, p, PAIRS_BASE)


@njit(cache=True)
def pairs_table(table, v50s, rps, tmrs, p):
    """Each device's numbers that depend on nothing a program changes (its v50, rp, TMR0 and
    the declaration), computed as pairs_mac computed them per use: exp(v50/w), the p-bit's
    reset energy from either state, both devices' conductances in either state at v_read."""
    base = PAIRS_BASE
    vh = p[base + R_VH]
    v_reset = p[base + R_VRESET]
    t_half = p[base + R_THALF]
    w = p[base + R_WINDOW] * p[base + R_TEMP] / 300.0
    k_reset = bias_k(v_reset, vh)
    r = p[PP_VREAD] / vh
    bias = 1.0 / (1.0 + r * r)
    e_reset = v_reset * v_reset
    for c in range(v50s.shape[0]):
        row = TABLE * c
        a = v50s[c] / w
        table[row + T_S] = math.exp(a) if abs(a) <= EXP_LIMIT else math.nan
        rp_p = rps[2 * c + 1]
        tmr_p = tmrs[2 * c + 1]
        table[row + T_R1] = reset_energy(1.0, rp_p, tmr_p, k_reset, e_reset, t_half)
        table[row + T_R0] = reset_energy(0.0, rp_p, tmr_p, k_reset, e_reset, t_half)
        table[row + T_GP1] = read_g(True, rp_p, tmr_p, bias)
        table[row + T_GP0] = read_g(False, rp_p, tmr_p, bias)
        table[row + T_GD1] = read_g(True, rps[2 * c], tmrs[2 * c], bias)
        table[row + T_GD0] = read_g(False, rps[2 * c], tmrs[2 * c], bias)


@njit(cache=True)
def cached_read(out, cache, x, rows, cols, vr, t_read, sigma, unit, rng_state):
    """pairs_mac's read when no p-bit changes: the cached sums, the same operations and
    draws in the same order. Returns the energy."""
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    for i in range(rows):
        acc = 0.0
        for j in range(cols):
            cell = i * cols + j
            cell_sum = cache[3 * cell]
            energy += vr * vr * cache[3 * cell + 2] * t_read
            if sigma > 0.0:
                z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
                cell_sum += sigma * cache[3 * cell + 1] * z
            acc += x[j] * cell_sum
        out[i] = acc * unit
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return energy


@njit(cache=True)
def pairs_mac(out, data_bits, pbits, v50s, rps, tmrs, cache, p, x, q, rng_state):
    """out = W x through the pairs with every p-bit re-written at q. Returns (time, energy).

    0 < q < 1: each p-bit is reset to its data bit (v_reset, t_half) and pulsed at the
    amplitude of switching probability q for the first peak t*; q = 0 or 1: a p-bit is
    written (v_reset, t_half) only where its state must change. Rows are written one after
    another (a row's cells in parallel), then the array is read once (read_time).

    cache holds, per cell, the sum of G(D) - G(P), the square root of the sum of the squared
    conductances and the sum of the plain ones at the last deterministic q, which depend on the data bits only (PPLOAD
    clears them): a deterministic MAC at that q reads them (the same numbers, summed in the
    same order) and visits the devices only to write the p-bits a stochastic use left
    elsewhere (none after a use at the same q). A stochastic MAC reads each device's fixed
    numbers from the cache's table (pairs_table, built by the first) instead of dividing.
    """
    base = PAIRS_BASE
    rows = int(p[PP_ROWS])
    cols = int(p[PP_COLS])
    levels = int(p[PP_LEVELS])
    vr = p[PP_VREAD]
    vh = p[base + R_VH]
    v_reset = p[base + R_VRESET]
    sigma = p[base + R_NOISE]
    t_read = p[base + R_TREAD]
    t_half = p[base + R_THALF]
    unit = p[PP_SCALE] / (levels * pairs_dg(p))
    stochastic = 0.0 < q < 1.0
    flip = q >= 1.0
    t_pulse = first_peak_time(t_half, p[base + R_TPHI])
    n_cells = rows * cols
    table = cache[3 * n_cells : 3 * n_cells + TABLE * data_bits.shape[0]]
    if stochastic and cache[C_TABLE] != 1.0:
        pairs_table(table, v50s, rps, tmrs, p)
        cache[C_TABLE] = 1.0
    tabled = cache[C_TABLE] == 1.0
    w = p[base + R_WINDOW] * p[base + R_TEMP] / 300.0
    v_q = 0.0
    if stochastic:
        v_q = p[base + R_V50] + w * math.log(q / (1.0 - q))
    # the pulse's per-call factors, out of the device loop (the same operations)
    sw_w, sw_prec, sw_peak, sw_decay = switch_setup(v_q, t_pulse, p, base)
    e_q = math.exp(-v_q / w) if abs(v_q / w) <= EXP_LIMIT else math.nan
    ratio = sw_prec / sw_peak
    k_q = bias_k(v_q, vh)
    k_reset = bias_k(v_reset, vh)
    e_pulse = v_q * v_q
    e_reset = v_reset * v_reset
    r = vr / vh
    bias = 1.0 / (1.0 + r * r)  # the read-bias factor 1/(1 + (vr/vh)^2) of TMR(V)
    tag = 1.0 + (1.0 if flip else 0.0)  # the cache's mark for this deterministic q
    sums = not stochastic and cache[C_TAG] == tag  # the cells' sums at this q are cached
    visit = not (sums and cache[C_CLEAN] == 1.0)  # some p-bit may need a write
    if not stochastic:
        cache[C_TAG] = tag
    cache[C_CLEAN] = 0.0 if stochastic else 1.0
    if not visit:  # nothing to write: the read alone, from the cached sums
        energy = cached_read(out, cache, x, rows, cols, vr, t_read, sigma, unit, rng_state)
        return t_read, energy
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    rows_written = 0
    for i in range(rows):
        acc = 0.0
        written = False
        for j in range(cols):
            cell = i * cols + j
            cell_sum = 0.0
            spread = 0.0  # sum of the cell's devices' squared conductances
            g_sum = 0.0  # and of their conductances (the read's energy)
            first = cell * levels
            if sums:
                cell_sum = cache[3 * cell]
                spread = cache[3 * cell + 1]  # cached as its square root
                g_sum = cache[3 * cell + 2]
            for c in range(first, first + (levels if visit else 0)):
                d = data_bits[c]
                old = pbits[c]
                if stochastic:
                    row = TABLE * c
                    energy += table[row + T_R0 + int(old == 1.0)]  # reset P to D
                    g_pulse = table[row + T_GP1]
                    if d != 1.0:  # depends on q: not tabulated
                        g_pulse = conductance_k(False, rps[2 * c + 1], tmrs[2 * c + 1], k_q)
                    energy += e_pulse * g_pulse * t_pulse  # the stochastic pulse
                    u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
                    near = switch_near(e_q * table[row + T_S], ratio, sw_decay)
                    keep = u < near  # no branch on the draw (unpredictable at q ~ 0.5)
                    if not abs(u - near) > MARGIN:  # too close (or not tabulated): exactly
                        keep = u < switch_at(v_q, v50s[c], sw_w, sw_prec, sw_peak, sw_decay)
                    # 1 - d if keep else d, as arithmetic (exact for every finite d): a
                    # branch on the draw here cost 2.6x at q = 0.6 (mispredicted)
                    k = 1.0 * int(keep)
                    pb = (1.0 - d) * k + d * (1.0 - k)
                    written = True
                    pbits[c] = pb
                    gd = table[row + T_GD0 + int(d == 1.0)]
                    gp = table[row + T_GP0 + int(pb == 1.0)]
                elif tabled:  # the write-back after a stochastic use, without branches
                    pb = 1.0 - d if flip else d
                    change = pb != old
                    # a verified write only where the state must change (+ 0.0 elsewhere)
                    energy += table[TABLE * c + T_R0 + int(old == 1.0)] * (1.0 * int(change))
                    written = written | change
                    pbits[c] = pb
                    if sums:
                        continue
                    gd = table[TABLE * c + T_GD0 + int(d == 1.0)]
                    gp = table[TABLE * c + T_GP0 + int(pb == 1.0)]
                else:
                    pb = 1.0 - d if flip else d
                    if pb != old:  # a verified write, only where the state must change
                        energy += reset_energy(old, rps[2 * c + 1], tmrs[2 * c + 1], k_reset, e_reset, t_half)
                        written = True
                        pbits[c] = pb
                    if sums:
                        continue
                    gd = read_g(d == 1.0, rps[2 * c], tmrs[2 * c], bias)
                    gp = read_g(pb == 1.0, rps[2 * c + 1], tmrs[2 * c + 1], bias)
                g_sum += gd + gp
                cell_sum += gd - gp
                spread += gd * gd + gp * gp
            root = spread if sums else math.sqrt(spread)
            if not stochastic and not sums:
                cache[3 * cell] = cell_sum
                cache[3 * cell + 1] = root
                cache[3 * cell + 2] = g_sum
            energy += vr * vr * g_sum * t_read
            if sigma > 0.0:
                # every device's read error is an independent N(0, (sigma g)^2): the cell's
                # sum of them is one normal of the summed variance (one draw, not 2 levels)
                z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
                cell_sum += sigma * root * z
            acc += x[j] * cell_sum
        out[i] = acc * unit
        rows_written += written
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    row_time = t_half + t_pulse if stochastic else t_half
    return rows_written * row_time + t_read, energy


@njit(cache=True)
def pairs_state(out, data_bits, pbits, rps, tmrs, p, rng_state):
    """Each pair's G(D) - G(P) in units of the nominal dG, with read noise. Returns the energy."""
    base = PAIRS_BASE
    vr = p[PP_VREAD]
    vh = p[base + R_VH]
    sigma = p[base + R_NOISE]
    dg = pairs_dg(p)
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    energy = 0.0
    for c in range(data_bits.shape[0]):
        gd = conductance(data_bits[c] == 1.0, vr, rps[2 * c], tmrs[2 * c], vh)
        gp = conductance(pbits[c] == 1.0, vr, rps[2 * c + 1], tmrs[2 * c + 1], vh)
        energy += vr * vr * (gd + gp) * p[base + R_TREAD]
        if sigma > 0.0:
            z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
            gd = gd * (1.0 + sigma * z)
            z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
            gp = gp * (1.0 + sigma * z)
        out[c] = (gd - gp) / dg
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return energy
