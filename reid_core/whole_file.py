"""Files written whole or not at all.

Checkpoints, caches and copies that a later run reads must never be left half written by a kill,
a Ctrl-C or a full disk: they are written to a temporary file beside the target and renamed into
place (a rename within one folder is atomic), and the temporary file is removed on any failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(path: Path, keep_suffix: bool = False) -> Iterator[Path]:
    """Yield the temporary path to write; on success it replaces ``path``, on any failure it is removed.

    ``keep_suffix``: the temporary path ends in ``path``'s suffix (``x.tmp.avi``), for writers that
    choose the format by it (OpenCV's ``VideoWriter``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.stem}.tmp{path.suffix}" if keep_suffix else path.name + ".tmp")
    try:
        yield partial
        partial.replace(path)
    except BaseException:  # Ctrl-C included: no half file left behind
        partial.unlink(missing_ok=True)
        raise
