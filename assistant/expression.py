"""How a requested mood is heard: the deterministic mapping from the requested point (valence,
arousal), an intensity (subtle .. unmistakable) and a mixedness to the decisions a listener hears —
mode, tempo, density, dynamics, register, articulation — and the guidance strength for the chords.

Why (issue 15, "The mood, clearly"): sampling tempo, mode and touch from a mixture of the classes'
profiles reproduces each class's ambiguity (EMOPIA's sad clips are 38 % major; a calm request came
out at 144 BPM). Here the request decides; only a small seeded jitter varies pieces of one request,
and it never crosses the 100 BPM line that separates calm from energetic.

Calibration (EMOPIA train+val medians, ../shared/data/README.md, and models.generation's
tempo-for-density map of those densities):

    quadrant  notes/s  velocity  note length  tempo (tempo_for_density)
    Q1          8.0       77       0.75 s      ~135 BPM
    Q2         10.0       79       0.72 s      ~160 BPM
    Q3          4.4       54       1.42 s       ~85 BPM
    Q4          4.2       53       1.29 s       ~83 BPM

At the default intensity 0.5 a request at the classes' own coordinates (|valence|, |arousal| = 0.6)
gets about these medians; intensity 1 goes past them (60 / 160 BPM), intensity 0 stays near the
middle (92-110 BPM, mid velocity) but keeps the side.

Qt-free and numpy only, so the CLI, the window and the bench use the same mapping.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from assistant.errors import InvalidInput
from models.generation import PerformanceSample

DEFAULT_INTENSITY = 0.5  # what the CLI and the window use when the user sets none
TEMPO_LINE_BPM = 100.0  # calm requests are played at or below it, energetic ones at or above
TEMPO_JITTER_BPM = 4.0  # +- seeded variation between pieces of one request
NEUTRAL_TEMPO_JITTER_BPM = 6.0  # +- around the line when the request has no arousal side at all
#: |arousal| over which the side's full distance from the line is reached (the language layer reads
#: clear requests at 0.2..0.7; the classes sit at 0.6)
AROUSAL_FULL = 0.45
#: |arousal| below which the distance from the line grows linearly from 0 (continuity at 0)
AROUSAL_RAMP = 0.08
#: |valence| at which the mode is certain, at intensity 0 / 0.5 / 1 (interpolated)
VALENCE_CERTAIN = (0.6, 0.15, 0.06)
#: mixedness at or above which the music is "mixed": mode fixed by the valence sign and coloured
#: with borrowed chords, never drawn at random
MIXED_THRESHOLD = 0.4
#: extra logit (nats) of the borrowed colour chords at mixedness 1: e^2.5 ~ 12 times likelier, enough to
#: hear one or two in 8 bars against the mode expert, which pulls towards the diatonic chords
COLOUR_WEIGHT = 2.5
INTENSITY_POINTS = (0.0, 0.5, 1.0)

# Tempo: distance from the line (BPM) = base + reach * span, interpolated over INTENSITY_POINTS.
CALM_BASE = (4.0, 8.0, 12.0)
CALM_SPAN = (4.0, 8.0, 28.0)  # 0.5: 100 - 16 = 84 BPM (EMOPIA Q3/Q4 ~83-85); 1: 60 BPM
ENERGETIC_BASE = (6.0, 10.0, 14.0)
ENERGETIC_SPAN = (4.0, 30.0, 46.0)  # 0.5: 140 BPM (Q1 ~135, Q2 ~160); 1: 160 BPM
#: how strongly the performance leans to its side (1 = the EMOPIA medians), over INTENSITY_POINTS
PERFORMANCE_STRENGTH = (0.25, 1.0, 1.5)
DENSITY_MID, DENSITY_RATIO = 6.1, 1.47  # notes/s: 6.1 * 1.47^(+-1) = 9.0 / 4.15 (EMOPIA 8-10 / 4.2-4.4)
VELOCITY_MID, VELOCITY_STEP = 66.0, 12.0  # 78 / 54 at full lean (EMOPIA 77-79 / 53-54)
NOTE_LENGTH_MID, NOTE_LENGTH_RATIO = 1.0, 1.37  # s: 0.73 / 1.37 (EMOPIA 0.72-0.75 / 1.29-1.42)
#: guidance strength g of p(x|c)^(1+g) / p(x)^g over INTENSITY_POINTS (0: the plain distribution)
GUIDANCE_POINTS = (0.0, 0.75, 2.0)

#: Borrowed colours of a mixed request, as (root relative to the tonic, quality name) in the key:
#: a major key borrows from its parallel minor (iv, bVI, bVII: the "bittersweet" turn of pop ballads);
#: a minor key brightens with its major chords (VI, VII, III) and the Dorian major IV.
MIXED_COLOURS = {
    "major": ((5, "min"), (8, "maj"), (10, "maj")),
    "minor": ((8, "maj"), (10, "maj"), (3, "maj"), (5, "maj")),
}


@dataclass(frozen=True)
class ExpressionPlan:
    """What the listener hears of the requested mood (deterministic given the inputs and the seed)."""

    valence: float  # the requested valence, -1 (negative) .. +1 (positive)
    arousal: float  # the requested arousal, -1 (calm) .. +1 (energetic)
    intensity: float  # 0 (subtle, near neutral) .. 1 (unmistakable, past the corpus medians)
    mixedness: float  # 0 (one-sided) .. 1 (both valence signs equally present)
    mode: str | None  # "major" / "minor"; None: the chord model chooses (a neutral, unmixed request)
    major_probability: float  # how sure the plan is of major, 0..1 (1 or 0 once the mode is decided)
    mixed: bool  # True: the mode is fixed by the valence sign and coloured with borrowed chords
    colour_chords: tuple[tuple[int, str], ...]  # mixed: (root above the tonic, quality) to favour
    colour_weight: float  # extra logit (nats) for the colour chords; 0 unless mixed
    tempo_bpm: float  # beats per minute: <= 100 for arousal < 0, >= 100 for arousal > 0
    notes_per_second: float  # onsets per second of the whole accompaniment (chords + bass)
    velocity: float  # mean MIDI velocity, 1..127
    note_length_s: float  # mean sounding note length (s): long and tied when calm, short when energetic
    legato: float  # share of note time overlapped by the next note, 0..1
    register: float  # MIDI pitch the chord voicing centres on: higher when bright, lower when dark
    guidance: float  # g of the guided chord sampling p(x|c)^(1+g) / p(x)^g, >= 0

    def performance(self) -> PerformanceSample:
        """The plan as the performance fields assistant.arrangement.arrangement_from_performance reads
        (models.generation.PerformanceSample, set by the plan instead of sampled)."""
        return PerformanceSample(self.tempo_bpm, self.notes_per_second, self.velocity, self.note_length_s,
                                  self.register, self.legato)


def _unit(name: str, value, low: float, high: float) -> float:
    """value as a float in low..high, or InvalidInput naming it and the range."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{name} {value!r} not allowed; allowed: a number {low:g}..{high:g}") from None
    if isinstance(value, bool) or not low <= number <= high:  # also rejects NaN
        raise InvalidInput(f"{name} {value!r} not allowed; allowed: a number {low:g}..{high:g}")
    return number


def check_intensity(intensity) -> float:
    """The intensity as a float 0..1; InvalidInput (CLI exit 2) naming the value otherwise."""
    return _unit("intensity", intensity, 0.0, 1.0)


def guidance_strength(intensity: float) -> float:
    """g for guided chord sampling: 0 at intensity 0 (the class mixture as trained), 0.75 at the
    default, 2 at 1. Chosen a priori (classifier-free guidance is used at g ~ 0.5-3), not tuned on
    any judge."""
    return float(np.interp(check_intensity(intensity), INTENSITY_POINTS, GUIDANCE_POINTS))


def _at(intensity: float, points: Sequence[float]) -> float:
    return float(np.interp(intensity, INTENSITY_POINTS, points))


def _jitter(seed: int | None, salt: int) -> float:
    """A reproducible number in -1..1 for this seed (0 without a seed)."""
    if seed is None:
        return 0.0
    return float(np.random.default_rng([int(seed) & 0x7FFFFFFF, salt]).uniform(-1.0, 1.0))


def plan_tempo(arousal: float, intensity: float, mixedness: float = 0.0, seed: int | None = None) -> float:
    """Tempo (BPM) for the requested arousal: on its side of 100 BPM, further out with more arousal
    and intensity, a little nearer the middle when mixed; the seeded jitter is clamped to the side."""
    side = 0 if arousal == 0 else (1 if arousal > 0 else -1)
    if side == 0:
        return TEMPO_LINE_BPM + NEUTRAL_TEMPO_JITTER_BPM * _jitter(seed, 1)
    magnitude = abs(arousal)
    ramp = min(1.0, magnitude / AROUSAL_RAMP)
    reach = math.sqrt(min(1.0, magnitude / AROUSAL_FULL)) * (1.0 - 0.3 * mixedness)
    base, span = (CALM_BASE, CALM_SPAN) if side < 0 else (ENERGETIC_BASE, ENERGETIC_SPAN)
    distance = ramp * _at(intensity, base) + reach * _at(intensity, span)
    tempo = TEMPO_LINE_BPM + side * distance + TEMPO_JITTER_BPM * _jitter(seed, 1)
    tempo = min(tempo, TEMPO_LINE_BPM) if side < 0 else max(tempo, TEMPO_LINE_BPM)
    return float(np.clip(tempo, 40.0, 200.0))


def plan_mode(valence: float, intensity: float, mixedness: float = 0.0,
              seed: int | None = None) -> tuple[str | None, float]:
    """(mode or None, probability of major). Certain once |valence| reaches VALENCE_CERTAIN at this
    intensity; below that a seeded draw with the plan's probability; a neutral unmixed request
    (valence 0) leaves the mode to the chord model. A mixed request takes the valence sign's mode."""
    if mixedness >= MIXED_THRESHOLD:
        mode = "minor" if valence < 0 else "major"
        return mode, 1.0 if mode == "major" else 0.0
    if valence == 0:
        return None, 0.5
    certainty = min(1.0, abs(valence) / _at(intensity, VALENCE_CERTAIN))
    p_major = 0.5 + 0.5 * certainty * (1 if valence > 0 else -1)
    if certainty >= 1.0:
        return ("major" if valence > 0 else "minor"), p_major
    draw = 0.5 * (_jitter(seed, 2) + 1.0) if seed is not None else 0.5
    return ("major" if draw < p_major else "minor"), p_major


def expression_plan(valence: float, arousal: float, intensity: float = DEFAULT_INTENSITY, *,
                    mixedness: float = 0.0, seed: int | None = None) -> ExpressionPlan:
    """The plan for one request (see the module doc). InvalidInput names any value out of range:
    valence and arousal -1..1 (assistant.mood.Mood's range), intensity and mixedness 0..1."""
    valence = _unit("valence", valence, -1.0, 1.0)
    arousal = _unit("arousal", arousal, -1.0, 1.0)
    intensity = check_intensity(intensity)
    mixedness = _unit("mixedness", mixedness, 0.0, 1.0)
    mode, p_major = plan_mode(valence, intensity, mixedness, seed)
    mixed = mixedness >= MIXED_THRESHOLD
    tempo = plan_tempo(arousal, intensity, mixedness, seed)
    # The performance leans to the arousal side like the tempo (signed, -1.5..1.5 at most).
    side = 0.0 if arousal == 0 else math.copysign(1.0, arousal)
    lean = side * math.sqrt(min(1.0, abs(arousal) / AROUSAL_FULL)) * _at(intensity, PERFORMANCE_STRENGTH)
    lean *= 1.0 - 0.3 * mixedness
    brightness = math.copysign(math.sqrt(min(1.0, abs(valence) / AROUSAL_FULL)), valence) if valence else 0.0
    return ExpressionPlan(
        valence=valence, arousal=arousal, intensity=intensity, mixedness=mixedness,
        mode=mode, major_probability=p_major, mixed=mixed,
        colour_chords=MIXED_COLOURS[mode] if mixed and mode else (),
        colour_weight=COLOUR_WEIGHT * mixedness if mixed else 0.0,
        tempo_bpm=round(tempo, 1),
        notes_per_second=float(DENSITY_MID * DENSITY_RATIO ** lean),
        velocity=float(np.clip(VELOCITY_MID + VELOCITY_STEP * lean, 25.0, 110.0)),
        note_length_s=float(NOTE_LENGTH_MID * NOTE_LENGTH_RATIO ** (-lean)),
        legato=float(np.clip(0.5 - 0.2 * lean, 0.1, 0.9)),
        register=float(np.clip(62.0 + 3.0 * brightness * _at(intensity, PERFORMANCE_STRENGTH) + 1.0 * lean,
                               55.0, 72.0)),
        guidance=guidance_strength(intensity),
    )


def mixedness_from_weights(class_weights: Mapping[str, float], class_valence: Mapping[str, float | None],
                           valence: float, neutral: bool = False) -> float:
    """How mixed a read mood is, 0..1, from what the language layer already gives: the balance of
    weight between positive- and negative-valence classes, damped when the valence itself is clear.

    Why not only the balance: an unsure reading also spreads its weight; a clear valence means the
    request is one-sided whatever the spread. A neutral mood (no mood words) is not mixed.
    Used for moods given as class weights (no words); requests read from words carry their own
    mixedness (assistant.language.request_mixedness)."""
    if neutral:
        return 0.0
    positive = sum(w for n, w in class_weights.items() if (class_valence.get(n) or 0) > 0)
    negative = sum(w for n, w in class_weights.items() if (class_valence.get(n) or 0) < 0)
    total = positive + negative
    if total <= 0:
        return 0.0
    balance = 2.0 * min(positive, negative) / total
    clarity = min(1.0, abs(float(valence)) / 0.5)
    return float(np.clip(balance * (1.0 - clarity), 0.0, 1.0))


def plan_for_mood(mood, classes, intensity: float = DEFAULT_INTENSITY, seed: int | None = None) -> ExpressionPlan:
    """The plan for an assistant.mood.Mood read for these emotion classes (objects with .name and
    .valence): its mixedness as the language layer read it from the request's own mood words
    (Mood.mixedness), else (a mood made from class weights) estimated by mixedness_from_weights."""
    mixedness = getattr(mood, "mixedness", None)
    if mood.neutral:
        mixedness = 0.0
    elif mixedness is None:
        class_valence = {c.name: c.valence for c in classes}
        mixedness = mixedness_from_weights(mood.class_weights, class_valence, mood.valence, mood.neutral)
    return expression_plan(mood.valence, mood.arousal, intensity, mixedness=mixedness, seed=seed)
