"""Keeping Numba's on-disk cache from stopping a run or serving stale code: no writable
place for it, a damaged one, or one compiled from other sources. Importing this module does
not import Numba.

Numba keys a cached function on its own source file only: after an upgrade or an edit that
changes a callee in another module (or a constant of ``vm/codes.py``), it would load the
old machine code (seen here: a ZeroDivisionError and a wrong-shape error from caches kept
across commits). ``ensure_location`` (run by ``vm/__init__`` before any kernel module
loads) therefore puts the VM's cache in a directory named by a digest of every ``vm``
source file: ``$NUMBA_CACHE_DIR/ktasm-<digest>`` when that is set, else
``~/.cache/ktasm/numba/<digest>`` (``XDG_CACHE_HOME``); other sources, other directory.
With no writable place it points ``NUMBA_CACHE_DIR`` at a fresh temporary directory and
says so. A damaged index or data file made every run fail until it was deleted; ``repair``
empties the cache indexes of the VM's kernels so the next call compiles them again.

``skip_blas_probe`` (``ktasm run`` only) keeps Numba from importing all of scipy.linalg when
its target starts (its probe for BLAS, ~0.3 s of a warm run's ~1.4 s CPU here); the VM's
kernels use no BLAS.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import os
import sys
import tempfile
from typing import Any

# njit options of a kernel compiled without reference counts (``_nrt`` is Numba's own
# switch; its type stubs do not list it): such a kernel must create no arrays, only index
# them; the counts on array arguments were atomic calls per call (vm.ktram.kernels, the
# RELAX block, the Ising row group)
NO_REFCOUNTS: dict[str, Any] = {"cache": True, "_nrt": False}


def _writable(directory: str) -> bool:
    try:
        os.makedirs(directory, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError:
        return False
    return True


def source_digest() -> str:
    """A digest of every vm/ source file (paths and contents): what the compiled code is from."""
    here = os.path.dirname(os.path.abspath(__file__))
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(here):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, here).encode())
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:16]


def ensure_location() -> None:
    """Point Numba's cache at this source tree's own directory (see the module's docstring);
    a no-op once Numba has read its configuration."""
    if "numba" in sys.modules:
        return
    name = f"ktasm-{source_digest()}"
    given = os.environ.get("NUMBA_CACHE_DIR")
    if given:
        if os.path.basename(os.path.normpath(given)) != name:  # a child process inherits it set
            os.environ["NUMBA_CACHE_DIR"] = os.path.join(given, name)
        return
    user = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    mine = os.path.join(user, "ktasm", "numba", name)
    if _writable(mine):
        os.environ["NUMBA_CACHE_DIR"] = mine
        return
    temporary = tempfile.mkdtemp(prefix="ktasm-numba-")
    os.environ["NUMBA_CACHE_DIR"] = temporary
    print(
        f"ktasm: no writable place for Numba's cache ({user} is read-only); "
        f"compiling into {temporary} for this run (set NUMBA_CACHE_DIR to a writable directory "
        "to keep the compiled kernels)",
        file=sys.stderr,
    )


def repair(exc: BaseException) -> bool:
    """Empty the cache index of every compiled VM function; True if any was emptied (the
    caller then compiles again), False if there is no cache to blame."""
    from numba.core.registry import CPUDispatcher

    emptied = 0
    for name, module in list(sys.modules.items()):
        if not (name == "vm" or name.startswith("vm.")) or module is None:
            continue
        for value in list(vars(module).values()):
            cache = getattr(value, "_cache", None) if isinstance(value, CPUDispatcher) else None
            if cache is not None and hasattr(cache, "flush"):
                try:
                    cache.flush()
                    emptied += 1
                except OSError:
                    pass
    if emptied:
        print(
            f"ktasm: Numba's cache was damaged ({type(exc).__name__}: {str(exc)[:120]}); "
            "it was emptied and the kernels are compiled again",
            file=sys.stderr,
        )
    return emptied > 0


class _NoBlasProbe(importlib.abc.MetaPathFinder):
    """Refuses scipy.linalg while Numba's numba.np.arraymath probes for BLAS (its module
    body calls ensure_blas, which imports scipy.linalg.cython_blas, and with it all of
    scipy.linalg); a no-op once the probe has answered (``_HAVE_BLAS`` set)."""

    def find_spec(self, name, path=None, target=None):
        if name == "scipy.linalg" or name.startswith("scipy.linalg."):
            arraymath = sys.modules.get("numba.np.arraymath")
            if arraymath is None or not hasattr(arraymath, "_HAVE_BLAS"):
                raise ImportError(f"{name}: not loaded while Numba starts (vm.numba_cache.skip_blas_probe)")
        return None


def skip_blas_probe() -> None:
    """Make Numba's BLAS probe answer "none" in this process, so its start-up does not import
    scipy.linalg: for a process that runs only the VM's kernels (``ktasm run``), never for a
    library user's (their own jitted np.dot would then not compile). Later imports of
    scipy.linalg work as usual. Does nothing once the probe has run."""
    if "numba.np.arraymath" in sys.modules or "scipy.linalg" in sys.modules:
        return
    if not any(isinstance(f, _NoBlasProbe) for f in sys.meta_path):
        sys.meta_path.insert(0, _NoBlasProbe())
