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

from vm import config as _config
from vm import rng as _rng
from vm.config import CORE_ARGUMENT_ALIASES
from vm.ktram import kernels as _k
from vm.ktram.aat import AatParser
from vm.ktram.isa import MNEMONICS, UnknownNameError, lookup, op_table
from vm.ktram.models import (
    COMPARATOR_CODE,
    COMPARATOR_CODE_MAX,
    COMPARATOR_ENABLED,
    DEVICE_MODELS,
    FIDELITIES,
    FLICKER_DECADES,
    MODEL_IDS,
    NAMED_INITS,
    NOISE_FLICKER,
    NOISE_THERMAL,
    P_GMAX,
    P_GMIN,
    READ_NOISE,
    ROOM_TEMPERATURE_K,
    MSSProfile,
    build_params,
    conductance_range,
    mss_profile,
)
from vm.ktram.nonideal import ROW_HELP, NonIdeal
from vm.ktram.settings import SETTINGS, VOLTAGES, ReferenceSettings, _check_range, _checked, _is_number
from vm.ktram.views import Lane
from vm.state import CoreState

MAX_COMPARATOR_CODE = COMPARATOR_CODE_MAX
# what defines its future
CORE_STATE = ("g", "x", "lane_y", "meters", "rng_state", "rng_spare", "per_device")


class Core(ReferenceSettings):
    """A kT-RAM core: lanes of differential memristor pairs on one device model.

    ``Core(crossbar_rows, crossbar_cols, spaces_per_lane=1, num_lanes=1, model="float",
    init="medium", seed=None, read_noise=0.02, **keywords)``: the reference emulator's
    keywords under its names and defaults (fidelity, profile, the four voltages, pulse_width,
    read_pulse_width, noise_thermal, noise_flicker, temperature, read_noise_ref_m,
    read_noise_ref_pw, flicker_decades, comparator_enabled, comparator_code), plus
    ``convention`` ("project": FU/FA of the published table; "reference": the reference's,
    swapped). Positional arguments after ``model`` follow this project's order (init, seed,
    read_noise); the reference's sixth is ``fidelity``, so pass the rest by keyword.

    The devices' non-idealities, all off by default (docs/devices.md, "kT-RAM devices that
    age and fail"): ``d2d`` (relative spread of each device's GMAX, GMIN and step, drawn once), ``c2c``
    (relative spread of each switching event's step), ``stuck`` (fraction of devices no
    drive moves; ``stuck_high`` of them at GMAX, the rest at GMIN), ``endurance`` (a device
    moves on its first N switching events only; 0 = unlimited), ``drift``, ``drift_spread``
    and ``drift_t0`` (G(t) = G(t_w) ((t - t_w + T0)/T0)^-nu since each device's last write,
    nu ~ N(drift, drift_spread) per device) and ``adc_bits`` (lane reads quantised to
    2**B levels over [-1, 1]; 0 = off).
    """

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
        d2d: float | None = None,
        c2c: float | None = None,
        stuck: float | None = None,
        stuck_high: float | None = None,
        endurance: int | None = None,
        drift: float | None = None,
        drift_spread: float | None = None,
        drift_t0: float | None = None,
        adc_bits: int | None = None,
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
        self.nonideal = _nonideal(
            d2d=d2d,
            c2c=c2c,
            stuck=stuck,
            stuck_high=stuck_high,
            endurance=endurance,
            drift=drift,
            drift_spread=drift_spread,
            drift_t0=drift_t0,
            adc_bits=adc_bits,
        )
        self.params = build_params(model_name, profile=self._mss, nonideal=self.nonideal, **self._settings)
        self._ideal, self._drifts = not self.nonideal.on, self.nonideal.drifts

        shape = (2, self.num_lanes, self.spaces_per_lane, self.num_addresses)
        generator = np.random.default_rng(seed)
        fractions = _initial_fractions(init_name, shape, generator)
        # Runtime draws (read noise, MSS switching) come after the init draws, from a
        # kernel stream seeded by the same generator.
        self.rng_state, self.rng_spare = _rng.new_state(generator)
        # then the devices' non-idealities, each from a generator of its own seeded from the
        # same one, so an ideal core's init and stream are the same with them or without
        nonideal_seed = int(generator.integers(0, 2**63)) if self.nonideal.devices_on else 0
        self.per_device = self.nonideal.draw(
            shape, self.gmin, self.gmax, DEVICE_MODELS[model_name].integer, nonideal_seed
        )
        self.g, self.x = _initial_conductances(
            model_name, fractions, self.gmin, self.gmax, self._mss, self.nonideal, self.per_device
        )
        self.lane_y = np.zeros(self.num_lanes, dtype=np.float64)
        self.meters = np.zeros(2, dtype=np.float64)
        self._aats = AatParser(self.spaces_per_lane, self.num_addresses)
        self._lanes = [Lane(self, i) for i in range(self.num_lanes)]
        self._state = self._bundle()

    # ----------------------------------------------------------------- properties
    @property
    def rows(self) -> int:
        """Rows of each unit crossbar (the reference's ``crossbar_rows``)."""
        return self.crossbar_rows

    @property
    def cols(self) -> int:
        """Columns of each unit crossbar (the reference's ``crossbar_cols``)."""
        return self.crossbar_cols

    @property
    def gmin(self) -> float:
        """The model's smallest conductance."""
        return float(self.params[P_GMIN])

    @property
    def gmax(self) -> float:
        """The model's largest conductance."""
        return float(self.params[P_GMAX])

    @property
    def ga(self) -> np.ndarray:
        """a-side conductances, shape (lanes, spaces, addresses) (a view)."""
        return self.g[0]

    @property
    def gb(self) -> np.ndarray:
        """The b-side conductances, [lane, space, address] (a view)."""
        return self.g[1]

    @property
    def modeled_time_s(self) -> float:
        """Modeled physical time of every instruction run so far, in seconds."""
        return float(self.meters[0])

    @property
    def modeled_energy_j(self) -> float:
        """Modeled energy of every instruction run so far, in joules."""
        return float(self.meters[1])

    @property
    def device_rows(self) -> tuple[str, ...]:
        """The names of the per-device rows this core keeps (``device_values``); none
        when every non-ideality is off."""
        return self.nonideal.rows()

    def device_values(self, name: str) -> np.ndarray:
        """One per-device row as an array [side, lane, space, address] (a view): gmin,
        gmax, step (d2d), stuck (+1 at GMAX, -1 at GMIN, 0 healthy), events (switching
        events so far), nu, t_w, g_w (drift). KeyError naming the key that keeps it when
        this core does not."""
        if name not in ROW_HELP:
            raise KeyError(f"{name!r}: not a per-device row; expected one of {', '.join(ROW_HELP)}")
        row = self.nonideal.row(name)
        if row < 0:
            raise KeyError(f"{name!r}: this core keeps no such row ({ROW_HELP[name]})")
        return self.per_device[row]

    @property
    def state(self) -> CoreState:
        """The core's arrays as the kernels' bundle (views: the kernels update the core).
        Built once: the arrays are updated in place (set_state, setters), never replaced."""
        return self._state

    def lane(self, index: int = 0) -> Lane:
        """A ``Lane`` view of lane index (``core.lane(2).evaluate(aat, 'FF')``)."""
        self._check_lane(index)
        return self._lanes[index]

    # ----------------------------------------------------------------- execution
    def evaluate(self, aat, instruction, lane_index: int = 0, noise: float = 0.0) -> float:
        """Run one instruction on a lane; returns y (a feedback returns the retained y).

        ``noise`` is the read-voltage noise dial d in [0, 1]: a read's applied voltage is
        scaled by max(1e-3, 1 - d), which raises its thermal noise and changes its own
        back-action. Feedback ignores it.
        """
        # Fast path for the common arguments (a mnemonic seen before, an int lane, a float
        # dial, an AAT tuple parsed before); anything else takes the checks that explain it.
        op = _OPCODES.get(instruction) if type(instruction) is str else None
        if op is None:
            op = _opcode(instruction)
        if type(lane_index) is not int or not 0 <= lane_index < self.num_lanes:
            self._check_lane(lane_index)
            lane_index = int(lane_index)
        if type(noise) is not float or not 0.0 <= noise <= 1.0:
            _check_range("noise", noise, 0.0, 1.0)
            noise = float(noise)
        aat_arr = self._aats._cache.get(aat) if type(aat) is tuple else None
        if aat_arr is None:
            aat_arr = self._aats.array(aat)
        if not self._ideal:
            y = float(_k.execute_nonideal(*self._state, lane_index, aat_arr, op, noise))
            self.sync()
            return y
        ideal = self._state[:-1]  # the ideal kernel takes no per-device array
        entry = self.__dict__.get("_execute_entry")
        if entry is None:
            entry = self._execute_entry = _entry_point(
                _k.execute_ideal, (*ideal, lane_index, aat_arr, op, noise)
            )
        return entry(*ideal, lane_index, aat_arr, op, noise)

    def execute_stream(self, lanes, aats, instructions, noise=None, aat_index=None) -> np.ndarray:
        """Run a whole stream in one compiled call; returns the y of every step.

        ``lanes``: int per step; ``instructions``: mnemonics or opcodes (an int array is
        taken as it is); ``noise``: None, one dial, or one per step. ``aats``: one AAT per
        step (sequences with None, or an int array of shape (steps, spaces) with -1 for a
        disabled space), or, with ``aat_index`` (an int per step), a table of AATs that
        step i reads row ``aat_index[i]`` of (the same AATs repeated need not be copied).
        """
        lanes = np.ascontiguousarray(lanes, dtype=np.int64)
        n = lanes.shape[0]
        if lanes.ndim != 1:
            raise ValueError("lanes: expected one lane index per step")
        if n and (lanes.min() < 0 or lanes.max() >= self.num_lanes):
            bad = int(lanes[(lanes < 0) | (lanes >= self.num_lanes)][0])
            raise ValueError(f"lanes: lane {bad} out of range [0, {self.num_lanes})")
        opcodes = _opcodes(instructions)
        if opcodes.shape[0] != n:
            raise ValueError(f"instructions: expected {n} (one per step), got {opcodes.shape[0]}")
        if n and (opcodes.min() < 0 or opcodes.max() >= len(MNEMONICS)):
            raise ValueError(f"instructions: opcodes must be in [0, {len(MNEMONICS)})")
        if aat_index is None and not isinstance(aats, np.ndarray):
            # one AAT per step: each distinct one parsed once, the steps index a table of them
            rows = aats if isinstance(aats, list) else list(aats)
            if len(rows) != n:
                raise ValueError(f"aats: expected {n} (one per step), got {len(rows)}")
            distinct: dict = {}
            try:
                aat_index = np.fromiter(
                    (distinct.setdefault(a, len(distinct)) for a in rows), dtype=np.int64, count=n
                )
                aats = list(distinct)
            except TypeError:  # unhashable AATs (lists, arrays): a row for every step
                aat_index = None
                aats = rows
        if aat_index is None:
            aat_table = self._aats.table(aats, n)
            index = np.arange(n, dtype=np.int64)
        else:
            count = aats.shape[0] if isinstance(aats, np.ndarray) else len(aats)
            aat_table = self._aats.table(aats, count)
            index = np.ascontiguousarray(aat_index, dtype=np.int64)
            if index.shape != (n,):
                raise ValueError(f"aat_index: expected {n} (one per step), got shape {index.shape}")
            if n and (index.min() < 0 or index.max() >= count):
                bad = int(index[(index < 0) | (index >= count)][0])
                raise ValueError(f"aat_index: row {bad} out of range [0, {count}) of the AAT table")
        dials = (
            np.zeros(n)
            if noise is None
            else np.broadcast_to(np.asarray(noise, dtype=np.float64), (n,)).copy()
        )
        if n and (not np.all(np.isfinite(dials)) or dials.min() < 0.0 or dials.max() > 1.0):
            raise ValueError("noise: every dial must be in [0, 1]")
        out = np.empty(n, dtype=np.float64)
        _k.execute_stream(self.state, lanes, aat_table, index, opcodes, dials, out)
        self.sync()
        return out

    def age(self, seconds: float) -> None:
        """Let seconds of modeled time pass with no drive (the ``AGE`` instruction): the
        time meter advances, the energy meter does not, drift acts."""
        if not _is_number(seconds) or not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"seconds: expected a finite number >= 0, got {seconds!r}")
        _k.age(self.params, self.g, self.per_device, self.meters, float(seconds))

    def sync(self) -> None:
        """Bring every device's ``g`` to the present under drift (the kernels keep each
        device's conductance at its last write and bring up to date those they touch);
        nothing without drift. The runs and set-up calls end with it."""
        if self._drifts:
            _k.sync(self.params, self.g, self.per_device, float(self.meters[0]))

    # ----------------------------------------------------------------- set-up / debug
    def read_gab(self, lane_index: int, aat):
        """(Ga, Gb) of the one enabled pair, or a list of (Ga, Gb) per enabled space."""
        self._check_lane(lane_index)
        pairs = [
            (float(self.g[0, lane_index, s, a]), float(self.g[1, lane_index, s, a]))
            for s, a in enumerate(self._aats.array(aat))
            if a >= 0
        ]
        return pairs[0] if len(pairs) == 1 else pairs

    def set_gab(self, lane_index: int, aat, ga, gb) -> None:
        """Set the conductances of every enabled pair (clamped; byte truncates).

        ``ga``/``gb`` are scalars, or one value per enabled space.
        """
        self._check_lane(lane_index)
        spaces, addrs = self._aats.enabled(aat)
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
        spaces, addrs = self._aats.enabled(aat)
        c = level * self.gmax
        self._write_conductances(lane_index, spaces, addrs, c * (1.0 + y0), c * (1.0 - y0))

    def weights(self, lane_index: int, aat) -> tuple[float, float]:
        """(y, m) of a clean read through aat, without touching the devices."""
        self._check_lane(lane_index)
        spaces, addrs = self._aats.enabled(aat)
        ga, gb = self.g[0, lane_index, spaces, addrs], self.g[1, lane_index, spaces, addrs]
        top = float(np.add.accumulate(ga - gb)[-1]) if ga.size else 0.0
        bot = float(np.add.accumulate(ga + gb)[-1]) if ga.size else 0.0
        return (top / bot if bot else 0.0), bot

    # ----------------------------------------------------------------- checkpoint
    def get_state(self) -> dict[str, np.ndarray]:
        """Every array that defines the core's future (copies)."""
        return {name: getattr(self, name).copy() for name in CORE_STATE}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        """Restore ``get_state()``'s arrays (shapes and dtypes checked)."""
        restore_arrays(self, CORE_STATE, state)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_state"]  # rebuilt from the arrays it views
        state.pop("_execute_entry", None)  # a compiled function, found again on use
        state["_aats"] = AatParser(self.spaces_per_lane, self.num_addresses)  # its cache is rebuilt on use
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._state = self._bundle()  # the unpickled arrays

    def _bundle(self) -> CoreState:
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
            self.per_device,
        )

    # ----------------------------------------------------------------- helpers
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

    def _write_conductances(self, lane, spaces, addrs, ga, gb) -> None:
        ga = np.broadcast_to(np.asarray(ga, dtype=np.float64), spaces.shape)
        gb = np.broadcast_to(np.asarray(gb, dtype=np.float64), spaces.shape)
        t = float(self.meters[0])
        for s, a, va, vb in zip(spaces.tolist(), addrs.tolist(), ga.tolist(), gb.tolist(), strict=True):
            _k.set_pair(self.model_id, self.params, self.g, self.x, self.per_device, t, lane, s, a, va, vb)

    def __repr__(self) -> str:
        return (
            f"Core({self.crossbar_rows}, {self.crossbar_cols}, spaces_per_lane={self.spaces_per_lane}, "
            f"num_lanes={self.num_lanes}, model={self.model!r}, init={self.init!r}, "
            f"seed={self.seed!r}, read_noise={self.read_noise!r})"
        )

    def _repr_html_(self) -> str:
        """The lanes' y and every pair's Ga, Gb, m and w (capped), as HTML tables."""
        from vm.display import core_html

        return core_html(self)


# Opcodes by mnemonic as given (any case), filled on first use: one dict look-up a call.
_OPCODES: dict[str, int] = {}


def _opcode(instruction) -> int:
    """The opcode of a mnemonic (any case) or an instruction; UnknownNameError if none."""
    code = lookup(instruction).code
    if isinstance(instruction, str) and len(_OPCODES) < 1024:
        _OPCODES[instruction] = code
    return code


def _opcodes(instructions) -> np.ndarray:
    """int64 opcodes of a stream: an int array as it is, else one look-up per step."""
    if isinstance(instructions, np.ndarray) and instructions.dtype.kind in "iu":
        return np.ascontiguousarray(instructions, dtype=np.int64).reshape(-1)
    known = _OPCODES

    def code(i):
        op = known.get(i) if type(i) is str else None
        if op is not None:
            return op
        return int(i) if isinstance(i, (int, np.integer)) else _opcode(i)

    return np.fromiter(map(code, instructions), dtype=np.int64)


def _entry_point(dispatcher, args):
    """The compiled entry of dispatcher for these arguments' types (compiled, or loaded
    from the cache, if need be): calling it skips the dispatcher's type resolution (about a
    third of a one-space evaluate). Only for arguments whose types never change."""
    return dispatcher.compile(tuple(dispatcher.typeof_pyval(a) for a in args))


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


def _initial_fractions(init, shape, generator) -> np.ndarray:
    """Each device's place in its conductance range, [side, lane, space, address]: the
    named init's mean, plus var * N(0, 1) for a noisy init, drawn in the reference's order:
    lanes, then spaces, then the a-unit's devices, then the b-unit's, each in flat address
    order."""
    mean, var = NAMED_INITS[init]
    _, lanes, spaces, addrs = shape
    frac = np.full((lanes, spaces, 2, addrs), mean, dtype=np.float64)
    if var > 0:
        frac = mean + var * generator.standard_normal((lanes, spaces, 2, addrs))
    return np.moveaxis(frac, 2, 0)


def _initial_conductances(model, frac, gmin, gmax, mss: MSSProfile, nonideal: NonIdeal, per_device):
    """(g, x): g = GMIN + (GMAX-GMIN)*frac, clamped; byte truncates toward zero; an MSS
    device is stored as a whole-ohm resistance (the reference's rounding), its switched
    fraction x following from it and g from x.

    Under d2d each device's own range (an MSS device's x is then frac, clamped); stuck
    devices at their GMAX or GMIN; under drift each device's g_w is its g, written at 0 s."""
    lo, hi = gmin, gmax
    if nonideal.d2d > 0:
        lo, hi = per_device[nonideal.row("gmin")], per_device[nonideal.row("gmax")]
    g = np.clip(lo + (hi - lo) * frac, lo, hi)
    x = np.zeros_like(g)
    if DEVICE_MODELS[model].integer:
        g = np.trunc(g)
    elif model == "mss" and nonideal.d2d > 0:
        x = np.clip(frac, 0.0, 1.0)
        g = x * hi + (1.0 - x) * lo
    elif model == "mss":
        r = np.clip(np.floor(1.0 / g + 0.5), mss.Ron, mss.Roff)
        x = np.clip((mss.Ron * (r - mss.Roff)) / (r * (mss.Ron - mss.Roff)), 0.0, 1.0)
        g = x / mss.Ron + (1.0 - x) / mss.Roff
    if nonideal.stuck > 0:
        stuck = per_device[nonideal.row("stuck")]
        g = np.where(stuck > 0, hi, np.where(stuck < 0, lo, g))
        if model == "mss":
            x = np.where(stuck > 0, 1.0, np.where(stuck < 0, 0.0, x))
    if nonideal.drifts:
        per_device[nonideal.row("g_w")] = g
    return np.ascontiguousarray(g), np.ascontiguousarray(x)


def _nonideal(**given) -> NonIdeal:
    """The non-idealities given to Core(...), each checked by its .core key's row (None:
    the default); ValueError names the keyword."""
    values = {}
    for name, value in given.items():
        if value is None:
            continue
        spec = _config.BY_KEY[name]
        if not _is_number(value):
            raise ValueError(f"{name}: expected a number, got {value!r}")
        problem = spec.check(value)
        if problem:
            raise ValueError(problem)
        values[name] = spec.convert(value)
    return NonIdeal(**values)


def _name(argument: str, what: str, value, known, hint: str = "") -> str:
    """A model/init/fidelity name, case-insensitive; UnknownNameError listing the known ones."""
    name = value.lower() if isinstance(value, str) else None
    if name is None or name not in known:
        raise UnknownNameError(
            f"{argument}: unknown {what} {value!r}; expected one of {', '.join(known)}{hint}"
        )
    return name
