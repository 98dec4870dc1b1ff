"""The SP800-22 battery against the document's worked examples (NIST SP 800-22 rev. 1a,
the "Example" subsection of each test) and against sequences that must fail."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vm.devices import nist

# the first 100 binary digits of e (the document's 100-bit examples)
E100 = "1100100100001111110110101010001000100001011010001100001000110100110001001100011001100010100010111000"
LONGEST_128 = (
    "11001100000101010110110001001100111000000000001001001101010100010001001111010110100000001101011111001100"
    "111001101101100010110010"
)


def bits(s: str) -> np.ndarray:
    return np.array([int(c) for c in s])


def excursion(states) -> float:
    """The x = +1 p-value of the document's 10-bit example (J = 3 cycles)."""
    out = states(bits("0110110101"), min_cycles=3)
    assert out is not None
    return out[1]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (lambda: nist.frequency(bits("1011010101")), 0.527089),
        (lambda: nist.frequency(bits(E100)), 0.109599),
        (lambda: nist.block_frequency(bits("0110011010"), 3), 0.801252),
        (lambda: nist.runs(bits("1001101011")), 0.147232),
        (lambda: nist.longest_run(bits(LONGEST_128)), 0.180609),
        (lambda: nist.rank(bits("01011001001010101101"), 3, 3, min_matrices=1), 0.741948),
        (
            lambda: nist.non_overlapping_template(bits("10100100101110010110"), 3, 2, templates=[(0, 0, 1)]),
            0.344154,
        ),
        (lambda: nist.universal_statistic(bits("01011010011101010111"), 2, 4)[0], 1.1949875),
        (lambda: nist.serial_pair(bits("0011011101"), 3)[0], 0.808792),
        (lambda: nist.serial_pair(bits("0011011101"), 3)[1], 0.670320),
        (lambda: nist.approximate_entropy(bits("0100110101"), 3), 0.261961),
        (lambda: nist.cumulative_sums_pair(bits("1011010111"))[0], 0.4116588),
        (lambda: nist.cumulative_sums_pair(bits(E100))[0], 0.219194),
        (lambda: nist.cumulative_sums_pair(bits(E100))[1], 0.114866),
        (lambda: excursion(nist.random_excursions_states), 0.502488),
        (lambda: excursion(nist.random_excursions_variant_states), 0.683091),
    ],
    ids=lambda v: "" if callable(v) else f"{v}",
)
def test_worked_examples(value, expected):
    assert value() == pytest.approx(expected, abs=2e-4)


def test_berlekamp_massey_example():
    assert nist.berlekamp_massey(bits("1101011110001")) == 4  # 2.10.4: L = 4
    # an m-sequence of x^5 + x^2 + 1 has linear complexity 5
    s = [1, 0, 0, 0, 0]
    for _ in range(40):
        s.append(s[-5] ^ s[-3])
    assert nist.berlekamp_massey(np.array(s)) == 5


def test_dft_by_hand():
    # the 10-bit example's moduli are 0, 2, 4.47, 2, 4.47 (all below T = 5.47), so N1 = 5
    # and d = (5 - 4.75) / sqrt(10 * 0.95 * 0.05 / 4); the document's printed N1 = 4 does not
    # follow from its own formula, so the test checks the formula
    d = (5 - 4.75) / np.sqrt(10 * 0.95 * 0.05 / 4)
    assert nist.dft(bits("1001010011")) == pytest.approx(math.erfc(d / math.sqrt(2)), abs=1e-9)


def test_aperiodic_templates():
    assert len(nist.aperiodic_templates(9)) == 148  # the document's count for m = 9
    assert len(nist.aperiodic_templates(2)) == 2  # 01, 10


@pytest.mark.slow
def test_battery_on_a_good_stream_and_a_bad_one():
    rng = np.random.default_rng(2024)
    good = rng.integers(0, 2, 1 << 20)
    ps = nist.battery(good)
    assert set(ps) == set(nist.NAMES)
    applicable = {k: p for k, p in ps.items() if p is not None}
    assert len(applicable) >= 13  # only the excursion tests may not apply
    assert all(p >= 0.001 for p in applicable.values()), ps
    biased = (rng.random(1 << 20) < 0.51).astype(np.int64)
    assert nist.frequency(biased) < 1e-6
    correlated = np.cumsum(rng.random(1 << 20) < 0.4) % 2  # a toggle stream at q = 0.4
    assert nist.runs(correlated) < 1e-6
    periodic = np.tile(rng.integers(0, 2, 64), 1 << 14)
    assert nist.linear_complexity(periodic) < 1e-6
    assert nist.dft(periodic) < 1e-6
