"""Stopping a compiled run from outside: a deadline or a signal sets ``status[ST_STOP]``.

The interpreter loop runs without the GIL and polls ``status[ST_STOP]`` once per instruction
(long kernels too: a RELAX window after each round, 64 steps of up to 16384 units, a few ms),
so a run stops within milliseconds of the request instead of at the end of a chunk. One daemon thread per process waits, with
``select``, on the deadline of the run it is armed for and on the fd that Python's C-level
signal handler writes to (``signal.set_wakeup_fd``): Ctrl-C and SIGTERM reach it while the
main thread is inside compiled code, where Python's own handlers cannot run. The handler
then runs as soon as the compiled call returns (KeyboardInterrupt, or what the CLI's
SIGTERM handler raises). Importing this module does not import Numba.
"""

from __future__ import annotations

import os
import select
import signal
import threading
import time

import numpy as np

from vm.state import ST_STOP


class _Watchdog:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.status: np.ndarray | None = None
        self.deadline: float | None = None
        self.control_r, self.control_w = os.pipe()
        self.signal_r, self.signal_w = os.pipe()
        for fd in (self.control_r, self.control_w, self.signal_r, self.signal_w):
            os.set_blocking(fd, False)
        threading.Thread(target=self._watch, name="ktasm-watchdog", daemon=True).start()

    def _poke(self) -> None:
        try:
            os.write(self.control_w, b"x")
        except BlockingIOError:  # already awake
            pass

    def _watch(self) -> None:
        while True:
            with self.lock:
                deadline = self.deadline
            wait = None if deadline is None else max(0.0, deadline - time.perf_counter())
            ready, _, _ = select.select([self.control_r, self.signal_r], [], [], wait)
            if self.signal_r in ready:
                _drain(self.signal_r)
                self._stop()
            if self.control_r in ready:
                _drain(self.control_r)
            with self.lock:
                if self.deadline is not None and time.perf_counter() >= self.deadline:
                    self._stop_locked()
                    self.deadline = None

    def _stop(self) -> None:
        with self.lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self.status is not None:
            self.status[ST_STOP] = 1

    def arm(self, status: np.ndarray, deadline: float | None) -> int | None:
        """Watch status until disarm(); returns the previous wakeup fd to restore (None
        when signals cannot be routed here: not the main thread)."""
        with self.lock:
            self.status, self.deadline = status, deadline
        self._poke()
        try:
            return signal.set_wakeup_fd(self.signal_w, warn_on_full_buffer=False)
        except ValueError:  # not the main thread: the deadline still works
            return None

    def disarm(self, previous: int | None) -> None:
        if previous is not None:
            try:
                signal.set_wakeup_fd(previous)
            except ValueError:
                pass
        with self.lock:
            self.status, self.deadline = None, None
        self._poke()


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 512):
            pass
    except BlockingIOError:
        pass


_instance: _Watchdog | None = None
_instance_lock = threading.Lock()


class watching:
    """``with watching(status, deadline):`` a run that a deadline or a signal can stop."""

    def __init__(self, status: np.ndarray, deadline: float | None):
        self.status, self.deadline = status, deadline
        self.previous: int | None = None

    def __enter__(self) -> watching:
        global _instance
        with _instance_lock:
            if _instance is None:
                _instance = _Watchdog()
        self.status[ST_STOP] = 0
        self.previous = _instance.arm(self.status, self.deadline)
        return self

    def __exit__(self, *exc: object) -> None:
        assert _instance is not None
        _instance.disarm(self.previous)
        self.status[ST_STOP] = 0
