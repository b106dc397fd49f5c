"""The training loss drawn as it comes in, one point per iteration (QPainter: no plotting library)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QWidget

MARGIN = 28


class LossPlot(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.losses: list[float] = []
        self.setMinimumSize(320, 140)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setToolTip("Training loss per iteration, drawn live")

    def add(self, loss: float) -> None:
        self.losses.append(loss)
        self.update()

    def clear(self) -> None:
        self.losses.clear()
        self.update()

    def points(self) -> list[QPointF]:
        """Where each loss is drawn: x by iteration, y scaled between the lowest and highest so far."""
        if not self.losses:
            return []
        low, high = min(self.losses), max(self.losses)
        span = (high - low) or 1.0
        width, height = self.width() - 2 * MARGIN, self.height() - 2 * MARGIN
        step = width / max(len(self.losses) - 1, 1)
        return [QPointF(MARGIN + i * step, MARGIN + (high - v) / span * height) for i, v in enumerate(self.losses)]

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(255, 255, 255))
        painter.setPen(QColor(150, 150, 150))
        painter.drawRect(MARGIN, MARGIN, self.width() - 2 * MARGIN, self.height() - 2 * MARGIN)
        if not self.losses:
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "loss appears here during training")
            return
        painter.drawText(2, MARGIN - 6, f"loss {max(self.losses):.3f}")
        painter.drawText(2, self.height() - 8, f"{min(self.losses):.3f}   iterations: {len(self.losses)}")
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(30, 90, 200), 2))
        painter.drawPolyline(QPolygonF(self.points()))
