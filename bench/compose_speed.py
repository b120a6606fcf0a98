"""How long composing 8 bars takes, split into the model's generation and the music core's part
(key placement, voicing, arrangement, rendering, MIDI writing), and how well arrangements hit the
sampled performance profile (notes per second, velocity).

Run: .venv/bin/python bench/compose_speed.py [MODEL_DIR]   (about a minute; default: the shipped models)
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _bootstrap  # noqa: F401  (first: puts the project on sys.path, keeps the models offline)
from common import write_section  # noqa: E402

from assistant.arrangement import arrangement_from_performance, render_score, rendered_profile  # noqa: E402
from assistant.midi_file import write_midi  # noqa: E402
from assistant.music import Progression, voice_progression  # noqa: E402
from models.vocabulary import QUALITIES, ChordEvent  # noqa: E402

RUNS = 30
# Model folder to measure with: the shipped one by default, or the first command-line argument.
MODEL_DIR = sys.argv[1] if len(sys.argv) > 1 else None


def median_ms(function, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def random_events(rng: random.Random, bars: int = 8) -> list[ChordEvent]:
    events, left = [], bars * 4.0
    while left > 0:
        beats = min(left, rng.choice([1.0, 2.0, 2.0, 4.0, 4.0]))
        root = rng.randrange(12)
        events.append(ChordEvent(root, rng.randrange(len(QUALITIES)), root, beats))
        left -= beats
    return events


def sample_like(tempo, nps, velocity, length, register, legato):
    from models.generation import PerformanceSample

    return PerformanceSample(tempo, nps, velocity, length, register, legato)


def main() -> int:
    rng = random.Random(0)
    events = random_events(rng)
    progression = Progression.from_events(events, 2, "minor", 96)
    sample = sample_like(120, 9.0, 78, 0.25, 64, 0.2)
    arrangement = arrangement_from_performance(sample)
    score = render_score(progression, arrangement)
    folder = Path(tempfile.mkdtemp(prefix="moodchords-bench-"))
    core = {
        "Progression.from_events (key placement)": median_ms(lambda: Progression.from_events(events, 2, "minor", 96)),
        "voice_progression": median_ms(lambda: voice_progression(progression, 64)),
        "arrangement_from_performance": median_ms(lambda: arrangement_from_performance(sample)),
        "render_score (voicing included)": median_ms(lambda: render_score(progression, arrangement)),
        "write_midi (atomic, fsync)": median_ms(lambda: write_midi(score, folder / "bench.mid")),
    }
    lines = [f"8 bars of 4/4 ({len(events)} chords, arpeggio pattern, {len(score.notes)} notes); median of {RUNS} runs.",
             "", "| step | ms |", "|---|---|"]
    lines += [f"| {name} | {value:.2f} |" for name, value in core.items()]

    from assistant.composer import Composer
    from assistant.mood import MusicalSettings
    from models.generation import GenerationOptions, generate

    composer = Composer(MODEL_DIR)
    composer.compose({"Q1": 1.0}, MusicalSettings(bars=8), seed=0)  # warm-up: TensorFlow tracing
    weights = composer.model_set.validate_weights({"Q1": 0.7, "Q4": 0.3})
    import models.generation as generation_module
    from assistant.expression import plan_for_mood
    from assistant.language import MoodReader

    experts, _ = composer.model_set.generation_experts()
    request = "I want a song that expresses hope and wonder"
    mood = MoodReader(composer.classes).read(request)  # the language model's reading, once (not timed)
    shared = generation_module.SHARED_ROWS
    # before: the logits path before issue 15's speed work (dense u, a softplus per hidden unit), a new mood;
    # after: the sparse path, a new mood; again: the sparse path with the earlier seeds' rows shared
    settings = {"before": (False, 0), "after": (True, 0), "again": (True, shared)}

    def text_request(seed: int):
        plan = plan_for_mood(mood, composer.classes, seed=seed)  # as assistant.pipeline does, per seed
        return composer.compose(mood.class_weights, MusicalSettings(bars=8), seed=seed, plan=plan)

    cases = {"text request": text_request,
             "weights Q1 0.7 + Q4 0.3": lambda seed: composer.compose(weights, MusicalSettings(bars=8), seed=seed)}
    timings = {(case, key): ([], []) for case in cases for key in settings}
    for sparse in (False, True):  # trace both paths' batch shapes for these class subsets
        experts.sparse_logits = sparse
        generation_module.SHARED_ROWS = 0
        for compose in cases.values():
            compose(100)
    generation_module._shared_rows.clear()
    load_start = os.getloadavg()[0]
    for seed in range(20):  # the settings interleaved, seed by seed, so that they see the same machine load
        for case, compose in cases.items():
            for key, (sparse, rows) in settings.items():
                experts.sparse_logits, generation_module.SHARED_ROWS = sparse, rows
                start, start_cpu = time.perf_counter(), time.process_time()
                compose(seed)
                timings[case, key][0].append(1000 * (time.perf_counter() - start))
                timings[case, key][1].append(1000 * (time.process_time() - start_cpu))
    experts.sparse_logits, generation_module.SHARED_ROWS = True, 0
    generation_ms, core_ms = [], []
    for seed in range(20):  # the after path's steps timed apart (a new mood)
        start = time.perf_counter()
        generation = generate(composer.model_set, weights, GenerationOptions(bars=8), seed=seed)
        middle = time.perf_counter()
        placed = Progression.from_events(generation.events, 7, generation.mode, 96)
        render_score(placed, arrangement_from_performance(generation.performance, progression=placed))
        generation_ms.append(1000 * (middle - start))
        core_ms.append(1000 * (time.perf_counter() - middle))
    generation_module.SHARED_ROWS = shared
    load_end = os.getloadavg()[0]
    median = statistics.median
    lines += ["", f"Composer.compose (model set {composer.model_set.name!r}, 8 bars, no key given), after the models are "
              f"loaded; median of 20 seeds after one warm-up call per path; load average {load_start:.1f} at the start, "
              f"{load_end:.1f} at the end (2 cores, shared with other jobs). Text request: {request!r} read once by "
              f"assistant.language.MoodReader (weights {', '.join(f'{n} {w:.2f}' for n, w in mood.class_weights.items())}), "
              "its expression plan per seed (guidance from the default intensity, every class active, the pop expert). "
              "Before = the logits path before issue 15's speed work (models.crbm.StackedExperts.sparse_logits = False, "
              "as at commit 2aefbe5), after = the sparse path, both a new mood (models.generation.SHARED_ROWS = 0); same "
              f"mood again = after with SHARED_ROWS = {shared} (the earlier seeds' rows shared). Interleaved seed by seed "
              "in one process; the same seeds give the same compositions on both paths (tests/test_compose_pinned.py). "
              "CPU = process time, all threads.", "",
              "| case | before: median ms | after: median ms | speed-up | CPU ms before / after | same mood again (after) ms |",
              "|---|---|---|---|---|---|"]
    for case in cases:
        before, after, again = (timings[case, key] for key in settings)
        lines.append(f"| Composer.compose, {case} | {median(before[0]):.1f} | {median(after[0]):.1f} | "
                     f"{median(before[0]) / median(after[0]):.2f}x | {median(before[1]):.1f} / {median(after[1]):.1f} "
                     f"({median(before[1]) / median(after[1]):.2f}x) | {median(again[0]):.1f} |")
    lines += ["", "The after path's parts (weights Q1 0.7 + Q4 0.3, a new mood):", "", "| step | ms |", "|---|---|",
              f"| models.generation.generate | {median(generation_ms):.1f} |",
              f"| music core: key placement + arrangement fit + voicing + render | {median(core_ms):.2f} |"]
    lines += ["", "Arrangement fit on the model's own performance samples: 25 compositions per class "
              "(8 bars, tempo from the sample), rendered notes/s vs the sample's.", "",
              "| class | patterns | sample notes/s (mean) | rendered notes/s (mean) | median abs. error | "
              "worst abs. error | mean velocity error |", "|---|---|---|---|---|---|---|"]
    for name in composer.model_set.class_names:
        patterns, targets, rendered, errors, velocity_errors = {}, [], [], [], []
        for seed in range(25):
            result = composer.compose({name: 1.0}, MusicalSettings(bars=8), seed=seed)
            sample = result.generation.performance
            rate, velocity = rendered_profile(result.score)
            patterns[result.arrangement.pattern] = patterns.get(result.arrangement.pattern, 0) + 1
            targets.append(sample.notes_per_second)
            rendered.append(rate)
            errors.append(abs(rate - sample.notes_per_second) / sample.notes_per_second)
            velocity_errors.append(velocity - sample.velocity)
        mix = ", ".join(f"{k} {v}" for k, v in sorted(patterns.items(), key=lambda kv: -kv[1]))
        lines.append(f"| {name} | {mix} | {statistics.mean(targets):.2f} | {statistics.mean(rendered):.2f} | "
                     f"{100 * statistics.median(errors):.0f} % | {100 * max(errors):.0f} % | "
                     f"{statistics.mean(velocity_errors):+.2f} |")

    lines += ["", "Arrangement fit for hand-set samples (the 8 random bars above, tempo = the sample's; "
              "progression-aware fit).", "",
              "| sample (tempo, notes/s, velocity, note s, legato) | pattern | steps/beat | voices | rendered notes/s | "
              "rendered velocity |", "|---|---|---|---|---|---|"]
    for values in ((66, 4.3, 54, 0.8, 60, 0.6), (80, 4.3, 54, 0.7, 60, 0.5), (96, 4.3, 54, 0.5, 62, 0.3),
                   (100, 8.0, 78, 0.3, 64, 0.3), (120, 9.0, 78, 0.25, 64, 0.2), (140, 10.0, 80, 0.2, 66, 0.1)):
        sample = sample_like(*values)
        placed = Progression.from_events(events, 2, "minor", sample.tempo_bpm)
        arrangement = arrangement_from_performance(sample, progression=placed)
        rate, velocity = rendered_profile(render_score(placed, arrangement))
        lines.append(f"| {values[0]} BPM, {values[1]}, {values[2]}, {values[3]}, {values[5]} | {arrangement.pattern} | "
                     f"{arrangement.notes_per_beat:g} | {arrangement.voices} | {rate:.2f} | {velocity:.1f} |")
    write_section("Composing: music core and Composer.compose", "\n".join(lines), "bench/compose_speed.py")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
