"""Device models, named initialisations and the parameter vector the kernels read.

Constants are those of the reference Neural-Lane Emulator (PHYSICS.md section 1). The
kernels take every physical constant through one float64 vector ``params`` whose slots are
named by the ``P_*`` indices below, so a Core's configuration is one plain array.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FLOAT, BYTE, RS, MSS = 0, 1, 2, 3
MODEL_IDS = {"float": FLOAT, "byte": BYTE, "rs": RS, "mss": MSS}
# The crossbar's fidelity (the reference's no-corner rule): only the ideal one exists.
FIDELITIES = ("ideal",)

# The reference's physical constants for the MSS thermal voltage kT/q (CODATA 2000 values,
# so VT is the reference's to the last bit).
BOLTZMANN = 1.3806503e-23  # J/K
ELECTRON_CHARGE = 1.60217646e-19  # C

# The read-noise law's constants and the operating point they are quoted at (the reference's
# names and defaults): read_noise is the devices' master gain, noise_thermal and noise_flicker
# the mix, flicker_decades the 1/f band at the reference pulse width.
ROOM_TEMPERATURE_K = 298.0  # K, the temperature the read-noise law is referenced to
T_REF = ROOM_TEMPERATURE_K
READ_NOISE_REF_V = 0.05  # V, the read voltage the gains are quoted at
READ_NOISE = 0.02
NOISE_THERMAL = 0.1
NOISE_FLICKER = 1.0
FLICKER_DECADES = 6.0

# Comparator input-referred noise: an 8-bit register counting up from a floor,
# v_cmp = 100 uV + 20 uV * code. The reference models it by default; this project does not
# (docs/physics.md), so its default switch is off.
COMPARATOR_ENABLED = False
COMPARATOR_CODE = 10
COMPARATOR_CODE_MAX = 255
COMPARATOR_BASE_V = 100e-6
COMPARATOR_V_PER_CODE = 20e-6
_COMPARATOR_BASE_UV = 100
_COMPARATOR_STEP_UV = 20


@dataclass(frozen=True)
class DeviceModel:
    name: str
    gmin: float
    gmax: float
    pulse_width: float  # s, one write pulse
    vf: float
    vr: float
    vflv: float
    vrlv: float
    integer: bool  # byte: conductances are integers
    siemens_per_unit: float  # for modeled energy: every model tops out at 1 mS


# MSS conductance limits follow from its resistances (see MSSProfile).
DEVICE_MODELS: dict[str, DeviceModel] = {
    "float": DeviceModel("float", 4e-4, 0.1, 1e-6, 1.0, -1.0, 0.05, -0.05, False, 1e-2),
    "byte": DeviceModel("byte", 1.0, 255.0, 1e-6, 1.0, -1.0, 0.05, -0.05, True, 1e-3 / 255.0),
    "rs": DeviceModel("rs", 1e-7, 1e-3, 1e-8, 1.0, -1.0, 0.05, -0.05, False, 1.0),
    "mss": DeviceModel("mss", 1e-4, 1e-3, 1e-6, 0.25, -0.25, 0.05, -0.05, False, 1.0),
}

# Float: a drive strictly inside (-0.25, 0.25) V does nothing, else g += 1e-4 * dV.
FLOAT_STEP = 1e-4
FLOAT_DEAD_ZONE = 0.25
# RS: threshold 0.25 V, rate 1e6 /(V s) toward the rail.
RS_THRESHOLD = 0.25
RS_RATE = 1e6


@dataclass
class MSSProfile:
    """A generalized metastable switch device profile (Molter & Nugent), under the reference
    emulator's names and defaults (the idealized Knowm W+SDC device).

    ``phi`` and the Schottky terms enter only a device's nonlinear current, which the ideal
    crossbar's readout does not use (as in the reference). ``temperature`` sets the
    switches' thermal voltage kT/q; the core's own ``temperature`` sets only its read noise.
    The core reads the profile when it is built.
    """

    Ron: float = 1000.0  # on resistance (ohm): GMAX = 1/Ron
    Roff: float = 10000.0  # off resistance (ohm): GMIN = 1/Roff
    N: float = 1000.0  # metastable switches per device
    tau: float = 1e-5  # characteristic switching time (s)
    Von: float = 0.27  # off -> on barrier (V)
    Voff: float = 0.27  # on -> off barrier (V)
    phi: float = 1.0  # fraction of the current from the MSS term (1: linear)
    schottky_fa: float = 0.0
    schottky_fb: float = 0.0
    schottky_ra: float = 0.0
    schottky_rb: float = 0.0
    temperature: float = ROOM_TEMPERATURE_K  # K

    @property
    def gmin(self) -> float:
        return 1.0 / self.Roff

    @property
    def gmax(self) -> float:
        return 1.0 / self.Ron

    @property
    def vt(self) -> float:
        """Thermal voltage kT/q (V)."""
        return BOLTZMANN * self.temperature / ELECTRON_CHARGE


@dataclass(frozen=True)
class MssParams:
    """The MSS profile under this project's earlier names (``Core(mss=MssParams(...))``);
    ``profile()`` gives the same device as an ``MSSProfile``."""

    r_on: float = 1e3
    r_off: float = 1e4
    switches: int = 1000
    tau: float = 1e-5
    v_on: float = 0.27
    v_off: float = 0.27
    temperature: float = ROOM_TEMPERATURE_K

    def profile(self) -> MSSProfile:
        return MSSProfile(
            Ron=self.r_on,
            Roff=self.r_off,
            N=self.switches,
            tau=self.tau,
            Von=self.v_on,
            Voff=self.v_off,
            temperature=self.temperature,
        )


_PROFILE_FIELDS = ("Ron", "Roff", "N", "tau", "Von", "Voff", "temperature")


def mss_profile(profile) -> MSSProfile:
    """An MSS profile as an ``MSSProfile``, checked: an ``MSSProfile``, an ``MssParams``, or
    any object with the reference profile's attributes (its own ``MSSProfile`` included).

    ValueError names the field that is wrong."""
    if isinstance(profile, MssParams):
        profile = profile.profile()
    values: dict[str, float] = {}
    for name in _PROFILE_FIELDS:
        value = getattr(profile, name, ROOM_TEMPERATURE_K if name == "temperature" else None)
        if (
            not isinstance(value, (int, float, np.integer, np.floating))
            or isinstance(value, bool)
            or not math.isfinite(value)
            or value <= 0
        ):
            raise ValueError(f"profile.{name}: expected a positive number, got {value!r}")
        values[name] = float(value)
    if not values["Ron"] < values["Roff"]:
        raise ValueError(f"profile: expected Ron < Roff, got Ron={values['Ron']!r}, Roff={values['Roff']!r}")
    if values["N"] != math.floor(values["N"]):
        raise ValueError(f"profile.N: expected a whole number of switches, got {values['N']!r}")
    extra: dict[str, float] = {}
    for name in ("phi", "schottky_fa", "schottky_fb", "schottky_ra", "schottky_rb"):
        value = getattr(profile, name, None)
        if value is not None:
            if not isinstance(value, (int, float, np.integer, np.floating)) or not math.isfinite(value):
                raise ValueError(f"profile.{name}: expected a finite number, got {value!r}")
            extra[name] = float(value)
    return MSSProfile(**values, **extra)


# name: (mean, var) as fractions of the conductance range
NAMED_INITS: dict[str, tuple[float, float]] = {
    "low": (0.0, 0.05),
    "medium": (0.5, 0.05),
    "high": (1.0, 0.05),
    "low_noise": (0.0, 0.25),
    "high_noise": (1.0, 0.25),
    "medium_noise": (0.5, 0.25),
    "medium_high_noise": (0.5, 0.5),
    "low_noiseless": (0.0, 0.0),
    "medium_noiseless": (0.5, 0.0),
    "low_noise_small": (0.0, 0.05),
}

# Slots of the params vector.
(
    P_GMIN,
    P_GMAX,
    P_PW,
    P_VF,
    P_VR,
    P_VFLV,
    P_VRLV,
    P_NOISE_TH,
    P_NOISE_FL,
    P_CMP_V,
    P_M_REF,
    P_FLOAT_STEP,
    P_FLOAT_DEAD,
    P_RS_RATE,
    P_RS_VTH,
    P_MSS_RON,
    P_MSS_ROFF,
    P_MSS_N,
    P_MSS_TAU,
    P_MSS_VON,
    P_MSS_VOFF,
    P_MSS_VT,
    P_G_UNIT,
    # device non-idealities (vm.ktram.nonideal): P_NONIDEAL is the one flag the hot path
    # checks; the P_ROW_* slots hold the first row of a feature in the core's per-device
    # array (CoreState.nonideal), -1 when the feature is off
    P_NONIDEAL,
    P_C2C,
    P_ENDURANCE,
    P_DRIFT_T0,
    P_ADC_LEVELS,
    P_ROW_D2D,
    P_ROW_STUCK,
    P_ROW_EVENTS,
    P_ROW_DRIFT,
    # exp(-(Von + Voff) / VT): the MSS off exponent is the on exponent times this (one exp
    # per drive instead of two)
    P_MSS_GAP,
    N_PARAMS,
) = range(34)


def conductance_range(model: str, profile: MSSProfile | None) -> tuple[float, float]:
    """(GMIN, GMAX) of a model; MSS's follow from its profile's resistances."""
    if model == "mss":
        p = profile if profile is not None else MSSProfile()
        return p.gmin, p.gmax
    dm = DEVICE_MODELS[model]
    return dm.gmin, dm.gmax


def noise_bandwidths(pw_ref: float, pw_read: float, decades: float = FLICKER_DECADES) -> tuple[float, float]:
    """Thermal and flicker bandwidth factors of a read of width pw_read (law of PHYSICS.md):
    white power follows the read bandwidth, 1/f power the log of a band of ``decades``
    decades at pw_ref whose upper edge the read pulse moves."""
    bw_thermal = math.sqrt(pw_ref / pw_read)
    ln_ref = decades * math.log(10.0)
    ln_band = ln_ref + math.log(pw_ref / pw_read)
    bw_flicker = math.sqrt(ln_band / ln_ref) if ln_band > 0 else 0.0
    return bw_thermal, bw_flicker


def check_comparator_code(code, name: str = "comparator_code") -> int:
    """The register as an int in [0, COMPARATOR_CODE_MAX]: TypeError for anything but an
    integer (a float is refused, not truncated; a bool is not a code), ValueError out of range."""
    if isinstance(code, (bool, np.bool_)) or not isinstance(code, (int, np.integer)):
        raise TypeError(
            f"{name}: expected an integer in [0, {COMPARATOR_CODE_MAX}], got {code!r} "
            "(the register holds integers only)"
        )
    if not 0 <= code <= COMPARATOR_CODE_MAX:
        raise ValueError(f"{name}: expected an integer in [0, {COMPARATOR_CODE_MAX}], got {code!r}")
    return int(code)


def comparator_voltage(code: int) -> float:
    """The register setting as input-referred rms volts."""
    return COMPARATOR_BASE_V + COMPARATOR_V_PER_CODE * check_comparator_code(code)


def comparator_code_for(v_n, round_ok: bool = False) -> int:
    """The register code of an input-referred rms noise v_n (V), computed in integer
    microvolts (in binary floating point 1 mV would land one code low).

    ValueError below the floor (code 0 is the quietest comparator modeled: switch the
    comparator off to drop the term), above the ceiling, and, unless ``round_ok``, between
    two codes."""
    if isinstance(v_n, (bool, np.bool_)) or not isinstance(v_n, (int, float, np.integer, np.floating)):
        raise TypeError(f"comparator noise: expected a number of volts, got {v_n!r}")
    if not math.isfinite(v_n):
        raise ValueError(f"comparator noise: expected a finite number of volts, got {v_n!r}")
    uv = round(float(v_n) * 1e6, 6)
    if uv < _COMPARATOR_BASE_UV:
        raise ValueError(
            f"comparator noise: {uv:g} uV is below the register's floor "
            f"({_COMPARATOR_BASE_UV} uV, code 0), a comparator this emulator does not "
            "model; switch the comparator off to remove the term"
        )
    steps = (uv - _COMPARATOR_BASE_UV) / _COMPARATOR_STEP_UV
    code = int(round(steps))
    if not round_ok and abs(steps - code) > 1e-9:
        raise ValueError(
            f"comparator noise: {uv:g} uV is not a register code (the nearest is {code}, "
            f"{_COMPARATOR_BASE_UV + _COMPARATOR_STEP_UV * code} uV); pass round_ok=True "
            "to take it"
        )
    if code > COMPARATOR_CODE_MAX:
        top = _COMPARATOR_BASE_UV + _COMPARATOR_STEP_UV * COMPARATOR_CODE_MAX
        raise ValueError(
            f"comparator noise: {uv:g} uV is above the register's ceiling ({top} uV, "
            f"code {COMPARATOR_CODE_MAX})"
        )
    return code


def build_params(
    model: str,
    *,
    profile: MSSProfile | None,
    forward_voltage: float,
    reverse_voltage: float,
    forward_low_voltage: float,
    reverse_low_voltage: float,
    pulse_width: float,
    read_pulse_width: float,
    read_noise: float,
    noise_thermal: float,
    noise_flicker: float,
    temperature: float,
    read_noise_ref_m: float,
    read_noise_ref_pw: float,
    flicker_decades: float,
    comparator_enabled: bool,
    comparator_code: int,
    nonideal=None,
) -> np.ndarray:
    """The kernels' parameter vector of a fully resolved configuration (no defaults here);
    ``nonideal`` (a ``vm.ktram.nonideal.NonIdeal``) fills the non-ideality slots, None
    leaves every one off."""
    dm = DEVICE_MODELS[model]
    mss = profile if profile is not None else MSSProfile()
    p = np.zeros(N_PARAMS, dtype=np.float64)
    p[P_GMIN], p[P_GMAX] = conductance_range(model, mss)
    # every drive, a read's included, lasts pulse_width; read_pulse_width is the read's
    # noise bandwidth only
    p[P_PW] = pulse_width
    p[P_VF], p[P_VR] = forward_voltage, reverse_voltage
    p[P_VFLV], p[P_VRLV] = forward_low_voltage, reverse_low_voltage
    # The noise law's constant factors are folded here so a read costs one division and
    # one square root:  sigma_th = NOISE_TH * f_m / |v|,  sigma_fl = NOISE_FL * (1 - y^2) * f_m
    bw_thermal, bw_flicker = noise_bandwidths(read_noise_ref_pw, read_pulse_width, flicker_decades)
    p[P_NOISE_TH] = (
        read_noise * noise_thermal * math.sqrt(temperature / T_REF) * READ_NOISE_REF_V * bw_thermal
    )
    p[P_NOISE_FL] = read_noise * noise_flicker * bw_flicker
    # read_noise = 0 is the master switch: a clean read, whatever the comparator says
    on = comparator_enabled and read_noise > 0.0
    p[P_CMP_V] = comparator_voltage(comparator_code) if on else 0.0
    p[P_M_REF] = read_noise_ref_m
    p[P_FLOAT_STEP], p[P_FLOAT_DEAD] = FLOAT_STEP, FLOAT_DEAD_ZONE
    p[P_RS_RATE], p[P_RS_VTH] = RS_RATE, RS_THRESHOLD
    p[P_MSS_RON], p[P_MSS_ROFF] = mss.Ron, mss.Roff
    p[P_MSS_N], p[P_MSS_TAU] = mss.N, mss.tau
    p[P_MSS_VON], p[P_MSS_VOFF] = mss.Von, mss.Voff
    p[P_MSS_VT] = mss.vt
    p[P_MSS_GAP] = math.exp(-(mss.Von + mss.Voff) / mss.vt)
    p[P_G_UNIT] = dm.siemens_per_unit
    p[P_DRIFT_T0] = 1.0
    p[P_ROW_D2D : P_ROW_DRIFT + 1] = -1.0
    if nonideal is not None:
        nonideal.fill_params(p)
    return p
