"""MIDI input limits (issue 18, items 4-7): time and peak memory of load_clip on every adversarial
file of tests/support/bad_midi.py and on the slowest valid files under 1 MB (each in a fresh
process), classify's scoring memory against the number of chords, and a seeded corruption fuzz of
the reader (cases, uncaught exceptions, slowest case).

Run: .venv/bin/python bench/midi_input_limits.py [--fuzz N] [--seed S]   (default 1000 cases, ~2 min)
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

from tests.support import bad_midi  # noqa: E402

PEAK_MB = """
def peak_mb():
    # VmHWM: this process's own peak resident memory (ru_maxrss keeps a forking parent's across exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""

CHILD = PEAK_MB + """
import json, sys, time
from models.dataset import ClipError, load_clip
started, started_cpu = time.perf_counter(), time.process_time()
try:
    clip = load_clip(sys.argv[1], use_cache=False)
    outcome = f"ok, {len(clip.events)} chords"
except ClipError as error:
    outcome = str(error).split(": ", 1)[1]
print(json.dumps({"outcome": outcome, "cpu": time.process_time() - started_cpu, "wall": time.perf_counter() - started,
                  "peak_mb": peak_mb()}))
"""

SCORING = PEAK_MB + """
import json, sys, time
from models.classification import log_likelihoods
from models.dataset import load_clip
from models.crbm_layout import NumpyClassScorer
from models.model_folder import load_model_set
model_set = load_model_set(None)
scorer = NumpyClassScorer.for_model_set(model_set)  # as `moodchords classify` scores (no TensorFlow)
rows = []
for path in sys.argv[1:]:
    clip = load_clip(path, use_cache=False)
    started = time.perf_counter()
    log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode, scorer=scorer)
    rows.append((len(clip.events), time.perf_counter() - started, peak_mb()))
print(json.dumps(rows))
"""


def cases() -> dict[str, bytes]:
    files = {name: make() for name, make in bad_midi.ADVERSARIAL_CASES.items()}
    files["tracked beats, 29 minutes"] = bad_midi.dense_long_file(990_000, 29)
    files["tempo map, 25 minutes"] = bad_midi.dense_long_file(990_000, 25, tempo_map=True)
    files["80,000 notes held on one key"] = bad_midi.stacked_same_key(80_000)
    files["50,000 pedal presses"] = bad_midi.pedal_storm(50_000)
    files["800 chords, valid"] = bad_midi.chord_song(800, beats_per_chord=2)
    return files


def run_child(code: str, *args: str) -> str:
    result = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=600,
                            env={**os.environ, "MOODCHORDS_CACHE_DIR": tempfile.mkdtemp()})
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return result.stdout.strip().splitlines()[-1]


def fuzz(n_cases: int, seed: int) -> dict:
    """Seeded corruptions of valid and adversarial files, read in this process."""
    from models.dataset import ClipError, analyse_midi

    bases = [bad_midi.chord_song(12), bad_midi.huge_trailing_silence(5000), bad_midi.pedal_storm(30),
             bad_midi.stacked_same_key(8), bad_midi.dense_notes_file(3000)]
    crashes, slowest, outcomes = [], (0.0, ""), {"ok": 0, "refused": 0}
    folder = Path(tempfile.mkdtemp())
    for case in range(n_cases):
        data = bad_midi.random_corruption(bases[case % len(bases)], seed * 1_000_003 + case, flips=1 + case % 8)
        path = folder / f"case{case}.mid"
        path.write_bytes(data)
        started = time.perf_counter()
        try:
            analyse_midi(path)
            outcomes["ok"] += 1
        except ClipError:
            outcomes["refused"] += 1
        except Exception as error:  # noqa: BLE001 - counting them is the point
            crashes.append(f"case {case}: {type(error).__name__}: {error}")
        elapsed = time.perf_counter() - started
        slowest = max(slowest, (elapsed, f"case {case}"))
    return {"cases": n_cases, **outcomes, "crashes": crashes, "slowest": slowest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fuzz", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    rows = ["| file | bytes | outcome | CPU s | wall s | peak MB |", "|---|---|---|---|---|---|"]
    for name, data in cases().items():
        path = folder / "case.mid"
        path.write_bytes(data)
        r = json.loads(run_child(CHILD, str(path)))
        rows.append(f"| {name} | {len(data):,} | {r['outcome'][:90]} | {r['cpu']:.2f} | {r['wall']:.2f} | {r['peak_mb']:.0f} |")
        print(rows[-1], flush=True)
    scoring_files = []
    for n in (16, 300, 1500):
        path = folder / f"chords{n}.mid"
        path.write_bytes(bad_midi.chord_song(n, beats_per_chord=1))
        scoring_files.append(str(path))
    scoring = json.loads(run_child(SCORING, *scoring_files))
    score_rows = ["| chords | scoring s | ms per chord | process peak MB (models loaded) |",
                  "|---|---|---|---|"]
    score_rows += [f"| {n} | {s:.2f} | {1000 * s / n:.2f} | {peak:.0f} |" for n, s, peak in scoring]
    print("\n".join(score_rows), flush=True)
    fuzzed = fuzz(args.fuzz, args.seed)
    print(fuzzed)
    load = os.getloadavg()[0]
    body = "\n".join([
        "Limits in models/midi_reading.py: regular files only, at most 4 MiB read, 10,000 beats and 30 minutes of "
        "music, tempos > 0, variable-length quantities of at most 9 bytes; chord recognition refuses more than 256 "
        f"notes sounding at once on average. Load average at the start of the run: {load:.1f} (CPU time is the "
        "process's own; wall time includes waiting for the shared cores).", "",
        "load_clip, one fresh process per file (issue 18 goals: under 500 MB for any file, under 5 s under 1 MB):", "",
        *rows, "",
        "classify's scoring (models.classification.log_likelihoods in numpy, models.crbm_layout.NumpyClassScorer, as "
        "`moodchords classify` scores; windows of 32 chords), one process, files of growing length (before: ~2.2 MB "
        "more per chord, 758 chords 2.2 GB; bench/classify_memory.py compares with the TensorFlow scoring):", "",
        *score_rows, "",
        f"Seeded corruption fuzz of the reader and analysis (`--fuzz {args.fuzz} --seed {args.seed}`): "
        f"{fuzzed['cases']} cases, {fuzzed['ok']} analysed, {fuzzed['refused']} refused with a ClipError, "
        f"{len(fuzzed['crashes'])} uncaught exceptions; slowest case {fuzzed['slowest'][0]:.2f} s ({fuzzed['slowest'][1]}).",
        *(f"- {c}" for c in fuzzed["crashes"][:10]),
    ])
    write_section("MIDI input limits (issue 18, items 4-7)", body, "bench/midi_input_limits.py")


if __name__ == "__main__":
    main()
