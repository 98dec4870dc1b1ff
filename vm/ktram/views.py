"""Object views of a core's lanes, spaces and devices, as the reference emulator exposes them
(``core.lane(i)``, ``lane.spaces[s].a.device_at(addr)``): each reads and writes the core's
arrays, so the kernels and the views always agree."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from vm.ktram import kernels as _k
from vm.ktram.models import MSS
from vm.ktram.settings import _check_range, _is_number

if TYPE_CHECKING:
    from vm.ktram.core import Core


class Lane:
    """One lane of a core: ``lane.evaluate(aat, "FF")``."""

    __slots__ = ("core", "index")

    def __init__(self, core: Core, index: int):
        self.core = core
        self.index = index

    def evaluate(self, aat, instruction, noise: float = 0.0) -> float:
        """Run one kT-RAM instruction (``'FF'``, ``'RH'``, ...) through aat on this lane; returns y (see
        ``Core.evaluate``)."""
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
        """Set the conductance (clamped; byte truncates; MSS through its resistance; a
        stuck or worn-out device keeps its own)."""
        if not _is_number(g) or not math.isfinite(g):
            raise ValueError(f"g: conductances must be finite, got {g!r}")
        c = self.core
        _k.set_device(
            c.model_id,
            c.params,
            c.g,
            c.x,
            c.per_device,
            float(c.meters[0]),
            self.side,
            self.lane,
            self.space,
            self.address,
            float(g),
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
