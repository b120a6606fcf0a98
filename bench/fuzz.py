"""Fuzz every input surface long (issue 18, "Tests and numbers"; `make fuzz`): the MIDI reader,
the text path, model folders and audio files, N seeded cases each (tests/support/fuzz_cases.py),
on a pool of worker processes (one fresh pool per surface, so a surface's memory is its own).

Per surface it reports the cases run, outcomes, uncaught exceptions and hangs (the first few
reproducers copied into --reproducers), the slowest case (CPU and wall), the largest per-case
growth of a worker's peak memory, the workers' whole-process peak, and for audio the decoder
children's peak; then writes the section "Fuzz" of bench/RESULTS.md.

Run: nice -n 10 .venv/bin/python bench/fuzz.py [--cases N] [--surfaces midi,text,...] [--workers 2]
     [--minutes M]   (N defaults to 100,000 per surface; --minutes stops a surface early and says so)
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from bench.common import write_section  # noqa: E402
from tests.support.fuzz_cases import (CASE_MB, CASE_SECONDS, SURFACES, CaseResult, prepare,  # noqa: E402
                                      process_peak_mb, run_case, save_reproducer)

GOAL_CASES = 100_000
BATCH = 64  # cases per task sent to a worker
REPRODUCERS_KEPT = 5  # per surface

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


@dataclass
class SurfaceReport:
    """One surface's totals."""
    surface: str  # one of SURFACES
    cases: int = 0  # cases run
    outcomes: dict = field(default_factory=dict)  # outcome -> count
    bad: list = field(default_factory=list)  # the first uncaught/hang CaseResults
    reproducers: list = field(default_factory=list)  # folders they were copied to
    slowest_cpu: CaseResult | None = None  # the case with the most CPU time
    slowest_wall: CaseResult | None = None  # the case with the longest wall time
    over_seconds: int = 0  # cases over CASE_SECONDS of CPU time
    most_memory: CaseResult | None = None  # the case with the largest peak growth
    worker_peak_mb: float = 0.0  # largest whole-process peak of a worker (models loaded included)
    children_peak_mb: float = 0.0  # largest ru_maxrss of a child the workers waited for (ffmpeg)
    seconds: float = 0.0  # wall time of the whole surface
    stopped_early: bool = False  # --minutes ran out before --cases


def fuzz_surface(surface: str, cases: int, seed: int, workers: int, minutes: float, reader_every: int,
                 reproducers: Path) -> SurfaceReport:
    report = SurfaceReport(surface)
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")  # fresh interpreters: no memory inherited from this one
    batches = [list(range(start, min(start + BATCH, cases))) for start in range(0, cases, BATCH)]
    workdir = Path(tempfile.mkdtemp(prefix="moodchords-fuzz-"))
    with context.Pool(workers, initializer=_worker_start, initargs=(surface, reader_every, workdir)) as pool:
        pending = iter(batches)
        in_flight = [pool.apply_async(_worker_batch, ((surface, seed, batch),))
                     for _, batch in zip(range(2 * workers), pending)]  # two batches a worker in flight
        while in_flight:
            results, worker_peak, children_peak = in_flight.pop(0).get()
            report.worker_peak_mb = max(report.worker_peak_mb, worker_peak)
            report.children_peak_mb = max(report.children_peak_mb, children_peak)
            for result in results:
                _count(report, result, seed, reproducers)
            if minutes and time.perf_counter() - started > minutes * 60:
                report.stopped_early = True
            else:
                batch = next(pending, None)
                if batch is not None:
                    in_flight.append(pool.apply_async(_worker_batch, ((surface, seed, batch),)))
            if report.cases % (BATCH * 20) < BATCH:
                print(f"  {surface}: {report.cases:,} cases, {dict(report.outcomes)}, "
                      f"{time.perf_counter() - started:.0f} s", flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _count(report: SurfaceReport, result: CaseResult, seed: int, reproducers: Path) -> None:
    report.cases += 1
    report.outcomes[result.outcome] = report.outcomes.get(result.outcome, 0) + 1
    if result.outcome in ("uncaught", "hang") and len(report.bad) < REPRODUCERS_KEPT:
        report.bad.append(result)
        report.reproducers.append(save_reproducer(result, seed, reproducers))
        print(f"  {result.surface} case {result.index} {result.outcome}: {result.error.splitlines()[0]}", flush=True)
    if report.slowest_cpu is None or result.cpu_seconds > report.slowest_cpu.cpu_seconds:
        report.slowest_cpu = result
    if report.slowest_wall is None or result.wall_seconds > report.slowest_wall.wall_seconds:
        report.slowest_wall = result
    report.over_seconds += result.cpu_seconds > CASE_SECONDS
    if report.most_memory is None or result.peak_growth_mb > report.most_memory.peak_growth_mb:
        report.most_memory = result


def section(reports: list[SurfaceReport], args) -> str:
    lines = [
        f"Seeded fuzz of every input surface (tests/support/fuzz_cases.py; seed {args.seed}, {args.workers} worker "
        f"processes, load average {os.getloadavg()[0]:.1f} at the end: the cores are shared, so wall times include "
        f"waiting). Goal: {GOAL_CASES:,} cases per surface, 0 uncaught exceptions, every case under "
        f"{CASE_SECONDS:.0f} s and {CASE_MB:.0f} MB. Allowed: the project's user errors "
        "(assistant.errors.USER_ERRORS).",
        "", "| surface | cases (goal 100,000) | accepted / refused | uncaught / hangs | slowest case, CPU s (wall s) "
        f"| cases over {CASE_SECONDS:.0f} s CPU | largest peak growth in a case | worker process peak | run time |",
        "|---|---|---|---|---|---|---|---|---|"]
    for r in reports:
        slow = r.slowest_cpu
        worker = f"{r.worker_peak_mb:.0f} MB"
        if r.surface == "audio":
            worker += f" (ffmpeg/ffprobe children at most {r.children_peak_mb:.0f} MB)"
        lines.append(
            f"| {r.surface} | {r.cases:,}{' (time limit)' if r.stopped_early else ''} | {r.outcomes.get('ok', 0):,} / "
            f"{r.outcomes.get('refused', 0):,} | {r.outcomes.get('uncaught', 0)} / {r.outcomes.get('hang', 0)} | "
            f"{slow.cpu_seconds:.2f} ({slow.wall_seconds:.2f}): case {slow.index}, {slow.what[:80]} | "
            f"{r.over_seconds} | {r.most_memory.peak_growth_mb:.0f} MB (case {r.most_memory.index}) | {worker} | "
            f"{r.seconds / 60:.1f} min |")
    lines.append("")
    lines.append("The slowest wall times: " + "; ".join(
        f"{r.surface} {r.slowest_wall.wall_seconds:.2f} s (case {r.slowest_wall.index})" for r in reports) + ".")
    bad = [(r, b, p) for r in reports for b, p in zip(r.bad, r.reproducers)]
    if bad:
        lines += ["", "Uncaught exceptions and hangs (the first few per surface; reproducers in "
                  f"`{args.reproducers}`):", ""]
        lines += [f"- {r.surface} case {b.index} ({b.what[:100]}): {b.outcome}, {b.error.splitlines()[0][:200]}"
                  for r, b, _ in bad]
    text_note = ("the real MoodReader reads every case" if args.reader_every == 1 else
                 f"the real MoodReader reads every {args.reader_every}th case" if args.reader_every else
                 "no MoodReader")
    lines += ["", f"Text: normalize_request and the settings parser on every case, {text_note}. Audio: "
              "read_audio_file only (ffmpeg decoding, no Whisper); a case's CPU includes its ffmpeg/ffprobe children. "
              "Memory per case: the worker's VmHWM after the case minus its RSS before (VmHWM reset through "
              "/proc/self/clear_refs before each case); the children's figure is ru_maxrss, which on Linux also "
              "counts the worker's own memory at fork, so it is an upper bound."]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=GOAL_CASES, help="cases per surface")
    parser.add_argument("--surfaces", default=",".join(SURFACES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--minutes", default="0", help="stop each surface after this long: M for every surface or "
                        "SURFACE=M,... (0 or absent: run every case)")
    parser.add_argument("--reader-every", type=int, default=10, help="MoodReader on every Nth text case (0: never)")
    parser.add_argument("--reproducers", type=Path, default=ROOT / "bench" / "fuzz_reproducers",
                        help="folder for the failing cases' inputs (one SURFACE-CASE subfolder each)")
    parser.add_argument("--no-results", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    surfaces = [s.strip() for s in args.surfaces.split(",") if s.strip()]
    unknown = [s for s in surfaces if s not in SURFACES]
    if unknown:
        parser.error(f"unknown surfaces {unknown}; allowed: {', '.join(SURFACES)}")
    try:
        minutes = ({k.strip(): float(v) for k, v in (p.split("=") for p in args.minutes.split(","))}
                   if "=" in args.minutes else {s: float(args.minutes) for s in surfaces})
    except ValueError:
        parser.error(f"--minutes {args.minutes!r}: give minutes (e.g. 10) or SURFACE=MINUTES pairs (midi=5,audio=20)")
    reports = []
    for surface in surfaces:
        print(f"{surface}: {args.cases:,} cases", flush=True)
        reports.append(fuzz_surface(surface, args.cases, args.seed, args.workers, minutes.get(surface, 0.0),
                                    args.reader_every, args.reproducers))
    body = section(reports, args)
    print(body)
    if not args.no_results:
        write_section("Fuzz", body, "bench/fuzz.py " + " ".join(sys.argv[1:]))
    return 1 if any(r.outcomes.get("uncaught") or r.outcomes.get("hang") for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
