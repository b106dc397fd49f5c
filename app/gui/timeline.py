"""A person's timeline: one lane per camera, one bar per tracklet; clicking a bar plays that moment."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from app.pipeline.people import seconds
from reid_core.workspace import TrackletRow

LANE_HEIGHT = 28
LABEL_WIDTH = 110
MARGIN = 8
TICK_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 43200, 86400)


@dataclass(frozen=True)
class Bar:
    tracklet: TrackletRow
    start: float  # seconds on the timeline
    end: float
    confidence: float


def doubt_colour(confidence: float) -> QColor:
    """Red for a doubtful member, through amber, to green for a sure one."""
    hue = int(120 * min(max(confidence, 0.0), 1.0))
    return QColor.fromHsv(hue, 200, 220)


class TimelineWidget(QWidget):
    moment_chosen = Signal(int, int)  # tracklet id, frame

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bars: list[Bar] = []
        self.lanes: list[str] = []
        self.span = (0.0, 1.0)
        self.setMinimumHeight(2 * LANE_HEIGHT + 2 * MARGIN)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Minimum)
        self.setToolTip("One lane per camera; click a bar to play that moment")

    def set_person(self, tracklets: list[TrackletRow], confidence: dict[int, float]) -> None:
        starts, ends = seconds(np.array([t.start_time for t in tracklets]), np.array([t.end_time for t in tracklets]))
        self.bars = [Bar(t, float(s), float(e), confidence.get(t.id, 1.0)) for t, s, e in zip(tracklets, starts, ends)]
        self.lanes = sorted({t.camera for t in tracklets})
        if self.bars:
            low, high = float(starts.min()), float(ends.max())
            pad = max((high - low) * 0.02, 0.5)
            self.span = (max(low - pad, 0.0) if low >= 0 else low - pad, high + pad)
        self.setMinimumHeight(max(len(self.lanes), 1) * LANE_HEIGHT + 2 * MARGIN + 16)
        self.update()

    def bar_rect(self, bar: Bar) -> QRectF:
        width = max(self.width() - LABEL_WIDTH - 2 * MARGIN, 1)
        low, high = self.span
        x1 = LABEL_WIDTH + MARGIN + (bar.start - low) / (high - low) * width
        x2 = LABEL_WIDTH + MARGIN + (bar.end - low) / (high - low) * width
        y = MARGIN + self.lanes.index(bar.tracklet.camera) * LANE_HEIGHT + 4
        return QRectF(x1, y, max(x2 - x1, 3.0), LANE_HEIGHT - 8)

    def frame_at(self, bar: Bar, x: float) -> int:
        """The video frame under ``x`` inside a bar (its tracklet's frames spread over the bar)."""
        rect = self.bar_rect(bar)
        share = min(max((x - rect.left()) / max(rect.width(), 1.0), 0.0), 1.0)
        first, last = bar.tracklet.start_frame, bar.tracklet.end_frame
        return round(first + share * (last - first))

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().base())
        for lane, camera in enumerate(self.lanes):
            y = MARGIN + lane * LANE_HEIGHT
            painter.setPen(self.palette().text().color())
            painter.drawText(QRectF(4, y, LABEL_WIDTH - 8, LANE_HEIGHT), Qt.AlignmentFlag.AlignVCenter, camera)
            painter.setPen(QPen(QColor(200, 200, 200)))
            painter.drawLine(QPointF(LABEL_WIDTH, y + LANE_HEIGHT), QPointF(self.width() - MARGIN, y + LANE_HEIGHT))
        for bar in self.bars:
            rect = self.bar_rect(bar)
            painter.fillRect(rect, doubt_colour(bar.confidence))
            painter.setPen(QPen(QColor(60, 60, 60)))
            painter.drawRect(rect)
            if rect.width() > 30:
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, f"#{bar.tracklet.id}")
        if self.bars:
            self._paint_axis(painter)
        painter.end()

    def _paint_axis(self, painter: QPainter) -> None:
        """Ticks at a round step (1 s … 1 h) chosen to give about eight of them."""
        low, high = self.span
        step = next((s for s in TICK_STEPS if (high - low) / s <= 8), TICK_STEPS[-1])
        width = max(self.width() - LABEL_WIDTH - 2 * MARGIN, 1)
        y = MARGIN + len(self.lanes) * LANE_HEIGHT
        painter.setPen(self.palette().text().color())
        for tick in np.arange(np.ceil(low / step) * step, high, step):
            x = LABEL_WIDTH + MARGIN + (tick - low) / (high - low) * width
            painter.drawLine(QPointF(x, y), QPointF(x, y + 4))
            painter.drawText(QPointF(x - 12, y + 16), f"{tick:g} s")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        point = event.position()
        for bar in self.bars:
            if self.bar_rect(bar).adjusted(-2, -2, 2, 2).contains(point):
                self.moment_chosen.emit(bar.tracklet.id, self.frame_at(bar, point.x()))
                return
