"""Scores for the playback tests: a held chord on one program, and an RMS level."""
from __future__ import annotations

import numpy as np

from assistant.score import Note, Score

C_MAJOR = [60, 64, 67]  # C4 E4 G4: 261.6, 329.6, 392.0 Hz
PIANO, ORGAN = 0, 19  # the organ sustains at a constant level: good for level measurements
RATE = 44100


def chord_score(pitches=C_MAJOR, beats=4.0, tempo=120.0, program=PIANO, velocity=100) -> Score:
    return Score(notes=tuple(Note(p, 0.0, beats, velocity, 0) for p in pitches), tempo_bpm=tempo,
                 length_beats=beats, programs={0: program})


def rms(signal: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(signal, dtype=np.float64)))) if signal.size else 0.0
