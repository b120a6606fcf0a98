"""Seeded random request texts for the text path's fuzz (tests/test_request_text.py runs a few
hundred, bench/text_robustness.py many more): lone surrogates, control and format characters,
NFKC bombs, huge numbers, long runs of one character, settings words and mood words, mixed."""
from __future__ import annotations

import random

PIECES = [
    "in C", " sharp", " minor", "bpm", " bars", "tempo ", "minus ", "a thousand ", "two hundred and ", ",000",
    ".5", "e309", "-", "+", "piano ", "very ", "not ", "sad ", "happy ", "calm ", "angry ", "'", "key of ",
    "\ufdfa", "ﬃ", "１２０", "\U0001F600", "e\u0301", "\u200b", "\u202e", "\ufeff", "\ufffd", "\uffff",
]
CONTROLS = [*range(0, 32), 0x7F, *range(0x80, 0xA0)]


def fuzz_text(rng: random.Random) -> str:
    """One random request of 1 to 12 parts (some over the length limit, most under it)."""
    parts: list[str] = []
    for _ in range(rng.randint(1, 12)):
        kind = rng.random()
        if kind < 0.35:
            parts.append(rng.choice(PIECES))
        elif kind < 0.5:
            parts.append(chr(rng.randint(0xD800, 0xDFFF)))  # a lone surrogate
        elif kind < 0.6:
            parts.append(chr(rng.choice(CONTROLS)))
        elif kind < 0.7:
            parts.append(rng.choice("0123456789") * rng.randint(1, 400) + rng.choice([" bpm", " bars", ""]))
        elif kind < 0.8:
            parts.append(rng.choice([" ", "-", " -", "'", "a", ",", "."]) * rng.randint(100, 3500))  # a long run
        elif kind < 0.9:
            parts.append("".join(chr(rng.randint(0x20, 0x2FFF)) for _ in range(rng.randint(1, 40))))
        else:
            parts.append(" ".join(rng.choice(["sad", "slow", "bright", "dark", "strings", "in", "a"])
                                  for _ in range(rng.randint(1, 30))))
    return "".join(parts)


def fuzz_texts(count: int, seed: int):
    """``count`` texts from ``seed`` (the same seed, the same texts)."""
    rng = random.Random(seed)
    for _ in range(count):
        yield fuzz_text(rng)
