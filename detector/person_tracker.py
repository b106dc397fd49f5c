"""YOLO person detection + an ultralytics multi-object tracker, one tracker per video.

An ``.onnx`` detector on the CPU runs on ``detector/runtime.py`` (onnxruntime with set threads,
or OpenVINO; ultralytics' letterbox and NMS); ``.pt`` weights, GPUs and ``runtime="ultralytics"``
run through ``YOLO.predict``.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from detector.offline import YOLO
from detector.params import TRACKERS, DetectorParams
from detector.runtime import OnnxDetector, onnxruntime_has_cuda, resolve_runtime
from detector.weights import DetectorError, checked_detector
from reid_core.errors import ResourceError, one_line

PERSON_CLASS = 0


@dataclass(frozen=True)
class TrackedBox:
    track_id: int
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
    score: float


def check_device(device: str) -> str:
    """The device to run on (``auto``: the first GPU if PyTorch sees one, else ``cpu``).

    Refuses a GPU device on a machine without one, in one line (ultralytics would raise deep inside).
    """
    import torch

    name = device.strip().lower()
    if name == "auto":
        return "cuda:0" if torch.cuda.is_available() else "cpu"
    if name not in ("cpu", "") and not torch.cuda.is_available():
        raise ResourceError(f"--detector-device {device}: no CUDA GPU on this machine (use cpu)")
    return name or "cpu"


def _first_sentence(exc: BaseException) -> str:
    """A library's message without its advice to download things (the app never downloads)."""
    text = one_line(exc).replace("ERROR ❌️ ", "").replace("ERROR ", "")
    return text.split(" Recommended fix")[0].split(" Use an official")[0][:200]


def _tracker_config(name: str):
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    if name not in TRACKERS:
        raise ValueError(f"unknown tracker {name!r}; choose one of {list(TRACKERS)}")
    return IterableSimpleNamespace(**YAML.load(check_yaml(f"{name}.yaml")))


class PersonTracker:
    """Loads the detector once; ``new_track()`` starts a fresh tracker for the next video."""

    def __init__(self, params: DetectorParams = DetectorParams()) -> None:
        weights = Path(params.weights)
        self.device = check_device(params.device)
        loadable = checked_detector(weights)  # before ultralytics: it would unpickle a .pt
        self.params = params
        on_gpu = self.device != "cpu"
        runtime = resolve_runtime(params.runtime)
        own_runtime = runtime != "ultralytics" and loadable.suffix.lower() == ".onnx"
        if on_gpu and not (runtime == "onnxruntime" and onnxruntime_has_cuda()):
            own_runtime = False  # a GPU without onnxruntime's CUDA provider: ultralytics' torch path (.pt weights)
        self.runtime = runtime if own_runtime else "ultralytics"
        self._onnx: OnnxDetector | None = None
        try:
            if own_runtime:
                self._onnx = OnnxDetector(loadable, runtime, params.threads, gpu=on_gpu, imgsz=params.imgsz)
            else:
                self.model = YOLO(str(loadable), task="detect")
            self.detect(np.zeros((32, 32, 3), np.uint8))  # builds the backend now, so a bad graph fails here
        except Exception as exc:  # ultralytics and onnxruntime raise many types for a file they cannot use
            reason = _first_sentence(exc).replace(str(loadable), "it").replace(str(weights), "it")
            raise DetectorError(f"{weights}: not a usable detector ({reason})") from exc
        finally:
            if loadable != weights:  # the checked private copy of a .pt: loaded, no longer needed
                shutil.rmtree(loadable.parent, ignore_errors=True)
        _tracker_config(params.tracker)  # fail early on an unknown tracker name
        self._tracker = None

    def new_track(self, frame_rate: float) -> None:
        from ultralytics.trackers.track import TRACKER_MAP

        cfg = _tracker_config(self.params.tracker)
        # The YAML's buffer is in frames at 30 fps; keep the same time span at this rate (the trackers of
        # ultralytics 8.4 take no frame_rate argument any more: max_time_lost = track_buffer).
        cfg.track_buffer = max(1, round(cfg.track_buffer * frame_rate / 30.0))
        self._tracker = TRACKER_MAP[cfg.tracker_type](args=cfg)

    def detect(self, frame: np.ndarray):
        """Person boxes of one BGR frame, as ultralytics Boxes on the CPU."""
        if self._onnx is not None:
            return self._onnx(frame, self.params.detect_conf)
        result = self.model.predict(
            frame,
            classes=[PERSON_CLASS],
            conf=self.params.detect_conf,
            imgsz=self.params.imgsz,
            device=self.device,
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
