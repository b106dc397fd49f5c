"""Long footage: ingest stores tracklets as they close, and a kill -9 at 90% of a video loses only
the frames since the last checkpoint; the rerun resumes there."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.pipeline.embed import embed_workspace
from app.pipeline.ingest import ingest_videos
from app.pipeline.ingest_progress import load_progress
from detector.tracklets import TrackletParams
from detector.video import cut_clip
from reid_core.workspace import DB_NAME, Workspace
from resources import DEMO_VIDEO
from tests.reliability.cases import _cli_env

FRAMES, STRIDE = 200, 2  # 100 processed frames: long enough for ten checkpoints, short to run three times
PARAMS = TrackletParams(min_length=4, frame_stride=STRIDE)


def tracklet_rows(workspace: Path) -> list[tuple]:
    """(start, end, length, boxes) of every tracklet, independent of ids."""
    with contextlib.closing(sqlite3.connect(f"file:{workspace / DB_NAME}?mode=ro", uri=True)) as db:
        rows = db.execute(
            "SELECT t.start_frame, t.end_frame, t.length, (SELECT group_concat(frame || ':' || round(x1) || ',' "
            "|| round(y1) || ',' || round(x2) || ',' || round(y2), ' ') FROM boxes b WHERE b.tracklet_id = t.id) "
            "FROM tracklets t"
        ).fetchall()
    return sorted(rows)


def stored_next_frame(workspace: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{workspace / DB_NAME}?mode=ro", uri=True, timeout=30)) as db:
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'ingest_progress:1'").fetchone()
        except sqlite3.OperationalError:  # the file exists but its schema is not written yet
            return 0
    return int(json.loads(row[0])["next_frame"]) if row and row[0] else 0


SHORT_CHECKPOINT = 10
# `reid ingest` itself, with a checkpoint every 10 processed frames instead of 50 so that a checkpoint
# falls at 90% of this short clip (the kill lands right after it).
CLI_WITH_SHORT_CHECKPOINTS = (
    f"import sys; import app.pipeline.ingest as ingest; ingest.CHECKPOINT_FRAMES = {SHORT_CHECKPOINT}; "
    "from app.cli import main; sys.exit(main(sys.argv[1:]))"
)


@pytest.mark.slow
def test_kill_late_in_a_video_then_rerun_processes_only_the_rest(tmp_path) -> None:
    clip = cut_clip(tmp_path / "long.avi", 0, FRAMES, source=DEMO_VIDEO)
    with Workspace(tmp_path / "clean") as ws:
        [clean] = ingest_videos(ws, [clip], camera="plaza", tracklet_params=PARAMS)
    assert clean.frames_processed == FRAMES // STRIDE

    killed = tmp_path / "killed"
    command = ["ingest", killed, clip, "--camera", "plaza", "--min-length", "4", "--stride", str(STRIDE)]
    process = subprocess.Popen(
        [sys.executable, "-c", CLI_WITH_SHORT_CHECKPOINTS, *map(str, command)],
        env=_cli_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if (killed / DB_NAME).exists() and stored_next_frame(killed) >= 0.88 * FRAMES:
            break  # the checkpoint at 90% of the video (frame 179 of 200) is stored
        time.sleep(0.1)
    process.kill()  # at once: the rest of the video (10 processed frames) takes seconds
    process.wait()
    assert process.returncode != 0, "the ingest finished before it could be killed"
    resume_at = stored_next_frame(killed)
    before_rerun = tracklet_rows(killed)
    assert before_rerun, "tracklets are stored while the video is being ingested"
    assert set(before_rerun) <= set(tracklet_rows(tmp_path / "clean")), "stored before the kill == uninterrupted"

    with Workspace(killed) as ws:
        assert embed_workspace(ws, device="cpu").embedded == len(before_rerun)  # searchable mid-video
        open_at_resume = len(load_progress(ws, 1).open)
        [rerun] = ingest_videos(ws, [clip], camera="plaza", tracklet_params=PARAMS)
        assert load_progress(ws, 1) is None and ws.videos()[0]["frames_processed"] == FRAMES // STRIDE
    assert rerun.frames_processed == (FRAMES - resume_at) // STRIDE  # only the frames not stored
    assert rerun.frames_processed <= SHORT_CHECKPOINT + 0.12 * FRAMES // STRIDE  # the last tenth

    clean_rows, resumed_rows = tracklet_rows(tmp_path / "clean"), tracklet_rows(killed)
    away = [r for r in clean_rows if r[1] < resume_at - 30 or r[0] > resume_at + 30]  # not near the resume point
    assert set(away) <= set(resumed_rows) or len(set(away) - set(resumed_rows)) <= open_at_resume
    assert abs(len(resumed_rows) - len(clean_rows)) <= max(open_at_resume, 1)
