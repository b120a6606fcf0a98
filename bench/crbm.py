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
    """Per case of generating 8 bars: (case, before: median ms, after: median ms, after: p90 ms, before: median CPU ms,
    after: median CPU ms, same mood again: median ms, mean chords). before = the logits path before issue 15's speed
    work (StackedExperts.sparse_logits = False: dense u, a softplus per hidden unit) and after = the sparse path,
    both with models.generation.SHARED_ROWS = 0 (each generation computes its own rows: a new mood); same mood again
    = the sparse path with SHARED_ROWS = shared_rows (the case's earlier runs' rows reused, as a next take or a
    regenerate does). The three interleaved run by run so that they see the same machine load; each class subset
    and batch shape is traced first."""
    import numpy as np

    import models.generation as generation
    from models.generation import GenerationOptions, generate

    experts, _ = model_set.generation_experts()
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
    settings = {"before": (False, 0), "after": (True, 0), "again": (True, shared_rows)}
    rows = []
    for title, weights, options, extra in cases:
        for sparse in (False, True):  # trace (and compile) this class subset and its batch shapes on both paths
            experts.sparse_logits = sparse
            generation.SHARED_ROWS = 0
            generate(model_set, weights, options, seed=0, **extra)
        generation._shared_rows.clear()  # "same mood again" shares only this case's earlier runs
        if extra:  # a regenerate follows the take it changes
            generation.SHARED_ROWS = shared_rows
            generate(model_set, weights, options, seed=1)
        wall = {key: [] for key in settings}
        cpu = {key: [] for key in settings}
        chords = []
        for seed in range(runs):
            for key, (sparse, shared) in settings.items():
                experts.sparse_logits = sparse
                generation.SHARED_ROWS = shared
                started, started_cpu = time.perf_counter(), time.process_time()
                g = generate(model_set, weights, options, seed=seed, **extra)
                wall[key].append(1000 * (time.perf_counter() - started))
                cpu[key].append(1000 * (time.process_time() - started_cpu))
            chords.append(len(g.events))
        experts.sparse_logits = True
        generation.SHARED_ROWS = shared_rows
        rows.append((title, float(np.median(wall["before"])), float(np.median(wall["after"])),
                     float(np.percentile(wall["after"], 90)), float(np.median(cpu["before"])),
                     float(np.median(cpu["after"])), float(np.median(wall["again"])), float(np.mean(chords))))
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
    import models.generation as generation

    shared = generation.SHARED_ROWS
    load_before = os.getloadavg()[0]
    rows = generation_times(model_set, args.runs, shared)
    experts, _ = model_set.generation_experts()

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
        f"before = the logits path before issue 15's speed work (models.crbm.StackedExperts.sparse_logits = False: the "
        "dense conditioning matmul and a softplus per hidden unit, as at commit 2aefbe5); after = the sparse path (the "
        f"dynamic biases gathered from the history's <= {experts.max_active} nonzero units, the hidden term as logs of "
        f"products of {experts.chunk} factors 1 + e^x); both with SHARED_ROWS = 0 (a new mood: every generation computes its "
        f"rows). Same mood again: after, with SHARED_ROWS = {shared} (the case's earlier runs' rows reused). The three "
        f"interleaved run by run in one process; load average {load_before:.1f} when the timing started. The same seeds give "
        "the same chords on both paths (tests/test_compose_pinned.py, tests/test_generation.py). CPU = process time "
        "(all threads), less sensitive to the other jobs on the machine than the wall clock.", "",
        "| case | before: median ms | after: median ms | speed-up | after: p90 ms | CPU ms before / after "
        "| same mood again (after): median ms | chords |",
        "|---|---|---|---|---|---|---|---|",
        *(f"| {t} | {b:.1f} | {a:.1f} | {b / a:.2f}x | {p:.1f} | {cb:.1f} / {ca:.1f} ({cb / ca:.2f}x) | {again:.1f} | {c:.1f} |"
          for t, b, a, p, cb, ca, again, c in rows),
        "",
    ]
    data = config.get("training_data", {})
    if data.get("seconds"):
        folds = config["classification"].get("cv_folds") or 0
        lines.append(f"- Training (`moodchords train`, all {len(names)} classes from scratch incl. loading the data, "
                     + (f"{folds}-fold CV for the harmony weight, " if folds > 1 else "") + "validation): "
                     f"{data['seconds']:.0f} s (recorded in config.json).")
    if val:
        cls = val["classification"]
        lines += [
            f"- Validation (EMOPIA val, {val['clips']} clips; from `config.json`, computed by `moodchords train`): exact "
            f"next-chord NLL {val['nll_bits_per_chord']:.3f} bits/chord, top-1 next-chord accuracy {val['top1_accuracy']:.3f}.",
            f"- Generative classification on val (harmony weight {config['classification']['harmony_weight']}, "
            + (f"chosen by {config['classification']['cv_folds']}-fold CV on train):" if (config['classification'].get('cv_folds') or 0) > 1
               else "not fitted: quadrant classes):"), "",
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
