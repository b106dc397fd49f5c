"""Start the desktop app, optionally on a workspace or on the demo workspace."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.gui.error_dialog import install_error_dialogs
from app.gui.main_window import MainWindow
from app.gui.screen_check import require_screen
from app.pipeline.demo import DEMO_FPS, DEMO_VIEWS, demo_footage
from app.pipeline.display import footage_counts


def open_demo(window: MainWindow, folder: Path) -> None:
    """The demo workspace: two camera views cut from the shipped footage, ingested in the background."""
    clips = demo_footage(folder / "footage")
    window.open_workspace(folder)
    assert window.workspace is not None
    if not footage_counts(window.workspace).videos and not window.pending_videos():
        starts = [first / DEMO_FPS for _, first, _ in DEMO_VIEWS]  # the views' times in the source footage
        window.add_videos(list(clips.values()), cameras=list(clips), start_times=starts)
        window.statusBar().showMessage(
            "Demo: ingesting two camera views in the background. Then click a person in a video to see matches."
        )


def run_gui(workspace: str | Path | None = None, demo: bool = False) -> int:
    if QApplication.instance() is None:
        require_screen()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    window = MainWindow()
    install_error_dialogs(window)
    if demo:
        open_demo(window, Path(workspace or "demo_workspace"))
    elif workspace is not None:
        window.open_workspace(workspace)
    window.show()
    return int(app.exec())
