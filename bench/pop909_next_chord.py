"""Next chord on POP909 songs 701-800 and EMOPIA val (issue 15): bits per chord of the shipped class
CRBMs (class mixture), n-gram baselines trained on POP909 train, on EMOPIA train or on both, a CRBM
trained on POP909 train (the candidate pop expert / pretraining start), and log-linear products of
the shipped mixture with a POP909 expert (the product-of-experts design). Writes "Next chord on POP909
(issue 15)" in bench/RESULTS.md.

    .venv/bin/python bench/pop909_next_chord.py [--crbm-epochs 10] [--weights 0.25 0.5]

Every model is evaluated on both sets (POP909: each song's continuous segments, every chord in its
key's frame; EMOPIA val: the clips' recognised chords), durations ignored, state space of
research.baselines (2016 chord states). Product: log2 p(s) = log2 p_mix(s) + w log2 p_pop(s) - log2 Z.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


class ProductNextChord:
    """Log-linear product of a base next-chord model and an expert: p ~ p_base * p_expert ** weight."""

    def __init__(self, base, expert, weight: float, name: str):
        self.base, self.expert, self.weight, self.name = base, expert, float(weight), name

    def log2_probs_sequence(self, states: np.ndarray) -> np.ndarray:
        from models.next_chord import sequence_log2_probs

        log2p = sequence_log2_probs(self.base, states) + self.weight * sequence_log2_probs(self.expert, states)
        top = log2p.max(axis=1, keepdims=True)
        return log2p - top - np.log2(np.exp2(log2p - top).sum(axis=1, keepdims=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crbm-epochs", type=int, default=10, help="epochs of the POP909 CRBM (0: skip it)")
    parser.add_argument("--crbm-method", choices=("cd", "exact"), default="cd",
                        help="POP909 CRBM training: CD-1 or the exact likelihood gradient")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.25, 0.5], help="product weights")
    parser.add_argument("--crbm-only", action="store_true",
                        help="only the POP909 CRBM and the mixture with it (written as its own section)")
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--folders", action="store_true",
                        help="score the model folders as shipped (--before and models/emopia; no training) against the n-grams")
    parser.add_argument("--before", default="/tmp/emopia_before", help="the model folder shipped before the POP909 retrain")
    args = parser.parse_args(argv)
    if not (DATA / "pop909").is_dir() or not (DATA / "emopia").is_dir():
        print(f"bench/pop909_next_chord.py: skipped: POP909 or EMOPIA not found in {DATA}")
        return 0
    from models.dataset import emopia_split
    from models.next_chord import CRBMNextChord, MixtureNextChord, next_chord_metrics
    from models.pop909 import SELECTION_SONGS, TRAIN_SONGS, load_pop909
    from models.model_folder import load_model_set

    pop_train = [e for s in load_pop909(DATA, TRAIN_SONGS, workers=2).songs for e, _ in s.segments()]
    pop_val = [e for s in load_pop909(DATA, SELECTION_SONGS, workers=2).songs for e, _ in s.segments()]
    emopia_train = [c.events for c in emopia_split(DATA, "train").clips if c.events]
    emopia_val = [c.events for c in emopia_split(DATA, "val").clips if c.events]
    if args.folders:
        return score_folders(args, pop_train, pop_val, emopia_train, emopia_val)
    model_set = load_model_set()
    shipped = MixtureNextChord({c: CRBMNextChord(model_set.crbm(c), f"CRBM {c}") for c in model_set.class_names},
                               name="shipped CRBMs (class mixture)")
    models: dict[str, object] = {**n_gram_baselines(emopia_train, pop_train), "shipped CRBMs (class mixture)": shipped}
    pop_kn = models["KN bigram, POP909 train"]
    if args.crbm_only:
        models = {name: models[name] for name in ("KN trigram, POP909 train", "KN bigram, EMOPIA train")}
    else:
        for w in args.weights:
            models[f"shipped mixture x KN bigram POP909 ^ {w:g}"] = ProductNextChord(shipped, pop_kn, w, "")
    notes = []
    if args.crbm_epochs > 0:
        from dataclasses import replace

        from models.crbm import CHORD_LAYOUT, chord_visible
        from models.training import TrainingConfig, train_crbm

        started = time.perf_counter()
        config = replace(TrainingConfig.for_chords(), epochs=args.crbm_epochs, method=args.crbm_method)
        rbm, report = train_crbm([chord_visible(e) for e in pop_train if e], CHORD_LAYOUT, config)
        seconds = time.perf_counter() - started
        pop_crbm = CRBMNextChord(rbm, "CRBM, POP909 train")
        models[f"CRBM, POP909 train ({args.crbm_epochs} epochs)"] = pop_crbm
        for w in ([] if args.crbm_only else args.weights):
            models[f"shipped mixture x POP909 CRBM ^ {w:g}"] = ProductNextChord(shipped, pop_crbm, w, "")
        # the POP909 CRBM as a fifth mixture component: the prefix decides how much each corpus explains
        components = {c: CRBMNextChord(model_set.crbm(c), f"CRBM {c}") for c in model_set.class_names}
        components["pop"] = pop_crbm
        models["mixture of the shipped class CRBMs and the POP909 CRBM (uniform prior)"] = MixtureNextChord(components)
        notes.append(f"The POP909 CRBM: shipped settings (TrainingConfig.for_chords: 64 hidden, history 4, joint history 2), "
                     f"{args.crbm_epochs} epochs of {'CD-1' if args.crbm_method == 'cd' else 'exact maximum likelihood'} from scratch on {report.n_rows} chords, {seconds:.0f} s on 2 cores.")
    rows = []
    for name, model in models.items():
        started = time.perf_counter()
        pop = next_chord_metrics(model, pop_val)
        emo = next_chord_metrics(model, emopia_val)
        rows.append((name, pop, emo))
        print(f"{name}: POP909 {pop.bits_per_chord:.3f} ({time.perf_counter() - started:.0f} s), EMOPIA {emo.bits_per_chord:.3f}",
              flush=True)
    lines = [f"POP909 701-800: {rows[0][1].events} chords in continuous segments (models.pop909); EMOPIA val: "
             f"{rows[0][2].events} chords (models.dataset). Lower is better; the issue's goal: beat the best n-gram on both.",
             *notes, "", "| model | POP909 701-800 bits/chord | top-1 | EMOPIA val bits/chord | top-1 |", "|---|---|---|---|---|"]
    for name, pop, emo in rows:
        lines.append(f"| {name} | {pop.bits_per_chord:.3f} | {100 * pop.top1_accuracy:.1f} % | {emo.bits_per_chord:.3f} | "
                     f"{100 * emo.top1_accuracy:.1f} % |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        title = "Next chord on POP909 (issue 15)" + (f", POP909 CRBM of {args.crbm_epochs} epochs" if args.crbm_only else "")
        write_section(title, text, "bench/pop909_next_chord.py" + (f" --crbm-only --crbm-epochs {args.crbm_epochs}"
                                                                   if args.crbm_only else ""))
    return 0


def n_gram_baselines(emopia_train, pop_train) -> dict[str, object]:
    """The Kneser-Ney n-grams every table here is compared with, by row name, in table order."""
    from research.baselines import KneserNeyModel

    return {
        "KN bigram, EMOPIA train": KneserNeyModel(2).fit(emopia_train),
        "KN trigram, EMOPIA train": KneserNeyModel(3).fit(emopia_train),
        "KN bigram, POP909 train": KneserNeyModel(2).fit(pop_train),
        "KN trigram, POP909 train": KneserNeyModel(3).fit(pop_train),
        "KN bigram, EMOPIA + POP909 train": KneserNeyModel(2).fit(emopia_train + pop_train),
    }


def score_folders(args, pop_train, pop_val, emopia_train, emopia_val) -> int:
    """The shipped folder's next-chord models (and the folder shipped before) against the n-grams, one run."""
    from models.crbm import CHORD_LAYOUT, ConditionalRBM
    from models.generation import POP_WEIGHT
    from models.model_folder import default_model_dir, load_model_set
    from models.next_chord import CRBMNextChord, MixtureNextChord, next_chord_metrics

    models: dict[str, object] = n_gram_baselines(emopia_train, pop_train)
    n_grams = list(models)
    if args.before and Path(args.before).is_dir():
        before = load_model_set(args.before)
        models["before: class CRBMs, Bayesian mixture"] = MixtureNextChord(
            {c: CRBMNextChord(before.crbm(c)) for c in before.class_names})
    shipped = load_model_set(default_model_dir())
    classes = {c: CRBMNextChord(shipped.crbm(c)) for c in shipped.class_names}
    mixture = MixtureNextChord(classes)
    models["shipped: class CRBMs, Bayesian mixture"] = mixture
    notes = []
    if shipped.pop_weights is not None:
        pop = CRBMNextChord(ConditionalRBM.from_weights(CHORD_LAYOUT, shipped.pop_weights), "pop expert")
        entry = shipped.config.get("pop_expert", {})
        notes.append(f"Shipped pop expert: {entry.get('epochs')} epochs ({entry.get('method')}) on {entry.get('chords')} chords "
                     f"of POP909 {entry.get('songs')}, {entry.get('seconds_training')} s.")
        models["shipped: pop expert alone"] = pop
        models["shipped: Bayesian mixture of the class CRBMs and the pop expert (uniform prior)"] = \
            MixtureNextChord({**classes, "pop": pop})
        models[f"shipped: generator's product, class mixture x pop expert ^ {POP_WEIGHT:g}"] = \
            ProductNextChord(mixture, pop, POP_WEIGHT, "")
    rows = []
    for name, model in models.items():
        started = time.perf_counter()
        rows.append((name, next_chord_metrics(model, pop_val), next_chord_metrics(model, emopia_val)))
        print(f"{name}: POP909 {rows[-1][1].bits_per_chord:.3f}, EMOPIA {rows[-1][2].bits_per_chord:.3f} "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    best_pop = min((r for r in rows if r[0] in n_grams), key=lambda r: r[1].bits_per_chord)
    best_emo = min((r for r in rows if r[0] in n_grams), key=lambda r: r[2].bits_per_chord)
    lines = [f"POP909 701-800: {rows[0][1].events} chords in continuous segments (models.pop909); EMOPIA val: "
             f"{rows[0][2].events} chords (models.dataset). Lower is better; the issue's goal: beat the best n-gram on both "
             f"(POP909: {best_pop[0]} {best_pop[1].bits_per_chord:.3f}; EMOPIA: {best_emo[0]} "
             f"{best_emo[2].bits_per_chord:.3f}). before = {args.before} (the folder shipped before the POP909 retrain), "
             "shipped = models/emopia. The generator samples the product row (times the mode expert); the Bayesian "
             "mixture is the shipped models' likelihood when the class is unknown.", *notes, "",
             "| model | POP909 701-800 bits/chord | top-1 | EMOPIA val bits/chord | top-1 | beats the best n-gram on both |",
             "|---|---|---|---|---|---|"]
    for name, pop_m, emo_m in rows:
        both = "" if name in n_grams else ("yes" if pop_m.bits_per_chord < best_pop[1].bits_per_chord
                                            and emo_m.bits_per_chord < best_emo[2].bits_per_chord else "no")
        lines.append(f"| {name} | {pop_m.bits_per_chord:.3f} | {100 * pop_m.top1_accuracy:.1f} % | "
                     f"{emo_m.bits_per_chord:.3f} | {100 * emo_m.top1_accuracy:.1f} % | {both} |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Next chord on POP909 (issue 15)", text, "bench/pop909_next_chord.py --folders")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
