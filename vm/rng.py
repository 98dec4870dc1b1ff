"""The VM's random source: xoshiro256** with a Marsaglia-polar normal, state in plain arrays.

Kernels draw from an explicit state (``state``: uint64[4], ``spare``: float64[2] holding the
cached second normal) instead of Numba's hidden per-thread generator, so every Core owns
its stream, a checkpoint is two small arrays, and the pure-Python twin below produces the
same numbers bit for bit (used by the NumPy reference kernels in differential tests).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

_M64 = (1 << 64) - 1
_U = np.uint64


@njit(cache=True)
def _rotl(x, k):
    return (x << _U(k)) | (x >> _U(64 - k))


@njit(cache=True)
def next_u64(state):
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    result = _rotl(s1 * _U(5), 7) * _U(9)
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return result


@njit(cache=True)
def uniform(state):
    """A double in [0, 1) with 53 random bits."""
    return float(next_u64(state) >> _U(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def standard_normal(state, spare):
    if spare[0] != 0.0:
        spare[0] = 0.0
        return spare[1]
    while True:
        u = 2.0 * uniform(state) - 1.0
        v = 2.0 * uniform(state) - 1.0
        s = u * u + v * v
        if 0.0 < s < 1.0:
            break
    f = math.sqrt(-2.0 * math.log(s) / s)
    spare[0] = 1.0
    spare[1] = v * f
    return u * f


def new_state(generator: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Seed a kernel stream from a NumPy generator (never the all-zero state)."""
    state = generator.integers(0, 2**64, size=4, dtype=np.uint64, endpoint=False)
    if not state.any():
        state[0] = np.uint64(0x9E3779B97F4A7C15)
    return state, np.zeros(2, dtype=np.float64)


class PyXoshiro:
    """Pure-Python twin of the kernel generator, sharing the same state arrays."""

    def __init__(self, state: np.ndarray, spare: np.ndarray):
        self.state = state
        self.spare = spare

    def next_u64(self) -> int:
        s0, s1, s2, s3 = (int(v) for v in self.state)
        rot = lambda x, k: ((x << k) | (x >> (64 - k))) & _M64  # noqa: E731
        result = (rot((s1 * 5) & _M64, 7) * 9) & _M64
        t = (s1 << 17) & _M64
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rot(s3, 45)
        self.state[:] = np.array([s0, s1, s2, s3], dtype=np.uint64)
        return result

    def uniform(self) -> float:
        return float(self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def standard_normal(self) -> float:
        if self.spare[0] != 0.0:
            self.spare[0] = 0.0
            return float(self.spare[1])
        while True:
            u = 2.0 * self.uniform() - 1.0
            v = 2.0 * self.uniform() - 1.0
            s = u * u + v * v
            if 0.0 < s < 1.0:
                break
        f = math.sqrt(-2.0 * math.log(s) / s)
        self.spare[0] = 1.0
        self.spare[1] = v * f
        return u * f
