"""The seed's claims about the kT-bit (seed 000), each as an experiment on ``Core``.

Every claim runs a real experiment through the kernels, returns its measured figures, and
judges them with one stated criterion. ``ktasm claims`` prints the table; the test suite
asserts every verdict, so the criteria live here once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vm.ktram.core import Core

Z = (0,)  # the one-pair AAT of a 1x1 single-space core


@dataclass
class ClaimResult:
    name: str
    claim: str
    criterion: str
    measured: dict = field(default_factory=dict)
    passed: bool = False

    def summary(self) -> str:
        figures = ", ".join(f"{k}={_fmt(v)}" for k, v in self.measured.items())
        return f"{self.name}: {figures}"


def _fmt(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _pair(model="float", y0=0.0, level=0.5, seed=1, read_noise=0.0, init="medium") -> Core:
    core = Core(1, 1, model=model, init=init, seed=seed, read_noise=read_noise)
    core.set_start_y(0, Z, y0=y0, level=level)
    return core


def _repeat(core: Core, pattern, times: int, noise: float = 0.0) -> np.ndarray:
    """Run pattern (a sequence of mnemonics) times over on lane 0, pair 0."""
    n = len(pattern) * times
    return core.execute_stream(
        np.zeros(n, dtype=np.int64), np.zeros((n, 1), dtype=np.int64), list(pattern) * times, noise
    )


def _weight_trajectory(core: Core, pattern: tuple[str, ...], steps: int) -> np.ndarray:
    """Clean weight after each repetition of pattern."""
    w = np.empty(steps)
    for i in range(steps):
        _repeat(core, pattern, 1)
        w[i] = core.weights(0, Z)[0]
    return w


def magnitude_is_annealing() -> ClaimResult:
    r = ClaimResult(
        "annealing",
        "same weight, 10x the magnitude, identical (FF, RH) drive: the low-magnitude pair "
        "commits about 10x faster (magnitude is the annealing schedule)",
        "steps to carry w from 0.3 past 0.6: mature/young ratio in [7, 14]",
    )
    young = _weight_trajectory(_pair(y0=0.3, level=0.05), ("FF", "RH"), 3000)
    mature = _weight_trajectory(_pair(y0=0.3, level=0.5), ("FF", "RH"), 3000)
    t_young = int(np.argmax(young > 0.6)) + 1
    t_mature = int(np.argmax(mature > 0.6)) + 1
    ratio = t_mature / t_young
    r.measured = {
        "steps_young": t_young,
        "steps_mature": t_mature,
        "ratio": ratio,
        "first_step_dw_ratio": (young[0] - 0.3) / (mature[0] - 0.3),
    }
    r.passed = bool(young.max() > 0.6 and mature.max() > 0.6 and 7 <= ratio <= 14)
    return r


def votes_are_beta_counts() -> ClaimResult:
    r = ClaimResult(
        "beta_counts",
        "FH/FL are conjugate Beta updates: after a yes-votes and b no-votes, Ga and Gb have "
        "grown by a and b equal quanta",
        "on float and byte, Ga gain = a*q and Gb gain = b*q with one quantum q (rel 1e-9)",
    )
    rng = np.random.default_rng(7)
    worst = 0.0
    quanta = {}
    for model in ("float", "byte"):
        core = Core(1, 1, model=model, init="medium_noiseless", seed=0, read_noise=0.02)
        ga0, gb0 = core.read_gab(0, Z)
        votes = rng.permutation(["FH"] * 60 + ["FL"] * 23)
        _repeat(core, votes, 1)
        ga, gb = core.read_gab(0, Z)
        q_yes, q_no = (ga - ga0) / 60, (gb - gb0) / 23
        quanta[model] = q_yes
        worst = max(worst, abs(q_yes - q_no) / q_yes)
    r.measured = {
        "yes": 60,
        "no": 23,
        "quantum_float": quanta["float"],
        "quantum_byte": quanta["byte"],
        "max_rel_quantum_mismatch": worst,
    }
    r.passed = bool(worst < 1e-9 and quanta["float"] > 0 and quanta["byte"] > 0)
    return r


def lane_read_pools_by_magnitude() -> ClaimResult:
    r = ClaimResult(
        "pooling",
        "a lane's read is the magnitude-weighted mean of its pairs' weights (Kirchhoff = Bayesian pooling)",
        "clean read equals sum(m_i w_i)/sum(m_i) to 1e-12 over 200 random 8-pair lanes",
    )
    rng = np.random.default_rng(11)
    worst = 0.0
    unweighted_gap = 0.0
    core = Core(1, 1, spaces_per_lane=8, model="float", init="medium", seed=3, read_noise=0.0)
    aat = (0,) * 8
    for _ in range(200):
        ga = rng.uniform(core.gmin, core.gmax, 8)
        gb = rng.uniform(core.gmin, core.gmax, 8)
        core.set_gab(0, aat, ga, gb)
        y = core.evaluate(aat, "FFLV")
        m, w = ga + gb, (ga - gb) / (ga + gb)
        pooled = float(np.sum(m * w) / np.sum(m))
        worst = max(worst, abs(y - pooled))
        unweighted_gap = max(unweighted_gap, abs(y - float(np.mean(w))))
    r.measured = {"max_abs_error": worst, "max_gap_to_unweighted_mean": unweighted_gap}
    r.passed = bool(worst < 1e-12 and unweighted_gap > 1e-3)
    return r


def ff_washes_rf_rails() -> ClaimResult:
    r = ClaimResult(
        "ff_rf",
        "repeated FF: m grows while y washes to 0 (anti-Hebbian); repeated RF: y runs to a rail (Hebbian)",
        "float, from w=0.6, m=0.05: 200 FF (no rail reached) shrink |y| monotonically below "
        "0.25 as m grows 1.5x or more, following y = y0 (m0/m)^2 within 2%; 1000 RF leave |y| > 0.95",
    )
    ff = _pair(y0=0.6, level=0.25)
    m0 = ff.weights(0, Z)[1]
    ys_ff = _repeat(ff, ("FF",), 200)
    y_ff, m_ff = ff.weights(0, Z)
    below_rail = bool(ff.g.max() < ff.gmax)
    rf = _pair(y0=0.6, level=0.25)
    _repeat(rf, ("RF",), 1000)
    y_rf = rf.weights(0, Z)[0]
    monotone = bool(np.all(np.diff(np.abs(ys_ff)) <= 0.0))
    # away from rails each FF moves Ga-Gb by -2e-4 y while m grows by 2e-4: y ~ 1/m^2
    predicted = 0.6 * (m0 / m_ff) ** 2
    r.measured = {
        "ff_y_after_200": y_ff,
        "ff_y_predicted": predicted,
        "ff_m_growth": m_ff / m0,
        "ff_abs_y_monotone": monotone,
        "ff_below_rail": below_rail,
        "rf_y_after_1000": y_rf,
    }
    r.passed = bool(
        abs(y_ff) < 0.25
        and m_ff >= 1.5 * m0
        and monotone
        and below_rail
        and abs(y_ff - predicted) < 0.02 * predicted
        and abs(y_rf) > 0.95
    )
    return r


def low_voltage_reads_do_not_disturb() -> ClaimResult:
    r = ClaimResult(
        "low_voltage",
        "FFLV/RFLV read below threshold: float, byte and rs pairs are left exactly as they "
        "were (MSS only approximately)",
        "2000 noisy FFLV/RFLV reads at noise dial 0.9: float/byte/rs bit-identical; "
        "MSS moves less than 1% of its range",
    )
    unchanged = {}
    for model in ("float", "byte", "rs", "mss"):
        core = _pair(model=model, y0=0.4, level=0.3, read_noise=0.02)
        before = core.g.copy()
        _repeat(core, ("FFLV", "RFLV"), 1000, noise=0.9)
        change = float(np.max(np.abs(core.g - before)) / (core.gmax - core.gmin))
        unchanged[model] = change
    r.measured = {f"{m}_max_change": v for m, v in unchanged.items()}
    r.passed = bool(all(unchanged[m] == 0.0 for m in ("float", "byte", "rs")) and unchanged["mss"] < 0.01)
    return r


def byte_quantisation_ceiling() -> ClaimResult:
    r = ClaimResult(
        "byte_ceiling",
        "the 8-bit byte model's (FF, RH) staircase plateaus near y = 0.5, the quantisation "
        "ceiling, where float climbs on",
        "after 2000 (FF, RH) from w=0: byte in [0.45, 0.55] and flat; float > 0.9",
    )
    byte = _weight_trajectory(_pair(model="byte", y0=0.0), ("FF", "RH"), 2000)
    flt = _weight_trajectory(_pair(model="float", y0=0.0), ("FF", "RH"), 2000)
    r.measured = {
        "byte_plateau": byte[-1],
        "byte_drift_last_1000": abs(byte[-1] - byte[-1000]),
        "float_end": flt[-1],
    }
    r.passed = bool(0.45 <= byte[-1] <= 0.55 and abs(byte[-1] - byte[-1000]) < 1e-3 and flt[-1] > 0.9)
    return r


def coin_from_read_noise(seeds: int = 400) -> ClaimResult:
    r = ClaimResult(
        "coin",
        "a balanced pair under a Hebbian sampling loop (RFLV, RU) is a fair coin from its own "
        "read noise; a lean before the run biases the coin by the weight",
        f"{seeds} seeds: balanced P(+) within 3 binomial sd of 0.5; lean +0.01 gives P(+) > 0.6, "
        "lean -0.01 gives P(+) < 0.4; every run commits (|w| > 0.9)",
    )
    freq = {}
    committed = 1.0
    for lean in (0.0, 0.01, -0.01):
        heads = 0
        for seed in range(seeds):
            core = _pair(y0=lean, level=0.25, seed=seed, read_noise=0.02)
            _repeat(core, ("RFLV", "RU"), 500)
            w = core.weights(0, Z)[0]
            heads += w > 0
            committed = min(committed, abs(w))
        freq[lean] = heads / seeds
    sd = 0.5 / np.sqrt(seeds)
    r.measured = {
        "p_heads_balanced": freq[0.0],
        "p_heads_lean_plus": freq[0.01],
        "p_heads_lean_minus": freq[-0.01],
        "min_abs_w_end": committed,
    }
    r.passed = bool(
        abs(freq[0.0] - 0.5) < 3 * sd and freq[0.01] > 0.6 and freq[-0.01] < 0.4 and committed > 0.9
    )
    return r


def _pairs_w_m(core: Core) -> tuple[np.ndarray, np.ndarray]:
    """Every pair's clean weight and magnitude, from the (brought up to date) conductances."""
    ga, gb = core.g[0], core.g[1]
    return (ga - gb) / (ga + gb), ga + gb


def common_mode_rejection() -> ClaimResult:
    nu, age = 0.05, 1e6
    r = ClaimResult(
        "common_mode_rejection",
        "the differential pair rejects what moves both devices alike (seed 000: 'the slow aging "
        "that touches both devices alike'): under uniform drift every lane read is unchanged "
        "while m falls, where a weight held as one device's conductance loses the drift factor; "
        "a spread of drift across devices moves w by the first-order law of NONIDEAL.md",
        f"drift={nu}, no spread, AGE {age:g}: every lane read equals its value before to 1e-9 and "
        f"every m falls by (1e6 + 1)^-{nu} (rel 1e-9), as does a single device's conductance; "
        "drift_spread 0.01 and 0.02: the rms weight error is (1 - w^2)/2 sqrt(2) sigma "
        "ln((t + T0)/T0) within 15% at every age from 1e2 to 1e6 s",
    )
    rng = np.random.default_rng(16)
    # 1. uniform drift: 8 lanes of 8 spaces x 16 addresses, random pairs, read through 16 AATs
    core = Core(1, 16, spaces_per_lane=8, num_lanes=8, read_noise=0.0, drift=nu, seed=5)
    for lane in range(8):
        for address in range(16):
            ga, gb = rng.uniform(core.gmin, core.gmax, (2, 8))
            core.set_gab(lane, (address,) * 8, ga, gb)
    aats = [tuple(int(a) for a in rng.integers(0, 16, 8)) for _ in range(16)]

    def reads() -> np.ndarray:
        return np.array([[core.evaluate(aat, "FFLV", lane) for aat in aats] for lane in range(8)])

    _, m_before = _pairs_w_m(core)  # as programmed, at 0 s
    y_before = reads()
    core.age(age)
    y_after, (_, m_after) = reads(), _pairs_w_m(core)
    factor = (age + 1.0) ** -nu
    single = Core(1, 1, read_noise=0.0, drift=nu, seed=5)  # one device, its conductance the value
    g_before = float(single.g[0, 0, 0, 0])
    single.age(age)
    single_ratio = float(single.g[0, 0, 0, 0]) / g_before
    worst_y = float(np.max(np.abs(y_after - y_before)))
    worst_m = float(np.max(np.abs(m_after / m_before / factor - 1.0)))
    # 2. drift spread: the weight error against the first-order law
    law_ratios = {}
    for spread in (0.01, 0.02):
        spread_core = Core(1, 64, num_lanes=64, read_noise=0.0, drift=nu, drift_spread=spread, seed=7)
        for lane in range(64):
            for address in range(64):
                weight, m = rng.uniform(-0.9, 0.9), rng.uniform(0.2, 1.0) * spread_core.gmax
                spread_core.set_gab(lane, (address,), m * (1 + weight) / 2, m * (1 - weight) / 2)
        w0, _ = _pairs_w_m(spread_core)
        ratios = []
        for t in (1e2, 1e3, 1e4, 1e5, 1e6):
            spread_core.age(t - spread_core.modeled_time_s)
            w, _ = _pairs_w_m(spread_core)
            measured = float(np.sqrt(np.mean((w - w0) ** 2)))
            predicted = float(
                np.sqrt(np.mean(((1 - w0**2) / 2) ** 2)) * np.sqrt(2) * spread * np.log(t + 1.0)
            )
            ratios.append(measured / predicted)
        law_ratios[spread] = ratios
    r.measured = {
        "max_lane_read_change": worst_y,
        "m_factor_expected": factor,
        "max_m_factor_rel_error": worst_m,
        "single_device_factor": single_ratio,
        "single_device_weight_error": 1.0 - single_ratio,
        "spread_0.01_error_over_law": [round(v, 4) for v in law_ratios[0.01]],
        "spread_0.02_error_over_law": [round(v, 4) for v in law_ratios[0.02]],
    }
    r.passed = bool(
        worst_y <= 1e-9
        and worst_m <= 1e-9
        and abs(single_ratio / factor - 1.0) <= 1e-9
        and all(0.85 <= v <= 1.15 for ratios in law_ratios.values() for v in ratios)
    )
    return r


CLAIMS: dict[str, Callable[[], ClaimResult]] = {
    "annealing": magnitude_is_annealing,
    "beta_counts": votes_are_beta_counts,
    "pooling": lane_read_pools_by_magnitude,
    "ff_rf": ff_washes_rf_rails,
    "low_voltage": low_voltage_reads_do_not_disturb,
    "byte_ceiling": byte_quantisation_ceiling,
    "coin": coin_from_read_noise,
    "common_mode_rejection": common_mode_rejection,
}
