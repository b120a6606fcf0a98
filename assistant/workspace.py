"""What the window is working on, without Qt: the composition on screen, its locked chords, and
whether the models are ready and a composition is on its way (busy / ready).

The locks have one home: the `locked` flag of the composition's chords (PlacedChord.locked), the
same flag the history stores. Toggling a lock replaces the composition by a copy with that flag
changed (same id, score and MIDI file: a lock changes what Regenerate keeps, not the music).

A composing request is a token (the window's job object) that the workspace remembers as
pending; a result or failure counts only for the pending token, so a cancelled or superseded
request is dropped when it finishes.

Where each setting of the composition on screen came from (issue 16): `shown_settings` turns the
pipeline's sources into the window's three words, "you" (a field set now: beats the request),
"request" (the request's words: beat a remembered default and the mood) and "auto" (the mood, or
a remembered default); `setting_choices` lists the alternatives a chip offers (sound-alike keys
first, since speech hears "in E minor" as "in a minor").
"""
from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.general_midi import describe_program
from assistant.mood import LOOP_BARS, METRES, form_text
from assistant.music import CONVENTIONAL_KEYS

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
        # where the pending request's result takes its locks from: "none" (a new request), "screen" (a new
        # take of the composition on screen) or "result" (a correction: the pipeline kept those it could)
        self._pending_locks = "none"

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

    def begin(self, request: object, busy: Busy, keeps_locks: bool = False, own_locks: bool = False) -> None:
        """A request was sent: its result will replace the composition on screen (with the locks
        on screen when `keeps_locks`, a new take; with the result's own locks when `own_locks`, a
        corrected setting, where the pipeline kept the locks the new settings allow; unlocked
        otherwise, a new request)."""
        self._pending = request
        self._pending_locks = "result" if own_locks else "screen" if keeps_locks else "none"
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
        locked = {"result": None, "screen": self.locked, "none": frozenset()}[self._pending_locks]
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
        self._pending_locks = "none"
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


# ---------------------------------------------------------------------------------------------
# Where each setting came from, and what a chip offers instead

YOU, REQUEST, AUTO = "you", "request", "auto"
#: Composition.sources' words (the CLI's) -> the window's. A remembered default sits below the
#: request's words, with the mood: it shows as "auto".
WINDOW_SOURCES = {"flag": YOU, "request": REQUEST, "default": AUTO, "mood": AUTO}
#: The chips, in order; "key" shows the key and the mode together ("E minor").
CHIP_SETTINGS = ("key", "tempo", "bars", "metre", "form", "instrument", "intensity")


@dataclass(frozen=True)
class ShownSetting:
    """One effective setting of the composition on screen, as its chip shows it."""

    name: str  # one of CHIP_SETTINGS
    text: str  # the value as shown: "E minor", "120 bpm", "8 bars", "6/8", "Loop of 2 bars", "Acoustic Grand Piano"
    source: str  # YOU, REQUEST or AUTO
    value: Any  # the value in the form SettingChoice.value uses (key: (tonic, mode), tempo: bpm, ...)
    remembered: bool = False  # AUTO because of a remembered default (the window's last instrument)


@dataclass(frozen=True)
class SettingChoice:
    """One alternative a chip's menu offers; choosing it sets that field ("you") and recomposes."""

    name: str  # one of CHIP_SETTINGS
    text: str  # the menu item: "A minor", "100 bpm"
    #: key: (tonic name, "major"|"minor"); tempo: bpm (float); bars: int; metre: "3/4"; form:
    #: ("through", None) or ("loop", 2|4); instrument: MIDI program 0..127; intensity: 0..1
    value: Any


def _window_source(composition: Composition, *names: str) -> tuple[str, bool]:
    """The strongest window source among these pipeline names: you > request > auto."""
    sources = [composition.sources.get(name, "mood") for name in names]
    for pipeline_source, shown in (("flag", YOU), ("request", REQUEST)):
        if pipeline_source in sources:
            return shown, False
    return AUTO, "default" in sources


def shown_settings(composition: Composition) -> tuple[ShownSetting, ...]:
    """Each of CHIP_SETTINGS as composed, with its source in the window's words."""
    progression = composition.progression
    program = composition.arrangement.program
    bars = progression.length_beats / max(progression.beats_per_bar, 1)
    loop_bars = composition.settings.loop_bars if composition.form == "loop" else None
    values = {
        "key": (progression.key_name, (progression.key_name.split()[0], progression.mode)),
        "tempo": (f"{round(progression.tempo_bpm)} bpm", float(round(progression.tempo_bpm))),
        "bars": (f"{bars:g} bars", int(round(bars))),
        "metre": ("{}/{}".format(*progression.time_signature), "{}/{}".format(*progression.time_signature)),
        "form": (form_text(composition.form, loop_bars), (composition.form, loop_bars or (4 if composition.form ==
                                                                                             "loop" else None))),
        "instrument": (describe_program(program), program),
        "intensity": (f"intensity {composition.intensity:.2f}", float(composition.intensity)),
    }
    shown = []
    for name in CHIP_SETTINGS:
        source, remembered = _window_source(composition, *(("key", "mode") if name == "key" else (name,)))
        text, value = values[name]
        shown.append(ShownSetting(name, text, source, value, remembered))
    return tuple(shown)


#: Letter names speech recognisers confuse: "in E" is heard as "in a", and B, C, D, E, G rhyme; the
#: likeliest said letter first (bench/spoken_keys.py, tiny.en: a said G is heard as D most often, a said
#: D as B). An accidental stays with its letter: a heard "D sharp minor" offers "G sharp minor" first.
SOUND_ALIKE_TONICS = {"A": ("E",), "E": ("A", "B", "D", "G", "C"), "B": ("D", "E", "G"), "C": ("G", "D", "E"),
                      "D": ("G", "B", "E"), "G": ("D", "B", "E", "C")}
_KEY_NAMES = {(name.split()[0], mode): name for _pc, mode, name in CONVENTIONAL_KEYS}
_KEY_BY_PITCH = {(pc, mode): name for pc, mode, name in reversed(CONVENTIONAL_KEYS)}  # the first name of a key
COMMON_PROGRAMS = (0, 4, 24, 48, 19, 46, 73, 89)  # piano, e-piano, guitar, strings, organ, harp, flute, warm pad
BARS_CHOICES = (4, 8, 12, 16, 32)
INTENSITY_CHOICES = (0.25, 0.5, 0.75, 1.0)


def _key_choice(tonic: str, mode: str) -> SettingChoice | None:
    name = _KEY_NAMES.get((tonic, mode))
    return None if name is None else SettingChoice("key", name, (tonic, mode))


KEY_CHOICES_FIRST = 7  # the likeliest keys a key chip's menu shows first (key_choices' order); the rest under "All keys"


def key_choices(tonic: str, mode: str) -> tuple[SettingChoice, ...]:
    """Alternatives to a key: the sound-alike tonics in the same mode, the other mode on the same
    tonic, the relative key; then every other key (a chip's "all keys" list)."""
    pitch = next((pc for pc, m, name in CONVENTIONAL_KEYS if name == f"{tonic} {mode}"), None)
    other = "minor" if mode == "major" else "major"
    likely = [_key_choice(alike + tonic[1:], mode) for alike in SOUND_ALIKE_TONICS.get(tonic[:1], ())]
    likely.append(_key_choice(tonic, other))
    if pitch is not None:
        relative = _KEY_BY_PITCH.get(((pitch + (9 if mode == "major" else 3)) % 12, other))
        if relative:
            likely.append(SettingChoice("key", relative, (relative.split()[0], other)))
    chosen, seen = [], {f"{tonic} {mode}"}
    for choice in likely + [SettingChoice("key", name, (name.split()[0], m)) for _pc, m, name in CONVENTIONAL_KEYS]:
        if choice is not None and choice.text not in seen:
            seen.add(choice.text)
            chosen.append(choice)
    return tuple(chosen)


def setting_choices(setting: ShownSetting) -> tuple[SettingChoice, ...]:
    """What a chip's menu offers instead of `setting`'s value, likeliest first."""
    name, value = setting.name, setting.value
    if name == "key":
        return key_choices(*value)
    if name == "tempo":
        bpm = float(value)
        candidates = [bpm - 20, bpm - 10, bpm + 10, bpm + 20, bpm / 2, bpm * 2]
        return tuple(SettingChoice("tempo", f"{c:g} bpm", c) for c in dict.fromkeys(round(c) for c in candidates)
                     if 20 <= c <= 300 and c != round(bpm))
    if name == "bars":
        return tuple(SettingChoice("bars", f"{b} bars", b) for b in BARS_CHOICES if b != value)
    if name == "metre":
        return tuple(SettingChoice("metre", m, m) for m in METRES if m != value)
    if name == "form":
        forms = [("through", None)] + [("loop", bars) for bars in LOOP_BARS]
        return tuple(SettingChoice("form", form_text(*f), f) for f in forms if f != tuple(value))
    if name == "instrument":
        return tuple(SettingChoice("instrument", describe_program(p), p) for p in COMMON_PROGRAMS if p != value)
    if name == "intensity":
        return tuple(SettingChoice("intensity", f"intensity {i:.2f}", i) for i in INTENSITY_CHOICES
                     if abs(i - float(value)) > 1e-6)
    return ()
