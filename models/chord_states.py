"""Chord-state numbering: every (root, quality, bass) of the vocabulary as one integer.

The CRBM's softmax layout, the next-chord baselines, the mode-chord tables and the generator all
index arrays by this number, so it is defined once here (numpy only, no TensorFlow). Order:
root-major, then quality, then the bass's interval above the root (the mixed-radix order of
``models.crbm.CHORD_LAYOUT``'s groups)."""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from models.errors import InvalidModelInput
from models.vocabulary import PITCH_CLASSES, QUALITIES, ChordEvent

N_QUALITIES = len(QUALITIES)
NUM_STATES = PITCH_CLASSES * N_QUALITIES * PITCH_CLASSES  # 12 roots x qualities x 12 bass intervals


def chord_state_index(event: ChordEvent) -> int:
    """State number of a chord event; InvalidModelInput names an event outside the vocabulary."""
    if not (0 <= event.root < PITCH_CLASSES and 0 <= event.quality < N_QUALITIES and 0 <= event.bass < PITCH_CLASSES):
        raise InvalidModelInput(f"chord event {event} out of range; allowed: root, bass 0..11, quality 0..{N_QUALITIES - 1}")
    return (event.root * N_QUALITIES + event.quality) * PITCH_CLASSES + (event.bass - event.root) % PITCH_CLASSES


def chord_from_state(state: int, beats: float = 1.0) -> ChordEvent:
    """The chord event of a state number (inverse of ``chord_state_index``)."""
    if not 0 <= int(state) < NUM_STATES:
        raise InvalidModelInput(f"chord state {state} out of range; allowed: 0..{NUM_STATES - 1}")
    root, rest = divmod(int(state), N_QUALITIES * PITCH_CLASSES)
    quality, interval = divmod(rest, PITCH_CLASSES)
    return ChordEvent(root, quality, (root + interval) % PITCH_CLASSES, beats)


def state_sequences(sequences: Iterable[Sequence[ChordEvent]]) -> list[np.ndarray]:
    """Chord-event sequences -> int64 arrays of state numbers (empty sequences dropped)."""
    out = []
    for seq in sequences:
        states = np.fromiter((chord_state_index(e) for e in seq), dtype=np.int64)
        if states.size:
            out.append(states)
    return out
