"""Labelled check-set workspaces built from the shared footage (``bench/labels/*.json``).

The labels name videos under ``../shared/data`` (or a half of one, cut here) and the ingest
settings they were made with; building the workspace is ingesting them with those settings, so
it lives with the pipeline. Scoring a set is ``training.checksets``.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from app.pipeline.ingest import ingest_videos
from detector.tracklets import TrackletParams
from reid_core.whole_file import written_whole
from reid_core.workspace import Workspace


def labelled_workspace(labels_file: Path, work: Path, shared: Path) -> Path:
    """Ingest the set's videos (paths relative to ``shared``) with the settings its labels were made on.

    Done once: the workspace is kept in ``work`` and reused while its ``done`` marker exists.
    """
    spec = json.loads(labels_file.read_text())
    folder = work / labels_file.stem
    if (folder / "done").exists():
        return folder
    with Workspace(folder) as workspace:
        for video in spec["videos"]:
            source = video_path(video, work, shared)
            params = TrackletParams(
                frame_stride=video.get("stride", 1),
                max_crops=video.get("max_crops", 32),
                min_length=video.get("min_length", TrackletParams.min_length),
            )
            outcomes = ingest_videos(workspace, [source], camera=video["camera"], tracklet_params=params)
            if outcomes[0].status == "failed":
                raise RuntimeError(f"{source}: {outcomes[0].error}")
    (folder / "done").write_text("ok\n")
    return folder


def missing_footage(labels_file: Path, shared: Path) -> Path | None:
    """The first video or frame folder the set names that is not under ``shared`` (None: all there)."""
    for video in json.loads(labels_file.read_text())["videos"]:
        source = shared / video.get("frames", video.get("path", ""))
        if not source.exists():
            return source
    return None


def video_path(video: dict, work: Path, shared: Path) -> Path:
    """A shared-data video, a half of one (``{"half": "left"|"right"}``) or a folder of frames, made in ``work``."""
    if "frames" in video:
        return frames_video(shared / video["frames"], work / f"{video['camera']}.avi", video["fps"])
    if "half" not in video:
        return shared / video["path"]
    target = work / f"{Path(video['path']).stem}_{video['half']}.avi"
    if target.exists():
        return target
    capture = cv2.VideoCapture(str(shared / video["path"]))
    fps, width, height = capture.get(cv2.CAP_PROP_FPS), int(capture.get(3)), int(capture.get(4))
    half = slice(0, width // 2) if video["half"] == "left" else slice(width // 2, width)
    with written_whole(target, keep_suffix=True) as partial:  # a killed run leaves no short clip to reuse
        writer = _mjpg_writer(partial, fps, (width // 2, height))
        try:
            while True:
                ok, frame = capture.read()
                if not ok:
                    break
                writer.write(np.ascontiguousarray(frame[:, half]))
        finally:
            writer.release()
            capture.release()
    return target


def _mjpg_writer(path: Path, fps: float, size: tuple[int, int]) -> cv2.VideoWriter:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise OSError(f"{path}: OpenCV cannot write an MJPG clip here")
    return writer


def frames_video(folder: Path, target: Path, fps: float) -> Path:
    """The folder's ``*.jpg`` frames, in name order, as an MJPG clip at ``fps`` (the way MultiviewX is ingested)."""
    if target.exists():
        return target
    frames = sorted(folder.glob("*.jpg"))
    if not frames:
        raise FileNotFoundError(f"{folder}: no *.jpg frames")
    first = cv2.imread(str(frames[0]))
    with written_whole(target, keep_suffix=True) as partial:
        writer = _mjpg_writer(partial, fps, (first.shape[1], first.shape[0]))
        try:
            for frame in frames:
                writer.write(cv2.imread(str(frame)))
        finally:
            writer.release()
    return target
