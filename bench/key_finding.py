"""Key profiles for models.harmony.estimate_key: Krumhansl-Kessler or Temperley (Kostka-Payne).

The key does two jobs downstream: it frames every clip's chords (normalised to C major / A minor;
the composer's per-mode chord tables and mode prior come from it), and the clip's mode is evidence
of its valence, where EMOPIA's valence mostly lives (data README). Measured here:

1. Against keys a human wrote: the first key of each Roman-numeral analysis in music21's corpus
   (Bach chorales, Monteverdi madrigals; the same pieces as bench/chord_recognition.py): exact key,
   mode, and the usual confusions (relative, dominant/subdominant, parallel).
2. On EMOPIA train and val (no key labels): how often the estimated mode agrees with the clip's
   valence (major <-> Q1/Q4), and the major share per quadrant beside the data README's music21
   figures (Q1 74 %, Q2 26 %, Q3 38 %, Q4 73 %).

Chosen: Aarden-Essen's profiles (models.harmony.DEFAULT_KEY_PROFILES; music21's own), against
Krumhansl-Kessler's (the earlier default) and Temperley's, each by `moodchords train` with the
default switched, 2026-12-06 (the two runs not shipped were scratch runs; the shipped one is
models/emopia and its card):

| profiles | classifier CV on train, 4 classes / valence | val 4 classes / valence / arousal | next chord, val (bits) | music21 major share of generated Q1-Q4 (train clips 74 / 32 / 41 / 78 %) |
|---|---|---|---|---|
| Krumhansl-Kessler | 63.8 / 70.7 % | 63.2 / 71.9 / 88.6 % | 6.624 | 78 / 30 / 38 / 80 % |
| Temperley | 66.3 / 72.8 % | 63.2 / 72.8 / 88.6 % | 6.548 | 88 / 42 / 46 / 94 % |
| Aarden-Essen | 65.3 / 72.2 % | 64.9 / 74.6 / 88.6 % | 6.603 | 80 / 34 / 34 / 84 % (mode-expert weight 1; 1.25 is chosen on train by bench/mode_expert.py) |

Aarden-Essen's also find the human-annotated key most often (the table below: 74 % exact, against
47 % and 53 %). Temperley's frame EMOPIA's chords best, but read far more clips as major, and the composer, whose mode
prior and per-mode chord tables follow the clips' modes, then writes too much in major (16+ points
off at every mode-expert weight tried). Aarden-Essen's frame the chords like Temperley's (91 % of
train clips get the same frame; Krumhansl-Kessler's 73 %) and read modes as music21 does. Also
tried (scratch): Temperley's for the classifier's mode part only (val valence 71.1 %), and
Temperley's frame with the composer's modes from Krumhansl-Kessler's keys (modes from another frame
than the chords for a fifth of the clips).

Run: .venv/bin/python bench/key_finding.py [--no-write]   (~2 min; music21's parse is cached)
"""
from __future__ import annotations

import argparse
import csv
import sys

import numpy as np

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import cached_pickle, write_section  # noqa: E402

from models.harmony import KEY_PROFILES, estimate_key  # noqa: E402

SCRIPT = "bench/key_finding.py"
EMOPIA = ROOT.parent / "shared" / "data" / "emopia"
PROFILES = tuple(KEY_PROFILES)


def annotated_keys() -> dict[str, tuple[int, str]]:
    """Piece name -> (tonic pitch class, mode) of the analysis's first key (cached after one parse)."""
    return cached_pickle("bench-annotated-keys-v1.pickle", _parse_keys)


def _parse_keys() -> dict[str, tuple[int, str]]:
    from music21 import converter

    from bench.chord_recognition import analysis_files

    keys = {}
    for rn_path in analysis_files():
        try:
            analysis = converter.parse(rn_path, format="romanText")
            first = next(iter(analysis.recurse().getElementsByClass("RomanNumeral")))
        except Exception:  # pieces music21 cannot parse are left out, as in bench/chord_recognition.py
            continue
        keys[rn_path.stem] = (first.key.tonic.pitchClass, first.key.mode)
    return keys


def relation(estimate: tuple[int, str], truth: tuple[int, str]) -> str:
    """How an estimated key relates to the true one."""
    (tonic, mode), (true_tonic, true_mode) = estimate, truth
    interval = (tonic - true_tonic) % 12
    if mode == true_mode:
        return {0: "exact", 7: "fifth", 5: "fifth"}.get(interval, "other")
    if (true_mode == "major" and interval == 9) or (true_mode == "minor" and interval == 3):
        return "relative"
    return "parallel" if interval == 0 else "other"


def corpus_table() -> str:
    from bench.chord_recognition import load_pieces

    keys = annotated_keys()
    pieces = [p for p in load_pieces() if p.name in keys]
    rows = []
    for profile in PROFILES:
        counts = {"exact": 0, "relative": 0, "fifth": 0, "parallel": 0, "other": 0}
        modes = 0
        for piece in pieces:
            key = estimate_key(piece.pitch, piece.offset - piece.onset, profile)
            counts[relation((key.tonic, key.mode), keys[piece.name])] += 1
            modes += key.mode == keys[piece.name][1]
        n = len(pieces)
        rows.append(f"| {profile} | {counts['exact'] / n:.1%} | {modes / n:.1%} | {counts['relative'] / n:.1%} | "
                    f"{counts['fifth'] / n:.1%} | {counts['parallel'] / n:.1%} | {counts['other'] / n:.1%} |")
    head = (f"{len(pieces)} pieces with a human Roman-numeral analysis (music21 corpus: Bach chorales, Monteverdi "
            "madrigals); the analysis's first key is the truth.\n\n"
            "| profiles | exact key | mode | relative | fifth | parallel | other |\n|---|---|---|---|---|---|---|\n")
    return head + "\n".join(rows)


def emopia_modes() -> dict[str, dict[str, np.ndarray]]:
    """Per split: quadrant (1..4) and, per profile, 'is major' of every clip."""
    from models.midi_reading import read_midi

    out = {}
    for split in ("train", "val"):
        with open(EMOPIA / f"{split}_clip.csv", newline="") as fh:
            names = [row[0] for row in csv.reader(fh)][1:]
        quadrant, major = [], {p: [] for p in PROFILES}
        for name in names:
            content = read_midi(EMOPIA / "midis" / name)
            quadrant.append(int(name[1]))
            for profile in PROFILES:
                major[profile].append(estimate_key(content.pitch, content.offset - content.onset, profile).mode == "major")
        out[split] = {"quadrant": np.asarray(quadrant), **{p: np.asarray(v) for p, v in major.items()}}
    return out


def emopia_table() -> str:
    modes = emopia_modes()
    rows = []
    for profile in PROFILES:
        cells = []
        for split in ("train", "val"):
            q, major = modes[split]["quadrant"], modes[split][profile]
            positive = np.isin(q, (1, 4))
            cells.append(f"{np.mean(major == positive):.1%}")
        q, major = modes["train"]["quadrant"], modes["train"][profile]
        shares = " / ".join(f"{major[q == k].mean():.0%}" for k in (1, 2, 3, 4))
        rows.append(f"| {profile} | {cells[0]} | {cells[1]} | {shares} |")
    n_train, n_val = len(modes["train"]["quadrant"]), len(modes["val"]["quadrant"])
    return ("EMOPIA (no key labels): the estimated mode against the clip's valence (major <-> Q1/Q4), "
            f"{n_train} train and {n_val} val clips, and the major share per quadrant on train (the data README's "
            "music21 figures on train + val: 74 / 26 / 38 / 73 %).\n\n"
            "| profiles | mode = valence, train | mode = valence, val | major share Q1 / Q2 / Q3 / Q4 (train) |\n"
            "|---|---|---|---|\n" + "\n".join(rows))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    parts = [corpus_table()]
    if EMOPIA.is_dir():
        parts.append(emopia_table())
    else:
        parts.append(f"EMOPIA not found at {EMOPIA}: its part skipped.")
    body = "\n\n".join(parts)
    print(body)
    if not args.no_write:
        write_section("Key finding (bench/key_finding.py)", body, SCRIPT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
