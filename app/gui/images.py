"""numpy / JPEG bytes → Qt images."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage, QPixmap


def rgb_to_qimage(rgb: np.ndarray) -> QImage:
    """An RGB uint8 array as a QImage that owns a copy of the pixels."""
    rgb = np.ascontiguousarray(rgb)
    height, width = rgb.shape[:2]
    return QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def jpeg_to_pixmap(jpeg: bytes, height: int | None = None) -> QPixmap:
    pixmap = QPixmap()
    pixmap.loadFromData(jpeg, "JPG")
    return pixmap.scaledToHeight(height) if height else pixmap
