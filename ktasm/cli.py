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
def _load_program(path: str):
    """A Program from .kta source or .ktb bytecode (sniffed by its magic number), the file
    read once (a program piped on stdin, /dev/stdin or -, works) within the size limit."""
    from ktasm.assembler import assemble_text, decode_source
    from vm.archive import ArchiveError, max_program_bytes, read_bytes
    from vm.bytecode import MAGIC, BytecodeError, Program

    name = "<stdin>" if path == "-" else path
    try:
        blob = read_bytes("/dev/stdin" if path == "-" else path, "program", max_program_bytes())
    except ArchiveError as exc:
        _fail(f"{name}: error: {exc}", EX_DATAERR)
    if blob.startswith(MAGIC):
        try:
            return Program.from_bytes(blob)
        except BytecodeError as exc:
            _fail(f"{name}: error: {exc}", EX_DATAERR)
    return assemble_text(decode_source(blob, name), name)


def _fail(message: str, code: int):
    click.echo(message, err=True)
    sys.exit(code)


_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))


@cli.command()
@_FILE
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False), help="Bytecode file (default: FILE with .ktb)."
)
def asm(file: str, output: str | None) -> None:
    """Assemble a .kta program into a .ktb bytecode file."""
    program = _load_program(file)
    output = output or os.path.splitext(file)[0] + ".ktb"
    program.save(output)
    click.echo(f"{output}: {program.code.shape[0]} instructions")


@cli.command()
@_FILE
def check(file: str) -> None:
    """Check a program and report every error, without running it (exit 65 on errors)."""
    program = _load_program(file)
    click.echo(f"{file}: ok ({program.code.shape[0]} instructions)")


@cli.command()
@_FILE
def dis(file: str) -> None:
    """Disassemble a .kta or .ktb file: line, >> jump targets, pc, resolved operands, source."""
    from ktasm.disasm import disassemble

    click.echo(disassemble(_load_program(file)))


@cli.command()
@_FILE
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: outputs, stats, registers.")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), help="Override the .core seed.")
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
    file: str, as_json: bool, seed, model, max_steps, timeout, max_outputs, data, save_state, load_state
) -> None:
    """Run a .kta or .ktb program and print its outputs (one per line) or --json.

    Stops at HALT, at the end of the program, after --max-steps or --timeout, on Ctrl-C
    (exit 130) or SIGTERM (exit 143), within a second, inside a long instruction too;
    outputs and stats so far are still printed, and --save-state writes a checkpoint that
    --load-state resumes from. Non-finite outputs are written as NaN, inf, -inf (in --json
    as the strings "NaN", "Infinity", "-Infinity").
    """
    bindings = _bindings(data)
    if save_state:
        _check_writable(save_state, "--save-state")
    program = _load_program(file)
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
    if as_json:
        click.echo(
            json.dumps(
                {
                    "outputs": [_json_number(v) for v in result.outputs.tolist()],
                    "stats": result.stats,
                    "reason": result.reason,
                    "registers": [_json_number(v) for v in result.registers.tolist()],
                    "fault": result.fault.message if result.fault else None,
                },
                allow_nan=False,
            )
        )
    else:
        for value in result.outputs.tolist():
            click.echo(repr(value))
        st = result.stats
        click.echo(
            f"; {st['instructions']} instruction(s) in {st['run_seconds']:.3g} s; modeled "
            f"{st['modeled_time_s']:.4g} s, {st['modeled_energy_j']:.4g} J; {result.reason}",
            err=True,
        )
    if save_state:  # after the results: a failed write loses nothing printed
        try:
            machine.save_checkpoint(save_state)
        except OSError as exc:
            _fail(f"ktasm: cannot write checkpoint {save_state}: {exc.strerror or exc}", EX_CANTCREAT)
    if result.fault is not None:
        _fail(runtime_error_text(program, result.fault.pc, result.fault.message), EX_SOFTWARE)
    if result.reason == "interrupted":
        _fail(f"interrupted after {result.stats['instructions']} instructions", 130)
    if result.reason == "terminated":
        _fail(f"terminated after {result.stats['instructions']} instructions", 128 + signal.SIGTERM)
    if result.reason == "output_limit":
        _fail(
            f"stopped after {result.stats['instructions']} instructions: the outputs reached "
            f"{machine.max_outputs} values (raise the limit with --max-outputs)",
            EX_SOFTWARE,
        )
    if result.reason in ("max_steps", "timeout"):
        limit = "--max-steps" if result.reason == "max_steps" else "--timeout"
        _fail(f"stopped after {result.stats['instructions']} instructions ({limit})", EX_SOFTWARE)


def _json_number(v: float):
    """JSON has no NaN or infinities: those become the strings JavaScript prints."""
    if math.isfinite(v):
        return v
    return "NaN" if v != v else ("Infinity" if v > 0 else "-Infinity")


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
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False))
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
@click.option("--max-steps", type=click.IntRange(1), help="Stop each .continue after this many instructions.")
@click.option(
    "--timeout",
    type=click.FloatRange(0, min_open=True),
    callback=lambda ctx, param, value: _finite(value, "--timeout"),
    help="Stop each .continue after this many seconds.",
)
def repl(file, lines, seed, model, data, max_steps, timeout) -> None:
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
def programs_run(name: str, quick: bool, seed: int, as_json: bool, plot_path, out_dir, strict) -> None:
    """Run NAME (or all) and report its metrics against their aims."""
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
    options = library.Options(quick=quick, seed=seed, progress=library.Progress())
    results, missed, unwritten = [], 0, []
    for each in names:
        try:
            result = library.run(each, options)
        except library.ProgramError as exc:
            _fail(f"ktasm: {exc}", EX_UNAVAILABLE)
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
    if as_json:
        click.echo(json.dumps(results[0] if len(results) == 1 else results, indent=2, default=_jsonable))
    if unwritten:
        _fail("\n".join(unwritten), EX_CANTCREAT)
    if missed and strict:
        sys.exit(1)


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
