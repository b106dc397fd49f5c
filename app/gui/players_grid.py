"""The cameras' players in a grid that re-flows with the space it gets: every camera stays whole on screen.

Side by side on a wide area, stacked on a tall one: the number of columns is the one that draws the
frames largest (``best_columns``), recomputed on every resize, so no camera is ever scrolled off.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QSize
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QGridLayout, QSizePolicy, QSpacerItem, QWidget

from app.gui.player import CameraPlayer

PLAYER_CHROME = 96  # px of a player that is not the frame: title, slider, buttons
FRAME_ASPECT = 4 / 3  # what the grid plans for; each view keeps its own video's aspect when drawing


def best_columns(
    count: int, width: int, height: int, min_width: int = 0, aspect: float = FRAME_ASPECT, chrome: int = PLAYER_CHROME
) -> int:
    """How many columns draw ``count`` frames of this aspect largest in a width×height area, each
    column at least ``min_width`` wide (what a player's controls need)."""
    if count <= 1:
        return 1
    fitting = max(1, min(count, width // min_width if min_width else count))

    return max(range(1, fitting + 1), key=lambda c: (frame_height(count, c, width, height, aspect, chrome), -c))


def frame_height(
    count: int, columns: int, width: int, height: int, aspect: float = FRAME_ASPECT, chrome: int = PLAYER_CHROME
) -> float:
    """How high each frame is drawn with ``count`` players in ``columns`` columns of a width×height area."""
    rows = max(math.ceil(count / columns), 1)
    return min(height / rows - chrome, width / columns / aspect)


class PlayersGrid(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.players: list[CameraPlayer] = []
        self.columns = 0
        self.layout_ = QGridLayout(self)
        self.layout_.setContentsMargins(0, 0, 0, 0)
        self.layout_.setSpacing(4)
        self.filler = QSpacerItem(0, 0, QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Expanding)

    def add(self, player: CameraPlayer) -> None:
        self.players.append(player)
        self.columns = 0  # force a re-flow
        self._flow()

    def clear(self) -> None:
        for player in self.players:
            self.layout_.removeWidget(player)
        self.players.clear()

    def minimumSizeHint(self) -> QSize:
        """One column's: the grid re-flows to fewer columns instead of holding the window wide."""
        if not self.players:
            return QSize(160, 120)
        hints = [player.minimumSizeHint() for player in self.players]
        return QSize(max(h.width() for h in hints), max(h.height() for h in hints))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._flow()

    def _flow(self) -> None:
        if not self.players:
            return
        min_width = max(player.minimumSizeHint().width() for player in self.players)
        columns = best_columns(len(self.players), self.width(), self.height(), min_width)
        # players no taller than their frame needs: spare height goes below them, not into black bands
        tallest = frame_height(len(self.players), columns, self.width(), self.height()) + PLAYER_CHROME + 8
        for player in self.players:
            player.setMaximumHeight(max(int(tallest), player.minimumSizeHint().height()))
        if columns == self.columns:
            return
        self.columns = columns
        for player in self.players:
            self.layout_.removeWidget(player)
        rows = math.ceil(len(self.players) / columns)
        for index, player in enumerate(self.players):
            self.layout_.addWidget(player, index // columns, index % columns)
        for row in range(self.layout_.rowCount()):
            self.layout_.setRowStretch(row, 1 if row < rows else 0)
        self.layout_.removeItem(self.filler)
        self.layout_.addItem(self.filler, rows, 0)  # below the players: takes what they do not need
        for column in range(self.layout_.columnCount()):
            self.layout_.setColumnStretch(column, 1 if column < columns else 0)
