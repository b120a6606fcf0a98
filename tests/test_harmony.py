"""Chord recognition, beats and key normalisation on synthetic MIDI written with mido."""
from __future__ import annotations

from pathlib import Path

import mido
import numpy as np
import pytest

from models.beats import beat_grid
from models.harmony import estimate_key, key_correlations, normalising_shift, quantise_half_beats, recognise_chords
from models.midi_reading import read_midi
from models.vocabulary import QUALITIES, quality_index

TPB = 480
NAMES = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]

# C - Am/E - F - G7, one bar each: (bass, chord tones above it), MIDI pitches
PROGRESSION = [
    (48, [60, 64, 67]),  # C
    (52, [57, 60, 64]),  # Am/E
    (41, [57, 60, 65]),  # F
    (43, [59, 62, 65]),  # G7 (B D F over G)
]
# melody per bar, eighth notes: chord tones on the beats, passing notes off the beats
MELODY = [
    [72, 74, 76, 74, 72, 71, 72, 74],  # C: D, B passing
    [76, 74, 72, 71, 69, 71, 72, 74],  # Am: D, B passing
    [77, 76, 74, 76, 77, 79, 77, 76],  # F: E, D, G passing
    [79, 77, 74, 72, 71, 72, 74, 77],  # G7: C passing
]


def chord_name(root: int, quality: int, bass: int) -> str:
    name = NAMES[root % 12] + QUALITIES[quality].suffix
    return name if bass == root else f"{name}/{NAMES[bass % 12]}"


def write_midi(path: Path, notes: list[tuple[float, float, int, int]], *, tempos=((0.0, 500000),),
               time_signature: tuple[int, int] | None = (4, 4), channel: int = 0, pedal=()) -> Path:
    """Write notes (start beat, length beats, pitch, velocity) as a type-1 file with a tempo track.

    tempos: (beat, microseconds per quarter); pedal: (down beat, up beat) pairs.
    """
    meta = mido.MidiTrack()
    events = [(round(b * TPB), mido.MetaMessage("set_tempo", tempo=t)) for b, t in tempos]
    if time_signature:
        events.append((0, mido.MetaMessage("time_signature", numerator=time_signature[0],
                                           denominator=time_signature[1])))
    _append_sorted(meta, events)
    track = mido.MidiTrack()
    events = []
    for start, length, pitch, vel in notes:
        events.append((round(start * TPB), mido.Message("note_on", note=pitch, velocity=vel, channel=channel)))
        events.append((round((start + length) * TPB), mido.Message("note_off", note=pitch, velocity=0, channel=channel)))
    for down, up in pedal:
        events.append((round(down * TPB), mido.Message("control_change", control=64, value=127, channel=channel)))
        events.append((round(up * TPB), mido.Message("control_change", control=64, value=0, channel=channel)))
    _append_sorted(track, events)
    midi = mido.MidiFile(type=1, ticks_per_beat=TPB)
    midi.tracks.extend([meta, track])
    midi.save(str(path))
    return path


def _append_sorted(track: mido.MidiTrack, events: list) -> None:
    # note-offs before note-ons at the same tick, so that repeated notes do not overlap
    events.sort(key=lambda e: (e[0], 0 if e[1].type in ("note_off", "control_change") else 1))
    now = 0
    for tick, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick


def progression_notes(transpose: int = 0, bars: int = 2) -> list[tuple[float, float, int, int]]:
    """The progression repeated ``bars`` times over: block chords on beats 1 and 3, bass, melody."""
    notes = []
    for rep in range(bars):
        for i, (bass, tones) in enumerate(PROGRESSION):
            bar = (rep * len(PROGRESSION) + i) * 4.0
            notes.append((bar, 4.0, bass + transpose, 70))
            for half in (0.0, 2.0):
                notes += [(bar + half, 1.9, p + transpose, 60) for p in tones]
            notes += [(bar + 0.5 * k, 0.45, p + transpose, 80 if k % 2 == 0 else 64)
                      for k, p in enumerate(MELODY[i])]
    return notes


def recognise_file(path: Path):
    content = read_midi(path)
    grid = beat_grid(content)
    rec = recognise_chords(content.pitch, content.onset, content.sounding_offset, content.velocity,
                           grid.times, beats_per_bar=grid.beats_per_bar, downbeat=grid.downbeat)
    return content, grid, rec


def test_progression_with_melody_and_passing_notes_is_recognised(tmp_path):
    path = write_midi(tmp_path / "prog.mid", progression_notes(), tempos=((0.0, 600000),))  # 100 BPM
    content, grid, rec = recognise_file(path)
    assert not grid.tracked  # 100 BPM + a time signature: a real tempo map
    names = [(chord_name(e.root, e.quality, e.bass), e.beats) for e in rec.events]
    assert names == [("C", 4.0), ("Am/E", 4.0), ("F", 4.0), ("G7", 4.0)] * 2


def test_tracked_beats_on_placeholder_tempo_file(tmp_path):
    # one 120 BPM tempo: treated as a transcription, beats are tracked from the onsets
    path = write_midi(tmp_path / "prog120.mid", progression_notes(bars=3))
    content, grid, rec = recognise_file(path)
    assert grid.tracked
    assert grid.tempo_bpm == pytest.approx(120.0, rel=0.04)
    names = [chord_name(e.root, e.quality, e.bass) for e in rec.events]
    assert names == ["C", "Am/E", "F", "G7"] * 3
    assert sum(e.beats for e in rec.events) == pytest.approx(48, abs=1.0)


def test_real_tempo_map_uses_the_files_beats(tmp_path):
    # 90 BPM for two bars, then 60 BPM: the beat grid must follow the tempo map exactly
    path = write_midi(tmp_path / "tempo_map.mid", progression_notes(bars=1),
                      tempos=((0.0, 666667), (8.0, 1000000)))
    content = read_midi(path)
    assert content.has_real_tempo_map
    grid = beat_grid(content)
    assert not grid.tracked
    expected = np.concatenate((np.arange(9) * 0.666667, 8 * 0.666667 + np.arange(1, 9) * 1.0))
    np.testing.assert_allclose(grid.times[:17], expected, atol=1e-3)
    rec = recognise_chords(content.pitch, content.onset, content.sounding_offset, content.velocity,
                           grid.times, beats_per_bar=4, downbeat=grid.downbeat)
    assert [e.beats for e in rec.events] == [4.0, 4.0, 4.0, 4.0]


def test_three_four_time_signature_is_kept(tmp_path):
    notes = [(3.0 * b, 3.0, p, 70) for b, p in enumerate([48, 53, 55, 48])]
    notes += [(3.0 * b + k, 1.0, p, 60) for b, ch in enumerate([(64, 67), (65, 69), (62, 71), (64, 67)])
              for k in range(3) for p in ch]
    path = write_midi(tmp_path / "waltz.mid", notes, tempos=((0.0, 500000), (6.0, 450000)), time_signature=(3, 4))
    content, grid, rec = recognise_file(path)
    assert grid.beats_per_bar == 3
    names = [(chord_name(e.root, e.quality, e.bass), e.beats) for e in rec.events]
    assert names == [("C", 3.0), ("F", 3.0), ("G", 3.0), ("C", 3.0)]


def test_key_of_a_d_major_piece_normalises_to_c(tmp_path):
    path = write_midi(tmp_path / "d_major.mid", progression_notes(transpose=2), tempos=((0.0, 600000),))
    content, grid, rec = recognise_file(path)
    key = estimate_key(content.pitch, content.offset - content.onset)
    assert (key.tonic, key.mode) == (2, "major")
    shift = normalising_shift(key.tonic, key.mode)
    names = [chord_name(e.transposed(shift).root, e.quality, e.transposed(shift).bass) for e in rec.events]
    assert names == ["C", "Am/E", "F", "G7"] * 2


def test_minor_key_normalises_to_a():
    # A harmonic-minor scale with tonic weight, transposed to E minor: shift maps E (4) to A (9)
    pitches = np.array([64, 66, 67, 69, 71, 72, 75, 76, 64, 67, 71, 64])
    durations = np.array([2, 1, 1, 1, 2, 1, 1, 2, 2, 1, 1, 2], dtype=float)
    key = estimate_key(pitches, durations)
    assert (key.tonic, key.mode) == (4, "minor")
    assert normalising_shift(key.tonic, key.mode) == 5


def test_key_correlations_rank_the_keys():
    pitches = np.array([64, 66, 67, 69, 71, 72, 75, 76, 64, 67, 71, 64])  # E harmonic minor, tonic-weighted
    durations = np.array([2, 1, 1, 1, 2, 1, 1, 2, 2, 1, 1, 2], dtype=float)
    table = key_correlations(pitches, durations)
    assert table.shape == (2, 12) and np.all(np.abs(table) <= 1)
    assert np.unravel_index(int(table.argmax()), table.shape) == (1, 4)  # minor row, tonic E
    assert table[1].max() > table[0].max()  # the minor contrast is negative: a minor-sounding clip
    assert estimate_key(pitches, durations).correlation == pytest.approx(table[1, 4])
    flat = key_correlations(np.arange(60, 72), np.ones(12))  # every pitch class equally long: no key
    assert not flat.any() and estimate_key(np.arange(60, 72), np.ones(12)).correlation == 0.0


def test_inversion_only_when_the_bass_is_a_chord_tone():
    # C major triad with E in the bass -> C/E; with a soft F# in the bass (no chord tone) -> bass = root
    beats = np.arange(0, 9, dtype=float) * 0.5
    for bass_pitch, expected_bass in ((52, 4), (42, 0)):
        pitch = np.array([bass_pitch, 60, 64, 67, 72, 76, 79])
        onset = np.zeros(7)
        off = np.full(7, 4.0)
        velocity = np.array([30 if bass_pitch == 42 else 80] + [80] * 6)
        rec = recognise_chords(pitch, onset, off, velocity, beats)
        assert len(rec.events) == 1
        ev = rec.events[0]
        assert (ev.root, ev.quality, ev.bass, ev.beats) == (0, quality_index("maj"), expected_bass, 8.0)


def test_quantise_half_beats():
    assert quantise_half_beats(0.2) == 0.5
    assert quantise_half_beats(1.26) == 1.5
    assert quantise_half_beats(3.0) == 3.0
