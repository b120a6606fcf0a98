"""Background work for the window (Buzz style): QObjects moved to their own QThread, talking to
the UI thread only through signals. Nothing here knows about music; jobs are the typed objects
of gui.jobs (each runs itself with `job.run(progress)`).

- `JobWorker` runs submitted jobs one at a time in its thread: model loading and composing on
  one, file writing and device probing on another (so an export never waits behind a model load).
- `RecorderWorker` records one utterance from a Microphone; stop / cancel are thread-safe flags
  because the recording call blocks its thread.
- `PlaybackBridge` turns a player's callbacks (called on the player's own thread) into signals,
  which Qt queues to the UI thread.
"""
from __future__ import annotations

import threading
import traceback
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from assistant.errors import USER_ERRORS


def user_message(error: BaseException) -> str:
    """One line for an error dialog: the message of a user error, else the error named plainly."""
    if isinstance(error, USER_ERRORS):
        return str(error)
    if isinstance(error, PermissionError):
        return f"Permission denied: {error.filename or error}. Choose a folder you can write to."
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename}" if error.filename else str(error)
    return f"Unexpected error ({type(error).__name__}): {error}"


class JobWorker(QObject):
    """Runs jobs (gui.jobs.Job: `job.run(progress)`) in its thread, in the order submitted."""

    started = Signal(object)  # the job
    progress = Signal(object, str, float)  # the job, message, fraction 0..1
    finished = Signal(object, object)  # the job, its result
    failed = Signal(object, str, object)  # the job, one-line message, the exception
    _submitted = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._submitted.connect(self._run)  # queued: the receiver lives in the worker thread

    def submit(self, job: Any) -> None:
        """Queue a job; safe to call from the UI thread."""
        self._submitted.emit(job)

    @Slot(object)
    def _run(self, job: Any) -> None:
        self.started.emit(job)
        try:
            result = job.run(lambda message, fraction: self.progress.emit(job, str(message), float(fraction)))
        except Exception as error:  # noqa: BLE001 (the window must never crash on a job)
            if not isinstance(error, USER_ERRORS + (OSError,)):
                traceback.print_exc()
            self.failed.emit(job, user_message(error), error)
            return
        self.finished.emit(job, result)


class RecorderWorker(QObject):
    """Records one utterance (push-to-talk). The recording runs in the worker thread;
    `request_stop` and `request_cancel` may be called from any thread."""

    level = Signal(float)  # RMS level 0..1 while recording
    recorded = Signal(object)  # float32 mono 16 kHz numpy array
    cancelled = Signal()
    failed = Signal(str)
    _start = Signal(object, float)

    def __init__(self) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._cancel = threading.Event()
        self._start.connect(self._record)

    def start_recording(self, microphone: Any, max_seconds: float = 30.0) -> None:
        self._stop.clear()
        self._cancel.clear()
        self._start.emit(microphone, max_seconds)

    def request_stop(self) -> None:
        """End the recording and keep what was heard."""
        self._stop.set()

    def request_cancel(self) -> None:
        """End the recording and throw it away."""
        self._cancel.set()
        self._stop.set()

    @Slot(object, float)
    def _record(self, microphone: Any, max_seconds: float) -> None:
        # Push-to-talk on the Microphone (start ... stop): the window decides when it ends
        # (button released, clicked again, Space); max_seconds is a safety net.
        try:
            microphone.start(on_level=self.level.emit)
        except Exception as error:  # noqa: BLE001
            self.failed.emit(user_message(error))
            return
        self._stop.wait(max_seconds)
        try:
            audio = microphone.stop()
        except Exception as error:  # noqa: BLE001
            self.failed.emit(user_message(error))
            return
        if self._cancel.is_set():
            self.cancelled.emit()
        else:
            self.recorded.emit(audio)


class PlaybackBridge(QObject):
    """Pass `on_position` / `on_finished` to a player; connect to the signals."""

    position = Signal(float)  # beats from the start of the score
    finished = Signal()

    def on_position(self, beats: float) -> None:
        self.position.emit(float(beats))

    def on_finished(self) -> None:
        self.finished.emit()


class WorkerThread:
    """A QThread that owns one worker object; `stop()` ends it cleanly (call on window close)."""

    def __init__(self, worker: QObject, name: str) -> None:
        self.worker = worker
        self.thread = QThread()
        self.thread.setObjectName(name)
        worker.moveToThread(self.thread)
        self.thread.start()

    def stop(self, timeout_ms: int = 10000) -> bool:
        """Ask the thread to end after its current job; False if that job is still running."""
        self.thread.quit()
        if self.thread.wait(timeout_ms):
            return True
        # A model load cannot be interrupted; never destroy a running QThread (Qt aborts), keep it.
        _STILL_RUNNING.append(self)
        return False


_STILL_RUNNING: list[WorkerThread] = []


def threads_still_running() -> bool:
    """True when a window closed while one of its jobs (a model load) was still running."""
    return any(worker.thread.isRunning() for worker in _STILL_RUNNING)
