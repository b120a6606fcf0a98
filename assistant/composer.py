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
from assistant.expression import DEFAULT_INTENSITY, check_intensity
from assistant.mood import FORMS, LOOP_BARS, METRES, TEMPO_RANGE, MusicalSettings
from assistant.music import MODES, Progression, parse_key, tonic_name_for
from assistant.score import Score

if TYPE_CHECKING:
    from assistant.expression import ExpressionPlan
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
    plan: "ExpressionPlan"  # what the mood decided (mode, tempo, touch, guidance) before explicit settings
    form: str  # "through" or "loop", as composed
    intensity: float  # 0..1, as composed


@dataclass(frozen=True)
class ResolvedSettings:
    """Settings after validation and defaults (what compose actually used)."""

    bars: int  # 1..256
    beats_per_bar: int  # quarter-note beats per bar: 4 (4/4), 3 (3/4 and 6/8)
    tempo_bpm: float | None  # None: the mood's (the expression plan's)
    tonic: int | None  # pitch class; None: chosen from the seed
    mode: str | None  # "major"/"minor"; None: the mood (the plan), else the model decides
    program: int | None  # GM program; None: piano
    metre: str = "4/4"  # METRES
    compound: bool = False  # 6/8: the bar's beats are dotted quarters
    form: str = "through"  # FORMS
    loop_bars: int = 4  # LOOP_BARS: the loop form's repeated length
    intensity: float = DEFAULT_INTENSITY  # 0 (subtle) .. 1 (unmistakable)


#: metre -> (quarter-note beats per bar, compound), as models.generation and Progression count them
METRE_SHAPES = {"4/4": (4, False), "3/4": (3, False), "6/8": (3, True)}


def _choice(label: str, value, allowed) -> None:
    if value not in allowed or isinstance(value, bool):
        shown = ", ".join(str(a) for a in allowed)
        raise InvalidInput(f"{label} {value!r} not allowed; allowed: {shown}")


def resolve_settings(settings: MusicalSettings | None) -> ResolvedSettings:
    """Validate explicit settings; InvalidInput names the bad value and what is allowed, and a key
    whose mode contradicts the mode given with it ("Dm" with "major")."""
    settings = settings or MusicalSettings()
    bars = DEFAULT_BARS if settings.bars is None else settings.bars
    if isinstance(bars, bool) or not isinstance(bars, int) or not 1 <= bars <= MAX_BARS:
        raise InvalidInput(f"bars {bars!r} not allowed; allowed: a whole number 1..{MAX_BARS}")
    metre = settings.metre
    if metre is None:  # old callers (and history records) gave only x/4 numerators
        bpb = settings.beats_per_bar
        if isinstance(bpb, bool) or not isinstance(bpb, int) or not 1 <= bpb <= MAX_BEATS_PER_BAR:
            raise InvalidInput(f"beats per bar {bpb!r} not allowed; allowed: 1..{MAX_BEATS_PER_BAR}")
        metre = f"{bpb}/4"
    _choice("metre", metre, METRES)
    bpb, compound = METRE_SHAPES[metre]
    form = "through" if settings.form is None else settings.form
    _choice("form", form, FORMS)
    loop_bars = 4 if settings.loop_bars is None else settings.loop_bars
    _choice("loop bars", loop_bars, LOOP_BARS)
    intensity = DEFAULT_INTENSITY if settings.intensity is None else check_intensity(settings.intensity)
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
    key_mode = None
    if settings.key is not None:
        tonic, key_mode = parse_key(settings.key)
        mode = key_mode
    if settings.mode is not None:
        if settings.mode not in MODES:
            raise InvalidInput(f"mode {settings.mode!r} not allowed; allowed: {list(MODES)}")
        if key_mode is not None and settings.mode != key_mode:
            raise InvalidInput(f"key {settings.key!r} is {key_mode} but mode is {settings.mode!r}; "
                               f"allowed: a mode that agrees with the key, or the key without a mode")
        mode = settings.mode
    program = settings.program
    if program is not None and (isinstance(program, bool) or not isinstance(program, int) or not 0 <= program <= 127):
        raise InvalidInput(f"program {program!r} not allowed; allowed: General MIDI program 0..127")
    return ResolvedSettings(bars, bpb, tempo, tonic, mode, program, metre, compound, form, loop_bars, intensity)


def key_has_mode(key: str | None) -> bool:
    """Whether a key name says its mode ("Dm", "D minor", "Bb major"), not only the tonic ("D")."""
    if key is None:
        return False
    return parse_key(key)[1] is not None


def plan_for_weights(weights: Mapping[str, float], classes, intensity: float, seed: int | None) -> "ExpressionPlan":
    """The expression plan of a class mixture given without words: the classes' valence and arousal
    averaged by the weights (mixed when positive and negative classes share the weight)."""
    from assistant.expression import expression_plan, mixedness_from_weights

    point = {c.name: (c.valence or 0.0, c.arousal or 0.0) for c in classes}
    valence = float(sum(w * point[n][0] for n, w in weights.items()))
    arousal = float(sum(w * point[n][1] for n, w in weights.items()))
    mixedness = mixedness_from_weights(weights, {c.name: c.valence for c in classes}, valence)
    return expression_plan(max(-1.0, min(1.0, valence)), max(-1.0, min(1.0, arousal)), intensity,
                           mixedness=mixedness, seed=seed)


def choose_tonic(mode: str, rng: random.Random) -> int:
    """A tonic for ``mode``, weighted towards keys composers often use."""
    weights = MAJOR_KEY_WEIGHTS if mode == "major" else MINOR_KEY_WEIGHTS
    tonics = sorted(weights)
    return rng.choices(tonics, weights=[weights[t] for t in tonics])[0]


@dataclass(frozen=True)
class TakeShape:
    """A new take of a previous progression: what it keeps unless the settings say otherwise."""

    bars: int  # the settings' bars, else the previous length
    metre: str  # METRES: the settings' metre, else the previous one
    beats_per_bar: int  # quarter-note beats per bar of that metre
    compound: bool  # 6/8
    mode: str  # the settings' mode (from the key), else the previous mode
    tonic: int  # pitch class: the settings' key, else the previous tonic
    tempo_bpm: float  # the settings' tempo, else the previous tempo
    #: what differs from the previous length, metre and mode, one phrase each ("16 bars instead of 8");
    #: empty: the previous rhythm, and so its locked chords, can be kept (key-relative, so a key change in
    #: the same mode transposes them)
    changes: tuple[str, ...]


def metre_name(beats_per_bar: int, compound: bool) -> str:
    """The METRES name of a bar shape ("6/8" for 3 compound beats), "N/4" for a shape no metre has."""
    return next((m for m, shape in METRE_SHAPES.items() if shape == (beats_per_bar, compound)), f"{beats_per_bar}/4")


def take_shape(previous: Progression, resolved: ResolvedSettings, explicit: MusicalSettings) -> TakeShape:
    """The shape of a new take of ``previous`` under ``resolved`` settings (``explicit``: which were given)."""
    if explicit.metre is None:
        bpb, compound = previous.beats_per_bar, previous.compound
        metre = metre_name(bpb, compound)
    else:
        metre, bpb, compound = resolved.metre, resolved.beats_per_bar, resolved.compound
    previous_bars = previous.length_beats / previous.beats_per_bar
    bars = max(1, round(previous.length_beats / bpb)) if explicit.bars is None else resolved.bars
    mode = resolved.mode or previous.mode
    changes = []
    if bars * bpb != previous.length_beats:
        changes.append(f"{bars} bars instead of {previous_bars:g}")
    if (bpb, compound) != (previous.beats_per_bar, previous.compound):
        changes.append(f"{metre} instead of {metre_name(previous.beats_per_bar, previous.compound)}")
    if mode != previous.mode:
        changes.append(f"a {mode} key instead of a {previous.mode} one")
    return TakeShape(bars, metre, bpb, compound, mode, previous.tonic if resolved.tonic is None else resolved.tonic,
                     previous.tempo_bpm if resolved.tempo_bpm is None else resolved.tempo_bpm, tuple(changes))


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
                locked: frozenset[int] = frozenset(), temperature: float = 1.0,
                plan: "ExpressionPlan | None" = None) -> ComposerResult:
        """Compose for a mixture of emotion classes.

        ``settings`` are the explicit choices (flags, window fields, the request's words); what they
        leave open comes from ``plan``, the mood's assistant.expression.ExpressionPlan (default: the
        plan of the weights' mean valence and arousal at the settings' intensity): the mode, the
        tempo (never sampled from the class mixture), the touch and the chord guidance.

        ``previous`` + ``locked``: regenerate, keeping the chords at the locked indices and the
        previous rhythm (so indices stay put), and the previous key, mode, tempo, metre and length
        unless ``settings`` say otherwise.
        """
        from models.generation import GenerationOptions, generate

        resolved = resolve_settings(settings)
        # The one check of the user's weights in this layer; models.generation checks them once more
        # at its own boundary, and nothing below it again.
        weights = self.model_set.validate_weights(class_weights)
        if seed is None:
            seed = secrets.randbits(31)
        rng = random.Random(seed)
        locked = frozenset(locked)
        explicit = settings or MusicalSettings()
        if plan is None:
            plan = plan_for_weights(weights, self.classes, resolved.intensity, seed)

        bars, metre, mode, tonic, tempo = (resolved.bars, resolved.metre, resolved.mode, resolved.tonic,
                                           resolved.tempo_bpm)
        locked_events = rhythm = None
        if previous is not None:
            shape = take_shape(previous, resolved, explicit)
            bars, metre, mode, tonic, tempo = shape.bars, shape.metre, shape.mode, shape.tonic, shape.tempo_bpm
            if not shape.changes:
                rhythm = [c.duration_beats for c in previous.chords]
                if locked:
                    bad = sorted(i for i in locked if not 0 <= i < len(previous.chords))
                    if bad:
                        raise InvalidInput(f"locked chord {bad[0]} not in the progression; "
                                           f"allowed: 0..{len(previous.chords) - 1}")
                    events = previous.to_events()
                    locked_events = {i: events[i] for i in sorted(locked)}
            elif locked:
                raise InvalidInput("locked chords need the same length, metre and mode as before "
                                   f"({previous.length_beats / previous.beats_per_bar:g} bars, {previous.mode}); "
                                   "unlock them to change these")
        elif locked:
            raise InvalidInput(f"locked chords {sorted(locked)} need a previous progression to keep them from")
        if metre not in METRES:
            raise InvalidInput(f"metre {metre!r} not allowed; allowed: {', '.join(METRES)}")

        # Explicit settings (and a regenerated piece's own) first, then the mood's plan.
        mode = mode or plan.mode
        if tempo is None:
            tempo = min(TEMPO_RANGE[1], max(TEMPO_RANGE[0], float(plan.tempo_bpm)))
        options = GenerationOptions(
            bars=bars, metre=metre, form=resolved.form, loop_bars=resolved.loop_bars, mode=mode, tempo_bpm=tempo,
            temperature=temperature, guidance=plan.guidance,
            colour_chords=tuple(plan.colour_chords), colour_weight=plan.colour_weight)
        generation = generate(self.model_set, weights, options, seed=seed, locked=locked_events, rhythm=rhythm)
        if tonic is None:
            tonic = choose_tonic(generation.mode, rng)
        progression = Progression.from_events(generation.events, tonic, generation.mode, tempo, generation.beats_per_bar,
                                              locked=locked if locked_events else (), compound=generation.compound,
                                              tonic_name=tonic_name_for(explicit.key, previous))
        arrangement = arrangement_from_performance(plan.performance(), resolved.program, progression=progression)
        score = render_score(progression, arrangement)
        return ComposerResult(progression, arrangement, score, generation, seed, weights, plan, resolved.form,
                              resolved.intensity)


