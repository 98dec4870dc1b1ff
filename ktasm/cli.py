"""The ``ktasm`` command line.

Subcommands import the VM (and so Numba) only when they run, which keeps ``ktasm --help``
fast. Exit codes follow sysexits: 64 usage, 65 bad input, 70 runtime fault.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys

import click

from ktasm import __version__
from ktasm.errors import KtasmError, runtime_error_text

EX_USAGE = 64
EX_DATAERR = 65
EX_SOFTWARE = 70
EX_UNAVAILABLE = 69  # an optional package is missing
EX_CANTCREAT = 73  # an output file cannot be written
EX_IOERR = 74  # the output stream cannot be written (a full disk)


def _defines(ctx, param, items) -> dict:
    """-D NAME=VALUE items as {name: value}; a bad one is a usage error saying why."""
    from ktasm.consteval import parse_define

    out = {}
    for item in items:
        try:
            name, value = parse_define(item)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="-D") from None
        out[name] = value
    return out


# shared by check, asm, run and repl
DEFINE_OPTION = click.option(
    "-D",
    "--define",
    "defines",
    multiple=True,
    metavar="NAME=VALUE",
    callback=_defines,
    help="Define a constant (or override a .const) before assembling; repeatable. "
    ".if blocks and every expression see it.",
)

# shared by run and repl
DATA_OPTION = click.option(
    "--data",
    "data",
    multiple=True,
    metavar="NAME=FILE",
    help="Bind a .data table to a .npy or .csv file (repeatable).",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ktasm")
def cli() -> None:
    """Assembler and virtual machine for thermodynamic and memristive computing.

    Write kT-RAM programs in .kta assembly, then: ktasm check, ktasm asm, ktasm dis,
    ktasm run; or drive a core line by line with ktasm repl. Exit codes: 64 usage,
    65 bad program or data, 70 runtime fault or limit.
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--only",
    multiple=True,
    metavar="NAME",
    help="Run only these claims (repeatable). Names: annealing, beta_counts, pooling, "
    "ff_rf, low_voltage, byte_ceiling, coin, common_mode_rejection (seed 000); "
    "damage_tolerance (seed 001); tmr_200mv, pair_margin_sigma, "
    "first_peak_ps, half_switching_v, nist_battery, shannon_entropy, insitu_throughput, "
    "insitu_efficiency (seed 004).",
)
@click.option(
    "--seed",
    "seed_doc",
    type=click.Choice(["000", "001", "004"]),
    default=None,
    help="Only one source paper's claims: 000 (the kT-bit), 001 (learning on damaged hardware) "
    "or 004 (VCMA-MTJ p-bits). Default: all.",
)
def claims(as_json: bool, only: tuple[str, ...], seed_doc: str | None) -> None:
    """Reproduce the seeds' claims and print the measured figures.

    Seed 000 (the kT-bit: magnitude as annealing, votes as Beta counts, Kirchhoff pooling,
    FF/RF fates, non-disturbing low-voltage reads, the byte ceiling, the read-noise coin,
    the pair's rejection of common-mode drift) runs as experiments on vm.Core; seed 001
    (in-situ learning on damaged devices) as the digits classifier program; seed 004 (VCMA-MTJ p-bits: TMR, pair margins, switching
    curves, the NIST battery, entropy, in-situ against ex-situ cost) as VM programs.
    Exits 1 if any claim is not reproduced.
    """
    from vm.devices.claims import CLAIMS as CLAIMS_004
    from vm.ktram.claims import CLAIMS as CLAIMS_000
    from vm.ktram.damage import CLAIMS as CLAIMS_001

    by_seed = {"000": CLAIMS_000, "001": CLAIMS_001, "004": CLAIMS_004}
    CLAIMS = {k: v for s, table in by_seed.items() if seed_doc in (None, s) for k, v in table.items()}
    unknown = [n for n in only if n not in CLAIMS]
    if unknown:
        raise click.BadParameter(
            f"unknown claim {unknown[0]!r}; expected one of {', '.join(CLAIMS)}", param_hint="--only"
        )
    results = [CLAIMS[name]() for name in (only or CLAIMS)]
    if as_json:
        click.echo(
            json.dumps(
                {
                    r.name: {
                        "claim": r.claim,
                        "criterion": r.criterion,
                        "passed": r.passed,
                        "measured": {k: _jsonable(v) for k, v in r.measured.items()},
                    }
                    for r in results
                },
                indent=2,
            )
        )
    else:
        for r in results:
            mark = click.style("PASS", fg="green") if r.passed else click.style("FAIL", fg="red")
            click.echo(f"[{mark}] {r.name}: {r.claim}")
            click.echo(f"       criterion: {r.criterion}")
            click.echo(f"       measured:  {r.summary().split(': ', 1)[1]}")
        click.echo(f"{sum(r.passed for r in results)} of {len(results)} claims reproduced")
    if not all(r.passed for r in results):
        sys.exit(1)


# ---------------------------------------------------------------------- programs
def _load_program(path: str, defines: dict | None = None):
    """A Program from .kta source or .ktb bytecode (sniffed by its magic number), the file
    read once (a program piped on stdin, /dev/stdin or -, works) within the size limit;
    defines are the -D constants (refused for bytecode, which is assembled already)."""
    from ktasm.assembler import assemble_text, decode_source
    from vm.archive import ArchiveError, max_program_bytes, read_bytes
    from vm.bytecode import MAGIC, BytecodeError, Program

    name = "<stdin>" if path == "-" else path
    try:
        blob = read_bytes("/dev/stdin" if path == "-" else path, "program", max_program_bytes())
    except ArchiveError as exc:
        _fail(f"{name}: error: {exc}", EX_DATAERR)
    if blob.startswith(MAGIC):
        if defines:
            raise click.UsageError(
                f"-D defines constants for assembling; {name} is bytecode, assembled already"
            )
        try:
            return Program.from_bytes(blob)
        except BytecodeError as exc:
            _fail(f"{name}: error: {exc}", EX_DATAERR)
    return assemble_text(decode_source(blob, name), name, defines=defines)


def _fail(message: str, code: int):
    click.echo(message, err=True)
    sys.exit(code)


_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))


def _limit_option(flag: str, variable: str, what: str):
    """An option that sets the limit's environment variable, so every reader of the limit
    (assembler, data loader, checkpoint reader) sees the one value."""

    def set_limit(ctx, param, value):
        if value is not None:
            os.environ[variable] = str(value)

    return click.option(
        flag,
        type=click.IntRange(1),
        expose_value=False,
        is_eager=True,
        callback=set_limit,
        metavar="N",
        help=f"{what} (or {variable}=N).",
    )


def _limits(command):
    """The input limits every command that reads a program shares."""
    command = _limit_option(
        "--max-statements",
        "KTASM_MAX_STATEMENTS",
        "Refuse programs whose macros expand past N statements (default 200000)",
    )(command)
    return _limit_option(
        "--max-file-bytes",
        "KTASM_MAX_FILE_BYTES",
        "Refuse data files and checkpoints over N bytes, programs over N/16 (default 1 GiB)",
    )(command)


@cli.command()
@_FILE
@_limits
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Bytecode file (default: FILE with .ktb)."
)
@DEFINE_OPTION
def asm(file: str, output: str | None, defines: dict) -> None:
    """Assemble a .kta program into a .ktb bytecode file."""
    program = _load_program(file, defines)
    output = output or os.path.splitext(file)[0] + ".ktb"
    program.save(output)
    click.echo(f"{output}: {program.code.shape[0]} instructions")


@cli.command()
@_FILE
@_limits
@DEFINE_OPTION
def check(file: str, defines: dict) -> None:
    """Check a program and report every error, without running it (exit 65 on errors)."""
    program = _load_program(file, defines)
    click.echo(f"{file}: ok ({program.code.shape[0]} instructions)")


@cli.command()
@_FILE
@_limits
def dis(file: str) -> None:
    """Disassemble a .kta or .ktb file: line, >> jump targets, pc, resolved operands, source."""
    from ktasm.disasm import disassemble

    click.echo(disassemble(_load_program(file)))


@cli.command()
@_FILE
@_limits
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: outputs, stats, registers.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the .core seed.")
@click.option(
    "--seeds",
    "seeds_text",
    metavar="A:B",
    help="Run once per seed, A to B-1 (or A:B:STEP, or S1,S2,...), and summarize the outputs.",
)
@click.option(
    "--shots",
    type=click.IntRange(1),
    help="Run N times, seeds --seed (default the .core seed) to --seed+N-1, and summarize.",
)
@click.option("--model", type=click.Choice(["float", "byte", "rs", "mss"]), help="Override the .core model.")
@click.option("--max-steps", type=click.IntRange(0), help="Stop after this many instructions (exit 70).")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    callback=lambda ctx, param, value: _finite(value, "--timeout"),
    help="Stop after this many seconds (exit 70).",
)
@click.option(
    "--max-outputs",
    type=click.IntRange(1),
    default=None,
    help="Stop (exit 70) when the outputs reach this many values (default 16777216, 128 MB).",
)
@DATA_OPTION
@DEFINE_OPTION
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    metavar="FILE.npz|.csv|.json",
    help="Also write the outputs to FILE, grouped by name (the unnamed ones under 'outputs'); "
    "the format follows the extension.",
)
@click.option(
    "--save-state",
    type=click.Path(dir_okay=False),
    help="Write a checkpoint (.npz) when the run stops, however it stops.",
)
@click.option(
    "--load-state",
    type=click.Path(exists=True, dir_okay=False),
    help="Resume from a checkpoint of this program (bit for bit).",
)
def run(
    file: str,
    as_json: bool,
    seed,
    seeds_text,
    shots,
    model,
    max_steps,
    timeout,
    max_outputs,
    data,
    defines,
    out_file,
    save_state,
    load_state,
) -> None:
    """Run a .kta or .ktb program and print its outputs (one per line) or --json.

    A named output (OUT value, "name"; VOUT vec, "name") prints as name = value (a vector
    as name = [...] on one line); --json puts the unnamed ones under "outputs" and the
    named ones under "named" by name (a number, or an array for a vector or a name written
    more than once); --out FILE.npz, .csv or .json writes the same to a file.

    Stops at HALT, at the end of the program, after --max-steps or --timeout, on Ctrl-C
    (exit 130) or SIGTERM (exit 143), within a second, inside a long instruction too;
    outputs and stats so far are still printed, and --save-state writes a checkpoint that
    --load-state resumes from. Non-finite outputs are written as NaN, inf, -inf (in --json
    as the strings "NaN", "Infinity", "-Infinity").

    --seeds A:B or --shots N runs once per seed (each run exactly the run --seed S makes)
    and prints per output name the count, mean, std, min, max and a histogram; --json
    prints {"runs": [{"seed", "outputs", "named", ...}], "summary": {name: {...}}}, --out
    writes every run's values (.csv and .npz with the seed of each value).
    """
    from vm.numba_cache import skip_blas_probe

    skip_blas_probe()  # this process runs only the VM's kernels
    bindings = _bindings(data)
    if seeds_text is not None or shots is not None:
        if seeds_text is not None and (shots is not None or seed is not None):
            raise click.UsageError("--seeds names the seeds; it takes neither --seed nor --shots")
        if save_state or load_state:
            raise click.UsageError("--seeds and --shots make many runs: no --save-state or --load-state")
        seeds = _seeds(seeds_text) if seeds_text is not None else None
        _run_many(
            file,
            as_json,
            seeds,
            seed,
            shots,
            model,
            max_steps,
            timeout,
            max_outputs,
            bindings,
            defines,
            out_file,
        )
        return
    if out_file:
        from ktasm.outputs import FORMATS

        if os.path.splitext(out_file)[1].lower() not in FORMATS:
            raise click.BadParameter(
                f"{out_file}: the extension says the format: {', '.join(FORMATS)}", param_hint="--out"
            )
        _check_writable(out_file, "--out")
    if save_state:
        _check_writable(save_state, "--save-state")
    program = _load_program(file, defines)
    from vm.machine import MAX_OUTPUTS, CheckpointError, DataError, Machine, MissingData, Terminated

    try:
        machine = Machine(program, bindings, seed=seed, model=model, max_outputs=max_outputs or MAX_OUTPUTS)
    except MissingData as exc:
        raise click.UsageError(str(exc)) from None
    except DataError as exc:
        _fail(f"{file}: error: {exc}", EX_DATAERR)
    if load_state:
        try:
            machine.load_checkpoint(load_state, seed=seed)
        except CheckpointError as exc:
            _fail(f"{load_state}: error: {exc}", EX_DATAERR)

    def terminated(signum, frame):
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminated)
    try:
        result = machine.run(max_steps=max_steps, timeout=timeout)
    finally:
        signal.signal(signal.SIGTERM, previous)
    from ktasm import outputs as _outputs

    if as_json:
        rest: dict = {"named": _outputs.json_named(result.named)} if result.output_names else {}
        rest.update(
            {
                "stats": result.stats,
                "reason": result.reason,
                "registers": [_outputs.json_number(v) for v in result.registers.tolist()],
                "fault": result.fault.message if result.fault else None,
            }
        )
        _echo_json_with_array("outputs", result.unnamed, rest)
    else:
        if not result.output_names:  # a value per line, a chunk of lines at a time
            for chunk in _outputs.chunks(result.outputs):
                click.echo("\n".join(map(repr, chunk.tolist())))
        else:
            for line in _outputs.text_lines(result):
                click.echo(line)
        st = result.stats
        click.echo(
            f"; {st['instructions']} instruction(s) in {st['run_seconds']:.3g} s; modeled "
            f"{st['modeled_time_s']:.4g} s, {st['modeled_energy_j']:.4g} J; {result.reason}",
            err=True,
        )
    if out_file:  # after the results: a failed write loses nothing printed
        try:
            _outputs.write(out_file, result)
        except OSError as exc:
            _fail(f"ktasm: cannot write {out_file}: {exc.strerror or exc}", EX_CANTCREAT)
    if save_state:
        try:
            machine.save_checkpoint(save_state)
        except OSError as exc:
            _fail(f"ktasm: cannot write checkpoint {save_state}: {exc.strerror or exc}", EX_CANTCREAT)
    if result.fault is not None:
        fault = result.fault
        _fail(runtime_error_text(program, fault.pc, fault.message, fault.operand), EX_SOFTWARE)
    if result.reason == "interrupted":
        _fail(f"interrupted after {result.stats['instructions']} instructions", 130)
    if result.reason == "terminated":
        _fail(f"terminated after {result.stats['instructions']} instructions", 128 + signal.SIGTERM)
    if result.reason == "output_limit" and machine.outputs_out_of_memory:
        _fail(
            f"stopped after {result.stats['instructions']} instructions: no memory left for more "
            f"than {result.outputs.shape[0]} outputs (lower --max-outputs to stop sooner)",
            EX_SOFTWARE,
        )
    if result.reason == "output_limit":
        _fail(
            f"stopped after {result.stats['instructions']} instructions: the outputs reached "
            f"{machine.max_outputs} values (raise the limit with --max-outputs)",
            EX_SOFTWARE,
        )
    if result.reason in ("max_steps", "timeout"):
        limit = "--max-steps" if result.reason == "max_steps" else "--timeout"
        _fail(f"stopped after {result.stats['instructions']} instructions ({limit})", EX_SOFTWARE)


def _seeds(text: str) -> list[int]:
    from ktasm.sweep import parse_seeds

    try:
        return parse_seeds(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--seeds") from None


def _check_out(out_file: str, formats) -> None:
    if os.path.splitext(out_file)[1].lower() not in formats:
        raise click.BadParameter(
            f"{out_file}: the extension says the format: {', '.join(formats)}", param_hint="--out"
        )
    _check_writable(out_file, "--out")


def _run_many(
    file, as_json, seeds, seed, shots, model, max_steps, timeout, max_outputs, bindings, defines, out_file
):
    """ktasm run --seeds/--shots: the runs one after another in this process."""
    from ktasm import outputs as _outputs
    from ktasm import sweep as _sweep

    if out_file:
        _check_out(out_file, _outputs.FORMATS)
    program = _load_program(file, defines)
    if model is not None:  # as Machine(model=...) sets it, for every run
        program.core = {**program.core, "model": model}
    if seeds is None:
        first = seed if seed is not None else int(program.core["seed"])
        seeds = list(range(first, first + shots))
    from vm.machine import DataError, MissingData

    try:
        tables = _sweep.load_tables(program, bindings)
    except DataError as exc:
        _fail(f"{file}: error: {exc}", EX_DATAERR)
    runs, per_run, results = [], [], []
    for s in seeds:
        try:
            result = _sweep.run_machine(
                program, tables, s, max_steps=max_steps, timeout=timeout, max_outputs=max_outputs
            )
        except MissingData as exc:
            raise click.UsageError(str(exc)) from None
        except DataError as exc:
            _fail(f"{file}: error: {exc}", EX_DATAERR)
        runs.append({"seed": s, **_sweep.record(result)})
        per_run.append(_sweep.values_by_name(result))
        results.append((s, result))
        if result.reason in ("interrupted", "terminated"):
            break
    summary = _sweep.summarize(per_run)
    if as_json:
        click.echo(json.dumps({"runs": runs, "summary": summary}, allow_nan=False))
    else:
        for line in _sweep.summary_lines(summary):
            click.echo(line)
        total = sum(r["stats"]["instructions"] for r in runs)
        seconds = sum(r["stats"]["run_seconds"] for r in runs)
        click.echo(f"; {len(runs)} run(s), {total} instruction(s) in {seconds:.3g} s", err=True)
    if out_file:
        try:
            _write_runs(out_file, results, runs, summary)
        except OSError as exc:
            _fail(f"ktasm: cannot write {out_file}: {exc.strerror or exc}", EX_CANTCREAT)
    faulted = [(s, r) for s, r in results if r.fault is not None]
    stopped = [(s, r) for s, r in results if r.reason not in ("halted", "end", "fault")]
    for s, r in faulted[:3]:
        click.echo(
            f"seed {s}: " + runtime_error_text(program, r.fault.pc, r.fault.message, r.fault.operand),
            err=True,
        )
    if len(faulted) > 3:
        click.echo(f"... {len(faulted)} of {len(results)} runs faulted", err=True)
    for s, r in stopped[:3]:
        click.echo(f"seed {s}: stopped after {r.stats['instructions']} instructions ({r.reason})", err=True)
    if any(r.reason == "interrupted" for _, r in results):
        sys.exit(130)
    if faulted or stopped:
        sys.exit(EX_SOFTWARE)


def _write_runs(path: str, results, runs, summary) -> None:
    """Every run's values to path: .json as --json, .csv name,seed,write,element,value,
    .npz an array per name and NAME.seed (each value's seed)."""
    import numpy as np

    from ktasm import outputs as _outputs
    from ktasm import sweep as _sweep

    ext = os.path.splitext(path)[1].lower()
    if ext == ".json":
        with open(path, "w") as fh:
            json.dump({"runs": runs, "summary": summary}, fh, allow_nan=False)
            fh.write("\n")
    elif ext == ".csv":
        import csv

        with open(path, "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["seed", "name", "write", "element", "value"])
            for s, result in results:
                counts: dict[str, int] = {}
                for name, values in _outputs.writes(result):
                    key = _outputs.UNNAMED if name is None else name
                    k = counts.get(key, 0)
                    counts[key] = k + 1
                    for element, v in enumerate(values):
                        out.writerow([s, key, k, element, repr(v)])
    else:
        arrays: dict[str, list] = {}
        seeds_of: dict[str, list] = {}
        for s, result in results:
            for name, vals in _sweep.values_by_name(result).items():
                arrays.setdefault(name, []).append(vals)
                seeds_of.setdefault(name, []).append(np.full(vals.size, s, dtype=np.int64))
        out_arrays = {"seeds": np.array([s for s, _ in results], dtype=np.int64)}
        for name, parts in arrays.items():
            out_arrays[name] = np.concatenate(parts)
            out_arrays[f"{name}.seed"] = np.concatenate(seeds_of[name])
        with open(path, "wb") as fh:
            np.savez(fh, **out_arrays)  # type: ignore[arg-type]


def _echo_json_with_array(name: str, values, rest: dict) -> None:
    """One JSON object {name: values, **rest}, the array written chunk by chunk (a billion
    outputs would be tens of GB as one Python list)."""
    import numpy as np

    from ktasm.outputs import chunks, json_number

    click.echo("{" + json.dumps(name) + ": [", nl=False)
    for i, chunk in enumerate(chunks(values)):
        items = chunk.tolist()
        finite = bool(np.isfinite(chunk).all())
        text = ", ".join(map(repr, items)) if finite else ", ".join(json.dumps(json_number(v)) for v in items)
        click.echo((", " if i else "") + text, nl=False)
    click.echo("], " + json.dumps(rest, allow_nan=False)[1:])


def _check_writable(path: str, option: str) -> None:
    """Fail now, not after the run, if path cannot be written (it is left as it was)."""
    existed = os.path.exists(path)
    if existed and not os.path.isfile(path):
        _fail(f"ktasm: {option} {path}: not a regular file", EX_USAGE)
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        _fail(f"ktasm: {option} {path}: cannot write: {exc.strerror or exc}", EX_CANTCREAT)
    if not existed:
        os.remove(path)


@cli.command()
@_FILE
@_limits
@click.option(
    "--seeds",
    "seeds_text",
    metavar="A:B",
    required=True,
    help="The seeds: A to B-1 (or A:B:STEP, or S1,S2,...).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="NAME=v1,v2,...",
    help="Sweep the constant NAME over these values (as -D NAME=v); repeatable: every combination.",
)
@DEFINE_OPTION
@DATA_OPTION
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    help="An existing Dask scheduler (tcp://host:8786; or DASK_SCHEDULER_ADDRESS). "
    "Default: a local cluster on this machine.",
)
@click.option(
    "--workers", type=click.IntRange(1), help="Worker processes of the local cluster (default: one per core)."
)
@click.option(
    "--out",
    "out_file",
    type=click.Path(dir_okay=False),
    metavar="FILE.csv|.parquet|.json",
    help="Write one row per run (Parquet needs pyarrow); rows are written as far as they got if the sweep stops.",
)
@click.option(
    "--connect-timeout",
    type=click.FloatRange(0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for --scheduler to answer.",
)
@click.option("--resume", is_flag=True, help="Skip the runs --out already has; keep its rows.")
@click.option("--json", "as_json", is_flag=True, help='Print {"rows": [{"seed", "params", "outputs", ...}]}.')
@click.option("--max-steps", type=click.IntRange(0), help="Stop each run after this many instructions.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    callback=lambda ctx, param, value: _finite(value, "--timeout"),
    help="Stop each run after this many seconds.",
)
def sweep(
    file,
    seeds_text,
    sets,
    defines,
    data,
    scheduler,
    workers,
    out_file,
    connect_timeout,
    resume,
    as_json,
    max_steps,
    timeout,
) -> None:
    """Run FILE for every seed x every combination of --set values, as tasks on Dask.

    Each row is exactly what ktasm run --json --seed S -D NAME=v prints, whatever the
    number of workers or the order the runs finish in. The bytecode and the data travel
    with the tasks (no shared file system); Dask reruns the tasks of a worker that dies;
    a run that faults is a row with its fault (the sweep still exits 0). Without
    --scheduler (or DASK_SCHEDULER_ADDRESS) a local cluster of --workers processes runs
    them. A scheduler that cannot be reached, or goes away, exits 69 with the rows
    finished so far written to --out. Needs the sweep extra: pip install 'ktasm[sweep]'.
    """
    from ktasm import sweep as _sweep

    seeds = _seeds(seeds_text)
    params: dict = {}
    for item in sets:
        try:
            name, values = _sweep.parse_set(item)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--set") from None
        if name in params:
            raise click.BadParameter(f"{name} is set twice", param_hint="--set")
        params[name] = values
    if scheduler and workers:
        raise click.UsageError(
            "--workers sizes the local cluster; an existing --scheduler has its own workers"
        )
    if resume and not out_file:
        raise click.UsageError("--resume reads the rows already in --out: give --out")
    old_records: list = []
    old_rows: list = []
    done: set = set()
    if out_file:
        _check_out(out_file, _sweep.SWEEP_FORMATS)
        ext = os.path.splitext(out_file)[1].lower()
        if ext == ".parquet":
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                _fail(
                    "ktasm: --out FILE.parquet needs pyarrow: python3 -m pip install pyarrow (or write .csv)",
                    EX_UNAVAILABLE,
                )
        if resume:
            try:
                old_rows = _sweep.read_rows(out_file) if ext == ".json" else []
                old_records = (
                    [_sweep.flat(r) for r in old_rows] if ext == ".json" else _sweep.read_table(out_file)
                )
                done = {_sweep.record_key(r) for r in old_records}
            except (OSError, ValueError, KeyError, TypeError) as exc:
                _fail(f"ktasm: --resume: cannot read the rows of {out_file}: {exc}", EX_DATAERR)
    program = file
    if file == "-":
        from ktasm.assembler import decode_source
        from vm.archive import ArchiveError, max_program_bytes, read_bytes

        try:
            program = decode_source(read_bytes("/dev/stdin", "program", max_program_bytes()), "<stdin>")
        except ArchiveError as exc:
            _fail(f"<stdin>: error: {exc}", EX_DATAERR)
    from vm.machine import DataError, MissingData

    def write(rows):
        if not out_file:
            return
        records = old_records + [_sweep.flat(r) for r in rows]
        keys = [_sweep.record_key(r) for r in old_records] + [
            _sweep.row_key(r["seed"], r["params"]) for r in rows
        ]
        order = _sweep.grid_order(keys, seeds, params)  # kept rows and new ones, as a fresh sweep
        records = [records[i] for i in order]
        every = old_rows + rows
        if len(every) == len(order):  # .json: the rows themselves, in the same order
            every = [every[i] for i in order]
        try:
            _sweep.write_table(out_file, records, every)
        except OSError as exc:
            _fail(f"ktasm: cannot write {out_file}: {exc.strerror or exc}", EX_CANTCREAT)

    _sweep.quiet_dask_logs()  # a lost scheduler is our message, not Dask's tracebacks
    try:
        rows = _sweep.sweep(
            program,
            seeds,
            params,
            defines=defines,
            data=_bindings(data),
            scheduler=scheduler,
            workers=workers,
            connect_timeout=connect_timeout,
            max_steps=max_steps,
            timeout=timeout,
            skip=done,
            progress=True,
        )
    except MissingData as exc:
        raise click.UsageError(str(exc)) from None
    except DataError as exc:
        _fail(f"{file}: error: {exc}", EX_DATAERR)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    except _sweep.SweepError as exc:
        write(exc.rows)
        kept = f"; {len(old_records) + len(exc.rows)} row(s) written to {out_file}" if out_file else ""
        _fail(f"ktasm: {exc.message}{kept}", EX_UNAVAILABLE)
    write(rows)
    if as_json:
        click.echo(json.dumps({"rows": rows}, allow_nan=False))
    faults = sum(r["fault"] is not None for r in rows)
    skipped = f", {len(old_records)} already in {out_file}" if resume else ""
    click.echo(f"; {len(rows)} run(s){skipped}; {faults} faulted", err=True)


@cli.command()
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
@_limits
@click.option(
    "-e",
    "--exec",
    "lines",
    multiple=True,
    metavar="LINE",
    help="Run LINE instead of reading input (repeatable, one line each; ';' starts a comment).",
)
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the .core seed.")
@click.option("--model", type=click.Choice(["float", "byte", "rs", "mss"]), help="Override the .core model.")
@DATA_OPTION
@DEFINE_OPTION
@click.option("--max-steps", type=click.IntRange(1), help="Stop each .continue after this many instructions.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    callback=lambda ctx, param, value: _finite(value, "--timeout"),
    help="Stop each .continue after this many seconds.",
)
def repl(file, lines, seed, model, data, defines, max_steps, timeout) -> None:
    """Drive a live core: type instructions and declarations, see the pairs move.

    FILE is loaded first (.step, .break, .continue, .list run it). On a terminal: Tab
    completion, history, a toolbar, errors marked before Enter. With -e or piped input,
    each line runs in turn; errors print and the next line runs; the exit status is 65
    after any bad line, else 70 after any runtime fault, else 0. .help lists the commands.
    """
    from ktasm.repl.engine import Session

    interactive = not lines and sys.stdin.isatty() and sys.stdout.isatty()
    session = Session(
        out=click.echo,
        err=lambda text: click.echo(text, err=True),
        input_name="<stdin>" if not lines and not interactive else "<repl>",
        seed=seed,
        model=model,
        data=_bindings(data),
        defines=defines,
        max_steps=max_steps,
        timeout=timeout,
        repeat_on_empty=interactive,
    )
    if file:
        from ktasm.assembler import decode_source
        from vm.archive import ArchiveError, max_program_bytes, read_bytes

        try:
            text = decode_source(read_bytes(file, "program", max_program_bytes()), file)
        except ArchiveError as exc:
            _fail(f"{file}: error: {exc}", EX_DATAERR)
        from ktasm.repl.commands.registry import CommandError

        try:
            session.load_text(text, file)
        except CommandError as exc:  # missing or bad data, as .load reports it
            _fail(f"{file}: error: {exc.message}", EX_DATAERR)
        unknown = sorted(set(session.data_given) - set(session.machine.program.data_names))
        if unknown:
            raise click.BadParameter(f"{file} declares no data {unknown[0]!r}", param_hint="--data")
    if interactive:
        from ktasm.repl.terminal import run_terminal

        run_terminal(session)
        return
    for line in lines or sys.stdin:
        if not session.execute(line):
            break
    else:
        session.end_of_input()
    sys.exit(session.exit_status)


def _finite(value, name: str):
    """click's FloatRange takes nan (every comparison is false) and inf."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"expected a finite number of seconds, got {value}", param_hint=name)
    return value


def _bindings(items) -> dict:
    bindings = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise click.BadParameter(f"expected NAME=FILE, got {item!r}", param_hint="--data")
        bindings[name] = path
    return bindings


@cli.command()
def lsp() -> None:
    """Serve the .kta language server over stdin/stdout (editors start it).

    Diagnostics as you type, completion, hover and go-to-definition; needs the lsp extra:
    python3 -m pip install 'ktasm[lsp]'. editors/vscode/ has an extension that starts it.
    """
    try:
        from ktasm.lsp import main as serve
    except ImportError as exc:
        _fail(
            f"ktasm lsp needs pygls and lsprotocol ({exc.name} is missing): python3 -m pip install 'ktasm[lsp]'",
            EX_UNAVAILABLE,
        )
    serve()


# ---------------------------------------------------------------------- example library
@cli.group()
def programs() -> None:
    """The example library: classifiers, Thompson-sampling bandits, neural-SDE diffusion.

    ktasm programs list; ktasm programs show NAME; ktasm programs run NAME|all.
    """


def _library(name: str):
    import ktasm.programs as library

    try:
        library.module(name)
    except library.ProgramError as exc:
        _fail(f"ktasm: {exc}", EX_USAGE)
    return library


@programs.command("list")
def programs_list() -> None:
    """Name and one line for each program."""
    import ktasm.programs as library

    for name, summary in library.summaries():
        click.echo(f"{name:<12} {summary}")


@programs.command("show")
@click.argument("name")
def programs_show(name: str) -> None:
    """Print the program's .kta source (coloured on a terminal)."""
    library = _library(name)
    source = library.source_path(name).read_text()
    if sys.stdout.isatty():
        from ktasm.highlight import highlight_terminal

        source = highlight_terminal(source)
    click.echo(source, nl=False)


@programs.command("run")
@click.argument("name")
@click.option("--quick", is_flag=True, help="A reduced run (seconds): fewer seeds, samples, epochs.")
@click.option(
    "--seed",
    type=click.IntRange(0, 2**31 - 1),
    default=0,
    show_default=True,
    help="Seed for data, worlds and devices (same seed, same result).",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"name", "metrics", "stats"} as JSON.')
@click.option(
    "--plot",
    "plot_path",
    type=click.Path(dir_okay=False),
    metavar="FILE.png",
    help="Draw the results (needs matplotlib).",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write the raw results (.npy arrays and metrics.json) to DIR.",
)
@click.option("--strict", is_flag=True, help="Exit with status 1 if an aim is missed.")
@click.option(
    "--retrain",
    is_flag=True,
    help="Train the networks afresh instead of loading the shipped weights (seed 0's, checksummed).",
)
@click.option(
    "--scheduler",
    metavar="ADDRESS",
    envvar="DASK_SCHEDULER_ADDRESS",
    help="Run the bandit's seeds and the assimilation fleet's targets as tasks on this Dask "
    "scheduler (tcp://host:8786; or DASK_SCHEDULER_ADDRESS): the same numbers as here. "
    "Needs the sweep extra.",
)
@click.option(
    "--connect-timeout",
    type=click.FloatRange(0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds to wait for --scheduler to answer.",
)
def programs_run(
    name: str,
    quick: bool,
    seed: int,
    as_json: bool,
    plot_path,
    out_dir,
    strict,
    retrain: bool,
    scheduler,
    connect_timeout,
) -> None:
    """Run NAME (or all) and report its metrics against their aims.

    With --scheduler, the runs that are independent of each other (the bandit's seeds, the
    assimilation fleet's targets) are tasks on that Dask scheduler, their inputs inside the
    tasks; the other programs run here. A scheduler that cannot be reached, or goes away,
    exits 69.
    """
    import ktasm.programs as library

    names = library.NAMES if name == "all" else (name,)
    if name != "all":
        _library(name)
    if plot_path and len(names) > 1:
        _fail("ktasm: --plot takes one program, not all", EX_USAGE)
    if plot_path:
        try:
            library.require("matplotlib", "--plot")
        except library.ProgramError as exc:
            _fail(f"ktasm: {exc}", EX_UNAVAILABLE)
    if plot_path:
        _check_writable(plot_path, "--plot")
    if out_dir:
        _check_directory(out_dir, "--out")
    options = library.Options(quick=quick, seed=seed, progress=library.Progress(), retrain=retrain)
    client, own_client = _programs_client(scheduler, connect_timeout) if scheduler else (None, False)
    options.client = client
    results, missed, unwritten = [], 0, []
    try:
        for each in names:
            result = _run_program(library, each, options)
            verdicts = library.verdicts(each, result.metrics)
            missed += sum(ok is False for _, ok in verdicts)
            if as_json:
                results.append(result.as_json())
            else:
                _print_result(result, verdicts, quick)
            try:  # after the results are printed: a failed write loses nothing shown
                if out_dir:
                    target = os.path.join(out_dir, each) if len(names) > 1 else out_dir
                    library.save_arrays(result.arrays, result.metrics, target)
                if plot_path:
                    library.module(each).plot(result.arrays, result.metrics, plot_path)
            except OSError as exc:
                unwritten.append(
                    f"ktasm: cannot write the results of {each}: {exc.filename or ''}: {exc.strerror or exc}"
                )
    finally:
        if own_client and client is not None:
            client.close()
    if as_json:
        click.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2, default=_jsonable))
    if unwritten:
        _fail("\n".join(unwritten), EX_CANTCREAT)
    if missed and strict:
        sys.exit(1)


def _programs_client(scheduler: str, connect_timeout: float):
    """(A Client of the scheduler, whether it is ours to close): this process's own Client of
    it if it has one, else one connected before anything runs (a bad address fails now)."""
    from ktasm import sweep as _sweep

    _sweep.quiet_dask_logs()
    existing = _sweep.existing_client(scheduler)
    if existing is not None:
        return existing, False
    try:
        client, _ = _sweep.connect(scheduler, connect_timeout=connect_timeout)
    except _sweep.SweepError as exc:
        _fail(f"ktasm: {exc.message}", EX_UNAVAILABLE)
    return client, True


def _run_program(library, name: str, options):
    """library.run, its errors (a missing package, a lost scheduler) as messages."""
    from ktasm.sweep import SweepError

    try:
        return library.run(name, options)
    except library.ProgramError as exc:
        _fail(f"ktasm: {exc}", EX_UNAVAILABLE)
    except SweepError as exc:
        _fail(f"ktasm: {name}: {exc.message}", EX_UNAVAILABLE)


def _check_directory(path: str, option: str) -> None:
    """Fail now, not after the run, if the directory path cannot be made or written."""
    if os.path.exists(path):
        if not os.path.isdir(path):
            _fail(f"ktasm: {option} {path}: not a directory", EX_USAGE)
        if not os.access(path, os.W_OK | os.X_OK):
            _fail(f"ktasm: {option} {path}: cannot write there", EX_CANTCREAT)
        return
    parent = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent) or not os.access(parent, os.W_OK | os.X_OK):
        _fail(
            f"ktasm: {option} {path}: cannot create it ({parent} is not a writable directory)", EX_CANTCREAT
        )


def _print_result(result, verdicts, quick: bool) -> None:
    click.echo(f"== {result.name}{' (quick)' if quick else ''}")
    for group, values in result.metrics.items():
        if isinstance(values, dict):
            inner = "  ".join(f"{k}={_fmt(v)}" for k, v in values.items())
            click.echo(f"  {group}: {inner}")
        else:
            click.echo(f"  {group}={_fmt(values)}")
    stats = result.stats
    click.echo(
        f"  vm: {stats['instructions']} instructions in {stats['vm_seconds']:.2f} s over "
        f"{stats['machine_runs']} runs; modeled {stats['modeled_time_s']:.3g} s, "
        f"{stats['modeled_energy_j']:.3g} J; wall {stats['wall_seconds']:.1f} s"
    )
    for text, ok in verdicts:
        mark = "skip" if ok is None else ("pass" if ok else "MISS")
        click.echo(f"  [{mark}] {text}" + (" (not run)" if ok is None else ""))


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _jsonable(v):
    if hasattr(v, "item"):
        return v.item()
    return v


def main(argv: list[str] | None = None) -> None:
    """Entry point: click with sysexits codes and no tracebacks unless KTASM_DEBUG=1."""
    try:
        _main(argv)
    except SystemExit as exc:  # Ctrl-C during a first compile: leave without teardown
        compiling = sys.modules.get("vm.compiling")
        if compiling is not None:
            compiling.exit_now_if_compiling(exc.code if isinstance(exc.code, int) else 1)
        raise


def _main(argv: list[str] | None) -> None:
    try:
        try:
            cli.main(args=argv, prog_name="ktasm", standalone_mode=False)
        except SystemExit as exc:
            # click turns a closed pipe (EPIPE) into exit 1 behind a wrapper of its own
            if exc.code == 1 and type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):
                raise BrokenPipeError() from None
            raise
        finally:
            sys.stdout.flush()  # inside the handlers: a full disk or a closed pipe is reported here
    except BrokenPipeError:  # `ktasm run p.kta | head`: the reader has what it wanted
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
    except click.exceptions.NoArgsIsHelpError as exc:  # pragma: no cover - click >= 8.2
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
        sys.exit(0)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EX_USAGE)
    except click.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KtasmError as exc:  # a bad program: every diagnostic, exit 65
        click.echo(exc.render(), err=True)
        sys.exit(EX_DATAERR)
    except OSError as exc:
        if exc.filename is None:  # writing stdout (a full disk) or another stream
            _quiet_stdout()
            click.echo(f"ktasm: cannot write the output: {exc.strerror or exc}", err=True)
            sys.exit(EX_IOERR)
        click.echo(f"ktasm: {exc.filename}: {exc.strerror or exc}", err=True)
        sys.exit(EX_DATAERR)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except RecursionError:  # a backstop: the parser limits nesting where it can say where
        click.echo("ktasm: error: the input is nested too deeply to process", err=True)
        sys.exit(EX_DATAERR)
    except Exception as exc:  # a bug: say so plainly, show the traceback only on request
        if os.environ.get("KTASM_DEBUG") == "1":
            raise
        click.echo(
            f"ktasm: internal error: {type(exc).__name__}: {exc} (set KTASM_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(EX_SOFTWARE)


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's last flush cannot fail again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":  # pragma: no cover
    main()
