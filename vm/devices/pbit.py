"""Generic p-bits (Camsari): ``m = sgn(tanh(beta I) - r)``, r ~ U(-1, 1), so
P(+1) = sigmoid(2 beta I); categorical p-dits; the checkerboard Ising sweep.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from vm import config as _config
from vm.rng import xo_uniform


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
