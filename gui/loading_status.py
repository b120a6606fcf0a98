"""What the window says while the models load: the status bar's label and progress bar (speech
first, 0-30 %, then the composer, 30-100 %), and the request bar's line at each step. The state
itself (what is loaded, what failed) is the workspace's (assistant.workspace)."""
from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from assistant.workspace import Workspace
from gui import theme
from gui.jobs import LoadComposerJob, LoadSpeechJob
from gui.request_bar import RequestBar

HIDE_AFTER_MS = 2500  # "Models ready" stays this long
SPEECH_SHARE = 30  # percent of the bar for the speech model; the composer takes the rest

READY_TO_SPEAK = "Ready: hold Space (or the button) and say a mood, or type it and press Enter"
READY_TO_TYPE = "Ready: type a mood and press Enter"


def ready_text(can_listen: bool) -> str:
    """The request bar's line when nothing is going on."""
    return READY_TO_SPEAK if can_listen else READY_TO_TYPE


class LoadingStatus:
    """Shows model loading in the status bar and the request bar."""

    def __init__(self, status_bar: QStatusBar, request_bar: RequestBar, workspace: Workspace) -> None:
        self.request_bar = request_bar
        self.workspace = workspace
        self.label = QLabel("Loading models…")
        self.progress_bar = QProgressBar()
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setFixedWidth(220)
        self.progress_bar.setTextVisible(False)
        status_bar.addPermanentWidget(self.label)
        status_bar.addPermanentWidget(self.progress_bar)

    def started(self) -> None:
        self.progress_bar.setValue(0)
        self.label.setText("Loading models…")
        self.request_bar.set_status("Loading the composer…  (you can type your request already)")

    def progress(self, job: LoadSpeechJob | LoadComposerJob, message: str, fraction: float) -> None:
        if self.workspace.loading.composer_error is not None:
            return
        base, span = (0, SPEECH_SHARE) if isinstance(job, LoadSpeechJob) else (SPEECH_SHARE, 100 - SPEECH_SHARE)
        self.progress_bar.setValue(int(base + span * fraction))
        if fraction < 1.0:
            self.label.setText(message + "…")

    def speech_loaded(self) -> None:
        loading = self.workspace.loading
        if not loading.composer_ready and self.workspace.busy is None:
            self.request_bar.set_status("Ready to listen: hold Space (or the button) and say a mood; "
                                        "the composer is still loading")

    def speech_failed(self, message: str) -> None:
        self.label.setText("Speech model unavailable")
        self.label.setToolTip(message)
        if self.workspace.loading.composer_ready:
            self.request_bar.set_status("Ready: type a mood and press Enter (speech is unavailable)")

    def composer_loaded(self, can_listen: bool) -> None:
        if self.workspace.busy is None:
            self.request_bar.set_status(ready_text(can_listen) if self.workspace.loading.speech_ready else
                                        READY_TO_TYPE)

    def composer_failed(self, message: str) -> None:
        self.progress_bar.setValue(0)
        self.label.setText("Composer unavailable")
        self.label.setToolTip(message)
        self.request_bar.set_status(f"The composer could not be loaded: {message}", theme.LISTENING.name())

    def finished(self) -> None:
        """Both loads ended and the composer works: say so, then make room."""
        self.progress_bar.setValue(100)
        if self.workspace.loading.speech_ready:
            self.label.setText("Models ready")
        QTimer.singleShot(HIDE_AFTER_MS, self.label, self._hide)  # the label as context: no call once it is gone

    def _hide(self) -> None:
        self.progress_bar.hide()
        self.label.setText("")
