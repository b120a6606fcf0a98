"""A real Composition built by hand from the music core (no models, no Qt), for the window's and
the workspace's tests."""
from __future__ import annotations

import time

from assistant.arrangement import Arrangement, render_score
from assistant.mood import Mood, MusicalSettings
from assistant.music import Chord, PlacedChord, Progression
from assistant.pipeline import Composition

CHORD_NAMES = ("D", "Bm", "G", "A", "D/F#", "Em7", "Asus4", "A")


def hand_made_composition(names=CHORD_NAMES, text="a song that expresses hope and wonder") -> Composition:
    chords = tuple(PlacedChord(Chord.parse(name), index * 4.0, 4.0) for index, name in enumerate(names))
    progression = Progression(chords, 2, "major", 96.0)
    arrangement = Arrangement("broken", 2.0, 80, 0.9, 62, 48, 48)
    score = render_score(progression, arrangement)
    mood = Mood(0.6, 0.3, {"Q1": 0.5, "Q2": 0.1, "Q3": 0.1, "Q4": 0.3}, ("hope", "wonder"))
    return Composition(id="hand" + str(time.time_ns()), created_at=time.time(), request_text=text, transcript=None,
                       mood=mood, settings=MusicalSettings(), progression=progression, arrangement=arrangement,
                       score=score, seed=1)
