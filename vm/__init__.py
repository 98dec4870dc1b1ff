"""The ktasm virtual machine and its physics backends.

``from vm import Core`` gives the kT-RAM core with the reference emulator's API;
``from vm import Machine`` runs assembled programs. Names load on first use, so the
assembler can read ``vm.isa`` and ``vm.bytecode`` without importing Numba.
"""

from importlib import import_module

from vm.numba_cache import ensure_location

ensure_location()  # before any kernel module imports Numba

_EXPORTS = {
    "Core": "vm.ktram.core",
    "Lane": "vm.ktram.core",
    "MssParams": "vm.ktram.models",
    "MSSProfile": "vm.ktram.models",
    "Machine": "vm.machine",
    "RunResult": "vm.machine",
}

__all__ = list(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'vm' has no attribute {name!r}")
