"""The music core: key parsing, chord names, progressions, key frames and voice leading."""
from __future__ import annotations

import mido
import pytest

from assistant.errors import InvalidInput
from assistant.music import (
    BASS_HIGH, BASS_LOW, CONVENTIONAL_KEYS, MODES, VOICING_HIGH, VOICING_LOW, Chord, PlacedChord, Progression,
    candidate_voicings, conventional_keys, key_spelling, parse_key, parse_key_name, root_position_voicing,
    scale_names, tonic_name, tonic_name_for, voice_movement, voice_progression,
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
    assert in_d.transposed(-1).chord_names() == ["Db", "Gb", "Cb", "Ebm"]  # bVII of Db is Cb, spelled in the key
    in_e = Progression.from_events([ChordEvent(8, 0, 8, 4), ChordEvent(11, 5, 11, 4)], 4, "major", 100)
    assert in_e.chord_names() == ["C", "D#°"]  # bVI is C, vii° is D#° (not Eb°) in E major
    minor = Progression.from_events([ChordEvent(4, 2, 8, 4), ChordEvent(9, 1, 9, 4)], 2, "minor", 90)
    assert minor.key_name == "D minor" and minor.chord_names() == ["A7/C#", "Dm"]
    assert Progression.from_events([ChordEvent(9, 6, 9, 4)], 10, "minor", 90).chord_names() == ["Bbø7"]


# Every key a key list offers, with its scale (natural minor) written out by hand.
HAND_WRITTEN_SCALES = {
    "C major": "C D E F G A B", "C minor": "C D Eb F G Ab Bb",
    "Db major": "Db Eb F Gb Ab Bb C", "C# minor": "C# D# E F# G# A B",
    "D major": "D E F# G A B C#", "D minor": "D E F G A Bb C",
    "Eb major": "Eb F G Ab Bb C D", "Eb minor": "Eb F Gb Ab Bb Cb Db", "D# minor": "D# E# F# G# A# B C#",
    "E major": "E F# G# A B C# D#", "E minor": "E F# G A B C D",
    "F major": "F G A Bb C D E", "F minor": "F G Ab Bb C Db Eb",
    "F# major": "F# G# A# B C# D# E#", "Gb major": "Gb Ab Bb Cb Db Eb F", "F# minor": "F# G# A B C# D E",
    "G major": "G A B C D E F#", "G minor": "G A Bb C D Eb F",
    "Ab major": "Ab Bb C Db Eb F G", "G# minor": "G# A# B C# D# E F#",
    "A major": "A B C# D E F# G#", "A minor": "A B C D E F G",
    "Bb major": "Bb C D Eb F G A", "Bb minor": "Bb C Db Eb F Gb Ab",
    "B major": "B C# D# E F# G# A#", "B minor": "B C# D E F# G A",
}
# Diatonic triads and sevenths on each degree (major scale; natural minor).
DIATONIC = {"major": (("maj", "maj7"), ("min", "min7"), ("min", "min7"), ("maj", "maj7"), ("maj", "dom7"),
                      ("min", "min7"), ("dim", "min7b5")),
            "minor": (("min", "min7"), ("dim", "min7b5"), ("maj", "maj7"), ("min", "min7"), ("min", "min7"),
                      ("maj", "maj7"), ("maj", "dom7"))}
STEPS = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}


def test_the_key_list_has_exactly_the_conventional_names():
    names = [name for _pc, _mode, name in CONVENTIONAL_KEYS]
    assert sorted(names) == sorted(HAND_WRITTEN_SCALES) and len(names) == len(set(names)) == 26
    assert "Db minor" not in names and "C# minor" in names and {"F# major", "Gb major"} <= set(names)
    assert {"Eb minor", "D# minor"} <= set(names)
    for pc, mode, name in CONVENTIONAL_KEYS:
        assert parse_key(name) == (pc, mode)
        assert Progression((), pc, mode, 100.0, tonic_name=name.split()[0]).key_name == name
    assert conventional_keys() == CONVENTIONAL_KEYS


def test_the_window_key_list_is_the_conventional_list(qtbot):
    from gui.transport import TransportBar

    bar = TransportBar()
    qtbot.addWidget(bar)
    items = [bar.key.itemText(i) for i in range(bar.key.count())]
    assert items == ["Auto"] + [name for _pc, _mode, name in CONVENTIONAL_KEYS]
    bar.key.setCurrentIndex(items.index("C# minor"))
    overrides = bar.overrides()
    assert (overrides.key, overrides.mode) == ("C#", "minor") and parse_key(overrides.key) == (1, None)


@pytest.mark.parametrize("key", sorted(HAND_WRITTEN_SCALES))
def test_every_diatonic_chord_is_spelled_with_the_scale_of_its_key(key):
    tonic, mode, asked = parse_key_name(key)
    scale = HAND_WRITTEN_SCALES[key].split()
    assert scale_names(tonic, mode, asked) == tuple(scale)
    spelling = key_spelling(tonic, mode, asked)
    for degree, qualities in enumerate(DIATONIC[mode]):
        root = (tonic + STEPS[mode][degree]) % 12
        for name in qualities:
            chord = Chord(root, quality_index(name), root, spelling)
            # root on the degree's letter, every tone a note of the scale (thirds stacked on letters)
            expected = tuple(scale[(degree + 2 * k) % 7] for k in range(len(chord.intervals)))
            assert chord.tone_names == expected, (key, name, chord.tone_names)
            for inversion, bass in enumerate(chord.tones[1:], start=1):
                inverted = Chord(root, chord.quality, bass, spelling)
                assert inverted.name.split("/")[1] == expected[inversion]


@pytest.mark.parametrize("key, root, quality, bass, expected", [
    # the cases: C#/E# (not C#/F), E#ø7/D# in G# minor (not Fm7b5/D#)
    ("C# major", 1, "maj", 5, "C#/E#"), ("G# minor", 1, "maj", 5, "C#/E#"),
    ("G# minor", 5, "min7b5", 3, "E#ø7/D#"), ("C# minor", 5, "min7b5", 3, "E#ø7/D#"),
    ("Gb major", 11, "maj", 11, "Cb"), ("F# major", 5, "min7b5", 5, "E#ø7"),
    ("C major", 10, "maj", 10, "Bb"), ("C major", 2, "maj", 2, "D"), ("C major", 2, "dom7", 6, "D7/F#"),
    # borrowed chords flat, leading-tone chords sharp, the raised fourth sharp
    ("C major", 8, "maj", 8, "Ab"), ("C major", 3, "maj7", 3, "Ebmaj7"), ("C major", 1, "maj", 1, "Db"),
    ("C major", 1, "dim", 1, "C#°"), ("C major", 8, "dim7", 8, "G#°7"), ("C major", 6, "min7b5", 6, "F#ø7"),
    ("D major", 10, "maj", 10, "Bb"), ("E major", 3, "dim", 3, "D#°"), ("E major", 0, "maj", 0, "C"),
    ("A minor", 8, "dim7", 8, "G#°7"), ("A minor", 4, "dom7", 8, "E7/G#"), ("A minor", 10, "maj", 10, "Bb"),
    ("Bb minor", 10, "min7b5", 10, "Bbø7"), ("F major", 4, "min7b5", 4, "Eø7"),
    ("Eb minor", 11, "maj", 11, "Cb"), ("Eb minor", 2, "dim7", 2, "D°7"),
    # double sharps and flats: degrees of the key and intervals demand them; chromatic roots only in
    # extreme keys (6-7 accidentals), elsewhere respelled
    ("G# minor", 7, "dim7", 7, "F##°7"), ("G# minor", 3, "maj", 7, "D#/F##"), ("D# minor", 2, "dim7", 2, "C##°7"),
    ("C# major", 9, "dim", 9, "G##°"), ("Gb major", 2, "maj", 2, "Ebb"),
    ("Db major", 9, "maj", 9, "A"), ("Db major", 11, "maj", 11, "Cb"), ("C# minor", 2, "dim", 2, "D°"),
    # the other qualities, inversions, and a bass outside the chord (named in the key)
    ("Gb major", 8, "sus2", 8, "Absus2"), ("F# major", 11, "sus4", 11, "Bsus4"), ("C# minor", 4, "add9", 4, "Eadd9"),
    ("Eb minor", 3, "madd9", 6, "Ebmadd9/Gb"), ("B major", 6, "7sus4", 11, "F#7sus4/B"),
    ("C major", 7, "aug", 3, "Gaug/D#"), ("F minor", 5, "min", 8, "Fm/Ab"), ("Ab major", 1, "maj7", 0, "Dbmaj7/C"),
    ("B major", 8, "min7", 3, "G#m7/D#"), ("F# major", 1, "dom7", 5, "C#7/E#"), ("C major", 0, "maj", 2, "C/D"),
    ("Eb major", 8, "maj", 10, "Ab/Bb"), ("E major", 9, "min", 7, "Am/G"),
])
def test_hand_written_chord_spellings(key, root, quality, bass, expected):
    tonic, mode, asked = parse_key_name(key)
    progression = Progression((PlacedChord(Chord(root, quality_index(quality), bass), 0.0, 4.0),), tonic, mode,
                              100.0, tonic_name=asked)
    assert progression.key_name == key
    assert progression.chord_names() == [expected]
    parsed = Chord.parse(expected)
    assert parsed == Chord(root, quality_index(quality), bass) and parsed.name == expected


@pytest.mark.parametrize("symbol, tones", [
    ("C#", ("C#", "E#", "G#")), ("E#ø7", ("E#", "G#", "B", "D#")), ("Gaug", ("G", "B", "D#")),
    ("F##°7", ("F##", "A#", "C#", "E")), ("Cb", ("Cb", "Eb", "Gb")), ("Absus2", ("Ab", "Bb", "Eb")),
    ("F#7sus4", ("F#", "B", "C#", "E")), ("Eadd9", ("E", "F#", "G#", "B")), ("Ebmadd9", ("Eb", "F", "Gb", "Bb")),
    ("C°7", ("C", "Eb", "Gb", "Bbb")), ("Bbmaj7", ("Bb", "D", "F", "A")),
])
def test_chord_tones_are_spelled_by_their_interval_above_the_root(symbol, tones):
    assert Chord.parse(symbol).tone_names == tones


def test_old_printed_symbols_still_parse_to_the_same_chords():
    pairs = [("Fm7b5/D#", "E#ø7/D#"), ("C#/F", "C#/E#"), ("C#dim", "C#°"), ("Bdim7", "B°7"), ("Bbm7b5", "Bbø7"),
             ("Abdim7", "G#°7"), ("Gb", "F#"), ("Cb", "B"), ("Dx", "E"), ("Ebb", "D"), ("F𝄪", "G")]
    for old, new in pairs:
        assert Chord.parse(old) == Chord.parse(new), (old, new)
    assert Chord.parse("C#/F").name == "C#/F"  # a written symbol keeps its written spelling


def test_names_round_trip_to_the_same_pitches_in_every_key():
    keys = [parse_key_name(f"{t} {m}") for t, m in (
        [(name.split()[0], mode) for _pc, mode, name in CONVENTIONAL_KEYS]
        + [("C#", "major"), ("Cb", "major"), ("A#", "minor"), ("Ab", "minor")])]
    count = 0
    for tonic, mode, asked in keys:
        spelling = key_spelling(tonic, mode, asked)
        for chord in _every_inversion():
            name = chord.spelled(spelling).name
            parsed = Chord.parse(name)
            assert parsed == chord and parsed.pitch_classes == chord.pitch_classes, (asked, mode, name)
            assert parsed.name == name
            count += 1
    assert count == 30 * 12 * sum(len(q.intervals) for q in QUALITIES)


@pytest.mark.parametrize("asked, mode, shown", [
    ("Gb", "major", "Gb major"), ("F#", "major", "F# major"), ("C#", "major", "C# major"), ("Cb", "major", "Cb major"),
    ("D#", "minor", "D# minor"), ("A#", "minor", "A# minor"), ("Ab", "minor", "Ab minor"),
    # no key signature exists for these (8+ accidentals): the enharmonic real key is shown
    ("G#", "major", "Ab major"), ("Db", "minor", "C# minor"), ("D#", "major", "Eb major"), ("Fb", "major", "E major"),
    ("Gb", "minor", "F# minor"), ("A#", "major", "Bb major"), ("E#", "major", "F major"), ("B#", "minor", "C minor"),
    (None, "major", None), ("not a key", "minor", None),
])
def test_the_key_is_shown_as_asked_when_it_is_a_real_key(asked, mode, shown):
    tonic = parse_key(asked)[0] if shown else 6
    progression = Progression((), tonic, mode, 100.0, tonic_name=asked)
    assert progression.key_name == (shown or f"{tonic_name(6, mode)} {mode}")
    signature = mido.MetaMessage("key_signature", key=progression.key_signature)  # a real key signature
    assert signature.key.rstrip("m") == progression.key_name.split()[0]


def test_conventional_names_by_default_and_what_regenerating_keeps():
    assert [Progression((), pc, mode, 100.0).key_name for pc in (1, 3, 6, 8, 10) for mode in MODES] == [
        "Db major", "C# minor", "Eb major", "Eb minor", "F# major", "F# minor", "Ab major", "G# minor",
        "Bb major", "Bb minor"]
    asked = Progression((), 6, "major", 100.0, tonic_name="Gb")
    assert tonic_name_for(None, asked) == "Gb" and tonic_name_for("F# major", asked) == "F#"
    assert tonic_name_for("G#", None) == "G#" and tonic_name_for(None, None) is None
    # a conventional name is not remembered as a choice: C# minor becomes Db major, not C# major
    c_sharp_minor = Progression((), 1, "minor", 100.0)
    assert c_sharp_minor.key_name == "C# minor" and c_sharp_minor.tonic_name is None
    assert Progression((), 1, "major", 100.0, tonic_name=tonic_name_for(None, c_sharp_minor)).key_name == "Db major"
    assert asked.transposed(12).key_name == "Gb major" and asked.transposed(1).key_name == "G major"
    assert asked.with_locked([]).key_name == "Gb major"


def test_metre_and_key_signature_of_a_progression():
    waltz = Progression((), 9, "minor", 90.0, 3)
    assert waltz.time_signature == (3, 4) and waltz.key_signature == "Am"
    assert Progression((), 1, "minor", 90.0, 3, compound=True).time_signature == (6, 8)
    assert Progression((), 0, "major", 90.0, 6, True).time_signature == (12, 8)
    assert Progression((), 0, "major", 90.0).time_signature == (4, 4)
    with pytest.raises(InvalidInput, match="allowed: 3 \\(6/8\\) or 6 \\(12/8\\)"):
        Progression((), 0, "major", 90.0, 4, compound=True)


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


def test_history_records_keep_the_key_spelling_and_metre_and_old_records_still_read():
    import dataclasses

    from assistant.arrangement import render_score
    from assistant.pipeline import from_history_record, to_history_record
    from tests.support.compositions import hand_made_composition

    made = hand_made_composition()
    chords = tuple(PlacedChord(Chord(t, quality_index(q), t), 3.0 * i, 3.0)
                   for i, (t, q) in enumerate([(6, "maj"), (11, "maj"), (1, "dom7"), (5, "min7b5")]))
    song = Progression(chords, 6, "major", 84.0, 3, compound=True, tonic_name="Gb")
    composition = dataclasses.replace(made, progression=song, score=render_score(song, made.arrangement))
    record = to_history_record(composition)
    restored = from_history_record(record).progression
    assert restored.key_name == "Gb major" and restored.time_signature == (6, 8)
    assert restored.chord_names() == ["Gb", "Cb", "Db7", "Fø7"] == song.chord_names()
    # a record written before these fields existed: the conventional name, x/4
    old = dataclasses.replace(record, progression={k: v for k, v in record.progression.items()
                                                  if k not in ("compound", "tonic_name")})
    old.progression["beats_per_bar"] = 4
    restored = from_history_record(old).progression
    assert restored.key_name == "F# major" and restored.time_signature == (4, 4)
    assert restored.chord_names() == ["F#", "B", "C#7", "E#ø7"]
