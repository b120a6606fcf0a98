"""``moodchords classify FILE.mid...``: which emotion class each MIDI file fits best.

Per file and class: the harmony log-likelihood (the file's key-normalised chords under the class
CRBM, their durations under the class's harmonic-rhythm table, and the log-probability of its mode), the performance log-likelihood (its playing
statistics under the class profile) and the classifier's combined score (models.classification.combined_scores:
for quadrant classes the valence side from the harmony (with the valence bias per chord of a model
folder that stores one) and the arousal side from the performance; otherwise harmony_weight * harmony + performance); the
predicted class is the argmax. Unusable files get a one-line error (and their entry in --json);
the other files are still classified; exit 2 when every file fails.
"""
from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("classify", help="score MIDI files under each emotion class model",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", metavar="FILE.mid", help="MIDI files to classify")
    parser.add_argument("--model", default=None, help="model folder (default: the shipped models/emopia)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text lines")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import logging

    from models.dataset import ClipError, load_clip, unexpected_error_message
    from models.errors import InvalidModelInput
    from models.midi_reading import display_path
    from models.classification import log_likelihoods
    from models.crbm_layout import NumpyClassScorer
    from models.model_folder import load_model_set

    log = logging.getLogger(__name__)
    model_set = load_model_set(args.model)  # ModelFileError (exit 2) names a missing/corrupt file
    # Scoring in numpy, not TensorFlow: loading TensorFlow alone takes ~480 MB, and issue 18 allows a
    # classify process 500 MB for any file (bench/classify_memory.py; same scores, tests/test_crbm_layout.py)
    scorer = NumpyClassScorer.for_model_set(model_set)
    results, failures = [], 0
    for name in args.files:
        shown = display_path(name)  # a file name that is not UTF-8 still prints (as \xNN escapes)
        try:
            clip = load_clip(name)
            if not clip.events:
                raise ClipError(f"{shown}: no chords recognised")
            scores = log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode, scorer=scorer)
        except Exception as error:  # one file's failure is that file's error line; the batch goes on
            failures += 1
            if isinstance(error, (ClipError, InvalidModelInput, OSError)):
                message = display_path(str(error).splitlines()[0]) if str(error) else f"{shown}: {type(error).__name__}"
            else:  # a bug (or memory running out) on this file: named, logged with its traceback
                log.exception("unexpected error classifying %s", shown)
                message = unexpected_error_message(name, error)
            results.append({"file": shown, "error": message})
            if not args.json:
                print(f"moodchords classify: error: {message}", file=sys.stderr)
            continue
        best = max(scores, key=lambda c: scores[c].combined)
        results.append({
            "file": shown, "predicted": best, "mode": clip.mode, "chords": len(clip.events),
            "classes": {c: {"harmony": round(s.harmony, 4), "performance": round(s.performance, 4),
                            "combined": round(s.combined, 4)} for c, s in scores.items()},
        })
        if not args.json:
            described = {c.name: c.description for c in model_set.classes}
            parts = "  ".join(f"{c}: {s.combined:9.2f}" for c, s in scores.items())
            print(f"{shown}: {best} ({described[best]})   {parts}")
    if args.json:
        print(json.dumps({"model": str(model_set.path), "harmony_weight": model_set.harmony_weight,
                          "valence_bias_per_chord": model_set.valence_bias_per_chord, "results": results}, indent=1))
    return 2 if failures == len(args.files) else 0
