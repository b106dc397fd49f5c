"""Ingestion on real footage with the real YOLO detector and ByteTrack into a real SQLite file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from app.pipeline.ingest import ingest_videos
from detector.tracklets import TrackletParams
from detector.video import cut_clip
from reid_core.workspace import SCHEMA_VERSION, Workspace, WorkspaceError
from resources import DEMO_VIDEO
from tests.conftest import REPO_ROOT

FAST = TrackletParams(min_length=5)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    return {
        "a": cut_clip(folder / "cam_a.avi", 0, 60, source=DEMO_VIDEO),
        "b": cut_clip(folder / "cam_b.avi", 400, 60, source=DEMO_VIDEO),
    }


def snapshot(workspace: Workspace) -> list[tuple]:
    """Everything ingestion produced, independent of row ids and insertion time."""
    rows = workspace.db.execute(
        "SELECT v.content_hash, c.name, t.track_id, t.start_frame, t.end_frame, t.length, "
        "(SELECT group_concat(frame || ':' || round(x1,1) || ',' || round(y1,1), ' ') FROM boxes b "
        " WHERE b.tracklet_id = t.id), (SELECT count(*) FROM crops k WHERE k.tracklet_id = t.id) "
        "FROM tracklets t JOIN videos v ON v.id = t.video_id JOIN cameras c ON c.id = t.camera_id"
    ).fetchall()
    return sorted(rows)


def test_real_clip_gives_tracklets_with_boxes_and_crops_inside_the_frame(clips, tmp_path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        [outcome] = ingest_videos(ws, [clips["a"]], camera="A", tracklet_params=FAST)
        assert outcome.status == "ingested" and outcome.frames_processed == 60
        tracklets = ws.tracklets()
        assert len(tracklets) >= 3, "vtest.avi shows several walking people in its first seconds"
        assert outcome.tracklets == len(tracklets)
        video = ws.videos()[0]
        assert (video["width"], video["height"], video["frame_count"]) == (768, 576, 60)
        for t in tracklets:
            boxes = ws.boxes(t.id)
            assert len(boxes) == t.length >= 5
            assert boxes[0]["frame"] == t.start_frame and boxes[-1]["frame"] == t.end_frame
            for b in boxes:
                assert 0 <= b["x1"] < b["x2"] <= 768 and 0 <= b["y1"] < b["y2"] <= 576
                assert b["y2"] - b["y1"] >= FAST.min_height and b["score"] >= FAST.min_conf
            crops = ws.crops(t.id)
            assert 0 < len(crops) <= FAST.max_crops and {f for f, _ in crops} <= {b["frame"] for b in boxes}
            image = cv2.imdecode(np.frombuffer(crops[0][1], np.uint8), cv2.IMREAD_COLOR)
            assert image.shape == (*FAST.crop_size, 3)
            assert t.start_time == pytest.approx(t.start_frame / video["fps"])


def test_same_video_twice_is_a_no_op(clips, tmp_path) -> None:
    with Workspace(tmp_path / "ws") as ws:
        ingest_videos(ws, [clips["a"]], camera="A", tracklet_params=FAST)
        before = ws.counts()
        [again] = ingest_videos(ws, [clips["a"]], camera="A", tracklet_params=FAST)
        assert again.status == "skipped"
        assert ws.counts() == before


def bad_files(folder: Path) -> dict[str, Path]:
    rng = random.Random(0)
    corrupt = folder / "random.mp4"
    corrupt.write_bytes(bytes(rng.getrandbits(8) for _ in range(50_000)))
    empty = folder / "empty.mp4"
    empty.write_bytes(b"")
    mp4 = cut_clip(folder / "whole.mp4", 0, 30, source=DEMO_VIDEO, fourcc="mp4v")
    truncated_mp4 = folder / "truncated.mp4"
    truncated_mp4.write_bytes(mp4.read_bytes()[: mp4.stat().st_size // 2])
    avi = cut_clip(folder / "whole.avi", 100, 40, source=DEMO_VIDEO)
    truncated_avi = folder / "truncated.avi"
    truncated_avi.write_bytes(avi.read_bytes()[: avi.stat().st_size // 2])
    return {
        "corrupt": corrupt,
        "empty": empty,
        "truncated_mp4": truncated_mp4,
        "truncated_avi": truncated_avi,
        "missing": folder / "missing.mp4",
    }


def test_bad_files_fail_clearly_and_the_good_one_is_ingested(clips, tmp_path) -> None:
    bad = bad_files(tmp_path)
    with Workspace(tmp_path / "ws") as ws:
        outcomes = ingest_videos(ws, [*bad.values(), clips["b"]], tracklet_params=FAST)
        truncated = {str(bad[k].resolve()) for k in ("truncated_avi", "truncated_mp4")}
        by_path = {o.path: o for o in outcomes}
        for kind, path in bad.items():
            outcome = by_path[path]
            assert outcome.status == "failed", kind
            assert str(path) in outcome.error, outcome.error
        assert "empty file" in by_path[bad["empty"]].error
        assert "no such file" in by_path[bad["missing"]].error
        assert "truncated" in by_path[bad["truncated_avi"]].error
        assert "of the part that decoded are kept" in by_path[bad["truncated_avi"]].error
        assert by_path[clips["b"]].status == "ingested" and by_path[clips["b"]].tracklets > 0
        stored = {v["path"] for v in ws.videos()}  # a truncated video keeps what decoded; the rest store nothing
        assert str(clips["b"].resolve()) in stored and stored <= {str(clips["b"].resolve()), *truncated}
        orphans = ws.db.execute("SELECT count(*) FROM tracklets WHERE video_id NOT IN (SELECT id FROM videos)")
        assert orphans.fetchone()[0] == 0


def run_cli(*args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, str(REPO_ROOT / "main.py"), *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_killed_ingest_resumes_to_the_same_result(clips, tmp_path) -> None:
    videos = [str(clips["a"]), str(clips["b"])]  # one after the other (--jobs 1): killed in the second
    clean = run_cli("ingest", str(tmp_path / "clean"), *videos, "--min-length", "5", "--jobs", "1")
    assert clean.wait(timeout=300) == 0

    killed = run_cli("ingest", str(tmp_path / "resumed"), *videos, "--min-length", "5", "--jobs", "1")
    deadline = time.monotonic() + 240
    db = tmp_path / "resumed" / "workspace.sqlite"
    while time.monotonic() < deadline:  # kill once the first video is in, early in the second
        if db.exists():
            with Workspace(tmp_path / "resumed") as ws:
                if ws.get_meta("ingest_progress:1") == "":  # the first video is finished
                    break
        time.sleep(0.2)
    time.sleep(2.0)  # before the second video's first checkpoint (tests/reliability covers a later kill)
    assert killed.poll() is None, "the run finished before it could be killed; make the clips longer"
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    with Workspace(tmp_path / "resumed") as ws:
        assert ws.get_meta("ingest_progress:2") != ""  # the second video was left unfinished

    resumed = run_cli("ingest", str(tmp_path / "resumed"), *videos, "--min-length", "5", "--jobs", "1")
    assert resumed.wait(timeout=300) == 0
    with Workspace(tmp_path / "clean") as a, Workspace(tmp_path / "resumed") as b:
        assert snapshot(b) == snapshot(a)
        assert a.counts() == b.counts()


def test_foreign_and_newer_databases_are_refused(tmp_path) -> None:
    import sqlite3

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    sqlite3.connect(foreign / "workspace.sqlite").execute("CREATE TABLE stuff (x)").connection.commit()
    with pytest.raises(WorkspaceError, match="not a re-ID workspace"):
        Workspace(foreign)
    with Workspace(tmp_path / "newer") as ws:
        ws.db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION + 1)])
    with pytest.raises(WorkspaceError, match="newer than this program"):
        Workspace(tmp_path / "newer")
    (tmp_path / "garbage").mkdir()
    (tmp_path / "garbage" / "workspace.sqlite").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(WorkspaceError, match=r"workspace\.sqlite"):
        Workspace(tmp_path / "garbage")
    with pytest.raises(WorkspaceError, match="no workspace here"):
        Workspace(tmp_path / "absent", create=False)


def test_a_new_workspace_opened_by_several_processes_at_once(tmp_path) -> None:
    folder = tmp_path / "shared_ws"
    code = f"from reid_core.workspace import Workspace; Workspace({str(folder)!r}).close()"
    openers = [
        subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    errors = [p.communicate(timeout=120)[1] for p in openers]
    assert [p.returncode for p in openers] == [0] * 6, errors
    with Workspace(folder) as ws:
        keys = [r[0] for r in ws.db.execute("SELECT key FROM meta ORDER BY key")]
        assert keys == ["app", "schema_version", "uid"]  # created once, not once per opener
