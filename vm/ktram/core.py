"""``Core``: the reference emulator's Python API over the Numba kernels.

A core has ``num_lanes`` lanes of ``spaces_per_lane`` spaces; each space is a pair of
``rows x cols`` crossbars (a-side and b-side) addressed flat in ``[0, rows*cols)``. An AAT
names one address per space, or ``None`` to leave that space out of the circuit.
"""

from __future__ import annotations

import numpy as np

from vm import rng as _rng
from vm.ktram import kernels as _k
from vm.ktram.isa import MNEMONICS, OP_TABLE, lookup
from vm.ktram.models import (
    DEVICE_MODELS, MODEL_IDS, MSS, NAMED_INITS, P_GMAX, P_GMIN, P_MSS_ROFF, P_MSS_RON,
    MssParams, build_params,
)
from vm.state import CoreState

MAX_COMPARATOR_CODE = 255
CORE_STATE = ("g", "x", "lane_y", "meters", "rng_state", "rng_spare")  # what defines its future


class Lane:
    """One lane of a core: ``lane.evaluate(aat, "FF")``."""

    __slots__ = ("core", "index")

    def __init__(self, core: Core, index: int):
        self.core = core
        self.index = index

    def evaluate(self, aat, instr: str, noise: float = 0.0) -> float:
        return self.core.evaluate(aat, instr, lane_index=self.index, noise=noise)

    @property
    def y(self) -> float:
        """The lane's retained y (from its last read)."""
        return float(self.core.lane_y[self.index])

    def __repr__(self) -> str:
        return f"Lane({self.index}, y={self.y:+.6f})"


class Core:
    """A kT-RAM core: lanes of differential memristor pairs on one device model.

    ``Core(rows, cols, spaces_per_lane=1, num_lanes=1, model="float", init="medium",
    seed=None, read_noise=0.02)`` as in the reference emulator, plus the voltages (Vf, Vr,
    Vflv, Vrlv), pulse widths, temperature, the optional comparator noise term and the MSS
    device parameters as keyword arguments.
    """

    def __init__(
        self,
        crossbar_rows: int,
        crossbar_cols: int,
        spaces_per_lane: int = 1,
        num_lanes: int = 1,
        model: str = "float",
        init: str = "medium",
        seed: int | None = None,
        read_noise: float = 0.02,
        *,
        Vf: float | None = None,
        Vr: float | None = None,
        Vflv: float | None = None,
        Vrlv: float | None = None,
        pulse_width: float | None = None,
        read_pulse_width: float | None = None,
        temperature: float = 298.0,
        comparator: bool = False,
        comparator_code: int = 10,
        mss: MssParams | None = None,
    ):
        for name, value in (("crossbar_rows", crossbar_rows), ("crossbar_cols", crossbar_cols),
                            ("spaces_per_lane", spaces_per_lane), ("num_lanes", num_lanes)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if model not in MODEL_IDS:
            raise ValueError(f"model: unknown device model {model!r}; expected one of "
                             f"{', '.join(MODEL_IDS)}")
        if init not in NAMED_INITS:
            raise ValueError(f"init: unknown init {init!r}; expected one of {', '.join(NAMED_INITS)}")
        _check_range("read_noise", read_noise, 0.0, None)
        _check_range("temperature", temperature, 0.0, None, low_open=True)
        for name, width in (("pulse_width", pulse_width), ("read_pulse_width", read_pulse_width)):
            if width is not None:
                _check_range(name, width, 0.0, None, low_open=True)
        if not isinstance(comparator_code, (int, np.integer)) or not 0 <= comparator_code <= MAX_COMPARATOR_CODE:
            raise ValueError(f"comparator_code: expected an integer in [0, {MAX_COMPARATOR_CODE}], "
                             f"got {comparator_code!r}")
        for name, volts in (("Vf", Vf), ("Vr", Vr), ("Vflv", Vflv), ("Vrlv", Vrlv)):
            if volts is not None and (not np.isfinite(volts) or volts == 0.0):
                raise ValueError(f"{name}: expected a finite non-zero voltage, got {volts!r}")

        self.rows = int(crossbar_rows)
        self.cols = int(crossbar_cols)
        self.num_addresses = self.rows * self.cols
        self.spaces_per_lane = int(spaces_per_lane)
        self.num_lanes = int(num_lanes)
        self.model = model
        self.model_id = MODEL_IDS[model]
        self.init = init
        self.seed = seed
        self.read_noise = float(read_noise)
        self.mss = mss if mss is not None else MssParams()
        self.params = build_params(
            model, read_noise=float(read_noise), Vf=Vf, Vr=Vr, Vflv=Vflv, Vrlv=Vrlv,
            pulse_width=pulse_width, read_pulse_width=read_pulse_width,
            temperature=float(temperature), comparator=bool(comparator),
            comparator_code=int(comparator_code), mss=self.mss,
        )
        self.ops = OP_TABLE
        shape = (2, self.num_lanes, self.spaces_per_lane, self.num_addresses)
        generator = np.random.default_rng(seed)
        self.g = _initial_conductances(model, init, shape, self.params, generator)
        self.x = np.zeros(shape, dtype=np.float64)
        if self.model_id == MSS:
            self.x[...] = self._mss_fraction(self.g)
        self.lane_y = np.zeros(self.num_lanes, dtype=np.float64)
        self.meters = np.zeros(2, dtype=np.float64)
        # Runtime draws (read noise, MSS switching) come after the init draws, from a
        # kernel stream seeded by the same generator.
        self.rng_state, self.rng_spare = _rng.new_state(generator)
        self._aat_cache: dict[tuple, np.ndarray] = {}
        self._lanes = [Lane(self, i) for i in range(self.num_lanes)]

    # ----------------------------------------------------------------- properties
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
        return CoreState(self.model_id, self.params, self.ops, self.g, self.x, self.lane_y,
                         self.meters, self.rng_state, self.rng_spare)

    def lane(self, index: int) -> Lane:
        self._check_lane(index)
        return self._lanes[index]

    # ----------------------------------------------------------------- execution
    def evaluate(self, aat, instr: str, lane_index: int = 0, noise: float = 0.0) -> float:
        """Run one instruction on a lane; returns y (a feedback returns the retained y).

        ``noise`` is the read-voltage noise dial d in [0, 1]: a read's applied voltage is
        scaled by max(1e-3, 1 - d), which raises its thermal noise and changes its own
        back-action. Feedback ignores it.
        """
        op = lookup(instr).code
        self._check_lane(lane_index)
        _check_range("noise", noise, 0.0, 1.0)
        aat_arr = self._aat_array(aat)
        return float(_k.execute(self.model_id, self.params, self.ops, self.g, self.x, self.lane_y,
                                 self.meters, self.rng_state, self.rng_spare, int(lane_index),
                                 aat_arr, op, float(noise)))

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
        opcodes = np.array([lookup(i).code if isinstance(i, str) else int(i) for i in instructions],
                           dtype=np.int64)
        if opcodes.shape[0] != n:
            raise ValueError(f"instructions: expected {n} (one per step), got {opcodes.shape[0]}")
        if n and (opcodes.min() < 0 or opcodes.max() >= len(MNEMONICS)):
            raise ValueError(f"instructions: opcodes must be in [0, {len(MNEMONICS)})")
        aat_table = self._aat_table(aats, n)
        dials = np.zeros(n) if noise is None else np.broadcast_to(
            np.asarray(noise, dtype=np.float64), (n,)).copy()
        if n and (not np.all(np.isfinite(dials)) or dials.min() < 0.0 or dials.max() > 1.0):
            raise ValueError("noise: every dial must be in [0, 1]")
        out = np.empty(n, dtype=np.float64)
        _k.execute_stream(self.state, lanes, aat_table, np.arange(n, dtype=np.int64), opcodes, dials, out)
        return out

    # ----------------------------------------------------------------- set-up / debug
    def read_gab(self, lane: int, aat):
        """(Ga, Gb) of the one enabled pair, or a list of (Ga, Gb) per enabled space."""
        self._check_lane(lane)
        pairs = [(float(self.g[0, lane, s, a]), float(self.g[1, lane, s, a]))
                 for s, a in enumerate(self._aat_array(aat)) if a >= 0]
        return pairs[0] if len(pairs) == 1 else pairs

    def set_gab(self, lane: int, aat, ga, gb) -> None:
        """Set the conductances of every enabled pair (clamped; byte truncates).

        ``ga``/``gb`` are scalars, or one value per enabled space.
        """
        self._check_lane(lane)
        spaces, addrs = self._enabled(aat)
        for name, value in (("ga", ga), ("gb", gb)):
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != spaces.shape[0]):
                raise ValueError(f"{name}: expected a scalar or {spaces.shape[0]} values "
                                 f"(one per enabled space), got shape {arr.shape}")
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name}: conductances must be finite, got {value!r}")
        self._write_conductances(lane, spaces, addrs, ga, gb)

    def set_start_y(self, lane: int, aat, y0: float = 0.0, level: float = 0.5) -> None:
        """Place every enabled pair at weight y0 with magnitude m = 2*level*GMAX."""
        self._check_lane(lane)
        _check_range("y0", y0, -1.0, 1.0)
        _check_range("level", level, 0.0, None)
        spaces, addrs = self._enabled(aat)
        c = level * self.gmax
        self._write_conductances(lane, spaces, addrs, c * (1.0 + y0), c * (1.0 - y0))

    def weights(self, lane: int, aat) -> tuple[float, float]:
        """(y, m) of a clean read through aat, without touching the devices."""
        self._check_lane(lane)
        spaces, addrs = self._enabled(aat)
        ga, gb = self.g[0, lane, spaces, addrs], self.g[1, lane, spaces, addrs]
        top = float(np.add.accumulate(ga - gb)[-1]) if ga.size else 0.0
        bot = float(np.add.accumulate(ga + gb)[-1]) if ga.size else 0.0
        return (top / bot if bot else 0.0), bot

    # ----------------------------------------------------------------- checkpoint
    def get_state(self) -> dict[str, np.ndarray]:
        """Every array that defines the core's future (copies)."""
        return {name: getattr(self, name).copy() for name in CORE_STATE}

    def set_state(self, state: dict[str, np.ndarray]) -> None:
        restore_arrays(self, CORE_STATE, state)

    # ----------------------------------------------------------------- helpers
    def _check_lane(self, lane) -> None:
        if not isinstance(lane, (int, np.integer)) or isinstance(lane, bool) \
                or not 0 <= lane < self.num_lanes:
            raise ValueError(f"lane: expected an index in [0, {self.num_lanes}), got {lane!r}")

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
            raise ValueError(f"aat: expected {self.spaces_per_lane} entries (one per space), "
                             f"got {len(aat)}: {aat!r}")
        arr = np.empty(self.spaces_per_lane, dtype=np.int64)
        for s, a in enumerate(aat):
            if a is None:
                arr[s] = -1
            elif isinstance(a, (int, np.integer)) and not isinstance(a, bool) \
                    and 0 <= a < self.num_addresses:
                arr[s] = a
            else:
                raise ValueError(f"aat[{s}]: expected an address in [0, {self.num_addresses}) "
                                 f"or None, got {a!r}")
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
                raise ValueError(f"aats[{step}][{space}]: expected an address in "
                                 f"[0, {self.num_addresses}) or -1, got {int(table[step, space])}")
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

    def _mss_fraction(self, g: np.ndarray) -> np.ndarray:
        g_on, g_off = 1.0 / self.params[P_MSS_RON], 1.0 / self.params[P_MSS_ROFF]
        return np.clip((g - g_off) / (g_on - g_off), 0.0, 1.0)

    def __repr__(self) -> str:
        return (f"Core({self.rows}, {self.cols}, spaces_per_lane={self.spaces_per_lane}, "
                f"num_lanes={self.num_lanes}, model={self.model!r}, init={self.init!r}, "
                f"seed={self.seed!r}, read_noise={self.read_noise!r})")


def restore_arrays(owner, names, state: dict, prefix: str = "") -> None:
    """Copy state[prefix + name] into owner.name for every name, after checking all of
    them (shape and dtype), so a bad state changes nothing."""
    pairs = []
    for name in names:
        mine, theirs = getattr(owner, name), np.asarray(state[prefix + name])
        if theirs.shape != mine.shape or theirs.dtype != mine.dtype:
            raise ValueError(f"state[{prefix + name!r}]: expected {mine.dtype}{list(mine.shape)}, "
                             f"got {theirs.dtype}{list(theirs.shape)}")
        pairs.append((mine, theirs))
    for mine, theirs in pairs:
        mine[...] = theirs


def _initial_conductances(model, init, shape, params, generator) -> np.ndarray:
    """g = GMIN + (GMAX-GMIN)*(mean + var*N(0,1)), clamped; byte truncates toward zero.

    Noisy inits draw one standard normal per device in the reference's order: lanes, then
    spaces, then the a-unit's devices, then the b-unit's, each in flat address order.
    """
    mean, var = NAMED_INITS[init]
    gmin, gmax = params[P_GMIN], params[P_GMAX]
    _, lanes, spaces, addrs = shape
    frac = np.full((lanes, spaces, 2, addrs), mean, dtype=np.float64)
    if var > 0:
        frac = mean + var * generator.standard_normal((lanes, spaces, 2, addrs))
    g = np.clip(gmin + (gmax - gmin) * frac, gmin, gmax)
    if DEVICE_MODELS[model].integer:
        g = np.trunc(g)
    return np.ascontiguousarray(np.moveaxis(g, 2, 0))


def _check_range(name, value, low, high, low_open=False) -> None:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
        and np.isfinite(value) and (value > low if low_open else value >= low) \
        and (high is None or value <= high)
    if not ok:
        lo = "(" if low_open else "["
        hi = f"{high}]" if high is not None else "inf)"
        raise ValueError(f"{name}: expected a number in {lo}{low}, {hi}, got {value!r}")
