"""Device non-idealities of a kT-RAM core: device-to-device and cycle-to-cycle spread, stuck
devices, limited endurance, conductance drift and a quantising ADC on lane reads
(docs/devices.md, "kT-RAM devices that age and fail"). Every one is off by default.

``NonIdeal`` is a core's settings, under the names of its ``.core`` keys (``vm.config.CORE_KEYS``)
and ``vm.Core`` keywords. A core keeps what they need per device in one array,
``CoreState.per_device``: float64[rows, 2, lanes, spaces, addresses], one row per name in
``NonIdeal.rows()`` and none when every feature is off. ``fill_params`` writes the kernels'
slots (``vm.ktram.models.P_NONIDEAL`` and after): the hot path checks one flag, and the
non-ideal kernel finds each feature's first row in a ``P_ROW_*`` slot (-1: off).

Drift follows IBM aihwkit's PCM law: G(t) = G(t_w) ((t - t_w + T0) / T0)^(-nu_i) since a
device's last write t_w, with nu_i ~ N(drift, drift_spread) drawn once per device and
independent of the programmed state (docs/devices.md says why). The clock is the core's
modeled time (``meters[0]``: its instructions and ``AGE``). Does not import Numba.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from vm.ktram.models import (
    P_ADC_LEVELS,
    P_C2C,
    P_DRIFT_T0,
    P_ENDURANCE,
    P_NONIDEAL,
    P_ROW_D2D,
    P_ROW_DRIFT,
    P_ROW_EVENTS,
    P_ROW_STUCK,
)

# the per-device rows of each feature, in the order they are laid out
D2D_ROWS = ("gmin", "gmax", "step")  # each device's own GMIN, GMAX and step multiplier
STUCK_ROWS = ("stuck",)  # 0 healthy, +1 stuck at its GMAX, -1 stuck at its GMIN
EVENT_ROWS = ("events",)  # switching events so far (a whole number)
DRIFT_ROWS = ("nu", "t_w", "g_w")  # drift exponent, last write (s), conductance written then
ROW_HELP = {
    "gmin": "the device's own GMIN (d2d)",
    "gmax": "the device's own GMAX (d2d)",
    "step": "the device's step multiplier (d2d)",
    "stuck": "0 healthy, +1 stuck at GMAX, -1 stuck at GMIN (stuck)",
    "events": "switching events so far (any non-ideality of the devices)",
    "nu": "the device's drift exponent (drift, drift_spread)",
    "t_w": "modeled time of the device's last write, s (drift)",
    "g_w": "the device's conductance at its last write (drift)",
}
# feature streams: each feature draws from a generator of its own, so turning one on
# leaves the others' draws (and the core's init and random stream) as they were
_D2D_STREAM, _STUCK_STREAM, _DRIFT_STREAM = 1, 2, 3
MAX_ADC_BITS = 48


@dataclass(frozen=True)
class NonIdeal:
    """A core's device non-idealities (each 0 / off by default)."""

    d2d: float = 0.0  # relative sd of each device's GMAX, GMIN and step (lognormal, drawn once)
    c2c: float = 0.0  # relative sd of each switching event's step (lognormal, drawn per event)
    stuck: float = 0.0  # fraction of devices that no drive moves
    stuck_high: float = 0.5  # of those, the fraction stuck at GMAX (the rest at GMIN)
    endurance: int = 0  # a device moves on its first N switching events only (0: unlimited)
    drift: float = 0.0  # mean drift exponent nu
    drift_spread: float = 0.0  # sd of nu across devices
    drift_t0: float = 1.0  # T0 of the drift law (s)
    adc_bits: int = 0  # lane reads quantised to 2**adc_bits levels over [-1, 1] (0: off)

    @property
    def drifts(self) -> bool:
        return self.drift > 0.0 or self.drift_spread > 0.0

    @property
    def devices_on(self) -> bool:
        """Whether any feature of the devices (not the ADC) is on: the core keeps rows."""
        return self.d2d > 0 or self.c2c > 0 or self.stuck > 0 or self.endurance > 0 or self.drifts

    @property
    def on(self) -> bool:
        """Whether the kernels take the non-ideal path at all."""
        return self.devices_on or self.adc_bits > 0

    def rows(self) -> tuple[str, ...]:
        """The names of the per-device rows a core with these settings keeps, in order."""
        rows: tuple[str, ...] = ()
        if self.d2d > 0:
            rows += D2D_ROWS
        if self.stuck > 0:
            rows += STUCK_ROWS
        if self.devices_on:
            rows += EVENT_ROWS
        if self.drifts:
            rows += DRIFT_ROWS
        return rows

    def row(self, name: str) -> int:
        """A row's index in the per-device array, -1 if these settings keep none."""
        rows = self.rows()
        return rows.index(name) if name in rows else -1

    def given(self) -> dict:
        """The settings that differ from the defaults (name: value)."""
        default = NonIdeal()
        return {
            f.name: getattr(self, f.name)
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    def fill_params(self, p: np.ndarray) -> None:
        """Write the kernels' slots of these settings into a parameter vector."""
        p[P_NONIDEAL] = 1.0 if self.on else 0.0
        p[P_C2C] = lognormal_sigma(self.c2c)
        p[P_ENDURANCE] = float(self.endurance)
        p[P_DRIFT_T0] = self.drift_t0
        p[P_ADC_LEVELS] = float(2**self.adc_bits) if self.adc_bits > 0 else 0.0
        p[P_ROW_D2D] = self.row("gmin")
        p[P_ROW_STUCK] = self.row("stuck")
        p[P_ROW_EVENTS] = self.row("events")
        p[P_ROW_DRIFT] = self.row("nu")

    def draw(self, shape, gmin: float, gmax: float, integer: bool, seed: int) -> np.ndarray:
        """The per-device array of a new core (shape = (2, lanes, spaces, addresses)):
        d2d ranges and steps, stuck devices, drift exponents drawn from generators seeded
        by seed and the feature; events 0; t_w 0 and g_w left 0 for the core to fill
        with its initial conductances."""
        out = np.zeros((len(self.rows()), *shape), dtype=np.float64)
        if self.d2d > 0:
            generator = np.random.default_rng([seed, _D2D_STREAM])
            lo, hi, step = (lognormal(generator, self.d2d, shape) for _ in range(3))
            lo, hi = gmin * lo, gmax * hi
            if integer:  # the byte model's conductances are whole numbers
                lo, hi = np.maximum(np.round(lo), 1.0), np.maximum(np.round(hi), 1.0)
            out[self.row("gmin")] = np.minimum(lo, hi)
            out[self.row("gmax")] = hi
            out[self.row("step")] = step
        if self.stuck > 0:
            generator = np.random.default_rng([seed, _STUCK_STREAM])
            stuck = generator.random(shape) < self.stuck
            high = generator.random(shape) < self.stuck_high
            out[self.row("stuck")] = np.where(stuck, np.where(high, 1.0, -1.0), 0.0)
        if self.drifts:
            generator = np.random.default_rng([seed, _DRIFT_STREAM])
            out[self.row("nu")] = self.drift + self.drift_spread * generator.standard_normal(shape)
        return out


def lognormal_sigma(relative_sd: float) -> float:
    """The sigma of ln X for a lognormal X of mean 1 and this relative sd."""
    return math.sqrt(math.log1p(relative_sd * relative_sd))


def lognormal(generator: np.random.Generator, relative_sd: float, shape) -> np.ndarray:
    """Lognormal draws of mean 1 and relative sd relative_sd."""
    s = lognormal_sigma(relative_sd)
    return np.exp(s * generator.standard_normal(shape) - 0.5 * s * s)


def from_config(config: dict) -> NonIdeal:
    """The settings of a .core configuration (keys left out or None: the defaults)."""
    given = {f.name: config[f.name] for f in fields(NonIdeal) if config.get(f.name) is not None}
    return NonIdeal(**given)


def rows_for(config: dict) -> int:
    """Per-device rows a core of this .core configuration keeps."""
    return len(from_config(config).rows())


def draws_for(config: dict) -> int:
    """Per-device float64 temporaries drawing a core's non-idealities needs at its peak."""
    settings = from_config(config)
    return 4 if settings.d2d > 0 else (2 if settings.stuck > 0 or settings.drifts else 0)
