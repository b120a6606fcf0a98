"""A short kill -9 soak (issue 18): a process adding compositions to a history and one writing MIDI
files are killed with SIGKILL at random moments, 5 times each; nothing they acknowledged is lost
and the next normal run leaves no stray files. bench/soak.py runs 100 kills of each, and of
`moodchords train --out` (a training run takes ~10-30 s here, too long for `make test`)."""
from __future__ import annotations

import random

import pytest

from bench.soak import soak_history, soak_midi

KILLS = 5


@pytest.mark.parametrize("soak", [soak_history, soak_midi], ids=["history", "midi"])
def test_kill_9_loses_nothing_acknowledged_and_leaves_nothing_behind(soak, tmp_path):
    result = soak(KILLS, tmp_path, random.Random(18), progress=lambda line: None)
    assert result.kills == KILLS  # every child was still running when killed
    assert result.acknowledged > 0  # and had done some work first, so there was something to lose
    assert result.lost == []
    assert result.stray_after_run == []
