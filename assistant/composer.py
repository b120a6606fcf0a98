"""The composer facade: emotion weights + musical settings -> progression, arrangement, score.

It owns one loaded model set (load once, compose many times), validates the user's settings,
asks ``models.generation`` for key-normalised chord events and a performance sample, then
places them in the requested (or a likely) key, tempo and arrangement.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from assistant.arrangement import Arrangement, arrangement_from_performance, render_score
from assistant.errors import InvalidInput
from assistant.mood import TEMPO_RANGE, MusicalSettings
from assistant.music import MODES, Progression, parse_key, tonic_name_for
from assistant.score import Score

if TYPE_CHECKING:
    from models.emotion_classes import EmotionClass
    from models.generation import Generation
    from models.model_folder import ModelSet

DEFAULT_BARS = 8
MAX_BARS = 256
MAX_BEATS_PER_BAR = 12

# How often composers pick each tonic (pitch class -> relative weight): guitar- and piano-friendly
# keys first, six-accidental keys rarely. Used when the request names no key.
MAJOR_KEY_WEIGHTS = {0: 10, 7: 9, 2: 8, 5: 7, 9: 6, 4: 5, 10: 5, 3: 4, 8: 3, 1: 2, 11: 2, 6: 1}
MINOR_KEY_WEIGHTS = {9: 10, 4: 9, 2: 8, 0: 6, 7: 6, 11: 5, 6: 4, 5: 4, 1: 3, 10: 2, 3: 1, 8: 2}


@dataclass(frozen=True)
class ComposerResult:
    """One composition."""

    progression: Progression  # chords in the final key, tempo and metre
    arrangement: Arrangement  # how they are played
    score: Score  # the rendered notes (what export and playback use)
    generation: "Generation"  # the raw model output (key-normalised events, performance sample)
    seed: int  # the seed actually used: composing again with it gives the same result
    class_weights: dict[str, float]  # the weights composed with: validated, every class, summing to 1


@dataclass(frozen=True)
class ResolvedSettings:
    """Settings after validation and defaults (what compose actually used)."""

    bars: int  # 1..256
    beats_per_bar: int  # time signature numerator
    tempo_bpm: float | None  # None: from the sampled performance
    tonic: int | None  # pitch class; None: chosen from the seed
    mode: str | None  # "major"/"minor"; None: the model decides
    program: int | None  # GM program; None: piano


def resolve_settings(settings: MusicalSettings | None) -> ResolvedSettings:
    """Validate explicit settings; InvalidInput names the bad value and what is allowed."""
    settings = settings or MusicalSettings()
    bars = DEFAULT_BARS if settings.bars is None else settings.bars
    if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_BARS:
        raise InvalidInput(f"bars {bars!r} not allowed; allowed: a whole number 1..{MAX_BARS}")
    bpb = settings.beats_per_bar
    if isinstance(bpb, bool) or not isinstance(bpb, int) or not 1 <= bpb <= MAX_BEATS_PER_BAR:
        raise InvalidInput(f"beats per bar {bpb!r} not allowed; allowed: 1..{MAX_BEATS_PER_BAR}")
    tempo = settings.tempo_bpm
    if tempo is not None:
        try:
            tempo = float(tempo)
        except (TypeError, ValueError):
            raise InvalidInput(f"tempo {tempo!r} not allowed; "
                               f"allowed: {TEMPO_RANGE[0]:g}..{TEMPO_RANGE[1]:g} BPM") from None
        if not TEMPO_RANGE[0] <= tempo <= TEMPO_RANGE[1]:  # also rejects NaN
            raise InvalidInput(f"tempo {settings.tempo_bpm!r} BPM not allowed; allowed: "
                               f"{TEMPO_RANGE[0]:g}..{TEMPO_RANGE[1]:g} BPM")
    tonic = mode = None
    if settings.key is not None:
        tonic, mode = parse_key(settings.key)
    if settings.mode is not None:
        if settings.mode not in MODES:
            raise InvalidInput(f"mode {settings.mode!r} not allowed; allowed: {list(MODES)}")
        mode = settings.mode
    program = settings.program
    if program is not None and (isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127):
        raise InvalidInput(f"program {program!r} not allowed; allowed: General MIDI program 0..127")
    return ResolvedSettings(bars, bpb, tempo, tonic, mode, program)


def choose_tonic(mode: str, rng: random.Random) -> int:
    """A tonic for ``mode``, weighted towards keys composers often use."""
    weights = MAJOR_KEY_WEIGHTS if mode == "major" else MINOR_KEY_WEIGHTS
    tonics = sorted(weights)
    return rng.choices(tonics, weights=[weights[t] for t in tonics])[0]


class Composer:
    """Composes progressions with one model set, loaded once."""

    def __init__(self, model_set: "ModelSet | str | Path | None" = None):
        from models.model_folder import ModelSet, load_model_set

        self.model_set: ModelSet = model_set if isinstance(model_set, ModelSet) else load_model_set(model_set)

    @property
    def classes(self) -> "tuple[EmotionClass, ...]":
        return self.model_set.classes

    def compose(self, class_weights: Mapping[str, float], settings: MusicalSettings | None = None, *,
                seed: int | None = None, previous: Progression | None = None,
                locked: frozenset[int] = frozenset(), temperature: float = 1.0) -> ComposerResult:
        """Compose for a mixture of emotion classes.

        ``previous`` + ``locked``: regenerate, keeping the chords at the locked indices and the
        previous rhythm (so indices stay put), and the previous key, mode, tempo and length unless
        ``settings`` say otherwise.
        """
        resolved = resolve_settings(settings)
        # The one check of the user's weights in this layer; models.generation checks them once more
        # at its own boundary, and nothing below it again.
        weights = self.model_set.validate_weights(class_weights)
        if seed is None:
            seed = secrets.randbits(31)
        rng = random.Random(seed)
        locked = frozenset(locked)
        explicit = settings or MusicalSettings()

        bars, bpb, mode, tonic, tempo = (resolved.bars, resolved.beats_per_bar, resolved.mode, resolved.tonic,
                                         resolved.tempo_bpm)
        locked_events = rhythm = None
        if previous is not None:
            bpb = previous.beats_per_bar
            if explicit.bars is None:
                bars = max(1, round(previous.length_beats / bpb))
            mode = mode or previous.mode
            tonic = previous.tonic if tonic is None else tonic
            tempo = previous.tempo_bpm if tempo is None else tempo
            same_shape = bars * bpb == previous.length_beats and mode == previous.mode
            if same_shape:
                rhythm = [c.duration_beats for c in previous.chords]
                if locked:
                    bad = sorted(i for i in locked if not 0 <= i < len(previous.chords))
                    if bad:
                        raise InvalidInput(f"locked chord {bad[0]} not in the progression; "
                                           f"allowed: 0..{len(previous.chords) - 1}")
                    events = previous.to_events()
                    locked_events = {i: events[i] for i in sorted(locked)}
            elif locked:
                raise InvalidInput("locked chords need the same length and mode as before "
                                   f"({previous.length_beats / bpb:g} bars, {previous.mode}); "
                                   "unlock them to change these")
        elif locked:
            raise InvalidInput(f"locked chords {sorted(locked)} need a previous progression to keep them from")

        generation = self._generate(weights, bars, bpb, temperature, seed, mode, locked_events, rhythm)
        if tonic is None:
            tonic = choose_tonic(generation.mode, rng)
        if tempo is None:
            tempo = min(TEMPO_RANGE[1], max(TEMPO_RANGE[0], round(float(generation.performance.tempo_bpm))))
        progression = Progression.from_events(generation.events, tonic, generation.mode, tempo, bpb,
                                              locked=locked if locked_events else (),
                                              tonic_name=tonic_name_for(explicit.key, previous))
        arrangement = arrangement_from_performance(generation.performance, resolved.program, progression=progression)
        score = render_score(progression, arrangement)
        return ComposerResult(progression, arrangement, score, generation, seed, weights)

    def _generate(self, weights, bars, bpb, temperature, seed, mode, locked_events, rhythm) -> "Generation":
        """models.generation.generate, in phrases of at most its MAX_BARS for longer pieces.

        Each phrase starts and ends on the tonic (the generator's cadence), all in one mode; the
        performance is the first phrase's. A previous rhythm is cut at whole bars."""
        from models.generation import MAX_BARS, Generation, generate

        if bars <= MAX_BARS:
            return generate(self.model_set, weights, bars=bars, beats_per_bar=bpb, temperature=temperature,
                            seed=seed, mode=mode, locked=locked_events, rhythm=rhythm)
        if rhythm is None:
            count = -(-bars // MAX_BARS)
            sizes = [bars // count + (1 if i < bars % count else 0) for i in range(count)]
            phrases = [(size, None, {}) for size in sizes]
        else:
            phrases = _split_rhythm(list(rhythm), dict(locked_events or {}), bpb, MAX_BARS)
        events: list = []
        first = None
        for index, (size, durations, locked_here) in enumerate(phrases):
            part = generate(self.model_set, weights, bars=size, beats_per_bar=bpb, temperature=temperature,
                            seed=seed + 7919 * index, mode=mode if first is None else first.mode,
                            locked=locked_here or None, rhythm=durations)
            first = first or part
            events.extend(part.events)
        return Generation(events=tuple(events), mode=first.mode, performance=first.performance)


def _split_rhythm(durations: list[float], locked: dict, bpb: int, max_bars: int) -> list[tuple[int, list, dict]]:
    """Cut a chord rhythm into phrases of whole bars, each at most ``max_bars`` long.

    Returns (bars, durations, locked events re-indexed within the phrase) per phrase."""
    phrases, start, beats = [], 0, 0.0
    last_cut = None  # (index after the chord, beats) of the latest whole-bar boundary in this phrase
    index = 0
    while index < len(durations):
        beats += durations[index]
        index += 1
        fits = beats <= max_bars * bpb + 1e-9
        if fits and abs(beats / bpb - round(beats / bpb)) < 1e-9:
            last_cut = (index, beats)
        if not fits or index == len(durations):
            if last_cut is None or last_cut[0] <= start:
                raise InvalidInput(f"the previous progression has no bar line within {max_bars} bars to cut it at; "
                                   f"allowed: up to {max_bars} bars when chords span bar lines")
            end, length = last_cut
            phrase_locked = {i - start: e for i, e in locked.items() if start <= i < end}
            phrases.append((int(round(length / bpb)), durations[start:end], phrase_locked))
            start, index, beats, last_cut = end, end, 0.0, None
    return phrases
