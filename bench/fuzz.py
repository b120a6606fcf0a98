"""Fuzz every input surface long (issue 18, "Tests and numbers"; `make fuzz`): the MIDI reader,
the text path, model folders and audio files, seeded cases (tests/support/fuzz_cases.py) run
in-process through the real entry functions on a pool of worker processes (one fresh pool per
surface; each worker loads what its surface shares once, e.g. the MoodReader, then runs batches).

Runs add up: bench/fuzz_state.json records, per surface and seed, how many cases (0..N-1, in
order) have run, their totals and every run (date, commit, case range, load average). A run
continues each surface where the state left it, until --cases in all or --minutes of this run;
the state is saved after every batch, so an interrupted run keeps what it finished. Then the
section "Fuzz" of bench/RESULTS.md is written from the state (all runs).

Per surface: cases, outcomes, uncaught exceptions and hangs (the first few reproducers copied into
--reproducers), the slowest case (CPU and wall), cases over 5 s CPU, the largest per-case growth of
a worker's peak memory, the workers' whole-process peak, and for audio the decoder children's peak.

Run: nice -n 19 .venv/bin/python bench/fuzz.py [--cases N] [--surfaces midi,text,...] [--workers 2]
     [--minutes M | SURFACE=M,...] [--stop-at HH:MM] [--seed S] [--fresh]
     .venv/bin/python bench/fuzz.py --costs 200   (where a case's time goes, per surface; no state)
"""
from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import write_section  # noqa: E402
from models.atomic_files import write_text_atomic  # noqa: E402
from tests.support.fuzz_cases import (CASE_MB, CASE_SECONDS, SURFACES, CaseResult, make_case, prepare,  # noqa: E402
                                      process_peak_mb, run_case, save_reproducer)

GOAL_CASES = 100_000
BATCH = {"midi": 64, "text": 64, "model_config": 32, "audio": 16}  # cases per task sent to a worker
REPRODUCERS_KEPT = 5  # per surface
STATE = ROOT / "bench" / "fuzz_state.json"

_context: dict = {}
_folder: Path | None = None


def _worker_start(surface: str, reader_every: int, workdir: Path) -> None:
    global _folder
    _context["reader_every"] = reader_every
    _folder = Path(tempfile.mkdtemp(prefix=f"{surface}-", dir=workdir))
    prepare(surface, _context, reader=reader_every > 0)


def _worker_batch(task: tuple[str, int, list[int]]) -> tuple[list[CaseResult], float, float]:
    surface, seed, indices = task
    results = [run_case(surface, seed, index, _context, _folder) for index in indices]
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return results, process_peak_mb(), children_peak


# ------------------------------------------------------------------------------------ state


def _case_summary(result: CaseResult) -> dict:
    kept = dataclasses.asdict(result)
    kept["error"] = kept["error"][:600]
    return kept


def new_stream(surface: str, seed: int, reader_every: int) -> dict:
    """One surface's running totals for one seed (cases 0..next_index-1 have run)."""
    return {"surface": surface, "seed": seed, "reader_every": reader_every, "next_index": 0, "outcomes": {},
            "over_seconds": 0, "slowest_cpu": None, "slowest_wall": None, "most_memory": None,
            "worker_peak_mb": 0.0, "children_peak_mb": 0.0, "seconds": 0.0, "cpu_seconds": 0.0, "bad": [],
            "runs": []}


def load_state(path: Path) -> dict:
    if path.is_file():
        state = json.loads(path.read_text())
        if state.get("version") == 1:
            return state
        raise SystemExit(f"{path}: unknown state version {state.get('version')!r}; move it away or pass --fresh")
    return {"version": 1, "streams": {}}


def save_state(path: Path, state: dict) -> None:
    write_text_atomic(path, json.dumps(state, indent=1, sort_keys=True) + "\n")


def _commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return head + ("+uncommitted" if dirty else "")
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def _count(stream: dict, result: CaseResult, reproducers: Path) -> None:
    stream["outcomes"][result.outcome] = stream["outcomes"].get(result.outcome, 0) + 1
    stream["cpu_seconds"] += result.cpu_seconds
    if result.outcome in ("uncaught", "hang"):
        if len(stream["bad"]) < REPRODUCERS_KEPT:
            saved = save_reproducer(result, stream["seed"], reproducers)
            stream["bad"].append(_case_summary(result) | {"reproducer": str(saved)})
        print(f"  {result.surface} case {result.index} {result.outcome}: {result.error.splitlines()[0]}", flush=True)
    for key, value in (("slowest_cpu", "cpu_seconds"), ("slowest_wall", "wall_seconds"),
                       ("most_memory", "peak_growth_mb")):
        if stream[key] is None or getattr(result, value) > stream[key][value]:
            stream[key] = _case_summary(result)
    stream["over_seconds"] += result.cpu_seconds > CASE_SECONDS


def fuzz_surface(state: dict, state_path: Path, surface: str, args, minutes: float, reproducers: Path) -> dict:
    """Continue ``surface``'s stream from the state to args.cases in all (or ``minutes``), saving
    the state after every batch."""
    key = f"{surface}:seed{args.seed}"
    stream = state["streams"].setdefault(key, new_stream(surface, args.seed, args.reader_every))
    if surface == "text" and stream["reader_every"] != args.reader_every:
        raise SystemExit(f"{key} ran with --reader-every {stream['reader_every']}; continue with the same value "
                         "or another --seed")
    first = stream["next_index"]
    if first >= args.cases:
        print(f"{surface}: {first:,} cases already run (seed {args.seed}); nothing to do", flush=True)
        return stream
    print(f"{surface}: cases {first:,}..{args.cases - 1:,} (seed {args.seed})", flush=True)
    run = {"started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "commit": _commit(),
           "first": first, "next": first, "workers": args.workers, "minutes_allowed": minutes,
           "load_at_start": round(os.getloadavg()[0], 1), "stopped": "killed"}
    stream["runs"].append(run)
    started = time.perf_counter()
    batch_size = BATCH[surface]
    batches = ([index for index in range(start, min(start + batch_size, args.cases))]
               for start in range(first, args.cases, batch_size))
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no memory inherited from this one
    workdir = Path(tempfile.mkdtemp(prefix="moodchords-fuzz-"))
    last_saved = time.perf_counter()
    try:
        with context.Pool(args.workers, initializer=_worker_start,
                          initargs=(surface, args.reader_every, workdir)) as pool:
            in_flight = [pool.apply_async(_worker_batch, ((surface, args.seed, batch),))
                         for _, batch in zip(range(2 * args.workers), batches)]  # two batches a worker in flight
            while in_flight:
                results, worker_peak, children_peak = in_flight.pop(0).get()  # in order: the done cases stay 0..n-1
                stream["worker_peak_mb"] = max(stream["worker_peak_mb"], worker_peak)
                stream["children_peak_mb"] = max(stream["children_peak_mb"], children_peak)
                for result in results:
                    _count(stream, result, reproducers)
                stream["next_index"] = run["next"] = results[-1].index + 1
                if minutes and time.perf_counter() - started > minutes * 60:
                    run["stopped"] = "time limit"
                elif args.stop_at and dt.datetime.now(dt.timezone.utc) >= args.stop_at:
                    run["stopped"] = "--stop-at"
                else:
                    batch = next(batches, None)
                    if batch is None and not in_flight:
                        run["stopped"] = "cases"
                    if batch is not None:
                        in_flight.append(pool.apply_async(_worker_batch, ((surface, args.seed, batch),)))
                elapsed = time.perf_counter() - started
                run["seconds"] = round(elapsed, 1)
                run["load_at_end"] = round(os.getloadavg()[0], 1)
                if time.perf_counter() - last_saved > 20 or not in_flight:
                    stream["seconds"] = sum(r.get("seconds", 0.0) for r in stream["runs"])
                    save_state(state_path, state)
                    last_saved = time.perf_counter()
                    print(f"  {surface}: {stream['next_index']:,} cases in all, {stream['outcomes']}, "
                          f"this run {elapsed:.0f} s", flush=True)
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: what finished is kept, the rest runs next time
        run["stopped"] = "interrupted"
        raise
    finally:
        stream["seconds"] = sum(r.get("seconds", 0.0) for r in stream["runs"])
        save_state(state_path, state)
        shutil.rmtree(workdir, ignore_errors=True)
    return stream


# ------------------------------------------------------------------------------------ report


def section(state: dict, surfaces: list[str], seed: int) -> str:
    streams = [state["streams"][f"{s}:seed{seed}"] for s in surfaces if f"{s}:seed{seed}" in state["streams"]]
    runs = [r | {"surface": s["surface"]} for s in streams for r in s["runs"]]
    loads = [r.get(k) for r in runs for k in ("load_at_start", "load_at_end") if r.get(k) is not None]
    lines = [
        f"Seeded fuzz of every input surface (tests/support/fuzz_cases.py; seed {seed}), cases run in-process through "
        "the real entry functions on 2 worker processes (`make fuzz` starts them at nice 19), added up over the runs recorded in "
        f"`bench/fuzz_state.json` ({len(runs)} surface runs; load average {min(loads, default=0):.1f} to "
        f"{max(loads, default=0):.1f} while they ran: the cores are shared, so wall times include waiting). "
        f"Goal: {GOAL_CASES:,} cases per surface, 0 uncaught exceptions, every case under {CASE_SECONDS:.0f} s "
        f"and {CASE_MB:.0f} MB. Allowed: the project's user errors (assistant.errors.USER_ERRORS).",
        "", "| surface | cases (goal 100,000) | accepted / refused | uncaught / hangs | CPU per case, mean | slowest case, "
        f"CPU s (wall s) | cases over {CASE_SECONDS:.0f} s CPU | largest peak growth in a case | worker process peak "
        "| run time |",
        "|---|---|---|---|---|---|---|---|---|---|"]
    for s in streams:
        slow, mem, n = s["slowest_cpu"], s["most_memory"], s["next_index"]
        worker = f"{s['worker_peak_mb']:.0f} MB"
        if s["surface"] == "audio":
            worker += f" (ffmpeg/ffprobe children at most {s['children_peak_mb']:.0f} MB)"
        lines.append(
            f"| {s['surface']} | {n:,} | {s['outcomes'].get('ok', 0):,} / {s['outcomes'].get('refused', 0):,} | "
            f"{s['outcomes'].get('uncaught', 0)} / {s['outcomes'].get('hang', 0)} | "
            f"{1000 * s['cpu_seconds'] / max(n, 1):.1f} ms | {slow['cpu_seconds']:.2f} ({slow['wall_seconds']:.2f}): "
            f"case {slow['index']}, {slow['what'][:80]} | {s['over_seconds']} | {mem['peak_growth_mb']:.0f} MB "
            f"(case {mem['index']}) | {worker} | {s['seconds'] / 60:.1f} min |")
    lines += ["", "The slowest wall times: " + "; ".join(
        f"{s['surface']} {s['slowest_wall']['wall_seconds']:.2f} s (case {s['slowest_wall']['index']})"
        for s in streams) + "."]
    bad = [(s, b) for s in streams for b in s["bad"]]
    if bad:
        lines += ["", "Uncaught exceptions and hangs (the first few per surface, with their reproducers):", ""]
        lines += [f"- {s['surface']} case {b['index']} ({b['what'][:100]}): {b['outcome']}, "
                  f"{b['error'].splitlines()[0][:200]} (`{Path(b['reproducer']).name}`)" for s, b in bad]
    lines += ["", "Runs (UTC start, commit, cases, stopped by, load average at start / end):", ""]
    lines += [f"- {r['surface']}: {r['started']}, {r['commit']}, cases {r['first']:,}..{r['next'] - 1:,} "
              f"({r['next'] - r['first']:,} in {r.get('seconds', 0) / 60:.1f} min), {r['stopped']}, "
              f"load {r['load_at_start']} / {r.get('load_at_end', '?')}" for r in runs]
    text = [s for s in streams if s["surface"] == "text"]
    every = text[0]["reader_every"] if text else 10
    text_note = ("the real MoodReader reads every case" if every == 1 else
                 f"the real MoodReader reads every {every}th case" if every else "no MoodReader")
    lines += ["", f"Text: normalize_request and the settings parser on every case, {text_note}. Audio: "
              "read_audio_file only (one ffmpeg decode per case, ffprobe only when the decode reaches the 120 s limit; "
              "no Whisper); a case's CPU includes its ffmpeg children. Memory per case: the worker's VmHWM after the "
              "case minus its RSS before (VmHWM reset through /proc/self/clear_refs before each case); the children's "
              "figure is ru_maxrss, which on Linux also counts the worker's own memory at fork, so it is an upper bound."]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ costs


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _measure_costs(surface: str, cases: int, reader_every: int, queue) -> None:
    """In a fresh process: where one surface's time goes (imports, shared loading, making a case,
    running it in this process and in children)."""
    imported = time.perf_counter()
    context = {"reader_every": reader_every}
    loaded_cpu = _cpu(resource.RUSAGE_SELF)
    prepare(surface, context, reader=reader_every > 0)
    prepared = time.perf_counter()
    prepare_cpu = _cpu(resource.RUSAGE_SELF) - loaded_cpu
    folder = Path(tempfile.mkdtemp(prefix=f"moodchords-fuzz-costs-{surface}-"))
    make_seconds = 0.0
    for index in range(cases):  # making alone, then the full case (which makes it again)
        case_folder = folder / f"m{index}"
        case_folder.mkdir()
        started = time.perf_counter()
        make_case(surface, 0, index, case_folder, context)
        make_seconds += time.perf_counter() - started
        shutil.rmtree(case_folder)
    own, children, started = _cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN), time.perf_counter()
    results = [run_case(surface, 0, index, context, folder / "run") for index in range(cases)]
    wall = time.perf_counter() - started
    own, children = _cpu(resource.RUSAGE_SELF) - own, _cpu(resource.RUSAGE_CHILDREN) - children
    shutil.rmtree(folder, ignore_errors=True)
    queue.put({"surface": surface, "prepare_s": prepared - imported, "prepare_cpu_s": prepare_cpu,
               "make_ms": 1000 * make_seconds / cases, "case_wall_ms": 1000 * wall / cases,
               "case_own_cpu_ms": 1000 * own / cases, "case_children_cpu_ms": 1000 * children / cases,
               "run_cpu_ms": 1000 * sum(r.cpu_seconds for r in results) / cases, "peak_mb": process_peak_mb()})


def costs(surfaces: list[str], cases: int, reader_every: int) -> str:
    context = multiprocessing.get_context("spawn")
    lines = [f"Where a case's time goes (`bench/fuzz.py --costs {cases}`: the first {cases} cases of seed 0 per "
             f"surface in one fresh process; load average {os.getloadavg()[0]:.1f} at the start):", "",
             "| surface | process start + imports s | shared loading s (CPU s) | making a case ms | running a case: "
             "wall ms / own CPU ms / children's CPU ms | worker peak |", "|---|---|---|---|---|---|"]
    for surface in surfaces:
        queue = context.Queue()
        started = time.perf_counter()
        process = context.Process(target=_costs_child, args=(surface, cases, reader_every, queue, started))
        process.start()
        row = queue.get()
        process.join()
        lines.append(f"| {surface} | {row['start_s']:.2f} | {row['prepare_s']:.2f} ({row['prepare_cpu_s']:.2f}) | "
                     f"{row['make_ms']:.1f} | {row['case_wall_ms']:.1f} / {row['case_own_cpu_ms'] - row['make_ms']:.1f}"
                     f" / {row['case_children_cpu_ms']:.1f} | {row['peak_mb']:.0f} MB |")
        print(lines[-1], flush=True)
    lines.append("")
    lines.append("Own CPU of running a case is the case's CPU minus the time to make its input (approximate).")
    if "audio" in surfaces:
        start, probe = _decoder_start_costs()
        lines.append(f"Audio: starting ffmpeg alone (`ffmpeg -version`) costs {start:.0f} ms of CPU, nearly all of a case; "
                     f"an ffprobe run {probe:.0f} ms more, which every case paid until read_audio_file asked ffprobe "
                     "only when a decode reaches the 120 s limit.")
    return "\n".join(lines)


def _decoder_start_costs(runs: int = 20) -> tuple[float, float]:
    """CPU ms of starting ffmpeg (nothing decoded) and of one ffprobe of a one-second WAV."""
    import wave

    from assistant.audio import _probe_seconds

    folder = Path(tempfile.mkdtemp(prefix="moodchords-fuzz-ffmpeg-"))
    tone = folder / "tone.wav"
    with wave.open(str(tone), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(32000))
    before = _cpu(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-version"], capture_output=True, timeout=60)
    started = _cpu(resource.RUSAGE_CHILDREN)
    for _ in range(runs):
        _probe_seconds(tone)
    probed = _cpu(resource.RUSAGE_CHILDREN)
    shutil.rmtree(folder, ignore_errors=True)
    return 1000 * (started - before) / runs, 1000 * (probed - started) / runs


def _costs_child(surface: str, cases: int, reader_every: int, queue, parent_started: float) -> None:
    # perf_counter is CLOCK_MONOTONIC on Linux: comparable across processes
    start_s = time.perf_counter() - parent_started

    class Relay:
        def put(self, row):
            queue.put(row | {"start_s": start_s})

    _measure_costs(surface, cases, reader_every, Relay())


# ------------------------------------------------------------------------------------ main


def _replay_child(surface: str, seed: int, indices: list[int], reader_every: int, queue) -> None:
    """In a fresh process: load what the surface's workers load, then run the given cases again, one by one."""
    context: dict = {"reader_every": reader_every}
    prepare(surface, context, reader=reader_every > 0)
    folder = Path(tempfile.mkdtemp(prefix=f"moodchords-replay-{surface}-"))
    try:
        for index in indices:
            queue.put(_case_summary(run_case(surface, seed, index, context, folder)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    queue.put(None)


def replay_slowest(state: dict, surfaces: list[str], seed: int, reader_every: int) -> str:
    """Run each surface's recorded slowest cases (wall, CPU) and its most-memory case again, alone, and
    compare with what the long run recorded (where other jobs shared the cores)."""
    load = os.getloadavg()[0]
    lines = [f"The cases the long runs recorded as slowest (wall, CPU) and as using the most memory, each run again "
             f"in a fresh process with nothing else of the fuzz running (load average {load:.1f} at the start); "
             "the long run's wall times include waiting for shared cores.", "",
             "| surface | case | recorded as | outcome | long run: wall s / CPU s / peak growth MB | "
             "again: wall s / CPU s / peak growth MB |", "|---|---|---|---|---|---|"]
    context = multiprocessing.get_context("spawn")
    for surface in surfaces:
        stream = state["streams"].get(f"{surface}:seed{seed}")
        if stream is None:
            continue
        picks = {}
        for label, key in (("slowest wall", "slowest_wall"), ("slowest CPU", "slowest_cpu"),
                           ("most memory", "most_memory")):
            picks.setdefault(stream[key]["index"], (label, stream[key]))
        queue = context.Queue()
        child = context.Process(target=_replay_child, args=(surface, seed, sorted(picks), reader_every, queue))
        child.start()
        again = {}
        while (row := queue.get(timeout=600)) is not None:
            again[row["index"]] = row
        child.join()
        for index in sorted(picks):
            label, before = picks[index]
            now = again[index]
            lines.append(f"| {surface} | {index} | {label} | {now['outcome']} | {before['wall_seconds']:.2f} / "
                         f"{before['cpu_seconds']:.2f} / {before['peak_growth_mb']:.0f} | {now['wall_seconds']:.2f} / "
                         f"{now['cpu_seconds']:.2f} / {now['peak_growth_mb']:.0f} |")
    return "\n".join(lines)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _utc_time(text: str) -> dt.datetime:
    hours, _, mins = text.partition(":")
    now = dt.datetime.now(dt.timezone.utc)
    return now.replace(hour=int(hours), minute=int(mins or 0), second=0, microsecond=0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=GOAL_CASES, help="cases per surface in all (over every run)")
    parser.add_argument("--surfaces", default=",".join(SURFACES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--minutes", default="0", help="stop each surface after this long in this run: M for every "
                        "surface or SURFACE=M,... (0 or absent: run to --cases)")
    parser.add_argument("--stop-at", type=_utc_time, default=None, metavar="HH:MM",
                        help="stop every surface at this UTC time today (the state keeps what ran)")
    parser.add_argument("--reader-every", type=int, default=10, help="MoodReader on every Nth text case (0: never)")
    parser.add_argument("--reproducers", type=Path, default=ROOT / "bench" / "fuzz_reproducers",
                        help="folder for the failing cases' inputs (one SURFACE-CASE subfolder each)")
    parser.add_argument("--state", type=Path, default=STATE, help="the running totals (runs add up)")
    parser.add_argument("--fresh", action="store_true", help="start the given surfaces' streams from case 0")
    parser.add_argument("--costs", type=int, default=0, metavar="N",
                        help="only measure where the time of N cases goes per surface, and write that section")
    parser.add_argument("--no-results", action="store_true", help="print only; leave bench/RESULTS.md alone")
    parser.add_argument("--replay-slowest", action="store_true",
                        help="only run each surface's recorded slowest and most-memory cases again, alone, and write "
                             "that section")
    args = parser.parse_args()
    surfaces = [s.strip() for s in args.surfaces.split(",") if s.strip()]
    unknown = [s for s in surfaces if s not in SURFACES]
    if unknown:
        parser.error(f"unknown surfaces {unknown}; allowed: {', '.join(SURFACES)}")
    if args.costs:
        body = costs(surfaces, args.costs, args.reader_every)
        if not args.no_results:
            write_section("Fuzz: cost per case", body, "bench/fuzz.py " + " ".join(sys.argv[1:]))
        return 0
    if args.replay_slowest:
        body = replay_slowest(load_state(args.state), surfaces, args.seed, args.reader_every)
        print(body)
        if not args.no_results:
            write_section("Fuzz: the slowest cases again", body, "bench/fuzz.py " + " ".join(sys.argv[1:]))
        return 0
    try:
        minutes = ({k.strip(): float(v) for k, v in (p.split("=") for p in args.minutes.split(","))}
                   if "=" in args.minutes else {s: float(args.minutes) for s in surfaces})
    except ValueError:
        parser.error(f"--minutes {args.minutes!r}: give minutes (e.g. 10) or SURFACE=MINUTES pairs (midi=5,audio=20)")
    state = load_state(args.state)
    if args.fresh:
        for surface in surfaces:
            state["streams"].pop(f"{surface}:seed{args.seed}", None)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        for surface in surfaces:
            if args.stop_at and dt.datetime.now(dt.timezone.utc) >= args.stop_at:
                break
            fuzz_surface(state, args.state, surface, args, minutes.get(surface, 0.0), args.reproducers)
    except KeyboardInterrupt:
        print("interrupted: the state keeps every finished batch", flush=True)
    every = [s for s in SURFACES if f"{s}:seed{args.seed}" in state["streams"]]
    body = section(state, every, args.seed)
    print(body)
    if not args.no_results:
        write_section("Fuzz", body, "bench/fuzz.py " + " ".join(sys.argv[1:]))
    bad = any(state["streams"][f"{s}:seed{args.seed}"]["outcomes"].get(o) for s in every for o in ("uncaught", "hang"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
