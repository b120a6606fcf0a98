"""Chord-by-chord generation from a weighted product of the class CRBMs.

At every step the logit of each of the S = 12 * Q * 12 chord states is the weighted sum of the
class experts' negative free energies given the history (a product of experts: the visible
units' input is the weighted sum of the experts' inputs), divided by the temperature; the next
chord is drawn exactly from the softmax over all states (no Gibbs chain). The logits are
computed by a ``tf.function`` (on the GPU where there is one); the draw itself uses a seeded numpy
generator so that a seed gives the same progression everywhere.

Constraints:
* durations come from the mixed classes' harmonic-rhythm tables and fill the bars exactly;
* ``mode`` (sampled from the classes' major shares when None) puts a root-position tonic chord of
  that mode first and last (cadence); the chord before the last is weighted by how likely the
  model makes a tonic chord after it;
* a chord never repeats the one before it (as in the training data, where repeats are merged);
* ``locked`` chords are kept; an unlocked chord right before locked ones is drawn from the
  top-K candidates, each weighted by the likelihood of the following locked chords given it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from models.chord_states import chord_from_state, chord_state_index
from models.errors import InvalidModelInput
from models.metre import bar_position
from models.model_folder import ModelSet
from models.profiles import PROFILE_FEATURES
from models.vocabulary import FRAME_TONIC, QUALITY_BY_NAME, ChordEvent

MAX_BARS = 64
LOOKAHEAD_CANDIDATES = 8  # top-K candidates re-weighted by the following fixed chords
LOOKAHEAD_MASS = 0.995  # ... or fewer: those that cover this much of the step's probability
TONIC_QUALITIES = {"major": ("maj", "maj7", "add9"), "minor": ("min", "min7")}
MODES = ("major", "minor")


@dataclass(frozen=True)
class PerformanceSample:
    """How to play the progression, drawn from the mixed classes' performance profiles."""

    tempo_bpm: float  # beats per minute
    notes_per_second: float  # note onsets per second in the accompaniment
    velocity: float  # mean MIDI velocity, 1..127
    note_length_s: float  # mean note length in seconds
    register: float  # mean MIDI pitch of the accompaniment
    legato: float  # share of note time overlapped by the next note, 0..1


@dataclass(frozen=True)
class Generation:
    """A generated progression in the key-normalised frame."""

    events: tuple[ChordEvent, ...]  # durations fill bars * beats_per_bar beats exactly
    mode: str  # "major" (tonic pitch class 0 = C) or "minor" (tonic 9 = A)
    performance: PerformanceSample


def _experts(model_set: ModelSet):
    """The model set's class CRBMs stacked for fast mixed logits (built once, cached by the ModelSet)."""
    return model_set.experts()


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def tonic_states(mode: str) -> np.ndarray:
    """State indices of root-position tonic chords of the mode (the cadence targets)."""
    return np.asarray([chord_state_index(ChordEvent(FRAME_TONIC[mode], QUALITY_BY_NAME[q], FRAME_TONIC[mode], 1.0))
                       for q in TONIC_QUALITIES[mode]])


# --------------------------------------------------------------------------------------------
# Validation
def _check_options(model_set: ModelSet, bars, beats_per_bar, temperature, mode, locked, rhythm) -> tuple:
    if isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or not 1 <= bars <= MAX_BARS:
        raise InvalidModelInput(f"bars={bars!r} not allowed; allowed: an integer 1..{MAX_BARS}")
    if isinstance(beats_per_bar, bool) or not isinstance(beats_per_bar, (int, np.integer)) or not 1 <= beats_per_bar <= 12:
        raise InvalidModelInput(f"beats_per_bar={beats_per_bar!r} not allowed; allowed: an integer 1..12")
    try:
        temperature = float(temperature)
    except (TypeError, ValueError):
        raise InvalidModelInput(f"temperature={temperature!r} not allowed; allowed: a number 0.05..10") from None
    if not 0.05 <= temperature <= 10:
        raise InvalidModelInput(f"temperature={temperature!r} not allowed; allowed: a number 0.05..10")
    if mode not in (None, *MODES):
        raise InvalidModelInput(f"mode={mode!r} not allowed; allowed: 'major', 'minor' or None")
    total = float(bars * beats_per_bar)
    durations = None
    if rhythm is not None:
        durations = [float(d) for d in rhythm]
        if not durations or any(not math.isfinite(d) or d <= 0 for d in durations):
            raise InvalidModelInput(f"rhythm={list(rhythm)!r} not allowed; allowed: positive durations in beats")
        if abs(sum(durations) - total) > 1e-6:
            raise InvalidModelInput(f"rhythm sums to {sum(durations)} beats; allowed: exactly bars * beats_per_bar = {total:g}")
    locked_states: dict[int, int] = {}
    n_qualities = int(model_set.config["layout"]["group_sizes"][1])
    for index, event in dict(locked or {}).items():
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise InvalidModelInput(f"locked chord index {index!r} not allowed; allowed: an integer >= 0")
        if durations is None:
            raise InvalidModelInput("locked chords need the previous rhythm (rhythm=...) so that indices stay put")
        if index >= len(durations):
            raise InvalidModelInput(f"locked chord index {index} not allowed; allowed: 0..{len(durations) - 1}")
        if (not isinstance(event, ChordEvent) or not 0 <= event.root < 12 or not 0 <= event.bass < 12
                or not 0 <= event.quality < n_qualities):
            raise InvalidModelInput(f"locked chord {event!r} not allowed; allowed: a ChordEvent with root/bass 0..11 "
                                    f"and quality 0..{n_qualities - 1}")
        locked_states[int(index)] = chord_state_index(event)
    return temperature, durations, locked_states


# --------------------------------------------------------------------------------------------
# Rhythm
def sample_rhythm(model_set: ModelSet, weights: Mapping[str, float], total_beats: float, beats_per_bar: int,
                  rng: np.random.Generator) -> list[float]:
    """Chord durations (beats) from the mixed classes' rhythm tables, filling total_beats exactly."""
    tables, mix = [], []
    for name, w in weights.items():
        if w > 0:
            p = model_set.parameters[name]
            tables.append(p.rhythm_probabilities)
            mix.append(w)
            durations = np.asarray(p.rhythm_durations)
    table = sum(w * t for w, t in zip(mix, tables))
    n_pos = table.shape[0]
    out, onset = [], 0.0
    while total_beats - onset > 1e-9:
        remaining = total_beats - onset
        pos = bar_position(onset, beats_per_bar, n_pos)
        probs = np.where(durations <= remaining + 1e-9, table[pos], 0.0)
        if probs.sum() <= 0:  # nothing in the table fits: fill with what is left
            out.append(remaining)
            break
        d = float(rng.choice(durations, p=probs / probs.sum()))
        out.append(d)
        onset += d
    return out


# --------------------------------------------------------------------------------------------
def generate(
    model_set: ModelSet,
    class_weights: Mapping[str, float],
    *,
    bars: int,
    beats_per_bar: int = 4,
    temperature: float = 1.0,
    seed: int | None = None,
    mode: str | None = None,
    locked: Mapping[int, ChordEvent] | None = None,
    rhythm: Sequence[float] | None = None,
) -> Generation:
    """A chord progression from the weighted product of the class experts (see the module doc)."""
    weights = model_set.validate_weights(class_weights)  # the models layer's one check; trusted below
    temperature, durations, locked_states = _check_options(model_set, bars, beats_per_bar, temperature, mode, locked, rhythm)
    rng = np.random.default_rng(seed)
    if mode is None:
        p_major = sum(w * model_set.parameters[n].major_share for n, w in weights.items())
        mode = "major" if rng.random() < p_major else "minor"
    total = float(bars * beats_per_bar)
    if durations is None:
        durations = sample_rhythm(model_set, weights, total, beats_per_bar, rng)
    experts = _experts(model_set)
    w_vec = np.asarray([weights[n] for n in model_set.class_names], np.float64)
    n = len(durations)
    tonic = tonic_states(mode)
    # Fixed targets: locked states, and the cadence set at the end (tonic first and last).
    allowed: dict[int, np.ndarray] = {}
    if 0 not in locked_states:
        allowed[0] = tonic
    if n - 1 not in locked_states:
        allowed[n - 1] = tonic

    mode_bias = mode_expert(model_set, weights, mode, temperature)
    states: list[int] = []
    for t in range(n):
        if t in locked_states:
            states.append(locked_states[t])
            continue
        logits = experts.logits(experts.history_vector(states)[None], w_vec, temperature)[0] + mode_bias
        if t in allowed:
            mask = np.full(experts.n_states, -np.inf)
            mask[allowed[t]] = 0.0
            logits = logits + mask
        if states and np.isfinite(logits).sum() > 1:
            logits[states[-1]] = -np.inf  # the training data never repeats a chord (repeats are merged)
        log_p = _log_softmax(logits)
        chain = _following_targets(t, n, locked_states, allowed, experts.context)
        if chain:
            candidates = np.argsort(log_p)[::-1][:LOOKAHEAD_CANDIDATES]
            candidates = candidates[np.isfinite(log_p[candidates])]
            covered = np.cumsum(np.exp(log_p[candidates]))
            candidates = candidates[:int(np.searchsorted(covered, LOOKAHEAD_MASS)) + 1]
            score = log_p[candidates] + _lookahead(experts, states, candidates, chain, w_vec, temperature)
            probs = np.exp(score - score.max())
            states.append(int(candidates[rng.choice(len(candidates), p=probs / probs.sum())]))
        else:
            probs = np.exp(log_p - log_p.max())
            states.append(int(rng.choice(experts.n_states, p=probs / probs.sum())))
    events = tuple(chord_from_state(s, d) for s, d in zip(states, durations))
    return Generation(events=events, mode=mode, performance=_draw_performance(model_set, weights, rng))


#: Weight of the mode expert (below): chosen on EMOPIA train so that music21 reads the generated
#: progressions' mode like the training clips' (bench/mode_expert.py, 100 progressions per class and
#: weight: the largest gap 6 points at 1.25, 8-11 at 0.5, 1, 1.5, 2; bench/RESULTS.md, "Mode expert weight").
MODE_EXPERT_WEIGHT = 1.25


def mode_expert(model_set: ModelSet, weights: Mapping[str, float], mode: str, temperature: float = 1.0) -> np.ndarray:
    """Per chord state, the extra logit that keeps a progression in its mode: MODE_EXPERT_WEIGHT x
    half the log-ratio log P(chord | mode) - log P(chord | other mode), mixed over the classes.

    Why: the class CRBMs are trained on key-normalised chords of major and minor clips alike
    (C major and A minor share one scale), and only the first and last chords are fixed to the
    mode's tonic; a strong chord-to-chord memory then drifts to the relative key. Zeros for model
    folders trained before the table existed."""
    tables = [(w, model_set.parameters[n].mode_chord_log_probs) for n, w in weights.items() if w > 0]
    if any(table is None for _, table in tables):
        return np.zeros(int(np.prod(model_set.config["layout"]["group_sizes"])))
    row = 0 if mode == "major" else 1
    ratio = sum(w * (table[row] - table[1 - row]) for w, table in tables)
    return MODE_EXPERT_WEIGHT * 0.5 * np.asarray(ratio, np.float64) / temperature


def _following_targets(t: int, n: int, locked: Mapping[int, int], allowed: Mapping[int, np.ndarray],
                       history: int) -> list[tuple[int, np.ndarray]]:
    """The fixed chords right after position t that the choice at t influences (within the history)."""
    chain = []
    for j in range(t + 1, min(n, t + 1 + history)):
        if j in locked:
            chain.append((j, np.asarray([locked[j]])))
        elif j in allowed and j == n - 1:
            chain.append((j, allowed[j]))
            break
        else:
            break
    return chain


def _lookahead(experts, states: list[int], candidates: np.ndarray, chain, w_vec, temperature) -> np.ndarray:
    """log P(the chain's targets | prefix + candidate), per candidate (targets as sets: summed)."""
    score = np.zeros(len(candidates))
    for step, (_, targets) in enumerate(chain):
        u = np.stack([experts.history_vector(states + [int(c)] + [int(chain[i][1][0]) for i in range(step)])
                      for c in candidates])
        log_p = _log_softmax(experts.logits(u, w_vec, temperature))
        score += np.logaddexp.reduce(log_p[:, targets], axis=1)
    return score


# --------------------------------------------------------------------------------------------
#: How much of a density difference shows as tempo (the rest as notes per beat): 0 = all classes
#: at the corpus tempo, 1 = every class at the corpus's notes per beat. 0.75 puts the EMOPIA
#: quadrants' medians near 135 / 160 / 85 / 83 BPM (Q1..Q4), ballad-to-uptempo pop tempos.
TEMPO_DENSITY_EXPONENT = 0.75


def tempo_for_density(model_set: ModelSet, notes_per_second: float) -> float:
    """The tempo (BPM) a performance of this density is played at.

    Why not the tracked tempo: tempo tracked from note onsets is ambiguous by octaves (a slow
    piece reads as its double time), and on EMOPIA it does not separate the classes at all
    (medians 109-115 BPM in every quadrant), while note density does (4.3 vs 8-10 notes/s).
    So tempo follows density around the corpus's typical tempo and density (geometric means
    over the class profiles): sparse, calm classes come out slow, dense ones fast.
    """
    names = [feature for feature, _ in PROFILE_FEATURES]
    density, tempo = names.index("notes_per_second"), names.index("tempo_bpm")
    means = [params.profile_mean for params in model_set.parameters.values()]
    log_density0 = float(np.mean([m[density] for m in means]))  # both features are stored as logs
    log_tempo0 = float(np.mean([m[tempo] for m in means]))
    log_tempo = log_tempo0 + TEMPO_DENSITY_EXPONENT * (math.log(max(notes_per_second, 1e-3)) - log_density0)
    return float(np.clip(math.exp(log_tempo), 50.0, 180.0))


def sample_performance(model_set: ModelSet, class_weights: Mapping[str, float],
                       rng: np.random.Generator | None = None) -> PerformanceSample:
    """One draw from the weighted mixture of the classes' performance Gaussians."""
    return _draw_performance(model_set, model_set.validate_weights(class_weights),
                             rng if rng is not None else np.random.default_rng())


def _draw_performance(model_set: ModelSet, weights: Mapping[str, float], rng: np.random.Generator) -> PerformanceSample:
    """sample_performance for weights already validated (generate checks them once at its entry)."""
    names = [n for n in model_set.class_names if weights[n] > 0]
    name = names[int(rng.choice(len(names), p=np.asarray([weights[n] for n in names])))]
    params = model_set.parameters[name]
    x = rng.multivariate_normal(params.profile_mean, params.profile_cov)
    values = {}
    for (feature, transform), value in zip(PROFILE_FEATURES, x):
        values[feature] = math.exp(value) if transform == "log" else float(value)
    return PerformanceSample(
        tempo_bpm=tempo_for_density(model_set, values["notes_per_second"]),
        notes_per_second=float(np.clip(values["notes_per_second"], 0.5, 30.0)),
        velocity=float(np.clip(values["mean_velocity"], 1.0, 127.0)),
        note_length_s=float(np.clip(values["mean_note_length_s"], 0.05, 4.0)),
        register=float(np.clip(values["mean_pitch"], 36.0, 84.0)),
        legato=float(np.clip(values["legato"], 0.0, 1.0)),
    )
