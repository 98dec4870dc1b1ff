"""Declarations' keys: the ``.core`` line (mapped onto ``vm.Core``'s arguments) and the
device declarations ``.vec``, ``.mtj``, ``.pairs``, ``.bank`` and ``.ou``.

The assembler checks keys and values with these tables, the machine builds its devices
from them, the loader verifies bytecode against them and the language reference lists
them. Does not import Numba.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from vm.ktram import nonideal as _nonideal
from vm.ktram.isa import CONVENTIONS
from vm.ktram.models import (
    COMPARATOR_CODE,
    COMPARATOR_CODE_MAX,
    COMPARATOR_ENABLED,
    FLICKER_DECADES,
    MODEL_IDS,
    NAMED_INITS,
    NOISE_FLICKER,
    NOISE_THERMAL,
    READ_NOISE,
    ROOM_TEMPERATURE_K,
)
from vm.ktram.nonideal import MAX_ADC_BITS


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


# One row per .core key, naming the vm.Core keyword it sets (the reference emulator's name).
# Keys added after the first release default to None ("the Core's default"), so a listing
# of a program that leaves them out is unchanged.
CORE_KEYS: tuple[CoreKey, ...] = (
    CoreKey("rows", "crossbar_rows", "int", 1, low=1, high=MAX_DIMENSION, help="crossbar rows"),
    CoreKey(
        "cols",
        "crossbar_cols",
        "int",
        1,
        low=1,
        high=MAX_DIMENSION,
        help="crossbar columns (addresses = rows*cols)",
    ),
    CoreKey(
        "spaces", "spaces_per_lane", "int", 1, low=1, high=MAX_DIMENSION, help="spaces per lane (AAT entries)"
    ),
    CoreKey("lanes", "num_lanes", "int", 1, low=1, high=MAX_DIMENSION, help="lanes"),
    CoreKey("model", "model", "choice", "float", choices=tuple(MODEL_IDS), help="device model"),
    CoreKey("init", "init", "choice", "medium", choices=tuple(NAMED_INITS), help="initial conductances"),
    CoreKey("seed", "seed", "int", 0, low=0, high=2**63 - 1, help="random seed"),
    CoreKey(
        "read_noise",
        "read_noise",
        "float",
        READ_NOISE,
        low=0.0,
        help="read-noise master gain (0: clean reads that draw nothing, comparator included)",
    ),
    CoreKey(
        "vf",
        "forward_voltage",
        "float",
        None,
        nonzero=True,
        help="forward drive voltage (V); model default if absent",
    ),
    CoreKey("vr", "reverse_voltage", "float", None, nonzero=True, help="reverse drive voltage (V)"),
    CoreKey("vflv", "forward_low_voltage", "float", None, nonzero=True, help="forward low-voltage read (V)"),
    CoreKey("vrlv", "reverse_low_voltage", "float", None, nonzero=True, help="reverse low-voltage read (V)"),
    CoreKey(
        "pulse_width",
        "pulse_width",
        "float",
        None,
        low=0.0,
        low_open=True,
        help="pulse width of every drive, reads and feedback (s)",
    ),
    CoreKey(
        "read_pulse_width",
        "read_pulse_width",
        "float",
        None,
        low=0.0,
        low_open=True,
        help="read pulse width (s): the read noise's bandwidth only; default pulse_width",
    ),
    CoreKey(
        "temperature",
        "temperature",
        "float",
        ROOM_TEMPERATURE_K,
        low=0.0,
        low_open=True,
        help="kelvin, of the read noise's thermal term",
    ),
    CoreKey(
        "comparator",
        "comparator_enabled",
        "bool",
        int(COMPARATOR_ENABLED),
        help="add the comparator noise term (0/1)",
    ),
    CoreKey(
        "comparator_code",
        "comparator_code",
        "int",
        COMPARATOR_CODE,
        low=0,
        high=COMPARATOR_CODE_MAX,
        help="comparator code (noise 100 uV + 20 uV/code)",
    ),
    CoreKey(
        "noise_thermal",
        "noise_thermal",
        "float",
        None,
        low=0.0,
        help=f"thermal weight of the read noise (Core default {NOISE_THERMAL})",
    ),
    CoreKey(
        "noise_flicker",
        "noise_flicker",
        "float",
        None,
        low=0.0,
        help=f"flicker weight of the read noise (Core default {NOISE_FLICKER})",
    ),
    CoreKey(
        "flicker_decades",
        "flicker_decades",
        "float",
        None,
        low=0.0,
        low_open=True,
        help=f"decades of 1/f band at the reference pulse width (Core default {FLICKER_DECADES})",
    ),
    CoreKey(
        "read_noise_ref_m",
        "read_noise_ref_m",
        "float",
        None,
        low=0.0,
        low_open=True,
        help="pair magnitude the read noise is quoted at (default GMAX)",
    ),
    CoreKey(
        "read_noise_ref_pw",
        "read_noise_ref_pw",
        "float",
        None,
        low=0.0,
        low_open=True,
        help="pulse width the read noise is quoted at (s; default pulse_width)",
    ),
    CoreKey(
        "convention",
        "convention",
        "choice",
        None,
        choices=CONVENTIONS,
        help="forward FU/FA coefficients: project (default; the published table) or reference "
        "(the reference emulator's, swapped)",
    ),
)
# The devices' non-idealities (vm.ktram.nonideal; docs/devices.md, "kT-RAM devices that age
# and fail"), all off when left out.
CORE_KEYS += (
    CoreKey(
        "d2d",
        "d2d",
        "float",
        None,
        low=0.0,
        high=1.0,
        help="device-to-device spread: each device's GMAX, GMIN and step drawn once, lognormal "
        "with this relative sd (0: off)",
    ),
    CoreKey(
        "c2c",
        "c2c",
        "float",
        None,
        low=0.0,
        high=1.0,
        help="cycle-to-cycle spread: each switching event's step scaled by a lognormal draw of "
        "this relative sd (0: off)",
    ),
    CoreKey(
        "stuck",
        "stuck",
        "float",
        None,
        low=0.0,
        high=1.0,
        help="fraction of devices stuck (drawn once): no drive or set-up write moves them",
    ),
    CoreKey(
        "stuck_high",
        "stuck_high",
        "float",
        None,
        low=0.0,
        high=1.0,
        help="of the stuck devices, the fraction stuck at GMAX; the rest at GMIN (default 0.5)",
    ),
    CoreKey(
        "endurance",
        "endurance",
        "int",
        None,
        low=0,
        high=2**53,
        help="a device moves on its first N switching events and never after (0: unlimited)",
    ),
    CoreKey(
        "drift",
        "drift",
        "float",
        None,
        low=0.0,
        high=1.0,
        help="drift exponent nu: G(t) = G(t_w) ((t - t_w + T0)/T0)^-nu since each device's last "
        "write (0: off)",
    ),
    CoreKey(
        "drift_spread",
        "drift_spread",
        "float",
        None,
        low=0.0,
        high=1.0,
        help="sd of nu across devices: nu_i ~ N(drift, drift_spread), drawn once",
    ),
    CoreKey(
        "drift_t0",
        "drift_t0",
        "float",
        None,
        low=0.0,
        low_open=True,
        help="T0 of the drift law in seconds (default 1)",
    ),
    CoreKey(
        "adc_bits",
        "adc_bits",
        "int",
        None,
        low=0,
        high=MAX_ADC_BITS,
        help="lane reads quantised to 2^B levels over [-1, 1] (0: off)",
    ),
)
# Other names vm.Core accepts for its keywords (this project's earlier ones): alias -> keyword.
CORE_ARGUMENT_ALIASES: dict[str, str] = {
    "Vf": "forward_voltage",
    "Vr": "reverse_voltage",
    "Vflv": "forward_low_voltage",
    "Vrlv": "reverse_low_voltage",
    "comparator": "comparator_enabled",
    "mss": "profile",
}
BY_KEY = {k.key: k for k in CORE_KEYS}
DEFAULTS = {k.key: k.default for k in CORE_KEYS}

# ---------------------------------------------------------------------- devices
# Elements in one declared device (a vector, an MTJ array, a pair array's cells, a bank).
MAX_DEVICE_ELEMENTS = 1 << 26


def _f(key, default, help, low=0.0, low_open=True, high=None):
    return CoreKey(key, key, "float", default, low=low, low_open=low_open, high=high, help=help)


def _n(key, default, help):
    return CoreKey(key, key, "int", default, low=1, high=MAX_DEVICE_ELEMENTS, help=help)


# The VCMA-MTJ compact model (PHYSICS.md section 2), shared by .mtj arrays and the
# devices of .pairs cells: every kernel reads these at the same parameter positions.
MTJ_DEVICE_KEYS: tuple[CoreKey, ...] = (
    _f("rp", 5e3, "parallel-state resistance (ohm)"),
    _f("tmr", 1.0, "zero-bias tunnel magnetoresistance ratio TMR0 (1.0 = 100%)", low_open=False),
    _f("vh", 0.5, "bias at which TMR halves (V): TMR(V) = TMR0 / (1 + (V/vh)^2)"),
    _f("v50", 1.5, "pulse amplitude of 50% precessional switching at t_half (V)", low=None),
    _f("window", 0.23, "width of the switching sigmoid in V (10-90% ~ 4.4 window)"),
    _f("t_half", 0.7e-9, "precession half period: first switching peak (s)"),
    _f("tau_phi", 1.5e-9, "dephasing time of the precession (s)"),
    _f("t_prec", 5e-9, "a pulse longer than this switches thermally (Neel-Brown) after it (s)"),
    _f("delta0", 19.9, "thermal stability Eb/kT at 0 V and 300 K"),
    _f("vc", 1.5, "bias at which the VCMA barrier vanishes (V)"),
    _f("tau0", 1e-9, "thermal attempt time (s)"),
    _f("spread", 0.05, "device-to-device spread (std) of v50 (V)", low_open=False),
    _f("temperature", 300.0, "kelvin"),
    _f("read_noise", 0.01, "relative std of one conductance read", low_open=False),
    _f("read_time", 1e-9, "duration of one read (s)"),
    _f("rp_spread", 0.0, "device-to-device spread of rp: log-normal, std of ln(rp)", low_open=False),
    _f("tmr_spread", 0.0, "device-to-device spread of tmr: relative std of TMR0", low_open=False),
    _f("v_reset", 2.5, "reset pulse amplitude (V), width t_half: switches every device"),
)
_PROFILE = CoreKey(
    "profile",
    "profile",
    "choice",
    "standalone",
    choices=("standalone", "integrated"),
    help="a set of defaults for the other keys (docs/devices.md): standalone = the probe-station "
    "chip (Figs. 6, 11, 12), integrated = the CMOS-integrated arrays (Figs. 7, 8, 9, 13); keys "
    "given explicitly override it",
)
# What profile=integrated changes (docs/devices.md: which figure each number comes from).
INTEGRATED: dict[str, float] = {
    "tmr": 0.65 * (1.0 + (0.2 / 0.5) ** 2),  # Fig. 7: TMR(200 mV) = 65%, with vh = 0.5 V
    "rp": 50e3,  # Fig. 8 gives no number in the text: RA ~100 ohm um^2 over a 50 nm disk
    "rp_spread": 0.05,  # Fig. 8: spread across devices and arrays (reading, see docs)
    "tmr_spread": 0.03,  # Fig. 7: "low variations" across the four arrays
    "spread": 0.1,  # Fig. 13: the array's P_sw(V) curves, PHYSICS.md N(1.5, 0.05-0.1) V
}
PROFILES: dict[str, dict[str, float]] = {"standalone": {}, "integrated": INTEGRATED}


def mtj_first_peak(t_half: float | None = None, tau_phi: float | None = None) -> float:
    """t*, where the compact model's damped precession first peaks (the 50% pulse width):
    tan(pi t / t_half) = -t_half / (pi tau_phi); the default keys' 0.667 ns."""
    keys = {k.key: k.default for k in MTJ_DEVICE_KEYS}
    t_half = float(keys["t_half"]) if t_half is None else t_half  # type: ignore[arg-type]
    tau_phi = float(keys["tau_phi"]) if tau_phi is None else tau_phi  # type: ignore[arg-type]
    a = math.pi / t_half
    return (math.pi - math.atan(1.0 / (a * tau_phi))) / a


# The ex-situ p-bit's periphery (MSENSE): sense amplifiers with latches, and a bus to the
# compute unit. The paper gives only its area (Table II, 609.8 um^2); these are generic
# figures for a latch-type voltage sense amplifier and an on-chip bus (docs/devices.md).
PERIPHERY_KEYS: tuple[CoreKey, ...] = (
    CoreKey(
        "sense_amps",
        "sense_amps",
        "int",
        8,
        low=1,
        high=MAX_DEVICE_ELEMENTS // 64,
        help="sense amplifiers (and latches) shared by the devices through a column mux",
    ),
    _f("v_sense", 0.2, "bias across a device while it is sensed (V)"),
    _f("t_sense", 1e-9, "one sense-and-latch decision (s)"),
    _f("e_sense", 20e-15, "energy of one sense amplifier decision, precharge included (J)", low_open=False),
    _f("e_latch", 2e-15, "energy of latching one bit (J)", low_open=False),
    CoreKey("bus_width", "bus_width", "int", 32, low=1, high=4096, help="bits per bus transfer"),
    _f("t_bus", 1e-9, "one bus transfer (s)"),
    _f("e_bus", 100e-15, "energy to move one bit to the compute unit (J): ~1 mm of wire", low_open=False),
)


@dataclass(frozen=True)
class DeviceKind:
    directive: str  # .vec, .mtj, ...
    summary: str
    keys: tuple[CoreKey, ...]
    example: str
    profiles: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def by_key(self) -> dict[str, CoreKey]:
        return {k.key: k for k in self.keys}

    def param_index(self, key: str) -> int:
        return [k.key for k in self.keys].index(key)

    def defaults(self) -> dict:
        return {k.key: k.default for k in self.keys}

    def resolve(self, given: dict) -> dict:
        """Every key's value: the defaults, then the profile's, then the keys given."""
        values = self.defaults()
        if self.profiles:
            values.update(self.profiles[given.get("profile", values["profile"])])
        values.update(given)
        return values

    def params(self, values: dict) -> list[float]:
        """The parameter row kernels read: every key in table order, choices as indices."""
        row = []
        for k in self.keys:
            v = values[k.key]
            row.append(float(k.choices.index(v)) if k.kind == "choice" else float(v))
        return row


DEVICE_KINDS: dict[str, DeviceKind] = {
    d.directive: d
    for d in (
        DeviceKind(
            "vec", "a vector register of n float64 elements", (_n("n", None, "length"),), ".vec h n=16"
        ),
        DeviceKind(
            "mtj",
            "an array of n VCMA-MTJ p-bits (state 0 = parallel, 1 = antiparallel)",
            (_n("n", None, "devices"),)
            + MTJ_DEVICE_KEYS
            + (
                CoreKey(
                    "mode",
                    "mode",
                    "choice",
                    "reset",
                    choices=("reset", "toggle"),
                    help="reset: each pulse first resets to parallel, so a device ends "
                    "antiparallel with the switching probability; toggle: a pulse "
                    "flips the device with that probability",
                ),
            )
            + PERIPHERY_KEYS
            + (_PROFILE,),
            ".mtj coins n=1024 v50=1.5 spread=0 mode=toggle",
            PROFILES,
        ),
        DeviceKind(
            "pairs",
            "probabilistic differential pairs (data-bit - p-bit) holding a signed "
            "rows x cols weight matrix, levels pairs per weight",
            (
                _n("rows", None, "outputs"),
                _n("cols", None, "inputs"),
                CoreKey(
                    "levels",
                    "levels",
                    "int",
                    1,
                    low=1,
                    high=64,
                    help="pairs per weight: weights take levels + 1 values in [-scale, scale]",
                ),
                _f("scale", 1.0, "weight of a fully set cell group"),
                _f("v_read", 0.2, "read bias (V)"),
                _f("v_write", 2.5, "data-bit write amplitude (V): switches every device"),
            )
            + MTJ_DEVICE_KEYS
            + (_PROFILE,),
            ".pairs w rows=16 cols=2 levels=3 scale=2 profile=integrated",
            PROFILES,
        ),
        DeviceKind(
            "bank",
            "n overdamped Langevin units in V(x) = j2 x^2/2 + j3 x^3/3 + j4 x^4/4 - I x",
            (
                _n("n", None, "units"),
                _f("j2", 1.0, "quadratic coefficient", low=None),
                _f("j3", 0.0, "cubic coefficient", low=None),
                _f("j4", 1.5, "quartic coefficient", low=0.0, low_open=False),
                _f("temperature", 1.0, "noise temperature T: dx = -V'(x) dt + sqrt(2T) dW", low_open=False),
                _f("dt", 0.025, "Euler-Maruyama step"),
                _f("tf", 0.5, "observation window: each RELAX evolves for tf"),
                _f("rail", 10.0, "state rails: x is clipped to [-rail, rail]"),
                _f("time_unit", 1e-9, "seconds per unit of t (modeled time of a window = tf * time_unit)"),
                _f("unit_power", 1e-6, "power of one unit during a window (W)", low_open=False),
            ),
            ".bank h n=4096 j2=-4 j4=4 temperature=0.5 dt=0.01 tf=1",
        ),
        DeviceKind(
            "ou",
            "n exact Ornstein-Uhlenbeck Gaussian sampling units (PMODE)",
            (
                _n("n", None, "units"),
                _f("tau0", 100e-9, "relaxation time (s)"),
                _f("window", 1e-6, "sampling window of one OUS/MIXS (s)"),
                _f("unit_power", 1e-6, "power of one unit during a window (W)", low_open=False),
            ),
            ".ou noise n=2 tau0=1e-7 window=1e-6",
        ),
    )
}


# Steps of one RELAX window (round(tf/dt)) a .bank may declare: a longer window cannot end
# in a lifetime (1e15 steps of one unit: ~2 months), and past 2**63 the count overflowed to
# a one-step window that reported the full modeled time.
MAX_WINDOW_STEPS = 10**15


def device_problem(kind: str, values: dict) -> str | None:
    """What is wrong with a device declaration's keys taken together, or None."""
    if kind == "bank":
        steps = values["tf"] / values["dt"]
        if not steps < MAX_WINDOW_STEPS:
            return (
                f"a window of tf/dt = {steps:.3g} steps is more than {MAX_WINDOW_STEPS:.0e}; "
                "raise dt or lower tf"
            )
    return None


def pair_count(config: dict) -> int:
    """Differential pairs in a core of this configuration."""
    return config["rows"] * config["cols"] * config["spaces"] * config["lanes"]


def device_bytes(config: dict) -> int:
    """Peak bytes a core of this configuration needs (its state and its initialisation):
    the arrays every core keeps, then the per-device rows of its non-idealities and the
    draws that fill them."""
    per_device = ARRAYS_PER_DEVICE_AT_INIT + _nonideal.rows_for(config) + _nonideal.draws_for(config)
    return 2 * pair_count(config) * 8 * per_device


def memory_error(config: dict, device_elements: int = 0) -> str | None:
    """Why a program with this core and this many device elements cannot run, or None."""
    need = device_bytes(config) + 8 * device_elements
    if need > MEMORY_LIMIT_BYTES:
        return (
            f"this program needs {need / 2**30:.1f} GiB of memory for its devices "
            f"(limit {MEMORY_LIMIT_BYTES / 2**30:.1f} GiB: half of this machine's RAM, at most "
            "8 GiB); make it smaller"
        )
    return None


def core_kwargs(config: dict) -> dict:
    """Core(**core_kwargs(config)): every key given or defaulted, None values left out."""
    out = {}
    for k in CORE_KEYS:
        value = config.get(k.key, k.default)
        if value is not None:
            out[k.argument] = bool(k.convert(value)) if k.kind == "bool" else k.convert(value)
    return out
