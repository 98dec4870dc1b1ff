"""The NIST SP800-22 rev. 1a statistical test suite: its 15 tests on one bit sequence.

Written from the document (NIST Special Publication 800-22 rev. 1a, sections 2.1-2.15)
and checked against its worked examples (tests/devices/test_nist.py). The one package on
PyPI (nistrng 1.2.3) was tried first: it has 12 of the 15 tests, overflows int8 sums and
fails its DFT, serial and approximate entropy tests on good random input.

Each test returns one p-value, or None where the sequence is too short or the test does
not apply (random excursions need J >= 500 cycles). Tests that compute several p-values
(the templates, both cumulative sums directions, the serial pair, the excursion states)
report the smallest one corrected for their number (Bonferroni: min(1, k min p)), so
"p >= alpha" is a test of the whole family at level alpha. ``battery`` runs all 15.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numba import njit
from scipy.special import gammaincc

ALPHA = 0.01
NAMES = (
    "frequency",
    "block_frequency",
    "runs",
    "longest_run",
    "rank",
    "dft",
    "non_overlapping_template",
    "overlapping_template",
    "universal",
    "linear_complexity",
    "serial",
    "approximate_entropy",
    "cumulative_sums",
    "random_excursions",
    "random_excursions_variant",
)


def igamc(a: float, x: float) -> float:
    return float(gammaincc(a, x))


def _family(ps: list[float]) -> float:
    return min(1.0, len(ps) * min(ps))


def _bits(bits) -> np.ndarray:
    return np.asarray(bits, dtype=np.int64).ravel()


# ---------------------------------------------------------------------- 2.1-2.4
def frequency(bits) -> float:
    x = _bits(bits)
    s = abs(int(np.sum(2 * x - 1)))
    return math.erfc(s / math.sqrt(x.size) / math.sqrt(2.0))


def block_frequency(bits, m: int = 128) -> float | None:
    x = _bits(bits)
    n_blocks = x.size // m
    if n_blocks == 0:
        return None
    pi = x[: n_blocks * m].reshape(n_blocks, m).mean(axis=1)
    chi2 = 4.0 * m * float(np.sum((pi - 0.5) ** 2))
    return igamc(n_blocks / 2.0, chi2 / 2.0)


def runs(bits) -> float:
    x = _bits(bits)
    n = x.size
    pi = x.mean()
    if abs(pi - 0.5) >= 2.0 / math.sqrt(n):
        return 0.0
    v = 1 + int(np.count_nonzero(x[1:] != x[:-1]))
    return math.erfc(abs(v - 2.0 * n * pi * (1 - pi)) / (2.0 * math.sqrt(2.0 * n) * pi * (1 - pi)))


_LONGEST = (  # (block length M, class bounds (first is "<=", last ">="), pi)
    (750000, 10000, (10, 16), (0.0882, 0.2092, 0.2483, 0.1933, 0.1208, 0.0675, 0.0727)),
    (6272, 128, (4, 9), (0.1174, 0.2430, 0.2493, 0.1752, 0.1027, 0.1124)),
    (128, 8, (1, 4), (0.2148, 0.3672, 0.2305, 0.1875)),
)


def longest_run(bits) -> float | None:
    x = _bits(bits)
    row = next((r for r in _LONGEST if x.size >= r[0]), None)
    if row is None:
        return None
    _, m, (low, high), pi = row
    n_blocks = x.size // m
    blocks = x[: n_blocks * m].reshape(n_blocks, m)
    longest = np.zeros(n_blocks, dtype=np.int64)
    current = np.zeros(n_blocks, dtype=np.int64)
    for j in range(m):
        current = (current + 1) * blocks[:, j]
        np.maximum(longest, current, out=longest)
    counts = np.bincount(np.clip(longest, low, high) - low, minlength=high - low + 1)
    expected = n_blocks * np.asarray(pi)
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    return igamc((len(pi) - 1) / 2.0, chi2 / 2.0)


# ---------------------------------------------------------------------- 2.5 rank
@njit(cache=True)
def _gf2_rank(rows, m, q):
    """Rank over GF(2) of an m x q matrix given as m row bitmasks (q <= 63)."""
    a = rows.copy()
    rank = 0
    for col in range(q - 1, -1, -1):
        bit = np.int64(1) << col
        pivot = -1
        for r in range(rank, m):
            if a[r] & bit:
                pivot = r
                break
        if pivot < 0:
            continue
        a[rank], a[pivot] = a[pivot], a[rank]
        for r in range(m):
            if r != rank and a[r] & bit:
                a[r] ^= a[rank]
        rank += 1
    return rank


def _rank_probability(r: int, m: int, q: int) -> float:
    p = 2.0 ** (r * (q + m - r) - m * q)
    for i in range(r):
        p *= (1 - 2.0 ** (i - q)) * (1 - 2.0 ** (i - m)) / (1 - 2.0 ** (i - r))
    return p


def rank(bits, m: int = 32, q: int = 32, min_matrices: int = 38) -> float | None:
    """Full rank, rank - 1 and lower among n / (m q) matrices, against their probabilities
    for 32 x 32 matrices (the document uses those even in its 3 x 3 example)."""
    x = _bits(bits)
    n_mat = x.size // (m * q)
    if n_mat < min_matrices:
        return None
    weights = np.int64(1) << np.arange(q - 1, -1, -1, dtype=np.int64)
    rows = (x[: n_mat * m * q].reshape(n_mat, m, q) * weights).sum(axis=2)
    ranks = np.array([_gf2_rank(rows[k], m, q) for k in range(n_mat)])
    full = _rank_probability(32, 32, 32)
    minus = _rank_probability(31, 32, 32)
    p = np.array([full, minus, 1.0 - full - minus])
    counts = np.array([np.sum(ranks == min(m, q)), np.sum(ranks == min(m, q) - 1), 0])
    counts[2] = n_mat - counts[0] - counts[1]
    chi2 = float(np.sum((counts - n_mat * p) ** 2 / (n_mat * p)))
    return math.exp(-chi2 / 2.0)


# ---------------------------------------------------------------------- 2.6 DFT
def dft(bits) -> float:
    x = 2.0 * _bits(bits) - 1.0
    n = x.size
    modulus = np.abs(np.fft.fft(x))[: n // 2]
    threshold = math.sqrt(math.log(1 / 0.05) * n)
    n0 = 0.95 * n / 2.0
    n1 = float(np.count_nonzero(modulus < threshold))
    d = (n1 - n0) / math.sqrt(n * 0.95 * 0.05 / 4.0)
    return math.erfc(abs(d) / math.sqrt(2.0))


# ---------------------------------------------------------------------- 2.7-2.8 templates
def aperiodic_templates(m: int) -> list[tuple[int, ...]]:
    """Every m-bit template that cannot overlap a shifted copy of itself (148 for m = 9)."""
    out = []
    for k in range(1 << m):
        t = tuple((k >> (m - 1 - i)) & 1 for i in range(m))
        if all(t[s:] != t[: m - s] for s in range(1, m)):
            out.append(t)
    return out


def _windows(x: np.ndarray, m: int) -> np.ndarray:
    """The integer value of every m-bit window of x (len(x) - m + 1 of them)."""
    value = np.zeros(x.size - m + 1, dtype=np.int64)
    for i in range(m):
        value = (value << 1) | x[i : x.size - m + 1 + i]
    return value


@njit(cache=True)
def _count_non_overlapping(windows, block, m, target):
    """Non-overlapping matches of target in each block (a match skips m positions on)."""
    n_blocks = windows.shape[0] // block if block > 0 else 0
    counts = np.zeros(n_blocks, dtype=np.int64)
    for b in range(n_blocks):
        j = b * block
        end = b * block + block - m + 1
        while j < end:
            if windows[j] == target:
                counts[b] += 1
                j += m
            else:
                j += 1
    return counts


def non_overlapping_template(bits, m: int = 9, n_blocks: int = 8, templates=None) -> float | None:
    x = _bits(bits)
    block = x.size // n_blocks
    if block < m:
        return None
    windows = _windows(x[: n_blocks * block], m)
    windows = np.concatenate([windows, np.full(m - 1, -1, dtype=np.int64)])
    mu = (block - m + 1) / 2.0**m
    var = block * (1.0 / 2.0**m - (2.0 * m - 1) / 2.0 ** (2 * m))
    ps = []
    for t in templates if templates is not None else aperiodic_templates(m):
        target = int("".join(map(str, t)), 2)
        counts = _count_non_overlapping(windows, block, m, target)
        chi2 = float(np.sum((counts - mu) ** 2) / var)
        ps.append(igamc(n_blocks / 2.0, chi2 / 2.0))
    return _family(ps)


# pi_0..pi_5 for m = 9, M = 1032 (SP800-22 rev. 1a, 2.8.4, from Hamano and Kaneko)
_OVERLAP_PI = (0.364091, 0.185659, 0.139381, 0.100571, 0.070432, 0.139865)


def overlapping_template(bits, m: int = 9, block: int = 1032, pi=_OVERLAP_PI) -> float | None:
    """Overlapping matches of the all-ones template in blocks of 1032 bits, classed 0..5+."""
    x = _bits(bits)
    n_blocks = x.size // block
    if n_blocks < 1 or x.size < 10**6 and pi is _OVERLAP_PI and n_blocks < 5:
        return None
    k = len(pi) - 1
    blocks = x[: n_blocks * block].reshape(n_blocks, block)
    hits = np.ones((n_blocks, block - m + 1), dtype=bool)
    for i in range(m):
        hits &= blocks[:, i : block - m + 1 + i] == 1
    counts = np.bincount(np.minimum(hits.sum(axis=1), k), minlength=k + 1)
    expected = n_blocks * np.asarray(pi)
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    return igamc(k / 2.0, chi2 / 2.0)


# ---------------------------------------------------------------------- 2.9 universal
_UNIVERSAL = {  # L: (expected value, variance)
    1: (0.7326495, 0.690),
    2: (1.5374383, 1.338),
    3: (2.4016068, 1.901),
    4: (3.3112247, 2.358),
    5: (4.2534266, 2.705),
    6: (5.2177052, 2.954),
    7: (6.1962507, 3.125),
    8: (7.1836656, 3.238),
    9: (8.1764248, 3.311),
    10: (9.1723243, 3.356),
    11: (10.170032, 3.384),
    12: (11.168765, 3.401),
    13: (12.168070, 3.410),
    14: (13.167693, 3.416),
    15: (14.167488, 3.419),
    16: (15.167379, 3.421),
}
_UNIVERSAL_MIN_N = ((1059061760, 16), (496435200, 15), (231669760, 14), (107560960, 13),
                    (49643520, 12), (22753280, 11), (10342400, 10), (4654080, 9),
                    (2068480, 8), (904960, 7), (387840, 6))  # fmt: skip


def universal_statistic(bits, block: int, init_blocks: int) -> tuple[float, int]:
    """(fn, K): the mean log2 distance between repeats of each block after the first Q."""
    x = _bits(bits)
    n_blocks = x.size // block
    weights = 1 << np.arange(block - 1, -1, -1)
    values = (x[: n_blocks * block].reshape(n_blocks, block) * weights).sum(axis=1)
    last = np.zeros(2**block, dtype=np.int64)
    for i in range(init_blocks):
        last[values[i]] = i + 1
    total = 0.0
    for i in range(init_blocks, n_blocks):
        total += math.log2(i + 1 - last[values[i]])
        last[values[i]] = i + 1
    k = n_blocks - init_blocks
    return total / k, k


def universal(bits, block: int | None = None, init_blocks: int | None = None) -> float | None:
    x = _bits(bits)
    if block is None:
        block = next((L for least, L in _UNIVERSAL_MIN_N if x.size >= least), 0)
        if block == 0:
            return None
    q = init_blocks if init_blocks is not None else 10 * 2**block
    if x.size // block - q <= 0:
        return None
    fn, k = universal_statistic(x, block, q)
    expected, variance = _UNIVERSAL[block]
    c = 0.7 - 0.8 / block + (4 + 32 / block) * k ** (-3 / block) / 15
    sigma = c * math.sqrt(variance / k)
    return math.erfc(abs(fn - expected) / (math.sqrt(2.0) * sigma))


# ---------------------------------------------------------------------- 2.10 linear complexity
@njit(cache=True)
def berlekamp_massey(s):
    """The length of the shortest LFSR that generates the 0/1 sequence s."""
    n = s.shape[0]
    c = np.zeros(n + 1, dtype=np.int64)
    b = np.zeros(n + 1, dtype=np.int64)
    c[0] = 1
    b[0] = 1
    length = 0
    m = -1
    for i in range(n):
        d = s[i]
        for j in range(1, length + 1):
            d ^= c[j] & s[i - j]
        if d == 1:
            t = c.copy()
            shift = i - m
            for j in range(0, n + 1 - shift):
                c[j + shift] ^= b[j]
            if length <= i // 2:
                length = i + 1 - length
                m = i
                b = t
    return length


_LC_PI = (0.010417, 0.03125, 0.125, 0.5, 0.25, 0.0625, 0.020833)


def linear_complexity(bits, block: int = 500) -> float | None:
    x = _bits(bits)
    n_blocks = x.size // block
    if n_blocks < 200:
        return None
    mu = block / 2.0 + (9 + (-1) ** (block + 1)) / 36.0 - (block / 3.0 + 2 / 9.0) / 2.0**block
    classes = np.zeros(7, dtype=np.int64)
    blocks = x[: n_blocks * block].reshape(n_blocks, block)
    for k in range(n_blocks):
        lc = berlekamp_massey(np.ascontiguousarray(blocks[k]))
        t = (-1) ** block * (lc - mu) + 2 / 9.0
        classes[0 if t <= -2.5 else 6 if t > 2.5 else int(math.ceil(t - 0.5)) + 3] += 1
    expected = n_blocks * np.asarray(_LC_PI)
    chi2 = float(np.sum((classes - expected) ** 2 / expected))
    return igamc(3.0, chi2 / 2.0)


# ---------------------------------------------------------------------- 2.11-2.12
def _psi2(x: np.ndarray, m: int) -> float:
    """psi^2_m: counts of every (cyclically wrapped) m-bit pattern."""
    if m <= 0:
        return 0.0
    n = x.size
    wrapped = np.concatenate([x, x[: m - 1]])
    counts = np.bincount(_windows(wrapped, m), minlength=2**m)
    return float(np.sum(counts.astype(np.float64) ** 2)) * 2.0**m / n - n


def serial_pair(bits, m: int = 16) -> tuple[float, float]:
    x = _bits(bits)
    psi = [_psi2(x, m - k) for k in range(3)]
    d1 = psi[0] - psi[1]
    d2 = psi[0] - 2 * psi[1] + psi[2]
    return igamc(2.0 ** (m - 2), d1 / 2.0), igamc(2.0 ** (m - 3), d2 / 2.0)


def serial(bits, m: int | None = None) -> float | None:
    x = _bits(bits)
    if m is None:
        m = max(2, min(16, int(math.floor(math.log2(x.size))) - 2 - 1))
    return _family(list(serial_pair(x, m)))


def _phi(x: np.ndarray, m: int) -> float:
    n = x.size
    wrapped = np.concatenate([x, x[: m - 1]]) if m > 1 else x
    counts = np.bincount(_windows(wrapped, m), minlength=2**m).astype(np.float64)
    c = counts[counts > 0] / n
    return float(np.sum(c * np.log(c)))


def approximate_entropy(bits, m: int | None = None) -> float | None:
    x = _bits(bits)
    if m is None:
        m = max(2, min(10, int(math.floor(math.log2(x.size))) - 5 - 1))
    ap_en = _phi(x, m) - _phi(x, m + 1)
    chi2 = 2.0 * x.size * (math.log(2.0) - ap_en)
    return igamc(2.0 ** (m - 1), chi2 / 2.0)


# ---------------------------------------------------------------------- 2.13-2.15 walks
def _ctrunc(a: int, b: int) -> int:
    """C's integer division (toward zero), as the document's reference code bounds its sums."""
    return int(a / b)


def cumulative_sums_pair(bits) -> tuple[float, float]:
    x = 2 * _bits(bits) - 1
    n = x.size
    ps = []
    for walk in (np.cumsum(x), np.cumsum(x[::-1])):
        z = int(np.max(np.abs(walk)))
        sqn = math.sqrt(n)

        def phi(v):
            return 0.5 * math.erfc(-v / math.sqrt(2.0))

        total1 = sum(
            phi((4 * k + 1) * z / sqn) - phi((4 * k - 1) * z / sqn)
            for k in range(_ctrunc(_ctrunc(-n, z) + 1, 4), _ctrunc(_ctrunc(n, z) - 1, 4) + 1)
        )
        total2 = sum(
            phi((4 * k + 3) * z / sqn) - phi((4 * k + 1) * z / sqn)
            for k in range(_ctrunc(_ctrunc(-n, z) - 3, 4), _ctrunc(_ctrunc(n, z) - 1, 4) + 1)
        )
        ps.append(1.0 - total1 + total2)
    return ps[0], ps[1]


def cumulative_sums(bits) -> float:
    return _family(list(cumulative_sums_pair(bits)))


def _cycles(bits) -> tuple[np.ndarray, np.ndarray]:
    """The walk S' = 0, S_1..S_n, 0 and each position's cycle index."""
    walk = np.concatenate([[0], np.cumsum(2 * _bits(bits) - 1), [0]])
    zero = walk == 0
    cycle = np.cumsum(zero) - 1  # cycle k holds the positions after its k-th zero
    return walk, cycle


def random_excursions_states(bits, min_cycles: int = 500) -> dict[int, float] | None:
    walk, cycle = _cycles(bits)
    j = int(cycle[-1])
    if j < max(min_cycles, 0.005 * math.sqrt(walk.size - 2)):
        return None
    out = {}
    for x in (-4, -3, -2, -1, 1, 2, 3, 4):
        visits = np.bincount(cycle[walk == x], minlength=j)[:j]
        nu = np.bincount(np.minimum(visits, 5), minlength=6)
        a = abs(x)
        pi = [1 - 1 / (2 * a)]
        pi += [1 / (4 * a * a) * (1 - 1 / (2 * a)) ** (k - 1) for k in range(1, 5)]
        pi.append(1 / (2 * a) * (1 - 1 / (2 * a)) ** 4)
        expected = j * np.asarray(pi)
        chi2 = float(np.sum((nu - expected) ** 2 / expected))
        out[x] = igamc(2.5, chi2 / 2.0)
    return out


def random_excursions(bits) -> float | None:
    states = random_excursions_states(bits)
    return None if states is None else _family(list(states.values()))


def random_excursions_variant_states(bits, min_cycles: int = 500) -> dict[int, float] | None:
    walk, cycle = _cycles(bits)
    j = int(cycle[-1])
    if j < max(min_cycles, 0.005 * math.sqrt(walk.size - 2)):
        return None
    out = {}
    for x in [*range(-9, 0), *range(1, 10)]:
        xi = int(np.count_nonzero(walk == x))
        out[x] = math.erfc(abs(xi - j) / math.sqrt(2.0 * j * (4 * abs(x) - 2)))
    return out


def random_excursions_variant(bits) -> float | None:
    states = random_excursions_variant_states(bits)
    return None if states is None else _family(list(states.values()))


# ---------------------------------------------------------------------- the battery
TESTS: dict[str, Callable[[np.ndarray], float | None]] = {
    "frequency": frequency,
    "block_frequency": block_frequency,
    "runs": runs,
    "longest_run": longest_run,
    "rank": rank,
    "dft": dft,
    "non_overlapping_template": non_overlapping_template,
    "overlapping_template": overlapping_template,
    "universal": universal,
    "linear_complexity": linear_complexity,
    "serial": serial,
    "approximate_entropy": approximate_entropy,
    "cumulative_sums": cumulative_sums,
    "random_excursions": random_excursions,
    "random_excursions_variant": random_excursions_variant,
}
assert tuple(TESTS) == NAMES


def battery(bits) -> dict[str, float | None]:
    """Every test's p-value (None: not applicable to this sequence)."""
    x = _bits(bits)
    return {name: test(x) for name, test in TESTS.items()}


def passed(p: float | None, alpha: float = ALPHA) -> bool | None:
    return None if p is None else p >= alpha
