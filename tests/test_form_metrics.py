"""models.form_metrics on hand-built progressions whose numbers are known."""
from __future__ import annotations

import pytest

from models.errors import InvalidModelInput
from models.form_metrics import (
    LENGTH_BINS, Piece, estimate_key_of_chords, form_report, is_diatonic, is_strong_position, length_bin,
    long_piece_report, total_variation,
)
from models.vocabulary import QUALITY_BY_NAME, ChordEvent

MAJ, MIN, DOM7, DIM, HDIM = (QUALITY_BY_NAME[q] for q in ("maj", "min", "dom7", "dim", "min7b5"))


def chord(root: int, quality: int, beats: float, bass: int | None = None) -> ChordEvent:
    return ChordEvent(root, quality, root if bass is None else bass, beats)


def test_pop_loop_in_c_major_is_perfect_form():
    # | C | Am | F | G | C (2 bars) |: every change on beat 1, nothing crosses, all diatonic, tonic ending
    events = [chord(0, MAJ, 4), chord(9, MIN, 4), chord(5, MAJ, 4), chord(7, MAJ, 4), chord(0, MAJ, 8)]
    report = form_report([Piece.from_events(events, "major", 4)])
    assert report.strong_beat_changes == 1.0
    assert report.short_chords_crossing == 0.0
    assert report.diatonic == 1.0
    assert report.tonic_ending == 1.0 and report.strong_ending == 1.0 and report.short_ending == 0.0
    assert report.length_histogram == (0.0, 0.0, 0.0, 0.8, 0.0, 0.2)


def test_off_grid_changes_crossings_and_a_short_last_chord():
    # onsets 0, 3, 4, 5.5, 7; bars of 4: changes at 3 (weak), 4 (bar line), 5.5 (weak), 7 (weak) -> 1 of 4
    # C(3) Dm(1) Em(1.5) F(1.5) G7(1): F starts at 5.5 and ends at 7: inside bar 2; the chord of 3 beats
    # at 0 ends at 3; no crossing. Then shift: a 2-beat chord at 3 crosses the bar line at 4.
    events = [chord(0, MAJ, 3), chord(2, MIN, 1), chord(4, MIN, 1.5), chord(5, MAJ, 1.5), chord(7, DOM7, 1)]
    report = form_report([Piece.from_events(events, "major", 4)])
    assert report.strong_beat_changes == pytest.approx(1 / 4)
    assert report.short_chords_crossing == 0.0
    assert report.tonic_ending == 0.0 and report.short_ending == 1.0 and report.strong_ending == 0.0
    crossing = [chord(0, MAJ, 3), chord(7, MAJ, 2), chord(0, MAJ, 3)]  # G at 3..5 crosses bar line 4
    report = form_report([Piece.from_events(crossing, "major", 4)])
    assert report.short_chords_crossing == pytest.approx(1 / 3)
    assert report.strong_beat_changes == 0.0  # changes at 3 and 5
    # a chord longer than its bar (5 beats) is not counted as "short" at all
    long_first = [chord(0, MAJ, 5), chord(7, MAJ, 3)]
    assert form_report([Piece.from_events(long_first, "major", 4)]).short_chords_crossing == 0.0


def test_strong_positions_per_metre():
    assert is_strong_position(0, 4) and is_strong_position(2, 4) and not is_strong_position(1, 4)
    assert is_strong_position(0, 3) and not is_strong_position(1.5, 3) and not is_strong_position(2, 3)
    assert is_strong_position(1, 2) and not is_strong_position(0.5, 2)  # 6/8: both dotted beats
    assert is_strong_position(3, 6) and not is_strong_position(2, 6)


def test_waltz_pieces_use_three_beat_bars():
    events = [chord(9, MIN, 3), chord(2, MIN, 3), chord(4, DOM7, 3), chord(9, MIN, 3)]
    report = form_report([Piece.from_events(events, "minor", 3)])
    assert report.strong_beat_changes == 1.0 and report.tonic_ending == 1.0 and report.diatonic == 1.0
    # E7 in A minor: G# is the raised 7th, diatonic by the harmonic-minor rule
    assert is_diatonic(chord(4, DOM7, 1), "minor") and not is_diatonic(chord(4, DOM7, 1), "major")


def test_length_bins_and_total_variation():
    assert [length_bin(b) for b in (0.5, 1, 1.5, 2, 2.5, 3, 4, 4.5, 7, 7.5, 8, 16)] == [0, 0, 1, 1, 2, 2, 3, 4, 4, 5, 5, 5]
    assert len(LENGTH_BINS) == 6
    assert total_variation([1, 0], [0, 1]) == 1.0
    assert total_variation([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25)
    report = form_report([Piece.from_events([chord(0, MAJ, 2), chord(7, MAJ, 2)], "major", 4)],
                         reference_histogram=(0, 0.5, 0, 0.5, 0, 0))
    assert report.length_tv == pytest.approx(0.5)
    with pytest.raises(InvalidModelInput, match="bins"):
        total_variation([1, 0], [1, 0, 0])


def test_long_piece_keeps_or_loses_its_key():
    steady = [chord(0, MAJ, 4), chord(5, MAJ, 4), chord(7, DOM7, 4), chord(0, MAJ, 4)] * 8
    report = long_piece_report(Piece.from_events(steady, "major", 4))
    assert report.key_held and report.diminished_share == 0.0 and report.diatonic_share == 1.0
    # second half wanders to E-flat minor's diminished chords
    drifting = steady[:16] + [chord(3, MIN, 4), chord(5, HDIM, 4), chord(10, DOM7, 4), chord(0, DIM, 4)] * 4
    report = long_piece_report(Piece.from_events(drifting, "major", 4))
    assert report.diminished_share == pytest.approx(0.5)
    assert not report.key_held
    assert estimate_key_of_chords([chord(9, MIN, 4), chord(2, MIN, 4), chord(4, DOM7, 4), chord(9, MIN, 4)]) == (9, "minor")


def test_bad_pieces_are_refused():
    with pytest.raises(InvalidModelInput, match="no piece"):
        form_report([])
    with pytest.raises(InvalidModelInput, match="mode 'dorian'"):
        Piece.from_events([chord(0, MAJ, 4)], "dorian", 4)
    with pytest.raises(InvalidModelInput, match="one onset"):
        Piece((chord(0, MAJ, 4),), (), (0.0,), ("major",))
