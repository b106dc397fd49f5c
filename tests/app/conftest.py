"""A two-camera workspace built once per session for the window tests of issue 18, and the window."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.gui.main_window import MainWindow
from app.pipeline.embed import embed_workspace
from app.pipeline.ingest import ingest_videos
from detector.video import cut_clip
from reid_core.workspace import Workspace
from resources import DEMO_VIDEO


@pytest.fixture(scope="session")
def two_cameras(tmp_path_factory) -> Path:
    """Two views of the plaza 40 s apart (real YOLO + tracker), embedded with the default model.
    Tests that write labels take a copy (``two_cameras_copy``); the videos stay where they are."""
    folder = tmp_path_factory.mktemp("two_cameras")
    clips = [cut_clip(folder / "east.avi", 0, 80, DEMO_VIDEO), cut_clip(folder / "west.avi", 400, 80, DEMO_VIDEO)]
    with Workspace(folder / "ws") as ws:
        for clip, camera in zip(clips, ("east", "west")):
            ingest_videos(ws, [clip], camera=camera)
        embed_workspace(ws)
    return folder / "ws"


@pytest.fixture
def two_cameras_copy(two_cameras: Path, tmp_path: Path) -> Path:
    """A private copy of ``two_cameras`` (database and vector index), for a test that writes labels."""
    target = tmp_path / "ws"
    shutil.copytree(two_cameras, target)
    return target


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    window.activateWindow()
    qtbot.waitActive(window)
    yield window
    window.close_workspace()
