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

BOLTZMANN = 1.380649e-23  # J/K
ELECTRON_CHARGE = 1.602176634e-19  # C
T_REF = 298.0  # K, the temperature the read-noise law is referenced to


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


# MSS conductance limits follow from its resistances (see MssParams).
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


@dataclass(frozen=True)
class MssParams:
    """Generalized metastable switch (Molter & Nugent)."""

    r_on: float = 1e3
    r_off: float = 1e4
    switches: int = 1000
    tau: float = 1e-5
    v_on: float = 0.27
    v_off: float = 0.27


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

# Comparator input-referred noise: v_cmp = 100 uV + 20 uV * code.
COMPARATOR_BASE_V = 100e-6
COMPARATOR_V_PER_CODE = 20e-6

# Slots of the params vector.
(
    P_GMIN, P_GMAX, P_PW, P_PW_READ, P_VF, P_VR, P_VFLV, P_VRLV,
    P_NOISE_TH, P_NOISE_FL, P_CMP_V, P_M_REF,
    P_FLOAT_STEP, P_FLOAT_DEAD, P_RS_RATE, P_RS_VTH,
    P_MSS_RON, P_MSS_ROFF, P_MSS_N, P_MSS_TAU, P_MSS_VON, P_MSS_VOFF, P_MSS_VT,
    P_G_UNIT,
    N_PARAMS,
) = range(25)


def noise_bandwidths(pw_ref: float, pw_read: float) -> tuple[float, float]:
    """Thermal and flicker bandwidth factors of a read of width pw_read (law of PHYSICS.md)."""
    bw_thermal = math.sqrt(pw_ref / pw_read)
    ln_band = 6.0 * math.log(10.0) + math.log(pw_ref / pw_read)
    bw_flicker = math.sqrt(ln_band / (6.0 * math.log(10.0))) if ln_band > 0 else 0.0
    return bw_thermal, bw_flicker


def comparator_voltage(code: int) -> float:
    return COMPARATOR_BASE_V + COMPARATOR_V_PER_CODE * code


def build_params(
    model: str,
    *,
    read_noise: float,
    Vf: float | None,
    Vr: float | None,
    Vflv: float | None,
    Vrlv: float | None,
    pulse_width: float | None,
    read_pulse_width: float | None,
    temperature: float,
    comparator: bool,
    comparator_code: int,
    mss: MssParams,
) -> np.ndarray:
    dm = DEVICE_MODELS[model]
    p = np.zeros(N_PARAMS, dtype=np.float64)
    if model == "mss":
        p[P_GMIN], p[P_GMAX] = 1.0 / mss.r_off, 1.0 / mss.r_on
    else:
        p[P_GMIN], p[P_GMAX] = dm.gmin, dm.gmax
    pw = dm.pulse_width if pulse_width is None else float(pulse_width)
    pw_read = pw if read_pulse_width is None else float(read_pulse_width)
    p[P_PW], p[P_PW_READ] = pw, pw_read
    p[P_VF] = dm.vf if Vf is None else Vf
    p[P_VR] = dm.vr if Vr is None else Vr
    p[P_VFLV] = dm.vflv if Vflv is None else Vflv
    p[P_VRLV] = dm.vrlv if Vrlv is None else Vrlv
    # The noise law's reference width is the model's own pulse width. Its constant
    # factors are folded here so a read costs one division and one square root:
    #   sigma_th = NOISE_TH * f_m / |v|,  sigma_fl = NOISE_FL * (1 - y^2) * f_m
    bw_thermal, bw_flicker = noise_bandwidths(dm.pulse_width, pw_read)
    p[P_NOISE_TH] = read_noise * 0.1 * math.sqrt(temperature / T_REF) * 0.05 * bw_thermal
    p[P_NOISE_FL] = read_noise * 1.0 * bw_flicker
    p[P_CMP_V] = comparator_voltage(comparator_code) if comparator else 0.0
    p[P_M_REF] = p[P_GMAX]
    p[P_FLOAT_STEP], p[P_FLOAT_DEAD] = FLOAT_STEP, FLOAT_DEAD_ZONE
    p[P_RS_RATE], p[P_RS_VTH] = RS_RATE, RS_THRESHOLD
    p[P_MSS_RON], p[P_MSS_ROFF] = mss.r_on, mss.r_off
    p[P_MSS_N], p[P_MSS_TAU] = mss.switches, mss.tau
    p[P_MSS_VON], p[P_MSS_VOFF] = mss.v_on, mss.v_off
    p[P_MSS_VT] = BOLTZMANN * temperature / ELECTRON_CHARGE
    p[P_G_UNIT] = dm.siemens_per_unit
    return p
