"""AATs given from Python (``Core.evaluate``, ``execute_stream``, ``set_gab``...): checked
against a core's spaces and addresses and turned into the int64 arrays the kernels take,
one address per space or -1 for a disabled space."""

from __future__ import annotations

import numpy as np

# parsed AATs kept per core (a program's AATs repeat; an unbounded stream of new ones must not grow memory)
CACHE_LIMIT = 4096


class AatParser:
    """Checks and converts AATs for a core of ``spaces`` spaces and ``addresses`` addresses."""

    def __init__(self, spaces: int, addresses: int):
        self.spaces = spaces
        self.addresses = addresses
        self._cache: dict[tuple, np.ndarray] = {}

    def array(self, aat) -> np.ndarray:
        """An AAT (one address or None per space) as a read-only int64 array (-1: disabled)."""
        key = tuple(aat) if not isinstance(aat, tuple) else aat
        try:
            cached = self._cache.get(key)
        except TypeError:  # unhashable entries: let the checker explain
            cached = None
        if cached is not None:
            return cached
        arr = self._parse(key)
        if len(self._cache) < CACHE_LIMIT:
            self._cache[key] = arr
        return arr

    def _parse(self, aat: tuple) -> np.ndarray:
        if len(aat) != self.spaces:
            raise ValueError(f"aat: expected {self.spaces} entries (one per space), got {len(aat)}: {aat!r}")
        arr = np.empty(self.spaces, dtype=np.int64)
        for s, a in enumerate(aat):
            if a is None:
                arr[s] = -1
            elif isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 <= a < self.addresses:
                arr[s] = a
            else:
                raise ValueError(f"aat[{s}]: expected an address in [0, {self.addresses}) or None, got {a!r}")
        arr.setflags(write=False)
        return arr

    def table(self, aats, n: int) -> np.ndarray:
        """n AATs (sequences, or an int array with -1 for a disabled space) as int64[n, spaces]."""
        if isinstance(aats, np.ndarray) and aats.dtype.kind in "iu":
            table = np.ascontiguousarray(aats, dtype=np.int64)
            if table.shape != (n, self.spaces):
                raise ValueError(f"aats: expected shape ({n}, {self.spaces}), got {table.shape}")
            bad = (table < -1) | (table >= self.addresses)
            if bad.any():
                step, space = map(int, np.argwhere(bad)[0])
                raise ValueError(
                    f"aats[{step}][{space}]: expected an address in "
                    f"[0, {self.addresses}) or -1, got {int(table[step, space])}"
                )
            return table
        rows = list(aats)
        if len(rows) != n:
            raise ValueError(f"aats: expected {n} (one per step), got {len(rows)}")
        table = np.empty((n, self.spaces), dtype=np.int64)
        for i, aat in enumerate(rows):
            table[i] = self.array(aat)
        return table

    def enabled(self, aat) -> tuple[np.ndarray, np.ndarray]:
        """(spaces, addresses) of the AAT's enabled entries."""
        arr = self.array(aat)
        spaces = np.flatnonzero(arr >= 0)
        return spaces, arr[spaces]
