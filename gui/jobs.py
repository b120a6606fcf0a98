"""The window's background work as typed jobs, as Buzz's task objects are: each job is a frozen
dataclass holding what it needs, runs itself on a worker thread (`run(progress)`) and names the
worker it belongs to. `JobBoard` submits jobs and hands each result or failure to the handlers
registered for the job's type, so every kind of work has one handler and no job is named by a
string.

Jobs compare by identity (eq=False): two requests for the same text are two jobs, and only the
pending one's result is shown (assistant.workspace).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

import numpy as np
from PySide6.QtCore import QObject, Slot

from assistant.mood import MusicalSettings
from models.progress import Progress


PIPELINE = "pipeline"  # models and composing (they share the Assistant's models)
IO = "io"  # files and devices (an export never waits for a model load)


@dataclass(frozen=True, eq=False)
class Job:
    """One piece of background work."""

    worker: ClassVar[str] = IO  # which worker thread runs it: PIPELINE or IO

    def run(self, progress: Progress) -> Any:
        raise NotImplementedError


# ---------------------------------------------------------------------------------- models
@dataclass(frozen=True, eq=False)
class LoadSpeechJob(Job):
    """Load the speech model (first: the microphone is usable while the composer loads)."""

    worker: ClassVar[str] = PIPELINE
    assistant: Any  # assistant.pipeline.Assistant

    def run(self, progress: Progress) -> None:
        self.assistant.load(progress, composer=False)


@dataclass(frozen=True, eq=False)
class LoadComposerJob(Job):
    """Load the composer and the language models."""

    worker: ClassVar[str] = PIPELINE
    assistant: Any  # assistant.pipeline.Assistant

    def run(self, progress: Progress) -> None:
        self.assistant.load(progress, speech=False)


# ---------------------------------------------------------------------------------- composing
@dataclass(frozen=True, eq=False)
class ComposeJob(Job):
    """Compose from typed text; the result is a Composition."""

    worker: ClassVar[str] = PIPELINE
    assistant: Any  # assistant.pipeline.Assistant
    text: str  # the request as typed
    overrides: MusicalSettings | None  # the transport's tempo / key / bars choices
    defaults: MusicalSettings | None = None  # remembered choices (the instrument): below the request's words

    def run(self, progress: Progress) -> Any:
        return self.assistant.compose_from_text(self.text, overrides=self.overrides, progress=progress,
                                                defaults=self.defaults)


@dataclass(frozen=True, eq=False)
class ComposeFromSpeechJob(Job):
    """Transcribe a recorded utterance and compose from it; the result is a Composition."""

    worker: ClassVar[str] = PIPELINE
    assistant: Any  # assistant.pipeline.Assistant
    audio: np.ndarray  # float32 mono 16 kHz
    overrides: MusicalSettings | None  # the transport's tempo / key / bars choices
    defaults: MusicalSettings | None = None  # remembered choices (the instrument): below the request's words

    def run(self, progress: Progress) -> Any:
        return self.assistant.compose_from_audio(self.audio, overrides=self.overrides, progress=progress,
                                                 defaults=self.defaults)


@dataclass(frozen=True, eq=False)
class RegenerateJob(Job):
    """A new take of a composition keeping its locked chords; the result is a Composition."""

    worker: ClassVar[str] = PIPELINE
    assistant: Any  # assistant.pipeline.Assistant
    composition: Any  # the assistant.pipeline.Composition on screen
    locked: frozenset[int]  # chord indices kept as they are
    overrides: MusicalSettings | None  # the transport's tempo / key / bars choices

    def run(self, progress: Progress) -> Any:
        return self.assistant.regenerate(self.composition, locked=self.locked, overrides=self.overrides,
                                         progress=progress)


@dataclass(frozen=True, eq=False)
class RecomposeJob(Job):
    """The composition's request composed again after a setting was corrected (a chip): its transcript,
    and the locks the new settings allow, kept; the result is a Composition."""

    worker: ClassVar[str] = PIPELINE
    assistant: Any  # assistant.pipeline.Assistant
    composition: Any  # the assistant.pipeline.Composition on screen
    locked: frozenset[int]  # its locked chord indices
    overrides: MusicalSettings | None  # the transport's fields, the corrected one included
    defaults: MusicalSettings | None = None  # remembered choices (the instrument): below the request's words

    def run(self, progress: Progress) -> Any:
        return self.assistant.recompose(self.composition, locked=self.locked, overrides=self.overrides,
                                        defaults=self.defaults, progress=progress)


COMPOSING_JOBS = (ComposeJob, ComposeFromSpeechJob, RegenerateJob, RecomposeJob)  # their result is a Composition


# ---------------------------------------------------------------------------------- devices
@dataclass(frozen=True, eq=False)
class OpenPlayerJob(Job):
    """Open the built-in synth (a FluidSynthPlayer-like object)."""

    open_player: Callable[[Callable[[float], None], Callable[[], None]], Any]  # Devices.player
    on_position: Callable[[float], None]  # called on the player's thread with the playhead in beats
    on_finished: Callable[[], None]  # called on the player's thread at the end

    def run(self, progress: Progress) -> Any:
        return self.open_player(self.on_position, self.on_finished)


@dataclass(frozen=True, eq=False)
class OpenMicrophoneJob(Job):
    """Open a microphone (a Microphone-like object)."""

    open_microphone: Callable[[str | None], Any]  # Devices.microphone
    device_name: str | None  # the input device chosen in the settings, None for the default

    def run(self, progress: Progress) -> Any:
        return self.open_microphone(self.device_name)


@dataclass(frozen=True, eq=False)
class ListMidiOutputsJob(Job):
    """The names of the MIDI output ports."""

    list_outputs: Callable[[], Any]  # Devices.midi_outputs

    def run(self, progress: Progress) -> list[str]:
        return list(self.list_outputs())


@dataclass(frozen=True, eq=False)
class OpenMidiPortJob(Job):
    """Open a MIDI output port (a MidiPortPlayer-like object)."""

    open_port: Callable[..., Any]  # Devices.midi_port
    port: str | None  # the port's name, None for a new virtual port "moodchords"
    on_position: Callable[[float], None]  # as OpenPlayerJob's
    on_finished: Callable[[], None]

    def run(self, progress: Progress) -> Any:
        return self.open_port(self.port, self.on_position, self.on_finished)


@dataclass(frozen=True, eq=False)
class ListInstrumentsJob(Job):
    """The 128 General MIDI instrument names."""

    instrument_names: Callable[[], Any]  # Devices.instrument_names

    def run(self, progress: Progress) -> list[str]:
        return list(self.instrument_names())


# ---------------------------------------------------------------------------------- files
@dataclass(frozen=True, eq=False)
class ExportJob(Job):
    """Write a composition's MIDI to a file the user chose; the result is its path."""

    assistant: Any  # assistant.pipeline.Assistant (export_midi writes atomically)
    composition: Any  # assistant.pipeline.Composition
    path: Path  # where

    def run(self, progress: Progress) -> Path:
        return Path(self.assistant.export_midi(self.composition, self.path))


@dataclass(frozen=True, eq=False)
class DragFileJob(Job):
    """Make the file a drag carries ready in the background (gui.export_drag); the result is its path."""

    make_file: Callable[[Any], Path]  # composition -> path of the drag file
    composition: Any  # assistant.pipeline.Composition

    def run(self, progress: Progress) -> Path:
        return self.make_file(self.composition)


@dataclass(frozen=True, eq=False)
class DeleteHistoryJob(Job):
    """Delete a composition from the history."""

    history: Any  # assistant.history.HistoryStore
    record_id: str  # the composition's id

    def run(self, progress: Progress) -> None:
        self.history.delete(self.record_id)


@dataclass(frozen=True, eq=False)
class SettingsChoicesJob(Job):
    """What the settings dialog offers (input devices, installed speech models)."""

    def run(self, progress: Progress) -> Any:
        from gui.settings_dialog import gather_choices  # noqa: PLC0415 (probes devices: off the UI thread)

        return gather_choices()


# ---------------------------------------------------------------------------------- dispatch
Finished = Callable[[Any, Any], None]  # (job, result)
Failed = Callable[[Any, str, BaseException], None]  # (job, one-line message, the exception)
Progressed = Callable[[Any, str, float], None]  # (job, message, fraction 0..1)


@dataclass(frozen=True)
class Handlers:
    """What the window does with one type of job."""

    finished: Finished | None = None  # with its result
    failed: Failed | None = None  # with its error; None: the board's fallback (an error dialog)
    progress: Progressed | None = None  # with its progress reports; None: ignored


class JobBoard(QObject):
    """Submits jobs to their workers and dispatches results on the job's type (and its bases).

    A QObject living in the UI thread: the workers' signals reach its slots queued, so every
    handler runs on the UI thread."""

    def __init__(self, workers: Mapping[str, Any], unhandled_failure: Failed, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._workers = dict(workers)  # PIPELINE / IO -> gui.workers.JobWorker
        self._unhandled_failure = unhandled_failure
        self._handlers: dict[type, Handlers] = {}
        for worker in self._workers.values():
            worker.progress.connect(self._progress)
            worker.finished.connect(self._finished)
            worker.failed.connect(self._failed)

    def on(self, job_types: type | tuple[type, ...], finished: Finished | None = None, failed: Failed | None = None,
           progress: Progressed | None = None) -> None:
        """Register the handlers for a job type (or several)."""
        for job_type in job_types if isinstance(job_types, tuple) else (job_types,):
            if job_type in self._handlers:
                raise ValueError(f"{job_type.__name__} already has handlers; one handler per job type")
            self._handlers[job_type] = Handlers(finished, failed, progress)

    def submit(self, job: Job) -> Job:
        """Run the job on its worker; returns it (the token for the workspace)."""
        self._workers[job.worker].submit(job)
        return job

    def handlers(self, job: Job) -> Handlers:
        for job_type in type(job).__mro__:
            if job_type in self._handlers:
                return self._handlers[job_type]
        return Handlers()

    @Slot(object, str, float)
    def _progress(self, job: Job, message: str, fraction: float) -> None:
        handler = self.handlers(job).progress
        if handler is not None:
            handler(job, message, fraction)

    @Slot(object, object)
    def _finished(self, job: Job, result: Any) -> None:
        handler = self.handlers(job).finished
        if handler is not None:
            handler(job, result)

    @Slot(object, str, object)
    def _failed(self, job: Job, message: str, error: BaseException) -> None:
        (self.handlers(job).failed or self._unhandled_failure)(job, message, error)
