"""Small real video files for tests, cut from the footage that ships in resources/."""

from __future__ import annotations

from pathlib import Path

import cv2

from resources import DEMO_VIDEO


def cut_clip(out: Path, start: int, count: int, source: Path = DEMO_VIDEO, fourcc: str = "MJPG") -> Path:
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
