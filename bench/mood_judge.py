"""The independent mood judge (issue 15, "The mood carried"): an emotion classifier trained apart
from the generator, used only to measure whether composed music carries the requested mood.

    .venv/bin/python bench/mood_judge.py          # train on EMOPIA train, print val accuracy

It is NEVER used to choose the generator's settings (no parameter of assistant.expression or
models.guidance was set by looking at its answers), and it shares neither features nor model with
any classifier inside generation:
* the shipped classifier (models.classification) scores key-normalised chord sequences under the
  class CRBMs plus a Gaussian performance profile (notes per second, mean velocity, mean note length,
  mean pitch, legato, a tracked tempo);
* this judge reads the raw notes (pitch, onset s, duration s, velocity) and uses distributions, not
  those means: a key-normalised 12-bin pitch-class duration histogram (rotated to the best
  Krumhansl-Kessler major key) with the major and minor profile correlations, pitch percentiles and
  range, quantiles of the log inter-onset intervals between distinct onsets, and velocity quantiles;
  two logistic regressions (scikit-learn), valence on the pitch features, arousal on the timing,
  touch and register features, each on standardised features clipped at 3 sigma.
  (A first version used histograms of IOIs and velocities and all features for both sides: a rendered
  score puts every interval and velocity in one bin, 7-13 sigma from any EMOPIA clip, and the
  regressions extrapolated; changed for that reason, judged on EMOPIA val only.)
Trained on EMOPIA's official train clips (../shared/data/emopia/train_clip.csv), reported on its
val clips; the official test split is not used.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "emopia"

# Krumhansl-Kessler key profiles (C major / C minor)
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
IOI_QUANTILES = (10, 25, 50, 75, 90)  # of log2 inter-onset intervals between distinct onsets
VELOCITY_QUANTILES = (10, 50, 90)
#: which features each side reads (indices into features()): valence from the pitch content (key,
#: mode, register), arousal from the timing, touch and register; each side's other features only add
#: cross-talk that does not transfer from human performances to rendered scores
PITCH_FEATURES = slice(0, 20)  # 12 rotated pitch classes, 4 key correlations, 4 register
AROUSAL_FEATURES = slice(16, 28)  # 4 register, 5 log-IOI quantiles, 3 velocity quantiles
Z_LIMIT = 3.0  # standardised features are clipped here before the regression (no wild extrapolation)
ONSET_MERGE_S = 0.03  # onsets closer than this are one strike (a chord)
CLASS_SIDES = {"Q1": (1, 1), "Q2": (-1, 1), "Q3": (-1, -1), "Q4": (1, -1)}  # (valence, arousal)


@dataclass(frozen=True)
class NoteArrays:
    """Notes in seconds, the judge's only input."""

    pitch: np.ndarray  # MIDI numbers
    onset: np.ndarray  # s
    duration: np.ndarray  # s, > 0
    velocity: np.ndarray  # 1..127


def _correlations(histogram: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Pearson correlation of the histogram with the profile rotated to each of 12 tonics."""
    h = histogram - histogram.mean()
    out = np.empty(12)
    for tonic in range(12):
        p = np.roll(profile, tonic)
        p = p - p.mean()
        out[tonic] = float(h @ p / (np.linalg.norm(h) * np.linalg.norm(p) + 1e-12))
    return out


def features(notes: NoteArrays) -> np.ndarray:
    """The judge's feature vector of one piece (see the module doc)."""
    pitch = np.asarray(notes.pitch, np.float64)
    duration = np.clip(np.asarray(notes.duration, np.float64), 1e-3, 4.0)  # a held pedal tone does not own the key
    pcs = np.zeros(12)
    np.add.at(pcs, pitch.astype(int) % 12, duration)
    pcs = pcs / max(pcs.sum(), 1e-9)
    major, minor = _correlations(pcs, MAJOR_PROFILE), _correlations(pcs, MINOR_PROFILE)
    best_major = int(np.argmax(major))
    # rotated to the best major key's tonic: a minor piece shows its weight on degree 9 (the relative minor)
    rotated = np.roll(pcs, -best_major)
    key_part = [major.max(), minor.max(), major.max() - minor.max(), minor[(best_major + 9) % 12] - major[best_major]]

    onsets = np.sort(np.asarray(notes.onset, np.float64))
    strikes = onsets[np.concatenate([[True], np.diff(onsets) > ONSET_MERGE_S])] if onsets.size else onsets
    ioi = np.diff(strikes)
    # quantiles, not a histogram: a rendered piece on a strict grid puts every interval in one bin, far
    # outside anything a human performance shows, and a linear model extrapolates such bins wildly
    ioi_quantiles = np.percentile(np.log2(np.clip(ioi, 0.03, 4.0)), IOI_QUANTILES) if ioi.size else np.full(5, 1.0)

    velocity = np.asarray(notes.velocity, np.float64)
    vel_quantiles = (np.percentile(velocity, VELOCITY_QUANTILES) - 64.0) / 32.0 if velocity.size else np.zeros(3)

    p10, p50, p90 = np.percentile(pitch, [10, 50, 90]) if pitch.size else (60.0, 60.0, 60.0)
    register = [(p10 - 60) / 12, (p50 - 60) / 12, (p90 - 60) / 12, (p90 - p10) / 12]
    return np.concatenate([rotated, key_part, register, ioi_quantiles, vel_quantiles])


def notes_of_midi(path: Path) -> NoteArrays:
    """A MIDI file's notes (written durations, pedal ignored) via models.midi_reading."""
    from models.midi_reading import read_midi

    content = read_midi(path)
    return NoteArrays(content.pitch, content.onset, content.offset - content.onset, content.velocity)


def notes_of_score(score) -> NoteArrays:
    """An assistant.score.Score's notes in seconds (both channels)."""
    spb = score.seconds_per_beat()
    notes = score.notes
    return NoteArrays(np.asarray([n.pitch for n in notes]), np.asarray([n.start_beats * spb for n in notes]),
                      np.asarray([n.duration_beats * spb for n in notes]), np.asarray([n.velocity for n in notes]))


def _split(name: str) -> list[tuple[Path, str]]:
    import csv

    with open(DATA / name, newline="") as f:
        stems = [row["clip_name"] for row in csv.DictReader(f)]
    return [(DATA / "midis" / stem, stem.split("_", 1)[0]) for stem in stems]


def _dataset(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, valence, arousal = [], [], []
    for path, label in _split(name):
        rows.append(features(notes_of_midi(path)))
        v, a = CLASS_SIDES[label]
        valence.append(v)
        arousal.append(a)
    return np.stack(rows), np.asarray(valence), np.asarray(arousal)


class MoodJudge:
    """Valence and arousal sides of a piece, from its notes (trained on EMOPIA train on construction)."""

    def __init__(self, regularisation: float = 1.0):
        x, valence, arousal = _dataset("train_clip.csv")
        self.train_size = len(x)
        self.valence_model = _model(regularisation).fit(x[:, PITCH_FEATURES], valence)
        self.arousal_model = _model(regularisation).fit(x[:, AROUSAL_FEATURES], arousal)

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.valence_model.predict(x[:, PITCH_FEATURES]), self.arousal_model.predict(x[:, AROUSAL_FEATURES])

    def sides(self, notes: NoteArrays) -> tuple[int, int]:
        """(valence side, arousal side), each +1 or -1."""
        v, a = self._predict(features(notes)[None])
        return int(v[0]), int(a[0])

    def validation_accuracy(self) -> tuple[float, float, int]:
        """(valence, arousal) accuracy on EMOPIA val, and the number of val clips."""
        x, valence, arousal = _dataset("val_clip.csv")
        v, a = self._predict(x)
        return float((v == valence).mean()), float((a == arousal).mean()), len(x)


def _model(regularisation: float):
    """Standardise, clip at Z_LIMIT, logistic regression (scikit-learn, already a dependency)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    clip = FunctionTransformer(lambda z: np.clip(z, -Z_LIMIT, Z_LIMIT))
    return make_pipeline(StandardScaler(), clip, LogisticRegression(C=regularisation, max_iter=2000))


def main() -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    judge = MoodJudge()
    v, a, n = judge.validation_accuracy()
    print(f"trained on {judge.train_size} EMOPIA train clips; val ({n} clips): valence {100 * v:.1f} %, arousal {100 * a:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
