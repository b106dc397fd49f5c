"""A retraining run (``adapt``, ``finetune``) either finishes whole or leaves nothing behind.

While a run works it holds ``training/<name>.unfinished``, a marker file locked with ``flock``
(the kernel drops the lock when the process dies, even on kill -9). The marker holds the model
that was active before the run. It goes away only once the run's model is written, registered
(and embedded, with ``--embed``). A run that fails or is interrupted discards its own output at
once (where it cannot, on a disk too full to update the database, its marker stays: its error is
the one reported, and the next run discards it as after a kill); a run that was killed is
discarded by the next ``adapt``/``finetune`` on the workspace, before it starts: its run folder,
its model file (whole or half), its registration and vectors, and the active model it set. So a
rerun after a kill ends like an uninterrupted run.
"""

from __future__ import annotations

import contextlib
import fcntl
import shutil
from collections.abc import Iterator
from pathlib import Path

from reid_core.workspace import Workspace

MARKER_SUFFIX = ".unfinished"


def run_files(folder: Path, name: str) -> list[Path]:
    """Everything a run named ``name`` may write into the workspace folder ``folder``."""
    model = folder / "models" / f"{name}.pt"
    return [folder / "training" / name, model, model.with_name(model.name + ".tmp")]


def _discard(folder: Path, name: str, active_before: str) -> None:
    """Remove what the run ``name`` left: files, its model's registration and vectors, its activation."""
    model_path = str((folder / "models" / f"{name}.pt").resolve())
    with Workspace(folder, create=False) as workspace:
        for model in workspace.models():
            if model["path"] == model_path:
                workspace.delete_model(model["id"])
                if workspace.get_meta("active_model") == model["id"] and active_before:
                    workspace.set_meta("active_model", active_before)
    for path in run_files(folder, name):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def discard_killed_runs(folder: Path) -> list[str]:
    """Discard the runs a killed process left unfinished (a run still working keeps its lock and
    is left alone); returns their names."""
    discarded = []
    for marker in sorted((folder / "training").glob(f"*{MARKER_SUFFIX}")):
        with contextlib.suppress(FileNotFoundError), open(marker, "r+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # another process is running it now
            name = marker.name[: -len(MARKER_SUFFIX)]
            _discard(folder, name, handle.read().strip())
            marker.unlink(missing_ok=True)
            discarded.append(name)
    return discarded


@contextlib.contextmanager
def unfinished_run(folder: Path, name: str, active_before: str | None) -> Iterator[None]:
    """Mark the run ``name`` unfinished while the block runs; on any exception (Ctrl-C included)
    discard its output before passing the exception on. Call ``discard_killed_runs`` first, before
    the run chooses its start model (a killed run may have made its own model the active one)."""
    marker = folder / "training" / f"{name}{MARKER_SUFFIX}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    with open(marker, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(active_before or "")
        handle.flush()
        try:
            yield
        except BaseException:
            try:
                _discard(folder, name, active_before or "")
            except Exception:  # e.g. a full disk: the marker stays and the next run discards it
                pass
            else:
                marker.unlink(missing_ok=True)
            raise  # the run's own error, not the discard's
        marker.unlink()
