"""The seeds' claims about the kT-bit (seed 000) and learning on damaged hardware (seed 001),
each measured (figures in the failure message)."""

import pytest

from vm.ktram.claims import CLAIMS as CLAIMS_000
from vm.ktram.damage import CLAIMS as CLAIMS_001

CLAIMS = {**CLAIMS_000, **CLAIMS_001}

pytestmark = pytest.mark.slow  # statistics and whole runs: `-m 'not slow'` skips them


@pytest.mark.parametrize("name", list(CLAIMS))
def test_seed_claim(name):
    result = CLAIMS[name]()
    print(result.summary())
    assert result.passed, f"{result.claim}\n  criterion: {result.criterion}\n  measured: {result.summary()}"
