"""What the window remembers between sessions (QSettings, organisation "moodchords"): devices,
speech engine and model size, instrument, volume, loop, MIDI output and the window geometry."""
from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings

ORGANISATION = "moodchords"
APPLICATION = "moodchords"


def default_settings() -> QSettings:
    return QSettings(ORGANISATION, APPLICATION)


class WindowSettings:
    """Typed access to the remembered values; `None` / defaults when nothing was stored yet."""

    def __init__(self, store: QSettings | None = None) -> None:
        self.store = store if store is not None else default_settings()

    def _get(self, key: str, default: Any, kind: type) -> Any:
        value = self.store.value(key, default)
        if value is None:
            return default
        try:
            if kind is bool:  # INI files hand back "true"/"false" strings
                return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes")
            return kind(value)
        except (TypeError, ValueError):
            return default

    def _set(self, key: str, value: Any) -> None:
        if value is None:
            self.store.remove(key)
        else:
            self.store.setValue(key, value)

    # Devices and engines (None = the system default / the library default).
    @property
    def input_device(self) -> str | None:
        return self._get("devices/input", None, str) or None

    @input_device.setter
    def input_device(self, value: str | None) -> None:
        self._set("devices/input", value)

    @property
    def midi_output(self) -> str | None:
        return self._get("devices/midi_output", None, str) or None

    @midi_output.setter
    def midi_output(self, value: str | None) -> None:
        self._set("devices/midi_output", value)

    @property
    def use_synth(self) -> bool:
        return self._get("devices/use_synth", True, bool)

    @use_synth.setter
    def use_synth(self, value: bool) -> None:
        self._set("devices/use_synth", bool(value))

    @property
    def speech_engine(self) -> str | None:
        return self._get("speech/engine", None, str) or None

    @speech_engine.setter
    def speech_engine(self, value: str | None) -> None:
        self._set("speech/engine", value)

    @property
    def speech_model(self) -> str | None:
        return self._get("speech/model", None, str) or None

    @speech_model.setter
    def speech_model(self, value: str | None) -> None:
        self._set("speech/model", value)

    # Sound.
    @property
    def program(self) -> int | None:
        """General MIDI program for the chords; None = let the mood choose."""
        value = self._get("sound/program", -1, int)
        return value if 0 <= value <= 127 else None

    @program.setter
    def program(self, value: int | None) -> None:
        self._set("sound/program", -1 if value is None else int(value))

    @property
    def volume(self) -> float:
        return min(max(self._get("sound/volume", 0.8, float), 0.0), 1.0)

    @volume.setter
    def volume(self, value: float) -> None:
        self._set("sound/volume", float(value))

    @property
    def loop(self) -> bool:
        return self._get("sound/loop", False, bool)

    @loop.setter
    def loop(self, value: bool) -> None:
        self._set("sound/loop", bool(value))

    # Window.
    @property
    def geometry(self) -> bytes | None:
        value = self.store.value("window/geometry")
        return bytes(value) if value else None

    @geometry.setter
    def geometry(self, value: bytes) -> None:
        self._set("window/geometry", value)

    @property
    def splitter_state(self) -> bytes | None:
        value = self.store.value("window/splitter")
        return bytes(value) if value else None

    @splitter_state.setter
    def splitter_state(self, value: bytes) -> None:
        self._set("window/splitter", value)

    def sync(self) -> None:
        self.store.sync()
