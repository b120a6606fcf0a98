"""How a clip is played (density, dynamics, articulation, register, tempo, pedal).

EMOPIA's arousal (Q1/Q2 vs Q3/Q4) lives here rather than in the chords: see
/work/shared/data/README.md and bench/chord_recognition.py for the measured separation.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

HAND_SPLIT_PITCH = 60  # middle C: notes below go to the left hand (a simple, common split)
CHORD_ONSET_TOLERANCE_S = 0.03  # onsets closer than this belong to the same chord, not a "following" note


@dataclass(frozen=True)
class PerformanceFeatures:
    """Performance statistics of one clip."""

    notes_per_second: float  # note onsets per second of the clip's span (first onset .. last written offset)
    mean_velocity: float  # mean MIDI velocity, 1..127
    mean_note_length_s: float  # mean written note length (s), pedal ignored
    mean_pitch: float  # mean MIDI pitch (register)
    pitch_std: float  # standard deviation of the pitches (semitones)
    tempo_bpm: float  # tempo of the beat grid (BPM)
    pedal_share: float  # share of the clip's span with the sustain pedal down, 0..1
    legato: float  # share of note time overlapped by a following note in the same hand, 0..1
    velocity_std: float  # standard deviation of the velocities (dynamic range)
    polyphony: float  # mean number of notes sounding (written lengths) while anything sounds
    notes_per_beat: float  # onsets per beat of the grid (density independent of the tempo)

    def as_array(self) -> np.ndarray:
        """Values in field order (for models that want a vector)."""
        return np.asarray([getattr(self, f.name) for f in fields(self)], dtype=np.float64)


PERFORMANCE_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(PerformanceFeatures))


def _legato(pitch: np.ndarray, onset: np.ndarray, offset: np.ndarray) -> float:
    total, overlapped = 0.0, 0.0
    for hand in (pitch < HAND_SPLIT_PITCH, pitch >= HAND_SPLIT_PITCH):
        on, off = onset[hand], offset[hand]
        if len(on) < 2:
            total += float((off - on).sum())
            continue
        order = np.argsort(on, kind="stable")
        on, off = on[order], off[order]
        # the next onset in this hand that is not part of the same chord
        nxt_idx = np.searchsorted(on, on + CHORD_ONSET_TOLERANCE_S, side="right")
        has_next = nxt_idx < len(on)
        nxt = np.where(has_next, on[np.minimum(nxt_idx, len(on) - 1)], np.inf)
        length = off - on
        overlap = np.clip(off - nxt, 0.0, length)
        total += float(length.sum())
        overlapped += float(overlap.sum())
    return overlapped / total if total > 0 else 0.0


def _union_length(intervals: list[tuple[float, float]], lo: float, hi: float) -> float:
    covered, cursor = 0.0, lo
    for a, b in sorted(intervals):
        a, b = max(a, cursor), min(b, hi)
        if b > a:
            covered += b - a
            cursor = b
    return covered


def performance_features(
    pitch: np.ndarray, onset: np.ndarray, offset: np.ndarray, velocity: np.ndarray,
    pedal_intervals: tuple[tuple[float, float], ...] | list[tuple[float, float]],
    tempo_bpm: float, beat_count: float | None = None,
) -> PerformanceFeatures:
    """Features of notes given as arrays (times in seconds, written offsets; pedal as (down, up) pairs)."""
    if len(pitch) == 0:
        raise ValueError("performance features need at least one note")
    start, end = float(onset.min()), float(offset.max())
    span = max(end - start, 1e-3)
    length = offset - onset
    # mean polyphony: integrate the number of sounding notes over the time something sounds
    edges = np.concatenate((onset, offset))
    steps = np.concatenate((np.ones(len(onset)), -np.ones(len(offset))))
    order = np.argsort(edges, kind="stable")
    count = np.cumsum(steps[order])
    dt = np.diff(edges[order])
    busy = dt[count[:-1] > 0].sum()
    polyphony = float((count[:-1] * dt).sum() / busy) if busy > 0 else 1.0
    if beat_count is None:
        beat_count = span * tempo_bpm / 60.0
    return PerformanceFeatures(
        notes_per_second=len(pitch) / span,
        mean_velocity=float(velocity.mean()),
        mean_note_length_s=float(length.mean()),
        mean_pitch=float(pitch.mean()),
        pitch_std=float(pitch.std()),
        tempo_bpm=float(tempo_bpm),
        pedal_share=min(1.0, _union_length(list(pedal_intervals), start, end) / span),
        legato=_legato(pitch, onset, offset),
        velocity_std=float(velocity.std()),
        polyphony=polyphony,
        notes_per_beat=len(pitch) / max(beat_count, 1e-3),
    )
