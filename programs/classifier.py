"""The AHaH linear classifier on scikit-learn's shipped data sets, against logistic
regression on the same encoding.

Encoding (adaptive binning): each feature is cut at its training-set quantiles into at
most BINS bins (constant or few-valued features get fewer), and an example becomes an
AAT with one space per feature whose address is the bin, plus a bias space. The
baseline sees exactly this encoding, one-hot.
"""

from __future__ import annotations

import numpy as np

from ktasm.programs import Options, Result, StatsTotal, assemble, report, require, run_machine

SUMMARY = (
    "AHaH linear classifier (one lane per label) on iris, wine, breast cancer, digits vs logistic regression"
)

DATASETS = ("iris", "wine", "breast_cancer", "digits")
MODELS = ("float", "byte", "rs", "mss")
BINS = 16  # = the program's cols
MAX_SPACES = 65  # = the program's spaces (digits: 64 features + bias)
MAX_LABELS = 16  # = the program's lanes
TEST_FRACTION = 0.3
EPOCHS, QUICK_EPOCHS = 80, 40
QUICK_SETS = ("iris", "breast_cancer")

AIMS = [
    (
        f"{name}: accuracy within 3 points of logistic regression (float)",
        lambda m, name=name: (
            None if name not in m else m[name]["accuracy"] >= m[name]["baseline_accuracy"] - 0.03
        ),
    )
    for name in DATASETS
]


def load(name: str):
    bunch = getattr(require("sklearn.datasets", "the classifier"), f"load_{name}")()
    return bunch.data.astype(np.float64), bunch.target.astype(np.int64)


def split(y: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified train/test indices: TEST_FRACTION of every label held out."""
    rng = np.random.default_rng([seed, 0x5EED])
    train, test = [], []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        n_test = int(round(TEST_FRACTION * len(idx)))
        test.append(idx[:n_test])
        train.append(idx[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def fit_bins(x_train: np.ndarray) -> list[np.ndarray]:
    """Per feature, the inner bin edges: training quantiles, duplicates dropped."""
    qs = np.linspace(0, 1, BINS + 1)[1:-1]
    return [np.unique(np.quantile(col, qs)) for col in x_train.T]


def encode(x: np.ndarray, edges: list[np.ndarray]) -> np.ndarray:
    """Addresses (rows x MAX_SPACES): feature bins, the bias space (address 0), then -1."""
    out = np.full((len(x), MAX_SPACES), -1.0)
    for f, e in enumerate(edges):
        out[:, f] = np.searchsorted(e, x[:, f], side="right")
    out[:, len(edges)] = 0.0
    return out


def one_hot(addresses: np.ndarray) -> np.ndarray:
    """The baseline's view of the same encoding: one indicator per (space, address)."""
    used = addresses >= 0
    cols = np.flatnonzero(used.any(axis=0))
    eye = np.zeros((len(addresses), len(cols) * BINS))
    for k, c in enumerate(cols):
        eye[np.arange(len(addresses)), k * BINS + addresses[:, c].astype(int)] = 1.0
    return eye


def epochs_table(addresses: np.ndarray, labels: np.ndarray, n_labels: int, epochs: int, seed: int):
    """Training rows for every epoch, each epoch in a fresh order, and their targets."""
    rng = np.random.default_rng([seed, 0xE90C])
    order = np.concatenate([rng.permutation(len(labels)) for _ in range(epochs)])
    target = -np.ones((len(order), n_labels))
    target[np.arange(len(order)), labels[order]] = 1.0
    return addresses[order], target


def metrics_from(arrays: dict) -> dict:
    metrics = {}
    for name in DATASETS:
        if f"{name}_test_labels" not in arrays:
            continue
        truth = arrays[f"{name}_test_labels"]
        entry = {
            "test_examples": int(len(truth)),
            "baseline_accuracy": float(np.mean(arrays[f"{name}_baseline_pred"] == truth)),
        }
        for model in MODELS:
            key = f"{name}_{model}_pred"
            if key in arrays:
                acc = float(np.mean(arrays[key] == truth))
                entry["accuracy" if model == "float" else f"accuracy_{model}"] = acc
        metrics[name] = entry
    return metrics


def run(options: Options) -> Result:
    linear_model = require("sklearn.linear_model", "the classifier")
    program = assemble("classifier")
    total = StatsTotal()
    arrays = {}
    sets = QUICK_SETS if options.quick else DATASETS
    models = ("float",) if options.quick else MODELS
    jobs = [(name, model) for name in sets for model in models]
    done = 0
    for name in sets:
        x, y = load(name)
        train, test = split(y, options.seed)
        edges = fit_bins(x[train])
        a_train, a_test = encode(x[train], edges), encode(x[test], edges)
        n_labels = int(y.max()) + 1
        epochs = QUICK_EPOCHS if options.quick else EPOCHS
        rows, target = epochs_table(a_train, y[train], n_labels, epochs, options.seed)
        data = {"train": rows, "train_target": target, "test": a_test}
        for model in models:
            report(options, f"classifier {name} {model}", done, len(jobs))
            outputs = run_machine(
                program, data, seed=options.seed + 1, model=model, total=total, output_capacity=len(test)
            )
            arrays[f"{name}_{model}_pred"] = outputs.astype(np.int64)
            done += 1
        baseline = linear_model.LogisticRegression(max_iter=5000)
        baseline.fit(one_hot(a_train), y[train])
        arrays[f"{name}_baseline_pred"] = baseline.predict(one_hot(a_test)).astype(np.int64)
        arrays[f"{name}_test_labels"] = y[test]
        arrays[f"{name}_test_addresses"] = a_test
    report(options, "classifier", len(jobs), len(jobs))
    return Result("classifier", metrics_from(arrays), total.as_dict(), arrays)


def plot(arrays: dict, metrics: dict, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(metrics)
    columns = [("baseline_accuracy", "logistic regression")] + [
        ("accuracy" if m == "float" else f"accuracy_{m}", f"AHaH ({m})") for m in MODELS
    ]
    columns = [c for c in columns if any(c[0] in metrics[n] for n in names)]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    width = 0.8 / len(columns)
    for k, (key, label) in enumerate(columns):
        values = [metrics[n].get(key, np.nan) for n in names]
        ax.bar(np.arange(len(names)) + k * width, values, width, label=label)
    ax.set_xticks(np.arange(len(names)) + 0.4 - width / 2, names)
    ax.set_ylim(0.5, 1.0)
    ax.set_ylabel("held-out accuracy")
    ax.set_title("Supervised AHaH classifier in the VM vs logistic regression, same encoding")
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
