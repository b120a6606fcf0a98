"""The music core: note and key names, chords, progressions and piano voicings.

Pure Python (no Qt, no TensorFlow). Chords are stored as pitch classes plus an index into
``models.vocabulary.QUALITIES``; names are only a view, spelled in the key they sit in.

How names are spelled (what a composer reading the chart expects):

* The key decides the letters. A key is shown by its conventional name (``tonic_name``: Db major,
  C# minor, F# major, Eb minor) unless the user asked for a real enharmonic one by name (Gb major,
  C# major, D# minor are kept as asked). A key that would need more than 7 sharps or flats
  (G# major, Db minor, D# major) has no key signature, so it is shown as its enharmonic real key
  (Ab major, C# minor, Eb major) even when asked for by that name.
* A chord's root is spelled by its scale degree: diatonic roots with the key's letters (Gb major's
  IV is Cb, F# major's vii is E#); chromatic roots the conventional way: flats for borrowed
  chords (bII, bIII, bVI, bVII in major: Bb in C), sharps for the raised fourth (F#dim in C) and
  the raised sixth and seventh of minor (E#ø7 in G# minor), and a leading-tone (diminished or
  half-diminished) chord on a chromatic root is spelled as the raised degree below (C#° in C,
  not Db°) because it leads up to the next degree.
* Every chord tone, and the bass when it is a chord tone, is spelled by its interval above the root:
  the major third of C# is E#, not F (C#/E#); the seventh of E#ø7 is D#.
* Double sharps and flats (written ## and bb): chord tones take them where the interval demands
  (D#/F## is V6 of G# minor), and so do the degrees of the key (G# minor's vii°7 is F##°7). A
  chromatic root (or a bass outside the chord) takes one only in the extreme keys of 6 or 7
  sharps or flats (G##° is vii°/vi in C# major); elsewhere it is respelled enharmonically
  (Db major's bVI is A, not Bbb).
* The diminished family is written with one convention: ° (dim), °7 (dim7), ø7 (half-diminished).
  Chord.parse also reads the older dim, dim7 and m7b5 it printed before.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Iterable, Iterator, Sequence

from assistant.errors import InvalidInput
from models.vocabulary import FRAME_TONIC, QUALITIES, ChordEvent

#: Sharp spellings, index = pitch class (0 = C).
NOTE_NAMES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Flat spellings, index = pitch class.
FLAT_NOTE_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
#: The spelling a chord gets when no key is known: the names lead sheets use most.
DEFAULT_NOTE_NAMES: tuple[str, ...] = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

MODES = ("major", "minor")

_LETTERS = "CDEFGAB"
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
# Position of each natural major key on the circle of fifths (sharps > 0, flats < 0).
_LETTER_FIFTHS = {"C": 0, "G": 1, "D": 2, "A": 3, "E": 4, "B": 5, "F": -1}
_ACCIDENTALS = {"": 0, "#": 1, "♯": 1, "b": -1, "♭": -1, "##": 2, "x": 2, "𝄪": 2, "bb": -2, "𝄫": -2}
_ACCIDENTAL_TEXT = {-2: "bb", -1: "b", 0: "", 1: "#", 2: "##"}
# The conventional tonic spelling for each pitch class and mode (fewest accidentals; F# major and
# Eb minor for the two 6-accidental ties, as most charts write them).
_MAJOR_TONIC_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_TONIC_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
# Semitones above the tonic -> scale-degree step (0 = tonic letter) used to spell it:
# 1, b2, 2, b3 (minor 3), 3 (#3 in minor), 4, #4, 5, b6 (minor 6), 6 (#6 in minor), b7 (minor 7),
# 7 (#7 in minor): borrowed chords read as flats, the raised fourth, sixth and seventh as sharps.
_DEGREE_OF_INTERVAL = (0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6)
# Chromatic intervals above the tonic where a leading-tone chord (°, °7, ø7) is spelled as the
# raised degree below (C#° in C major leads to ii) instead of the lowered degree above.
_RAISED_LEADING_TONE_INTERVALS = {"major": (1, 3, 8, 10), "minor": (1,)}
_LEADING_TONE_QUALITIES = frozenset({"dim", "dim7", "min7b5"})
# Semitones above a chord's root -> letter steps above the root letter (third = 2, fifth = 4 ...),
# for the tones of the vocabulary's qualities; dim7's 9 semitones is a diminished seventh (6 steps).
_TONE_STEPS = {0: 0, 1: 1, 2: 1, 3: 2, 4: 2, 5: 3, 6: 4, 7: 4, 8: 4, 9: 5, 10: 6, 11: 6}
_TONE_STEPS_BY_QUALITY = {"dim7": {9: 6}}
#: Chord-symbol suffixes shown for the diminished family (one convention: °, °7, ø7); the other
#: qualities show their models.vocabulary suffix.
DISPLAY_SUFFIXES = {"dim": "°", "dim7": "°7", "min7b5": "ø7"}
# Keys with this many sharps or flats or more are "extreme": only there may a chromatic root be
# double-sharp/flat. Degrees of the key (major scale; natural minor plus the raised 6th and 7th)
# are spelled by degree in any key: G# minor's leading tone is F## (F##°7), as notation has it.
_EXTREME_ACCIDENTALS = 6
_KEY_INTERVALS = {"major": frozenset({0, 2, 4, 5, 7, 9, 11}), "minor": frozenset({0, 2, 3, 5, 7, 8, 9, 10, 11})}

_NOTE_PATTERN = r"([A-Ga-g])([#♯b♭]?)"


def _parse_note(letter: str, accidental: str) -> int:
    return (_LETTER_PC[letter.upper()] + _ACCIDENTALS[accidental]) % 12


def _clean_accidental(accidental: str) -> str:
    """'♯' -> '#', '♭' -> 'b', 'x'/'𝄪' -> '##', '𝄫' -> 'bb'."""
    return _ACCIDENTAL_TEXT[_ACCIDENTALS[accidental]]


def _note_on_letter(letter: str, pc: int) -> str | None:
    """``pc`` written on ``letter`` ("E#" for 5 on E), or None when it needs more than a double accidental."""
    offset = (pc - _LETTER_PC[letter] + 6) % 12 - 6  # -6..5 semitones from the natural
    text = _ACCIDENTAL_TEXT.get(offset)
    return None if text is None else letter + text


def _name_pc(name: str) -> int:
    return (_LETTER_PC[name[0]] + _ACCIDENTALS[name[1:]]) % 12


def key_fifths(tonic_name: str, mode: str | None) -> int:
    """The key signature of a key named by its tonic: sharps > 0, flats < 0 (C# major: 7, Eb minor: -6).

    Beyond +-7 the key is theoretical (G# major: 8): it has no key signature.
    """
    fifths = _LETTER_FIFTHS[tonic_name[0]] + 7 * _ACCIDENTALS[tonic_name[1:]]
    return fifths - 3 if mode == "minor" else fifths


def tonic_name(tonic: int, mode: str | None) -> str:
    """The conventional spelling of a key's tonic ("Eb" for Eb major, "C#" for C# minor)."""
    names = _MINOR_TONIC_NAMES if mode == "minor" else _MAJOR_TONIC_NAMES
    return names[tonic % 12]


def real_tonic_name(tonic: int, mode: str | None, asked: str | None = None) -> str:
    """The tonic name a key is shown with: ``asked`` (e.g. "Gb", "D#") when it names ``tonic`` and a
    key with at most 7 sharps or flats, otherwise the conventional name (G# major -> Ab)."""
    if asked:
        match = re.fullmatch(r"([A-Ga-g])(##|bb|[#♯b♭x𝄪𝄫]?)", str(asked).strip())
        if match:
            name = match.group(1).upper() + _clean_accidental(match.group(2))
            if _name_pc(name) == tonic % 12 and abs(key_fifths(name, mode)) <= 7:
                return name
    return tonic_name(tonic, mode)


@dataclass(frozen=True)
class KeySpelling:
    """How notes and chord roots are named in one key (see the module doc for the rules).

    Indexable like the 12-name tables it replaces: ``spelling[pc]`` is the scale-degree name of
    pitch class ``pc`` in the key.
    """

    tonic: int  # tonic pitch class 0..11
    mode: str | None  # "major", "minor", or None (a tonic alone reads as major)
    tonic_name: str  # the tonic as written, e.g. "C#", "Gb" (a real key: at most 7 accidentals)

    @property
    def fifths(self) -> int:
        """Key signature: sharps > 0, flats < 0."""
        return key_fifths(self.tonic_name, self.mode)

    @property
    def extreme(self) -> bool:
        """True for keys of 6 or 7 sharps or flats, where a root may be double-sharp or double-flat."""
        return abs(self.fifths) >= _EXTREME_ACCIDENTALS

    def _on_degree(self, pc: int, degree: int) -> str:
        letter = _LETTERS[(_LETTERS.index(self.tonic_name[0]) + degree) % 7]
        name = _note_on_letter(letter, pc)
        in_key = (pc - self.tonic) % 12 in _KEY_INTERVALS["minor" if self.mode == "minor" else "major"]
        if name is None or (len(name) == 3 and not in_key and not self.extreme):  # respelled enharmonically
            name = (FLAT_NOTE_NAMES if self.fifths < 0 else NOTE_NAMES)[pc % 12]
        return name

    def note(self, pc: int) -> str:
        """Pitch class ``pc`` named by its scale degree in the key (Bb in D major, G# in A minor)."""
        return self._on_degree(pc, _DEGREE_OF_INTERVAL[(pc - self.tonic) % 12])

    def root(self, pc: int, quality: int) -> str:
        """The root of a chord of ``quality`` (index into QUALITIES) on pitch class ``pc``."""
        interval = (pc - self.tonic) % 12
        if (QUALITIES[quality].name in _LEADING_TONE_QUALITIES
                and interval in _RAISED_LEADING_TONE_INTERVALS["minor" if self.mode == "minor" else "major"]):
            return self._on_degree(pc, _DEGREE_OF_INTERVAL[interval - 1])
        return self._on_degree(pc, _DEGREE_OF_INTERVAL[interval])

    def __getitem__(self, pc: int) -> str:
        return self.note(pc)

    def __len__(self) -> int:
        return 12

    def __iter__(self) -> Iterator[str]:
        return (self.note(pc) for pc in range(12))


def key_spelling(tonic: int, mode: str | None, asked_tonic: str | None = None) -> KeySpelling:
    """How notes and chords are named in a key; ``asked_tonic`` as in ``real_tonic_name``."""
    return KeySpelling(tonic % 12, mode, real_tonic_name(tonic, mode, asked_tonic))


def scale_names(tonic: int, mode: str, asked_tonic: str | None = None) -> tuple[str, ...]:
    """The 7 notes of the key's scale (natural minor for minor), e.g. Gb major: Gb Ab Bb Cb Db Eb F."""
    steps = (0, 2, 4, 5, 7, 9, 11) if mode == "major" else (0, 2, 3, 5, 7, 8, 10)
    spelling = key_spelling(tonic, mode, asked_tonic)
    return tuple(spelling._on_degree(tonic + step, degree) for degree, step in enumerate(steps))


def midi_key_signature(tonic: int, mode: str, asked_tonic: str | None = None) -> str:
    """The key as mido's key_signature names it ("C#m", "Gb", "Ebm")."""
    name = real_tonic_name(tonic, mode, asked_tonic)
    return name + ("m" if mode == "minor" else "")


def _conventional_keys() -> tuple[tuple[int, str, str], ...]:
    keys = []
    for pc in range(12):
        for mode in MODES:
            keys.append((pc, mode, f"{tonic_name(pc, mode)} {mode}"))
            # The other real spelling of the two 6-accidental keys is just as common on charts.
            alternative = {(6, "major"): "Gb", (3, "minor"): "D#"}.get((pc, mode))
            if alternative:
                keys.append((pc, mode, f"{alternative} {mode}"))
    return tuple(keys)


#: The keys a key list offers, as (tonic pitch class, mode, display name), ordered by tonic:
#: the conventional name of each of the 24 keys (Db major, C# minor, Ab major, G# minor, Bb minor
#: ...) plus both names of the 6-accidental keys (F# major and Gb major, Eb minor and D# minor).
#: The 7-accidental names (C# major, Cb major, A# minor, Ab minor) are accepted by parse_key and
#: kept when asked for, but not offered: their enharmonic twins are what charts use.
CONVENTIONAL_KEYS: tuple[tuple[int, str, str], ...] = _conventional_keys()


def conventional_keys() -> tuple[tuple[int, str, str], ...]:
    """CONVENTIONAL_KEYS: (tonic pitch class, mode, display name) for a key list."""
    return CONVENTIONAL_KEYS


def parse_key(text: str) -> tuple[int, str | None]:
    """Parse a key such as "D", "F#", "Bb", "Dm", "D minor", "d min", "Eb major", "C# minor".

    Returns (tonic pitch class, mode) where mode is "major", "minor" or None when only a tonic
    was given. Every name of CONVENTIONAL_KEYS is accepted, and so are enharmonic and theoretical
    names (Db minor, G# major), which name the same pitch classes. InvalidInput names the text and
    what is allowed otherwise.
    """
    tonic, mode, _name = parse_key_name(text)
    return tonic, mode


def parse_key_name(text: str) -> tuple[int, str | None, str]:
    """Like parse_key, plus the tonic as written ("G#", "Gb"; '♯'/'♭' as '#'/'b')."""
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
            return _parse_note(letter, accidental), mode, letter.upper() + _clean_accidental(accidental)
    raise InvalidInput(
        f"key {text!r} not recognised; allowed: a tonic C, C#/Db, D, D#/Eb, E, F, F#/Gb, G, G#/Ab, A, "
        f"A#/Bb, B, optionally followed by 'major'/'maj' or 'minor'/'min'/'m' (e.g. 'D', 'F#m', 'Bb minor')")


def asked_tonic_name(key_text: str | None) -> str | None:
    """The tonic written in a key setting or a stored key name ("Gb major" -> "Gb"); None when
    there is none or it does not parse (never raises: for restoring stored records)."""
    if not key_text:
        return None
    try:
        return parse_key_name(key_text)[2]
    except InvalidInput:
        return None


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


def _tone_steps(quality: int, semitones: int) -> int:
    overrides = _TONE_STEPS_BY_QUALITY.get(QUALITIES[quality].name, {})
    return overrides.get(semitones, _TONE_STEPS[semitones % 12])


def spell_above(root_name: str, semitones: int, steps: int) -> str:
    """The note ``semitones`` above ``root_name`` on the letter ``steps`` above it (E# for C# + 4, 2);
    the plain sharp name if that would need more than a double accidental."""
    letter = _LETTERS[(_LETTERS.index(root_name[0]) + steps) % 7]
    pc = _name_pc(root_name) + semitones
    return _note_on_letter(letter, pc % 12) or NOTE_NAMES[pc % 12]


def display_suffix(quality: int) -> str:
    """The chord-symbol suffix shown for a quality ("ø7" for min7b5, "m7" for min7)."""
    return DISPLAY_SUFFIXES.get(QUALITIES[quality].name, QUALITIES[quality].suffix)


@dataclass(frozen=True)
class Chord:
    """A chord: a quality on a root, over a bass note (pitch classes, 0 = C)."""

    root: int  # root pitch class 0..11
    quality: int  # index into models.vocabulary.QUALITIES
    bass: int  # bass pitch class 0..11 (== root in root position)
    # How the name is spelled; not part of equality. A KeySpelling: in that key (module doc); a
    # 12-name table (as Chord.parse makes from the written symbol): root and bass as the table
    # says; None: root from DEFAULT_NOTE_NAMES, chord tones by interval.
    spelling: "KeySpelling | tuple[str, ...] | None" = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.quality < len(QUALITIES):
            raise InvalidInput(f"chord quality index {self.quality} not allowed; allowed: 0..{len(QUALITIES) - 1}")
        object.__setattr__(self, "root", int(self.root) % 12)
        object.__setattr__(self, "bass", int(self.bass) % 12)

    @property
    def root_name(self) -> str:
        """The root as spelled, e.g. "E#" for E#ø7 in G# minor."""
        if isinstance(self.spelling, KeySpelling):
            return self.spelling.root(self.root, self.quality)
        return (self.spelling or DEFAULT_NOTE_NAMES)[self.root]

    @property
    def tone_names(self) -> tuple[str, ...]:
        """Chord tones spelled by their interval above the root, in stacking order (C#: C# E# G#)."""
        root_name = self.root_name
        return tuple(spell_above(root_name, i, _tone_steps(self.quality, i)) for i in self.intervals)

    @property
    def bass_name(self) -> str:
        """The bass note as spelled: a chord tone by its interval above the root, another note
        by its scale degree in the key."""
        if self.bass == self.root:
            return self.root_name
        if isinstance(self.spelling, tuple):  # a written symbol keeps its written bass
            return self.spelling[self.bass]
        for tone, name in zip(self.tones, self.tone_names):
            if tone == self.bass:
                return name
        return (self.spelling or DEFAULT_NOTE_NAMES)[self.bass]

    @property
    def name(self) -> str:
        """Chord symbol, e.g. "Cmaj7", "Am/E", "C#/E#", "E#ø7/D#", "F#°7"."""
        text = self.root_name + display_suffix(self.quality)
        if self.bass != self.root:
            text += "/" + self.bass_name
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

    def transposed(self, semitones: int, spelling: "KeySpelling | tuple[str, ...] | None" = None) -> "Chord":
        return Chord(self.root + semitones, self.quality, self.bass + semitones, spelling)

    def spelled(self, spelling: "KeySpelling | tuple[str, ...] | None") -> "Chord":
        return replace(self, spelling=spelling)

    @classmethod
    def parse(cls, text: str) -> "Chord":
        """Parse a chord symbol ("C", "Am/E", "F#m7b5", "E#ø7/D#", "Bbmaj7", "Dsus4", "G7/B", "D#/F##").

        Reads every symbol ``name`` prints, and the older suffixes it printed before (dim, dim7,
        m7b5). The written root and bass spellings are kept for ``name``.
        """
        symbol = str(text).strip()
        accidental = r"(##|bb|[#♯b♭x𝄪𝄫]?)"
        match = re.fullmatch(r"([A-G])" + accidental + r"([^/]*)(?:/([A-G])" + accidental + r")?", symbol)
        if match:
            letter, root_accidental, suffix, bass_letter, bass_accidental = match.groups()
            quality = _SUFFIX_TO_QUALITY.get(suffix)
            if quality is not None:
                root = _parse_note(letter, root_accidental)
                bass = _parse_note(bass_letter, bass_accidental) if bass_letter else root
                spelling = list(DEFAULT_NOTE_NAMES)
                spelling[root] = letter + _clean_accidental(root_accidental)
                if bass_letter:
                    spelling[bass] = bass_letter + _clean_accidental(bass_accidental)
                return cls(root, quality, bass, tuple(spelling))
        suffixes = sorted({display_suffix(i) or "(none)" for i in range(len(QUALITIES))})
        raise InvalidInput(
            f"chord {text!r} not recognised; allowed: a root C..B with optional #/b (or ##/bb), a suffix out of "
            f"{suffixes} (or dim, dim7, m7b5), and an optional /bass note (e.g. 'Am/E', 'Bbmaj7', 'E#ø7/D#')")


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


def time_signature(beats_per_bar: int, compound: bool = False) -> tuple[int, int]:
    """(numerator, denominator) of a bar of ``beats_per_bar`` quarter beats: 4 -> 4/4, 3 -> 3/4,
    3 compound -> 6/8, 6 compound -> 12/8."""
    return (2 * int(beats_per_bar), 8) if compound else (int(beats_per_bar), 4)


@dataclass(frozen=True)
class Progression:
    """A chord progression in a key, with tempo and metre.

    Beats are quarter notes throughout (durations, tempo, the bar length ``beats_per_bar``); a
    compound metre only changes how a bar is grouped and written: 6/8 is beats_per_bar=3 with
    compound=True (two dotted-quarter beats, at 0 and 1.5), 12/8 is 6 with compound=True.
    Every chord is spelled in the progression's key (its chords' spellings are replaced).
    """

    chords: tuple[PlacedChord, ...]  # in time order, back to back
    tonic: int  # tonic pitch class 0..11
    mode: str  # "major" or "minor"
    tempo_bpm: float  # quarter-note beats per minute
    beats_per_bar: int = 4  # bar length in quarter beats (time signature numerator of x/4)
    compound: bool = False  # True: the bar is written in eighths, grouped in threes (3 -> 6/8)
    # The tonic as the user asked for it ("Gb", "D#"), None otherwise; shown when it makes a real
    # key with the mode, else the conventional name is (G# major -> Ab major). See the module doc.
    tonic_name: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise InvalidInput(f"mode {self.mode!r} not allowed; allowed: {list(MODES)}")
        object.__setattr__(self, "tonic", int(self.tonic) % 12)
        object.__setattr__(self, "compound", bool(self.compound))
        if self.compound and int(self.beats_per_bar) % 3:
            raise InvalidInput(f"compound metre with {self.beats_per_bar} quarter beats per bar not allowed; "
                               "allowed: 3 (6/8) or 6 (12/8)")
        asked = asked_tonic_name(self.tonic_name)
        # Kept only as asked (a conventional name is not remembered as a choice): C# minor shown by
        # convention becomes Db major, not C# major, when the mode changes.
        object.__setattr__(self, "tonic_name", asked if asked and _name_pc(asked) == self.tonic else None)
        spelling = self.spelling
        object.__setattr__(self, "chords", tuple(
            c if c.chord.spelling == spelling else replace(c, chord=c.chord.spelled(spelling)) for c in self.chords))

    @property
    def key_name(self) -> str:
        """e.g. "D major", "Bb minor", "C# minor", "Gb major" when asked for as Gb."""
        return f"{self.spelling.tonic_name} {self.mode}"

    @property
    def spelling(self) -> KeySpelling:
        return key_spelling(self.tonic, self.mode, self.tonic_name)

    @property
    def key_signature(self) -> str:
        """The key as a MIDI key-signature meta event names it (mido: "C#m", "Gb", "Ebm")."""
        return midi_key_signature(self.tonic, self.mode, self.tonic_name)

    @property
    def time_signature(self) -> tuple[int, int]:
        """(numerator, denominator): 4/4, 3/4, 6/8 ..."""
        return time_signature(self.beats_per_bar, self.compound)

    @property
    def length_beats(self) -> float:
        return max((c.end_beats for c in self.chords), default=0.0)

    @property
    def locked_indices(self) -> frozenset[int]:
        return frozenset(i for i, c in enumerate(self.chords) if c.locked)

    def chord_names(self) -> list[str]:
        return [c.chord.name for c in self.chords]

    def transposed(self, semitones: int) -> "Progression":
        """The same progression in the key ``semitones`` higher (its conventional name; names respelled)."""
        tonic = (self.tonic + semitones) % 12
        chords = tuple(replace(c, chord=c.chord.transposed(semitones)) for c in self.chords)
        return replace(self, chords=chords, tonic=tonic, tonic_name=self.tonic_name if tonic == self.tonic else None)

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
                    beats_per_bar: int = 4, locked: Iterable[int] = (), *, compound: bool = False,
                    tonic_name: str | None = None) -> "Progression":
        """Place key-relative events (models' frame) back to back in the key of ``tonic``/``mode``."""
        if mode not in MODES:
            raise InvalidInput(f"mode {mode!r} not allowed; allowed: {list(MODES)}")
        shift = tonic - FRAME_TONIC[mode]
        spelling = key_spelling(tonic, mode, tonic_name)
        locked_set = set(locked)
        chords, start = [], 0.0
        for index, event in enumerate(events):
            chord = Chord(event.root + shift, event.quality, event.bass + shift, spelling)
            chords.append(PlacedChord(chord, start, float(event.beats), index in locked_set))
            start += float(event.beats)
        return cls(tuple(chords), tonic, mode, float(tempo_bpm), int(beats_per_bar), compound, tonic_name)


def tonic_name_for(asked_key: str | None, previous: "Progression | None" = None) -> str | None:
    """The tonic spelling a new progression keeps: the one written in the key setting ("Gb" from
    "Gb major"), else the previous progression's (regenerating keeps how the key was shown)."""
    asked = asked_tonic_name(asked_key)
    if asked is None and previous is not None:
        return previous.tonic_name
    return asked


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
