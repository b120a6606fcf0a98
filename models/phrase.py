"""Bar- and phrase-aware generation (issue 15 prototype): the class CRBMs sampled on a POP909-learned
harmonic rhythm, with planned cadences, a POP909 "pop" expert that keeps the key, and a loop form.

How a piece is made (``compose_form``):
1. The chord rhythm comes from models.harmonic_rhythm at the performance's tempo (changes on the
   metrical grid, no chord of a bar or less straddling a bar line, nothing crossing a phrase boundary,
   the last chord held a bar).
2. The phrase plan: every ``phrase_bars`` bars a phrase ends on a cadence target - the dominant
   (a half cadence) at the end of the first phrase of each pair when ``half_cadences``, the tonic
   otherwise; the piece starts and ends on the tonic.
3. Each chord is drawn exactly over all chord states from the product of experts
       w . (-F_class(s | history)) / T  +  mode expert  +  pop_weight * log p_pop(s | previous chord)
   (the class CRBMs as models.generation mixes them; the pop expert is any next-chord model trained
   on POP909, e.g. research.baselines.KneserNeyModel; it knows pop's diatonic harmony, which keeps long
   pieces in their key). The chord before a cadence target is drawn among the top candidates
   weighted by how likely each makes the target (look-ahead), as models.generation does for locks.
4. Loop form: a ``loop_bars`` progression whose last chord leads back to its first, repeated; each
   repeat redraws an inner chord with probability ``variation``; the last bar is the tonic.

Prototype status: lives beside models.generation (not yet used by assistant.composer); see the
integration plan in the issue-15 report.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from models.errors import InvalidModelInput
from models.harmonic_rhythm import METRES, HarmonicRhythm
from models.vocabulary import QUALITY_BY_NAME, ChordEvent

MAX_BARS = 256
TONIC = {"major": 0, "minor": 9}  # key-normalised tonic (C major / A minor frame)
DOMINANT_QUALITIES = ("maj", "dom7", "sus4", "7sus4")
LOOKAHEAD_CANDIDATES = 12
FORMS = ("through", "loop")


@dataclass(frozen=True)
class FormOptions:
    """How the piece is shaped."""

    bars: int = 8  # 1..MAX_BARS
    metre: str = "4/4"  # "4/4", "3/4" or "6/8" (models.harmonic_rhythm.METRES)
    form: str = "through"  # "through" (through-composed) or "loop" (a short progression repeated with variation)
    loop_bars: int = 4  # loop form: bars of the repeated progression, 2 or 4
    phrase_bars: int = 4  # bars per phrase; every phrase ends on a cadence target
    half_cadences: bool = True  # the first phrase of each pair ends on the dominant instead of the tonic
    pop_weight: float = 0.5  # weight of the POP909 expert's log-probabilities in the product (0: class CRBMs only)
    temperature: float = 1.0  # class experts' temperature, 0.05..10
    mode: str | None = None  # "major" / "minor"; None: drawn from the classes' major shares
    tempo_bpm: float | None = None  # the tempo the chords are played at (chord lengths follow it); None: the performance's
    variation: float = 0.25  # loop form: chance that each inner chord of a repeat is drawn again

    def validate(self) -> "FormOptions":
        if isinstance(self.bars, bool) or not isinstance(self.bars, (int, np.integer)) or not 1 <= self.bars <= MAX_BARS:
            raise InvalidModelInput(f"bars={self.bars!r} not allowed; allowed: an integer 1..{MAX_BARS}")
        if self.metre not in METRES:
            raise InvalidModelInput(f"metre {self.metre!r} not allowed; allowed: {list(METRES)}")
        if self.form not in FORMS:
            raise InvalidModelInput(f"form {self.form!r} not allowed; allowed: {list(FORMS)}")
        if self.loop_bars not in (2, 4):
            raise InvalidModelInput(f"loop_bars={self.loop_bars!r} not allowed; allowed: 2 or 4")
        if self.phrase_bars not in (2, 4, 8):
            raise InvalidModelInput(f"phrase_bars={self.phrase_bars!r} not allowed; allowed: 2, 4 or 8")
        if not 0.05 <= float(self.temperature) <= 10:
            raise InvalidModelInput(f"temperature={self.temperature!r} not allowed; allowed: 0.05..10")
        if not 0.0 <= float(self.pop_weight) <= 5.0:
            raise InvalidModelInput(f"pop_weight={self.pop_weight!r} not allowed; allowed: 0..5")
        if self.tempo_bpm is not None and not 20.0 <= float(self.tempo_bpm) <= 300.0:
            raise InvalidModelInput(f"tempo_bpm={self.tempo_bpm!r} not allowed; allowed: 20..300 or None")
        if not 0.0 <= float(self.variation) <= 1.0:
            raise InvalidModelInput(f"variation={self.variation!r} not allowed; allowed: 0..1")
        if self.mode not in (None, "major", "minor"):
            raise InvalidModelInput(f"mode={self.mode!r} not allowed; allowed: 'major', 'minor' or None")
        return self


@dataclass(frozen=True)
class FormGeneration:
    """A generated progression in the key-normalised frame, with its form."""

    events: tuple[ChordEvent, ...]  # durations in quarter notes, filling bars * beats_per_bar exactly
    mode: str  # "major" (tonic 0) or "minor" (tonic 9)
    metre: str  # "4/4", "3/4" or "6/8"
    beats_per_bar: int  # quarter-note beats per bar, as assistant.music.Progression counts them: 4, 3, 3 (6/8)
    compound: bool  # 6/8: the bar's two beats are dotted quarters (at 0 and 1.5)
    phrase_ends: tuple[int, ...]  # indices of the chords that end a phrase (cadence targets), the last included
    performance: object  # models.generation.PerformanceSample


def _state(root: int, quality: str, bass: int | None = None) -> int:
    from models.chord_states import chord_state_index

    return chord_state_index(ChordEvent(root % 12, QUALITY_BY_NAME[quality], (root if bass is None else bass) % 12, 1.0))


def cadence_states(mode: str, kind: str) -> np.ndarray:
    """Root-position states of the tonic ("tonic") or the dominant ("dominant") of the mode."""
    from models.generation import tonic_states

    if kind == "tonic":
        return tonic_states(mode)
    root = (TONIC[mode] + 7) % 12
    return np.asarray([_state(root, q) for q in DOMINANT_QUALITIES])


class _Sampler:
    """The product of experts of one composition, step by step."""

    def __init__(self, model_set, weights: Mapping[str, float], mode: str, options: FormOptions, pop, rng):
        from models.generation import mode_expert

        self.experts = model_set.experts()
        self.w = np.asarray([weights[n] for n in model_set.class_names], np.float64)
        self.temperature = float(options.temperature)
        self.bias = mode_expert(model_set, weights, mode, self.temperature)
        self.pop = pop
        self.pop_weight = float(options.pop_weight)
        self.rng = rng
        self._pop_context = max(1, int(getattr(pop, "order", 2)) - 1)  # previous states the pop expert sees
        self._pop_logits: dict[tuple, np.ndarray] = {}  # its context -> pop_weight * log p_pop

    def _pop_row(self, history: list[int]) -> np.ndarray:
        key = tuple(history[-self._pop_context:])
        row = self._pop_logits.get(key)
        if row is None:
            row = self.pop_weight * np.log(self.pop.probs_next(np.asarray(key, np.int64)))
            self._pop_logits[key] = row
        return row

    def log_probs(self, histories: list[list[int]]) -> np.ndarray:
        """(N, S) log p(next state | history) of the product, for N histories."""
        u = np.stack([self.experts.history_vector(h) for h in histories])
        logits = self.experts.logits(u, self.w, self.temperature) + self.bias
        if self.pop is not None and self.pop_weight > 0:
            logits = logits + np.stack([self._pop_row(h) for h in histories])
        return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)

    def draw(self, history: list[int], allowed: np.ndarray | None = None, following: np.ndarray | None = None,
             avoid: int | None = None) -> int:
        """One state after ``history``: from ``allowed`` when given, not ``avoid``; when ``following`` is
        given, the top candidates are re-weighted by the probability that the next chord is in it."""
        log_p = self.log_probs([history])[0]
        if allowed is not None:
            mask = np.full_like(log_p, -np.inf)
            mask[allowed] = 0.0
            log_p = log_p + mask
        if avoid is not None and np.isfinite(log_p).sum() > 1:
            log_p[avoid] = -np.inf
        if following is not None:
            candidates = np.argsort(log_p)[::-1][:LOOKAHEAD_CANDIDATES]
            candidates = candidates[np.isfinite(log_p[candidates])]
            ahead = self.log_probs([history + [int(c)] for c in candidates])
            score = log_p[candidates] + np.logaddexp.reduce(ahead[:, following], axis=1)
            p = np.exp(score - score.max())
            return int(candidates[self.rng.choice(len(candidates), p=p / p.sum())])
        p = np.exp(log_p - log_p.max())
        return int(self.rng.choice(len(p), p=p / p.sum()))


def _phrase_ends(durations: list[float], bpb: int, phrase_bars: int) -> list[int]:
    """Indices of the chords that end exactly on a phrase boundary (or end the piece)."""
    ends, onset = [], 0.0
    for i, d in enumerate(durations):
        onset += d
        if abs(onset / (bpb * phrase_bars) - round(onset / (bpb * phrase_bars))) < 1e-9 or i == len(durations) - 1:
            ends.append(i)
    return ends


def compose_form(model_set, class_weights: Mapping[str, float], options: FormOptions, *, rhythm: HarmonicRhythm,
                 pop=None, seed: int | None = None) -> FormGeneration:
    """A progression shaped by ``options`` (see the module doc). ``rhythm``: a fitted HarmonicRhythm;
    ``pop``: a next-chord model with ``probs_next(states) -> (S,)`` trained on POP909 (None: no pop expert)."""
    from models.generation import sample_performance

    options = options.validate()
    weights = model_set.validate_weights(class_weights)
    rng = np.random.default_rng(seed)
    mode = options.mode
    if mode is None:
        p_major = sum(w * model_set.parameters[n].major_share for n, w in weights.items())
        mode = "major" if rng.random() < p_major else "minor"
    bpb = METRES[options.metre]
    performance = sample_performance(model_set, weights, rng)
    tempo = float(options.tempo_bpm) if options.tempo_bpm is not None else performance.tempo_bpm
    sampler = _Sampler(model_set, weights, mode, options, pop, rng)
    tonic, dominant = cadence_states(mode, "tonic"), cadence_states(mode, "dominant")
    if options.form == "loop" and options.bars > options.loop_bars:
        states, durations, ends = _loop(sampler, rhythm, options, bpb, tonic, rng, tempo)
    else:
        durations = rhythm.sample(options.bars, options.metre, rng, phrase_bars=options.phrase_bars, tempo_bpm=tempo)
        ends = _phrase_ends(durations, bpb, options.phrase_bars)
        targets = {0: tonic}
        for number, index in enumerate(ends):
            last = index == len(durations) - 1
            half = options.half_cadences and number % 2 == 0 and not last
            targets[index] = dominant if half else tonic
        states = []
        for t in range(len(durations)):
            following = targets.get(t + 1)
            avoid = states[-1] if states else None
            states.append(sampler.draw(states, targets.get(t), following, avoid))
    from models.chord_states import chord_from_state

    # the rhythm counts 6/8 in dotted-quarter beats (as POP909 annotates it); the music core in quarters
    quarter = 1.5 if options.metre == "6/8" else 1.0
    events = tuple(chord_from_state(s, float(d) * quarter) for s, d in zip(states, durations))
    return FormGeneration(events, mode, options.metre, int(round(bpb * quarter)), options.metre == "6/8", tuple(ends),
                          performance)


def _loop(sampler: _Sampler, rhythm: HarmonicRhythm, options: FormOptions, bpb: int, tonic: np.ndarray,
          rng: np.random.Generator, tempo: float) -> tuple[list[int], list[float], list[int]]:
    """The loop form: (states, durations, phrase-end indices)."""
    loop_durations = rhythm.sample(options.loop_bars, options.metre, rng, final_bars=0, phrase_bars=options.loop_bars,
                                   tempo_bpm=tempo)
    loop: list[int] = []
    for t in range(len(loop_durations)):
        allowed = tonic if t == 0 else None
        # the loop's last chord leads back to its first
        following = np.asarray([loop[0]]) if t == len(loop_durations) - 1 and t > 0 else None
        loop.append(sampler.draw(loop, allowed, following, loop[-1] if loop else None))
        if t == len(loop_durations) - 1 and len(loop) > 1 and loop[-1] == loop[0]:
            loop[-1] = sampler.draw(loop[:-1], None, None, loop[0])
    total = options.bars * bpb
    body = total - bpb  # the last bar is the tonic cadence
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
            if repeat > 0 and inner and rng.random() < options.variation:
                state = sampler.draw(states, None, np.asarray([loop[i + 1]]), states[-1])
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
        states.append(sampler.draw(states, tonic, None, None))
        durations.append(float(bpb))
    ends[-1:] = [len(states) - 1]
    return states, durations, sorted(set(ends))
