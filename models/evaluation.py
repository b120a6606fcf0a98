"""How good a chord model is: next-chord likelihood and accuracy, statistics of generated
progressions, key-mode shares, and generative emotion classification.

Framework-free except ``CRBMNextChord`` (TensorFlow, imported lazily) and ``music21_mode``
(music21, imported lazily). Chord events are key-normalised: a major progression has its tonic on
pitch class 0 (C), a minor one on 9 (A).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterable, Mapping, Protocol, Sequence

import numpy as np

from models.baselines import NUM_STATES, state_index, state_sequences
from models.errors import InvalidModelInput
from models.vocabulary import QUALITY_BY_NAME, ChordEvent

Progress = Callable[[str, float], None]
MODES = ("major", "minor")
TONIC_PC = {"major": 0, "minor": 9}  # the key-normalised frame: C major / A minor


class NextChordPredictor(Protocol):
    """Anything that gives log2 p(next state | history) over all NUM_STATES chord states."""

    def log2_probs_next(self, history: Sequence[ChordEvent] | np.ndarray) -> np.ndarray: ...


# -- next-chord prediction ---------------------------------------------------------------------
@dataclass(frozen=True)
class NextChordMetrics:
    """Next-chord prediction quality over a set of sequences (every event, the first included)."""

    bits_per_chord: float  # mean negative log2 p(event | previous events of its sequence)
    top1_accuracy: float  # share of events that are the model's most probable state, 0..1
    events: int  # number of predicted events


def sequence_log2_probs(model, states: np.ndarray) -> np.ndarray:
    """(T, S) log2 p(s_t = . | s_<t) for one state sequence.

    Uses the model's own ``log2_probs_sequence`` when it has one (one batched call, e.g. the CRBM),
    otherwise calls ``log2_probs_next`` once per position."""
    batched = getattr(model, "log2_probs_sequence", None)
    if batched is not None:
        return np.asarray(batched(states))
    return np.stack([model.log2_probs_next(states[:t]) for t in range(states.size)])


def next_chord_metrics(model, sequences: Iterable[Sequence[ChordEvent]],
                       progress: Progress | None = None) -> NextChordMetrics:
    """Mean NLL (bits per chord) and top-1 accuracy of a next-chord model over the sequences."""
    seqs = state_sequences(sequences)
    if not seqs:
        raise InvalidModelInput("no chord events to evaluate; need at least one non-empty sequence")
    total_bits, correct, count = 0.0, 0, 0
    for i, states in enumerate(seqs):
        log2p = sequence_log2_probs(model, states)
        if log2p.shape != (states.size, NUM_STATES):
            raise InvalidModelInput(f"model returned log-probabilities of shape {log2p.shape}; "
                                    f"expected {(states.size, NUM_STATES)}")
        total_bits -= float(log2p[np.arange(states.size), states].sum())
        correct += int((np.argmax(log2p, axis=1) == states).sum())
        count += states.size
        if progress is not None:
            progress("next-chord evaluation", (i + 1) / len(seqs))
    return NextChordMetrics(total_bits / count, correct / count, count)


class CRBMNextChord:
    """Adapter: a models.crbm.ConditionalRBM in the chord-event layout as a next-chord predictor.

    The CRBM's state order equals models.baselines' (root, quality, bass interval), so its exact
    conditional distribution over all states is used as is."""

    def __init__(self, rbm, name: str = "CRBM"):
        from models.crbm import CHORD_LAYOUT

        if rbm.layout != CHORD_LAYOUT:
            raise InvalidModelInput(f"CRBM layout {rbm.layout}; expected the chord-event layout {CHORD_LAYOUT}")
        self.rbm = rbm
        self.name = name

    def log2_probs_sequence(self, states: np.ndarray) -> np.ndarray:
        from models.crbm import CHORD_LAYOUT, states_to_visible

        visible = states_to_visible(CHORD_LAYOUT, np.asarray(states, np.int64))
        u = self.rbm.history_matrix(visible)
        # Pad to a multiple of 64 rows so that the tf.function sees few distinct shapes (no retracing).
        rows = len(u)
        padded = np.zeros((-(-rows // 64) * 64, u.shape[1]), np.float32)
        padded[:rows] = u
        return self.rbm.log_prob_all_states(padded).numpy()[:rows].astype(np.float64) / math.log(2.0)

    def log2_probs_next(self, history) -> np.ndarray:
        states = np.asarray([state_index(e) for e in history] if not isinstance(history, np.ndarray) else history,
                            np.int64)
        # Predict position len(history): append any state and read the last row.
        return self.log2_probs_sequence(np.concatenate([states, [0]]))[-1]


class MixtureNextChord:
    """Per-class next-chord models combined as a Bayesian mixture when the class is unknown.

    p(x_t | x_<t) = sum_c p(c | x_<t) p_c(x_t | x_<t), with p(c | x_<t) proportional to
    prior_c * p_c(x_<t): the exact sequential predictive distribution of the class mixture."""

    def __init__(self, models: Mapping[str, object], prior: Mapping[str, float] | None = None,
                 name: str = "mixture"):
        if not models:
            raise InvalidModelInput("a mixture needs at least one class model")
        self.models = dict(models)
        prior = prior or {c: 1.0 for c in self.models}
        total = sum(prior[c] for c in self.models)
        self.log2_prior = np.log2(np.asarray([prior[c] / total for c in self.models]))
        self.name = name

    def log2_probs_sequence(self, states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, np.int64)
        per_class = np.stack([sequence_log2_probs(m, states) for m in self.models.values()])  # (C, T, S)
        observed = per_class[:, np.arange(states.size), states]  # (C, T)
        prefix = np.concatenate([np.zeros((len(self.models), 1)), np.cumsum(observed, axis=1)[:, :-1]], axis=1)
        log_w = self.log2_prior[:, None] + prefix  # (C, T): log2 of prior * p_c(x_<t)
        log_w -= np.log2(np.exp2(log_w - log_w.max(0)).sum(0)) + log_w.max(0)
        top = per_class.max(axis=0)
        return top + np.log2(np.einsum("ct,cts->ts", np.exp2(log_w), np.exp2(per_class - top)))

    def log2_probs_next(self, history) -> np.ndarray:
        states = np.asarray([state_index(e) for e in history] if not isinstance(history, np.ndarray) else history,
                            np.int64)
        return self.log2_probs_sequence(np.concatenate([states, [0]]))[-1]


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
    tonic = TONIC_PC[_check_mode(mode)]
    qualities = _MAJOR_TONIC if mode == "major" else _MINOR_TONIC
    return event.root == tonic and event.quality in qualities


def is_cadence_approach(event: ChordEvent, mode: str) -> bool:
    """A chord that resolves to the tonic in a cadence: V, V7, vii(o) (authentic) or IV/iv (plagal)."""
    tonic = TONIC_PC[_check_mode(mode)]
    interval = (event.root - tonic) % 12
    return ((interval == 7 and event.quality in _DOMINANT)
            or (interval == 11 and event.quality in _LEADING_TONE)
            or (interval == 5 and event.quality in _SUBDOMINANT))


def ends_with_cadence(events: Sequence[ChordEvent], mode: str) -> bool:
    """True when the last chord is the tonic triad preceded by a dominant- or subdominant-function chord."""
    return len(events) >= 2 and is_tonic_chord(events[-1], mode) and is_cadence_approach(events[-2], mode)


def is_diatonic(event: ChordEvent, mode: str) -> bool:
    """Every pitch class of the chord (bass included) lies in the mode's scale (minor: natural or harmonic)."""
    tonic = TONIC_PC[_check_mode(mode)]
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
        states = [state_index(e) for e in events]
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
class ClassificationAccuracy:
    """Accuracy of choosing the class with the highest log-likelihood (uniform class prior)."""

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


def classification_accuracy(true_labels: Sequence[str], scores: Sequence[Mapping[str, float]]) -> ClassificationAccuracy:
    """Accuracy from per-clip log-likelihoods ``{class: log p(clip | class)}`` (natural log).

    Valence/arousal pick the group (e.g. Q1+Q4) with the larger total likelihood, i.e. the
    logsumexp of its classes' log-likelihoods (both groups have two classes, so the prior cancels)."""
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
    return ClassificationAccuracy(four / n, val / n, aro / n, n)
