"""The real window, offscreen, driven through the operator's flow; the database is checked after each step."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.gui.main_window import MainWindow
from app.pipeline.events import StepProgress
from detector.video import cut_clip
from reid_core.workspace import APP_ID, DB_NAME
from resources import DEMO_VIDEO

JOB_TIMEOUT_MS = 400_000
BY_CAMERA = "FROM tracklets t JOIN cameras c ON c.id = t.camera_id"


def rows(folder: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with closing(sqlite3.connect(f"file:{folder / DB_NAME}?mode=ro", uri=True)) as db:
        return db.execute(sql, params).fetchall()


def count(folder: Path, table: str) -> int:
    return rows(folder, f"SELECT COUNT(*) FROM {table}")[0][0]


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    """Two views of the plaza 40 s apart, standing in for two cameras."""
    folder = tmp_path_factory.mktemp("clips")
    return [cut_clip(folder / "east.avi", 0, 80, DEMO_VIDEO), cut_clip(folder / "west.avi", 400, 80, DEMO_VIDEO)]


@pytest.fixture
def window(qtbot):
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    yield window
    window.close_workspace()


@pytest.mark.slow
def test_operator_flow_from_footage_to_a_confirmed_identity(window, qtbot, clips, tmp_path) -> None:
    folder = tmp_path / "case"
    assert window.open_workspace(folder)
    assert rows(folder, "SELECT value FROM meta WHERE key = 'app'") == [(APP_ID,)]
    assert count(folder, "videos") == 0

    window.add_videos(clips, cameras=["east", "west"], start_times=[0.0, 40.0])
    assert window.jobs.busy and len(window.pending_videos()) == 2
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=JOB_TIMEOUT_MS)
    assert sorted(r[0] for r in rows(folder, "SELECT name FROM cameras")) == ["east", "west"]
    assert count(folder, "videos") == 2
    per_camera = dict(rows(folder, f"SELECT c.name, COUNT(*) {BY_CAMERA} GROUP BY c.name"))
    assert per_camera.get("east", 0) >= 2 and per_camera.get("west", 0) >= 2, per_camera
    assert count(folder, "embeddings") == count(folder, "tracklets") == count(folder, "gate_maps")
    assert rows(folder, f"SELECT MIN(start_time) {BY_CAMERA} WHERE c.name = 'west'")[0][0] >= 40.0
    assert window.pending_videos() == [] and len(window.players) == 2
    assert window.tracklets.rowCount() == count(folder, "tracklets")

    east_video = rows(folder, "SELECT v.id FROM videos v JOIN cameras c ON c.id = v.camera_id WHERE c.name = 'east'")
    player = window.players[east_video[0][0]]
    frame = next(f for f in sorted(player.boxes) if player.boxes[f])
    player.seek(frame)
    tracklet_id, x1, y1, x2, y2 = player.boxes[frame][0]
    others = [b for b in player.boxes[frame][1:] if b[1] <= (x1 + x2) / 2 <= b[3] and b[2] <= (y1 + y2) / 2 <= b[4]]
    assert not others, "pick a box that no other box covers at its centre"
    centre = player.view.to_widget((x1 + x2) / 2, (y1 + y2) / 2).toPoint()
    qtbot.mouseClick(player.view, Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: window.matches.query is not None, timeout=5_000)
    assert window.matches.query is not None and window.matches.query.id == tracklet_id
    qtbot.waitUntil(lambda: window.matches.shown == window.matches.pending, timeout=10_000)  # ranked off-thread
    matches = window.matches.matches
    assert matches and {m.camera for m in matches} == {"west"}
    assert window.matches.table.rowCount() == len(matches)
    assert [m.similarity for m in matches] == sorted((m.similarity for m in matches), reverse=True)

    table = window.matches.table
    qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=table.visualItemRect(table.item(0, 2)).center())
    assert table.currentRow() == 0
    qtbot.mouseClick(window.matches.open_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.match_dialog is not None, timeout=5_000)
    dialog = window.match_dialog
    assert dialog is not None and dialog.isVisible() and dialog.match.tracklet_id == matches[0].tracklet_id
    assert dialog.heatmap_box.isEnabled() and dialog.match_strip.has_heatmaps
    label = dialog.match_strip.labels[0]
    with_heat = label.pixmap().toImage()
    dialog.opacity.setValue(90)
    stronger = label.pixmap().toImage()
    dialog.heatmap_box.setChecked(False)
    plain = label.pixmap().toImage()
    assert len({with_heat.cacheKey(), stronger.cacheKey(), plain.cacheKey()}) == 3
    assert with_heat != plain and stronger != with_heat

    qtbot.mouseClick(dialog.confirm_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: count(folder, "identities") == 1, timeout=5_000)
    match_id = matches[0].tracklet_id
    assert rows(folder, "SELECT query_tracklet_id, match_tracklet_id, verdict FROM matches") == [
        (tracklet_id, match_id, "confirmed")
    ]
    assert count(folder, "identities") == 1
    members = sorted(r[0] for r in rows(folder, "SELECT tracklet_id FROM identity_tracklets"))
    assert members == sorted([tracklet_id, match_id])
    assert window.identities.model.rowCount() == 1
    qtbot.waitUntil(lambda: window.matches.shown == window.matches.pending, timeout=10_000)
    assert window.matches.table.item(0, 6).text() == "confirmed"

    if len(matches) > 1:
        window.matches.table.selectRow(1)
        qtbot.mouseClick(window.matches.reject_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: count(folder, "matches") == 2, timeout=5_000)
        verdict = rows(folder, "SELECT verdict FROM matches WHERE match_tracklet_id = ?", (matches[1].tracklet_id,))
        assert verdict == [("rejected",)]
        assert count(folder, "identity_tracklets") == 2

    window.identities.list.setCurrentIndex(window.identities.model.index(0))
    window.identities.rename_selected("Suspect A")
    assert rows(folder, "SELECT name FROM identities") == [("Suspect A",)]
    report = window.identities.export_selected(tmp_path / "export")
    assert report is not None and report.read_text().count("<img") >= 2
    csv_lines = (tmp_path / "export" / "Suspect_A.csv").read_text().splitlines()
    assert len(csv_lines) == 3 and {line.split(",")[1] for line in csv_lines[1:]} == {"east", "west"}


@pytest.mark.slow
def test_cancel_mid_ingest_leaves_a_consistent_workspace_that_resumes(window, qtbot, clips, tmp_path) -> None:
    folder = tmp_path / "cancelled"
    long_clip = cut_clip(tmp_path / "long.avi", 100, 120, DEMO_VIDEO)  # cancelled at frame 30 of 120
    window.open_workspace(folder)
    seen: list[StepProgress] = []
    window.jobs.progress.connect(lambda job, event: seen.append(event))
    window.add_videos([long_clip, clips[0]], cameras=["north", "east"], start_times=[0.0, 0.0])
    qtbot.waitUntil(lambda: any(e.done >= 30 for e in seen), timeout=JOB_TIMEOUT_MS)
    qtbot.mouseClick(window.jobs_panel.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=30_000)
    # Consistent: the started video keeps its row and its progress (ingest resumes from its last
    # checkpoint of closed tracklets), the other was never started, nothing is embedded yet.
    assert count(folder, "videos") == 1 and count(folder, "embeddings") == 0
    progress = rows(folder, "SELECT value FROM meta WHERE key = 'ingest_progress:1'")
    assert progress and progress[0][0] != "", "the cancelled video is left unfinished, to resume"
    assert len(window.pending_videos()) == 2
    assert window.jobs_panel.resume_button.isEnabled()
    assert "cancelled" in [window.jobs_panel.table.item(r, 2).text() for r in range(window.jobs_panel.table.rowCount())]

    window.close_workspace()  # reopening offers to resume, as after a crash
    window.open_workspace(folder)
    assert window.jobs_panel.resume_button.isEnabled()
    qtbot.mouseClick(window.jobs_panel.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=JOB_TIMEOUT_MS)
    assert count(folder, "videos") == 2 and window.pending_videos() == []
    assert count(folder, "tracklets") > 0 and count(folder, "embeddings") == count(folder, "tracklets")
    assert len(window.players) == 2
