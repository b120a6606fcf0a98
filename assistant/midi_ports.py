"""MIDI output ports (python-rtmidi): send the music to a DAW or a hardware synth.

Which MIDI system: JACK on Linux when a JACK server runs (else ALSA's sequencer), CoreMIDI on
macOS, Windows MultiMedia on Windows. Without a port name a virtual port "moodchords" is
created that other programs connect to (not possible on Windows: name an existing port, e.g.
a loopMIDI one). rtmidi is imported when needed, not at module import.
"""
from __future__ import annotations

import numbers
import sys
import threading
from typing import Callable

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.jack_environment import JACK_ENVIRONMENT_LOCK
from assistant.score import Score

CLIENT_NAME = "moodchords"  # our client's name in JACK/ALSA/CoreMIDI
VIRTUAL_PORT_NAME = "moodchords"  # the port others connect to
CHANNELS = 16

# MIDI status bytes and controllers
NOTE_OFF_STATUS, NOTE_ON_STATUS, CONTROL_STATUS, PROGRAM_STATUS = 0x80, 0x90, 0xB0, 0xC0
CC_VOLUME, CC_SUSTAIN, CC_ALL_SOUND_OFF, CC_ALL_NOTES_OFF = 7, 64, 120, 123

#: Names accepted for the api argument -> the rtmidi constant's attribute name.
API_NAMES = {"jack": "API_UNIX_JACK", "alsa": "API_LINUX_ALSA", "coremidi": "API_MACOSX_CORE",
             "winmm": "API_WINDOWS_MM"}
API_HINTS = {
    "jack": "no JACK server running? start one (e.g. `jackd -d dummy`, or QjackCtl) with the same user and "
            "JACK_DEFAULT_SERVER",
    "alsa": "no ALSA sequencer (/dev/snd/seq)? load the snd-seq kernel module",
    "coremidi": "CoreMIDI is not available",
    "winmm": "Windows MultiMedia MIDI is not available",
}


def _rtmidi():
    try:
        import rtmidi
    except ImportError as error:
        raise DeviceUnavailable(f"python-rtmidi is not installed ({error}); `pip install python-rtmidi`") from error
    return rtmidi


def platform_apis() -> tuple[str, ...]:
    """The MIDI systems tried on this platform, in order."""
    if sys.platform == "darwin":
        return ("coremidi",)
    if sys.platform.startswith("win"):
        return ("winmm",)
    return ("jack", "alsa")


def _apis_to_try(api: str | None) -> tuple[str, ...]:
    if api is None:
        return platform_apis()
    key = str(api).lower()
    if key not in API_NAMES:
        raise InvalidInput(f"MIDI api {api!r} is not known; use one of {sorted(API_NAMES)} or None (automatic)")
    return (key,)


def _open_client(api: str | None, client_name: str):
    """(rtmidi.MidiOut, api name) for the first MIDI system that works; DeviceUnavailable naming
    each one tried and why it failed."""
    rtmidi = _rtmidi()
    compiled = set(rtmidi.get_compiled_api())
    failures = []
    for name in _apis_to_try(api):
        constant = getattr(rtmidi, API_NAMES[name], None)
        if constant is None or constant not in compiled:
            failures.append(f"{name}: not compiled into python-rtmidi")
            continue
        try:
            with JACK_ENVIRONMENT_LOCK:  # never while PortAudio initialises with JACK hidden (assistant.audio)
                return rtmidi.MidiOut(constant, client_name), name
        except Exception as error:  # rtmidi raises its own SystemError subclasses
            failures.append(f"{name}: {error} ({API_HINTS[name]})")
    raise DeviceUnavailable("No MIDI system available for output; tried " + "; ".join(failures))


def list_midi_outputs(api: str | None = None) -> list[str]:
    """Names of the MIDI ports we can send to (other programs' inputs, hardware).
    DeviceUnavailable when no MIDI system works at all (the message says how to fix it)."""
    client, _ = _open_client(api, f"{CLIENT_NAME}-probe")
    try:
        return list(client.get_ports())
    finally:
        client.delete()


def _as_int(value) -> int | None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        return None
    return int(value)


def _check_7bit(name: str, value: int, low: int = 0) -> int:
    number = _as_int(value)
    if number is None or not low <= number <= 127:
        raise InvalidInput(f"{name} {value!r} is not allowed; use an integer {low}..127")
    return number


def _check_channel(channel: int) -> int:
    number = _as_int(channel)
    if number is None or not 0 <= number < CHANNELS:
        raise InvalidInput(f"MIDI channel {channel!r} is not allowed; use an integer 0..{CHANNELS - 1}")
    return number


class MidiPortPlayer:
    """An open MIDI output: a virtual port "moodchords" (port_name=None) or an existing port.

    Sends note on/off, program and control changes; all_notes_off() silences every channel.
    Works as FluidSynthPlayer(midi_out=...) and plays Scores by itself on its own thread.
    Thread-safe: the player thread and the caller may send at once.
    """

    def __init__(self, port_name: str | None = None, api: str | None = None, client_name: str = CLIENT_NAME,
                 on_position: Callable[[float], None] | None = None, on_finished: Callable[[], None] | None = None):
        self._out, self.api = _open_client(api, client_name)
        self._lock = threading.RLock()  # rtmidi objects are not thread-safe
        self._sounding: set[tuple[int, int]] = set()  # (channel, pitch) currently on
        self._closed = False
        try:
            if port_name is None:
                if self.api == "winmm":
                    raise DeviceUnavailable(
                        "Windows cannot create virtual MIDI ports; name an existing port (e.g. one made with "
                        f"loopMIDI); available: {self._out.get_ports()}")
                self._out.open_virtual_port(VIRTUAL_PORT_NAME)
                self.port_name = VIRTUAL_PORT_NAME  # the port we offer
            else:
                self.port_name = self._open_existing(str(port_name))
        except BaseException:
            self._out.delete()
            raise
        self._sequencer = None
        self._on_position, self._on_finished = on_position, on_finished

    def _open_existing(self, wanted: str) -> str:
        """Open a port by exact name, else by a unique case-insensitive part of its name."""
        ports = list(self._out.get_ports())
        if wanted in ports:
            index = ports.index(wanted)
        else:
            matches = [i for i, name in enumerate(ports) if wanted.lower() in name.lower()]
            if len(matches) != 1:
                why = "matches several ports" if matches else "does not exist"
                raise DeviceUnavailable(f"MIDI output port {wanted!r} {why}; available ports ({self.api}) = {ports}"
                                        + ("" if ports else " (start the synth or DAW first)"))
            index = matches[0]
        self._out.open_port(index, f"{VIRTUAL_PORT_NAME}-out")
        return ports[index]

    # -- raw messages
    def _send(self, message: list[int]) -> None:
        with self._lock:
            if self._closed:
                return
            self._out.send_message(message)

    def note_on(self, channel: int, pitch: int, velocity: int) -> None:
        channel, pitch = _check_channel(channel), _check_7bit("pitch", pitch)
        velocity = _check_7bit("velocity", velocity, 1)
        with self._lock:
            self._send([NOTE_ON_STATUS | channel, pitch, velocity])
            self._sounding.add((channel, pitch))

    def note_off(self, channel: int, pitch: int) -> None:
        channel, pitch = _check_channel(channel), _check_7bit("pitch", pitch)
        with self._lock:
            self._send([NOTE_OFF_STATUS | channel, pitch, 0])
            self._sounding.discard((channel, pitch))

    def program_change(self, channel: int, program: int) -> None:
        self._send([PROGRAM_STATUS | _check_channel(channel), _check_7bit("program", program)])

    def control_change(self, channel: int, controller: int, value: int) -> None:
        self._send([CONTROL_STATUS | _check_channel(channel), _check_7bit("controller", controller),
                    _check_7bit("value", value)])

    def set_volume(self, volume: float) -> None:
        """Channel volume (CC7) 0..1 on every channel."""
        try:
            value = float(volume)
        except (TypeError, ValueError):
            value = float("nan")
        if not 0.0 <= value <= 1.0:
            raise InvalidInput(f"volume {volume!r} is not allowed; use a number from 0.0 to 1.0")
        for channel in range(CHANNELS):
            self.control_change(channel, CC_VOLUME, round(value * 127))

    def all_notes_off(self) -> None:
        """Release every note on every channel: explicit note-offs for what we started (some
        synths ignore CC123), sustain pedal up, all-notes-off."""
        with self._lock:
            for channel, pitch in sorted(self._sounding):
                self._send([NOTE_OFF_STATUS | channel, pitch, 0])
            self._sounding.clear()
            for channel in range(CHANNELS):
                self._send([CONTROL_STATUS | channel, CC_SUSTAIN, 0])
                self._send([CONTROL_STATUS | channel, CC_ALL_NOTES_OFF, 0])

    def all_sounds_off(self) -> None:
        """Silence now (stop): all_notes_off() plus all-sound-off, which also cuts release tails."""
        with self._lock:
            self.all_notes_off()
            for channel in range(CHANNELS):
                self._send([CONTROL_STATUS | channel, CC_ALL_SOUND_OFF, 0])

    # -- standalone playback (same player thread as FluidSynthPlayer)
    def _player(self):
        if self._sequencer is None:
            from assistant.playback import ScoreSequencer

            self._sequencer = ScoreSequencer(lambda: [self], self._on_position, self._on_finished,
                                             name="moodchords-midi-player")
        return self._sequencer

    def play(self, score: Score, loop: bool = False, start_beats: float = 0.0) -> None:
        """Play a Score to the port on a player thread; returns at once."""
        if self._closed:
            raise InvalidInput("this MIDI port is closed; open a new MidiPortPlayer")

        def prepare(_score: Score, _stop) -> bool:
            for channel, program in sorted((score.programs or {}).items()):
                self.program_change(channel, program)
            return True

        self._player().play(score, loop=loop, start_beats=start_beats, prepare=prepare)

    def stop(self) -> None:
        if self._sequencer is not None:
            self._sequencer.stop()
        else:
            self.all_sounds_off()

    @property
    def is_playing(self) -> bool:
        return self._sequencer is not None and self._sequencer.is_playing

    def close(self) -> None:
        """Silence, then close the port. Safe to call twice."""
        if self._closed:
            return
        self.stop()
        with self._lock:
            self._closed = True
            self._out.close_port()
            self._out.delete()

    def __enter__(self) -> "MidiPortPlayer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
