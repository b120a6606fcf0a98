"""models.atomic_files: a reader sees the old file or the whole new one; failures leave no trace."""
from __future__ import annotations

import os
import stat

import pytest

from models.atomic_files import atomic_output, atomic_path, write_bytes_atomic, write_text_atomic


def test_writes_replace_the_file_whole_and_leave_no_temporary(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("old")
    write_text_atomic(target, "new ünïcode")
    assert target.read_text(encoding="utf-8") == "new ünïcode"
    write_bytes_atomic(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644  # readable by the user's other programs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_failure_keeps_the_old_file_and_removes_the_temporary(tmp_path):
    target = tmp_path / "song.mid"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(target) as stream:
            stream.write(b"half")
            raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid"]


def test_temporary_names_follow_the_callers_pattern(tmp_path):
    target = tmp_path / "song.mid"
    seen = []
    with atomic_path(target, prefix=".song.mid.", suffix=".tmp") as temporary:
        seen.append(temporary.name)
        assert temporary.parent == tmp_path and not target.exists()
        temporary.write_bytes(b"data")
    assert seen[0].startswith(".song.mid.") and seen[0].endswith(".tmp")
    assert target.read_bytes() == b"data"


def test_a_missing_folder_raises_oserror_and_writes_nothing(tmp_path):
    with pytest.raises(OSError):
        write_text_atomic(tmp_path / "missing" / "x.json", "{}")
    assert not (tmp_path / "missing").exists()
    assert os.listdir(tmp_path) == []
