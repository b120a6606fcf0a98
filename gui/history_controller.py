"""The history beside the piano roll: lists the stored compositions, restores one on a click,
deletes on the io worker, and says when the store had to be recovered (its `notice`: renamed as
corrupt, opened read-only, or kept in memory) in the window's status line and above the list."""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel, QStatusBar

from assistant.errors import USER_ERRORS
from gui import theme
from gui.history_panel import HistoryPanel
from gui.jobs import DeleteHistoryJob, JobBoard

HISTORY_SIZE = 200  # compositions listed
ShowError = Callable[[str, str], None]  # (title, message): an error dialog


class HistoryController(QObject):
    """Connects an assistant.history.HistoryStore (or None: no history) to the panel."""

    restored = Signal(object)  # a Composition rebuilt from a history record

    def __init__(self, history: Any, panel: HistoryPanel, status_bar: QStatusBar, jobs: JobBoard,
                 show_error: ShowError, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.history = history
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
        jobs.on(DeleteHistoryJob, finished=lambda job, result: self.refresh(), failed=self._delete_failed)

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

    def delete(self, record_id: str) -> None:
        self.jobs.submit(DeleteHistoryJob(self.history, record_id))

    def _delete_failed(self, job: DeleteHistoryJob, message: str, error: BaseException) -> None:
        self.refresh()
        self.show_error("Could not delete", message)
