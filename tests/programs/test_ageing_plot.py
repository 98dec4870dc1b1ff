"""benchmarks/ageing.py: the classifier after drift, three ways of holding its weights."""

import importlib.util

import pytest
from conftest import REPO

pytestmark = pytest.mark.slow  # trains the digits classifier


def _script():
    spec = importlib.util.spec_from_file_location("ageing", REPO / "benchmarks" / "ageing.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_uniform_drift_leaves_the_pairs_and_the_compensated_device_and_moves_the_plain_one(tmp_path):
    ageing = _script()
    out = ageing.experiment(spread=0.0, epochs=2)
    pairs, plain, compensated = out["kT-RAM"], out["one device"], out["one device, compensated"]
    assert pairs["accuracy"][0] == plain["accuracy"][0] == compensated["accuracy"][0] > 0.5
    assert max(pairs["rms_change"]) < 1e-4 and max(compensated["rms_change"]) < 1e-12
    assert min(plain["rms_change"][1:]) > 0.1 and plain["accuracy"][-1] < pairs["accuracy"][-1] - 0.1
    path = tmp_path / "ageing.png"
    ageing.plot({0.0: out}, str(path))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
