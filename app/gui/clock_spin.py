"""A time field for the time-window filter: seconds on a free time line, a UTC date and time on a clock."""

from __future__ import annotations

import calendar
import time

from PySide6.QtGui import QValidator
from PySide6.QtWidgets import QDoubleSpinBox, QWidget

from app.pipeline.clock import format_time, is_wall_clock

FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def parse_time(text: str) -> float | None:
    """``12.5``, ``12.5 s`` or a UTC ``YYYY-MM-DD HH:MM[:SS[.f]]`` → seconds; None if it is neither."""
    text = text.strip()
    try:
        return float(text.removesuffix("s").strip())
    except ValueError:
        pass
    whole, _, tenths = text.partition(".")
    for pattern in FORMATS:
        try:
            seconds = float(calendar.timegm(time.strptime(whole, pattern)))
        except ValueError:
            continue
        return seconds + (float(f"0.{tenths}") if tenths.isdigit() else 0.0)
    return None


class ClockSpinBox(QDoubleSpinBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setRange(-1e11, 1e11)
        self.setDecimals(1)
        self.setToolTip("Seconds, or a date and time (UTC) for cameras on clock time: YYYY-MM-DD HH:MM:SS")

    def textFromValue(self, value: float) -> str:
        return format_time(value)

    def valueFromText(self, text: str) -> float:
        parsed = parse_time(text)
        return self.value() if parsed is None else parsed

    def validate(self, text: str, position: int) -> object:
        state = QValidator.State.Acceptable if parse_time(text) is not None else QValidator.State.Intermediate
        return state, text, position

    def clock(self) -> bool:
        return is_wall_clock(self.value())
