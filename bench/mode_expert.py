"""The mode expert's weight (models.generation.MODE_EXPERT_WEIGHT), chosen on EMOPIA train: the
share of generated progressions that music21 reads as major, per class and weight, against the
class's training clips read the same way. Writes "Mode expert weight" in bench/RESULTS.md.

    .venv/bin/python bench/mode_expert.py [--progressions 50] [--weights 0 0.5 1 2]
"""
from __future__ import annotations

import argparse
import sys

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "emopia"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--progressions", type=int, default=50, help="generated per class and weight (seeds 0..N-1)")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 0.5, 1.0, 2.0])
    args = parser.parse_args(argv)
    if not DATA.is_dir():
        print(f"bench/mode_expert.py: skipped: EMOPIA not found at {DATA}")
        return 0
    import models.generation as generation
    from models.dataset import emopia_split
    from research.evaluation import music21_major_share
    from models.model_folder import load_model_set

    model_set = load_model_set()
    train = emopia_split(DATA, "train")
    names = model_set.class_names
    train_major = {c: music21_major_share(clip.events for clip in train.clips if clip.label == c and clip.events)
                   for c in names}
    rows = []
    shipped = generation.MODE_EXPERT_WEIGHT
    try:
        for weight in args.weights:
            generation.MODE_EXPERT_WEIGHT = weight
            shares = {c: music21_major_share(generation.generate(model_set, {c: 1.0}, generation.GenerationOptions(bars=8), seed=i).events
                                             for i in range(args.progressions)) for c in names}
            worst = max(abs(shares[c] - train_major[c]) for c in names)
            rows.append((weight, shares, worst))
            print(weight, shares, f"worst {worst:.2f}", flush=True)
    finally:
        generation.MODE_EXPERT_WEIGHT = shipped
    lines = [f"Model `models/emopia`; {args.progressions} generated progressions per class and weight (8 bars, "
             "seeds 0..N-1), music21 `analyze('key')` on the chords as block chords, against the class's EMOPIA "
             "train clips read the same way (the val clips were not used). Shipped weight: "
             f"{shipped} (models/generation.py).", "",
             "| weight | " + " | ".join(f"{c} major" for c in names) + " | largest gap to train |",
             "|---|" + "---|" * len(names) + "---|",
             "| train clips | " + " | ".join(f"{100 * train_major[c]:.0f} %" for c in names) + " | |"]
    for weight, shares, worst in rows:
        lines.append(f"| {weight:g} | " + " | ".join(f"{100 * shares[c]:.0f} %" for c in names)
                     + f" | {100 * worst:.0f} points |")
    body = "\n".join(lines)
    print(body)
    write_section("Mode expert weight", body, "bench/mode_expert.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
