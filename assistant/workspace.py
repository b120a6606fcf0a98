"""What the window is working on, without Qt: the composition on screen, its locked chords, and
whether the models are ready and a composition is on its way (busy / ready).

The locks have one home: the `locked` flag of the composition's chords (PlacedChord.locked), the
same flag the history stores. Toggling a lock replaces the composition by a copy with that flag
changed (same id, score and MIDI file: a lock changes what Regenerate keeps, not the music).

A composing request is a token (the window's job object) that the workspace remembers as
pending; a result or failure counts only for the pending token, so a cancelled or superseded
request is dropped when it finishes.
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.pipeline import Composition


class Busy(str, enum.Enum):
    """What a pending request is doing (the microphone button's look has the same names)."""

    TRANSCRIBING = "transcribing"
    COMPOSING = "composing"


@dataclass(frozen=True)
class Loading:
    """Where model loading stands: speech loads first, then the composer (the language models)."""

    speech_ready: bool = False  # the speech model is loaded
    composer_ready: bool = False  # the composer and language models are loaded
    speech_error: str | None = None  # why the speech model could not be loaded
    composer_error: str | None = None  # why the composer could not be loaded
    ended: int = 0  # loads that have ended, either way (0..2)

    @property
    def done(self) -> bool:
        """Both loads have ended and the composer works (speech may have failed)."""
        return self.ended >= 2 and self.composer_error is None


class Workspace:
    """The composition on screen, its locks, and the busy / ready state (see the module docstring)."""

    def __init__(self) -> None:
        self.composition: Composition | None = None  # on screen, with its locks
        self.loading = Loading()
        self.busy: Busy | None = None  # set while a request is pending
        self.recording = False  # the microphone is recording an utterance
        self._pending: object | None = None  # the request whose result is wanted
        self._pending_keeps_locks = False  # the pending request is a new take of the composition on screen

    # ------------------------------------------------------------------ the composition and its locks
    @property
    def locked(self) -> frozenset[int]:
        """Indices of the locked chords of the composition on screen."""
        progression = self.composition.progression if self.composition is not None else None
        return progression.locked_indices if progression is not None else frozenset()

    def show(self, composition: Composition, locked: frozenset[int] | set[int] | None = None) -> Composition:
        """Put a composition on screen; `locked` replaces its own locks (indices past its last
        chord are dropped; None keeps its own). Returns the composition as shown."""
        progression = composition.progression
        if locked is not None and progression is not None:
            wanted = frozenset(i for i in locked if 0 <= i < len(progression.chords))
            if wanted != progression.locked_indices:
                composition = dataclasses.replace(composition, progression=progression.with_locked(wanted))
        self.composition = composition
        return composition

    def toggle_lock(self, index: int) -> frozenset[int]:
        """Lock the chord at `index`, or unlock it; returns the locks. InvalidInput for an index
        outside the progression."""
        if self.composition is None or self.composition.progression is None:
            return frozenset()
        locked = set(self.locked)
        locked.symmetric_difference_update({index})
        self.composition = dataclasses.replace(
            self.composition, progression=self.composition.progression.with_locked(locked))
        return self.locked

    def same_shape(self, composition: Composition) -> bool:
        """The composition is as long as the one on screen (the piano roll keeps its zoom)."""
        return self.composition is not None and \
            self.composition.score.length_beats == composition.score.length_beats

    # ------------------------------------------------------------------ requests
    @property
    def pending(self) -> object | None:
        """The request whose result is wanted, or None."""
        return self._pending

    def begin(self, request: object, busy: Busy, keeps_locks: bool = False) -> None:
        """A request was sent: its result will replace the composition on screen (with the locks
        on screen when `keeps_locks`, a new take; unlocked otherwise, a new request)."""
        self._pending = request
        self._pending_keeps_locks = keeps_locks
        self.busy = busy

    def progress(self, request: object, message: str) -> Busy | None:
        """The busy state a progress message of a request means (None: not pending, or no change)."""
        if request is not self._pending:
            return None
        lowered = message.lower()
        if lowered.startswith("transcrib"):
            self.busy = Busy.TRANSCRIBING
        elif lowered.startswith(("reading", "composing")):
            self.busy = Busy.COMPOSING
        else:
            return None
        return self.busy

    def finish(self, request: object, composition: Composition) -> Composition | None:
        """A request's result: the composition to show (locks applied), or None when the request
        was cancelled or superseded."""
        if request is not self._pending:
            return None
        locked = self.locked if self._pending_keeps_locks else frozenset()
        self._end_request()
        return self.show(composition, locked)

    def fail(self, request: object) -> bool:
        """A request failed: True when it was the pending one (the failure is to be shown)."""
        if request is not self._pending:
            return False
        self._end_request()
        return True

    def cancel(self) -> bool:
        """Forget the pending request (its result will be dropped); False when there was none."""
        if self._pending is None:
            return False
        self._end_request()
        return True

    def restore(self, composition: Composition) -> Composition:
        """A composition from the history, with its own locks; it wins over a pending request."""
        self._end_request()
        return self.show(composition)

    def _end_request(self) -> None:
        self._pending = None
        self._pending_keeps_locks = False
        self.busy = None

    # ------------------------------------------------------------------ readiness
    def speech_loaded(self) -> None:
        self.loading = dataclasses.replace(self.loading, speech_ready=True, ended=self.loading.ended + 1)

    def speech_failed(self, message: str) -> None:
        self.loading = dataclasses.replace(self.loading, speech_error=message, ended=self.loading.ended + 1)

    def composer_loaded(self) -> None:
        self.loading = dataclasses.replace(self.loading, composer_ready=True, ended=self.loading.ended + 1)

    def composer_failed(self, message: str) -> None:
        self.loading = dataclasses.replace(self.loading, composer_error=message, ended=self.loading.ended + 1)

    @property
    def can_regenerate(self) -> bool:
        """A new take is possible: a composition is on screen, the composer is ready, nothing pending."""
        return self.composition is not None and self.loading.composer_ready and self.busy is None

    def regenerate_locks(self) -> frozenset[int]:
        """The locks a new take of the composition on screen keeps."""
        return self.locked
