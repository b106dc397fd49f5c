"""Queries off the GUI thread: one worker thread, newest request wins, results delivered in steps.

Each request runs in a ``QThreadPool`` of one thread with its own SQLite connection (a connection
must not cross threads); the vector index it opens is kept for the next request, since mapping it
is what makes a million-tracklet query fast. A request that is no longer the newest when its turn
comes is skipped, so clicking through people never queues up seconds of stale work. Results come
back as Qt signals (queued to the GUI thread): the ranked rows first, then thumbnails in small
batches, so the table fills at once and the pictures follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.pipeline.identities import identity_verdicts
from app.pipeline.query import QueryOptions, active_model_id, rank_in_index
from reid_core.store.vector_index import VectorIndex, open_index
from reid_core.workspace import Workspace, WorkspaceError

THUMBNAIL_BATCH = 8


@dataclass
class QueryRequest:
    number: int
    folder: Path
    tracklet_ids: list[int]
    options: QueryOptions


@dataclass
class _State:
    """Shared by the requests (they run one at a time): the newest request number and open indexes."""

    newest: int = 0
    indexes: dict[tuple[Path, str], VectorIndex] = field(default_factory=dict)


class QueryRunner(QObject):
    # request number, model id, matches, verdicts {tracklet id: verdict}
    ranked = Signal(int, str, object, object)
    thumbnails = Signal(int, object)  # request number, [(tracklet id, jpeg bytes)]
    failed = Signal(int, str)  # request number, message
    notice = Signal(int, str)  # request number, what the operator should know about the results ("" if nothing)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.state = _State()

    def submit(self, folder: Path, tracklet_ids: list[int], options: QueryOptions) -> int:
        """Queue a query; returns its number (the signals carry it, older numbers are stale)."""
        self.state.newest += 1
        request = QueryRequest(self.state.newest, folder, list(tracklet_ids), options)
        self.pool.start(_QueryJob(self, request))
        return request.number

    def forget(self) -> None:
        """Drop pending requests and the open indexes (the workspace is being closed)."""
        self.state.newest += 1
        self.pool.waitForDone()
        self.state.indexes.clear()


class _QueryJob(QRunnable):
    def __init__(self, runner: QueryRunner, request: QueryRequest) -> None:
        super().__init__()
        self.runner, self.request = runner, request

    def _stale(self) -> bool:
        return self.request.number != self.runner.state.newest

    def run(self) -> None:
        if self._stale():
            return
        request, state = self.request, self.runner.state
        try:
            with Workspace(request.folder, create=False) as workspace:
                model_id = active_model_id(workspace)
                key = (request.folder, model_id)
                index = state.indexes[key] = open_index(workspace, model_id, state.indexes.get(key))
                _, missing = index.rows_of(request.tracklet_ids)
                if missing:
                    self.runner.failed.emit(request.number, not_embedded_yet(workspace, model_id, missing))
                    return
                self.runner.notice.emit(request.number, cameras_not_embedded(workspace, model_id, len(index)))
                matches = rank_in_index(workspace, index, request.tracklet_ids, request.options)
                verdicts = identity_verdicts(workspace, request.tracklet_ids[0])  # the person's, not the row's
                self.runner.ranked.emit(request.number, model_id, matches, verdicts)
                for start in range(0, len(matches), THUMBNAIL_BATCH):
                    if self._stale():
                        return
                    chunk = matches[start : start + THUMBNAIL_BATCH]
                    self.runner.thumbnails.emit(
                        request.number, [(m.tracklet_id, workspace.thumbnail(m.tracklet_id)) for m in chunk]
                    )
        except WorkspaceError as exc:
            self.runner.failed.emit(request.number, str(exc))


def model_name(workspace: Workspace, model_id: str) -> str:
    model = workspace.model(model_id)
    return str(model["name"]) if model else model_id[:12]


def not_embedded_yet(workspace: Workspace, model_id: str, tracklet_ids: list[int]) -> str:
    """What to tell the operator when the query has no vector for the active model (not an error)."""
    which = ", ".join(f"#{t}" for t in tracklet_ids)
    return (
        f"{which} not embedded by model {model_name(workspace, model_id)} yet: it is embedded in the "
        "background (see Background jobs); pick another model in the toolbar meanwhile."
    )


def cameras_not_embedded(workspace: Workspace, model_id: str, indexed: int) -> str:
    """Which cameras the active model cannot search in full yet (cheap when nothing is missing)."""
    if indexed >= workspace.tracklet_count():
        return ""
    missing = workspace.unembedded_by_camera(model_id)
    listed = ", ".join(f"{camera} ({count})" for camera, count in missing.items())
    return f"Not yet embedded by {model_name(workspace, model_id)}, so not searched yet: {listed}." if missing else ""
