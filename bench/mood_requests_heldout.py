"""Held-out free-text requests for "the mood carried" (issue 15): written before the arousal cues of
assistant/affect.py (AROUSAL_CUES) existed and never used to choose them, to check that the cues
generalise beyond bench/mood_requests.py. None is derived from the 50 requests there; they lean on
genre and scene words (a march, a requiem, a bossa nova, a haunted hospital) on both arousal sides.

    .venv/bin/python bench/mood_carried.py --requests heldout --no-write

valence / arousal / group: as in bench/mood_requests.py (Russell quadrants as EMOPIA labels them).
"""
from __future__ import annotations

from mood_requests import Request, _q

REQUESTS: tuple[Request, ...] = tuple(
    _q("Q1", +1, +1, (
        "a brass band marching through town on a holiday",
        "a disco track for a wedding reception dance floor",
        "a carnival parade with drums and confetti",
        "a cheerful jig for a pub session on a Friday night",
        "a stadium rock anthem for the home team scoring",
        "a fast, happy polka for a village fair",
        "the opening credits of a cartoon about a racing dog",
        "a salsa for a sunny street party",
    ))
    + _q("Q2", -1, +1, (
        "a battle march as the enemy army storms the gates",
        "a heavy metal riff for a riot",
        "an industrial techno track for a dystopian factory",
        "a horror movie chase in a haunted hospital",
        "a war drum rhythm before an ambush",
        "a thriller score for a bomb countdown",
        "a stormy sea and a sinking ship in the night",
        "a punk song about hating your boss",
    ))
    + _q("Q3", -1, -1, (
        "a requiem for the soldiers who never came home",
        "a slow blues about losing everything",
        "a dirge for a rainy cemetery",
        "a lament played on a lonely cello",
        "a sad waltz in an empty ballroom",
        "a hospital waiting room late at night",
        "an elegy for a dying autumn garden",
        "a torch song in a smoky bar after she left",
    ))
    + _q("Q4", +1, -1, (
        "a lullaby for a newborn baby",
        "a quiet jazz trio for a candlelit dinner",
        "a bossa nova for sipping tea on the balcony",
        "a pastoral hymn for a Sunday in the countryside",
        "an ambient drone for a spa",
        "a soft acoustic serenade under the stars",
        "a nocturne for a snowy night by the fireplace",
        "a lazy hammock in the shade on a summer afternoon",
    ))
)
