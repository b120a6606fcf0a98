"""CRBM engine measurements: model load time, generation speed, validation numbers of the shipped model.

Run: .venv/bin/python bench/crbm.py [--model DIR] [--runs 20]
Writes its section of bench/RESULTS.md (between the crbm markers) and prints it.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(ROOT / "bench"))
import common  # noqa: E402



def load_at_start() -> str:
    """The machine and date are in the section's stamp (common.write_section); the load is not."""
    return f"Load average {os.getloadavg()[0]:.1f} at start"


def write_section(text: str, key: str = "crbm") -> None:
    """Replace this script's section of bench/RESULTS.md; `text` starts with its "## title" line."""
    title, _, body = text.strip().partition("\n")
    common.write_section(title.removeprefix("## ").strip(), body.strip(), script=f"bench/{key.replace('-', '_')}.py")


def generation_times(model_set, runs: int) -> list[tuple[str, float, float, float]]:
    """(case, median ms, p90 ms, mean chords) of generating 8 bars, per case (each class subset traced first)."""
    import numpy as np

    from models.generation import GenerationOptions, generate

    names = model_set.class_names
    rows = []
    cases = [("one class", {names[0]: 1.0}), ("all classes equal", {n: 1.0 for n in names}),
             ("two classes 0.7/0.3", {names[0]: 0.7, names[-1]: 0.3})]
    for title, weights in cases:
        generate(model_set, weights, GenerationOptions(bars=8), seed=0)  # trace (and compile) this class subset once
        times, chords = [], []
        for seed in range(runs):
            started = time.perf_counter()
            g = generate(model_set, weights, GenerationOptions(bars=8), seed=seed)
            times.append(time.perf_counter() - started)
            chords.append(len(g.events))
        rows.append((title, 1000 * float(np.median(times)), 1000 * float(np.percentile(times, 90)), float(np.mean(chords))))
    # partial regeneration: lock every other chord of an 8-bar progression
    base = generate(model_set, {n: 1.0 for n in names}, GenerationOptions(bars=8), seed=1)
    rhythm = [e.beats for e in base.events]
    locked = {i: e for i, e in enumerate(base.events) if i % 2 == 1}
    times = []
    for seed in range(runs):
        started = time.perf_counter()
        generate(model_set, {n: 1.0 for n in names}, GenerationOptions(bars=8), seed=seed, locked=locked, rhythm=rhythm)
        times.append(time.perf_counter() - started)
    rows.append((f"regenerate with {len(locked)} of {len(rhythm)} chords locked", 1000 * float(np.median(times)),
                 1000 * float(np.percentile(times, 90)), float(len(rhythm))))
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
    rows = [(title, *xla, *without) for (title, *xla), (_, *without)
            in zip(generation_times(model_set, args.runs), generation_times(plain, args.runs))]

    config = model_set.config
    val = config.get("validation") or {}
    hp = config["hyperparameters"]
    lines = [
        "## CRBM engine (bench/crbm.py)", "",
        f"{load_at_start()}, TensorFlow {tf.__version__} (CPU), model `{model_set.path}`.", "",
        f"- Loading the model folder ({len(names)} classes, numpy + json, no TensorFlow): median "
        f"{1000 * float(np.median(loads)):.1f} ms (5 loads). Importing TensorFlow: {tf_import:.2f} s; first generation "
        f"(builds the stacked experts, traces the tf.function): {first:.2f} s.",
        f"- Generating 8 bars of 4/4 ({hp['n_hidden']} hidden units, history {hp['history']}, exact enumeration of "
        f"{int(np.prod(config['layout']['group_sizes']))} chord states per step), median / 90th percentile of {args.runs} runs:", "",
        "| case | median ms | p90 ms | chords | without XLA: median ms | p90 ms | XLA speed-up (medians) |",
        "|---|---|---|---|---|---|---|",
        *(f"| {t} | {m:.1f} | {p:.1f} | {c:.1f} | {m0:.1f} | {p0:.1f} | {m0 / m:.2f}x |" for t, m, p, c, m0, p0, _ in rows),
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
