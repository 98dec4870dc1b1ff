"""Generic p-bits (Camsari): ``m = sgn(tanh(beta I) - r)``, r ~ U(-1, 1), so
P(+1) = sigmoid(2 beta I); categorical p-dits; the checkerboard Ising sweep.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vm.rng import xo_uniform

# Modeled cost of one parallel p-bit sampling window and of one bit (seed 004's in-situ
# VCMA p-bit: 29.8 bit/ns at 0.089 pJ/bit; one window ~ one precession period).
WINDOW_S = 1e-9
ENERGY_PER_BIT_J = 0.089e-12


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


@njit(cache=True)
def ising_sweep(spins, side, coupling, field, beta, rng_state):
    """One sweep: every (i + j) even site, then every odd one, each a p-bit driven by
    I = coupling * (sum of its 4 periodic neighbours) + field."""
    table = np.empty(9)  # tanh(beta I) for neighbour sums -4..4 (spins +-1 or 0)
    for k in range(9):
        table[k] = math.tanh(beta * (coupling * (k - 4) + field))
    s0, s1, s2, s3 = rng_state[0], rng_state[1], rng_state[2], rng_state[3]
    for color in range(2):
        for i in range(side):
            up = (i - 1 + side) % side * side
            down = (i + 1) % side * side
            row = i * side
            for j in range((i + color) % 2, side, 2):
                left = j - 1 if j > 0 else side - 1
                right = j + 1 if j < side - 1 else 0
                total = spins[up + j] + spins[down + j] + spins[row + left] + spins[row + right]
                u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
                k = total + 4.0
                if k >= 0.0 and k <= 8.0 and k == math.floor(k):
                    th = table[int(k)]
                else:
                    th = math.tanh(beta * (coupling * total + field))
                spins[row + j] = decide(th, u)
    rng_state[0], rng_state[1], rng_state[2], rng_state[3] = s0, s1, s2, s3
