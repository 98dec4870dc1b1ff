"""The example library: ``.kta`` programs with the Python that feeds them and scores them.

Each program is a ``NAME.kta`` file beside a ``NAME.py`` driver. The driver prepares data
(encodings, reward tables, trained weights), runs the program in the VM, and turns what the
program wrote into metrics; the devices' work (reads, votes, dropconnect, sampling) is done
by instructions only. A driver module defines:

- ``SUMMARY``: one line for ``ktasm programs list``;
- ``run(options) -> Result``: the experiment; ``Result.arrays`` holds every raw result;
- ``metrics_from(arrays) -> dict``: the metrics, computed from those arrays alone, so the
  files written by ``--out`` reproduce the reported numbers;
- ``AIMS``: ``(text, check(metrics) -> bool)`` pairs, printed as verdicts;
- ``plot(arrays, metrics, path)``: the picture for ``--plot`` (matplotlib, imported there).

Independent runs (the bandit's seeds, the assimilation fleet's targets) go through
``Options.map``: here, one after another (or in spawned processes), or as tasks on a Dask
scheduler (``Options.scheduler`` or ``Options.client``), their inputs inside the tasks; each
result depends on its job alone, so the numbers are the same either way.

Trained networks are shipped as package data (``programs/weights/``, checksummed, see
``ktasm.programs.weights``): a run with seed 0 loads them, so its figures do not depend on
the platform's floating point; ``--retrain`` (or another seed) trains afresh.

Importing this package does not import Numba or the VM.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

NAMES = ("classifier", "bandit", "diffusion", "regression", "trng", "assimilation")


class ProgramError(Exception):
    """A program cannot run as asked (unknown name, missing optional package)."""


@dataclass
class Options:
    quick: bool = False
    seed: int = 0
    progress: Progress | None = None
    retrain: bool = False  # train afresh instead of loading shipped weights (programs/weights)
    # independent runs as tasks on dask.distributed: a Client of the caller's (kept open), or
    # a scheduler's address (connected to for each map, waiting connect_timeout seconds)
    scheduler: str | None = None
    client: Any = None
    connect_timeout: float = 10.0

    def map(self, function, jobs: list, label: str, *, processes: bool = False) -> list:
        """[function(*job) for job in jobs], in job order: as Dask tasks when the options
        name a client or scheduler (function importable on the workers, the jobs'
        arguments pickled into the tasks), else here, one after another, or with
        ``processes`` in spawned processes on every core. ``ktasm.sweep.SweepError`` when
        the scheduler cannot be reached or goes away; an error in a job is raised as it is."""
        jobs = list(jobs)
        done = lambda n: report(self, label, n, len(jobs))  # noqa: E731
        if self.client is not None or self.scheduler:
            from ktasm.sweep import map_tasks

            return map_tasks(
                function,
                jobs,
                client=self.client,
                scheduler=self.scheduler,
                connect_timeout=self.connect_timeout,
                on_done=done,
            )
        if processes:
            return _process_map(function, jobs, done)
        results: list = []
        for job in jobs:
            done(len(results))
            results.append(function(*job))
        done(len(results))
        return results


@dataclass
class Result:
    name: str
    metrics: dict
    stats: dict
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"name": self.name, "metrics": self.metrics, "stats": self.stats}


def _process_map(function, jobs: list, done) -> list:
    """function(*job) for every job in spawned processes, one per core (at most one per job)."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    workers = min(len(jobs), os.cpu_count() or 1)
    if workers <= 1:
        return [function(*job) for job in jobs]
    results: list = [None] * len(jobs)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = {pool.submit(function, *job): k for k, job in enumerate(jobs)}
        for n, future in enumerate(as_completed(futures)):
            results[futures[future]] = future.result()
            done(n + 1)
    return results


def module(name: str):
    if name not in NAMES:
        raise ProgramError(f"unknown program {name!r}; the library has: {', '.join(NAMES)}")
    return importlib.import_module(f"{__name__}.{name}")


def source_path(name: str) -> Path:
    """The program's .kta file (installed as package data)."""
    module(name)
    return Path(str(resources.files(__name__).joinpath(f"{name}.kta")))


def summaries() -> list[tuple[str, str]]:
    return [(name, module(name).SUMMARY) for name in NAMES]


def assemble(name: str):
    from ktasm.assembler import assemble_file

    return assemble_file(source_path(name))


def run(name: str, options: Options | None = None) -> Result:
    options = options or Options()
    driver = module(name)
    start = time.perf_counter()
    result = driver.run(options)
    result.stats["wall_seconds"] = time.perf_counter() - start
    return result


def verdicts(name: str, metrics: dict) -> list[tuple[str, bool | None]]:
    """Each aim's text and whether it was met: None when its part was not run (a --quick
    run leaves data sets out)."""
    out: list[tuple[str, bool | None]] = []
    for text, check in module(name).AIMS:
        met = check(metrics)
        out.append((text, None if met is None else bool(met)))
    return out


# ---------------------------------------------------------------------- raw results
def save_arrays(arrays: dict[str, np.ndarray], metrics: dict, directory) -> None:
    """One NAME.npy per array, plus metrics.json (what was reported)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for key, value in arrays.items():
        np.save(out / f"{key}.npy", np.asarray(value), allow_pickle=False)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n")


def load_arrays(directory) -> dict[str, np.ndarray]:
    return {p.stem: np.load(p, allow_pickle=False) for p in sorted(Path(directory).glob("*.npy"))}


def metrics_from_files(name: str, directory) -> dict:
    """Recompute a program's metrics from the files ``--out`` wrote."""
    return module(name).metrics_from(load_arrays(directory))


# ---------------------------------------------------------------------- machine runs
class StatsTotal:
    """Adds up ``Machine.stats()`` over the many runs a program makes."""

    def __init__(self):
        self.runs = 0
        self.instructions = 0
        self.run_seconds = 0.0
        self.families: dict[str, list[float]] = {}

    def add(self, stats: dict) -> None:
        self.runs += 1
        self.instructions += int(stats["instructions"])
        self.run_seconds += float(stats["run_seconds"])
        for family, cost in stats["by_family"].items():
            total = self.families.setdefault(family, [0.0, 0.0])
            total[0] += cost["time_s"]
            total[1] += cost["energy_j"]

    def merge(self, other: StatsTotal) -> None:
        """Add another total's runs (a part counted apart, e.g. one mode's cost)."""
        self.runs += other.runs
        self.instructions += other.instructions
        self.run_seconds += other.run_seconds
        for family, (seconds, energy) in other.families.items():
            total = self.families.setdefault(family, [0.0, 0.0])
            total[0] += seconds
            total[1] += energy

    def as_dict(self) -> dict:
        return {
            "machine_runs": self.runs,
            "instructions": self.instructions,
            "vm_seconds": self.run_seconds,
            "instructions_per_second": self.instructions / self.run_seconds if self.run_seconds else 0.0,
            "modeled_time_s": sum(t for t, _ in self.families.values()),
            "modeled_energy_j": sum(e for _, e in self.families.values()),
            "by_family": {k: {"time_s": t, "energy_j": e} for k, (t, e) in self.families.items()},
        }


def run_machine(
    program,
    data: dict,
    *,
    seed: int,
    total: StatsTotal,
    model: str | None = None,
    output_capacity: int = 1024,
    device_seed: int | None = None,
) -> np.ndarray:
    """Run a program to its end on a fresh machine and return its outputs; a fault is an
    error (a library program must not fault)."""
    from vm.machine import Machine

    machine = Machine(
        program, data=data, seed=seed, model=model, output_capacity=output_capacity, device_seed=device_seed
    )
    result = machine.run()
    if result.reason == "interrupted":
        raise KeyboardInterrupt
    if result.reason not in ("halted", "end"):
        detail = f": {result.fault}" if result.fault is not None else ""
        raise RuntimeError(f"program stopped by {result.reason}{detail}")
    total.add(machine.stats())
    return result.outputs


class StatsList(list):
    """Machine stats gathered where the runs are (a task, a process), added up by the parent."""

    def add(self, stats: dict) -> None:
        self.append(stats)


# ---------------------------------------------------------------------- progress
class Progress:
    """A tqdm progress bar per stage on standard error, on a terminal only (silent otherwise)."""

    def __init__(self, stream=None, enabled: bool | None = None):
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._bar: Any = None
        self._label = ""

    def update(self, label: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None or label != self._label or total != self._bar.total:
            self.close()
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=label, file=self.stream, leave=False, mininterval=0.1)
            self._label = label
        self._bar.n = done
        self._bar.refresh()
        if done >= total:
            self.close()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def report(options: Options, label: str, done: int, total: int) -> None:
    if options.progress is not None:
        options.progress.update(label, done, total)


def require(package: str, why: str):
    """Import an optional package or explain how to get it."""
    try:
        return importlib.import_module(package)
    except ImportError:
        top = package.split(".")[0]
        pip_name = {"sklearn": "scikit-learn"}.get(top, top)
        raise ProgramError(
            f"{why} needs {pip_name}: in the ktasm checkout, python3 -m pip install -e '.[programs]' "
            f"(or python3 -m pip install {pip_name})"
        ) from None
