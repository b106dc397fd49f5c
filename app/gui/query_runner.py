"""Queries off the GUI thread: one worker thread, newest request wins, results delivered in steps.

What a request computes is ``app.pipeline.matches.matches_for``; this module only threads it.
Each request runs in a ``QThreadPool`` of one thread with its own connection to the workspace (SQLite
or PostgreSQL; a connection must not cross threads); the vector index it opens is kept for the next
request, since mapping it is what makes a million-tracklet query fast. A request that is no longer
the newest when its turn comes is skipped, so clicking through people never queues up seconds of
stale work. Results come back as Qt signals (queued to the GUI thread): the ranked rows first, then
thumbnails in small batches, so the table fills at once and the pictures follow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from app.pipeline.matches import matches_for, thumbnail_batches
from app.pipeline.query import QueryOptions
from reid_core.store.vector_index import VectorIndex
from reid_core.workspace import WorkspaceError, open_workspace


@dataclass
class QueryRequest:
    number: int
    location: str | Path  # the workspace's folder or postgresql:// URL
    tracklet_ids: list[int]
    options: QueryOptions


@dataclass
class _State:
    """Shared by the requests (they run one at a time): the newest request number and open indexes."""

    newest: int = 0
    indexes: dict[tuple[Path, str], VectorIndex] = field(default_factory=dict)


class QueryRunner(QObject):
    ranked = Signal(int, object)  # request number, MatchList (app.pipeline.matches)
    thumbnails = Signal(int, object)  # request number, [(tracklet id, jpeg bytes)]
    failed = Signal(int, str)  # request number, message (the query is not embedded yet, or nothing is)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)
        self.state = _State()

    def submit(self, location: str | Path, tracklet_ids: list[int], options: QueryOptions) -> int:
        """Queue a query; returns its number (the signals carry it, older numbers are stale)."""
        self.state.newest += 1
        request = QueryRequest(self.state.newest, location, list(tracklet_ids), options)
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
            with open_workspace(request.location, create=False) as workspace:
                found = matches_for(workspace, request.tracklet_ids, request.options, state.indexes)
                if found.not_ready:
                    self.runner.failed.emit(request.number, found.not_ready)
                    return
                self.runner.ranked.emit(request.number, found)
                for batch in thumbnail_batches(workspace, [row.match.tracklet_id for row in found.rows]):
                    if self._stale():
                        return
                    self.runner.thumbnails.emit(request.number, batch)
        except WorkspaceError as exc:
            self.runner.failed.emit(request.number, str(exc))
