"""Per-workspace settings the app and its background jobs share (stored in the workspace's meta table)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields

from reid_core.devices import DEVICE_CHOICES
from reid_core.workspace import Workspace
from resources import DEFAULT_DETECTOR, DEFAULT_REID_CHECKPOINT


@dataclass(frozen=True)
class AppSettings:
    detector: str = str(DEFAULT_DETECTOR)  # ultralytics weights
    checkpoint: str = str(DEFAULT_REID_CHECKPOINT)  # re-ID model used to embed new tracklets
    device: str = "auto"  # re-ID device; auto = the GPU when there is one
    frame_stride: int = 1  # run the detector on every n-th frame
    cluster: str = ""  # Ray address the ingest and embed jobs run on (auto, HOST:PORT); "" = this machine only


def load_settings(workspace: Workspace) -> AppSettings:
    stored = json.loads(workspace.get_meta("settings", "{}") or "{}")
    known = {f.name for f in fields(AppSettings)}
    return AppSettings(**{k: v for k, v in stored.items() if k in known})


def save_settings(workspace: Workspace, settings: AppSettings) -> None:
    if settings.device not in DEVICE_CHOICES:
        raise ValueError(f"device must be one of {DEVICE_CHOICES}")
    if settings.frame_stride < 1:
        raise ValueError("frame stride must be at least 1")
    workspace.set_meta("settings", json.dumps(asdict(settings)))
