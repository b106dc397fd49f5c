"""Reading video files with OpenCV, with errors that name the file and the problem."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from reid_core.errors import UserError
from reid_core.hashing import sha256_file

# A stream that ends this far before its declared length is treated as truncated.
TRUNCATION_TOLERANCE = 0.02


class VideoError(UserError):
    """A video that cannot be ingested; the message names the file and the problem."""


@dataclass(frozen=True)
class VideoInfo:
    path: Path
    fps: float
    frame_count: int
    width: int
    height: int


def probe_video(path: str | Path) -> VideoInfo:
    """Open the file and check it decodes; raises VideoError otherwise."""
    path = Path(path)
    if not path.exists():
        raise VideoError(f"{path}: no such file")
    if not path.is_file():
        raise VideoError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file")
    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise VideoError(f"{path}: not a video OpenCV can open (unknown format or corrupt header)")
        ok, frame = capture.read()
        if not ok or frame is None:
            raise VideoError(f"{path}: no frame could be decoded (corrupt or not a video)")
        fps = capture.get(cv2.CAP_PROP_FPS)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        return VideoInfo(path, fps if fps and fps > 0 else 25.0, max(count, 1), frame.shape[1], frame.shape[0])
    finally:
        capture.release()


def iter_frames(info: VideoInfo, stride: int = 1, start: int = 0) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (frame index, BGR frame) for every ``stride``-th frame from frame ``start`` on (see
    ``iter_timed_frames``)."""
    for index, frame, _ in iter_timed_frames(info, stride, start):
        yield index, frame


def iter_timed_frames(info: VideoInfo, stride: int = 1, start: int = 0) -> Iterator[tuple[int, np.ndarray, float]]:
    """Yield (frame index, BGR frame, seconds from the first frame) for every ``stride``-th frame
    from frame ``start`` on (the frames before it are read past, not decoded into images: a resumed
    ingest starts there).

    The seconds are the container's timestamps (OpenCV's ``CAP_PROP_POS_MSEC``), so a
    variable-frame-rate file gets its real times, not ``index / fps``. A reader that gives no
    timestamps (or one that does not increase) gets the previous frame's time plus ``1 / fps``.

    Raises VideoError when the stream ends well before its declared length (truncated file).
    """
    capture = cv2.VideoCapture(str(info.path))
    decoded = 0
    origin = previous = None
    try:
        index = 0
        while True:
            wanted = index >= start and index % stride == 0
            ok, frame = capture.read() if wanted else (capture.grab(), None)
            if not ok:
                break
            decoded = index + 1
            stamp = capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
            origin = stamp if origin is None else origin
            seconds = stamp - origin
            if previous is not None and not seconds > previous:
                seconds = previous + 1.0 / info.fps
            previous = seconds
            if wanted:
                yield index, frame, seconds
            index += 1
    finally:
        capture.release()
    # The declared count is an estimate (duration × rate) in some containers (Matroska): a
    # variable-frame-rate file that played to its declared duration is whole.
    short = decoded < info.frame_count * (1 - TRUNCATION_TOLERANCE) - 1
    if short and (previous or 0.0) + 1.0 / info.fps < info.frame_count / info.fps * (1 - TRUNCATION_TOLERANCE):
        raise VideoError(f"{info.path}: truncated: decoded {decoded} of {info.frame_count} declared frames")


def content_hash(path: str | Path) -> str:
    """SHA-256 of the file: the identity of a video, so re-adding it is a no-op."""
    return sha256_file(path)


def cut_clip(out: Path, start: int, count: int, source: Path, fourcc: str = "MJPG") -> Path:
    """Copy frames [start, start+count) of ``source`` into a new file at ``out``."""
    capture = cv2.VideoCapture(str(source))
    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    fps = capture.get(cv2.CAP_PROP_FPS) or 10.0
    writer = None
    for _ in range(count):
        ok, frame = capture.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*fourcc), fps, (frame.shape[1], frame.shape[0]))
        writer.write(frame)
    capture.release()
    assert writer is not None, f"could not read {source}"
    writer.release()
    return out
