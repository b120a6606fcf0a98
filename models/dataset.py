"""MIDI clips -> key-normalised chord events + performance features, with a disk cache.

``load_clip`` reads one file (models.midi_reading), finds its beats (models.beats), recognises
its chords (models.harmony), estimates its key and transposes the chords to C major / A minor,
and measures how it is played (models.performance). Results are cached in the user cache dir,
keyed by the file's content hash and EXTRACTOR_VERSION (bump it whenever the output changes).
"""
from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from models.atomic_files import write_text_atomic
from models.beats import beat_grid
from models.errors import InvalidModelInput
from models.harmony import RecognitionOptions, estimate_key, normalising_shift, recognise_chords
from models.midi_reading import ClipError, display_path, read_midi, read_midi_bytes
from models.performance import PERFORMANCE_FIELDS, PerformanceFeatures, performance_features
from models.progress import Progress
from models.vocabulary import ChordEvent

__all__ = ["Clip", "ClipError", "LoadedFolder", "PerformanceFeatures", "EXTRACTOR_VERSION",
           "load_clip", "load_folder", "emopia_split", "cache_dir"]

EXTRACTOR_VERSION = "harmony-4"  # part of every cache key: bump when extraction changes
MIDI_SUFFIXES = (".mid", ".midi")
SPLITS = {"train": "train_clip.csv", "val": "val_clip.csv"}
SKIPPED_LISTED_WITH_REASON = 10  # a skip warning gives the reasons of this many files, then names only
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Clip:
    """One analysed MIDI clip."""

    path: Path  # the MIDI file
    label: str | None  # emotion label ("Q1".."Q4") or None
    events: tuple[ChordEvent, ...]  # key-normalised chords (major: tonic 0 = C, minor: tonic 9 = A)
    tonic: int  # the clip's original tonic pitch class, 0..11
    mode: str  # "major" | "minor"
    beats_per_bar: int  # beats per bar of the grid the events were measured on
    performance: PerformanceFeatures  # how the clip is played


@dataclass(frozen=True)
class LoadedFolder:
    """The usable clips of a folder and the files that were skipped."""

    clips: tuple[Clip, ...]  # in file-name order
    skipped: tuple[tuple[Path, str], ...]  # (file, reason) of every unusable file
    labels: tuple[str, ...]  # sorted distinct labels of the clips


def cache_dir() -> Path:
    """Where extracted clips are cached (MOODCHORDS_CACHE_DIR overrides the platform default)."""
    override = os.environ.get("MOODCHORDS_CACHE_DIR")
    if override:
        return Path(override) / "clips"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("moodchords")) / "clips"


def _cache_path(data: bytes) -> Path:
    digest = hashlib.sha256(data + EXTRACTOR_VERSION.encode()).hexdigest()
    return cache_dir() / digest[:2] / f"{digest}.json"


def analyse_midi(path: Path, options: RecognitionOptions = RecognitionOptions(), data: bytes | None = None) -> dict:
    """The cacheable analysis of one file (plain JSON types; ``data``: its bytes when already read);
    raises ClipError for unusable files."""
    content = read_midi(path, data)
    try:
        grid = beat_grid(content)
    except ClipError as exc:
        raise ClipError(f"{display_path(path)}: {exc}") from None
    try:
        recognition = recognise_chords(
            content.pitch, content.onset, content.sounding_offset, content.velocity, grid.times,
            beats_per_bar=grid.beats_per_bar, downbeat=grid.downbeat, options=options,
        )
    except InvalidModelInput as exc:  # e.g. notes overlapping too densely to analyse
        raise ClipError(f"{display_path(path)}: {exc}") from None
    if not recognition.events:
        raise ClipError(f"{display_path(path)}: no chord could be recognised (no sounding notes on the beat grid)")
    key = estimate_key(content.pitch, content.offset - content.onset)
    shift = normalising_shift(key.tonic, key.mode)
    events = [e.transposed(shift) for e in recognition.events]
    perf = performance_features(
        content.pitch, content.onset, content.offset, content.velocity, content.pedal_intervals,
        grid.tempo_bpm, beat_count=float(np.searchsorted(grid.times, content.offset.max())
                                         - np.searchsorted(grid.times, content.onset.min()) + 1),
    )
    return {
        "events": [[e.root, e.quality, e.bass, e.beats] for e in events],
        "tonic": key.tonic,
        "mode": key.mode,
        "beats_per_bar": grid.beats_per_bar,
        "performance": asdict(perf),
    }


def _clip_from_record(path: Path, label: str | None, record: dict) -> Clip:
    return Clip(
        path=path,
        label=label,
        events=tuple(ChordEvent(int(r), int(q), int(b), float(d)) for r, q, b, d in record["events"]),
        tonic=int(record["tonic"]),
        mode=str(record["mode"]),
        beats_per_bar=int(record["beats_per_bar"]),
        performance=PerformanceFeatures(**{k: float(record["performance"][k]) for k in PERFORMANCE_FIELDS}),
    )


def load_clip(path: str | Path, label: str | None = None, *, use_cache: bool = True) -> Clip:
    """Analyse one MIDI file (cached); raises ClipError naming the file and why it is unusable."""
    path = Path(path)
    data = read_midi_bytes(path)  # regular files only, size capped: the guard every MIDI input passes
    cached = _cache_path(data)
    if use_cache and cached.is_file():
        try:
            record = json.loads(cached.read_text(encoding="utf-8"))
            if "error" not in record:
                return _clip_from_record(path, label, record)
            raise ClipError(f"{display_path(path)}: {record['error']}")
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass  # a damaged entry, or one from an incompatible build: recomputed and replaced below
    try:
        record = analyse_midi(path, data=data)
    except ClipError as exc:
        record = {"error": str(exc).split(": ", 1)[-1]}
    if use_cache:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(cached, json.dumps(record))
        except OSError:
            pass  # a read-only cache must not stop the analysis
    if "error" in record:
        raise ClipError(f"{display_path(path)}: {record['error']}")
    return _clip_from_record(path, label, record)


_LABEL_PREFIX = re.compile(r"^([^_]+)_")


def label_from_name(path: Path) -> str | None:
    """The file-name prefix before the first underscore ("Q1_xxx.mid" -> "Q1"), or None."""
    match = _LABEL_PREFIX.match(path.name)
    return match.group(1) if match else None


def _read_csv_column(csv_path: Path, names: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with open(csv_path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise InvalidModelInput(f"cannot read CSV file {csv_path}: {exc.strerror or exc}") from None
    if rows and not any(n in rows[0] for n in names):
        raise InvalidModelInput(f"CSV file {csv_path} has columns {list(rows[0])}; expected one of {list(names)}")
    return rows


def load_folder(
    folder: str | Path, *, labels_csv: str | Path | None = None, split_csv: str | Path | None = None,
    progress: Progress | None = None,
) -> LoadedFolder:
    """Analyse every MIDI file of ``folder`` (or those listed in ``split_csv``); unusable files are skipped.

    labels_csv: CSV with columns file,label (file name with or without suffix); otherwise the label
    is the file-name prefix. split_csv: CSV whose first column (clip_name or file) lists the files.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidModelInput(f"MIDI folder {folder} does not exist or is not a folder")
    if split_csv is not None:
        rows = _read_csv_column(Path(split_csv), ("clip_name", "file"))
        names = [r.get("clip_name") or r.get("file") or "" for r in rows]
        files = [folder / n for n in names if n]
    else:
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in MIDI_SUFFIXES and p.is_file())
    labels: dict[str, str] = {}
    if labels_csv is not None:
        for row in _read_csv_column(Path(labels_csv), ("file",)):
            name = row.get("file", "")
            labels[name] = row.get("label", "")
            labels[Path(name).stem] = row.get("label", "")
    clips: list[Clip] = []
    skipped: list[tuple[Path, str]] = []
    for i, path in enumerate(files):
        if progress is not None:
            progress(f"analysing {path.name}", i / max(len(files), 1))
        label = labels.get(path.name, labels.get(path.stem)) if labels_csv is not None else label_from_name(path)
        try:
            clips.append(load_clip(path, label or None))
        except ClipError as exc:
            skipped.append((path, str(exc)))
        except Exception as exc:  # a bug on one file must not end the batch: skip it, named, and log it
            log.exception("unexpected error analysing MIDI file %s", display_path(path))
            skipped.append((path, unexpected_error_message(path, exc)))
    if progress is not None:
        progress("done", 1.0)
    if skipped:
        warnings.warn(skipped_summary(skipped, len(files), folder), stacklevel=2)
    found = sorted({c.label for c in clips if c.label})
    return LoadedFolder(clips=tuple(clips), skipped=tuple(skipped), labels=tuple(found))


def unexpected_error_message(path: str | Path, error: BaseException) -> str:
    """One line for an error that is not a ClipError (a bug, or memory running out) on one file."""
    detail = display_path(str(error).splitlines()[0]) if str(error) else ""
    return f"{display_path(path)}: could not be analysed (unexpected {type(error).__name__}{': ' + detail if detail else ''})"


def skipped_summary(skipped: list[tuple[Path, str]] | tuple[tuple[Path, str], ...], total: int, folder: str | Path) -> str:
    """One line naming every skipped file: the first SKIPPED_LISTED_WITH_REASON with their reasons
    ("name: reason"), the rest by name."""
    def reason_alone(path: Path, reason: str) -> str:  # without the "path: " the error starts with
        prefix = f"{display_path(path)}: "
        return reason[len(prefix):] if reason.startswith(prefix) else reason

    with_reason = [f"{display_path(p.name)}: {reason_alone(p, reason)}" for p, reason in skipped[:SKIPPED_LISTED_WITH_REASON]]
    text = f"skipped {len(skipped)} of {total} MIDI files in {display_path(folder)}: " + "; ".join(with_reason)
    rest = [display_path(p.name) for p, _ in skipped[SKIPPED_LISTED_WITH_REASON:]]
    if rest:
        text += f"; and {len(rest)} more: " + ", ".join(rest)
    return text


def emopia_split(data_dir: str | Path, split: str, *, progress: Progress | None = None) -> LoadedFolder:
    """The EMOPIA train or val split; data_dir is the shared data folder or its emopia/ subfolder."""
    if split not in SPLITS:
        raise InvalidModelInput(f"EMOPIA split {split!r} not found; available splits = {list(SPLITS)}")
    data_dir = Path(data_dir)
    root = data_dir / "emopia" if (data_dir / "emopia" / "midis").is_dir() else data_dir
    if not (root / "midis").is_dir() or not (root / SPLITS[split]).is_file():
        raise InvalidModelInput(f"EMOPIA data not found in {data_dir}: expected midis/ and {SPLITS[split]}")
    return load_folder(root / "midis", split_csv=root / SPLITS[split], progress=progress)
