"""HistoryStore on a real SQLite file: add/list/get/delete, durability, corrupt-file recovery."""
from __future__ import annotations

import dataclasses
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from assistant.errors import InvalidInput
from assistant.history import HistoryRecord, HistoryStore


def _record(text: str, created_at: float, transcript: str | None = None) -> HistoryRecord:
    return HistoryRecord(
        request_text=text, transcript=transcript, keywords=("hope", "wonder"),
        mood={"valence": 0.6, "arousal": 0.2, "class_weights": {"Q1": 0.7, "Q4": 0.3}},
        settings={"tempo_bpm": 96.0, "key": "D", "mode": "major", "bars": 4},
        progression={"chords": [{"name": "D", "beats": 4.0}, {"name": "Bm7", "beats": 4.0}]},
        seed=1234, midi_path="/tmp/x.mid", midi_bytes=b"MThd\x00\x00\x00\x06", created_at=created_at,
        payload={"arrangement": {"pattern": "pad", "program": 48}, "timings": {"compose": 0.01}})


def test_add_list_get_delete_roundtrip(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite3")
    first = store.add(_record("calm morning", 1000.0))
    second = store.add(_record("hope and wonder", 2000.0, transcript="hope and wonder"))
    assert [r.request_text for r in store.list(10)] == ["hope and wonder", "calm morning"]  # newest first
    assert store.list(1) == [second]
    assert store.get(first.id) == first  # every field comes back equal (bytes, JSON, tuples)
    assert store.get("no-such-id") is None
    assert store.delete(first.id) is True
    assert store.delete(first.id) is False
    assert [r.id for r in store.list(10)] == [second.id]
    assert len(store) == 1
    store.close()


def test_records_survive_reopening(tmp_path):
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        record = store.add(_record("stormy night", 5.0))
    with HistoryStore(path) as reopened:
        assert reopened.get(record.id) == record


def test_add_is_committed_before_the_process_dies(tmp_path):
    """A process that adds a record and is killed right after (no close) loses nothing."""
    path = tmp_path / "h.sqlite3"
    script = textwrap.dedent(f"""
        import os, signal
        from assistant.history import HistoryRecord, HistoryStore
        store = HistoryStore({str(path)!r})
        store.add(HistoryRecord(request_text="written then killed", id="killed"))
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == -9
    with HistoryStore(path) as store:
        assert store.get("killed").request_text == "written then killed"
        assert store.recovered_from is None


def test_wal_mode_is_used(tmp_path):
    path = tmp_path / "h.sqlite3"
    HistoryStore(path).close()
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_corrupt_file_is_moved_aside_and_a_fresh_store_works(tmp_path):
    path = tmp_path / "h.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(RuntimeWarning, match="unreadable"):
        store = HistoryStore(path)
    assert store.recovered_from is not None and store.recovered_from.read_bytes().startswith(b"this is not")
    assert store.list(10) == []
    record = store.add(_record("after recovery", 1.0))
    assert store.get(record.id) == record


def test_damaged_pages_are_detected(tmp_path):
    """A real SQLite file with its table pages overwritten (a crash mid-copy, a bad disk)."""
    path = tmp_path / "h.sqlite3"
    with HistoryStore(path) as store:
        for i in range(200):
            store.add(_record(f"request {i} " + "x" * 200, float(i)))
    sqlite3.connect(path).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # keep the header page, garble the rest
        data[offset:offset + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    with pytest.warns(RuntimeWarning):
        store = HistoryStore(path)
    assert store.list(10) == []
    store.add(_record("fresh", 1.0))
    assert len(store) == 1


def test_bad_records_are_refused_with_the_field_named(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite3")
    with pytest.raises(InvalidInput, match="payload"):
        store.add(HistoryRecord(request_text="x", payload={"f": object()}))
    with pytest.raises(InvalidInput, match="keywords"):
        store.add(HistoryRecord(request_text="x", keywords=(1, 2)))
    with pytest.raises(InvalidInput, match="mood"):
        store.add(HistoryRecord(request_text="x", mood=[1, 2]))
    with pytest.raises(InvalidInput, match="already exists"):
        store.add(HistoryRecord(request_text="x", id="same"))
        store.add(HistoryRecord(request_text="y", id="same"))
    with pytest.raises(InvalidInput, match="limit"):
        store.list(0)
    assert [r.request_text for r in store.list(10)] == ["x"]


def test_unusable_location_gives_a_history_in_memory_and_says_why(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    store = HistoryStore(blocker / "sub" / "h.sqlite3")
    assert store.read_only and "cannot be created" in store.notice and "memory" in store.notice
    store.add(_record("kept for this session", 1.0))
    assert [r.request_text for r in store.list(10)] == ["kept for this session"]
    assert blocker.read_text() == "a file, not a folder"


def test_record_is_frozen():
    record = HistoryRecord(request_text="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.request_text = "y"
    assert len(record.id) == 32 and record.created_at > 0


# -- locked and read-only files are never treated as corrupt (issue 18, item 2)

def _healthy_history(path: Path, texts=("one", "two")) -> None:
    with HistoryStore(path) as store:
        for i, text in enumerate(texts):
            store.add(_record(text, float(i + 1)))


def _hold_lock(path: Path, sql: str) -> subprocess.Popen:
    """Another program holding a lock on the file until its stdin closes."""
    code = textwrap.dedent(f"""
        import sqlite3, sys
        db = sqlite3.connect({str(path)!r}, isolation_level=None)
        for statement in {sql!r}.split(";"):
            db.execute(statement)
        print("locked", flush=True)
        sys.stdin.read()
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def _release(holder: subprocess.Popen) -> None:
    holder.stdin.close()
    holder.wait(timeout=10)


def test_a_history_locked_by_a_writer_opens_without_writing_and_keeps_the_file(tmp_path):
    path = tmp_path / "history.sqlite3"
    _healthy_history(path)
    holder = _hold_lock(path, "BEGIN IMMEDIATE; DELETE FROM compositions WHERE 0")
    try:
        store = HistoryStore(path, lock_wait_seconds=0.3)  # opening a healthy file takes no write lock
        assert store.notice is None and not store.read_only
        assert [r.request_text for r in store.list(10)] == ["two", "one"]
        store.add(_record("while locked", 3.0))  # the lock outlasts the wait: go on in memory, say so
        assert store.read_only and "locked" in store.notice and "memory" in store.notice
        assert [r.request_text for r in store.list(10)] == ["while locked", "two", "one"]
    finally:
        _release(holder)
    assert not list(tmp_path.glob("*.corrupt-*"))
    assert [r.request_text for r in HistoryStore(path).list(10)] == ["two", "one"]


def test_a_history_locked_exclusively_is_waited_for_then_opened_in_memory(tmp_path):
    path = tmp_path / "history.sqlite3"
    _healthy_history(path)
    holder = _hold_lock(path, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; DELETE FROM compositions WHERE 0")
    try:
        store = HistoryStore(path, lock_wait_seconds=0.3)
        assert store.read_only and "locked by another program" in store.notice
        store.add(_record("in memory", 5.0))
        assert [r.request_text for r in store.list(10)] == ["in memory"]
    finally:
        _release(holder)
    assert not list(tmp_path.glob("*.corrupt-*"))
    assert [r.request_text for r in HistoryStore(path).list(10)] == ["two", "one"]


def _run_as_unprivileged(code: str, folder: Path) -> str:
    """Run Python where file modes hold (root ignores them through CAP_DAC_OVERRIDE, so as root the
    child runs without that capability, via util-linux's setpriv); returns its stdout."""
    import os

    command = [sys.executable, "-c", code]
    if os.geteuid() == 0:
        command = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60,
                            cwd=str(Path(__file__).resolve().parents[1]))
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("read_only_part", ["file", "folder"])
def test_a_read_only_history_is_shown_and_never_renamed(tmp_path, read_only_part):
    import os
    import stat
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="moodchords-ro-"))
    try:
        path = folder / "history.sqlite3"
        _healthy_history(path)
        for companion in folder.iterdir():
            os.chmod(companion, 0o444 if read_only_part == "file" else 0o644)
        os.chmod(folder, 0o755 if read_only_part == "file" else 0o555)
        before = path.read_bytes()
        code = textwrap.dedent(f"""
            import json
            from assistant.history import HistoryStore
            from tests.test_history import _record
            store = HistoryStore({str(path)!r}, lock_wait_seconds=0.3)
            store.add(_record("new", 9.0))
            print(json.dumps({{"notice": store.notice, "read_only": store.read_only,
                              "texts": [r.request_text for r in store.list(10)]}}))
        """)
        report = json.loads(_run_as_unprivileged(code, folder).strip().splitlines()[-1])
        assert report["read_only"] and "read-only" in report["notice"] and "will not be kept" in report["notice"]
        assert report["texts"] == ["new", "two", "one"]
        assert path.read_bytes() == before  # untouched and not renamed (SQLite may add its -shm index)
        assert not [p.name for p in folder.iterdir() if "corrupt" in p.name]
    finally:
        os.chmod(folder, stat.S_IRWXU)
        import shutil
        shutil.rmtree(folder, ignore_errors=True)


def test_only_a_file_sqlite_calls_unreadable_is_moved_aside(tmp_path):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"garbage" * 200)  # a damaged header
    with pytest.warns(RuntimeWarning, match="unreadable"):
        store = HistoryStore(path)
    assert store.recovered_from is not None and "unreadable" in store.notice
    assert store.notice.endswith("started a new one") and not store.read_only


def _sqlite_error(kind: type, message: str, code: int | None, name: str | None) -> sqlite3.Error:
    error = kind(message)
    if code is not None:  # as SQLite's own errors carry them (Python 3.11)
        error.sqlite_errorcode, error.sqlite_errorname = code, name
    return error


def test_recovery_is_decided_by_sqlite_result_codes_not_message_text(tmp_path):
    """A real lock and a real read-only file are told by SQLite's result codes (extended codes
    included); an error whose text merely mentions "locked" or "readonly" is neither."""
    from assistant.history import _is_lock_error, _is_permission_error

    path = tmp_path / "history.sqlite3"
    _healthy_history(path)
    holder = _hold_lock(path, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; DELETE FROM compositions WHERE 0")
    try:
        with pytest.raises(sqlite3.OperationalError) as locked:
            sqlite3.connect(path, timeout=0.1).execute("SELECT COUNT(*) FROM compositions").fetchall()
    finally:
        _release(holder)
    assert locked.value.sqlite_errorname == "SQLITE_BUSY" and _is_lock_error(locked.value)
    assert _is_lock_error(_sqlite_error(sqlite3.OperationalError, "recovering", 5 | 1 << 8, "SQLITE_BUSY_RECOVERY"))
    assert _is_permission_error(_sqlite_error(sqlite3.OperationalError, "attempt to write a readonly database",
                                              8, "SQLITE_READONLY"))
    assert _is_permission_error(_sqlite_error(sqlite3.OperationalError, "x", 8 | 5 << 8, "SQLITE_READONLY_DBMOVED"))
    for text in ("table locked_songs has no column x", "no such table: readonly", "unable to open the door"):
        error = _sqlite_error(sqlite3.OperationalError, text, 1, "SQLITE_ERROR")
        assert not _is_lock_error(error) and not _is_permission_error(error), text


def test_a_locked_history_is_never_read_immutable(tmp_path):
    """How a blocked file is read is an explicit choice, not read from a message: a locked file only
    through SQLite's locks (immutable=1 would read past the other program's unfinished writes)."""
    from assistant.history import _Blocked

    assert _Blocked.LOCKED.uri_modes == ("mode=ro",)
    assert _Blocked.READ_ONLY.uri_modes == ("mode=ro", "immutable=1")
