"""The history controller with a real HistoryStore: a recovered history says so in the status line
and above the list; a healthy one shows no notice."""
from __future__ import annotations

import pytest

from assistant.history import HistoryStore
from assistant.pipeline import Assistant, to_history_record
from gui.main_window import MainWindow
from tests.gui_support import hand_made_composition, temp_settings


def make_window(qtbot, tmp_path, history) -> MainWindow:
    window = MainWindow(Assistant(output_dir=tmp_path / "out"), history=history, settings=temp_settings(tmp_path),
                        drag_folder=tmp_path / "drag", autoload=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_recovered_history_says_so_in_the_status_line_and_above_the_list(qtbot, tmp_path):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.warns(RuntimeWarning, match="unreadable"):
        store = HistoryStore(path)
    assert store.notice  # the store moved the damaged file aside and says so
    window = make_window(qtbot, tmp_path, store)
    window.refresh_history()
    status, panel = window.history_controller.status_notice, window.history_panel.notice
    assert status.text() == store.notice and not status.isHidden()
    assert panel.text() == store.notice and not panel.isHidden()
    assert window.history_panel.record_ids() == []  # and the new, empty history works
    store.add(to_history_record(hand_made_composition()))
    window.refresh_history()
    assert len(window.history_panel.record_ids()) == 1
    window.shutdown()
    store.close()


def test_a_healthy_history_shows_no_notice(qtbot, tmp_path):
    store = HistoryStore(tmp_path / "history.sqlite3")
    window = make_window(qtbot, tmp_path, store)
    window.refresh_history()
    assert window.history_controller.status_notice.isHidden() and window.history_panel.notice.isHidden()
    window.shutdown()
    store.close()

