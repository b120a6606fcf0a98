"""Pop expert settings on POP909 701-800 (issue 15): train the pop expert (a CRBM of the class CRBMs' shape)
on POP909 songs 001-700 with each setting, and score it alone and as the fifth component of the Bayesian
mixture with the class CRBMs of a model folder (uniform prior: what bench/pop909_next_chord.py --folders
scores), on POP909 701-800 (where settings are chosen) and EMOPIA val. Wall and CPU time of each training.

    .venv/bin/python bench/pop_expert_sweep.py [--folder models/emopia] [--settings '{"epochs": 40}' ...]

Each setting is a JSON object of TrainingConfig fields over TrainingConfig.for_chords() (n_hidden, history and
joint_history must stay: generation stacks the pop expert with the class CRBMs)."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import pop909_train_and_selection, write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
DEFAULT_SETTINGS = [
    {"epochs": 10},
    {"epochs": 40},
    {"epochs": 40, "joint_weight_decay": 0.0003},
    {"epochs": 40, "joint_weight_decay": 0.0003, "learning_rate": 0.1},
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", default=str(ROOT / "models" / "emopia"), help="model folder whose class CRBMs join the mixture")
    parser.add_argument("--settings", nargs="+", default=None, help="JSON objects of TrainingConfig fields (default: a small grid)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    songs = pop909_train_and_selection(DATA, "bench/pop_expert_sweep.py")
    if songs is None:
        return 0
    from models.chord_states import state_sequences
    from models.classification import ClassScorer, ScoredNextChord
    from models.crbm import CHORD_LAYOUT, chord_visible
    from models.dataset import emopia_split
    from models.model_folder import load_model_set
    from models.next_chord import MixtureNextChord, next_chord_metrics
    from models.training import TrainingConfig, train_crbm
    from research.baselines import KneserNeyModel

    train_songs, selection_songs = songs
    pop_train = [e for s in train_songs for e, _ in s.segments() if e]
    pop_val = [e for s in selection_songs for e, _ in s.segments() if e]
    emopia_val = [c.events for c in emopia_split(DATA / "emopia", "val").clips if c.events]
    folder = load_model_set(args.folder)
    classes = [folder.parameters[n].weights for n in folder.class_names]
    trigram = KneserNeyModel(3).fit(pop_train)
    reference = next_chord_metrics(trigram, pop_val)
    emopia_bigram = next_chord_metrics(KneserNeyModel(2).fit([c.events for c in emopia_split(DATA / "emopia", "train").clips
                                                             if c.events]), emopia_val)
    pop_states, emopia_states = state_sequences(pop_val), state_sequences(emopia_val)
    settings = [json.loads(s) for s in args.settings] if args.settings else DEFAULT_SETTINGS
    rows = []
    for setting in settings:
        config = replace(TrainingConfig.for_chords(), pretrain_epochs=0, **setting).validate()
        wall, cpu = time.perf_counter(), time.process_time()
        rbm, report = train_crbm([chord_visible(e) for e in pop_train], CHORD_LAYOUT, config, label="pop")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        weights = rbm.get_weights()
        scorer = ClassScorer(weights=[*classes, weights])
        names = [*folder.class_names, "pop"]
        pop_models = ScoredNextChord.for_classes(scorer, names, pop_states)
        emopia_models = ScoredNextChord.for_classes(scorer, names, emopia_states)
        alone = next_chord_metrics(pop_models["pop"], pop_val)
        mixed = next_chord_metrics(MixtureNextChord(pop_models), pop_val)
        mixed_emopia = next_chord_metrics(MixtureNextChord(emopia_models), emopia_val)
        rows.append((setting, report, wall, cpu, alone, mixed, mixed_emopia))
        print(f"{json.dumps(setting)}: alone {alone.bits_per_chord:.3f}, mixture {mixed.bits_per_chord:.3f}, "
              f"EMOPIA {mixed_emopia.bits_per_chord:.3f}; {wall:.0f} s wall, {cpu:.0f} s CPU", flush=True)
    load = os.getloadavg()[0]
    lines = [f"Pop expert: TrainingConfig.for_chords() (64 hidden, history 4, joint history 2, CD-1, batch 64) with the "
             f"changes shown, from scratch on {rows[0][1].n_rows} chords of POP909 001-700 (models.training.train_crbm, "
             f"fused loop); mixture = the Bayesian mixture of {args.folder}'s class CRBMs and the pop expert, uniform prior. "
             f"Lower is better. Goals: POP909 701-800 below the KN trigram (POP909 train) {reference.bits_per_chord:.3f}; "
             f"EMOPIA val below the KN bigram (EMOPIA train) {emopia_bigram.bits_per_chord:.3f}. 2 cores shared with "
             f"other jobs (load average {load:.1f} at the end), so wall times are rough.", "",
             "| setting | POP909 701-800, pop expert alone | POP909 701-800, mixture | top-1 | EMOPIA val, mixture | train wall / CPU s |",
             "|---|---|---|---|---|---|"]
    for setting, report, wall, cpu, alone, mixed, mixed_emopia in rows:
        lines.append(f"| {json.dumps(setting)} | {alone.bits_per_chord:.3f} | {mixed.bits_per_chord:.3f} | "
                     f"{100 * mixed.top1_accuracy:.1f} % | {mixed_emopia.bits_per_chord:.3f} | {wall:.0f} / {cpu:.0f} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Pop expert settings on POP909 701-800 (issue 15)", text, "bench/pop_expert_sweep.py "
                      + " ".join(f"--settings '{json.dumps(s)}'" for s in settings) if args.settings else "bench/pop_expert_sweep.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
