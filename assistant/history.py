"""The history of compositions: one SQLite file, every add() committed at once.

WAL journaling + synchronous=NORMAL: a committed record survives the app being killed (a power
cut may lose the last commits, never corrupt the file). A database file that is not readable
(corrupt, not SQLite, from a newer incompatible schema) is moved aside with a warning and a
fresh one is created: losing history must never stop the app from starting.
"""
from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import InvalidInput

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
DATABASE_NAME = "history.sqlite3"
MAX_LIST = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS compositions (
    id           TEXT PRIMARY KEY,
    created_at   REAL NOT NULL,
    request_text TEXT NOT NULL,
    transcript   TEXT,
    keywords     TEXT NOT NULL,  -- JSON list of strings
    mood         TEXT NOT NULL,  -- JSON object
    settings     TEXT NOT NULL,  -- JSON object
    progression  TEXT NOT NULL,  -- JSON object
    seed         INTEGER,
    midi_path    TEXT,
    midi_bytes   BLOB,
    payload      TEXT NOT NULL   -- JSON object
);
CREATE INDEX IF NOT EXISTS compositions_by_time ON compositions (created_at DESC);
"""


def default_history_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("moodchords")) / DATABASE_NAME


def _new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class HistoryRecord:
    """One composition as stored; JSON fields hold plain dicts/lists (no app classes), so any
    caller can store its own objects by converting them (e.g. dataclasses.asdict)."""

    request_text: str  # what the user asked for (typed, or what speech recognition heard)
    transcript: str | None = None  # the speech transcript; None for typed requests
    keywords: tuple[str, ...] = ()  # mood words found in the request
    mood: dict[str, Any] = field(default_factory=dict)  # JSON: valence, arousal, class weights...
    settings: dict[str, Any] = field(default_factory=dict)  # JSON: tempo, key, bars, program...
    progression: dict[str, Any] = field(default_factory=dict)  # JSON: chords, key, tempo...
    seed: int | None = None  # composer random seed (same seed + settings -> same music)
    midi_path: str | None = None  # where the MIDI file was written
    midi_bytes: bytes | None = None  # the MIDI file itself (optional: survives the file's deletion)
    payload: dict[str, Any] = field(default_factory=dict)  # JSON: anything else (arrangement, timings)
    id: str = field(default_factory=_new_id)  # unique; uuid4 hex by default
    created_at: float = field(default_factory=time.time)  # unix time, seconds


def _json(name: str, value: Any, kind: type) -> str:
    if not isinstance(value, kind):
        raise InvalidInput(f"history field {name} must be a {kind.__name__}, not {type(value).__name__}")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as error:
        raise InvalidInput(f"history field {name} is not storable as JSON ({error}); use plain numbers, "
                           "strings, lists and dicts") from error


def _validated_row(record: HistoryRecord) -> tuple:
    if not isinstance(record, HistoryRecord):
        raise InvalidInput(f"HistoryStore.add needs a HistoryRecord, not {type(record).__name__}")
    if not isinstance(record.id, str) or not record.id.strip():
        raise InvalidInput(f"history record id {record.id!r} is not allowed; use a non-empty string")
    if not isinstance(record.request_text, str):
        raise InvalidInput(f"history request_text must be text, not {type(record.request_text).__name__}")
    if record.transcript is not None and not isinstance(record.transcript, str):
        raise InvalidInput(f"history transcript must be text or None, not {type(record.transcript).__name__}")
    keywords = list(record.keywords) if isinstance(record.keywords, (list, tuple)) else None
    if keywords is None or not all(isinstance(k, str) for k in keywords):
        raise InvalidInput(f"history keywords {record.keywords!r} must be a list of strings")
    if record.seed is not None and (isinstance(record.seed, bool) or not isinstance(record.seed, int)
                                    or not -2**63 <= record.seed < 2**63):
        raise InvalidInput(f"history seed {record.seed!r} must be a 64-bit integer or None")
    try:
        created_at = float(record.created_at)
    except (TypeError, ValueError):
        created_at = float("nan")
    if not created_at == created_at or created_at < 0:
        raise InvalidInput(f"history created_at {record.created_at!r} must be unix time in seconds (>= 0)")
    if record.midi_bytes is not None and not isinstance(record.midi_bytes, (bytes, bytearray, memoryview)):
        raise InvalidInput(f"history midi_bytes must be bytes or None, not {type(record.midi_bytes).__name__}")
    return (record.id, created_at, record.request_text, record.transcript, json.dumps(keywords, ensure_ascii=False),
            _json("mood", record.mood, dict), _json("settings", record.settings, dict),
            _json("progression", record.progression, dict), record.seed,
            None if record.midi_path is None else str(record.midi_path),
            None if record.midi_bytes is None else bytes(record.midi_bytes), _json("payload", record.payload, dict))


_COLUMNS = ("id, created_at, request_text, transcript, keywords, mood, settings, progression, seed, "
            "midi_path, midi_bytes, payload")


def _record_from_row(row: tuple) -> HistoryRecord:
    (id_, created_at, request_text, transcript, keywords, mood, settings, progression, seed, midi_path,
     midi_bytes, payload) = row
    return HistoryRecord(id=id_, created_at=created_at, request_text=request_text, transcript=transcript,
                         keywords=tuple(json.loads(keywords)), mood=json.loads(mood), settings=json.loads(settings),
                         progression=json.loads(progression), seed=seed, midi_path=midi_path,
                         midi_bytes=midi_bytes, payload=json.loads(payload))


class HistoryStore:
    """Compositions kept across sessions. Safe to share between threads."""

    def __init__(self, path: str | Path | None = None):
        self.path = Path(path).expanduser() if path is not None else default_history_path()
        self.recovered_from: Path | None = None  # where a corrupt database was moved, if one was
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise InvalidInput(f"history folder {str(self.path.parent)!r} cannot be created ({error}); "
                               "choose a writable path") from error
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as error:
            if not self.path.exists():  # nothing to recover from: the folder itself is the problem
                raise InvalidInput(f"history database {str(self.path)!r} cannot be created ({error}); "
                                   "choose a writable path") from error
            try:
                self._move_aside(error)
                self._db = self._open()
            except (OSError, sqlite3.Error) as second:
                raise InvalidInput(f"history database {str(self.path)!r} is unreadable and cannot be replaced "
                                   f"({second}); choose another path or fix the folder's permissions") from second

    # -- opening and recovery
    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
                raise sqlite3.DatabaseError("quick_check failed")
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise sqlite3.DatabaseError(f"schema version {version}, this app knows {SCHEMA_VERSION}")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute(f"SELECT {_COLUMNS} FROM compositions LIMIT 1").fetchall()  # the columns we need exist
        except sqlite3.Error as error:
            db.close()
            raise sqlite3.DatabaseError(str(error)) from error
        return db

    def _move_aside(self, error: Exception) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):  # the journal belongs to the bad file
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                os.replace(companion, aside.with_name(aside.name + suffix))
        self.recovered_from = aside
        message = f"History database {self.path} was unreadable ({error}); moved it to {aside} and started a new one"
        log.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=3)

    # -- records
    def add(self, record: HistoryRecord) -> HistoryRecord:
        """Store a record, committed before returning; InvalidInput for bad fields or a used id."""
        row = _validated_row(record)
        with self._lock:
            try:
                self._db.execute(f"INSERT INTO compositions ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})", row)
            except sqlite3.IntegrityError as error:
                raise InvalidInput(f"history record id {record.id!r} already exists; use a new id") from error
        return record

    def list(self, limit: int = 100) -> list[HistoryRecord]:
        """Newest first, at most limit records."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
            raise InvalidInput(f"history limit {limit!r} is not allowed; use an integer 1..{MAX_LIST}")
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM compositions ORDER BY created_at DESC, rowid DESC "
                                    "LIMIT ?", (limit,)).fetchall()
        return [record for record in map(self._decode, rows) if record is not None]

    def get(self, record_id: str) -> HistoryRecord | None:
        """The record, or None when there is none with this id."""
        with self._lock:
            row = self._db.execute(f"SELECT {_COLUMNS} FROM compositions WHERE id = ?", (str(record_id),)).fetchone()
        return None if row is None else self._decode(row)

    def delete(self, record_id: str) -> bool:
        """Remove a record; True when one was removed."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM compositions WHERE id = ?", (str(record_id),))
        return cursor.rowcount > 0

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM compositions").fetchone()[0]

    @staticmethod
    def _decode(row: tuple) -> HistoryRecord | None:
        try:
            return _record_from_row(row)
        except (ValueError, TypeError) as error:  # a row edited by hand: skip it, keep the rest
            log.warning("skipping unreadable history record %r: %s", row[0], error)
            return None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __enter__(self) -> "HistoryStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
