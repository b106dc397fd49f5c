"""Keep ultralytics offline: no downloads, no auto-installs, no telemetry, our own config dir.

Import this module before ultralytics; it sets the environment ultralytics reads at import.
"""

from __future__ import annotations

import os
from pathlib import Path

import reid_core.airgap  # noqa: F401  (onnxruntime telemetry off before ultralytics loads it)

CONFIG_DIR = Path(os.environ.get("REID_ULTRALYTICS_DIR", Path.home() / ".config" / "rru-reid" / "ultralytics"))

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_AUTOINSTALL", "0")
os.environ.setdefault("YOLO_VERBOSE", "False")
os.environ.setdefault("YOLO_CONFIG_DIR", str(CONFIG_DIR))
CONFIG_DIR.mkdir(parents=True, exist_ok=True)

from ultralytics import YOLO, settings  # noqa: E402

settings.update({"sync": False})

__all__ = ["YOLO"]
