"""POP909 pretraining for the class CRBMs (issue 15): one CRBM trained on POP909 train (songs 001-700),
then each EMOPIA class fine-tuned from it exactly as the shipped models are fine-tuned from their
pooled EMOPIA CRBM (TrainingConfig.for_chords: 3 epochs of CD-1). Bits per chord on POP909 701-800 and
EMOPIA val of the class mixture, with and without the POP909 CRBM as a fifth mixture component, and
the emotion classification of EMOPIA val clips by harmony alone (the class CRBMs' likelihoods; the
shipped classifier adds performance features, see bench/engine.py). Writes "POP909 pretraining
(issue 15)" in bench/RESULTS.md.

    .venv/bin/python bench/pop909_pretrain.py [--pop-epochs 10] [--mixed-pretrain]

--mixed-pretrain: pretrain on POP909 train and EMOPIA train together (the shipped pooled pretraining
plus POP909) instead of POP909 alone.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def harmony_accuracy(models: dict, clips) -> tuple[float, float]:
    """4-class and valence accuracy of argmax_c log p_c(clip's chords) (uniform prior)."""
    from models.chord_states import state_sequences
    from models.next_chord import sequence_log2_probs

    correct = valence = 0
    for clip in clips:
        states = state_sequences([clip.events])[0]
        scores = {c: float(sequence_log2_probs(m, states)[np.arange(states.size), states].sum()) for c, m in models.items()}
        best = max(scores, key=scores.get)
        correct += best == clip.label
        valence += (best in ("Q1", "Q4")) == (clip.label in ("Q1", "Q4"))
    return correct / len(clips), valence / len(clips)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pop-epochs", type=int, default=10)
    parser.add_argument("--mixed-pretrain", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if not (DATA / "pop909").is_dir() or not (DATA / "emopia").is_dir():
        print(f"bench/pop909_pretrain.py: skipped: POP909 or EMOPIA not found in {DATA}")
        return 0
    from models.crbm import CHORD_LAYOUT, chord_visible
    from models.dataset import emopia_split
    from models.next_chord import CRBMNextChord, MixtureNextChord, next_chord_metrics
    from models.pop909 import SELECTION_SONGS, TRAIN_SONGS, load_pop909
    from models.model_folder import load_model_set
    from models.training import TrainingConfig, train_crbm

    pop_train = [e for s in load_pop909(DATA, TRAIN_SONGS, workers=2).songs for e, _ in s.segments() if e]
    pop_val = [e for s in load_pop909(DATA, SELECTION_SONGS, workers=2).songs for e, _ in s.segments() if e]
    train = [c for c in emopia_split(DATA, "train").clips if c.events]
    val = [c for c in emopia_split(DATA, "val").clips if c.events]
    labels = sorted({c.label for c in train})
    config = replace(TrainingConfig.for_chords(), method="cd")  # the CD-1 class models this bench measured (for_chords is exact since 4f00704)
    started = time.perf_counter()
    pretrain = pop_train + ([c.events for c in train] if args.mixed_pretrain else [])
    pop_rbm, report = train_crbm([chord_visible(e) for e in pretrain], CHORD_LAYOUT, replace(config, epochs=args.pop_epochs))
    pretrain_s = time.perf_counter() - started
    started = time.perf_counter()
    classes = {}
    for label in labels:
        rbm, _ = train_crbm([chord_visible(c.events) for c in train if c.label == label], CHORD_LAYOUT, config,
                            initial_weights=pop_rbm.get_weights(), label=label)
        classes[label] = CRBMNextChord(rbm, f"CRBM {label}")
    finetune_s = time.perf_counter() - started
    shipped_set = load_model_set()
    shipped = {c: CRBMNextChord(shipped_set.crbm(c), f"CRBM {c}") for c in shipped_set.class_names}
    pop_expert = CRBMNextChord(pop_rbm, "POP909 CRBM")
    candidates = {
        "shipped class CRBMs (pooled EMOPIA pretraining), mixture": MixtureNextChord(shipped),
        "shipped class CRBMs + POP909 CRBM, mixture": MixtureNextChord({**shipped, "pop": pop_expert}),
        "class CRBMs fine-tuned from the POP909 CRBM, mixture": MixtureNextChord(classes),
        "class CRBMs fine-tuned from the POP909 CRBM + the POP909 CRBM, mixture": MixtureNextChord({**classes, "pop": pop_expert}),
    }
    source = "POP909 train + EMOPIA train" if args.mixed_pretrain else "POP909 train"
    lines = [f"Pretraining CRBM: shipped settings (TrainingConfig.for_chords), {args.pop_epochs} epochs of CD-1 on {source} "
             f"({report.n_rows} chords, {pretrain_s:.0f} s); class models: 3 epochs from it on each EMOPIA train class "
             f"({finetune_s:.0f} s for all four). 2 cores, shared with other jobs.", "",
             "| model | POP909 701-800 bits/chord | EMOPIA val bits/chord |", "|---|---|---|"]
    for name, model in candidates.items():
        pop = next_chord_metrics(model, pop_val)
        emo = next_chord_metrics(model, [c.events for c in val])
        lines.append(f"| {name} | {pop.bits_per_chord:.3f} | {emo.bits_per_chord:.3f} |")
        print(lines[-1], flush=True)
    shipped_acc = harmony_accuracy(shipped, val)
    tuned_acc = harmony_accuracy(classes, val)
    lines += ["", "EMOPIA val clips classified by harmony alone (argmax of the class CRBMs' likelihood, uniform prior): "
              f"shipped {100 * shipped_acc[0]:.1f} % (4 classes) / {100 * shipped_acc[1]:.1f} % (valence); fine-tuned from "
              f"POP909 {100 * tuned_acc[0]:.1f} % / {100 * tuned_acc[1]:.1f} %."]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        title = "POP909 pretraining (issue 15)" + (", mixed corpus" if args.mixed_pretrain else "")
        write_section(title, text, "bench/pop909_pretrain.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
