"""The history list: compositions from this and earlier sessions, newest first. Click one to
restore it, Delete (key or button) to remove it. A notice at the top says when the history had to
be recovered (assistant.history.HistoryStore.notice)."""
from __future__ import annotations

import time
from typing import Any, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                               QWidget)

from gui import theme


def _field(record: Any, name: str, default: Any = None) -> Any:
    """History records may be dataclasses or mappings."""
    if isinstance(record, dict):
        return record.get(name, default)
    return getattr(record, name, default)


def _when(created_at: float | None) -> str:
    if not created_at:
        return ""
    local = time.localtime(created_at)
    today = time.localtime()
    if local[:3] == today[:3]:
        return time.strftime("today %H:%M", local)
    return time.strftime("%d %b %H:%M", local)


def record_title(record: Any) -> str:
    return str(_field(record, "request_text") or _field(record, "transcript") or "(untitled)")


def record_details(record: Any) -> str:
    """When, the key and the first chords, from a history record's stored progression."""
    progression = _field(record, "progression") or {}
    key_name = progression.get("key", "") if isinstance(progression, dict) else ""
    chords = progression.get("chords", ()) if isinstance(progression, dict) else ()
    names = [str(chord.get("name", "")) for chord in chords if isinstance(chord, dict) and chord.get("name")]
    parts = [part for part in (_when(_field(record, "created_at")), key_name,
                               " ".join(names[:6]) + (" …" if len(names) > 6 else "")) if part]
    return "  ·  ".join(parts)


class HistoryPanel(QWidget):
    restoreRequested = Signal(str)  # record id
    deleteRequested = Signal(str)  # record id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.notice = QLabel("")  # why the history was recovered (renamed as corrupt, read-only, ...)
        self.notice.setObjectName("notice")
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(f"color: {theme.BUSY.name()};")
        self.notice.hide()
        title = QLabel("History")
        title.setObjectName("title")
        self.caption = QLabel("Your compositions, newest first")
        self.caption.setObjectName("caption")
        self.caption.setWordWrap(True)
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setTextElideMode(Qt.ElideRight)
        self.list.setVerticalScrollMode(QListWidget.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Remove the selected composition from the history (Del)")
        self.delete_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.delete_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(8)
        layout.addWidget(self.notice)
        layout.addWidget(title)
        layout.addWidget(self.caption)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)
        self.setMinimumWidth(210)

        self.list.itemClicked.connect(self._clicked)
        self.list.itemActivated.connect(self._clicked)
        self.list.currentItemChanged.connect(lambda item, _: self.delete_button.setEnabled(item is not None))
        self.delete_button.clicked.connect(self._delete_current)

    def set_records(self, records: Sequence[Any], select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        for record in records:
            item = QListWidgetItem(f"{record_title(record)}\n{record_details(record)}")
            record_id = str(_field(record, "id"))
            item.setData(Qt.UserRole, record_id)
            item.setToolTip(record_title(record))
            self.list.addItem(item)
            if select is not None and record_id == select:
                self.list.setCurrentItem(item)
        self.list.blockSignals(False)
        self.delete_button.setEnabled(self.list.currentItem() is not None)
        self.caption.setText("Your compositions, newest first" if records else
                             "Nothing yet: every composition is kept here, across sessions.")

    def set_notice(self, text: str | None) -> None:
        """Show a one-line notice above the list (None hides it)."""
        self.notice.setText(text or "")
        self.notice.setToolTip(text or "")
        self.notice.setVisible(bool(text))

    def set_unavailable(self, reason: str) -> None:
        self.list.clear()
        self.list.setEnabled(False)
        self.caption.setText(f"History unavailable: {reason}")

    def record_ids(self) -> list[str]:
        return [self.list.item(row).data(Qt.UserRole) for row in range(self.list.count())]

    def _clicked(self, item: QListWidgetItem) -> None:
        self.restoreRequested.emit(item.data(Qt.UserRole))

    def _delete_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.deleteRequested.emit(item.data(Qt.UserRole))

    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() in (Qt.Key_Delete, Qt.Key_Backspace):
            self._delete_current()
            event.accept()
            return
        super().keyPressEvent(event)
