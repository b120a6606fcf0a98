"""Reading POP909 (issue 15): models.pop909.load_pop909 on songs 001-800, uncached with 1 and 2 worker
processes, then from its cache; median of 3 runs each. Writes "POP909 reading (issue 15)" in
bench/RESULTS.md.

    .venv/bin/python bench/pop909_read.py
"""
from __future__ import annotations

import os
import statistics
import tempfile
import time

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


def main() -> int:
    if not (DATA / "pop909").is_dir():
        print(f"bench/pop909_read.py: skipped: POP909 not found at {DATA / 'pop909'}")
        return 0
    from models.pop909 import load_pop909

    songs = range(1, 801)
    times = {}
    with tempfile.TemporaryDirectory() as cache:
        os.environ["MOODCHORDS_CACHE_DIR"] = cache  # a private cache: the first read of each kind is uncached
        for workers in (1, 2):
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                corpus = load_pop909(DATA, songs, workers=workers, use_cache=False)
                runs.append(time.perf_counter() - started)
            times[f"uncached, {workers} process{'es' if workers > 1 else ''}"] = statistics.median(runs)
        load_pop909(DATA, songs, workers=2)  # fills the cache
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            load_pop909(DATA, songs, workers=2)
            runs.append(time.perf_counter() - started)
        times["cached (hashing the 2,400 annotation files, unpickling)"] = statistics.median(runs)
    chords = sum(len(s.chords) for s in corpus.songs)
    load = os.getloadavg()[0]
    lines = [f"Songs 001-800: {len(corpus.songs)} read, {len(corpus.skipped)} skipped, {chords} chords; load average "
             f"{load:.1f} on 2 cores (other jobs running).", "", "| read | seconds (median of 3) |", "|---|---|"]
    lines += [f"| {name} | {seconds:.2f} |" for name, seconds in times.items()]
    text = "\n".join(lines)
    print(text)
    write_section("POP909 reading (issue 15)", text, "bench/pop909_read.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
