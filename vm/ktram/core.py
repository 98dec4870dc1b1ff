"""``Core``: the reference emulator's Python API over the Numba kernels.

A core has ``num_lanes`` lanes of ``spaces_per_lane`` spaces; each space is a pair of
``rows x cols`` crossbars (a-side and b-side) addressed flat in ``[0, rows*cols)``. An AAT
names one address per space, or ``None`` to leave that space out of the circuit.

The constructor takes the reference's keywords under its names and defaults (this project's
earlier names are aliases: ``vm.config.CORE_ARGUMENT_ALIASES``), and every configuration
attribute (voltages, pulse widths, the read-noise law, the comparator) can be read, assigned
or set through the reference's setters at run time: each change rebuilds the kernels'
parameter vector in place. docs/physics.md lists what still differs from the reference.
"""

from __future__ import annotations

import difflib
import math
from typing import Any

import numpy as np

from vm import rng as _rng
from vm.config import CORE_ARGUMENT_ALIASES
from vm.ktram import kernels as _k
from vm.ktram.isa import FORWARD, MNEMONICS, REVERSE, UnknownNameError, lookup, op_table
from vm.ktram.models import (
    COMPARATOR_CODE,
    COMPARATOR_CODE_MAX,
    COMPARATOR_ENABLED,
    DEVICE_MODELS,
    FIDELITIES,
    FLICKER_DECADES,
    MODEL_IDS,
    MSS,
    NAMED_INITS,
    NOISE_FLICKER,
    NOISE_THERMAL,
    P_GMAX,
    P_GMIN,
    READ_NOISE,
    READ_NOISE_REF_V,
    ROOM_TEMPERATURE_K,
    MSSProfile,
    build_params,
    check_comparator_code,
    comparator_code_for,
    comparator_voltage,
    conductance_range,
    mss_profile,
)
from vm.state import CoreState

MAX_COMPARATOR_CODE = COMPARATOR_CODE_MAX
CORE_STATE = ("g", "x", "lane_y", "meters", "rng_state", "rng_spare")  # what defines its future

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


class Lane:
    """One lane of a core: ``lane.evaluate(aat, "FF")``."""

    __slots__ = ("core", "index")

    def __init__(self, core: Core, index: int):
        self.core = core
        self.index = index

    def evaluate(self, aat, instruction, noise: float = 0.0) -> float:
        return self.core.evaluate(aat, instruction, lane_index=self.index, noise=noise)

    @property
    def y(self) -> float:
        """The lane's retained y (from its last read); assignable, as in the reference."""
        return float(self.core.lane_y[self.index])

    @y.setter
    def y(self, value: float) -> None:
        _check_range("y", value, -1.0, 1.0)
        self.core.lane_y[self.index] = float(value)

    @property
    def spaces(self) -> list[SpaceView]:
        """The lane's spaces in AAT order, each a view of its pair of unit crossbars."""
        return [SpaceView(self.core, self.index, s) for s in range(self.core.spaces_per_lane)]

    def __repr__(self) -> str:
        return f"Lane({self.index}, y={self.y:+.6f})"


class DeviceView:
    """One memristor of a unit crossbar, read and set through its core (a view)."""

    __slots__ = ("core", "side", "lane", "space", "address")

    def __init__(self, core: Core, side: int, lane: int, space: int, address: int):
        self.core, self.side, self.lane, self.space, self.address = core, side, lane, space, address

    @property
    def GMIN(self) -> float:  # the reference's name
        return self.core.gmin

    @property
    def GMAX(self) -> float:
        return self.core.gmax

    def g(self) -> float:
        """Linear conductance (what the readout uses)."""
        return float(self.core.g[self.side, self.lane, self.space, self.address])

    def set_g(self, g: float) -> None:
        """Set the conductance (clamped; byte truncates; MSS through its resistance)."""
        if not _is_number(g) or not math.isfinite(g):
            raise ValueError(f"g: conductances must be finite, got {g!r}")
        c = self.core
        _k.set_device(
            c.model_id, c.params, c.g, c.x, self.side, self.lane, self.space, self.address, float(g)
        )

    @property
    def x(self) -> float:
        """MSS: the fraction of switches in the on state."""
        if self.core.model_id != MSS:
            raise AttributeError(f"a {self.core.model} device has no switched fraction x")
        return float(self.core.x[self.side, self.lane, self.space, self.address])

    def current(self, v: float) -> float:
        """Current at voltage v; MSS adds its Schottky term when its profile's phi < 1."""
        linear = v * self.g()
        if self.core.model_id != MSS:
            return linear
        p = self.core._mss
        schottky = p.schottky_ra * -math.exp(-p.schottky_rb * v) + p.schottky_fa * math.exp(p.schottky_fb * v)
        return p.phi * linear + (1.0 - p.phi) * schottky

    def __repr__(self) -> str:
        return f"DeviceView({'ab'[self.side]}, lane={self.lane}, space={self.space}, address={self.address})"


class UnitCrossbarView:
    """One side (a or b) of a space: ``rows x cols`` devices addressed flat (a view)."""

    __slots__ = ("core", "side", "lane", "space")

    def __init__(self, core: Core, side: int, lane: int, space: int):
        self.core, self.side, self.lane, self.space = core, side, lane, space

    @property
    def rows(self) -> int:
        return self.core.crossbar_rows

    @property
    def cols(self) -> int:
        return self.core.crossbar_cols

    @property
    def size(self) -> int:
        return self.core.num_addresses

    @property
    def address_width(self) -> int:
        return int(math.log2(self.rows)) + int(math.log2(self.cols))

    def device_at(self, address: int) -> DeviceView:
        self.core._check_address(address)
        return DeviceView(self.core, self.side, self.lane, self.space, int(address))

    def conductance(self, address: int | None) -> float:
        """Conductance at an address, 0 for None (an open circuit)."""
        return 0.0 if address is None else self.device_at(address).g()


class SpaceView:
    """One space of a lane: its a-side and b-side unit crossbars, one pair per address (a view)."""

    __slots__ = ("core", "lane", "space")

    def __init__(self, core: Core, lane: int, space: int):
        self.core, self.lane, self.space = core, lane, space

    @property
    def a(self) -> UnitCrossbarView:
        return UnitCrossbarView(self.core, 0, self.lane, self.space)

    @property
    def b(self) -> UnitCrossbarView:
        return UnitCrossbarView(self.core, 1, self.lane, self.space)

    @property
    def size(self) -> int:
        return self.core.num_addresses

    def conductances(self, address: int | None) -> tuple[float, float]:
        """(Ga, Gb) at an address, (0, 0) for None."""
        return self.a.conductance(address), self.b.conductance(address)

    def __repr__(self) -> str:
        return f"SpaceView(lane={self.lane}, space={self.space})"


class Core:
    """A kT-RAM core: lanes of differential memristor pairs on one device model.

    ``Core(crossbar_rows, crossbar_cols, spaces_per_lane=1, num_lanes=1, model="float",
    init="medium", seed=None, read_noise=0.02, **keywords)``: the reference emulator's
    keywords under its names and defaults (fidelity, profile, the four voltages, pulse_width,
    read_pulse_width, noise_thermal, noise_flicker, temperature, read_noise_ref_m,
    read_noise_ref_pw, flicker_decades, comparator_enabled, comparator_code), plus
    ``convention`` ("project": FU/FA of the published table; "reference": the reference's,
    swapped). Positional arguments after ``model`` follow this project's order (init, seed,
    read_noise); the reference's sixth is ``fidelity``, so pass the rest by keyword.
    """

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

    def __init__(
        self,
        crossbar_rows: int,
        crossbar_cols: int,
        spaces_per_lane: int = 1,
        num_lanes: int = 1,
        model: str = "float",
        init: str = "medium",
        seed: Any = None,
        read_noise: float = READ_NOISE,
        *,
        fidelity: str = "ideal",
        profile: Any = None,
        forward_voltage: float | None = None,
        reverse_voltage: float | None = None,
        forward_low_voltage: float | None = None,
        reverse_low_voltage: float | None = None,
        pulse_width: float | None = None,
        read_pulse_width: float | None = None,
        noise_thermal: float = NOISE_THERMAL,
        noise_flicker: float = NOISE_FLICKER,
        temperature: float = ROOM_TEMPERATURE_K,
        read_noise_ref_m: float | None = None,
        read_noise_ref_pw: float | None = None,
        flicker_decades: float = FLICKER_DECADES,
        comparator_enabled: bool = COMPARATOR_ENABLED,
        comparator_code: int = COMPARATOR_CODE,
        convention: str = "project",
        **aliases: Any,
    ):
        for name, value in (
            ("crossbar_rows", crossbar_rows),
            ("crossbar_cols", crossbar_cols),
            ("spaces_per_lane", spaces_per_lane),
            ("num_lanes", num_lanes),
        ):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        model_name = _name("model", "device model", model, MODEL_IDS)
        fidelity_name = _name("fidelity", "fidelity", fidelity, FIDELITIES)
        hint = (
            (
                "; the reference's sixth positional argument is fidelity: pass it and the "
                "arguments after it by keyword"
            )
            if isinstance(init, str) and init.lower() in FIDELITIES
            else ""
        )
        init_name = _name("init", "init", init, NAMED_INITS, hint)
        self.ops = op_table(convention)
        self.convention = convention

        # the aliases (this project's earlier keyword names), each onto its reference keyword
        aliased: dict[str, Any] = {
            "forward_voltage": forward_voltage,
            "reverse_voltage": reverse_voltage,
            "forward_low_voltage": forward_low_voltage,
            "reverse_low_voltage": reverse_low_voltage,
            "comparator_enabled": comparator_enabled,
            "profile": profile,
        }
        shown = {name: name for name in SETTINGS}
        for alias, value in aliases.items():
            keyword = CORE_ARGUMENT_ALIASES.get(alias)
            if keyword is None:
                close = difflib.get_close_matches(alias, list(_KEYWORDS) + list(CORE_ARGUMENT_ALIASES), 1)
                raise TypeError(
                    f"Core() got an unexpected keyword argument {alias!r}"
                    + (f"; did you mean {close[0]!r}?" if close else "")
                )
            if aliased[keyword] is not _KEYWORDS[keyword]:
                raise TypeError(f"Core() got both {keyword!r} and its alias {alias!r}")
            aliased[keyword] = value
            shown[keyword] = alias

        self.crossbar_rows = int(crossbar_rows)
        self.crossbar_cols = int(crossbar_cols)
        self.num_addresses = self.crossbar_rows * self.crossbar_cols
        self.spaces_per_lane = int(spaces_per_lane)
        self.num_lanes = int(num_lanes)
        self.model = model_name
        self.model_id = MODEL_IDS[model_name]
        self.fidelity = fidelity_name
        self.init = init_name
        self.seed = seed
        # the MSS profile as given (the reference keeps it as is), and checked for the kernels
        given_profile = aliased["profile"]
        if model_name == "mss":
            self.profile = given_profile if given_profile is not None else MSSProfile()
            self._mss = mss_profile(self.profile)
        else:
            self.profile = given_profile
            self._mss = MSSProfile()

        dm = DEVICE_MODELS[model_name]
        pw = dm.pulse_width if pulse_width is None else _checked("pulse_width", pulse_width)
        defaults = {
            "forward_voltage": dm.vf,
            "reverse_voltage": dm.vr,
            "forward_low_voltage": dm.vflv,
            "reverse_low_voltage": dm.vrlv,
        }
        requested = {
            **{v: defaults[v] if aliased[v] is None else aliased[v] for v in VOLTAGES},
            "pulse_width": pw,
            # both default to the pulse width the core is built with, and then stay put
            "read_pulse_width": pw if read_pulse_width is None else read_pulse_width,
            "read_noise_ref_pw": pw if read_noise_ref_pw is None else read_noise_ref_pw,
            "read_noise_ref_m": (
                conductance_range(model_name, self._mss)[1] if read_noise_ref_m is None else read_noise_ref_m
            ),
            "temperature": temperature,
            "flicker_decades": flicker_decades,
            "read_noise": read_noise,
            "noise_thermal": noise_thermal,
            "noise_flicker": noise_flicker,
            "comparator_enabled": aliased["comparator_enabled"],
            "comparator_code": comparator_code,
        }
        self._settings = {name: _checked(name, value, shown[name]) for name, value in requested.items()}
        self.params = build_params(model_name, profile=self._mss, **self._settings)

        shape = (2, self.num_lanes, self.spaces_per_lane, self.num_addresses)
        generator = np.random.default_rng(seed)
        self.g, self.x = _initial_conductances(
            model_name, init_name, shape, self.gmin, self.gmax, generator, self._mss
        )
        self.lane_y = np.zeros(self.num_lanes, dtype=np.float64)
        self.meters = np.zeros(2, dtype=np.float64)
        # Runtime draws (read noise, MSS switching) come after the init draws, from a
        # kernel stream seeded by the same generator.
        self.rng_state, self.rng_spare = _rng.new_state(generator)
        self._aat_cache: dict[tuple, np.ndarray] = {}
        self._lanes = [Lane(self, i) for i in range(self.num_lanes)]

    # ----------------------------------------------------------------- properties
    @property
    def rows(self) -> int:
        return self.crossbar_rows

    @property
    def cols(self) -> int:
        return self.crossbar_cols

    @property
    def model_name(self) -> str:
        return self.model

    @property
    def init_name(self) -> str:
        return self.init

    @property
    def fidelity_name(self) -> str:
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

    @property
    def gmin(self) -> float:
        return float(self.params[P_GMIN])

    @property
    def gmax(self) -> float:
        return float(self.params[P_GMAX])

    @property
    def ga(self) -> np.ndarray:
        """a-side conductances, shape (lanes, spaces, addresses) (a view)."""
        return self.g[0]

    @property
    def gb(self) -> np.ndarray:
        return self.g[1]

    @property
    def modeled_time_s(self) -> float:
        return float(self.meters[0])

    @property
    def modeled_energy_j(self) -> float:
        return float(self.meters[1])

    @property
    def state(self) -> CoreState:
        """The core's arrays as the kernels' bundle (views: the kernels update the core)."""
        return CoreState(
            self.model_id,
            self.params,
            self.ops,
            self.g,
            self.x,
            self.lane_y,
            self.meters,
            self.rng_state,
            self.rng_spare,
        )

    def lane(self, index: int = 0) -> Lane:
        self._check_lane(index)
        return self._lanes[index]

    # ----------------------------------------------------------------- execution
    def evaluate(self, aat, instruction, lane_index: int = 0, noise: float = 0.0) -> float:
        """Run one instruction on a lane; returns y (a feedback returns the retained y).

        ``noise`` is the read-voltage noise dial d in [0, 1]: a read's applied voltage is
        scaled by max(1e-3, 1 - d), which raises its thermal noise and changes its own
        back-action. Feedback ignores it.
        """
        op = lookup(instruction).code
        self._check_lane(lane_index)
        _check_range("noise", noise, 0.0, 1.0)
        aat_arr = self._aat_array(aat)
        return float(
            _k.execute(
                self.model_id,
                self.params,
                self.ops,
                self.g,
                self.x,
                self.lane_y,
                self.meters,
                self.rng_state,
                self.rng_spare,
                int(lane_index),
                aat_arr,
                op,
                float(noise),
            )
        )

    def execute_stream(self, lanes, aats, instructions, noise=None) -> np.ndarray:
        """Run a whole stream in one compiled call; returns the y of every step.

        ``lanes``: int per step; ``aats``: one AAT per step (sequences with None, or an int
        array of shape (steps, spaces) with -1 for a disabled space); ``instructions``:
        mnemonics or opcodes; ``noise``: None, one dial, or one per step.
        """
        lanes = np.ascontiguousarray(lanes, dtype=np.int64)
        n = lanes.shape[0]
        if lanes.ndim != 1:
            raise ValueError("lanes: expected one lane index per step")
        if n and (lanes.min() < 0 or lanes.max() >= self.num_lanes):
            bad = int(lanes[(lanes < 0) | (lanes >= self.num_lanes)][0])
            raise ValueError(f"lanes: lane {bad} out of range [0, {self.num_lanes})")
        opcodes = np.array(
            [int(i) if isinstance(i, (int, np.integer)) else lookup(i).code for i in instructions],
            dtype=np.int64,
        )
        if opcodes.shape[0] != n:
            raise ValueError(f"instructions: expected {n} (one per step), got {opcodes.shape[0]}")
        if n and (opcodes.min() < 0 or opcodes.max() >= len(MNEMONICS)):
            raise ValueError(f"instructions: opcodes must be in [0, {len(MNEMONICS)})")
        aat_table = self._aat_table(aats, n)
        dials = (
            np.zeros(n)
            if noise is None
            else np.broadcast_to(np.asarray(noise, dtype=np.float64), (n,)).copy()
        )
        if n and (not np.all(np.isfinite(dials)) or dials.min() < 0.0 or dials.max() > 1.0):
            raise ValueError("noise: every dial must be in [0, 1]")
        out = np.empty(n, dtype=np.float64)
        _k.execute_stream(self.state, lanes, aat_table, np.arange(n, dtype=np.int64), opcodes, dials, out)
        return out

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

    # ----------------------------------------------------------------- set-up / debug
    def read_gab(self, lane_index: int, aat):
        """(Ga, Gb) of the one enabled pair, or a list of (Ga, Gb) per enabled space."""
        self._check_lane(lane_index)
        pairs = [
            (float(self.g[0, lane_index, s, a]), float(self.g[1, lane_index, s, a]))
            for s, a in enumerate(self._aat_array(aat))
            if a >= 0
        ]
        return pairs[0] if len(pairs) == 1 else pairs

    def set_gab(self, lane_index: int, aat, ga, gb) -> None:
        """Set the conductances of every enabled pair (clamped; byte truncates).

        ``ga``/``gb`` are scalars, or one value per enabled space.
        """
        self._check_lane(lane_index)
        spaces, addrs = self._enabled(aat)
        for name, value in (("ga", ga), ("gb", gb)):
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != spaces.shape[0]):
                raise ValueError(
                    f"{name}: expected a scalar or {spaces.shape[0]} values "
                    f"(one per enabled space), got shape {arr.shape}"
                )
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name}: conductances must be finite, got {value!r}")
        self._write_conductances(lane_index, spaces, addrs, ga, gb)

    def set_start_y(self, lane_index: int, aat, y0: float = 0.0, level: float = 0.5) -> None:
        """Place every enabled pair at weight y0 with magnitude m = 2*level*GMAX."""
        self._check_lane(lane_index)
        _check_range("y0", y0, -1.0, 1.0)
        _check_range("level", level, 0.0, None)
        spaces, addrs = self._enabled(aat)
        c = level * self.gmax
        self._write_conductances(lane_index, spaces, addrs, c * (1.0 + y0), c * (1.0 - y0))

    def weights(self, lane_index: int, aat) -> tuple[float, float]:
        """(y, m) of a clean read through aat, without touching the devices."""
        self._check_lane(lane_index)
        spaces, addrs = self._enabled(aat)
        ga, gb = self.g[0, lane_index, spaces, addrs], self.g[1, lane_index, spaces, addrs]
        top = float(np.add.accumulate(ga - gb)[-1]) if ga.size else 0.0
        bot = float(np.add.accumulate(ga + gb)[-1]) if ga.size else 0.0
        return (top / bot if bot else 0.0), bot

    # ----------------------------------------------------------------- checkpoint
    def get_state(self) -> dict[str, np.ndarray]:
        """Every array that defines the core's future (copies)."""
        return {name: getattr(self, name).copy() for name in CORE_STATE}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        restore_arrays(self, CORE_STATE, state)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_aat_cache"] = {}  # rebuilt on use
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    # ----------------------------------------------------------------- helpers
    def _configure(self, changes: dict[str, Any]) -> None:
        """Check every change, then rebuild the parameter vector in place (the kernels and
        any bundle built earlier see it); a bad change changes nothing."""
        checked = {name: _checked(name, value) for name, value in changes.items()}
        settings = {**self._settings, **checked}
        self.params[:] = build_params(self.model, profile=self._mss, **settings)
        self._settings = settings

    def _check_lane(self, lane) -> None:
        if (
            not isinstance(lane, (int, np.integer))
            or isinstance(lane, bool)
            or not 0 <= lane < self.num_lanes
        ):
            raise ValueError(f"lane: expected an index in [0, {self.num_lanes}), got {lane!r}")

    def _check_address(self, address) -> None:
        if (
            not isinstance(address, (int, np.integer))
            or isinstance(address, bool)
            or not 0 <= address < self.num_addresses
        ):
            raise ValueError(f"address: expected an address in [0, {self.num_addresses}), got {address!r}")

    def _aat_array(self, aat) -> np.ndarray:
        key = tuple(aat) if not isinstance(aat, tuple) else aat
        try:
            cached = self._aat_cache.get(key)
        except TypeError:  # unhashable entries: let the checker explain
            cached = None
        if cached is not None:
            return cached
        arr = self._parse_aat(key)
        if len(self._aat_cache) < 4096:
            self._aat_cache[key] = arr
        return arr

    def _parse_aat(self, aat: tuple) -> np.ndarray:
        if len(aat) != self.spaces_per_lane:
            raise ValueError(
                f"aat: expected {self.spaces_per_lane} entries (one per space), got {len(aat)}: {aat!r}"
            )
        arr = np.empty(self.spaces_per_lane, dtype=np.int64)
        for s, a in enumerate(aat):
            if a is None:
                arr[s] = -1
            elif isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 <= a < self.num_addresses:
                arr[s] = a
            else:
                raise ValueError(
                    f"aat[{s}]: expected an address in [0, {self.num_addresses}) or None, got {a!r}"
                )
        arr.setflags(write=False)
        return arr

    def _aat_table(self, aats, n: int) -> np.ndarray:
        if isinstance(aats, np.ndarray) and aats.dtype.kind in "iu":
            table = np.ascontiguousarray(aats, dtype=np.int64)
            if table.shape != (n, self.spaces_per_lane):
                raise ValueError(f"aats: expected shape ({n}, {self.spaces_per_lane}), got {table.shape}")
            bad = (table < -1) | (table >= self.num_addresses)
            if bad.any():
                step, space = map(int, np.argwhere(bad)[0])
                raise ValueError(
                    f"aats[{step}][{space}]: expected an address in "
                    f"[0, {self.num_addresses}) or -1, got {int(table[step, space])}"
                )
            return table
        rows = list(aats)
        if len(rows) != n:
            raise ValueError(f"aats: expected {n} (one per step), got {len(rows)}")
        table = np.empty((n, self.spaces_per_lane), dtype=np.int64)
        for i, aat in enumerate(rows):
            table[i] = self._aat_array(aat)
        return table

    def _enabled(self, aat) -> tuple[np.ndarray, np.ndarray]:
        arr = self._aat_array(aat)
        spaces = np.flatnonzero(arr >= 0)
        return spaces, arr[spaces]

    def _write_conductances(self, lane, spaces, addrs, ga, gb) -> None:
        ga = np.broadcast_to(np.asarray(ga, dtype=np.float64), spaces.shape)
        gb = np.broadcast_to(np.asarray(gb, dtype=np.float64), spaces.shape)
        for s, a, va, vb in zip(spaces.tolist(), addrs.tolist(), ga.tolist(), gb.tolist(), strict=True):
            _k.set_pair(self.model_id, self.params, self.g, self.x, lane, s, a, va, vb)

    def __repr__(self) -> str:
        return (
            f"Core({self.crossbar_rows}, {self.crossbar_cols}, spaces_per_lane={self.spaces_per_lane}, "
            f"num_lanes={self.num_lanes}, model={self.model!r}, init={self.init!r}, "
            f"seed={self.seed!r}, read_noise={self.read_noise!r})"
        )


# Core's keywords that have aliases, with their defaults (an alias may stand in for one
# left at its default).
_KEYWORDS: dict[str, Any] = {
    "forward_voltage": None,
    "reverse_voltage": None,
    "forward_low_voltage": None,
    "reverse_low_voltage": None,
    "comparator_enabled": COMPARATOR_ENABLED,
    "profile": None,
}


def restore_arrays(owner, names, state: dict, prefix: str = "") -> None:
    """Copy state[prefix + name] into owner.name for every name, after checking all of
    them (shape and dtype), so a bad state changes nothing."""
    pairs = []
    for name in names:
        mine, theirs = getattr(owner, name), np.asarray(state[prefix + name])
        if theirs.shape != mine.shape or theirs.dtype != mine.dtype:
            raise ValueError(
                f"state[{prefix + name!r}]: expected {mine.dtype}{list(mine.shape)}, "
                f"got {theirs.dtype}{list(theirs.shape)}"
            )
        pairs.append((mine, theirs))
    for mine, theirs in pairs:
        mine[...] = theirs


def _initial_conductances(model, init, shape, gmin, gmax, generator, mss: MSSProfile):
    """(g, x): g = GMIN + (GMAX-GMIN)*(mean + var*N(0,1)), clamped; byte truncates toward
    zero; an MSS device is stored as a whole-ohm resistance (the reference's rounding), its
    switched fraction x following from it and g from x.

    Noisy inits draw one standard normal per device in the reference's order: lanes, then
    spaces, then the a-unit's devices, then the b-unit's, each in flat address order.
    """
    mean, var = NAMED_INITS[init]
    _, lanes, spaces, addrs = shape
    frac = np.full((lanes, spaces, 2, addrs), mean, dtype=np.float64)
    if var > 0:
        frac = mean + var * generator.standard_normal((lanes, spaces, 2, addrs))
    g = np.clip(gmin + (gmax - gmin) * frac, gmin, gmax)
    x = np.zeros_like(g)
    if DEVICE_MODELS[model].integer:
        g = np.trunc(g)
    elif model == "mss":
        r = np.clip(np.floor(1.0 / g + 0.5), mss.Ron, mss.Roff)
        x = np.clip((mss.Ron * (r - mss.Roff)) / (r * (mss.Ron - mss.Roff)), 0.0, 1.0)
        g = x / mss.Ron + (1.0 - x) / mss.Roff
    return (np.ascontiguousarray(np.moveaxis(g, 2, 0)), np.ascontiguousarray(np.moveaxis(x, 2, 0)))


def _name(argument: str, what: str, value, known, hint: str = "") -> str:
    """A model/init/fidelity name, case-insensitive; UnknownNameError listing the known ones."""
    name = value.lower() if isinstance(value, str) else None
    if name is None or name not in known:
        raise UnknownNameError(
            f"{argument}: unknown {what} {value!r}; expected one of {', '.join(known)}{hint}"
        )
    return name


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
