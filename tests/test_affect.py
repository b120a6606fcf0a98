"""Arousal cues (assistant.affect.AROUSAL_CUES): musical words read as tempo and energy."""
from __future__ import annotations

import pytest

from assistant.affect import (AROUSAL_CUES, CUE_WEIGHT, WEAK_AROUSAL, cued_arousal, find_arousal_cues,
                              tempo_cue)


def test_every_cue_has_a_value_in_range_and_a_reason():
    for phrase, (value, reason) in AROUSAL_CUES.items():
        assert phrase == phrase.lower().strip() and -1.0 <= value <= 1.0 and value != 0, phrase
        assert len(reason) > 10, phrase
    assert {"ballad", "lullaby", "funeral", "march", "anthem", "dance"} <= set(AROUSAL_CUES)


@pytest.mark.parametrize("text, phrases", [
    ("a heartbroken Ballad after the breakup", ["ballad"]),
    ("a funeral march for the old king", ["funeral march"]),  # the phrase claims both words
    ("a slow-dance at home", ["slow dance"]),
    ("a battle march and a fanfare", ["battle", "march", "fanfare"]),
    ("a walk in early March", []),  # the month, not the march
    ("a balladeer's lullabyish song", []),  # whole words only
    ("", []),
])
def test_find_arousal_cues(text, phrases):
    assert [p for _, p, _ in find_arousal_cues(text)] == phrases


def test_tempo_cue_follows_the_tempo_and_is_bounded():
    assert tempo_cue(70) == pytest.approx(-0.3) and tempo_cue(140) == pytest.approx(0.4)
    assert tempo_cue(20) == -0.5 and tempo_cue(300) == 0.5 and tempo_cue(100) == 0.0


def test_cues_settle_only_a_weak_reading():
    assert cued_arousal(0.05, []) == 0.05  # no cue: unchanged
    assert cued_arousal(0.5, [-0.5]) == 0.5  # clear reading wins over any cue
    assert cued_arousal(-WEAK_AROUSAL, [0.5]) == -WEAK_AROUSAL
    weak = cued_arousal(-0.02, [-0.35, -0.45])
    assert weak == pytest.approx((1 - CUE_WEIGHT) * -0.02 + CUE_WEIGHT * -0.4)
    assert abs(weak) >= 0.1  # far enough from neutral for the plan to hear it
    assert cued_arousal(0.08, [-0.3]) < -0.1  # a weak reading may change side
