"""The matches panel: ranked tracklets of other cameras for the clicked person, with filters.

The ranking runs on a worker thread (``QueryRunner``); rows appear when it answers, thumbnails after.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.clock_spin import ClockSpinBox
from app.gui.images import jpeg_to_pixmap
from app.gui.query_runner import QueryRunner
from app.pipeline.display import camera_names, query_card
from app.pipeline.identities import CONFIRMED, REJECTED
from app.pipeline.matches import COLUMNS, MatchList
from app.pipeline.query import Match, QueryOptions
from reid_core.workspace import TrackletRow, Workspace

SCORE_COLUMN = COLUMNS.index("similarity")
SCORE_TIPS = {
    False: "Cosine similarity to the query (higher = more alike); rows are ordered by it",
    True: "k-reciprocal re-ranked distance (lower = more alike); rows are ordered by it. "
    "The cosine similarity is in each cell's tooltip",
}
THUMB = QSize(48, 96)
VERDICT_COLOURS = {CONFIRMED: QColor(200, 240, 200), REJECTED: QColor(245, 205, 205)}


class MatchesPanel(QWidget):
    open_requested = Signal(object)  # Match
    verdict_requested = Signal(object, str)  # Match, verdict

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace: Workspace | None = None
        self.query: TrackletRow | None = None
        self.model_id: str | None = None
        self.matches: list[Match] = []
        self.runner = QueryRunner(self)  # queries run off the GUI thread
        self.runner.ranked.connect(self._show_ranked)
        self.runner.thumbnails.connect(self._show_thumbnails)
        self.runner.failed.connect(self._show_failure)
        self.pending = self.shown = self.thumbnails_shown = 0  # request numbers: asked, table shown, pictures
        self.shown_query: int | None = None  # the query whose matches the table shows
        self.row_of: dict[int, int] = {}  # table row of each match's tracklet id
        self.heading = QLabel("Click a person in a video, or pick a tracklet, to see matches.")
        self.heading.setWordWrap(True)
        self.query_picture = QLabel()  # the query person's crop, beside the heading
        self.query_picture.setFixedSize(THUMB)
        self.query_picture.setToolTip("The query: the person whose matches are listed")
        self.notice = QLabel()  # e.g. a camera the active model has not embedded yet
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet("color: #a05a00")
        self.notice.hide()
        self.camera_boxes: dict[str, QCheckBox] = {}
        self.camera_row = QHBoxLayout()
        self.camera_row.addWidget(QLabel("cameras:"))
        self.camera_row.addStretch(1)
        self.use_time = QCheckBox("time window")
        self.time_from, self.time_to = ClockSpinBox(), ClockSpinBox()  # seconds, or UTC dates on clock time
        for spin in (self.time_from, self.time_to):
            spin.setMinimumWidth(90)
            spin.setMaximumWidth(170)
        self.time_to.setValue(3600)
        self.rerank = QCheckBox("re-rank (k-reciprocal)")
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 500)
        self.top_k.setValue(20)
        self.top_k.setPrefix("top ")
        for widget in (self.use_time, self.rerank):
            widget.toggled.connect(self.refresh)
        for spin in (self.time_from, self.time_to, self.top_k):
            spin.editingFinished.connect(self.refresh)
        filters = QHBoxLayout()  # two short rows rather than one long one: the panel fits a narrow screen
        for widget in (self.use_time, self.time_from, QLabel("to"), self.time_to):
            filters.addWidget(widget)
        filters.addStretch(1)
        ranking = QHBoxLayout()
        for widget in (self.rerank, self.top_k):
            ranking.addWidget(widget)
        ranking.addStretch(1)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.setIconSize(THUMB)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setDefaultSectionSize(THUMB.height() + 4)
        self.table.verticalHeader().hide()
        self.table.cellDoubleClicked.connect(lambda row, _column: self._open(row))
        self.open_button, self.confirm_button = QPushButton("Heatmaps…"), QPushButton("Confirm")
        self.reject_button = QPushButton("Reject")
        self.open_button.clicked.connect(lambda: self._open(self.table.currentRow()))
        self.confirm_button.clicked.connect(lambda: self._decide(CONFIRMED))
        self.reject_button.clicked.connect(lambda: self._decide(REJECTED))
        self.open_button.setToolTip("The query and the selected match side by side with their gate maps (O)")
        self.confirm_button.setToolTip("Same person: the match joins the query's identity (C)")
        self.reject_button.setToolTip("Someone else: kept as a label for retraining (X)")
        self.rerank.setToolTip("Re-order the best 100 by k-reciprocal neighbours; the score column then shows "
                               "the re-ranked distance the rows are ordered by")
        self.use_time.setToolTip("Only tracklets overlapping this window (seconds on the cameras' time line)")
        self.top_k.setToolTip("How many matches to list")
        buttons = QHBoxLayout()
        for button in (self.open_button, self.confirm_button, self.reject_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(self.query_picture)
        top.addWidget(self.heading, 1)
        layout.addLayout(top)
        layout.addWidget(self.notice)
        layout.addLayout(self.camera_row)
        layout.addLayout(filters)
        layout.addLayout(ranking)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def set_workspace(self, workspace: Workspace | None) -> None:
        self.runner.forget()
        self.workspace, self.query, self.matches = workspace, None, []
        self.table.setRowCount(0)
        self.update_cameras()

    def update_cameras(self) -> None:
        names = camera_names(self.workspace) if self.workspace else []
        for name in list(self.camera_boxes):
            if name not in names:
                self.camera_boxes.pop(name).deleteLater()
        for name in names:
            if name not in self.camera_boxes:
                box = self.camera_boxes[name] = QCheckBox(name)
                box.setChecked(True)
                box.toggled.connect(self.refresh)
                self.camera_row.insertWidget(self.camera_row.count() - 1, box)  # before the stretch

    def options(self) -> QueryOptions:
        chosen = tuple(n for n, b in self.camera_boxes.items() if b.isChecked())
        window = (self.time_from.value(), self.time_to.value()) if self.use_time.isChecked() else None
        return QueryOptions(
            top_k=self.top_k.value(),
            cameras=chosen if len(chosen) < len(self.camera_boxes) else None,
            time_window=window,
            rerank=self.rerank.isChecked(),
        )

    def set_query(self, tracklet_id: int) -> None:
        assert self.workspace is not None
        card = query_card(self.workspace, tracklet_id)
        self.query = card.tracklet
        if not self.use_time.isChecked():  # a window to start from: an hour either side of the query
            self.time_from.setValue(self.query.start_time - 3600)
            self.time_to.setValue(self.query.end_time + 3600)
        jpeg = card.thumbnail
        self.query_picture.setPixmap(jpeg_to_pixmap(jpeg, THUMB.height()) if jpeg else QPixmap())
        self.refresh()

    def refresh(self) -> None:
        """Ask the worker thread for the matches; the table fills when they arrive."""
        if self.workspace is None or self.query is None:
            return
        self.pending = self.runner.submit(self.workspace.location, [self.query.id], self.options())
        self.heading.setText(f"Tracklet #{self.query.id}: searching…")

    def _show_failure(self, number: int, message: str) -> None:
        if number != self.pending or self.query is None:
            return
        self.matches = []
        self.heading.setText(f"Tracklet #{self.query.id}: {message}")
        self.notice.hide()
        self.table.setRowCount(0)
        self.shown, self.shown_query = number, None

    def _show_ranked(self, number: int, found: MatchList) -> None:
        if number != self.pending or self.query is None:
            return  # an answer to an older click
        query = self.query
        self.notice.setText(found.notice)
        self.notice.setVisible(bool(found.notice))
        self.model_id, self.matches = found.model_id, [row.match for row in found.rows]
        self.heading.setText(found.heading())
        header = QTableWidgetItem(found.score_header)
        header.setToolTip(SCORE_TIPS[found.reranked])
        self.table.setHorizontalHeaderItem(SCORE_COLUMN, header)
        kept = self.selected_match() if self.shown_query == query.id else None  # a re-query keeps the place
        self.table.setRowCount(len(self.matches))
        self.row_of = {match.tracklet_id: row for row, match in enumerate(self.matches)}
        for row, shown in enumerate(found.rows):
            self.table.setItem(row, 0, QTableWidgetItem())
            for column, value in enumerate(shown.cells(), 1):
                item = QTableWidgetItem(value)
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if column == SCORE_COLUMN:
                    item.setToolTip(f"cosine similarity {shown.match.similarity:.3f}")
                if shown.verdict:
                    item.setBackground(VERDICT_COLOURS[shown.verdict])
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(0, THUMB.width() + 8)  # the picture column, empty until thumbnails arrive
        if self.matches:
            self.table.selectRow(self.row_of.get(kept.tracklet_id, 0) if kept is not None else 0)
        self.shown, self.shown_query = number, query.id

    def _show_thumbnails(self, number: int, batch: list[tuple[int, bytes | None]]) -> None:
        if number != self.pending:
            return
        for tracklet_id, jpeg in batch:
            row = self.row_of.get(tracklet_id)
            item = self.table.item(row, 0) if row is not None else None
            if item is not None and jpeg is not None:
                item.setIcon(QIcon(jpeg_to_pixmap(jpeg, THUMB.height())))
        self.thumbnails_shown = number

    def selected_match(self) -> Match | None:
        row = self.table.currentRow()
        return self.matches[row] if 0 <= row < len(self.matches) else None

    def step(self, offset: int) -> None:
        """Select the match ``offset`` rows below (above if negative) the selected one."""
        if self.matches:
            row = min(max(self.table.currentRow() + offset, 0), len(self.matches) - 1)
            self.table.selectRow(row)
            self.table.scrollToItem(self.table.item(row, 1))

    def show_verdicts(self, decided: dict[int, str]) -> None:
        """Write the verdicts into the rows in place: the list keeps its order and its selection."""
        for row, match in enumerate(self.matches):
            verdict = decided.get(match.tracklet_id, "")
            for column in range(1, len(COLUMNS)):
                item = self.table.item(row, column)
                if item is None:
                    continue
                if column == len(COLUMNS) - 1:
                    item.setText(verdict)
                item.setBackground(VERDICT_COLOURS[verdict] if verdict else QBrush())

    def _open(self, row: int) -> None:
        if 0 <= row < len(self.matches):
            self.open_requested.emit(self.matches[row])

    def _decide(self, verdict: str) -> None:
        row = self.table.currentRow()
        if 0 <= row < len(self.matches):
            self.verdict_requested.emit(self.matches[row], verdict)
