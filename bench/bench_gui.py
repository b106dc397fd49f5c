"""GUI responsiveness: the longest the GUI thread was blocked during a full ingest + embed of the
demo footage (target < 100 ms), and click-to-matches latency (mouse click on a person box →
matches table filled with thumbnails).

A 5 ms QTimer runs the whole time; the longest gap between two of its ticks, minus 5 ms, is the
longest block. Run (offscreen or under Xvfb): QT_QPA_PLATFORM=offscreen python bench/bench_gui.py

With ``--workspace DIR`` (e.g. one made by ``bench/bench_search.py --make-workspace``) it opens that
workspace instead and measures window open time and pick-to-matches latency at that scale.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6.QtCore import QElapsedTimer, QPoint, Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.gui.launch import open_demo
from app.gui.main_window import MainWindow
from app.gui.screenshots import wait_for_jobs

TICK_MS = 5


class BlockMeter:
    def __init__(self) -> None:
        self.clock = QElapsedTimer()
        self.longest = 0.0
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.clock.start()
        self.timer.start()

    def _tick(self) -> None:
        gap = self.clock.nsecsElapsed() / 1e6
        self.clock.restart()
        self.longest = max(self.longest, gap - TICK_MS)


def click_latencies(app: QApplication, window: MainWindow, count: int) -> list[float]:
    assert window.workspace is not None
    times = []
    for tracklet in window.workspace.tracklets()[:count]:
        player = window.players[tracklet.video_id]
        frame = tracklet.start_frame
        player.seek(frame)
        box = next(b for b in player.boxes_at(frame) if b[0] == tracklet.id)
        centre = player.view.to_widget((box[1] + box[3]) / 2, (box[2] + box[4]) / 2)
        started = time.perf_counter()
        QTest.mouseClick(player.view, Qt.MouseButton.LeftButton, pos=QPoint(int(centre.x()), int(centre.y())))
        wait_for_matches(app, window)  # ranked on the worker thread, rows shown
        times.append((time.perf_counter() - started) * 1000)
    return times


def wait_for_matches(app: QApplication, window: MainWindow, timeout: float = 60.0) -> None:
    deadline = time.perf_counter() + timeout
    while window.matches.shown != window.matches.pending and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)


def large_workspace(app: QApplication, folder: Path, clicks: int) -> None:
    """Open a big (synthetic) workspace, then pick tracklets: window open time, pick-to-matches
    latency (the ranked rows shown; the query runs on a worker thread), longest GUI-thread block."""
    meter = BlockMeter()
    meter.start()
    started = time.perf_counter()
    window = MainWindow()
    window.show()
    assert window.open_workspace(folder, create=False)
    app.processEvents()
    opened = time.perf_counter() - started
    assert window.workspace is not None
    total = window.workspace.tracklet_count()
    print(f"{folder}: {total} tracklets; window open with the workspace in {opened:.2f} s (target <= 3 s)")
    print(f"tracklet list holds {window.tracklets.rowCount()} rows after opening (fetched as it scrolls)")
    meter.longest = 0.0
    rng = np.random.default_rng(0)
    latencies = []
    for tracklet_id in rng.integers(1, total + 1, clicks):
        started = time.perf_counter()
        window.select_tracklet(int(tracklet_id))
        wait_for_matches(app, window)
        latencies.append((time.perf_counter() - started) * 1000)
    print(f"first pick-to-matches (maps the vector index): {latencies[0]:.0f} ms")
    warm = latencies[1:] or latencies
    print(
        f"pick-to-matches over {len(warm)} more picks: median {statistics.median(warm):.0f} ms, max {max(warm):.0f} ms"
    )
    print(f"longest GUI-thread block while picking: {meter.longest:.1f} ms (target < 100 ms)")
    window.close_workspace()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clicks", type=int, default=20)
    parser.add_argument("--workspace", type=Path, help="measure on this (large) workspace instead of the demo")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    if args.workspace:
        large_workspace(app, args.workspace, args.clicks)
        return
    window = MainWindow()
    window.show()
    meter = BlockMeter()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        open_demo(window, Path(tmp) / "demo")  # cuts the two demo clips, then queues the jobs
        print(f"demo footage cut and jobs queued in {time.perf_counter() - started:.2f} s (before the window shows)")
        meter.start()
        wait_for_jobs(app, window)
        seconds = time.perf_counter() - started
        assert window.workspace is not None
        counts = window.workspace.counts()
        print(f"demo ingest + embed: {counts['videos']} videos, {counts['tracklets']} tracklets in {seconds:.0f} s")
        print(f"longest GUI-thread block during it: {meter.longest:.1f} ms (target < 100 ms)")
        meter.timer.stop()
        latencies = click_latencies(app, window, args.clicks)
        print(
            f"click-to-matches over {len(latencies)} clicks: median {statistics.median(latencies):.1f} ms, "
            f"max {max(latencies):.1f} ms"
        )
        window.close_workspace()


if __name__ == "__main__":
    main()
