"""Exact next-frame prediction over a finite support: the distinct frames of the training data.

A binary-layout CRBM over D keys has 2**D visible states, so its conditional p(v | history) can only
be sampled (research.jsb's Gibbs chains). Restricted to the frames the training data holds (JSB: ~2400
distinct four-voice chords, 88 % of the valid frames), the same energy function is normalised
exactly: p(m | u) ~ exp(-F(m | u) / T) over the support, with F the CRBM's free energy. That gives
exact predictive marginals, exact per-step expectations and an exact (support) log-likelihood, with
no mixing error, and lets several experts multiply exactly (a sum of their scores): the CRBMs of
several training seeds, and a frame n-gram (interpolated absolute discounting over the support's
frame ids, Kneser-Ney's continuation unigram at the bottom), which remembers which whole chords
follow which, where the CRBM's directed weights only add per-key biases.

Frames outside the support get probability 0; they still score partial accuracy through the
support frames that share their notes.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import numpy as np

from models.errors import InvalidModelInput

UNSEEN = -1  # frame id of a frame outside the support
START = -2  # frame id of the context before a sequence's first frame


@dataclass(frozen=True)
class FrameSupport:
    """The frames an exact predictor enumerates."""

    frames: np.ndarray  # (M, D) float32 binary frames, distinct, in a fixed (lexicographic) order

    @staticmethod
    def of(rolls: Sequence[np.ndarray]) -> "FrameSupport":
        """The distinct frames of piano rolls (each (T, D) binary)."""
        stacked = [np.asarray(r, np.float32) for r in rolls if len(r)]
        if not stacked:
            raise InvalidModelInput("no training frame; cannot build the frame support")
        return FrameSupport(np.unique(np.concatenate(stacked) > 0.5, axis=0).astype(np.float32))

    @property
    def size(self) -> int:
        return len(self.frames)

    @cached_property
    def _lookup(self) -> dict[bytes, int]:
        return {row.tobytes(): i for i, row in enumerate(self.frames > 0.5)}

    def ids(self, roll: np.ndarray) -> np.ndarray:
        """(T,) the support index of each frame of a roll, UNSEEN where it is not in the support."""
        return np.array([self._lookup.get(row.tobytes(), UNSEEN) for row in np.asarray(roll) > 0.5], np.int64)


def crbm_scores(rbm, u: np.ndarray, support: FrameSupport, rows_per_batch: int = 32) -> np.ndarray:
    """(R, M) float64 minus the CRBM's free energy -F(m | u_r) of every support frame m for every
    conditioning row u_r: the unnormalised log-probabilities of the exact predictor."""
    from models.tf_runtime import tf

    frames = tf.constant(support.frames)

    @tf.function(reduce_retracing=True)
    def score(rows):
        bv, bh = rbm.dynamic_biases(rows)
        hidden_input = tf.matmul(frames, rbm.W)  # (M, H)
        return (tf.matmul(bv, frames, transpose_b=True)
                + tf.reduce_sum(tf.nn.softplus(bh[:, None, :] + hidden_input[None]), axis=2))

    u = np.asarray(u, np.float32)
    out = [score(tf.constant(u[lo:lo + rows_per_batch])).numpy() for lo in range(0, len(u), rows_per_batch)]
    return np.concatenate(out).astype(np.float64) if out else np.zeros((0, support.size))


class FrameNgram:
    """An n-gram over support frame ids: interpolated absolute discounting (Ney et al. 1994) backing
    off to Kneser-Ney's continuation unigram (in how many contexts a frame follows), add-0.5 smoothed.
    Frames outside the support count as one UNSEEN token in the contexts."""

    def __init__(self, support: FrameSupport, order: int = 3, discount: float = 0.75):
        if order < 1 or not 0 < discount < 1:
            raise InvalidModelInput(f"n-gram order {order}, discount {discount}; allowed: order >= 1, 0 < discount < 1")
        self.support, self.order, self.discount = support, order, discount
        self._counts: list[dict[tuple[int, ...], Counter]] = [defaultdict(Counter) for _ in range(order)]
        self._unigram = np.full(support.size, 1.0 / support.size)

    def fit(self, rolls: Sequence[np.ndarray]) -> "FrameNgram":
        """Count the rolls' frame transitions (every context length 1..order-1)."""
        for roll in rolls:
            ids = self.support.ids(roll)
            padded = [START] * self.order + ids.tolist()
            for t, frame in enumerate(ids.tolist()):
                if frame == UNSEEN:
                    continue
                for k in range(1, self.order):
                    self._counts[k][tuple(padded[t + self.order - k:t + self.order])][frame] += 1
        contexts = np.zeros(self.support.size)
        for following in self._counts[1].values() if self.order > 1 else ():
            for frame in following:
                contexts[frame] += 1
        smoothed = contexts + 0.5
        self._unigram = smoothed / smoothed.sum()
        return self

    def log_probabilities(self, roll: np.ndarray) -> np.ndarray:
        """(T, M) float64 log p(frame m at t | the roll's frames before t)."""
        ids = self.support.ids(roll).tolist()
        padded = [START] * self.order + ids
        out = np.empty((len(ids), self.support.size))
        for t in range(len(ids)):
            p = self._unigram
            for k in range(1, self.order):
                following = self._counts[k].get(tuple(padded[t + self.order - k:t + self.order]))
                if not following:  # a longer context is then unseen too
                    break
                total = sum(following.values())
                frames = np.fromiter(following.keys(), np.int64, len(following))
                counts = np.fromiter(following.values(), np.float64, len(following))
                q = self.discount * len(following) / total * p
                q[frames] += np.maximum(counts - self.discount, 0.0) / total
                p = q
            out[t] = np.log(p)
        return out


def predictive(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(R, M) the exact predictive distribution p_T(m) ~ exp(scores / T) of each row."""
    if not temperature > 0:
        raise InvalidModelInput(f"temperature {temperature}; allowed: > 0")
    z = np.asarray(scores, np.float64) / temperature
    z = np.exp(z - z.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class ExactPrediction:
    """What an exact predictive distribution over the support scores against the true frames."""

    marginals: np.ndarray  # (R, D) p(key on) = sum over support frames of p(m) m
    step_accuracies: np.ndarray  # (R,) each row's expected TP / (TP + FP + FN) under p (exact)
    log_likelihoods: np.ndarray  # (R,) log p(true frame), nats; -inf where it is outside the support


class FrameScorer:
    """Scores predictive distributions over a support against fixed (R, D) binary targets.

    What depends on the targets alone (every support frame's accuracy against every target, the
    targets' support ids) is computed once here: an evaluation scores many distributions against the
    same frames (temperatures, experts, expert weights)."""

    def __init__(self, support: FrameSupport, targets: np.ndarray, missed: np.ndarray | None = None):
        """``missed``: per row, target notes outside the visible keys (extra false negatives)."""
        self.support = support
        self.targets = np.asarray(targets, np.float64)
        self.missed = np.zeros(len(self.targets)) if missed is None else np.asarray(missed, np.float64)
        frames = support.frames.astype(np.float64)
        true_positives = self.targets @ frames.T  # (R, M)
        denominator = (self.targets.sum(1, keepdims=True) + self.missed[:, None] + frames.sum(1)[None]
                       - true_positives)
        self._accuracy = np.where(denominator > 0, true_positives / np.maximum(denominator, 1.0), 1.0)
        self._ids = support.ids(self.targets)

    def score(self, probabilities: np.ndarray) -> ExactPrediction:
        """Score (R, M) predictive distributions over the support against the targets."""
        p = np.asarray(probabilities, np.float64)
        if p.shape != self._accuracy.shape:
            raise InvalidModelInput(f"probabilities of shape {p.shape}; allowed: {self._accuracy.shape}")
        seen = self._ids != UNSEEN
        log_likelihood = np.full(len(p), -np.inf)
        with np.errstate(divide="ignore"):
            log_likelihood[seen] = np.log(p[np.flatnonzero(seen), self._ids[seen]])
        return ExactPrediction(np.clip(p @ self.support.frames.astype(np.float64), 0.0, 1.0),
                               (p * self._accuracy).sum(1), log_likelihood)
