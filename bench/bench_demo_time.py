"""How long ``reid demo`` takes to become usable on this machine: the app on a fresh demo workspace
(offscreen), timed from the start of this process.

Prints when the demo clips are cut, when each background job ends (ingest per camera, embed per
model), when the first camera is shown and when a click gives ranked matches ("usable"), with the
load average before and after (other work on the machine slows every phase).

    QT_QPA_PLATFORM=offscreen python bench/bench_demo_time.py
"""

from __future__ import annotations

import os
import tempfile
import time

STARTED = time.perf_counter()

from pathlib import Path  # noqa: E402  (imports are part of what the operator waits for)

from PySide6.QtWidgets import QApplication  # noqa: E402

from app.gui.launch import open_demo  # noqa: E402
from app.gui.main_window import MainWindow  # noqa: E402


def since_start() -> float:
    return time.perf_counter() - STARTED


def main() -> None:
    load_before = os.getloadavg()
    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1600, 1000)
    window.show()
    marks: list[tuple[str, float]] = [("window shown (imports included)", since_start())]
    window.jobs.finished.connect(lambda job, ok, error: marks.append((f"job done: {job.label} ({ok})", since_start())))
    with tempfile.TemporaryDirectory() as tmp:
        open_demo(window, Path(tmp) / "demo")
        marks.append(("demo clips cut, jobs queued", since_start()))
        first_camera = None
        while window.jobs.busy:
            app.processEvents()
            if first_camera is None and window.players:
                first_camera = since_start()
                marks.append(("first camera shown", first_camera))
            time.sleep(0.01)
        assert window.workspace is not None
        query = max(window.workspace.tracklets(), key=lambda t: t.length)
        window.select_tracklet(query.id)
        while window.matches.shown != window.matches.pending:
            app.processEvents()
            time.sleep(0.01)
        marks.append((f"usable: a click ranks {len(window.matches.matches)} matches", since_start()))
        tracklets = window.workspace.tracklet_count()
        window.close_workspace()
    for label, seconds in marks:
        print(f"{seconds:7.1f} s  {label}")
    print(f"{tracklets} tracklets; load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
