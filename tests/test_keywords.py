"""Keyword candidates and extractors (KeyBERT runs on the real bundled MiniLM model)."""
from __future__ import annotations

import time

import pytest

from assistant.errors import InvalidInput
from assistant.keywords import (
    STOP_WORDS, YakeExtractor, candidate_words, make_extractor, mask_spans, tokenize,
)

FILLER = "I want to play a song, something like a piece of music that you make into a track"


def test_tokenize_keeps_offsets_and_lowercases():
    tokens = tokenize("Not TOO sad, don't stop")
    assert [t.word for t in tokens] == ["not", "too", "sad", "don't", "stop"]
    assert "Not TOO sad, don't stop"[tokens[2].start:tokens[2].end] == "sad"


def test_words_keep_inner_apostrophes_and_hyphens_only():
    words = [t.word for t in tokenize("rock-'n'-roll, a--b 'quoted' end-- x'")]
    assert words == ["rock-'n'-roll", "a--b", "quoted", "end", "x"]


def test_tokenize_is_linear_on_punctuation_runs():
    # the word pattern consumes each character once; "a" + 100,000 apostrophes is one scan
    for text in ("a" + "'" * 100_000, "a'" * 50_000 + "-", "-" * 100_000 + "b"):
        started = time.process_time()
        tokens = tokenize(text)
        assert time.process_time() - started < 0.5 and tokens


def test_request_filler_is_never_a_candidate():
    assert candidate_words(FILLER) == []
    for word in ("song", "want", "play", "something", "piece", "music", "make", "track"):
        assert word in STOP_WORDS


def test_candidates_drop_numbers_letters_and_noise_in_order():
    assert candidate_words("a dark, DARK and tense 8 x song " + "z" * 40) == ["dark", "tense"]


def test_mask_spans_blanks_without_moving_offsets():
    text = "sad strings in D minor"
    masked = mask_spans(text, [(4, 11), (12, 22)])
    assert len(masked) == len(text) and masked.split() == ["sad"]


def test_yake_finds_the_mood_words_only():
    found = [w for w, _ in YakeExtractor().extract("play something dark and tense", top_n=5)]
    assert set(found) == {"dark", "tense"}


def test_yake_scores_are_best_first():
    scores = [s for _, s in YakeExtractor().extract("a gloomy melancholy song for a rainy afternoon", top_n=5)]
    assert scores == sorted(scores, reverse=True) and len(scores) >= 3


@pytest.fixture(scope="module")
def sentence_model():
    from assistant.language import load_sentence_model

    return load_sentence_model()


def test_keybert_uses_the_bundled_model_and_skips_stop_words(sentence_model):
    extractor = make_extractor("keybert", sentence_model)
    found = [w for w, _ in extractor.extract("I want a song that expresses hope and wonder", top_n=5)]
    assert {"hope", "wonder"} <= set(found)
    assert not set(found) & STOP_WORDS


def test_keybert_empty_request_gives_nothing(sentence_model):
    assert make_extractor("keybert", sentence_model).extract(FILLER) == []


def test_unknown_extractor_lists_the_choices():
    with pytest.raises(InvalidInput, match=r"available extractors = \['keybert', 'yake'\]"):
        make_extractor("rake")


@pytest.mark.parametrize("text, words", [
    ("ein fröhliches Lied über den Sommer", ["ein", "fröhliches", "lied", "über", "den", "sommer"]),
    ("triste et lente, très douce", ["triste", "et", "lente", "très", "douce"]),
    ("una canción alegre, señor", ["una", "canción", "alegre", "señor"]),
    ("a naïve café tune, Straße, don’t stop", ["a", "naïve", "café", "tune", "straße", "don't", "stop"]),
])
def test_non_ascii_letters_stay_inside_whole_words(text, words):
    """Issue 16: "fröhliches" was cut to "hliches". Every token is a whole word of the request."""
    tokens = tokenize(text)
    assert [t.word for t in tokens] == words
    for token in tokens:  # the offsets cover the whole word, bounded by non-letters
        assert text[token.start:token.end].lower().replace("’", "'") == token.word
        assert token.start == 0 or not text[token.start - 1].isalpha()
        assert token.end == len(text) or not text[token.end].isalpha()
