"""Reading ``.npz`` files that anyone may have written: checkpoints and REPL sessions.

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
