"""Small dialogs: cameras and start times for new videos, settings, retraining."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
from PySide6.QtCore import QDateTime, Qt, QTimeZone, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.gui.jobs import eta_text
from app.gui.loss_plot import LossPlot
from app.pipeline.clock import default_start
from app.pipeline.events import AdaptProgress, Progress, StepProgress, TrainProgress
from app.pipeline.settings import AppSettings
from reid_core.devices import DEVICE_CHOICES


class AddVideosDialog(QDialog):
    """One row per video: its camera name (default: the file's name) and the camera's clock time at
    the video's first frame (UTC; from the file's metadata, else its modification time less its
    duration; the operator corrects it)."""

    def __init__(self, paths: list[Path], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add videos")
        self.paths = paths
        self.table = QTableWidget(len(paths), 3)
        self.table.setHorizontalHeaderLabels(["video", "camera", "first frame at (UTC)"])
        self.starts: list[QDateTimeEdit] = []
        for row, path in enumerate(paths):
            name = QTableWidgetItem(path.name)
            name.setFlags(name.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(row, 0, name)
            self.table.setItem(row, 1, QTableWidgetItem(path.stem))
            first_frame = int(default_start(path, duration(path)))
            start = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(first_frame, QTimeZone.utc()))
            start.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
            start.setCalendarPopup(True)
            start.setToolTip("The camera's clock at the first frame: from the file's metadata when it states it, "
                             "else the file's modification time less the video's length. Correct it if needed.")
            self.starts.append(start)
            self.table.setCellWidget(row, 2, start)
        self.table.resizeColumnsToContents()
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Name each video's camera; videos of one camera share its name."))
        layout.addWidget(self.table)
        layout.addWidget(buttons)

    def entries(self) -> list[tuple[Path, str, float]]:
        return [
            (
                path,
                self.table.item(row, 1).text().strip() or path.stem,
                float(self.starts[row].dateTime().toSecsSinceEpoch()),
            )
            for row, path in enumerate(self.paths)
        ]


class SettingsDialog(QDialog):
    def __init__(self, settings: AppSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self.detector = QLineEdit(settings.detector)
        self.checkpoint = QLineEdit(settings.checkpoint)
        self.device = QComboBox()
        self.device.addItems(DEVICE_CHOICES)
        self.device.setCurrentText(settings.device)
        self.stride = QSpinBox()
        self.stride.setRange(1, 100)
        self.stride.setValue(settings.frame_stride)
        self.cluster = QLineEdit(settings.cluster)
        self.cluster.setPlaceholderText("this machine (or auto, HEAD:PORT: a Ray cluster)")
        form = QFormLayout()
        form.addRow("Detector weights", self._with_browse(self.detector, "Detector weights (*.pt *.onnx)"))
        form.addRow("Re-ID checkpoint", self._with_browse(self.checkpoint, "Checkpoints (*.pt)"))
        form.addRow("Re-ID device", self.device)
        form.addRow("Frame stride", self.stride)
        form.addRow("Ingest and embed on", self.cluster)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Changes apply to videos added and tracklets embedded from now on."))
        layout.addWidget(buttons)
        self.base = settings

    def _with_browse(self, line: QLineEdit, pattern: str) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        browse = QPushButton("…")
        browse.clicked.connect(lambda: self._browse(line, pattern))
        row.addWidget(line, 1)
        row.addWidget(browse)
        return box

    def _browse(self, line: QLineEdit, pattern: str) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Choose file", line.text(), pattern)
        if path:
            line.setText(path)

    def settings(self) -> AppSettings:
        return replace(
            self.base,
            detector=self.detector.text().strip(),
            checkpoint=self.checkpoint.text().strip(),
            device=self.device.currentText(),
            frame_stride=self.stride.value(),
            cluster=self.cluster.text().strip(),
        )


class RetrainDialog(QDialog):
    """Fine-tune on the confirmed identities in a background process, then re-embed with the new model."""

    start_requested = Signal(int)  # epochs

    def __init__(self, identities: int, tracklets: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Retrain on confirmed identities")
        self.epochs = QSpinBox()
        self.epochs.setRange(1, 200)
        self.epochs.setValue(5)
        self.progress = QProgressBar()
        self.loss_plot = LossPlot()
        self.status = QLabel(f"{identities} confirmed identities, {tracklets} tracklets.")
        self.status.setWordWrap(True)
        self.start_button = QPushButton("Start")
        self.start_button.setEnabled(identities >= 2)
        if identities < 2:
            self.status.setText(self.status.text() + " Confirm matches of at least 2 people first.")
        self.start_button.clicked.connect(self._start)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        form = QFormLayout()
        form.addRow("Epochs (20 iterations each)", self.epochs)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.start_button)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.loss_plot, 1)
        layout.addLayout(buttons)

    def _start(self) -> None:
        self.start_button.setEnabled(False)
        self.loss_plot.clear()
        self.status.setText("Training in the background…")
        self.start_requested.emit(self.epochs.value())

    def show_progress(self, event: Progress, eta_seconds: float | None = None) -> None:
        """A progress event of the running job: bar, time left, and the loss curve while training."""
        done, total = event.counts()
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        left = eta_text(eta_seconds)
        left = f"; {left}" if left else ""
        if isinstance(event, StepProgress):
            self.status.setText(f"Embedding with the new model: {done}/{total} tracklets{left}")
        elif isinstance(event, TrainProgress):
            self.loss_plot.add(event.loss)
            self.status.setText(f"Epoch {event.epoch}/{event.epochs}, loss {event.loss:.3f}{left} "
                                "(training, then embedding the workspace with the new model)")
        elif isinstance(event, AdaptProgress):
            self.status.setText(f"Epoch {event.epoch}/{event.epochs}, self-check {event.self_check:.3f}{left}")

    def show_refused(self, message: str) -> None:
        self.status.setText(message)

    def show_finished(self, ok: bool, error: str) -> None:
        self.status.setText("Done: the new model is active." if ok else f"Retraining failed: {error}")
        self.start_button.setEnabled(True)


def duration(path: Path) -> float:
    """A video's length in seconds (0 when it cannot be read: the dialog still opens)."""
    capture = cv2.VideoCapture(str(path))
    try:
        fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
        frames = capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0.0
        return frames / fps if fps > 0 else 0.0
    finally:
        capture.release()
