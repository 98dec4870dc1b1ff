"""The VM's random source: xoshiro256** with ziggurat and Marsaglia-polar normals, state in
plain arrays. Every device kernel, kT-RAM's included (issue 23), draws ziggurat normals
(``xo_normal``); the polar ``standard_normal`` and its spare are kept with their twin.

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


# Ziggurat normal (Marsaglia & Tsang 2000; 256 layers, one 64-bit draw per normal in 99%
# of calls): device kernels that need millions of normals (Langevin windows) use it.
_ZIG_R = 3.6541528853610088
_ZIG_V = 0.00492867323399


def _ziggurat_tables(m=2.0**52):
    """(ki, wi, fi) for candidates of magnitude bits below m (2^52: one 64-bit draw a
    normal; 2^23: one 32-bit half of a draw, ``zig32_candidate``)."""
    ki = np.zeros(256, dtype=np.int64)
    wi = np.zeros(256)
    fi = np.zeros(256)
    dn = tn = _ZIG_R
    q = _ZIG_V / math.exp(-0.5 * dn * dn)
    ki[0] = int((dn / q) * m)
    ki[1] = 0
    wi[0] = q / m
    wi[255] = dn / m
    fi[0] = 1.0
    fi[255] = math.exp(-0.5 * dn * dn)
    for i in range(254, 0, -1):
        dn = math.sqrt(-2.0 * math.log(_ZIG_V / dn + math.exp(-0.5 * dn * dn)))
        ki[i + 1] = int((dn / tn) * m)
        tn = dn
        fi[i] = math.exp(-0.5 * dn * dn)
        wi[i] = dn / m
    return ki, wi, fi


ZIG_KI, ZIG_WI, ZIG_FI = _ziggurat_tables()
# 32-bit candidates (8 bits of layer, a sign, 23 bits of magnitude): two normals a 64-bit
# draw for kernels that vectorise over independent lanes (RELAX). The layers (and so
# ZIG_FI, the rare path) are the same; x is resolved to 2^-23 of its layer's width.
ZIG32_KI, ZIG32_WI, _ = _ziggurat_tables(2.0**23)
LOW32 = _U(0xFFFFFFFF)  # the low half of a 64-bit draw


# Scalar-state API for device kernels: the four state words live in local variables for
# the whole kernel (a Numba helper that takes an array costs ~10 ns a call here; these are
# inlined), loaded with ``load`` and written back with ``store``.
@njit(cache=True)
def xo_next(s0, s1, s2, s3):
    t5 = s1 * _U(5)
    result = ((t5 << _U(7)) | (t5 >> _U(57))) * _U(9)
    t = s1 << _U(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = (s3 << _U(45)) | (s3 >> _U(19))
    return result, s0, s1, s2, s3


@njit(cache=True)
def xo_uniform(s0, s1, s2, s3):
    r, s0, s1, s2, s3 = xo_next(s0, s1, s2, s3)
    return float(r >> _U(11)) * (1.0 / 9007199254740992.0), s0, s1, s2, s3


@njit(cache=True)
def zig_candidate(r):
    """One 64-bit draw -> (layer, sign, candidate x, accepted by the layer's rectangle).
    The sign is arithmetic, not a branch: a 50% unpredictable branch cost 2.5 ns."""
    ri = np.int64(r >> _U(1))
    idx = ri & 0xFF
    ri >>= 8
    sign = 1.0 - 2.0 * (ri & 1)
    rabs = (ri >> 1) & 0x000FFFFFFFFFFFFF
    return idx, sign, rabs * ZIG_WI[idx] * sign, rabs < ZIG_KI[idx]


@njit(cache=True)
def zig32_candidate(w):
    """A 32-bit word (in a uint64) -> (layer, sign, candidate x, accepted), like
    zig_candidate; branch-free, so a loop over lanes of it vectorises."""
    idx = w & _U(0xFF)
    sign = 1.0 - 2.0 * np.float64(np.int64((w >> _U(8)) & _U(1)))
    rabs = np.int64(w >> _U(9))
    return np.int64(idx), sign, rabs * ZIG32_WI[idx] * sign, rabs < ZIG32_KI[idx]


@njit(cache=True)
def xo_normal(s0, s1, s2, s3):
    """A standard normal (ziggurat). The fast path (98.5%) is one draw and no branch on
    the sign; kernels that need every nanosecond inline it and call xo_normal_slow."""
    r, s0, s1, s2, s3 = xo_next(s0, s1, s2, s3)
    idx, sign, x, accepted = zig_candidate(r)
    if accepted:
        return x, s0, s1, s2, s3
    return xo_normal_slow(idx, x, sign, s0, s1, s2, s3)


@njit(cache=True)
def xo_normal_slow(idx, x, sign, s0, s1, s2, s3):
    """The ziggurat's rare path: the tail (layer 0) or the wedge test, else fresh draws."""
    while True:
        if idx == 0:
            while True:
                u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
                xx = -math.log1p(-u) / _ZIG_R
                u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
                yy = -math.log1p(-u)
                if yy + yy > xx * xx:
                    return sign * (_ZIG_R + xx), s0, s1, s2, s3
        u, s0, s1, s2, s3 = xo_uniform(s0, s1, s2, s3)
        if (ZIG_FI[idx - 1] - ZIG_FI[idx]) * u + ZIG_FI[idx] < math.exp(-0.5 * x * x):
            return x, s0, s1, s2, s3
        r, s0, s1, s2, s3 = xo_next(s0, s1, s2, s3)
        idx, sign, x, accepted = zig_candidate(r)
        if accepted:
            return x, s0, s1, s2, s3


# Substreams: a kernel that splits its work across threads draws one key from the machine's
# stream and gives each independent piece of work (an Ising row of one colour, a Langevin
# block for one chunk of steps) its own xoshiro state, the words at positions 4m+1..4m+4 of
# the SplitMix64 sequence from that key (m: the piece's index). The numbers depend on the key
# and m only, never on which thread runs the piece or how many threads there are.
_GAMMA = 0x9E3779B97F4A7C15
_G1, _G2, _G3, _G4 = (np.uint64(k * _GAMMA % 2**64) for k in range(1, 5))  # k * gamma, wrapped


@njit(cache=True)
def splitmix_mix(z):
    z = (z ^ (z >> _U(30))) * _U(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> _U(27))) * _U(0x94D049BB133111EB)
    return z ^ (z >> _U(31))


@njit(cache=True)
def substream(key, m):
    """The four state words of piece m's stream under key (a uint64; m an integer >= 0)."""
    base = key + _U(m) * _G4
    return (
        splitmix_mix(base + _G1),
        splitmix_mix(base + _G2),
        splitmix_mix(base + _G3),
        splitmix_mix(base + _G4),
    )


def py_substream(key: int, m: int) -> np.ndarray:
    """Twin of ``substream``: piece m's state words as a uint64[4] array."""

    def mix(z: int) -> int:
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _M64
        return z ^ (z >> 31)

    base = (key + m * 4 * _GAMMA) & _M64
    return np.array([mix((base + k * _GAMMA) & _M64) for k in range(1, 5)], dtype=np.uint64)


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

    def fast_normal(self) -> float:
        """Twin of ``xo_normal``: the same draws, the same value."""
        idx, sign, x, accepted = self._candidate()
        return x if accepted else self.normal_slow(idx, x, sign)

    def _candidate(self) -> tuple[int, float, float, bool]:
        """Twin of ``zig_candidate`` on the next draw."""
        r = self.next_u64() >> 1
        idx = r & 0xFF
        r >>= 8
        sign = 1.0 - 2.0 * (r & 1)
        rabs = (r >> 1) & 0x000FFFFFFFFFFFFF
        return idx, sign, rabs * float(ZIG_WI[idx]) * sign, rabs < int(ZIG_KI[idx])

    def normal32(self, w: int) -> float:
        """Twin of ``zig32_candidate`` on the word w, then (rejected) xo_normal_slow
        drawing from this stream."""
        idx, sign, rabs = w & 0xFF, 1.0 - 2.0 * ((w >> 8) & 1), w >> 9
        x = rabs * float(ZIG32_WI[idx]) * sign
        if rabs < int(ZIG32_KI[idx]):
            return x
        return self.normal_slow(idx, x, sign)

    def normal_slow(self, idx: int, x: float, sign: float) -> float:
        """Twin of ``xo_normal_slow``."""
        while True:
            if idx == 0:
                while True:
                    xx = -math.log1p(-self.uniform()) / _ZIG_R
                    yy = -math.log1p(-self.uniform())
                    if yy + yy > xx * xx:
                        return sign * (_ZIG_R + xx)
            if (float(ZIG_FI[idx - 1]) - float(ZIG_FI[idx])) * self.uniform() + float(ZIG_FI[idx]) < math.exp(
                -0.5 * x * x
            ):
                return x
            idx, sign, x, accepted = self._candidate()
            if accepted:
                return x

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
