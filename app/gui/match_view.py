"""A match beside its query: crops of both tracklets with the RRU gate heatmap over each crop."""

from __future__ import annotations

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
from app.pipeline.clock import format_span
from app.pipeline.display import TrackletStripRows, tracklet_strip
from app.pipeline.identities import CONFIRMED, REJECTED
from app.pipeline.overlay import colour_map, colour_scale, overlay_heatmap
from app.pipeline.query import Match
from reid_core.workspace import TrackletRow, Workspace

CROP_HEIGHT = 160


class TrackletStrip(QWidget):
    """Evenly spaced crops of one tracklet, each with its own gate heatmap (read by ``tracklet_strip``)."""

    def __init__(self, strip: TrackletStripRows, title: str) -> None:
        super().__init__()
        tracklet, self.strip = strip.tracklet, strip
        self.images, self.heat = strip.images, strip.heat
        self.gate_range = strip.gate_range  # raw gate values, before the stretch to [0, 1]
        self.labels = [QLabel() for _ in self.images]
        grid = QGridLayout(self)
        gates = "" if self.gate_range is None else " · gate values {:.3f}–{:.3f} stretched to the scale".format(
            *self.gate_range
        )
        self.title = QLabel(f"<b>{title}</b>: tracklet #{tracklet.id}, camera {tracklet.camera}, "
                            f"{format_span(tracklet.start_time, tracklet.end_time)}{gates}")
        grid.addWidget(self.title, 0, 0, 1, max(len(self.images), 1))
        for column, label in enumerate(self.labels):
            grid.addWidget(label, 1, column)

    @property
    def has_heatmaps(self) -> bool:
        return self.strip.has_heatmaps

    def render(self, show_heatmap: bool, opacity: float, map_only: bool = False) -> None:
        """Each crop plain, with its gate map blended over it, or the gate map alone (``map_only``)."""
        for label, image, heat in zip(self.labels, self.images, self.heat):
            shown = image
            if show_heatmap and heat is not None:
                height, width = image.shape[:2]
                shown = colour_map(heat, width, height) if map_only else overlay_heatmap(image, heat, opacity)
            label.setPixmap(QPixmap.fromImage(rgb_to_qimage(shown)).scaledToHeight(CROP_HEIGHT))


def scale_bar() -> tuple[QWidget, QLabel]:
    """The colour scale of the gate maps with what its ends mean; and the bar itself."""
    bar = QLabel()
    bar.setPixmap(QPixmap.fromImage(rgb_to_qimage(colour_scale(240, 14))))
    bar.setToolTip("Gate value of each region, stretched over the tracklet's own range (see each strip's title)")
    widget = QWidget()
    row = QHBoxLayout(widget)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(QLabel("low gate: filled from earlier frames"))
    row.addWidget(bar)
    row.addWidget(QLabel("high gate: this frame trusted"))
    row.addStretch(1)
    return widget, bar


class MatchDialog(QDialog):
    verdict = Signal(str)  # "confirmed" | "rejected"

    def __init__(
        self, workspace: Workspace, query: TrackletRow, match: Match, model_id: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Match #{match.tracklet_id} for query #{query.id}")
        self.match = match
        self.query_strip = TrackletStrip(tracklet_strip(workspace, query.id, model_id), "Query")
        self.match_strip = TrackletStrip(tracklet_strip(workspace, match.tracklet_id, model_id), "Candidate")
        self.heatmap_box = QCheckBox("Show RRU gate heatmap")
        self.heatmap_box.setChecked(True)
        self.heatmap_box.setEnabled(self.query_strip.has_heatmaps or self.match_strip.has_heatmaps)
        self.opacity = QSlider(Qt.Orientation.Horizontal)
        self.opacity.setRange(0, 100)
        self.opacity.setValue(45)
        self.heatmap_box.setToolTip("Colour each crop by the RRU update gate (G toggles gate map alone / crop)")
        self.map_only_box = QCheckBox("gate map alone")
        self.map_only_box.setToolTip("Show the gate map without the crop under it (G)")
        self.map_only_box.setShortcut("G")
        self.heatmap_box.toggled.connect(self.redraw)
        self.map_only_box.toggled.connect(self.redraw)
        self.opacity.valueChanged.connect(self.redraw)
        confirm, reject, close = QPushButton("Confirm: same person"), QPushButton("Reject"), QPushButton("Close")
        confirm.clicked.connect(lambda: self._decide(CONFIRMED))
        reject.clicked.connect(lambda: self._decide(REJECTED))
        close.clicked.connect(self.reject)
        self.confirm_button, self.reject_button = confirm, reject
        confirm.setShortcut("C")
        reject.setShortcut("X")
        confirm.setToolTip("Same person (C)")
        reject.setToolTip("Someone else (X)")
        close.setToolTip("Close (Esc)")
        controls = QHBoxLayout()
        controls.addWidget(self.heatmap_box)
        controls.addWidget(self.map_only_box)
        controls.addWidget(QLabel("opacity"))
        controls.addWidget(self.opacity)
        controls.addStretch(1)
        for button in (confirm, reject, close):
            controls.addWidget(button)
        info = QLabel(
            (f"re-ranked distance {match.distance:.3f} (ranks by it), " if match.distance is not None else "")
            + f"cosine similarity {match.similarity:.3f}. "
            "Warm colours: regions where the RRU update gate let this frame's appearance in (trusted); "
            "cool: regions it filled from earlier frames."
        )
        info.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.query_strip)
        layout.addWidget(self.match_strip)
        scale_row, self.scale = scale_bar()
        self.info = info
        layout.addWidget(scale_row)
        layout.addWidget(info)
        layout.addLayout(controls)
        self.redraw()

    def redraw(self) -> None:
        show, opacity, alone = self.heatmap_box.isChecked(), self.opacity.value() / 100, self.map_only_box.isChecked()
        self.map_only_box.setEnabled(show and self.heatmap_box.isEnabled())
        self.query_strip.render(show, opacity, alone)
        self.match_strip.render(show, opacity, alone)

    def _decide(self, verdict: str) -> None:
        self.verdict.emit(verdict)
        self.accept()
