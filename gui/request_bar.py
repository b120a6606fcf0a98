"""The top of the window: the push-to-talk button, the level meter, the request text and the
status line. Pure widgets; the window decides what the states mean."""
from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QSize, Qt, Signal
from PySide6.QtWidgets import (QFrame, QGridLayout, QLabel, QLineEdit, QPushButton, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from gui import theme
from gui.icons import microphone_icon
from gui.level_meter import LevelMeter

HOLD_MS = 350  # a press longer than this is push-to-talk (release ends); shorter toggles

#: Microphone button looks per state: (text, background, border).
BUTTON_LOOKS = {
    "idle": ("Hold to talk", "#3559b8", "#4c72d6"),
    "listening": ("Listening…", theme.LISTENING.name(), "#ff7b7f"),
    "transcribing": ("Transcribing…", "#8a6a22", theme.BUSY.name()),
    "composing": ("Composing…", "#8a6a22", theme.BUSY.name()),
    "unavailable": ("No microphone", "#262a32", "#2f343e"),
    "loading": ("Loading…", "#262a32", "#2f343e"),
}


class MicButton(QToolButton):
    """Press-and-hold to talk, or click to start and click again to stop.
    Emits `startRequested` / `stopRequested`; the window owns the recording state."""

    startRequested = Signal()
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.recording = False
        self._held = QElapsedTimer()
        self.setToolButtonStyle(Qt.ToolButtonTextBesideIcon)
        self.setIconSize(QSize(30, 30))
        self.setMinimumSize(210, 64)
        self.setSizePolicy(QSizePolicy.Fixed, QSizePolicy.Fixed)
        self.setFocusPolicy(Qt.NoFocus)  # Space is the window's shortcut, not a click
        self.set_look("loading")

    def set_look(self, state: str, text: str | None = None) -> None:
        label, background, border = BUTTON_LOOKS[state]
        self.setText("  " + (text or label))
        self.setIcon(microphone_icon("#ffffff" if state not in ("unavailable", "loading") else "#5d6574"))
        self.setStyleSheet(
            f"QToolButton {{ background: {background}; border: 2px solid {border}; border-radius: 32px;"
            f" font-size: 13pt; font-weight: 600; padding: 8px 22px; color: "
            f"{'#ffffff' if state not in ('unavailable', 'loading') else '#6b7382'}; }}"
            f"QToolButton:hover {{ border-color: #ffffff; }}")
        self.setProperty("look", state)

    # Mouse: press starts (or stops a toggled recording); a long hold stops on release.
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.LeftButton or not self.isEnabled():
            return super().mousePressEvent(event)
        self.press()
        event.accept()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.LeftButton or not self.isEnabled():
            return super().mouseReleaseEvent(event)
        self.release()
        event.accept()

    def press(self) -> None:
        """Also called by the window for the Space key."""
        if self.recording:
            self._held.invalidate()
            self.stopRequested.emit()
        else:
            self._held.start()
            self.startRequested.emit()

    def release(self) -> None:
        if self.recording and self._held.isValid() and self._held.elapsed() >= HOLD_MS:
            self.stopRequested.emit()
        self._held.invalidate()


class RequestBar(QFrame):
    """Microphone, level meter, the editable request, Compose, and the status line."""

    composeRequested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.mic_button = MicButton()
        self.meter = LevelMeter()
        self.request_edit = QLineEdit()
        self.request_edit.setObjectName("request")
        self.request_edit.setPlaceholderText(
            "Say or type a mood, e.g. “a hopeful song full of wonder, slow, in D major, 8 bars, strings”")
        self.request_edit.setClearButtonEnabled(True)
        self.compose_button = QPushButton("Compose")
        self.compose_button.setObjectName("primary")
        self.compose_button.setMinimumHeight(42)
        self.compose_button.setToolTip("Compose from the text (Enter)")
        self.status = QLabel("Starting…")
        self.status.setObjectName("status")
        self.hint = QLabel("Space or Ctrl+Space (hold): talk   ·   Enter: compose   ·   Esc: cancel")
        self.hint.setObjectName("caption")
        self.settings_button = QToolButton()
        self.settings_button.setText("⚙")
        self.settings_button.setToolTip("Settings: microphone, speech engine, model size")
        self.settings_button.setMinimumSize(42, 42)
        self.settings_button.setStyleSheet("font-size: 15pt;")

        mic_column = QVBoxLayout()
        mic_column.setSpacing(8)
        mic_column.addWidget(self.mic_button)
        mic_column.addWidget(self.meter)

        grid = QGridLayout(self)
        grid.setContentsMargins(18, 14, 18, 14)
        grid.setHorizontalSpacing(16)
        grid.setVerticalSpacing(8)
        grid.addLayout(mic_column, 0, 0, 2, 1, Qt.AlignVCenter)
        grid.addWidget(self.request_edit, 0, 1)
        grid.addWidget(self.compose_button, 0, 2)
        grid.addWidget(self.settings_button, 0, 3)
        grid.addWidget(self.status, 1, 1)
        grid.addWidget(self.hint, 1, 2, Qt.AlignRight)
        grid.setColumnStretch(1, 1)

        self.request_edit.returnPressed.connect(self._emit_compose)
        self.compose_button.clicked.connect(self._emit_compose)

    def _emit_compose(self) -> None:
        self.composeRequested.emit(self.request_edit.text())

    def set_status(self, text: str, colour: str | None = None) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour};" if colour else "")
