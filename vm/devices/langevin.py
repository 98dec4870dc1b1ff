"""Langevin kernels: overdamped relaxation windows and exact Ornstein-Uhlenbeck samplers.

RELAX (PHYSICS.md section 3): ``x <- clip(x + (I - V'(x)) dt + sqrt(2 T dt) z, +-rail)``
with ``V'(x) = j2 x + j3 x^2 + j4 x^3``, round(tf/dt) steps per window. Units are advanced
in blocks of ``BLOCK``, all units of a block one step at a time: the update of one unit is
a serial chain (~10 ns of latency), so interleaving independent units keeps the core busy.
OUS: ``x' = mean + (x - mean) a + scale sqrt(1 - a^2) z`` with ``a = exp(-window/tau0)``,
the exact transition (no time-step inflation of the variance).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from vm.devices import threads as _threads  # noqa: F401  (starts the thread pool first)
from vm.devices.layout import param
from vm.numba_cache import NO_REFCOUNTS
from vm.rng import LOW32, substream, xo_next, xo_normal, xo_normal_slow, xo_uniform, zig32_candidate
from vm.state import N_STATUS, ST_PARTIAL, ST_STOP

_U = np.uint64
# relax_blocks and what it calls compile without reference counts (NO_REFCOUNTS: they
# create no arrays, only views): Numba's counts on their array arguments are atomic calls a block

BLOCK = 64
CHUNK_STEPS = 64  # steps of one block drawn from one substream
GROUP_BLOCKS = 256  # blocks of one round (between two polls of the stop flag)
RELAX_PARALLEL_UNITS = 4096  # a round this wide (~1 ms for one thread) spreads its blocks over the threads
B_J2, B_J3, B_J4, B_TEMP, B_DT, B_TF, B_RAIL, B_UNIT, B_POWER = (
    param("bank", k) for k in ("j2", "j3", "j4", "temperature", "dt", "tf", "rail", "time_unit", "unit_power")
)
O_TAU0, O_WINDOW, O_POWER = (param("ou", k) for k in ("tau0", "window", "unit_power"))


@njit(cache=True)
def n_steps(p):
    return max(1, int(math.floor(p[B_TF] / p[B_DT] + 0.5)))


@njit(cache=True)
def relax(x, current, p, rng_state):
    """Evolve units x for one window with input currents. Returns the modeled time (s)."""
    relax_window(x, current, p, rng_state, np.zeros(N_STATUS, dtype=np.int64))
    return p[B_TF] * p[B_UNIT]


@njit(cache=True)
def relax_scratch():
    """The working arrays of relax_piece (one set a thread): lane states s0..s3, the
    words, the two steps' normals and whether each was accepted."""
    s = (np.empty(BLOCK, _U), np.empty(BLOCK, _U), np.empty(BLOCK, _U), np.empty(BLOCK, _U))
    return s + (
        np.empty(BLOCK, _U),
        np.empty(BLOCK),
        np.empty(BLOCK),
        np.empty(BLOCK, np.bool_),
        np.empty(BLOCK, np.bool_),
    )


@njit(**NO_REFCOUNTS)
def relax_piece(x, current, start, stop, first, last, coeffs, key, piece, scratch):
    """Units [start, stop) (one block) for steps [first, last) (one chunk). Unit start + k
    draws from its own lane, substream piece * BLOCK + k under key: one 64-bit draw for two
    steps (a 32-bit ziggurat candidate each, low half first; an odd last step leaves the
    high half unused). The lanes advance together, so the draws, the candidates and the
    steps are loops over the block that LLVM vectorises; the rare rejected candidates
    (~1.5%) are redrawn from their lane in a scalar pass, unit by unit, first step first.
    coeffs: (j2, j3, j4, dt, amp, rail); scratch: relax_scratch()."""
    j2, j3, j4, dt, amp, rail = coeffs
    s0, s1, s2, s3, words, z0, z1, ok0, ok1 = scratch
    w = stop - start
    xb, cb = x[start:stop], current[start:stop]
    for k in range(w):
        s0[k], s1[k], s2[k], s3[k] = substream(key, piece * BLOCK + k)
    for t in range(first, last, 2):
        two = t + 1 < last
        rejected = False
        for k in range(w):
            r, s0[k], s1[k], s2[k], s3[k] = xo_next(s0[k], s1[k], s2[k], s3[k])
            words[k] = r
            _, _, z0[k], ok0[k] = zig32_candidate(r & LOW32)
            _, _, z1[k], ok1[k] = zig32_candidate(r >> _U(32))
            rejected |= not (ok0[k] & (ok1[k] | (not two)))
        if rejected:
            relax_redraw(s0, s1, s2, s3, words, z0, z1, ok0, ok1, w, two)
        for k in range(w):
            xi = xb[k]
            force = cb[k] - xi * (j2 + xi * (j3 + xi * j4))
            xi = min(max(xi + force * dt + amp * z0[k], -rail), rail)
            if two:
                force = cb[k] - xi * (j2 + xi * (j3 + xi * j4))
                xi = min(max(xi + force * dt + amp * z1[k], -rail), rail)
            xb[k] = xi


@njit(**NO_REFCOUNTS)
def relax_redraw(s0, s1, s2, s3, words, z0, z1, ok0, ok1, w, two):
    """The ziggurat's rare path for the rejected candidates of one draw of lanes 0..w-1."""
    for k in range(w):
        for half in range(2 if two else 1):
            if not (ok1[k] if half else ok0[k]):
                idx, sign, z, _ = zig32_candidate((words[k] >> _U(32)) if half else (words[k] & LOW32))
                z, s0[k], s1[k], s2[k], s3[k] = xo_normal_slow(idx, z, sign, s0[k], s1[k], s2[k], s3[k])
                if half:
                    z1[k] = z
                else:
                    z0[k] = z


@njit(**NO_REFCOUNTS)
def relax_blocks(x, current, b0, b1, first, last, coeffs, key, base, scratch):
    """Blocks b0..b1 - 1 for steps [first, last), block b drawing from piece base + b."""
    n = x.shape[0]
    for block in range(b0, b1):
        start = block * BLOCK
        relax_piece(x, current, start, min(start + BLOCK, n), first, last, coeffs, key, base + block, scratch)


THREAD_BLOCKS = 16  # blocks of one thread's turn (one scratch allocation)


@njit(cache=True, parallel=True)
def relax_blocks_parallel(x, current, b0, b1, first, last, coeffs, key, base):
    for c in prange((b1 - b0 + THREAD_BLOCKS - 1) // THREAD_BLOCKS):
        lo = b0 + c * THREAD_BLOCKS
        relax_blocks(
            x, current, lo, min(lo + THREAD_BLOCKS, b1), first, last, coeffs, key, base, relax_scratch()
        )


@njit(cache=True)
def relax_window(x, current, p, rng_state, status):
    """One window, from status[ST_PARTIAL] rounds done; polls status[ST_STOP] after every
    round. Returns True when the window is complete (ST_PARTIAL back to 0, the machine's
    stream one draw on), False when stopped inside it (ST_PARTIAL: rounds done, the stream
    untouched), so the next call resumes it bit for bit.

    The window draws one key from the machine's stream; block b in chunk c (steps
    [c CHUNK_STEPS, (c + 1) CHUNK_STEPS)) draws from substream c * blocks + b (vm.rng), so
    blocks are independent and a wide bank spreads them over the threads with the same
    numbers on any number of threads. A round is one chunk of up to GROUP_BLOCKS blocks."""
    j2, j3, j4 = p[B_J2], p[B_J3], p[B_J4]
    dt = p[B_DT]
    rail = p[B_RAIL]
    amp = math.sqrt(2.0 * p[B_TEMP] * dt)
    steps = n_steps(p)
    n = x.shape[0]
    n_blocks = (n + BLOCK - 1) // BLOCK
    n_groups = (n_blocks + GROUP_BLOCKS - 1) // GROUP_BLOCKS
    rounds = (steps + CHUNK_STEPS - 1) // CHUNK_STEPS * n_groups
    key, s0, s1, s2, s3 = xo_next(rng_state[0], rng_state[1], rng_state[2], rng_state[3])
    coeffs = (j2, j3, j4, dt, amp, rail)
    scratch = relax_scratch()
    for done in range(status[ST_PARTIAL], rounds):
        chunk, group = done // n_groups, done % n_groups
        first = chunk * CHUNK_STEPS
        last = min(first + CHUNK_STEPS, steps)
        b0 = group * GROUP_BLOCKS
        b1 = min(b0 + GROUP_BLOCKS, n_blocks)
        base = chunk * n_blocks
        if min(n, b1 * BLOCK) - b0 * BLOCK >= RELAX_PARALLEL_UNITS:
            relax_blocks_parallel(x, current, b0, b1, first, last, coeffs, key, base)
        else:
            relax_blocks(x, current, b0, b1, first, last, coeffs, key, base, scratch)
        if status[ST_STOP] != 0 and done + 1 < rounds:
            status[ST_PARTIAL] = done + 1
            return False
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
    status[ST_PARTIAL] = 0
    return True


@njit(cache=True)
def ou_coefficients(p):
    """(a, sqrt(1 - a^2)) of one window."""
    h = p[O_WINDOW] / p[O_TAU0]
    return math.exp(-h), math.sqrt(-math.expm1(-2.0 * h))


@njit(cache=True)
def ou_step(x, mean, scale, p, rng_state):
    a, b = ou_coefficients(p)
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    for i in range(x.shape[0]):
        z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
        x[i] = mean + (x[i] - mean) * a + scale * b * z
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3


@njit(cache=True)
def mixture_step(x, table, p, rng_state):
    """table: float64[k, 3] rows (weight, mean, scale), weights >= 0 with a positive sum."""
    a, b = ou_coefficients(p)
    k = table.shape[0]
    total = 0.0
    for c in range(k):
        total += table[c, 0]
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    for i in range(x.shape[0]):
        u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
        target = u * total
        c = 0
        acc = table[0, 0]
        while acc <= target and c < k - 1:
            c += 1
            acc += table[c, 0]
        z, s0, s1, s2, s3 = xo_normal(s0, s1, s2, s3)
        mean = table[c, 1]
        x[i] = mean + (x[i] - mean) * a + table[c, 2] * b * z
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
