"""A whole review by keyboard only, in the real window (offscreen): query, confirm 3, reject 1, undo 1,
export; then the stored verdicts and the evidence export are checked (issue 18 items 2 and 7)."""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from app.gui.shortcuts import MATCH_VIEW_KEYS, REVIEW_SHORTCUTS
from reid_core.workspace import DB_NAME


def key(qtbot, window, name: str, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """One key press, sent to whichever widget has the keyboard focus (as a real keyboard does)."""
    qtbot.keyClick(window.focusWidget() or window, name, modifier)


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_a_whole_review_by_keyboard_only(window, qtbot, two_cameras_copy) -> None:
    folder = two_cameras_copy
    assert window.open_workspace(folder)
    ctrl = Qt.KeyboardModifier.ControlModifier
    key(qtbot, window, Qt.Key.Key_L, ctrl)  # to the tracklet list; its first row is an east tracklet
    assert window.focusWidget() is window.tracklet_list
    key(qtbot, window, Qt.Key.Key_Return)  # query
    matches = window.matches
    qtbot.waitUntil(lambda: matches.query is not None and matches.shown == matches.pending, timeout=20_000)
    query = matches.query.id
    found = list(matches.matches)
    assert len(found) >= 4 and {m.camera for m in found} == {"west"}, matches.heading.text()
    assert matches.query_picture.pixmap() is not None and not matches.query_picture.pixmap().isNull()

    for row in range(3):
        assert matches.table.currentRow() == row  # the list keeps its place: each verdict moves on by one
        key(qtbot, window, Qt.Key.Key_C)
    assert matches.table.currentRow() == 3
    key(qtbot, window, Qt.Key.Key_X)
    assert [matches.table.item(r, 6).text() for r in range(4)] == ["confirmed"] * 3 + ["rejected"]
    key(qtbot, window, Qt.Key.Key_Z, ctrl)  # undo the rejection
    assert matches.table.item(3, 6).text() == "" and matches.matches == found  # no re-query, same order
    key(qtbot, window, Qt.Key.Key_E, ctrl)  # export the query's identity

    with closing(sqlite3.connect(folder / DB_NAME)) as db:
        stored = db.execute("SELECT query_tracklet_id, match_tracklet_id, verdict FROM matches ORDER BY id").fetchall()
        members = sorted(r[0] for r in db.execute("SELECT tracklet_id FROM identity_tracklets"))
        log = db.execute("SELECT action, match_tracklet_id, verdict FROM verdict_log ORDER BY id").fetchall()
        video_hashes = {r[0] for r in db.execute("SELECT content_hash FROM videos")}
        model_path = Path(db.execute("SELECT path FROM models").fetchone()[0])
    confirmed = [m.tracklet_id for m in found[:3]]
    assert stored == [(query, t, "confirmed") for t in confirmed]
    assert members == sorted([query, *confirmed])
    assert log == [("verdict", t, "confirmed") for t in confirmed] + [
        ("verdict", found[3].tracklet_id, "rejected"), ("undo", found[3].tracklet_id, None)
    ]

    exports = list((folder / "exports").iterdir())
    assert len(exports) == 1
    out = exports[0]
    rows = read_csv(next(out.glob("Person_*[0-9].csv")))
    assert sorted(int(r["tracklet"]) for r in rows) == members
    scores = {int(r["tracklet"]): r["similarity"] for r in rows}
    assert all(scores[m.tracklet_id] == f"{m.similarity:.4f}" for m in found[:3])
    for row in rows:
        snapshots = row["snapshots"].split()
        assert snapshots and all((out / s).is_file() and (out / s).read_bytes()[:2] == b"\xff\xd8" for s in snapshots)
    history = read_csv(next(out.glob("*_verdicts.csv")))
    assert [(h["action"], h["verdict"]) for h in history] == [("verdict", "confirmed")] * 3 + [
        ("verdict", "rejected"), ("undo", "")
    ]
    assert all(h["time"].endswith("UTC") for h in history)
    manifest = json.loads(next(out.glob("*_manifest.json")).read_text())
    assert {v["sha256"] for v in manifest["videos"]} == video_hashes
    assert [m["sha256"] for m in manifest["models"]] == [sha256(model_path)]
    assert all(sha256(out / name) == digest for name, digest in manifest["files"].items())
    report = next(out.glob("*.html")).read_text()
    assert report.count("<img") >= 4 and "Verdict history" in report and sha256(model_path) in report
    assert all(h in report for h in video_hashes)


def test_help_lists_every_shortcut_the_window_has(window, qtbot) -> None:
    key(qtbot, window, Qt.Key.Key_F1)
    dialog = window.help_dialog
    assert dialog is not None and dialog.isVisible()
    listed = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert len(listed) == len(REVIEW_SHORTCUTS) + len(MATCH_VIEW_KEYS)
    for shortcut in REVIEW_SHORTCUTS:
        action = window.review_actions[shortcut.name]
        assert [s.toString() for s in action.shortcuts()] == list(shortcut.keys)
        assert " or ".join(shortcut.keys) in listed and action.toolTip()


@pytest.mark.slow
def test_results_show_the_query_and_the_scores_they_are_ordered_by(
    window, qtbot, two_cameras_copy
) -> None:
    assert window.open_workspace(two_cameras_copy)
    matches = window.matches
    query = max(window.workspace.tracklets(), key=lambda t: t.length)
    window.select_tracklet(query.id)
    qtbot.waitUntil(lambda: matches.shown == matches.pending, timeout=20_000)
    assert matches.table.horizontalHeaderItem(5).text() == "similarity"
    matches.rerank.setChecked(True)  # re-query with k-reciprocal re-ranking
    qtbot.waitUntil(lambda: matches.shown == matches.pending, timeout=20_000)
    assert matches.table.horizontalHeaderItem(5).text() == "re-ranked distance"
    shown = [float(matches.table.item(r, 5).text()) for r in range(matches.table.rowCount())]
    assert len(shown) >= 3 and shown == sorted(shown)  # the column the rows are ordered by
    assert shown == [round(m.distance, 3) for m in matches.matches]
    assert not matches.query_picture.pixmap().isNull()

    dialog = window.open_match(matches.matches[0])
    assert dialog is not None and "re-ranked distance" in dialog.info.text()
    scale = dialog.scale.pixmap().toImage()  # the colour scale: blue (low) on the left, red (high) on the right
    left, right = scale.pixelColor(1, 5), scale.pixelColor(scale.width() - 2, 5)
    assert left.blue() > 100 > left.red() and right.red() > 100 > right.blue()
    label = dialog.match_strip.labels[0]
    overlaid = label.pixmap().toImage()
    dialog.map_only_box.setChecked(True)  # the gate map alone
    alone = label.pixmap().toImage()
    dialog.heatmap_box.setChecked(False)  # the crop alone
    crop = label.pixmap().toImage()
    assert overlaid != alone and alone != crop and overlaid != crop
    assert not dialog.map_only_box.isEnabled()  # no map to show alone while the map is off
    low, high = dialog.match_strip.gate_range
    assert 0.0 <= low <= high <= 1.0 and f"{low:.3f}–{high:.3f}" in dialog.match_strip.title.text()
    dialog.close()
