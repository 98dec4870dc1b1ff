"""Generic p-bits (Camsari): ``m = sgn(tanh(beta I) - r)``, r ~ U(-1, 1), so
P(+1) = sigmoid(2 beta I); categorical p-dits; the checkerboard Ising sweep.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from vm import config as _config
from vm.devices import threads as _threads  # noqa: F401  (starts the thread pool first)
from vm.numba_cache import NO_REFCOUNTS
from vm.rng import LOW32, substream, xo_next, xo_uniform


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


# ISING: the rows of one colour go in groups of ISING_GROUP_ROWS; a group draws from its
# own ISING_LANES lanes (vm.rng.substream: stream (colour * groups + group) * L + k under one
# key drawn from the machine's stream per sweep, L = ISING_LANES), row after row. In a row,
# word t is lane t % L's next draw and gives the row's colour sites 2t (low 32 bits) and
# 2t + 1 (high 32 bits); a site goes to +1 when u32 < (1 + tanh(beta I)) * 2^31. The lanes
# advance together (a loop LLVM vectorises). A lattice of +-1 spins with an even side below
# ISING_PARALLEL_SITES is updated split into its even and odd columns (one pass in with the
# spin check, one out), where a colour's sites and neighbours are contiguous and the site
# loop vectorises too. The groups of a colour are
# independent, so a lattice of at least ISING_PARALLEL_SITES sites spreads them over the
# threads; the numbers are the same on any number of threads.
ISING_LANES = 8
# ising_group and what it calls compile without reference counts (NO_REFCOUNTS: they
# create no arrays): the counts on array arguments were ~16 atomic calls a row, more than
# its 32 sites cost
ISING_GROUP_ROWS = 16
ISING_PARALLEL_SITES = 256 * 256  # a colour then is ~0.2 ms of work for one thread
_HALF_RANGE = 2.0**31
_U = np.uint64


@njit(**NO_REFCOUNTS)
def ising_uniforms(u, s0, s1, s2, s3, sites):
    """u[q] for the row's sites q < sites: word t of the row (t < T, T = sites / 2 rounded
    up to a multiple of L) is lane t % L's next draw, its low and high halves u[2t] and
    u[2t + 1]. s0..s3: the lanes' state words, lane k's at k on entry and exit; position
    t + L takes the state after the draw at t, so the loop over t carries a dependence of
    distance L only and LLVM vectorises it (uint64[T + L] each)."""
    n = ISING_LANES
    words = ((sites + 1) // 2 + n - 1) // n * n
    for t in range(words):
        i, o = _U(t), _U(t + n)
        r, s0[o], s1[o], s2[o], s3[o] = xo_next(s0[i], s1[i], s2[i], s3[i])
        u[_U(2 * t)] = float(np.int64(r & LOW32))
        u[_U(2 * t + 1)] = float(np.int64(r >> _U(32)))
    for k in range(n):
        s0[k], s1[k], s2[k], s3[k] = s0[words + k], s1[words + k], s2[words + k], s3[words + k]


@njit(**NO_REFCOUNTS)
def ising_group(
    spins, evens, odds, side, color, group, key, table, coupling, field, beta, whole, u, s0, s1, s2, s3
):
    """The rows of one group for one colour; u, s0..s3: ising_scratch(side). whole == 2:
    every spin is +-1 and side is even, and the lattice is evens and odds (ising_split)."""
    groups = (side + ISING_GROUP_ROWS - 1) // ISING_GROUP_ROWS
    for k in range(ISING_LANES):
        piece = (color * groups + group) * ISING_LANES + k
        s0[k], s1[k], s2[k], s3[k] = substream(key, piece)
    t0, t2, t4, t6, t8 = table[0], table[2], table[4], table[6], table[8]
    for i in range(group * ISING_GROUP_ROWS, min(side, (group + 1) * ISING_GROUP_ROWS)):
        start = (i + color) % 2
        sites = (side - start + 1) // 2
        ising_uniforms(u, s0, s1, s2, s3, sites)
        if whole == 2:
            ising_row_split(evens, odds, side, i, start, u, t0, t2, t4, t6, t8)
        else:
            ising_row(spins, side, i, start, sites, u, table, coupling, field, beta, whole == 1)


@njit(**NO_REFCOUNTS)
def ising_row(spins, side, row_index, start, sites, u, table, coupling, field, beta, whole):
    """Update the sites of one colour in one row (j = start + 2q, uniform u[q]). ``whole``:
    every spin is -1, 0 or +1, so every neighbour sum indexes the table (no tanh call in
    the loop). The row's two ends (periodic neighbours) apart, so the loop between them has
    no wraparound select (~1 ns a site); unsigned indices (a signed one costs a check)."""
    row = row_index * side
    up = (row_index + side - 1) % side * side
    down = (row_index + 1) % side * side
    q_lo = 1 if start == 0 else 0  # site 0's left neighbour is side - 1
    q_hi = sites - 1 if start + 2 * (sites - 1) == side - 1 else sites  # and side - 1's is 0
    if q_lo == 1:
        ising_end(spins, side, row, up, down, 0, u[0], table, coupling, field, beta, whole)
    here, above, below = _U(row + start), _U(up + start), _U(down + start)
    for q in range(q_lo, q_hi):
        j = _U(2 * q)
        total = spins[above + j] + spins[below + j] + spins[here + j - _U(1)] + spins[here + j + _U(1)]
        if whole:
            threshold = table[_U(np.int64(total + 4.0))]
        else:
            threshold = ising_threshold(total, coupling, field, beta)
        spins[here + j] = 1.0 if u[_U(q)] < threshold else -1.0
    if q_hi < sites:
        j = start + 2 * (sites - 1)
        ising_end(spins, side, row, up, down, j, u[sites - 1], table, coupling, field, beta, whole)


@njit(**NO_REFCOUNTS)
def ising_end(spins, side, row, up, down, j, u, table, coupling, field, beta, whole):
    """One site at an end of its row, with its periodic neighbours."""
    left = row + (j - 1 if j > 0 else side - 1)
    right = row + (j + 1 if j + 1 < side else 0)
    total = spins[up + j] + spins[down + j] + spins[left] + spins[right]
    threshold = table[int(total + 4.0)] if whole else ising_threshold(total, coupling, field, beta)
    spins[row + j] = 1.0 if u < threshold else -1.0


@njit(**NO_REFCOUNTS)
def ising_merge(spins, side, evens, odds, r0, r1):
    """Rows r0..r1 - 1 of the lattice back from its even and odd columns (side / 2 each)."""
    half = side // 2
    for i in range(r0, r1):
        row, src = _U(i * side), _U(i * half)
        for q in range(half):
            spins[row + _U(2 * q)] = evens[src + _U(q)]
            spins[row + _U(2 * q + 1)] = odds[src + _U(q)]


@njit(**NO_REFCOUNTS)
def ising_row_split(evens, odds, side, row_index, start, u, t0, t2, t4, t6, t8):
    """ising_row on a lattice of +-1 spins split into even and odd columns (even side):
    the colour's sites, their vertical neighbours and their horizontal ones are each
    contiguous, and the thresholds of the five neighbour sums are selects, not a table
    (a look-up the loop might write), so LLVM vectorises the loop. The same numbers as
    ising_row."""
    half = side // 2
    own, other = (evens, odds) if start == 0 else (odds, evens)
    row = _U(row_index * half)
    up = _U((row_index + side - 1) % side * half)
    down = _U((row_index + 1) % side * half)
    # site q's left neighbour is other[q - 1 + start], its right other[q + start]
    if start == 0:
        ising_split_site(own, other, row, up, down, 0, half - 1, 0, u[0], t0, t2, t4, t6, t8)
    lo, hi = 1 - start, half - start
    left = row + _U(start) - _U(1)
    for q in range(lo, hi):
        k = _U(q)
        total = own[up + k] + own[down + k] + other[left + k] + other[left + k + _U(1)]
        own[row + k] = 1.0 if u[k] < split_threshold(total, t0, t2, t4, t6, t8) else -1.0
    if start == 1:
        ising_split_site(own, other, row, up, down, half - 1, half - 1, 0, u[half - 1], t0, t2, t4, t6, t8)


@njit(cache=True, inline="always")
def split_threshold(total, t0, t2, t4, t6, t8):
    """The threshold of a neighbour sum of -4, -2, 0, 2 or 4 as selects, not a table look-up
    (which the loop might write, so LLVM would not vectorise it)."""
    t = t8
    t = t6 if total < 3.0 else t
    t = t4 if total < 1.0 else t
    t = t2 if total < -1.0 else t
    return t0 if total < -3.0 else t


@njit(**NO_REFCOUNTS)
def ising_split_site(own, other, row, up, down, q, left, right, u, t0, t2, t4, t6, t8):
    """One site of ising_row_split at an end of its row (left, right: its neighbours'
    columns in other)."""
    total = own[up + _U(q)] + own[down + _U(q)] + other[row + _U(left)] + other[row + _U(right)]
    own[row + _U(q)] = 1.0 if u < split_threshold(total, t0, t2, t4, t6, t8) else -1.0


@njit(cache=True)
def ising_threshold(total, coupling, field, beta):
    return (1.0 + math.tanh(beta * (coupling * total + field))) * _HALF_RANGE


@njit(cache=True)
def ising_whole(spins):
    """2 when every spin is -1 or +1, 1 when every one is -1, 0 or +1, else 0."""
    signs = True
    whole = True
    for v in spins:
        pm = (v == 1.0) | (v == -1.0)
        signs &= pm
        whole &= pm | (v == 0.0)
    return 2 if signs else (1 if whole else 0)


@njit(**NO_REFCOUNTS)
def ising_split_whole(spins, side, evens, odds):
    """ising_whole, splitting the lattice (even side) into evens and odds as it reads it."""
    half = side // 2
    signs = True
    whole = True
    for i in range(side * half):
        a, b = spins[_U(2 * i)], spins[_U(2 * i + 1)]
        evens[_U(i)], odds[_U(i)] = a, b
        pm = (a == 1.0) | (a == -1.0)
        pm &= (b == 1.0) | (b == -1.0)
        signs &= pm
        whole &= pm | (a == 0.0) | (b == 0.0)
    return 2 if signs else (1 if whole else 0)


@njit(cache=True)
def ising_scratch(side):
    """(u, s0, s1, s2, s3) scratch of ising_group."""
    n = (side // 2 + 2 * ISING_LANES) // ISING_LANES * ISING_LANES + ISING_LANES
    return np.empty(2 * n), np.empty(n, _U), np.empty(n, _U), np.empty(n, _U), np.empty(n, _U)


@njit(cache=True, parallel=True)
def ising_colour_parallel(spins, evens, odds, side, color, key, table, coupling, field, beta, whole):
    for g in prange((side + ISING_GROUP_ROWS - 1) // ISING_GROUP_ROWS):
        u, s0, s1, s2, s3 = ising_scratch(side)
        ising_group(
            spins, evens, odds, side, color, g, key, table, coupling, field, beta, whole, u, s0, s1, s2, s3
        )


@njit(cache=True)
def ising_sweep(spins, side, coupling, field, beta, rng_state):
    """One sweep: every (i + j) even site, then every odd one, each a p-bit driven by
    I = coupling * (sum of its 4 periodic neighbours) + field."""
    table = np.empty(9)  # thresholds for neighbour sums -4..4
    for k in range(9):
        table[k] = ising_threshold(k - 4.0, coupling, field, beta)
    key, rng_state[0], rng_state[1], rng_state[2], rng_state[3] = xo_next(
        rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    )
    # a speed switch only, the same numbers every way: the split lattice for one thread's
    # (cache-sized) lattices; past that its two extra passes over memory cost more
    half = side // 2 if side % 2 == 0 and side * side < ISING_PARALLEL_SITES else 0
    evens, odds = np.empty(side * half), np.empty(side * half)
    whole = ising_split_whole(spins, side, evens, odds) if half else min(ising_whole(spins), 1)
    u, s0, s1, s2, s3 = ising_scratch(side)
    for color in range(2):
        if side * side >= ISING_PARALLEL_SITES:
            ising_colour_parallel(spins, evens, odds, side, color, key, table, coupling, field, beta, whole)
        else:
            for g in range((side + ISING_GROUP_ROWS - 1) // ISING_GROUP_ROWS):
                ising_group(
                    spins,
                    evens,
                    odds,
                    side,
                    color,
                    g,
                    key,
                    table,
                    coupling,
                    field,
                    beta,
                    whole,
                    u,
                    s0,
                    s1,
                    s2,
                    s3,
                )
    if whole == 2:
        ising_merge(spins, side, evens, odds, 0, side)
