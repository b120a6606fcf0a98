"""Memory of `moodchords classify` (issue 18: under 500 MB for the whole process, any input file).

1. Where it goes: one fresh process imports and runs classify's steps one by one and reports its
   resident memory (VmRSS, of which file-backed RssFile: shared libraries) and peak (VmHWM) after
   each: the numpy path classify now takes, then TensorFlow's import, its runtime (the stacked
   experts' first ops) and its first traced scoring. A second process measures what Python itself
   allocates while TensorFlow is imported (tracemalloc).
2. The whole process: `moodchords classify FILE` under a launcher whose only child it is
   (RUSAGE_CHILDREN ru_maxrss = the classify process's peak), on real EMOPIA files and a long valid
   file, with the class scoring in numpy (now) and in TensorFlow (before: the same command with the
   scorer replaced by ModelSet.experts()).
3. Same results: per-class harmony log-likelihoods in numpy and in TensorFlow on EMOPIA files
   (largest difference, predicted class agreement, scoring time per chord).

Run: nice -n 10 .venv/bin/python bench/classify_memory.py [--files 40]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import write_section  # noqa: E402

EMOPIA = Path("/work/shared/data/emopia/midis")

STEPS = r"""
import json, os, sys, time
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
def memory():
    values = {}
    for line in open("/proc/self/status"):
        key = line.split(":")[0]
        if key in ("VmRSS", "VmHWM", "RssFile"):
            values[key] = int(line.split()[1]) / 1024
    return values
rows = []
def step(name, action):
    started = time.perf_counter()
    result = action()
    rows.append({"step": name, "seconds": time.perf_counter() - started, "modules": len(sys.modules), **memory()})
    return result
path = sys.argv[1]
step("python started", lambda: None)
step("import numpy", lambda: __import__("numpy"))
def parser():
    from assistant.cli import build_parser
    from assistant.runtime import limit_malloc_arenas
    limit_malloc_arenas()
    return build_parser()
step("assistant.cli, parser built", parser)
step("import classify's modules (dataset, classification, model_folder, crbm_layout)",
     lambda: [__import__(m) for m in ("models.dataset", "models.classification", "models.model_folder",
                                      "models.crbm_layout")])
from models.model_folder import load_model_set
from models.crbm_layout import NumpyClassScorer
from models.dataset import load_clip
from models.classification import log_likelihoods
model_set = step("load_model_set (shipped models/emopia)", lambda: load_model_set(None))
scorer = step("NumpyClassScorer.for_model_set", lambda: NumpyClassScorer.for_model_set(model_set))
clip = step("load_clip", lambda: load_clip(path, use_cache=False))
step(f"score {len(clip.events)} chords in numpy (classify now)",
     lambda: log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode, scorer=scorer))
step("import TensorFlow (models.tf_runtime, Keras deferred)", lambda: __import__("models.tf_runtime"))
step("ModelSet.experts() (TensorFlow runtime starts: constants, first ops)", lambda: model_set.experts())
step(f"score {len(clip.events)} chords in TensorFlow (first call: traced)",
     lambda: log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode))
step("score again in TensorFlow", lambda: log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode))
print(json.dumps(rows))
"""

TRACED_IMPORT = r"""
import json, os, sys, tracemalloc
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy
tracemalloc.start()
import models.tf_runtime
current, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
status = {l.split(":")[0]: int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith(("VmRSS", "RssAnon", "RssFile"))}
top = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"python_mb": current / 2**20, "modules": len(sys.modules), **status,
                  "families": {f: sum(1 for m in sys.modules if m.split(".")[0] == f) for f in ("tensorflow", "scipy", "keras", "sklearn")}}))
"""

# `moodchords classify` as it was: the same command, scoring with the TensorFlow experts
CLASSIFY_WITH_TENSORFLOW = r"""
import sys
import models.crbm_layout
models.crbm_layout.NumpyClassScorer.for_model_set = staticmethod(lambda model_set: model_set.experts())
from assistant.cli import main
sys.exit(main(["classify"] + sys.argv[1:]))
"""

LAUNCHER = ("import resource, subprocess, sys, time; started = time.perf_counter(); done = subprocess.run(sys.argv[1:], "
            "stdout=subprocess.DEVNULL); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
            "time.perf_counter() - started, done.returncode)")

AGREEMENT = r"""
import json, sys, time
from models.classification import log_likelihoods
from models.crbm_layout import NumpyClassScorer
from models.dataset import load_clip
from models.model_folder import load_model_set
model_set = load_model_set(None)
scorer = NumpyClassScorer.for_model_set(model_set)
clip0 = load_clip(sys.argv[1], use_cache=False)
log_likelihoods(model_set, clip0.events, clip0.performance, mode=clip0.mode)  # TensorFlow's tracing, not timed
worst, agree, files, chords, t_np, t_tf = 0.0, 0, 0, 0, 0.0, 0.0
for path in sys.argv[1:]:
    try:
        clip = load_clip(path, use_cache=False)
    except Exception:
        continue
    if not clip.events:
        continue
    started = time.perf_counter()
    a = log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode, scorer=scorer)
    t_np += time.perf_counter() - started
    started = time.perf_counter()
    b = log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode)
    t_tf += time.perf_counter() - started
    worst = max(worst, max(abs(a[c].harmony - b[c].harmony) for c in a))
    agree += max(a, key=lambda c: a[c].combined) == max(b, key=lambda c: b[c].combined)
    files += 1
    chords += len(clip.events)
print(json.dumps({"files": files, "chords": chords, "worst": worst, "agree": agree,
                  "np_ms_per_chord": 1000 * t_np / chords, "tf_ms_per_chord": 1000 * t_tf / chords}))
"""


def child(code: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MOODCHORDS_CACHE_DIR": tempfile.mkdtemp()}
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True,
                            timeout=1800, env=env)
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-3000:])
    return result.stdout.strip().splitlines()[-1]


def classify_peak(command: list[str], files: list[str]) -> tuple[float, float, int]:
    peak_kb, seconds, code = child(LAUNCHER, *command, *files).split()
    return int(peak_kb) / 1024, float(seconds), int(code)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=40, help="EMOPIA files for the agreement check")
    args = parser.parse_args()
    from tests.support import bad_midi

    load_start = os.getloadavg()[0]
    emopia = sorted(EMOPIA.glob("*.mid"))
    folder = Path(tempfile.mkdtemp())
    long_file = folder / "chords1500.mid"
    long_file.write_bytes(bad_midi.chord_song(1500, beats_per_chord=1))
    example = str(emopia[0]) if emopia else str(long_file)

    rows = json.loads(child(STEPS, example))
    step_lines = ["| step | RSS MB (of which shared libraries) | peak MB | modules | s |", "|---|---|---|---|---|"]
    step_lines += [f"| {r['step']} | {r['VmRSS']:.0f} ({r['RssFile']:.0f}) | {r['VmHWM']:.0f} | {r['modules']:,} | "
                   f"{r['seconds']:.2f} |" for r in rows]
    print("\n".join(step_lines), flush=True)
    traced = json.loads(child(TRACED_IMPORT))
    print(traced, flush=True)

    script = Path(sys.executable).parent / "moodchords"
    now = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    before = [sys.executable, "-c", CLASSIFY_WITH_TENSORFLOW]
    inputs = []
    if emopia:
        by_size = sorted(emopia, key=lambda p: p.stat().st_size)
        inputs += [("shortest EMOPIA file", [str(by_size[0])]), ("largest EMOPIA file", [str(by_size[-1])]),
                   ("20 EMOPIA files at once", [str(p) for p in emopia[:20]])]
    inputs.append(("valid file of 1,500 chords", [str(long_file)]))
    peak_lines = ["| input | TensorFlow scoring (before): peak MB, s | numpy scoring (now): peak MB, s |",
                  "|---|---|---|"]
    for name, files in inputs:
        tf_peak, tf_s, tf_code = classify_peak(before, files)
        np_peak, np_s, np_code = classify_peak([*now, "classify"], files)
        peak_lines.append(f"| {name} | {tf_peak:.0f}, {tf_s:.1f} (rc {tf_code}) | {np_peak:.0f}, {np_s:.1f} "
                          f"(rc {np_code}) |")
        print(peak_lines[-1], flush=True)

    agreement = json.loads(child(AGREEMENT, *[str(p) for p in emopia[:args.files]])) if emopia else None
    body = [
        "Issue 18: the whole `moodchords classify FILE` process under 500 MB for any input file. Before, it was "
        "~585 MB before reading any file: importing TensorFlow alone takes ~480 MB (its shared libraries and ~2,500 "
        "Python modules), its runtime and one traced scoring function ~90 MB more. Keras is already kept out "
        "(models/tf_runtime.py); no speech or language stack is imported by classify (no torch, Whisper or "
        "sentence-transformers: checked in tests/test_crbm_layout.py). classify now scores the class CRBMs in numpy "
        "(models.crbm_layout.NumpyClassScorer, the same formula and float32 weights as "
        "StackedExperts.class_log_probs); training and generation stay in TensorFlow. "
        f"Load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end (shared cores: times are "
        "upper bounds).", "",
        f"1. Where the memory goes, one process, step by step (file {Path(example).name}):", "", *step_lines, "",
        f"While TensorFlow is imported, Python itself allocates {traced['python_mb']:.0f} MB (tracemalloc); after the "
        f"import the process holds {traced['RssAnon']:.0f} MB of anonymous memory and {traced['RssFile']:.0f} MB of "
        f"mapped library pages, with {traced['modules']:,} modules ({traced['families']}).", "",
        "2. The whole `moodchords classify` process (peak resident memory from the launcher's RUSAGE_CHILDREN "
        "ru_maxrss; wall seconds):", "", *peak_lines, ""]
    if agreement:
        body += [f"3. Same scores: on {agreement['files']} EMOPIA files ({agreement['chords']:,} chords), the "
                 f"largest difference of a class's harmony log-likelihood between numpy and TensorFlow is "
                 f"{agreement['worst']:.5f} nats; the predicted class agrees on {agreement['agree']} of "
                 f"{agreement['files']}. Scoring time: numpy {agreement['np_ms_per_chord']:.2f} ms a chord, "
                 f"TensorFlow {agreement['tf_ms_per_chord']:.2f} ms a chord (after its tracing)."]
    text = "\n".join(body)
    print(text)
    write_section("classify memory (issue 18)", text, "bench/classify_memory.py " + " ".join(sys.argv[1:]))


if __name__ == "__main__":
    main()
