"""What the window shows of the stored footage, headless: camera feeds, tracklet strips, where a tracklet is.

The widgets in ``app.gui`` (the main window, the review desk, the match dialog) call these and only
render what comes back; none of them reads the store itself. Like ``app.pipeline.matches``, each
function takes an open ``Workspace`` and returns plain display rows.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.pipeline.embed import decode_crops
from app.pipeline.overlay import normalise_maps
from reid_core.workspace import TrackletRow, Workspace

Box = tuple[int, float, float, float, float]  # tracklet id, x1, y1, x2, y2 (frame pixels)
STRIP_CROPS = 8  # crops a tracklet strip shows, evenly spaced over the tracklet


@dataclass(frozen=True)
class CameraFeed:
    """One stored video as a camera player shows it: the video, its camera and its boxes by frame."""

    video_id: int
    camera: str
    video: dict  # the stored row plus "name" (the file's name) and "stride" (the frame stride ingest used)
    boxes: dict[int, list[Box]] = field(repr=False)


def new_camera_feeds(workspace: Workspace, shown: Collection[int]) -> list[CameraFeed]:
    """The stored videos not in ``shown`` (video ids) whose file is on disk, by id, each with its boxes.

    A video whose file has moved stays stored (its tracklets still search) but gets no player."""
    cameras = workspace.cameras()
    feeds = []
    for video in workspace.videos():
        if video["id"] in shown or not Path(video["path"]).is_file():
            continue
        params = json.loads(video["params"] or "{}")
        stride = params.get("tracklets", {}).get("frame_stride", 1)
        info = {**video, "name": Path(video["path"]).name, "stride": stride}
        feeds.append(CameraFeed(video["id"], cameras[video["camera_id"]], info, workspace.boxes_by_frame(video["id"])))
    return feeds


@dataclass(frozen=True)
class FootageCounts:
    """What the status bar says is stored."""

    tracklets: int
    videos: int

    def ready_message(self) -> str:
        return (
            f"Ready: {self.tracklets} tracklets in {self.videos} videos. "
            "Click a person in a video (or pick a tracklet) to see matches from the other cameras."
        )


def footage_counts(workspace: Workspace) -> FootageCounts:
    """Tracklets and videos stored (not ``Workspace.counts()``: that also counts every box, crop and
    embedding, seconds at a million tracklets)."""
    return FootageCounts(workspace.tracklet_count(), len(workspace.videos()))


@dataclass(frozen=True)
class TrackletPlace:
    """Where a player shows a tracklet: its video and its first frame."""

    tracklet_id: int
    video_id: int
    start_frame: int


def tracklet_place(workspace: Workspace, tracklet_id: int) -> TrackletPlace:
    """The video and first frame of a tracklet (raises ``WorkspaceError`` for an unknown id)."""
    tracklet = workspace.tracklet(int(tracklet_id))
    return TrackletPlace(tracklet.id, tracklet.video_id, tracklet.start_frame)


@dataclass(frozen=True)
class TrackletStripRows:
    """Evenly spaced crops of one tracklet with the gate map of each (None where the model stored none)."""

    tracklet: TrackletRow
    frames: list[int]
    images: list[np.ndarray] = field(repr=False)  # RGB crops
    heat: list[np.ndarray | None] = field(repr=False)  # gate maps stretched to [0, 1]
    gate_range: tuple[float, float] | None  # the raw gate values' range before the stretch; None: no maps

    @property
    def has_heatmaps(self) -> bool:
        return any(h is not None for h in self.heat)


def tracklet_strip(
    workspace: Workspace, tracklet_id: int, model_id: str, count: int = STRIP_CROPS
) -> TrackletStripRows:
    """Up to ``count`` crops of the tracklet, evenly spaced, with the gate maps ``model_id`` stored for them."""
    tracklet = workspace.tracklet(int(tracklet_id))
    crops = workspace.crops(tracklet.id)
    picks = np.linspace(0, len(crops) - 1, min(count, len(crops))).round().astype(int) if crops else []
    chosen = [crops[i] for i in picks]
    heat: list[np.ndarray | None] = [None] * len(chosen)
    gate_range = None
    stored = workspace.gate_maps(tracklet.id, model_id)
    if stored is not None:
        frames, maps = stored
        gate_range = (float(maps.min()), float(maps.max()))
        maps = normalise_maps(maps)
        index = {f: i for i, f in enumerate(frames)}
        heat = [maps[index[f]] if f in index else None for f, _ in chosen]
    return TrackletStripRows(tracklet, [f for f, _ in chosen], decode_crops(chosen), heat, gate_range)


def identity_name_of(workspace: Workspace, identity_id: int | None) -> str | None:
    """The name of an identity (None for none or an unknown id)."""
    return workspace.identity_name(identity_id) if identity_id is not None else None


def identity_of(workspace: Workspace, tracklet_id: int | None) -> int | None:
    """The identity a tracklet was confirmed into (None: none, or no tracklet)."""
    return workspace.identity_of(tracklet_id) if tracklet_id is not None else None


def camera_names(workspace: Workspace) -> list[str]:
    """Every camera's name, sorted: the matches panel's camera filter."""
    return sorted(workspace.cameras().values())


@dataclass(frozen=True)
class QueryCard:
    """The query the matches panel shows above its table: the tracklet and its thumbnail JPEG."""

    tracklet: TrackletRow
    thumbnail: bytes | None = field(repr=False)  # the middle crop; None when the tracklet has no crop


def query_card(workspace: Workspace, tracklet_id: int) -> QueryCard:
    """The tracklet and its thumbnail (raises ``WorkspaceError`` for an unknown id)."""
    return QueryCard(workspace.tracklet(int(tracklet_id)), workspace.thumbnail(int(tracklet_id)))


def tracklet_list_page(workspace: Workspace, after_id: int, limit: int) -> list[TrackletRow]:
    """The next ``limit`` tracklets by id after ``after_id``: what the tracklet list fetches as it scrolls."""
    return workspace.tracklet_page(after_id, limit)
