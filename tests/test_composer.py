"""The composer facade: settings validation, key choice, and composing with the shipped models."""
from __future__ import annotations

import collections
import random
import time

import pytest

from assistant.composer import (
    MAJOR_KEY_WEIGHTS, MINOR_KEY_WEIGHTS, Composer, ComposerResult, choose_tonic, resolve_settings,
)
from assistant.errors import USER_ERRORS, InvalidInput
from assistant.mood import MusicalSettings
from assistant.score import BASS_CHANNEL, CHORD_CHANNEL


def _shipped_models_error() -> str | None:
    """Why the shipped model set cannot be loaded (None when it can)."""
    from models.errors import ModelError
    from models.model_folder import load_model_set

    try:
        load_model_set()
    except ModelError as error:
        return str(error)
    return None


@pytest.fixture(scope="session")
def model_dir():
    """The shipped model folder (tracked in git): a missing or unloadable one fails, never skips."""
    from models.model_folder import default_model_dir

    error = _shipped_models_error()
    assert error is None, f"the shipped model set does not load: {error}"
    return default_model_dir()


@pytest.mark.parametrize("settings, word", [
    (MusicalSettings(bars=0), "bars 0"), (MusicalSettings(bars=257), "bars 257"), (MusicalSettings(bars=-1), "-1"),
    (MusicalSettings(bars=2.5), "2.5"), (MusicalSettings(tempo_bpm=19.9), "19.9"),
    (MusicalSettings(tempo_bpm=300.5), "300.5"), (MusicalSettings(tempo_bpm=float("nan")), "nan"),
    (MusicalSettings(key="H"), "'H'"), (MusicalSettings(key="C lydian"), "lydian"),
    (MusicalSettings(mode="dorian"), "dorian"), (MusicalSettings(program=128), "128"),
    (MusicalSettings(program=-1), "-1"), (MusicalSettings(beats_per_bar=0), "beats per bar 0"),
    (MusicalSettings(metre="5/4"), "'5/4'"), (MusicalSettings(metre="6/8 "), "'6/8 '"),
    (MusicalSettings(form="rondo"), "'rondo'"), (MusicalSettings(loop_bars=3), "loop bars 3"),
    (MusicalSettings(intensity=1.5), "intensity 1.5"), (MusicalSettings(intensity=float("nan")), "nan"),
    (MusicalSettings(key="Dm", mode="major"), "'Dm' is minor"),
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
def composer(model_dir):
    return Composer(model_dir)


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


def test_major_frame_goes_to_the_major_tonic(composer):
    result = composer.compose({"Q1": 1.0}, MusicalSettings(key="A", mode="major", bars=4), seed=1)
    assert result.progression.key_name == "A major"
    for placed, event in zip(result.progression.chords, result.generation.events):
        assert placed.chord.root == (event.root + 9) % 12


def test_no_key_picks_one_from_the_seed_and_tempo_from_the_plan(composer):
    first = composer.compose({"Q1": 0.5, "Q2": 0.5}, MusicalSettings(bars=4), seed=11)
    again = composer.compose({"Q1": 0.5, "Q2": 0.5}, MusicalSettings(bars=4), seed=11)
    assert first.progression == again.progression and first.score == again.score and first.seed == 11
    # The tempo is the mood's plan (energetic classes: at or above 100 BPM), never the sampled performance's.
    assert first.progression.tempo_bpm == first.plan.tempo_bpm >= 100
    keys = {composer.compose({"Q4": 1.0}, MusicalSettings(bars=1), seed=s).progression.key_name for s in range(12)}
    assert len(keys) >= 3


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


def test_bad_weights_are_user_errors(composer):
    for weights in ({"Q9": 1.0}, {"Q1": -1.0}, {"Q1": 0.0}):
        with pytest.raises(USER_ERRORS) as error:
            composer.compose(weights, MusicalSettings(bars=2), seed=0)
        assert "Q1" in str(error.value)


def test_composing_eight_bars_is_fast(composer):
    composer.compose({"Q1": 1.0}, MusicalSettings(bars=8), seed=0)  # warm-up (TensorFlow tracing)
    times = []
    for seed in range(5):
        start = time.perf_counter()
        composer.compose({"Q1": 0.7, "Q4": 0.3}, MusicalSettings(bars=8), seed=seed)
        times.append(time.perf_counter() - start)
    assert sorted(times)[2] < 0.5, times  # generous on a shared 2-core machine; bench/compose_speed.py measures


def test_long_pieces_are_composed_in_one_go(composer):
    from models.generation import MAX_BARS

    bars = MAX_BARS  # 256: the generator plans the phrases itself (no splitting in the composer)
    first = composer.compose({"Q2": 1.0}, MusicalSettings(bars=bars, key="C#m"), seed=4)
    assert first.progression.length_beats == bars * 4 and first.progression.key_name == "C# minor"
    assert first.score.length_beats == bars * 4
    last = len(first.progression.chords) - 1
    again = composer.compose({"Q2": 1.0}, None, seed=5, previous=first.progression, locked=frozenset({2, last}))
    assert [c.duration_beats for c in again.progression.chords] == [c.duration_beats for c in first.progression.chords]
    assert again.progression.chords[last].chord == first.progression.chords[last].chord


def test_three_four_time(composer):
    result = composer.compose({"Q4": 1.0}, MusicalSettings(bars=6, beats_per_bar=3, tempo_bpm=84), seed=2)
    assert result.progression.beats_per_bar == 3 == result.score.beats_per_bar
    assert result.progression.length_beats == 18 and result.score.tempo_bpm == 84


@pytest.mark.parametrize("metre, bpb, compound, signature", [("4/4", 4, False, (4, 4)), ("3/4", 3, False, (3, 4)),
                                                              ("6/8", 3, True, (6, 8))])
def test_metre_reaches_the_progression_and_the_score(composer, metre, bpb, compound, signature):
    result = composer.compose({"Q1": 1.0}, MusicalSettings(bars=4, metre=metre), seed=3)
    progression = result.progression
    assert (progression.beats_per_bar, progression.compound, progression.time_signature) == (bpb, compound, signature)
    assert progression.length_beats == 4 * bpb and result.score.time_signature == signature


def test_loop_form_repeats_its_progression(composer):
    result = composer.compose({"Q4": 1.0}, MusicalSettings(bars=8, form="loop", loop_bars=2), seed=5)
    assert result.form == "loop" and result.progression.length_beats == 32
    bars: dict[int, list[str]] = {}
    for placed in result.progression.chords:
        bars.setdefault(int(placed.start_beats // 4), []).append(placed.chord.name)
    first_chords = [bars[b][0] for b in range(0, 8, 2)]
    assert len(set(first_chords)) == 1, bars  # every repeat starts where the loop starts


def test_the_plan_decides_mode_tempo_and_touch_unless_settings_do(composer):
    from assistant.expression import expression_plan

    calm_sad = expression_plan(-0.6, -0.6, 0.5, seed=2)
    result = composer.compose({"Q1": 1.0}, MusicalSettings(bars=4), seed=2, plan=calm_sad)  # weights say happy
    assert result.progression.mode == "minor" and result.progression.tempo_bpm == calm_sad.tempo_bpm <= 100
    assert result.arrangement.velocity == round(calm_sad.velocity)
    explicit = composer.compose({"Q1": 1.0}, MusicalSettings(bars=4, mode="major", tempo_bpm=150), seed=2,
                                plan=calm_sad)
    assert explicit.progression.mode == "major" and explicit.progression.tempo_bpm == 150
    for seed in range(6):  # without a plan: the weights' own point, never a tempo sampled from the classes
        calm = composer.compose({"Q4": 1.0}, MusicalSettings(bars=2), seed=seed)
        assert calm.progression.tempo_bpm <= 100 and calm.plan.arousal < 0


def test_regenerate_keeps_the_metre(composer):
    first = composer.compose({"Q2": 1.0}, MusicalSettings(bars=4, metre="6/8"), seed=1)
    again = composer.compose({"Q2": 1.0}, None, seed=2, previous=first.progression, locked=frozenset({0}))
    assert again.progression.compound and again.progression.beats_per_bar == 3
    assert again.progression.chords[0].chord == first.progression.chords[0].chord


def test_a_new_take_keeps_the_previous_shape_unless_the_settings_change_it():
    """take_shape: what Regenerate and a corrected setting keep from the progression on screen, and
    the phrases that say why its locked chords cannot be kept (empty: they can)."""
    from assistant.composer import take_shape
    from tests.support.compositions import hand_made_composition

    previous = hand_made_composition().progression  # D major, 4/4, 8 bars of 4 beats, 96 bpm

    def shape(**given):
        settings = MusicalSettings(**given)
        return take_shape(previous, resolve_settings(settings), settings)

    kept = shape()
    assert (kept.bars, kept.metre, kept.mode, kept.tonic, kept.tempo_bpm, kept.changes) == (8, "4/4", "major", 2, 96.0,
                                                                                           ())
    moved = shape(key="A", tempo_bpm=140.0, program=48, intensity=0.9)  # same mode: the locks are transposed
    assert (moved.tonic, moved.tempo_bpm, moved.changes) == (9, 140.0, ())
    assert shape(key="B", mode="minor").changes == ("a minor key instead of a major one",)
    assert shape(bars=16).changes == ("16 bars instead of 8",)
    waltz = shape(metre="3/4")  # 8 bars of 4/4 are not a whole number of 3/4 bars, nor the same length
    assert waltz.changes == ("11 bars instead of 8", "3/4 instead of 4/4") and waltz.beats_per_bar == 3
