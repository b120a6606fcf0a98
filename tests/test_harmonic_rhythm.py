"""models.harmonic_rhythm: chord lengths learned from POP909-style songs, sampled under the form's rules."""
from __future__ import annotations

import numpy as np
import pytest

from models.errors import InvalidModelInput
from models.harmonic_rhythm import HarmonicRhythm, fit_harmonic_rhythm, rhythm_rows
from models.pop909 import Metre, read_song
from tests.test_pop909 import write_song


def _songs(tmp_path, pattern: list[int], repeats: int = 8, metre: Metre = Metre(4, False), **grid):
    """Songs whose chords follow ``pattern`` (lengths in beats), alternating C and G."""
    chords, onset = [], 0
    for i in range(repeats):
        for length in pattern:
            chords.append((onset, onset + length, "C:maj" if len(chords) % 2 == 0 else "G:maj"))
            onset += length
    folder = write_song(tmp_path / f"s{len(pattern)}{metre.beats_per_bar}", chords, [(0, onset, "C:maj")],
                        beats=onset + 1, **grid)
    return [read_song(folder, metre)]


def test_learns_two_beat_changes_and_keeps_the_rules(tmp_path):
    rhythm = fit_harmonic_rhythm(_songs(tmp_path, [2, 2, 2, 2]))
    p = rhythm.probabilities("4/4", 0, 0)
    assert p.sum() == pytest.approx(1.0) and int(np.argmax(p)) == 1  # 2 beats
    durations = rhythm.sample(8, "4/4", np.random.default_rng(0))
    assert sum(durations) == 32 and durations[-1] == 4.0
    assert durations.count(2.0) >= 10
    bits, n = rhythm.log2_likelihood(_songs(tmp_path / "again", [2, 2, 2, 2]))
    assert n == 32 and -bits / n < 0.5  # the same rhythm is predictable


def test_sampled_rhythms_never_straddle_bar_lines_or_phrases(tmp_path):
    # a syncopated corpus: 3 + 3 + 2 beats per two bars (the 3 at beat 4 straddles a bar line)
    rhythm = fit_harmonic_rhythm(_songs(tmp_path, [3, 3, 2], repeats=12))
    for seed in range(30):
        durations = rhythm.sample(8, "4/4", np.random.default_rng(seed))
        onset = 0.0
        for d in durations:
            beat = onset % 4
            assert beat == 0 or beat + d <= 4, (seed, durations)  # off the bar line: ends by the next one
            assert onset // 16 == (onset + d - 1e-9) // 16 or onset == 28  # no phrase boundary crossed
            onset += d
        assert onset == 32 and durations[-1] == 4.0


def test_triple_and_compound_metres(tmp_path):
    waltz = _songs(tmp_path, [3, 3, 6], metre=Metre(3, False), bar=6, half=3)
    rhythm = fit_harmonic_rhythm(waltz)
    assert [row[0] for row in rhythm_rows(waltz)][:1] == ["3/4"]
    durations = rhythm.sample(8, "3/4", np.random.default_rng(1))
    assert sum(durations) == 24 and durations[-1] == 3.0 and set(durations) <= {3.0, 6.0}
    assert sum(rhythm.sample(4, "6/8", np.random.default_rng(1))) == 8  # no 6/8 data: the prior still fills bars
    assert sum(rhythm.sample(2, "4/4", np.random.default_rng(1), final_bars=0)) == 8


def test_round_trip_and_bad_input(tmp_path):
    rhythm = fit_harmonic_rhythm(_songs(tmp_path, [4, 2, 2]))
    again = HarmonicRhythm.from_json(rhythm.to_json())
    assert all(np.array_equal(again.counts[m], rhythm.counts[m]) for m in rhythm.counts)
    with pytest.raises(InvalidModelInput, match="metre '5/4' not allowed"):
        rhythm.sample(4, "5/4", np.random.default_rng(0))
    with pytest.raises(InvalidModelInput, match="bars=0"):
        rhythm.sample(0, "4/4", np.random.default_rng(0))
    with pytest.raises(InvalidModelInput, match="not readable"):
        HarmonicRhythm.from_json('{"format": "something else"}')
    with pytest.raises(InvalidModelInput, match="no chord rhythm"):
        fit_harmonic_rhythm([])


def test_chord_lengths_follow_the_tempo(tmp_path):
    # a slow song (60 BPM) changing every 2 beats and a fast one (140 BPM) changing every 4
    slow = _songs(tmp_path / "slow", [2, 2, 2, 2], repeats=32, period=1.0)
    fast = _songs(tmp_path / "fast", [4, 4], repeats=64, period=60 / 140)
    assert slow[0].tempo_bpm == pytest.approx(60) and fast[0].tempo_bpm == pytest.approx(140)
    rhythm = fit_harmonic_rhythm(slow + fast)
    at = lambda tempo: [d for s in range(10) for d in rhythm.sample(8, "4/4", np.random.default_rng(s), tempo_bpm=tempo)[:-1]]  # noqa: E731
    assert np.mean(np.asarray(at(60)) == 2) > 0.8
    assert np.mean(np.asarray(at(140)) == 4) > 0.8
    assert 0.2 < np.mean(np.asarray(at(None)) == 2) < 0.8  # any tempo: both
