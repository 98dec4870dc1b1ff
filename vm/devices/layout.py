"""Where declared devices live at run time (shared by the assembler, loader and machine).

Every device owns one or more named *slots* of the machine's float64 vector arena
(``SLOTS``): a ``.vec`` its values, a ``.bank``/``.ou`` its state, an ``.mtj`` array its
states and its devices' v50, rp and TMR0, a ``.pairs`` array its data bits, p-bits, the
p-bits' v50 and both devices' rp and TMR0. A
``dev_meta`` row is the kind, then the slot numbers in ``SLOTS`` order (compiled code reads
them through the generated ``vm.codes.SLOT_<KIND>_<NAME>`` columns); ``dev_params`` rows
are the declaration's keys in table order (``vm.config.DEVICE_KINDS``). The first slot is
always the one a vector operand names. Does not import Numba.
"""

from __future__ import annotations

import numpy as np

from vm.config import DEVICE_KINDS

KINDS = tuple(DEVICE_KINDS)  # vec, mtj, pairs, bank, ou
VEC, MTJ, PAIRS, BANK, OU = (KINDS.index(k) for k in ("vec", "mtj", "pairs", "bank", "ou"))
N_PARAMS = max(len(d.keys) for d in DEVICE_KINDS.values())

# Each kind's slots, in dev_meta column order (column 0 is the kind).
SLOTS: dict[str, tuple[str, ...]] = {
    "vec": ("values",),
    "mtj": ("states", "v50", "rp", "tmr"),
    # rp, tmr: (data bit, p-bit) per pair; cache: each cell's sums at a deterministic q
    # and each device's fixed numbers (vm.devices.mtj.pairs_mac)
    "pairs": ("data_bits", "pbits", "v50", "rp", "tmr", "cache"),
    "bank": ("state",),
    "ou": ("state",),
}
DEV_META_WIDTH = 1 + max(len(s) for s in SLOTS.values())
assert tuple(SLOTS) == KINDS


def slot_column(kind: str, slot: str) -> int:
    """The dev_meta column that holds a device's slot number for one of its named slots."""
    return 1 + SLOTS[kind].index(slot)


PAIRS_TABLE = 7  # numbers per device in a pairs cache (vm.devices.mtj.pairs_table)


def pairs_cache_length(cells: int, n: int) -> int:
    """A pairs cache: 3 sums per cell, PAIRS_TABLE numbers per device, 3 marks."""
    return 3 * cells + PAIRS_TABLE * n + 3


def slot_lengths(kind: str, values: dict) -> list[int]:
    """The length of each of a device's slots, in SLOTS order."""
    if kind == "pairs":
        cells = values["rows"] * values["cols"]
        n = cells * values["levels"]
        return [n, n, n, 2 * n, 2 * n, pairs_cache_length(cells, n)]
    return [values["n"]] * len(SLOTS[kind])


def build(devices: list[dict]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(vec_meta int64[slots, 2] (offset, length), dev_meta int64[n, DEV_META_WIDTH], dev_params)."""
    lengths: list[int] = []
    meta = np.full((len(devices), DEV_META_WIDTH), -1, dtype=np.int64)
    params = np.zeros((len(devices), N_PARAMS), dtype=np.float64)
    for d, dev in enumerate(devices):
        kind = DEVICE_KINDS[dev["kind"]]
        meta[d, 0] = KINDS.index(dev["kind"])
        for k, n in enumerate(slot_lengths(dev["kind"], dev["values"])):
            meta[d, 1 + k] = len(lengths)
            lengths.append(n)
        row = kind.params(dev["values"])
        params[d, : len(row)] = row
    offsets = (
        np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])[:-1] if lengths else np.zeros(0, np.int64)
    )
    vec_meta = (
        np.stack([offsets, np.array(lengths, dtype=np.int64)], axis=1)
        if lengths
        else np.zeros((0, 2), dtype=np.int64)
    )
    return vec_meta.astype(np.int64), meta, params


def state_slot(devices: list[dict], index: int) -> int:
    """The first slot of device index (a vector's own slot, a bank's state, ...)."""
    return sum(len(slot_lengths(d["kind"], d["values"])) for d in devices[:index])


def param(kind: str, key: str) -> int:
    return DEVICE_KINDS[kind].param_index(key)
