"""Arrangements: the performance profile drives pattern, density, touch and register."""
from __future__ import annotations

import pytest

from assistant.arrangement import (
    PATTERNS, Arrangement, arrangement_from_performance, bass_program_for, count_notes, expected_notes_per_second,
    render_score, rendered_profile,
)
from assistant.errors import InvalidInput
from assistant.music import Chord, PlacedChord, Progression, voice_progression
from assistant.score import BASS_CHANNEL, CHORD_CHANNEL
from models.generation import PerformanceSample
from models.vocabulary import ChordEvent

# A progression with chords of different lengths, sevenths and an inversion (C major frame).
EVENTS = [ChordEvent(0, 0, 0, 4), ChordEvent(9, 1, 9, 4), ChordEvent(5, 3, 5, 2), ChordEvent(7, 2, 11, 2),
          ChordEvent(0, 0, 0, 4), ChordEvent(4, 4, 4, 4), ChordEvent(5, 0, 5, 4), ChordEvent(7, 8, 7, 4)]


def progression(tempo: float, tonic: int = 2, mode: str = "major") -> Progression:
    return Progression.from_events(EVENTS, tonic, mode, tempo)


# Profiles like the ones the performance model samples: calm/sad (Q3/Q4) and excited (Q1/Q2).
CALM = [PerformanceSample(tempo_bpm=t, notes_per_second=4.3, velocity=54, note_length_s=0.8, register=60,
                          legato=0.6) for t in (60, 75, 90, 110)]
BUSY = [PerformanceSample(tempo_bpm=t, notes_per_second=n, velocity=78, note_length_s=0.25, register=64,
                          legato=0.2) for t, n in ((100, 8.0), (120, 9.0), (140, 10.0), (90, 8.5))]


@pytest.mark.parametrize("sample", CALM + BUSY)
def test_rendered_notes_per_second_and_velocity_match_the_sample(sample):
    arrangement = arrangement_from_performance(sample)
    score = render_score(progression(sample.tempo_bpm), arrangement)
    rate, velocity = rendered_profile(score)
    assert abs(rate - sample.notes_per_second) / sample.notes_per_second < 0.2, (arrangement, rate)
    assert abs(velocity - sample.velocity) < 2.0
    assert abs(expected_notes_per_second(arrangement, sample.tempo_bpm) - rate) / rate < 0.15


def test_sparse_profiles_sustain_and_dense_profiles_arpeggiate():
    calm = arrangement_from_performance(CALM[1])
    busy = arrangement_from_performance(BUSY[1])
    assert calm.pattern == "pad" and calm.note_length > 0.9
    assert busy.pattern == "arpeggio" and busy.notes_per_beat >= 3
    slow_sparse = PerformanceSample(tempo_bpm=60, notes_per_second=1.8, velocity=40, note_length_s=1.6,
                                    register=58, legato=0.8)
    assert arrangement_from_performance(slow_sparse).pattern == "pad"
    medium = PerformanceSample(tempo_bpm=100, notes_per_second=6.0, velocity=66, note_length_s=0.3,
                               register=62, legato=0.1)
    assert arrangement_from_performance(medium).pattern in ("pulse", "broken")


def test_register_program_and_velocity_come_from_the_sample():
    sample = PerformanceSample(tempo_bpm=90, notes_per_second=5, velocity=70.4, note_length_s=0.5,
                               register=67.6, legato=0.3)
    arrangement = arrangement_from_performance(sample, program=48)
    assert (arrangement.register, arrangement.velocity, arrangement.program) == (68, 70, 48)
    assert arrangement.bass_program == bass_program_for(48) == 43
    low = arrangement_from_performance(PerformanceSample(90, 5, 70, 0.5, 30.0, 0.3))
    assert low.register >= 55  # kept where a piano voicing sounds
    assert arrangement_from_performance(sample).program == 0


def test_render_score_places_chords_bass_and_markers():
    prog = progression(96)
    arrangement = Arrangement("pulse", 2.0, 70, 0.5, 64, program=4, bass_program=33)
    score = render_score(prog, arrangement)
    assert score.tempo_bpm == 96 and score.beats_per_bar == 4 and score.length_beats == 28
    assert score.programs == {CHORD_CHANNEL: 4, BASS_CHANNEL: 33}
    assert [m.text for m in score.markers] == prog.chord_names()
    assert [m.start_beats for m in score.markers] == [c.start_beats for c in prog.chords]
    voicings = voice_progression(prog, 64, 4)
    for placed, voicing in zip(prog.chords, voicings):
        inside = [n for n in score.notes if placed.start_beats <= n.start_beats < placed.end_beats]
        chord_notes = {n.pitch for n in inside if n.channel == CHORD_CHANNEL}
        assert chord_notes == set(voicing.notes)
        assert {n.pitch for n in inside if n.channel == BASS_CHANNEL} == {voicing.bass}
        assert all(n.start_beats + n.duration_beats <= placed.end_beats + 1e-9 for n in inside)
    starts = [n.start_beats for n in score.notes]
    assert starts == sorted(starts)


def test_downbeats_are_stronger():
    score = render_score(progression(100), Arrangement("pulse", 1.0, 64, 0.8, 64))
    chord_notes = [n for n in score.notes if n.channel == CHORD_CHANNEL]
    downbeat = [n.velocity for n in chord_notes if n.start_beats % 4 == 0]
    other = [n.velocity for n in chord_notes if n.start_beats % 4 in (1, 3)]
    assert min(downbeat) > max(other)


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_pattern_renders_without_overlapping_keys(pattern):
    score = render_score(progression(120), Arrangement(pattern, 2.0 if pattern != "pad" else 0.25, 70, 1.0, 64),
                         humanize=1.0, seed=3)
    last_end: dict[tuple[int, int], float] = {}
    for note in score.notes:
        key = (note.channel, note.pitch)
        assert note.start_beats >= last_end.get(key, 0.0) - 1e-9
        last_end[key] = note.start_beats + note.duration_beats
        assert note.duration_beats > 0 and 1 <= note.velocity <= 127


def test_humanisation_is_reproducible_with_a_seed():
    prog, arrangement = progression(100), Arrangement("arpeggio", 4.0, 70, 0.9, 64)
    first = render_score(prog, arrangement, humanize=0.5, seed=7)
    assert first == render_score(prog, arrangement, humanize=0.5, seed=7)
    assert first != render_score(prog, arrangement, humanize=0.5, seed=8)
    grid = render_score(prog, arrangement)
    assert all(n.start_beats * 4 == int(n.start_beats * 4) for n in grid.notes)
    assert any(n.start_beats * 4 != int(n.start_beats * 4) for n in first.notes)


def test_chords_sounding_match_the_progression_in_a_pad():
    prog = Progression((PlacedChord(Chord.parse("Am/E"), 0, 4), PlacedChord(Chord.parse("Fmaj7"), 4, 4)),
                       9, "minor", 80)
    score = render_score(prog, Arrangement("pad", 0.25, 60, 0.95, 62))
    for placed in prog.chords:
        sounding = {n.pitch % 12 for n in score.notes if n.start_beats == placed.start_beats}
        assert sounding == set(placed.chord.pitch_classes)


@pytest.mark.parametrize("kwargs, word", [
    ({"pattern": "waltz"}, "waltz"), ({"program": 128}, "128"), ({"velocity": 0}, "velocity 0"),
    ({"note_length": 1.5}, "1.5"), ({"notes_per_beat": 0}, "notes per beat 0"),
])
def test_bad_arrangements_name_the_value(kwargs, word):
    values = dict(pattern="pad", notes_per_beat=1.0, velocity=64, note_length=0.9, register=64)
    values.update(kwargs)
    with pytest.raises(InvalidInput, match="allowed") as error:
        Arrangement(**values)
    assert word in str(error.value)


@pytest.mark.parametrize("pattern, steps, voices", [("pad", 0.125, 3), ("pad", 1.0, 4), ("pulse", 2.0, 3),
                                                    ("broken", 3.0, 4), ("arpeggio", 6.0, 4)])
def test_count_notes_is_what_render_plays(pattern, steps, voices):
    prog = progression(100)
    arrangement = Arrangement(pattern, steps, 64, 0.9, 64, voices=voices)
    assert count_notes(prog, arrangement) == len(render_score(prog, arrangement).notes)


def test_with_the_progression_the_rate_is_fitted_exactly():
    # Sparse playing at a fast tempo over quick chord changes: each change is a strike, so the
    # pattern must be chosen knowing the chords.
    busy_changes = Progression.from_events([ChordEvent(r, 0, r, 2) for r in (0, 5, 7, 9) * 4], 0, "major", 150)
    sample = PerformanceSample(tempo_bpm=150, notes_per_second=4.0, velocity=50, note_length_s=0.9, register=60,
                               legato=0.7)
    fitted = arrangement_from_performance(sample, progression=busy_changes)
    rate, _ = rendered_profile(render_score(busy_changes, fitted))
    assert abs(rate - 4.0) / 4.0 < 0.1, (fitted, rate)
    blind = arrangement_from_performance(sample)
    blind_rate, _ = rendered_profile(render_score(busy_changes, blind))
    assert abs(rate - 4.0) < abs(blind_rate - 4.0)


# 6/8: three quarter beats a bar, felt as two dotted quarters (at 0 and 1.5).
COMPOUND_EVENTS = [ChordEvent(0, 0, 0, 3), ChordEvent(9, 1, 9, 3), ChordEvent(5, 0, 5, 1.5), ChordEvent(7, 0, 7, 1.5),
                   ChordEvent(0, 0, 0, 3)]


@pytest.mark.parametrize("sample", CALM + BUSY)
def test_compound_metre_keeps_to_its_dotted_quarter_grid(sample):
    six_eight = Progression.from_events(COMPOUND_EVENTS, 0, "major", sample.tempo_bpm, 3, compound=True)
    arrangement = arrangement_from_performance(sample, progression=six_eight)
    assert arrangement.notes_per_beat in (0.5 / 3, 1 / 3, 2 / 3, 2.0, 4.0), arrangement  # never plain quarters
    score = render_score(six_eight, arrangement)
    assert score.compound and score.time_signature == (6, 8)
    grid = 1.5 if arrangement.notes_per_beat < 2 else 1.0 / arrangement.notes_per_beat
    for note in score.notes:  # onsets on the pattern's compound grid; bass notes on the dotted-quarter beats
        assert abs(note.start_beats / grid - round(note.start_beats / grid)) < 1e-6, (note, arrangement)
        if note.channel == BASS_CHANNEL:
            assert abs(note.start_beats / 1.5 - round(note.start_beats / 1.5)) < 1e-6, note
    rate, _ = rendered_profile(score)
    assert abs(rate - sample.notes_per_second) / sample.notes_per_second < 0.35, (arrangement, rate)


def test_compound_accents_the_two_dotted_quarter_beats():
    six_eight = Progression.from_events([ChordEvent(0, 0, 0, 3)], 0, "major", 100, 3, compound=True)
    busy = Arrangement("pulse", 2.0, 80, 0.5, 64)
    velocity = {n.start_beats: n.velocity for n in render_score(six_eight, busy).notes if n.channel == CHORD_CHANNEL}
    assert velocity[0.0] > velocity[1.5] > velocity[0.5] == velocity[1.0] == velocity[2.0] == velocity[2.5]
