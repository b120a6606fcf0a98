"""Form (issue 15): the ear-relevant form statistics of generated progressions against POP909 songs
701-800. Writes the section "Form (issue 15)" in bench/RESULTS.md.

    .venv/bin/python bench/form.py [--before /tmp/emopia_before] [--seeds 10] [--long-seeds 5] [--mood]

Model folders measured side by side in one run, both through models.generation.generate (class
weight 1, temperature 1, GenerationOptions(bars) otherwise default, as the composer calls it):
* before: the model folder as shipped before the POP909 retrain (--before; no pop expert, no
  harmonic rhythm: the generator falls back to the classes' EMOPIA rhythm tables);
* shipped: models/emopia (with the POP909 pop expert and harmonic rhythm).
The old generator's numbers (before issue 15) are in "Form (issue 15 baseline)".
Statistics: models.form_metrics (shares over chords or pieces; see its module doc).
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section

DATA = ROOT.parent / "shared" / "data"
CLASSES = ("Q1", "Q2", "Q3", "Q4")
GOALS = {  # issue 15's goals, by FormReport field
    "strong_beat_changes": (">=", 0.85), "short_chords_crossing": ("<=", 0.05), "length_tv": ("<=", 0.20),
    "diatonic": (">=", 0.88), "tonic_ending": (">=", 0.90),
}
ROW_NAMES = {
    "strong_beat_changes": "chord changes on a strong beat (1 or 3 of 4/4)",
    "short_chords_crossing": "chords of a bar or less crossing a bar line",
    "length_tv": "chord-length histogram: TV distance from POP909 701-800",
    "diatonic": "chords diatonic to the key",
    "tonic_ending": "pieces ending on the tonic held >= 1 bar",
    "strong_ending": "pieces whose last chord starts on a strong beat",
    "short_ending": "pieces whose last chord lasts <= 1 beat",
}


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def goal_text(field: str) -> str:
    if field not in GOALS:
        return ""
    op, value = GOALS[field]
    return f"{'≥' if op == '>=' else '≤'} {value:.2f}" if field == "length_tv" else f"{'≥' if op == '>=' else '≤'} {100 * value:.0f} %"


def value_text(field: str, report) -> str:
    value = getattr(report, field)
    return f"{value:.3f}" if field == "length_tv" else pct(value)


# --------------------------------------------------------------------------------------------
_MODEL_SETS: dict = {}


def model_set_at(path):
    if path not in _MODEL_SETS:
        from models.model_folder import load_model_set

        _MODEL_SETS[path] = load_model_set(path)
    return _MODEL_SETS[path]


def piece_maker(path):
    """make(label, bars, seed, **options) -> (Piece, Generation) with the model folder at ``path``."""
    def make(label: str, bars: int, seed: int, **options):
        from models.form_metrics import Piece
        from models.generation import GenerationOptions, generate

        generation = generate(model_set_at(path), {label: 1.0}, GenerationOptions(bars=bars, **options), seed=seed)
        return Piece.from_events(generation.events, generation.mode, generation.beats_per_bar), generation
    return make


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds per class at 8 bars (1..N)")
    parser.add_argument("--long-seeds", type=int, default=5, help="seeds per class at 64 and 256 bars")
    parser.add_argument("--before", default="/tmp/emopia_before",
                        help="the model folder as shipped before the retrain (skipped when absent)")
    parser.add_argument("--mood-seeds", type=int, default=3, help="seeds per free-text request")
    parser.add_argument("--mood", action="store_true",
                        help="also the composer's mode and tempo for free-text requests (bench/mood_carried.py does more)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args(argv)
    if not (DATA / "pop909").is_dir():
        print(f"bench/form.py: skipped: POP909 not found at {DATA / 'pop909'}")
        return 0
    from models.form_metrics import form_report, long_piece_report
    from models.model_folder import default_model_dir
    from models.pop909 import SELECTION_SONGS, load_pop909

    corpus = load_pop909(DATA, SELECTION_SONGS, workers=2)
    pop_pieces = [song.piece() for song in corpus.songs]
    pop = form_report(pop_pieces)
    reference = pop.length_histogram
    pop = form_report(pop_pieces, reference)
    makers = {}
    if args.before and Path(args.before).is_dir():
        makers["before"] = piece_maker(Path(args.before))
    makers["shipped"] = piece_maker(default_model_dir())
    reports, per_class, long_rows, timings = {}, {}, {}, {}
    for name, make in makers.items():
        for label in CLASSES:  # warm-up: XLA compiles, fitted experts, caches
            make(label, 8, 0)
        pieces, started = [], time.perf_counter()
        for label in CLASSES:
            mine = [make(label, 8, seed)[0] for seed in range(1, args.seeds + 1)]
            per_class[(name, label)] = form_report(mine, reference)
            pieces.extend(mine)
        timings[name] = (time.perf_counter() - started) / len(pieces)
        reports[name] = form_report(pieces, reference)
        for bars in (64, 256):
            rows = [long_piece_report(make(label, bars, seed)[0])
                    for label in CLASSES for seed in range(1, args.long_seeds + 1)]
            long_rows[(name, bars)] = rows
        print(name, reports[name], flush=True)

    names = list(makers)
    lines = [
        f"{args.seeds} seeds per class (1..{args.seeds}) at 8 bars of 4/4, classes {', '.join(CLASSES)} with weight 1 "
        f"through models.generation.generate; before = {args.before} (the folder shipped before the POP909 retrain: no pop "
        "expert, EMOPIA rhythm tables), shipped = models/emopia; POP909 songs 701-800 read by "
        f"models.pop909 ({len(corpus.songs)} songs, {pop.chords} chords, every chord in its own key's frame). "
        "Strong beat: the bar line or the half bar (beats 1 and 3 of 4/4, 1 of 3/4). Statistics: models.form_metrics.",
        "",
        "| statistic | POP909 701-800 | " + " | ".join(names) + " | goal |",
        "|---|---|" + "---|" * len(names) + "---|",
    ]
    for field in ROW_NAMES:
        pop_value = "0 (reference)" if field == "length_tv" else value_text(field, pop)
        lines.append(f"| {ROW_NAMES[field]} | {pop_value} | "
                     + " | ".join(value_text(field, reports[n]) for n in names) + f" | {goal_text(field)} |")
    lines.append("| chord lengths 1 / 2 / 3 / 4 / 5-7 / 8+ beats | "
                 + " / ".join(f"{100 * x:.0f}" for x in pop.length_histogram) + " % | "
                 + " | ".join(" / ".join(f"{100 * x:.0f}" for x in reports[n].length_histogram) + " %" for n in names)
                 + " | |")
    load = os.getloadavg()[0]
    lines.append(f"| generate 8 bars, mean per piece (chords only; load average {load:.1f} on 2 cores) | | "
                 + " | ".join(f"{1000 * timings[n]:.0f} ms" for n in names) + " | < 50 ms |")
    lines += ["", "Per class at 8 bars (changes on strong beats / crossing / TV / diatonic / tonic ending):", "",
              "| class | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for label in CLASSES:
        cells = []
        for n in names:
            r = per_class[(n, label)]
            cells.append(f"{100 * r.strong_beat_changes:.0f} / {100 * r.short_chords_crossing:.0f} / {r.length_tv:.2f} / "
                         f"{100 * r.diatonic:.0f} / {100 * r.tonic_ending:.0f} %")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", f"Long pieces, {args.long_seeds} seeds per class ({4 * args.long_seeds} pieces per length): second half's dim / half-dim / "
              "dim7 share (mean, worst piece), diatonic share, and pieces whose second half's chord tones find the "
              "piece's own key (models.form_metrics.long_piece_report; goal: ≤ 5 % dim and the key held).", "",
              "| length | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for bars in (64, 256):
        cells = []
        for n in names:
            rows = long_rows[(n, bars)]
            dim = [r.diminished_share for r in rows]
            cells.append(f"dim {pct(statistics.mean(dim))} (worst {pct(max(dim))}), diatonic "
                         f"{pct(statistics.mean(r.diatonic_share for r in rows))}, key held {sum(r.key_held for r in rows)}/{len(rows)}")
        lines.append(f"| {bars} bars | " + " | ".join(cells) + " |")

    lines += ["", *variant_section(makers["shipped"], args.seeds, reference)]
    if args.mood:
        from assistant.composer import Composer

        lines += ["", *mood_section(Composer(), args.mood_seeds)]
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Form (issue 15)", text, "bench/form.py")
    return 0


def variant_section(make, seeds: int, reference) -> list[str]:
    """The shipped folder's other forms and metres at 8 bars (the strong beats of 3/4: beat 1; of 6/8:
    both dotted beats)."""
    from models.form_metrics import Piece, form_report
    from models.vocabulary import ChordEvent

    variants = {"loop form (4-bar loop), 4/4": dict(form="loop", loop_bars=4),
                "loop form (2-bar loop), 4/4": dict(form="loop", loop_bars=2),
                "through-composed, 3/4": dict(metre="3/4"), "through-composed, 6/8": dict(metre="6/8")}
    lines = [f"Shipped folder, other forms and metres, {seeds} seeds per class at 8 bars (length TV against POP909's "
             "4/4 histogram):", "",
             "| variant | changes on strong beats | short chords crossing | length TV | diatonic | tonic ending |",
             "|---|---|---|---|---|---|"]
    for name, extra in variants.items():
        pieces = []
        for label in CLASSES:
            for seed in range(1, seeds + 1):
                _, g = make(label, 8, seed, **extra)
                # measured in the metre's own beats (6/8: dotted quarters, 2 a bar), as POP909 counts them
                unit = 1.5 if g.compound else 1.0
                events = [ChordEvent(e.root, e.quality, e.bass, e.beats / unit) for e in g.events]
                pieces.append(Piece.from_events(events, g.mode, g.beats_per_bar / unit))
        r = form_report(pieces, reference)
        lines.append(f"| {name} | {pct(r.strong_beat_changes)} | {pct(r.short_chords_crossing)} | {r.length_tv:.3f} | "
                     f"{pct(r.diatonic)} | {pct(r.tonic_ending)} |")
    return lines


def mood_section(composer, seeds: int) -> list[str]:
    """Mode and tempo of the shipped pipeline's compositions for the free-text requests."""
    from assistant.language import MoodReader
    from mood_requests import REQUESTS

    reader = MoodReader(composer.classes)
    rows = []  # (request, mode, tempo)
    for request in REQUESTS:
        mood = reader.read(request.text)
        for seed in range(seeds):
            result = composer.compose(mood.class_weights, mood.settings, seed=seed)
            rows.append((request, result.progression.mode, float(result.progression.tempo_bpm)))

    def share(selected, test) -> str:
        selected = list(selected)
        return f"{sum(test(r) for r in selected)}/{len(selected)} = {pct(sum(test(r) for r in selected) / max(len(selected), 1))}"

    negative = [r for r in rows if r[0].valence < 0]
    positive = [r for r in rows if r[0].valence > 0]
    calm = [r for r in rows if r[0].arousal < 0]
    energetic = [r for r in rows if r[0].arousal > 0]
    lines = [
        f"The mood carried, shipped pipeline (assistant.language.MoodReader -> Composer.compose, no explicit "
        f"setting): {len(REQUESTS)} free-text requests (bench/mood_requests.py: 10 per quadrant, 6 mixed, 4 neutral) x "
        f"{seeds} seeds (0..{seeds - 1}). Valence and arousal by an independent classifier are not measured yet.", "",
        "| statistic | shipped | goal |", "|---|---|---|",
        f"| negative-valence requests in a minor key | {share(negative, lambda r: r[1] == 'minor')} | ≥ 80 % |",
        f"| positive-valence requests in a major key | {share(positive, lambda r: r[1] == 'major')} | |",
        f"| calm or sad requests at ≤ 100 BPM | {share(calm, lambda r: r[2] <= 100)} | ≥ 90 % |",
        f"| energetic requests at ≥ 100 BPM | {share(energetic, lambda r: r[2] >= 100)} | ≥ 90 % |",
        "", "| group | requests x seeds | minor | tempo median (min-max) |", "|---|---|---|---|",
    ]
    for group in ("Q1", "Q2", "Q3", "Q4", "mixed", "neutral"):
        mine = [r for r in rows if r[0].group == group]
        tempos = [r[2] for r in mine]
        lines.append(f"| {group} | {len(mine)} | {pct(sum(r[1] == 'minor' for r in mine) / len(mine))} | "
                     f"{statistics.median(tempos):.0f} ({min(tempos):.0f}-{max(tempos):.0f}) BPM |")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
