"""Free-text requests for "the mood carried" (issue 15): what a user might type or say, each with the
side of valence and arousal it asks for. Written for this bench; none is one of the four phrases of
the earlier voice issue. Used by bench/form.py (mode and tempo against the request) and, later, by
the emotion-classifier check.

valence / arousal: +1 positive / high, -1 negative / low, 0 neither (mixed or neutral on that axis).
group: "Q1".."Q4" (Russell quadrants as EMOPIA labels them), "mixed" or "neutral".

(Named mood_requests, not requests: the bench scripts put bench/ first on sys.path, where a
requests.py would shadow the HTTP package that huggingface_hub imports.)
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Request:
    """One request and what it asks for."""

    text: str  # the words as typed
    valence: int  # +1 positive, -1 negative, 0 neither
    arousal: int  # +1 energetic, -1 calm, 0 neither
    group: str  # "Q1".."Q4", "mixed" or "neutral"


def _q(group: str, valence: int, arousal: int, texts: tuple[str, ...]) -> list[Request]:
    return [Request(t, valence, arousal, group) for t in texts]


REQUESTS: tuple[Request, ...] = tuple(
    _q("Q1", +1, +1, (
        "an upbeat song for a summer road trip with friends",
        "something joyful and bouncy to dance around the kitchen",
        "make it cheerful, bright and full of energy",
        "a triumphant anthem for winning the championship",
        "happy birthday party music, lively and fun",
        "an excited, celebratory tune for good news",
        "give me a playful, energetic pop groove",
        "euphoric music for the moment the festival lights come on",
        "a sunny, exhilarating morning run soundtrack",
        "bold, confident and uplifting, like a victory lap",
    ))
    + _q("Q2", -1, +1, (
        "an angry, aggressive track for a fight scene",
        "furious and chaotic, like a storm breaking windows",
        "a tense chase through dark alleys at night",
        "menacing music for the villain's entrance",
        "anxious and frantic, my heart is racing with panic",
        "a violent, pounding rage against everything",
        "music for a nightmare where something is hunting me",
        "a restless, agitated piece full of dread",
        "bitter and furious, slamming the door on the way out",
        "fearful, urgent music for an escape from a burning building",
    ))
    + _q("Q3", -1, -1, (
        "a melancholy song about missing someone who is gone",
        "slow and mournful music for a funeral",
        "lonely rain on the window on a grey afternoon",
        "a heartbroken ballad after the breakup",
        "gloomy and tired, nothing seems to matter anymore",
        "quiet grief for a friend I lost",
        "a sorrowful lullaby for a long cold winter",
        "depressed and empty, sitting alone in the dark",
        "a wistful, regretful goodbye at the train station",
        "hopeless and weary music for the end of the day",
    ))
    + _q("Q4", +1, -1, (
        "soft, relaxing music for falling asleep",
        "a gentle, tender love song for my partner",
        "serene background music for meditation",
        "a cosy Sunday morning with coffee and a book",
        "warm and content, watching the sunset by the lake",
        "a soothing, dreamy piece for a lazy afternoon",
        "calm and comforting, like a warm blanket",
        "peaceful music for a walk in a quiet forest",
        "a sweet, relaxed tune for a slow dance at home",
        "tranquil and gentle, like waves on a still beach",
    ))
    + _q("mixed", 0, 0, (
        "bittersweet, like looking at old photographs",
        "happy but a little sad, the last day of summer camp",
        "nostalgic and warm with a hint of longing",
    ))
    + _q("mixed", 0, +1, (
        "excited but nervous before a big exam",
        "angry yet determined to keep fighting",
    ))
    + _q("mixed", 0, -1, (
        "calm but a little melancholy, a quiet evening alone",
    ))
    + _q("neutral", 0, 0, (
        "play me some chords",
        "a piano piece in four bars",
        "background music for a presentation",
        "write a song",
    ))
)
