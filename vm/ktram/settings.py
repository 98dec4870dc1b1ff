"""The reference emulator's configuration surface of a ``Core``: its settings as attributes
that can be read and assigned, its setters, and its voltage and noise helpers.

Every setting lives in ``core._settings``; a change is checked, then the kernels' parameter
vector is rebuilt in place (``_configure``), so the kernels and any bundle built earlier see
it, and a refused change changes nothing.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from vm.ktram import kernels as _k
from vm.ktram.isa import FORWARD, REVERSE, lookup
from vm.ktram.models import (
    READ_NOISE_REF_V,
    ROOM_TEMPERATURE_K,
    MSSProfile,
    build_params,
    check_comparator_code,
    comparator_code_for,
    comparator_voltage,
)

VOLTAGES = ("forward_voltage", "reverse_voltage", "forward_low_voltage", "reverse_low_voltage")
_POSITIVE = (
    "pulse_width",
    "read_pulse_width",
    "temperature",
    "read_noise_ref_m",
    "read_noise_ref_pw",
    "flicker_decades",
)
_NON_NEGATIVE = ("read_noise", "noise_thermal", "noise_flicker")
# The configuration a core keeps and its kernels read through ``params``; each is an
# attribute that can be assigned, and the reference's setters change them in groups.
SETTINGS = VOLTAGES + _POSITIVE + _NON_NEGATIVE + ("comparator_enabled", "comparator_code")


class _Setting:
    """A configuration attribute: reads the core's setting; assignment reconfigures the core."""

    name: str

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, core, owner=None) -> Any:
        if core is None:
            return self
        return core._settings[self.name]

    def __set__(self, core, value) -> None:
        core._configure({self.name: value})


class ReferenceSettings:
    """The settings, setters and helpers a ``Core`` shares with the reference emulator."""

    # set by Core.__init__
    _settings: dict[str, Any]
    _mss: MSSProfile
    nonideal: Any  # vm.ktram.nonideal.NonIdeal
    params: np.ndarray
    rng_state: np.ndarray
    rng_spare: np.ndarray
    model: str
    init: str
    fidelity: str

    forward_voltage = _Setting()
    reverse_voltage = _Setting()
    forward_low_voltage = _Setting()
    reverse_low_voltage = _Setting()
    pulse_width = _Setting()
    read_pulse_width = _Setting()
    temperature = _Setting()
    read_noise_ref_m = _Setting()
    read_noise_ref_pw = _Setting()
    flicker_decades = _Setting()
    read_noise = _Setting()
    noise_thermal = _Setting()
    noise_flicker = _Setting()
    comparator_enabled = _Setting()
    comparator_code = _Setting()

    @property
    def model_name(self) -> str:
        """The reference's name for ``model``."""
        return self.model

    @property
    def init_name(self) -> str:
        """The reference's name for ``init``."""
        return self.init

    @property
    def fidelity_name(self) -> str:
        """The reference's name for ``fidelity``."""
        return self.fidelity

    @property
    def mss(self) -> MSSProfile:
        """The MSS device profile the kernels use (an MSSProfile)."""
        return self._mss

    @property
    def read_noise_ref_T(self) -> float:  # the reference's name
        """Temperature the read-noise gains are quoted at (K)."""
        return ROOM_TEMPERATURE_K

    @property
    def read_noise_ref_V(self) -> float:
        """Read voltage the read-noise gains are quoted at (V)."""
        return READ_NOISE_REF_V

    @property
    def comparator_noise(self) -> float:
        """The comparator's input-referred rms noise (V) from its register; 0 when off."""
        return comparator_voltage(self.comparator_code) if self.comparator_enabled else 0.0

    # ----------------------------------------------------------------- the reference's helpers
    def v_app(self, instruction) -> float:
        """Signed applied voltage of an instruction: its direction's standard or low voltage."""
        ins = lookup(instruction)
        if ins.direction == FORWARD:
            return self.forward_low_voltage if ins.low_voltage else self.forward_voltage
        return self.reverse_low_voltage if ins.low_voltage else self.reverse_voltage

    def drive_voltage(self, direction) -> float:
        """Standard drive voltage of a direction ("forward"/"reverse", or +1/-1): a feedback's Vdrive."""
        key = direction.lower() if isinstance(direction, str) else direction
        if key in ("forward", FORWARD) and not isinstance(key, bool):
            return self.forward_voltage
        if key in ("reverse", REVERSE) and not isinstance(key, bool):
            return self.reverse_voltage
        raise ValueError(
            f"direction: expected 'forward' or 'reverse' (or {FORWARD}/{REVERSE}), got {direction!r}"
        )

    def read_sample(self, y_clean: float, m: float, v_app: float) -> float:
        """One noisy read of a clean weight y_clean at magnitude m and voltage v_app, drawn from
        the core's stream and clipped to [-1, 1]; y_clean itself (no draw) when read_noise is
        0 or m <= 0. The law is docs/physics.md's (the comparator term included when on)."""
        for name, value in (("y_clean", y_clean), ("m", m), ("v_app", v_app)):
            if not _is_number(value) or not math.isfinite(value):
                raise ValueError(f"{name}: expected a finite number, got {value!r}")
        if m > 0 and self.read_noise > 0 and v_app == 0:
            raise ZeroDivisionError("v_app: a read's noise is referred to its voltage, which is 0 V")
        return float(
            _k.read_sample(
                self.params, self.rng_state, self.rng_spare, float(y_clean), float(m), float(v_app)
            )
        )

    # ----------------------------------------------------------------- the reference's setters
    def set_voltages(
        self, forward_voltage=None, reverse_voltage=None, forward_low_voltage=None, reverse_low_voltage=None
    ) -> None:
        """Set any of the four voltages (None leaves one as it is)."""
        given = zip(
            VOLTAGES,
            (forward_voltage, reverse_voltage, forward_low_voltage, reverse_low_voltage),
            strict=True,
        )
        self._configure({name: value for name, value in given if value is not None})

    def set_pulse_width(self, dt: float) -> None:
        """Set the pulse width of every drive (reads and feedback). The read-noise bandwidth
        (read_pulse_width, read_noise_ref_pw) is left as it is."""
        self._configure({"pulse_width": dt})

    def set_read_pulse_width(self, dt: float) -> None:
        """Set the read pulse width: the read noise's bandwidth only (a shorter read lifts the
        thermal term as sqrt(read_noise_ref_pw / dt)); the drive keeps pulse_width."""
        self._configure({"read_pulse_width": dt})

    def set_read_noise(
        self,
        read_noise=None,
        noise_thermal=None,
        noise_flicker=None,
        temperature=None,
        read_noise_ref_m=None,
        read_noise_ref_pw=None,
        flicker_decades=None,
    ) -> None:
        """Tune the read-noise law (None leaves a term as it is); read_noise=0 makes every
        read clean, comparator included."""
        names = (
            "read_noise",
            "noise_thermal",
            "noise_flicker",
            "temperature",
            "read_noise_ref_m",
            "read_noise_ref_pw",
            "flicker_decades",
        )
        values = (
            read_noise,
            noise_thermal,
            noise_flicker,
            temperature,
            read_noise_ref_m,
            read_noise_ref_pw,
            flicker_decades,
        )
        self._configure({n: v for n, v in zip(names, values, strict=True) if v is not None})

    def set_comparator(self, enabled=None, code=None) -> None:
        """Switch the comparator term on or off and/or set its register (an int 0-255)."""
        changes: dict[str, Any] = {}
        if enabled is not None:
            changes["comparator_enabled"] = enabled
        if code is not None:
            changes["comparator_code"] = code
        self._configure(changes)

    def set_comparator_noise(self, v_n: float, round_ok: bool = False) -> int:
        """Set the register from an input-referred rms noise in volts; returns the code.

        The register holds 100 uV + 20 uV * code: below the floor, above the ceiling or (unless
        round_ok) between two codes is refused with a ValueError. The switch is left as it is.
        """
        code = comparator_code_for(v_n, round_ok=round_ok)
        self._configure({"comparator_code": code})
        return code

    def _configure(self, changes: dict[str, Any]) -> None:
        """Check every change, then rebuild the parameter vector in place (the kernels and
        any bundle built earlier see it); a bad change changes nothing."""
        checked = {name: _checked(name, value) for name, value in changes.items()}
        settings = {**self._settings, **checked}
        self.params[:] = build_params(self.model, profile=self._mss, nonideal=self.nonideal, **settings)
        self._settings = settings


def _is_number(value) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )


def _checked(name: str, value, shown: str | None = None):
    """A configuration setting, checked and converted (ValueError/TypeError name it as shown)."""
    shown = shown or name
    if name in VOLTAGES:
        if not _is_number(value) or not math.isfinite(value) or value == 0:
            raise ValueError(f"{shown}: expected a finite non-zero voltage, got {value!r}")
        return float(value)
    if name in _POSITIVE:
        _check_range(shown, value, 0.0, None, low_open=True)
        return float(value)
    if name in _NON_NEGATIVE:
        _check_range(shown, value, 0.0, None)
        return float(value)
    if name == "comparator_enabled":
        if not isinstance(value, (bool, np.bool_)) and value not in (0, 1):
            raise ValueError(f"{shown}: expected True or False, got {value!r}")
        return bool(value)
    if name == "comparator_code":
        return check_comparator_code(value, shown)
    raise AttributeError(f"{name}: not a setting of a Core")


def _check_range(name, value, low, high, low_open=False) -> None:
    ok = (
        _is_number(value)
        and np.isfinite(value)
        and (value > low if low_open else value >= low)
        and (high is None or value <= high)
    )
    if not ok:
        lo = "(" if low_open else "["
        hi = f"{high}]" if high is not None else "inf)"
        raise ValueError(f"{name}: expected a number in {lo}{low}, {hi}, got {value!r}")
