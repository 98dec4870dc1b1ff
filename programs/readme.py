"""The README's figures for the programs whose results are recorded (docs/runs/NAME.json,
the ``--json`` output of a run), written by this script, never by hand.

``python -m ktasm.programs.readme`` rewrites the last cell of those programs' rows in the
README's table from the recorded runs; the test suite checks that the README says what
the recorded runs say. To record a run: ``ktasm programs run NAME --json >
docs/runs/NAME.json`` (seed 0: the shipped weights), then run this script.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECORDED = ("diffusion", "regression")


def _g(value: float) -> str:
    return f"{value:.2g}"


def diffusion_cell(metrics: dict) -> str:
    parts = []
    for name, m in metrics.items():
        c = m["costs"]
        parts.append(
            f"{name.replace('_', ' ')}: insitu_network {_g(m['mmd2_insitu_network'])}, noise block "
            f"{_g(m['mmd2'])}, ex-situ {_g(m['mmd2_exsitu'])}, digital float {_g(m['mmd2_digital'])}, "
            f"without noise {_g(m['mmd2_no_noise'])}, band {_g(m['mmd2_floor_p95'])}; noise per sample "
            f"insitu_network {_g(c['insitu_network']['noise_time_s'] * 1e6)} us / "
            f"{_g(c['insitu_network']['noise_energy_j'] * 1e9)} nJ, ex-situ "
            f"{_g(c['exsitu']['noise_time_s'] * 1e6)} us / {_g(c['exsitu']['noise_energy_j'] * 1e9)} nJ"
            + _digits_part(m)
        )
    samples = next(iter(metrics.values()))["samples"]
    return f"n = {samples}, integrated devices: " + "; ".join(parts)


def _digits_part(m: dict) -> str:
    """The latent digits' own figures (n differs from the 2-D sets')."""
    if "class_entropy" not in m:
        return ""
    return (
        f"; n = {m['samples']} latents, class entropy (log 10 = 2.30) insitu_network "
        f"{m['class_entropy_insitu_network']:.2f}, noise block {m['class_entropy']:.2f}, without noise "
        f"{m['class_entropy_no_noise']:.2f}, classifier confidence insitu_network "
        f"{m['classifier_confidence_insitu_network']:.2f} (real digits {m['classifier_confidence_real']:.2f})"
    )


def regression_cell(metrics: dict) -> str:
    parts = []
    for model in ("dropconnect", "dropconnect_float", "deterministic"):
        m = metrics[model]
        parts.append(
            f"{model.replace('_float', ' float64')}: coverage68 {m['coverage68']:.2f}, coverage95 "
            f"{m['coverage95']:.2f}, NLL {_g(m['nll'])}, PIT KS {m['pit_ks']:.2f}"
        )
    return f"{metrics['points']} test points x {metrics['draws']} draws: " + "; ".join(parts)


CELLS = {"diffusion": diffusion_cell, "regression": regression_cell}


def recorded(name: str, root: Path = ROOT) -> dict:
    return json.loads((root / "docs" / "runs" / f"{name}.json").read_text())


def is_quick(name: str, metrics: dict) -> bool:
    from ktasm.programs import diffusion, regression

    if name == "diffusion":
        return next(iter(metrics.values()))["samples"] == diffusion.QUICK_SAMPLES
    return metrics["points"] == regression.QUICK_TEST


def cell(name: str, root: Path = ROOT) -> str:
    metrics = recorded(name, root)["metrics"]
    return ("`--quick`, " if is_quick(name, metrics) else "full run, ") + CELLS[name](metrics)


def row_cells(readme: str, name: str) -> list[str]:
    """The cells of the README table's row for program NAME."""
    for line in readme.splitlines():
        if line.startswith(f"| `{name}` |"):
            return [c.strip() for c in line.strip().strip("|").split(" | ")]
    raise KeyError(name)


def rewrite(readme: str, root: Path = ROOT) -> str:
    lines = readme.splitlines(keepends=True)
    for k, line in enumerate(lines):
        for name in RECORDED:
            if line.startswith(f"| `{name}` |"):
                cells = row_cells(line, name)
                cells[-1] = cell(name, root)
                lines[k] = "| " + " | ".join(cells) + " |\n"
    return "".join(lines)


def main(argv: list[str]) -> int:
    path = ROOT / "README.md"
    text = rewrite(path.read_text())
    if "--check" in argv:
        return 0 if text == path.read_text() else 1
    path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
