"""The seed's claims about the kT-bit, each measured (figures in the failure message)."""

import pytest

from vm.ktram.claims import CLAIMS

pytestmark = pytest.mark.slow  # statistics and whole runs: `-m 'not slow'` skips them


@pytest.mark.parametrize("name", list(CLAIMS))
def test_seed_claim(name):
    result = CLAIMS[name]()
    print(result.summary())
    assert result.passed, f"{result.claim}\n  criterion: {result.criterion}\n  measured: {result.summary()}"
