"""The music core: key parsing, chord names, progressions, key frames and voice leading."""
from __future__ import annotations

import pytest

from assistant.errors import InvalidInput
from assistant.music import (
    BASS_HIGH, BASS_LOW, VOICING_HIGH, VOICING_LOW, Chord, PlacedChord, Progression, candidate_voicings,
    key_spelling, parse_key, root_position_voicing, voice_movement, voice_progression,
)
from models.vocabulary import QUALITIES, ChordEvent, quality_index


@pytest.mark.parametrize("text, expected", [
    ("D", (2, None)), ("F#", (6, None)), ("Bb", (10, None)), ("Dm", (2, "minor")), ("D minor", (2, "minor")),
    ("d min", (2, "minor")), ("C major", (0, "major")), ("Eb maj", (3, "major")), ("  f#m ", (6, "minor")),
    ("B♭ minor", (10, "minor")), ("Cb", (11, None)), ("AM", (9, "major")), ("g  MINOR", (7, "minor")),
])
def test_parse_key_accepts_common_spellings(text, expected):
    assert parse_key(text) == expected


@pytest.mark.parametrize("text", ["H", "", "D dorian", "X#", "C##", "Dmm", "12"])
def test_parse_key_rejects_with_the_allowed_choices(text):
    with pytest.raises(InvalidInput) as error:
        parse_key(text)
    message = str(error.value)
    assert repr(text) in message and "allowed" in message and "F#m" in message


def _every_inversion():
    for index, quality in enumerate(QUALITIES):
        for root in range(12):
            for interval in quality.intervals:
                yield Chord(root, index, root + interval)


def test_chord_names_round_trip_for_every_quality_root_and_inversion():
    count = 0
    for chord in _every_inversion():
        for spelling in (None, key_spelling(chord.root, "major"), key_spelling(chord.root, "minor")):
            spelled = chord.spelled(spelling)
            parsed = Chord.parse(spelled.name)
            assert parsed == chord, (spelled.name, parsed)
            assert parsed.name == spelled.name
            count += 1
    assert count == 3 * 12 * sum(len(q.intervals) for q in QUALITIES)


@pytest.mark.parametrize("symbol, root, quality, bass", [
    ("Cmaj7", 0, "maj7", 0), ("Am/E", 9, "min", 4), ("Fsus2", 5, "sus2", 5), ("Bbm7b5", 10, "min7b5", 10),
    ("F#m", 6, "min", 6), ("G7/B", 7, "dom7", 11), ("Ebadd9", 3, "add9", 3), ("Caug", 0, "aug", 0),
    ("Bdim7", 11, "dim7", 11), ("C/D", 0, "maj", 2), ("CM7", 0, "maj7", 0), ("Bø", 11, "min7b5", 11),
    ("Dsus", 2, "sus4", 2), ("C#°", 1, "dim", 1),
])
def test_chord_parse_reads_symbols_and_aliases(symbol, root, quality, bass):
    assert Chord.parse(symbol) == Chord(root, quality_index(quality), bass)


@pytest.mark.parametrize("symbol", ["", "H7", "Cfoo", "C/", "C/H", "am"])
def test_chord_parse_rejects_unknown_symbols(symbol):
    with pytest.raises(InvalidInput, match="allowed"):
        Chord.parse(symbol)


def test_chord_pitch_classes_include_the_bass():
    assert Chord.parse("C/D").pitch_classes == frozenset({0, 4, 7, 2})
    assert Chord.parse("Am7").pitch_classes == frozenset({9, 0, 4, 7})


def test_names_are_spelled_for_the_key():
    events = [ChordEvent(0, 0, 0, 4), ChordEvent(5, 0, 5, 4), ChordEvent(10, 0, 10, 4), ChordEvent(2, 1, 2, 4)]
    in_f = Progression.from_events(events, 5, "major", 100)
    assert in_f.chord_names() == ["F", "Bb", "Eb", "Gm"] and in_f.key_name == "F major"
    in_d = Progression.from_events(events, 2, "major", 100)
    assert in_d.chord_names() == ["D", "G", "C", "Em"]
    assert in_d.transposed(-1).key_name == "Db major"
    assert in_d.transposed(-1).chord_names() == ["Db", "Gb", "B", "Ebm"]  # B, not Cb: no odd spellings
    in_e = Progression.from_events([ChordEvent(8, 0, 8, 4), ChordEvent(11, 5, 11, 4)], 4, "major", 100)
    assert in_e.chord_names() == ["C", "D#dim"]  # bVI is C, viio is D#dim (not Ebdim) in E major
    minor = Progression.from_events([ChordEvent(4, 2, 8, 4), ChordEvent(9, 1, 9, 4)], 2, "minor", 90)
    assert minor.key_name == "D minor" and minor.chord_names() == ["A7/C#", "Dm"]
    assert Progression.from_events([ChordEvent(9, 6, 9, 4)], 10, "minor", 90).chord_names() == ["Bbm7b5"]


def test_events_round_trip_through_both_frames():
    events = (ChordEvent(9, 1, 9, 2.0), ChordEvent(5, 3, 5, 2.0), ChordEvent(0, 0, 4, 1.5),
              ChordEvent(7, 2, 11, 2.5))
    for mode in ("major", "minor"):
        for tonic in range(12):
            progression = Progression.from_events(events, tonic, mode, 96.0, 4)
            assert progression.to_events() == events
            assert progression.length_beats == 8.0
            assert [c.start_beats for c in progression.chords] == [0.0, 2.0, 4.0, 5.5]


def test_frame_tonic_maps_to_the_requested_key():
    # In the minor frame A (9) is the tonic: i-iv-V7 = Am Dm E7 becomes Em Am B7 in E minor.
    events = [ChordEvent(9, 1, 9, 4), ChordEvent(2, 1, 2, 4), ChordEvent(4, 2, 4, 4)]
    assert Progression.from_events(events, 4, "minor", 80).chord_names() == ["Em", "Am", "B7"]
    # In the major frame C (0) is the tonic: I-vi-IV-V becomes G Em C D in G major.
    events = [ChordEvent(0, 0, 0, 4), ChordEvent(9, 1, 9, 4), ChordEvent(5, 0, 5, 4), ChordEvent(7, 0, 7, 4)]
    assert Progression.from_events(events, 7, "major", 80).chord_names() == ["G", "Em", "C", "D"]


def test_transposition_moves_every_chord_and_keeps_the_frame():
    events = (ChordEvent(0, 3, 0, 4), ChordEvent(9, 4, 4, 4), ChordEvent(2, 7, 2, 4), ChordEvent(7, 2, 11, 4))
    c_major = Progression.from_events(events, 0, "major", 120)
    for semitones in range(-12, 13):
        moved = c_major.transposed(semitones)
        assert moved.tonic == semitones % 12
        assert moved.to_events() == events  # key-relative content unchanged
        for before, after in zip(c_major.chords, moved.chords):
            assert after.chord.root == (before.chord.root + semitones) % 12
            assert after.chord.bass == (before.chord.bass + semitones) % 12
    assert c_major.transposed(2).chord_names() == ["Dmaj7", "Bm7/F#", "Esus2", "A7/C#"]
    assert Chord.parse("Am/E").transposed(3) == Chord.parse("Cm/G")


def test_with_locked_sets_exactly_those_chords():
    progression = Progression.from_events([ChordEvent(0, 0, 0, 4)] * 4, 0, "major", 100)
    locked = progression.with_locked({1, 3})
    assert [c.locked for c in locked.chords] == [False, True, False, True]
    assert locked.locked_indices == frozenset({1, 3})
    assert locked.with_locked([]).locked_indices == frozenset()
    with pytest.raises(InvalidInput, match="allowed: 0..3"):
        progression.with_locked({4})
    assert Progression.from_events([ChordEvent(0, 0, 0, 4)] * 2, 0, "major", 100, locked=[0]).locked_indices == {0}


def test_progression_is_frozen_and_rejects_unknown_modes():
    progression = Progression((PlacedChord(Chord(0, 0, 0), 0.0, 4.0),), 0, "major", 100.0)
    with pytest.raises(AttributeError):
        progression.tonic = 3  # type: ignore[misc]
    with pytest.raises(InvalidInput, match="dorian"):
        Progression((), 0, "dorian", 100.0)


def test_candidate_voicings_cover_the_chord_in_range():
    for index in range(len(QUALITIES)):
        chord = Chord(4, index, 4)
        candidates = candidate_voicings(chord)
        assert candidates
        for notes in candidates:
            assert VOICING_LOW <= notes[0] and notes[-1] <= VOICING_HIGH and 3 <= len(notes) <= 5
            tones = set(chord.tones)
            fifth = (chord.root + 7) % 12
            assert {n % 12 for n in notes} in (tones, tones - {fifth})
        assert any(n[0] % 12 != chord.root for n in candidates)  # inversions are searched


# I-vi-IV-V-ii-V7-I-iii in D major and a minor-key loop with a secondary dominant.
KNOWN_PROGRESSIONS = [
    ["D", "Bm", "G", "A", "Em7", "A7", "D", "F#m"],
    ["Am", "F", "C", "G", "Dm7", "E7", "Am", "E/G#"],
]


@pytest.mark.parametrize("names", KNOWN_PROGRESSIONS)
def test_voice_leading_moves_less_than_root_position_triads(names):
    chords = tuple(PlacedChord(Chord.parse(n), 4.0 * i, 4.0) for i, n in enumerate(names))
    progression = Progression(chords, 2, "major", 100.0)
    voicings = voice_progression(progression, register=64)
    smooth = sum(voice_movement(a.notes, b.notes) for a, b in zip(voicings, voicings[1:]))
    naive_voicings = [root_position_voicing(c.chord, 60) for c in chords]
    naive = sum(voice_movement(a, b) for a, b in zip(naive_voicings, naive_voicings[1:]))
    assert smooth < 0.6 * naive, (smooth, naive)
    for placed, voicing in zip(chords, voicings):
        assert {n % 12 for n in voicing.notes} <= set(placed.chord.tones)
        assert 3 <= len(voicing.notes) <= 5
        assert VOICING_LOW <= min(voicing.notes) and max(voicing.notes) <= VOICING_HIGH
        assert abs(sum(voicing.notes) / len(voicing.notes) - 64) <= 7  # centred on the register
        assert voicing.bass % 12 == placed.chord.bass and BASS_LOW <= voicing.bass <= BASS_HIGH
        assert voicing.bass < min(voicing.notes)


def test_voicing_follows_the_requested_register_and_size():
    chords = tuple(PlacedChord(Chord.parse(n), 4.0 * i, 4.0) for i, n in enumerate(KNOWN_PROGRESSIONS[0]))
    progression = Progression(chords, 2, "major", 100.0)
    low = voice_progression(progression, register=55, voices=3)
    high = voice_progression(progression, register=72, voices=4)
    mean = lambda vs: sum(sum(v.notes) / len(v.notes) for v in vs) / len(vs)  # noqa: E731
    assert mean(high) - mean(low) > 10
    assert all(len(v.notes) == 3 for v in low) and all(len(v.notes) == 4 for v in high)


def test_common_tones_stay_put():
    # C -> Am share C and E: a smooth voicing keeps both on the same keys.
    chords = (PlacedChord(Chord.parse("C"), 0, 4), PlacedChord(Chord.parse("Am"), 4, 4))
    first, second = voice_progression(Progression(chords, 0, "major", 100), register=64, voices=3)
    assert len(set(first.notes) & set(second.notes)) == 2
    assert voice_movement(first.notes, second.notes) <= 2
