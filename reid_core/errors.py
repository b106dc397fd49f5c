"""The one family of user errors: bad input or an unusable machine, told in one line.

Every error a user can cause (a file that cannot be used, a value out of range, a full disk, a
GPU that is not there) is a ``UserError`` whose message is ``<file or value>: <problem>``. The
CLI prints it as ``error: <message>`` and exits with the class's ``exit_code``; the GUI shows the
same sentence in a dialog and keeps running. Anything else is a bug and keeps its traceback.

Exit codes (documented in the README):
    0   done
    1   internal error (a bug): Python's traceback
    2   bad input: a file, folder or value that cannot be used (argparse's usage errors too)
    3   the machine cannot do it: disk full, read-only or locked workspace, no GPU
    130 interrupted (Ctrl-C); what was already stored stays
"""

from __future__ import annotations

import errno
import os
import shutil
import sqlite3
from pathlib import Path

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_RESOURCE = 3
FULL_DISK_BYTES = 1 << 20  # less free than this after a failed write: the disk is full
EXIT_INTERRUPTED = 130


class UserError(RuntimeError):
    """Bad input: the message names the file or value and the problem."""

    exit_code = EXIT_BAD_INPUT


class ResourceError(UserError):
    """The input is fine but the machine cannot do it (disk full, read-only, locked, no GPU)."""

    exit_code = EXIT_RESOURCE


def one_line(exc: BaseException) -> str:
    """An exception's message on one line (library messages often span several)."""
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


_SQLITE_PROBLEMS = (  # (words in SQLite's message, what the user is told)
    (("disk is full", "disk full"), "disk full"),
    (("readonly", "read-only"), "read-only (cannot write here)"),
    (("locked", "busy"), "locked by another program; try again when it has finished"),
    (("unable to open",), "cannot be opened"),
)
_OS_PROBLEMS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def storage_error(exc: BaseException, where: str | os.PathLike) -> UserError | None:
    """The one-line error for a storage failure (full disk, read-only, locked, corrupt database);
    None when ``exc`` is not one (then it is a bug and keeps its traceback)."""
    if isinstance(exc, sqlite3.DatabaseError):
        text = one_line(exc)
        if "disk i/o error" in text.lower() and disk_nearly_full(where):  # e.g. no room for the WAL's index
            return ResourceError(f"{where}: disk full ({text})")
        for words, problem in _SQLITE_PROBLEMS:
            if any(w in text.lower() for w in words):
                return ResourceError(f"{where}: {problem} ({text})")
        if not isinstance(exc, sqlite3.OperationalError):  # malformed image, not a database
            return UserError(f"{where}: damaged workspace database ({text})")
        return None
    if isinstance(exc, OSError) and exc.errno in _OS_PROBLEMS:
        return ResourceError(f"{exc.filename or where}: {_OS_PROBLEMS[exc.errno]}")
    return None


def disk_nearly_full(where: str | os.PathLike) -> bool:
    """Whether the file system holding ``where`` (or its nearest existing parent) has almost no room left."""
    path = Path(where)
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free < FULL_DISK_BYTES
    except OSError:
        return False
