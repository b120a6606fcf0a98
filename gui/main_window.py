"""The moodchords window: speak or type a mood, see what was understood, see and hear the chords,
lock / regenerate / export / drag them. Widgets only wire to `assistant`; every heavy call
(model loading, transcription, composing, file writing, opening devices) runs on a worker thread.

Hardware is handed in (`Devices`) so tests run the real window with the real or a virtual device.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDrag, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QFileDialog, QFrame, QHBoxLayout,
                               QLabel, QLineEdit, QMainWindow, QMessageBox, QProgressBar, QSplitter, QTextEdit,
                               QVBoxLayout, QWidget)

from assistant.errors import USER_ERRORS
from assistant.score import CHORD_CHANNEL
from gui import theme
from gui.history_panel import HistoryPanel
from gui.icons import app_icon
from gui.midi_drag import build_midi_mime_data, default_drag_folder, drag_file_name
from gui.mood_view import MoodView
from gui.piano_roll import ChordSpan, PianoRoll, spans_from_markers
from gui.request_bar import RequestBar
from gui.settings import WindowSettings
from gui.transport import TransportBar
from gui.workers import JobWorker, PlaybackBridge, RecorderWorker, WorkerThread

VIRTUAL_PORT = "__virtual__"  # item data of the "create a virtual port" choice


@dataclass
class Devices:
    """Factories for the hardware, called on a worker thread; each raises
    assistant.errors.DeviceUnavailable (or another error) when the device is missing."""

    # (on_position(beats), on_finished()) -> a FluidSynthPlayer-like object (play/stop/set_program/set_volume)
    player: Callable[[Callable[[float], None], Callable[[], None]], Any] | None = None
    # (input device name or None) -> a Microphone-like object (record_utterance)
    microphone: Callable[[str | None], Any] | None = None
    # () -> names of the MIDI output ports
    midi_outputs: Callable[[], Sequence[str]] | None = None
    # (port name or None for a new virtual port "moodchords", on_position, on_finished) -> a MidiPortPlayer
    midi_port: Callable[[str | None, Callable[[float], None], Callable[[], None]], Any] | None = None
    # () -> the 128 General MIDI instrument names
    instrument_names: Callable[[], Sequence[str]] | None = None


def _focus_takes_space(widget: QWidget | None) -> bool:
    """Space types into text boxes and spin boxes; elsewhere it is push-to-talk."""
    return isinstance(widget, (QLineEdit, QTextEdit, QAbstractSpinBox)) or (
        isinstance(widget, QComboBox) and widget.isEditable())


def _panel(*widgets: QWidget) -> QFrame:
    frame = QFrame()
    frame.setObjectName("panel")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(0, 0, 0, 0)
    for widget in widgets:
        layout.addWidget(widget)
    return frame


class MainWindow(QMainWindow):
    compositionShown = Signal(object)  # a Composition is on screen (tests and benchmarks wait on it)
    errorShown = Signal(str)  # an error dialog was shown with this message
    loadFinished = Signal()  # the composer (and, if available, speech) models are loaded
    loadFailed = Signal(str)  # the composer could not be loaded (the message says why)

    def __init__(self, assistant: Any, *, history: Any = None, devices: Devices | None = None,
                 settings: WindowSettings | None = None, drag_folder: Path | None = None,
                 autoload: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.assistant = assistant
        self.history = history
        self.devices = devices or Devices()
        self.settings = settings or WindowSettings()
        self.drag_folder = Path(drag_folder) if drag_folder else None
        self.composition: Any = None  # the Composition on screen
        self.locked: set[int] = set()  # chord indices kept by Regenerate
        self.player: Any = None  # FluidSynth player once opened
        self.midi_player: Any = None  # MIDI port player once opened
        self.microphone: Any = None
        self.composer_ready = False
        self.speech_ready = False
        self._loads_ended = 0  # speech and composer loads that have ended (loaded or failed)
        self.playing = False
        self._recording = False
        self._compose_job: str | None = None  # name of the compose job whose result we want
        self._job_counter = 0
        self._drag_file: Path | None = None
        self._busy_state: str | None = None  # "transcribing" / "composing" while a job runs
        self._load_failed = False  # the composer could not be loaded
        self._regenerating = False  # the pending composition is a new take of the one on screen
        self._midi_outputs_listed = False  # the MIDI output ports have been listed
        self._mic_unavailable: str | None = None  # button text while the microphone cannot be used
        self._instrument_names: list[str] = []  # General MIDI names, index = program

        self.setWindowTitle("moodchords")
        self.setWindowIcon(app_icon())
        self._build_widgets()
        self._build_workers()
        self._connect()
        self._restore_settings()
        self._set_idle_look()
        if autoload:
            QTimer.singleShot(0, self.start_background_loading)

    # ------------------------------------------------------------------------------ layout
    def _build_widgets(self) -> None:
        self.request_bar = RequestBar()
        self.piano_roll = PianoRoll()
        self.summary = QLabel("")
        self.summary.setObjectName("summary")
        self.transport = TransportBar()
        self.mood_view = MoodView()
        self.history_panel = HistoryPanel()

        roll_panel = QFrame()
        roll_panel.setObjectName("panel")
        roll_layout = QVBoxLayout(roll_panel)
        roll_layout.setContentsMargins(0, 0, 0, 6)
        roll_layout.setSpacing(0)
        roll_layout.addWidget(self.piano_roll, 1)
        summary_row = QHBoxLayout()
        summary_row.setContentsMargins(16, 0, 16, 4)
        summary_row.addWidget(self.summary)
        roll_layout.addLayout(summary_row)

        centre = QWidget()
        centre_layout = QVBoxLayout(centre)
        centre_layout.setContentsMargins(0, 0, 0, 0)
        centre_layout.setSpacing(12)
        centre_layout.addWidget(roll_panel, 1)
        centre_layout.addWidget(self.transport)

        self.splitter = QSplitter(Qt.Horizontal)
        self.splitter.setHandleWidth(12)
        self.splitter.addWidget(_panel(self.history_panel))
        self.splitter.addWidget(centre)
        self.splitter.addWidget(_panel(self.mood_view))
        self.splitter.setStretchFactor(0, 0)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 0)
        self.splitter.setSizes([250, 860, 290])
        self.splitter.setChildrenCollapsible(False)

        root = QWidget()
        root_layout = QVBoxLayout(root)
        root_layout.setContentsMargins(16, 16, 16, 10)
        root_layout.setSpacing(12)
        root_layout.addWidget(self.request_bar)
        root_layout.addWidget(self.splitter, 1)
        self.setCentralWidget(root)

        self.load_label = QLabel("Loading models…")
        self.load_progress = QProgressBar()
        self.load_progress.setRange(0, 100)
        self.load_progress.setFixedWidth(220)
        self.load_progress.setTextVisible(False)
        self.statusBar().addPermanentWidget(self.load_label)
        self.statusBar().addPermanentWidget(self.load_progress)
        self.statusBar().setSizeGripEnabled(False)
        self.statusBar().setContentsMargins(8, 0, 18, 4)

        self.transport.output.addItem("Off", None)
        self.transport.output.addItem("Virtual port “moodchords”", VIRTUAL_PORT)
        self._set_transport_enabled(False)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1400, 880)

    def _build_workers(self) -> None:
        # Models and composing on one thread (they share the Assistant's models), files and devices
        # on another (an export never waits for a model load), the microphone on a third.
        self.pipeline_worker = JobWorker()
        self.io_worker = JobWorker()
        self.recorder = RecorderWorker()
        self.playback = PlaybackBridge()
        self._threads = [WorkerThread(self.pipeline_worker, "moodchords-pipeline"),
                         WorkerThread(self.io_worker, "moodchords-io"),
                         WorkerThread(self.recorder, "moodchords-recorder")]

    def _connect(self) -> None:
        bar = self.request_bar
        bar.composeRequested.connect(self.compose_text)
        bar.mic_button.startRequested.connect(self.start_recording)
        bar.mic_button.stopRequested.connect(self.stop_recording)
        self.piano_roll.chordClicked.connect(self.toggle_lock)
        self.piano_roll.dragRequested.connect(self.start_midi_drag)
        transport = self.transport
        transport.play_button.clicked.connect(self.play)
        transport.stop_button.clicked.connect(self.stop)
        transport.loop_button.toggled.connect(self._loop_changed)
        transport.regenerate_button.clicked.connect(self.regenerate)
        transport.export_button.clicked.connect(self.export_dialog)
        transport.drag_handle.dragRequested.connect(self.start_midi_drag)
        transport.instrument.currentIndexChanged.connect(self._instrument_changed)
        transport.volume.valueChanged.connect(self._volume_changed)
        transport.output.currentIndexChanged.connect(self._output_changed)
        transport.synth.toggled.connect(self._synth_toggled)
        bar.settings_button.clicked.connect(self.open_settings)
        self.history_panel.restoreRequested.connect(self.restore_from_history)
        self.history_panel.deleteRequested.connect(self.delete_from_history)

        for worker in (self.pipeline_worker, self.io_worker):
            worker.progress.connect(self._job_progress)
            worker.finished.connect(self._job_finished)
            worker.failed.connect(self._job_failed)
        self.recorder.level.connect(bar.meter.set_level)
        self.recorder.recorded.connect(self._recorded)
        self.recorder.cancelled.connect(self._recording_cancelled)
        self.recorder.failed.connect(self._recording_failed)
        self.playback.position.connect(self._playback_position)
        self.playback.finished.connect(self._playback_finished)

        QShortcut(QKeySequence(Qt.Key_Escape), self, activated=self.cancel)
        regenerate = QAction("Regenerate", self)
        regenerate.setShortcut(QKeySequence("Ctrl+R"))
        regenerate.triggered.connect(self.regenerate)
        self.addAction(regenerate)
        export = QAction("Export", self)
        export.setShortcut(QKeySequence.Save)
        export.triggered.connect(self.export_dialog)
        self.addAction(export)
        QApplication.instance().installEventFilter(self)

    # ------------------------------------------------------------------------------ start-up
    def start_background_loading(self) -> None:
        """Open devices and load models off the UI thread; the window is usable meanwhile."""
        self.load_progress.setValue(0)
        self.load_label.setText("Loading models…")
        self.request_bar.set_status("Loading the composer…  (you can type your request already)")
        devices = self.devices
        if devices.instrument_names is not None:
            self.io_worker.submit("instruments", lambda progress: list(devices.instrument_names()))
        if devices.player is not None:
            self.io_worker.submit("player", lambda progress: devices.player(self.playback.on_position,
                                                                            self.playback.on_finished))
        else:
            self._disable_play("No audio output configured.")
        if devices.microphone is not None:
            device_name = self.settings.input_device
            self.io_worker.submit("microphone", lambda progress: devices.microphone(device_name))
        else:
            self._disable_microphone("No microphone configured.")
        if devices.midi_outputs is not None:
            self.io_worker.submit("midi_outputs", lambda progress: list(devices.midi_outputs()))
        else:
            self._disable_midi_out("MIDI output is not available in this build.")
        if self.history is not None:
            self.refresh_history()
        # Speech first: the microphone is ready in a second or two, while the user speaks the
        # composer and language models load (bench/RESULTS.md, "Start-up and latency").
        self.pipeline_worker.submit("load_speech", lambda progress: self.assistant.load(progress, composer=False))
        self.pipeline_worker.submit("load_composer", lambda progress: self.assistant.load(progress, speech=False))

    # ------------------------------------------------------------------------------ jobs
    def _next_job(self, kind: str) -> str:
        self._job_counter += 1
        return f"{kind}#{self._job_counter}"

    def _job_progress(self, name: str, message: str, fraction: float) -> None:
        kind = name.split("#")[0]
        if kind in ("load_composer", "load_speech"):
            if self._load_failed:
                return
            base, span = (0, 30) if kind == "load_speech" else (30, 70)
            self.load_progress.setValue(int(base + span * fraction))
            if fraction < 1.0:
                self.load_label.setText(message + "…")
            return
        if name == self._compose_job:
            lowered = message.lower()
            if lowered.startswith("transcrib"):
                self._set_busy("transcribing", "Transcribing what you said…")
            elif lowered.startswith(("reading", "composing")):
                self._set_busy("composing", f"{message}…")

    def _job_finished(self, name: str, result: Any) -> None:
        kind = name.split("#")[0]
        handler = getattr(self, f"_finished_{kind}", None)
        if handler is not None:
            handler(name, result)

    def _job_failed(self, name: str, message: str, error: BaseException) -> None:
        kind = name.split("#")[0]
        handler = getattr(self, f"_failed_{kind}", None)
        if handler is not None:
            handler(name, message, error)
        else:
            self.show_error("Something went wrong", message)

    # model loading
    def _finished_load_composer(self, name: str, result: Any) -> None:
        self.composer_ready = True
        self.request_bar.compose_button.setEnabled(True)
        self._update_transport()
        self.request_bar.request_edit.setFocus()
        if not self._busy_state:
            self.request_bar.set_status(self._ready_text() if self.speech_ready else
                                        "Ready: type a mood and press Enter")
        self._loading_ended()

    def _loading_ended(self) -> None:
        """Both loads (speech first, then the composer) have ended: say so once."""
        self._loads_ended += 1
        if self._loads_ended < 2 or self._load_failed:
            return
        self.load_progress.setValue(100)
        if self.speech_ready:
            self.load_label.setText("Models ready")
        QTimer.singleShot(2500, self._hide_load_progress)
        self.loadFinished.emit()

    def _failed_load_composer(self, name: str, message: str, error: BaseException) -> None:
        self._load_failed = True
        self.load_progress.setValue(0)
        self.load_label.setText("Composer unavailable")
        self.load_label.setToolTip(message)
        for widget in (self.request_bar.compose_button, self.transport.regenerate_button):
            widget.setEnabled(False)
            widget.setToolTip(f"The composer could not be loaded: {message}\n"
                              "Fix: reinstall moodchords (make setup) or pass --model-dir.")
        self.request_bar.set_status(f"The composer could not be loaded: {message}", theme.LISTENING.name())
        self._disable_microphone(f"The models could not be loaded: {message}")
        self.loadFailed.emit(message)

    def _finished_load_speech(self, name: str, result: Any) -> None:
        self.speech_ready = True
        self._update_microphone()
        if not self.composer_ready and not self._busy_state:
            self.request_bar.set_status("Ready to listen: hold Space (or the button) and say a mood; "
                                        "the composer is still loading")
        self._loading_ended()

    def _failed_load_speech(self, name: str, message: str, error: BaseException) -> None:
        self.load_label.setText("Speech model unavailable")
        self.load_label.setToolTip(message)
        self._disable_microphone(f"The speech model could not be loaded: {message}\n"
                                 "Fix: choose another model size in the settings, or reinstall (make setup).")
        if self.composer_ready:
            self.request_bar.set_status("Ready: type a mood and press Enter (speech is unavailable)")
        self._loading_ended()

    def _hide_load_progress(self) -> None:
        self.load_progress.hide()
        self.load_label.setText("")

    def _ready_text(self) -> str:
        if self.microphone is not None and self.speech_ready:
            return "Ready: hold Space (or the button) and say a mood, or type it and press Enter"
        return "Ready: type a mood and press Enter"

    # devices
    def _finished_instruments(self, name: str, names: list[str]) -> None:
        self._instrument_names = list(names)
        self.transport.set_instruments(names)
        if self.composition is not None:
            self.summary.setText(self._summary_text(self.composition))
        self.transport.select_program(self.settings.program)

    def _failed_instruments(self, name: str, message: str, error: BaseException) -> None:
        self.transport.instrument.setToolTip(f"Instrument names unavailable: {message}")

    def _finished_player(self, name: str, player: Any) -> None:
        self.player = player
        self._volume_changed(self.transport.volume.value())
        self._update_transport()

    def _failed_player(self, name: str, message: str, error: BaseException) -> None:
        self._disable_play(message)

    def _finished_microphone(self, name: str, microphone: Any) -> None:
        self.microphone = microphone
        self._mic_unavailable = None
        self._update_microphone()

    def _failed_microphone(self, name: str, message: str, error: BaseException) -> None:
        self._disable_microphone(f"{message}\nYou can still type your request.")

    def _finished_midi_outputs(self, name: str, ports: list[str]) -> None:
        output = self.transport.output
        chosen_meanwhile = output.currentIndex() != 0  # the user picked the virtual port already
        output.blockSignals(True)
        for port in ports:
            output.addItem(port, port)
        if not chosen_meanwhile:
            wanted = self.settings.midi_output
            output.setCurrentIndex(max(output.findData(wanted) if wanted else 0, 0))
        output.blockSignals(False)
        self._midi_outputs_listed = True
        if not ports:
            output.setToolTip("No MIDI output ports found; choose the virtual port “moodchords” and connect your "
                              "DAW to it (JACK: start jackd, or `a2jmidid` for ALSA).")
        if output.currentData() is not None and not chosen_meanwhile:
            self._output_changed(output.currentIndex())

    def _failed_midi_outputs(self, name: str, message: str, error: BaseException) -> None:
        self._disable_midi_out(message)

    def _finished_midi_port(self, name: str, player: Any) -> None:
        if self.midi_player is not None:
            self._close_quietly(self.midi_player)
        self.midi_player = player
        self.statusBar().showMessage(f"MIDI out: {self.transport.output.currentText()}", 4000)
        self._update_transport()

    def _failed_midi_port(self, name: str, message: str, error: BaseException) -> None:
        self.transport.output.blockSignals(True)
        self.transport.output.setCurrentIndex(0)
        self.transport.output.blockSignals(False)
        self.show_error("MIDI output unavailable", message)

    def _disable_play(self, reason: str) -> None:
        self.player = None
        self.transport.synth.setChecked(False)
        self.transport.synth.setEnabled(False)
        self.transport.synth.setToolTip(f"No sound: {reason}\nFix: install a SoundFont "
                                        "(apt install musescore-general-soundfont-small) and check the audio "
                                        "output (PulseAudio running?). You can still export and drag MIDI.")
        self._update_transport()

    def _disable_microphone(self, reason: str) -> None:
        self.microphone = None if "speech" not in reason else self.microphone
        self._mic_unavailable = "No microphone" if self.microphone is None else "Speech unavailable"
        button = self.request_bar.mic_button
        button.setEnabled(False)
        button.set_look("unavailable", self._mic_unavailable)
        button.setToolTip(reason)

    def _disable_midi_out(self, reason: str) -> None:
        self.transport.output.setEnabled(False)
        self.transport.output.setToolTip(f"MIDI output unavailable: {reason}")

    def _update_microphone(self) -> None:
        button = self.request_bar.mic_button
        if self.microphone is None:
            return
        if not self.speech_ready:
            button.setEnabled(False)
            button.set_look("loading", "Loading speech…")
            button.setToolTip("The speech model is loading; the button turns on when it is ready.")
            return
        button.setEnabled(True)
        button.setToolTip("Hold to talk and release to finish, or click to start and click again to stop "
                          "(shortcut: Space; Esc cancels)")
        if not self._recording and not self._busy_state:
            button.set_look("idle")
            self.request_bar.set_status(self._ready_text()) if self.composer_ready else None

    # ------------------------------------------------------------------------------ composing
    def compose_text(self, text: str) -> None:
        text = text.strip()
        if not text:
            self.request_bar.set_status("Type a mood first, e.g. “calm and hopeful”.", theme.BUSY.name())
            return
        if self._load_failed:
            self.request_bar.set_status("The composer is unavailable: " + self.load_label.toolTip(),
                                        theme.LISTENING.name())
            return
        if not self.composer_ready:
            self.request_bar.set_status("Still loading the composer; your request will be composed when it is "
                                        "ready.", theme.BUSY.name())
        overrides = self.transport.overrides()
        name = self._next_job("compose")
        self._compose_job = name
        self._regenerating = False
        self._set_busy("composing", "Reading the mood…")
        self.pipeline_worker.submit(name, lambda progress: self.assistant.compose_from_text(
            text, overrides=overrides, progress=progress))

    def regenerate(self) -> None:
        if self.composition is None:
            return
        locked = frozenset(index for index in self.locked if index < len(self.composition.progression.chords))
        overrides = self.transport.overrides()
        composition = self.composition
        name = self._next_job("compose")
        self._compose_job = name
        self._regenerating = True
        self._set_busy("composing", "Composing a new take" + (f", keeping {len(locked)} locked chord"
                                                              f"{'s' if len(locked) != 1 else ''}" if locked else "")
                       + "…")
        self.pipeline_worker.submit(name, lambda progress: self.assistant.regenerate(
            composition, locked=locked, overrides=overrides, progress=progress))

    def _finished_compose(self, name: str, composition: Any) -> None:
        if name != self._compose_job:
            return  # cancelled or superseded
        self._compose_job = None
        self._clear_busy()
        # A regenerated take keeps the locks on screen; a new request starts unlocked.
        chords = len(composition.progression.chords)
        locked = {index for index in self.locked if index < chords} if self._regenerating else set()
        self._regenerating = False
        self.show_composition(composition, locked=locked, refit=not self._same_shape(composition))
        if self.history is not None:
            self.refresh_history(select=composition.id)
        if self.player is not None or self.midi_player is not None:
            self.play()

    def _failed_compose(self, name: str, message: str, error: BaseException) -> None:
        if name != self._compose_job:
            return
        self._compose_job = None
        self._clear_busy()
        if type(error).__name__ == "NothingHeard":  # a soft miss: say so where the eyes are
            self.request_bar.set_status(message, theme.LISTENING.name())
            self.errorShown.emit(message)
            return
        self.request_bar.set_status(message, theme.LISTENING.name())
        self.show_error("Could not compose", message)

    def _same_shape(self, composition: Any) -> bool:
        return self.composition is not None and \
            self.composition.score.length_beats == composition.score.length_beats

    def show_composition(self, composition: Any, locked: set[int] | None = None, refit: bool = True) -> None:
        """Put a Composition on screen: piano roll, mood, summary, request text."""
        self.stop()
        self.composition = composition
        self.locked = set(locked or ())
        self.request_bar.request_edit.setText(composition.request_text)
        self.piano_roll.set_content(composition.score, self._spans(), fit=refit)
        self.mood_view.set_mood(composition.mood, self._class_descriptions())
        self.summary.setText(self._summary_text(composition))
        self._drag_file = None
        self._prepare_drag_file()
        self._update_transport()
        self.request_bar.set_status(self._ready_text() if not self._busy_state else self.request_bar.status.text())
        self.compositionShown.emit(composition)

    def _spans(self) -> tuple[ChordSpan, ...]:
        composition = self.composition
        if composition is None:
            return ()
        progression = getattr(composition, "progression", None)
        if progression is None:
            spans = spans_from_markers(composition.score)
            return tuple(ChordSpan(s.start_beats, s.duration_beats, s.name, i in self.locked)
                         for i, s in enumerate(spans))
        return tuple(ChordSpan(placed.start_beats, placed.duration_beats, placed.chord.name, index in self.locked)
                     for index, placed in enumerate(progression.chords))

    def _class_descriptions(self) -> dict[str, str]:
        try:
            classes = self.assistant.composer.classes if self.composer_ready else ()
        except Exception:  # noqa: BLE001 (descriptions are a nicety)
            classes = ()
        return {getattr(c, "name", str(c)): getattr(c, "description", "") for c in classes}

    def _summary_text(self, composition: Any) -> str:
        progression = composition.progression
        parts = []
        if progression is not None:
            bars = progression.length_beats / max(progression.beats_per_bar, 1)
            parts += [progression.key_name, f"{round(progression.tempo_bpm)} bpm", f"{bars:g} bars"]
        program = (composition.score.programs or {}).get(CHORD_CHANNEL)
        if program is not None and 0 <= program < len(self._instrument_names):
            parts.append(self._instrument_names[program])
        arrangement = getattr(composition, "arrangement", None)
        if arrangement is not None and getattr(arrangement, "pattern", None):
            parts.append(f"{arrangement.pattern} pattern")
        if composition.transcript:
            parts.append("from speech")
        return "   ·   ".join(parts)

    # ------------------------------------------------------------------------------ locks
    def toggle_lock(self, index: int) -> None:
        if self.composition is None:
            return
        if index in self.locked:
            self.locked.discard(index)
        else:
            self.locked.add(index)
        self.piano_roll.set_spans(self._spans())
        count = len(self.locked)
        self.statusBar().showMessage(
            f"{count} chord{'s' if count != 1 else ''} locked: Regenerate keeps {'them' if count != 1 else 'it'}"
            if count else "No chords locked", 4000)

    # ------------------------------------------------------------------------------ recording
    def start_recording(self) -> None:
        if self.microphone is None or not self.speech_ready or self._recording:
            return
        self.stop()
        self._recording = True
        self.request_bar.mic_button.recording = True
        self.request_bar.mic_button.set_look("listening", "Listening…")
        self.request_bar.set_status("Listening… release (or click again) when you are done; Esc cancels",
                                    theme.LISTENING.name())
        self.recorder.start_recording(self.microphone)

    def stop_recording(self) -> None:
        if self._recording:
            self.request_bar.set_status("Finishing the recording…")
            self.recorder.request_stop()

    def _recorded(self, audio: Any) -> None:
        self._end_recording()
        overrides = self.transport.overrides()
        name = self._next_job("compose")
        self._compose_job = name
        self._set_busy("transcribing", "Transcribing what you said…")
        self.pipeline_worker.submit(name, lambda progress: self.assistant.compose_from_audio(
            audio, overrides=overrides, progress=progress))

    def _recording_cancelled(self) -> None:
        self._end_recording()
        self.request_bar.set_status("Recording cancelled")

    def _recording_failed(self, message: str) -> None:
        self._end_recording()
        self.show_error("The microphone failed", message)

    def _end_recording(self) -> None:
        self._recording = False
        self.request_bar.mic_button.recording = False
        self.request_bar.meter.reset()
        self._update_microphone()

    def cancel(self) -> None:
        """Esc: cancel a recording, else forget a pending composition, else stop playback."""
        if self._recording:
            self.recorder.request_cancel()
        elif self._compose_job is not None:
            self._compose_job = None
            self._clear_busy()
            self.request_bar.set_status("Cancelled")
        else:
            self.stop()

    def _set_busy(self, state: str, text: str) -> None:
        self._busy_state = state
        self.request_bar.mic_button.set_look(state)
        self.request_bar.set_status(text, theme.BUSY.name())
        self.transport.regenerate_button.setEnabled(False)

    def _clear_busy(self) -> None:
        self._busy_state = None
        self._set_idle_look()
        self._update_transport()

    def _set_idle_look(self) -> None:
        button = self.request_bar.mic_button
        if self._mic_unavailable:
            button.set_look("unavailable", self._mic_unavailable)
            button.setEnabled(False)
        elif self.microphone is not None and self.speech_ready:
            button.set_look("idle")
        else:
            button.set_look("loading", "Loading speech…" if self.microphone is not None else "Starting…")
            button.setEnabled(False)
        self.request_bar.compose_button.setEnabled(True)

    # ------------------------------------------------------------------------------ playback
    def _outputs(self) -> list[Any]:
        """What plays: the synth (mirroring its notes to the MIDI port, if one is chosen), or the
        MIDI port alone when the built-in synth is off."""
        synth_on = self.player is not None and self.transport.synth.isChecked()
        if self.player is not None and hasattr(self.player, "midi_out"):
            self.player.midi_out = self.midi_player if synth_on else None
        if synth_on:
            return [self.player]
        return [self.midi_player] if self.midi_player is not None else []

    def _score_to_play(self) -> Any:
        score = self.composition.score
        program = self.transport.instrument.currentData()
        if program is None:
            return score
        # The chosen instrument replaces the chord channel's program (the bass keeps its own).
        return dataclasses.replace(score, programs={**(score.programs or {}), CHORD_CHANNEL: program})

    def play(self) -> None:
        outputs = self._outputs()
        if self.composition is None or not outputs:
            return
        score = self._score_to_play()
        self._stop_outputs()
        self.playing = True
        for output in outputs:
            try:
                output.play(score, loop=self.transport.loop_button.isChecked())
            except USER_ERRORS + (OSError, RuntimeError) as error:  # a device that went away
                self.playing = False
                self.show_error("Playback failed", str(error))
                return
        self.transport.play_button.setText("▶  Playing")
        if not self._busy_state:
            self.request_bar.set_status("Playing — click a chord name to lock it, then Regenerate",
                                        theme.PLAYING.name())

    def stop(self) -> None:
        self._stop_outputs()
        self.playing = False
        self.piano_roll.set_playhead(None)
        self.transport.play_button.setText("▶  Play")

    def _stop_outputs(self) -> None:
        for output in (self.player, self.midi_player):
            if output is not None:
                try:
                    output.stop()
                except Exception:  # noqa: BLE001 (stopping must never fail loudly)
                    pass

    def _playback_position(self, beats: float) -> None:
        if self.playing:
            self.piano_roll.set_playhead(beats)

    def _playback_finished(self) -> None:
        if self.transport.loop_button.isChecked() and self.playing:
            return
        self.playing = False
        self.piano_roll.set_playhead(None)
        self.transport.play_button.setText("▶  Play")
        if not self._busy_state and not self._recording:
            self.request_bar.set_status(self._ready_text())

    def _loop_changed(self, on: bool) -> None:
        self.settings.loop = on
        if self.playing:
            self.play()

    def _instrument_changed(self, index: int) -> None:
        program = self.transport.instrument.currentData()
        self.settings.program = program
        if program is not None and self.playing:
            self._set_program(program)  # heard at once; the next play() carries it in the score

    def _set_program(self, program: int) -> None:
        for output in (self.player, self.midi_player):
            if output is not None and hasattr(output, "set_program"):
                try:
                    output.set_program(CHORD_CHANNEL, program)
                except Exception:  # noqa: BLE001
                    pass

    def _volume_changed(self, value: int) -> None:
        self.settings.volume = value / 100.0
        for output in (self.player, self.midi_player):
            if output is not None and hasattr(output, "set_volume"):
                try:
                    output.set_volume(value / 100.0)
                except Exception:  # noqa: BLE001
                    pass

    def _synth_toggled(self, on: bool) -> None:
        self.settings.use_synth = on
        if self.playing:
            self.play()
        self._update_transport()

    def _output_changed(self, index: int) -> None:
        choice = self.transport.output.itemData(index)
        self.settings.midi_output = choice
        if self.midi_player is not None:
            self._stop_outputs()
            self._close_quietly(self.midi_player)
            self.midi_player = None
        if choice is None or self.devices.midi_port is None:
            self._update_transport()
            return
        factory = self.devices.midi_port
        port = None if choice == VIRTUAL_PORT else choice
        self.io_worker.submit(self._next_job("midi_port"), lambda progress: factory(
            port, self.playback.on_position, self.playback.on_finished))

    @staticmethod
    def _close_quietly(output: Any) -> None:
        try:
            output.stop()
            if hasattr(output, "close"):
                output.close()
        except Exception:  # noqa: BLE001
            pass

    def _update_transport(self) -> None:
        self._set_transport_enabled(self.composition is not None)

    def _set_transport_enabled(self, has_composition: bool) -> None:
        transport = self.transport
        can_play = has_composition and bool(self._outputs())
        transport.play_button.setEnabled(can_play)
        transport.stop_button.setEnabled(can_play)
        if not self._outputs():
            transport.play_button.setToolTip("No output: " + (transport.synth.toolTip()
                                             if not transport.synth.isEnabled() else
                                             "turn on the built-in synth or choose a MIDI output"))
        else:
            transport.play_button.setToolTip("Play the progression")
        transport.regenerate_button.setEnabled(has_composition and self.composer_ready and not self._busy_state)
        transport.export_button.setEnabled(has_composition)
        transport.drag_handle.setEnabled(has_composition)

    # ------------------------------------------------------------------------------ files
    def _drag_path(self) -> Path:
        composition = self.composition
        folder = self.drag_folder or default_drag_folder()
        folder.mkdir(parents=True, exist_ok=True)
        progression = composition.progression
        key_name = progression.key_name if progression is not None else "chords"
        return folder / drag_file_name(composition.request_text, key_name, composition.score.tempo_bpm)

    def _prepare_drag_file(self) -> None:
        """Write the drag file in the background so a drag can start instantly."""
        if self.composition is None:
            return
        composition, path = self.composition, self._drag_path()
        self.io_worker.submit(self._next_job("drag_file"),
                              lambda progress: (composition.id, self.assistant.export_midi(composition, path)))

    def _finished_drag_file(self, name: str, result: tuple[str, Path]) -> None:
        composition_id, path = result
        if self.composition is not None and self.composition.id == composition_id:
            self._drag_file = Path(path)

    def _failed_drag_file(self, name: str, message: str, error: BaseException) -> None:
        self.statusBar().showMessage(f"Could not prepare the drag file: {message}", 6000)

    def midi_mime_data(self):
        """The QMimeData of a MIDI drag of the composition on screen (a fresh .mid as a file URL)."""
        if self.composition is None:
            return None
        path = self._drag_file
        if path is None or not path.is_file():  # not prepared yet: a tiny file, write it now
            path = Path(self.assistant.export_midi(self.composition, self._drag_path()))
            self._drag_file = path
        return build_midi_mime_data(path)

    def start_midi_drag(self) -> None:
        if self.composition is None:
            return
        try:
            mime = self.midi_mime_data()
        except USER_ERRORS + (OSError,) as error:
            self.show_error("Could not drag the MIDI", str(error))
            return
        drag = QDrag(self)
        drag.setMimeData(mime)
        preview = self.piano_roll.canvas.grab().scaledToHeight(90, Qt.SmoothTransformation)
        drag.setPixmap(preview.copy(0, 0, min(preview.width(), 260), preview.height()))
        drag.exec(Qt.CopyAction)

    def export_dialog(self) -> None:
        if self.composition is None:
            return
        start = str(Path.home() / drag_file_name(self.composition.request_text,
                                                 self.composition.progression.key_name,
                                                 self.composition.score.tempo_bpm))
        path, _ = QFileDialog.getSaveFileName(self, "Export MIDI", start, "MIDI files (*.mid *.midi)")
        if path:
            if not path.lower().endswith((".mid", ".midi")):
                path += ".mid"
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        composition = self.composition
        self.statusBar().showMessage(f"Exporting {path.name}…")
        self.io_worker.submit(self._next_job("export"),
                              lambda progress: self.assistant.export_midi(composition, path))

    def _finished_export(self, name: str, path: Any) -> None:
        self.statusBar().showMessage(f"Exported {path}", 6000)

    def _failed_export(self, name: str, message: str, error: BaseException) -> None:
        self.statusBar().clearMessage()
        self.show_error("Export failed", message)

    # ------------------------------------------------------------------------------ history
    def refresh_history(self, select: str | None = None) -> None:
        try:
            records = self.history.list(200)
        except Exception as error:  # noqa: BLE001 (a broken history must not stop the window)
            self.history_panel.set_unavailable(str(error))
            return
        self.history_panel.set_records(records, select=select)

    def restore_from_history(self, record_id: str) -> None:
        from assistant import pipeline  # noqa: PLC0415

        try:
            record = self.history.get(record_id)
            if record is None:
                raise KeyError(f"composition {record_id} is no longer in the history")
            composition = pipeline.from_history_record(record)
        except USER_ERRORS + (OSError, KeyError, ValueError, TypeError) as error:
            self.refresh_history()
            self.show_error("Could not restore", str(error).strip("'\""))
            return
        self._compose_job = None  # what is restored wins over a pending composition
        self._clear_busy()
        self.show_composition(composition, locked=set(composition.progression.locked_indices))
        self.request_bar.set_status("Restored from history: Regenerate for a new take on it")

    def delete_from_history(self, record_id: str) -> None:
        history = self.history
        self.io_worker.submit(self._next_job("history_delete"), lambda progress: history.delete(record_id))

    def _finished_history_delete(self, name: str, result: Any) -> None:
        self.refresh_history()

    # ------------------------------------------------------------------------------ settings dialog
    def open_settings(self) -> None:
        from gui.settings_dialog import gather_choices  # noqa: PLC0415

        self.request_bar.settings_button.setEnabled(False)
        self.io_worker.submit(self._next_job("settings_choices"), lambda progress: gather_choices())

    def _finished_settings_choices(self, name: str, choices: Any) -> None:
        from gui.settings_dialog import SettingsDialog  # noqa: PLC0415

        self.request_bar.settings_button.setEnabled(True)
        dialog = SettingsDialog(choices, input_device=self.settings.input_device,
                                speech_engine=self.settings.speech_engine, speech_model=self.settings.speech_model,
                                parent=self)
        if dialog.exec() != SettingsDialog.Accepted:
            return
        chosen = dialog.chosen()
        changed_input = chosen.input_device != self.settings.input_device
        self.settings.input_device = chosen.input_device
        self.settings.speech_engine = chosen.speech_engine
        self.settings.speech_model = chosen.speech_model
        self.settings.sync()
        if changed_input and self.devices.microphone is not None:
            factory, device = self.devices.microphone, chosen.input_device
            self.io_worker.submit("microphone", lambda progress: factory(device))

    def _failed_settings_choices(self, name: str, message: str, error: BaseException) -> None:
        self.request_bar.settings_button.setEnabled(True)
        self.show_error("Settings unavailable", message)

    # ------------------------------------------------------------------------------ errors
    def show_error(self, title: str, message: str) -> None:
        self.errorShown.emit(message)
        QMessageBox.critical(self, title, message)

    # ------------------------------------------------------------------------------ keys
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # Space anywhere in this window (except text fields) is push-to-talk: hold or tap.
        if event.type() in (QEvent.KeyPress, QEvent.KeyRelease) and event.key() == Qt.Key_Space \
                and isinstance(watched, QWidget) and watched.window() is self \
                and not _focus_takes_space(QApplication.focusWidget()):
            if not event.isAutoRepeat() and self.request_bar.mic_button.isEnabled():
                if event.type() == QEvent.KeyPress:
                    self.request_bar.mic_button.press()
                else:
                    self.request_bar.mic_button.release()
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        geometry = self.settings.geometry
        if geometry:
            self.restoreGeometry(geometry)
        splitter = self.settings.splitter_state
        if splitter:
            self.splitter.restoreState(splitter)
        transport = self.transport
        transport.volume.setValue(int(round(self.settings.volume * 100)))
        transport.loop_button.setChecked(self.settings.loop)
        transport.synth.setChecked(self.settings.use_synth)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.geometry = bytes(self.saveGeometry())
        self.settings.splitter_state = bytes(self.splitter.saveState())
        self.settings.sync()
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop playback, recording and the worker threads (waits for a running job to end)."""
        QApplication.instance().removeEventFilter(self)
        self.recorder.request_cancel()
        self.stop()
        for output in (self.player, self.midi_player):
            if output is not None and hasattr(output, "close"):
                try:
                    output.close()
                except Exception:  # noqa: BLE001
                    pass
        self.player = self.midi_player = None
        for thread in self._threads:
            thread.stop()
