"""A rendered piece: timed notes on MIDI channels. The one format that MIDI export, live
playback (FluidSynth or a MIDI port) and the piano roll all consume. Pure data, no I/O."""
from __future__ import annotations

from dataclasses import dataclass, field

CHORD_CHANNEL = 0  # accompaniment (voiced chords, patterns)
BASS_CHANNEL = 1  # bass line


@dataclass(frozen=True)
class Note:
    pitch: int  # MIDI note number 0..127
    start_beats: float  # onset from the start of the piece, in beats
    duration_beats: float  # > 0, in beats
    velocity: int  # 1..127
    channel: int  # MIDI channel 0..15 (CHORD_CHANNEL or BASS_CHANNEL)


@dataclass(frozen=True)
class Marker:
    start_beats: float  # where the marker sits, in beats
    text: str  # e.g. a chord name "Am/E"


@dataclass(frozen=True)
class Score:
    notes: tuple[Note, ...]  # sorted by start_beats
    tempo_bpm: float  # quarter-note beats per minute
    length_beats: float  # total length (end of the last bar), in beats
    beats_per_bar: int = 4  # bar length in quarter beats (time signature numerator of x/4)
    programs: dict[int, int] = field(default_factory=dict)  # channel -> General MIDI program 0..127
    markers: tuple[Marker, ...] = ()  # chord names at chord starts
    compound: bool = False  # True: the bar is written in eighths grouped in threes (3 beats -> 6/8)
    key_signature: str | None = None  # key as mido names it ("C#m", "Gb"); None: no key signature

    @property
    def time_signature(self) -> tuple[int, int]:
        """(numerator, denominator) written to MIDI: 4/4, 3/4, or 6/8 for 3 compound beats."""
        return (2 * int(self.beats_per_bar), 8) if self.compound else (int(self.beats_per_bar), 4)

    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo_bpm

    def length_seconds(self) -> float:
        return self.length_beats * self.seconds_per_beat()
