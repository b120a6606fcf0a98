"""The numpy side of the chord CRBM (models.crbm), without TensorFlow: the visible layout, the
state enumeration, the conditioning rows, and NumpyClassScorer, the exact per-class scoring of
StackedExperts.class_log_probs in numpy.

Why a second scoring path: `moodchords classify` only scores. Importing TensorFlow alone makes a
process ~480 MB resident (its libraries and ~2,500 Python modules), and its runtime and one traced
function take it to ~575 MB before any file is read (bench/classify_memory.py); issue 18 asks for
under 500 MB for any input file. The numpy scorer computes the same formula (negative free energies
of every state, normalised over the states) from the same float32 weights; tests/test_crbm_layout.py
pins it to StackedExperts.class_log_probs. Training and generation stay in TensorFlow (models.crbm).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from models.chord_states import chord_state_index
from models.errors import InvalidModelInput
from models.vocabulary import QUALITIES

PARAMETER_NAMES = ("W", "b", "c", "A", "B")


@dataclass(frozen=True)
class VisibleLayout:
    """How the visible vector is organised."""

    kind: str  # "softmax" (one-hot groups, enumerable) or "binary" (independent bits)
    group_sizes: tuple[int, ...]  # softmax: size of each one-hot group; binary: (n_visible,)

    @staticmethod
    def softmax(group_sizes: tuple[int, ...]) -> "VisibleLayout":
        return VisibleLayout("softmax", tuple(int(g) for g in group_sizes))

    @staticmethod
    def binary(n_visible: int) -> "VisibleLayout":
        return VisibleLayout("binary", (int(n_visible),))

    @property
    def n_visible(self) -> int:
        return int(sum(self.group_sizes))

    @property
    def n_states(self) -> int:
        """Number of visible states (softmax layout); enumerable only for softmax groups."""
        return int(np.prod(self.group_sizes))

    def to_json(self) -> dict:
        return {"kind": self.kind, "group_sizes": list(self.group_sizes)}

    @staticmethod
    def from_json(data: Mapping) -> "VisibleLayout":
        return VisibleLayout(str(data["kind"]), tuple(int(g) for g in data["group_sizes"]))


#: The chord-event layout: root (12), quality (len(QUALITIES)), bass interval above the root (12).
CHORD_LAYOUT = VisibleLayout.softmax((12, len(QUALITIES), 12))


def state_matrix(layout: VisibleLayout) -> np.ndarray:
    """(S, D) one-hot rows of every visible state of a softmax layout, in mixed-radix order
    (the last group varies fastest), matching ``states_to_visible``."""
    if layout.kind != "softmax":
        raise InvalidModelInput(f"layout kind {layout.kind!r} has no enumerable states; allowed: 'softmax'")
    indices = np.arange(layout.n_states)
    return states_to_visible(layout, indices)


def states_to_visible(layout: VisibleLayout, states: np.ndarray) -> np.ndarray:
    """(n, D) float32 one-hot visible vectors for state indices of a softmax layout."""
    states = np.asarray(states, dtype=np.int64)
    out = np.zeros((states.size, layout.n_visible), np.float32)
    remainder = states.copy()
    offsets = np.cumsum((0,) + layout.group_sizes[:-1])
    for g in reversed(range(len(layout.group_sizes))):
        size = layout.group_sizes[g]
        out[np.arange(states.size), offsets[g] + remainder % size] = 1.0
        remainder //= size
    return out


def visible_to_states(layout: VisibleLayout, visible: np.ndarray) -> np.ndarray:
    """State indices of one-hot visible rows (softmax layout)."""
    visible = np.asarray(visible)
    offsets = np.cumsum((0,) + layout.group_sizes[:-1])
    state = np.zeros(visible.shape[0], np.int64)
    for g, size in enumerate(layout.group_sizes):
        state = state * size + np.argmax(visible[:, offsets[g]:offsets[g] + size], axis=1)
    return state


def history_matrix(visible: np.ndarray, history: int) -> np.ndarray:
    """(T, history*(D+1)) conditioning inputs for a sequence of T visible rows (numpy).

    Slot j (0 = the previous step) holds the visible row t-1-j and a 0 flag, or zeros and a
    1 flag when t-1-j is before the start of the sequence."""
    visible = np.asarray(visible, np.float32)
    steps, d = visible.shape
    out = np.zeros((steps, history, d + 1), np.float32)
    for j in range(history):
        lag = j + 1
        if lag < steps:
            out[lag:, j, :d] = visible[:-lag]
        out[:min(lag, steps), j, d] = 1.0
    return out.reshape(steps, history * (d + 1))


def conditioning_width(layout: VisibleLayout, history: int, joint_history: int = 0) -> int:
    """Width of the conditioning vector u: ``history`` per-group slots of D + 1 units and
    ``joint_history`` joint one-hots of S units (see ``conditioning_matrix``)."""
    joint = layout.n_states * joint_history if joint_history else 0
    return history * (layout.n_visible + 1) + joint


def conditioning_matrix(visible: np.ndarray, history: int, joint_history: int = 0,
                        layout: VisibleLayout | None = None) -> np.ndarray:
    """(T, conditioning_width) inputs for a sequence of T visible rows (numpy).

    The per-group slots of ``history_matrix``, then, for the ``joint_history`` most recent steps,
    the one-hot of the step's *joint* state (all S = 12 * Q * 12 chord states; zeros before the
    start). The per-group slots feed the biases additively (root, quality and bass of the
    previous chord each shift the next chord's biases on their own); the joint one-hot gives every
    previous chord its own bias vectors - the previous-chord -> next-chord table a bigram holds,
    still as directed weights into the visible and hidden biases (Taylor & Hinton)."""
    base = history_matrix(visible, history)
    if not joint_history:
        return base
    if layout is None or layout.kind != "softmax":
        raise InvalidModelInput("joint history needs a softmax layout (enumerable states); allowed: joint_history=0 for binary")
    steps = base.shape[0]
    states = visible_to_states(layout, visible) if steps else np.zeros(0, np.int64)
    joint = np.zeros((steps, joint_history, layout.n_states), np.float32)
    for j in range(joint_history):
        lag = j + 1
        if lag < steps:
            joint[np.arange(lag, steps), j, states[:-lag]] = 1.0
    return np.concatenate([base, joint.reshape(steps, -1)], axis=1)


def infer_history(layout: VisibleLayout, n_conditioning: int) -> tuple[int, int]:
    """(history, joint_history) of a conditioning width (unique for joint_history < 13 with the
    chord layout: 39 * h + 2016 * j)."""
    slot = layout.n_visible + 1
    for joint in range(0, 13 if layout.kind == "softmax" else 1):
        rest = n_conditioning - joint * (layout.n_states if joint else 0)
        if rest >= 0 and rest % slot == 0:
            return rest // slot, joint
    raise InvalidModelInput(f"conditioning width {n_conditioning} fits no history for layout {layout}")


def chord_visible(events) -> np.ndarray:
    """(T, D) one-hot CHORD_LAYOUT rows for a sequence of ChordEvents."""
    states = np.asarray([chord_state_index(e) for e in events], np.int64)
    return states_to_visible(CHORD_LAYOUT, states)


class NumpyClassScorer:
    """StackedExperts.class_log_probs without TensorFlow: (N, K, S) exact log p_k(s | u) of every
    state under each of K softmax-layout CRBMs of the same shape, in float32 like the TensorFlow path.

    Memory: the hidden term is (N, K, S, H) floats (~2 MB a chord for the shipped experts), so rows
    are scored ``rows_at_once`` at a time."""

    def __init__(self, layout: VisibleLayout, weights: Sequence[Mapping[str, np.ndarray]], rows_at_once: int = 4):
        if layout.kind != "softmax":
            raise InvalidModelInput(f"layout kind {layout.kind!r} cannot be scored exactly; allowed: 'softmax'")
        if rows_at_once < 1:
            raise InvalidModelInput(f"rows_at_once {rows_at_once} not allowed; allowed: 1 or more")
        stack = lambda key: np.stack([np.asarray(w[key], np.float32) for w in weights])  # noqa: E731
        self.states = state_matrix(layout)  # (S, D)
        self.states_w = np.einsum("sd,kdh->ksh", self.states, stack("W")).astype(np.float32)  # (K, S, H)
        self.b, self.c, self.A, self.B = (stack(k) for k in ("b", "c", "A", "B"))
        self.history, self.joint_history = infer_history(layout, self.A.shape[1])
        self.rows_at_once = rows_at_once

    @classmethod
    def for_model_set(cls, model_set) -> "NumpyClassScorer":
        """The class CRBMs of a models.model_folder.ModelSet, in its class_names order (as ModelSet.experts())."""
        return cls(VisibleLayout.from_json(model_set.config["layout"]),
                   [model_set.parameters[name].weights for name in model_set.class_names])

    def class_log_probs(self, u: np.ndarray) -> np.ndarray:
        """(N, K, S) float32 exact per-class log-probabilities of every state given each history."""
        u = np.asarray(u, np.float32)
        out = np.empty((len(u), self.b.shape[0], self.states.shape[0]), np.float32)
        for start in range(0, len(u), self.rows_at_once):
            rows = u[start:start + self.rows_at_once]
            bv = self.b[None] + np.einsum("nu,kud->nkd", rows, self.A)  # (N, K, D)
            bh = self.c[None] + np.einsum("nu,kuh->nkh", rows, self.B)  # (N, K, H)
            visible = np.einsum("nkd,sd->nks", bv, self.states)
            hidden = _softplus_sum(self.states_w[None] + bh[:, :, None, :])  # (N, K, S): over the hidden units
            energies = visible + hidden
            peak = energies.max(axis=2, keepdims=True)
            out[start:start + len(rows)] = energies - (peak + np.log(np.exp(energies - peak).sum(axis=2,
                                                                                               keepdims=True)))
        return out


def _softplus_sum(x: np.ndarray) -> np.ndarray:
    """sum over the last axis of softplus(x) = max(x, 0) + log1p(e^-|x|), in place in x's buffer
    (never overflows; ~8x faster than np.logaddexp(0, x), which dominated the scoring time)."""
    positive = np.maximum(x, 0)
    np.abs(x, out=x)
    np.negative(x, out=x)
    np.exp(x, out=x)
    np.log1p(x, out=x)
    x += positive
    return x.sum(axis=-1, dtype=np.float32)

