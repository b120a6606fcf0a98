"""The per-class side models beside each class's CRBM (numpy only, no TensorFlow).

* the performance profile: a full-covariance Gaussian over transformed ``PerformanceFeatures``,
  shrunk towards its diagonal;
* the harmonic rhythm: chord durations in half beats given the chord's onset position in the bar
  (models.metre);
* the mode-chord tables: log P(chord state | major / minor) in the class's clips, smoothed towards
  all classes' (used by models.generation.mode_expert).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from models.chord_states import NUM_STATES, chord_state_index
from models.metre import RHYTHM_STEP, bar_position, duration_column
from models.vocabulary import ChordEvent

#: PerformanceFeatures fields of the profile, with the transform that makes them ~Gaussian.
#: (notes_per_beat is left out: it is notes_per_second / tempo, collinear in log space.)
PROFILE_FEATURES: tuple[tuple[str, str], ...] = (
    ("notes_per_second", "log"), ("mean_velocity", "identity"), ("mean_note_length_s", "log"),
    ("mean_pitch", "identity"), ("pitch_std", "identity"), ("tempo_bpm", "log"),
    ("pedal_share", "identity"), ("legato", "identity"), ("velocity_std", "identity"),
    ("polyphony", "log"),
)
PROFILE_SHRINKAGE = 0.1  # covariance = (1-s) * sample covariance + s * its diagonal
RHYTHM_MAX_BEATS = 8.0  # longest chord duration modelled (2 bars of 4/4)
RHYTHM_PSEUDOCOUNT = 0.5  # Laplace-style smoothing, spread like the class's overall durations
RHYTHM_DURATIONS = tuple(RHYTHM_STEP * i for i in range(1, int(RHYTHM_MAX_BEATS / RHYTHM_STEP) + 1))
#: Pseudo-count pulling a class's chord frequencies per mode towards all classes' (few Q1 clips
#: are minor, few Q2 major).
MODE_CHORD_PRIOR_COUNT = 200.0


# -- performance profile ---------------------------------------------------------------------
def performance_vector(performance) -> np.ndarray:
    """Transformed profile features of one PerformanceFeatures-like object."""
    out = []
    for name, transform in PROFILE_FEATURES:
        value = float(getattr(performance, name))
        out.append(math.log(max(value, 1e-3)) if transform == "log" else value)
    return np.asarray(out, np.float64)


def fit_performance_profile(performances: Sequence) -> dict:
    """Full-covariance Gaussian over PROFILE_FEATURES, shrunk towards the diagonal."""
    x = np.stack([performance_vector(p) for p in performances])
    mean = x.mean(axis=0)
    if len(x) > 1:
        cov = np.cov(x, rowvar=False)
    else:
        cov = np.eye(x.shape[1])
    diag = np.diag(np.maximum(np.diag(cov), 1e-6))
    cov = (1 - PROFILE_SHRINKAGE) * cov + PROFILE_SHRINKAGE * diag + 1e-6 * np.eye(len(mean))
    return {"features": [f"{n}:{t}" for n, t in PROFILE_FEATURES], "mean": mean.tolist(), "cov": cov.tolist(),
            "n": int(len(x))}


def gaussian_log_pdf(x: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> float:
    diff = np.asarray(x, np.float64) - np.asarray(mean, np.float64)
    sign, logdet = np.linalg.slogdet(cov)
    return float(-0.5 * (diff @ np.linalg.solve(cov, diff) + logdet + len(diff) * math.log(2 * math.pi)))


def profile_log_density(performance, mean: np.ndarray, cov: np.ndarray, features: Sequence[str] | None = None) -> float:
    """log density of one performance under a profile Gaussian, marginalised to ``features``
    (names from PROFILE_FEATURES; None: all of them)."""
    x = performance_vector(performance)
    idx = [i for i, (f, _) in enumerate(PROFILE_FEATURES) if features is None or f in features]
    return gaussian_log_pdf(x[idx], np.asarray(mean)[idx], np.asarray(cov)[np.ix_(idx, idx)])


# -- harmonic rhythm -------------------------------------------------------------------------
def rhythm_positions(beats_per_bar: int) -> int:
    return int(round(beats_per_bar / RHYTHM_STEP))


def fit_rhythm(clips: Sequence, beats_per_bar: int) -> dict:
    """Counts of chord durations (half beats, 0.5..8) given the onset's half-beat position in the bar."""
    n_pos, n_dur = rhythm_positions(beats_per_bar), len(RHYTHM_DURATIONS)
    counts = np.zeros((n_pos, n_dur))
    for clip in clips:
        onset = 0.0
        for event in clip.events:
            counts[bar_position(onset, beats_per_bar, n_pos), duration_column(event.beats, n_dur)] += 1
            onset += event.beats
    marginal = counts.sum(axis=0) + 1.0
    smoothed = counts + RHYTHM_PSEUDOCOUNT * n_dur * marginal / marginal.sum()
    return {"beats_per_bar": beats_per_bar, "durations": list(RHYTHM_DURATIONS),
            "probabilities": (smoothed / smoothed.sum(axis=1, keepdims=True)).round(6).tolist(),
            "counts": counts.astype(int).tolist()}


def rhythm_log_likelihood(table: np.ndarray, durations: Sequence[float], beats_per_bar: int,
                          events: Sequence[ChordEvent]) -> float:
    """log P(the chord durations) under a rhythm table (positions x durations; ``durations`` the
    beats of each column, the first being the grid step)."""
    n_pos, n_dur = table.shape
    step = durations[0]
    onset, total = 0.0, 0.0
    for event in events:
        total += math.log(max(table[bar_position(onset, beats_per_bar, n_pos, step),
                                    duration_column(event.beats, n_dur, step)], 1e-12))
        onset += event.beats
    return total


# -- mode-chord tables -----------------------------------------------------------------------
def mode_chord_counts(clips: Sequence) -> np.ndarray:
    """(2, states): how often each chord state occurs in the major clips (row 0) and the minor
    clips (row 1)."""
    counts = np.zeros((2, NUM_STATES))
    for clip in clips:
        row = 0 if clip.mode == "major" else 1
        for event in clip.events:
            counts[row, chord_state_index(event)] += 1
    return counts


def fit_mode_chord_log_probs(class_counts: np.ndarray, pooled_counts: np.ndarray) -> np.ndarray:
    """(2, states): log P(chord state | major), log P(chord state | minor) from a class's
    mode_chord_counts, smoothed towards all classes' counts (add-0.5 there); used by
    models.generation.mode_expert."""
    prior = (pooled_counts + 0.5) / (pooled_counts.sum(axis=1, keepdims=True) + 0.5 * pooled_counts.shape[1])
    return np.log((class_counts + MODE_CHORD_PRIOR_COUNT * prior)
                  / (class_counts.sum(axis=1, keepdims=True) + MODE_CHORD_PRIOR_COUNT))
