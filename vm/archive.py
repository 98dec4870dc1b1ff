"""Reading files that anyone may have written: programs, data tables, checkpoints and REPL
sessions, each within a declared size limit.

``read_bytes`` reads a program or a table whole, once (a pipe such as ``/dev/stdin`` can
be read only once), refusing directories and anything larger than the limit (``/dev/zero``
ends there). ``KTASM_MAX_FILE_BYTES`` raises the limit (default 1 GiB).

``np.load`` trusts the archive: a few MB of deflated zeros inflate to GBs, a text file is
"pickled data" it advises loading unsafely, and a FIFO blocks. ``read_npz`` opens only a
regular file that is a zip of ``.npy`` members, adds up the sizes the archive declares
(zip reads never inflate past them) against a limit before reading anything, and refuses
object arrays. Importing this module does not import Numba.
"""

from __future__ import annotations

import os
import stat
import zipfile

import numpy as np

MAX_MEMBERS = 64
DEFAULT_MAX_FILE_BYTES = 1 << 30


def max_file_bytes() -> int:
    """The most bytes one program or data file may hold: KTASM_MAX_FILE_BYTES or 1 GiB."""
    text = os.environ.get("KTASM_MAX_FILE_BYTES", "")
    return int(text) if text.isdigit() and int(text) > 0 else DEFAULT_MAX_FILE_BYTES


def max_program_bytes() -> int:
    """The most bytes of one program source or bytecode file: 1/16 of the file limit
    (64 MiB by default)."""
    return max(1, max_file_bytes() // 16)


def read_bytes(path, what: str = "file", limit: int | None = None) -> bytes:
    """The whole content of path (a file, or a pipe or device read to its end); ArchiveError
    (a ValueError) for a directory, a read error, or more than limit bytes."""
    limit = max_file_bytes() if limit is None else limit
    try:
        with open(path, "rb") as fh:
            info = os.fstat(fh.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise ArchiveError(f"{path} is a directory, not a {what}")
            if stat.S_ISREG(info.st_mode) and info.st_size > limit:
                raise ArchiveError(_too_big(path, what, info.st_size, limit))
            blob = fh.read(limit + 1)
    except IsADirectoryError:
        raise ArchiveError(f"{path} is a directory, not a {what}") from None
    except OSError as exc:
        raise ArchiveError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(blob) > limit:
        raise ArchiveError(_too_big(path, what, None, limit))
    return blob


def _too_big(path, what: str, size: int | None, limit: int) -> str:
    has = f"{size} bytes" if size is not None else "more"
    return f"{what} {path} holds {has}, more than the limit of {limit} bytes (raise it with --max-file-bytes N or KTASM_MAX_FILE_BYTES=N)"


class ArchiveError(ValueError):
    """Not a readable .npz of plain arrays within the size limit."""


def read_npz(path, max_bytes: int, what: str = "file") -> dict[str, np.ndarray]:
    """Every array of the .npz at path; ArchiveError (a ValueError) naming the problem."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ArchiveError(f"{path} is not a regular file")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > MAX_MEMBERS:
                raise ArchiveError(f"{path}: {len(members)} arrays, more than a {what} has")
            declared = sum(m.file_size for m in members)
            if declared > max_bytes:
                raise ArchiveError(
                    f"{path}: its arrays would take {declared} bytes, more than the "
                    f"{max_bytes} a {what} of this program can need"
                )
            arrays = {}
            for member in members:
                name = member.filename
                if not name.endswith(".npy"):
                    raise ArchiveError(f"{path}: {name!r} is not an array")
                with archive.open(member) as fh:
                    array = np.lib.format.read_array(fh, allow_pickle=False)
                if array.dtype.hasobject:
                    raise ArchiveError(f"{path}: {name!r} holds Python objects")
                arrays[name[: -len(".npy")]] = array
            return arrays
    except ArchiveError:
        raise
    except zipfile.BadZipFile:
        raise ArchiveError(f"{path} is not a {what} (.npz): not a zip archive") from None
    except (OSError, ValueError, EOFError, zipfile.LargeZipFile, NotImplementedError, RuntimeError) as exc:
        raise ArchiveError(f"{path} is damaged: {exc}") from None
