"""HistoryStore on a real SQLite file: add/list/get/delete, durability, corrupt-file recovery."""
from __future__ import annotations

import dataclasses
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


def test_unwritable_location_is_an_invalid_input(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    with pytest.raises(InvalidInput, match="history"):
        HistoryStore(blocker / "sub" / "h.sqlite3")


def test_record_is_frozen():
    record = HistoryRecord(request_text="x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.request_text = "y"
    assert len(record.id) == 32 and record.created_at > 0
