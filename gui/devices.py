"""The hardware the window uses, handed in as factories so tests run the real window with the real
or a virtual device (gui.app.real_devices builds the real ones)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence


@dataclass
class Devices:
    """Factories for the hardware, called on a worker thread; each raises
    assistant.errors.DeviceUnavailable (or another error) when the device is missing."""

    # (on_position(beats), on_finished()) -> a FluidSynthPlayer-like object (play/stop/set_program/set_volume)
    player: Callable[[Callable[[float], None], Callable[[], None]], Any] | None = None
    # (input device name or None) -> a Microphone-like object (start(on_level) ... stop() -> audio)
    microphone: Callable[[str | None], Any] | None = None
    # () -> names of the MIDI output ports
    midi_outputs: Callable[[], Sequence[str]] | None = None
    # (port name or None for a new virtual port "moodchords", on_position, on_finished) -> a MidiPortPlayer
    midi_port: Callable[[str | None, Callable[[float], None], Callable[[], None]], Any] | None = None
    # () -> the 128 General MIDI instrument names
    instrument_names: Callable[[], Sequence[str]] | None = None
