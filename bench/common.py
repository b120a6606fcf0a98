"""Shared by the bench scripts: write one section of bench/RESULTS.md with the machine and date."""
from __future__ import annotations

import datetime as _dt
import os
import platform
import re
import resource
from pathlib import Path

from models.atomic_files import write_bytes_atomic, write_text_atomic

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADER = "# Benchmark results\n\nEvery number here is produced by the script named in its section; rerun with `make bench`.\n"


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


def rss_mb() -> float:
    """This process's resident memory now, MiB (peak resident memory where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def percentile(values, q: float) -> float:
    """The q-quantile (0..1) of values by nearest rank: sorted(values)[round(q * (n - 1))]."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def write_section(title: str, body: str, script: str) -> None:
    """Replace (or append) the section `## title` in bench/RESULTS.md, atomically."""
    text = RESULTS.read_text() if RESULTS.exists() else HEADER
    stamp = f"_Measured {_dt.date.today().isoformat()} on {machine()} by `{script}`._\n"
    section = f"## {title}\n\n{stamp}\n{body.rstrip()}\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section + "\n", text) if pattern.search(text) else text.rstrip() + "\n\n" + section
    write_text_atomic(RESULTS, text)


def cached_pickle(name: str, compute):
    """compute() once, then kept as a pickle named ``name`` in the user cache folder (bench inputs
    that are slow to make, e.g. music21's parse of its corpus); a damaged file is made again."""
    import pickle

    from models.dataset import cache_dir

    cached = cache_dir().parent / name
    if cached.is_file():
        try:
            return pickle.loads(cached.read_bytes())
        except Exception:
            pass
    value = compute()
    cached.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(cached, pickle.dumps(value))
    return value


def pop909_train_and_selection(data: Path, script: str):
    """POP909's training songs (001-700) and selection songs (701-800) under ``data``, or None after
    saying that ``script`` is skipped when POP909 is not there (the benches that need it skip, not fail)."""
    if not (data / "pop909").is_dir():
        print(f"{script}: skipped: POP909 not found at {data / 'pop909'}")
        return None
    from models.pop909 import SELECTION_SONGS, TRAIN_SONGS, load_pop909

    return load_pop909(data, TRAIN_SONGS, workers=2).songs, load_pop909(data, SELECTION_SONGS, workers=2).songs


def emopia_train_by_label(data: Path) -> tuple[dict, int]:
    """EMOPIA train's clips with chords, by label, and the beats per bar `moodchords train` uses."""
    from models.dataset import emopia_split

    train = emopia_split(data / "emopia", "train")
    by_label: dict[str, list] = {}
    for clip in train.clips:
        if clip.label and clip.events:
            by_label.setdefault(clip.label, []).append(clip)
    return by_label, int(round(sum(c.beats_per_bar for c in train.clips) / len(train.clips)))


def classifier_rule_settings(pooled, info) -> tuple[float, float]:
    """The harmony weight and valence bias `moodchords train` chose from out-of-fold scores until
    2026-12-07 (the weight by class accuracy, nearest 1 on ties; then models.classification.choose_valence_bias)."""
    from models.classification import HARMONY_WEIGHT_GRID, choose_valence_bias, classification_accuracy

    table = {w: classification_accuracy(pooled, info, harmony_weight=w)["classes"] for w in HARMONY_WEIGHT_GRID}
    weight = max(HARMONY_WEIGHT_GRID, key=lambda w: (table[w], -abs(w - 1.0)))
    return weight, choose_valence_bias(pooled, weight, info)[0]
