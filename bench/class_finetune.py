"""Class CRBM fine-tuning settings on EMOPIA val (issue 15): one pooled pretraining per seed (TrainingConfig.
for_chords, fused loop), then the four class CRBMs fine-tuned from it with each setting; EMOPIA val next-chord
bits (own class, class mixture) and generative classification (harmony only; combined at valence bias 0 and
0.03 per chord). Writes "Class fine-tuning on EMOPIA val (issue 15)".

    .venv/bin/python bench/class_finetune.py [--seeds 0 1] [--settings '{"epochs": 3}' ...]"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DEFAULT_SETTINGS = [{"epochs": 3}, {"epochs": 6}, {"epochs": 6, "learning_rate": 0.025}, {"epochs": 10, "learning_rate": 0.02}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--settings", nargs="+", default=None)
    parser.add_argument("--cache", default=None, help="folder keeping each seed's pooled weights between runs")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if not (DATA / "emopia").is_dir():
        print("bench/class_finetune.py: skipped: EMOPIA not found")
        return 0
    from models.chord_states import state_sequences
    from models.classification import ClassScorer, ScoredNextChord, classification_accuracy, score_clips
    from models.crbm import CHORD_LAYOUT
    from models.dataset import emopia_split
    from models.emotion_classes import EMOPIA_CLASSES, class_info
    from models.model_folder import model_set_from_class_models
    from models.next_chord import MixtureNextChord, next_chord_metrics
    from models.training import TrainingConfig, clip_sequences, train_class_models, train_crbm

    train = emopia_split(DATA / "emopia", "train")
    val = emopia_split(DATA / "emopia", "val")
    by_label: dict[str, list] = {}
    for clip in train.clips:
        if clip.label and clip.events:
            by_label.setdefault(clip.label, []).append(clip)
    val_clips = [c for c in val.clips if c.label and c.events]
    info = class_info(EMOPIA_CLASSES)
    settings = [json.loads(s) for s in args.settings] if args.settings else DEFAULT_SETTINGS
    rows = []
    for seed in args.seeds:
        base = replace(TrainingConfig.for_chords(), seed=seed)
        started = time.process_time()
        cache = Path(args.cache) / f"pooled_seed{seed}.npz" if args.cache else None
        if cache is not None and cache.is_file():
            pooled_weights = dict(np.load(cache))
        else:
            pooled, _ = train_crbm(clip_sequences([c for label in sorted(by_label) for c in by_label[label]]), CHORD_LAYOUT,
                                   replace(base, epochs=base.pretrain_epochs), label="pooled")
            pooled_weights = pooled.get_weights()
            if cache is not None:
                np.savez(cache, **pooled_weights)
        pretrain_cpu = time.process_time() - started
        for setting in settings:
            config = replace(base, **setting).validate()
            started = time.process_time()
            models = train_class_models(by_label, config, pretrained=pooled_weights)
            cpu = time.process_time() - started
            model_set = model_set_from_class_models(name="sweep", layout=CHORD_LAYOUT.to_json(), hyperparameters=config.to_json(),
                                                    class_models=models, beats_per_bar=4, class_info=info)
            scores = score_clips(model_set, val_clips)
            harmony = classification_accuracy(scores, info, part="harmony")
            combined = [classification_accuracy(scores, info, harmony_weight=1.0, valence_bias_per_chord=b) for b in (0.0, 0.03)]
            predictors = ScoredNextChord.for_classes(ClassScorer(model_set), model_set.class_names,
                                                     state_sequences([c.events for c in val_clips]))
            own = sum(next_chord_metrics(predictors[c.label], [c.events]).bits_per_chord * len(c.events) for c in val_clips) \
                / sum(len(c.events) for c in val_clips)
            mixture = next_chord_metrics(MixtureNextChord(predictors), [c.events for c in val_clips]).bits_per_chord
            rows.append((seed, setting, own, mixture, harmony, combined, cpu, pretrain_cpu))
            print(seed, json.dumps(setting), f"own {own:.3f} mixture {mixture:.3f} harmony valence {harmony['valence']:.3f}",
                  [(round(c["classes"], 3), round(c["valence"], 3)) for c in combined], f"{cpu:.0f} s CPU", flush=True)
    lines = ["EMOPIA train (876 clips) -> val (114 clips, 2109 chords). Pooled pretraining: 150 epochs (for_chords) per seed, "
             "shared by the settings of that seed; class CRBMs fine-tuned from it (changes shown over for_chords). "
             "Classification: argmax over the classes; combined = valence from the harmony, arousal from the performance "
             "profile (harmony weight 1), at valence bias 0 and 0.03 nats per chord.", "",
             "| seed | setting | val bits own class | val bits mixture | harmony only: 4 classes / valence | combined, bias 0: 4 classes / valence / arousal | combined, bias 0.03 | fine-tune CPU s |",
             "|---|---|---|---|---|---|---|---|"]
    for seed, setting, own, mixture, harmony, combined, cpu, _ in rows:
        cells = [f"{100 * c['classes']:.1f} / {100 * c['valence']:.1f} / {100 * c['arousal']:.1f} %" for c in combined]
        lines.append(f"| {seed} | {json.dumps(setting)} | {own:.3f} | {mixture:.3f} | {100 * harmony['classes']:.1f} / "
                     f"{100 * harmony['valence']:.1f} % | {cells[0]} | {cells[1]} | {cpu:.0f} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Class fine-tuning on EMOPIA val (issue 15)", text, "bench/class_finetune.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
