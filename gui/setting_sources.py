"""Where each setting came from, on screen, and one-click corrections (issue 16 items 4 and 10).

Wires the request bar's setting chips to the transport's fields: a composition on screen shows its
key, tempo, bars, metre, form, instrument and intensity as chips saying "request", "you" or "auto"
(assistant.workspace.shown_settings); choosing an alternative in a chip's menu sets that field
("you": it beats the request's words) and recomposes the same request (Assistant.recompose: a
spoken request keeps its transcript; locked chords stay where the new setting allows, transposed by a
key change in the same mode, and a notice in the status line says when they cannot). Reset to Auto
forgets the remembered instrument too. The precedence itself is assistant.pipeline.merge_settings'.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject

from assistant.workspace import shown_settings
from gui.request_bar import SettingChips
from gui.settings import WindowSettings
from gui.transport import TransportBar


class SettingSources(QObject):
    """The chips of the composition on screen and what choosing one does."""

    def __init__(self, chips: SettingChips, transport: TransportBar, settings: WindowSettings,
                 recompose: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.chips = chips
        self.transport = transport
        self.settings = settings
        # MainWindow.recompose: the composition's request again with the fields as they are now
        # (assistant.pipeline.Assistant.recompose keeps its transcript and the locks it can)
        self.recompose = recompose
        self.composition: Any = None  # the composition the chips describe
        # The remembered instrument is a default below the request's words, never a field set now.
        transport.remember_program(settings.program)
        transport.instrument.currentIndexChanged.connect(self._instrument_changed)
        transport.resetToAuto.connect(self._reset)
        chips.settingChosen.connect(self.choose)

    def show(self, composition: Any) -> None:
        """The chips of a composition now on screen."""
        self.composition = composition
        self.chips.show_settings(shown_settings(composition) if composition is not None and
                                 composition.progression is not None else ())

    def choose(self, name: str, value: Any) -> None:
        """A chip's alternative: that field becomes the user's choice (None: Auto), then recompose."""
        self.transport.set_setting(name, value)
        if self.composition is not None:
            self.recompose()

    def _instrument_changed(self, index: int) -> None:
        # Choosing Auto by hand keeps this session's remembered instrument remembered (the output
        # router has just written the field's None to the settings).
        if self.transport.instrument.currentData() is None and self.transport.remembered_program is not None:
            self.settings.program = self.transport.remembered_program

    def _reset(self) -> None:
        self.settings.program = None
        self.settings.sync()
