"""One line on standard error while Numba compiles the interpreter on first use.

``Machine.run`` compiles ``vm.interp.run`` (or loads it from Numba's cache) before its first
chunk; a cold compile takes tens of seconds, which looks like a hang. ``notice()`` wraps
that call: when the loop is not yet compiled in this process and the wait passes
``DELAY_S``, a tqdm line ``compiling kernels, once (cached for later runs) 00:12`` ticks on
stderr until it is done. Shown when stderr is a terminal or in a Jupyter kernel (where
stderr is the cell's output); ``KTASM_PROGRESS=0`` silences it, ``=1`` forces it.

``in_background`` runs the compilation in a worker thread while the caller waits: Ctrl-C
then raises KeyboardInterrupt in the waiting thread, never inside Numba's compiler (an
exception from a signal raised there can leave LLVM's state broken: a SIGSEGV at exit,
seen once in three fresh installs). The compilation goes on and is cached when it ends;
a process that exits meanwhile leaves through ``exit_now_if_compiling`` (no interpreter
teardown under a running compiler).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

DELAY_S = 0.5  # a wait shorter than this shows nothing
CACHED_DELAY_S = 5.0  # the wait when Numba's cache holds the function (a load, unless stale)
MESSAGE = "compiling kernels, once (cached for later runs)"


def enabled(stream=None) -> bool:
    """Whether compile feedback goes to stream (stderr): KTASM_PROGRESS, else a terminal
    or a Jupyter kernel."""
    setting = os.environ.get("KTASM_PROGRESS")
    if setting is not None:
        return setting not in ("0", "", "no", "false")
    stream = stream or sys.stderr
    try:
        if stream.isatty():
            return True
    except (AttributeError, ValueError):
        pass
    return _in_jupyter_kernel()


def _in_jupyter_kernel() -> bool:
    """Running inside a Jupyter kernel (stderr is the cell's output). Not merely ipykernel
    imported: a test process or a tool may import it without being a kernel."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def is_cached(dispatcher, signature) -> bool:
    """Whether Numba's on-disk cache holds dispatcher compiled for signature (then the
    compile loads it, unless the source changed since). The key includes the closure's
    cells, so each loop variant (vm.interp.make_loop) is looked up on its own: they share
    one index file."""
    try:
        cache = dispatcher._cache
        key = cache._index_key(tuple(signature), dispatcher.targetctx.codegen())
        return key in cache._cache_file._load_index()
    except Exception:  # another Numba's internals, cache=False, an unreadable index
        return False


@contextlib.contextmanager
def notice(stream=None, delay: float = DELAY_S) -> Iterator[None]:
    """Show MESSAGE on stream while the body runs, if it takes more than delay s."""
    stream = stream or sys.stderr
    if not enabled(stream):
        yield
        return
    done = threading.Event()

    def tick() -> None:
        if done.wait(delay):
            return
        from tqdm import tqdm

        with tqdm(total=None, desc=MESSAGE, bar_format="{desc} {elapsed}", file=stream, leave=True) as bar:
            while not done.wait(0.5):
                bar.refresh()

    thread = threading.Thread(target=tick, name="ktasm-compile-notice", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


_WORKERS: list[threading.Thread] = []


def in_background(compile_fn, *args) -> None:
    """compile_fn(*args) in a daemon thread, waiting for it here (interruptibly); its
    exception, if any, is raised here."""
    failure: list[BaseException] = []

    def work() -> None:
        try:
            compile_fn(*args)
        except BaseException as exc:  # handed to the waiting thread
            failure.append(exc)

    worker = threading.Thread(target=work, name="ktasm-compile", daemon=True)
    _WORKERS.append(worker)
    worker.start()
    while worker.is_alive():
        worker.join(0.05)  # a KeyboardInterrupt lands here, between waits
    _WORKERS.remove(worker)
    if failure:
        raise failure[0]


def still_compiling() -> bool:
    """Whether an interrupted compilation is still running in the background."""
    return any(worker.is_alive() for worker in _WORKERS)


def exit_now_if_compiling(status: int) -> None:
    """Exit with status at once (streams flushed, no teardown) if a compilation is still
    running: finalising the interpreter under it can crash the process."""
    if not still_compiling():
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(status)
