"""Offline rendering: a Score to audio samples through FluidSynth, without an audio driver
(tests, benchmarks). The SoundFont is loaded once per process and samplerate, then reused."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.playback.fluidsynth_backend import DEFAULT_VOLUME, MAX_GAIN, Synthesizer, check_volume
from assistant.playback.sequencer import NOTE_ON, check_channel, check_program, check_score, score_end_beats, \
    score_events
from assistant.score import Score

_offline_synths: dict[tuple[str, int], Synthesizer] = {}
_offline_lock = threading.Lock()
TAIL_SECONDS = 1.0  # rendered after the score's end so release and reverb are heard
FLUSH_SECONDS = 3.0  # silence rendered before each render: a reused synth's reverb dies out
FLUID_BLOCK_FRAMES = 64  # FluidSynth applies events at block starts; renders start on one


def _offline_synth(soundfont: str | Path | None, samplerate: int) -> Synthesizer:
    from assistant.soundfont import find_soundfont

    path = Path(soundfont).expanduser().resolve() if soundfont else find_soundfont()
    key = (str(path), samplerate)
    synth = _offline_synths.get(key)
    if synth is None:
        # Chorus off: its LFO phase carries over from one render to the next, so the same score
        # would render differently each time; reverb dies out in the flush.
        synth = Synthesizer(path, samplerate, gain=MAX_GAIN * DEFAULT_VOLUME, extra={"synth.chorus.active": 0})
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
    check_score(score, 0.0)
    volume = check_volume(volume)
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
            synth.program_change(check_channel(channel), check_program(program))
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
        total = int(round(score_end_beats(score) * frames_per_beat + float(tail_seconds) * samplerate))
        chunks.append(synth.write_float(max(total - rendered, 0)))
        synth.reset()
    audio = np.concatenate(chunks, axis=0) if chunks else np.zeros((0, 2), np.float32)
    return audio if stereo else audio.mean(axis=1, dtype=np.float32)
