"""The top of the window: the push-to-talk button, the level meter, the request text, the status
line and the setting chips (what the composition's key, tempo, ... are and where each came from,
each correctable with one click). Pure widgets; the window decides what the states mean."""
from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, QSize, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QFrame, QGridLayout, QLabel, QLineEdit, QMenu, QPushButton, QSizePolicy, QToolButton,
                               QVBoxLayout, QWidget)

from assistant.workspace import AUTO, KEY_CHOICES_FIRST, REQUEST, YOU, ShownSetting, setting_choices
from gui import theme
from gui.flow_layout import FlowLayout
from gui.icons import microphone_icon
from gui.level_meter import LevelMeter
from gui.transport import HeightFollowsWidth

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


#: chip colours per source (background, border, text): the request's words stand out, your fields are gold
CHIP_LOOKS = {REQUEST: ("#233c33", "#3fb97c", "#c9f2dc"), YOU: ("#3d3421", "#ffd166", "#ffe9b0"),
              AUTO: ("#262b35", "#3a4150", "#9aa3b2")}


class SettingChip(QToolButton):
    """One effective setting, "E minor · request": a click opens its menu of alternatives."""

    def __init__(self, setting: ShownSetting, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setting = setting
        self.setObjectName("settingChip")
        self.setText(f"{setting.text}  ·  {setting.source}")
        self.setPopupMode(QToolButton.InstantPopup)
        self.setFocusPolicy(Qt.NoFocus)  # Space stays push-to-talk
        background, border, text = CHIP_LOOKS[setting.source]
        self.setStyleSheet(f"QToolButton {{ background: {background}; border: 1px solid {border}; color: {text};"
                           f" border-radius: 11px; padding: 2px 10px; min-height: 16px; }}"
                           "QToolButton::menu-indicator { image: none; width: 0; }")
        origin = {REQUEST: "read from your request", YOU: "set by you (a field beats the request's words)",
                  AUTO: ("your remembered instrument (the request named none)" if setting.remembered
                         else "chosen automatically from the mood")}[setting.source]
        self.setToolTip(f"{setting.name.capitalize()}: {setting.text}, {origin}. Click to correct it.")
        self.setMenu(QMenu(self))


class SettingChips(QWidget):
    """The composition's settings as chips that wrap (never widening the window); choosing an
    alternative in a chip's menu emits settingChosen(name, value) (value None: back to Auto)."""

    settingChosen = Signal(str, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.flow = FlowLayout(self, spacing=6)
        policy = QSizePolicy(QSizePolicy.Preferred, QSizePolicy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.chips: list[SettingChip] = []

    def show_settings(self, settings: tuple[ShownSetting, ...]) -> None:
        for chip in self.chips:
            self.flow.removeWidget(chip)
            chip.deleteLater()
        self.chips = []
        for setting in settings:
            chip = SettingChip(setting, self)
            self._fill_menu(chip.menu(), setting)
            self.flow.addWidget(chip)
            chip.show()  # counted by the flow (and the bar's height) now, not when Qt shows it later
            self.chips.append(chip)
        self.updateGeometry()
        bar = self.parentWidget()
        if isinstance(bar, HeightFollowsWidth):  # one more row of chips: the bar grows, never wider
            bar.fit_height()

    def chip(self, name: str) -> SettingChip | None:
        return next((chip for chip in self.chips if chip.setting.name == name), None)

    def _fill_menu(self, menu: QMenu, setting: ShownSetting) -> None:
        choices = setting_choices(setting)
        first, rest = (choices[:KEY_CHOICES_FIRST], choices[KEY_CHOICES_FIRST:]) if setting.name == "key" \
            else (choices, ())
        for choice in first:
            self._add(menu, choice.text, setting.name, choice.value)
        if rest:
            more = menu.addMenu("All keys")
            for choice in rest:
                self._add(more, choice.text, setting.name, choice.value)
        if setting.source == YOU:
            menu.addSeparator()
            self._add(menu, "Back to Auto", setting.name, None)

    def _add(self, menu: QMenu, text: str, name: str, value: object) -> QAction:
        action = menu.addAction(text)
        action.setData((name, value))
        action.triggered.connect(lambda _checked=False: self.settingChosen.emit(name, value))
        return action


class RequestBar(HeightFollowsWidth, QFrame):
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
        # A long status (warnings, notices) wraps instead of widening the window.
        self.status.setWordWrap(True)
        self.status.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.status.setMinimumWidth(120)
        self.hint = QLabel("Space or Ctrl+Space (hold): talk   ·   Enter: compose   ·   Esc: cancel")
        self.hint.setObjectName("caption")
        self.hint.setWordWrap(True)
        self.hint.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)
        self.hint.setAlignment(Qt.AlignLeft | Qt.AlignTop)
        self.setting_chips = SettingChips()
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
        grid.addWidget(self.status, 1, 1, 1, 3)
        grid.addWidget(self.hint, 2, 0)  # under the microphone, beside the chips: no row of its own
        grid.addWidget(self.setting_chips, 2, 1, 1, 3)
        grid.setColumnStretch(1, 1)

        self.request_edit.returnPressed.connect(self._emit_compose)
        self.compose_button.clicked.connect(self._emit_compose)

    def _emit_compose(self) -> None:
        self.composeRequested.emit(self.request_edit.text())

    def set_status(self, text: str, colour: str | None = None) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour};" if colour else "")
        self.fit_height()  # a long status wraps onto more lines
