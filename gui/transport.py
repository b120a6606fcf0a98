"""Transport and settings under the piano roll: play / stop / loop, regenerate, the musical
settings the next composition uses (Auto = the request's words, then the mood decide), volume,
output, export and drag, and Reset to Auto. A field set here is the user's ("you") and beats the
request's words; the remembered instrument of an earlier session is only a default below them."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox,
                               QVBoxLayout, QWidget)

from assistant.expression import DEFAULT_INTENSITY
from assistant.general_midi import describe_instrument
from assistant.mood import LOOP_BARS, METRES, MusicalSettings
from assistant.music import CONVENTIONAL_KEYS
from gui.flow_layout import FlowLayout

AUTO = "Auto"


class DragHandle(QPushButton):
    """A button you drag from: pressing and moving asks the window for a MIDI drag."""

    dragRequested = Signal()

    def __init__(self, text: str, parent: QWidget | None = None) -> None:
        super().__init__(text, parent)
        self.setObjectName("dragHandle")
        self.setCursor(Qt.OpenHandCursor)
        self._press = None

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.LeftButton:
            self._press = event.position()
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if self._press is not None and (event.position() - self._press).manhattanLength() >= 6:
            self._press = None
            self.setDown(False)
            self.dragRequested.emit()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._press = None
        super().mouseReleaseEvent(event)


def _caption(text: str) -> QLabel:
    label = QLabel(text)
    label.setObjectName("caption")
    return label


class HeightFollowsWidth:
    """For a widget whose layout wraps (gui.flow_layout.FlowLayout): its minimum height is the
    height its content needs at its current width, and it does not report height-for-width.
    Qt gives a top-level window no minimum height at all once any layout in it has height-for-width
    (QLayout::activate), so without this the window could be squeezed until its panels overlap."""

    def hasHeightForWidth(self) -> bool:  # noqa: N802 (Qt name)
        return False

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.fit_height()

    def event(self, event) -> bool:
        handled = super().event(event)
        if event.type() == QEvent.LayoutRequest:  # content changed (a chip shown, a status wrapped)
            self.fit_height()
        return handled

    def fit_height(self) -> None:
        layout = self.layout()
        if layout is not None and layout.hasHeightForWidth():
            needed = layout.totalHeightForWidth(self.width())
            if needed > 0 and needed != self.minimumHeight():
                self.setFixedHeight(needed)  # no more either: the piano roll takes the rest


def _index_of(combo: QComboBox, value: Any) -> int:
    """The item whose data equals `value` (a tuple), else 0 (Auto); findData cannot compare tuples."""
    wanted = None if value is None else tuple(value)
    for index in range(combo.count()):
        data = combo.itemData(index)
        if (None if data is None else tuple(data)) == wanted:
            return index
    return 0


def _group(*widgets: QWidget, spacing: int = 8) -> QWidget:
    """Widgets side by side that wrap as one item of a FlowLayout."""
    group = QWidget()
    row = QHBoxLayout(group)
    row.setContentsMargins(0, 0, 0, 0)
    row.setSpacing(spacing)
    for widget in widgets:
        row.addWidget(widget, 0, Qt.AlignVCenter)
    return group


def _field(caption: str, widget: QWidget) -> QWidget:
    """A setting: its caption beside its control (one row each: the bar stays low when it wraps),
    one item of the settings FlowLayout."""
    return _group(_caption(caption), widget, spacing=6)


class TransportBar(HeightFollowsWidth, QFrame):
    """Both rows wrap (gui.flow_layout.FlowLayout): the bar's minimum width is its widest group
    (~420 px), so it never makes the window wider than a 1280 px screen (issue 16)."""

    resetToAuto = Signal()  # "Reset to Auto" was clicked: every field is Auto, the remembered instrument forgotten

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.play_button = QPushButton("▶  Play")
        self.play_button.setObjectName("primary")
        self.stop_button = QPushButton("■")
        self.loop_button = QPushButton("↻")
        self.loop_button.setCheckable(True)
        self.regenerate_button = QPushButton("⟳  Regenerate")
        self.regenerate_button.setToolTip("A new progression for the same mood; locked chords stay (R)")
        for button in (self.play_button, self.stop_button, self.loop_button, self.regenerate_button):
            button.setMinimumHeight(36)
        self.stop_button.setToolTip("Stop")
        self.loop_button.setToolTip("Loop: play the progression over and over")
        for button in (self.stop_button, self.loop_button):
            button.setMinimumWidth(44)

        self.tempo = QSpinBox()
        self.tempo.setRange(19, 300)  # 19 shows "Auto"
        self.tempo.setSpecialValueText(AUTO)
        self.tempo.setSuffix(" bpm")
        self.tempo.setValue(19)
        self.tempo.setToolTip("Tempo for the next composition (Auto: the request's words, else the mood)")
        self.key = QComboBox()
        self.key.addItem(AUTO, None)
        for _pc, mode, name in CONVENTIONAL_KEYS:  # C# minor, F# major and Gb major ... (assistant.music)
            self.key.addItem(name, (name.split()[0], mode))
        self.key.setToolTip("Key for the next composition (Auto: the request's words, else the mood)")
        self.bars = QSpinBox()
        self.bars.setRange(0, 64)
        self.bars.setSpecialValueText(AUTO)
        self.bars.setValue(0)
        self.bars.setToolTip("Length in bars for the next composition (Auto: the request's words, else 8)")
        self.metre = QComboBox()
        self.metre.addItem(AUTO, None)
        for metre in METRES:
            self.metre.addItem(metre, metre)
        self.metre.setToolTip("Time signature for the next composition (Auto: the request's words, else 4/4)")
        self.form = QComboBox()
        self.form.addItem(AUTO, None)
        self.form.addItem("Through-composed", ("through", None))
        for bars in LOOP_BARS:
            self.form.addItem(f"Loop of {bars} bars", ("loop", bars))
        self.form.setToolTip("Form: through-composed, or a short progression repeated with variation "
                             "(Auto: the request's words, else through-composed)")
        self.intensity = QSlider(Qt.Horizontal)
        self.intensity.setRange(0, 100)
        self.intensity.setFixedWidth(70)
        self.intensity_label = QPushButton()  # shows the value; clicking it goes back to Auto
        self.intensity_label.setFlat(True)
        self.intensity_label.setToolTip("Click for Auto (the mood's default intensity)")
        self.intensity_label.clicked.connect(lambda: self.reset_intensity())
        self._intensity_auto = True
        self.intensity.valueChanged.connect(self._intensity_moved)
        self.reset_intensity()
        self.intensity.setToolTip("How clearly the mood is played, subtle (left) to unmistakable (right); "
                                  "Auto until moved (click the value to go back to Auto)")
        self.instrument = QComboBox()
        self.instrument.addItem(AUTO, None)
        self.instrument.setToolTip("General MIDI instrument of the chords (heard at once)")
        #: the instrument remembered from an earlier session: a default below the request's words
        #: (a spoken "piano" wins over it), never a field set now
        self.remembered_program: int | None = None
        self.volume = QSlider(Qt.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setFixedWidth(90)
        self.volume.setToolTip("Volume")

        self.output = QComboBox()
        self.output.setToolTip("MIDI output: play to a DAW or a hardware synth")
        self.synth = QCheckBox("Built-in synth")
        self.synth.setChecked(True)
        self.synth.setToolTip("Play through FluidSynth (the speakers)")
        self.export_button = QPushButton("Export MIDI…")
        self.export_button.setToolTip("Write the MIDI file where you choose (Ctrl+S)")
        self.drag_handle = DragHandle("⠿  Drag MIDI")
        self.drag_handle.setToolTip("Drag this into your DAW (or a folder) to drop the MIDI file")
        self.reset_button = QPushButton("↺  Reset to Auto")
        self.reset_button.setToolTip("Every setting back to Auto: the request's words decide, then the mood "
                                     "(the remembered instrument is forgotten)")
        self.reset_button.clicked.connect(self.reset_to_auto)

        # Groups that stay together when a row wraps.
        transport = FlowLayout(spacing=10)
        transport.addWidget(_group(self.play_button, self.stop_button, self.loop_button, self.regenerate_button))
        volume = _group(_caption("Volume"), self.volume)
        volume.setMinimumHeight(36)  # centred on the buttons' row
        transport.addWidget(volume)
        transport.addWidget(_group(self.export_button, self.drag_handle))
        for combo, length in ((self.instrument, 9), (self.output, 7), (self.key, 7), (self.form, 7)):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(length)
        self.tempo.setMaximumWidth(100)
        self.bars.setMaximumWidth(76)
        intensity = _group(self.intensity, self.intensity_label, spacing=4)
        settings = FlowLayout(spacing=10)
        for caption, widget in (("Tempo", self.tempo), ("Key", self.key), ("Bars", self.bars), ("Metre", self.metre),
                                ("Form", self.form), ("Intensity", intensity), ("Instrument", self.instrument)):
            settings.addWidget(_field(caption, widget))
        settings.addWidget(_field("MIDI out", _group(self.output, self.synth)))
        settings.addWidget(self.reset_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 10, 14, 10)
        layout.setSpacing(8)
        layout.addLayout(transport)
        layout.addLayout(settings)

    def set_instruments(self, names: list[str]) -> None:
        current = self.instrument.currentData()
        self.instrument.blockSignals(True)
        self.instrument.clear()
        self.instrument.addItem(AUTO, None)
        self.remember_program(self.remembered_program)  # the Auto item names it
        for program, name in enumerate(names):
            self.instrument.addItem(f"{program + 1:3d}  {name}", program)
        self.select_program(current)
        self.instrument.blockSignals(False)

    def select_program(self, program: int | None) -> None:
        index = self.instrument.findData(program)
        self.instrument.setCurrentIndex(max(index, 0))

    def remember_program(self, program: int | None) -> None:
        """The instrument remembered from an earlier session, as a default: the field stays Auto
        (its Auto item names it), so the request's words still choose the instrument."""
        self.remembered_program = program if program is not None and 0 <= program <= 127 else None
        remembered = self.remembered_program
        self.instrument.setItemText(0, AUTO if remembered is None else f"{AUTO} ({describe_instrument(remembered)})")
        self.instrument.setItemData(
            0, "" if remembered is None else f"Remembered: {describe_instrument(remembered)}, used where the "
            "request names no instrument (a spoken instrument wins)", Qt.ToolTipRole)

    def defaults(self) -> MusicalSettings | None:
        """Remembered choices, below the request's words (assistant.pipeline.merge_settings)."""
        return None if self.remembered_program is None else MusicalSettings(program=self.remembered_program)

    def set_setting(self, name: str, value: Any) -> None:
        """Set one field as the user's choice, in the form of assistant.workspace.SettingChoice.value;
        value None returns the field to Auto."""
        if name == "key":
            self.key.setCurrentIndex(_index_of(self.key, value))
        elif name == "tempo":
            self.tempo.setValue(self.tempo.minimum() if value is None else int(round(float(value))))
        elif name == "bars":
            self.bars.setValue(0 if value is None else int(value))
        elif name == "metre":
            self.metre.setCurrentIndex(max(self.metre.findData(value), 0))
        elif name == "form":
            self.form.setCurrentIndex(_index_of(self.form, value))
        elif name == "instrument":
            self.select_program(value)
        elif name == "intensity":
            if value is None:
                self.reset_intensity()
            else:
                self.intensity.setValue(int(round(100 * float(value))))
        else:
            raise ValueError(f"unknown setting {name!r}")

    def reset_to_auto(self) -> None:
        """Every field back to Auto, and the remembered instrument forgotten."""
        for name in ("key", "tempo", "bars", "metre", "form", "instrument", "intensity"):
            self.set_setting(name, None)
        self.remember_program(None)
        self.resetToAuto.emit()

    def _intensity_moved(self, value: int) -> None:
        self._intensity_auto = False
        self.intensity_label.setText(f"{value / 100:.2f}")

    def reset_intensity(self) -> None:
        """Back to Auto: the mood's default intensity (the slider shows it, in the middle)."""
        self.intensity.blockSignals(True)
        self.intensity.setValue(round(100 * DEFAULT_INTENSITY))
        self.intensity.blockSignals(False)
        self._intensity_auto = True
        self.intensity_label.setText(AUTO)

    @property
    def intensity_value(self) -> float | None:
        """The chosen intensity 0..1, or None while Auto."""
        return None if self._intensity_auto else self.intensity.value() / 100.0

    def overrides(self) -> MusicalSettings | None:
        """The user's explicit settings (None where Auto), for compose / regenerate."""
        key = self.key.currentData()
        form = self.form.currentData()
        values = MusicalSettings(
            tempo_bpm=float(self.tempo.value()) if self.tempo.value() > self.tempo.minimum() else None,
            key=key[0] if key else None,
            mode=key[1] if key else None,
            bars=self.bars.value() or None,
            program=self.instrument.currentData(),
            metre=self.metre.currentData(),
            form=form[0] if form else None,
            loop_bars=form[1] if form else None,
            intensity=self.intensity_value,
        )
        return None if values == MusicalSettings() else values
