"""Hearing a Score, in the manner of mido's ports and backends:

- `sequencer`: the player thread (ScoreSequencer) that sends a Score's note events to sinks on
  time, with a playhead callback; a FluidSynth synth and a MIDI port are both sinks;
- `fluidsynth_backend`: one FluidSynth synthesizer with a SoundFont (Synthesizer), the sink the
  player and offline renders use;
- `player`: live playback through FluidSynth's audio driver (FluidSynthPlayer), optionally
  mirrored to a MIDI port;
- `render`: offline rendering to samples (render_score_audio).

The names callers use are importable from here.
"""
from __future__ import annotations

from assistant.playback.fluidsynth_backend import (AUDIO_PERIOD_FRAMES, AUDIO_PERIODS, DEFAULT_PROGRAM,
                                                   DEFAULT_VOLUME, MAX_GAIN, Synthesizer, default_audio_driver)
from assistant.playback.player import FluidSynthPlayer
from assistant.playback.render import render_score_audio
from assistant.playback.sequencer import (NOTE_OFF, NOTE_ON, POSITION_HZ, FinishedCallback, NoteEvent,
                                          PositionCallback, ScoreSequencer, Sink, score_events)

__all__ = ["AUDIO_PERIODS", "AUDIO_PERIOD_FRAMES", "DEFAULT_PROGRAM", "DEFAULT_VOLUME", "FinishedCallback",
           "FluidSynthPlayer", "MAX_GAIN", "NOTE_OFF", "NOTE_ON", "NoteEvent", "POSITION_HZ", "PositionCallback",
           "ScoreSequencer", "Sink", "Synthesizer", "default_audio_driver", "render_score_audio", "score_events"]
