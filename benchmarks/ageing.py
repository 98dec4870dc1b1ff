"""Ageing, one program-level consequence: the digits classifier (programs/classifier.kta)
trained on a core whose devices drift, then left for an hour, a day, a month and a year.

Three ways of holding the same trained weights, read the same way (a lane's clean read
y = sum(Ga - Gb) / sum(Ga + Gb) over the example's AAT, argmax over the lanes):
  kT-RAM       the differential pairs themselves, aged by AGE (the VM's drift law)
  one device   each pair's signed value Ga - Gb on one device at G_ref + (Ga - Gb)/2, the
               reference current G_ref subtracted in the periphery, as a crossbar does; the
               device drifts with its own nu (same law and statistics)
  one device, compensated   the same with aihwkit's global drift compensation: each lane's
               output scaled by its all-ones response at t0 over the same at t
and plots held-out accuracy and the rms change of the lane reads against age.

    python benchmarks/ageing.py [--quick] [--out ageing.png] [--spread 0.02]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from ktasm.programs import assemble, classifier
from vm.machine import Machine

NU = 0.05
AGES = {"0": 0.0, "1 h": 3600.0, "1 day": 86400.0, "1 month": 30 * 86400.0, "1 year": 365 * 86400.0}


def trained_machine(spread: float, epochs: int, seed: int):
    """The classifier trained on a drifting core; its machine, test rows and labels."""
    x, y = classifier.load("digits")
    train, test = classifier.split(y, seed)
    edges = classifier.fit_bins(x[train])
    a_train, a_test = classifier.encode(x[train], edges), classifier.encode(x[test], edges)
    rows, target = classifier.epochs_table(a_train, y[train], int(y.max()) + 1, epochs, seed)
    program = assemble("classifier")
    drifting = dataclasses.replace(program, core={**program.core, "drift": NU, "drift_spread": spread})
    machine = Machine(drifting, {"train": rows, "train_target": target, "test": a_test}, seed=seed + 1)
    machine.run()
    return machine, a_test.astype(np.int64), y[test]


def lane_reads(numerator: np.ndarray, magnitude: np.ndarray, rows: np.ndarray, n_labels: int) -> np.ndarray:
    """y[row, lane] = sum over the row's enabled spaces of numerator / the same of magnitude;
    numerator and magnitude are [lane, space, address]."""
    spaces = np.arange(rows.shape[1])
    on = rows >= 0
    address = np.where(on, rows, 0)
    top = np.where(on[:, None, :], numerator[:n_labels][:, spaces, address].transpose(1, 0, 2), 0.0).sum(-1)
    bot = np.where(on[:, None, :], magnitude[:n_labels][:, spaces, address].transpose(1, 0, 2), 0.0).sum(-1)
    return top / bot


def experiment(spread: float, epochs: int, seed: int = 0) -> dict:
    machine, rows, labels = trained_machine(spread, epochs, seed)
    core = machine.core
    n_labels = int(labels.max()) + 1
    ga, gb = core.g[0].copy(), core.g[1].copy()
    m0 = ga + gb
    g_ref = 0.5 * (core.gmin + core.gmax)
    single0 = g_ref + 0.5 * (ga - gb)  # each weight on one device
    nu_single = NU + spread * np.random.default_rng([seed, 16]).standard_normal(single0.shape)
    y0 = lane_reads(ga - gb, m0, rows, n_labels)
    start = core.modeled_time_s
    out: dict[str, dict[str, list[float]]] = {
        k: {"accuracy": [], "rms_change": []} for k in ("kT-RAM", "one device", "one device, compensated")
    }
    for age in AGES.values():
        core.age(start + age - core.modeled_time_s)
        single = single0 * ((age + 1.0) / 1.0) ** -nu_single
        scale = single0.sum(axis=(1, 2), keepdims=True) / single.sum(axis=(1, 2), keepdims=True)
        for name, y in (
            ("kT-RAM", lane_reads(core.g[0] - core.g[1], core.g[0] + core.g[1], rows, n_labels)),
            ("one device", lane_reads(2 * (single - g_ref), m0, rows, n_labels)),
            ("one device, compensated", lane_reads(2 * (scale * single - g_ref), m0, rows, n_labels)),
        ):
            out[name]["accuracy"].append(float(np.mean(np.argmax(y, axis=1) == labels)))
            out[name]["rms_change"].append(float(np.sqrt(np.mean((y - y0) ** 2))))
    return out


def plot(results: dict[float, dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (acc, err) = plt.subplots(1, 2, figsize=(10, 5))
    x = np.arange(len(AGES))
    styles = {"kT-RAM": "o-", "one device": "s--", "one device, compensated": "^:"}
    for spread, out in results.items():
        for name, style in styles.items():
            label = f"{name}, drift spread {spread:g}"
            acc.plot(x, out[name]["accuracy"], style, label=label)
            err.plot(x, np.maximum(out[name]["rms_change"], 1e-17), style, label=label)
    for ax in (acc, err):
        ax.set_xticks(x, list(AGES))
        ax.set_xlabel("age after training (AGE)")
    acc.set_ylabel("held-out accuracy (digits)")
    err.set_ylabel("rms change of the lane reads")
    err.set_yscale("log")
    acc.set_title(f"classifier after drift, nu = {NU}")
    err.set_title("how far the outputs moved")
    handles, labels = acc.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="lower center", ncol=2)
    fig.tight_layout(rect=(0, 0.2, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 training epochs instead of 20")
    parser.add_argument("--out", default="ageing.png", help="the PNG to write")
    parser.add_argument("--spread", type=float, action="append", help="drift spread(s); default 0 and 0.02")
    args = parser.parse_args()
    spreads = args.spread or [0.0, 0.02]
    results = {s: experiment(s, 5 if args.quick else 20) for s in spreads}
    for spread, out in results.items():
        for name, figures in out.items():
            cells = "  ".join(
                f"{age}: {a:.3f} ({e:.2g})"
                for age, a, e in zip(AGES, figures["accuracy"], figures["rms_change"], strict=True)
            )
            print(f"spread {spread:g}  {name:24} {cells}")
    plot(results, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
