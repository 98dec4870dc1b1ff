"""The ktasm virtual machine and its physics backends.

``from vm import Core`` gives the kT-RAM core with the reference emulator's API.
Importing ``vm`` imports Numba; the ``ktasm`` CLI imports it only when a command runs.
"""

from vm.ktram.core import Core, Lane
from vm.ktram.models import MssParams

__all__ = ["Core", "Lane", "MssParams"]
