"""Switch off every network path of the libraries the app uses, before any of them is imported.

The app runs on air-gapped machines: nothing may be downloaded and nothing may phone home.
``reid_core/__init__.py`` imports this module, so it runs before any of our modules reaches
onnxruntime, ultralytics or torch. ``tests/reliability/test_air_gapped.py`` proves the result
by tracing the network system calls of every command.

- onnxruntime: its 1DS telemetry resolves mobile.events.data.microsoft.com every few seconds
  while a session runs; ``disable_telemetry_events()`` does not stop it, this variable does.
- ultralytics: offline mode, no pip auto-installs (``detector/offline.py`` also turns off
  settings sync and gives it its own config folder).
- torch hub, torchvision weights: never called (backbone weights come only from local files).
- Hugging Face hub (pulled in by some ultralytics paths): offline.
- Ray (``reid ... --cluster``, ``app/pipeline/cluster.py``): no usage statistics; the cluster module
  also starts Ray without its dashboard.
- Qt: PySide6 opens no connection by itself; the app uses no Qt network module.
"""

from __future__ import annotations

import os

OFFLINE_ENVIRONMENT = {
    "ORT_DISABLE_TELEMETRY": "1",
    "YOLO_OFFLINE": "1",
    "YOLO_AUTOINSTALL": "0",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_USAGE_STATS_PROMPT_ENABLED": "0",
}

os.environ.update(OFFLINE_ENVIRONMENT)
