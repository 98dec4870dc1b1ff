"""Looking at the core and the reads: ``.state``, ``.show``, ``.history``, ``.plot``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ktasm.repl.commands.args import lane_argument, one_argument
from ktasm.repl.commands.registry import CommandError, command
from ktasm.repl.format import SHOW_FIELDS, Pair, enabled_pairs, pair_table, sparkline

if TYPE_CHECKING:
    from ktasm.repl.engine import Session
    from ktasm.repl.state import Read

STATE_ALL_LIMIT = 64  # .state lists every pair of a lane up to this many
HISTORY_WIDTH = 60  # .history draws the last this many reads of a lane


@command("state", ".state [lane] [all]", "a table of the lane's pairs: Ga, Gb, m = Ga+Gb, w", "lane")
def print_state(session: Session, args: list[str], cols: list[int]) -> None:
    machine = session.machine
    core = machine.core
    lane, show_all = session.state.last_lane, False
    for arg, col in zip(args, cols, strict=True):
        if arg.lower() == "all":
            show_all = True
            continue
        lane = lane_argument(arg, col, core.num_lanes, "or 'all'")
    names: dict[Pair, list[str]] = {}
    for row, name in enumerate(machine.program.aat_names):
        for pair in enabled_pairs(machine.aats[row]):
            names.setdefault(pair, []).append(name)
    every = [(s, a) for s in range(core.spaces_per_lane) for a in range(core.num_addresses)]
    pairs = every if show_all or len(every) <= STATE_ALL_LIMIT else sorted(names)
    session.out(
        f"L{lane}  y = {float(core.lane_y[lane]):+.6f}  ({core.model}; GMAX {core.gmax:.4g}, "
        f"GMIN {core.gmin:.4g}{_nonideal_text(core)})"
    )
    wear: dict[str, np.ndarray] = {
        name: core.device_values(name) for name in ("events", "stuck") if name in core.device_rows
    }
    session.out("\n".join(pair_table(core.g, lane, pairs, names, wear)))
    if len(pairs) < len(every):
        hidden = len(every) - len(pairs)
        session.out(f"  ({hidden} more pairs outside the declared AATs: .state L{lane} all)")


def _nonideal_text(core) -> str:
    """The core's non-idealities as .core keys ('' when ideal)."""
    given = core.nonideal.given()
    return ("; " + " ".join(f"{k}={v:g}" for k, v in given.items())) if given else ""


@command(
    "show",
    ".show [y] [ga] [gb] [m] [w] | all",
    "what an instruction on a pair prints (default y; m and w: the AAT's read; ga, gb: a table of its pairs)",
    "show",
)
def set_show(session: Session, args: list[str], cols: list[int]) -> None:
    state = session.state
    if args:
        fields = set()
        for arg, col in zip(args, cols, strict=True):
            if arg.lower() == "all":
                fields |= set(SHOW_FIELDS)
            elif arg.lower() in SHOW_FIELDS:
                fields.add(arg.lower())
            else:
                raise CommandError(
                    f"unknown field {arg!r}: expected {', '.join(SHOW_FIELDS)} or all", col, col + len(arg)
                )
        state.show = fields | {"y"}
    session.out("show " + " ".join(f for f in SHOW_FIELDS if f in state.show))


@command("history", ".history [lane]", "a sparkline of y per read, per lane")
def print_history(session: Session, args: list[str], cols: list[int]) -> None:
    history = session.state.history
    if not history:
        session.out("no reads yet (each FF, RF, FFLV, RFLV, fused read or COIN adds one)")
        return
    reads = reads_by_lane(history)
    lanes = [lane_argument(args[0], cols[0], session.machine.core.num_lanes)] if args else sorted(reads)
    for lane in lanes:
        ys = reads.get(lane, np.zeros(0))
        if ys.size == 0:
            session.out(f"L{lane}: no reads")
            continue
        shown = ys[-HISTORY_WIDTH:]
        last = f" (last {HISTORY_WIDTH})" if ys.size > HISTORY_WIDTH else ""
        session.out(
            f"L{lane} {sparkline(shown)}  {ys.size} reads{last}, "
            f"y {shown.min():+.4f} .. {shown.max():+.4f}, last {ys[-1]:+.4f}"
        )


@command("plot", ".plot FILE.png", "draw y per read for each lane (needs matplotlib)", "file")
def plot_history(session: Session, args: list[str], cols: list[int]) -> None:
    path, col = one_argument(args, cols, ".plot FILE.png")
    if not session.state.history:
        raise CommandError("nothing to plot: no reads yet", col)
    try:
        import matplotlib
    except ImportError:
        raise CommandError("'.plot' needs matplotlib: pip install matplotlib", 1) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for lane, ys in sorted(reads_by_lane(session.state.history).items()):
        ax.plot(range(1, len(ys) + 1), ys, marker=".", label=f"L{lane}")
    ax.set_xlabel("read")
    ax.set_ylabel("y")
    ax.legend()
    try:
        fig.savefig(path, dpi=100, bbox_inches="tight")
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot write {path}: {exc}", col, col + len(path)) from None
    finally:
        plt.close(fig)
    session.out(f"wrote {path}")


def reads_by_lane(history: list[Read]) -> dict[int, np.ndarray]:
    """The y of every read, per lane, in order."""
    lanes = np.array([lane for _, lane, _ in history], dtype=np.int64)
    ys = np.array([y for _, _, y in history], dtype=np.float64)
    return {int(lane): ys[lanes == lane] for lane in np.unique(lanes)}
