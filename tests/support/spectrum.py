"""Spectral checks for rendered or recorded audio: which pitches sound."""
from __future__ import annotations

import numpy as np


def midi_to_hz(pitch: int) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12.0)


def pitch_strengths(signal: np.ndarray, rate_hz: int, pitches: list[int]) -> dict[int, float]:
    """Spectral magnitude at each MIDI pitch's fundamental (max within +-1/4 semitone)."""
    signal = np.asarray(signal, dtype=np.float64)
    windowed = (signal - signal.mean()) * np.hanning(signal.size)
    spectrum = np.abs(np.fft.rfft(windowed))
    freqs = np.fft.rfftfreq(signal.size, 1.0 / rate_hz)
    strengths = {}
    for pitch in pitches:
        f = midi_to_hz(pitch)
        band = (freqs > f * 2 ** (-0.25 / 12)) & (freqs < f * 2 ** (0.25 / 12))
        strengths[pitch] = float(spectrum[band].max()) if band.any() else 0.0
    return strengths


def assert_pitches_sound(signal: np.ndarray, rate_hz: int, chord: list[int], ratio: float = 5.0) -> None:
    """Each chord pitch's fundamental is a peak `ratio` times stronger than the strongest
    pitch a semitone away from every chord tone in the same octave range."""
    low, high = min(chord) - 2, max(chord) + 2
    others = [p for p in range(low, high + 1) if all(abs(p - c) >= 1 for c in chord) and p not in chord]
    strengths = pitch_strengths(signal, rate_hz, list(chord) + others)
    loudest_other = max(strengths[p] for p in others)
    for pitch in chord:
        assert strengths[pitch] > ratio * loudest_other, (
            f"pitch {pitch} ({midi_to_hz(pitch):.1f} Hz) is not a clear peak: {strengths}")
