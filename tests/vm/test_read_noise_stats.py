"""Read noise and MSS statistics against the data recorded from the reference emulator."""

import json

import numpy as np
import pytest
from conftest import CONFORMANCE

from vm import Core
from vm.ktram.kernels import read_sigma

pytestmark = pytest.mark.slow  # statistics and whole runs: `-m 'not slow'` skips them

STATS_FILE = CONFORMANCE / "read_noise_stats.json"
STATS = json.loads(STATS_FILE.read_text()) if STATS_FILE.exists() else {"read_noise": [], "mss_ff_rh": {}}
ROWS = STATS["read_noise"]


def _row_id(r):
    return f"{r['instruction']}-y{r['y0']}-d{r['noise_dial']}-{'cmp' if r['comparator_enabled'] else 'nocmp'}"


def _pair(row, seed):
    core = Core(
        1,
        1,
        model=row["model"],
        init="medium_noiseless",
        seed=seed,
        read_noise=0.02,
        comparator=row["comparator_enabled"],
    )
    # m = Ga + Gb = 0.1 = GMAX, weight y0
    core.set_gab(0, (0,), 0.05 * (1 + row["y0"]), 0.05 * (1 - row["y0"]))
    return core


def test_rows_present():
    assert len(ROWS) == 36


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_read_noise_std_matches_reference(row):
    n = row["n"]
    core = _pair(row, seed=row["seed"])
    ga0, gb0 = core.read_gab(0, (0,))
    if row["instruction"] == "FFLV":
        ys = core.execute_stream(np.zeros(n, dtype=np.int64), [(0,)] * n, ["FFLV"] * n, row["noise_dial"])
        assert core.read_gab(0, (0,)) == (ga0, gb0), "FFLV must leave a float pair untouched"
    else:  # FF disturbs the pair: restore it before every read, as the reference run did
        ys = np.empty(n)
        for i in range(n):
            core.set_gab(0, (0,), ga0, gb0)
            ys[i] = core.evaluate((0,), "FF", noise=row["noise_dial"])
    std = ys.std(ddof=1)
    want = row["empirical_std"]
    assert std == pytest.approx(want, rel=0.03), (
        f"empirical std {std:.6g} vs reference {want:.6g} (ratio {std / want:.4f})"
    )
    assert abs(ys.mean() - row["y_clean"]) < 5 * want / np.sqrt(n) + 0.05 * row["clipped_fraction"]


@pytest.mark.parametrize("row", ROWS, ids=[_row_id(r) for r in ROWS])
def test_read_noise_law_matches_recorded_formula(row):
    core = _pair(row, seed=0)
    v = row["V_app_effective"]
    sigma = read_sigma(row["y_clean"], row["m"], v, core.params)
    assert sigma == pytest.approx(row["formula_sigma"], rel=1e-9)


MSS = STATS["mss_ff_rh"]


def _mss_runs(read_noise, comparator, seeds=200, steps=200):
    y_end, ga, gb = [], [], []
    traj = {k: [] for k in (1, 10, 50, 100, 200)}
    for seed in range(seeds):
        core = Core(
            1,
            1,
            model="mss",
            init="medium_noiseless",
            seed=seed,
            read_noise=read_noise,
            comparator=comparator,
        )
        ys = core.execute_stream(
            np.zeros(2 * steps, dtype=np.int64), [(0,)] * (2 * steps), ["FF", "RH"] * steps
        )
        for k in traj:
            traj[k].append(ys[2 * (k - 1)])
        y_end.append(core.weights(0, (0,))[0])
        ga.append(core.g[0, 0, 0, 0])
        gb.append(core.g[1, 0, 0, 0])
    return np.array(y_end), np.array(ga), np.array(gb), {k: np.array(v) for k, v in traj.items()}


def _within_standard_errors(ours, ref, what, k=3.0):
    n = len(ours)
    se = np.sqrt(ours.var(ddof=1) / n + ref["std"] ** 2 / n)
    if se == 0:
        assert ours.mean() == ref["mean"], what
        return
    z = (ours.mean() - ref["mean"]) / se
    assert abs(z) < k, f"{what}: mean {ours.mean():.6g} vs reference {ref['mean']:.6g} ({z:+.2f} SE)"
    ratio = ours.std(ddof=1) / ref["std"] if ref["std"] else 1.0
    # std of a std estimate from 200 samples is ~5%: allow 4 of those
    assert 0.8 < ratio < 1.25, f"{what}: std ratio {ratio:.3f}"


@pytest.mark.parametrize("key", sorted(MSS))
def test_mss_ff_rh_statistics(key):
    ref = MSS[key]
    read_noise = 0.0 if key == "read_noise=0" else 0.02
    comparator = "comparator on" in key
    y_end, ga, gb, traj = _mss_runs(read_noise, comparator, ref["n_seeds"], ref["n_steps"])
    _within_standard_errors(y_end, ref["y_after_200_steps_clean_ratio"], "y after 200 steps")
    _within_standard_errors(ga, ref["Ga_final"], "Ga final")
    _within_standard_errors(gb, ref["Gb_final"], "Gb final")
    for k, arr in traj.items():
        _within_standard_errors(arr, ref["FF_read_trajectory"][str(k)], f"FF read {k}")
