"""The mood carried (issue 15, item 3): does a free-text request come out sounding like it?
Writes the section "Mood carried (issue 15)" in bench/RESULTS.md.

    .venv/bin/python bench/mood_carried.py [--seeds 3] [--intensity 0.5] [--candidates 8] [--no-write]

For every request of bench/mood_requests.py, over seeds 0..N-1, the Mood is read once with the real
language model (assistant.language.MoodReader) and the music is built five ways, side by side:
* today: assistant.composer.Composer.compose(mood.class_weights, mood.settings, seed) as shipped;
* plan: the same composer with assistant.expression's ExpressionPlan on top: its mode and tempo as
  settings (the request's own explicit settings still win), its density, velocity, note length,
  legato and register as the arrangement's performance;
* guidance: the plan, with the chords drawn by models.guidance.guided_generate (g from the
  intensity, the plan's mode and, for mixed moods, its borrowed colour chords);
* rerank: the plan, with the chords the best of K plain generations by the class CRBMs' contrastive
  harmony score (models.guidance.reranked_generate);
* guidance, intensity 1: the guidance variant with the plan at intensity 1 (g = 2, past the medians).
The rendered Score's notes are judged by bench/mood_judge.py (trained apart on EMOPIA train, other
features, never used to set anything here); mode and tempo are read from the progression.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from common import write_section  # noqa: E402

GROUPS = ("Q1", "Q2", "Q3", "Q4", "mixed", "neutral")
VARIANTS = ("today", "plan", "guidance", "rerank", "guidance, intensity 1")


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} = {100 * part / max(whole, 1):.1f} %"


def plan_settings(plan, explicit):
    """The plan's mode and tempo as settings, with the request's explicit settings winning."""
    from assistant.mood import MusicalSettings

    planned = MusicalSettings(tempo_bpm=plan.tempo_bpm, mode=plan.mode if explicit.key is None else None)
    return planned.merged(explicit)


def render_planned(events, mode, plan, resolved, seed, beats_per_bar):
    """Place key-normalised events in a key and play them with the plan's performance."""
    from assistant.arrangement import arrangement_from_performance, render_score
    from assistant.composer import choose_tonic
    from assistant.music import Progression

    tonic = resolved.tonic if resolved.tonic is not None else choose_tonic(mode, random.Random(seed))
    tempo = resolved.tempo_bpm if resolved.tempo_bpm is not None else plan.tempo_bpm
    progression = Progression.from_events(events, tonic, mode, tempo, beats_per_bar)
    arrangement = arrangement_from_performance(plan.performance(), resolved.program, progression=progression)
    return progression, render_score(progression, arrangement)


def guided_piece(composer, mood, plan, seed: int):
    """The plan with chords from models.guidance.guided_generate: (progression, score, events)."""
    from assistant.composer import resolve_settings
    from models.generation import GenerationOptions, generate

    resolved = resolve_settings(plan_settings(plan, mood.settings))
    model_set = composer.model_set
    guided = generate(model_set, model_set.validate_weights(mood.class_weights), GenerationOptions(
        bars=resolved.bars, metre={3: "3/4"}.get(resolved.beats_per_bar, "4/4"), guidance=plan.guidance,
        mode=resolved.mode, colour_chords=tuple(plan.colour_chords), colour_weight=plan.colour_weight), seed=seed)
    progression, score = render_planned(guided.events, guided.mode, plan, resolved, seed, resolved.beats_per_bar)
    return progression, score, guided.events


def compose_all(composer, mood, plan, seed: int, candidates: int, strong_plan) -> dict:
    """{variant: (progression, score, key-normalised events, seconds)}."""
    from assistant.arrangement import arrangement_from_performance, render_score
    from assistant.composer import resolve_settings
    from models.generation import GenerationOptions, reranked_generate

    out = {}
    start = time.perf_counter()
    today = composer.compose(mood.class_weights, mood.settings, seed=seed)
    out["today"] = (today.progression, today.score, today.generation.events, time.perf_counter() - start)

    settings = plan_settings(plan, mood.settings)
    resolved = resolve_settings(settings)
    start = time.perf_counter()
    planned = composer.compose(mood.class_weights, settings, seed=seed)
    arrangement = arrangement_from_performance(plan.performance(), resolved.program, progression=planned.progression)
    out["plan"] = (planned.progression, render_score(planned.progression, arrangement), planned.generation.events,
                   time.perf_counter() - start)

    model_set = composer.model_set
    weights = model_set.validate_weights(mood.class_weights)
    bpb = resolved.beats_per_bar
    start = time.perf_counter()
    out["guidance"] = (*guided_piece(composer, mood, plan, seed), time.perf_counter() - start)

    start = time.perf_counter()
    best, _ = reranked_generate(model_set, weights, GenerationOptions(
        bars=resolved.bars, metre={3: "3/4"}.get(bpb, "4/4"), mode=resolved.mode), candidates=candidates, seed=seed)
    progression, score = render_planned(best.events, best.mode, plan, resolved, seed, bpb)
    out["rerank"] = (progression, score, best.events, time.perf_counter() - start)

    start = time.perf_counter()
    out["guidance, intensity 1"] = (*guided_piece(composer, mood, strong_plan, seed), time.perf_counter() - start)
    return out


def colour_share(events, mode: str, colours) -> float:
    """Share of chords that are one of the plan's colour chords (any bass)."""
    from models.vocabulary import FRAME_TONIC, QUALITY_BY_NAME

    wanted = {((FRAME_TONIC[mode] + r) % 12, QUALITY_BY_NAME[q]) for r, q in colours}
    return sum((e.root, e.quality) in wanted for e in events) / max(len(events), 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--intensity", type=float, default=None, help="0..1 (default: the plan's default)")
    parser.add_argument("--candidates", type=int, default=8, help="reranking: candidates per composition")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    from assistant.composer import Composer
    from assistant.expression import DEFAULT_INTENSITY, MIXED_COLOURS, expression_plan, mixedness_from_weights
    from assistant.language import MoodReader
    from mood_judge import MoodJudge, notes_of_score
    from mood_requests import REQUESTS

    intensity = DEFAULT_INTENSITY if args.intensity is None else args.intensity
    t0 = time.time()
    judge = MoodJudge()
    judge_valence, judge_arousal, n_val = judge.validation_accuracy()
    print(f"judge: val valence {judge_valence:.3f}, arousal {judge_arousal:.3f} ({time.time() - t0:.0f} s)", flush=True)
    composer = Composer()
    reader = MoodReader(composer.classes)
    class_valence = {c.name: c.valence for c in composer.classes}

    rows = []  # dicts per request x seed x variant
    for request in REQUESTS:
        mood = reader.read(request.text)
        mixedness = mixedness_from_weights(mood.class_weights, class_valence, mood.valence, mood.neutral)
        for seed in range(args.seeds):
            plan = expression_plan(mood.valence, mood.arousal, intensity, mixedness=mixedness, seed=seed)
            strong = expression_plan(mood.valence, mood.arousal, 1.0, mixedness=mixedness, seed=seed)
            for variant, (progression, score, events, seconds) in compose_all(composer, mood, plan, seed,
                                                                              args.candidates, strong).items():
                v_side, a_side = judge.sides(notes_of_score(score))
                colours = MIXED_COLOURS[progression.mode] if plan.mixed else ()
                rows.append(dict(request=request, seed=seed, variant=variant, mode=progression.mode,
                                 tempo=float(progression.tempo_bpm), valence=v_side, arousal=a_side,
                                 seconds=seconds, mixed=plan.mixed,
                                 colour=colour_share(events, progression.mode, colours) if colours else None,
                                 mood=(mood.valence, mood.arousal, mixedness)))
        print(f"{request.group:8s} v={mood.valence:+.2f} a={mood.arousal:+.2f} mixed={mixedness:.2f} {request.text}",
              flush=True)

    def stat(variant, select, test):
        chosen = [r for r in rows if r["variant"] == variant and select(r)]
        return sum(bool(test(r)) for r in chosen), len(chosen)

    statistics_rows = [
        ("valence on the requested side (judge)", lambda r: r["request"].valence != 0,
         lambda r: r["valence"] == r["request"].valence, "≥ 90 %"),
        ("arousal on the requested side (judge)", lambda r: r["request"].arousal != 0,
         lambda r: r["arousal"] == r["request"].arousal, "≥ 90 %"),
        ("negative-valence requests in a minor key", lambda r: r["request"].valence < 0,
         lambda r: r["mode"] == "minor", "≥ 80 %"),
        ("positive-valence requests in a major key", lambda r: r["request"].valence > 0,
         lambda r: r["mode"] == "major", ""),
        ("calm or sad requests at ≤ 100 BPM", lambda r: r["request"].arousal < 0 or r["request"].group == "Q3",
         lambda r: r["tempo"] <= 100, "≥ 90 %"),
        ("energetic requests at ≥ 100 BPM", lambda r: r["request"].arousal > 0,
         lambda r: r["tempo"] >= 100, "≥ 90 %"),
    ]
    n_requests = len(REQUESTS)
    counts = {g: sum(r.group == g for r in REQUESTS) for g in GROUPS}
    lines = [
        f"{n_requests} free-text requests (bench/mood_requests.py: "
        + ", ".join(f"{counts[g]} {g}" for g in GROUPS)
        + f") x {args.seeds} seeds (0..{args.seeds - 1}), read once each by assistant.language.MoodReader; intensity "
        f"{intensity:g}; reranking from {args.candidates} candidates. Variants: today = Composer.compose as shipped; "
        "plan = assistant.expression.ExpressionPlan's mode, tempo and performance on top; guidance = the plan with "
        "chords from models.guidance.guided_generate (g from the intensity, borrowed colours for mixed moods); "
        "rerank = the plan with the best of K plain generations by the class CRBMs' contrastive harmony score; "
        "guidance, intensity 1 = the guidance variant with the plan at intensity 1 (g = 2). "
        f"Judge: bench/mood_judge.py, logistic regressions on note-distribution features trained on EMOPIA train "
        f"({judge.train_size} clips), EMOPIA val ({n_val} clips) valence {100 * judge_valence:.1f} %, arousal "
        f"{100 * judge_arousal:.1f} %; trained apart, never used to set the generator.", "",
        "| statistic | " + " | ".join(VARIANTS) + " | goal |", "|---|" + "---|" * len(VARIANTS) + "---|",
    ]
    for name, select, test, goal in statistics_rows:
        lines.append(f"| {name} | " + " | ".join(pct(*stat(v, select, test)) for v in VARIANTS) + f" | {goal} |")
    # where the language layer reads the request weakly on an axis (|value| < 0.1) the plan stays near the middle
    for axis, index in (("valence", 0), ("arousal", 1)):
        for label, strong in (("read clearly (|value| ≥ 0.1)", True), ("read weakly (|value| < 0.1)", False)):
            select = (lambda r, axis=axis, index=index, strong=strong: getattr(r["request"], axis) != 0
                      and (abs(r["mood"][index]) >= 0.1) == strong)
            test = lambda r, axis=axis: r[axis] == getattr(r["request"], axis)  # noqa: E731
            lines.append(f"| {axis} on the requested side, requests {label} | "
                         + " | ".join(pct(*stat(v, select, test)) for v in VARIANTS) + " | |")
    # mixed, not random: the same mode in every seed of a mixed request
    mixed_requests = [q for q in REQUESTS if q.group == "mixed"]
    cells = []
    for v in VARIANTS:
        same = sum(len({r["mode"] for r in rows if r["variant"] == v and r["request"] is q}) == 1 for q in mixed_requests)
        cells.append(pct(same, len(mixed_requests)))
    lines.append("| mixed requests in the same mode in every seed | " + " | ".join(cells) + " | |")
    cells = []
    for v in VARIANTS:
        shares = [r["colour"] for r in rows if r["variant"] == v and r["colour"] is not None]
        cells.append(f"{100 * statistics.mean(shares):.0f} % ({len(shares)} pieces)" if shares else "–")
    lines.append("| pieces the plan reads as mixed: share of borrowed-colour chords | " + " | ".join(cells) + " | |")
    lines.append("| compose 8 bars, median (incl. arrangement and score) | "
                 + " | ".join(f"{1000 * statistics.median(r['seconds'] for r in rows if r['variant'] == v):.0f} ms"
                              for v in VARIANTS) + f" | < 50 ms (load average {os.getloadavg()[0]:.1f}) |")
    lines += ["", "Per group (minor share / tempo median, min-max / judge valence + / judge arousal +):", "",
              "| group | " + " | ".join(VARIANTS) + " |", "|---|" + "---|" * len(VARIANTS)]
    for group in GROUPS:
        cells = []
        for v in VARIANTS:
            mine = [r for r in rows if r["variant"] == v and r["request"].group == group]
            tempos = [r["tempo"] for r in mine]
            cells.append(f"{100 * sum(r['mode'] == 'minor' for r in mine) / len(mine):.0f} % minor / "
                         f"{statistics.median(tempos):.0f} ({min(tempos):.0f}-{max(tempos):.0f}) BPM / "
                         f"v+ {100 * sum(r['valence'] > 0 for r in mine) / len(mine):.0f} % / "
                         f"a+ {100 * sum(r['arousal'] > 0 for r in mine) / len(mine):.0f} %")
        lines.append(f"| {group} | " + " | ".join(cells) + " |")
    # where the reading, not the music, decides: requests whose Mood point is on the other side
    misread = [q for q in REQUESTS if q.group in ("Q1", "Q2", "Q3", "Q4")
               and any((r["mood"][0] * q.valence <= 0 or r["mood"][1] * q.arousal <= 0)
                       for r in rows if r["request"] is q and r["variant"] == "plan" and r["seed"] == 0)]
    if misread:
        lines += ["", "Quadrant requests whose Mood point (language model) is not on the requested side of both "
                  "axes (the plan follows the point, so these fail whatever the music does):", ""]
        for q in misread:
            r = next(r for r in rows if r["request"] is q and r["variant"] == "plan")
            lines.append(f"- \"{q.text}\" ({q.group}): valence {r['mood'][0]:+.2f}, arousal {r['mood'][1]:+.2f}")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Mood carried (issue 15)", text, "bench/mood_carried.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
