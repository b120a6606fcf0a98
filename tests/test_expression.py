"""assistant.expression: the request decides mode, tempo and touch (issue 15, "The mood, clearly")."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from assistant.errors import InvalidInput
from assistant.expression import (DEFAULT_INTENSITY, MIXED_COLOURS, MIXED_THRESHOLD, TEMPO_LINE_BPM, ExpressionPlan,
                                  check_intensity, expression_plan, guidance_strength, mixedness_from_weights,
                                  plan_for_mood)
from assistant.mood import Mood
from models.emotion_classes import EMOPIA_CLASSES

GRID = np.round(np.linspace(-1, 1, 21), 2)
INTENSITIES = (0.0, 0.25, 0.5, 0.75, 1.0)
SEEDS = (None, *range(6))


def test_plan_is_frozen_and_every_field_is_set():
    plan = expression_plan(-0.5, -0.5)
    assert isinstance(plan, ExpressionPlan)
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.tempo_bpm = 150  # type: ignore[misc]
    assert plan.intensity == DEFAULT_INTENSITY


@pytest.mark.parametrize("intensity", INTENSITIES)
def test_calm_is_never_above_100_bpm_and_energetic_never_below(intensity):
    for valence in GRID:
        for arousal in GRID:
            for mixedness in (0.0, 0.5, 1.0):
                for seed in SEEDS:
                    tempo = expression_plan(valence, arousal, intensity, mixedness=mixedness, seed=seed).tempo_bpm
                    if arousal < 0:
                        assert tempo <= TEMPO_LINE_BPM, (valence, arousal, intensity, seed, tempo)
                    elif arousal > 0:
                        assert tempo >= TEMPO_LINE_BPM, (valence, arousal, intensity, seed, tempo)


def test_tiny_negative_arousal_still_calm_side():
    for seed in range(50):
        assert expression_plan(0.3, -0.001, 1.0, seed=seed).tempo_bpm <= 100
        assert expression_plan(0.3, 0.001, 1.0, seed=seed).tempo_bpm >= 100


def test_clear_requests_get_the_corpus_medians_at_the_default_intensity():
    # EMOPIA (data README): calm quadrants ~83-85 BPM, 4.2-4.4 notes/s, velocity 53-54; energetic 135-160 BPM,
    # 8-10 notes/s, velocity 77-79
    calm = expression_plan(-0.6, -0.6)
    energetic = expression_plan(0.6, 0.6)
    assert 75 <= calm.tempo_bpm <= 92 and 120 <= energetic.tempo_bpm <= 160
    assert 3.5 <= calm.notes_per_second <= 5.0 and 8.0 <= energetic.notes_per_second <= 10.5
    assert 48 <= calm.velocity <= 60 and 72 <= energetic.velocity <= 85
    assert calm.note_length_s > energetic.note_length_s and calm.legato > energetic.legato


def test_more_arousal_and_more_intensity_go_further_from_the_line():
    tempos = [expression_plan(0.5, a, 0.5).tempo_bpm for a in (0.05, 0.2, 0.4, 0.8)]
    assert tempos == sorted(tempos) and tempos[0] < tempos[-1]
    calm = [expression_plan(0.5, -0.6, i).tempo_bpm for i in INTENSITIES]
    assert calm == sorted(calm, reverse=True) and calm[0] > calm[-1]


def test_negative_valence_is_minor_at_the_default_intensity():
    for valence in (-1.0, -0.6, -0.3, -0.15):
        for arousal in (-0.6, 0.0, 0.6):
            for seed in SEEDS:
                plan = expression_plan(valence, arousal, seed=seed)
                assert plan.mode == "minor" and plan.major_probability == 0.0
    for valence in (0.15, 0.3, 1.0):
        assert expression_plan(valence, 0.2, seed=1).mode == "major"


def test_intensity_zero_is_neutral_ish_and_one_is_extreme():
    subtle = [expression_plan(v, a, 0.0, seed=s) for v, a in ((-0.6, -0.6), (0.6, 0.6)) for s in range(5)]
    assert all(85 <= p.tempo_bpm <= 115 for p in subtle)  # EMOPIA medians: 83-85 and 135-160
    assert all(58 <= p.velocity <= 72 for p in subtle)
    assert all(p.guidance == 0.0 for p in subtle)
    # a moderately negative request is not certain of its mode at intensity 0: some seeds draw major
    modes = {expression_plan(-0.3, 0.0, 0.0, seed=s).mode for s in range(40)}
    assert modes == {"major", "minor"}
    strong_calm, strong_energetic = expression_plan(-0.8, -0.8, 1.0), expression_plan(0.8, 0.8, 1.0)
    assert strong_calm.tempo_bpm <= 66 and strong_energetic.tempo_bpm >= 150
    assert strong_calm.velocity < 52 and strong_energetic.velocity > 80
    assert guidance_strength(1.0) > guidance_strength(DEFAULT_INTENSITY) > guidance_strength(0.0) == 0.0


def test_neutral_request_leaves_the_mode_to_the_model_near_the_line():
    for seed in range(10):
        plan = expression_plan(0.0, 0.0, seed=seed)
        assert plan.mode is None and plan.major_probability == 0.5 and not plan.mixed
        assert 93 <= plan.tempo_bpm <= 107


def test_same_inputs_same_plan():
    assert expression_plan(-0.2, 0.3, 0.7, mixedness=0.2, seed=9) == expression_plan(-0.2, 0.3, 0.7, mixedness=0.2, seed=9)


def test_mixed_request_is_mixed_not_random():
    # bittersweet: slightly negative valence, both signs present -> minor coloured with its major chords,
    # the same mode for every seed, a moderate tempo
    plans = [expression_plan(-0.1, 0.05, mixedness=0.8, seed=s) for s in range(20)]
    assert {p.mode for p in plans} == {"minor"} and all(p.mixed for p in plans)
    assert all(p.colour_chords == MIXED_COLOURS["minor"] and p.colour_weight > 0 for p in plans)
    happy_but_sad = expression_plan(0.15, 0.1, mixedness=0.7, seed=3)
    assert happy_but_sad.mode == "major" and (5, "min") in happy_but_sad.colour_chords  # borrowed iv
    # mixing pulls the tempo towards the middle, never across the line
    assert expression_plan(0.1, 0.6, mixedness=1.0).tempo_bpm < expression_plan(0.1, 0.6, mixedness=0.0).tempo_bpm
    assert expression_plan(0.1, 0.6, mixedness=1.0).tempo_bpm >= 100
    unmixed = expression_plan(-0.1, 0.05, mixedness=MIXED_THRESHOLD / 2, seed=1)
    assert not unmixed.mixed and unmixed.colour_chords == () and unmixed.colour_weight == 0


def test_mixedness_from_the_read_mood():
    valence = {c.name: c.valence for c in EMOPIA_CLASSES}
    balanced = {"Q1": 0.3, "Q2": 0.2, "Q3": 0.2, "Q4": 0.3}
    assert mixedness_from_weights(balanced, valence, 0.05) > 0.7
    assert mixedness_from_weights(balanced, valence, 0.05, neutral=True) == 0.0
    one_sided = {"Q1": 0.1, "Q2": 0.75, "Q3": 0.14, "Q4": 0.01}
    assert mixedness_from_weights(one_sided, valence, -0.6) == 0.0
    mood = Mood(valence=-0.15, arousal=0.1, class_weights={"Q1": 0.22, "Q2": 0.36, "Q3": 0.26, "Q4": 0.16})
    plan = plan_for_mood(mood, EMOPIA_CLASSES, seed=0)
    assert plan.mixed and plan.mode == "minor" and plan.tempo_bpm >= 100


@pytest.mark.parametrize("bad", [-0.01, 1.5, float("nan"), "loud", None, True])
def test_intensity_outside_0_1_is_refused_naming_the_value(bad):
    with pytest.raises(InvalidInput) as error:
        expression_plan(0.2, 0.2, bad)
    message = str(error.value)
    assert "intensity" in message and repr(bad) in message and "0..1" in message
    with pytest.raises(InvalidInput):
        check_intensity(bad)
    with pytest.raises(InvalidInput):
        guidance_strength(bad)


@pytest.mark.parametrize("name, kwargs", [("valence", dict(valence=1.2)), ("arousal", dict(arousal=-3)),
                                          ("mixedness", dict(mixedness=2))])
def test_other_values_outside_their_range_are_refused(name, kwargs):
    args = dict(valence=0.0, arousal=0.0, intensity=0.5)
    args.update({k: v for k, v in kwargs.items() if k != "mixedness"})
    with pytest.raises(InvalidInput, match=name):
        expression_plan(args["valence"], args["arousal"], args["intensity"], mixedness=kwargs.get("mixedness", 0.0))


def test_performance_has_the_fields_the_arrangement_reads():
    from assistant.arrangement import arrangement_from_performance, render_score, rendered_profile
    from assistant.music import Progression
    from models.vocabulary import ChordEvent

    events = [ChordEvent(9, 1, 9, 8.0), ChordEvent(5, 0, 5, 8.0), ChordEvent(7, 0, 7, 8.0), ChordEvent(9, 1, 9, 8.0)]
    rates = []
    for arousal in (-0.6, 0.6):
        plan = expression_plan(-0.6, arousal)
        progression = Progression.from_events(events, 9, "minor", plan.tempo_bpm)
        score = render_score(progression, arrangement_from_performance(plan.performance(), progression=progression))
        rate, velocity = rendered_profile(score)
        assert velocity == pytest.approx(plan.velocity, abs=3)
        rates.append(rate)
    assert rates[0] < 6 < rates[1]  # calm sparse, energetic dense


def test_plan_for_mood_takes_the_mixedness_the_words_gave():
    from assistant.expression import plan_for_mood

    weights = {"Q1": 0.7, "Q2": 0.0, "Q3": 0.0, "Q4": 0.3}  # one-sided by the weights
    mixed = plan_for_mood(Mood(0.2, 0.1, weights, ("happy", "sad"), mixedness=0.8), EMOPIA_CLASSES, seed=1)
    assert mixed.mixed and mixed.mode == "major" and mixed.colour_chords and mixed.mixedness == 0.8
    one_sided = plan_for_mood(Mood(0.2, 0.1, weights, ("happy",), mixedness=0.0), EMOPIA_CLASSES, seed=1)
    assert not one_sided.mixed and one_sided.colour_chords == ()
    neutral = plan_for_mood(Mood(0.0, 0.0, weights, (), neutral=True, mixedness=0.9), EMOPIA_CLASSES, seed=1)
    assert neutral.mixedness == 0.0
    # a mood made from class weights (no words) has no word-read mixedness: the weights' balance stands in
    from_weights = plan_for_mood(Mood(0.0, 0.0, {"Q1": 0.5, "Q2": 0.0, "Q3": 0.5, "Q4": 0.0}), EMOPIA_CLASSES)
    assert from_weights.mixed
