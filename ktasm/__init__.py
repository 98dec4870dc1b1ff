"""ktasm: assembler, language and CLI for kT-RAM, MTJ and Langevin programs."""

from pathlib import Path as _Path

__version__ = "0.1.0"

# Installed, the example library is the subpackage ktasm.programs (pyproject maps the
# top-level programs/ onto it). In a source checkout (tests run from the repository root
# import this folder, not the installed copy) the same name must reach programs/ beside it.
_checkout = _Path(__file__).resolve().parent.parent
if (
    not (_Path(__file__).resolve().parent / "programs").is_dir()
    and (_checkout / "programs" / "bandit.kta").is_file()
):
    __path__.append(str(_checkout))  # noqa: F821 - a package's __path__


def load_ipython_extension(ipython) -> None:
    """``%load_ext ktasm``: the %%kta cell magic and the %kta REPL line magic (ktasm.ipython)."""
    from ktasm.ipython import load_ipython_extension as load

    load(ipython)
