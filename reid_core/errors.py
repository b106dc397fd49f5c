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

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_RESOURCE = 3
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
