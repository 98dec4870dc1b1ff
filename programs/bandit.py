"""Thompson sampling on kT-bits against exact Beta-Bernoulli TS and UCB1 on the same worlds.

The world of one run is a table of Bernoulli rewards (horizon x arms) drawn here from the
seed; the kT-bit program, exact TS and UCB1 all play the same table, so their regrets are
paired. Regret is the pseudo-regret sum_t (mu* - mu[arm_t]).
"""

from __future__ import annotations

import numpy as np

from ktasm.programs import Options, Result, StatsList, StatsTotal, assemble, run_machine

SUMMARY = "Thompson sampling: each arm a kT-bit, FH/FL votes, low-voltage reads as posterior draws"

HORIZON = 10_000
SEEDS, QUICK_SEEDS = 200, 30
# name -> arm means (PHYSICS.md section 5, with the exact-TS reference regret at T = 1e4)
SETTINGS = {
    "nine_spread": np.linspace(0.1, 0.9, 9),
    "ten_close": np.array([0.5] + [0.4] * 9),
}
EXACT_TS_REFERENCE = {"nine_spread": (41.6, 1.5), "ten_close": (166.6, 6.6)}

AIMS = (
    [
        (
            f"{s}: regret <= 1.5x exact TS ({EXACT_TS_REFERENCE[s][0]})",
            lambda m, s=s: m[s]["regret_mean"] <= 1.5 * max(m[s]["ts_regret_mean"], EXACT_TS_REFERENCE[s][0]),
        )
        for s in SETTINGS
    ]
    + [
        (f"{s}: regret < UCB1", lambda m, s=s: m[s]["regret_mean"] < m[s]["ucb1_regret_mean"])
        for s in SETTINGS
    ]
    + [(f"{s}: lock-on <= 1% of runs", lambda m, s=s: m[s]["lockon_fraction"] <= 0.01) for s in SETTINGS]
)


def world(means: np.ndarray, seeds: int, horizon: int, seed: int, setting: int) -> np.ndarray:
    """Rewards (seeds x horizon x arms) as uint8."""
    rng = np.random.default_rng([seed, setting, 0xBA7D])
    return (rng.random((seeds, horizon, len(means))) < means).astype(np.uint8)


def play(rewards: np.ndarray, choose) -> np.ndarray:
    """Every run in step: at step t, choose(t, wins, pulls) gives each run's arm (wins and
    pulls are runs x arms counts so far). Returns the choices (runs x horizon)."""
    runs, horizon, arms = rewards.shape
    wins = np.zeros((runs, arms))
    pulls = np.zeros((runs, arms))
    choices = np.empty((runs, horizon), dtype=np.int16)
    rows = np.arange(runs)
    for t in range(horizon):
        arm = choose(t, wins, pulls)
        wins[rows, arm] += rewards[rows, t, arm]
        pulls[rows, arm] += 1
        choices[:, t] = arm
    return choices


def exact_thompson(rewards: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Beta(1, 1)-prior Thompson sampling: pull the arm with the largest posterior draw."""
    return play(rewards, lambda t, wins, pulls: np.argmax(rng.beta(1.0 + wins, 1.0 + pulls - wins), axis=1))


def ucb1(rewards: np.ndarray) -> np.ndarray:
    """UCB1 (Auer et al. 2002): each arm once, then argmax mean + sqrt(2 ln t / n)."""
    arms = rewards.shape[2]

    def choose(t, wins, pulls):
        if t < arms:
            return np.full(len(wins), t)
        return np.argmax(wins / pulls + np.sqrt(2.0 * np.log(t) / pulls), axis=1)

    return play(rewards, choose)


def regrets(means: np.ndarray, choices: np.ndarray) -> np.ndarray:
    """Pseudo-regret of each run."""
    return (means.max() - means[choices]).sum(axis=1)


def metrics_from(arrays: dict) -> dict:
    metrics = {}
    for s in SETTINGS:
        means = arrays[f"{s}_means"]
        kt = regrets(means, arrays[f"{s}_choices"])
        best_share = (arrays[f"{s}_choices"] == np.argmax(means)).mean(axis=1)
        ts = regrets(means, arrays[f"{s}_ts_choices"])
        ucb = regrets(means, arrays[f"{s}_ucb1_choices"])
        n = len(kt)
        metrics[s] = {
            "runs": n,
            "horizon": int(arrays[f"{s}_choices"].shape[1]),
            "regret_mean": float(kt.mean()),
            "regret_se": float(kt.std(ddof=1) / np.sqrt(n)),
            "regret_p99": float(np.percentile(kt, 99)),
            "lockon_fraction": float(np.mean(best_share < 0.5)),
            "ts_regret_mean": float(ts.mean()),
            "ts_regret_se": float(ts.std(ddof=1) / np.sqrt(n)),
            "ts_regret_p99": float(np.percentile(ts, 99)),
            "ucb1_regret_mean": float(ucb.mean()),
            "ratio_to_ts": float(kt.mean() / ts.mean()),
        }
    return metrics


def run(options: Options) -> Result:
    blob = assemble("bandit").to_bytes()  # what travels with each task
    seeds = QUICK_SEEDS if options.quick else SEEDS
    worlds = {
        s: world(means, seeds, HORIZON, options.seed, k) for k, (s, means) in enumerate(SETTINGS.items())
    }
    jobs = [
        (blob, rewards[run_index], options.seed * 100_003 + run_index + 1, HORIZON)
        for rewards in worlds.values()
        for run_index in range(seeds)
    ]
    runs = options.map(run_seed, jobs, "bandit")  # every seed of every setting, in this order
    total = StatsTotal()
    arrays = {}
    for index, (setting, means) in enumerate(SETTINGS.items()):
        mine = runs[index * seeds : (index + 1) * seeds]
        for _, stats in mine:
            total.add(stats)
        arrays[f"{setting}_means"] = means
        arrays[f"{setting}_choices"] = np.array([choices for choices, _ in mine], dtype=np.int16).reshape(
            seeds, HORIZON
        )
        rewards = worlds[setting]
        arrays[f"{setting}_ts_choices"] = exact_thompson(
            rewards, np.random.default_rng([options.seed, index, 0x75])
        )
        arrays[f"{setting}_ucb1_choices"] = ucb1(rewards)
    return Result("bandit", metrics_from(arrays), total.as_dict(), arrays)


_PROGRAMS: dict[bytes, object] = {}  # where the runs are: the program, read once per bytecode


def run_seed(blob: bytes, rewards: np.ndarray, seed: int, horizon: int) -> tuple[np.ndarray, dict]:
    """One run on one world (horizon x arms rewards): the arms it chose and the machine's
    stats. Everything it reads comes in its arguments, so it runs the same as a task."""
    from vm.bytecode import Program

    program = _PROGRAMS.get(blob)
    if program is None:
        if len(_PROGRAMS) >= 8:
            _PROGRAMS.clear()
        program = _PROGRAMS[blob] = Program.from_bytes(blob)
    stats = StatsList()
    outputs = run_machine(
        program, {"rewards": rewards.astype(np.float64)}, seed=seed, total=stats, output_capacity=horizon
    )
    return outputs.astype(np.int16), stats[0]


def plot(arrays: dict, metrics: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SETTINGS), figsize=(6 * len(SETTINGS), 4.2))
    for ax, s in zip(np.atleast_1d(axes), SETTINGS, strict=True):
        means = arrays[f"{s}_means"]
        for key, label in (
            ("choices", "kT-bit TS (VM)"),
            ("ts_choices", "exact Beta TS"),
            ("ucb1_choices", "UCB1"),
        ):
            gap = means.max() - means[arrays[f"{s}_{key}"]]
            curve = np.cumsum(gap, axis=1)
            t = np.arange(1, curve.shape[1] + 1)
            mean = curve.mean(axis=0)
            lo, hi = np.percentile(curve, [10, 90], axis=0)
            (line,) = ax.plot(t, mean, label=label)
            ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.15)
        ref = EXACT_TS_REFERENCE[s]
        ax.axhline(ref[0], color="grey", lw=0.8, ls="--", label=f"exact TS reference {ref[0]}")
        ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("cumulative pseudo-regret")
        ax.set_title(f"{s}: arms {np.round(means, 2).tolist()}", fontsize=9)
        ax.legend(fontsize=8)
    fig.suptitle(
        f"Thompson sampling, {metrics[next(iter(SETTINGS))]['runs']} runs each (bands: 10th-90th percentile)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
