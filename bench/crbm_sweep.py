"""Choosing the CRBM settings on EMOPIA val (train on train_clip.csv only): exact next-chord NLL
(bits per chord) and top-1 accuracy of each class model on its class's val clips, per setting.

Run: .venv/bin/python bench/crbm_sweep.py [JSON-settings ...]   (needs ../shared/data/emopia)
Without arguments a small default grid; writes its section of bench/RESULTS.md.
"""
from __future__ import annotations

import datetime
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.crbm import machine, write_section  # noqa: E402

OLD = {"k": 5, "epochs": 5, "pretrain_epochs": 60}  # the first defaults the grid started from
DEFAULT_GRID = [  # each entry overrides models.training.TrainingConfig(); {} = the shipped defaults
    OLD,
    {**OLD, "pretrain_epochs": 0, "epochs": 40},  # no pooled pretraining
    {**OLD, "k": 1},  # CD-1 instead of CD-5
    {**OLD, "method": "pcd"},  # persistent CD
    {**OLD, "n_hidden": 64},
    {**OLD, "history": 2},
    {**OLD, "history": 8},
    {**OLD, "pretrain_epochs": 100, "epochs": 3},
    {"k": 5, "pretrain_epochs": 100, "epochs": 1},
    {"k": 5, "pretrain_epochs": 100, "epochs": 3, "weight_decay": 0.001},
    {"pretrain_epochs": 100, "epochs": 3, "n_hidden": 64},
    {"method": "exact", "pretrain_epochs": 15, "epochs": 2},  # exact log-likelihood gradient
    {},  # shipped: CD-1, 32 hidden, history 4, 150 pooled epochs + 3 per class
]


def main() -> int:
    import numpy as np
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")
    from dataclasses import replace

    from models.crbm import CHORD_LAYOUT, ConditionalRBM
    from models.dataset import emopia_split
    from models.training import TrainingConfig, clip_sequences, score_sequences, train_class_models

    data = ROOT.parent / "shared" / "data" / "emopia"
    train, val = emopia_split(data, "train").clips, emopia_split(data, "val").clips
    by_label: dict[str, list] = {}
    for clip in train:
        by_label.setdefault(clip.label, []).append(clip)
    grid = [json.loads(a) for a in sys.argv[1:]] or DEFAULT_GRID
    # baselines: add-0.1 unigram over the chord states per class
    unigram_bits, unigram_n = 0.0, 0
    from models.crbm import chord_state_index
    for label, clips in by_label.items():
        counts = np.bincount([chord_state_index(e) for c in clips for e in c.events], minlength=CHORD_LAYOUT.n_states) + 0.1
        p = counts / counts.sum()
        states = [chord_state_index(e) for c in val if c.label == label for e in c.events]
        unigram_bits -= float(np.log2(p[states]).sum())
        unigram_n += len(states)
    lines = ["## CRBM settings on EMOPIA val (bench/crbm_sweep.py)", "",
             f"{datetime.date.today().isoformat()}, {machine()}. Train: train_clip.csv ({len(train)} clips); "
             f"val: val_clip.csv ({len(val)} clips, {unigram_n} chords). Per-class unigram baseline (add-0.1): "
             f"{unigram_bits / unigram_n:.3f} bits/chord.", "",
             "| changed setting | val NLL bits/chord | val top-1 | train s |", "|---|---|---|---|"]
    for change in grid:
        config = replace(TrainingConfig(), **change).validate()
        started = time.perf_counter()
        models = train_class_models(by_label, config)
        seconds = time.perf_counter() - started
        bits = hits = n = 0.0
        for label, model in models.items():
            scores = score_sequences(ConditionalRBM.from_weights(CHORD_LAYOUT, model.weights),
                                     clip_sequences([c for c in val if c.label == label]))
            bits += scores.nll_bits_per_chord * scores.n_chords
            hits += scores.top1_accuracy * scores.n_chords
            n += scores.n_chords
        row = f"| {json.dumps(change) if change else 'defaults ' + json.dumps(config.to_json())} | {bits / n:.3f} | {hits / n:.3f} | {seconds:.0f} |"
        lines.append(row)
        print(row, flush=True)
    text = "\n".join(lines) + "\n"
    write_section(text, key="crbm-sweep")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
