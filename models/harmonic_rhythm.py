"""Harmonic rhythm learned from POP909: when chords change, given the metre, the tempo, the beat in the
bar and the bar in a 4-bar phrase (numpy only).

``fit_harmonic_rhythm(songs)`` counts, per metre ("4/4", "3/4", "6/8"), how long a chord lasts (whole
beats, 1 .. two bars) given the song's tempo band (TEMPO_EDGES: slow songs change chords every 2 beats
63 % of the time, songs over 100 BPM 36 %), the beat of the bar it starts on and its bar within a
4-bar phrase (models.pop909.Pop909Song.bar_in_phrase); counts are smoothed towards the same beat's
counts over all phrase bars, then over all tempo bands, then towards the metre's overall lengths. ``HarmonicRhythm.sample`` draws the chord
durations of a piece on that table under the form's rules:

* every chord starts on a beat; a chord that starts off the bar line ends at or before the next bar
  line (pop chords of a bar or less do not straddle bar lines: 3 % in POP909);
* no chord crosses a phrase boundary (every ``phrase_bars`` bars), so phrases end where cadences go;
* the last chord starts on the last bar's line and is held ``final_bars`` bars (it arrives on a strong
  beat and lasts at least a bar).

``log2_likelihood`` scores real songs' rhythms (bits per chord) to compare tables and settings.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np

from models.errors import InvalidModelInput

PHRASE_BARS = 4  # the phrase length the table is conditioned on
METRES = {"4/4": 4, "3/4": 3, "6/8": 2}  # metre name -> beats per bar (6/8: two dotted-quarter beats)
POSITION_PRIOR = 2.0  # pseudo-counts pulling a (beat, phrase bar) row towards the beat's row over all phrase bars
METRE_PRIOR = 2.0  # pseudo-counts pulling a beat's row towards the metre's overall lengths
# Pseudo-counts pulling a tempo band's beat row towards all bands'. On POP909 701-800 any value from 20 to
# 5120 gives 1.403-1.404 bits (bench/harmonic_rhythm.py); the small one keeps a small corpus's bands apart.
TEMPO_PRIOR = 20.0
TEMPO_EDGES = (80.0, 110.0)  # BPM: tempo bands below 80, 80-110, 110 and above (POP909 train median 73 BPM)


def tempo_band(tempo_bpm: float) -> int:
    """Index of the tempo band of TEMPO_EDGES."""
    return int(np.searchsorted(TEMPO_EDGES, float(tempo_bpm), side="right"))


def max_beats(beats_per_bar: int) -> int:
    """Longest modelled chord: two bars."""
    return 2 * beats_per_bar


@dataclass(frozen=True)
class HarmonicRhythm:
    """P(chord length | metre, tempo band, beat in bar, bar in phrase), from counts."""

    counts: Mapping[str, np.ndarray]  # metre -> (tempo bands, beats_per_bar, PHRASE_BARS, max_beats) counts of lengths 1..max
    phrase_bars: int = PHRASE_BARS  # phrase length the table is conditioned on

    def probabilities(self, metre: str, beat: int, phrase_bar: int, tempo_bpm: float | None = None, *,
                      use_phrase: bool = True) -> np.ndarray:
        """(max_beats,) P(length = 1..max_beats | metre, tempo, beat, phrase bar), smoothed (module doc);
        tempo_bpm None: all tempos together."""
        table = self._table(metre)
        every_band = table.sum(axis=0)
        overall = every_band.sum(axis=(0, 1)) + 0.1
        overall = overall / overall.sum()
        by_beat = every_band[beat].sum(axis=0)
        beat_row = (by_beat + METRE_PRIOR * overall) / (by_beat.sum() + METRE_PRIOR)
        cell = every_band[beat, phrase_bar % self.phrase_bars]
        if tempo_bpm is not None:
            band = table[tempo_band(tempo_bpm)]
            by_band = band[beat].sum(axis=0)
            beat_row = (by_band + TEMPO_PRIOR * beat_row) / (by_band.sum() + TEMPO_PRIOR)
            cell = band[beat, phrase_bar % self.phrase_bars]
        if not use_phrase:
            return beat_row
        return (cell + POSITION_PRIOR * beat_row) / (cell.sum() + POSITION_PRIOR)

    def _table(self, metre: str) -> np.ndarray:
        if metre not in self.counts:
            raise InvalidModelInput(f"metre {metre!r} not allowed; allowed: {sorted(self.counts)}")
        return np.asarray(self.counts[metre], np.float64)

    # -- sampling -------------------------------------------------------------------------------
    def sample(self, bars: int, metre: str, rng: np.random.Generator, *, final_bars: int = 1,
               phrase_bars: int | None = None, tempo_bpm: float | None = None) -> list[float]:
        """Chord durations (beats) filling ``bars`` bars of ``metre`` under the form's rules (module doc),
        at ``tempo_bpm`` (None: any tempo)."""
        if metre not in METRES:
            raise InvalidModelInput(f"metre {metre!r} not allowed; allowed: {list(METRES)}")
        if isinstance(bars, bool) or not isinstance(bars, (int, np.integer)) or bars < 1:
            raise InvalidModelInput(f"bars={bars!r} not allowed; allowed: an integer >= 1")
        bpb = METRES[metre]
        phrase_bars = phrase_bars or self.phrase_bars
        final_bars = max(0, min(final_bars, bars))  # 0: no held last chord (a loop that returns to its start)
        body = (bars - final_bars) * bpb
        out: list[float] = []
        onset = 0
        while onset < body:
            bar, beat = divmod(onset, bpb)
            phrase_end = min((bar // phrase_bars + 1) * phrase_bars * bpb, body)
            lengths = np.arange(1, max_beats(bpb) + 1)
            fits = onset + lengths <= phrase_end
            if beat:  # off the bar line: end at or before the next bar line
                fits &= beat + lengths <= bpb
            p = np.where(fits, self.probabilities(metre, beat, bar % phrase_bars, tempo_bpm), 0.0)
            if p.sum() <= 0:
                length = int(phrase_end - onset)
            else:
                length = int(rng.choice(lengths, p=p / p.sum()))
            out.append(float(length))
            onset += length
        if final_bars:
            out.append(float(final_bars * bpb))
        return out

    # -- evaluation -----------------------------------------------------------------------------
    def log2_likelihood(self, songs: Iterable, *, use_phrase: bool = True, use_tempo: bool = True) -> tuple[float, int]:
        """(total log2 P of every usable chord's length, chords) over POP909 songs (see rhythm_rows)."""
        total, n = 0.0, 0
        for metre, tempo, beat, phrase_bar, length in rhythm_rows(songs, self.phrase_bars):
            p = self.probabilities(metre, beat, phrase_bar, tempo if use_tempo else None, use_phrase=use_phrase)
            total += float(np.log2(p[length - 1]))
            n += 1
        return total, n

    # -- storage --------------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps({"format": "moodchords-harmonic-rhythm/2", "phrase_bars": self.phrase_bars,
                           "tempo_edges": list(TEMPO_EDGES),
                           "counts": {m: np.asarray(c).astype(int).tolist() for m, c in self.counts.items()}})

    @staticmethod
    def from_json(text: str) -> "HarmonicRhythm":
        try:
            data = json.loads(text)
            if data.get("format") != "moodchords-harmonic-rhythm/2" or tuple(data.get("tempo_edges", ())) != TEMPO_EDGES:
                raise ValueError(f"format {data.get('format')!r}")
            counts = {m: np.asarray(c, np.float64) for m, c in data["counts"].items()}
            for metre, table in counts.items():
                bpb = METRES[metre]
                if table.shape != (len(TEMPO_EDGES) + 1, bpb, int(data["phrase_bars"]), max_beats(bpb)):
                    raise ValueError(f"{metre} table of shape {table.shape}")
                if not np.all(np.isfinite(table)) or np.any(table < 0):
                    raise ValueError(f"{metre} counts not finite and non-negative")
            if not any(table.sum() > 0 for table in counts.values()):
                raise ValueError("no counts")
            return HarmonicRhythm(counts, int(data["phrase_bars"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidModelInput(f"harmonic rhythm data not readable ({exc}); allowed: HarmonicRhythm.to_json output") from None


def rhythm_rows(songs: Iterable, phrase_bars: int = PHRASE_BARS) -> list[tuple[str, float, int, int, int]]:
    """(metre, tempo, beat in bar, bar in phrase, length in whole beats, clipped to two bars) of every chord of
    ``songs`` (models.pop909.Pop909Song) that starts on a whole beat of a regular bar of a modelled metre."""
    rows = []
    for song in songs:
        metre = song.metre.name
        if metre not in METRES:
            continue
        bpb = METRES[metre]
        for chord in song.chords:
            beat = chord.beat_in_bar
            if chord.bar < 0 or chord.bar_length != bpb or beat != int(beat):
                continue
            length = int(min(max(round(chord.event.beats), 1), max_beats(bpb)))
            rows.append((metre, song.tempo_bpm, int(beat), song.bar_in_phrase(chord, phrase_bars), length))
    return rows


def fit_harmonic_rhythm(songs: Sequence, phrase_bars: int = PHRASE_BARS) -> HarmonicRhythm:
    """Count the rhythm rows of POP909 songs into a HarmonicRhythm (every metre of METRES gets a table)."""
    counts = {m: np.zeros((len(TEMPO_EDGES) + 1, bpb, phrase_bars, max_beats(bpb))) for m, bpb in METRES.items()}
    for metre, tempo, beat, phrase_bar, length in rhythm_rows(songs, phrase_bars):
        counts[metre][tempo_band(tempo), beat, phrase_bar, length - 1] += 1
    if not any(c.sum() for c in counts.values()):
        raise InvalidModelInput("no chord rhythm found in the songs; allowed: POP909 songs with chords on whole beats")
    return HarmonicRhythm(counts, phrase_bars)
