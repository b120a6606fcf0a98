"""`moodchords eval-jsb`: train the CRBM (binary-frame layout) on JSB chorales and report next-frame ACC."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys


#: The model options: flag, JsbConfig field, type (or the allowed choices), help ({default} is read
#: from JsbConfig, so the help cannot drift from the defaults).
MODEL_OPTIONS = (
    ("--epochs", "epochs", int, "training epochs (default {default})"),
    ("--learning-rate", "learning_rate", float, "initial learning rate (default {default})"),
    ("--method", "method", ("cd", "pcd"), "CD-k or persistent CD (default {default})"),
    ("--transpose", "transpose", int,
     "augment training with transpositions by -N..+N semitones that stay in range (default {default})"),
    ("--hidden", "n_hidden", int, "hidden units (default {default})"),
    ("--history", "history", int, "previous frames the CRBM conditions on (default {default})"),
    ("--summary-decay", "summary_decay", float,
     "weight decay per step of the extra conditioning slot 'mean of all earlier frames' "
     "(default {default}; 1: the plain mean; 0: no such slot)"),
    ("--hidden-dropout", "hidden_dropout", float,
     "probability of dropping a hidden unit per training row in the PCD training (default {default}; 0: off)"),
    ("--average-last", "average_last", int,
     "final weights = mean of the weights after each of the last N epochs (default {default}; 0: off)"),
    ("--memory-units", "memory_units", int,
     "recurrent memory units joining the conditioning, the RNN-RBM idea (default {default}; 0: off)"),
    ("--memory-epochs", "memory_epochs", int, "passes training the memory with the CRBM (default {default})"),
    ("--k", "k", int, "Gibbs sweeps per CD update (default {default})"),
    ("--chains", "chains", int, "Gibbs chains per predicted frame (default {default})"),
    ("--gibbs-steps", "gibbs_steps", int, "sweeps per prediction chain, the first quarter burn-in (default {default})"),
    ("--temperature", "temperature", float,
     "temperature of the predictive distribution behind the headline expected ACC "
     "(default {default}, chosen on held-out train chorales; 1: the model as trained)"),
    ("--threshold", "threshold", float, "the hard rule 'key on when its T = 1 marginal exceeds this' (default {default})"),
    ("--chain-start", "chain_start", ("previous", "bias"),
     "prediction chains start at the previous frame or a draw from the dynamic biases (default {default})"),
    ("--ensemble", "ensemble", int,
     "CRBMs trained with consecutive seeds whose product predicts exactly over the training frames (default {default})"),
    ("--ngram-order", "ngram_order", int, "order of the frame n-gram expert in that product (default {default})"),
    ("--ngram-weight", "ngram_weight", float,
     "weight of the frame n-gram's log-probability in the product (default {default}; 0: the CRBMs alone)"),
    ("--ais-frames", "ais_frames", int, "frames for the AIS next-frame log-likelihood estimate (default {default}; 0: skip)"),
    ("--seed", "seed", int, "random seed (default {default})"),
)


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval-jsb", help="benchmark the CRBM on the JSB chorales (next-frame accuracy)",
        description="Train the conditional RBM on one split of a JSB-chorales JSON file and report the expected "
                    "next-frame accuracy ACC = TP/(TP+FP+FN) on another (Boulanger-Lewandowski et al. 2012): "
                    "exactly over the distinct training frames (the product of --ensemble CRBMs and a frame n-gram), "
                    "and for one CRBM over all frames by Gibbs sampling, beside 'copy the previous frame' and "
                    "independent key frequencies.")
    parser.add_argument("--data", required=True, metavar="FILE.json",
                        help="JSB chorales JSON: {split: [chorale: [time step: [MIDI pitch, ...]]]}")
    parser.add_argument("--train-split", default="train", help="split to train on (default: train)")
    parser.add_argument("--split", default="valid", help="split to evaluate (default: valid)")
    from models.jsb import JsbConfig

    defaults = JsbConfig()
    for flag, field, kind, text in MODEL_OPTIONS:
        typed = {"choices": kind} if isinstance(kind, tuple) else {"type": kind, "metavar": flag[2:].upper().replace("-", "_")}
        parser.add_argument(flag, dest=field, help=text.format(default=getattr(defaults, field)), **typed)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def _progress(message: str, fraction: float) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from assistant.errors import InvalidInput
    from models.jsb import JsbConfig, evaluate_crbm_on_jsb, load_jsb

    overrides = {field: getattr(args, field) for _, field, _, _ in MODEL_OPTIONS}
    integers = {"epochs": 1, "n_hidden": 1, "history": 0, "k": 1, "chains": 1, "gibbs_steps": 2, "ais_frames": 0,
                "transpose": 0, "average_last": 0, "memory_units": 0,
                "memory_epochs": 1, "ensemble": 1, "ngram_order": 1}  # name -> smallest value allowed
    rules = {name: (lambda x, low=low: x >= low, f"an integer >= {low}") for name, low in integers.items()}
    rules.update({"learning_rate": (lambda x: x > 0, "a number > 0"), "temperature": (lambda x: x > 0, "a number > 0"),
                  "threshold": (lambda x: 0 < x < 1, "a number strictly between 0 and 1"),
                  "summary_decay": (lambda x: 0 <= x <= 1, "a number between 0 and 1"),
                  "hidden_dropout": (lambda x: 0 <= x < 1, "a number >= 0 and < 1"),
                  "ngram_weight": (lambda x: x >= 0, "a number >= 0")})
    flags = {field: flag for flag, field, _, _ in MODEL_OPTIONS}
    for name, (ok, allowed) in rules.items():
        value = overrides[name]
        if value is not None and not ok(value):
            raise InvalidInput(f"{flags[name]} {value} is not allowed; use {allowed}")
    config = dataclasses.replace(JsbConfig(), **{k: v for k, v in overrides.items() if v is not None})
    if args.gibbs_steps is not None:  # keep the default's proportion: a quarter of the sweeps is burn-in
        config = dataclasses.replace(config, burn_in=min(config.burn_in, config.gibbs_steps // 4))
    splits = load_jsb(args.data)
    result = evaluate_crbm_on_jsb(splits, args.train_split, args.split, config,
                                  progress=None if args.json else _progress)
    summary = dataclasses.asdict(result)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"JSB {args.split}: expected ACC at temperature {config.temperature:g} over {result.frames} frames, "
              f"exact over the {result.support_frames} training frames ({result.support_coverage:.1%} of these frames), "
              f"{config.ensemble} CRBM(s) x frame {config.ngram_order}-gram: {result.product_acc:.2%} summed over frames, "
              f"{result.product_step_acc:.2%} as the mean of the per-step expectations (the paper's authors' averaging)\n"
              f"  the CRBM(s) alone: {result.exact_acc:.2%} summed, {result.exact_step_acc:.2%} per step; "
              f"the n-gram alone: {result.ngram_acc:.2%} summed\n"
              f"  one CRBM over all frames, Gibbs-sampled at T = {config.temperature:g}: {result.acc:.2%} summed, "
              f"{result.step_acc:.2%} per step; at T = 1 (the model as trained): {result.untempered_acc:.2%} summed, "
              f"{result.untempered_step_acc:.2%} per step\n"
              f"  other rules (summed): mean-field marginals "
              f"{result.mean_field_acc:.2%}, T = 1 marginals rounded at {config.threshold:g} {result.threshold_acc:.2%} "
              f"and at 0.5 {result.thresholded_acc:.2%}, approximate most likely frame {result.map_acc:.2%}\n"
              f"  baselines: copy previous frame {result.copy_previous_step_acc:.2%} per step, {result.copy_previous_acc:.2%} "
              f"summed; key frequencies {result.frequency_acc:.2%} summed")
        if result.log_likelihood is not None:
            print(f"next-frame log-likelihood (AIS, {result.log_likelihood_frames} frames): "
                  f"{result.log_likelihood:.3f} nats/frame")
    return 0
