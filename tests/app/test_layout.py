"""The window at 1024×700, 1600×1000 and 1920×1080 (offscreen): every camera whole and big enough to
click a person, the matches list readable; a screenshot of each (issue 18 item 4).

``REID_SCREENSHOTS=DIR`` also writes the screenshots there (the README's come from this test).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtWidgets import QApplication, QWidget

from app.gui.players_grid import FRAME_ASPECT, PLAYER_CHROME, best_columns, frame_height

SIZES = [(1024, 700), (1600, 1000), (1920, 1080)]
MIN_VIDEO_HEIGHT = {1024: 150, 1600: 260, 1920: 300}  # the frame as drawn, in pixels


def visible_rect(widget: QWidget, window: QWidget) -> QRect:
    """The part of ``widget`` not clipped by its ancestors, in window coordinates."""
    rect = QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        rect &= QRect(parent.mapTo(window, QPoint(0, 0)), parent.size())
        parent = parent.parentWidget()
    return rect & window.rect()


@pytest.mark.slow
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_window_fits_the_screen(window, qtbot, two_cameras, tmp_path, size) -> None:
    width, height = size
    window.resize(width, height)
    assert window.open_workspace(two_cameras)
    query = max(window.workspace.tracklets(), key=lambda t: t.length)
    window.select_tracklet(query.id)
    matches = window.matches
    qtbot.waitUntil(lambda: matches.shown == matches.pending and matches.thumbnails_shown == matches.pending,
                    timeout=20_000)
    QApplication.processEvents()
    assert (window.width(), window.height()) == size
    assert len(window.players) == 2
    for player in window.players.values():
        shown = visible_rect(player.view, window)
        assert shown.size() == player.view.size(), f"camera {player.camera} is cut off: {shown} of {player.view.size()}"
        frame = player.view.target_rect()
        assert frame.height() >= MIN_VIDEO_HEIGHT[width], f"{player.camera}: frame drawn {frame.height():.0f} px high"
        assert visible_rect(player.play_button, window).size() == player.play_button.size()
    table = matches.table
    assert visible_rect(table, window).height() >= 2.5 * table.rowHeight(0)  # at least two matches readable
    for button in (matches.confirm_button, matches.reject_button):
        assert visible_rect(button, window).size() == button.size()
    picture = window.grab()
    assert (picture.width(), picture.height()) == size
    picture.save(str(tmp_path / f"window_{width}x{height}.png"))
    dialog = window.open_match(matches.matches[0])  # the heatmap view fits this screen too
    assert dialog is not None
    QApplication.processEvents()
    assert dialog.width() <= width and dialog.height() <= height, (dialog.width(), dialog.height())
    if os.environ.get("REID_SCREENSHOTS"):
        out = Path(os.environ["REID_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        picture.save(str(out / f"window_{width}x{height}.png"))
        dialog.grab().save(str(out / f"match_heatmaps_{width}x{height}.png"))
    dialog.close()


def test_cameras_go_side_by_side_only_when_that_draws_them_larger() -> None:
    assert best_columns(2, 1200, 500) == 2  # wide and low: side by side
    assert best_columns(2, 500, 900) == 1  # narrow and tall: stacked
    assert best_columns(2, 700, 900, min_width=400) == 1  # the controls of two would not fit side by side
    assert best_columns(4, 1400, 900) == 2 and best_columns(0, 100, 100) == 1
    assert frame_height(2, 1, 500, 900) == min(900 / 2 - PLAYER_CHROME, 500 / FRAME_ASPECT)
