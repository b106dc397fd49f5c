"""Cutting per-frame tracks into tracklets: filters, gap splitting, minimum length, crops."""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from detector.params import TrackletParams
from detector.person_tracker import TrackedBox

__all__ = ["Tracklet", "TrackletBuilder", "TrackletParams", "closed_tracklet", "even_sample"]


@dataclass
class Tracklet:
    track_id: int
    frames: list[int] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    crops: dict[int, bytes] = field(default_factory=dict)  # frame → JPEG

    @property
    def start_frame(self) -> int:
        return self.frames[0]

    @property
    def end_frame(self) -> int:
        return self.frames[-1]


def clip_box(box: tuple[float, float, float, float], width: int, height: int) -> tuple[float, float, float, float]:
    x1, y1, x2, y2 = box
    return (min(max(x1, 0.0), width), min(max(y1, 0.0), height), min(max(x2, 0.0), width), min(max(y2, 0.0), height))


def encode_crop(frame: np.ndarray, box: tuple[float, float, float, float], params: TrackletParams) -> bytes:
    x1, y1, x2, y2 = (round(v) for v in box)
    patch = frame[y1:y2, x1:x2]
    height, width = params.crop_size
    patch = cv2.resize(patch, (width, height), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", patch, [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()


def even_sample(items: list[int], count: int) -> list[int]:
    """``count`` items spread evenly from first to last (all of them when count is 0 or larger)."""
    if count <= 0 or len(items) <= count:
        return list(items)
    positions = np.linspace(0, len(items) - 1, count).round().astype(int)
    return [items[i] for i in positions]


class TrackletBuilder:
    """Feed it one processed frame at a time; it returns tracklets as they close."""

    def __init__(self, params: TrackletParams) -> None:
        self.params = params
        self.open: dict[int, Tracklet] = {}
        self.finished: list[Tracklet] = []

    def add_frame(self, index: int, frame: np.ndarray, tracks: list[TrackedBox]) -> None:
        p = self.params
        height, width = frame.shape[:2]
        self._close_stale(index)
        for track in tracks:
            box = clip_box(track.box, width, height)
            if track.score < p.min_conf or box[3] - box[1] < p.min_height or box[2] - box[0] < 2:
                continue
            tracklet = self.open.get(track.track_id)
            if tracklet is None:
                tracklet = self.open[track.track_id] = Tracklet(track.track_id)
            tracklet.frames.append(index)
            tracklet.boxes.append(box)
            tracklet.scores.append(track.score)
            tracklet.crops[index] = encode_crop(frame, box, p)

    def _close_stale(self, index: int) -> None:
        limit = (self.params.max_gap + 1) * self.params.frame_stride
        for track_id in [t for t, tracklet in self.open.items() if index - tracklet.end_frame > limit]:
            self._close(track_id)

    def _close(self, track_id: int) -> None:
        closed = closed_tracklet(self.open.pop(track_id), self.params)
        if closed is not None:
            self.finished.append(closed)

    def take_finished(self) -> list[Tracklet]:
        """The tracklets closed since the last call, in (start frame, track id) order; the builder
        forgets them, so its memory does not grow with the video's length."""
        done, self.finished = self.finished, []
        return sorted(done, key=lambda t: (t.start_frame, t.track_id))

    def open_as_closed(self) -> list[Tracklet]:
        """What the open tracklets would be if the video ended now (the builder is unchanged)."""
        closed = (closed_tracklet(t, self.params) for t in self.open.values())
        return sorted((t for t in closed if t is not None), key=lambda t: (t.start_frame, t.track_id))

    def finish(self) -> list[Tracklet]:
        """Close every open tracklet; all tracklets in (start frame, track id) order."""
        for track_id in list(self.open):
            self._close(track_id)
        return self.take_finished()


def closed_tracklet(tracklet: Tracklet, params: TrackletParams) -> Tracklet | None:
    """A tracklet as it is stored: None when too short, else with its crops evenly sampled."""
    if len(tracklet.frames) < params.min_length:
        return None
    keep = set(even_sample(tracklet.frames, params.max_crops))
    crops = {f: jpeg for f, jpeg in tracklet.crops.items() if f in keep}
    return Tracklet(tracklet.track_id, list(tracklet.frames), list(tracklet.boxes), list(tracklet.scores), crops)
