"""The history of compositions: one SQLite file, every add() committed at once.

WAL journaling + synchronous=NORMAL: a committed record survives the app being killed (a power
cut may lose the last commits, never corrupt the file). A database file that SQLite itself
finds unreadable (not a database, damaged pages, a newer schema) is moved aside with a warning and
a fresh one is created; a healthy file that is locked or read-only is read into memory instead and
never renamed; an unusable folder gives a history in memory. The history never stops the app from
starting, and ``HistoryStore.notice`` says what happened.
"""
from __future__ import annotations

import enum
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


# SQLite's primary result codes (sqlite3.Error.sqlite_errorcode & 0xFF) that decide the recovery.
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6
_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN = 8, 3, 14
_SQLITE_CORRUPT, _SQLITE_NOTADB = 11, 26
LOCK_WAIT_SECONDS = 5.0  # how long opening or adding waits for another program's lock


class _Unreadable(sqlite3.DatabaseError):
    """SQLite itself says the file is not a usable history: not a database, damaged pages
    (quick_check), or a newer schema. Only this moves a file aside."""


def _result_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    return None if code is None else code & 0xFF


def _is_lock_error(error: sqlite3.Error) -> bool:
    return _result_code(error) in (_SQLITE_BUSY, _SQLITE_LOCKED)


def _is_permission_error(error: sqlite3.Error) -> bool:
    return _result_code(error) in (_SQLITE_READONLY, _SQLITE_PERM, _SQLITE_CANTOPEN)


class _Blocked(enum.Enum):
    """Why a healthy history file cannot be written, which decides how it may be read: a file another
    program holds locked is read only through SQLite's locking, never immutable=1 (which would read
    past that program's unfinished writes); a read-only one may be, since nothing else writes it."""

    LOCKED = "is locked by another program"
    READ_ONLY = "is read-only"

    @property
    def uri_modes(self) -> tuple[str, ...]:
        # immutable=1 reads a WAL file in a read-only folder, where mode=ro cannot create the -shm file
        return ("mode=ro",) if self is _Blocked.LOCKED else ("mode=ro", "immutable=1")


class HistoryStore:
    """Compositions kept across sessions. Safe to share between threads.

    Opening never destroys a healthy file and never stops the app: a database that SQLite itself
    finds unreadable is moved aside and a new one started; a locked one is waited for, then read
    into memory; a read-only one is read into memory; an unusable folder gives an empty history in
    memory. In every recovery ``notice`` says what happened in one line (the window shows it) and
    ``read_only`` tells that new compositions will not be kept on disk.
    """

    def __init__(self, path: str | Path | None = None, *, lock_wait_seconds: float = LOCK_WAIT_SECONDS):
        self.path = Path(path).expanduser() if path is not None else default_history_path()
        self.lock_wait_seconds = float(lock_wait_seconds)  # how long to wait for another program's lock
        self.recovered_from: Path | None = None  # where a corrupt database was moved, if one was
        self.notice: str | None = None  # one line for the user when the history is not as usual
        self.read_only = False  # True when new compositions are kept in memory only, not on disk
        self._lock = threading.RLock()
        self._db = self._open_with_recovery()

    # -- opening and recovery
    def _open_with_recovery(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            return self._in_memory(f"the history folder {self.path.parent} cannot be created ({error.strerror or error})")
        if self.path.exists() and not (os.access(self.path, os.R_OK | os.W_OK) and os.access(self.path.parent, os.W_OK | os.X_OK)):
            return self._read_only_copy(_Blocked.READ_ONLY)
        try:
            return self._open_writable()
        except _Unreadable as error:
            try:
                self._move_aside(error)
                return self._open_writable()
            except (OSError, sqlite3.Error) as second:
                return self._in_memory(f"the history database {self.path} is unreadable ({error}) and cannot be "
                                       f"moved aside ({second})")
        except sqlite3.Error as error:
            if _is_lock_error(error):
                return self._read_only_copy(_Blocked.LOCKED)
            if _is_permission_error(error):
                if not self.path.exists():
                    return self._in_memory(f"the history database {self.path} cannot be created ({error})")
                return self._read_only_copy(_Blocked.READ_ONLY)
            return self._in_memory(f"the history database {self.path} cannot be opened ({error})")

    def _open_writable(self) -> sqlite3.Connection:
        """Open the file for reading and writing; writes only when something must change (a new
        file's schema, WAL mode), so a healthy file opens without taking a write lock."""
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=self.lock_wait_seconds)
        try:
            self._check_readable(db)
            if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            if db.execute("PRAGMA user_version").fetchone()[0] == 0:
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute(f"SELECT {_COLUMNS} FROM compositions LIMIT 1").fetchall()  # the columns we need exist
        except BaseException:
            db.close()
            raise
        return db

    @staticmethod
    def _check_readable(db: sqlite3.Connection) -> None:
        """Raise _Unreadable when SQLite says this is not a usable history; other errors pass."""
        try:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as error:
            if _result_code(error) in (_SQLITE_NOTADB, _SQLITE_CORRUPT):
                raise _Unreadable(str(error)) from error
            raise
        if verdict != "ok":
            raise _Unreadable(f"quick_check: {verdict}")
        if version not in (0, SCHEMA_VERSION):
            raise _Unreadable(f"schema version {version}, this app knows {SCHEMA_VERSION}")
        if version == SCHEMA_VERSION:
            try:
                db.execute(f"SELECT {_COLUMNS} FROM compositions LIMIT 1").fetchall()
            except sqlite3.OperationalError as error:
                if _is_lock_error(error):
                    raise
                raise _Unreadable(f"missing columns ({error})") from error

    def _read_only_copy(self, blocked: _Blocked) -> sqlite3.Connection:
        """The file's records, copied into memory (after waiting for a lock); nothing is written
        to the file. Falls back to an empty history in memory when even reading fails."""
        deadline = time.monotonic() + self.lock_wait_seconds
        last_error: Exception | None = None
        why = blocked.value
        for query in blocked.uri_modes:
            while True:
                try:
                    source = sqlite3.connect(f"{self.path.resolve().as_uri()}?{query}", uri=True,
                                             check_same_thread=False, timeout=self.lock_wait_seconds)
                    try:
                        self._check_readable(source)
                        memory = self._new_memory_db()
                        source.backup(memory)
                        memory.executescript(_SCHEMA)  # a version-0 file may have no table yet
                    finally:
                        source.close()
                    self.read_only = True
                    self._announce(f"History: {self.path} {why}; showing what it holds, but new compositions "
                                   "will not be kept after you quit")
                    return memory
                except _Unreadable as error:
                    return self._in_memory(f"the history database {self.path} {why} and unreadable ({error})")
                except sqlite3.Error as error:
                    last_error = error
                    if _is_lock_error(error) and time.monotonic() < deadline:
                        time.sleep(0.1)
                        continue
                    break
        return self._in_memory(f"the history database {self.path} {why} and cannot be read ({last_error})")

    @staticmethod
    def _new_memory_db() -> sqlite3.Connection:
        return sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)

    def _in_memory(self, why: str) -> sqlite3.Connection:
        db = self._new_memory_db()
        db.executescript(_SCHEMA)
        self.read_only = True
        self._announce(f"History: {why}; this session's compositions are kept in memory only")
        return db

    def _announce(self, message: str) -> None:
        self.notice = message
        log.warning(message)

    def _move_aside(self, error: Exception) -> None:
        aside = self.path.with_name(f"{self.path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}")
        os.replace(self.path, aside)
        for suffix in ("-wal", "-shm"):  # the journal belongs to the bad file
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                os.replace(companion, aside.with_name(aside.name + suffix))
        self.recovered_from = aside
        message = f"History database {self.path} was unreadable ({error}); moved it to {aside} and started a new one"
        self.notice = f"History: {self.path.name} was unreadable ({error}); kept it as {aside.name} and started a new one"
        log.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=4)

    def _degrade_to_memory(self, error: sqlite3.Error) -> None:
        """The file stopped accepting writes (locked past the wait, made read-only): go on in
        memory with everything read so far, and say so."""
        memory = self._new_memory_db()
        try:
            self._db.backup(memory)
        except sqlite3.Error:
            memory.executescript(_SCHEMA)
        self._db.close()
        self._db = memory
        self.read_only = True
        reason = _Blocked.LOCKED.value if _is_lock_error(error) else "became read-only"
        self._announce(f"History: {self.path} {reason}; new compositions are kept in memory only until you quit")

    # -- records
    def add(self, record: HistoryRecord) -> HistoryRecord:
        """Store a record, committed before returning; InvalidInput for bad fields or a used id."""
        row = _validated_row(record)
        insert = f"INSERT INTO compositions ({_COLUMNS}) VALUES ({', '.join('?' * len(row))})"
        with self._lock:
            try:
                self._db.execute(insert, row)
            except sqlite3.IntegrityError as error:
                raise InvalidInput(f"history record id {record.id!r} already exists; use a new id") from error
            except sqlite3.OperationalError as error:
                if not (_is_lock_error(error) or _is_permission_error(error)):
                    raise
                self._degrade_to_memory(error)
                self._db.execute(insert, row)
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
            try:
                cursor = self._db.execute("DELETE FROM compositions WHERE id = ?", (str(record_id),))
            except sqlite3.OperationalError as error:
                if not (_is_lock_error(error) or _is_permission_error(error)):
                    raise
                self._degrade_to_memory(error)
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
