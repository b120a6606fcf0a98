"""The player thread's note events (assistant.playback.sequencer)."""
from __future__ import annotations

from assistant.playback import score_events
from assistant.score import Note, Score


def test_events_close_notes_at_the_end_and_start_mid_note():
    score = Score(notes=(Note(60, 0.0, 8.0, 90, 0), Note(62, 3.0, 1.0, 90, 1)), tempo_bpm=60.0, length_beats=4.0)
    events = score_events(score, start_beats=2.0)
    assert [(e.beats, e.kind, e.pitch) for e in events] == [(2.0, 1, 60), (3.0, 1, 62), (4.0, 0, 60), (4.0, 0, 62)]
