"""The shipped models before and after the POP909 retrain (issue 15), side by side: what `moodchords train`
recorded in each folder's config.json (training time and its parts, EMOPIA val next-chord bits and
classification), plus the model folders' load time. Writes "Retrain with POP909 (issue 15)" in
bench/RESULTS.md.

    .venv/bin/python bench/pop909_retrain.py [--before /tmp/emopia_before] [--no-write]

The numbers come from the training run itself (`moodchords train ... --out models/emopia` writes them
into config.json); this script only lays them out. Retrain to remeasure.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import _bootstrap  # noqa: F401  (first: puts the project on sys.path, keeps the models offline)
from common import write_section  # noqa: E402


def row(config: dict) -> dict:
    data = config.get("training_data", {})
    val = config.get("validation", {})
    combined = (val.get("classification") or {}).get("combined", {})
    pop = config.get("pop_expert") or {}
    return {
        "train": data.get("seconds"), "pop_read": pop.get("seconds_reading"), "pop_train": pop.get("seconds_training"),
        "pop_epochs": f"{pop['epochs']} ({pop['method']})" if pop else "-", "pop_chords": pop.get("chords"),
        "classes": combined.get("classes"), "valence": combined.get("valence"), "arousal": combined.get("arousal"),
        "bits": val.get("nll_bits_per_chord"), "mixture_bits": val.get("mixture_nll_bits_per_chord"),
        "rhythm": "POP909 (harmonic_rhythm.json)" if config.get("harmonic_rhythm") else "EMOPIA tables",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="/tmp/emopia_before")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    from models.model_folder import default_model_dir, load_model_set

    folders = {"before": Path(args.before), "shipped": default_model_dir()}
    folders = {k: v for k, v in folders.items() if v.is_dir()}
    rows, loads = {}, {}
    for name, folder in folders.items():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            model_set = load_model_set(folder)
            times.append(time.perf_counter() - started)
        loads[name] = 1000 * statistics.median(times)
        rows[name] = row(model_set.config)

    def cell(value, fmt="{}"):
        return "-" if value is None else fmt.format(value)

    names = list(rows)
    fields = [
        ("`moodchords train`, everything (reading EMOPIA and POP909, 3-fold CV, class models, pop expert, validation)",
         "train", "{:.0f} s"),
        ("... reading POP909 songs 001-700 (cached after the first read)", "pop_read", "{:.1f} s"),
        ("... training the pop expert", "pop_train", "{:.0f} s"),
        ("pop expert epochs (rule)", "pop_epochs", "{}"),
        ("pop expert training chords", "pop_chords", "{}"),
        ("chord rhythm used by generation", "rhythm", "{}"),
        ("EMOPIA val: each class CRBM on its own class, bits/chord", "bits", "{:.3f}"),
        ("EMOPIA val: class CRBMs' Bayesian mixture, bits/chord", "mixture_bits", "{:.3f}"),
        ("EMOPIA val classification, 4 classes", "classes", "{:.1%}"),
        ("EMOPIA val classification, valence", "valence", "{:.1%}"),
        ("EMOPIA val classification, arousal", "arousal", "{:.1%}"),
    ]
    lines = [f"Model folders: before = {folders.get('before', '-')} (shipped before the POP909 retrain), shipped = "
             "models/emopia. Numbers recorded by `moodchords train` in each config.json (2-core CPU shared with other "
             f"jobs; load average now {os.getloadavg()[0]:.1f}). Goals: train everything < 10 min; classification no "
             "worse than 64.9 / 74.6 / 88.6 %.", "",
             "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for title, key, fmt in fields:
        lines.append(f"| {title} | " + " | ".join(cell(rows[n][key], fmt) for n in names) + " |")
    lines.append("| load_model_set, median of 5 | " + " | ".join(f"{loads[n]:.0f} ms" for n in names) + " |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Retrain with POP909 (issue 15)", text, "bench/pop909_retrain.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
