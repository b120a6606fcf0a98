"""Export and drag (gui.export_drag): a drag carries the MIDI file the composition already has,
never a second rendering of it; only a composition without a file gets one written."""
from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import mido
import pytest

from assistant.pipeline import Assistant
from gui.export_drag import link_or_reuse
from gui.main_window import MainWindow
from tests.gui_support import CHORD_NAMES, hand_made_composition, temp_settings
from tests.support.unwritable import unwritable_folder


@pytest.fixture
def window(qtbot, tmp_path):
    win = MainWindow(Assistant(output_dir=tmp_path / "out"), settings=temp_settings(tmp_path),
                     drag_folder=tmp_path / "drag", autoload=False)
    qtbot.addWidget(win)
    yield win
    win.shutdown()


def composition_with_its_file(assistant: Assistant, folder: Path):
    """A composition as the pipeline returns it: its MIDI file written once, at midi_path."""
    composition = hand_made_composition()
    path = assistant.export_midi(composition, folder / "20261207-030000-hope-and-wonder-abc123.mid")
    return dataclasses.replace(composition, midi_path=Path(path))


def test_a_drag_carries_the_file_the_composition_already_has(window, qtbot, tmp_path):
    composition = composition_with_its_file(window.assistant, window.assistant.output_dir)
    written = composition.midi_path.stat()
    window.show_composition(composition)
    mime = window.midi_mime_data()
    dragged = Path(mime.urls()[0].toLocalFile())
    assert dragged.parent == window.drag_folder
    assert dragged.name == "a-song-that-expresses-hope-and-wonder - D major - 96 bpm.mid"  # the DAW's clip name
    assert os.path.samefile(dragged, composition.midi_path)  # the same file, linked: not written again
    assert bytes(mime.data("audio/midi")) == composition.midi_path.read_bytes()
    qtbot.wait(300)  # the background preparation ran too
    after = composition.midi_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (written.st_ino, written.st_mtime_ns)
    assert [p.name for p in window.drag_folder.iterdir()] == [dragged.name]  # no temporary link left
    markers = [m.text for track in mido.MidiFile(str(dragged)).tracks for m in track if m.type == "marker"]
    assert markers == list(CHORD_NAMES)


def test_a_composition_whose_file_is_gone_gets_one_written(window, tmp_path):
    composition = composition_with_its_file(window.assistant, window.assistant.output_dir)
    composition.midi_path.unlink()  # deleted since (the history keeps the path)
    window.show_composition(composition)
    dragged = Path(window.midi_mime_data().urls()[0].toLocalFile())
    assert dragged.parent == window.drag_folder and dragged.is_file()
    assert not composition.midi_path.exists()


def test_without_a_link_the_drag_carries_the_composition_file_itself(tmp_path):
    source = tmp_path / "song.mid"
    source.write_bytes(b"MThd")
    folder = unwritable_folder(tmp_path)
    assert link_or_reuse(source, folder / "song - C major - 120 bpm.mid") == source
    (tmp_path / "drag").mkdir()
    linked = link_or_reuse(source, tmp_path / "drag" / "x.mid")
    assert linked == tmp_path / "drag" / "x.mid" and os.path.samefile(linked, source)
    assert link_or_reuse(source, linked) == linked  # already linked: left as it is


# ----------------------------------------------------------------------------- cleanup (issue 16, item 5)
def test_drag_files_are_removed_at_exit_but_the_composition_file_stays(window, qtbot, tmp_path):
    composition = composition_with_its_file(window.assistant, window.assistant.output_dir)
    window.show_composition(composition)
    dragged = Path(window.midi_mime_data().urls()[0].toLocalFile())
    qtbot.wait(300)  # the background preparation ran too
    assert dragged.is_file()
    keep = window.drag_folder / "notes.txt"  # not a drag file: left alone
    keep.write_text("mine")
    removed = window.export.clean_up()
    assert removed == [dragged] and not dragged.exists()
    assert composition.midi_path.is_file()  # only the link went
    assert keep.is_file()


def test_at_start_drag_files_older_than_a_day_are_removed(qtbot, tmp_path):
    folder = tmp_path / "drag"
    folder.mkdir()
    old, fresh = folder / "old - C major - 120 bpm.mid", folder / "fresh - C major - 120 bpm.mid"
    for path in (old, fresh):
        path.write_bytes(b"MThd")
    day_and_a_bit = time.time() - 25 * 3600
    os.utime(old, (day_and_a_bit, day_and_a_bit))
    win = MainWindow(Assistant(output_dir=tmp_path / "out"), settings=temp_settings(tmp_path),
                     drag_folder=folder, autoload=False)
    qtbot.addWidget(win)
    assert not old.exists() and fresh.is_file()
    win.shutdown()


def test_the_app_cleans_the_drag_folder_when_it_exits(qtbot, tmp_path, monkeypatch):
    """gui.app.main's exit path: after the event loop ends, the drag folder is emptied."""
    from PySide6.QtWidgets import QApplication

    import gui.app as app_module

    folder = tmp_path / "drag"
    built = []

    def build_window(**kwargs):
        win = MainWindow(Assistant(output_dir=tmp_path / "out"), settings=temp_settings(tmp_path),
                         drag_folder=folder, autoload=False)
        built.append(win)
        return win

    monkeypatch.setattr(app_module, "build_window", build_window)
    monkeypatch.setattr(app_module, "has_display", lambda: True)
    monkeypatch.setattr("gui.theme.apply_theme", lambda app: None)  # the shared QApplication keeps its look
    monkeypatch.setenv("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "1"))  # main's setdefault: undone after
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"))

    def exec_then_drag():
        win = built[0]
        composition = composition_with_its_file(win.assistant, win.assistant.output_dir)
        win.show_composition(composition)
        dragged = Path(win.midi_mime_data().urls()[0].toLocalFile())
        assert dragged.is_file()
        win.close()  # the user closes the window; exec returns
        return 0

    monkeypatch.setattr(QApplication.instance(), "exec", exec_then_drag)
    assert app_module.main([]) == 0
    assert [p for p in folder.iterdir() if p.suffix == ".mid"] == []


def _drag_files(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{name} - C major - 120 bpm.mid" for name in names]
    for path in paths:
        path.write_bytes(b"MThd")
    return paths


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_each_instance_drags_from_its_own_folder_and_quitting_leaves_the_others(qtbot, tmp_path, monkeypatch):
    """Two running instances (this process and a live `sleep` standing in for the other): each has a
    folder of its own under the user's drag folder, and this one quitting leaves the other's files."""
    import subprocess
    import tempfile

    from gui.export_drag import drag_base_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    other = subprocess.Popen(["sleep", "60"])
    try:
        base = drag_base_folder()
        assert base == tmp_path / f"moodchords-drag-{os.getuid()}" and base.stat().st_mode & 0o777 == 0o700
        others_file, = _drag_files(base / str(other.pid), "the other instance's")
        win = MainWindow(Assistant(output_dir=tmp_path / "out"), settings=temp_settings(tmp_path), autoload=False)
        qtbot.addWidget(win)
        assert win.drag_folder == base / str(os.getpid())
        composition = composition_with_its_file(win.assistant, win.assistant.output_dir)
        win.show_composition(composition)
        dragged = Path(win.midi_mime_data().urls()[0].toLocalFile())
        assert dragged.parent == base / str(os.getpid()) and dragged.is_file()
        qtbot.wait(300)  # the background preparation ran too
        win.export.clean_up()  # what quitting does
        assert not dragged.exists() and not (base / str(os.getpid())).exists()
        assert others_file.is_file()  # the other instance's drag still works
        win.shutdown()
    finally:
        other.kill()
        other.wait()


def test_at_start_only_the_folders_of_gone_or_day_old_instances_are_removed(tmp_path):
    import subprocess

    from gui.export_drag import clean_stale_drag_folders

    base = tmp_path / "drag"
    gone = subprocess.Popen(["true"])
    gone.wait()  # a process id that no longer runs (an instance that crashed)
    running = subprocess.Popen(["sleep", "60"])
    try:
        crashed, = _drag_files(base / str(gone.pid), "crashed")
        live, = _drag_files(base / str(running.pid), "live")
        mine, = _drag_files(base / str(os.getpid()), "mine")
        idle = base / "1"  # pid 1 runs, but its folder was untouched for a day: a reused process id
        _drag_files(idle, "idle")
        _age(idle, 25 * 3600)
        kept = base / "not-an-instance"
        _drag_files(kept, "someone else's")
        foreign = base / "99999999"  # gone, but holds a file that is not a drag file: files kept, folder too
        (foreign / "notes.txt").parent.mkdir()
        (foreign / "notes.txt").write_text("mine")
        removed = clean_stale_drag_folders(base)
        assert sorted(removed) == sorted([crashed.parent, idle])
        assert not crashed.parent.exists() and not idle.exists()
        assert live.is_file() and mine.is_file() and kept.is_dir() and (foreign / "notes.txt").is_file()
    finally:
        running.kill()
        running.wait()
