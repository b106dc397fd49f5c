"""Files the app ships: the default detector, the default re-ID checkpoint, demo footage."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent
DEFAULT_DETECTOR = RESOURCES / "yolov8n_int8.onnx"
DEFAULT_REID_CHECKPOINT = RESOURCES / "reid_default.pt"
DEMO_VIDEO = RESOURCES / "vtest.avi"
