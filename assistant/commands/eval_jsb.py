"""`moodchords eval-jsb`: train the CRBM (binary-frame layout) on JSB chorales and report next-frame ACC."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval-jsb", help="benchmark the CRBM on the JSB chorales (next-frame accuracy)",
        description="Train the conditional RBM on one split of a JSB-chorales JSON file and report the expected "
                    "next-frame accuracy ACC = TP/(TP+FP+FN) on another (Boulanger-Lewandowski et al. 2012), "
                    "beside 'copy the previous frame' and independent key frequencies.")
    parser.add_argument("--data", required=True, metavar="FILE.json",
                        help="JSB chorales JSON: {split: [chorale: [time step: [MIDI pitch, ...]]]}")
    parser.add_argument("--train-split", default="train", help="split to train on (default: train)")
    parser.add_argument("--split", default="valid", help="split to evaluate (default: valid)")
    parser.add_argument("--epochs", type=int, help="training epochs (default 30)")
    parser.add_argument("--learning-rate", type=float, help="initial learning rate (default 0.1)")
    parser.add_argument("--method", choices=("cd", "pcd"), help="CD-k or persistent CD (default pcd)")
    parser.add_argument("--transpose", type=int,
                        help="augment training with transpositions by -N..+N semitones that stay in range (default 0)")
    parser.add_argument("--hidden", type=int, help="hidden units (default 150)")
    parser.add_argument("--history", type=int, help="previous frames the CRBM conditions on (default 4)")
    parser.add_argument("--summary-decay", type=float,
                        help="weight decay per step of the extra conditioning slot 'mean of all earlier frames' "
                             "(default 1.0: the plain mean; 0: no such slot)")
    parser.add_argument("--average-last", type=int,
                        help="final weights = mean of the weights after each of the last N epochs (default 10; 0: off)")
    parser.add_argument("--k", type=int, help="Gibbs sweeps per CD update (default 5)")
    parser.add_argument("--chains", type=int, help="Gibbs chains per predicted frame (default 32)")
    parser.add_argument("--gibbs-steps", type=int, help="sweeps per prediction chain, the first quarter burn-in (default 400)")
    parser.add_argument("--temperature", type=float,
                        help="temperature of the predictive distribution behind the headline expected ACC "
                             "(default 0.1, chosen on held-out train chorales; 1: the model as trained)")
    parser.add_argument("--threshold", type=float,
                        help="the hard rule 'key on when its T = 1 marginal exceeds this' (default 0.25)")
    parser.add_argument("--chain-start", choices=("previous", "bias"),
                        help="prediction chains start at the previous frame or a draw from the dynamic biases (default previous)")
    parser.add_argument("--ais-frames", type=int,
                        help="frames for the AIS next-frame log-likelihood estimate (default 0: skip)")
    parser.add_argument("--seed", type=int, help="random seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def _progress(message: str, fraction: float) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from assistant.errors import InvalidInput
    from models.jsb import JsbConfig, evaluate_crbm_on_jsb, load_jsb

    overrides = {"epochs": args.epochs, "n_hidden": args.hidden, "history": args.history, "k": args.k,
                 "chains": args.chains, "gibbs_steps": args.gibbs_steps, "ais_frames": args.ais_frames,
                 "seed": args.seed, "transpose": args.transpose, "method": args.method, "chain_start": args.chain_start,
                 "learning_rate": args.learning_rate, "summary_decay": args.summary_decay,
                 "average_last": args.average_last, "temperature": args.temperature, "threshold": args.threshold}
    integers = {"epochs": 1, "n_hidden": 1, "history": 0, "k": 1, "chains": 1, "gibbs_steps": 2, "ais_frames": 0,
                "transpose": 0, "average_last": 0}  # name -> smallest value allowed
    rules = {name: (lambda x, low=low: x >= low, f"an integer >= {low}") for name, low in integers.items()}
    rules.update({"learning_rate": (lambda x: x > 0, "a number > 0"), "temperature": (lambda x: x > 0, "a number > 0"),
                  "threshold": (lambda x: 0 < x < 1, "a number strictly between 0 and 1"),
                  "summary_decay": (lambda x: 0 <= x <= 1, "a number between 0 and 1")})
    flags = {"n_hidden": "hidden"}  # where the flag is not the field's name
    for name, (ok, allowed) in rules.items():
        value = overrides[name]
        if value is not None and not ok(value):
            raise InvalidInput(f"--{flags.get(name, name.replace('_', '-'))} {value} is not allowed; use {allowed}")
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
        print(f"JSB {args.split}: CRBM expected ACC {result.acc:.2%} (the paper's metric, Gibbs marginals at "
              f"temperature {config.temperature:g}) over {result.frames} frames\n"
              f"  other rules: expected ACC at T = 1 {result.untempered_acc:.2%}, mean-field marginals "
              f"{result.mean_field_acc:.2%}, T = 1 marginals rounded at {config.threshold:g} {result.threshold_acc:.2%} "
              f"and at 0.5 {result.thresholded_acc:.2%}, approximate most likely frame {result.map_acc:.2%}\n"
              f"  baselines: copy previous frame {result.copy_previous_acc:.2%}, key frequencies {result.frequency_acc:.2%}")
        if result.log_likelihood is not None:
            print(f"next-frame log-likelihood (AIS, {result.log_likelihood_frames} frames): "
                  f"{result.log_likelihood:.3f} nats/frame")
    return 0
