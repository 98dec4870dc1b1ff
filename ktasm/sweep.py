"""Many runs of one program: repeated shots and sweeps of seeds x ``-D`` parameters.

- ``run_record``: one run as ``ktasm run --json`` prints it (outputs, named, stats, reason,
  registers, fault);
- ``summarize``: per named output (and the unnamed ones, under ``outputs``) the count,
  mean, std, min, max and a histogram over every run (``ktasm run --seeds A:B``);
- ``sweep``: the grid of (seed, parameters) runs as tasks on ``dask.distributed``: an
  embedded ``LocalCluster`` (one worker process per core) by default, an existing scheduler
  when given one (or ``DASK_SCHEDULER_ADDRESS``). Each task carries the assembled bytecode
  and the data tables (no shared file system); a task a lost worker held is run again by
  Dask, and every row is the serial run's, bit for bit, whatever finishes first.

Dask is imported only when a sweep runs (the ``sweep`` extra: ``pip install 'ktasm[sweep]'``).
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import CancelledError

import numpy as np

from ktasm import outputs as _outputs

SWEEP_FORMATS = (".csv", ".parquet", ".json")
HISTOGRAM_BINS = 10
STALL_S = 60.0  # no task finished for this long: ask the scheduler whether it is still there
PROBE_S = 10.0  # ... and give it this long to answer


class SweepError(Exception):
    """A sweep that could not finish (no scheduler, a cluster that went away): ``rows``
    holds the rows finished before it stopped."""

    def __init__(self, message: str, rows: list[dict] | None = None):
        super().__init__(message)
        self.message = message
        self.rows = rows or []


# ---------------------------------------------------------------------- the grid
def parse_seeds(text: str) -> list[int]:
    """``A:B`` (seeds A to B-1), ``A:B:STEP``, or ``S1,S2,...``; ValueError saying why."""
    text = text.strip()
    try:
        if ":" in text:
            parts = [int(p, 0) for p in text.split(":")]
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] <= 0):
                raise ValueError
            seeds = list(range(*parts))
        else:
            seeds = [int(p, 0) for p in text.split(",")]
    except ValueError:
        raise ValueError(f"expected A:B, A:B:STEP or S1,S2,..., got {text!r}") from None
    if not seeds:
        raise ValueError(f"{text!r} names no seeds (A:B runs A to B-1)")
    if min(seeds) < 0 or max(seeds) > 2**63 - 1:
        raise ValueError(f"{text!r}: a seed is in [0, 2**63)")
    return seeds


def parse_set(text: str) -> tuple[str, list[float]]:
    """``NAME=v1,v2,...`` as (NAME, [v1, v2, ...]), each value as ``-D NAME=v`` reads it."""
    from ktasm.consteval import parse_define

    name, sep, values = text.partition("=")
    if not sep or not values.strip():
        raise ValueError(f"expected NAME=v1,v2,..., got {text!r}")
    return name.strip(), [parse_define(f"{name}={v}")[1] for v in values.split(",")]


def grid(seeds: Sequence[int], params: dict | None = None) -> list[tuple[int, dict]]:
    """Every (seed, {name: value}): each combination of the parameters (the first one
    slowest), every seed for each."""
    names = list(params or {})
    combos = itertools.product(*(list((params or {})[n]) for n in names))
    return [(int(seed), dict(zip(names, combo, strict=True))) for combo in combos for seed in seeds]


def row_key(seed, params: dict) -> tuple:
    """What identifies a row (for ``--resume``): the seed and the parameters' values."""
    return (int(seed), tuple(sorted((str(k), float(v)) for k, v in params.items())))


def grid_order(keys: Sequence[tuple], seeds: Sequence[int], params: dict | None = None) -> list[int]:
    """The indices of keys (``row_key`` values) in grid order, so that rows kept by
    ``--resume`` and rows run now are written as a fresh sweep writes them; keys outside
    the grid go last, in the order given."""
    place = {row_key(seed, combo): i for i, (seed, combo) in enumerate(grid(seeds, params))}
    return sorted(range(len(keys)), key=lambda i: (place.get(keys[i], len(place)), i))


# ---------------------------------------------------------------------- one run
def load_tables(program, data: dict | None) -> dict:
    """Every .data table the program reads as an array, from data (arrays or paths) or the
    file the program names, so the tables can travel with a task."""
    from vm.data import load_table

    data = dict(data or {})
    tables = {}
    for name, path in zip(program.data_names, program.data_paths, strict=True):
        value = data.pop(name, path)
        if value is None:
            continue  # the Machine says what is missing
        tables[name] = load_table(value) if isinstance(value, (str, os.PathLike)) else np.asarray(value)
    tables.update(data)  # undeclared names: the Machine says so
    return tables


def run_machine(program, tables: dict, seed: int, *, max_steps=None, timeout=None, max_outputs=None):
    """The RunResult of one run of program with seed (the .core seed overridden)."""
    from vm.machine import MAX_OUTPUTS, Machine

    machine = Machine(program, tables, seed=int(seed), max_outputs=max_outputs or MAX_OUTPUTS)
    return machine.run(max_steps=max_steps, timeout=timeout)


def record(result) -> dict:
    """A RunResult as ``ktasm run --json`` prints it: outputs (the unnamed ones), named (when
    the program names outputs), stats, reason, registers, fault (its message or None)."""
    out: dict = {"outputs": [_outputs.json_number(v) for v in result.unnamed.tolist()]}
    if result.output_names:
        out["named"] = _outputs.json_named(result.named)
    out.update(
        {
            "stats": result.stats,
            "reason": result.reason,
            "registers": [_outputs.json_number(v) for v in result.registers.tolist()],
            "fault": result.fault.message if result.fault else None,
        }
    )
    return out


def run_record(program, tables: dict, seed: int, **limits) -> dict:
    """One run's record (see ``record``)."""
    return record(run_machine(program, tables, seed, **limits))


def values_by_name(result) -> dict[str, np.ndarray]:
    """Every value a run output, by name (the unnamed ones under ``outputs``), flattened."""
    out = {_outputs.UNNAMED: np.asarray(result.unnamed, dtype=np.float64)}
    for name, value in result.named.items():
        out[name] = np.asarray(value, dtype=np.float64).ravel()
    return out


# ---------------------------------------------------------------------- summaries
def summarize(per_run: Iterable[dict[str, np.ndarray]]) -> dict[str, dict]:
    """Per name, over every run's values: count, finite (how many are), mean, std (of the
    finite values, ddof 0), min, max and a histogram (edges, counts); a name no run wrote
    is left out, the unnamed outputs too when there are none."""
    gathered: dict[str, list[np.ndarray]] = {}
    for values in per_run:
        for name, v in values.items():
            gathered.setdefault(name, []).append(v)
    out: dict[str, dict] = {}
    for name, parts in gathered.items():
        v = np.concatenate(parts) if parts else np.zeros(0)
        if v.size == 0:
            continue
        finite = v[np.isfinite(v)]
        entry: dict = {"count": int(v.size), "finite": int(finite.size)}
        if finite.size:
            entry.update(
                mean=float(finite.mean()),
                std=float(finite.std()),
                min=float(finite.min()),
                max=float(finite.max()),
                histogram=_histogram(finite),
            )
        out[name] = entry
    return out


def _histogram(v: np.ndarray) -> dict:
    """A bin per distinct value when there are few (a coin's -1 and +1), else equal bins."""
    distinct = np.unique(v)
    if distinct.size <= HISTOGRAM_BINS:
        return {"values": distinct.tolist(), "counts": [int((v == d).sum()) for d in distinct]}
    counts, edges = np.histogram(v, bins=HISTOGRAM_BINS)
    return {"edges": edges.tolist(), "counts": counts.tolist()}


def summary_lines(summary: dict[str, dict], width: int = 40) -> list[str]:
    """The summary as text: a line of figures per name, then its histogram's bars."""
    lines = []
    for name, s in summary.items():
        if not s["finite"]:
            lines.append(f"{name}: {s['count']} values, none finite")
            continue
        extra = f" ({s['count'] - s['finite']} not finite)" if s["finite"] < s["count"] else ""
        lines.append(
            f"{name}: {s['count']} values{extra}, mean {s['mean']:.6g}, std {s['std']:.6g}, "
            f"min {s['min']:.6g}, max {s['max']:.6g}"
        )
        h = s["histogram"]
        top = max(h["counts"]) or 1
        if "values" in h:
            labels = [f"{x:.6g}" for x in h["values"]]
        else:
            e = h["edges"]
            labels = [
                f"[{e[i]:.4g}, {e[i + 1]:.4g}{']' if i == len(e) - 2 else ')'}" for i in range(len(e) - 1)
            ]
        pad = max(len(label) for label in labels)
        for label, count in zip(labels, h["counts"], strict=True):
            bar = "#" * max(1 if count else 0, round(width * count / top))
            lines.append(f"  {label:>{pad}} | {bar} {count}")
    return lines


# ---------------------------------------------------------------------- the sweep
_PROGRAMS: dict[bytes, object] = {}  # on a worker: the programs read so far, by bytecode


def _run_task(payload: tuple, seeds: list[int], limits: dict) -> list[dict]:
    """On a worker: the bytecode and tables that travelled with the task, run once per seed."""
    from vm.bytecode import Program

    blob, tables = payload
    program = _PROGRAMS.get(blob)
    if program is None:
        if len(_PROGRAMS) >= 8:
            _PROGRAMS.clear()
        program = _PROGRAMS[blob] = Program.from_bytes(blob)
    out = []
    for seed in seeds:
        try:
            out.append(run_record(program, tables, seed, **limits))
        except Exception as exc:  # bad data, say: a row saying so, not a lost sweep
            out.append(_error_record(f"{type(exc).__name__}: {exc}"))
    return out


def _error_record(message: str) -> dict:
    return {"outputs": [], "stats": {}, "reason": "error", "registers": [], "fault": message}


class _Lost(Exception):
    """The sweep's tasks were lost with the scheduler."""


def _identity(payload):
    return payload


def _programs(program, combos: list[dict], data, defines: dict) -> list[tuple[bytes, dict]]:
    """Per parameter combination, the assembled bytecode and the tables it reads, checked
    here (a bad program or table is an error before anything is sent)."""
    from ktasm.assembler import assemble_text, decode_source
    from vm.bytecode import MAGIC, Program
    from vm.machine import Machine

    text, name = None, "<string>"
    if isinstance(program, Program):
        if any(combos) or defines:
            raise ValueError("parameters are -D constants for assembling; this program is assembled already")
    else:
        path = os.fspath(program)
        if isinstance(program, os.PathLike) or (
            len(path) < 4096 and "\n" not in path and os.path.isfile(path)
        ):
            from vm.archive import max_program_bytes, read_bytes

            name, blob = path, read_bytes(path, "program", max_program_bytes())
            if blob.startswith(MAGIC):
                if any(combos) or defines:
                    raise ValueError(f"parameters are -D constants for assembling; {name} is bytecode")
                program = Program.from_bytes(blob)
            else:
                text = decode_source(blob, name)
        else:
            text = path
    out = []
    loaded: dict[tuple, dict] = {}  # the tables, read once per set of .data declarations
    for combo in combos:
        prog = assemble_text(text, name, defines={**defines, **combo}) if text is not None else program
        declared = (tuple(prog.data_names), tuple(prog.data_paths))
        if declared not in loaded:
            loaded[declared] = load_tables(prog, data)
        tables = loaded[declared]
        Machine(prog, tables)  # data that does not fit is an error here, before anything is sent
        out.append((prog.to_bytes(), tables))
    return out


def quiet_dask_logs() -> None:
    """Dask's own log lines (and their tracebacks) off: a command says what went wrong."""
    import logging

    try:
        import distributed  # noqa: F401  (its loggers exist once it is imported)
    except ImportError:
        return
    for name in ["distributed", *logging.root.manager.loggerDict]:
        if name == "distributed" or name.startswith("distributed."):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def existing_client(scheduler: str | None = None):
    """This process's default Client when it is connected to scheduler (or
    DASK_SCHEDULER_ADDRESS), else None: a sweep uses it rather than open a second Client to
    the same scheduler beside it (in a test, two in one process once waited forever on a
    tornado write), and leaves it open."""
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not address or "distributed" not in sys.modules:  # no Client can exist yet
        return None
    from distributed import default_client

    try:
        client = default_client()
    except ValueError:  # none
        return None
    wanted = address if "://" in address else f"tcp://{address}"
    if client.status == "running" and client.scheduler is not None and client.scheduler.address == wanted:
        return client
    return None


def connect(scheduler: str | None = None, workers: int | None = None, connect_timeout: float = 10.0):
    """A dask.distributed Client and the LocalCluster made for it (None when scheduler, or
    DASK_SCHEDULER_ADDRESS, names an existing one); SweepError when none can be had."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise SweepError(
            f"sweeps run on dask.distributed ({exc.name} is missing): python3 -m pip install 'ktasm[sweep]'"
        ) from None
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            return Client(address, timeout=connect_timeout), None
        except Exception as exc:
            raise SweepError(
                f"cannot reach the Dask scheduler at {address}: {exc or type(exc).__name__}"
            ) from None
    import logging
    import warnings

    with warnings.catch_warnings():  # another cluster on this machine holds port 8787: fine
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    return Client(cluster), cluster


def completed(client, futures, *, with_results: bool = False, stall_s: float = STALL_S):
    """The futures as they finish (as ``as_completed``, errors not raised), watched: when
    none has finished for ``stall_s`` seconds, the scheduler must answer an identity request
    within PROBE_S, else ``_Lost`` (a stopped scheduler or a wedged connection would
    otherwise wait forever; a long task on a live scheduler waits as long as it runs)."""
    from dask.distributed import as_completed

    pending = as_completed(futures, with_results=with_results, raise_errors=False)
    quiet_since = time.monotonic()
    while not pending.is_empty():
        if pending.has_ready():
            yield next(pending)
            quiet_since = time.monotonic()
            continue
        time.sleep(0.02)
        if time.monotonic() - quiet_since > stall_s:
            _probe(client, stall_s)
            quiet_since = time.monotonic()


def _probe(client, stall_s: float) -> None:
    """_Lost unless the scheduler answers within PROBE_S: the wait is this thread's, so a
    wedged event loop cannot hold it."""
    import concurrent.futures

    waiting = asyncio.run_coroutine_threadsafe(client.scheduler.identity(), client.loop.asyncio_loop)
    try:
        waiting.result(timeout=PROBE_S)
    except concurrent.futures.TimeoutError:
        waiting.cancel()
        raise _Lost(f"no task finished for {stall_s:g} s and the scheduler did not answer") from None
    except Exception as exc:
        raise _Lost(f"the scheduler did not answer ({exc or type(exc).__name__})") from None


def sweep(
    program,
    seeds: Iterable[int],
    params: dict | None = None,
    *,
    defines: dict | None = None,
    data: dict | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client=None,
    connect_timeout: float = 10.0,
    max_steps: int | None = None,
    timeout: float | None = None,
    max_outputs: int | None = None,
    skip: Iterable[tuple] = (),
    batch: int | None = None,
    progress: bool = False,
    on_row: Callable[[dict], None] | None = None,
    stall_s: float = STALL_S,
) -> list[dict]:
    """Run program for every seed and every combination of params on dask.distributed and
    return the rows, in grid order (``grid``): ``{"seed", "params", "outputs", "named",
    "stats", "reason", "registers", "fault"}``, each as ``ktasm run --json --seed S -D ...``
    prints that run (``named`` only when the program names outputs).

    ``program``: .kta source text, a path to a .kta or .ktb file, or a ``Program``;
    ``params``: ``{NAME: [values]}``, each value set as ``-D NAME=value``; ``defines``: the
    same constants in every run (``-D``), a --set value overriding one; ``data``: .data
    tables by name (arrays or paths), loaded here and sent with the tasks. ``client``: a
    ``dask.distributed.Client`` to use; else ``scheduler`` (or DASK_SCHEDULER_ADDRESS) is
    connected to (waiting ``connect_timeout`` seconds), else a LocalCluster of ``workers`` processes (default: one per core) is
    started and closed again. ``skip``: ``row_key`` values not to run (``--resume``).
    ``batch``: runs per task (default: up to 32, at least 8 tasks per worker), so that
    short runs share the cost of a task.
    ``on_row`` is called with each row as it finishes.

    A run that faults is a row with its fault. ``SweepError`` (with ``.rows``, those
    finished) when the scheduler cannot be reached or goes away, or when no run has
    finished for ``stall_s`` seconds and the scheduler does not answer; a bad program raises
    ``KtasmError`` before anything runs.

    >>> rows = sweep("OUT 1", seeds=[1, 2], workers=1)  # doctest: +SKIP
    >>> [r["outputs"] for r in rows]  # doctest: +SKIP
    [[1.0], [1.0]]
    """
    params = {k: list(v) for k, v in (params or {}).items()}
    seeds = [int(s) for s in seeds]
    names = list(params)
    combos = [dict(zip(names, c, strict=True)) for c in itertools.product(*(params[n] for n in names))]
    payloads = _programs(program, combos, data, defines or {})
    skipped = set(skip)
    todo = [
        (ci, seed) for ci, combo in enumerate(combos) for seed in seeds if row_key(seed, combo) not in skipped
    ]
    if not todo:
        return []
    limits = {"max_steps": max_steps, "timeout": timeout, "max_outputs": max_outputs}
    if client is None:
        client = existing_client(scheduler)
    own = client is None
    cluster = None
    if own:
        client, cluster = connect(scheduler, workers, connect_timeout)
    done: dict[int, dict] = {}
    try:
        token = uuid.uuid4().hex[:12]
        # each program (and its tables) once per combination: a task Dask can run again
        held = [
            client.submit(_identity, p, key=f"ktasm-program-{token}-{i}", pure=False)
            for i, p in enumerate(payloads)
        ]
        if batch is None:  # a few tasks per worker at least, short runs share a task's overhead
            n_workers = max(1, len(client.scheduler_info().get("workers", {})))
            batch = max(1, min(32, len(todo) // (8 * n_workers)))
        chunks: list[list[int]] = []  # indices into todo, one program per chunk
        for i, (ci, _) in enumerate(todo):
            if chunks and len(chunks[-1]) < batch and todo[chunks[-1][0]][0] == ci:
                chunks[-1].append(i)
            else:
                chunks.append([i])
        futures = [
            client.submit(
                _run_task,
                held[todo[chunk[0]][0]],
                [todo[i][1] for i in chunk],
                limits,
                key=f"ktasm-run-{token}-{k}",
                pure=False,
            )
            for k, chunk in enumerate(chunks)
        ]
        where = {f.key: k for k, f in enumerate(futures)}
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(
                total=len(todo),
                desc="runs",
                file=sys.stderr,
                leave=False,
                mininterval=0.2,
                disable=not sys.stderr.isatty(),
            )
        try:
            for future, result in completed(client, futures, with_results=True, stall_s=stall_s):
                chunk = chunks[where[future.key]]
                if future.status == "cancelled" or isinstance(
                    result, (CancelledError, asyncio.CancelledError)
                ):
                    raise _Lost("the scheduler went away, or cancelled the sweep's tasks")
                if future.status == "error" or isinstance(result, BaseException):
                    result = [_error_record(f"task failed: {type(result).__name__}: {result}")] * len(chunk)
                for i, rec in zip(chunk, result, strict=True):
                    ci, seed = todo[i]
                    row = {"seed": seed, "params": dict(combos[ci]), **rec}
                    done[i] = row
                    if on_row:
                        on_row(row)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    except SweepError:
        raise
    except Exception as exc:  # the cluster went away, the client lost its scheduler
        rows = [done[i] for i in sorted(done)]
        why = str(exc) or type(exc).__name__
        raise SweepError(f"the sweep stopped after {len(rows)} of {len(todo)} runs: {why}", rows) from None
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    return [done[i] for i in sorted(done)]


def map_tasks(
    function,
    jobs: Sequence[tuple],
    *,
    client=None,
    scheduler: str | None = None,
    connect_timeout: float = 10.0,
    on_done: Callable[[int], None] | None = None,
    stall_s: float = STALL_S,
) -> list:
    """[function(*job) for job in jobs] as tasks on dask.distributed, in job order: on
    ``client``, else on ``scheduler`` (or DASK_SCHEDULER_ADDRESS, else a LocalCluster; see
    ``connect``). function must be importable on the workers; each job's arguments are
    pickled into its task (no shared file system). ``on_done(n)`` after each of the n
    results. An exception raised by function is raised here as it is; ``SweepError`` when
    the scheduler cannot be reached, goes away, loses a task's workers too often, or does
    not answer after ``stall_s`` seconds without a result."""
    jobs = list(jobs)
    if not jobs:
        return []
    if client is None:
        client = existing_client(scheduler)
    own = client is None
    cluster = None
    if own:
        client, cluster = connect(scheduler, connect_timeout=connect_timeout)
    results: dict[int, object] = {}
    try:
        from distributed import KilledWorker

        token = uuid.uuid4().hex[:12]
        futures = [
            client.submit(function, *job, key=f"ktasm-job-{token}-{k}", pure=False)
            for k, job in enumerate(jobs)
        ]
        where = {f.key: k for k, f in enumerate(futures)}
        for future in completed(client, futures, stall_s=stall_s):
            if future.status == "cancelled":
                raise _Lost("the scheduler went away, or cancelled the tasks")
            if future.status == "error":
                exc = future.exception()
                if isinstance(exc, KilledWorker):
                    raise _Lost(f"workers died running a task ({exc})")
                raise exc  # the job's own error: the caller's to report
            results[where[future.key]] = future.result()
            if on_done:
                on_done(len(results))
    except (_Lost, CancelledError, asyncio.CancelledError, OSError, TimeoutError) as exc:
        why = str(exc) or type(exc).__name__
        raise SweepError(f"the tasks stopped after {len(results)} of {len(jobs)}: {why}") from None
    finally:
        if own:
            client.close()
            if cluster is not None:
                cluster.close()
    return [results[k] for k in range(len(jobs))]


# ---------------------------------------------------------------------- result tables
def flat(row: dict) -> dict:
    """A row as a table's columns: seed, param.NAME, fault, reason, stats.KEY, named.NAME,
    outputs and registers (lists and nested values as JSON text, numbers as numbers)."""
    rec: dict = {"seed": row["seed"]}
    for k, v in row["params"].items():
        rec[f"param.{k}"] = v
    rec["fault"] = row["fault"]
    rec["reason"] = row["reason"]
    for k, v in row["stats"].items():
        rec[f"stats.{k}"] = v if isinstance(v, (int, float)) else json.dumps(v)
    for k, v in row.get("named", {}).items():
        rec[f"named.{k}"] = v if isinstance(v, float) else json.dumps(v)
    rec["outputs"] = json.dumps(row["outputs"])
    rec["registers"] = json.dumps(row["registers"])
    return rec


def read_table(path: str) -> list[dict]:
    """The records of a results file (.csv, .parquet or .json) as dicts (empty when the file
    does not exist)."""
    if not os.path.exists(path):
        return []
    ext = os.path.splitext(path)[1].lower()
    if ext == ".json":
        return [flat(r) for r in read_rows(path)]
    if ext == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def read_rows(path: str) -> list[dict]:
    """The rows of a .json results file (empty when it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path) as fh:
        rows = json.load(fh)["rows"]
    if not isinstance(rows, list):
        raise ValueError(f"{path}: 'rows' is not a list")
    return rows


def record_key(rec: dict) -> tuple:
    """row_key of a table record."""
    params = {k[len("param.") :]: v for k, v in rec.items() if k.startswith("param.") and v not in ("", None)}
    return row_key(rec["seed"], params)


def write_table(path: str, records: list[dict], rows: list[dict] | None = None) -> None:
    """records (``flat`` rows, or records read back) to path: CSV, Parquet (needs pyarrow) or
    JSON ({"rows": rows}, the rows themselves)."""
    ext = os.path.splitext(path)[1].lower()
    tmp = path + ".tmp"
    if ext == ".json":
        with open(tmp, "w") as fh:
            json.dump({"rows": rows or []}, fh, allow_nan=False)
            fh.write("\n")
    elif ext == ".parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = _columns(records)
        table = {c: [r.get(c) for r in records] for c in columns}
        for c, values in table.items():  # a column of numbers and text (a "NaN") is text
            kinds = {type(v) for v in values if v is not None}
            if str in kinds and len(kinds) > 1:
                table[c] = [None if v is None else v if isinstance(v, str) else json.dumps(v) for v in values]
            elif kinds <= {int, float} and float in kinds:
                table[c] = [None if v is None else float(v) for v in values]
        pq.write_table(pa.table(table), tmp)
    else:
        with open(tmp, "w", newline="") as fh:
            out = csv.DictWriter(fh, fieldnames=_columns(records), restval="")
            out.writeheader()
            for r in records:
                out.writerow(
                    {k: "" if v is None else repr(v) if isinstance(v, float) else v for k, v in r.items()}
                )
    os.replace(tmp, path)


def _columns(records: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for r in records:
        seen.update(dict.fromkeys(r))
    return list(seen)
