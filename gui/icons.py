"""Small painted icons (no image files to ship, crisp at any scale)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPainterPath, QPen, QPixmap


def microphone_icon(colour: str = "#ffffff", size: int = 64) -> QIcon:
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    s = size / 64.0
    pen = QPen(QColor(colour), 4.5 * s, Qt.SolidLine, Qt.RoundCap)
    painter.setPen(Qt.NoPen)
    painter.setBrush(QColor(colour))
    painter.drawRoundedRect(QRectF(23 * s, 6 * s, 18 * s, 32 * s), 9 * s, 9 * s)  # capsule
    painter.setPen(pen)
    painter.setBrush(Qt.NoBrush)
    cradle = QPainterPath()
    cradle.moveTo(15 * s, 28 * s)
    cradle.cubicTo(15 * s, 52 * s, 49 * s, 52 * s, 49 * s, 28 * s)
    painter.drawPath(cradle)
    painter.drawLine(QPointF(32 * s, 46 * s), QPointF(32 * s, 56 * s))
    painter.drawLine(QPointF(22 * s, 57 * s), QPointF(42 * s, 57 * s))
    painter.end()
    return QIcon(pixmap)


def app_icon() -> QIcon:
    size = 128
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setPen(Qt.NoPen)
    painter.setBrush(QColor("#3559b8"))
    painter.drawRoundedRect(QRectF(4, 4, 120, 120), 28, 28)
    painter.setBrush(QColor("#f2a65a"))
    for index, (x, y) in enumerate(((26, 70), (50, 52), (74, 62), (98, 40))):
        painter.drawRoundedRect(QRectF(x - 10, y, 20, 12), 4, 4)
        painter.setBrush(QColor("#cfe0ff") if index % 2 == 0 else QColor("#f2a65a"))
    painter.end()
    return QIcon(pixmap)
