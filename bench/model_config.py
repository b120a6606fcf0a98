"""Model folder schema (issue 18, item 11): load time of the shipped folder, the 30000 x 30000 W
bomb, and a seeded fuzz of config.json values and npz headers (cases, uncaught exceptions, the
slowest case, peak memory).

Run: .venv/bin/python bench/model_config.py [--cases N] [--seed S]   (default 3000 cases, ~1 min)
"""
from __future__ import annotations

import argparse
import collections
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

from models.errors import ModelError  # noqa: E402
from models.model_folder import load_model_set  # noqa: E402
from tests.support.bad_model_folders import (CONFIG, MEASURE_LOAD, copy_model_folder, mutate_config,  # noqa: E402
                                             shipped_arrays, shipped_config, write_fuzzed_npz, write_w_bomb)


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def shipped_load_ms(runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        load_model_set()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bomb(workdir: Path) -> dict:
    folder = copy_model_folder(workdir, "bomb")
    (folder / "class_Q1.npz").unlink()
    write_w_bomb(folder / "class_Q1.npz")
    size_mb = (folder / "class_Q1.npz").stat().st_size / 2**20
    result = subprocess.run([sys.executable, "-c", MEASURE_LOAD, str(folder)], capture_output=True, text=True,
                            cwd=ROOT, check=True)
    return {**json.loads(result.stdout), "npz_mb": size_mb}


def fuzz(workdir: Path, cases: int, seed: int) -> dict:
    rng = random.Random(seed)
    config0, arrays = shipped_config(), shipped_arrays()
    counts: collections.Counter = collections.Counter()
    uncaught: collections.Counter = collections.Counter()
    slowest = (0.0, "", 0.0)  # CPU seconds, the mutation, wall seconds
    for case in range(cases):
        folder = copy_model_folder(workdir, f"case{case}")
        if case % 3 == 2:
            (folder / "class_Q1.npz").unlink()
            what = "npz header of " + write_fuzzed_npz(rng, arrays, folder / "class_Q1.npz")
            surface = "npz header"
        else:
            config = json.loads(json.dumps(config0))
            what = ", ".join(mutate_config(rng, config) for _ in range(rng.choice([1, 1, 2, 3])))
            (folder / CONFIG).write_text(json.dumps(config))
            surface = "config.json"
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            load_model_set(folder)
            counts[(surface, "loaded")] += 1
        except ModelError:
            counts[(surface, "rejected (ModelError)")] += 1
        except Exception as error:  # noqa: BLE001 - what the bench counts
            counts[(surface, "uncaught")] += 1
            uncaught[f"{type(error).__name__} ({what})"] += 1
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        if cpu > slowest[0]:
            slowest = (cpu, what, seconds)
        shutil.rmtree(folder)
    return {"counts": counts, "uncaught": uncaught, "slowest": slowest, "peak_mb": peak_mb()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="moodchords-model-config-"))
    try:
        load_ms = shipped_load_ms()
        bombed = bomb(workdir)
        fuzzed = fuzz(workdir, args.cases, args.seed)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    lines = [
        f"Shipped folder (models/emopia) loads and passes the schema in {load_ms:.1f} ms (median of 20, "
        "header checks and JSON schema included).", "",
        f"W bomb: a class npz whose W header says 30000 x 30000 float32 (3.6 GB unpacked, {bombed['npz_mb']:.1f} MB "
        f"packed): rejected as `{bombed['outcome'][1]}` in {bombed['cpu_seconds'] * 1000:.1f} ms CPU "
        f"({bombed['seconds'] * 1000:.1f} ms wall), peak memory of the "
        f"whole loading process {bombed['peak_mb']:.0f} MB (the shape is read from the npy header; no data is read).", "",
        f"Fuzz (seed {args.seed}, {args.cases} cases; 2 of 3 mutate 1-3 config.json values or types, 1 of 3 "
        "rewrites one npy header: shape, dtype, order, format version, truncated data):", "",
        "| surface | outcome | cases |", "|---|---|---|",
    ]
    for (surface, outcome), n in sorted(fuzzed["counts"].items()):
        lines.append(f"| {surface} | {outcome} | {n} |")
    cpu, what, seconds = fuzzed["slowest"]
    lines += ["", f"Uncaught exceptions: {sum(fuzzed['uncaught'].values())}"
              + ("" if not fuzzed["uncaught"] else " - " + "; ".join(f"{k} x{v}" for k, v in fuzzed["uncaught"].items())),
              f"Slowest case: {cpu * 1000:.1f} ms CPU, {seconds * 1000:.1f} ms wall ({what}); "
              f"peak memory of the fuzzing process {fuzzed['peak_mb']:.0f} MB."]
    body = "\n".join(lines)
    print(body)
    write_section("Model folder schema (issue 18, item 11)", body, "bench/model_config.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
