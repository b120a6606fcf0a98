"""Which pop expert for the phrase-aware prototype (issue 15): models.phrase.compose_form with no pop
expert, with the Kneser-Ney bigram of POP909 train (the prototype's), and with a CRBM trained on POP909
train (what the product must use: the chord model stays a CRBM), at the same weight. Form statistics
(models.form_metrics) at 8 bars and the second half of 64-bar pieces. Writes "Pop expert for the
phrase-aware prototype (issue 15)" in bench/RESULTS.md.

    .venv/bin/python bench/pop_expert_form.py [--epochs 10] [--seeds 10] [--weight 0.5]
"""
from __future__ import annotations

import argparse
import os
import statistics
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
CLASSES = ("Q1", "Q2", "Q3", "Q4")


class CRBMPopExpert:
    """A chord CRBM as a pop expert for models.phrase: probs_next(states) over all chord states."""

    def __init__(self, rbm):
        from models.crbm import CHORD_LAYOUT, states_to_visible

        self.rbm = rbm
        self.order = max(rbm.history, rbm.joint_history) + 1  # models.phrase caches by the last order-1 states
        self._visible = lambda states: states_to_visible(CHORD_LAYOUT, np.asarray(states, np.int64))

    def probs_next(self, states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, np.int64)
        u = self.rbm.history_matrix(self._visible(np.concatenate([states, [0]])))[-1:]
        return np.exp(self.rbm.log_prob_all_states(u).numpy()[0].astype(np.float64))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the POP909 CRBM")
    parser.add_argument("--seeds", type=int, default=10, help="seeds per class at 8 bars")
    parser.add_argument("--long-seeds", type=int, default=2, help="seeds per class at 64 bars")
    parser.add_argument("--weight", type=float, default=0.5, help="pop expert weight")
    args = parser.parse_args(argv)
    if not (DATA / "pop909").is_dir():
        print(f"bench/pop_expert_form.py: skipped: POP909 not found at {DATA / 'pop909'}")
        return 0
    from models.crbm import CHORD_LAYOUT, chord_visible
    from models.form_metrics import Piece, form_report, long_piece_report
    from models.harmonic_rhythm import fit_harmonic_rhythm
    from models.model_folder import load_model_set
    from models.phrase import FormOptions, compose_form
    from models.pop909 import SELECTION_SONGS, TRAIN_SONGS, load_pop909
    from models.training import TrainingConfig, train_crbm
    from research.baselines import KneserNeyModel

    train = load_pop909(DATA, TRAIN_SONGS, workers=2).songs
    reference = form_report([s.piece() for s in load_pop909(DATA, SELECTION_SONGS, workers=2).songs]).length_histogram
    sequences = [events for song in train for events, _ in song.segments() if events]
    rhythm = fit_harmonic_rhythm(train)
    started = time.perf_counter()
    rbm, _ = train_crbm([chord_visible(e) for e in sequences], CHORD_LAYOUT,
                        replace(TrainingConfig.for_chords(), epochs=args.epochs))
    train_s = time.perf_counter() - started
    model_set = load_model_set()
    experts = {"none (class CRBMs + mode expert)": (None, 0.0),
               "KN bigram, POP909 train (prototype)": (KneserNeyModel(2).fit(sequences), args.weight),
               f"CRBM, POP909 train ({args.epochs} epochs)": (CRBMPopExpert(rbm), args.weight)}
    lines = [f"models/emopia class CRBMs, {args.seeds} seeds per class at 8 bars of 4/4 and {args.long_seeds} per class at "
             f"64 bars; pop weight {args.weight:g}; the POP909 CRBM: TrainingConfig.for_chords, {args.epochs} epochs "
             f"({train_s:.0f} s, load average {os.getloadavg()[0]:.1f} on 2 cores). Length TV against POP909 701-800.", "",
             "| pop expert | changes on strong beats | length TV | diatonic | tonic ending | 64 bars: 2nd-half dim / diatonic / key held | ms per 8 bars |",
             "|---|---|---|---|---|---|---|"]
    for name, (pop, weight) in experts.items():
        compose = lambda label, bars, seed: compose_form(model_set, {label: 1.0}, FormOptions(bars=bars, pop_weight=weight),  # noqa: E731
                                                         rhythm=rhythm, pop=pop, seed=seed)
        compose("Q1", 8, 0)  # warm-up
        pieces, started = [], time.perf_counter()
        for label in CLASSES:
            for seed in range(1, args.seeds + 1):
                g = compose(label, 8, seed)
                pieces.append(Piece.from_events(g.events, g.mode, g.beats_per_bar))
        ms = 1000 * (time.perf_counter() - started) / len(pieces)
        report = form_report(pieces, reference)
        long = [long_piece_report(Piece.from_events((g := compose(label, 64, seed)).events, g.mode, g.beats_per_bar))
                for label in CLASSES for seed in range(1, args.long_seeds + 1)]
        lines.append(f"| {name} | {100 * report.strong_beat_changes:.1f} % | {report.length_tv:.3f} | "
                     f"{100 * report.diatonic:.1f} % | {100 * report.tonic_ending:.0f} % | "
                     f"{100 * statistics.mean(r.diminished_share for r in long):.1f} % / "
                     f"{100 * statistics.mean(r.diatonic_share for r in long):.1f} % / {sum(r.key_held for r in long)}/{len(long)} | "
                     f"{ms:.0f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    write_section("Pop expert for the phrase-aware prototype (issue 15)", text, "bench/pop_expert_form.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
