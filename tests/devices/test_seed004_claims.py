"""The seed-004 claims (VCMA-MTJ p-bits), each measured (figures in the failure message)."""

import math

import pytest

from vm.devices.claims import CLAIMS

pytestmark = pytest.mark.slow  # statistics and whole runs: `-m 'not slow'` skips them


@pytest.mark.parametrize("name", list(CLAIMS))
def test_seed004_claim(name):
    result = CLAIMS[name]()
    print(result.summary())
    assert result.passed, f"{result.claim}\n  criterion: {result.criterion}\n  measured: {result.summary()}"


def test_entropy_windows_pass_as_often_as_a_fair_coin():
    m = CLAIMS["shannon_entropy"]().measured
    ideal, k = m["ideal_pass_probability"], m["windows"]
    assert 0.5 < ideal < 0.6
    assert abs(m["windows_passing"] - ideal) <= 3 * math.sqrt(ideal * (1 - ideal) / k)


def test_the_entropy_floor_is_a_fair_coins_one_percent_point():
    """The floor is checked against fair coins drawn here: about 1% fall below it."""
    import numpy as np

    from ktasm.programs import trng

    floor = CLAIMS["shannon_entropy"]().measured["ideal_floor"]
    rng = np.random.default_rng(11)
    below = np.mean([trng.shannon_entropy(rng.integers(0, 2, 4096)) < floor for _ in range(4000)])
    assert 0.003 < below < 0.02, below
