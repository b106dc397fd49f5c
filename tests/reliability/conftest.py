"""Shared inputs of the reliability suite: a short real clip, and files that try to run code."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch

from detector.video import cut_clip
from resources import DEMO_VIDEO


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory) -> Path:
    """20 frames of the demo footage with people in them (ingest takes a few seconds)."""
    return cut_clip(tmp_path_factory.mktemp("clip") / "short.avi", 100, 20, source=DEMO_VIDEO)


class _TouchesMarker:
    """Unpickling this object runs ``touch marker`` (what a malicious weights file does)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch '{self.marker}'",))


def write_payloads(folder: Path, marker: Path) -> dict[str, Path]:
    """A plain pickle and a zip-format torch file, each creating ``marker`` when unpickled."""
    plain = folder / "evil_pickle.pt"
    plain.write_bytes(pickle.dumps({"model": _TouchesMarker(marker)}))
    archive = folder / "evil_zip.pt"
    torch.save({"model": _TouchesMarker(marker)}, archive)
    return {"pickle": plain, "zip": archive}
