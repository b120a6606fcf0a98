"""A tiny two-class model set trained on synthetic clips ('up': major, loud, dense; 'down': minor,
soft, sparse), shared by the model-folder and classification tests (trained once per session)."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.crbm import CHORD_LAYOUT
from models.model_folder import model_set_from_class_models
from models.performance import PerformanceFeatures
from models.training import TrainingConfig, train_class_models
from models.vocabulary import ChordEvent


@dataclass(frozen=True)
class SyntheticClip:
    path: Path
    label: str
    events: tuple
    mode: str
    performance: PerformanceFeatures


def synthetic_clips(seed: int = 0, per_class: int = 12) -> dict[str, list[SyntheticClip]]:
    """Two classes: 'up' (major, I-IV-V-I, loud and dense) and 'down' (minor, i-iv-v, soft and sparse)."""
    rng = np.random.default_rng(seed)
    major = [ChordEvent(0, 0, 0, 2.0), ChordEvent(5, 0, 5, 2.0), ChordEvent(7, 2, 7, 2.0), ChordEvent(0, 0, 0, 2.0)]
    minor = [ChordEvent(9, 1, 9, 4.0), ChordEvent(2, 1, 2, 2.0), ChordEvent(4, 1, 4, 2.0), ChordEvent(9, 1, 9, 4.0)]
    out: dict[str, list[SyntheticClip]] = {"up": [], "down": []}
    for label, chords, mode, loud in (("up", major, "major", 1.0), ("down", minor, "minor", 0.0)):
        for i in range(per_class):
            events = tuple(chords * 3)
            perf = PerformanceFeatures(
                notes_per_second=float(np.exp(rng.normal(2.0 if loud else 1.3, 0.2))), mean_velocity=float(rng.normal(80 if loud else 50, 5)),
                mean_note_length_s=float(np.exp(rng.normal(-0.3 if loud else 0.3, 0.2))), mean_pitch=float(rng.normal(62, 3)),
                pitch_std=float(rng.normal(10, 1)), tempo_bpm=float(rng.normal(120, 10)), pedal_share=float(rng.uniform(0.5, 0.9)),
                legato=float(rng.uniform(0.2, 0.6)), velocity_std=float(rng.normal(10, 2)), polyphony=float(rng.uniform(2, 4)),
                notes_per_beat=2.0)
            out[label].append(SyntheticClip(Path(f"{label}_song{i // 2}_{i % 2}.mid"), label, events, mode, perf))
    return out


TINY = TrainingConfig(n_hidden=8, history=2, k=1, epochs=3, pretrain_epochs=3, batch_size=16, learning_rate=0.1)


@functools.lru_cache(maxsize=1)
def tiny_model_set():
    """(ModelSet, clips by label): never mutate it (it is shared)."""
    clips = synthetic_clips()
    models = train_class_models(clips, TINY)
    return model_set_from_class_models(name="tiny", layout=CHORD_LAYOUT.to_json(), hyperparameters=TINY.to_json(),
                                       class_models=models, class_info={"up": ("bright", 0.5, 0.5)}), clips
