"""Settings: the microphone, the speech engine and its model size. The choices are gathered on a
worker thread by the window (device scans are slow) and handed in here."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QVBoxLayout, QWidget


@dataclass(frozen=True)
class SettingsChoices:
    inputs: tuple[tuple[str, str], ...]  # (device name for Microphone, label shown)
    engines: tuple[str, ...]  # speech engines
    models: tuple[str, ...]  # speech model sizes installed
    default_engine: str
    default_model: str
    inputs_error: str | None = None  # why the device list is empty


@dataclass(frozen=True)
class ChosenSettings:
    input_device: str | None  # None = the system default
    speech_engine: str
    speech_model: str


def gather_choices() -> SettingsChoices:
    """Runs on a worker thread."""
    from assistant import speech
    from assistant.audio import list_input_devices

    error = None
    try:
        inputs = tuple((device.name, device.description) for device in list_input_devices())
    except Exception as failure:  # noqa: BLE001 (no audio system: the dialog still opens)
        inputs, error = (), str(failure)
    return SettingsChoices(inputs, tuple(speech.ENGINES), tuple(speech.MODELS), speech.DEFAULT_ENGINE,
                           speech.DEFAULT_MODEL, error)


class SettingsDialog(QDialog):
    def __init__(self, choices: SettingsChoices, *, input_device: str | None, speech_engine: str | None,
                 speech_model: str | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("moodchords settings")
        self.setMinimumWidth(460)
        self.input = QComboBox()
        self.input.addItem("System default", None)
        for name, label in choices.inputs:
            self.input.addItem(label, name)
        self.input.setCurrentIndex(max(self.input.findData(input_device), 0))
        if choices.inputs_error:
            self.input.setToolTip(choices.inputs_error)
        self.engine = QComboBox()
        for engine in choices.engines:
            self.engine.addItem(engine, engine)
        self.engine.setCurrentIndex(max(self.engine.findData(speech_engine or choices.default_engine), 0))
        self.model = QComboBox()
        for model in choices.models:
            self.model.addItem(model, model)
        self.model.setCurrentIndex(max(self.model.findData(speech_model or choices.default_model), 0))
        note = QLabel("The microphone changes at once; the speech engine and model size at the next start.")
        note.setObjectName("caption")
        note.setWordWrap(True)
        form = QFormLayout()
        form.setVerticalSpacing(10)
        form.addRow("Microphone", self.input)
        form.addRow("Speech engine", self.engine)
        form.addRow("Model size", self.model)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 18, 20, 16)
        layout.setSpacing(14)
        layout.addLayout(form)
        layout.addWidget(note)
        layout.addWidget(buttons)

    def chosen(self) -> ChosenSettings:
        return ChosenSettings(self.input.currentData(), self.engine.currentData(), self.model.currentData())
