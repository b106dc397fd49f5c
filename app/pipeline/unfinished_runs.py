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

On a PostgreSQL workspace the run's files are in this machine's cache folder of the case and the
marker is on the server, where every analyst's next run sees it: a meta entry
``unfinished_run:<name>`` (the model active before and the model file the run writes), held by a
session advisory lock that the server drops when the run's process dies. The next run on any
machine discards a killed run's registration, vectors and activation; its files only where they are.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

from reid_core.store.location import is_database_url
from reid_core.workspace import open_workspace

MARKER_SUFFIX = ".unfinished"
SERVER_MARKER = "unfinished_run:"  # meta key prefix of a run's marker on a PostgreSQL workspace


def run_model_path(folder: Path, name: str) -> Path:
    """Where the run named ``name`` writes its model in the workspace (or cache) folder ``folder``."""
    return folder / "models" / f"{name}.pt"


def run_files(folder: Path, name: str) -> list[Path]:
    """Everything a run named ``name`` may write into the workspace folder ``folder``."""
    model = run_model_path(folder, name)
    return [folder / "training" / name, model, model.with_name(model.name + ".tmp")]


def _discard(location: str | Path, name: str, active_before: str, model_path: str | None = None) -> None:
    """Remove what the run ``name`` left: files, its model's registration and vectors, its activation.
    ``model_path``: the model file it registers (default: the one in this machine's models folder)."""
    with open_workspace(location, create=False) as workspace:
        folder = workspace.folder
        model_path = model_path or str(run_model_path(folder, name).resolve())
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


def discard_killed_runs(location: str | Path) -> list[str]:
    """Discard the runs a killed process left unfinished (a run still working keeps its lock and
    is left alone); returns their names."""
    if is_database_url(location):
        return _discard_killed_server_runs(str(location))
    folder = Path(location)
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


def _discard_killed_server_runs(url: str) -> list[str]:
    discarded = []
    with open_workspace(url, create=False) as workspace:
        for key in workspace.meta_starting(SERVER_MARKER):
            if not workspace.lock_session(key, wait=False):
                continue  # its process is still running it
            try:
                marker = workspace.get_meta(key)
                if marker is None:  # it finished between the listing and the lock
                    continue
                stored = json.loads(marker)
                name = key[len(SERVER_MARKER) :]
                _discard(url, name, stored["active_before"], stored["model"])
                workspace.delete_meta(key)
                discarded.append(name)
            finally:
                workspace.unlock_session(key)
    return discarded


@contextlib.contextmanager
def unfinished_run(location: str | Path, name: str, active_before: str | None) -> Iterator[None]:
    """Mark the run ``name`` unfinished while the block runs; on any exception (Ctrl-C included)
    discard its output before passing the exception on. Call ``discard_killed_runs`` first, before
    the run chooses its start model (a killed run may have made its own model the active one)."""
    if is_database_url(location):
        with _server_run(str(location), name, active_before or ""):
            yield
        return
    folder = Path(location)
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


@contextlib.contextmanager
def _server_run(url: str, name: str, active_before: str) -> Iterator[None]:
    """``unfinished_run`` on a PostgreSQL workspace: the marker is a meta entry on the server, held by
    this connection's session lock while the run works."""
    key = SERVER_MARKER + name
    with open_workspace(url, create=False) as workspace:
        workspace.lock_session(key)
        model_path = str(run_model_path(workspace.folder, name).resolve())
        workspace.set_meta(key, json.dumps({"active_before": active_before, "model": model_path}))
        try:
            yield
        except BaseException:
            try:
                _discard(url, name, active_before, model_path)
            except Exception:  # e.g. the server is gone: the marker stays and the next run discards it
                pass
            else:
                workspace.delete_meta(key)
            raise
        workspace.delete_meta(key)
