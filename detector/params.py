"""The detector's and tracklet cutter's settings and names: one home, light to import.

The CLI builds its arguments and defaults from these without loading OpenCV, ultralytics or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from resources import DEFAULT_DETECTOR

TRACKERS = ("bytetrack", "botsort")  # ultralytics' trackers, by their YAML names


@dataclass(frozen=True)
class DetectorParams:
    weights: Path = DEFAULT_DETECTOR
    tracker: str = TRACKERS[0]
    detect_conf: float = 0.1  # low floor: ByteTrack's second stage uses low-score boxes
    imgsz: int = 640
    device: str = "auto"  # auto (the GPU when there is one) | cpu | 0 | cuda:0 ...
    runtime: str = "onnxruntime"  # onnxruntime | openvino | ultralytics (see detector/runtime.py)
    threads: int | None = None  # CPU threads of the detector; None: every core this process may use


@dataclass(frozen=True)
class TrackletParams:
    min_length: int = 8  # boxes kept; shorter tracklets are dropped
    max_gap: int = 10  # processed frames a track may be missing before it is split
    min_conf: float = 0.4  # boxes below this score are not kept (the tracker still sees them)
    min_height: int = 48  # pixels; smaller people are too small to re-identify
    frame_stride: int = 1  # process every n-th frame
    max_crops: int = 32  # crops kept per tracklet, evenly spaced; 0 keeps every frame
    crop_size: tuple[int, int] = (256, 128)  # (height, width) stored for the re-ID model
    jpeg_quality: int = 90
