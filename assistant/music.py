"""The music core: note and key names, chords, progressions and piano voicings.

Pure Python (no Qt, no TensorFlow). Chords are stored as pitch classes plus an index into
``models.vocabulary.QUALITIES``; names are only a view, spelled for the key they sit in
(flats in flat keys, ``Bb`` rather than ``A#`` in D major's borrowed bVI).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

from assistant.errors import InvalidInput
from models.vocabulary import QUALITIES, ChordEvent

#: Sharp spellings, index = pitch class (0 = C).
NOTE_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Flat spellings, index = pitch class.
FLAT_NOTE_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
#: The spelling a chord gets when no key is known: the names lead sheets use most.
DEFAULT_NOTE_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

MODES = ("major", "minor")
#: Tonic of the key-normalised frame the models work in (C major / A minor).
FRAME_TONIC = {"major": 0, "minor": 9}

_LETTERS = "CDEFGAB"
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1}
# The tonic spelling with the fewest accidentals for each pitch class and mode.
_MAJOR_TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_TONIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
# Semitones above the tonic -> scale-degree step (0 = tonic letter) used to spell it:
# b2, 2, b3, 3, 4, #4, 5, b6, 6, b7, 7 (mode mixture reads as flats, the raised fourth as sharp).
_DEGREE_OF_INTERVAL = (0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6)

_NOTE_PATTERN = r"([A-Ga-g])([#♯b♭]?)"


def _parse_note(letter: str, accidental: str) -> int:
    return (_LETTER_PC[letter.upper()] + _ACCIDENTALS[accidental]) % 12


def tonic_name(tonic: int, mode: str | None) -> str:
    """The usual spelling of a key's tonic ("Eb" for Eb major, "G#" for G# minor)."""
    names = _MINOR_TONIC_NAMES if mode == "minor" else _MAJOR_TONIC_NAMES
    return names[tonic % 12]


def key_spelling(tonic: int, mode: str | None) -> tuple[str, ...]:
    """Names for all 12 pitch classes as they are spelled in a key (index = pitch class).

    Each pitch class is spelled as the scale degree it is above the tonic (so D major's bVI is
    Bb, A minor's raised seventh is G#); where that would need E#, B#, Cb, Fb or a double
    accidental, the plain sharp/flat name is used instead, following the key's direction.
    """
    home = tonic_name(tonic, mode)
    home_letter = _LETTERS.index(home[0])
    # Keys written with flats: any flat tonic, F major, and D/G/C/F minor.
    flat_key = "b" in home or home == "F" or (mode == "minor" and home in ("D", "G", "C"))
    fallback = FLAT_NOTE_NAMES if flat_key else NOTE_NAMES
    names = []
    for pc in range(12):
        interval = (pc - tonic) % 12
        letter = _LETTERS[(home_letter + _DEGREE_OF_INTERVAL[interval]) % 7]
        offset = (pc - _LETTER_PC[letter] + 6) % 12 - 6  # -6..5 semitones from the natural
        name = letter + {0: "", 1: "#", -1: "b"}.get(offset, "?")
        if "?" in name or name in ("E#", "B#", "Cb", "Fb"):
            name = fallback[pc]
        names.append(name)
    return tuple(names)


def parse_key(text: str) -> tuple[int, str | None]:
    """Parse a key such as "D", "F#", "Bb", "Dm", "D minor", "d min", "Eb major".

    Returns (tonic pitch class, mode) where mode is "major", "minor" or None when only a tonic
    was given. InvalidInput names the text and what is allowed otherwise.
    """
    cleaned = " ".join(str(text).strip().split())
    match = re.fullmatch(_NOTE_PATTERN + r"\s*(.*)", cleaned)
    if match:
        letter, accidental, rest = match.groups()
        rest = rest.strip()
        mode: str | None = "?"
        if rest == "":
            mode = None
        elif rest == "M" or rest.lower() in ("maj", "major"):
            mode = "major"
        elif rest.lower() in ("m", "min", "minor", "-"):
            mode = "minor"
        if mode != "?":
            return _parse_note(letter, accidental), mode
    raise InvalidInput(
        f"key {text!r} not recognised; allowed: a tonic C, C#/Db, D, D#/Eb, E, F, F#/Gb, G, G#/Ab, A, "
        f"A#/Bb, B, optionally followed by 'major'/'maj' or 'minor'/'min'/'m' (e.g. 'D', 'F#m', 'Bb minor')")


# Chord-symbol suffixes accepted by Chord.parse besides each quality's own suffix.
_SUFFIX_ALIASES = {
    "M": "maj", "maj": "maj", "major": "maj",
    "min": "min", "-": "min", "minor": "min",
    "dom7": "dom7",
    "M7": "maj7", "Δ": "maj7", "Δ7": "maj7", "ma7": "maj7",
    "min7": "min7", "-7": "min7",
    "°": "dim", "o": "dim",
    "ø": "min7b5", "ø7": "min7b5", "min7b5": "min7b5", "m7-5": "min7b5",
    "sus": "sus4", "2": "sus2", "add2": "add9",
    "+": "aug",
    "°7": "dim7", "o7": "dim7",
}
_SUFFIX_TO_QUALITY: dict[str, int] = {}
for _index, _quality in enumerate(QUALITIES):
    _SUFFIX_TO_QUALITY[_quality.suffix] = _index
for _alias, _name in _SUFFIX_ALIASES.items():
    _SUFFIX_TO_QUALITY.setdefault(_alias, next(i for i, q in enumerate(QUALITIES) if q.name == _name))


@dataclass(frozen=True)
class Chord:
    """A chord: a quality on a root, over a bass note (pitch classes, 0 = C)."""

    root: int  # root pitch class 0..11
    quality: int  # index into models.vocabulary.QUALITIES
    bass: int  # bass pitch class 0..11 (== root in root position)
    # Names for the 12 pitch classes used by ``name`` (see key_spelling); not part of equality.
    spelling: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.quality < len(QUALITIES):
            raise InvalidInput(f"chord quality index {self.quality} not allowed; allowed: 0..{len(QUALITIES) - 1}")
        object.__setattr__(self, "root", int(self.root) % 12)
        object.__setattr__(self, "bass", int(self.bass) % 12)

    @property
    def name(self) -> str:
        """Chord symbol, e.g. "Cmaj7", "Am/E", "Fsus2", "Bbm7b5"."""
        names = self.spelling or DEFAULT_NOTE_NAMES
        text = names[self.root] + QUALITIES[self.quality].suffix
        if self.bass != self.root:
            text += "/" + names[self.bass]
        return text

    @property
    def intervals(self) -> tuple[int, ...]:
        return QUALITIES[self.quality].intervals

    @property
    def tones(self) -> tuple[int, ...]:
        """Chord-tone pitch classes in stacking order (root, third, fifth, ...); bass excluded."""
        return tuple((self.root + i) % 12 for i in self.intervals)

    @property
    def pitch_classes(self) -> frozenset[int]:
        """Every pitch class sounding in the chord, bass included."""
        return frozenset(self.tones) | {self.bass}

    def transposed(self, semitones: int, spelling: tuple[str, ...] | None = None) -> "Chord":
        return Chord(self.root + semitones, self.quality, self.bass + semitones, spelling)

    def spelled(self, spelling: tuple[str, ...] | None) -> "Chord":
        return replace(self, spelling=spelling)

    @classmethod
    def parse(cls, text: str) -> "Chord":
        """Parse a chord symbol ("C", "Am/E", "F#m7b5", "Bbmaj7", "Dsus4", "G7/B")."""
        symbol = str(text).strip()
        match = re.fullmatch(r"([A-G])([#♯b♭]?)([^/]*)(?:/([A-G])([#♯b♭]?))?", symbol)
        if match:
            letter, accidental, suffix, bass_letter, bass_accidental = match.groups()
            quality = _SUFFIX_TO_QUALITY.get(suffix)
            if quality is not None:
                root = _parse_note(letter, accidental)
                bass = _parse_note(bass_letter, bass_accidental) if bass_letter else root
                spelling = list(DEFAULT_NOTE_NAMES)
                spelling[root] = letter + accidental.replace("♯", "#").replace("♭", "b")
                if bass_letter:
                    spelling[bass] = bass_letter + bass_accidental.replace("♯", "#").replace("♭", "b")
                return cls(root, quality, bass, tuple(spelling))
        suffixes = [q.suffix or "(none)" for q in QUALITIES]
        raise InvalidInput(
            f"chord {text!r} not recognised; allowed: a root C..B with optional #/b, a suffix out of "
            f"{suffixes}, and an optional /bass note (e.g. 'Am/E', 'Bbmaj7')")


@dataclass(frozen=True)
class PlacedChord:
    """A chord at a place in time."""

    chord: Chord
    start_beats: float  # onset from the start of the piece, in beats
    duration_beats: float  # > 0, in beats
    locked: bool = False  # kept as is when the progression is regenerated

    @property
    def end_beats(self) -> float:
        return self.start_beats + self.duration_beats


@dataclass(frozen=True)
class Progression:
    """A chord progression in a key, with tempo and metre."""

    chords: tuple[PlacedChord, ...]  # in time order, back to back
    tonic: int  # tonic pitch class 0..11
    mode: str  # "major" or "minor"
    tempo_bpm: float  # quarter-note beats per minute
    beats_per_bar: int = 4  # time signature numerator (x/4)

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput(f"mode {self.mode!r} not allowed; allowed: {list(MODES)}")
        object.__setattr__(self, "tonic", int(self.tonic) % 12)
        object.__setattr__(self, "chords", tuple(self.chords))

    @property
    def key_name(self) -> str:
        """e.g. "D major", "Bb minor"."""
        return f"{tonic_name(self.tonic, self.mode)} {self.mode}"

    @property
    def spelling(self) -> tuple[str, ...]:
        return key_spelling(self.tonic, self.mode)

    @property
    def length_beats(self) -> float:
        return max((c.end_beats for c in self.chords), default=0.0)

    @property
    def locked_indices(self) -> frozenset[int]:
        return frozenset(i for i, c in enumerate(self.chords) if c.locked)

    def chord_names(self) -> list[str]:
        return [c.chord.name for c in self.chords]

    def transposed(self, semitones: int) -> "Progression":
        """The same progression in the key ``semitones`` higher (names respelled for that key)."""
        tonic = (self.tonic + semitones) % 12
        spelling = key_spelling(tonic, self.mode)
        chords = tuple(replace(c, chord=c.chord.transposed(semitones, spelling)) for c in self.chords)
        return replace(self, chords=chords, tonic=tonic)

    def with_locked(self, indices: Iterable[int]) -> "Progression":
        """A copy where exactly the chords at ``indices`` are locked."""
        wanted = set(indices)
        bad = sorted(i for i in wanted if not 0 <= i < len(self.chords))
        if bad:
            raise InvalidInput(f"chord index {bad[0]} not in the progression; allowed: 0..{len(self.chords) - 1}")
        return replace(self, chords=tuple(replace(c, locked=i in wanted) for i, c in enumerate(self.chords)))

    def to_events(self) -> tuple[ChordEvent, ...]:
        """Key-relative events in the models' frame (tonic 0 for major, 9 for minor)."""
        shift = FRAME_TONIC[self.mode] - self.tonic
        return tuple(
            ChordEvent((c.chord.root + shift) % 12, c.chord.quality, (c.chord.bass + shift) % 12,
                       float(c.duration_beats))
            for c in self.chords)

    @classmethod
    def from_events(cls, events: Sequence[ChordEvent], tonic: int, mode: str, tempo_bpm: float,
                    beats_per_bar: int = 4, locked: Iterable[int] = ()) -> "Progression":
        """Place key-relative events (models' frame) back to back in the key of ``tonic``/``mode``."""
        if mode not in MODES:
            raise InvalidInput(f"mode {mode!r} not allowed; allowed: {list(MODES)}")
        shift = tonic - FRAME_TONIC[mode]
        spelling = key_spelling(tonic, mode)
        locked_set = set(locked)
        chords, start = [], 0.0
        for index, event in enumerate(events):
            chord = Chord(event.root + shift, event.quality, event.bass + shift, spelling)
            chords.append(PlacedChord(chord, start, float(event.beats), index in locked_set))
            start += float(event.beats)
        return cls(tuple(chords), tonic, mode, float(tempo_bpm), int(beats_per_bar))


# ---------------------------------------------------------------------------------------------
# Voicing

VOICING_LOW = 48  # C3: lowest note of the chord voicing
VOICING_HIGH = 84  # C6: highest note of the chord voicing
BASS_LOW = 28  # E1
BASS_HIGH = 52  # E3
BASS_CENTRE = 38  # D2: where the bass line starts and is pulled back to


@dataclass(frozen=True)
class Voicing:
    """How one chord is played: a bass note and the upper voices (MIDI pitches)."""

    bass: int  # MIDI pitch of the bass note (E1..E3 area)
    notes: tuple[int, ...]  # upper voices, ascending, 3..5 notes within about C3..C6

    @property
    def pitches(self) -> tuple[int, ...]:
        return (self.bass,) + self.notes


def _close_stacks(tones: Sequence[int]) -> list[tuple[int, ...]]:
    """Close-position stacks (interval offsets from the lowest note) for every inversion."""
    stacks = []
    for first in range(len(tones)):
        order = tones[first:] + tones[:first]
        offsets, current = [0], 0
        for previous, tone in zip(order, order[1:]):
            step = (tone - previous) % 12 or 12
            current += step
            offsets.append(current)
        stacks.append((order[0], tuple(offsets)))
    return stacks


def candidate_voicings(chord: Chord, low: int = VOICING_LOW, high: int = VOICING_HIGH) -> list[tuple[int, ...]]:
    """Every close, open (drop-2) and doubled voicing of the chord tones within [low, high].

    Seventh and added-note chords also get shells without the fifth, so that every chord has
    3- and 4-note voicings.
    """
    tones = list(dict.fromkeys(chord.tones))
    tone_sets = [tones]
    if len(tones) >= 4 and 7 in chord.intervals:  # a shell without the perfect fifth (3 voices)
        tone_sets.append([t for t in tones if t != (chord.root + 7) % 12])
    shapes: set[tuple[int, ...]] = set()
    stacks = [stack for tone_set in tone_sets for stack in _close_stacks(tone_set)]
    for lowest_pc, offsets in stacks:
        variants = [offsets]
        if len(offsets) >= 3:  # drop-2: second voice from the top down an octave (open spacing)
            variants.append(tuple(sorted(offsets[:-2] + (offsets[-2] - 12,) + offsets[-1:])))
        for shape in list(variants):
            if len(shape) < 5:  # double the lowest note an octave up (fuller, 4-5 voices)
                variants.append(tuple(sorted(set(shape + (shape[0] + 12,)))))
        for shape in variants:
            # Offsets are relative to a note of pitch class ``lowest_pc`` (negative after a drop).
            for base in range(low - 24 + (lowest_pc - low) % 12, high + 1, 12):
                notes = tuple(sorted(set(base + o for o in shape)))
                if notes[0] >= low and notes[-1] <= high and 3 <= len(notes) <= 5:
                    shapes.add(notes)
    return sorted(shapes)


def voice_movement(previous: Sequence[int], current: Sequence[int]) -> float:
    """Total semitones the voices move from one voicing to the next.

    Equal sizes: voices are matched in order (lowest to lowest ...). Different sizes: each note is
    matched to its nearest note in the other chord, averaged over both directions.
    """
    if len(previous) == len(current):
        return float(sum(abs(a - b) for a, b in zip(previous, current)))
    forward = sum(min(abs(n - p) for p in previous) for n in current)
    backward = sum(min(abs(p - n) for n in current) for p in previous)
    return (forward + backward) / 2.0


def _register_cost(notes: Sequence[int], register: float) -> float:
    return abs(sum(notes) / len(notes) - register)


def _choose_bass(pc: int, previous: int | None, ceiling: int) -> int:
    options = [p for p in range(BASS_LOW, BASS_HIGH + 1) if p % 12 == pc]
    below = [p for p in options if p <= ceiling - 3] or options
    anchor = BASS_CENTRE if previous is None else previous
    return min(below, key=lambda p: (abs(p - anchor) + 0.35 * abs(p - BASS_CENTRE), p))


def voice_chords(chords: Sequence[Chord], register: float = 64.0, voices: int | None = 4) -> list[Voicing]:
    """Voice chords with smooth voice leading around ``register`` (MIDI centre of the upper voices).

    Each chord takes the candidate voicing (any inversion, close or open, 3-5 notes within
    C3..C6) that moves the voices least from the previous one, with a pull back towards the
    register so that the line does not drift; the first chord is the candidate nearest the
    register. ``voices`` prefers voicings with that many notes (None: no preference).
    """
    result: list[Voicing] = []
    previous_notes: tuple[int, ...] | None = None
    previous_bass: int | None = None
    cache: dict[tuple[int, int], list[tuple[int, ...]]] = {}
    for chord in chords:
        key = (chord.root, chord.quality)
        candidates = cache.get(key)
        if candidates is None:
            candidates = cache[key] = candidate_voicings(chord)

        def cost(notes: tuple[int, ...]) -> float:
            shape = 0.15 * max(0, notes[-1] - notes[0] - 14)  # prefer hand-sized spans
            shape += 1.0 * (len(set(chord.tones)) - len({n % 12 for n in notes}))  # prefer complete chords
            shape += 0.0 if voices is None else 1.5 * abs(len(notes) - voices)
            if previous_notes is None:  # first chord: near the register, root position on ties
                return 2.0 * _register_cost(notes, register) + shape + 0.1 * (notes[0] % 12 != chord.root)
            return voice_movement(previous_notes, notes) + 0.6 * _register_cost(notes, register) + shape

        if voices is not None:  # keep the texture even: the asked-for size when the chord has one
            candidates = [n for n in candidates if len(n) == voices] or candidates
        notes = min(candidates, key=lambda n: (cost(n), n))
        bass = _choose_bass(chord.bass, previous_bass, notes[0])
        result.append(Voicing(bass, notes))
        previous_notes, previous_bass = notes, bass
    return result


def voice_progression(progression: Progression, register: float = 64.0, voices: int | None = 4) -> list[Voicing]:
    """Voicings (bass + upper voices, MIDI pitches) for each chord of a progression."""
    return voice_chords([c.chord for c in progression.chords], register, voices)


def root_position_voicing(chord: Chord, octave_base: int = 60) -> tuple[int, ...]:
    """The naive voicing: chord tones stacked in root position from the root's octave at ``octave_base``."""
    root = octave_base + (chord.root - octave_base) % 12
    return tuple(root + i for i in chord.intervals)
