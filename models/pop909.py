"""POP909 song folders -> key-normalised chord events on the songs' real metrical grid (numpy only).

A POP909 folder ``NNN/`` holds ``beat_midi.txt`` (per beat: time s, half-bar flag, downbeat flag),
``chord_midi.txt`` (start s, end s, ``Root:quality[/bass]`` or ``N``), ``key_audio.txt`` (start s,
end s, ``Tonic:maj|min``) and ``NNN.mid`` (the arrangement; not needed for the harmony and not read
here). ``index.csv`` beside the folders gives each song's metre (beats per measure 2 = duple,
3 = triple; quavers per beat 3 = compound).

What a song becomes:
* bar lines from the annotations: the downbeat flags in duple songs (4/4 bars of 4 beats); in triple
  and compound songs the downbeat flag marks every second bar and the half-bar flags mark the bars
  (measured: triple songs change chord as often 3 beats after a downbeat as on it, so the bar is
  3/4; compound songs' beats are dotted quarters, 2 to a 6/8 bar);
* chords mapped onto models.vocabulary (QUALITY_MAP: 6th and minor-major chords lose the added tone),
  with the inversion's bass; ``N`` (no chord) splits the song into segments;
* each chord transposed into the C major / A minor frame of the key in effect at its start
  (models.harmony.normalising_shift, as EMOPIA clips are); a key change starts a new segment;
* identical consecutive chords of a segment merged (as EMOPIA's recognised chords are);
* durations in beats (half-beat quantised), the bar, the beat within the bar, the bar within a
  4-bar phrase (phrase_offset: a per-song estimate, POP909 here has no phrase annotations).

``load_pop909`` reads many songs in parallel (ProcessPoolExecutor) and caches the parsed corpus in
the user cache dir (keyed by the annotations' content and POP909_READER_VERSION); a missing or
corrupt song is skipped with a reason naming the file, the rest is read.
"""
from __future__ import annotations

import csv
import hashlib
import os
import pickle
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from models.atomic_files import write_bytes_atomic
from models.errors import InvalidModelInput, ModelError
from models.harmony import normalising_shift
from models.progress import Progress
from models.vocabulary import QUALITY_BY_NAME, ChordEvent

POP909_READER_VERSION = "pop909-2"  # part of the cache key: bump whenever the output changes
TRAIN_SONGS = tuple(range(1, 701))  # songs the models learn from
SELECTION_SONGS = tuple(range(701, 801))  # songs settings are chosen on (801-909 are held out elsewhere)
ANNOTATION_FILES = ("beat_midi.txt", "chord_midi.txt", "key_audio.txt")

#: POP909 quality -> models.vocabulary quality. maj6 / min6 / minmaj7 have no quality of their own
#: in the (file-format-fixed) vocabulary; they keep their triad, which keeps their function (C6 is a
#: tonic C chord; Am7/C would keep its tones but call it a chord on A). Together 0.7 % of chords.
QUALITY_MAP = {
    "maj": "maj", "min": "min", "sus2": "sus2", "sus4": "sus4", "min7": "min7", "maj7": "maj7", "7": "dom7",
    "sus4(b7)": "7sus4", "maj6": "maj", "dim": "dim", "hdim7": "min7b5", "aug": "aug", "min6": "min",
    "dim7": "dim7", "minmaj7": "min",
}
#: Bass of an inversion as a scale degree above the root (``C:maj/3`` = C/E).
BASS_DEGREES = {"1": 0, "b2": 1, "2": 2, "b3": 3, "3": 4, "4": 5, "#4": 6, "b5": 6, "5": 7, "#5": 8, "b6": 8,
                "6": 9, "bb7": 9, "b7": 10, "7": 11, "b9": 1, "9": 2, "#9": 3, "11": 5, "#11": 6, "b13": 8, "13": 9}
_LETTERS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


class Pop909Error(ModelError):
    """A POP909 song folder is missing a file or holds an unreadable one; the message names the file."""


@dataclass(frozen=True)
class Metre:
    """A song's metre as the chords move on it."""

    beats_per_bar: int  # beats per bar: 4 (4/4), 3 (3/4), 2 (6/8: two dotted-quarter beats), 3 compound (9/8)
    compound: bool  # True when a beat divides in three quavers (6/8, 9/8)

    @property
    def name(self) -> str:
        if self.compound:
            return f"{3 * self.beats_per_bar}/8"
        return f"{self.beats_per_bar}/4"


@dataclass(frozen=True)
class KeySpan:
    """One key of a song, in beats."""

    start: float  # beats from the first bar line
    end: float  # beats from the first bar line
    tonic: int  # absolute tonic pitch class 0..11
    mode: str  # "major" | "minor"


@dataclass(frozen=True)
class PopChord:
    """One chord of a song, key-normalised and placed on the song's bars."""

    event: ChordEvent  # key-normalised (C major / A minor frame); beats = duration in beats
    start: float  # onset in beats from the song's first bar line (negative in a pick-up)
    bar: int  # index of the bar the chord starts in (0 = the first full bar; -1 = a pick-up)
    beat_in_bar: float  # beats from that bar's line to the onset
    bar_length: float  # beats of that bar (irregular bars exist: 2, 3, 5, 6 beats in 4/4 songs)
    mode: str  # mode of the key in effect ("major": tonic 0, "minor": tonic 9 in the frame)
    segment: int  # continuous run (split at "N" and key changes); events of one segment form a sequence


@dataclass(frozen=True)
class Pop909Song:
    """One POP909 song read for harmony."""

    song_id: str  # "001".."909"
    folder: Path  # the song's folder
    title: str  # from index.csv ("" when absent)
    artist: str  # from index.csv ("" when absent)
    metre: Metre  # from index.csv (duple 4/4 when the song is not listed)
    tempo_bpm: float  # median beats per minute of the beat grid
    bar_lines: tuple[float, ...]  # beat positions of every bar line (0.0 = the first)
    keys: tuple[KeySpan, ...]  # in time order
    chords: tuple[PopChord, ...]  # in time order, identical neighbours of a segment merged
    phrase_offset: int  # 0..3: bars b with (b - phrase_offset) % 4 == 0 start a 4-bar phrase (estimate)

    def segments(self) -> list[tuple[tuple[ChordEvent, ...], str]]:
        """(events, mode) of every continuous run: the song's training sequences."""
        runs: dict[int, list[PopChord]] = {}
        for chord in self.chords:
            runs.setdefault(chord.segment, []).append(chord)
        return [(tuple(c.event for c in run), run[0].mode) for _, run in sorted(runs.items())]

    def bar_in_phrase(self, chord: PopChord, phrase_bars: int = 4) -> int:
        """The chord's bar within a ``phrase_bars``-bar phrase (0 = the phrase's first bar)."""
        return (chord.bar - self.phrase_offset) % phrase_bars

    def piece(self):
        """The whole song as a models.form_metrics.Piece (every chord in its own key's frame)."""
        from models.form_metrics import Piece

        return Piece(tuple(c.event for c in self.chords), tuple(c.start for c in self.chords),
                     self.bar_lines, tuple(c.mode for c in self.chords))

    @property
    def main_mode(self) -> str:
        """Mode of the key that lasts longest."""
        best = max(self.keys, key=lambda k: k.end - k.start)
        return best.mode


@dataclass(frozen=True)
class Pop909Corpus:
    """The songs read and the folders that were skipped."""

    songs: tuple[Pop909Song, ...]  # in song-id order
    skipped: tuple[tuple[str, str], ...]  # (song id, reason naming the file) of every unusable song


# --------------------------------------------------------------------------------------------
# Parsing
def parse_pitch_class(text: str) -> int:
    """"C", "F#", "Bb", "Cb" -> pitch class; ValueError otherwise."""
    if not text or text[0] not in _LETTERS or any(ch not in "#b" for ch in text[1:]):
        raise ValueError(f"note name {text!r}")
    return (_LETTERS[text[0]] + text.count("#") - text.count("b")) % 12


def parse_chord(label: str) -> tuple[int, int, int] | None:
    """``Root:quality[/bass]`` -> (root pc, quality index, bass pc) in absolute pitch classes; None for
    ``N``. ValueError naming the label when it cannot be read."""
    label = label.strip()
    if label == "N":
        return None
    try:
        root_text, rest = label.split(":", 1)
        quality_text, _, bass_text = rest.partition("/")
        root = parse_pitch_class(root_text)
        quality = QUALITY_BY_NAME[QUALITY_MAP[quality_text]]
        bass = (root + BASS_DEGREES[bass_text]) % 12 if bass_text else root
    except (ValueError, KeyError):
        raise ValueError(f"chord {label!r} not understood; allowed: Root:quality[/bass] with quality in "
                         f"{sorted(QUALITY_MAP)} or N") from None
    return root, quality, bass


def parse_key(label: str) -> tuple[int, str]:
    """``Tonic:maj|min`` -> (tonic pc, mode)."""
    try:
        tonic_text, mode_text = label.strip().split(":")
        return parse_pitch_class(tonic_text), {"maj": "major", "min": "minor"}[mode_text]
    except (ValueError, KeyError):
        raise ValueError(f"key {label!r} not understood; allowed: Tonic:maj or Tonic:min") from None


def _read_rows(path: Path, columns: int) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise Pop909Error(f"{path}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Pop909Error(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    rows = [line.split() for line in text.splitlines() if line.strip()]
    for number, row in enumerate(rows, start=1):
        if len(row) != columns:
            raise Pop909Error(f"{path}: line {number} has {len(row)} fields; expected {columns}")
    if not rows:
        raise Pop909Error(f"{path}: empty")
    return rows


def _floats(path: Path, rows: list[list[str]], columns: Iterable[int]) -> np.ndarray:
    try:
        out = np.asarray([[float(row[c]) for c in columns] for row in rows], np.float64)
    except ValueError as exc:
        raise Pop909Error(f"{path}: not a number ({exc})") from None
    if not np.isfinite(out).all():
        raise Pop909Error(f"{path}: contains a non-finite number")
    return out


@dataclass(frozen=True)
class _Grid:
    """The song's beat grid: beat times and the bar lines (as beat indices)."""

    times: np.ndarray  # (n,) seconds of every beat
    bar_rows: np.ndarray  # (m,) beat indices of the bar lines

    def beats_at(self, seconds: np.ndarray) -> np.ndarray:
        """Beat positions (fractional beat indices) of times, extrapolated past the grid's ends."""
        idx = np.arange(len(self.times), dtype=np.float64)
        pos = np.interp(seconds, self.times, idx)
        period = float(np.median(np.diff(self.times)))
        pos = np.where(seconds < self.times[0], (seconds - self.times[0]) / period, pos)
        return np.where(seconds > self.times[-1], idx[-1] + (seconds - self.times[-1]) / period, pos)


def _grid(path: Path, metre: Metre) -> _Grid:
    rows = _read_rows(path, 3)
    values = _floats(path, rows, (0, 1, 2))
    times, half, down = values[:, 0], values[:, 1] > 0.5, values[:, 2] > 0.5
    if len(times) < 2 or not (np.diff(times) > 0).all():
        raise Pop909Error(f"{path}: beat times must increase (at least 2 beats)")
    # duple: the downbeat flags; triple and compound: the half-bar flags mark the bars (module doc)
    marks = down if (metre.beats_per_bar == 4 and not metre.compound) else (half | down)
    bar_rows = np.flatnonzero(marks)
    if len(bar_rows) == 0:
        raise Pop909Error(f"{path}: no downbeat flag in the third column")
    return _Grid(times, bar_rows)


def _bar_lines(grid: _Grid, last_beat: float, beats_per_bar: int) -> np.ndarray:
    """Bar lines in beats from the first annotated bar line, extended before and after the grid."""
    lines = (grid.bar_rows - grid.bar_rows[0]).astype(np.float64)
    after = np.arange(lines[-1] + beats_per_bar, last_beat + beats_per_bar + 1e-9, beats_per_bar)
    return np.concatenate([lines, after])


def _quantise(beats: float) -> float:
    return max(0.5, round(beats * 2) / 2)


def read_song(folder: str | Path, metre: Metre = Metre(4, False), title: str = "", artist: str = "") -> Pop909Song:
    """Read one song folder; Pop909Error naming the file when a file is missing or unreadable."""
    folder = Path(folder)
    if not folder.is_dir():
        raise Pop909Error(f"{folder}: song folder not found")
    grid = _grid(folder / "beat_midi.txt", metre)
    chord_path, key_path = folder / "chord_midi.txt", folder / "key_audio.txt"
    chord_rows = _read_rows(chord_path, 3)
    chord_times = _floats(chord_path, chord_rows, (0, 1))
    key_rows = _read_rows(key_path, 3)
    key_times = _floats(key_path, key_rows, (0, 1))
    try:
        keys_abs = [parse_key(row[2]) for row in key_rows]
    except ValueError as exc:
        raise Pop909Error(f"{key_path}: {exc}") from None
    origin = float(grid.bar_rows[0])  # beat index of the first bar line
    chord_beats = grid.beats_at(chord_times) - origin
    key_beats = grid.beats_at(key_times) - origin
    keys = tuple(KeySpan(float(a), float(b), tonic, mode) for (a, b), (tonic, mode) in zip(key_beats, keys_abs))
    last_beat = float(max(chord_beats.max(), len(grid.times) - 1 - origin))
    bar_lines = _bar_lines(grid, last_beat, metre.beats_per_bar)
    key_starts = np.asarray([k.start for k in keys])

    chords: list[PopChord] = []
    segment, previous_key = 0, None
    pending: list = []  # [start, end, (r, q, b), key index] of the current run before merging
    for (start, end), row in zip(chord_beats, chord_rows):
        try:
            parsed = parse_chord(row[2])
        except ValueError as exc:
            raise Pop909Error(f"{chord_path}: {exc}") from None
        if end <= start:
            continue
        if parsed is None:
            if pending:
                segment += 1
            pending = []
            continue
        # the key in effect at the chord's start (the first key also covers chords before it)
        key_index = max(int(np.searchsorted(key_starts, start + 1e-6)) - 1, 0)
        if previous_key is not None and key_index != previous_key and pending:
            segment += 1
            pending = []
        previous_key = key_index
        tonic, mode = keys[key_index].tonic, keys[key_index].mode
        shift = normalising_shift(tonic, mode)
        root, quality, bass = parsed
        event = ChordEvent((root + shift) % 12, quality, (bass + shift) % 12, 0.0)
        if (pending and chords and chords[-1].segment == segment
                and (chords[-1].event.root, chords[-1].event.quality, chords[-1].event.bass)
                == (event.root, event.quality, event.bass) and abs(chords[-1].start + chords[-1].event.beats - start) < 0.25):
            last = chords[-1]
            merged = ChordEvent(last.event.root, last.event.quality, last.event.bass, _quantise(end - last.start))
            chords[-1] = PopChord(merged, last.start, last.bar, last.beat_in_bar, last.bar_length, last.mode, segment)
            continue
        pending = [start]
        start = round(start * 2) / 2  # onsets on the half-beat grid, so that bar and beat agree
        bar = int(np.searchsorted(bar_lines, start + 1e-6)) - 1
        if bar >= 0:
            line = float(bar_lines[bar])
            length = float(bar_lines[bar + 1] - line) if bar + 1 < len(bar_lines) else float(metre.beats_per_bar)
        else:  # a pick-up before the first bar line: counted back from it
            length = float(metre.beats_per_bar)
            line = float(bar_lines[0]) - length * np.ceil((bar_lines[0] - start) / length)
            bar = -int(np.ceil((bar_lines[0] - start) / length))
        chords.append(PopChord(ChordEvent(event.root, event.quality, event.bass, _quantise(end - start)),
                               float(round(start * 2) / 2), bar, float(round((start - line) * 2) / 2), length, mode,
                               segment))
    if not chords:
        raise Pop909Error(f"{chord_path}: no chord (only N)")
    # renumber segments 0..k-1
    ids = {s: i for i, s in enumerate(sorted({c.segment for c in chords}))}
    chords = [PopChord(c.event, c.start, c.bar, c.beat_in_bar, c.bar_length, c.mode, ids[c.segment]) for c in chords]
    tempo = 60.0 / float(np.median(np.diff(grid.times)))
    return Pop909Song(folder.name, folder, title, artist, metre, tempo, tuple(float(x) for x in bar_lines),
                      keys, tuple(chords), _phrase_offset(chords))


def _phrase_offset(chords: Sequence[PopChord]) -> int:
    """The 4-bar phrase alignment: the offset whose phrase starts hold the most tonic-chord onsets on
    the bar line (ties: the first chord's bar). A heuristic; POP909 here has no phrase annotations."""
    votes = np.zeros(4)
    for chord in chords:
        tonic = 0 if chord.mode == "major" else 9
        if chord.beat_in_bar == 0 and chord.event.root == tonic and chord.bar >= 0:
            votes[chord.bar % 4] += 1
    first = chords[0].bar % 4
    votes[first] += 0.5
    return int(np.argmax(votes))


# --------------------------------------------------------------------------------------------
# The corpus: index, parallel reading, cache
def read_index(root: Path) -> dict[str, tuple[Metre, str, str]]:
    """song id -> (metre, title, artist) from ``index.csv`` (empty when the file is absent)."""
    path = root / "index.csv"
    if not path.is_file():
        return {}
    out = {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                beats = int(row["num_beats_per_measure"])
                quavers = int(row["num_quavers_per_beat"])
                compound = quavers == 3
                # duple -> 4/4 (or 6/8 as two dotted beats); triple -> 3/4 (9/8 when compound)
                per_bar = 3 if beats == 3 else (2 if compound else 4)
                out[f"{int(row['song_id']):03d}"] = (Metre(per_bar, compound), row.get("name", ""), row.get("artist", ""))
    except (OSError, KeyError, ValueError) as exc:
        raise Pop909Error(f"{path}: cannot read the song index ({exc})") from None
    return out


def _read_one(args: tuple[str, str, Metre, str, str]) -> tuple[str, Pop909Song | None, str | None]:
    song_id, folder, metre, title, artist = args
    try:
        return song_id, read_song(folder, metre, title, artist), None
    except Pop909Error as exc:
        return song_id, None, str(exc)


def cache_dir() -> Path:
    """Where the parsed corpus is cached (MOODCHORDS_CACHE_DIR overrides the platform default)."""
    override = os.environ.get("MOODCHORDS_CACHE_DIR")
    if override:
        return Path(override) / "pop909"
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("moodchords")) / "pop909"


def _content_key(root: Path, ids: Sequence[str]) -> str:
    digest = hashlib.sha256(POP909_READER_VERSION.encode())
    index = root / "index.csv"
    digest.update(index.read_bytes() if index.is_file() else b"-")
    for song_id in ids:
        digest.update(song_id.encode())
        for name in ANNOTATION_FILES:
            try:
                digest.update((root / song_id / name).read_bytes())
            except OSError:
                digest.update(b"<missing>")
    return digest.hexdigest()


def _song_root(data_dir: Path) -> Path:
    return data_dir / "pop909" if (data_dir / "pop909").is_dir() and not (data_dir / "001").is_dir() else data_dir


def load_pop909(data_dir: str | Path, songs: Iterable[int] = TRAIN_SONGS, *, workers: int = 2,
                use_cache: bool = True, progress: Progress | None = None) -> Pop909Corpus:
    """Read POP909 songs (ids as numbers, e.g. TRAIN_SONGS) in ``workers`` processes, cached.

    data_dir: the shared data folder or its pop909/ subfolder. Unusable songs are skipped with a
    reason naming the file (Pop909Corpus.skipped); InvalidModelInput when the folder is absent or
    no song could be read."""
    root = _song_root(Path(data_dir))
    if not root.is_dir():
        raise InvalidModelInput(f"POP909 folder {root} does not exist; allowed: the shared data folder or its pop909/")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidModelInput(f"workers={workers!r} not allowed; allowed: an integer >= 1")
    ids = [f"{int(n):03d}" for n in songs]
    if not ids:
        raise InvalidModelInput("no POP909 songs requested; allowed: song numbers such as range(1, 701)")
    cached = cache_dir() / f"{_content_key(root, ids)}.pickle" if use_cache else None
    if cached is not None and cached.is_file():
        try:
            with open(cached, "rb") as fh:
                corpus = pickle.load(fh)
            if isinstance(corpus, Pop909Corpus):
                return corpus
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError):
            pass  # damaged or from an incompatible build: read again and replace
    index = read_index(root)
    jobs = [(i, str(root / i), *index.get(i, (Metre(4, False), "", ""))) for i in ids]
    results: list[tuple[str, Pop909Song | None, str | None]] = []
    if workers == 1 or len(jobs) < 8:
        for n, job in enumerate(jobs):
            results.append(_read_one(job))
            if progress is not None:
                progress(f"reading POP909 {job[0]}", (n + 1) / len(jobs))
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for n, result in enumerate(pool.map(_read_one, jobs, chunksize=max(1, len(jobs) // (workers * 8)))):
                results.append(result)
                if progress is not None:
                    progress(f"reading POP909 {result[0]}", (n + 1) / len(jobs))
    songs_read = tuple(song for _, song, _ in results if song is not None)
    skipped = tuple((i, reason) for i, song, reason in results if song is None)
    if not songs_read:
        raise InvalidModelInput(f"no POP909 song could be read in {root} (first problem: {skipped[0][1]})")
    corpus = Pop909Corpus(songs_read, skipped)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            # permissions=None: the cache keeps mkstemp's private mode, as before
            write_bytes_atomic(cached, pickle.dumps(corpus, protocol=pickle.HIGHEST_PROTOCOL),
                               prefix=".tmp-", suffix=".pickle", permissions=None)
        except OSError:
            pass  # a read-only cache must not stop reading
    return corpus
