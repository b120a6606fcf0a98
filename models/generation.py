"""The generator: a phrase-aware chord progression from the weighted product of the class CRBMs,
a POP909 pop expert and the mode expert, on a harmonic rhythm learned from POP909.

How a piece is made (``generate``):
1. The chord rhythm: the model folder's harmonic rhythm (models.harmonic_rhythm, fitted on POP909) at
   the performance's tempo - changes on the metrical grid, no chord of a bar or less straddling a bar
   line, nothing crossing a phrase boundary, the last chord on the last bar line held a bar. Folders
   without one use the classes' older rhythm tables (sample_rhythm). A previous rhythm (``rhythm=``,
   regenerate) is kept as it is.
2. The phrase plan: every PHRASE_BARS bars a phrase ends on a cadence target - the dominant (a half
   cadence) at the end of the first phrase of each pair, the tonic otherwise; the piece starts and
   ends on the tonic. Locked chords win over cadence targets.
3. Each chord is drawn exactly from the softmax over all S = 12 * Q * 12 chord states of
       sum_k a_k (-F_k(s | history)) / T  +  POP_WEIGHT (-F_pop(s | history))  +  mode expert  +  colour bias
   with a_k = (1+g) w_k - g / K: the class mixture guided away from what all classes share
   (p(x|c)^(1+g) / p(x)^g, models.guidance; g = 0 is the plain mixture). The pop expert is a CRBM of
   the same shape trained on POP909 (it knows pop's diatonic harmony and keeps long pieces in their
   key); all of them are stacked into one XLA-compiled logits call (ModelSet.generation_experts).
   A chord never repeats the one before it. The chord before a cadence target or a locked chord is
   drawn among the top candidates weighted by how likely each makes the following fixed chords.
4. Loop form: a ``loop_bars`` progression whose last chord leads back to its first, repeated; each
   repeat redraws an inner chord with probability LOOP_VARIATION; the last bar is the tonic.

The logits run in TensorFlow; the draws use a seeded numpy generator so that a seed gives the same
progression everywhere. A log-probability row depends only on the mixture and the history, so rows are
kept across generations with the same mixture (SHARED_ROWS): a next take or a regenerate with the same
mood recomputes only the histories it has not met (the same rows bit for bit: the same seed, the same chords).
"""
from __future__ import annotations

import hashlib
import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from models.chord_states import chord_from_state, chord_state_index
from models.errors import InvalidModelInput
from models.guidance import DEFAULT_CANDIDATES, check_guidance, colour_bias, contrastive_harmony_score
from models.metre import bar_position
from models.model_folder import ModelSet
from models.profiles import PROFILE_FEATURES
from models.vocabulary import FRAME_TONIC, QUALITY_BY_NAME, ChordEvent

MAX_BARS = 256
#: metre -> (quarter-note beats per bar, compound). 6/8: three quarters a bar felt as two dotted quarters.
METRES = {"4/4": (4, False), "3/4": (3, False), "6/8": (3, True)}
FORMS = ("through", "loop")
MODES = ("major", "minor")
PHRASE_BARS = 4  # bars per phrase; every phrase ends on a cadence target
#: Weight of the POP909 expert's -F in the product (not divided by the temperature). 0.5: the prototype's
#: choice (bench/RESULTS.md, "Pop expert for the phrase-aware prototype": keeps 8 bars 95 % diatonic).
POP_WEIGHT = 0.5
LOOP_VARIATION = 0.25  # loop form: chance that each inner chord of a repeat is drawn again
LOOKAHEAD_CANDIDATES = 12  # top-K candidates re-weighted by the following fixed chords (the batch size of a look-ahead)
LOOKAHEAD_MASS = 0.995  # ... or fewer: those that cover this much of the step's probability
#: Log-probability rows kept across generations per stacked experts (LRU; 16 KB a row): a row depends only on
#: the mixture (weights, temperature, guidance, mode, colour) and the history, so requests with the same mood
#: (regenerate, locks, the next take) reuse the previous ones' rows bit for bit. 0 turns sharing off.
SHARED_ROWS = 1024
_shared_rows: "weakref.WeakKeyDictionary[object, OrderedDict]" = weakref.WeakKeyDictionary()
TONIC_QUALITIES = {"major": ("maj", "maj7", "add9"), "minor": ("min", "min7")}
DOMINANT_QUALITIES = ("maj", "dom7", "sus4", "7sus4")


@dataclass(frozen=True)
class GenerationOptions:
    """What to generate (the composer fills it from the request and the settings)."""

    bars: int  # 1..MAX_BARS
    metre: str = "4/4"  # "4/4", "3/4" or "6/8" (6/8: 3 quarter-note beats per bar, compound)
    form: str = "through"  # "through" (through-composed) or "loop" (a short progression repeated with variation)
    loop_bars: int = 4  # loop form: bars of the repeated progression, 2 or 4
    mode: str | None = None  # "major" / "minor"; None: drawn from the classes' major shares
    tempo_bpm: float | None = None  # conditions the harmonic rhythm (20..300); None: the performance sample's
    temperature: float = 1.0  # divides the class experts' logits, 0.05..10
    guidance: float = 0.0  # g >= 0: p(x|c)^(1+g) / p(x)^g with p(x) the equal-weight classes (models.guidance)
    colour_chords: tuple = ()  # chords to favour, (root above the tonic, quality name) (models.guidance.colour_bias)
    colour_weight: float = 0.0  # extra logit (nats) of the colour chords, 0..10

    def validate(self) -> "GenerationOptions":
        """self, or InvalidModelInput naming the first bad field and what is allowed."""
        bars = self.bars
        if isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or not 1 <= bars <= MAX_BARS:
            raise InvalidModelInput(f"bars={bars!r} not allowed; allowed: an integer 1..{MAX_BARS}")
        if self.metre not in METRES:
            raise InvalidModelInput(f"metre {self.metre!r} not allowed; allowed: {list(METRES)}")
        if self.form not in FORMS:
            raise InvalidModelInput(f"form {self.form!r} not allowed; allowed: {list(FORMS)}")
        if isinstance(self.loop_bars, bool) or self.loop_bars not in (2, 4):
            raise InvalidModelInput(f"loop_bars={self.loop_bars!r} not allowed; allowed: 2 or 4")
        if self.mode not in (None, *MODES):
            raise InvalidModelInput(f"mode={self.mode!r} not allowed; allowed: 'major', 'minor' or None")
        _number(self.temperature, "temperature", 0.05, 10.0)
        if self.tempo_bpm is not None:
            _number(self.tempo_bpm, "tempo_bpm", 20.0, 300.0)
        check_guidance(self.guidance)
        _number(self.colour_weight, "colour_weight", 0.0, 10.0)
        try:
            for relative, quality in self.colour_chords:
                if quality not in QUALITY_BY_NAME or isinstance(relative, bool) or not isinstance(relative, (int, np.integer)):
                    raise ValueError
        except (TypeError, ValueError):
            raise InvalidModelInput(f"colour_chords={self.colour_chords!r} not allowed; allowed: (root above the tonic, "
                                    f"quality name) pairs, qualities {list(QUALITY_BY_NAME)}") from None
        return self

    @property
    def beats_per_bar(self) -> int:
        """Quarter-note beats per bar."""
        return METRES[self.metre][0]


def _number(value, name: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if isinstance(value, bool) or not low <= number <= high:
        raise InvalidModelInput(f"{name}={value!r} not allowed; allowed: a number {low:g}..{high:g}")
    return number


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

    events: tuple[ChordEvent, ...]  # durations in quarter beats, filling bars * beats_per_bar exactly
    mode: str  # "major" (tonic pitch class 0 = C) or "minor" (tonic 9 = A)
    performance: PerformanceSample
    metre: str = "4/4"  # "4/4", "3/4" or "6/8"
    beats_per_bar: int = 4  # quarter-note beats per bar: 4, 3, 3 (6/8)
    compound: bool = False  # 6/8: the bar's two beats are dotted quarters (at 0 and 1.5)
    phrase_ends: tuple[int, ...] = ()  # indices of the chords that end a phrase (cadence targets), the last included


def _log_softmax(x: np.ndarray) -> np.ndarray:
    m = x.max(axis=-1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def _state(root: int, quality: str, bass: int | None = None) -> int:
    return chord_state_index(ChordEvent(root % 12, QUALITY_BY_NAME[quality], (root if bass is None else bass) % 12, 1.0))


def tonic_states(mode: str) -> np.ndarray:
    """State indices of root-position tonic chords of the mode (the cadence targets)."""
    return np.asarray([_state(FRAME_TONIC[mode], q) for q in TONIC_QUALITIES[mode]])


def cadence_states(mode: str, kind: str) -> np.ndarray:
    """Root-position states of the tonic ("tonic") or the dominant ("dominant") of the mode."""
    if kind == "tonic":
        return tonic_states(mode)
    return np.asarray([_state(FRAME_TONIC[mode] + 7, q) for q in DOMINANT_QUALITIES])


# --------------------------------------------------------------------------------------------
# Validation of the regenerate inputs
def _check_rhythm_and_locks(model_set: ModelSet, total: float, locked, rhythm) -> tuple[list[float] | None, dict[int, int]]:
    durations = None
    if rhythm is not None:
        try:
            durations = [float(d) for d in rhythm]
        except (TypeError, ValueError):
            raise InvalidModelInput(f"rhythm={rhythm!r} not allowed; allowed: positive durations in beats") from None
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
    return durations, locked_states


# --------------------------------------------------------------------------------------------
# Rhythm
def sample_rhythm(model_set: ModelSet, weights: Mapping[str, float], total_beats: float, beats_per_bar: int,
                  rng: np.random.Generator) -> list[float]:
    """Chord durations (beats) from the mixed classes' older rhythm tables (learned on EMOPIA, half-beat
    positions), filling total_beats exactly: the rhythm of model folders without a harmonic rhythm."""
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


def _chord_rhythm(model_set: ModelSet, weights, options: GenerationOptions, bars: int, tempo: float,
                  rng: np.random.Generator, *, final_bars: int = 1, phrase_bars: int = PHRASE_BARS) -> list[float]:
    """Durations in quarter beats of ``bars`` bars: the folder's harmonic rhythm, else the older tables."""
    bpb = options.beats_per_bar
    rhythm = model_set.harmonic_rhythm
    if rhythm is None:  # older folders: the EMOPIA tables, the last chord still held from the last bar line
        final_bars = min(final_bars, bars - 1)
        body = sample_rhythm(model_set, weights, float((bars - final_bars) * bpb), bpb, rng)
        return body + ([float(final_bars * bpb)] if final_bars > 0 else [])
    # the harmonic rhythm counts 6/8 in dotted-quarter beats (as POP909 annotates it)
    quarter = 1.5 if options.metre == "6/8" else 1.0
    return [d * quarter for d in rhythm.sample(bars, options.metre, rng, final_bars=final_bars,
                                               phrase_bars=phrase_bars, tempo_bpm=tempo)]


def _phrase_ends(durations: Sequence[float], bpb: int, phrase_bars: int = PHRASE_BARS) -> list[int]:
    """Indices of the chords that end exactly on a phrase boundary (or end the piece)."""
    ends, onset, span = [], 0.0, float(bpb * phrase_bars)
    for i, d in enumerate(durations):
        onset += d
        if abs(onset / span - round(onset / span)) < 1e-9 or i == len(durations) - 1:
            ends.append(i)
    return ends


# --------------------------------------------------------------------------------------------
# Sampling
class _Sampler:
    """The product of experts of one composition, step by step."""

    def __init__(self, model_set: ModelSet, weights: Mapping[str, float], mode: str, options: GenerationOptions,
                 rng: np.random.Generator):
        self.experts, has_pop = model_set.generation_experts()
        names = model_set.class_names
        g = float(options.guidance)
        w = np.asarray([weights[n] for n in names], np.float64)
        # guidance: (1+g) sum_k w_k log p_k - g sum_k log p_k / K = sum_k ((1+g) w_k - g/K) (-F_k) + const
        class_part = ((1.0 + g) * w - g / len(names)) / float(options.temperature)
        self.w = np.concatenate([class_part, [POP_WEIGHT]]) if has_pop else class_part
        self.bias = (mode_expert(model_set, weights, mode, float(options.temperature))
                     + colour_bias(mode, tuple(options.colour_chords), float(options.colour_weight)))
        self.rng = rng
        self._cache: dict[tuple, np.ndarray] = {}  # the experts' view of a history -> its log-probability row
        # the same mixture in another generation computes the same rows: share them (see SHARED_ROWS)
        self._mixture = hashlib.sha1(np.asarray(self.w, np.float64).tobytes()
                                     + np.asarray(self.bias, np.float64).tobytes()).digest()
        self._shared = _shared_rows.setdefault(self.experts, OrderedDict()) if SHARED_ROWS > 0 else None

    def log_probs(self, histories: list[list[int]]) -> np.ndarray:
        """(N, S) log p(next state | history) of the product, for N histories. Rows are cached by the
        states the experts see (a look-ahead's chosen candidate is the next step's history; loops repeat)."""
        context = self.experts.context
        keys = [tuple(h[-context:]) if context else () for h in histories]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing and self._shared is not None:
            for key in missing:
                row = self._shared.get((self._mixture, key))
                if row is not None:
                    self._cache[key] = row
                    try:
                        self._shared.move_to_end((self._mixture, key))
                    except KeyError:  # evicted meanwhile by a generation on another thread: the row is still ours
                        pass
            missing = [k for k in missing if k not in self._cache]
        if missing:
            u = np.stack([self.experts.history_vector(list(k)) for k in missing])
            n = len(u)
            if n > 1:  # XLA compiles once per batch shape: look-ahead batches are padded to multiples of the candidates
                size = -(-n // LOOKAHEAD_CANDIDATES) * LOOKAHEAD_CANDIDATES
                u = np.concatenate([u, np.zeros((size - n, u.shape[1]), u.dtype)])
            rows = _log_softmax(self.experts.logits(u, self.w, 1.0)[:n] + self.bias)
            rows.setflags(write=False)  # shared across generations: nobody may change a row in place
            self._cache.update(zip(missing, rows))
            if self._shared is not None:
                for key, row in zip(missing, rows):
                    own = row.copy()  # not a view: an evicted batch must not stay alive through one row
                    own.setflags(write=False)
                    self._shared[(self._mixture, key)] = own
                while len(self._shared) > SHARED_ROWS:
                    try:
                        self._shared.popitem(last=False)
                    except KeyError:  # emptied meanwhile by another thread
                        break
        return np.stack([self._cache[k] for k in keys])

    def draw(self, history: list[int], allowed: np.ndarray | None = None,
             chain: Sequence[np.ndarray] = (), avoid: int | None = None) -> int:
        """One state after ``history``: from ``allowed`` when given, not ``avoid``; ``chain``: the fixed
        chords right after it (state sets), whose likelihood re-weights the top candidates."""
        log_p = self.log_probs([history])[0]
        if allowed is not None:
            mask = np.full_like(log_p, -np.inf)
            mask[allowed] = 0.0
            log_p = log_p + mask
        if avoid is not None and np.isfinite(log_p).sum() > 1:
            log_p[avoid] = -np.inf  # the training data never repeats a chord (repeats are merged)
        if chain:
            candidates = np.argsort(log_p)[::-1][:LOOKAHEAD_CANDIDATES]
            candidates = candidates[np.isfinite(log_p[candidates])]
            covered = np.cumsum(np.exp(log_p[candidates] - np.logaddexp.reduce(log_p[candidates])))
            candidates = candidates[:int(np.searchsorted(covered, LOOKAHEAD_MASS)) + 1]
            score = log_p[candidates] + self._lookahead(history, candidates, chain)
            p = np.exp(score - score.max())
            return int(candidates[self.rng.choice(len(candidates), p=p / p.sum())])
        p = np.exp(log_p - log_p.max())
        return int(self.rng.choice(len(p), p=p / p.sum()))

    def _lookahead(self, history: list[int], candidates: np.ndarray, chain: Sequence[np.ndarray]) -> np.ndarray:
        """log P(the chain's targets | history + candidate), per candidate (a set's states summed)."""
        score = np.zeros(len(candidates))
        for step, targets in enumerate(chain):
            fixed = [int(chain[i][0]) for i in range(step)]
            ahead = self.log_probs([history + [int(c)] + fixed for c in candidates])
            score += np.logaddexp.reduce(ahead[:, targets], axis=1)
        return score


def _following(t: int, n: int, fixed: Mapping[int, np.ndarray], locked: Mapping[int, int], context: int) -> list[np.ndarray]:
    """The fixed chords right after position t that the choice at t influences: consecutive locked
    chords within the history, or one cadence target."""
    chain = []
    for j in range(t + 1, min(n, t + 1 + context)):
        if j in locked:
            chain.append(np.asarray([locked[j]]))
        elif j in fixed:
            chain.append(fixed[j])
            break
        else:
            break
    return chain


# --------------------------------------------------------------------------------------------
def generate(model_set: ModelSet, class_weights: Mapping[str, float], options: GenerationOptions, *,
             seed: int | None = None, locked: Mapping[int, ChordEvent] | None = None,
             rhythm: Sequence[float] | None = None) -> Generation:
    """A chord progression shaped by ``options`` (see the module doc). ``rhythm``: a previous chord rhythm
    in quarter beats to keep (regenerate); ``locked``: {chord index: ChordEvent} kept as they are."""
    weights = model_set.validate_weights(class_weights)  # the models layer's one check; trusted below
    if not isinstance(options, GenerationOptions):
        raise InvalidModelInput(f"options {options!r} not allowed; allowed: a models.generation.GenerationOptions")
    options.validate()
    bpb, compound = METRES[options.metre]
    durations, locked_states = _check_rhythm_and_locks(model_set, float(options.bars * bpb), locked, rhythm)
    rng = np.random.default_rng(seed)
    mode = options.mode
    if mode is None:
        p_major = sum(w * model_set.parameters[n].major_share for n, w in weights.items())
        mode = "major" if rng.random() < p_major else "minor"
    performance = _draw_performance(model_set, weights, rng)
    tempo = float(options.tempo_bpm) if options.tempo_bpm is not None else performance.tempo_bpm
    sampler = _Sampler(model_set, weights, mode, options, rng)
    tonic, dominant = cadence_states(mode, "tonic"), cadence_states(mode, "dominant")
    if options.form == "loop" and options.bars > options.loop_bars and durations is None:
        states, durations, ends = _loop(sampler, model_set, weights, options, tonic, rng, tempo)
    else:
        if durations is None:
            durations = _chord_rhythm(model_set, weights, options, options.bars, tempo, rng)
        n = len(durations)
        ends = _phrase_ends(durations, bpb)
        fixed: dict[int, np.ndarray] = {0: tonic}
        for number, index in enumerate(ends):
            last = index == n - 1
            fixed[index] = dominant if number % 2 == 0 and not last else tonic
        for index in locked_states:  # locks win over cadence targets
            fixed.pop(index, None)
        states: list[int] = []
        for t in range(n):
            if t in locked_states:
                states.append(locked_states[t])
                continue
            chain = _following(t, n, fixed, locked_states, sampler.experts.context)
            states.append(sampler.draw(states, fixed.get(t), chain, states[-1] if states else None))
    events = tuple(chord_from_state(s, float(d)) for s, d in zip(states, durations))
    return Generation(events=events, mode=mode, performance=performance, metre=options.metre, beats_per_bar=bpb,
                      compound=compound, phrase_ends=tuple(ends))


def _loop(sampler: _Sampler, model_set: ModelSet, weights, options: GenerationOptions, tonic: np.ndarray,
          rng: np.random.Generator, tempo: float) -> tuple[list[int], list[float], list[int]]:
    """The loop form: (states, durations in quarter beats, phrase-end indices)."""
    bpb = options.beats_per_bar
    loop_durations = _chord_rhythm(model_set, weights, options, options.loop_bars, tempo, rng, final_bars=0,
                                   phrase_bars=options.loop_bars)
    loop: list[int] = []
    for t in range(len(loop_durations)):
        allowed = tonic if t == 0 else None
        # the loop's last chord leads back to its first
        chain = [np.asarray([loop[0]])] if t == len(loop_durations) - 1 and t > 0 else ()
        loop.append(sampler.draw(loop, allowed, chain, loop[-1] if loop else None))
    if len(loop) > 1 and loop[-1] == loop[0]:
        loop[-1] = sampler.draw(loop[:-1], None, (), loop[0])
    body = (options.bars - 1) * bpb  # the last bar is the tonic cadence
    states: list[int] = []
    durations: list[float] = []
    ends: list[int] = []
    onset = 0.0
    repeat = 0
    while onset < body - 1e-9:
        for i, (state, d) in enumerate(zip(loop, loop_durations)):
            if onset >= body - 1e-9:
                break
            d = min(d, body - onset)
            inner = 0 < i < len(loop) - 1
            if repeat > 0 and inner and rng.random() < LOOP_VARIATION:
                state = sampler.draw(states, None, [np.asarray([loop[i + 1]])], states[-1])
            if states and state == states[-1]:  # a redraw or a cut can repeat the previous chord: merge
                durations[-1] += d
            else:
                states.append(state)
                durations.append(d)
            onset += d
        ends.append(len(states) - 1)
        repeat += 1
    if states[-1] in tonic:
        durations[-1] += bpb
    else:
        states.append(sampler.draw(states, tonic, (), states[-1]))
        durations.append(float(bpb))
    ends[-1:] = [len(states) - 1]
    return states, durations, sorted(set(ends))


def reranked_generate(model_set: ModelSet, class_weights: Mapping[str, float], options: GenerationOptions, *,
                      candidates: int = DEFAULT_CANDIDATES, seed: int | None = None) -> tuple[Generation, list[float]]:
    """The best of ``candidates`` generations (seeds derived from ``seed``) by the class CRBMs' contrastive
    harmony score (models.guidance.contrastive_harmony_score); returns it and every candidate's score."""
    if isinstance(candidates, bool) or not isinstance(candidates, (int, np.integer)) or not 1 <= candidates <= 64:
        raise InvalidModelInput(f"candidates {candidates!r} not allowed; allowed: an integer 1..64")
    base = np.random.default_rng(seed).integers(0, 2**31 - 1)
    drawn, scores = [], []
    for index in range(int(candidates)):
        generation = generate(model_set, class_weights, options, seed=int(base) + 7919 * index)
        drawn.append(generation)
        scores.append(contrastive_harmony_score(model_set, class_weights, generation.events))
    return drawn[int(np.argmax(scores))], scores


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
