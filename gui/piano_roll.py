"""The piano roll: the notes of a Score over time, chord names above their chords (click one to
lock or unlock it), a playhead, zoom (Ctrl+wheel, buttons) and horizontal scroll. Dragging the
notes asks the window to start a MIDI drag (the window owns file writing)."""
from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QMouseEvent, QPainter, QPainterPath, QPen, QWheelEvent
from PySide6.QtWidgets import (QApplication, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from assistant.score import BASS_CHANNEL, Score
from gui import theme

NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MIN_PIXELS_PER_BEAT = 8.0
# Fit never squeezes below this: a one-bar chord's pill holds any name at the largest font, a
# one-beat chord's name is in its tooltip, and long pieces scroll horizontally instead (issue 16:
# 16 bars fitted into 830 px gave 13 px a beat). Zooming out by hand may still go lower.
READABLE_PIXELS_PER_BEAT = 24.0
KEY_LABEL_POINT_SIZE = 8
MAX_PIXELS_PER_BEAT = 320.0
ZOOM_STEP = 1.25
CHORD_LANE_HEIGHT = 40  # px: the strip of chord names above the notes
RULER_HEIGHT = 20  # px: bar numbers
KEYBOARD_WIDTH = 44  # px: the pitch labels on the left
PITCH_MARGIN = 2  # semitones of air above and below the notes


@dataclass(frozen=True)
class ChordSpan:
    start_beats: float  # where the chord starts, in beats
    duration_beats: float  # how long it lasts, in beats
    name: str  # e.g. "Am/E"
    locked: bool  # kept when regenerating


def spans_from_markers(score: Score) -> tuple[ChordSpan, ...]:
    """Chord spans from a score's markers (each lasts until the next one), for scores without a
    progression at hand (e.g. read back from a MIDI file)."""
    markers = sorted(score.markers, key=lambda marker: marker.start_beats)
    spans = []
    for index, marker in enumerate(markers):
        end = markers[index + 1].start_beats if index + 1 < len(markers) else score.length_beats
        spans.append(ChordSpan(marker.start_beats, max(end - marker.start_beats, 0.0), marker.text, False))
    return tuple(spans)


class PianoRollCanvas(QWidget):
    """The painted surface; its width follows the zoom, its height the scroll area's viewport."""

    chordClicked = Signal(int)  # index of the chord whose name was clicked
    dragRequested = Signal()  # the user dragged the notes out (start a MIDI drag)
    zoomRequested = Signal(float, float)  # factor, anchor x in canvas pixels (Ctrl+wheel)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.score: Score | None = None
        self.spans: tuple[ChordSpan, ...] = ()
        self.pixels_per_beat = 40.0
        self.playhead_beats: float | None = None
        self.placeholder = "Say or type a mood — the chords appear here."
        self._low, self._high = 36, 84  # visible pitch range (inclusive)
        self._press_pos: QPointF | None = None
        self.setMouseTracking(True)
        self.setMinimumHeight(220)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)

    # --- data -------------------------------------------------------------------------------
    def set_content(self, score: Score | None, spans: tuple[ChordSpan, ...]) -> None:
        self.score = score
        self.spans = spans
        if score is not None and score.notes:
            pitches = [note.pitch for note in score.notes]
            low, high = min(pitches) - PITCH_MARGIN, max(pitches) + PITCH_MARGIN
            if high - low < 24:  # keep notes from becoming huge slabs on short ranges
                extra = 24 - (high - low)
                low, high = low - extra // 2, high + extra - extra // 2
            self._low, self._high = max(low, 0), min(high, 127)
        self.playhead_beats = None
        self._update_width()
        self.update()

    def set_pixels_per_beat(self, value: float) -> None:
        self.pixels_per_beat = min(max(value, MIN_PIXELS_PER_BEAT), MAX_PIXELS_PER_BEAT)
        self._update_width()
        self.update()

    def set_playhead(self, beats: float | None) -> None:
        self.playhead_beats = beats
        self.update()

    def length_beats(self) -> float:
        return self.score.length_beats if self.score is not None else 16.0

    def _update_width(self) -> None:
        self.setMinimumWidth(int(self.length_beats() * self.pixels_per_beat) + 24)

    # --- geometry ---------------------------------------------------------------------------
    def x_of(self, beats: float) -> float:
        return 8.0 + beats * self.pixels_per_beat

    def beats_at(self, x: float) -> float:
        return (x - 8.0) / self.pixels_per_beat

    def notes_rect(self) -> QRectF:
        top = CHORD_LANE_HEIGHT + RULER_HEIGHT
        return QRectF(0, top, self.width(), max(self.height() - top - 6, 10))

    def row_height(self) -> float:
        return self.notes_rect().height() / (self._high - self._low + 1)

    def y_of(self, pitch: int) -> float:
        rect = self.notes_rect()
        return rect.top() + (self._high - pitch) * self.row_height()

    def pitch_range(self) -> tuple[int, int]:
        return self._low, self._high

    def chord_rect(self, index: int) -> QRectF:
        span = self.spans[index]
        left = self.x_of(span.start_beats) + 2
        width = max(span.duration_beats * self.pixels_per_beat - 4, 6)
        return QRectF(left, 6, width, CHORD_LANE_HEIGHT - 10)

    def chord_at(self, pos: QPointF) -> int | None:
        for index in range(len(self.spans)):
            if self.chord_rect(index).contains(pos):
                return index
        return None

    # --- painting ---------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt name)
        painter = QPainter(self)
        painter.setRenderHint(QPainter.Antialiasing)
        painter.fillRect(self.rect(), theme.SURFACE)
        notes_rect = self.notes_rect()
        self._paint_rows(painter, notes_rect)
        self._paint_grid(painter, notes_rect)
        if self.score is None or not self.score.notes:
            painter.setPen(theme.TEXT_DIM)
            painter.setFont(QFont(self.font().family(), 12))
            painter.drawText(self.visibleRegion().boundingRect().adjusted(0, CHORD_LANE_HEIGHT, 0, 0),
                             Qt.AlignCenter, self.placeholder)
            return
        self._paint_locked_bands(painter, notes_rect)
        self._paint_notes(painter)
        self._paint_chord_lane(painter)
        self._paint_playhead(painter)

    def _paint_rows(self, painter: QPainter, rect: QRectF) -> None:
        row = self.row_height()
        for pitch in range(self._low, self._high + 1):
            if pitch % 12 in (1, 3, 6, 8, 10):  # black keys: slightly darker rows
                painter.fillRect(QRectF(rect.left(), self.y_of(pitch), rect.width(), row), QColor("#1a1d23"))
            if pitch % 12 == 0:
                painter.setPen(QPen(theme.GRID, 1))
                y = self.y_of(pitch) + row
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))

    def _paint_grid(self, painter: QPainter, rect: QRectF) -> None:
        beats_per_bar = self.score.beats_per_bar if self.score is not None else 4
        total = int(self.length_beats() + 0.999)
        bar_font = QFont(self.font().family(), 8)
        painter.setFont(bar_font)
        for beat in range(total + 1):
            x = self.x_of(beat)
            is_bar = beat % beats_per_bar == 0
            if not is_bar and self.pixels_per_beat < 14:
                continue
            painter.setPen(QPen(theme.GRID_BAR if is_bar else theme.GRID, 1))
            painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
            if is_bar and beat < total:
                painter.setPen(theme.TEXT_DIM)
                painter.drawText(QRectF(x + 4, CHORD_LANE_HEIGHT, 60, RULER_HEIGHT),
                                 Qt.AlignVCenter | Qt.AlignLeft, str(beat // beats_per_bar + 1))

    def _paint_locked_bands(self, painter: QPainter, rect: QRectF) -> None:
        band = QColor(theme.LOCKED)
        band.setAlpha(22)
        for span in self.spans:
            if span.locked:
                left = self.x_of(span.start_beats)
                painter.fillRect(QRectF(left, rect.top(), span.duration_beats * self.pixels_per_beat,
                                        rect.height()), band)

    def _paint_notes(self, painter: QPainter) -> None:
        row = self.row_height()
        height = max(row - 1.5, 2.0)
        radius = min(3.0, height / 2)
        for note in self.score.notes:
            if not self._low <= note.pitch <= self._high:
                continue
            colour = QColor(theme.BASS_NOTE if note.channel == BASS_CHANNEL else theme.CHORD_NOTE)
            colour.setAlpha(110 + int(note.velocity / 127 * 145))  # louder notes are more solid
            rect = QRectF(self.x_of(note.start_beats) + 0.5, self.y_of(note.pitch) + 0.75,
                          max(note.duration_beats * self.pixels_per_beat - 1.5, 2.0), height)
            painter.setPen(QPen(colour.lighter(130), 1))
            painter.setBrush(colour)
            painter.drawRoundedRect(rect, radius, radius)

    def _paint_chord_lane(self, painter: QPainter) -> None:
        # Chord names never lose letters silently ("Dm…" would read as D minor): the font steps
        # down, slash chords go on two lines, and only then is a name cut (the tooltip has it all).
        family = self.font().family()
        fonts = []
        for size in (10, 8, 7):
            font = QFont(family, size)
            font.setBold(True)
            fonts.append(font)
        for index, span in enumerate(self.spans):
            rect = self.chord_rect(index)
            if span.locked:
                fill = QColor(theme.LOCKED)
                fill.setAlpha(40)
                painter.setBrush(fill)
                painter.setPen(QPen(theme.LOCKED, 2))
            else:
                painter.setBrush(QColor("#2a3040"))
                painter.setPen(QPen(QColor("#3d4658"), 1))
            painter.drawRoundedRect(rect, 7, 7)
            text_rect = rect.adjusted(5, 0, -3, 0)
            if span.locked:
                if rect.width() > 70:  # room for the padlock inside the pill
                    self._paint_padlock(painter, QPointF(rect.left() + 12, rect.center().y()))
                    text_rect = rect.adjusted(22, 0, -3, 0)
                else:  # narrow chord: the padlock sits just under its pill
                    self._paint_padlock(painter, QPointF(rect.right() - 8, CHORD_LANE_HEIGHT + RULER_HEIGHT / 2))
            painter.setPen(theme.LOCKED if span.locked else theme.TEXT)
            self._draw_chord_name(painter, span.name, text_rect, fonts)

    @staticmethod
    def _draw_chord_name(painter: QPainter, name: str, rect: QRectF, fonts: list[QFont]) -> None:
        for font in fonts:
            painter.setFont(font)
            if painter.fontMetrics().horizontalAdvance(name) <= rect.width():
                painter.drawText(rect, Qt.AlignVCenter | Qt.AlignLeft, name)
                return
        if "/" in name:
            upper, bass = name.split("/", 1)
            painter.setFont(fonts[-1])
            metrics = painter.fontMetrics()
            if metrics.horizontalAdvance(upper) <= rect.width():
                painter.drawText(rect, Qt.AlignVCenter | Qt.AlignLeft, f"{upper}\n/{bass}")
                return
        painter.setFont(fonts[-1])
        painter.drawText(rect, Qt.AlignVCenter | Qt.AlignLeft,
                         painter.fontMetrics().elidedText(name, Qt.ElideRight, int(rect.width())))

    @staticmethod
    def _paint_padlock(painter: QPainter, centre: QPointF) -> None:
        painter.save()
        painter.setPen(QPen(theme.LOCKED, 1.6))
        painter.setBrush(Qt.NoBrush)
        shackle = QPainterPath()
        shackle.moveTo(centre.x() - 3.5, centre.y() - 1)
        shackle.lineTo(centre.x() - 3.5, centre.y() - 4)
        shackle.arcTo(QRectF(centre.x() - 3.5, centre.y() - 7.5, 7, 7), 180, -180)
        shackle.lineTo(centre.x() + 3.5, centre.y() - 1)
        painter.drawPath(shackle)
        painter.setBrush(theme.LOCKED)
        painter.drawRoundedRect(QRectF(centre.x() - 5.5, centre.y() - 1.5, 11, 8), 1.5, 1.5)
        painter.restore()

    def _paint_playhead(self, painter: QPainter) -> None:
        if self.playhead_beats is None:
            return
        x = self.x_of(self.playhead_beats)
        painter.setPen(QPen(theme.PLAYHEAD, 2))
        painter.drawLine(QPointF(x, CHORD_LANE_HEIGHT), QPointF(x, self.height()))
        painter.setBrush(theme.PLAYHEAD)
        painter.setPen(Qt.NoPen)
        triangle = QPainterPath()
        triangle.moveTo(x - 6, CHORD_LANE_HEIGHT)
        triangle.lineTo(x + 6, CHORD_LANE_HEIGHT)
        triangle.lineTo(x, CHORD_LANE_HEIGHT + 9)
        triangle.closeSubpath()
        painter.drawPath(triangle)

    def tooltip_at(self, pos: QPointF) -> str:
        """The full chord name (whatever fitted in its pill) and what a click does; over the notes,
        how to drag them out."""
        chord = self.chord_at(pos)
        if chord is not None:
            span = self.spans[chord]
            return f"{span.name}: " + ("locked, click to unlock" if span.locked
                                       else "click to lock (Regenerate keeps it)")
        return "Drag the notes into your DAW" if self.score is not None and self.score.notes else ""

    def chord_name_fits(self, index: int) -> bool:
        """Whether the chord's whole name is drawn in its pill (at the smallest font at worst)."""
        font = QFont(self.font().family(), 7)
        font.setBold(True)
        metrics = QFontMetricsF(font)
        width = self.chord_rect(index).adjusted(5, 0, -3, 0).width()
        name = self.spans[index].name
        if metrics.horizontalAdvance(name) <= width:
            return True
        upper = name.split("/", 1)[0]
        return "/" in name and metrics.horizontalAdvance(upper) <= width

    # --- input ------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.LeftButton:
            self._press_pos = event.position()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        pos = event.position()
        chord = self.chord_at(pos)
        over_chord = chord is not None
        self.setToolTip(self.tooltip_at(pos))
        self.setCursor(Qt.PointingHandCursor if over_chord else
                       (Qt.OpenHandCursor if self.score is not None and self.score.notes else Qt.ArrowCursor))
        if self._press_pos is not None and event.buttons() & Qt.LeftButton:
            if (pos - self._press_pos).manhattanLength() >= QApplication.startDragDistance():
                if self.chord_at(self._press_pos) is None and self.score is not None and self.score.notes:
                    self._press_pos = None
                    self.dragRequested.emit()
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.LeftButton and self._press_pos is not None:
            index = self.chord_at(event.position())
            if index is not None and index == self.chord_at(self._press_pos):
                self.chordClicked.emit(index)
        self._press_pos = None
        super().mouseReleaseEvent(event)

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if event.modifiers() & Qt.ControlModifier:
            steps = event.angleDelta().y() / 120.0
            if steps:
                self.zoomRequested.emit(ZOOM_STEP ** steps, event.position().x())
            event.accept()
            return
        event.ignore()  # the scroll area scrolls


class PianoKeys(QWidget):
    """Pitch labels (every C, and the note names when rows are tall enough) left of the roll."""

    def __init__(self, canvas: PianoRollCanvas, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = canvas
        self.setFixedWidth(KEYBOARD_WIDTH)

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.fillRect(self.rect(), theme.SURFACE)
        offset = self.canvas.mapTo(self.parentWidget(), QPointF(0, 0).toPoint()).y() - self.y()
        low, high = self.canvas.pitch_range()
        row = self.canvas.row_height()
        for pitch in range(low, high + 1):
            y = self.canvas.y_of(pitch) + offset
            black = pitch % 12 in (1, 3, 6, 8, 10)
            painter.fillRect(QRectF(KEYBOARD_WIDTH - 14, y + 0.5, 14, max(row - 1.0, 1.0)),
                             QColor("#0f1114" if black else "#cfd3da"))
        painter.setFont(self.label_font())
        for pitch, rect in self.label_rects():
            painter.setPen(theme.TEXT if pitch % 12 == 0 else theme.TEXT_DIM)
            painter.drawText(rect.translated(0, offset), Qt.AlignVCenter | Qt.AlignRight,
                             f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}")

    def label_font(self) -> QFont:
        return QFont(self.font().family(), KEY_LABEL_POINT_SIZE)

    def label_rects(self) -> list[tuple[int, QRectF]]:
        """Where each pitch label goes (canvas coordinates): a box at least as tall as the font,
        centred on its row, so short rows no longer clip the letters (issue 16). Every C is
        labelled; the other white keys only when their rows are tall enough not to overlap."""
        text_height = QFontMetricsF(self.label_font()).height()
        low, high = self.canvas.pitch_range()
        row = self.canvas.row_height()
        box_height = max(row, text_height)
        rects = []
        for pitch in range(low, high + 1):
            black = pitch % 12 in (1, 3, 6, 8, 10)
            if pitch % 12 == 0 or (row >= text_height + 1 and not black):
                centre = self.canvas.y_of(pitch) + row / 2
                rects.append((pitch, QRectF(0, centre - box_height / 2, KEYBOARD_WIDTH - 17, box_height)))
        return rects


class PianoRoll(QWidget):
    """Canvas + keyboard + scroll + zoom buttons; the widget the window uses."""

    chordClicked = Signal(int)
    dragRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.canvas = PianoRollCanvas()
        self.keys = PianoKeys(self.canvas)
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.canvas)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.NoFrame)
        self.scroll.setVerticalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.viewport().installEventFilter(self)

        self.title = QLabel("Piano roll")
        self.title.setObjectName("title")
        self.legend = QLabel(
            f'<span style="color:{theme.CHORD_NOTE.name()}">■</span> chords &nbsp; '
            f'<span style="color:{theme.BASS_NOTE.name()}">■</span> bass &nbsp; '
            f'<span style="color:{theme.LOCKED.name()}">▢</span> locked '
            f'<span style="color:{theme.TEXT_DIM.name()}">(click a chord name)</span>')
        self.legend.setObjectName("caption")
        self.zoom_out_button = self._tool("−", "Zoom out (Ctrl+wheel)", lambda: self.zoom(1 / ZOOM_STEP))
        self.zoom_in_button = self._tool("+", "Zoom in (Ctrl+wheel)", lambda: self.zoom(ZOOM_STEP))
        self.fit_button = self._tool("Fit", "Show the whole progression (long ones scroll at a readable zoom)", self.fit)

        header = QHBoxLayout()
        header.addWidget(self.title)
        header.addSpacing(12)
        header.addWidget(self.legend)
        header.addStretch(1)
        for button in (self.zoom_out_button, self.zoom_in_button, self.fit_button):
            header.addWidget(button)
        body = QHBoxLayout()
        body.setSpacing(0)
        body.addWidget(self.keys)
        body.addWidget(self.scroll, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        layout.addLayout(header)
        layout.addLayout(body, 1)

        self.canvas.chordClicked.connect(self.chordClicked)
        self.canvas.dragRequested.connect(self.dragRequested)
        self.canvas.zoomRequested.connect(self._zoom_at)
        self._fit_mode = True

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(slot)
        button.setMinimumWidth(34)
        return button

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(900, 420)

    # --- API used by the window -------------------------------------------------------------
    def set_content(self, score: Score | None, spans: tuple[ChordSpan, ...] = (), *, fit: bool = True) -> None:
        self.canvas.set_content(score, spans)
        if fit:
            self.fit()
        self.keys.update()

    def set_spans(self, spans: tuple[ChordSpan, ...]) -> None:
        """New lock states without touching zoom or scroll."""
        self.canvas.spans = spans
        self.canvas.update()

    def set_playhead(self, beats: float | None) -> None:
        self.canvas.set_playhead(beats)
        if beats is not None:  # keep the playhead in view while playing
            x = int(self.canvas.x_of(beats))
            bar = self.scroll.horizontalScrollBar()
            width = self.scroll.viewport().width()
            if x < bar.value() or x > bar.value() + width - 40:
                bar.setValue(max(x - 40, 0))

    def zoom(self, factor: float) -> None:
        bar = self.scroll.horizontalScrollBar()
        self._zoom_at(factor, bar.value() + self.scroll.viewport().width() / 2)

    def fit(self) -> None:
        width = max(self.scroll.viewport().width() - 28, 100)
        # A long piece is not squeezed past readability: it scrolls horizontally instead.
        self.canvas.set_pixels_per_beat(max(width / max(self.canvas.length_beats(), 1.0), READABLE_PIXELS_PER_BEAT))
        self.scroll.widget().adjustSize()
        self.scroll.horizontalScrollBar().setValue(0)
        self._fit_mode = True  # keep fitting on resize until the user zooms

    def _zoom_at(self, factor: float, anchor_x: float) -> None:
        self._fit_mode = False
        bar = self.scroll.horizontalScrollBar()
        beats = self.canvas.beats_at(anchor_x)
        screen_offset = anchor_x - bar.value()
        self.canvas.set_pixels_per_beat(self.canvas.pixels_per_beat * factor)
        self.scroll.widget().adjustSize()
        bar.setRange(0, max(self.canvas.minimumWidth() - self.scroll.viewport().width(), 0))
        bar.setValue(int(self.canvas.x_of(beats) - screen_offset))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.keys.update()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        if self._fit_mode:
            self.fit()

    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        # A plain wheel over the roll scrolls time (there is nothing to scroll vertically).
        if watched is self.scroll.viewport() and event.type() == event.Type.Wheel:
            if not event.modifiers() & Qt.ControlModifier:
                bar = self.scroll.horizontalScrollBar()
                delta = event.angleDelta().y() or event.angleDelta().x()
                bar.setValue(bar.value() - delta)
                return True
        if watched is self.scroll.viewport() and event.type() == event.Type.Resize:
            if self._fit_mode:
                self.fit()
            self.keys.update()
        return super().eventFilter(watched, event)
