"""The seed-004 claims (VCMA-MTJ p-bits), each measured (figures in the failure message)."""

import math

import pytest

from vm.devices.claims import CLAIMS

pytestmark = pytest.mark.slow  # statistics and whole runs: `-m 'not slow'` skips them

# shannon_entropy's stated criterion (>= 0.9999 on one window of 4096 bits) is met by an
# ideal fair coin only ~56% of the time, so its verdict is reported, not asserted; what
# is asserted is that the windows meet it as often as a fair coin's would.
ASSERTED = [name for name in CLAIMS if name != "shannon_entropy"]


@pytest.mark.parametrize("name", ASSERTED)
def test_seed004_claim(name):
    result = CLAIMS[name]()
    print(result.summary())
    assert result.passed, f"{result.claim}\n  criterion: {result.criterion}\n  measured: {result.summary()}"


def test_entropy_windows_pass_as_often_as_a_fair_coin():
    m = CLAIMS["shannon_entropy"]().measured
    ideal, k = m["ideal_pass_probability"], m["windows"]
    assert 0.5 < ideal < 0.6
    assert abs(m["windows_passing"] - ideal) <= 3 * math.sqrt(ideal * (1 - ideal) / k)
