"""The detector on our chosen CPU runtimes gives the boxes ``YOLO.predict`` gives, on real frames."""

from __future__ import annotations

import numpy as np
import pytest

from detector.person_tracker import DetectorParams, PersonTracker
from detector.runtime import OnnxDetector, resolve_runtime
from detector.video import iter_frames, probe_video
from resources import DEFAULT_DETECTOR, DEMO_VIDEO

CONF = DetectorParams().detect_conf


@pytest.fixture(scope="module")
def frames() -> list[np.ndarray]:
    """Three busy vtest.avi frames, and one of them mirrored (a different layout of people)."""
    picked = [frame for index, frame in iter_frames(probe_video(DEMO_VIDEO), stride=150) if index in (150, 450, 600)]
    return [*picked, picked[0][:, ::-1].copy()]


@pytest.fixture(scope="module")
def predicted(frames: list[np.ndarray]) -> list[np.ndarray]:
    """ultralytics' own predict: rows of x1, y1, x2, y2, conf, class."""
    tracker = PersonTracker(DetectorParams(runtime="ultralytics"))
    assert tracker.runtime == "ultralytics"
    return [tracker.detect(frame).data for frame in frames]


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of N×4 and M×4 boxes."""
    x1, y1 = np.maximum(a[:, None, 0], b[None, :, 0]), np.maximum(a[:, None, 1], b[None, :, 1])
    x2, y2 = np.minimum(a[:, None, 2], b[None, :, 2]), np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


def test_onnxruntime_with_set_threads_equals_predict(frames: list[np.ndarray], predicted: list[np.ndarray]) -> None:
    detector = OnnxDetector(DEFAULT_DETECTOR, "onnxruntime", threads=1)
    assert sum(len(boxes) for boxes in predicted) >= 20  # busy frames: the comparison means something
    for frame, expected in zip(frames, predicted):
        np.testing.assert_allclose(detector(frame, CONF).data, expected, atol=1e-3)


def test_openvino_finds_the_same_people(frames: list[np.ndarray], predicted: list[np.ndarray]) -> None:
    """Other kernels move scores and edges a little; every confident person is still found, in place."""
    pytest.importorskip("openvino")
    tracker = PersonTracker(DetectorParams(runtime="openvino", threads=2))
    assert tracker.runtime == "openvino"
    for frame, expected in zip(frames, predicted):
        got = tracker.detect(frame).data
        confident = expected[expected[:, 4] >= 0.4]
        overlaps = iou(confident[:, :4], got[:, :4])
        assert float(overlaps.max(axis=1).min()) >= 0.9
        assert abs(len(got) - len(expected)) <= max(2, len(expected) // 10)
        assert set(got[:, 5].tolist()) == {0.0}


def test_runtime_names() -> None:
    assert resolve_runtime("onnxruntime") == "onnxruntime"
    assert PersonTracker().runtime == "onnxruntime"  # the default: predict's own boxes, the check sets still match
    with pytest.raises(ValueError, match="unknown detector runtime"):
        resolve_runtime("tensorrt")
