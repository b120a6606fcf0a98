"""Emotion classes: what a class is, and the EMOPIA quadrants the shipped models are trained on.

Numbers-only (no numpy, no I/O), so that the language layer can import it cheaply."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable


@dataclass(frozen=True)
class EmotionClass:
    """One emotion class of a model set."""

    name: str  # class label from the data, e.g. "Q1"
    description: str  # words for the mood, e.g. "happy, excited" (the label itself for user data)
    valence: float | None  # -1..1 (None when the data gives no coordinates)
    arousal: float | None  # -1..1 (None when the data gives no coordinates)


#: The EMOPIA quadrants (Russell's circumplex), descriptions from the dataset's README. The shipped
#: models/emopia/config.json holds the same (tests/test_language.py checks it); the language layer
#: falls back to these when no model set can be loaded.
EMOPIA_CLASSES: tuple[EmotionClass, ...] = (
    EmotionClass("Q1", "happy, excited", 0.6, 0.6),
    EmotionClass("Q2", "tense, angry", -0.6, 0.6),
    EmotionClass("Q3", "sad, gloomy", -0.6, -0.6),
    EmotionClass("Q4", "calm, tender", 0.6, -0.6),
)


def class_info(classes: Iterable[EmotionClass]) -> dict[str, tuple[str, float | None, float | None]]:
    """name -> (description, valence, arousal): the form training and classification take."""
    return {c.name: (c.description, c.valence, c.arousal) for c in classes}
