"""Browsing a workspace bigger than a screen: the tracklet list reads pages as it scrolls, and
queries run on a worker thread where only the newest click's answer is shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex

from app.gui.main_window import MainWindow
from app.gui.tracklet_table import PAGE
from app.pipeline.identities import create_identity
from app.pipeline.query import QueryOptions, query_workspace
from reid_core.workspace import Workspace

TRACKLETS = 1_234


@pytest.fixture(scope="module")
def big(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browse") / "ws"
    rng = np.random.default_rng(0)
    with Workspace(folder) as ws:
        ws.register_model("m", "m", "", "synthetic", 16, {})
        videos = [(ws.add_video({"camera_id": ws.camera_id(c), "path": c, "content_hash": c}), c) for c in "abc"]
        cameras = ws.cameras()
        by_name = {name: i for i, name in cameras.items()}
        rows = [
            {"id": t, "video_id": videos[t % 3][0], "camera_id": by_name[videos[t % 3][1]], "track_id": t}
            | {"start_frame": 0, "end_frame": 9, "start_time": float(t), "end_time": t + 5.0, "length": 10}
            for t in range(1, TRACKLETS + 1)
        ]
        ws.add_tracklets(rows)
        ws.save_embeddings("m", list(range(1, TRACKLETS + 1)), rng.standard_normal((TRACKLETS, 16), np.float32))
    return folder


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    yield window
    window.close_workspace()


def test_tracklet_list_fetches_pages_as_it_scrolls(window, big: Path) -> None:
    assert window.open_workspace(big, create=False)
    model = window.tracklets
    assert model.rowCount() == PAGE and model.canFetchMore(QModelIndex())
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    assert model.rowCount() == TRACKLETS
    assert [model.tracklet_id(r) for r in range(TRACKLETS)] == list(range(1, TRACKLETS + 1))
    last = model.index(TRACKLETS - 1, 1)
    assert model.data(last) == "abc"[TRACKLETS % 3] and model.data(model.index(0, 0)) == "#1"
    window.tracklet_list.doubleClicked.emit(model.index(41, 0))
    assert window.matches.query is not None and window.matches.query.id == 42


def test_after_quick_clicks_the_newest_answer_is_shown_and_equals_the_library_one(window, qtbot, big: Path) -> None:
    assert window.open_workspace(big, create=False)
    for tracklet_id in (5, 6, 7):  # three quick clicks: the answers to 5 and 6 must not be shown
        window.select_tracklet(tracklet_id)
    qtbot.waitUntil(lambda: window.matches.shown == window.matches.pending, timeout=20_000)
    qtbot.waitUntil(lambda: window.matches.thumbnails_shown == window.matches.pending, timeout=20_000)
    with Workspace(big, create=False) as ws:
        expected = query_workspace(ws, [7], options=QueryOptions(top_k=20))
    assert window.matches.query.id == 7 and window.matches.matches == expected
    table = window.matches.table
    assert table.rowCount() == 20 and [table.item(r, 2).text() for r in range(20)] == [
        str(m.tracklet_id) for m in expected
    ]


def test_identity_list_is_a_model_that_keeps_the_selection(window, big: Path, tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    shutil.copytree(big, folder, ignore=shutil.ignore_patterns("vector_index"))
    with Workspace(folder) as ws:
        for members in ([1, 2], [3], [4, 5, 6]):
            create_identity(ws, members)
    assert window.open_workspace(folder, create=False)
    panel = window.identities
    assert panel.model.rowCount() == 3 and panel.model.data(panel.model.index(2)).startswith("Person 3: 3 tracklets")
    for row in (2, 0):
        panel.list.selectionModel().select(panel.model.index(row), QItemSelectionModel.SelectionFlag.Select)
    assert sorted(panel.selected_ids()) == [1, 3]
    panel.refresh()
    assert sorted(panel.selected_ids()) == [1, 3]
    panel.merge_selected()
    assert panel.model.rowCount() == 2
    assert sorted(len(i.tracklet_ids) for i in panel.model.items) == [1, 5]
