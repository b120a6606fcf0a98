"""Statistics the benches report: of generated progressions (vocabulary, diatonic, repeats,
cadences), key-mode shares by music21, and the quadrant-group accuracy of per-clip class scores.
(Next-chord likelihood is models.next_chord, which ``moodchords train`` uses too.)

numpy only, except ``music21_mode`` (music21, imported lazily). Chord events are key-normalised
(models.vocabulary.FRAME_TONIC): a major progression has its tonic on pitch class 0 (C), a minor
one on 9 (A).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from models.chord_states import NUM_STATES, chord_state_index, state_sequences
from models.errors import InvalidModelInput
from models.vocabulary import FRAME_TONIC, QUALITY_BY_NAME, ChordEvent

MODES = ("major", "minor")


# -- statistics of progressions ----------------------------------------------------------------
_MAJOR_TONIC = {QUALITY_BY_NAME[n] for n in ("maj", "maj7", "add9")}
_MINOR_TONIC = {QUALITY_BY_NAME[n] for n in ("min", "min7")}
_DOMINANT = {QUALITY_BY_NAME[n] for n in ("maj", "dom7")}  # V, V7
_LEADING_TONE = {QUALITY_BY_NAME[n] for n in ("dim", "min7b5", "dim7")}  # vii(o), vii(o)7
_SUBDOMINANT = {QUALITY_BY_NAME[n] for n in ("maj", "min", "maj7", "min7", "add9")}  # IV / iv (plagal)
# Scale degrees (semitones above the tonic) of the diatonic scale: major, natural + harmonic minor.
_SCALE = {"major": frozenset({0, 2, 4, 5, 7, 9, 11}), "minor": frozenset({0, 2, 3, 5, 7, 8, 10, 11})}


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InvalidModelInput(f"mode {mode!r} not allowed; allowed modes = {list(MODES)}")
    return mode


def is_tonic_chord(event: ChordEvent, mode: str) -> bool:
    """The tonic triad of the mode (major-type on C, or minor-type on A; any bass)."""
    tonic = FRAME_TONIC[_check_mode(mode)]
    qualities = _MAJOR_TONIC if mode == "major" else _MINOR_TONIC
    return event.root == tonic and event.quality in qualities


def is_cadence_approach(event: ChordEvent, mode: str) -> bool:
    """A chord that resolves to the tonic in a cadence: V, V7, vii(o) (authentic) or IV/iv (plagal)."""
    tonic = FRAME_TONIC[_check_mode(mode)]
    interval = (event.root - tonic) % 12
    return ((interval == 7 and event.quality in _DOMINANT)
            or (interval == 11 and event.quality in _LEADING_TONE)
            or (interval == 5 and event.quality in _SUBDOMINANT))


def ends_with_cadence(events: Sequence[ChordEvent], mode: str) -> bool:
    """True when the last chord is the tonic triad preceded by a dominant- or subdominant-function chord."""
    return len(events) >= 2 and is_tonic_chord(events[-1], mode) and is_cadence_approach(events[-2], mode)


def is_diatonic(event: ChordEvent, mode: str) -> bool:
    """Every pitch class of the chord (bass included) lies in the mode's scale (minor: natural or harmonic)."""
    tonic = FRAME_TONIC[_check_mode(mode)]
    return all((pc - tonic) % 12 in _SCALE[mode] for pc in event.pitch_classes())


@dataclass(frozen=True)
class ProgressionStatistics:
    """Statistics of a set of chord progressions."""

    progressions: int  # how many progressions
    chords: int  # how many chords in all
    vocabulary_share: float  # chords whose state (root, quality, bass) occurs in the reference vocabulary, 0..1
    diatonic_share: float  # chords whose pitch classes all lie in the progression's scale, 0..1
    repeat_share: float  # steps whose chord state equals the previous one, 0..1
    cadence_share: float  # progressions ending on an authentic or plagal cadence to the tonic, 0..1
    major_share: float  # progressions labelled major, 0..1


def vocabulary_of(sequences: Iterable[Sequence[ChordEvent]], min_count: int = 1) -> frozenset[int]:
    """The chord states that occur at least ``min_count`` times in the sequences."""
    counts = np.zeros(NUM_STATES, np.int64)
    for states in state_sequences(sequences):
        np.add.at(counts, states, 1)
    return frozenset(np.flatnonzero(counts >= min_count).tolist())


def progression_statistics(progressions: Sequence[tuple[Sequence[ChordEvent], str]],
                           vocabulary: frozenset[int] | None = None) -> ProgressionStatistics:
    """Statistics of (events, mode) progressions; ``vocabulary`` = the allowed states (None: all)."""
    if not progressions:
        raise InvalidModelInput("no progressions to describe; need at least one (events, mode) pair")
    chords = in_vocab = diatonic = repeats = steps = cadences = majors = 0
    for events, mode in progressions:
        _check_mode(mode)
        states = [chord_state_index(e) for e in events]
        chords += len(states)
        in_vocab += len(states) if vocabulary is None else sum(s in vocabulary for s in states)
        diatonic += sum(is_diatonic(e, mode) for e in events)
        repeats += sum(a == b for a, b in zip(states, states[1:]))
        steps += max(len(states) - 1, 0)
        cadences += ends_with_cadence(events, mode)
        majors += mode == "major"
    n = len(progressions)
    return ProgressionStatistics(n, chords, in_vocab / max(chords, 1), diatonic / max(chords, 1),
                                 repeats / max(steps, 1), cadences / n, majors / n)


# -- key mode by music21 -----------------------------------------------------------------------
def music21_mode(events: Sequence[ChordEvent], bass_octave: int = 3, chord_octave: int = 4) -> str:
    """The mode music21's ``analyze('key')`` finds in the chords rendered as block chords.

    Each chord sounds its bass in ``bass_octave`` and its pitch classes in ``chord_octave`` for
    its duration in beats (quarter notes; events with a non-positive duration count 1 beat)."""
    from music21 import chord as m21_chord
    from music21 import stream

    if not events:
        raise InvalidModelInput("cannot analyse the key of an empty progression; need at least one chord")
    part = stream.Stream()
    for event in events:
        pitches = sorted({12 * (chord_octave + 1) + pc for pc in event.pitch_classes()})
        pitches.insert(0, 12 * (bass_octave + 1) + event.bass % 12)
        block = m21_chord.Chord(pitches)
        block.quarterLength = float(event.beats) if event.beats > 0 else 1.0
        part.append(block)
    return str(part.analyze("key").mode)


def music21_major_share(progressions: Iterable[Sequence[ChordEvent]]) -> float:
    """Share (0..1) of the progressions that music21 analyses as major."""
    modes = [music21_mode(events) for events in progressions]
    if not modes:
        raise InvalidModelInput("no progressions to analyse; need at least one")
    return sum(m == "major" for m in modes) / len(modes)


# -- generative classification -----------------------------------------------------------------
VALENCE_POSITIVE = frozenset({"Q1", "Q4"})  # Russell quadrants with positive valence
AROUSAL_HIGH = frozenset({"Q1", "Q2"})  # quadrants with high arousal


@dataclass(frozen=True)
class GroupedAccuracy:
    """Accuracy of choosing the class with the highest log-likelihood (uniform class prior), with
    valence and arousal decided by each side's summed likelihood."""

    four_class: float  # exact quadrant, 0..1 (chance 0.25)
    valence: float  # positive (Q1+Q4) vs negative (Q2+Q3), 0..1; groups scored by summed likelihood
    arousal: float  # high (Q1+Q2) vs low (Q3+Q4), 0..1
    clips: int  # number of classified clips


def _group_score(scores: Mapping[str, float], members: frozenset[str]) -> float:
    values = np.asarray([scores[c] for c in scores if c in members], np.float64)
    if values.size == 0:
        return -math.inf
    top = values.max()
    return float(top + np.log(np.exp(values - top).sum()))


def grouped_accuracy(true_labels: Sequence[str], scores: Sequence[Mapping[str, float]]) -> GroupedAccuracy:
    """Accuracy from per-clip log-likelihoods ``{class: log p(clip | class)}`` (natural log).

    Valence/arousal pick the group (e.g. Q1+Q4) with the larger total likelihood, i.e. the
    logsumexp of its classes' log-likelihoods (both groups have two classes, so the prior cancels).
    Not the shipped classifier's accuracy (models.classification.classification_accuracy, which
    reads valence and arousal off the predicted class): the benches report both views."""
    if len(true_labels) != len(scores) or not true_labels:
        raise InvalidModelInput(f"{len(true_labels)} labels and {len(scores)} score rows; need the same, non-zero number")
    four = val = aro = 0
    for label, row in zip(true_labels, scores):
        if label not in row:
            raise InvalidModelInput(f"label {label!r} not among the scored classes {sorted(row)}")
        four += max(row, key=row.get) == label
        val += (_group_score(row, VALENCE_POSITIVE) > _group_score(row, frozenset(row) - VALENCE_POSITIVE)) == (label in VALENCE_POSITIVE)
        aro += (_group_score(row, AROUSAL_HIGH) > _group_score(row, frozenset(row) - AROUSAL_HIGH)) == (label in AROUSAL_HIGH)
    n = len(true_labels)
    return GroupedAccuracy(four / n, val / n, aro / n, n)
