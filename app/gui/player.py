"""One camera's player: play/pause, seek slider, frame stepping, person boxes with tracklet ids.

Clicking inside a box emits ``person_clicked(tracklet_id)``. Boxes exist on the frames the
detector processed; with a frame stride the latest processed frame's boxes stay drawn until
the next one.
"""

from __future__ import annotations

import bisect

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget

from app.gui.images import rgb_to_qimage
from app.pipeline.clock import format_time

Box = tuple[int, float, float, float, float]  # tracklet id, x1, y1, x2, y2 (pixels of the video)


class FrameView(QWidget):
    """Paints a frame scaled to fit (aspect kept) and its boxes; maps clicks back to video pixels."""

    clicked = Signal(float, float)  # video pixel coordinates

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image: QImage | None = None
        self.boxes: list[Box] = []
        self.highlight: set[int] = set()
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)

    def show_frame(self, image: QImage, boxes: list[Box]) -> None:
        self.image, self.boxes = image, boxes
        self.update()

    def target_rect(self) -> QRectF:
        """Where the frame is drawn inside the widget."""
        if self.image is None:
            return QRectF()
        scale = min(self.width() / self.image.width(), self.height() / self.image.height())
        width, height = self.image.width() * scale, self.image.height() * scale
        return QRectF((self.width() - width) / 2, (self.height() - height) / 2, width, height)

    def to_widget(self, x: float, y: float) -> QPointF:
        rect = self.target_rect()
        assert self.image is not None
        scale_x, scale_y = rect.width() / self.image.width(), rect.height() / self.image.height()
        return QPointF(rect.x() + x * scale_x, rect.y() + y * scale_y)

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(20, 20, 20))
        if self.image is None:
            return
        rect = self.target_rect()
        painter.drawImage(rect, self.image)
        for tracklet_id, x1, y1, x2, y2 in self.boxes:
            top_left, bottom_right = self.to_widget(x1, y1), self.to_widget(x2, y2)
            colour = QColor(255, 200, 0) if tracklet_id in self.highlight else QColor(0, 220, 120)
            painter.setPen(QPen(colour, 3 if tracklet_id in self.highlight else 2))
            painter.drawRect(QRectF(top_left, bottom_right))
            painter.drawText(top_left + QPointF(3, 14), f"#{tracklet_id}")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        rect = self.target_rect()
        if self.image is None or not rect.contains(event.position()):
            return
        x = (event.position().x() - rect.x()) * self.image.width() / rect.width()
        y = (event.position().y() - rect.y()) * self.image.height() / rect.height()
        self.clicked.emit(x, y)


class CameraPlayer(QWidget):
    person_clicked = Signal(int)  # tracklet id

    def __init__(self, camera: str, video: dict, boxes: dict[int, list[Box]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.camera, self.video = camera, video
        self.boxes = boxes
        self.box_frames = sorted(boxes)
        self.stride = int(video.get("stride") or 1)
        self.capture = cv2.VideoCapture(video["path"])
        self.frame_count = int(video["frame_count"])
        self.fps = float(video["fps"]) or 10.0
        self.start_time = float(video.get("start_time") or 0.0)  # the camera clock at frame 0 (app.pipeline.clock)
        self.position = -1  # frame shown now
        self.next_read = 0  # frame the capture returns next (avoids seeking while playing)

        self.view = FrameView(self)
        self.view.clicked.connect(self._clicked)
        self.title = QLabel(f"<b>{camera}</b>  {video['name']}")
        self.play_button = QPushButton("Play")
        self.play_button.setCheckable(True)
        self.play_button.toggled.connect(self.set_playing)
        back, forward = QPushButton("◀"), QPushButton("▶")
        back.setToolTip("Previous frame")
        forward.setToolTip("Next frame")
        self.play_button.setToolTip("Play or pause this camera (Space plays the selected match)")
        back.clicked.connect(lambda: self.seek(self.position - 1))
        forward.clicked.connect(lambda: self.seek(self.position + 1))
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, max(self.frame_count - 1, 0))
        self.slider.valueChanged.connect(self._slider_moved)
        self.time_label = QLabel()
        controls = QHBoxLayout()
        for widget in (self.play_button, back, forward):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.time_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.slider)
        layout.addLayout(controls)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self._tick)
        self.seek(0)

    def close_video(self) -> None:
        self.timer.stop()
        self.capture.release()

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("Pause" if playing else "Play")
        if playing:
            self.timer.start(int(1000 / self.fps))
        else:
            self.timer.stop()

    def boxes_at(self, frame: int) -> list[Box]:
        """Boxes of ``frame``, or of the latest processed frame within one stride before it."""
        index = bisect.bisect_right(self.box_frames, frame) - 1
        if index < 0 or frame - self.box_frames[index] >= self.stride:
            return []
        return self.boxes[self.box_frames[index]]

    def seek(self, frame: int) -> None:
        frame = int(np.clip(frame, 0, max(self.frame_count - 1, 0)))
        if frame != self.next_read:
            self.capture.set(cv2.CAP_PROP_POS_FRAMES, frame)
        ok, bgr = self.capture.read()
        self.next_read = frame + 1
        if not ok:
            self.set_playing(False)
            return
        self.position = frame
        self.view.show_frame(rgb_to_qimage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)), self.boxes_at(frame))
        self.slider.blockSignals(True)
        self.slider.setValue(frame)
        self.slider.blockSignals(False)
        self.time_label.setText(f"{format_time(self.start_time + frame / self.fps)}  #{frame}")

    def show_tracklet(self, tracklet_id: int, frame: int) -> None:
        self.view.highlight = {tracklet_id}
        self.seek(frame)

    def _tick(self) -> None:
        if self.position + 1 < self.frame_count:
            self.seek(self.position + 1)
        else:
            self.play_button.setChecked(False)

    def _slider_moved(self, value: int) -> None:
        self.seek(value)

    def _clicked(self, x: float, y: float) -> None:
        hits = [b for b in self.view.boxes if b[1] <= x <= b[3] and b[2] <= y <= b[4]]
        if hits:  # the smallest box under the cursor: the person in front
            tracklet_id = min(hits, key=lambda b: (b[3] - b[1]) * (b[4] - b[2]))[0]
            self.view.highlight = {tracklet_id}
            self.view.update()
            self.person_clicked.emit(tracklet_id)
