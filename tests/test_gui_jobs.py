"""Typed jobs (gui.jobs): each runs on its worker thread, and its result, failure and progress reach
the handlers registered for its type, on the UI thread (real QThreads, offscreen Qt)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication, QMessageBox

from assistant.errors import InvalidInput
from assistant.pipeline import Assistant, NothingHeard
from assistant.workspace import Busy
from gui.jobs import IO, PIPELINE, ComposeJob, Job, JobBoard
from gui.main_window import MainWindow
from gui.workers import JobWorker, WorkerThread
from tests.gui_support import DialogRecorder, hand_made_composition, temp_settings


@dataclass(frozen=True, eq=False)
class Square(Job):
    worker: ClassVar[str] = PIPELINE
    number: int

    def run(self, progress):
        progress("Squaring", 0.5)
        return self.number * self.number, QThread.currentThread().objectName()


@dataclass(frozen=True, eq=False)
class Refuse(Job):
    reason: str

    def run(self, progress):
        raise InvalidInput(self.reason)


@dataclass(frozen=True, eq=False)
class RefuseLoudly(Refuse):
    """A subclass: handled by Refuse's handlers (dispatch walks the job type's bases)."""


@dataclass(frozen=True, eq=False)
class Unhandled(Job):
    def run(self, progress):
        raise OSError("disk gone")


@pytest.fixture
def board(qtbot):
    workers = {PIPELINE: JobWorker(), IO: JobWorker()}
    threads = [WorkerThread(workers[PIPELINE], "test-pipeline"), WorkerThread(workers[IO], "test-io")]
    unhandled = []
    board = JobBoard(workers, unhandled_failure=lambda job, message, error: unhandled.append((job, message)))
    board.unhandled = unhandled
    yield board
    for thread in threads:
        thread.stop()


def test_results_failures_and_progress_go_to_the_handlers_of_the_job_type(board, qtbot):
    ui_thread = QApplication.instance().thread()
    results, failures, progress, threads = [], [], [], []
    def squared(job, result):
        results.append((job, result))
        threads.append(QThread.currentThread())

    board.on(Square, finished=squared, progress=lambda job, message, fraction: progress.append((job, message, fraction)))
    board.on(Refuse, failed=lambda job, message, error: failures.append((job, message, type(error))))
    square = board.submit(Square(7))
    refused = board.submit(Refuse("tempo 0 is not allowed"))
    loud = board.submit(RefuseLoudly("key H is not allowed"))
    lost = board.submit(Unhandled())
    qtbot.waitUntil(lambda: bool(results) and len(failures) == 2 and bool(board.unhandled), timeout=5000)
    assert results == [(square, (49, "test-pipeline"))]  # ran on the pipeline worker
    assert progress == [(square, "Squaring", 0.5)]
    assert failures == [(refused, "tempo 0 is not allowed", InvalidInput), (loud, "key H is not allowed", InvalidInput)]
    assert board.unhandled == [(lost, "disk gone")]
    assert threads == [ui_thread]  # handlers run on the UI thread, never the worker's


def test_jobs_are_distinct_even_with_equal_fields(board):
    first, second = Square(3), Square(3)
    assert first != second and len({first, second}) == 2  # the workspace tells requests apart by identity


def test_one_handler_per_job_type(board):
    board.on(Square, finished=lambda job, result: None)
    with pytest.raises(ValueError, match="Square already has handlers"):
        board.on(Square, finished=lambda job, result: None)


class SilentRecording(NothingHeard):
    """A kind of NothingHeard under another name: recognised by its class, not its name."""


@dataclass(frozen=True, eq=False)
class HearNothing(ComposeJob):
    """A spoken request in which speech recognition found no words."""

    def run(self, progress):
        raise SilentRecording("silence")


@dataclass(frozen=True, eq=False)
class FailToCompose(ComposeJob):
    def run(self, progress):
        raise InvalidInput("bars 0 is not allowed; use 1..64")


def test_the_window_tells_nothing_heard_from_other_errors_by_class(qtbot, tmp_path, monkeypatch):
    recorder = DialogRecorder()
    monkeypatch.setattr(QMessageBox, "critical", recorder)
    window = MainWindow(Assistant(output_dir=tmp_path / "out"), settings=temp_settings(tmp_path),
                        drag_folder=tmp_path / "drag", autoload=False)
    qtbot.addWidget(window)
    window.show_composition(hand_made_composition())
    shown = []
    window.errorShown.connect(shown.append)

    window._begin(HearNothing(window.assistant, "", None), Busy.TRANSCRIBING, "Transcribing what you said…")
    qtbot.waitUntil(lambda: window.workspace.pending is None, timeout=5000)
    assert recorder.shown == []  # a soft miss: no dialog
    assert window.request_bar.status.text().startswith("I didn't catch that") and shown
    assert window.composition is not None  # what was on screen stays

    window._begin(FailToCompose(window.assistant, "calm", None), Busy.COMPOSING, "Reading the mood…")
    qtbot.waitUntil(lambda: bool(recorder.shown), timeout=5000)
    assert recorder.shown == [("Could not compose", "bars 0 is not allowed; use 1..64")]
    window.shutdown()
