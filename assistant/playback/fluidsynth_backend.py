"""FluidSynth as a sink: one synthesizer with a SoundFont, used by the live player and offline
renders (pyfluidsynth plus the few libfluidsynth calls it does not wrap).

FluidSynth loads samples on demand (synth.dynamic-sample-loading): opening the 40 MB SF3 takes
milliseconds instead of seconds, and only instruments actually used are decompressed. FluidSynth
frees an instrument's samples as soon as no channel uses it, so every instrument once loaded is
kept "pinned" on a spare, never-played channel (16..31): switching back to it is instant.
"""
from __future__ import annotations

import ctypes
import sys
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.playback.sequencer import PLAYED_CHANNELS

PIN_CHANNELS = 16  # extra FluidSynth channels holding loaded instruments (see module docstring)
MAX_GAIN = 1.0  # FluidSynth master gain at volume 1.0: a 4-note chord + bass stays below clipping
DEFAULT_VOLUME = 0.8  # 0..1
DRUM_CHANNEL = 9  # General MIDI percussion (bank 128 in FluidSynth)
DEFAULT_PROGRAM = 0  # acoustic grand piano: loaded with the SoundFont, the instrument most scores use
# Audio buffering: FluidSynth's default (16 x 64 frames = 23 ms) clicks as soon as other work
# competes for the CPU. A composing tool needs no live-instrument latency, so buffer more.
AUDIO_PERIOD_FRAMES = 512
AUDIO_PERIODS = 8  # 8 x 512 frames = 93 ms at 44.1 kHz


def default_audio_driver() -> str:
    """FluidSynth's audio driver for this platform."""
    if sys.platform == "darwin":
        return "coreaudio"
    if sys.platform.startswith("win"):
        return "wasapi"
    return "pulseaudio"


def check_volume(volume: float) -> float:
    try:
        value = float(volume)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise InvalidInput(f"volume {volume!r} is not allowed; use a number from 0.0 (silent) to 1.0 (full)")
    return value


# --------------------------------------------------------------------------- FluidSynth
def _fluidsynth():
    """The pyfluidsynth module; DeviceUnavailable when libfluidsynth is missing."""
    try:
        import fluidsynth
    except (ImportError, OSError) as error:
        raise DeviceUnavailable(
            f"FluidSynth is not available ({error}); install it with `apt-get install libfluidsynth3` "
            "(macOS: `brew install fluid-synth`) and `pip install pyfluidsynth`") from error
    return fluidsynth


class _FluidApi:
    """The few libfluidsynth calls pyfluidsynth does not wrap (float output, live gain)."""

    def __init__(self, module):
        lib = module._fl
        self.set_gain = lib.fluid_synth_set_gain
        self.set_gain.argtypes = [ctypes.c_void_p, ctypes.c_float]
        self.set_gain.restype = None
        self.write_float = lib.fluid_synth_write_float
        self.write_float.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                     ctypes.c_void_p, ctypes.c_int, ctypes.c_int]
        self.write_float.restype = ctypes.c_int


class Synthesizer:
    """One FluidSynth synthesizer with a SoundFont, instrument pinning, a Sink interface.

    dynamic=True loads an instrument's samples at its first program change (fast start, small
    memory; what the live player and offline renders use; a first program change takes up to
    ~1.5 s, so callers make it off the UI thread). dynamic=False decompresses the whole
    SoundFont in load_soundfont() (seconds, ~200 MB), after which program changes are instant.
    """

    def __init__(self, soundfont: str | Path | None, samplerate: int, gain: float, extra: dict | None = None,
                 dynamic: bool = True):
        from assistant.soundfont import find_soundfont

        module = _fluidsynth()
        self.module = module
        self.api = _FluidApi(module)
        path = Path(soundfont).expanduser() if soundfont else find_soundfont()
        if not path.is_file():
            raise DeviceUnavailable(f"SoundFont {str(path)!r} does not exist; give an existing .sf2/.sf3 file "
                                    "or leave it out to use the one found by assistant.soundfont.find_soundfont()")
        self.soundfont = path
        self.dynamic = dynamic
        settings = {"synth.dynamic-sample-loading": int(dynamic), "synth.cpu-cores": 1}
        settings.update(extra or {})
        self.synth = module.Synth(gain=float(gain), samplerate=float(samplerate),
                                  channels=PLAYED_CHANNELS + PIN_CHANNELS, **settings)
        self.sfid: int | None = None
        self._pins: OrderedDict[int, int] = OrderedDict()  # program -> pin channel (LRU order)
        self.frames_written = 0  # by write_float: offline renders align to FluidSynth's blocks
        self._pin_lock = threading.Lock()
        self.sequencer = None  # FluidSynth's sequencer, once enable_sequencer() ran
        self.scheduled = False  # True: the player hands notes over ahead, timestamped

    def load_soundfont(self) -> None:
        """Load the SoundFont (the slow part unless dynamic); DeviceUnavailable when unusable."""
        sfid = self.synth.sfload(str(self.soundfont))
        if sfid < 0:
            raise DeviceUnavailable(f"FluidSynth could not load the SoundFont {str(self.soundfont)!r} (corrupt or "
                                    "not a .sf2/.sf3 file); replace it, see assets/soundfonts/README.md")
        for channel in range(PLAYED_CHANNELS + PIN_CHANNELS):
            self.synth.sfont_select(channel, sfid)
            if channel < PLAYED_CHANNELS:
                self.synth.program_change(channel, 0)
        self.sfid = sfid

    # -- instrument pinning (see module docstring)
    def load_program(self, program: int) -> None:
        """Make sure the melodic program's samples are loaded and stay loaded (may take seconds)."""
        if not self.dynamic:
            return  # everything is loaded already
        with self._pin_lock:
            if program in self._pins:
                self._pins.move_to_end(program)
                return
            if len(self._pins) >= PIN_CHANNELS:
                _, channel = self._pins.popitem(last=False)
            else:
                channel = PLAYED_CHANNELS + len(self._pins)
            self.synth.program_change(channel, program)
            self._pins[program] = channel

    # -- Sink
    def note_on(self, channel: int, pitch: int, velocity: int) -> None:
        self.synth.noteon(channel, pitch, velocity)

    def note_off(self, channel: int, pitch: int) -> None:
        self.synth.noteoff(channel, pitch)

    def program_change(self, channel: int, program: int) -> None:
        if channel != DRUM_CHANNEL:
            self.load_program(program)
        self.synth.program_change(channel, program)

    def all_notes_off(self) -> None:
        """Release every note (end of a pass): release tails ring out naturally."""
        for channel in range(PLAYED_CHANNELS):
            self.synth.cc(channel, 64, 0)  # sustain pedal up, or "off" notes would keep sounding
            self.synth.all_notes_off(channel)

    def all_sounds_off(self) -> None:
        """Silence now (stop): notes, release tails, sustain."""
        self.all_notes_off()
        for channel in range(PLAYED_CHANNELS):
            self.synth.all_sounds_off(channel)

    # -- timestamped events through FluidSynth's own sequencer (live playback)
    def enable_sequencer(self) -> None:
        """A sequencer driven by the synth's sample clock: events play sample-accurately however
        late Python hands them over (within the lookahead)."""
        self.sequencer = self.module.Sequencer(time_scale=1000, use_system_timer=False)
        self.sequencer_dest = self.sequencer.register_fluidsynth(self.synth)
        remove = self.module._fl.fluid_sequencer_remove_events
        remove.argtypes = [ctypes.c_void_p, ctypes.c_short, ctypes.c_short, ctypes.c_int]
        remove.restype = None
        self._remove_events = remove
        self.scheduled = True

    def current_tick(self) -> int:
        return int(self.sequencer.get_tick())  # milliseconds of rendered audio

    def schedule_note_on(self, channel: int, pitch: int, velocity: int, tick: int) -> None:
        self.sequencer.note_on(tick, channel, pitch, velocity, dest=self.sequencer_dest)

    def schedule_note_off(self, channel: int, pitch: int, tick: int) -> None:
        self.sequencer.note_off(tick, channel, pitch, dest=self.sequencer_dest)

    def cancel_scheduled(self) -> None:
        self._remove_events(self.sequencer.sequencer, -1, self.sequencer_dest, -1)

    def reset(self) -> None:
        """Silence and reset controllers, keeping loaded instruments (offline renders reuse a synth)."""
        for channel in range(PLAYED_CHANNELS):
            self.synth.all_sounds_off(channel)
            self.synth.cc(channel, 121, 0)  # reset all controllers
            self.synth.pitch_bend(channel, 0)
            self.synth.program_change(channel, 0)

    def set_gain(self, gain: float) -> None:
        self.api.set_gain(self.synth.synth, ctypes.c_float(gain))

    def write_float(self, frames: int) -> np.ndarray:
        """Render frames of stereo audio, float32, shape (frames, 2)."""
        out = np.zeros((frames, 2), dtype=np.float32)
        if frames:
            pointer = out.ctypes.data
            self.api.write_float(self.synth.synth, frames, pointer, 0, 2, pointer, 1, 2)
            self.frames_written += frames
        return out

    def delete(self) -> None:
        if self.sequencer is not None:  # before the synth it is registered with
            self.sequencer.delete()
            self.sequencer = None
        self.synth.delete()


def quick_check_soundfont(synth: Synthesizer) -> None:
    """Open the SoundFont with on-demand loading in a throwaway synth (milliseconds), so a broken
    file fails at construction rather than in the background load."""
    probe = Synthesizer(synth.soundfont, 22050, 0.0, dynamic=True)
    try:
        if probe.synth.sfload(str(probe.soundfont)) < 0:
            raise DeviceUnavailable(f"FluidSynth could not load the SoundFont {str(probe.soundfont)!r} (corrupt "
                                    "or not a .sf2/.sf3 file); replace it, see assets/soundfonts/README.md")
    finally:
        probe.delete()
