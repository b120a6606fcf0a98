"""A horizontal input-level meter: green, then yellow, then red, with a slowly falling peak."""
from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QColor, QLinearGradient, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from gui import theme

FLOOR_DB = -60.0  # the meter's left edge, dBFS


def level_to_fraction(level: float) -> float:
    """An RMS level 0..1 (linear) to 0..1 of the meter width on a dB scale (-60..0 dBFS)."""
    if level <= 0.0:
        return 0.0
    db = 20.0 * math.log10(min(level, 1.0))
    return max(0.0, min(1.0, (db - FLOOR_DB) / -FLOOR_DB))


class LevelMeter(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.fraction = 0.0  # current level, 0..1 of the width
        self.peak = 0.0  # held peak, falls back over time
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setFixedHeight(10)
        self.setToolTip("Microphone level")
        self._decay = QTimer(self)
        self._decay.setInterval(50)
        self._decay.timeout.connect(self._fall)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(200, 10)

    def set_level(self, level: float) -> None:
        """Feed an RMS level (0..1, linear)."""
        self.fraction = level_to_fraction(level)
        self.peak = max(self.peak, self.fraction)
        if not self._decay.isActive():
            self._decay.start()
        self.update()

    def reset(self) -> None:
        self.fraction = self.peak = 0.0
        self._decay.stop()
        self.update()

    def _fall(self) -> None:
        self.peak = max(self.peak - 0.02, self.fraction)
        self.fraction = max(self.fraction - 0.04, 0.0)
        if self.peak <= 0.0 and self.fraction <= 0.0:
            self._decay.stop()
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        rect = QRectF(self.rect())
        painter.setPen(Qt.NoPen)
        painter.setBrush(theme.SURFACE_HIGH)
        painter.drawRoundedRect(rect, 4, 4)
        if self.fraction > 0:
            gradient = QLinearGradient(rect.topLeft(), rect.topRight())
            gradient.setColorAt(0.0, theme.METER_LOW)
            gradient.setColorAt(0.7, theme.METER_MID)
            gradient.setColorAt(1.0, theme.METER_HIGH)
            painter.setBrush(gradient)
            painter.drawRoundedRect(QRectF(rect.left(), rect.top(), rect.width() * self.fraction, rect.height()), 4, 4)
        if self.peak > 0:
            painter.setBrush(QColor("#ffffff"))
            x = rect.left() + rect.width() * self.peak
            painter.drawRect(QRectF(max(x - 2, 0), rect.top(), 2, rect.height()))
