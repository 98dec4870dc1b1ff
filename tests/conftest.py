import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"  # golden programs, the invalid-program corpus, conformance data
# The conformance recordings the tests replay are copied into the repository from
# ../shared/conformance (test_conformance checks the copy is current when ../shared is there).
CONFORMANCE = DATA / "conformance"
SHARED = Path(os.environ.get("KTASM_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"../shared not found at {SHARED} (set KTASM_SHARED)")
    return SHARED


@pytest.fixture(scope="module")
def cluster():
    """(a LocalCluster of 2 worker processes, a Client of it), for one test module."""
    distributed = pytest.importorskip("distributed")
    import logging

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    ) as local:
        with distributed.Client(local) as client:
            yield local, client
