"""The one flow: audio or text in, a Composition out. Used by the CLI and the window alike.

    audio --(speech)--> transcript --(language)--> Mood --(composer)--> Progression + Arrangement
          --> Score --> MIDI file (+ history record)

Heavy models load once, in ``Assistant.load`` (call it off the UI thread); every stage reports
progress through a callback ``(message, fraction)`` and its duration in ``Composition.timings``.
"""
from __future__ import annotations

import dataclasses
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

import numpy as np

from assistant.errors import InvalidInput
from assistant.mood import SOURCED_SETTINGS, Mood, MusicalSettings, form_text
from assistant.score import Score
from models.progress import Progress

if TYPE_CHECKING:  # typing only: the window imports this module before any composing is needed
    from assistant.arrangement import Arrangement
    from assistant.music import Progression


#: Shown when speech yields no usable words (silence, noise, another language).
NOTHING_HEARD = "I didn't catch that; try again or type your request"


class NothingHeard(InvalidInput):
    """The recording held no usable speech."""

    def __init__(self, detail: str = ""):
        super().__init__(NOTHING_HEARD + (f" ({detail})" if detail else ""))


def _no_progress(message: str, fraction: float) -> None:
    pass


@dataclass(frozen=True)
class Composition:
    """Everything one request produced."""

    id: str  # uuid4 hex
    created_at: float  # unix time, seconds
    request_text: str  # the text composed from (typed, or what was heard)
    transcript: str | None  # what speech recognition heard; None for typed requests
    mood: Mood  # emotion + explicit settings read from the request; its class_weights are those composed with
    settings: MusicalSettings  # effective settings: the request's words, then the user's overrides
    progression: Progression  # the chords in their key, tempo and metre
    arrangement: Arrangement  # how the chords are played (pattern, program, velocity)
    score: Score  # the rendered notes
    seed: int  # random seed of the composer sample (same seed + settings -> same music)
    midi_path: Path | None = None  # the MIDI file written for this composition
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    #: where each of SOURCED_SETTINGS came from: "flag" (CLI flag / window field), "request" (the
    #: request's words), "default" (a remembered default the caller passed, e.g. the window's last
    #: instrument; below the request's words) or "mood" (the mood's expression plan, or the default)
    sources: dict[str, str] = field(default_factory=dict)
    #: one line each: a request's value a flag or field overrode ("the request's key C major is overridden ..."),
    #: then, after a corrected setting (Assistant.recompose), the locked chords it could not keep
    notices: tuple[str, ...] = ()
    form: str = "through"  # "through" or "loop", as composed
    intensity: float = 0.5  # 0 (subtle) .. 1 (unmistakable), as composed

    @property
    def keywords(self) -> tuple[str, ...]:
        return self.mood.keywords

    @property
    def warnings(self) -> tuple[str, ...]:
        """What the request asked for that was ignored, one line each with the allowed range
        (e.g. "tempo 400 bpm ignored; allowed 20..300 bpm"), and the request's values that a flag or
        field overrode: for the window's status line and the CLI's stderr."""
        return tuple(self.mood.warnings) + tuple(self.notices)

    @property
    def chord_names(self) -> list[str]:
        return [placed.chord.name for placed in self.progression.chords]


def _slug(text: str, limit: int = 40) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-") or "composition"


class Assistant:
    """Speech, language and composer behind one object; load once, compose many times.

    Hardware-free: audio arrives as arrays (assistant.audio.Microphone records them), so the
    window and the tests pass in whatever device they use.
    """

    def __init__(self, model_dir: str | Path | None = None, speech_engine: str | None = None,
                 speech_model: str | None = None, output_dir: str | Path | None = None,
                 history: Any = None, write_midi_files: bool = True):
        self.model_dir = model_dir
        self.speech_engine = speech_engine
        self.speech_model = speech_model
        self._output_dir = Path(output_dir) if output_dir else None
        self.history = history  # assistant.history.HistoryStore or None
        # True: every composition's MIDI file is written into output_dir (the window drags and keeps
        # it); False: nothing is written unless the caller exports (the CLI writes only its -o).
        self.write_midi_files = write_midi_files
        self._composer = None
        self._mood_reader = None
        self._transcriber = None
        self._lock = threading.RLock()  # loading and composing from worker threads

    # ------------------------------------------------------------------ loading
    @property
    def output_dir(self) -> Path:
        if self._output_dir is None:
            from platformdirs import user_data_dir

            self._output_dir = Path(user_data_dir("moodchords")) / "compositions"
        self._output_dir.mkdir(parents=True, exist_ok=True)
        return self._output_dir

    @property
    def composer(self):
        with self._lock:
            if self._composer is None:
                from assistant.composer import Composer

                self._composer = Composer(self.model_dir)
            return self._composer

    @property
    def mood_reader(self):
        with self._lock:
            if self._mood_reader is None:
                from assistant.language import MoodReader

                self._mood_reader = MoodReader(self.composer.classes)
            return self._mood_reader

    @property
    def transcriber(self):
        with self._lock:
            if self._transcriber is None:
                from assistant import speech

                self._transcriber = speech.load_transcriber(
                    self.speech_engine or speech.DEFAULT_ENGINE, self.speech_model or speech.DEFAULT_MODEL)
            return self._transcriber

    @property
    def speech_ready(self) -> bool:
        return self._transcriber is not None

    @property
    def composer_ready(self) -> bool:
        return self._composer is not None and self._mood_reader is not None

    def load(self, progress: Progress | None = None, speech: bool = True, composer: bool = True) -> None:
        """Load the speech model (if `speech`), then the composer and language models (if
        `composer`). Speech comes first: it is small (~1-2 s) and is what "ready to listen" needs;
        the user is still speaking while TensorFlow and the language model load."""
        progress = progress or _no_progress
        steps = (["speech"] if speech else []) + (["composer", "language"] if composer else [])
        for index, step in enumerate(steps):
            fraction = index / len(steps)
            if step == "speech":
                progress("Loading the speech model", fraction)
                _ = self.transcriber
            elif step == "composer":
                progress("Loading the composer models", fraction)
                loaded = self.composer
                # One throw-away sample traces TensorFlow's functions now, not on the first request.
                loaded.compose({c.name: 1.0 for c in loaded.classes}, MusicalSettings(bars=2), seed=0)
            else:
                progress("Loading the language model", fraction)
                _ = self.mood_reader
        progress("Ready", 1.0)

    # ------------------------------------------------------------------ stages
    def transcribe(self, audio: np.ndarray):
        """Speech to text (a assistant.speech.Transcript)."""
        return self.transcriber.transcribe(audio)

    def read_mood(self, text: str) -> Mood:
        return self.mood_reader.read(text)

    def compose_from_audio(self, audio: np.ndarray, overrides: MusicalSettings | None = None,
                           seed: int | None = None, progress: Progress | None = None,
                           class_weights: Mapping[str, float] | None = None,
                           temperature: float = 1.0, defaults: MusicalSettings | None = None) -> Composition:
        """Transcribe, then compose; NothingHeard when the audio holds no usable speech.
        `class_weights`, `temperature` and `defaults` as in compose_from_text (the CLI's compose FILE.wav)."""
        progress = progress or _no_progress
        progress("Transcribing", 0.0)
        started = time.perf_counter()
        transcript = self.transcribe(audio)
        heard = transcript.text.strip()
        if transcript.no_speech or not re.search(r"[A-Za-z]", heard):
            raise NothingHeard()
        elapsed = time.perf_counter() - started
        return self.compose_from_text(heard, overrides=overrides, seed=seed, progress=progress,
                                      transcript=heard, timings={"transcribe": elapsed},
                                      class_weights=class_weights, temperature=temperature, defaults=defaults)

    def compose_from_text(self, text: str, overrides: MusicalSettings | None = None, seed: int | None = None,
                          progress: Progress | None = None, transcript: str | None = None,
                          timings: dict[str, float] | None = None, class_weights: Mapping[str, float] | None = None,
                          temperature: float = 1.0, defaults: MusicalSettings | None = None) -> Composition:
        """Read the mood of `text`, then compose. `class_weights` (e.g. the CLI's --emotion) replace
        the weights read from the text; its settings and warnings still come from the text.
        `defaults` (the window's remembered instrument) apply only where the text and `overrides` say nothing."""
        from assistant.request_text import normalize_request

        text = normalize_request(text)  # the request entry: typed, pasted or heard text is cleaned and bounded here
        if transcript is not None:
            transcript = normalize_request(transcript, max_chars=None)
        progress = progress or _no_progress
        timings = dict(timings or {})
        started = time.perf_counter()
        progress("Reading the mood", 0.3)
        mood = self.read_mood(text)
        timings["mood"] = time.perf_counter() - started
        settings, sources, notices = merge_settings(mood.settings, overrides, defaults)
        return self._compose(text, transcript, mood, settings, seed, progress, timings,
                             class_weights=class_weights, temperature=temperature, sources=sources, notices=notices)

    def compose_from_weights(self, class_weights: Mapping[str, float], overrides: MusicalSettings | None = None,
                             seed: int | None = None, progress: Progress | None = None,
                             temperature: float = 1.0) -> Composition:
        """Compose for a mixture of emotion classes given directly, no text read (the CLI's --emotion):
        the language model is not loaded. The Composition's mood is the classes' valence and arousal
        mixed by the weights; its request_text is empty."""
        settings, sources, _ = merge_settings(MusicalSettings(), overrides)
        return self._compose("", None, None, settings, seed, progress or _no_progress, {},
                             class_weights=class_weights, temperature=temperature, sources=sources)

    def regenerate(self, composition: Composition, locked: frozenset[int] = frozenset(),
                   overrides: MusicalSettings | None = None, seed: int | None = None,
                   progress: Progress | None = None) -> Composition:
        """A new sample for the same mood; chords at `locked` indices are kept, and the key, mode,
        tempo and metre (unless `overrides` change them)."""
        settings, override_sources, notices = merge_settings(composition.settings, overrides)
        sources = dict(composition.sources)
        sources.update({name: "flag" for name, source in override_sources.items() if source == "flag"})
        return self._compose(composition.request_text, composition.transcript, composition.mood, settings,
                             seed, progress or _no_progress, {}, previous=composition.progression,
                             locked=frozenset(locked), sources=sources, notices=notices)

    def recompose(self, composition: Composition, locked: frozenset[int] = frozenset(),
                  overrides: MusicalSettings | None = None, defaults: MusicalSettings | None = None,
                  progress: Progress | None = None) -> Composition:
        """The same request composed again after the user corrected a setting (the window's chips):
        the request's own settings (its words) merged with `overrides` and `defaults` as
        compose_from_text merges them, with the composition's request, transcript, mood and seed (a
        spoken request stays spoken: its transcript, and the transcribe and mood timings, are kept).

        The chords at `locked` stay locked and keep their chords when the corrected settings keep the
        length, metre, mode and form (`locks_to_keep`); a key change in the same mode transposes them.
        Otherwise the locks are dropped and one notice says so. Without locks the same seed composes
        again, so a correction that leaves the chords' shape alone (a key in the same mode, the
        instrument) keeps the chords too."""
        settings, sources, notices = merge_settings(composition.mood.settings, overrides, defaults)
        kept, dropped = locks_to_keep(composition, settings, locked)
        timings = {stage: seconds for stage, seconds in composition.timings.items() if stage in ("transcribe", "mood")}
        return self._compose(composition.request_text, composition.transcript, composition.mood, settings,
                             composition.seed, progress or _no_progress, timings,
                             previous=composition.progression if kept else None, locked=kept, sources=sources,
                             notices=tuple(notices) + ((dropped,) if dropped else ()))

    def _compose(self, text: str, transcript: str | None, mood: Mood | None, settings: MusicalSettings,
                 seed: int | None, progress: Progress, timings: dict[str, float], previous: Progression | None = None,
                 locked: frozenset[int] = frozenset(), class_weights: Mapping[str, float] | None = None,
                 temperature: float = 1.0, sources: Mapping[str, str] | None = None,
                 notices: tuple[str, ...] = ()) -> Composition:
        """Compose with `class_weights` (default: the mood's); mood None: made from the weights.
        The mood's expression plan decides what the settings leave open; explicit class weights
        (the CLI's --emotion) outrank the words, so their plan is the weights' own."""
        from assistant.composer import resolve_settings
        from assistant.expression import plan_for_mood

        seed = secrets.randbelow(2**31) if seed is None else int(seed)
        resolved = resolve_settings(settings)  # InvalidInput before any work
        plan = None
        if class_weights is None:
            class_weights = mood.class_weights
            plan = plan_for_mood(mood, self.composer.classes, resolved.intensity, seed)
        progress("Composing", 0.5)
        started = time.perf_counter()
        # The composer validates the weights (the user's input) and returns them normalised.
        result = self.composer.compose(class_weights, settings, seed=seed, previous=previous, locked=locked,
                                       temperature=temperature, plan=plan)
        timings["compose"] = time.perf_counter() - started
        if mood is None:
            mood = mood_of_weights(result.class_weights, self.composer.classes)
        elif mood.class_weights != result.class_weights:
            mood = dataclasses.replace(mood, class_weights=result.class_weights)  # what was composed with
        composition = Composition(
            id=uuid.uuid4().hex, created_at=time.time(), request_text=text, transcript=transcript, mood=mood,
            settings=settings, progression=result.progression, arrangement=result.arrangement,
            score=result.score, seed=seed, timings=timings,
            sources={name: (sources or {}).get(name, "mood") for name in SOURCED_SETTINGS}, notices=tuple(notices),
            form=result.form, intensity=result.intensity)
        if self.write_midi_files:
            progress("Writing MIDI", 0.8)
            started = time.perf_counter()
            path = self.output_dir / f"{time.strftime('%Y%m%d-%H%M%S')}-{_slug(text)}-{composition.id[:6]}.mid"
            composition = dataclasses.replace(composition, midi_path=self.export_midi(composition, path))
            timings["write"] = time.perf_counter() - started
        if self.history is not None:
            self.history.add(to_history_record(composition))
        progress("Done", 1.0)
        return composition

    def export_midi(self, composition: Composition, path: str | Path) -> Path:
        """Write the composition's MIDI atomically; InvalidInput when the folder is not writable."""
        from assistant.midi_file import write_midi

        return Path(write_midi(composition.score, path))


#: SOURCED_SETTINGS name -> the MusicalSettings fields that set it
_SETTING_FIELDS = {"key": ("key",), "mode": ("mode",), "tempo": ("tempo_bpm",), "bars": ("bars",),
                   "metre": ("metre",), "form": ("form", "loop_bars"), "instrument": ("program", "instrument"),
                   "intensity": ("intensity",)}


def _key_text(settings: MusicalSettings) -> str | None:
    if settings.key is None:
        return None
    return settings.key + (f" {settings.mode}" if settings.mode and settings.mode not in settings.key else "")


def merge_settings(request: MusicalSettings, overrides: MusicalSettings | None,
                   defaults: MusicalSettings | None = None) -> tuple[MusicalSettings, dict[str, str], tuple[str, ...]]:
    """The request's settings with the user's overrides (flags, window fields) winning, and
    `defaults` (remembered choices) filling only what both leave open: overrides > request > defaults
    > the mood. Returns (effective settings, source of each SOURCED_SETTINGS name, one notice per
    request value overridden).

    A key given with its mode as an override ("Bb minor") replaces the request's key and mode as one:
    "a sad song in C major" with --key "Bb minor" is Bb minor, not Bb major."""
    from assistant.composer import key_has_mode

    overrides = overrides or MusicalSettings()
    defaults = defaults or MusicalSettings()
    merged = defaults.merged(request).merged(overrides)
    if overrides.key is not None and overrides.mode is None and key_has_mode(overrides.key):
        merged = dataclasses.replace(merged, mode=None)
    sources: dict[str, str] = {}
    notices: list[str] = []
    for name, fields in _SETTING_FIELDS.items():
        flagged = any(getattr(overrides, f) is not None for f in fields)
        asked = any(getattr(request, f) is not None for f in fields)
        if name == "mode" and overrides.key is not None and key_has_mode(overrides.key):
            flagged = True
        remembered = any(getattr(defaults, f) is not None for f in fields)
        sources[name] = "flag" if flagged else "request" if asked else "default" if remembered else "mood"
    request_key, override_key = _key_text(request), _key_text(overrides)
    if request_key and override_key and request_key.lower() != override_key.lower():
        notices.append(f"the request's key {request_key} is overridden by the key setting {override_key}")
    elif request.mode and sources["mode"] == "flag" and (merged.mode or "") != request.mode and not override_key:
        notices.append(f"the request's {request.mode} mode is overridden by the mode setting {merged.mode}")
    for name, field_name, unit in (("tempo", "tempo_bpm", " bpm"), ("bars", "bars", " bars"), ("metre", "metre", ""),
                                   ("form", "form", "")):
        asked, given = getattr(request, field_name), getattr(overrides, field_name)
        if asked is not None and given is not None and asked != given:
            notices.append(f"the request's {name} {asked:g}{unit} is overridden by the {name} setting {given:g}{unit}"
                           if isinstance(asked, float) else
                           f"the request's {name} {asked}{unit} is overridden by the {name} setting {given}{unit}")
    return merged, sources, tuple(notices)


def locks_to_keep(composition: Composition, settings: MusicalSettings,
                  locked: frozenset[int]) -> tuple[frozenset[int], str | None]:
    """The locked chords a new take of `composition` under `settings` can keep, and, when it can keep
    none, the one-sentence notice that says why. Locks live on the previous rhythm, so the length,
    metre and mode (assistant.composer.take_shape) and the form must stay; the key may change within
    the mode (the chords are key-relative: they are transposed)."""
    from assistant.composer import resolve_settings, take_shape

    locked = frozenset(locked)
    if not locked or composition.progression is None:
        return frozenset(), None
    resolved = resolve_settings(settings)
    changes = list(take_shape(composition.progression, resolved, settings).changes)
    form = (resolved.form, resolved.loop_bars if resolved.form == "loop" else None)
    previous_form = (composition.form, (composition.settings.loop_bars or 4) if composition.form == "loop" else None)
    if form != previous_form:
        changes.append(f"{form_text(*form).lower()} instead of {form_text(*previous_form).lower()}")
    if not changes:
        return locked, None
    count = f"{len(locked)} locked chord{'s' if len(locked) != 1 else ''}"
    return frozenset(), (f"{count} unlocked: locks keep their place only in the same length, metre, mode and "
                         f"form, and the new settings make {' and '.join(changes)}")


def mood_of_weights(class_weights: Mapping[str, float], classes) -> Mood:
    """The mood of a class mixture given without words: the classes' valence and arousal (0 where a
    class has none) averaged by the (normalised) weights."""
    coordinates = {c.name: (c.valence or 0.0, c.arousal or 0.0) for c in classes}
    valence = sum(w * coordinates[name][0] for name, w in class_weights.items())
    arousal = sum(w * coordinates[name][1] for name, w in class_weights.items())
    return Mood(float(valence), float(arousal), dict(class_weights))


def composition_summary(composition: Composition) -> dict[str, Any]:
    """The composition as the one documented JSON object (docs/composition-schema.md): what
    `compose --json` and `listen --json` print and what the history record holds."""
    from assistant.composition_schema import composition_document

    return composition_document(composition)


# ---------------------------------------------------------------------------------------------
# Persistence: a Composition as a history record of plain JSON data (restore re-renders the score)


def to_history_record(composition: Composition):
    """The composition's JSON object split into a history record's columns (assistant.composition_schema)."""
    from assistant.composition_schema import history_record

    return history_record(composition)


def from_history_record(record) -> Composition:
    """Rebuild a Composition from a history record of any schema version (older ones are upgraded)."""
    from assistant.arrangement import Arrangement, render_score
    from assistant.composition_schema import (mood_from_document, notices_from_document, progression_from_document,
                                              record_document, sources_from_document)

    document = record_document(record)
    progression = progression_from_document(document["progression"])
    arrangement = Arrangement(**{name: value for name, value in document["arrangement"].items()
                                 if name != "instrument"})
    return Composition(
        id=document["id"], created_at=document["created_at"], request_text=document["request_text"],
        transcript=document["transcript"], mood=mood_from_document(document["mood"]),
        settings=MusicalSettings(**document["settings"]), progression=progression, arrangement=arrangement,
        score=render_score(progression, arrangement), seed=document["seed"],
        midi_path=Path(document["midi_path"]) if document["midi_path"] else None,
        timings=dict(document["timings"]), sources=sources_from_document(document),
        notices=notices_from_document(document), form=document["form"], intensity=float(document["intensity"]))
