"""Save PNGs of the app's main views for the README. Needs a screen: run under Xvfb.

    xvfb-run -s "-screen 0 1600x1000x24" python -m app.gui.screenshots docs/screenshots [--workspace WS]

Builds (or reuses) the demo workspace, waits for its background ingest, clicks a person,
opens the best match with its heatmaps, and grabs the window and the dialog.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.gui.launch import open_demo
from app.gui.main_window import MainWindow


def wait_for_jobs(app: QApplication, window: MainWindow, timeout_s: float = 1800) -> None:
    deadline = time.monotonic() + timeout_s
    while window.jobs.busy:
        if time.monotonic() > deadline:
            raise TimeoutError("background jobs did not finish")
        app.processEvents()
        time.sleep(0.01)


def click_first_person(window: MainWindow) -> int:
    """Click the longest tracklet's box in its player, as an operator would; returns its id."""
    assert window.workspace is not None
    tracklet = max(window.workspace.tracklets(), key=lambda t: t.length)
    player = window.players[tracklet.video_id]
    frame = (tracklet.start_frame + tracklet.end_frame) // 2
    player.seek(frame)
    box = next((b for b in player.boxes_at(frame) if b[0] == tracklet.id), None)
    if box is None:
        window.select_tracklet(tracklet.id)
        return tracklet.id
    centre = player.view.to_widget((box[1] + box[3]) / 2, (box[2] + box[4]) / 2)
    QTest.mouseClick(player.view, Qt.MouseButton.LeftButton, pos=QPoint(int(centre.x()), int(centre.y())))
    return tracklet.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--workspace", type=Path, default=Path("demo_workspace"))
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.resize(1600, 950)
    window.show()
    open_demo(window, args.workspace)
    wait_for_jobs(app, window)
    args.out.mkdir(parents=True, exist_ok=True)
    click_first_person(window)
    app.processEvents()
    window.grab().save(str(args.out / "main_window.png"))
    if window.matches.matches:
        dialog = window.open_match(window.matches.matches[0])
        assert dialog is not None
        dialog.resize(1400, 520)
        app.processEvents()
        dialog.grab().save(str(args.out / "match_heatmaps.png"))
        dialog.heatmap_box.setChecked(False)
        app.processEvents()
        dialog.grab().save(str(args.out / "match_plain.png"))
        dialog.close()
    print(f"screenshots in {args.out}: {sorted(p.name for p in args.out.glob('*.png'))}")
    window.close()


if __name__ == "__main__":
    main()
