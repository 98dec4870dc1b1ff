"""docs/notebooks: saved without outputs, and every one runs top to bottom in a real
Jupyter kernel (nbclient, ipykernel) without an error, so they never rot."""

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "docs" / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_and_they_are_saved_without_outputs():
    assert len(NOTEBOOKS) >= 5
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: clear the outputs"


@pytest.mark.slow
def test_every_notebook_runs(tmp_path):
    env_path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    os.environ["PYTHONPATH"] = env_path  # the kernel imports this checkout's ktasm
    failures = []
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
        )
        try:
            client.execute()
        except nbclient.exceptions.CellExecutionError as exc:
            failures.append(f"{path.name}: {exc}")
            continue
        text = "".join(
            out.get("text", "") + "".join(str(v) for v in out.get("data", {}).values())
            for cell in nb.cells
            if cell.cell_type == "code"
            for out in cell.outputs
        )
        assert "Traceback" not in text, path.name
        if path.name == "01_quickstart.ipynb":  # the error cell shows the caret diagnostic
            assert "<cell>:2:9: error:" in text and "<b>pairs</b>" in text
            assert "image/png" in {
                k for c in nb.cells for o in c.get("outputs", []) for k in o.get("data", {})
            }
    assert not failures, "\n\n".join(failures)
