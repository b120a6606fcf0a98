"""The musical vocabulary speech recognition is biased toward (issue 16 item 10).

Whisper's language model prefers everyday words: a spoken "in E minor" comes out "in a minor",
"B flat" as "be flat". Whisper continues the vocabulary of the text it is given as "previous" text
(openai-whisper's ``initial_prompt``, faster-whisper's ``initial_prompt`` and ``hotwords``), so
the decoder is shown the words a request's settings are made of. Every word comes from the
project's own parsers, so the recogniser is biased toward exactly what the request parser reads:
key letters and modes (assistant.music), "bpm" and "bars" and the metre words (assistant.language's
patterns and METRE_WORDS), instrument names (assistant.language.INSTRUMENT_PROGRAMS, one per
General MIDI family of assistant.general_midi).

The prompt stays short (PROMPT_TOKEN_BUDGET): Whisper keeps at most 223 prompt tokens, and a long
list makes the decoder echo the list instead of transcribing (assistant.speech guards against it).
Built on first use: the parsers' module imports scikit-learn (~1 s) and the speech model loads first.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from assistant.errors import InvalidInput

#: Most prompt tokens the bias may take (Whisper's limit is 223). Chosen by bench/spoken_settings.py.
PROMPT_TOKEN_BUDGET = 80
#: A request as people say one, before the vocabulary: without it the word list alone made mood
#: words worse (bench/spoken_settings.py, WER on bench/speech.py's mood requests). It names no key:
#: the earlier prompt's "in a minor key" pulled a spoken "in E minor" to "in a minor".
REQUEST_STYLE = "Play something calm and peaceful on the piano. Make it sad, dark and slow."
#: General MIDI families (program // 8) whose instrument the prompt names first, in this order:
#: the families requests name most (piano, guitar, strings, ensemble, brass, reed, pipe, pad),
#: then the others in GM order until the budget is spent.
_FAMILY_ORDER = (0, 3, 5, 6, 7, 8, 9, 11, 1, 2, 4, 10, 12, 13, 14, 15)


@dataclass(frozen=True)
class MusicVocabulary:
    """The words a request's musical settings are made of, as the request parser reads them."""
    key_letters: tuple[str, ...]      # tonic letters, "C".."B" (assistant.music)
    accidentals: tuple[str, ...]      # the spoken accidentals: "sharp", "flat"
    modes: tuple[str, ...]            # "major", "minor" (assistant.music.MODES)
    units: tuple[str, ...]            # "bpm", "bars": what a tempo and a length are said with
    metres: tuple[str, ...]           # time signatures the composer writes ("3/4", ...; assistant.mood.METRES)
    metre_words: tuple[str, ...]      # single words that name a metre ("waltz", "jig"; METRE_WORDS)
    instruments: tuple[str, ...]      # one spoken instrument name per GM family, most asked-for families first
    all_instruments: tuple[str, ...]  # every spoken instrument name the parser knows
    key_names: tuple[str, ...] = ()   # every key the composer writes, spoken ("D flat major"; CONVENTIONAL_KEYS)


@functools.lru_cache(maxsize=1)
def music_vocabulary() -> MusicVocabulary:
    """The vocabulary, read from the parsers (cached; imports assistant.language)."""
    from assistant.language import INSTRUMENT_PROGRAMS, METRE_WORDS
    from assistant.mood import METRES
    from assistant.music import CONVENTIONAL_KEYS, MODES

    letters = tuple(dict.fromkeys(name[0] for _pc, _mode, name in CONVENTIONAL_KEYS))
    # One name per GM family: the program the parser knows most spoken names for (the one
    # requests mean: "strings" 48, "guitar" 24), named by its shortest single word.
    names_of: dict[int, list[str]] = {}
    for word, program in INSTRUMENT_PROGRAMS.items():
        names_of.setdefault(program, []).append(word)
    by_family: dict[int, str] = {}
    ranked = []
    for program, names in names_of.items():
        single = sorted((w for w in names if w.isalpha()), key=lambda w: (len(w), w))
        if single:  # ties on the count go to the shorter word ("organ" 19 over "hammond" 16)
            ranked.append((-len(names), len(single[0]), program, single[0]))
    by_family: dict[int, str] = {}
    for _count, _length, program, word in sorted(ranked):
        by_family.setdefault(program // 8, word)
    instruments = tuple(by_family[f] for f in _FAMILY_ORDER if f in by_family)
    metre_words = tuple(sorted({w for w in METRE_WORDS if " " not in w and not w.endswith(("s", "ing"))}))
    spoken = {"#": " sharp", "b": " flat"}
    key_names = tuple(dict.fromkeys(f"{name[0]}{spoken.get(name.split()[0][1:], '')} {mode}"
                                    for _pc, mode, name in CONVENTIONAL_KEYS))
    return MusicVocabulary(key_letters=letters, accidentals=("sharp", "flat"), modes=tuple(MODES),
                           units=("bpm", "bars"), metres=tuple(METRES), metre_words=metre_words,
                           instruments=instruments, all_instruments=tuple(sorted(INSTRUMENT_PROGRAMS)),
                           key_names=key_names)


def _whisper_token_count(text: str) -> int:
    """Tokens of ``text`` for Whisper's English tokenizer (GPT-2 byte pairs, as tiny.en uses)."""
    from whisper.tokenizer import get_tokenizer

    return len(get_tokenizer(multilingual=False).encode(" " + text.strip()))


def build_prompt(vocabulary: MusicVocabulary, max_tokens: int = PROMPT_TOKEN_BUDGET,
                 count_tokens=_whisper_token_count, style: str = REQUEST_STYLE) -> str:
    """The previous-text context for Whisper: ``style`` (a request as people say one), the key
    names with both modes and accidentals, how a tempo, a length and a metre are said, then
    instrument names (not already in ``style``) until ``max_tokens`` is reached.

    Every key letter appears with a capital and both modes, so no single key is favoured (a prompt
    naming only "D minor" turned a spoken "G major" into "D major"); digits and "bpm" as a
    transcript should write them."""
    if max_tokens < 1:
        raise InvalidInput(f"max_tokens {max_tokens} is not allowed; give 1 or more")
    letters = ", ".join(vocabulary.key_letters)
    head = (f"{style.strip()} " if style.strip() else "") + (f"Keys {letters}, {' or '.join(vocabulary.accidentals)}, {' or '.join(vocabulary.modes)}. "
            f"120 {vocabulary.units[0]}, 8 {vocabulary.units[1]}, "
            f"{', '.join(vocabulary.metres)} time, {', '.join(vocabulary.metre_words)}.")
    if count_tokens(head) > max_tokens:
        raise InvalidInput(f"max_tokens {max_tokens} is too small for the key, tempo and metre words "
                         f"({count_tokens(head)} tokens)")
    chosen: list[str] = []
    for word in vocabulary.instruments:
        if re.search(rf"\b{re.escape(word)}\b", style, re.I):
            continue
        candidate = head + " " + ", ".join(chosen + [word]).capitalize() + "."
        if count_tokens(candidate) > max_tokens:
            break
        chosen.append(word)
    return head + (" " + ", ".join(chosen).capitalize() + "." if chosen else "")


@functools.lru_cache(maxsize=1)
def music_prompt() -> str:
    """The shipped bias prompt: build_prompt over music_vocabulary() at PROMPT_TOKEN_BUDGET."""
    return build_prompt(music_vocabulary())


def prompt_words(prompt: str) -> list[str]:
    """The prompt's words, lower case, punctuation dropped (for the echo check)."""
    return re.sub(r"[^a-z0-9/' ]+", " ", prompt.lower()).split()


# --------------------------------------------------------------------------------------------
# Repairs after recognition: only spellings of a setting the request parser cannot read, where
# the spoken words leave one reading (never a choice between two keys: "a minor" stays A minor).

_LETTER_AND_MODE = re.compile(r"\b(?P<note>[A-G])(?:\s*,\s*|\s+)(?P<acc>sharp|flat)?\s*,?\s+(?P<mode>major|minor)\b")
#: "in the minor", "in the flat major": "the" before a mode is a heard "E" (/ði:/ for /i:/); a
#: phrase such as "in the minor key" or "in the major mode" is left alone.
_THE_AS_E = re.compile(r"\b(?P<in>in)\s+the\s+(?P<acc>(?:sharp|flat)\s+)?(?P<mode>major|minor)\b"
                       r"(?!\s+(?:key|keys|mode|modes|scale|scales|tonality|chord|chords)\b)", re.I)
#: a letter name written as its English homophone before a mode, after "in" or what "in" is misheard
#: as ("in sea major", "and be flat minor"); "I see major problems" is left alone
_HOMOPHONES = {"see": "C", "sea": "C", "be": "B", "bee": "B", "dee": "D", "gee": "G"}
_HOMOPHONE_KEY = re.compile(r"\b(?P<before>in|and|an|on|of)\s+(?P<word>" + "|".join(_HOMOPHONES) + r")\s+(?P<rest>(?:(?:sharp|flat)\s+)?(?:major|minor)\b)",
                            re.I)
#: "B P M", "b.p.m.", "B, B, M": the letters of "bpm" written one by one (P and B differ only in voicing)
_BPM_LETTERS = re.compile(r"\b[Bb][\s.,-]{1,3}[BbPp][\s.,-]{1,3}[Mm]\b\.?")
#: "3-4 time", "6, 8, time", "6 8 time": a spoken time signature ("six eight time") written
#: as two numbers; only before "time", and only as a metre the composer writes (the 2nd number a note value)
_METRE_NUMBERS = re.compile(r"(?<![\w/])(?P<num>[2-9]|1[0-2])\s*[-,.]?\s*(?P<den>2|4|8|16)\s*,?\s+time\b", re.I)


def repair_settings_words(text: str) -> str:
    """The transcript with settings words the recogniser wrote in a form the request parser does not
    read put back in its form: "E, minor" -> "E minor", "F, sharp, minor" -> "F sharp minor",
    "in the minor" -> "in E minor", "sea major" -> "C major", "B P M" -> "bpm", "6, 8, time" -> "6/8 time". Nothing else changes."""
    text = _LETTER_AND_MODE.sub(lambda m: f"{m['note']} {m['acc'] + ' ' if m['acc'] else ''}{m['mode']}", text)
    text = _HOMOPHONE_KEY.sub(lambda m: f"{m['before']} {_HOMOPHONES[m['word'].lower()]} {m['rest']}", text)
    text = _THE_AS_E.sub(lambda m: f"{m['in']} E {m['acc'] or ''}{m['mode']}", text)
    text = _BPM_LETTERS.sub("bpm", text)
    return _METRE_NUMBERS.sub(lambda m: f"{m['num']}/{m['den']} time", text)
