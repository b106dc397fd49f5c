"""GUI responsiveness: the longest the GUI thread was blocked during a full ingest + embed of the
demo footage (target < 100 ms), and click-to-matches latency (mouse click on a person box →
matches table filled with thumbnails).

A 5 ms QTimer runs the whole time; the longest gap between two of its ticks, minus 5 ms, is the
longest block. Run (offscreen or under Xvfb): QT_QPA_PLATFORM=offscreen python bench/bench_gui.py
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

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
        app.processEvents()  # the table is painted
        times.append((time.perf_counter() - started) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clicks", type=int, default=20)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
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
