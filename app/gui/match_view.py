"""A match beside its query: crops of both tracklets with the RRU gate heatmap over each crop."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.gui.images import rgb_to_qimage
from app.pipeline.embed import decode_crops
from app.pipeline.overlay import normalise_maps, overlay_heatmap
from app.pipeline.query import Match
from reid_core.workspace import TrackletRow, Workspace

CROPS_SHOWN = 8
CROP_HEIGHT = 160


class TrackletStrip(QWidget):
    """Evenly spaced crops of one tracklet, each with its own gate heatmap."""

    def __init__(self, workspace: Workspace, tracklet: TrackletRow, model_id: str, title: str) -> None:
        super().__init__()
        crops = workspace.crops(tracklet.id)
        picks = np.linspace(0, len(crops) - 1, min(CROPS_SHOWN, len(crops))).round().astype(int) if crops else []
        chosen = [crops[i] for i in picks]
        self.images = decode_crops(chosen)
        stored = workspace.gate_maps(tracklet.id, model_id)
        self.heat: list[np.ndarray | None] = [None] * len(chosen)
        if stored is not None:
            frames, maps = stored
            maps = normalise_maps(maps)
            index = {f: i for i, f in enumerate(frames)}
            self.heat = [maps[index[f]] if f in index else None for f, _ in chosen]
        self.labels = [QLabel() for _ in chosen]
        grid = QGridLayout(self)
        grid.addWidget(QLabel(f"<b>{title}</b>: tracklet #{tracklet.id}, camera {tracklet.camera}, "
                              f"{tracklet.start_time:.1f}–{tracklet.end_time:.1f} s"), 0, 0, 1, max(len(chosen), 1))
        for column, label in enumerate(self.labels):
            grid.addWidget(label, 1, column)

    @property
    def has_heatmaps(self) -> bool:
        return any(h is not None for h in self.heat)

    def render(self, show_heatmap: bool, opacity: float) -> None:
        for label, image, heat in zip(self.labels, self.images, self.heat):
            shown = overlay_heatmap(image, heat, opacity) if show_heatmap and heat is not None else image
            label.setPixmap(QPixmap.fromImage(rgb_to_qimage(shown)).scaledToHeight(CROP_HEIGHT))


class MatchDialog(QDialog):
    verdict = Signal(str)  # "confirmed" | "rejected"

    def __init__(
        self, workspace: Workspace, query: TrackletRow, match: Match, model_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Match #{match.tracklet_id} for query #{query.id}")
        self.match = match
        self.query_strip = TrackletStrip(workspace, query, model_id, "Query")
        self.match_strip = TrackletStrip(workspace, workspace.tracklet(match.tracklet_id), model_id, "Candidate")
        self.heatmap_box = QCheckBox("Show RRU gate heatmap")
        self.heatmap_box.setChecked(True)
        self.heatmap_box.setEnabled(self.query_strip.has_heatmaps or self.match_strip.has_heatmaps)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.heatmap_box.toggled.connect(self.redraw)
        self.opacity.valueChanged.connect(self.redraw)
        confirm, reject, close = QPushButton("Confirm: same person"), QPushButton("Reject"), QPushButton("Close")
        confirm.clicked.connect(lambda: self._decide("confirmed"))
        reject.clicked.connect(lambda: self._decide("rejected"))
        close.clicked.connect(self.reject)
        self.confirm_button, self.reject_button = confirm, reject
        controls = QHBoxLayout()
        controls.addWidget(self.heatmap_box)
        controls.addWidget(QLabel("opacity"))
        controls.addWidget(self.opacity)
        controls.addStretch(1)
        for button in (confirm, reject, close):
            controls.addWidget(button)
        info = QLabel(
            f"similarity {match.similarity:.3f}"
            + (f", re-ranked distance {match.distance:.3f}" if match.distance is not None else "")
            + ". Warm colours: regions where the RRU update gate let this frame's appearance in (trusted); "
            "cool: regions it filled from earlier frames."
        )
        info.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.query_strip)
        layout.addWidget(self.match_strip)
        layout.addWidget(info)
        layout.addLayout(controls)
        self.redraw()

    def redraw(self) -> None:
        show, opacity = self.heatmap_box.isChecked(), self.opacity.value() / 100
        self.query_strip.render(show, opacity)
        self.match_strip.render(show, opacity)

    def _decide(self, verdict: str) -> None:
        self.verdict.emit(verdict)
        self.accept()
