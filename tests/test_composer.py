"""The composer facade: settings validation, key choice, and composing with the shipped models."""
from __future__ import annotations

import collections
import importlib.util
import random
import time

import pytest

from assistant.composer import (
    MAJOR_KEY_WEIGHTS, MINOR_KEY_WEIGHTS, Composer, ComposerResult, choose_tonic, resolve_settings,
)
from assistant.errors import USER_ERRORS, InvalidInput
from assistant.mood import MusicalSettings
from assistant.score import BASS_CHANNEL, CHORD_CHANNEL


def _models_ready() -> str | None:
    """Why composing cannot run here (None when the shipped models and the generator exist)."""
    from models.errors import ModelError
    from models.store import load_model_set

    if importlib.util.find_spec("models.generation") is None:
        return "models/generation.py not written yet"
    try:
        load_model_set()
    except ModelError as error:
        return f"no shipped model set: {error}"
    return None


needs_models = pytest.mark.skipif(_models_ready() is not None, reason=str(_models_ready()))


@pytest.mark.parametrize("settings, word", [
    (MusicalSettings(bars=0), "bars 0"), (MusicalSettings(bars=257), "bars 257"), (MusicalSettings(bars=-1), "-1"),
    (MusicalSettings(bars=2.5), "2.5"), (MusicalSettings(tempo_bpm=19.9), "19.9"),
    (MusicalSettings(tempo_bpm=300.5), "300.5"), (MusicalSettings(tempo_bpm=float("nan")), "nan"),
    (MusicalSettings(key="H"), "'H'"), (MusicalSettings(key="C lydian"), "lydian"),
    (MusicalSettings(mode="dorian"), "dorian"), (MusicalSettings(program=128), "128"),
    (MusicalSettings(program=-1), "-1"), (MusicalSettings(beats_per_bar=0), "beats per bar 0"),
])
def test_bad_settings_name_the_value_and_what_is_allowed(settings, word):
    with pytest.raises(InvalidInput, match="allowed") as error:
        resolve_settings(settings)
    assert word in str(error.value)


def test_settings_resolve_with_defaults():
    resolved = resolve_settings(MusicalSettings(key="Bb minor", tempo_bpm=72, bars=12, program=48))
    assert (resolved.tonic, resolved.mode, resolved.tempo_bpm, resolved.bars, resolved.program) == (10, "minor", 72.0,
                                                                                                     12, 48)
    default = resolve_settings(None)
    assert (default.bars, default.tonic, default.mode, default.tempo_bpm) == (8, None, None, None)
    assert resolve_settings(MusicalSettings(key="D", mode="minor")).mode == "minor"  # explicit mode wins
    assert resolve_settings(MusicalSettings(key="F#")).mode is None  # a bare tonic leaves the mode open


def test_random_keys_follow_the_weights():
    rng = random.Random(0)
    for mode, weights in (("major", MAJOR_KEY_WEIGHTS), ("minor", MINOR_KEY_WEIGHTS)):
        counts = collections.Counter(choose_tonic(mode, rng) for _ in range(4000))
        favourite = max(weights, key=weights.get)
        rarest = min(weights, key=weights.get)
        assert counts.most_common(1)[0][0] == favourite and counts[rarest] < counts[favourite] / 4
        assert set(counts) == set(range(12))


# ------------------------------------------------------------------------------------------------
# With the shipped models

@pytest.fixture(scope="module")
def composer():
    return Composer()


@needs_models
def test_compose_in_a_requested_key(composer):
    result = composer.compose({"Q3": 1.0}, MusicalSettings(key="D minor", tempo_bpm=70, bars=8, program=48), seed=3)
    assert isinstance(result, ComposerResult)
    progression, generation = result.progression, result.generation
    assert generation.mode == "minor" and progression.key_name == "D minor" and progression.tonic == 2
    assert progression.length_beats == 32 and progression.tempo_bpm == 70
    assert progression.to_events() == tuple(generation.events)  # transposed, not changed
    for placed, event in zip(progression.chords, generation.events):
        assert placed.chord.root == (event.root - 9 + 2) % 12  # A-minor frame -> D minor
    score = result.score
    assert score.tempo_bpm == 70 and score.length_beats == 32
    assert score.programs[CHORD_CHANNEL] == 48 == result.arrangement.program
    assert {n.channel for n in score.notes} == {CHORD_CHANNEL, BASS_CHANNEL}
    assert [m.text for m in score.markers] == progression.chord_names()


@needs_models
def test_major_frame_goes_to_the_major_tonic(composer):
    result = composer.compose({"Q1": 1.0}, MusicalSettings(key="A", mode="major", bars=4), seed=1)
    assert result.progression.key_name == "A major"
    for placed, event in zip(result.progression.chords, result.generation.events):
        assert placed.chord.root == (event.root + 9) % 12


@needs_models
def test_no_key_picks_one_from_the_seed_and_tempo_from_the_performance(composer):
    first = composer.compose({"Q1": 0.5, "Q2": 0.5}, MusicalSettings(bars=4), seed=11)
    again = composer.compose({"Q1": 0.5, "Q2": 0.5}, MusicalSettings(bars=4), seed=11)
    assert first.progression == again.progression and first.score == again.score and first.seed == 11
    assert first.progression.tempo_bpm == round(first.generation.performance.tempo_bpm) or \
        first.progression.tempo_bpm in (20.0, 300.0)
    keys = {composer.compose({"Q4": 1.0}, MusicalSettings(bars=1), seed=s).progression.key_name for s in range(12)}
    assert len(keys) >= 3


@needs_models
def test_regenerate_keeps_locked_chords_and_rhythm(composer):
    first = composer.compose({"Q4": 1.0}, MusicalSettings(key="G", bars=8), seed=5)
    locked = frozenset({0, len(first.progression.chords) - 1})
    second = composer.compose({"Q4": 1.0}, None, seed=6, previous=first.progression, locked=locked)
    before, after = first.progression, second.progression
    assert after.key_name == before.key_name and after.tempo_bpm == before.tempo_bpm
    assert [c.duration_beats for c in after.chords] == [c.duration_beats for c in before.chords]
    for index in locked:
        assert after.chords[index].chord == before.chords[index].chord and after.chords[index].locked
    assert after.locked_indices == locked
    with pytest.raises(InvalidInput, match="allowed"):
        composer.compose({"Q4": 1.0}, None, previous=first.progression, locked=frozenset({99}))


@needs_models
def test_bad_weights_are_user_errors(composer):
    for weights in ({"Q9": 1.0}, {"Q1": -1.0}, {"Q1": 0.0}):
        with pytest.raises(USER_ERRORS) as error:
            composer.compose(weights, MusicalSettings(bars=2), seed=0)
        assert "Q1" in str(error.value)


@needs_models
def test_composing_eight_bars_is_fast(composer):
    composer.compose({"Q1": 1.0}, MusicalSettings(bars=8), seed=0)  # warm-up (TensorFlow tracing)
    times = []
    for seed in range(5):
        start = time.perf_counter()
        composer.compose({"Q1": 0.7, "Q4": 0.3}, MusicalSettings(bars=8), seed=seed)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.5, times  # generous on a shared 2-core machine; bench/compose_speed.py measures
