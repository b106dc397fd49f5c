"""Footage → tracklets in a workspace. One video is one unit of work (one transaction).

A video's rows appear all at once or not at all, so killing the process at any moment and
running again gives the same result as an uninterrupted run; a video already stored (same
content hash) is skipped, so re-adding it is a no-op.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from detector.person_tracker import DetectorParams, PersonTracker
from detector.read_ahead import read_ahead
from detector.tracklets import Tracklet, TrackletBuilder, TrackletParams
from detector.video import VideoError, VideoInfo, content_hash, iter_frames, probe_video
from reid_core.workspace import Workspace

# progress(video_path, frames_done, frames_total)
ProgressFn = Callable[[Path, int, int], None]


class IngestCancelled(Exception):
    """Raised inside ingestion when the caller's cancel check answers True."""


@dataclass
class VideoOutcome:
    path: Path
    status: str  # ingested | skipped | failed
    camera: str
    tracklets: int = 0
    frames_processed: int = 0
    frames_skipped: int = 0  # frames not run through the detector because of the stride
    seconds: float = 0.0
    error: str = ""


def ingest_videos(
    workspace: Workspace,
    videos: list[str | Path],
    camera: str | None = None,
    detector: DetectorParams = DetectorParams(),
    tracklet_params: TrackletParams = TrackletParams(),
    start_times: dict[Path, float] | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    tracker: PersonTracker | None = None,
) -> list[VideoOutcome]:
    """Ingest each video; a failing video is reported and the others go on.

    ``tracker`` lets a long-lived caller (the GUI, a benchmark) reuse a loaded detector.
    """
    outcomes = []
    for raw_path in videos:
        path = Path(raw_path)
        camera_name = camera or path.stem
        started = time.perf_counter()
        try:
            info = probe_video(path)
            digest = content_hash(path)
            if workspace.video_by_hash(digest) is not None:
                outcomes.append(VideoOutcome(path, "skipped", camera_name))
                continue
            tracker = tracker or PersonTracker(detector)
            tracklets, processed = _track_video(tracker, info, tracklet_params, progress, cancelled)
            start_time = (start_times or {}).get(path)
            _store_video(
                workspace, info, digest, camera_name, start_time, tracklets, processed, detector, tracklet_params
            )
            outcomes.append(
                VideoOutcome(
                    path,
                    "ingested",
                    camera_name,
                    len(tracklets),
                    processed,
                    max(info.frame_count - processed, 0),
                    time.perf_counter() - started,
                )
            )
        except IngestCancelled:
            raise
        except VideoError as exc:
            outcomes.append(VideoOutcome(path, "failed", camera_name, error=str(exc)))
        except sqlite3.Error as exc:  # e.g. disk full: the transaction rolled back, nothing partial remains
            outcomes.append(VideoOutcome(path, "failed", camera_name, error=f"{path}: could not store ({exc})"))
    return outcomes


def _track_video(
    tracker: PersonTracker,
    info: VideoInfo,
    params: TrackletParams,
    progress: ProgressFn | None,
    cancelled: Callable[[], bool] | None,
) -> tuple[list[Tracklet], int]:
    tracker.new_track(info.fps / params.frame_stride)
    builder = TrackletBuilder(params)
    processed = 0
    for index, frame in read_ahead(iter_frames(info, params.frame_stride)):  # decoding overlaps detection
        if cancelled is not None and cancelled():
            raise IngestCancelled(str(info.path))
        builder.add_frame(index, frame, tracker.update(frame))
        processed += 1
        if progress is not None:
            progress(info.path, index + 1, info.frame_count)
    return builder.finish(), processed


def _store_video(
    workspace: Workspace,
    info: VideoInfo,
    digest: str,
    camera_name: str,
    start_time: float | None,
    tracklets: list[Tracklet],
    processed: int,
    detector: DetectorParams,
    params: TrackletParams,
) -> None:
    origin = start_time or 0.0
    settings = {"detector": {**asdict(detector), "weights": str(detector.weights)}, "tracklets": asdict(params)}
    with workspace.transaction():  # one transaction: the video, its tracklets, boxes and crops
        camera_id = workspace.camera_id(camera_name)
        video_id = workspace.add_video(
            {
                "camera_id": camera_id,
                "path": str(info.path.resolve()),
                "content_hash": digest,
                "fps": info.fps,
                "frame_count": info.frame_count,
                "width": info.width,
                "height": info.height,
                "start_time": start_time,
                "frames_processed": processed,
                "params": json.dumps(settings),
                "added_at": time.time(),
            }
        )
        for tracklet in tracklets:
            workspace.add_tracklet(
                {
                    "video_id": video_id,
                    "camera_id": camera_id,
                    "track_id": tracklet.track_id,
                    "start_frame": tracklet.start_frame,
                    "end_frame": tracklet.end_frame,
                    "start_time": origin + tracklet.start_frame / info.fps,
                    "end_time": origin + tracklet.end_frame / info.fps,
                    "length": len(tracklet.frames),
                },
                zip(tracklet.frames, tracklet.boxes, tracklet.scores),
                sorted(tracklet.crops.items()),
            )
