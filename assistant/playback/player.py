"""Live playback of Scores through FluidSynth's audio driver, optionally mirrored to a MIDI port."""
from __future__ import annotations

import threading
from pathlib import Path

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.playback.fluidsynth_backend import (AUDIO_PERIOD_FRAMES, AUDIO_PERIODS, DEFAULT_PROGRAM,
                                                   DEFAULT_VOLUME, MAX_GAIN, Synthesizer, check_volume,
                                                   default_audio_driver, quick_check_soundfont)
from assistant.playback.sequencer import (FinishedCallback, PositionCallback, ScoreSequencer, check_channel,
                                          check_program)
from assistant.score import Score


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
        self._volume = check_volume(volume)
        self._synth: Synthesizer | None = None
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
        synth = Synthesizer(soundfont, samplerate, self._volume * MAX_GAIN, dynamic=True)
        try:
            quick_check_soundfont(synth)
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
            programs = {check_channel(c): check_program(p) for c, p in (score.programs or {}).items()}

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
        channel, program = check_channel(channel), check_program(program)
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
        volume = check_volume(volume)
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
