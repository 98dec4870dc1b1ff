"""Heteroscedastic regression (seed 004, Fig. 22): a deterministic network on pairs against
an MC-dropconnect one whose own spread is the data's.

The toy of Detlefsen et al. (2019): x ~ U(0, 10), y = x sin x + 0.3 e1 + 0.3 x e2, so the
noise's spread, 0.3 sqrt(1 + x^2), grows with x. Two 1-32-32-1 tanh networks are trained
here in NumPy (Adam; tanh then ReLU units: a ReLU unit can be off, so the network can
make its spread, which grows with sum h2^2, small where the data's is): `deterministic` by least squares (it predicts the mean), and
`dropconnect` by the Gaussian negative log-likelihood whose variance is its last layer's
MC-dropconnect variance at q (analytic: `diffusion.pairs_mac_variance`), so the network
learns to make its own spread the data's. Both run in the VM (regression.kta, the last layer
drawn DRAWS times per input) and as float64 twins in NumPy (the dropconnect twin draws the
same devices' Bernoulli sums exactly). Every model is scored the same way, from its draws:
coverage of the central 68% and 95% intervals (overall and per x bin), the Gaussian NLL of
the draws' mean and variance, and the KS distance of the PIT values from uniform.
"""

from __future__ import annotations

import numpy as np

from ktasm.programs import Options, Result, StatsTotal, assemble, report, run_machine, weights
from ktasm.programs.diffusion import LEVELS, pairs_mac_variance

SUMMARY = "Heteroscedastic regression (Fig. 22): deterministic pairs vs MC-dropconnect at q < 1"

HIDDEN = 32  # = the program's .pairs sizes
X_MAX = 10.0
Y_SCALE = 5.0  # the networks see x / 5 - 1 and y / 5
Q = 0.5  # the dropconnect model's q
GAIN = 0.5  # its last layer's gain (fixed: the variance is GAIN^2 (1 - q) / (q LEVELS) sum h2^2)
VAR_FLOOR = 1e-6  # of a model's predictive variance in the NLL (a deterministic one has none)
TRAIN, TEST = 4000, 500
QUICK_TEST = 200
DRAWS, QUICK_DRAWS = 200, 100
TRAIN_STEPS, QUICK_TRAIN_STEPS = 6000, 2500  # the shipped weights: TRAIN_STEPS, seed 0
QAT_FRACTION = 0.3
WARMUP_FRACTION = 0.3  # the dropconnect model's first steps fit the mean only (least squares)
BINS = 5  # x bins of the per-bin coverage
MODELS = ("deterministic", "deterministic_float", "dropconnect", "dropconnect_float")


def _near(model: str, key: str, nominal: float, points: float):
    return lambda m: abs(m[model][key] - nominal) <= points if model in m else None


AIMS = [
    ("dropconnect (VM): coverage68 within 5 points of 68%", _near("dropconnect", "coverage68", 0.68, 0.05)),
    ("dropconnect (VM): coverage95 within 5 points of 95%", _near("dropconnect", "coverage95", 0.95, 0.05)),
    (
        "deterministic (VM): coverage68 far below nominal (under 20%: it predicts the mean)",
        lambda m: m["deterministic"]["coverage68"] < 0.2 if "deterministic" in m else None,
    ),
]


# ---------------------------------------------------------------------- the task
def task(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    x = rng.uniform(0.0, X_MAX, n)
    y = x * np.sin(x) + 0.3 * rng.standard_normal(n) + 0.3 * x * rng.standard_normal(n)
    return x, y


def noise_std(x):
    return 0.3 * np.sqrt(1.0 + np.asarray(x) ** 2)


def scaled(x):
    return (np.asarray(x, dtype=np.float64) / (0.5 * X_MAX) - 1.0)[:, None]


# ---------------------------------------------------------------------- networks
def init_network(rng: np.random.Generator) -> list[np.ndarray]:
    sizes = (1, HIDDEN, HIDDEN, 1)
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        params.append(
            rng.standard_normal((fan_out, fan_in)) * (2.0 if fan_in == 1 else 1.0) / np.sqrt(fan_in)
        )
        params.append(np.zeros(fan_out))
    return params


def _round_table(table: np.ndarray) -> np.ndarray:
    return (2.0 * np.floor((np.clip(table, -1, 1) + 1.0) * 0.5 * LEVELS + 0.5) - LEVELS) / LEVELS


def tables(params, dropconnect: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each layer's (table in [-1, 1], row gains): per-row max for the hidden layers; the last
    layer's gain GAIN for the dropconnect model (its weights clipped to it), else its max."""
    out = []
    for k in range(3):
        w = params[2 * k]
        gains = np.abs(w).max(axis=1)
        if k == 2 and dropconnect:
            gains[:] = GAIN
        gains[gains == 0] = 1.0
        out.append((np.clip(w / gains[:, None], -1.0, 1.0), gains))
    return out


def as_held(params, dropconnect: bool) -> list[np.ndarray]:
    held = []
    for k, (table, gains) in enumerate(tables(params, dropconnect)):
        held += [_round_table(table) * gains[:, None], params[2 * k + 1]]
    return held


def hidden(params, x):
    w1, b1, w2, b2 = params[:4]
    h1 = np.tanh(x @ w1.T + b1)
    return h1, np.maximum(h1 @ w2.T + b2, 0.0)


def variance_factor(q: float = Q, gain: float = GAIN) -> float:
    """Var(y_hat) = this x sum h2^2: (gain / q)^2 pairs_mac_variance per unit sum of squares."""
    return float((gain / q) ** 2 * pairs_mac_variance(np.ones(1), q))


def predict(params, x, dropconnect: bool) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Mean and (dropconnect) variance of y_hat for scaled inputs x (n x 1)."""
    h1, h2 = hidden(params, x)
    w3, b3 = params[4], params[5]
    if dropconnect:
        w3 = np.clip(w3, -GAIN, GAIN)
    mean = h2 @ w3[0] + b3[0]
    var = variance_factor() * (h2 * h2).sum(1) if dropconnect else np.zeros(len(x))
    return mean, var, (h1, h2)


def train(
    x, y, steps: int, rng: np.random.Generator, dropconnect: bool, batch: int = 256
) -> list[np.ndarray]:
    """Adam, learning rate decayed 10x; least squares (deterministic) or the Gaussian NLL
    0.5 log V + (y - mu)^2 / 2V with V the analytic dropconnect variance (dropconnect, after
    WARMUP_FRACTION of the steps of least squares: a mean first, or V swells instead). The
    last QAT_FRACTION of the steps run on the weights as the pairs hold them."""
    params = init_network(rng)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    xs, ys = scaled(x), np.asarray(y) / Y_SCALE
    c = variance_factor()
    for step in range(1, steps + 1):
        lr = 3e-3 * 0.1 ** (step / steps)
        pick = rng.integers(0, len(ys), batch)
        xb, yb = xs[pick], ys[pick]
        used = as_held(params, dropconnect) if step > (1.0 - QAT_FRACTION) * steps else params
        mean, var, (h1, h2) = predict(used, xb, dropconnect)
        w2, w3 = used[2], used[4]
        if dropconnect and step > WARMUP_FRACTION * steps:
            var = var + VAR_FLOOR
            g_mean = (mean - yb) / var / batch
            g_var = (0.5 / var - 0.5 * (yb - mean) ** 2 / var**2) / batch
            g_h2 = g_mean[:, None] * np.clip(w3, -GAIN, GAIN) + g_var[:, None] * 2.0 * c * h2
        else:
            g_mean = 2.0 * (mean - yb) / batch
            g_h2 = g_mean[:, None] * (np.clip(w3, -GAIN, GAIN) if dropconnect else w3)
        g_w3 = g_mean[None, :] @ h2
        g_h2 = g_h2 * (h2 > 0)
        g_h1 = (g_h2 @ w2) * (1.0 - h1 * h1)
        grads = [g_h1.T @ xb, g_h1.sum(0), g_h2.T @ h1, g_h2.sum(0), g_w3, np.array([g_mean.sum()])]
        for k, g in enumerate(grads):
            m[k] = 0.9 * m[k] + 0.1 * g
            v[k] = 0.999 * v[k] + 0.001 * g * g
            params[k] -= lr * (m[k] / (1 - 0.9**step)) / (np.sqrt(v[k] / (1 - 0.999**step)) + 1e-8)
    return params


def program_data(params, x, draws: int, dropconnect: bool) -> dict:
    q = Q if dropconnect else 1.0
    layers = tables(params, dropconnect)
    gain3 = float(layers[2][1][0])
    data = {
        "xs": scaled(x),
        "settings": np.array([[draws, q, gain3 / q, q - 1.0]]),
    }
    for k, (table, gains) in enumerate(layers):
        data[f"w{k + 1}"] = table
        if k < 2:
            data[f"g{k + 1}"] = gains[None, :]
        data[f"b{k + 1}"] = params[2 * k + 1][None, :]
    return data


def draws_numpy(params, x, draws: int, dropconnect: bool, rng: np.random.Generator) -> np.ndarray:
    """The float64 twin: the rounded network; dropconnect: each cell's kept devices drawn
    exactly (Binomial(P, q) of its P positive and of its LEVELS - P negative devices)."""
    held = as_held(params, dropconnect)
    mean, _, (_, h2) = predict(held, scaled(x), False)
    if not dropconnect:
        return np.repeat(mean[:, None], draws, axis=1) * Y_SCALE
    table = _round_table(tables(params, True)[2][0])[0]
    positive = np.round((table + 1.0) * 0.5 * LEVELS).astype(np.int64)
    plus = rng.binomial(np.broadcast_to(positive, (len(x), draws, HIDDEN)), Q)
    minus = rng.binomial(np.broadcast_to(LEVELS - positive, (len(x), draws, HIDDEN)), Q)
    mac = ((plus - minus) / LEVELS * h2[:, None, :]).sum(-1)
    return (GAIN / Q * mac + params[5][0]) * Y_SCALE


# ---------------------------------------------------------------------- metrics
def scores(samples: np.ndarray, y: np.ndarray) -> dict:
    """Coverage of the draws' central 68% / 95% intervals, the NLL of a Gaussian with the
    draws' mean and variance, and the KS distance of the PIT (fraction of draws below y)."""
    out = {}
    for level, key in ((0.68, "coverage68"), (0.95, "coverage95")):
        low, high = np.quantile(samples, [0.5 - level / 2, 0.5 + level / 2], axis=1)
        out[key] = float(np.mean((y >= low) & (y <= high)))
    mean, var = samples.mean(1), samples.var(1) + VAR_FLOOR * Y_SCALE**2
    out["nll"] = float(np.mean(0.5 * np.log(2 * np.pi * var) + 0.5 * (y - mean) ** 2 / var))
    pit = np.sort((samples < y[:, None]).mean(1))
    n = len(pit)
    out["pit_ks"] = float(max((np.arange(1, n + 1) / n - pit).max(), (pit - np.arange(n) / n).max()))
    return out


def metrics_from(arrays: dict) -> dict:
    x, y = arrays["test_x"], arrays["test_y"]
    edges = np.linspace(0.0, X_MAX, BINS + 1)
    which = np.clip(np.digitize(x, edges) - 1, 0, BINS - 1)
    metrics: dict = {"points": int(len(x)), "draws": int(arrays["dropconnect"].shape[1])}
    for model in MODELS:
        samples = arrays[model]
        m = scores(samples, y)
        per_bin = [scores(samples[which == b], y[which == b]) for b in range(BINS)]
        m["bins"] = [float(e) for e in edges]
        m["coverage68_by_bin"] = [s["coverage68"] for s in per_bin]
        m["coverage95_by_bin"] = [s["coverage95"] for s in per_bin]
        metrics[model] = m
    return metrics


# ---------------------------------------------------------------------- the run
def trained(options: Options, train_x, train_y) -> dict[str, list[np.ndarray]]:
    """Both networks: the shipped ones (seed 0, TRAIN_STEPS, also used by --quick) unless
    --retrain or another seed (then --quick trains QUICK_TRAIN_STEPS)."""
    steps = QUICK_TRAIN_STEPS if options.quick else TRAIN_STEPS
    out = {}
    for k, name in enumerate(("deterministic", "dropconnect")):
        rng = np.random.default_rng([options.seed, k, 0x7A])
        out[f"regression_{name}"] = weights.trained(
            f"regression_{name}", options, lambda rng=rng, k=k: train(train_x, train_y, steps, rng, k == 1)
        )
    return out


def training_set(seed: int) -> tuple[np.ndarray, np.ndarray, np.random.Generator]:
    rng = np.random.default_rng([seed, 0x22])
    train_x, train_y = task(TRAIN, rng)
    return train_x, train_y, rng


def train_all(options: Options) -> dict[str, list[np.ndarray]]:
    train_x, train_y, _ = training_set(options.seed)
    return trained(options, train_x, train_y)


def run(options: Options) -> Result:
    program = assemble("regression")
    points = QUICK_TEST if options.quick else TEST
    draws = QUICK_DRAWS if options.quick else DRAWS
    train_x, train_y, rng = training_set(options.seed)
    test_x, test_y = task(points, rng)
    networks = trained(options, train_x, train_y)
    arrays = {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}
    total = StatsTotal()
    for k, (name, dropconnect) in enumerate((("deterministic", False), ("dropconnect", True))):
        report(options, f"regression {name} training", 2 * k, 4)
        params = networks[f"regression_{name}"]
        report(options, f"regression {name}", 2 * k + 1, 4)
        outputs = run_machine(
            program,
            program_data(params, test_x, draws, dropconnect),
            seed=options.seed * 1009 + k + 1,
            total=total,
            output_capacity=points * draws,
        )
        arrays[name] = outputs.reshape(points, draws) * Y_SCALE
        arrays[f"{name}_float"] = draws_numpy(
            params, test_x, draws, dropconnect, np.random.default_rng([options.seed, k, 0xF1])
        )
    report(options, "regression", 4, 4)
    return Result("regression", metrics_from(arrays), total.as_dict(), arrays)


def plot(arrays: dict, metrics: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = arrays["test_x"]
    order = np.argsort(x)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True)
    grid = np.linspace(0, X_MAX, 200)
    truth = grid * np.sin(grid)
    for ax, (model, title) in zip(
        axes,
        (
            ("deterministic", "(a) deterministic pairs, q = 1"),
            ("dropconnect", f"(b) MC-dropconnect, q = {Q}"),
        ),
        strict=True,
    ):
        s = arrays[model][order]
        ax.scatter(arrays["train_x"], arrays["train_y"], s=1, c="lightgrey", label="data")
        for level, alpha in ((0.95, 0.2), (0.68, 0.35)):
            low, high = np.quantile(s, [0.5 - level / 2, 0.5 + level / 2], axis=1)
            ax.fill_between(
                x[order], low, high, color="tab:blue", alpha=alpha, lw=0, label=f"{level:.0%} interval"
            )
        ax.plot(x[order], s.mean(1), c="tab:blue", lw=1, label="mean")
        for sign in (-1, 1):
            ax.plot(grid, truth + sign * 1.96 * noise_std(grid), c="k", lw=0.6, ls="--")
        m = metrics[model]
        ax.set_title(
            f"{title}\ncoverage68 {m['coverage68']:.2f}, coverage95 {m['coverage95']:.2f}", fontsize=9
        )
        ax.set_xlabel("x")
    axes[0].set_ylabel("y")
    axes[1].legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
