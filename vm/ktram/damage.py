"""Seed 001's claim on damaged hardware: local learning reaches the same transform on damaged,
degraded devices, where a trained state copied onto them does not. Run on the digits
classifier (programs/classifier.kta) with ``.core stuck=0.05 d2d=0.1``; ``ktasm claims
--seed 001`` prints it. The experiment needs the example library's data (scikit-learn).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from vm.ktram.claims import ClaimResult

DAMAGE = {"stuck": 0.05, "d2d": 0.1}
SEEDS = 5
EPOCHS = 80  # training passes over the digits' training set, as the classifier program's full run


def _digits(seed: int):
    """The classifier's data for one seed: training rows and targets, test rows, labels."""
    from ktasm.programs import classifier

    x, y = classifier.load("digits")
    train, test = classifier.split(y, seed)
    edges = classifier.fit_bins(x[train])
    a_train, a_test = classifier.encode(x[train], edges), classifier.encode(x[test], edges)
    rows, target = classifier.epochs_table(a_train, y[train], int(y.max()) + 1, EPOCHS, seed)
    return {"train": rows, "train_target": target, "test": a_test}, y[test]


def _accuracy(machine, labels) -> float:
    result = machine.run()
    if result.reason not in ("halted", "end"):
        raise RuntimeError(f"the classifier stopped by {result.reason}: {result.fault}")
    return float(np.mean(result.outputs.astype(np.int64) == labels))


def _write_trained_state(healthy, damaged) -> None:
    """Each pair of the damaged core set to the healthy pair's Ga and Gb (its w and m);
    stuck devices ignore the write, and a d2d device clamps it to its own range."""
    for lane in range(healthy.num_lanes):
        for address in range(healthy.num_addresses):
            aat = (address,) * healthy.spaces_per_lane
            damaged.set_gab(lane, aat, healthy.g[0, lane, :, address], healthy.g[1, lane, :, address])


def damage_tolerance(seeds: int = SEEDS) -> ClaimResult:
    r = ClaimResult(
        "damage_tolerance",
        "local learning reaches the same transform on damaged hardware (seed 001): the digits "
        "classifier trained in situ on a core with 5% stuck devices and 10% device-to-device "
        "spread stays near the healthy core's accuracy, while the healthy core's trained state "
        "written into the damaged core loses more",
        f"over {seeds} seeds: mean in-situ accuracy on the damaged core within 2 points of the "
        "healthy core's, and the written-in state's mean accuracy below the in-situ one",
    )
    from ktasm.programs import assemble
    from vm.machine import Machine

    program = assemble("classifier")
    damaged_program = dataclasses.replace(program, core={**program.core, **DAMAGE})
    healthy_acc, insitu_acc, written_acc = [], [], []
    for seed in range(seeds):
        data, labels = _digits(seed)
        healthy = Machine(program, data, seed=seed + 1, output_capacity=len(labels))
        healthy_acc.append(_accuracy(healthy, labels))
        insitu = Machine(damaged_program, data, seed=seed + 1, output_capacity=len(labels))
        insitu_acc.append(_accuracy(insitu, labels))
        untrained = {**data, "train": data["train"][:0], "train_target": data["train_target"][:0]}
        written = Machine(damaged_program, untrained, seed=seed + 1, output_capacity=len(labels))
        _write_trained_state(healthy.core, written.core)
        written_acc.append(_accuracy(written, labels))
    healthy_mean, insitu_mean, written_mean = (
        float(np.mean(a)) for a in (healthy_acc, insitu_acc, written_acc)
    )
    r.measured = {
        "seeds": seeds,
        "healthy_accuracy": healthy_mean,
        "damaged_in_situ_accuracy": insitu_mean,
        "damaged_written_accuracy": written_mean,
        "in_situ_gap_points": 100 * (healthy_mean - insitu_mean),
        "written_gap_points": 100 * (healthy_mean - written_mean),
        "healthy_per_seed": [round(a, 4) for a in healthy_acc],
        "in_situ_per_seed": [round(a, 4) for a in insitu_acc],
        "written_per_seed": [round(a, 4) for a in written_acc],
    }
    r.passed = bool(healthy_mean - insitu_mean <= 0.02 and written_mean < insitu_mean)
    return r


CLAIMS: dict[str, Callable[[], ClaimResult]] = {"damage_tolerance": damage_tolerance}
