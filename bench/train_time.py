"""`moodchords train` on EMOPIA + POP909 (issue 15, train time), old code against new, side by side in one
run: each is the real command in its own process (the old one from `git archive OLD_COMMIT` in a temporary
folder, the same virtual environment and data), timed by wall clock and by the process's CPU time
(getrusage of the child: user + system, both cores counted), with what each run recorded in its
config.json (EMOPIA val classification and next-chord bits, the pop expert). Writes "Train time (issue 15)".

    .venv/bin/python bench/train_time.py [--old-commit eff4edc] [--new-out /tmp/mc_train_new] [--skip-old]

--new-out models/emopia retrains the shipped folder with the timed run (the command the README gives)."""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
#: the last commit before train ran no cross-validation for quadrant classes (its train took 572 s here)
OLD_COMMIT = "eff4edc"


def timed_train(source: Path, out: Path, log: Path) -> dict:
    """Run `python -m assistant.cli train` from ``source`` (its packages first on sys.path); wall, CPU."""
    # paths relative to the run's folder, as the README's command gives them (they land in config.json and the card)
    rel = lambda path: os.path.relpath(path, source)  # noqa: E731
    command = [sys.executable, "-m", "assistant.cli", "train", "--data", rel(DATA / "emopia"),
               "--pop909", rel(DATA / "pop909"), "--out", rel(out)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(log, "w") as handle:
        done = subprocess.run(["nice", "-n", "5", *command], cwd=source, stdout=handle, stderr=subprocess.STDOUT,
                              env={**os.environ, "PYTHONPATH": str(source)})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"train from {source} failed with exit {done.returncode}; see {log}")
    config = json.loads((out / "config.json").read_text())
    return {"wall": wall, "cpu": cpu, "load": os.getloadavg()[0], "config": config}


def summary(run: dict) -> dict:
    config = run["config"]
    val = config.get("validation", {})
    combined = val.get("classification", {}).get("combined", {})
    pop = config.get("pop_expert") or {}
    hp = config.get("hyperparameters", {})
    return {
        "`moodchords train` wall clock, s": f"{run['wall']:.0f}",
        "CPU time (user + system, both cores), s": f"{run['cpu']:.0f}",
        "load average (1 min) when it ended": f"{run['load']:.1f}",
        "... POP909: reading / pop expert training, s (recorded)": f"{pop.get('seconds_reading', '-')} / {pop.get('seconds_training', '-')}",
        "pop expert epochs, rule": f"{pop.get('epochs', '-')} ({pop.get('method', '-')})" + (
            f", {json.dumps(pop['settings'])}" if pop.get("settings") else ""),
        "pooled pretraining epochs (once on all train, and per CV fold when there is a CV)": str(hp.get("pretrain_epochs")),
        "EMOPIA val classification, 4 classes / valence / arousal": " / ".join(
            f"{100 * combined.get(k, float('nan')):.1f} %" for k in ("classes", "valence", "arousal")),
        "classifier: CV folds / harmony weight / valence bias per chord": (
            f"{config['classification'].get('cv_folds')} / {config['classification'].get('harmony_weight')} / "
            f"{config['classification'].get('valence_bias_per_chord', 0.0)}"),
        "EMOPIA val next chord: own class / class mixture, bits": f"{val.get('nll_bits_per_chord')} / {val.get('mixture_nll_bits_per_chord')}",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old-commit", default=OLD_COMMIT)
    parser.add_argument("--new-out", default="/tmp/mc_train_new", help="where the new code's run writes its folder")
    parser.add_argument("--skip-old", action="store_true", help="time the new code only")
    parser.add_argument("--only", choices=("old", "new"), default=None,
                        help="time one of the two and save its summary (--save); --table lays saved summaries side by side")
    parser.add_argument("--save", default=None, help="JSON file for the summaries of this run")
    parser.add_argument("--table", nargs="+", default=None, help="saved summaries (JSON files) to lay out; no training")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    if args.table:
        rows = {}
        for file in args.table:
            rows.update(json.loads(Path(file).read_text()))
        return write_table(rows, args)
    if not (DATA / "emopia").is_dir() or not (DATA / "pop909").is_dir():
        print("bench/train_time.py: skipped: EMOPIA or POP909 not found under", DATA)
        return 0
    runs = {}
    work = Path(tempfile.mkdtemp(prefix="moodchords-train-time-"))
    try:
        if args.only != "old":
            runs["new (working tree)"] = timed_train(ROOT, Path(args.new_out).resolve(), work / "new.log")
            print("new:", summary(runs["new (working tree)"]), flush=True)
        if not args.skip_old and args.only != "new":
            old = work / "old"
            old.mkdir()
            archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.old_commit], check=True, capture_output=True).stdout
            subprocess.run(["tar", "-x", "-C", str(old)], input=archive, check=True)
            runs[f"old ({args.old_commit})"] = timed_train(old, work / "old_out", work / "old.log")
            print("old:", summary(runs[f"old ({args.old_commit})"]), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    rows = {name: summary(runs[name]) for name in list(runs)[::-1]}
    if args.save:
        Path(args.save).write_text(json.dumps(rows, indent=1))
    return write_table(rows, args)


def write_table(rows: dict, args) -> int:
    names = list(rows)
    lines = [f"`moodchords train --data ../shared/data/emopia --pop909 ../shared/data/pop909 --out DIR`, each in its own "
             f"process at nice 5, one after the other (new first); 2 cores shared with other helpers' jobs, so wall clock "
             f"depends on their load (CPU time does much less). Goal: < 10 min.", "",
             "| | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for field in rows[names[0]]:
        lines.append(f"| {field} | " + " | ".join(rows[n][field] for n in names) + " |")
    text = "\n".join(lines)
    print(text)
    if not args.no_write:
        write_section("Train time (issue 15)", text, "bench/train_time.py" + (" --skip-old" if args.skip_old else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
