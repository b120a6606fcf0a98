"""MIDI export: structure checked with mido, contents read back by pretty_midi and music21."""
from __future__ import annotations

import os
from pathlib import Path

import mido
import pytest

from assistant.arrangement import Arrangement, render_score
from assistant.errors import InvalidInput
from assistant.midi_file import TICKS_PER_BEAT, read_score, write_midi
from assistant.music import Chord, PlacedChord, Progression, voice_progression
from assistant.score import BASS_CHANNEL, CHORD_CHANNEL, Marker, Note, Score

NAMES = ["Dm", "Bb", "F/A", "C7", "Gm7", "A7/C#", "Dm", "Asus4"]


def progression(tempo: float = 92.0, beats_per_bar: int = 4) -> Progression:
    chords = tuple(PlacedChord(Chord.parse(n), float(i * beats_per_bar), float(beats_per_bar))
                   for i, n in enumerate(NAMES))
    return Progression(chords, 2, "minor", tempo, beats_per_bar)


def pad_score(beats_per_bar: int = 4) -> Score:
    return render_score(progression(beats_per_bar=beats_per_bar), Arrangement("pad", 1 / beats_per_bar, 64, 0.95, 62,
                                                                             program=0, bass_program=32))


def test_file_structure_with_mido(tmp_path):
    score = render_score(progression(), Arrangement("arpeggio", 4.0, 70, 0.8, 64, program=5, bass_program=33),
                         humanize=0.7, seed=2)
    path = write_midi(score, tmp_path / "song.mid")
    midi = mido.MidiFile(path)
    assert midi.type == 1 and midi.ticks_per_beat == TICKS_PER_BEAT == 480 and len(midi.tracks) == 3
    conductor, chords, bass = midi.tracks
    types = [m.type for m in conductor]
    assert types[:3] == ["track_name", "time_signature", "set_tempo"]
    assert conductor[1].numerator == 4 and conductor[1].denominator == 4
    assert mido.tempo2bpm(conductor[2].tempo) == pytest.approx(92.0, abs=1e-3)
    marker_ticks, tick = [], 0
    for message in conductor:
        tick += message.time
        if message.type == "marker":
            marker_ticks.append((tick, message.text))
    assert marker_ticks == [(i * 4 * 480, name) for i, name in enumerate(NAMES)]
    for track, channel, program in ((chords, CHORD_CHANNEL, 5), (bass, BASS_CHANNEL, 33)):
        assert track[0].type == "track_name"
        assert track[1].type == "program_change" and track[1].program == program and track[1].channel == channel
        assert track[-1].type == "end_of_track"
        sounding, tick, ons = {}, 0, []
        for message in track:
            tick += message.time
            if message.type == "note_on" and message.velocity > 0:
                assert message.note not in sounding, "a key struck again before its note_off"
                sounding[message.note] = tick
                ons.append((tick, message.note))
            elif message.type in ("note_on", "note_off"):
                assert message.note in sounding
                assert tick > sounding.pop(message.note)
        assert not sounding, "every note_on is closed by a note_off"
        assert tick == 32 * 480  # the track lasts the whole piece
        expected = sorted((round(n.start_beats * 480), n.pitch) for n in score.notes if n.channel == channel)
        assert sorted(ons) == expected  # delta times add up to the beat positions


def test_round_trip_with_read_score(tmp_path):
    score = render_score(progression(), Arrangement("broken", 2.0, 75, 0.7, 64), humanize=0.4, seed=9)
    back = read_score(write_midi(score, tmp_path / "broken.mid"))
    assert back.tempo_bpm == pytest.approx(score.tempo_bpm, abs=1e-3)
    assert back.beats_per_bar == 4 and back.length_beats == score.length_beats
    assert back.programs == score.programs and back.markers == score.markers
    assert len(back.notes) == len(score.notes)
    order = lambda n: (n.channel, round(n.start_beats * 480), n.pitch)  # noqa: E731 (ticks: jitter rounds)
    for original, read in zip(sorted(score.notes, key=order), sorted(back.notes, key=order)):
        assert (read.pitch, read.velocity, read.channel) == (original.pitch, original.velocity, original.channel)
        assert read.start_beats == pytest.approx(original.start_beats, abs=1 / 480)
        assert read.duration_beats == pytest.approx(original.duration_beats, abs=2 / 480)


def test_pretty_midi_reads_the_same_chords(tmp_path):
    import pretty_midi
    score = pad_score()
    pm = pretty_midi.PrettyMIDI(str(write_midi(score, tmp_path / "pad.mid")))
    times, tempi = pm.get_tempo_changes()
    assert list(tempi) == pytest.approx([92.0], abs=1e-3)
    assert [(ts.numerator, ts.denominator) for ts in pm.time_signature_changes] == [(4, 4)]
    assert sorted(i.program for i in pm.instruments) == [0, 32]
    seconds_per_beat = 60 / 92
    notes = [n for i in pm.instruments for n in i.notes]
    assert len(notes) == len(score.notes)
    for placed, voicing in zip(progression().chords, voice_progression(progression(), 62, 4)):
        onset = placed.start_beats * seconds_per_beat
        sounding = {n.pitch for n in notes if abs(n.start - onset) < 1e-3}
        assert sounding == set(voicing.pitches), placed.chord.name
        assert {p % 12 for p in sounding} == set(placed.chord.pitch_classes), placed.chord.name
    assert 31 * seconds_per_beat < pm.get_end_time() <= 32 * seconds_per_beat  # last pad rings into bar 8


def test_music21_reads_the_same_chords(tmp_path):
    import music21
    score = pad_score(beats_per_bar=3)
    parsed = music21.converter.parse(str(write_midi(score, tmp_path / "waltz.mid")))
    signature = parsed.recurse().getElementsByClass("TimeSignature")[0]
    assert signature.ratioString == "3/4"
    assert parsed.metronomeMarkBoundaries()[0][2].number == pytest.approx(92.0, abs=0.01)
    chordified = parsed.chordify()
    by_offset = {}
    for element in chordified.flatten().getElementsByClass("Chord"):
        by_offset.setdefault(float(element.offset), set()).update(p.pitchClass for p in element.pitches)
    for placed in progression(beats_per_bar=3).chords:
        assert by_offset[placed.start_beats] == set(placed.chord.pitch_classes), placed.chord.name


def test_a_file_that_is_not_midi_is_invalid_input(tmp_path):
    bogus = tmp_path / "notes.mid"
    bogus.write_text("this is not a MIDI file")
    with pytest.raises(InvalidInput, match="notes.mid"):
        read_score(bogus)
    with pytest.raises(InvalidInput, match="missing.mid"):
        read_score(tmp_path / "missing.mid")


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_unwritable_folders_raise_invalid_input_and_leave_nothing(tmp_path):
    score = pad_score()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for target in (blocker / "song.mid", tmp_path / "no" / "such" / "folder" / "song.mid", Path("/proc/song.mid")):
        with pytest.raises(InvalidInput) as error:
            write_midi(score, target)
        assert str(target) in str(error.value) and "writable" in str(error.value)
        assert not target.exists()
    with pytest.raises(InvalidInput, match="is a folder"):
        write_midi(score, tmp_path)
    assert _leftovers(tmp_path) == ["a-file"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders; /proc covers this case")
def test_read_only_folder(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(InvalidInput, match="locked"):
            write_midi(pad_score(), folder / "song.mid")
        assert _leftovers(folder) == []
    finally:
        folder.chmod(0o700)


def test_a_failure_while_writing_keeps_the_old_file_and_removes_the_temp(tmp_path, monkeypatch):
    target = tmp_path / "song.mid"
    write_midi(pad_score(), target)
    before = target.read_bytes()

    def disk_full(*_args):  # the last step failing, as on a full disk (cannot be provoked for real here)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(InvalidInput, match="No space left"):
        write_midi(render_score(progression(), Arrangement("arpeggio", 4.0, 70, 0.8, 64)), target)
    assert target.read_bytes() == before
    assert _leftovers(tmp_path) == ["song.mid"]


def test_overlapping_and_doubled_notes_still_close(tmp_path):
    notes = (Note(60, 0.0, 2.0, 80, 0), Note(60, 1.0, 2.0, 70, 0), Note(60, 1.0, 1.0, 60, 0), Note(40, 0, 4, 90, 1))
    score = Score(notes, 120.0, 4.0, 4, {0: 0, 1: 32}, (Marker(0.0, "C♯m°"),))
    back = read_score(write_midi(score, tmp_path / "overlap.mid"))
    assert [(n.pitch, n.start_beats, n.duration_beats) for n in back.notes if n.channel == 0] == [
        (60, 0.0, 1.0), (60, 1.0, 2.0)]
    assert back.markers[0].text == "C#mdim"


def test_out_of_range_notes_are_invalid_input(tmp_path):
    score = Score((Note(130, 0.0, 1.0, 80, 0),), 120.0, 4.0)
    with pytest.raises(InvalidInput, match="0..127"):
        write_midi(score, tmp_path / "bad.mid")
    assert _leftovers(tmp_path) == []


# (beats per bar, compound, key as asked, time signature, mido key, sharps (+) / flats (-) in the signature)
METRES_AND_KEYS = [
    (4, False, "C# minor", (4, 4), "C#m", 4), (3, False, "Gb major", (3, 4), "Gb", -6),
    (3, True, "D# minor", (6, 8), "D#m", 6), (3, True, "Bb major", (6, 8), "Bb", -2),
    (4, False, "G# major", (4, 4), "Ab", -4),  # no G# major signature exists: written as Ab major
]


@pytest.mark.parametrize("beats_per_bar, compound, key, signature, mido_key, fifths", METRES_AND_KEYS)
def test_the_file_carries_key_and_time_signatures(tmp_path, beats_per_bar, compound, key, signature, mido_key,
                                                  fifths):
    from assistant.music import parse_key_name
    from models.vocabulary import ChordEvent

    tonic, mode, asked = parse_key_name(key)
    events = [ChordEvent(0 if mode == "major" else 9, 0 if mode == "major" else 1, 0 if mode == "major" else 9,
                         beats_per_bar)] * 4
    song = Progression.from_events(events, tonic, mode, 96.0, beats_per_bar, compound=compound, tonic_name=asked)
    score = render_score(song, Arrangement("pad", 1 / beats_per_bar, 64, 0.95, 62, program=0, bass_program=32))
    assert score.time_signature == signature and score.key_signature == mido_key
    midi = mido.MidiFile(write_midi(score, tmp_path / "signed.mid"))
    conductor = midi.tracks[0]
    times = [m for m in conductor if m.type == "time_signature"]
    keys = [m for m in conductor if m.type == "key_signature"]
    assert [(m.numerator, m.denominator, m.clocks_per_click) for m in times] == [
        signature + (36 if compound else 24,)]
    assert [m.key for m in keys] == [mido_key] and keys[0].time == 0  # at the start, before any marker
    assert [m.type for m in conductor][:4] == ["track_name", "time_signature", "set_tempo", "key_signature"]
    markers, tick = [], 0
    for message in conductor:
        tick += message.time
        if message.type == "marker":
            markers.append((tick, message.text))
    assert markers == [(bar * beats_per_bar * 480, song.chords[0].chord.name) for bar in range(4)]
    import music21  # an independent reader sees the same signatures
    parsed = music21.converter.parse(str(tmp_path / "signed.mid"))
    assert parsed.recurse().getElementsByClass("TimeSignature")[0].ratioString == "/".join(map(str, signature))
    assert parsed.recurse().getElementsByClass("KeySignature")[0].sharps == fifths


def test_a_score_without_a_key_writes_no_key_signature(tmp_path):
    score = Score((Note(60, 0.0, 1.0, 80, 0),), 120.0, 4.0, 3)
    midi = mido.MidiFile(write_midi(score, tmp_path / "plain.mid"))
    assert [m.type for m in midi.tracks[0] if m.type.endswith("signature")] == ["time_signature"]
    assert [(m.numerator, m.denominator) for m in midi.tracks[0] if m.type == "time_signature"] == [(3, 4)]
