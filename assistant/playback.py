"""Hearing a Score: live playback through FluidSynth (and/or a MIDI port) and offline rendering.

Timing runs on a dedicated player thread (ScoreSequencer) that schedules note events against
the monotonic clock, so the caller (the Qt UI thread) returns at once from play()/stop().
The same sequencer drives any "sink" with note_on/note_off/program_change/all_notes_off, which
is how FluidSynth and a MidiPortPlayer play in sync.

FluidSynth loads samples on demand (synth.dynamic-sample-loading): opening the 40 MB SF3 takes
milliseconds instead of seconds, and only instruments actually used are decompressed. FluidSynth
frees an instrument's samples as soon as no channel uses it, so every instrument once loaded is
kept "pinned" on a spare, never-played channel (16..31): switching back to it is instant.
"""
from __future__ import annotations

import ctypes
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Protocol

import numpy as np

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.score import Score

PositionCallback = Callable[[float], None]  # position in beats from the start of the score
FinishedCallback = Callable[[], None]

POSITION_HZ = 30.0  # playhead updates per second
PLAYED_CHANNELS = 16  # MIDI channels a score may use
PIN_CHANNELS = 16  # extra FluidSynth channels holding loaded instruments (see module docstring)
MAX_GAIN = 1.0  # FluidSynth master gain at volume 1.0: a 4-note chord + bass stays below clipping
DEFAULT_VOLUME = 0.8  # 0..1
DRUM_CHANNEL = 9  # General MIDI percussion (bank 128 in FluidSynth)
DEFAULT_PROGRAM = 0  # acoustic grand piano: loaded with the SoundFont, the instrument most scores use
# Audio buffering: FluidSynth's default (16 x 64 frames = 23 ms) clicks as soon as other work
# competes for the CPU. A composing tool needs no live-instrument latency, so buffer more.
AUDIO_PERIOD_FRAMES = 512
AUDIO_PERIODS = 8  # 8 x 512 frames = 93 ms at 44.1 kHz
LOOKAHEAD_SECONDS = 0.15  # FluidSynth gets notes this early, timestamped on its sample clock
SCHEDULE_LEAD_SECONDS = 0.05  # first notes of a pass: time to hand them over before they are due
# The synth's sample clock falls behind the wall clock when its audio thread misses deadlines
# (PulseAudio then plays silence); beyond this lag the schedule jumps to catch up, so the sound
# stays with the playhead. Normal jitter (render-ahead, up to the buffer) stays well below.
DRIFT_LIMIT_MS = 150
STOP_SETTLE_SECONDS = 0.02  # stop(): second silence after a render period (see ScoreSequencer.stop)


def default_audio_driver() -> str:
    """FluidSynth's audio driver for this platform."""
    if sys.platform == "darwin":
        return "coreaudio"
    if sys.platform.startswith("win"):
        return "wasapi"
    return "pulseaudio"


# --------------------------------------------------------------------------- validation
def _check_channel(channel: int) -> int:
    if not isinstance(channel, (int, np.integer)) or not 0 <= int(channel) < PLAYED_CHANNELS:
        raise InvalidInput(f"MIDI channel {channel!r} is not allowed; use an integer 0..{PLAYED_CHANNELS - 1}")
    return int(channel)


def _check_program(program: int) -> int:
    if not isinstance(program, (int, np.integer)) or not 0 <= int(program) <= 127:
        raise InvalidInput(f"General MIDI program {program!r} is not allowed; use an integer 0..127")
    return int(program)


def _check_volume(volume: float) -> float:
    try:
        value = float(volume)
    except (TypeError, ValueError):
        value = float("nan")
    if not 0.0 <= value <= 1.0:  # also rejects NaN
        raise InvalidInput(f"volume {volume!r} is not allowed; use a number from 0.0 (silent) to 1.0 (full)")
    return value


def _check_score(score: Score, start_beats: float) -> float:
    if not isinstance(score, Score):
        raise InvalidInput(f"play() needs an assistant.score.Score, not {type(score).__name__}")
    if not score.tempo_bpm > 0:
        raise InvalidInput(f"tempo {score.tempo_bpm!r} bpm is not allowed; the score's tempo must be > 0")
    end = _score_end_beats(score)
    try:
        start = float(start_beats)
    except (TypeError, ValueError):
        start = float("nan")
    if not 0.0 <= start <= max(end, 0.0):
        raise InvalidInput(f"start_beats {start_beats!r} is not allowed; use 0..{end:g} (the score's length in beats)")
    return start


def _score_end_beats(score: Score) -> float:
    """Where playback ends (and a loop restarts): the score's length, or its last note-off."""
    if score.length_beats and score.length_beats > 0:
        return float(score.length_beats)
    return max((n.start_beats + n.duration_beats for n in score.notes), default=0.0)


# --------------------------------------------------------------------------- events
NOTE_OFF, NOTE_ON = 0, 1  # at equal times note-offs go first, so a repeated pitch re-sounds


@dataclass(frozen=True)
class NoteEvent:
    beats: float  # when, in beats from the start of the score
    kind: int  # NOTE_OFF or NOTE_ON
    channel: int  # 0..15
    pitch: int  # 0..127
    velocity: int  # 1..127 for NOTE_ON, 0 for NOTE_OFF


def score_events(score: Score, start_beats: float = 0.0) -> list[NoteEvent]:
    """Note on/off events from start_beats to the score's end, sorted. A note already sounding
    at start_beats starts there; notes running past the end are closed at the end."""
    end = _score_end_beats(score)
    events: list[NoteEvent] = []
    for note in score.notes:
        note_end = min(note.start_beats + note.duration_beats, end)
        if note_end <= start_beats or note.start_beats >= end or note_end <= note.start_beats:
            continue
        onset = max(note.start_beats, start_beats)
        events.append(NoteEvent(onset, NOTE_ON, note.channel, note.pitch, note.velocity))
        events.append(NoteEvent(note_end, NOTE_OFF, note.channel, note.pitch, 0))
    events.sort(key=lambda e: (e.beats, e.kind, e.channel, e.pitch))
    return events


class Sink(Protocol):
    """Anything that can sound MIDI: FluidSynth, a MIDI port."""

    def note_on(self, channel: int, pitch: int, velocity: int) -> None: ...
    def note_off(self, channel: int, pitch: int) -> None: ...
    def program_change(self, channel: int, program: int) -> None: ...
    def all_notes_off(self) -> None: ...


# --------------------------------------------------------------------------- the player thread
class ScoreSequencer:
    """Plays a Score into sinks on its own thread, with a playhead callback.

    prepare(score, stop_event) -> bool runs on the player thread before the clock starts (waits
    for the SoundFont, program changes), so play() itself never blocks; False cancels."""

    def __init__(self, sinks: Callable[[], Iterable[Sink]], on_position: PositionCallback | None = None,
                 on_finished: FinishedCallback | None = None, name: str = "moodchords-player"):
        self._sinks = sinks  # called for the current sinks at every send
        self.on_position = on_position
        self.on_finished = on_finished
        self._name = name
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Held while events are sent; stop() takes it to silence everything, so no note-on can
        # follow the final all-notes-off.
        self._send_lock = threading.Lock()
        self._position = 0.0

    @property
    def is_playing(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    @property
    def position_beats(self) -> float:
        return self._position

    def play(self, score: Score, loop: bool = False, start_beats: float = 0.0,
             prepare: Callable[[Score, threading.Event], bool] | None = None) -> None:
        start = _check_score(score, start_beats)
        thread = self._thread
        if thread is not None and thread.is_alive():
            self.stop()  # silences what was playing; nothing to silence otherwise
        self._stop = threading.Event()
        self._position = start
        self._thread = threading.Thread(target=self._run, args=(score, bool(loop), start, prepare, self._stop),
                                        name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and silence every sink (all notes off on every channel); returns within ~30 ms."""
        self._stop.set()
        with self._send_lock:
            sinks = list(self._sinks())
            for sink in sinks:
                if _is_scheduled(sink):
                    sink.cancel_scheduled()  # notes queued ahead in FluidSynth's sequencer
            self._silence(sinks, hard=True)
            if any(_is_scheduled(sink) for sink in sinks):
                # An event the synth's sequencer was dispatching while we cancelled may land
                # after the first silence: silence once more after a render period.
                time.sleep(STOP_SETTLE_SECONDS)
                self._silence([sink for sink in sinks if _is_scheduled(sink)], hard=True)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)  # it only waits on _stop, so this is quick

    @staticmethod
    def _silence(sinks: Iterable[Sink], hard: bool) -> None:
        """hard (stop): cut everything now; else (end of a pass) release notes naturally."""
        for sink in sinks:
            try:
                if hard and hasattr(sink, "all_sounds_off"):
                    sink.all_sounds_off()
                else:
                    sink.all_notes_off()
            except Exception:  # noqa: BLE001 - one broken port must not keep notes on elsewhere
                pass

    def _report(self, beats: float) -> None:
        self._position = beats
        if self.on_position is not None:
            self.on_position(beats)

    def _run(self, score: Score, loop: bool, start: float, prepare, stop: threading.Event) -> None:
        if prepare is not None and not prepare(score, stop):
            return
        seconds_per_beat = score.seconds_per_beat()
        end = _score_end_beats(score)
        first_pass = True
        finished = False
        while not stop.is_set():
            events = score_events(score, start if first_pass else 0.0)
            origin = start if first_pass else 0.0
            if not self._play_pass(events, origin, end, seconds_per_beat, stop):
                break
            with self._send_lock:  # notes cut at the loop point (or the end) never hang
                if not stop.is_set():
                    self._silence(self._sinks(), hard=False)
            if not loop:
                finished = True
                break
            first_pass = False
        if finished and not stop.is_set():
            self._report(end)
            stop.set()
            if self.on_finished is not None:
                self.on_finished()

    def _play_pass(self, events: list[NoteEvent], origin: float, end: float, seconds_per_beat: float,
                   stop: threading.Event) -> bool:
        """One pass from origin to end; False when stopped.

        Immediate sinks (MIDI ports) get each event when its time comes. Scheduled sinks
        (FluidSynth) get it up to LOOKAHEAD_SECONDS early, stamped with its exact time on the
        synth's sample clock, so their timing does not suffer when other Python threads hold the
        GIL. With a scheduled sink everything (immediate sinks, playhead) runs SCHEDULE_LEAD_SECONDS
        behind the clock so both stay in step."""
        sinks = list(self._sinks())
        scheduled = [sink for sink in sinks if _is_scheduled(sink)]
        lead = SCHEDULE_LEAD_SECONDS if scheduled else 0.0
        t0 = time.monotonic()
        start_ticks = {id(sink): sink.current_tick() for sink in scheduled}
        base_ticks = {key: tick + int(lead * 1000) for key, tick in start_ticks.items()}
        period = 1.0 / POSITION_HZ
        next_report = lead
        index = ahead = 0  # next event for immediate / scheduled sinks
        total = (end - origin) * seconds_per_beat
        at = [(event.beats - origin) * seconds_per_beat for event in events]  # seconds from t0
        while True:
            now = time.monotonic() - t0
            with self._send_lock:
                if stop.is_set():
                    return False
                sinks = list(self._sinks())
                immediate = [sink for sink in sinks if not _is_scheduled(sink)]
                scheduled = [sink for sink in sinks if _is_scheduled(sink) and id(sink) in base_ticks]
                if ahead < len(events) and at[ahead] <= now + LOOKAHEAD_SECONDS:
                    for sink in scheduled:  # the synth's clock stalls when its audio thread starves
                        lag_ms = now * 1000 - (sink.current_tick() - start_ticks[id(sink)])
                        if lag_ms > DRIFT_LIMIT_MS:  # catch up with the wall clock (and the playhead)
                            start_ticks[id(sink)] -= int(lag_ms)
                            base_ticks[id(sink)] -= int(lag_ms)
                while ahead < len(events) and at[ahead] <= now + LOOKAHEAD_SECONDS:
                    event = events[ahead]
                    for sink in scheduled:
                        tick = base_ticks[id(sink)] + int(round(at[ahead] * 1000))
                        if event.kind == NOTE_ON:
                            sink.schedule_note_on(event.channel, event.pitch, event.velocity, tick)
                        else:
                            sink.schedule_note_off(event.channel, event.pitch, tick)
                    ahead += 1
                while index < len(events) and at[index] + lead <= now:
                    event = events[index]
                    for sink in immediate:
                        if event.kind == NOTE_ON:
                            sink.note_on(event.channel, event.pitch, event.velocity)
                        else:
                            sink.note_off(event.channel, event.pitch)
                    index += 1
            if now >= next_report:
                self._report(origin + min(max(now - lead, 0.0), total) / seconds_per_beat)
                next_report = lead + (int((now - lead) / period) + 1) * period  # no drift, no bursts
            if index >= len(events) and ahead >= len(events) and now >= total + lead:
                return True
            upcoming = [total + lead, next_report]
            if index < len(events):
                upcoming.append(at[index] + lead)
            if ahead < len(events):
                upcoming.append(at[ahead] - LOOKAHEAD_SECONDS)
            wait = min(upcoming) - (time.monotonic() - t0)
            if wait > 0 and stop.wait(wait):
                return False


def _is_scheduled(sink) -> bool:
    """Sinks that take timestamped events (schedule_note_on/off, current_tick, cancel_scheduled)."""
    return bool(getattr(sink, "scheduled", False))


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


class _Synth:
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


def _quick_check_soundfont(synth: _Synth) -> None:
    """Open the SoundFont with on-demand loading in a throwaway synth (milliseconds), so a broken
    file fails at construction rather than in the background load."""
    probe = _Synth(synth.soundfont, 22050, 0.0, dynamic=True)
    try:
        if probe.synth.sfload(str(probe.soundfont)) < 0:
            raise DeviceUnavailable(f"FluidSynth could not load the SoundFont {str(probe.soundfont)!r} (corrupt "
                                    "or not a .sf2/.sf3 file); replace it, see assets/soundfonts/README.md")
    finally:
        probe.delete()


class FluidSynthPlayer:
    """Live playback of Scores through FluidSynth's audio driver, optionally mirrored to (or
    replaced by, with audio=False) a MIDI port.

    Construction opens the audio output and checks the SoundFont (fast; DeviceUnavailable when
    either is missing, so the window can disable playback), then, on a background thread, opens
    the SoundFont with on-demand samples and loads the instruments in use (the piano, ~1.5 s).
    Only instruments that are used get decompressed: ~100 MB less resident memory than the
    whole SoundFont (bench/RESULTS.md). play() before that returns at once too; the sound starts
    when loading is done. A new instrument loads on the player thread (play) or on a helper
    thread (set_program), never the caller's. Callbacks run on the player thread.
    """

    def __init__(self, soundfont: str | Path | None = None, driver: str | None = None,
                 on_position: PositionCallback | None = None, on_finished: FinishedCallback | None = None,
                 midi_out=None, audio: bool = True, volume: float = DEFAULT_VOLUME, samplerate: int = 44100):
        self.driver = driver or default_audio_driver()  # FluidSynth audio driver name
        self.midi_out = midi_out  # a MidiPortPlayer (or any Sink) mirroring the notes, or None
        self._volume = _check_volume(volume)
        self._synth: _Synth | None = None
        self._audio_driver = None
        self._closed = False
        self._loaded = threading.Event()  # the SoundFont is fully loaded; the synth may be used
        self._state_lock = threading.Lock()  # volume/programs vs. the end of loading
        self.load_error: DeviceUnavailable | None = None  # set when the background load failed
        self._programs: dict[int, int] = {}  # channel -> program set with set_program
        self._sequencer = ScoreSequencer(self._sinks, on_position, on_finished)
        if not audio and midi_out is None:
            raise InvalidInput("audio=False needs a midi_out (a MidiPortPlayer); otherwise nothing would sound")
        if not audio:
            self._loaded.set()
            return
        synth = _Synth(soundfont, samplerate, self._volume * MAX_GAIN, dynamic=True)
        try:
            _quick_check_soundfont(synth)
            synth.synth.setting("audio.driver", self.driver)
            synth.synth.setting("audio.period-size", AUDIO_PERIOD_FRAMES)
            synth.synth.setting("audio.periods", AUDIO_PERIODS)
            self._audio_driver = synth.module.new_fluid_audio_driver(synth.synth.settings, synth.synth.synth)
            if not self._audio_driver:
                raise DeviceUnavailable(self._no_output_message())
            synth.enable_sequencer()
        except BaseException:
            synth.delete()
            raise
        self._synth = synth
        self._loader = threading.Thread(target=self._load, name="moodchords-soundfont-loader", daemon=True)
        self._loader.start()

    def _load(self) -> None:
        try:
            self._synth.load_soundfont()
        except DeviceUnavailable as error:
            self.load_error = error
            return
        with self._state_lock:
            programs = {DEFAULT_PROGRAM, *self._programs.values()}
        for program in programs:  # decompress now, not at the first note
            self._synth.load_program(program)
        with self._state_lock:
            self._synth.set_gain(self._volume * MAX_GAIN)
            for channel, program in self._programs.items():
                self._synth.program_change(channel, program)
            self._loaded.set()

    def _no_output_message(self) -> str:
        hints = {"pulseaudio": "no PulseAudio server is reachable (is it running? PULSE_SERVER / "
                               "XDG_RUNTIME_DIR must point at it); start one with `pulseaudio --start`",
                 "coreaudio": "CoreAudio found no output device",
                 "wasapi": "WASAPI found no output device; check the Windows sound settings"}
        hint = hints.get(self.driver, f"FluidSynth's {self.driver!r} audio driver failed to start")
        return (f"No audio output for playback: {hint}. Playback stays disabled; you can still export "
                "MIDI or play to a MIDI port")

    # -- state
    @property
    def soundfont(self) -> Path | None:
        return self._synth.soundfont if self._synth else None

    @property
    def is_playing(self) -> bool:
        return self._sequencer.is_playing

    @property
    def position_beats(self) -> float:
        return self._sequencer.position_beats

    @property
    def volume(self) -> float:
        return self._volume

    @property
    def on_position(self):
        return self._sequencer.on_position

    @on_position.setter
    def on_position(self, callback: PositionCallback | None) -> None:
        self._sequencer.on_position = callback

    @property
    def on_finished(self):
        return self._sequencer.on_finished

    @on_finished.setter
    def on_finished(self, callback: FinishedCallback | None) -> None:
        self._sequencer.on_finished = callback

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the SoundFont is loaded (True) or timeout; raises the load's error."""
        ready = self._loaded.wait(timeout)
        if self.load_error is not None:
            raise self.load_error
        return ready

    def _sinks(self) -> list:
        # The synth only once loaded: before that it has nothing to silence, and calls into it
        # would wait for the load.
        sinks = [self._synth] if self._synth is not None and self._loaded.is_set() else []
        if self.midi_out is not None:
            sinks.append(self.midi_out)
        return sinks

    def _check_open(self) -> None:
        if self._closed:
            raise InvalidInput("this player is closed; create a new FluidSynthPlayer")
        if self.load_error is not None:
            raise self.load_error

    # -- control
    def play(self, score: Score, loop: bool = False, start_beats: float = 0.0) -> None:
        """Start playing (stopping what plays); returns at once. The score's programs are set on
        the player thread before the first note; set_program() choices made since win."""
        self._check_open()
        programs = {}
        if isinstance(score, Score):
            programs = {_check_channel(c): _check_program(p) for c, p in (score.programs or {}).items()}

        def prepare(_score: Score, stop: threading.Event) -> bool:
            while not self._loaded.wait(0.05):
                if stop.is_set() or self.load_error is not None:
                    return False
            with self._state_lock:
                wanted = {**programs, **self._programs}
            for channel, program in wanted.items():
                for sink in self._sinks():
                    sink.program_change(channel, program)
            if self.midi_out is not None:
                self._apply_midi_volume()
            return True

        self._sequencer.play(score, loop=loop, start_beats=start_beats, prepare=prepare)

    def stop(self) -> None:
        """Stop and silence: all notes off on every channel of every output."""
        self._sequencer.stop()

    def set_program(self, channel: int, program: int) -> None:
        """Change a channel's instrument now, also while playing; kept for later plays."""
        self._check_open()
        channel, program = _check_channel(channel), _check_program(program)
        with self._state_lock:
            self._programs[channel] = program
            sinks = self._sinks()  # without the synth while loading: _load applies it
        for sink in sinks:
            if sink is self._synth:
                # A first use decompresses the instrument's samples (up to ~1.5 s): not on the
                # caller's (UI) thread.
                threading.Thread(target=sink.program_change, args=(channel, program), daemon=True,
                                 name="moodchords-program-loader").start()
            else:
                sink.program_change(channel, program)

    def set_volume(self, volume: float) -> None:
        """Master volume 0..1, also while playing (FluidSynth's gain; CC7 on a MIDI port)."""
        volume = _check_volume(volume)
        with self._state_lock:
            self._volume = volume
            if self._synth is not None and self._loaded.is_set():
                self._synth.set_gain(volume * MAX_GAIN)
        if self.midi_out is not None:
            self._apply_midi_volume()

    def _apply_midi_volume(self) -> None:
        set_volume = getattr(self.midi_out, "set_volume", None)
        if set_volume is not None:
            set_volume(self._volume)

    def close(self) -> None:
        """Stop, release the audio output and the synthesizer. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._sequencer.stop()
        if self._synth is not None:
            self._loader.join()  # FluidSynth must not be deleted mid-load
            if self._audio_driver:
                self._synth.module.delete_fluid_audio_driver(self._audio_driver)
                self._audio_driver = None
            self._synth.delete()
            self._synth = None

    def __enter__(self) -> "FluidSynthPlayer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


# --------------------------------------------------------------------------- offline rendering
_offline_synths: dict[tuple[str, int], _Synth] = {}
_offline_lock = threading.Lock()
TAIL_SECONDS = 1.0  # rendered after the score's end so release and reverb are heard
FLUSH_SECONDS = 3.0  # silence rendered before each render: a reused synth's reverb dies out
FLUID_BLOCK_FRAMES = 64  # FluidSynth applies events at block starts; renders start on one


def _offline_synth(soundfont: str | Path | None, samplerate: int) -> _Synth:
    from assistant.soundfont import find_soundfont

    path = Path(soundfont).expanduser().resolve() if soundfont else find_soundfont()
    key = (str(path), samplerate)
    synth = _offline_synths.get(key)
    if synth is None:
        # Chorus off: its LFO phase carries over from one render to the next, so the same score
        # would render differently each time; reverb dies out in the flush.
        synth = _Synth(path, samplerate, gain=MAX_GAIN * DEFAULT_VOLUME, extra={"synth.chorus.active": 0})
        try:
            synth.load_soundfont()
        except DeviceUnavailable:
            synth.delete()
            raise
        _offline_synths[key] = synth
    return synth


def render_score_audio(score: Score, soundfont: str | Path | None = None, samplerate: int = 44100,
                       stereo: bool = True, volume: float = DEFAULT_VOLUME,
                       tail_seconds: float = TAIL_SECONDS) -> np.ndarray:
    """The score rendered offline by FluidSynth (no audio driver): float32, shape (frames, 2)
    when stereo else (frames,). The SoundFont is loaded once per process and reused."""
    _check_score(score, 0.0)
    volume = _check_volume(volume)
    if not isinstance(samplerate, (int, np.integer)) or not 8000 <= int(samplerate) <= 192000:
        raise InvalidInput(f"samplerate {samplerate!r} is not allowed; use an integer 8000..192000 Hz")
    if not 0.0 <= float(tail_seconds) <= 60.0:
        raise InvalidInput(f"tail_seconds {tail_seconds!r} is not allowed; use 0..60")
    samplerate = int(samplerate)
    with _offline_lock:
        synth = _offline_synth(soundfont, samplerate)
        synth.reset()
        flush = int(FLUSH_SECONDS * samplerate)
        flush += -(synth.frames_written + flush) % FLUID_BLOCK_FRAMES  # same block grid every time
        synth.write_float(flush)
        synth.set_gain(volume * MAX_GAIN)
        for channel, program in (score.programs or {}).items():
            synth.program_change(_check_channel(channel), _check_program(program))
        frames_per_beat = score.seconds_per_beat() * samplerate
        chunks = []
        rendered = 0
        for event in score_events(score):
            at = int(round(event.beats * frames_per_beat))
            if at > rendered:
                chunks.append(synth.write_float(at - rendered))
                rendered = at
            if event.kind == NOTE_ON:
                synth.note_on(event.channel, event.pitch, event.velocity)
            else:
                synth.note_off(event.channel, event.pitch)
        total = int(round(_score_end_beats(score) * frames_per_beat + float(tail_seconds) * samplerate))
        chunks.append(synth.write_float(max(total - rendered, 0)))
        synth.reset()
    audio = np.concatenate(chunks, axis=0) if chunks else np.zeros((0, 2), np.float32)
    return audio if stereo else audio.mean(axis=1, dtype=np.float32)
