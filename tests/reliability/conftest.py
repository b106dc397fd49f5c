"""Shared inputs of the reliability suite: a short real clip, and small real workspaces."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

from detector.video import cut_clip
from resources import DEMO_VIDEO
from tests.reliability.cases import build_base
from tests.reliability.killed_training import build_trainable


@pytest.fixture(scope="session")
def short_clip(tmp_path_factory) -> Path:
    """20 frames of the demo footage with people in them (ingest takes a few seconds)."""
    return cut_clip(tmp_path_factory.mktemp("clip") / "short.avi", 100, 20, source=DEMO_VIDEO)


@pytest.fixture(scope="session")
def base_workspace(tmp_path_factory) -> tuple[Path, Path]:
    """(workspace, clip): one real clip ingested and embedded; cases work on copies of it."""
    return build_base(tmp_path_factory.mktemp("base"))


@pytest.fixture(scope="session")
def trainable(tmp_path_factory) -> Path:
    """Two embedded cameras with two confirmed people (adapt and finetune can run)."""
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return build_trainable(tmp_path_factory.mktemp("trainable"))
