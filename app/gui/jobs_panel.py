"""The jobs panel: one row per background job with its progress bar, status and errors; cancel and resume."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.jobs import Job, JobQueue, eta_text
from app.pipeline.events import Event, Progress, VideoOutcome


class JobsPanel(QWidget):
    resume_requested = Signal()

    def __init__(self, jobs: JobQueue, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.jobs = jobs
        self.rows: dict[int, int] = {}  # id(job) → table row
        self.bars: dict[int, QProgressBar] = {}
        self.reported: set[int] = set()  # jobs whose row already shows a per-file error
        self.table = QTableWidget(0, 3)
        self.table.setHorizontalHeaderLabels(["job", "progress", "status"])
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 320)
        self.table.setColumnWidth(1, 260)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(jobs.cancel)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setEnabled(False)
        self.resume_button.clicked.connect(self._resume)
        self.cancel_button.setToolTip("Stop the running job now and drop the queued ones; what is stored stays")
        self.resume_button.setToolTip("Carry on with videos not ingested yet and tracklets a model has not embedded")
        buttons = QVBoxLayout()
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.resume_button)
        buttons.addStretch(1)
        layout = QHBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        jobs.started.connect(self._started)
        jobs.progress.connect(self._progress)
        jobs.event.connect(self._event)
        jobs.finished.connect(self._finished)
        jobs.dropped.connect(lambda job: self._status(job, "replaced by a later request"))
        jobs.idle.connect(lambda: self.cancel_button.setEnabled(False))

    def _row(self, job: Job) -> int:
        if id(job) not in self.rows:
            row = self.table.rowCount()
            self.table.insertRow(row)
            self.table.setItem(row, 0, QTableWidgetItem(job.label))
            bar = self.bars[id(job)] = QProgressBar()
            self.table.setCellWidget(row, 1, bar)
            self.table.setItem(row, 2, QTableWidgetItem("queued"))
            self.rows[id(job)] = row
            self.table.scrollToBottom()
        return self.rows[id(job)]

    def _status(self, job: Job, text: str, error: bool = False) -> None:
        item = QTableWidgetItem(text)
        item.setToolTip(text)
        if error:
            item.setForeground(QColor(200, 0, 0))
        self.table.setItem(self._row(job), 2, item)

    def _started(self, job: Job) -> None:
        self._status(job, "running")
        self.cancel_button.setEnabled(True)
        self.resume_button.setEnabled(False)

    def _progress(self, job: Job, event: Progress) -> None:
        self._row(job)
        bar = self.bars[id(job)]
        done, total = event.counts()
        bar.setRange(0, total)
        bar.setValue(done)
        current = self.table.item(self._row(job), 2)
        if current is not None and current.text().startswith("running"):
            left = eta_text(job.eta_seconds())
            self._status(job, f"running, {left}" if left else "running")

    def _event(self, job: Job, event: Event) -> None:
        if isinstance(event, VideoOutcome):
            if event.status == "failed":
                self.reported.add(id(job))
                self._status(job, event.error or "failed", error=True)
            else:
                self._status(job, f"{event.status}: {event.tracklets} tracklets")

    def _finished(self, job: Job, ok: bool, error: str) -> None:
        bar = self.bars.get(id(job))
        if ok and bar is not None:
            bar.setValue(bar.maximum())
        current = self.table.item(self._row(job), 2)
        if ok:
            if current is None or current.text().startswith(("running", "queued")):
                self._status(job, "done")
        elif id(job) not in self.reported:
            self._status(job, error or "failed", error=error != "cancelled")

    def offer_resume(self, pending_videos: int) -> None:
        self.resume_button.setEnabled(True)
        self.resume_button.setText(f"Resume ({pending_videos} videos)" if pending_videos else "Resume embedding")

    def _resume(self) -> None:
        self.resume_button.setEnabled(False)
        self.resume_requested.emit()
