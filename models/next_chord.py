"""How well a chord model predicts the next chord: bits per chord and top-1 accuracy over held-out
sequences, for any model giving log2 p(next state | history) over all chord states
(models.chord_states), the class CRBMs one by one (CRBMNextChord, TensorFlow imported lazily) or as
the Bayesian mixture used when the class is unknown (MixtureNextChord). ``moodchords train``
reports these on EMOPIA val; the benches compare them with research.baselines."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Mapping, Protocol, Sequence

import numpy as np

from models.chord_states import NUM_STATES, chord_state_index, state_sequences
from models.errors import InvalidModelInput
from models.progress import Progress
from models.vocabulary import ChordEvent


# -- next-chord prediction ---------------------------------------------------------------------
class NextChordPredictor(Protocol):
    """Anything that gives log2 p(next state | history) over all NUM_STATES chord states."""

    def log2_probs_next(self, history: Sequence[ChordEvent] | np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class NextChordMetrics:
    """Next-chord prediction quality over a set of sequences (every event, the first included)."""

    bits_per_chord: float  # mean negative log2 p(event | previous events of its sequence)
    top1_accuracy: float  # share of events that are the model's most probable state, 0..1
    events: int  # number of predicted events


def sequence_log2_probs(model, states: np.ndarray) -> np.ndarray:
    """(T, S) log2 p(s_t = . | s_<t) for one state sequence.

    Uses the model's own ``log2_probs_sequence`` when it has one (one batched call, e.g. the CRBM),
    otherwise calls ``log2_probs_next`` once per position."""
    batched = getattr(model, "log2_probs_sequence", None)
    if batched is not None:
        return np.asarray(batched(states))
    return np.stack([model.log2_probs_next(states[:t]) for t in range(states.size)])


def next_chord_metrics(model, sequences: Iterable[Sequence[ChordEvent]],
                       progress: Progress | None = None) -> NextChordMetrics:
    """Mean NLL (bits per chord) and top-1 accuracy of a next-chord model over the sequences."""
    seqs = state_sequences(sequences)
    if not seqs:
        raise InvalidModelInput("no chord events to evaluate; need at least one non-empty sequence")
    total_bits, correct, count = 0.0, 0, 0
    for i, states in enumerate(seqs):
        log2p = sequence_log2_probs(model, states)
        if log2p.shape != (states.size, NUM_STATES):
            raise InvalidModelInput(f"model returned log-probabilities of shape {log2p.shape}; "
                                    f"expected {(states.size, NUM_STATES)}")
        total_bits -= float(log2p[np.arange(states.size), states].sum())
        correct += int((np.argmax(log2p, axis=1) == states).sum())
        count += states.size
        if progress is not None:
            progress("next-chord evaluation", (i + 1) / len(seqs))
    return NextChordMetrics(total_bits / count, correct / count, count)


class CRBMNextChord:
    """Adapter: a models.crbm.ConditionalRBM in the chord-event layout as a next-chord predictor.

    The CRBM's softmax states are numbered as models.chord_states numbers chords, so its exact
    conditional distribution over all states is used as is."""

    def __init__(self, rbm, name: str = "CRBM"):
        from models.crbm import CHORD_LAYOUT

        if rbm.layout != CHORD_LAYOUT:
            raise InvalidModelInput(f"CRBM layout {rbm.layout}; expected the chord-event layout {CHORD_LAYOUT}")
        self.rbm = rbm
        self.name = name

    def log2_probs_sequence(self, states: np.ndarray) -> np.ndarray:
        from models.crbm import CHORD_LAYOUT, states_to_visible

        visible = states_to_visible(CHORD_LAYOUT, np.asarray(states, np.int64))
        u = self.rbm.history_matrix(visible)
        # Pad to a multiple of 64 rows so that the tf.function sees few distinct shapes (no retracing).
        rows = len(u)
        padded = np.zeros((-(-rows // 64) * 64, u.shape[1]), np.float32)
        padded[:rows] = u
        return self.rbm.log_prob_all_states(padded).numpy()[:rows].astype(np.float64) / math.log(2.0)

    def log2_probs_next(self, history) -> np.ndarray:
        states = np.asarray([chord_state_index(e) for e in history] if not isinstance(history, np.ndarray) else history,
                            np.int64)
        # Predict position len(history): append any state and read the last row.
        return self.log2_probs_sequence(np.concatenate([states, [0]]))[-1]


class MixtureNextChord:
    """Per-class next-chord models combined as a Bayesian mixture when the class is unknown.

    p(x_t | x_<t) = sum_c p(c | x_<t) p_c(x_t | x_<t), with p(c | x_<t) proportional to
    prior_c * p_c(x_<t): the exact sequential predictive distribution of the class mixture."""

    def __init__(self, models: Mapping[str, object], prior: Mapping[str, float] | None = None,
                 name: str = "mixture"):
        if not models:
            raise InvalidModelInput("a mixture needs at least one class model")
        self.models = dict(models)
        prior = prior or {c: 1.0 for c in self.models}
        total = sum(prior[c] for c in self.models)
        self.log2_prior = np.log2(np.asarray([prior[c] / total for c in self.models]))
        self.name = name

    def log2_probs_sequence(self, states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, np.int64)
        per_class = np.stack([sequence_log2_probs(m, states) for m in self.models.values()])  # (C, T, S)
        observed = per_class[:, np.arange(states.size), states]  # (C, T)
        prefix = np.concatenate([np.zeros((len(self.models), 1)), np.cumsum(observed, axis=1)[:, :-1]], axis=1)
        log_w = self.log2_prior[:, None] + prefix  # (C, T): log2 of prior * p_c(x_<t)
        log_w -= np.log2(np.exp2(log_w - log_w.max(0)).sum(0)) + log_w.max(0)
        top = per_class.max(axis=0)
        return top + np.log2(np.einsum("ct,cts->ts", np.exp2(log_w), np.exp2(per_class - top)))

    def log2_probs_next(self, history) -> np.ndarray:
        states = np.asarray([chord_state_index(e) for e in history] if not isinstance(history, np.ndarray) else history,
                            np.int64)
        return self.log2_probs_sequence(np.concatenate([states, [0]]))[-1]
