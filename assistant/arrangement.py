"""How a progression is played: accompaniment pattern, density, touch and register.

The performance model samples how pianists in the training data played a mood (notes per
second, velocity, note length, register); ``arrangement_from_performance`` turns that into a
pattern whose rendered note rate and velocity match it, and ``render_score`` plays a
progression in that pattern as a ``Score`` (voiced chords + bass line + chord-name markers).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from assistant.errors import InvalidInput
from assistant.music import Progression, voice_progression
from assistant.score import BASS_CHANNEL, CHORD_CHANNEL, Marker, Note, Score

if TYPE_CHECKING:  # only for the annotation: any object with PerformanceSample's fields works
    from models.generation import PerformanceSample

PATTERNS = ("pad", "pulse", "broken", "arpeggio")
DEFAULT_PROGRAM = 0  # Acoustic Grand Piano
REGISTER_LOW, REGISTER_HIGH = 55, 72  # allowed centre of the chord voicing (G3..C5)


@dataclass(frozen=True)
class Arrangement:
    """How the chords are played."""

    pattern: str  # "pad" (sustained), "pulse" (repeated block chords), "broken" (low note / rest), "arpeggio"
    notes_per_beat: float  # steps (onsets) per beat of the chord part; 0.25 = once a bar in 4/4
    velocity: int  # mean MIDI velocity of the rendered notes, 1..127
    note_length: float  # sounding length as a fraction of a step, 0..1
    register: int  # MIDI pitch the chord voicings are centred on
    program: int = DEFAULT_PROGRAM  # General MIDI program of the chord part, 0..127
    bass_program: int = DEFAULT_PROGRAM  # General MIDI program of the bass line, 0..127
    voices: int = 4  # notes per chord voicing (3 or 4; chords that cannot be voiced so use their nearest size)

    def __post_init__(self) -> None:
        if self.pattern not in PATTERNS:
            raise InvalidInput(f"pattern {self.pattern!r} not allowed; allowed: {list(PATTERNS)}")
        if not self.notes_per_beat > 0:
            raise InvalidInput(f"notes per beat {self.notes_per_beat} not allowed; allowed: > 0")
        if not 0 < self.note_length <= 1:
            raise InvalidInput(f"note length {self.note_length} not allowed; allowed: 0 < length <= 1 (of a step)")
        for label, value in (("program", self.program), ("bass program", self.bass_program)):
            if not 0 <= value <= 127:
                raise InvalidInput(f"{label} {value} not allowed; allowed: General MIDI program 0..127")
        if not 1 <= self.velocity <= 127:
            raise InvalidInput(f"velocity {self.velocity} not allowed; allowed: 1..127")


def bass_program_for(program: int) -> int:
    """A bass instrument that suits the chord instrument (pianos and organs play their own bass)."""
    if program < 24:  # pianos, chromatic percussion, organs: the left hand
        return program
    if program < 40:  # guitars and basses
        return 33  # Electric Bass (finger)
    if program < 56:  # strings, ensembles, choirs
        return 43  # Contrabass
    return 32  # Acoustic Bass


def _per_step(pattern: str, voices: int) -> float:
    """Chord-part notes started per step."""
    return {"pad": voices, "pulse": voices, "broken": voices / 2.0, "arpeggio": 1.0}[pattern]


def _step_choices(pattern: str, beats_per_bar: int, compound: bool = False) -> tuple[float, ...]:
    """Steps (onsets) per quarter beat a pattern may use. Compound metre (6/8) keeps to its own grid:
    dotted quarters (2/3 a beat), eighths and sixteenths, never plain quarters across the groups."""
    if pattern == "pad":  # every two bars, once a bar, twice a bar (the dotted-quarter beats of 6/8), every beat
        if compound:
            return tuple(sorted({0.5 / beats_per_bar, 1.0 / beats_per_bar, 2.0 / 3.0}))
        return tuple(sorted({0.5 / beats_per_bar, 1.0 / beats_per_bar, 2.0 / beats_per_bar, 1.0}))
    if compound:
        return (2.0, 4.0) if pattern == "arpeggio" else (2.0 / 3.0, 2.0, 4.0)
    if pattern == "arpeggio":
        return (1.0, 2.0, 3.0, 4.0, 6.0)  # quarters, eighths, triplets, sixteenths, sextuplets
    return (1.0, 2.0, 3.0, 4.0)


def _busy(pattern: str, notes_per_beat: float, beats_per_bar: int, compound: bool) -> bool:
    """Whether the bass plays twice a bar: under busy patterns in bars that halve (4/4, and 6/8's two beats)."""
    return pattern != "pad" and notes_per_beat >= 2 and (compound or beats_per_bar % 2 == 0)


def _bass_per_beat(pattern: str, notes_per_beat: float, beats_per_bar: int, compound: bool = False) -> float:
    """Bass notes per beat: each bar and each chord change (assumed about one per bar more)."""
    per_bar = 2.0 if _busy(pattern, notes_per_beat, beats_per_bar, compound) else 1.0
    return 1.25 * per_bar / beats_per_bar


def _bass_step(arrangement: Arrangement, beats_per_bar: int, compound: bool = False) -> float:
    """Beats between bass notes inside a chord: a bar, or half a bar under busy patterns."""
    busy = _busy(arrangement.pattern, arrangement.notes_per_beat, beats_per_bar, compound)
    return beats_per_bar / 2.0 if busy else float(beats_per_bar)


def _chord_onsets(start: float, end: float, step: float) -> list[float]:
    """Steps of the chord part inside one chord, counted from the chord's start."""
    count = max(1, math.ceil((end - start) / step - 1e-9))
    return [start + k * step for k in range(count)]


def _bass_onsets(start: float, end: float, bass_step: float) -> list[float]:
    """The chord change, then every bass step of the bar grid inside the chord."""
    onsets = [start]
    grid = math.floor(start / bass_step + 1e-9) * bass_step + bass_step
    while grid < end - 1e-9:
        onsets.append(grid)
        grid += bass_step
    return onsets


def _notes_at_step(pattern: str, k: int, voices: int) -> int:
    if pattern in ("pad", "pulse"):
        return voices
    if pattern == "broken":
        return 1 if k % 2 == 0 else voices - 1
    return 1


def count_notes(progression: Progression, arrangement: Arrangement) -> int:
    """How many notes render_score plays for this progression (voicings of ``voices`` notes)."""
    step = 1.0 / arrangement.notes_per_beat
    bass_step = _bass_step(arrangement, progression.beats_per_bar, progression.compound)
    total = 0
    for placed in progression.chords:
        start, end = placed.start_beats, placed.end_beats
        total += sum(_notes_at_step(arrangement.pattern, k, arrangement.voices)
                     for k in range(len(_chord_onsets(start, end, step))))
        total += len(_bass_onsets(start, end, bass_step))
    return total


def preferred_pattern(notes_per_second: float, note_length_s: float, legato: float) -> str:
    """Sparse playing -> pads; medium -> broken chords (legato) or pulses; dense -> arpeggios."""
    if notes_per_second < 5.0:
        return "pad" if note_length_s >= 0.45 or legato >= 0.5 else "broken"
    if notes_per_second < 7.5:
        return "broken" if legato >= 0.4 else "pulse"
    return "arpeggio"


def expected_notes_per_second(arrangement: Arrangement, tempo_bpm: float, beats_per_bar: int = 4,
                              compound: bool = False) -> float:
    """Notes per second the arrangement renders (chord part + bass), from its pattern alone."""
    per_beat = arrangement.notes_per_beat * _per_step(arrangement.pattern, arrangement.voices)
    per_beat += _bass_per_beat(arrangement.pattern, arrangement.notes_per_beat, beats_per_bar, compound)
    return per_beat * tempo_bpm / 60.0


def arrangement_from_performance(performance: "PerformanceSample", program: int | None = None, *,
                                 tempo_bpm: float | None = None, beats_per_bar: int = 4,
                                 progression: Progression | None = None, compound: bool = False) -> Arrangement:
    """An arrangement whose notes per second, velocity, note length and register match a sample.

    ``tempo_bpm`` is the tempo it will be played at (default: the progression's, else the
    sample's). With the ``progression`` it will play, the note rate is counted exactly (chord
    changes add strikes); without, it is estimated from the pattern.
    """
    if progression is not None:
        beats_per_bar, compound = progression.beats_per_bar, progression.compound
    tempo = float(tempo_bpm or (progression.tempo_bpm if progression is not None else performance.tempo_bpm))

    def rate_of(candidate: Arrangement) -> float:
        if progression is None or progression.length_beats <= 0:
            return expected_notes_per_second(candidate, tempo, beats_per_bar, compound)
        return count_notes(progression, candidate) / (progression.length_beats * 60.0 / tempo)

    target = max(0.5, float(performance.notes_per_second))
    note_length_s = max(0.05, float(performance.note_length_s))
    legato = float(getattr(performance, "legato", 0.0) or 0.0)
    chord_program = DEFAULT_PROGRAM if program is None else int(program)

    def options(patterns):
        for pattern in patterns:
            for steps in _step_choices(pattern, beats_per_bar, compound):
                for voices in (3, 4):
                    candidate = Arrangement(pattern, steps, 64, 0.5, 64, voices=voices)
                    rate = rate_of(candidate)
                    # Fit first; among near-equal fits prefer 4 voices.
                    yield abs(math.log(rate / target)) + 0.02 * abs(voices - 4), pattern, steps, voices

    preferred = preferred_pattern(target, note_length_s, legato)
    error, pattern, steps, voices = min(options([preferred]))
    if error > math.log(1.2):  # the preferred pattern cannot reach the rate at this tempo
        error, pattern, steps, voices = min(options(PATTERNS))

    step_seconds = 60.0 / tempo / steps
    if pattern == "pad":
        note_length = 0.95  # sustained, with a breath before the next strike
    else:
        note_length = min(1.0, max(0.25, note_length_s / step_seconds))
    register = int(round(min(REGISTER_HIGH, max(REGISTER_LOW, float(performance.register)))))
    velocity = int(round(min(127, max(1, float(performance.velocity)))))
    return Arrangement(pattern, steps, velocity, round(note_length, 3), register, chord_program,
                       bass_program_for(chord_program), voices)


def _accent(position_beats: float, beats_per_bar: int, compound: bool = False) -> float:
    """Velocity factor for a position: downbeats a bit stronger, off-beats a bit softer; in compound
    metre the beats are the dotted quarters (0 and 1.5 in 6/8), the eighths between them softer."""
    in_bar = position_beats % beats_per_bar
    if abs(in_bar) < 1e-6 or abs(in_bar - beats_per_bar) < 1e-6:
        return 1.15
    if compound:
        return 1.06 if abs(in_bar / 1.5 - round(in_bar / 1.5)) < 1e-6 else 0.9
    if abs(in_bar - round(in_bar)) < 1e-6:
        return 1.0 if beats_per_bar % 2 or round(in_bar) != beats_per_bar // 2 else 1.06
    return 0.9


def render_score(progression: Progression, arrangement: Arrangement, *, humanize: float = 0.0,
                 seed: int | None = None) -> Score:
    """Play the progression in the arrangement's pattern: chords on CHORD_CHANNEL, bass on BASS_CHANNEL.

    ``humanize`` (0..1) adds small random timing (up to ±0.03 beat) and velocity (up to ±8)
    variations, reproducible with ``seed``; 0 renders on the grid.
    """
    if not 0 <= humanize <= 1:
        raise InvalidInput(f"humanize {humanize} not allowed; allowed: 0..1")
    bpb = progression.beats_per_bar
    voicings = voice_progression(progression, arrangement.register, arrangement.voices)
    step = 1.0 / arrangement.notes_per_beat
    compound = progression.compound
    bass_step = _bass_step(arrangement, bpb, compound)
    raw: list[tuple[int, float, float, float, int]] = []  # pitch, start, duration, accent, channel
    for placed, voicing in zip(progression.chords, voicings):
        start, end = placed.start_beats, placed.end_beats
        notes = voicing.notes
        for k, onset in enumerate(_chord_onsets(start, end, step)):
            length = min(step * arrangement.note_length, end - onset)
            accent = _accent(onset, bpb, compound)
            if arrangement.pattern in ("pad", "pulse"):
                played = notes
            elif arrangement.pattern == "broken":  # lowest voice, then the others together
                played = notes[:1] if k % 2 == 0 else notes[1:]
            else:  # arpeggio: up through the voicing, restarting at each chord
                played = (notes[k % len(notes)],)
            for pitch in played:
                raw.append((pitch, onset, length, accent, CHORD_CHANNEL))
        # Bass: at the chord change and on every bar (half bar for busy patterns) inside the chord.
        onsets = _bass_onsets(start, end, bass_step)
        for onset, following in zip(onsets, onsets[1:] + [end]):
            raw.append((voicing.bass, onset, (following - onset) * 0.95, _accent(onset, bpb, compound), BASS_CHANNEL))

    # Scale the accents so that the mean velocity is the arrangement's velocity.
    mean_accent = sum(r[3] for r in raw) / len(raw) if raw else 1.0
    rng = random.Random(seed)
    notes: list[Note] = []
    for pitch, onset, length, accent, channel in raw:
        velocity = arrangement.velocity * accent / mean_accent
        if humanize:
            shift = rng.uniform(-0.03, 0.03) * humanize
            onset = max(0.0, onset + shift)
            velocity += rng.uniform(-8, 8) * humanize
        notes.append(Note(pitch, round(onset, 6), round(max(length, 1e-3), 6), int(min(127, max(1, round(velocity)))),
                          channel))
    notes = _without_overlaps(notes)
    length_beats = math.ceil(progression.length_beats / bpb - 1e-9) * bpb if progression.chords else 0.0
    markers = tuple(Marker(c.start_beats, c.chord.name) for c in progression.chords)
    return Score(tuple(sorted(notes, key=lambda n: (n.start_beats, n.channel, n.pitch))), progression.tempo_bpm,
                 float(length_beats), bpb, {CHORD_CHANNEL: arrangement.program, BASS_CHANNEL: arrangement.bass_program},
                 markers, compound=progression.compound, key_signature=progression.key_signature)


def _without_overlaps(notes: list[Note]) -> list[Note]:
    """Cut a note short where the same pitch on the same channel starts again (MIDI cannot overlap them)."""
    by_key: dict[tuple[int, int], list[Note]] = {}
    for note in sorted(notes, key=lambda n: n.start_beats):
        by_key.setdefault((note.channel, note.pitch), []).append(note)
    result = []
    for same in by_key.values():
        for note, following in zip(same, same[1:] + [None]):
            if following is not None and note.start_beats + note.duration_beats > following.start_beats:
                gap = following.start_beats - note.start_beats
                if gap <= 1e-6:
                    continue  # two notes at once on one key: keep one
                note = Note(note.pitch, note.start_beats, gap, note.velocity, note.channel)
            result.append(note)
    return result


def rendered_profile(score: Score) -> tuple[float, float]:
    """(notes per second, mean velocity) of a rendered score: what the performance model describes."""
    if not score.notes or score.length_seconds() <= 0:
        return 0.0, 0.0
    return (len(score.notes) / score.length_seconds(),
            sum(n.velocity for n in score.notes) / len(score.notes))
