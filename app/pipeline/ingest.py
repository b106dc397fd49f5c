"""Footage → tracklets in a workspace, written as they close, in small transactions.

Every ``CHECKPOINT_FRAMES`` processed frames one transaction stores the tracklets closed since
the last one together with where the video stands (``ingest_progress.py``). So a killed or
cancelled ingest loses at most those frames: run again, it resumes from the last stored frame
(the tracker restarts there, so a person on screen at that moment has their tracklet split in
two); memory holds only the open tracklets, whatever the video's length; and the tracklets
already stored can be embedded and searched while the video is still being ingested. A video
already finished (same content hash) is skipped, so re-adding it is a no-op.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from app.pipeline.ingest_progress import IngestProgress, load_progress, mark_finished, save_progress
from detector.person_tracker import DetectorParams, PersonTracker
from detector.read_ahead import read_ahead
from detector.tracklets import Tracklet, TrackletBuilder, TrackletParams
from detector.video import VideoError, VideoInfo, content_hash, iter_timed_frames, probe_video
from reid_core.errors import storage_error
from reid_core.workspace import Workspace

CHECKPOINT_FRAMES = 50  # processed frames per transaction: the most a kill can lose

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
    storage_failed: bool = False  # the workspace could not be written (full disk, read-only, locked)


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
    """Ingest (or resume) each video; a failing video is reported and the others go on.

    ``tracker`` lets a long-lived caller (the GUI, a benchmark) reuse a loaded detector.
    """
    outcomes = []
    for raw_path in videos:
        path = Path(raw_path)
        camera_name = camera or path.stem
        started = time.perf_counter()
        video: dict | None = None
        try:
            info = probe_video(path)
            digest = content_hash(path)
            with workspace.claim_video(digest):  # on a shared server, one writer per video at a time
                video = workspace.video_by_hash(digest)
                state = load_progress(workspace, video["id"]) if video is not None else None
                if video is not None and state is None:
                    outcomes.append(VideoOutcome(path, "skipped", workspace.cameras()[video["camera_id"]]))
                    continue
                tracker = tracker or PersonTracker(detector)
                if video is None or state is None:
                    start = (start_times or {}).get(path)
                    video, state = _start_video(workspace, info, digest, camera_name, start, detector, tracklet_params)
                params = _stored_params(video)
                stored, processed = _track_video(workspace, video, tracker, info, params, state, progress, cancelled)
            outcomes.append(
                VideoOutcome(
                    path,
                    "ingested",
                    workspace.cameras()[video["camera_id"]],
                    stored,
                    processed,
                    max(info.frame_count - state.next_frame - processed, 0),
                    time.perf_counter() - started,
                )
            )
        except IngestCancelled:
            raise
        except VideoError as exc:
            outcomes.append(VideoOutcome(path, "failed", camera_name, error=str(exc)))
        except sqlite3.Error as exc:  # e.g. disk full: the last transaction rolled back, the ones before stay
            problem = storage_error(exc, workspace.folder)
            error = f"{problem} (while storing {path.name})" if problem else f"{path}: could not store ({exc})"
            outcomes.append(VideoOutcome(path, "failed", camera_name, error=error, storage_failed=problem is not None))
    return outcomes


def _start_video(
    workspace: Workspace,
    info: VideoInfo,
    digest: str,
    camera_name: str,
    start_time: float | None,
    detector: DetectorParams,
    params: TrackletParams,
) -> tuple[dict, IngestProgress]:
    """The video's row and an empty progress, in one transaction."""
    settings = {"detector": {**asdict(detector), "weights": str(detector.weights)}, "tracklets": asdict(params)}
    state = IngestProgress()
    with workspace.transaction():
        row = {
            "camera_id": workspace.camera_id(camera_name),
            "path": str(info.path.resolve()),
            "content_hash": digest,
            "fps": info.fps,
            "frame_count": info.frame_count,
            "width": info.width,
            "height": info.height,
            "start_time": start_time,
            "frames_processed": 0,
            "params": json.dumps(settings),
            "added_at": time.time(),
        }
        video_id = workspace.add_video(row)
        save_progress(workspace, video_id, state)
    return {**row, "id": video_id}, state


def _stored_params(video: dict) -> TrackletParams:
    """The tracklet settings the video was started with (a resumed run keeps them)."""
    stored = json.loads(video["params"])["tracklets"]
    return TrackletParams(**{**stored, "crop_size": tuple(stored["crop_size"])})


def _track_video(
    workspace: Workspace,
    video: dict,
    tracker: PersonTracker,
    info: VideoInfo,
    params: TrackletParams,
    state: IngestProgress,
    progress: ProgressFn | None,
    cancelled: Callable[[], bool] | None,
) -> tuple[int, int]:
    """Track from ``state.next_frame`` to the end, storing as it goes; returns (tracklets stored,
    frames processed) of this run."""
    tracker.new_track(info.fps / params.frame_stride)
    builder = TrackletBuilder(params)
    offset = next_offset = state.track_offset
    done_before = int(video["frames_processed"] or 0)
    times = dict(state.times)  # frame → seconds (container timestamps) of the frames open tracklets hold
    # The tracklets open at the resume point are stored as they are (split there).
    now = IngestProgress(state.next_frame, offset)
    stored = _checkpoint(workspace, video, info, state.open, now, done_before, times)
    processed = 0
    try:
        frames = read_ahead(iter_timed_frames(info, params.frame_stride, start=state.next_frame))  # beside detection
        for index, frame, seconds in frames:
            if cancelled is not None and cancelled():
                raise IngestCancelled(str(info.path))
            times[index] = seconds
            tracks = [replace(t, track_id=t.track_id + offset) for t in tracker.update(frame)]
            next_offset = max([next_offset, *(t.track_id + 1 for t in tracks)])
            builder.add_frame(index, frame, tracks)
            processed += 1
            if processed % CHECKPOINT_FRAMES == 0:
                still_open = builder.open_as_closed()
                ends = {f: times[f] for t in still_open for f in (t.start_frame, t.end_frame)}
                now = IngestProgress(index + 1, next_offset, still_open, ends)
                finished = builder.take_finished()
                stored += _checkpoint(workspace, video, info, finished, now, done_before + processed, times)
                # memory stays flat: keep the times of frames a tracklet still open (even a short one) holds
                first_open = min((t.start_frame for t in builder.open.values() if t.frames), default=index + 1)
                times = {f: s for f, s in times.items() if f >= first_open}
            if progress is not None:
                progress(info.path, index + 1, info.frame_count)
    except VideoError as exc:  # truncated: what decoded is kept, and the video is finished
        kept = stored + _finish(workspace, video, info, builder.finish(), done_before + processed, times)
        raise VideoError(f"{exc}; the {kept} tracklets of the part that decoded are kept") from exc
    return stored + _finish(workspace, video, info, builder.finish(), done_before + processed, times), processed


def _checkpoint(
    workspace: Workspace,
    video: dict,
    info: VideoInfo,
    tracklets: list[Tracklet],
    state: IngestProgress,
    done: int,
    times: dict[int, float],
) -> int:
    """One transaction: closed tracklets, the video's progress and where to resume."""
    with workspace.transaction():
        _store_tracklets(workspace, video, info, tracklets, times)
        save_progress(workspace, video["id"], state)
        workspace.set_frames_processed(video["id"], done)
    return len(tracklets)


def _finish(
    workspace: Workspace, video: dict, info: VideoInfo, tracklets: list[Tracklet], done: int, times: dict[int, float]
) -> int:
    with workspace.transaction():
        _store_tracklets(workspace, video, info, tracklets, times)
        mark_finished(workspace, video["id"])
        workspace.set_frames_processed(video["id"], done)
    return len(tracklets)


def _store_tracklets(
    workspace: Workspace, video: dict, info: VideoInfo, tracklets: list[Tracklet], times: dict[int, float]
) -> None:
    """Store closed tracklets; their times are the container timestamps of their first and last
    frames (``times``; ``frame / fps`` for a frame it lacks), from the video's start time."""
    origin = video["start_time"] or 0.0
    for tracklet in tracklets:
        workspace.add_tracklet(
            {
                "video_id": video["id"],
                "camera_id": video["camera_id"],
                "track_id": tracklet.track_id,
                "start_frame": tracklet.start_frame,
                "end_frame": tracklet.end_frame,
                "start_time": origin + times.get(tracklet.start_frame, tracklet.start_frame / info.fps),
                "end_time": origin + times.get(tracklet.end_frame, tracklet.end_frame / info.fps),
                "length": len(tracklet.frames),
            },
            zip(tracklet.frames, tracklet.boxes, tracklet.scores),
            sorted(tracklet.crops.items()),
        )
