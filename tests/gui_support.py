"""Helpers for the GUI tests: a real Composition built by hand (tests/support/compositions.py),
temp settings, and a recorder for QMessageBox dialogs."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from tests.support.compositions import CHORD_NAMES, hand_made_composition  # noqa: F401 (the GUI tests' import)


def temp_settings(folder: Path):
    from gui.settings import WindowSettings

    return WindowSettings(QSettings(str(folder / "moodchords.ini"), QSettings.IniFormat))


class DialogRecorder:
    """Stands in for QMessageBox.critical/warning so a test never blocks on a modal dialog."""

    def __init__(self) -> None:
        self.shown: list[tuple[str, str]] = []

    def __call__(self, parent, title, text, *args, **kwargs):
        self.shown.append((title, text))
        return 0
