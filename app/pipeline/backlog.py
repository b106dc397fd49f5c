"""The background work a workspace still owes, kept in the workspace so it survives the window.

Videos the operator added are queued in the workspace's meta (``pending_videos``, JSON) until
their ingest job reports them ingested, skipped or failed: a cancelled, killed or closed run
resumes from this list. ``resume_on_open`` marks a workspace whose window was closed with jobs
running, so the next open carries on without asking. The window (``app.gui.main_window``)
only decides when to call these.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from app.pipeline.embed import checkpoints_in_use, missing_per_model
from app.pipeline.query import active_model_id
from app.pipeline.settings import AppSettings
from reid_core.workspace import Workspace, WorkspaceError

PENDING_KEY = "pending_videos"  # meta key: JSON list of {path, camera, start}
RESUME_ON_OPEN = "resume_on_open"  # meta key: "1" when the window was closed on running jobs
FINISHED = ("ingested", "skipped", "failed")  # ingest outcomes that take a video off the queue


@dataclass(frozen=True)
class PendingVideo:
    path: str  # resolved, so the same file added twice is one entry's key
    camera: str
    start: float  # the camera's clock at the first frame (s)


def pending_videos(workspace: Workspace) -> list[PendingVideo]:
    """Videos added but not ingested yet, in the order they were added."""
    stored = json.loads(workspace.get_meta(PENDING_KEY, "[]") or "[]")
    return [PendingVideo(str(p["path"]), str(p["camera"]), float(p["start"])) for p in stored]


def add_pending(workspace: Workspace, entries: list[tuple[Path, str, float]]) -> None:
    """Queue (video, camera, start time) entries behind the ones already waiting."""
    added = [PendingVideo(str(Path(path).resolve()), camera, float(start)) for path, camera, start in entries]
    _store(workspace, pending_videos(workspace) + added)


def finish_video(workspace: Workspace, video: str | Path, status: str) -> None:
    """Take a video off the queue when its ingest ended as one of ``FINISHED``."""
    if status in FINISHED:
        path = str(Path(video).resolve())
        _store(workspace, [p for p in pending_videos(workspace) if p.path != path])


def _store(workspace: Workspace, pending: list[PendingVideo]) -> None:
    workspace.set_meta(PENDING_KEY, json.dumps([asdict(p) for p in pending]))


def owes_embedding(workspace: Workspace) -> bool:
    """Tracklets some model has not embedded yet (an embed job was stopped, or a model was added)."""
    return workspace.any_unembedded() or bool(missing_per_model(workspace))


def embed_checkpoints(workspace: Workspace, settings: AppSettings) -> list[Path]:
    """The checkpoints an embed pass runs, the active model's first (see ``embed.checkpoints_in_use``)."""
    try:
        active = active_model_id(workspace)
    except WorkspaceError:
        active = None
    return checkpoints_in_use(workspace, settings.checkpoint, first=active)


def remember_to_resume(workspace: Workspace) -> None:
    """The window closes on running jobs: the next open resumes them without asking."""
    workspace.set_meta(RESUME_ON_OPEN, "1")


def take_resume_request(workspace: Workspace) -> bool:
    """Whether the last window closed on running jobs (asked once: the mark is cleared)."""
    if workspace.get_meta(RESUME_ON_OPEN) != "1":
        return False
    workspace.set_meta(RESUME_ON_OPEN, "0")
    return True
