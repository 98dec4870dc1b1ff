"""The ``ktasm`` command line.

Subcommands import the VM (and so Numba) only when they run, which keeps ``ktasm --help``
fast. Exit codes follow sysexits: 64 usage, 65 bad input, 70 runtime fault.
"""

from __future__ import annotations

import json
import os
import sys

import click

from ktasm import __version__

EX_USAGE = 64
EX_DATAERR = 65
EX_SOFTWARE = 70


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ktasm")
def cli() -> None:
    """Assembler and virtual machine for thermodynamic and memristive computing.

    The kT-RAM physics (differential memristor pairs on float, byte, rs and mss device
    models) is available from Python as ``from vm import Core``.
    """


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--only", multiple=True, metavar="NAME",
              help="Run only these claims (repeatable). Names: annealing, beta_counts, pooling, "
                   "ff_rf, low_voltage, byte_ceiling, coin.")
def claims(as_json: bool, only: tuple[str, ...]) -> None:
    """Reproduce the seed's claims about the kT-bit and print the measured figures.

    Each claim (magnitude as annealing, votes as Beta counts, Kirchhoff pooling, FF/RF
    fates, non-disturbing low-voltage reads, the byte ceiling, the read-noise coin) runs as
    an experiment on vm.Core. Exits 1 if any claim is not reproduced.
    """
    from vm.ktram.claims import CLAIMS

    unknown = [n for n in only if n not in CLAIMS]
    if unknown:
        raise click.BadParameter(f"unknown claim {unknown[0]!r}; expected one of {', '.join(CLAIMS)}",
                                 param_hint="--only")
    results = [CLAIMS[name]() for name in (only or CLAIMS)]
    if as_json:
        click.echo(json.dumps({r.name: {"claim": r.claim, "criterion": r.criterion,
                                        "passed": r.passed,
                                        "measured": {k: _jsonable(v) for k, v in r.measured.items()}}
                               for r in results}, indent=2))
    else:
        for r in results:
            mark = click.style("PASS", fg="green") if r.passed else click.style("FAIL", fg="red")
            click.echo(f"[{mark}] {r.name}: {r.claim}")
            click.echo(f"       criterion: {r.criterion}")
            click.echo(f"       measured:  {r.summary().split(': ', 1)[1]}")
        click.echo(f"{sum(r.passed for r in results)} of {len(results)} claims reproduced")
    if not all(r.passed for r in results):
        sys.exit(1)


def _jsonable(v):
    if hasattr(v, "item"):
        return v.item()
    return v


def main(argv: list[str] | None = None) -> None:
    """Entry point: click with sysexits codes and no tracebacks unless KTASM_DEBUG=1."""
    try:
        cli.main(args=argv, prog_name="ktasm", standalone_mode=False)
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
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # a bug: say so plainly, show the traceback only on request
        if os.environ.get("KTASM_DEBUG") == "1":
            raise
        click.echo(f"ktasm: internal error: {type(exc).__name__}: {exc} "
                   "(set KTASM_DEBUG=1 for a traceback)", err=True)
        sys.exit(EX_SOFTWARE)


if __name__ == "__main__":  # pragma: no cover
    main()
