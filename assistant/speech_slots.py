"""Constrained re-decoding of a transcript's settings slots (issue 16 item 10).

Whisper's language model prefers everyday words: a spoken "in E minor" comes out "in a minor" or
"in the minor", "at 140 beats per minute" as "140 meters per minute". After the free transcript, the
places where the request parser (assistant.language.parse_settings) reads a setting are found,
near-misses included ("in T major": a short word or a single letter before major/minor; "meters per
minute"; "16 Mars"), and for each such slot the same Whisper model chooses among the grammar's
alternatives only, given the audio:

- the key: every key the composer writes (assistant.music.CONVENTIONAL_KEYS, spoken: "D flat major");
- a tempo: every whole bpm of assistant.mood.TEMPO_RANGE, with the unit as heard ("bpm" or
  "beats per minute");
- a length: every bar count of assistant.language.BARS_RANGE, "N bars".

- an instrument: the word or two after "on", "for" or "with" (and "the"/"a"), where the parser reads
  no instrument, against every instrument name of assistant.language.INSTRUMENT_PROGRAMS. Unlike a
  key, the words heard there need not name an instrument at all ("music for a rainy day"), so the
  heard words compete too, and an instrument wins only within INSTRUMENT_PRIOR_NATS of them: the
  request's grammar makes an instrument likely after "on the", and on the tuning requests a misheard
  instrument ("on the Diablo" for "on the oboe", "microphone" for "vibraphone") scored 0.1-3.7 nats
  below the heard words, ordinary words ("for the final scene", "for a thriller") 9 or more.

Scoring: the transcript is forced through the decoder once, up to its last slot (one pass gives the
next-token distribution at every position); at each slot's start the alternatives' first tokens are
ranked and the few best (TOP_FIRST_TOKENS) kept; a slot whose heard words are already an alternative
with the best first token is left alone. The transcript with each kept alternative in its slot is then
scored in one batch (Whisper.align's token probabilities), and the alternative whose transcript from
the slot on (the slot and the words after it) is most probable wins. The encoder output of the free
decode is reused, cut to the audio's length (the decoder attends to far fewer frames), and the scoring
runs without the previous-text prompt (the alternatives are the grammar's already; the prompt would be
decoded again for each: 4x the cost): two decoder passes (bench/spoken_settings.py measures the ms
added). The engine side is assistant.speech (_ForcedScorer for faster-whisper, _TorchScorer for
openai-whisper); this module is the text side.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from typing import Protocol, Sequence

import numpy as np

#: Distinct first tokens kept per slot after the first pass (letters for a key, numbers for a tempo).
TOP_FIRST_TOKENS = 3
#: Most alternatives of one slot scored in the second pass (a letter has up to 4 keys: E/Eb major/minor).
MAX_ALTERNATIVES = 8
#: Distinct first tokens and most alternatives of an instrument slot (names start with many different tokens).
INSTRUMENT_FIRST_TOKENS = 6
MAX_INSTRUMENT_ALTERNATIVES = 12
#: How much likelier (nats, log odds) an instrument name is than other words after "on the" / "for" /
#: "with": an instrument wins when its reading scores at most this much below the heard words' (see
#: the module docstring for the margins measured on the tuning requests).
INSTRUMENT_PRIOR_NATS = 3.0
#: Longest transcript (Whisper tokens) re-decoded: the decoder holds 448 positions, a window's text
#: at most 224 (a request is ~10-40).
MAX_TOKENS = 200

#: Words that sound like a small number or get written for one ("to" for "two", "for" for "four").
_NUMBER_SOUNDS = ("to", "too", "for", "fore", "ate", "won")
_NUMBER_WORDS = ("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                 "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
                 "hundred").split()
#: one word of a number as heard: digits ("120", "6c6"), a number word, a single letter, a sound-alike
_NUMBER_LIKE = (r"(?:\d[\w.]*|(?:" + "|".join(_NUMBER_WORDS + list(_NUMBER_SOUNDS)) + r")\b|[A-Za-z]\b)")
#: up to three number-like words right before a unit (e.g. "6 to 8" heard for "60 beats")
_NUMBER_RUN = re.compile(r"(?:(?<![\w'])" + _NUMBER_LIKE + r"[\s,-]*){1,3}$", re.I)
_HAS_NUMBER = re.compile(r"\d|\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.I)

#: a key as heard: a word of up to 6 letters (a letter, "the", "sea", "deep"), perhaps an accidental,
#: then the mode; ``lead`` is "in" or what "in" is misheard as
_KEY_SLOT = re.compile(r"(?P<lead>\b(?:in|and|an|on|of|or|key\s+of)\s+)?(?P<head>(?<![\w'-])[A-Za-z]{1,6})"
                       r"(?:[\s,-]+(?P<acc>sharp|flat))?[\s,-]+(?P<mode>major|minor)\b"
                       r"(?P<after>\s+(?:keys?|modes?|scales?|tonality|chords?)\b)?", re.I)
_NOT_A_HEAD = {"sharp", "flat", "major", "minor", "key", "keys"}
#: a tempo's unit as heard: bpm and its spellings ("BPM", "ppm", "p.m."), or any word before "per minute"
_TEMPO_UNIT = re.compile(r"(?:(?<=\d)|\b)(?P<bpm>bpm|ppm|b\.p\.m\.|p\.m\.|pm)(?!\w)"
                         r"|\b(?P<per>[\w'-]+\s+per\s+minute)\b", re.I)
#: a length's unit: "bars"/"measures", or a word one letter away from "bars" after a number ("16 Mars")
_BARS_UNIT = re.compile(r"\b(?P<unit>[A-Za-z]{3,8})\b(?![\s-]*loop)", re.I)
#: where an instrument is named: "on the X", "for a X Y", "with X" (the span: one or two words)
_INSTRUMENT_LEAD = re.compile(r"\b(?:on|for|with)\s+(?:(?:the|a|an|my|some)\s+)?"
                              r"(?P<span>(?<![\w'-])[A-Za-z][\w'-]*(?:\s+[A-Za-z][\w'-]*)?)", re.I)
#: first words after "on"/"for"/"with" that are no instrument's mishearing (pronouns, determiners, numbers)
_NOT_AN_INSTRUMENT = set("me you us him her them it this that these those my your our their his its "
                         "one two three four five six seven eight nine ten".split())


class Scorer(Protocol):
    """The engine side: Whisper forced through token sequences, given the audio."""

    def encode(self, text: str) -> list[int]:
        """Whisper's text tokens of ``text`` (as the decoder writes them: a leading space)."""

    def next_token_rows(self, tokens: Sequence[int], positions: Sequence[int]) -> dict[int, np.ndarray]:
        """The next-token log-probabilities (a vocabulary row) at each of ``positions`` of ``tokens``
        forced through the decoder (position i: the distribution token i was drawn from)."""

    def sequence_logprobs(self, sequences: Sequence[Sequence[int]]) -> list[np.ndarray]:
        """For each token sequence, the log-probability of each of its tokens (one batch)."""


@dataclass(frozen=True)
class Slot:
    """A place in the transcript where the request parser reads a setting."""
    kind: str                      # "key" | "tempo" | "bars" | "instrument"
    start: int                     # character span of the transcript the alternatives replace
    end: int
    alternatives: tuple[str, ...]  # the grammar's words for the slot, from the parser's vocabulary
    #: None: the heard words are not scored (they are no value of the slot); a number: they compete,
    #: scored this many nats lower (instruments: the grammar's prior for a name; 0 for a tempo or length
    #: the parser reads as one value out of range, said_out_of_range)
    heard_penalty: float | None = None
    first_tokens: int = TOP_FIRST_TOKENS  # distinct first tokens of the alternatives kept after the first pass
    most_alternatives: int = MAX_ALTERNATIVES  # alternatives scored in the second pass


@functools.lru_cache(maxsize=1)
def slot_vocabulary() -> dict[str, tuple[str, ...]]:
    """The alternatives of each slot kind, read from the parser and the composer (cached)."""
    from assistant.language import BARS_RANGE
    from assistant.mood import TEMPO_RANGE
    from assistant.speech_vocabulary import music_vocabulary

    vocabulary = music_vocabulary()
    return {"key": vocabulary.key_names,
            "tempo": tuple(str(n) for n in range(int(TEMPO_RANGE[0]), int(TEMPO_RANGE[1]) + 1)),
            "bars": tuple(str(n) for n in range(BARS_RANGE[0], BARS_RANGE[1] + 1)),
            "instrument": vocabulary.all_instruments}


def _near_bars(word: str) -> bool:
    """True for "bars"/"bar"/"measures"/"measure", or a word one letter edit away from "bars"."""
    word = word.lower()
    if word in ("bar", "bars", "measure", "measures"):
        return True
    target = "bars"
    if abs(len(word) - len(target)) > 1:
        return False
    previous = list(range(len(target) + 1))
    for i, ch in enumerate(word, 1):
        current = [i]
        for j, tc in enumerate(target, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ch != tc)))
        previous = current
    return previous[-1] <= 1


def find_slots(text: str) -> list[Slot]:
    """The settings slots of ``text``, left to right, not overlapping."""
    vocabulary = slot_vocabulary()
    found: list[Slot] = []
    for match in _KEY_SLOT.finditer(text):
        head = match["head"]
        if head.lower() in _NOT_A_HEAD:
            continue
        if not (len(head) == 1 and head.isupper()):
            # a lower-case letter or a short word: only where "in" (or what it is misheard as) leads
            # or an accidental follows ("left sharp minor"), and not "in a minor key" (a mode, no key)
            if not (match["lead"] or match["acc"]) or match["after"]:
                continue
        found.append(Slot("key", match.start("head"), match.end("mode"), vocabulary["key"]))
    for match in _TEMPO_UNIT.finditer(text):
        run = _NUMBER_RUN.search(text[:match.start()])
        start = run.start() if run else match.start()
        if not run and not match["per"]:
            continue  # "pm" alone, no number before it: not a tempo
        if match["bpm"] and match["bpm"].lower() in ("pm", "p.m.") and re.fullmatch(r"(?:[1-9]|1[0-2])\s*", run.group()):
            continue  # "at 3 pm": a time of day
        unit = "bpm" if match["bpm"] else "beats per minute"
        found.append(_heard_if_out_of_range(text, Slot("tempo", start, match.end(),
                                                       tuple(f"{n} {unit}" for n in vocabulary["tempo"]))))
    for match in _BARS_UNIT.finditer(text):
        if not _near_bars(match["unit"]):
            continue
        run = _NUMBER_RUN.search(text[:match.start()])
        if not run or not _HAS_NUMBER.search(run.group()):
            continue
        found.append(_heard_if_out_of_range(text, Slot("bars", run.start(), match.end(),
                                                       tuple(f"{n} bars" for n in vocabulary["bars"]))))
    found += _instrument_slots(text, vocabulary["instrument"])
    found.sort(key=lambda s: s.start)
    kept: list[Slot] = []
    for slot in found:
        if not kept or slot.start >= kept[-1].end:
            kept.append(slot)
    return kept


def _instrument_slots(text: str, names: tuple[str, ...]) -> list[Slot]:
    """Instrument slots: the one or two words after "on"/"for"/"with" where the parser reads no
    instrument. With two words the alternatives are each name alone (both words misheard: "music
    marks" for "music box") and each name before the second word ("thin pad" -> "synth pad")."""
    from assistant.language import INSTRUMENT_PATTERN

    slots = []
    for match in _INSTRUMENT_LEAD.finditer(text):
        words = match["span"].split()
        if words[0].lower() in _NOT_AN_INSTRUMENT or INSTRUMENT_PATTERN.match(text, match.start("span")):
            continue
        if len(words) == 2 and INSTRUMENT_PATTERN.fullmatch(words[1]):
            words = words[:1]  # "on the thin pad" reads as a pad already: only the first word is open
        end = match.start("span") + len(words[0]) if len(words) == 1 else match.end("span")
        alternatives = names if len(words) == 1 else tuple(dict.fromkeys(
            [f"{name} {words[1]}" for name in names] + list(names)))
        slots.append(Slot("instrument", match.start("span"), end, alternatives, INSTRUMENT_PRIOR_NATS,
                          INSTRUMENT_FIRST_TOKENS, MAX_INSTRUMENT_ALTERNATIVES))
    return slots


def said_out_of_range(slot: Slot, heard: str) -> bool:
    """Whether the request parser reads the heard words of a tempo or length slot as one whole value and
    refuses it as out of range ("400 beats per minute", or "8 bpm" misheard for "80 bpm"). The
    alternatives enumerate only the allowed range, so such heard words compete with them as they are:
    a number the speaker really said keeps its words, and the parser's warning names it."""
    if slot.kind not in ("tempo", "bars"):
        return False
    from assistant.language import parse_settings_detailed

    setting = "tempo " if slot.kind == "tempo" else "length "
    return any(w.startswith(setting) and " ignored; allowed " in w for w in parse_settings_detailed(heard).warnings)


def _heard_if_out_of_range(text: str, slot: Slot) -> Slot:
    """``slot`` with its heard words competing as they are (heard_penalty 0) when said_out_of_range."""
    return replace(slot, heard_penalty=0.0) if said_out_of_range(slot, text[slot.start:slot.end]) else slot


def _replace(text: str, slot: Slot, words: str) -> str:
    return text[:slot.start] + words + text[slot.end:]


def redecode_slots(text: str, scorer: Scorer) -> str:
    """``text`` with each settings slot filled by the alternative Whisper finds most probable given
    the audio (see the module docstring); text without slots comes back unchanged."""
    slots = find_slots(text)
    if not slots:
        return text
    tokens = scorer.encode(text)
    if len(tokens) > MAX_TOKENS:
        return text
    usable: list[tuple[Slot, int]] = []
    for slot in slots:
        prefix = scorer.encode(text[:slot.start].rstrip()) if text[:slot.start].strip() else []
        if tokens[:len(prefix)] == prefix and len(prefix) < len(tokens):  # the slot starts on a token boundary
            usable.append((slot, len(prefix)))
    if not usable:
        return text
    rows = scorer.next_token_rows(tokens, [p for _s, p in usable])
    batch: list[list[int]] = []
    owners: list[tuple[int, str, int, float]] = []  # (slot index, alternative, position, nats subtracted)
    for index, (slot, position) in enumerate(usable):
        row = rows.get(position)
        if row is None:
            continue
        first: dict[int, list[tuple[str, list[int]]]] = {}
        for alternative in slot.alternatives:
            candidate = scorer.encode(_replace(text, slot, alternative))
            if len(candidate) > position and candidate[:position] == tokens[:position]:
                first.setdefault(candidate[position], []).append((alternative, candidate))
        ranked = sorted(first, key=lambda t: -row[t])[:slot.first_tokens]
        if not ranked:
            continue
        heard = text[slot.start:slot.end]
        if heard in slot.alternatives and tokens[position] == ranked[0]:
            continue  # already the grammar's words, and their first token is the most probable one
        for alternative, candidate in [pair for t in ranked for pair in first[t]][:slot.most_alternatives]:
            batch.append(candidate)
            owners.append((index, alternative, position, 0.0))
        if slot.heard_penalty is not None:
            batch.append(list(tokens))
            owners.append((index, heard, position, slot.heard_penalty))
    if not batch:
        return text
    best: dict[int, tuple[float, str]] = {}
    for (index, alternative, position, penalty), logprobs in zip(owners, scorer.sequence_logprobs(batch)):
        total = float(np.sum(logprobs[position:])) - penalty  # the slot and the words after it
        if index not in best or total > best[index][0]:
            best[index] = (total, alternative)
    out = text
    for index in sorted(best, reverse=True):  # right to left: earlier spans stay valid
        out = _replace(out, usable[index][0], best[index][1])
    return out
