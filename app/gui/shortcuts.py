"""The review keys: one table makes the window's actions and the Help view, so the two cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


@dataclass(frozen=True)
class Shortcut:
    name: str  # the action's key in ``MainWindow.review_actions``
    keys: tuple[str, ...]  # Qt key sequences, the first is the one menus show
    text: str  # menu text
    help: str  # what it does, for the tooltip and the Help view


REVIEW_SHORTCUTS = (
    Shortcut("tracklets", ("Ctrl+L",), "Go to the tracklet list",
             "Move to the tracklet list; Up/Down then Enter makes one the query"),
    Shortcut("confirm", ("C",), "Confirm match", "The selected match is the query's person: it joins their identity"),
    Shortcut("reject", ("X",), "Reject match",
             "The selected match is someone else (it leaves the identity if it was in it)"),
    Shortcut("next", ("N",), "Next match", "Select the next match in the list"),
    Shortcut("previous", ("P",), "Previous match", "Select the previous match in the list"),
    Shortcut("play", ("Space",), "Play / pause the match",
             "Show the selected match in its camera's player and play or pause it"),
    Shortcut("open", ("O",), "Open with heatmaps", "The query and the match side by side with their gate maps"),
    Shortcut("undo", ("Ctrl+Z",), "Undo", "Undo the last verdict, merge or rename"),
    Shortcut("redo", ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo", "Redo what was undone"),
    Shortcut("export", ("Ctrl+E",), "Export the query's case",
             "Evidence export of the query's identity into WORKSPACE/exports/"),
    Shortcut("help", ("F1",), "Keyboard shortcuts", "This list"),
)
MATCH_VIEW_KEYS = (("C / X", "confirm / reject in the heatmap view"), ("G", "gate map alone / over the crop"),
                   ("Esc", "close the heatmap view"))


class HelpDialog(QDialog):
    """Every shortcut of the review, from the same table that makes them."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = [(" or ".join(s.keys), s.help) for s in REVIEW_SHORTCUTS] + list(MATCH_VIEW_KEYS)
        self.table = QTableWidget(len(rows), 2)
        self.table.setHorizontalHeaderLabels(["keys", "does"])
        self.table.verticalHeader().hide()
        for row, (keys, text) in enumerate(rows):
            self.table.setItem(row, 0, QTableWidgetItem(keys))
            self.table.setItem(row, 1, QTableWidgetItem(text))
        self.table.resizeColumnToContents(0)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(720, 440)
