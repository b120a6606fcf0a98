"""Transport and settings under the piano roll: play / stop / loop, regenerate, the musical
settings the next composition uses (Auto = the mood decides), volume, output, export and drag."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton,
                               QSlider, QSpinBox, QVBoxLayout, QWidget)

from assistant.expression import DEFAULT_INTENSITY
from assistant.mood import LOOP_BARS, METRES, MusicalSettings
from assistant.music import CONVENTIONAL_KEYS

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


class TransportBar(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("panel")
        self.play_button = QPushButton("▶  Play")
        self.play_button.setObjectName("primary")
        self.stop_button = QPushButton("■  Stop")
        self.loop_button = QPushButton("↻  Loop")
        self.loop_button.setCheckable(True)
        self.regenerate_button = QPushButton("⟳  Regenerate")
        self.regenerate_button.setToolTip("A new progression for the same mood; locked chords stay (R)")
        for button in (self.play_button, self.stop_button, self.loop_button, self.regenerate_button):
            button.setMinimumHeight(36)

        self.tempo = QSpinBox()
        self.tempo.setRange(19, 300)  # 19 shows "Auto"
        self.tempo.setSpecialValueText(AUTO)
        self.tempo.setSuffix(" bpm")
        self.tempo.setValue(19)
        self.tempo.setToolTip("Tempo for the next composition (Auto: the mood decides)")
        self.key = QComboBox()
        self.key.addItem(AUTO, None)
        for _pc, mode, name in CONVENTIONAL_KEYS:  # C# minor, F# major and Gb major ... (assistant.music)
            self.key.addItem(name, (name.split()[0], mode))
        self.key.setToolTip("Key for the next composition (Auto: the mood decides)")
        self.bars = QSpinBox()
        self.bars.setRange(0, 64)
        self.bars.setSpecialValueText(AUTO)
        self.bars.setValue(0)
        self.bars.setToolTip("Length in bars for the next composition")
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
        self.intensity.setFixedWidth(110)
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
        self.volume = QSlider(Qt.Horizontal)
        self.volume.setRange(0, 100)
        self.volume.setValue(80)
        self.volume.setFixedWidth(110)
        self.volume.setToolTip("Volume")

        self.output = QComboBox()
        self.output.setToolTip("MIDI output: play to a DAW or a hardware synth")
        self.synth = QCheckBox("Built-in synth")
        self.synth.setChecked(True)
        self.synth.setToolTip("Play through FluidSynth (the speakers)")
        self.export_button = QPushButton("Export MIDI…")
        self.drag_handle = DragHandle("⠿  Drag MIDI")
        self.drag_handle.setToolTip("Drag this into your DAW (or a folder) to drop the MIDI file")

        transport = QHBoxLayout()
        transport.setSpacing(8)
        for widget in (self.play_button, self.stop_button, self.loop_button):
            transport.addWidget(widget)
        transport.addSpacing(12)
        transport.addWidget(self.regenerate_button)
        transport.addStretch(1)
        transport.addWidget(_caption("Volume"))
        transport.addWidget(self.volume)
        transport.addSpacing(12)
        transport.addWidget(self.export_button)
        transport.addWidget(self.drag_handle)

        settings = QGridLayout()
        settings.setHorizontalSpacing(12)
        settings.setVerticalSpacing(4)
        intensity = QWidget()
        intensity_row = QHBoxLayout(intensity)
        intensity_row.setContentsMargins(0, 0, 0, 0)
        intensity_row.addWidget(self.intensity)
        intensity_row.addWidget(self.intensity_label)
        columns = (("Tempo", self.tempo), ("Key", self.key), ("Bars", self.bars), ("Metre", self.metre),
                   ("Form", self.form), ("Intensity", intensity), ("Instrument", self.instrument),
                   ("MIDI out", self.output))
        for column, (caption, widget) in enumerate(columns):
            settings.addWidget(_caption(caption), 0, column)
            settings.addWidget(widget, 1, column)
        settings.addWidget(self.synth, 1, len(columns))
        settings.setColumnStretch(len(columns) - 2, 2)  # the instrument names are long
        settings.setColumnStretch(len(columns) - 1, 1)
        for combo, length in ((self.instrument, 11), (self.output, 8), (self.key, 7)):
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(length)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        layout.addLayout(transport)
        layout.addLayout(settings)

    def set_instruments(self, names: list[str]) -> None:
        current = self.instrument.currentData()
        self.instrument.blockSignals(True)
        self.instrument.clear()
        self.instrument.addItem(AUTO, None)
        for program, name in enumerate(names):
            self.instrument.addItem(f"{program + 1:3d}  {name}", program)
        self.select_program(current)
        self.instrument.blockSignals(False)

    def select_program(self, program: int | None) -> None:
        index = self.instrument.findData(program)
        self.instrument.setCurrentIndex(max(index, 0))

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
