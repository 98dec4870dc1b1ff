"""The ``.core`` configuration: one row per key, mapped onto ``vm.Core``'s arguments.

The assembler checks keys and values with this table, the machine builds its ``Core``
from it and the language reference lists it. Does not import Numba.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from vm.ktram.models import MODEL_IDS, NAMED_INITS

# The most memory a core may need: half this machine's RAM, and never more than 8 GiB.
def _memory_limit() -> int:
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not available on this platform
        ram = 16 << 30
    return min(8 << 30, ram // 2)


MEMORY_LIMIT_BYTES = _memory_limit()
# Each of rows, cols, spaces, lanes: AAT rows (one entry per space) and the assembler's
# tables stay small, whatever the product.
MAX_DIMENSION = 1 << 16
# float64 arrays per device at the peak of initialisation: g and x, plus the init draw's
# temporaries (normals, scaled copy, clipped copy, reordered copy)
ARRAYS_PER_DEVICE_AT_INIT = 6


@dataclass(frozen=True)
class CoreKey:
    key: str  # as written after .core
    argument: str  # Core(...) argument
    kind: str  # "int", "float", "choice", "bool"
    default: object
    low: float | None = None  # inclusive unless low_open
    low_open: bool = False
    high: float | None = None
    choices: tuple[str, ...] = ()
    nonzero: bool = False
    help: str = ""

    def check(self, value) -> str | None:
        """None if value is valid for this key, else what is wrong."""
        if self.kind == "choice":
            if value not in self.choices:
                return f"{self.key}: expected one of {', '.join(self.choices)}, got {value!r}"
            return None
        if self.kind == "bool":
            return None if value in (0, 1) else f"{self.key}: expected 0 or 1, got {value!r}"
        if isinstance(value, str) or not math.isfinite(value):
            return f"{self.key}: expected a number, got {value!r}"
        if self.kind == "int" and value != int(value):
            return f"{self.key}: expected an integer, got {value!r}"
        if self.nonzero and value == 0:
            return f"{self.key}: expected a non-zero value"
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return f"{self.key}: expected {'>' if self.low_open else '>='} {self.low:g}, got {value:g}"
        if self.high is not None and value > self.high:
            return f"{self.key}: expected <= {self.high:g}, got {value:g}"
        return None

    def convert(self, value):
        if self.kind == "int" or self.kind == "bool":
            return int(value)
        if self.kind == "float":
            return float(value)
        return value


CORE_KEYS: tuple[CoreKey, ...] = (
    CoreKey("rows", "crossbar_rows", "int", 1, low=1, high=MAX_DIMENSION, help="crossbar rows"),
    CoreKey("cols", "crossbar_cols", "int", 1, low=1, high=MAX_DIMENSION, help="crossbar columns (addresses = rows*cols)"),
    CoreKey("spaces", "spaces_per_lane", "int", 1, low=1, high=MAX_DIMENSION, help="spaces per lane (AAT entries)"),
    CoreKey("lanes", "num_lanes", "int", 1, low=1, high=MAX_DIMENSION, help="lanes"),
    CoreKey("model", "model", "choice", "float", choices=tuple(MODEL_IDS), help="device model"),
    CoreKey("init", "init", "choice", "medium", choices=tuple(NAMED_INITS), help="initial conductances"),
    CoreKey("seed", "seed", "int", 0, low=0, high=2**63 - 1, help="random seed"),
    CoreKey("read_noise", "read_noise", "float", 0.02, low=0.0, help="read-noise scale"),
    CoreKey("vf", "Vf", "float", None, nonzero=True, help="forward drive voltage (V); model default if absent"),
    CoreKey("vr", "Vr", "float", None, nonzero=True, help="reverse drive voltage (V)"),
    CoreKey("vflv", "Vflv", "float", None, nonzero=True, help="forward low-voltage read (V)"),
    CoreKey("vrlv", "Vrlv", "float", None, nonzero=True, help="reverse low-voltage read (V)"),
    CoreKey("pulse_width", "pulse_width", "float", None, low=0.0, low_open=True,
            help="feedback pulse width (s)"),
    CoreKey("read_pulse_width", "read_pulse_width", "float", None, low=0.0, low_open=True,
            help="read pulse width (s)"),
    CoreKey("temperature", "temperature", "float", 298.0, low=0.0, low_open=True, help="kelvin"),
    CoreKey("comparator", "comparator", "bool", 0, help="add the comparator noise term (0/1)"),
    CoreKey("comparator_code", "comparator_code", "int", 10, low=0, high=255,
            help="comparator code (noise 100 uV + 20 uV/code)"),
)
BY_KEY = {k.key: k for k in CORE_KEYS}
DEFAULTS = {k.key: k.default for k in CORE_KEYS}


def pair_count(config: dict) -> int:
    """Differential pairs in a core of this configuration."""
    return config["rows"] * config["cols"] * config["spaces"] * config["lanes"]


def device_bytes(config: dict) -> int:
    """Peak bytes a core of this configuration needs (its state and its initialisation)."""
    return 2 * pair_count(config) * 8 * ARRAYS_PER_DEVICE_AT_INIT


def memory_error(config: dict) -> str | None:
    need = device_bytes(config)
    if need > MEMORY_LIMIT_BYTES:
        return (f"this core needs {need / 2**30:.1f} GiB of memory for its devices "
                f"(limit {MEMORY_LIMIT_BYTES / 2**30:.1f} GiB: half of this machine's RAM, at most "
                "8 GiB); make it smaller")
    return None


def core_kwargs(config: dict) -> dict:
    """Core(**core_kwargs(config)): every key given or defaulted, None values left out."""
    out = {}
    for k in CORE_KEYS:
        value = config.get(k.key, k.default)
        if value is not None:
            out[k.argument] = k.convert(value)
    out["comparator"] = bool(out.get("comparator", 0))
    return out
