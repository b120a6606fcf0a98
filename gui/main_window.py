"""The moodchords window: speak or type a mood, see what was understood, see and hear the chords,
lock / regenerate / export / drag them. Widgets only wire to `assistant`; every heavy call
(model loading, transcription, composing, file writing, opening devices) is a typed job
(gui.jobs) run on a worker thread, whose result goes to the handler registered for its type.

The window assembles its parts:
- assistant.workspace.Workspace: the composition on screen, its locks, busy / ready (no Qt);
- gui.output_router.OutputRouter: the synth, the MIDI port, volume, instrument, loop;
- gui.loading_status.LoadingStatus: what the window says while the models load;
- gui.history_controller.HistoryController: the history list, restore, delete, recovery notice;
- gui.export_drag.ExportAndDrag: Export and drag to a DAW.

Hardware is handed in (`Devices`) so tests run the real window with the real or a virtual device.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QComboBox, QFrame, QHBoxLayout, QLabel, QLineEdit,
                               QMainWindow, QMessageBox, QSplitter, QTextEdit, QVBoxLayout, QWidget)

from assistant.errors import InvalidInput
from assistant.pipeline import NothingHeard
from assistant.score import CHORD_CHANNEL
from assistant.workspace import Busy, Workspace
from gui import theme
from gui.devices import Devices
from gui.export_drag import ExportAndDrag
from gui.history_controller import HistoryController
from gui.history_panel import HistoryPanel
from gui.icons import app_icon
from gui.jobs import (COMPOSING_JOBS, IO, PIPELINE, ComposeFromSpeechJob, ComposeJob, Job, JobBoard, LoadComposerJob,
                      LoadSpeechJob, OpenMicrophoneJob, RecomposeJob, RegenerateJob, SettingsChoicesJob)
from gui.loading_status import LoadingStatus, ready_text
from gui.mood_view import MoodView
from gui.output_router import VIRTUAL_PORT, OutputRouter
from gui.piano_roll import ChordSpan, PianoRoll, spans_from_markers
from gui.request_bar import RequestBar
from gui.setting_sources import SettingSources
from gui.settings import WindowSettings
from gui.transport import TransportBar
from gui.workers import JobWorker, RecorderWorker, WorkerThread

__all__ = ["Devices", "MainWindow", "VIRTUAL_PORT"]  # Devices and VIRTUAL_PORT: where callers import them


RELEASE_DEBOUNCE_MS = 60  # a talk-key release followed by a press within this is auto-repeat, not a release


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
        self.devices = devices or Devices()
        self.settings = settings or WindowSettings()
        self.workspace = Workspace()
        self.microphone: Any = None  # a Microphone once opened
        self._mic_unavailable: str | None = None  # button text while the microphone cannot be used

        self.setWindowTitle("moodchords")
        self.setWindowIcon(app_icon())
        self._build_widgets()
        self._build_workers()
        self._build_parts(history, drag_folder)
        self.history_controller.show_notice()  # a recovered history says so from the first frame, loading or not
        self._connect()
        self._restore_settings()
        self._update_transport()
        self._set_idle_look()
        if autoload:
            QTimer.singleShot(0, self.start_background_loading)

    # ------------------------------------------------------------------------------ state, read-only
    @property
    def composition(self) -> Any:
        """The Composition on screen (with its locks), or None."""
        return self.workspace.composition

    @property
    def locked(self) -> frozenset[int]:
        """Indices of the locked chords on screen (kept by Regenerate)."""
        return self.workspace.locked

    @property
    def composer_ready(self) -> bool:
        return self.workspace.loading.composer_ready

    @property
    def speech_ready(self) -> bool:
        return self.workspace.loading.speech_ready

    @property
    def player(self) -> Any:
        """The built-in synth once opened."""
        return self.outputs.player

    @property
    def midi_player(self) -> Any:
        """The MIDI port player once opened."""
        return self.outputs.midi_player

    @property
    def playing(self) -> bool:
        return self.outputs.playing

    @property
    def history(self) -> Any:
        """The HistoryStore, or None."""
        return self.history_controller.history

    @property
    def drag_folder(self) -> Path | None:
        return self.export.drag_folder

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

        self.loading_status = LoadingStatus(self.statusBar(), self.request_bar, self.workspace)
        self.load_label = self.loading_status.label
        self.load_progress = self.loading_status.progress_bar
        self.statusBar().setSizeGripEnabled(False)
        self.statusBar().setContentsMargins(8, 0, 18, 4)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(1400, 880)

    def _build_workers(self) -> None:
        # Models and composing on one thread (they share the Assistant's models), files and devices
        # on another (an export never waits for a model load), the microphone on a third.
        self.pipeline_worker = JobWorker()
        self.io_worker = JobWorker()
        self.recorder = RecorderWorker()
        self._threads = [WorkerThread(self.pipeline_worker, "moodchords-pipeline"),
                         WorkerThread(self.io_worker, "moodchords-io"),
                         WorkerThread(self.recorder, "moodchords-recorder")]
        self.jobs = JobBoard({PIPELINE: self.pipeline_worker, IO: self.io_worker},
                             unhandled_failure=lambda job, message, error: self.show_error("Something went wrong",
                                                                                           message),
                             parent=self)

    def _build_parts(self, history: Any, drag_folder: Path | None) -> None:
        status_bar = self.statusBar()
        self.outputs = OutputRouter(self.transport, self.devices, self.settings, self.jobs, self.show_error,
                                    status_bar.showMessage, parent=self)
        self.history_controller = HistoryController(history, self.history_panel, status_bar, self.jobs,
                                                    self.show_error, parent=self,
                                                    output_folder=lambda: self.assistant.output_dir)
        self.export = ExportAndDrag(self.assistant, drag_folder, self.jobs, status_bar, self.show_error, parent=self)
        jobs = self.jobs
        jobs.on(LoadSpeechJob, finished=self._speech_loaded, failed=self._speech_failed,
                progress=self.loading_status.progress)
        jobs.on(LoadComposerJob, finished=self._composer_loaded, failed=self._composer_failed,
                progress=self.loading_status.progress)
        jobs.on(COMPOSING_JOBS, finished=self._composed, failed=self._compose_failed, progress=self._compose_progress)
        jobs.on(OpenMicrophoneJob, finished=self._microphone_opened, failed=self._microphone_failed)
        jobs.on(SettingsChoicesJob, finished=self._settings_choices, failed=self._settings_failed)
        self.setting_sources = SettingSources(self.request_bar.setting_chips, self.transport, self.settings,
                                              recompose=self.recompose, parent=self)
        self.compositionShown.connect(self.setting_sources.show)

    def _connect(self) -> None:
        bar = self.request_bar
        bar.composeRequested.connect(self.compose_text)
        bar.mic_button.startRequested.connect(self.start_recording)
        bar.mic_button.stopRequested.connect(self.stop_recording)
        bar.settings_button.clicked.connect(self.open_settings)
        self.piano_roll.chordClicked.connect(self.toggle_lock)
        self.piano_roll.dragRequested.connect(self.start_midi_drag)
        transport = self.transport
        transport.play_button.clicked.connect(self.play)
        transport.stop_button.clicked.connect(self.stop)
        transport.regenerate_button.clicked.connect(self.regenerate)
        transport.export_button.clicked.connect(self.export_dialog)
        transport.drag_handle.dragRequested.connect(self.start_midi_drag)
        self.outputs.outputsChanged.connect(self._update_transport)
        self.outputs.playheadMoved.connect(self.piano_roll.set_playhead)
        self.outputs.ended.connect(self._playback_ended)
        self.outputs.instrumentsListed.connect(self._refresh_summary)
        self.history_controller.restored.connect(self._restored)

        self.recorder.level.connect(bar.meter.set_level)
        self.recorder.recorded.connect(self._recorded)
        self.recorder.cancelled.connect(self._recording_cancelled)
        self.recorder.failed.connect(self._recording_failed)

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
        self.loading_status.started()
        self.outputs.open_synth()
        if self.devices.microphone is not None:
            self.jobs.submit(OpenMicrophoneJob(self.devices.microphone, self.settings.input_device))
        else:
            self._disable_microphone("No microphone configured.")
        self.outputs.list_midi_outputs()
        self.history_controller.refresh()
        # Speech first: the microphone is ready in a second or two, while the user speaks the
        # composer and language models load (bench/RESULTS.md, "Start-up and latency").
        self.jobs.submit(LoadSpeechJob(self.assistant))
        self.jobs.submit(LoadComposerJob(self.assistant))

    # model loading
    def _speech_loaded(self, job: LoadSpeechJob, result: Any) -> None:
        self.workspace.speech_loaded()
        self._update_microphone()
        self.loading_status.speech_loaded()
        self._loading_ended()

    def _speech_failed(self, job: LoadSpeechJob, message: str, error: BaseException) -> None:
        self.workspace.speech_failed(message)
        self.loading_status.speech_failed(message)
        self._disable_microphone(f"The speech model could not be loaded: {message}\n"
                                 "Fix: choose another model size in the settings, or reinstall (make setup).",
                                 keep_microphone=True)
        self._loading_ended()

    def _composer_loaded(self, job: LoadComposerJob, result: Any) -> None:
        self.workspace.composer_loaded()
        self.request_bar.compose_button.setEnabled(True)
        self._update_transport()
        self.request_bar.request_edit.setFocus()
        self.loading_status.composer_loaded(self._can_listen())
        self._loading_ended()

    def _composer_failed(self, job: LoadComposerJob, message: str, error: BaseException) -> None:
        self.workspace.composer_failed(message)
        self.loading_status.composer_failed(message)
        for widget in (self.request_bar.compose_button, self.transport.regenerate_button):
            widget.setEnabled(False)
            widget.setToolTip(f"The composer could not be loaded: {message}\n"
                              "Fix: reinstall moodchords (make setup) or pass --model-dir.")
        self._disable_microphone(f"The models could not be loaded: {message}")
        self.loadFailed.emit(message)

    def _loading_ended(self) -> None:
        """Both loads (speech first, then the composer) have ended: say so once."""
        if self.workspace.loading.done:
            self.loading_status.finished()
            self.loadFinished.emit()

    def _can_listen(self) -> bool:
        return self.microphone is not None and self.workspace.loading.speech_ready

    def _ready_text(self) -> str:
        return ready_text(self._can_listen())

    # the microphone
    def _microphone_opened(self, job: OpenMicrophoneJob | None, microphone: Any) -> None:
        if self.microphone is not None and self.microphone is not microphone:
            self._close_microphone()
        self.microphone = microphone
        self._mic_unavailable = None
        # Armed, the microphone stays open and keeps a short pre-roll, so the first word said as the
        # talk key goes down is in the recording (opening takes a few ms; a failure shows on talking).
        arm = getattr(microphone, "arm", None)
        if arm is not None:
            try:
                arm()
            except Exception:  # noqa: BLE001 - start() reports the device's error when the user talks
                pass
        self._update_microphone()

    def _close_microphone(self) -> None:
        """Close the microphone's stream (armed or recording); the recorder's stop() then finds it closed."""
        close = getattr(self.microphone, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - a device gone mid-close: nothing left to free
                pass

    def _microphone_failed(self, job: OpenMicrophoneJob, message: str, error: BaseException) -> None:
        self._disable_microphone(f"{message}\nYou can still type your request.")

    def _disable_microphone(self, reason: str, keep_microphone: bool = False) -> None:
        """The button goes grey with the reason as its tooltip; keep_microphone: the microphone
        works, what is missing is the speech model."""
        if not keep_microphone:
            self._close_microphone()
            self.microphone = None
        self._mic_unavailable = "No microphone" if self.microphone is None else "Speech unavailable"
        button = self.request_bar.mic_button
        button.setEnabled(False)
        button.set_look("unavailable", self._mic_unavailable)
        button.setToolTip(reason)

    def _update_microphone(self) -> None:
        button = self.request_bar.mic_button
        if self.microphone is None:
            return
        if not self.workspace.loading.speech_ready:
            button.setEnabled(False)
            button.set_look("loading", "Loading speech…")
            button.setToolTip("The speech model is loading; the button turns on when it is ready.")
            return
        button.setEnabled(True)
        button.setToolTip("Hold to talk and release to finish, or click to start and click again to stop "
                          "(shortcut: Space, or Ctrl+Space in a text field; Esc cancels)")
        if not self.workspace.recording and self.workspace.busy is None:
            button.set_look("idle")
            if self.workspace.loading.composer_ready:
                self.request_bar.set_status(self._ready_text())

    # ------------------------------------------------------------------------------ composing
    def compose_text(self, text: str) -> None:
        text = text.strip()
        if not text:
            self.request_bar.set_status("Type a mood first, e.g. “calm and hopeful”.", theme.BUSY.name())
            return
        loading = self.workspace.loading
        if loading.composer_error is not None:
            self.request_bar.set_status("The composer is unavailable: " + loading.composer_error,
                                        theme.LISTENING.name())
            return
        if not loading.composer_ready:
            self.request_bar.set_status("Still loading the composer; your request will be composed when it is "
                                        "ready.", theme.BUSY.name())
        self._begin(ComposeJob(self.assistant, text, self.transport.overrides(), self.transport.defaults()),
                    Busy.COMPOSING, "Reading the mood…")

    def regenerate(self) -> None:
        composition = self.workspace.composition
        if composition is None:
            return
        locked = self.workspace.regenerate_locks()
        kept = f", keeping {len(locked)} locked chord{'s' if len(locked) != 1 else ''}" if locked else ""
        self._begin(RegenerateJob(self.assistant, composition, locked, self.transport.overrides()), Busy.COMPOSING,
                    f"Composing a new take{kept}…", keeps_locks=True)

    def recompose(self) -> None:
        """A setting was corrected (a chip): the request on screen again, with the fields as they are
        now; its transcript and the locks the new settings allow are kept (Assistant.recompose)."""
        composition = self.workspace.composition
        if composition is None:
            return
        if self.workspace.loading.composer_error is not None:
            self.request_bar.set_status("The composer is unavailable: " + self.workspace.loading.composer_error,
                                        theme.LISTENING.name())
            return
        locked = self.workspace.locked
        kept = f", keeping your locked chord{'s' if len(locked) != 1 else ''} where it allows" if locked else ""
        self._begin(RecomposeJob(self.assistant, composition, locked, self.transport.overrides(),
                                 self.transport.defaults()), Busy.COMPOSING,
                    f"Composing again with your setting{kept}…", own_locks=True)

    def _begin(self, job: Job, busy: Busy, text: str, keeps_locks: bool = False, own_locks: bool = False) -> None:
        """Send a composing job; its result replaces the composition on screen."""
        self.workspace.begin(job, busy, keeps_locks=keeps_locks, own_locks=own_locks)
        self._show_busy(text)
        self.jobs.submit(job)

    def _compose_progress(self, job: Job, message: str, fraction: float) -> None:
        busy = self.workspace.progress(job, message)
        if busy is Busy.TRANSCRIBING:
            self._show_busy("Transcribing what you said…")
        elif busy is Busy.COMPOSING:
            self._show_busy(f"{message}…")

    def _composed(self, job: Job, composition: Any) -> None:
        refit = not self.workspace.same_shape(composition)
        shown = self.workspace.finish(job, composition)
        if shown is None:
            return  # cancelled or superseded
        self._clear_busy()
        self._present(refit=refit)
        self.history_controller.refresh(select=shown.id)
        if self.outputs.player is not None or self.outputs.midi_player is not None:
            self.play()
        if shown.warnings:  # what the request asked for that was ignored, each with what is allowed
            self.request_bar.set_status(" · ".join(shown.warnings), theme.BUSY.name())

    def _compose_failed(self, job: Job, message: str, error: BaseException) -> None:
        if not self.workspace.fail(job):
            return
        self._clear_busy()
        self.request_bar.set_status(message, theme.LISTENING.name())
        if isinstance(error, NothingHeard):  # a soft miss: say so where the eyes are, no dialog
            self.errorShown.emit(message)
            return
        self.show_error("Could not compose", message)

    def show_composition(self, composition: Any, locked: set[int] | frozenset[int] | None = None,
                         refit: bool = True) -> None:
        """Put a Composition on screen with these chords locked (none by default)."""
        self.workspace.show(composition, locked=frozenset(locked or ()))
        self._present(refit=refit)

    def _restored(self, composition: Any) -> None:
        self.workspace.restore(composition)  # with its own locks; wins over a pending composition
        self._clear_busy()
        self._present(refit=True)
        self.request_bar.set_status("Restored from history: Regenerate for a new take on it")

    def _present(self, refit: bool) -> None:
        """Show the workspace's composition: piano roll, mood, summary, request text."""
        self.stop()
        composition = self.workspace.composition
        self.request_bar.request_edit.setText(composition.request_text)
        self.piano_roll.set_content(composition.score, self._spans(), fit=refit)
        self.mood_view.set_mood(composition.mood, self._class_descriptions())
        self.summary.setText(self._summary_text(composition))
        self.export.prepare(composition)
        self._update_transport()
        if self.workspace.busy is None:
            self.request_bar.set_status(self._ready_text())
        self.compositionShown.emit(composition)

    def _spans(self) -> tuple[ChordSpan, ...]:
        composition = self.workspace.composition
        if composition is None:
            return ()
        progression = getattr(composition, "progression", None)
        if progression is None:
            return tuple(ChordSpan(s.start_beats, s.duration_beats, s.name, False)
                         for s in spans_from_markers(composition.score))
        return tuple(ChordSpan(placed.start_beats, placed.duration_beats, placed.chord.name, placed.locked)
                     for placed in progression.chords)

    def _class_descriptions(self) -> dict[str, str]:
        try:
            classes = self.assistant.composer.classes if self.workspace.loading.composer_ready else ()
        except Exception:  # noqa: BLE001 (descriptions are a nicety)
            classes = ()
        return {getattr(c, "name", str(c)): getattr(c, "description", "") for c in classes}

    def _refresh_summary(self) -> None:
        if self.workspace.composition is not None:
            self.summary.setText(self._summary_text(self.workspace.composition))

    def _summary_text(self, composition: Any) -> str:
        progression = composition.progression
        parts = []
        if progression is not None:
            bars = progression.length_beats / max(progression.beats_per_bar, 1)
            parts += [progression.key_name, f"{round(progression.tempo_bpm)} bpm", f"{bars:g} bars"]
        program = (composition.score.programs or {}).get(CHORD_CHANNEL)
        names = self.outputs.instrument_names
        if program is not None and 0 <= program < len(names):
            parts.append(names[program])
        arrangement = getattr(composition, "arrangement", None)
        if arrangement is not None and getattr(arrangement, "pattern", None):
            parts.append(f"{arrangement.pattern} pattern")
        if composition.transcript:
            parts.append("from speech")
        return "   ·   ".join(parts)

    # ------------------------------------------------------------------------------ locks
    def toggle_lock(self, index: int) -> None:
        if self.workspace.composition is None:
            return
        try:
            count = len(self.workspace.toggle_lock(index))
        except InvalidInput:  # not a chord of the progression: nothing to lock
            return
        self.piano_roll.set_spans(self._spans())
        self.statusBar().showMessage(
            f"{count} chord{'s' if count != 1 else ''} locked: Regenerate keeps {'them' if count != 1 else 'it'}"
            if count else "No chords locked", 4000)

    # ------------------------------------------------------------------------------ recording
    def start_recording(self) -> None:
        if self.microphone is None or not self.workspace.loading.speech_ready or self.workspace.recording:
            return
        self.stop()
        self.workspace.recording = True
        self.request_bar.mic_button.recording = True
        self.request_bar.mic_button.set_look("listening", "Listening…")
        self.request_bar.set_status("Listening… release (or click again) when you are done; Esc cancels",
                                    theme.LISTENING.name())
        self.recorder.start_recording(self.microphone)

    def stop_recording(self) -> None:
        if self.workspace.recording:
            self.request_bar.set_status("Finishing the recording…")
            self.recorder.request_stop()

    def _recorded(self, audio: Any) -> None:
        self._end_recording()
        self._begin(ComposeFromSpeechJob(self.assistant, audio, self.transport.overrides(),
                                         self.transport.defaults()), Busy.TRANSCRIBING,
                    "Transcribing what you said…")

    def _recording_cancelled(self) -> None:
        self._end_recording()
        self.request_bar.set_status("Recording cancelled")

    def _recording_failed(self, message: str) -> None:
        self._end_recording()
        self.show_error("The microphone failed", message)

    def _end_recording(self) -> None:
        self.workspace.recording = False
        self.request_bar.mic_button.recording = False
        self.request_bar.meter.reset()
        self._update_microphone()

    def cancel(self) -> None:
        """Esc: cancel a recording, else forget a pending composition, else stop playback."""
        if self.workspace.recording:
            self.recorder.request_cancel()
        elif self.workspace.cancel():
            self._clear_busy()
            self.request_bar.set_status("Cancelled")
        else:
            self.stop()

    def _show_busy(self, text: str) -> None:
        """The workspace's busy state on screen: the button's look, the status line, no Regenerate."""
        self.request_bar.mic_button.set_look(self.workspace.busy.value)
        self.request_bar.set_status(text, theme.BUSY.name())
        self.transport.regenerate_button.setEnabled(False)

    def _clear_busy(self) -> None:
        self._set_idle_look()
        self._update_transport()

    def _set_idle_look(self) -> None:
        button = self.request_bar.mic_button
        if self._mic_unavailable:
            button.set_look("unavailable", self._mic_unavailable)
            button.setEnabled(False)
        elif self.microphone is not None and self.workspace.loading.speech_ready:
            button.set_look("idle")
        else:
            button.set_look("loading", "Loading speech…" if self.microphone is not None else "Starting…")
            button.setEnabled(False)
        self.request_bar.compose_button.setEnabled(True)

    # ------------------------------------------------------------------------------ playback
    def play(self) -> None:
        composition = self.workspace.composition
        if composition is None:
            return
        if self.outputs.play(composition.score) and self.workspace.busy is None:
            self.request_bar.set_status("Playing — click a chord name to lock it, then Regenerate",
                                        theme.PLAYING.name())

    def stop(self) -> None:
        self.outputs.stop()

    def _playback_ended(self) -> None:
        if self.workspace.busy is None and not self.workspace.recording:
            self.request_bar.set_status(self._ready_text())

    def _update_transport(self) -> None:
        transport = self.transport
        has_composition = self.workspace.composition is not None
        has_outputs = bool(self.outputs.outputs())
        transport.play_button.setEnabled(has_composition and has_outputs)
        transport.stop_button.setEnabled(has_composition and has_outputs)
        if not has_outputs:
            transport.play_button.setToolTip("No output: " + (transport.synth.toolTip()
                                             if not transport.synth.isEnabled() else
                                             "turn on the built-in synth or choose a MIDI output"))
        else:
            transport.play_button.setToolTip("Play the progression")
        transport.regenerate_button.setEnabled(self.workspace.can_regenerate)
        transport.export_button.setEnabled(has_composition)
        transport.drag_handle.setEnabled(has_composition)

    # ------------------------------------------------------------------------------ files
    def midi_mime_data(self):
        """The QMimeData of a MIDI drag of the composition on screen (its .mid as a file URL)."""
        return self.export.mime_data(self.workspace.composition)

    def start_midi_drag(self) -> None:
        if self.workspace.composition is not None:
            self.export.start_drag(self.workspace.composition, self, self.piano_roll.canvas.grab())

    def export_dialog(self) -> None:
        self.export.export_dialog(self.workspace.composition, self)

    def export_to(self, path: Path) -> None:
        self.export.export_to(self.workspace.composition, Path(path))

    # ------------------------------------------------------------------------------ history
    def refresh_history(self, select: str | None = None) -> None:
        self.history_controller.refresh(select)

    def restore_from_history(self, record_id: str) -> None:
        self.history_controller.restore(record_id)

    def delete_from_history(self, record_id: str) -> None:
        self.history_controller.delete(record_id)

    # ------------------------------------------------------------------------------ settings dialog
    def open_settings(self) -> None:
        self.request_bar.settings_button.setEnabled(False)
        self.jobs.submit(SettingsChoicesJob())

    def _settings_choices(self, job: SettingsChoicesJob, choices: Any) -> None:
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
            self.jobs.submit(OpenMicrophoneJob(self.devices.microphone, chosen.input_device))

    def _settings_failed(self, job: SettingsChoicesJob, message: str, error: BaseException) -> None:
        self.request_bar.settings_button.setEnabled(True)
        self.show_error("Settings unavailable", message)

    # ------------------------------------------------------------------------------ errors
    def show_error(self, title: str, message: str) -> None:
        self.errorShown.emit(message)
        QMessageBox.critical(self, title, message)

    # ------------------------------------------------------------------------------ keys
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # Push-to-talk: Space anywhere in this window except text fields, Ctrl+Space everywhere
        # (text fields too); hold or tap. Once held, every Space event is the talk key's.
        if event.type() in (QEvent.KeyPress, QEvent.KeyRelease) and event.key() == Qt.Key_Space \
                and isinstance(watched, QWidget) and watched.window() is self:
            held = getattr(self, "_talk_key_held", False)
            with_ctrl = bool(event.modifiers() & Qt.ControlModifier)
            if not held and not with_ctrl and (_focus_takes_space(QApplication.focusWidget())
                                               or _focus_takes_space(watched)):
                return super().eventFilter(watched, event)  # a space typed into the text
            self._talk_key(event.type() == QEvent.KeyPress)
            return True
        return super().eventFilter(watched, event)

    def _talk_key(self, pressed: bool) -> None:
        """The talk key went down or up. Auto-repeat arrives as presses while held, or (mis-flagged
        by X11 on a busy machine) as release+press pairs a few ms apart: a release only counts when
        no press follows within RELEASE_DEBOUNCE_MS, so a recording never ends while the key is held."""
        timer = getattr(self, "_talk_release_timer", None)
        if timer is None:
            timer = self._talk_release_timer = QTimer(self)
            timer.setSingleShot(True)
            timer.setInterval(RELEASE_DEBOUNCE_MS)
            timer.timeout.connect(self._talk_key_released)
        if not pressed:
            if getattr(self, "_talk_key_held", False):
                timer.start()  # (re)starts: ends the hold unless a press follows soon
            return
        if timer.isActive():  # release+press pair: the key never came up
            timer.stop()
            return
        if getattr(self, "_talk_key_held", False):  # auto-repeat, flagged or not
            return
        self._talk_key_held = True
        if self.request_bar.mic_button.isEnabled():
            self.request_bar.mic_button.press()

    def _talk_key_released(self) -> None:
        self._talk_key_held = False
        if self.request_bar.mic_button.isEnabled():
            self.request_bar.mic_button.release()

    # ------------------------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        geometry = self.settings.geometry
        if geometry:
            self.restoreGeometry(geometry)
        elif self.screen() is not None:  # first start: the size hint within the screen (Qt alone opens at 2/3 of it)
            room = self.screen().availableGeometry().size() - QSize(40, 60)
            self.resize(self.sizeHint().boundedTo(room).expandedTo(self.minimumSizeHint()))
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
        self.outputs.close()
        for thread in self._threads:
            thread.stop()
        # After the recorder's thread ended (its stop() ran): no stream of this window stays open to
        # meet a later PortAudio rescan or exit.
        self._close_microphone()
