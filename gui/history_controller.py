"""The history beside the piano roll: lists the stored compositions, restores one on a click,
deletes on the io worker (after a confirmation; with the MIDI file the app wrote for that
composition), and says when the store had to be recovered (its `notice`: renamed as
corrupt, opened read-only, or kept in memory) in the window's status line and above the list."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QMessageBox, QStatusBar

from assistant.errors import USER_ERRORS
from gui import theme
from gui.history_panel import HistoryPanel
from gui.jobs import DeleteHistoryJob, JobBoard

HISTORY_SIZE = 200  # compositions listed
ShowError = Callable[[str, str], None]  # (title, message): an error dialog
OutputFolder = Callable[[], Path | None]  # the folder the app writes compositions' MIDI files into


def app_written_file(midi_path: str | None, output_folder: Path | None) -> Path | None:
    """The composition's MIDI file if the app wrote it (a file inside its output folder), else
    None: a file the user exported or keeps elsewhere is never deleted with the history entry."""
    if not midi_path or output_folder is None:
        return None
    try:
        path = Path(midi_path).resolve()
        folder = Path(output_folder).resolve()
    except (OSError, RuntimeError):
        return None
    if path.parent != folder and folder not in path.parents:
        return None
    return path if path.suffix.lower() in (".mid", ".midi") and path.is_file() else None


class HistoryController(QObject):
    """Connects an assistant.history.HistoryStore (or None: no history) to the panel."""

    restored = Signal(object)  # a Composition rebuilt from a history record

    def __init__(self, history: Any, panel: HistoryPanel, status_bar: QStatusBar, jobs: JobBoard,
                 show_error: ShowError, parent: QObject | None = None,
                 output_folder: OutputFolder = lambda: None) -> None:
        super().__init__(parent)
        self.history = history
        self.output_folder = output_folder
        self.panel = panel
        self.jobs = jobs
        self.show_error = show_error
        # A normal status-bar widget: passing messages cover it for a while, then it shows again.
        self.status_notice = QLabel("")
        self.status_notice.setStyleSheet(f"color: {theme.BUSY.name()};")
        self.status_notice.hide()
        status_bar.addWidget(self.status_notice, 1)
        panel.restoreRequested.connect(self.restore)
        panel.deleteRequested.connect(self.delete)
        jobs.on(DeleteHistoryJob, finished=self._deleted, failed=self._delete_failed)
        self._files_to_delete: dict[str, Path] = {}  # record id -> the MIDI file it goes with

    @property
    def notice(self) -> str | None:
        """The store's one-line explanation of a recovery, if it had to recover."""
        return getattr(self.history, "notice", None) if self.history is not None else None

    def show_notice(self) -> None:
        notice = self.notice
        self.status_notice.setText(notice or "")
        self.status_notice.setToolTip(notice or "")
        self.status_notice.setVisible(bool(notice))
        self.panel.set_notice(notice)

    def refresh(self, select: str | None = None) -> None:
        """List the stored compositions again (selecting `select`, a composition id)."""
        if self.history is None:
            return
        self.show_notice()
        try:
            records = self.history.list(HISTORY_SIZE)
        except Exception as error:  # noqa: BLE001 (a broken history must not stop the window)
            self.panel.set_unavailable(str(error))
            return
        self.panel.set_records(records, select=select)

    def restore(self, record_id: str) -> None:
        """Rebuild the composition and emit `restored`; an error dialog when it cannot be."""
        from assistant.pipeline import from_history_record  # noqa: PLC0415

        try:
            record = self.history.get(record_id)
            if record is None:
                raise KeyError(f"composition {record_id} is no longer in the history")
            composition = from_history_record(record)
        except USER_ERRORS + (OSError, KeyError, ValueError, TypeError) as error:
            self.refresh()
            self.show_error("Could not restore", str(error).strip("'\""))
            return
        self.restored.emit(composition)

    def confirm_delete(self, title: str, text: str) -> bool:
        """Asks before a delete (tests patch this or QMessageBox.question)."""
        answer = QMessageBox.question(self.panel, title, text, QMessageBox.Yes | QMessageBox.Cancel,
                                      QMessageBox.Cancel)
        return answer == QMessageBox.Yes

    def delete(self, record_id: str) -> None:
        """After a confirmation: the history entry and the MIDI file the app wrote for it."""
        if self.history is None:
            return
        try:
            record = self.history.get(record_id)
        except Exception:  # noqa: BLE001 (a broken history: the delete job reports it)
            record = None
        name = (record.request_text if record is not None else "") or "this composition"
        try:
            folder = self.output_folder()
        except (OSError, AttributeError):  # no output folder to be had: no file is the app's
            folder = None
        midi_file = app_written_file(record.midi_path if record is not None else None, folder)
        text = f"Delete “{name[:80]}” from the history?"
        if midi_file is not None:
            text += f"\nIts MIDI file {midi_file.name} is deleted too."
        if not self.confirm_delete("Delete composition", text):
            return
        if midi_file is not None:
            self._files_to_delete[record_id] = midi_file
        self.jobs.submit(DeleteHistoryJob(self.history, record_id))

    def _deleted(self, job: DeleteHistoryJob, result: Any) -> None:
        midi_file = self._files_to_delete.pop(job.record_id, None)
        if midi_file is not None:
            try:
                midi_file.unlink(missing_ok=True)
            except OSError as error:
                self.show_error("Could not delete the MIDI file", f"{midi_file}: {error.strerror or error}")
        self.refresh()

    def _delete_failed(self, job: DeleteHistoryJob, message: str, error: BaseException) -> None:
        self._files_to_delete.pop(job.record_id, None)  # the entry stays, so does its file
        self.refresh()
        self.show_error("Could not delete", message)
