"""Long footage for bench_reliability: peak memory of ingest by video length, and work lost to a kill.

A looped clip of the demo footage stands in for a long recording. Each ingest runs in its own
process (peak RSS read from the kernel's accounting of that child); the kill lands at 90% of
the long video and the rerun shows how many frames had to be processed again.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import cv2

from resources import DEMO_VIDEO

PEAK_RSS = (
    "import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, "
    "stderr=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def looped_clip(path: Path, minutes: float, fps: float = 10.0) -> Path:
    """``minutes`` of the demo footage played in a loop, at its own 10 fps."""
    source = cv2.VideoCapture(str(DEMO_VIDEO))
    frames = []
    while True:
        ok, frame = source.read()
        if not ok:
            break
        frames.append(frame)
    source.release()
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (width, height))
    for i in range(round(minutes * 60 * fps)):
        writer.write(frames[i % len(frames)])
    writer.release()
    return path


def _ingest_command(workspace: Path, clip: Path, stride: int) -> list[str]:
    return [sys.executable, "-m", "app.cli", "ingest", str(workspace), str(clip), "--stride", str(stride)]


def peak_rss_mib(workspace: Path, clip: Path, stride: int) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one ingest in a process of its own."""
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, *_ingest_command(workspace, clip, stride)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip().splitlines()[-1]) / 1024, time.perf_counter() - started


def _progress(workspace: Path) -> tuple[int, int]:
    """(next frame to process, frames processed) stored for the workspace's first video."""
    db_path = workspace / "workspace.sqlite"
    if not db_path.exists():
        return 0, 0
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)) as db:
        meta = db.execute("SELECT value FROM meta WHERE key = 'ingest_progress:1'").fetchone()
        video = db.execute("SELECT frames_processed FROM videos WHERE id = 1").fetchone()
    next_frame = json.loads(meta[0])["next_frame"] if meta and meta[0] else 0
    return int(next_frame), int(video[0]) if video else 0


def kill_at(workspace: Path, clip: Path, stride: int, fraction: float, seconds_per_frame: float) -> dict[str, float]:
    """Kill -9 an ingest at ``fraction`` of the video (timed from a clean run), then rerun it."""
    frames = int(cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT))
    process = subprocess.Popen(
        _ingest_command(workspace, clip, stride), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    time.sleep(seconds_per_frame * frames * fraction)
    process.kill()
    process.wait()
    next_frame, stored_processed = _progress(workspace)
    started = time.perf_counter()
    rerun = subprocess.run(_ingest_command(workspace, clip, stride), capture_output=True, text=True, check=True)
    processed_again = int(rerun.stdout.split("ingested")[1].split()[2]) if "ingested" in rerun.stdout else -1
    return {
        "frames": frames,
        "resume_frame": next_frame,
        "stored_processed": stored_processed,
        "rerun_processed": processed_again,
        "rerun_seconds": time.perf_counter() - started,
    }
