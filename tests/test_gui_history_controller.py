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



# ----------------------------------------------------------------------------- delete (issue 16, item 5)
def stored_with_its_file(window: MainWindow, store: HistoryStore, midi_path=None):
    """A composition as the pipeline stores it: its MIDI file written into the app's output folder."""
    import dataclasses
    from pathlib import Path

    composition = hand_made_composition()
    if midi_path is None:
        midi_path = window.assistant.output_dir / f"20261207-040000-hope-{composition.id[:6]}.mid"
    path = Path(window.assistant.export_midi(composition, midi_path))
    composition = dataclasses.replace(composition, midi_path=path)
    store.add(to_history_record(composition))
    return composition


def answer_delete(monkeypatch, answer) -> list[str]:
    """The confirmation box answered `answer` (QMessageBox.Yes / Cancel); returns the questions asked."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", question)
    return asked


def test_delete_asks_first_and_cancel_keeps_the_entry_and_its_file(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    store = HistoryStore(tmp_path / "history.sqlite3")
    window = make_window(qtbot, tmp_path, store)
    composition = stored_with_its_file(window, store)
    window.refresh_history()
    asked = answer_delete(monkeypatch, QMessageBox.Cancel)
    window.delete_from_history(composition.id)
    qtbot.wait(300)
    assert len(asked) == 1 and composition.midi_path.name in asked[0]
    assert window.history_panel.record_ids() == [composition.id] and store.get(composition.id) is not None
    assert composition.midi_path.is_file()
    window.shutdown()
    store.close()


def test_a_confirmed_delete_removes_the_entry_and_the_midi_file_the_app_wrote(qtbot, tmp_path, monkeypatch):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QMessageBox

    store = HistoryStore(tmp_path / "history.sqlite3")
    window = make_window(qtbot, tmp_path, store)
    composition = stored_with_its_file(window, store)
    window.refresh_history()
    asked = answer_delete(monkeypatch, QMessageBox.Yes)
    panel = window.history_panel
    panel.list.setCurrentRow(0)
    qtbot.keyClick(panel.list, Qt.Key_Delete)  # the Delete key, as a user presses it
    qtbot.waitUntil(lambda: panel.record_ids() == [], timeout=5000)
    assert len(asked) == 1
    assert store.get(composition.id) is None
    assert not composition.midi_path.exists()
    window.shutdown()
    store.close()


def test_a_file_outside_the_output_folder_is_never_deleted(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    store = HistoryStore(tmp_path / "history.sqlite3")
    window = make_window(qtbot, tmp_path, store)
    elsewhere = tmp_path / "my music"
    elsewhere.mkdir()
    composition = stored_with_its_file(window, store, midi_path=elsewhere / "keep me.mid")
    window.refresh_history()
    asked = answer_delete(monkeypatch, QMessageBox.Yes)
    window.delete_from_history(composition.id)
    qtbot.waitUntil(lambda: window.history_panel.record_ids() == [], timeout=5000)
    assert "MIDI file" not in asked[0]  # the question does not promise to delete it
    assert composition.midi_path.is_file()  # the user's file stays
    window.shutdown()
    store.close()
