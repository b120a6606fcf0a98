"""The real window (gui.app.build_window, offscreen) starts whatever state the history is in, and
says what happened in its status line and above the history list (issue 18, items 2-3): a history
folder that cannot be created, a read-only history file (run without CAP_DAC_OVERRIDE, so that the
file mode holds even for root), and a history locked exclusively by another process."""
from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
import textwrap
from pathlib import Path

from gui.app import build_window
from gui.devices import Devices
from tests.gui_support import temp_settings
from tests.test_history import _healthy_history, _hold_lock, _release, _run_as_unprivileged


def _start(qtbot, tmp_path, history_path: Path):
    # No devices: the window must not need a synth or microphone to tell about its history.
    window = build_window(history_path=history_path, settings=temp_settings(tmp_path), devices=Devices(),
                          autoload=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def _shown_notice(window) -> tuple[str, str]:
    """(status line notice, history panel notice) as visible on screen, "" for a hidden one."""
    status, panel = window.history_controller.status_notice, window.history_panel.notice
    return (status.text() if status.isVisible() else "", panel.text() if panel.isVisible() else "")


def test_a_history_folder_that_cannot_be_created_starts_the_window_in_memory(qtbot, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file where the history folder should be")  # unusable even for root
    window = _start(qtbot, tmp_path, blocker / "moodchords" / "history.sqlite3")
    notice = window.history.notice
    assert window.isVisible() and window.history.read_only
    assert "cannot be created" in notice and "memory" in notice, notice
    assert _shown_notice(window) == (notice, notice)
    window.refresh_history()  # and the history in memory works and keeps saying so
    assert window.history_panel.record_ids() == [] and _shown_notice(window) == (notice, notice)
    assert blocker.read_text() == "a regular file where the history folder should be"
    window.shutdown()


def test_a_history_locked_exclusively_by_another_process_is_shown_and_kept(qtbot, tmp_path):
    path = tmp_path / "history.sqlite3"
    _healthy_history(path)
    holder = _hold_lock(path, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; DELETE FROM compositions WHERE 0")
    try:
        window = _start(qtbot, tmp_path, path)  # waits for the lock (5 s), then goes on in memory
        notice = window.history.notice
        assert window.isVisible() and window.history.read_only
        assert "locked by another program" in notice, notice
        assert _shown_notice(window) == (notice, notice)
        window.shutdown()
    finally:
        _release(holder)
    assert not list(tmp_path.glob("*.corrupt-*"))  # the file was not taken for a damaged one
    from assistant.history import HistoryStore

    with HistoryStore(path) as store:
        assert [r.request_text for r in store.list(10)] == ["two", "one"]


WINDOW_AS_UNPRIVILEGED = textwrap.dedent("""
    import json, os, sys
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    from pathlib import Path
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from gui.app import build_window
    from gui.devices import Devices
    from tests.gui_support import temp_settings
    window = build_window(history_path=sys.argv[1], settings=temp_settings(Path(sys.argv[2])), devices=Devices(),
                          autoload=False)
    window.show()
    app.processEvents()
    status, panel = window.history_controller.status_notice, window.history_panel.notice
    shown = {"status": status.text() if status.isVisible() else "", "panel": panel.text() if panel.isVisible() else ""}
    window.refresh_history()  # the list comes from the read-only file
    print(json.dumps({"visible": window.isVisible(), "notice": window.history.notice,
                      "read_only": window.history.read_only, **shown,
                      "listed": len(window.history_panel.record_ids())}))
    window.shutdown()
""")


def test_a_read_only_history_file_is_shown_and_listed(tmp_path):
    folder = Path(tempfile.mkdtemp(prefix="moodchords-ro-window-"))
    try:
        path = folder / "history.sqlite3"
        _healthy_history(path)
        for companion in folder.iterdir():
            os.chmod(companion, 0o444)
        before = path.read_bytes()
        settings = folder / "settings"
        settings.mkdir()
        code = (WINDOW_AS_UNPRIVILEGED.replace("sys.argv[1]", repr(str(path)))
                .replace("sys.argv[2]", repr(str(settings))))
        report = json.loads(_run_as_unprivileged(code, folder).strip().splitlines()[-1])
        notice = report["notice"]
        assert report["visible"] and report["read_only"] and report["listed"] == 2, report
        assert "read-only" in notice and "will not be kept" in notice, notice
        assert report["status"] == notice and report["panel"] == notice
        assert path.read_bytes() == before and not [p for p in folder.iterdir() if "corrupt" in p.name]
    finally:
        os.chmod(folder, stat.S_IRWXU)
        shutil.rmtree(folder, ignore_errors=True)
