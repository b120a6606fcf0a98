"""Ear-relevant statistics of musical form for key-normalised chord progressions (numpy only).

What a listener hears as "pop form", measured the same way on generated pieces and on POP909 songs
(issue 15, "Form"):
* where chords change: the share of changes on a strong beat (the bar line, or the half bar when a
  bar has an even number of beats: beats 1 and 3 of 4/4, beat 1 of 3/4, both dotted beats of 6/8);
* the share of chords no longer than their bar that still cross a bar line;
* the chord-length histogram (1, 2, 3, 4, 5-7, 8+ beats) and its total-variation distance from a
  reference's;
* the share of chords diatonic to the key (major scale; natural minor plus the raised 7th);
* the share of pieces ending on the tonic held for a bar or more (and arriving on a strong beat);
* for long pieces, the diminished / half-diminished share in the second half and whether the
  second half is still in the piece's key (key finding on its chord tones).

Pieces are key-normalised like the models' events: major tonic 0 (C), minor tonic 9 (A).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from models.errors import InvalidModelInput
from models.harmony import key_correlations
from models.vocabulary import FRAME_TONIC, QUALITY_BY_NAME, ChordEvent

MODES = ("major", "minor")
#: Scale degrees above the tonic: major scale; natural minor plus the raised 7th (harmonic minor).
SCALE_DEGREES = {"major": frozenset({0, 2, 4, 5, 7, 9, 11}), "minor": frozenset({0, 2, 3, 5, 7, 8, 10, 11})}
#: Qualities that count as the tonic chord of each mode (any bass).
TONIC_QUALITIES = {
    "major": frozenset(QUALITY_BY_NAME[q] for q in ("maj", "maj7", "add9", "sus2")),
    "minor": frozenset(QUALITY_BY_NAME[q] for q in ("min", "min7", "madd9")),
}
DIMINISHED_QUALITIES = frozenset(QUALITY_BY_NAME[q] for q in ("dim", "min7b5", "dim7"))
LENGTH_BINS = ("1", "2", "3", "4", "5-7", "8+")  # chord lengths in beats
_EPS = 1e-6


@dataclass(frozen=True)
class Piece:
    """A progression placed on bars."""

    events: tuple[ChordEvent, ...]  # key-normalised chords; beats = duration in beats
    starts: tuple[float, ...]  # onset of each chord in beats
    bar_lines: tuple[float, ...]  # sorted beat positions of the bar lines (at least one at or before the first onset)
    modes: tuple[str, ...]  # the key's mode in effect at each chord ("major" | "minor")

    def __post_init__(self) -> None:
        if not (len(self.events) == len(self.starts) == len(self.modes)):
            raise InvalidModelInput(f"piece with {len(self.events)} events, {len(self.starts)} onsets and "
                                    f"{len(self.modes)} modes; allowed: one onset and one mode per event")
        if not self.bar_lines:
            raise InvalidModelInput("piece without bar lines; allowed: at least one bar line")
        bad = [m for m in self.modes if m not in MODES]
        if bad:
            raise InvalidModelInput(f"mode {bad[0]!r} not allowed; allowed: {list(MODES)}")

    @classmethod
    def from_events(cls, events: Sequence[ChordEvent], mode: str, beats_per_bar: float, start: float = 0.0) -> "Piece":
        """Consecutive chords from ``start`` (beats after a bar line) in one key and a regular metre."""
        if not beats_per_bar > 0:
            raise InvalidModelInput(f"beats_per_bar={beats_per_bar!r} not allowed; allowed: > 0")
        starts = start + np.concatenate([[0.0], np.cumsum([e.beats for e in events])[:-1]]) if events else np.zeros(0)
        end = start + sum(e.beats for e in events)
        bar_lines = np.arange(0.0, end + beats_per_bar + _EPS, float(beats_per_bar))
        return cls(tuple(events), tuple(float(s) for s in starts), tuple(float(b) for b in bar_lines),
                   tuple(mode for _ in events))

    @property
    def length_beats(self) -> float:
        return self.starts[-1] + self.events[-1].beats if self.events else 0.0

    def bar_position(self, beat: float) -> tuple[float, float]:
        """(beats since the bar line before ``beat``, that bar's length in beats)."""
        lines = np.asarray(self.bar_lines)
        i = int(np.searchsorted(lines, beat + _EPS)) - 1
        if i < 0:  # before the first bar line: the first bar's length repeated backwards
            length = float(lines[1] - lines[0]) if len(lines) > 1 else 4.0
            return float((beat - lines[0]) % length), length
        length = float(lines[i + 1] - lines[i]) if i + 1 < len(lines) else (
            float(lines[i] - lines[i - 1]) if i > 0 else 4.0)
        return float(beat - lines[i]), length


def is_strong_position(beat_in_bar: float, bar_length: float) -> bool:
    """The bar line, or the middle of a bar with an even number of beats."""
    if abs(beat_in_bar) < _EPS:
        return True
    whole = round(bar_length)
    return abs(bar_length - whole) < _EPS and whole % 2 == 0 and abs(beat_in_bar - whole / 2) < _EPS


def length_bin(beats: float) -> int:
    """Index into LENGTH_BINS; a duration rounds up from the half beat (1.5 beats -> "2")."""
    whole = max(1, int(np.ceil(beats - 0.25)))
    if whole <= 4:
        return whole - 1
    return 4 if whole <= 7 else 5


def is_diatonic(event: ChordEvent, mode: str) -> bool:
    """Every pitch class of the chord (bass included) is in the mode's scale (SCALE_DEGREES)."""
    return all((pc - FRAME_TONIC[mode]) % 12 in SCALE_DEGREES[mode] for pc in event.pitch_classes())


def is_tonic(event: ChordEvent, mode: str) -> bool:
    """The tonic chord of the mode (TONIC_QUALITIES on the tonic root, any bass)."""
    return event.root == FRAME_TONIC[mode] and event.quality in TONIC_QUALITIES[mode]


def _crosses_bar_line(piece: Piece, start: float, beats: float) -> tuple[bool, bool]:
    """(the chord is no longer than its bar, it crosses the next bar line)."""
    position, length = piece.bar_position(start)
    short = beats <= length + _EPS
    return short, position + beats > length + _EPS


@dataclass(frozen=True)
class FormReport:
    """Form statistics over a set of pieces (shares 0..1)."""

    pieces: int  # pieces measured
    chords: int  # chords measured
    strong_beat_changes: float  # chord changes (every onset but a piece's first) on a strong beat
    short_chords_crossing: float  # chords no longer than their bar that cross a bar line
    length_histogram: tuple[float, ...]  # shares of LENGTH_BINS
    length_tv: float | None  # total-variation distance of length_histogram from the reference (None: no reference)
    diatonic: float  # chords diatonic to their key
    tonic_ending: float  # pieces whose last chord is the tonic held a bar or more
    strong_ending: float  # pieces whose last chord starts on a strong beat
    short_ending: float  # pieces whose last chord lasts a beat or less


def total_variation(p: Sequence[float], q: Sequence[float]) -> float:
    """Half the L1 distance between two distributions."""
    p, q = np.asarray(p, np.float64), np.asarray(q, np.float64)
    if p.shape != q.shape:
        raise InvalidModelInput(f"histograms of {p.shape} and {q.shape} bins; allowed: the same bins")
    return float(0.5 * np.abs(p / max(p.sum(), _EPS) - q / max(q.sum(), _EPS)).sum())


def form_report(pieces: Iterable[Piece], reference_histogram: Sequence[float] | None = None) -> FormReport:
    """Form statistics of ``pieces`` (see the module doc); empty pieces are ignored."""
    pieces = [p for p in pieces if p.events]
    if not pieces:
        raise InvalidModelInput("no piece with chords to measure; allowed: at least one non-empty piece")
    changes = strong = short = crossing = diatonic = chords = 0
    lengths = np.zeros(len(LENGTH_BINS))
    tonic_end = strong_end = short_end = 0
    for piece in pieces:
        for i, (event, start, mode) in enumerate(zip(piece.events, piece.starts, piece.modes)):
            chords += 1
            if i > 0:
                changes += 1
                strong += is_strong_position(*piece.bar_position(start))
            fits, crosses = _crosses_bar_line(piece, start, event.beats)
            short += fits
            crossing += fits and crosses
            diatonic += is_diatonic(event, mode)
            lengths[length_bin(event.beats)] += 1
        last, last_start, last_mode = piece.events[-1], piece.starts[-1], piece.modes[-1]
        position, bar_length = piece.bar_position(last_start)
        tonic_end += is_tonic(last, last_mode) and last.beats >= bar_length - _EPS
        strong_end += is_strong_position(position, bar_length)
        short_end += last.beats <= 1.0 + _EPS
    histogram = lengths / lengths.sum()
    return FormReport(
        pieces=len(pieces), chords=chords,
        strong_beat_changes=strong / max(changes, 1), short_chords_crossing=crossing / max(short, 1),
        length_histogram=tuple(float(x) for x in histogram),
        length_tv=None if reference_histogram is None else total_variation(histogram, reference_histogram),
        diatonic=diatonic / chords, tonic_ending=tonic_end / len(pieces), strong_ending=strong_end / len(pieces),
        short_ending=short_end / len(pieces),
    )


@dataclass(frozen=True)
class LongPieceReport:
    """How a long piece's second half keeps its key."""

    diminished_share: float  # chords of the second half that are dim / half-dim / dim7
    diatonic_share: float  # chords of the second half diatonic to the key
    key_held: bool  # the second half's chord tones find the piece's own key (tonic and mode)
    found_key: tuple[int, str]  # the key found in the second half (key-normalised tonic, mode)


def estimate_key_of_chords(events: Sequence[ChordEvent]) -> tuple[int, str]:
    """The key (tonic pitch class, mode) of chords' tones weighted by duration (models.harmony profiles)."""
    pcs, weights = [], []
    for event in events:
        tones = sorted(event.pitch_classes())
        pcs.extend(tones)
        weights.extend([event.beats / len(tones)] * len(tones))
        pcs.append(event.bass)  # the bass sounds twice as much (it is doubled in every voicing)
        weights.append(event.beats / len(tones))
    correlations = key_correlations(np.asarray(pcs), np.asarray(weights, np.float64))
    row, tonic = np.unravel_index(int(np.argmax(correlations)), correlations.shape)
    return int(tonic), MODES[int(row)]


def long_piece_report(piece: Piece) -> LongPieceReport:
    """Second-half statistics of one piece in one key (its first chord's mode)."""
    if not piece.events:
        raise InvalidModelInput("empty piece; allowed: a piece with chords")
    half = piece.length_beats / 2
    second = [e for e, s in zip(piece.events, piece.starts) if s >= half - _EPS] or [piece.events[-1]]
    mode = piece.modes[0]
    found = estimate_key_of_chords(second)
    return LongPieceReport(
        diminished_share=float(np.mean([e.quality in DIMINISHED_QUALITIES for e in second])),
        diatonic_share=float(np.mean([is_diatonic(e, mode) for e in second])),
        key_held=found == (FRAME_TONIC[mode], mode), found_key=found,
    )
