"""Retrain, then add a camera: every model embeds it, the active model hides no camera (issue 18 item 1).

The "retrain" is the fast path: a second model registered from a copy of the default checkpoint
with its own name (so its own content hash and its own vectors), its ONNX export copied beside it
as a retrain's would be exported. What is under test is what happens to a video added afterwards.
"""

from __future__ import annotations

import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest
import torch

from app.pipeline.embed import checkpoints_in_use, embed_workspace, missing_per_model
from app.pipeline.ingest import ingest_videos
from app.pipeline.query import active_model_id
from detector.video import cut_clip
from reid_core.checkpoint import file_digest, read_checkpoint
from reid_core.workspace import DB_NAME, Workspace
from resources import DEFAULT_REID_CHECKPOINT, DEMO_VIDEO

JOB_TIMEOUT_MS = 400_000


def second_model(folder: Path) -> Path:
    """The default's weights under another name: a model of its own, as a retrain would add."""
    data = read_checkpoint(DEFAULT_REID_CHECKPOINT)
    data["meta"] = {**data.get("meta", {}), "name": "retrained-for-test"}
    target = folder / "models" / "retrained.pt"
    target.parent.mkdir(parents=True)
    torch.save(data, target)
    export = target.with_suffix(".onnx")
    shutil.copytree(DEFAULT_REID_CHECKPOINT.with_suffix(".onnx"), export)
    (export / "model_id").write_text(file_digest(target) + "\n")
    return target


@pytest.mark.slow
def test_a_video_added_after_a_retrain_is_embedded_by_every_model(window, qtbot, tmp_path) -> None:
    east = cut_clip(tmp_path / "east.avi", 0, 50, DEMO_VIDEO)
    west = cut_clip(tmp_path / "west.avi", 400, 50, DEMO_VIDEO)
    folder = tmp_path / "case"
    with Workspace(folder) as ws:
        ingest_videos(ws, [east], camera="east")
        default_id = embed_workspace(ws, DEFAULT_REID_CHECKPOINT).model_id
        retrained = second_model(folder)
        retrained_id = embed_workspace(ws, retrained).model_id
        ws.set_meta("active_model", retrained_id)
        assert retrained_id != default_id and missing_per_model(ws) == {}
        assert checkpoints_in_use(ws, DEFAULT_REID_CHECKPOINT, first=retrained_id)[0] == retrained

    assert window.open_workspace(folder)
    window.add_videos([west], cameras=["west"], start_times=[40.0])
    qtbot.waitUntil(lambda: not window.jobs.busy, timeout=JOB_TIMEOUT_MS)
    with closing(sqlite3.connect(folder / DB_NAME)) as db:
        per_model = dict(db.execute("SELECT model_id, COUNT(*) FROM embeddings GROUP BY model_id").fetchall())
        west_ids = [r[0] for r in db.execute("SELECT t.id FROM tracklets t JOIN cameras c ON c.id = t.camera_id "
                                             "WHERE c.name = 'west' ORDER BY t.length DESC")]
        total = db.execute("SELECT COUNT(*) FROM tracklets").fetchone()[0]
    assert west_ids and per_model == {default_id: total, retrained_id: total}  # before the fix: default only
    assert active_model_id(window.workspace) == retrained_id  # adding a video does not switch models

    matches = window.matches
    window.select_tracklet(west_ids[0])  # a tracklet of the new camera, with the retrained model active
    qtbot.waitUntil(lambda: matches.shown == matches.pending, timeout=20_000)
    assert matches.model_id == retrained_id and matches.matches, matches.heading.text()
    assert {m.camera for m in matches.matches} == {"east"} and not matches.notice.isVisible()
    east_id = next(t.id for t in window.workspace.tracklets() if t.camera == "east")
    window.select_tracklet(east_id)  # and the new camera is among the results of the old one
    qtbot.waitUntil(lambda: matches.shown == matches.pending, timeout=20_000)
    assert "west" in {m.camera for m in matches.matches}

    # a tracklet the active model has not embedded (yet): a plain sentence, and the notice names the camera
    with closing(sqlite3.connect(folder / DB_NAME)) as db, db:
        db.execute("DELETE FROM gate_maps WHERE tracklet_id = ? AND model_id = ?", (west_ids[0], retrained_id))
        db.execute("DELETE FROM embeddings WHERE tracklet_id = ? AND model_id = ?", (west_ids[0], retrained_id))
    window.select_tracklet(west_ids[0])
    qtbot.waitUntil(lambda: matches.shown == matches.pending, timeout=20_000)
    heading = matches.heading.text()
    assert matches.matches == [] and "not embedded by model retrained-for-test yet" in heading, heading
    assert retrained_id not in heading and "Error" not in heading
    window.select_tracklet(east_id)
    qtbot.waitUntil(lambda: matches.shown == matches.pending, timeout=20_000)
    assert matches.notice.isVisible() and "west (1)" in matches.notice.text(), matches.notice.text()
