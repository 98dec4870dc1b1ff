"""Seed 001's wire format: codecs from activations to AATs, the stream of (input AAT,
output AAT) pairs a teacher publishes, and the ledger of what it costs to move.

An AAT here is a row of addresses, one per space, ``-1`` where a space is disabled
(the layout ``LDAAT`` reads). A stream file is an ``.npz`` of plain arrays (no pickles):
``stream_in``, ``stream_out``, ``check_in``, ``check_out`` (named as the target
program's ``.data`` tables) and ``header``, UTF-8 JSON with the format name, version,
both codecs' descriptions and a SHA-256 of the arrays. ``Stream.load`` refuses a file
that is damaged, of another version, or made by other codecs than the target expects.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

FORMAT = "ktasm-aat-stream"
VERSION = 1
TABLES = ("stream_in", "stream_out", "check_in", "check_out")
MAX_STREAM_BYTES = 1 << 30

# The seed's energy of moving bits, E ~ N b r C V^2, with these assumptions (stated in
# the metrics): one access per bit over a 1 pF link (a few mm of wire) at 1 V.
LINK_CAPACITANCE_F = 1e-12
LINK_VOLTS = 1.0
ACCESSES = 1


class StreamError(ValueError):
    """A stream file that is damaged, of another version, or for other codecs."""


# ---------------------------------------------------------------------- codecs
@dataclass
class LevelCodec:
    """Scalar quantisation of each feature to ``levels`` evenly spaced levels between its
    fitted range (vector quantisation with one-dimensional subspaces), plus an always-on
    bias space (address 0) that gives every lane an offset to learn. With ``sparse``, a
    feature at its lowest level disables its space: right for features whose lowest value
    is 0 (a blank pixel adds nothing to W x), and it makes the AAT sparse."""

    lo: np.ndarray
    hi: np.ndarray
    levels: int
    sparse: bool = False

    @classmethod
    def fit(cls, x: np.ndarray, levels: int, sparse: bool = False) -> LevelCodec:
        return cls(x.min(axis=0), x.max(axis=0), int(levels), bool(sparse))

    @property
    def spaces(self) -> int:
        return int(self.lo.size) + 1

    @property
    def addresses(self) -> int:
        return self.levels

    def _scale(self) -> np.ndarray:
        return np.where(self.hi > self.lo, self.hi - self.lo, 1.0)

    def encode(self, x: np.ndarray) -> np.ndarray:
        q = np.clip(np.rint((x - self.lo) / self._scale() * (self.levels - 1)), 0, self.levels - 1)
        if self.sparse:
            q[q == 0] = -1
        return np.column_stack([q, np.zeros(len(x))])

    def decode(self, addresses: np.ndarray) -> np.ndarray:
        return self.lo + np.maximum(addresses[:, :-1], 0) / (self.levels - 1) * self._scale()

    def reconstruction_error(self, x: np.ndarray) -> float:
        """||x - decode(encode(x))||^2 / ||x||^2."""
        return float(((x - self.decode(self.encode(x))) ** 2).sum() / max((x**2).sum(), 1e-300))

    def code_bits(self) -> float:
        return float(np.sum(np.where(self.hi > self.lo, math.log2(self.levels), 0.0)))

    def describe(self) -> dict:
        return {
            "kind": "levels",
            "levels": self.levels,
            "sparse": self.sparse,
            "lo": self.lo.tolist(),
            "hi": self.hi.tolist(),
        }


@dataclass
class ThermometerCodec:
    """Each feature as a thermometer of ``steps`` spaces: its value quantised to 0..steps
    levels between its fitted range, space (feature, j) enabled (address 0) when the level
    is at least j, disabled (-1) otherwise; plus an always-on bias space. A lane's read is
    then a weighted count of the enabled spaces: a linear function of the quantised
    features (what a linear layer computes), and a blank pixel enables nothing (the AAT is
    sparse). A feature's codebook holds steps + 1 codes (log2 of it: its bits)."""

    lo: np.ndarray
    hi: np.ndarray
    steps: int

    @classmethod
    def fit(cls, x: np.ndarray, steps: int) -> ThermometerCodec:
        return cls(x.min(axis=0), x.max(axis=0), int(steps))

    @property
    def features(self) -> int:
        return int(self.lo.size)

    @property
    def spaces(self) -> int:
        return self.features * self.steps + 1

    @property
    def addresses(self) -> int:
        return 1

    def _scale(self) -> np.ndarray:
        return np.where(self.hi > self.lo, self.hi - self.lo, 1.0)

    def levels(self, x: np.ndarray) -> np.ndarray:
        return np.clip(np.rint((x - self.lo) / self._scale() * self.steps), 0, self.steps)

    def encode(self, x: np.ndarray) -> np.ndarray:
        q = self.levels(x)
        on = q[:, :, None] >= np.arange(1, self.steps + 1)[None, None, :]
        bits = np.where(on, 0.0, -1.0).reshape(len(x), -1)
        return np.column_stack([bits, np.zeros(len(x))])

    def decode(self, addresses: np.ndarray) -> np.ndarray:
        count = (addresses[:, :-1] >= 0).reshape(len(addresses), self.features, self.steps).sum(axis=2)
        return self.lo + count / self.steps * self._scale()

    def reconstruction_error(self, x: np.ndarray) -> float:
        """||x - decode(encode(x))||^2 / ||x||^2."""
        return float(((x - self.decode(self.encode(x))) ** 2).sum() / max((x**2).sum(), 1e-300))

    def code_bits(self) -> float:
        """Bits of one input AAT: log2 of each feature's codebook (constant features: 0)."""
        return float(np.sum(np.where(self.hi > self.lo, math.log2(self.steps + 1), 0.0)))

    def describe(self) -> dict:
        return {"kind": "thermometer", "steps": self.steps, "lo": self.lo.tolist(), "hi": self.hi.tolist()}


class _GroupCode:
    """What a code of ``groups`` spaces of ``size`` addresses each, decoded through
    ``centroids`` (groups x size x width), shares: its shape, decoder, error and bits."""

    groups: int
    size: int
    centroids: np.ndarray | None

    @property
    def spaces(self) -> int:
        return self.groups

    @property
    def addresses(self) -> int:
        return self.size

    def encode(self, h: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def decode(self, codes: np.ndarray) -> np.ndarray:
        if self.centroids is None:
            raise ValueError(f"decode needs a fitted {type(self).__name__}")
        return self.centroids[np.arange(self.groups), codes].reshape(len(codes), -1)

    def reconstruction_error(self, h: np.ndarray) -> float:
        return float(((h - self.decode(self.encode(h))) ** 2).sum() / max((h**2).sum(), 1e-300))

    def code_bits(self) -> float:
        return self.groups * math.log2(self.size)


@dataclass
class VQCodec(_GroupCode):
    """Product quantisation: the units split into ``groups`` subspaces of equal width, each
    coded as its nearest of ``size`` k-means centroids (Lloyd's algorithm, fixed seed).
    Nearest centroid c of z is argmax_k (c_k . z - |c_k|^2 / 2): on pre-activations that
    are linear in the input, the code is the argmax of ``size`` linear reads, which a
    group of lanes can reproduce; k-means puts the boundaries where examples are few."""

    groups: int
    size: int
    centroids: np.ndarray | None = None  # groups x size x width
    seed: int = 0

    def fit(self, h: np.ndarray, iterations: int = 50, labels: np.ndarray | None = None) -> VQCodec:
        """k-means per subspace; with ``labels`` (the teacher's own output on h), each
        label value gets size / values centroids, fitted on its examples alone, so a code
        tells the labels apart (the code is still the nearest centroid of z)."""
        blocks = h.reshape(len(h), self.groups, -1)
        rng = np.random.default_rng([self.seed, 0x9C0D])
        if labels is None:
            parts = [(np.ones(len(h), dtype=bool), self.size)]
        else:
            values = np.unique(labels)
            if self.size % len(values):
                raise ValueError(
                    f"a VQCodec of size {self.size} cannot split evenly over {len(values)} labels"
                )
            parts = [(labels == v, self.size // len(values)) for v in values]
        centroids = np.stack(
            [
                np.concatenate([_kmeans(blocks[chosen, g], k, iterations, rng) for chosen, k in parts])
                for g in range(self.groups)
            ]
        )
        return VQCodec(self.groups, self.size, centroids, self.seed)

    def scores(self, h: np.ndarray) -> np.ndarray:
        """c_k . z - |c_k|^2 / 2 per (example, group, centroid): the code is its argmax."""
        if self.centroids is None:
            raise ValueError("a VQCodec must be fitted first")
        blocks = h.reshape(len(h), self.groups, -1)
        return np.einsum("ngd,gkd->ngk", blocks, self.centroids) - 0.5 * (self.centroids**2).sum(axis=2)

    def encode(self, h: np.ndarray) -> np.ndarray:
        return self.scores(h).argmax(axis=2)

    def describe(self) -> dict:
        return {"kind": "vq", "groups": self.groups, "size": self.size}


def _kmeans(v: np.ndarray, k: int, iterations: int, rng) -> np.ndarray:
    """Lloyd's k-means with k-means++ seeding; an emptied cluster is reseeded at the
    point farthest from its centroid."""
    centroids = [v[rng.integers(len(v))]]
    for _ in range(1, k):
        d = np.min([((v - c) ** 2).sum(axis=1) for c in centroids], axis=0)
        centroids.append(v[rng.choice(len(v), p=d / d.sum()) if d.sum() > 0 else rng.integers(len(v))])
    c = np.array(centroids)
    for _ in range(iterations):
        dist = ((v[:, None, :] - c[None]) ** 2).sum(axis=2)
        label = dist.argmin(axis=1)
        for j in range(k):
            members = v[label == j]
            c[j] = members.mean(axis=0) if len(members) else v[dist.min(axis=1).argmax()]
    return c


@dataclass
class AddressCodec:
    """An upstream transform's output AAT used as this transform's input, as it is, plus
    the bias space."""

    groups: int
    size: int

    @property
    def spaces(self) -> int:
        return self.groups + 1

    @property
    def addresses(self) -> int:
        return self.size

    def encode(self, codes: np.ndarray) -> np.ndarray:
        return np.column_stack([codes.astype(np.float64), np.zeros(len(codes))])

    def code_bits(self) -> float:
        return self.groups * math.log2(self.size)

    def describe(self) -> dict:
        return {"kind": "addresses", "groups": self.groups, "size": self.size}


@dataclass
class WinnerCodec(_GroupCode):
    """Winners per group: the units split into ``groups`` blocks of ``size``; a block's
    address is its most active unit. ``fit`` learns each (block, winner)'s mean activation,
    the decoder that measures what the code loses."""

    groups: int
    size: int
    centroids: np.ndarray | None = None  # groups x size x size

    def fit(self, h: np.ndarray) -> WinnerCodec:
        blocks = h.reshape(len(h), self.groups, self.size)
        codes = blocks.argmax(axis=2)
        centroids = np.zeros((self.groups, self.size, self.size))
        for g in range(self.groups):
            for a in range(self.size):
                chosen = blocks[codes[:, g] == a, g]
                if len(chosen):
                    centroids[g, a] = chosen.mean(axis=0)
        return WinnerCodec(self.groups, self.size, centroids)

    def encode(self, h: np.ndarray) -> np.ndarray:
        return h.reshape(len(h), self.groups, self.size).argmax(axis=2)

    def describe(self) -> dict:
        return {"kind": "winners", "groups": self.groups, "size": self.size}


def jaccard(emitted: np.ndarray, wanted: np.ndarray) -> float:
    """Mean Jaccard overlap of two sets of AATs (rows x groups of addresses), an AAT taken
    as its set of (space, address) pairs: m matching spaces of G give m / (2 G - m)."""
    m = (np.asarray(emitted) == np.asarray(wanted)).sum(axis=1)
    groups = emitted.shape[1]
    return float(np.mean(m / (2 * groups - m)))


def aat_bits(addresses: np.ndarray, spaces: int, per_space: int) -> int:
    """The seed's cost of sending AATs: k active addresses among A = spaces x per_space
    cost k log2(A) bits each."""
    active = int((np.asarray(addresses) >= 0).sum())
    return int(math.ceil(active * math.log2(spaces * per_space)))


def ledger(bits_streamed: int, weight_bits: int) -> dict:
    """Bits and the seed's energy E ~ N b r C V^2 (N b = the bits) for both ways of moving
    a transform."""
    per_bit = ACCESSES * LINK_CAPACITANCE_F * LINK_VOLTS**2
    return {
        "bits_streamed": int(bits_streamed),
        "weight_bits": int(weight_bits),
        "energy_streamed_j": bits_streamed * per_bit,
        "energy_weights_j": weight_bits * per_bit,
        "ledger_assumptions": {
            "capacitance_f": LINK_CAPACITANCE_F,
            "volts": LINK_VOLTS,
            "accesses": ACCESSES,
        },
    }


# ---------------------------------------------------------------------- the stream
@dataclass
class Stream:
    """A transform's examples as AAT pairs: the pairs to learn and the held-out pairs a
    target checks itself on, with the codecs that made them."""

    input_codec: LevelCodec | ThermometerCodec | AddressCodec
    output_codec: WinnerCodec | VQCodec
    inputs: np.ndarray
    outputs: np.ndarray
    check_inputs: np.ndarray
    check_outputs: np.ndarray

    @classmethod
    def from_teacher(cls, input_codec, output_codec, x, transform, x_check) -> Stream:
        """Publish transform (inputs -> activations) on x, and on x_check to check against."""
        return cls(
            input_codec,
            output_codec,
            input_codec.encode(x),
            output_codec.encode(transform(x)),
            input_codec.encode(x_check),
            output_codec.encode(transform(x_check)),
        )

    def bits(self) -> int:
        """What the stream costs to send once: both AATs of every pair, held-out pairs
        included, each AAT at its codecs' fixed-length cost (log2 of each group's codebook:
        ``code_bits``). A target that replays the stored file for several passes receives
        it once."""
        pairs = len(self.inputs) + len(self.check_inputs)
        return int(math.ceil(pairs * (self.input_codec.code_bits() + self.output_codec.code_bits())))

    def tables(self) -> dict[str, np.ndarray]:
        return dict(
            zip(
                TABLES,
                (
                    np.asarray(self.inputs, dtype=np.float64),
                    np.asarray(self.outputs, dtype=np.float64),
                    np.asarray(self.check_inputs, dtype=np.float64),
                    np.asarray(self.check_outputs, dtype=np.float64),
                ),
                strict=True,
            )
        )

    def header(self) -> dict:
        return {
            "format": FORMAT,
            "version": VERSION,
            "input_codec": self.input_codec.describe(),
            "output_codec": self.output_codec.describe(),
            "checksum": _checksum(self.tables()),
        }

    def save(self, path) -> None:
        blob = np.frombuffer(json.dumps(self.header()).encode(), dtype=np.uint8)
        arrays: dict[str, Any] = {"header": blob, **self.tables()}
        with open(path, "wb") as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path, input_codec, output_codec) -> Stream:
        """Read a stream for a target that expects these codecs; StreamError naming the
        problem for a damaged, foreign or mismatched file."""
        from vm.archive import read_npz

        try:
            arrays = read_npz(path, MAX_STREAM_BYTES, "AAT stream")
        except ValueError as exc:
            raise StreamError(str(exc)) from None
        header = _header(arrays, path)
        missing = [t for t in TABLES if t not in arrays]
        if missing:
            raise StreamError(f"{path}: not an AAT stream: no {', '.join(missing)}")
        tables = {t: np.asarray(arrays[t], dtype=np.float64) for t in TABLES}
        if header.get("checksum") != _checksum(tables):
            raise StreamError(f"{path}: the stream is damaged (its checksum does not match its arrays)")
        for side, codec in (("input", input_codec), ("output", output_codec)):
            if header.get(f"{side}_codec") != codec.describe():
                raise StreamError(
                    f"{path}: made by another {side} codec than this target's "
                    f"({header.get(f'{side}_codec', {}).get('kind')!r}, expected {codec.describe()['kind']!r} "
                    "with the same parameters)"
                )
        stream = cls(input_codec, output_codec, *(tables[t] for t in TABLES))
        stream.check_shapes(path)
        return stream

    def check_shapes(self, where="stream") -> None:
        cin, cout = self.input_codec, self.output_codec
        for name, rows, width, top in (
            ("stream_in", self.inputs, cin.spaces, cin.addresses),
            ("check_in", self.check_inputs, cin.spaces, cin.addresses),
            ("stream_out", self.outputs, cout.spaces, cout.addresses),
            ("check_out", self.check_outputs, cout.spaces, cout.addresses),
        ):
            if rows.ndim != 2 or rows.shape[1] != width:
                raise StreamError(f"{where}: {name} has shape {rows.shape}, expected (pairs, {width})")
            low = -1 if name.endswith("_in") else 0
            if rows.size and not (np.isfinite(rows).all() and rows.min() >= low and rows.max() < top):
                raise StreamError(f"{where}: {name} holds addresses outside [{low}, {top})")
        if len(self.inputs) != len(self.outputs) or len(self.check_inputs) != len(self.check_outputs):
            raise StreamError(f"{where}: inputs and outputs have different numbers of pairs")


def _checksum(tables: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in TABLES:
        a = np.ascontiguousarray(tables[name], dtype="<f8")
        digest.update(name.encode() + repr(a.shape).encode() + a.tobytes())
    return digest.hexdigest()


def _header(arrays: dict, path) -> dict:
    if "header" not in arrays:
        raise StreamError(f"{path}: not an AAT stream (no header)")
    try:
        header = json.loads(np.asarray(arrays["header"], dtype=np.uint8).tobytes().decode())
    except (ValueError, UnicodeDecodeError):
        raise StreamError(f"{path}: the stream's header is not readable") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise StreamError(
            f"{path}: not an AAT stream (format {header.get('format') if isinstance(header, dict) else None!r})"
        )
    if header.get("version") != VERSION:
        raise StreamError(
            f"{path}: AAT stream version {header.get('version')!r}; this ktasm reads version {VERSION}"
        )
    return header
