"""YOLO person detection + an ultralytics multi-object tracker, one tracker per video."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.offline import YOLO
from resources import DEFAULT_DETECTOR

PERSON_CLASS = 0
TRACKERS = ("bytetrack", "botsort")


@dataclass(frozen=True)
class TrackedBox:
    track_id: int
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    score: float


@dataclass(frozen=True)
class DetectorParams:
    weights: Path = DEFAULT_DETECTOR
    tracker: str = "bytetrack"
    detect_conf: float = 0.1  # low floor: ByteTrack's second stage uses low-score boxes
    imgsz: int = 640
    device: str = "cpu"


def _tracker_config(name: str):  # type: ignore[no-untyped-def]
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    if name not in TRACKERS:
        raise ValueError(f"unknown tracker {name!r}; choose one of {list(TRACKERS)}")
    return IterableSimpleNamespace(**YAML.load(check_yaml(f"{name}.yaml")))


class PersonTracker:
    """Loads the detector once; ``new_track()`` starts a fresh tracker for the next video."""

    def __init__(self, params: DetectorParams = DetectorParams()) -> None:
        weights = Path(params.weights)
        if not weights.is_file():
            raise FileNotFoundError(f"{weights}: detector weights not found")
        self.params = params
        self.model = YOLO(str(weights), task="detect")
        _tracker_config(params.tracker)  # fail early on an unknown tracker name
        self._tracker = None

    def new_track(self, frame_rate: float) -> None:
        from ultralytics.trackers.track import TRACKER_MAP

        cfg = _tracker_config(self.params.tracker)
        # The YAML's buffer is in frames at 30 fps; keep the same time span at this rate.
        cfg.track_buffer = max(1, round(cfg.track_buffer * frame_rate / 30.0))
        self._tracker = TRACKER_MAP[cfg.tracker_type](args=cfg)

    def detect(self, frame: np.ndarray):  # type: ignore[no-untyped-def]
        """Person boxes of one BGR frame, as ultralytics Boxes on the CPU."""
        result = self.model.predict(
            frame,
            classes=[PERSON_CLASS],
            conf=self.params.detect_conf,
            imgsz=self.params.imgsz,
            device=self.params.device,
            verbose=False,
        )[0]
        return result.boxes.cpu().numpy()

    def update(self, frame: np.ndarray) -> list[TrackedBox]:
        """Detect and track one frame; returns the confirmed tracks visible in it."""
        if self._tracker is None:
            raise RuntimeError("call new_track() before the first frame of a video")
        tracks = self._tracker.update(self.detect(frame), frame)
        return [
            TrackedBox(int(row[4]), (float(row[0]), float(row[1]), float(row[2]), float(row[3])), float(row[5]))
            for row in tracks
        ]
