"""CRBM engine measurements: model load time, generation speed, validation numbers of the shipped model.

Run: .venv/bin/python bench/crbm.py [--model DIR] [--runs 20]
Writes its section of bench/RESULTS.md (between the crbm markers) and prints it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import _bootstrap  # noqa: F401  (first: puts the project on sys.path, keeps the models offline)
import common  # noqa: E402



def load_at_start() -> str:
    """The machine and date are in the section's stamp (common.write_section); the load is not."""
    return f"Load average {os.getloadavg()[0]:.1f} at start"


def write_section(text: str, key: str = "crbm") -> None:
    """Replace this script's section of bench/RESULTS.md; `text` starts with its "## title" line."""
    title, _, body = text.strip().partition("\n")
    common.write_section(title.removeprefix("## ").strip(), body.strip(), script=f"bench/{key.replace('-', '_')}.py")


def generation_times(model_set, runs: int, shared_rows: int) -> list[tuple]:
    """(case, median ms, p90 ms, mean chords, median ms, p90 ms) of generating 8 bars per case: first with
    models.generation.SHARED_ROWS = shared_rows (rows shared across generations: every run after the first
    repeats the mood, as a next take or a regenerate does), then with 0 (each generation computes its own
    rows: a new mood, and the path before rows were shared), the two interleaved run by run so that both see
    the same machine load. Each class subset is traced first."""
    import numpy as np

    import models.generation as generation
    from models.generation import GenerationOptions, generate

    names = model_set.class_names
    all_equal = {n: 1.0 for n in names}
    base = generate(model_set, all_equal, GenerationOptions(bars=8), seed=1)
    rhythm = [e.beats for e in base.events]
    locked = {i: e for i, e in enumerate(base.events) if i % 2 == 1}
    cases = [("one class", {names[0]: 1.0}, GenerationOptions(bars=8), {}),
             ("all classes equal", all_equal, GenerationOptions(bars=8), {}),
             ("four classes 0.4/0.3/0.2/0.1, guided g = 1 (a text request)",
              dict(zip(names, (0.4, 0.3, 0.2, 0.1))), GenerationOptions(bars=8, guidance=1.0), {}),
             ("two classes 0.7/0.3", {names[0]: 0.7, names[-1]: 0.3}, GenerationOptions(bars=8), {}),
             (f"regenerate with {len(locked)} of {len(rhythm)} chords locked", all_equal, GenerationOptions(bars=8),
              {"locked": locked, "rhythm": rhythm})]
    rows = []
    for title, weights, options, extra in cases:
        generation.SHARED_ROWS = 0
        generate(model_set, weights, options, seed=0, **extra)  # trace (and compile) this class subset once
        generation._shared_rows.clear()  # "same mood again" shares only this case's earlier runs
        if extra:  # a regenerate follows the take it changes
            generation.SHARED_ROWS = shared_rows
            generate(model_set, weights, options, seed=1)
        times = {shared_rows: [], 0: []}
        chords = []
        for seed in range(runs):
            for setting in (shared_rows, 0):
                generation.SHARED_ROWS = setting
                started = time.perf_counter()
                g = generate(model_set, weights, options, seed=seed, **extra)
                times[setting].append(time.perf_counter() - started)
            chords.append(len(g.events))
        generation.SHARED_ROWS = shared_rows
        rows.append((title, *(1000 * float(f(times[s])) for s in (shared_rows, 0)
                              for f in (np.median, lambda t: np.percentile(t, 90))), float(np.mean(chords))))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=None)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    import numpy as np

    from models.model_folder import load_model_set

    loads = []
    for _ in range(5):
        started = time.perf_counter()
        model_set = load_model_set(args.model)
        loads.append(time.perf_counter() - started)
    started = time.perf_counter()
    from models.tf_runtime import tf  # noqa: F401 (as the app imports it: without Keras)

    tf_import = time.perf_counter() - started
    from models.generation import GenerationOptions, generate

    names = model_set.class_names
    started = time.perf_counter()
    generate(model_set, {names[0]: 1.0}, GenerationOptions(bars=8), seed=0)
    first = time.perf_counter() - started
    plain = load_model_set(args.model)
    plain.xla_generation = False  # the same models without XLA, timed in the same run
    import models.generation as generation

    shared = generation.SHARED_ROWS
    rows = [(title, *xla, without[2]) for (title, *xla), (_, *without)
            in zip(generation_times(model_set, args.runs, shared), generation_times(plain, args.runs, shared))]

    config = model_set.config
    val = config.get("validation") or {}
    hp = config["hyperparameters"]
    lines = [
        "## CRBM engine (bench/crbm.py)", "",
        f"{load_at_start()} ({os.getloadavg()[0]:.1f} at the end), TensorFlow {tf.__version__} (CPU), model `{model_set.path}`.", "",
        f"- Loading the model folder ({len(names)} classes, numpy + json, no TensorFlow): median "
        f"{1000 * float(np.median(loads)):.1f} ms (5 loads). Importing TensorFlow: {tf_import:.2f} s; first generation "
        f"(builds the stacked experts, traces the tf.function): {first:.2f} s.",
        f"- Generating 8 bars of 4/4 ({hp['n_hidden']} hidden units, history {hp['history']}, exact enumeration of "
        f"{int(np.prod(config['layout']['group_sizes']))} chord states per step), median / 90th percentile of {args.runs} runs:", "",
        f"\"same mood again\": models.generation.SHARED_ROWS = {shared} (the log-probability rows of the case's earlier runs "
        "with the same mixture - other seeds - are reused; the regenerate case starts from its original take's rows; bit-identical rows, pinned seeds unchanged - tests/test_generation.py); "
        "\"new mood\": SHARED_ROWS = 0, every generation computes its own rows (the path before, commit ef658f4); "
        "the two interleaved run by run in one process. Without XLA: new mood.", "",
        "| case | same mood again: median ms | p90 ms | new mood (as before): median ms | p90 ms | chords "
        "| without XLA, new mood: median ms | XLA speed-up (new mood) |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {t} | {m:.1f} | {p:.1f} | {m1:.1f} | {p1:.1f} | {c:.1f} | {m0:.1f} | {m0 / m1:.2f}x |"
          for t, m, p, m1, p1, c, m0 in rows),
        "",
    ]
    data = config.get("training_data", {})
    if data.get("seconds"):
        lines.append(f"- Training (`moodchords train`, all {len(names)} classes from scratch incl. loading the data, "
                     f"{config['classification'].get('cv_folds')}-fold CV for the harmony weight, validation): "
                     f"{data['seconds']:.0f} s (recorded in config.json).")
    if val:
        cls = val["classification"]
        lines += [
            f"- Validation (EMOPIA val, {val['clips']} clips; from `config.json`, computed by `moodchords train`): exact "
            f"next-chord NLL {val['nll_bits_per_chord']:.3f} bits/chord, top-1 next-chord accuracy {val['top1_accuracy']:.3f}.",
            f"- Generative classification on val (harmony weight {config['classification']['harmony_weight']} chosen by "
            f"{config['classification'].get('cv_folds')}-fold CV on train):", "",
            "| scores | 4 classes | valence | arousal |", "|---|---|---|---|",
            *(f"| {k} | {cls[k]['classes']:.3f} | {cls[k].get('valence', float('nan')):.3f} | {cls[k].get('arousal', float('nan')):.3f} |"
              for k in ("harmony_only", "performance_only", "combined")), "",
        ]
    text = "\n".join(lines)
    write_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
