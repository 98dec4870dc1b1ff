"""Trained weights shipped with the example library (``programs/weights/NAME.npz``).

Training in NumPy is deterministic per seed, but its last bits depend on the platform (BLAS,
NumPy and CPU), and a diffusion network's samples amplify them: the README's figures did
not reproduce on another install. So seed 0's trained networks are package data, each
checked against the SHA-256 recorded in ``checksums.json`` (a checksum of the arrays'
names, dtypes, shapes and bytes, not of the zip file). ``--retrain`` trains afresh;
``python -m ktasm.programs.weights`` trains and writes every shipped file again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import numpy as np

SHIPPED_SEED = 0


def directory() -> Path:
    return Path(str(resources.files(__package__ or "ktasm.programs").joinpath("weights")))


def checksum(arrays: list[np.ndarray]) -> str:
    digest = hashlib.sha256()
    for k, a in enumerate(arrays):
        a = np.ascontiguousarray(a, dtype=np.float64)
        digest.update(f"{k}:{a.dtype.str}:{a.shape}".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()


def _sums(folder: Path) -> dict:
    path = folder / "checksums.json"
    return json.loads(path.read_text()) if path.exists() else {}


def save(name: str, arrays: list[np.ndarray], folder: Path | None = None) -> str:
    folder = folder or directory()
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / f"{name}.npz", *[np.asarray(a, dtype=np.float64) for a in arrays])
    sums = _sums(folder)
    sums[name] = checksum(arrays)
    (folder / "checksums.json").write_text(json.dumps(sums, indent=2, sort_keys=True) + "\n")
    return sums[name]


def load(name: str, folder: Path | None = None) -> list[np.ndarray] | None:
    """The shipped arrays of NAME, or None when none are shipped; a file that does not match
    its checksum is an error (ProgramError)."""
    from ktasm.programs import ProgramError

    folder = folder or directory()
    path = folder / f"{name}.npz"
    if not path.exists():
        return None
    with np.load(path, allow_pickle=False) as f:
        arrays = [f[f"arr_{k}"] for k in range(len(f.files))]
    want = _sums(folder).get(name)
    if want != checksum(arrays):
        raise ProgramError(
            f"the shipped weights {path} do not match their checksum in checksums.json; "
            "run with --retrain, or python -m ktasm.programs.weights to write them again"
        )
    return arrays


def trained(name: str, options, train: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
    """Seed 0 without --retrain: the shipped weights (if any); otherwise train()."""
    if options.seed == SHIPPED_SEED and not options.retrain:
        shipped = load(name)
        if shipped is not None:
            return shipped
    return train()


def main() -> None:  # pragma: no cover - run by hand: it trains every shipped network
    from ktasm.programs import Options, diffusion, regression

    options = Options(seed=SHIPPED_SEED, retrain=True)
    for name, params in list(diffusion.train_all(options).items()) + list(
        regression.train_all(options).items()
    ):
        print(name, save(name, params))


if __name__ == "__main__":
    main()
