"""Where a chord falls in the bar, and how long it lasts, on the half-beat grid of the
harmonic-rhythm tables (one formula for training the tables, scoring with them and sampling
from them)."""
from __future__ import annotations

RHYTHM_STEP = 0.5  # beats: durations and onsets are quantised to half beats


def bar_position(onset: float, beats_per_bar: int, n_positions: int, step: float = RHYTHM_STEP) -> int:
    """Row of a rhythm table for a chord starting ``onset`` beats into the piece: its position in
    the bar in steps (an onset that rounds to the bar line is the next bar's downbeat, 0), at most
    the table's last row (a table made for a shorter bar)."""
    steps_per_bar = max(1, int(round(beats_per_bar / step)))
    return min(int(round((onset % beats_per_bar) / step)) % steps_per_bar, n_positions - 1)


def duration_column(beats: float, n_durations: int, step: float = RHYTHM_STEP) -> int:
    """Column of a rhythm table for a chord of ``beats``: its length in steps (at least one step,
    at most the table's longest), minus one."""
    return min(max(int(round(beats / step)), 1), n_durations) - 1
