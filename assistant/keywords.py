"""Keyword extraction for mood requests: which words of "I want a song that expresses hope and
wonder" carry the mood. Two extractors share one candidate filter (stop words, request filler
such as "song"/"play", and anything the settings parser already claimed); bench/language.py
measures which one finds mood words more precisely."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

#: Words of a music request that are never a mood: the request itself and its filler.
REQUEST_WORDS = frozenset("""
song songs tune tunes track tracks piece pieces music musical melody melodies tune chord chords
progression progressions composition compose composing write writing create make making made
generate play playing played want wanna need needs like would could please give gimme let lets
something anything thing things stuff kind sort bit lot lots little really very quite rather
slightly somewhat super extremely totally pretty more less most least too so just maybe also
sound sounds sounding feel feels feeling feelings mood moods vibe vibes style type sort express
expresses expressing evoke evokes evoking about with that which one ones some way ok okay yeah hey
hi hello thanks thank im i'm it's its let's make me my mine us our
tempo key keys bar bars beat beats bpm rhythm rhythms harmony harmonies instrument instruments
""".split())

#: Words that change a mood word rather than being one; kept out of keywords, read by language.py.
MODIFIER_WORDS = frozenset("""
not no never without non dont don't doesnt doesn't isnt isn't aren't arent wasnt wasn't
very really extremely super incredibly highly deeply totally utterly so too quite
slightly somewhat little bit tad kinda kind sort fairly rather mildly barely hardly
more less much even
""".split())

STOP_WORDS = frozenset(ENGLISH_STOP_WORDS) | REQUEST_WORDS | MODIFIER_WORDS

MAX_WORD_LENGTH = 24  # longer "words" are noise (e.g. a pasted run of letters)
#: Letters of any script ([^\W\d_]: "fröhliches", "café", "naïve" stay whole words), with inner
#: apostrophes and hyphens ("don't", "rock-'n'-roll"); ends on a letter. Each character is consumed
#: once (possessive, no alternation that rescans), so tokenising is linear.
_WORD = re.compile(r"[^\W\d_]++(?:['’\-]++[^\W\d_]++)*+")


@dataclass(frozen=True)
class Token:
    """One word of the request."""

    word: str  # lower-cased word
    start: int  # character offset in the text
    end: int  # character offset just past the word


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` (letters, inner apostrophes and hyphens), lower-cased, with offsets."""
    # lower(), not casefold(): "ß" stays one letter, so a keyword is always a word of the request
    return [Token(m.group(0).lower().replace("’", "'"), m.start(), m.end()) for m in _WORD.finditer(text)]


def mask_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with the given character spans blanked, so their words cannot become keywords
    (the settings parser's "in D minor", "8 bars", "piano"), offsets unchanged."""
    chars = list(text)
    for start, end in spans:
        for i in range(max(0, start), min(len(chars), end)):
            chars[i] = " "
    return "".join(chars)


def candidate_words(text: str) -> list[str]:
    """Distinct content words of ``text`` in order of appearance: no stop words, request filler,
    modifiers, single letters or numbers."""
    seen: dict[str, None] = {}
    for token in tokenize(text):
        word = token.word.strip("'-")
        if not 3 <= len(word) <= MAX_WORD_LENGTH or word in STOP_WORDS or word in seen:
            continue
        seen[word] = None
    return list(seen)


class KeywordExtractor(Protocol):
    name: str

    def extract(self, text: str, top_n: int = 5) -> list[tuple[str, float]]:
        """Up to ``top_n`` (keyword, score) pairs, best first; score higher is better."""


class KeyBertExtractor:
    """KeyBERT over the bundled sentence-transformers model (passed in, so nothing downloads).
    Candidates are our filtered words; KeyBERT ranks them by similarity to the whole request."""

    name = "keybert"

    def __init__(self, sentence_model) -> None:
        from keybert import KeyBERT

        self._model = sentence_model
        self._keybert = KeyBERT(model=sentence_model)

    def extract(self, text: str, top_n: int = 5) -> list[tuple[str, float]]:
        candidates = candidate_words(text)
        if not candidates:
            return []
        embeddings = self._model.encode([text, *candidates], normalize_embeddings=True)
        return self.rank(text, candidates, embeddings[0], embeddings[1:], top_n)

    def rank(self, text: str, candidates: Sequence[str], doc_embedding, word_embeddings, top_n: int = 5):
        """extract() with the embeddings already computed (the reader batches all its encodes)."""
        found = self._keybert.extract_keywords(
            text,
            candidates=list(candidates),
            top_n=top_n,
            stop_words=None,
            doc_embeddings=np.atleast_2d(doc_embedding),
            word_embeddings=np.atleast_2d(word_embeddings),
        )
        return [(word, float(score)) for word, score in found]


class YakeExtractor:
    """YAKE (statistical, no model) restricted to the same candidate words."""

    name = "yake"

    def __init__(self) -> None:
        import yake

        self._yake = yake.KeywordExtractor(lan="en", n=1, dedupLim=0.9, top=20, stopwords=set(STOP_WORDS))

    def extract(self, text: str, top_n: int = 5) -> list[tuple[str, float]]:
        allowed = set(candidate_words(text))
        if not allowed:
            return []
        ranked = self._yake.extract_keywords(text)
        # YAKE scores are "lower is better"; turn them into "higher is better" in (0, 1].
        out = [(word.lower(), 1.0 / (1.0 + float(score))) for word, score in ranked if word.lower() in allowed]
        # YAKE drops words it finds uninformative in very short texts; keep them, ranked last.
        listed = {word for word, _ in out}
        out += [(word, 0.0) for word in candidate_words(text) if word not in listed]
        return out[:top_n]

    def rank(self, text: str, candidates: Sequence[str], doc_embedding=None, word_embeddings=None, top_n: int = 5):
        """Same interface as KeyBertExtractor.rank; YAKE needs no embeddings."""
        return self.extract(text, top_n)


def make_extractor(name: str, sentence_model=None) -> KeywordExtractor:
    """The extractor called ``name`` ("keybert" needs the loaded sentence model)."""
    from assistant.errors import InvalidInput

    if name == "keybert":
        if sentence_model is None:
            raise InvalidInput("the keybert extractor needs a loaded sentence model")
        return KeyBertExtractor(sentence_model)
    if name == "yake":
        return YakeExtractor()
    raise InvalidInput(f"keyword extractor {name!r} not found; available extractors = ['keybert', 'yake']")
