"""Generic p-bits (Camsari): ``m = sgn(tanh(beta I) - r)``, r ~ U(-1, 1), so
P(+1) = sigmoid(2 beta I); categorical p-dits; the checkerboard Ising sweep.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from vm import config as _config
from vm.devices import threads as _threads  # noqa: F401  (starts the thread pool first)
from vm.rng import substream, xo_next, xo_uniform


def mtj_pbit_cost(values: dict | None = None) -> tuple[float, float]:
    """(window s, energy J) of one bit from a VCMA-MTJ p-bit of the given keys (default: the
    integrated profile): a reset pulse (v_reset for t_half) and a pulse at v50 for the first
    peak t*, both ``V^2 G t`` on a parallel-state device (G = 1/rp). Not from Table II."""
    k = {key.key: key.default for key in _config.MTJ_DEVICE_KEYS} | _config.INTEGRATED | (values or {})
    a = math.pi / k["t_half"]
    t_star = (math.pi - math.atan(1.0 / (a * k["tau_phi"]))) / a
    energy = (k["v_reset"] ** 2 * k["t_half"] + k["v50"] ** 2 * t_star) / k["rp"]
    return k["t_half"] + t_star, energy


# The generic p-bits (PBIT, PDIT, VPBIT, ISING) are charged as MTJ p-bits of the integrated
# profile: a window (all bits in parallel) and an energy per bit, from the compact model's
# pulse parameters and rp (docs/devices.md); 1.38 ns and 0.118 pJ with the defaults.
WINDOW_S, ENERGY_PER_BIT_J = mtj_pbit_cost()


@njit(cache=True)
def decide(tanh_input, u):
    return 1.0 if 2.0 * u - 1.0 < tanh_input else -1.0


@njit(cache=True)
def pbit(value, beta, rng_state):
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    return decide(math.tanh(beta * value), u)


@njit(cache=True)
def vpbit(out, a, beta, rng_state):
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    for i in range(a.shape[0]):
        u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
        out[i] = decide(math.tanh(beta * a[i]), u)
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3


@njit(cache=True)
def pdit(logits, beta, rng_state):
    """k with probability exp(beta l_k) / sum exp(beta l_j)."""
    top = -math.inf
    for v in logits:
        top = max(top, beta * v)
    total = 0.0
    for v in logits:
        total += math.exp(beta * v - top)
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    target = u * total
    acc = 0.0
    for k in range(logits.shape[0] - 1):
        acc += math.exp(beta * logits[k] - top)
        if target < acc:
            return k
    return logits.shape[0] - 1


# ISING: each row of one colour draws from its own substream (vm.rng.substream, piece
# colour * side + row, under one key drawn from the machine's stream per sweep), one 64-bit
# draw for two sites (low 32 bits, then high), a site going to +1 when u32 < (1 + tanh(beta I))
# * 2^31. The rows of a colour are independent, so a lattice of at least ISING_PARALLEL_SITES
# sites spreads them over the threads; the numbers are the same on any number of threads.
ISING_PARALLEL_SITES = 256 * 256  # a colour then is ~0.2 ms of work for one thread
_HALF_RANGE = 2.0**31
_U = np.uint64
_LOW32 = _U(0xFFFFFFFF)


@njit(cache=True)
def ising_row(spins, side, row_index, color, key, table, coupling, field, beta, whole):
    """Update the sites of one colour in one row from the row's own substream. ``whole``:
    every spin is -1, 0 or +1, so every neighbour sum indexes the table (no tanh call in
    the loop: one made LLVM keep the stream in memory). Inline, and indexed with unsigned
    integers: a helper taking the table cost ~10 ns a site, a signed index a wraparound
    check."""
    s0, s1, s2, s3 = substream(key, color * side + row_index)
    n = _U(side)
    row = _U(row_index * side)
    up = _U((row_index + side - 1) % side * side)
    down = _U((row_index + 1) % side * side)
    start = (row_index + color) % 2
    sites = (side - start + 1) // 2
    for q in range(0, sites, 2):
        r, s0, s1, s2, s3 = xo_next(s0, s1, s2, s3)
        for half in range(2):
            if q + half < sites:
                u = float(np.int64((r >> _U(32)) if half else (r & _LOW32)))
                j = _U(start + 2 * (q + half))
                left = j - _U(1) if j > _U(0) else n - _U(1)
                right = j + _U(1) if j + _U(1) < n else _U(0)
                total = spins[up + j] + spins[down + j] + spins[row + left] + spins[row + right]
                if whole:
                    threshold = table[_U(total + 4.0)]
                else:
                    threshold = ising_threshold(total, coupling, field, beta)
                spins[row + j] = 1.0 if u < threshold else -1.0


@njit(cache=True)
def ising_threshold(total, coupling, field, beta):
    return (1.0 + math.tanh(beta * (coupling * total + field))) * _HALF_RANGE


@njit(cache=True)
def ising_whole(spins):
    """Whether every spin is -1, 0 or +1."""
    ok = True
    for v in spins:
        ok &= (v == 1.0) | (v == -1.0) | (v == 0.0)
    return ok


@njit(cache=True, parallel=True)
def ising_colour_parallel(spins, side, color, key, table, coupling, field, beta, whole):
    for i in prange(side):
        ising_row(spins, side, i, color, key, table, coupling, field, beta, whole)


@njit(cache=True)
def ising_sweep(spins, side, coupling, field, beta, rng_state):
    """One sweep: every (i + j) even site, then every odd one, each a p-bit driven by
    I = coupling * (sum of its 4 periodic neighbours) + field."""
    table = np.empty(9)  # thresholds for neighbour sums -4..4
    for k in range(9):
        table[k] = ising_threshold(k - 4.0, coupling, field, beta)
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    key, s0, s1, s2, s3 = xo_next(s0, s1, s2, s3)
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    whole = ising_whole(spins)  # a speed switch only: the table holds the same numbers
    for color in range(2):
        if side * side >= ISING_PARALLEL_SITES:
            ising_colour_parallel(spins, side, color, key, table, coupling, field, beta, whole)
        else:
            for i in range(side):
                ising_row(spins, side, i, color, key, table, coupling, field, beta, whole)
