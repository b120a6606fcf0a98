"""What the assistant understood: the keywords, a dot on the valence/arousal plane (with the four
quadrant labels) and the weight of each emotion class as bars."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from assistant.mood import Mood
from gui import theme
from gui.flow_layout import FlowLayout

#: Quadrant captions: (valence sign, arousal sign) -> words a composer recognises.
QUADRANTS = {(1, 1): "happy · excited", (-1, 1): "tense · angry",
             (-1, -1): "sad · low", (1, -1): "calm · content"}


class EmotionPlane(QWidget):
    """Valence (x, -1..1) and arousal (y, -1..1) with a dot where the mood sits."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.point: tuple[float, float] | None = None
        self.setMinimumSize(180, 180)
        self.setMaximumHeight(300)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(220, 220)

    def heightForWidth(self, width: int) -> int:  # noqa: N802
        return width

    def hasHeightForWidth(self) -> bool:  # noqa: N802
        return True

    def set_point(self, valence: float | None, arousal: float | None) -> None:
        self.point = None if valence is None or arousal is None else (
            max(-1.0, min(1.0, valence)), max(-1.0, min(1.0, arousal)))
        self.update()

    def plane_rect(self) -> QRectF:
        # 18 px on the left and at the bottom hold the axis captions.
        side = max(min(self.width() - 22, self.height() - 22), 40)
        return QRectF(18 + (self.width() - 22 - side) / 2, 2, side, side)

    def dot_position(self) -> QPointF | None:
        if self.point is None:
            return None
        rect = self.plane_rect()
        valence, arousal = self.point
        return QPointF(rect.center().x() + valence * rect.width() / 2, rect.center().y() - arousal * rect.height() / 2)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        rect = self.plane_rect()
        tints = {(1, 1): "#2a3a2c", (-1, 1): "#3d2a2c", (-1, -1): "#27303f", (1, -1): "#263a3a"}
        half_w, half_h = rect.width() / 2, rect.height() / 2
        small = QFont(self.font().family(), 8)
        painter.setFont(small)
        for (v, a), colour in tints.items():
            quad = QRectF(rect.center().x() + (0 if v > 0 else -half_w), rect.center().y() + (-half_h if a > 0 else 0),
                          half_w, half_h)
            painter.fillRect(quad, QColor(colour))
            painter.setPen(theme.TEXT_DIM)
            painter.drawText(quad.adjusted(6, 4, -6, -4),
                             (Qt.AlignTop if a > 0 else Qt.AlignBottom) | (Qt.AlignRight if v > 0 else Qt.AlignLeft)
                             | Qt.TextWordWrap, QUADRANTS[(v, a)])
        painter.setPen(QPen(theme.GRID_BAR, 1))
        painter.drawLine(QPointF(rect.left(), rect.center().y()), QPointF(rect.right(), rect.center().y()))
        painter.drawLine(QPointF(rect.center().x(), rect.top()), QPointF(rect.center().x(), rect.bottom()))
        painter.setPen(theme.TEXT_DIM)
        painter.drawText(QRectF(rect.left(), rect.bottom() + 2, rect.width(), 14), Qt.AlignCenter,
                         "−  valence  +")
        painter.save()
        painter.translate(rect.left() - 4, rect.center().y())
        painter.rotate(-90)
        painter.drawText(QRectF(-rect.height() / 2, -14, rect.height(), 14), Qt.AlignCenter,
                         "−  arousal  +")
        painter.restore()
        dot = self.dot_position()
        if dot is not None:
            glow = QColor(theme.ACCENT)
            glow.setAlpha(70)
            painter.setPen(Qt.NoPen)
            painter.setBrush(glow)
            painter.drawEllipse(dot, 13, 13)
            painter.setBrush(QColor("#ffffff"))
            painter.setPen(QPen(theme.ACCENT, 3))
            painter.drawEllipse(dot, 6, 6)


class WeightBars(QWidget):
    """One bar per emotion class: its name, what it means and its weight."""

    ROW = 22  # px per class

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[tuple[str, str, float]] = []  # (class, description, weight)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self.setFixedHeight(4 * self.ROW)

    def set_weights(self, weights: dict[str, float], descriptions: dict[str, str] | None = None) -> None:
        descriptions = descriptions or {}
        self.rows = [(name, descriptions.get(name, ""), float(weight)) for name, weight in sorted(weights.items())]
        self.setFixedHeight(max(len(self.rows), 1) * self.ROW)
        self.update()

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.setFont(QFont(self.font().family(), 9))
        label_width = 128 if any(desc for _, desc, _ in self.rows) else 40
        best = max((weight for *_, weight in self.rows), default=0.0)
        for index, (name, description, weight) in enumerate(self.rows):
            top = index * self.ROW
            painter.setPen(theme.TEXT if weight == best else theme.TEXT_DIM)
            label = f"{name}  {description}" if description else name
            painter.drawText(QRectF(0, top, label_width - 6, self.ROW), Qt.AlignVCenter | Qt.AlignLeft,
                             painter.fontMetrics().elidedText(label, Qt.ElideRight, label_width - 8))
            track = QRectF(label_width, top + 7, self.width() - label_width - 44, self.ROW - 14)
            painter.setPen(Qt.NoPen)
            painter.setBrush(theme.SURFACE_HIGH)
            painter.drawRoundedRect(track, 4, 4)
            painter.setBrush(theme.ACCENT if weight == best else QColor("#4a5a80"))
            painter.drawRoundedRect(QRectF(track.left(), track.top(), track.width() * max(0.0, min(weight, 1.0)),
                                           track.height()), 4, 4)
            painter.setPen(theme.TEXT_DIM)
            painter.drawText(QRectF(track.right() + 4, top, 40, self.ROW), Qt.AlignVCenter | Qt.AlignRight,
                             f"{weight * 100:.0f}%")


MAX_CHIPS = 6  # keyword chips shown; the rest are counted in a "+N" chip (its tooltip names them)


class MoodView(QWidget):
    """The mood panel: keywords as chips, the plane and the bars."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Mood")
        title.setObjectName("title")
        self.summary = QLabel("Nothing composed yet.")
        self.summary.setObjectName("caption")
        self.summary.setWordWrap(True)
        # The chips wrap onto more rows rather than widen the panel: a long request once grew the
        # window past the screen (issue 16).
        self.keywords_box = QWidget()
        self.keywords_row = FlowLayout(self.keywords_box, spacing=6)
        size_policy = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        size_policy.setHeightForWidth(True)
        self.keywords_box.setSizePolicy(size_policy)
        self.plane = EmotionPlane()
        self.bars = WeightBars()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(10)
        layout.addWidget(title)
        layout.addWidget(self.keywords_box)
        layout.addWidget(self.summary)
        layout.addSpacing(4)
        layout.addWidget(self.plane)
        layout.addSpacing(6)
        emotions = QLabel("Emotion classes")
        emotions.setObjectName("caption")
        layout.addWidget(emotions)
        layout.addWidget(self.bars)
        layout.addStretch(1)
        self.keyword_labels: list[QLabel] = []
        self.more_chip: QLabel | None = None  # "+N" when there are more keywords than chips

    def set_mood(self, mood: Mood | None, descriptions: dict[str, str] | None = None) -> None:
        for label in self.keyword_labels:
            self.keywords_row.removeWidget(label)
            label.deleteLater()
        self.keyword_labels = []
        if self.more_chip is not None:
            self.keywords_row.removeWidget(self.more_chip)
            self.more_chip.deleteLater()
            self.more_chip = None
        if mood is None:
            self.summary.setText("Nothing composed yet.")
            self.plane.set_point(None, None)
            self.bars.set_weights({})
            return
        for word in mood.keywords[:MAX_CHIPS]:
            chip = QLabel(word)
            chip.setObjectName("chip")
            chip.setToolTip(word)
            self.keywords_row.addWidget(chip)
            self.keyword_labels.append(chip)
        rest = list(mood.keywords[MAX_CHIPS:])
        if rest:
            self.more_chip = QLabel(f"+{len(rest)}")
            self.more_chip.setObjectName("chip")
            self.more_chip.setToolTip(", ".join(rest))
            self.keywords_row.addWidget(self.more_chip)
        self.keywords_box.updateGeometry()
        if mood.neutral:
            self.summary.setText("No mood words found: a neutral mood was used.")
        elif not mood.keywords:
            self.summary.setText("Mood read from the whole sentence.")
        else:
            self.summary.setText(f"valence {mood.valence:+.2f} · arousal {mood.arousal:+.2f}")
        self.plane.set_point(mood.valence, mood.arousal)
        self.bars.set_weights(mood.class_weights, descriptions)

    def keywords(self) -> list[str]:
        return [label.text() for label in self.keyword_labels]
