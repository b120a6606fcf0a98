"""Next-chord baselines for the CRBM, on the same key-normalised chord events (numpy only).

Every model here predicts the next chord *state* = (root, quality, bass) over the full state space
of ``NUM_STATES`` = 12 * len(QUALITIES) * 12 states, durations ignored, and gives every state a
non-zero probability: bits per chord are then directly comparable with the CRBM's exact
conditional likelihood. States are numbered by ``models.chord_states`` (root-major, then quality,
then bass interval above the root), as the CRBM's are, so that arrays line up.

* ``AddKUnigram``       - p(s) = (c(s) + k) / (N + k S); ignores the history.
* ``KneserNeyModel``    - interpolated modified Kneser-Ney n-grams (Chen & Goodman 1998) of order
                          2 (bigram) or 3 (trigram); discounts D1, D2, D3+ per order from the
                          count-of-counts; the lowest order interpolates with a uniform over S.
* ``WindowRBM``         - the old TensorFlow demo's approach: one unconditioned RBM over windows of
                          ``window`` consecutive one-hot events, trained with CD-1; the next event
                          is predicted by clamping the first window-1 slots to the history and
                          enumerating the last slot's states exactly (free energies).

All share ``fit(sequences)``, ``log2_probs_next(history) -> (S,)`` and ``predict_next(history)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from models.chord_states import NUM_STATES, chord_from_state, chord_state_index, state_sequences
from models.errors import InvalidModelInput
from models.progress import Progress
from models.vocabulary import ChordEvent


def _history_states(history: Sequence[ChordEvent] | np.ndarray) -> np.ndarray:
    if isinstance(history, np.ndarray):
        return history.astype(np.int64)
    return np.fromiter((chord_state_index(e) for e in history), dtype=np.int64)


class NextChordModel:
    """Shared interface: a distribution over the next state given the previous events."""

    name = "model"

    def log2_probs_next(self, history: Sequence[ChordEvent] | np.ndarray) -> np.ndarray:
        """log2 p(next state = s | history) for all NUM_STATES states, shape (S,)."""
        raise NotImplementedError

    def predict_next(self, history: Sequence[ChordEvent] | np.ndarray) -> ChordEvent:
        """The most probable next chord (duration 1 beat: durations are not modelled)."""
        return chord_from_state(int(np.argmax(self.log2_probs_next(history))))


# --------------------------------------------------------------------------------------------
class AddKUnigram(NextChordModel):
    """Unigram over the states with add-k smoothing (k pseudo-counts for every state)."""

    name = "unigram (add-k)"

    def __init__(self, k: float = 0.1):
        if not k > 0:
            raise InvalidModelInput(f"add-k smoothing k={k}; allowed: k > 0")
        self.k = float(k)
        self._log2p = np.full(NUM_STATES, -np.log2(NUM_STATES))

    def fit(self, sequences: Iterable[Sequence[ChordEvent]]) -> "AddKUnigram":
        counts = np.zeros(NUM_STATES)
        for states in state_sequences(sequences):
            np.add.at(counts, states, 1.0)
        self._log2p = np.log2((counts + self.k) / (counts.sum() + self.k * NUM_STATES))
        return self

    def log2_probs_next(self, history) -> np.ndarray:
        return self._log2p.copy()


# --------------------------------------------------------------------------------------------
BOS = NUM_STATES  # "before the start" context symbol (never predicted)


@dataclass
class _ContextCounts:
    """The (possibly continuation-) counts of the words following one context."""

    words: np.ndarray  # int64 (m,), the distinct following states
    counts: np.ndarray  # float64 (m,), their counts (>= 1)
    total: float  # counts.sum()
    n1: int  # words seen once
    n2: int  # words seen twice
    n3: int  # words seen three times or more


def _discounts(count_tables: Iterable[dict[tuple, int]]) -> tuple[float, float, float]:
    """Modified Kneser-Ney discounts D1, D2, D3+ from the count-of-counts (Chen & Goodman 1998).

    Falls back to the single-discount estimate (or 0.5) when some count-of-counts are zero, and
    clamps D_i into [0, i] so that every context's distribution still sums to 1."""
    n = np.zeros(5)
    for table in count_tables:
        for c in table.values():
            if c <= 4:
                n[c] += 1
    n1, n2, n3, n4 = n[1], n[2], n[3], n[4]
    if n1 > 0 and n2 > 0:
        y = n1 / (n1 + 2 * n2)
        d1 = 1 - 2 * y * n2 / n1
        d2 = 2 - 3 * y * n3 / n2 if n2 > 0 else y
        d3 = 3 - 4 * y * n4 / n3 if n3 > 0 else d2
    else:
        d1 = d2 = d3 = 0.5
    return (float(np.clip(d1, 0.05, 1.0)), float(np.clip(d2, 0.05, 2.0)), float(np.clip(d3, 0.05, 3.0)))


class KneserNeyModel(NextChordModel):
    """Interpolated modified Kneser-Ney n-gram model over chord states (order 2 or 3).

    The highest order uses raw counts, lower orders continuation counts N1+(. h w); the unigram
    level is interpolated with a uniform over all NUM_STATES states, so unseen states keep
    non-zero probability. Sequences are padded with order-1 BOS symbols on the left."""

    def __init__(self, order: int = 3):
        if order not in (2, 3):
            raise InvalidModelInput(f"Kneser-Ney order {order}; allowed: 2 (bigram) or 3 (trigram)")
        self.order = order
        self.name = {2: "bigram (KN)", 3: "trigram (KN)"}[order]
        # level m (1..order) -> context tuple of length m-1 -> _ContextCounts
        self._levels: dict[int, dict[tuple, _ContextCounts]] = {}
        self._discount: dict[int, tuple[float, float, float]] = {}
        self._unigram = np.full(NUM_STATES, 1.0 / NUM_STATES)
        self._cache: dict[tuple, np.ndarray] = {}  # context -> distribution (contexts repeat a lot)

    def fit(self, sequences: Iterable[Sequence[ChordEvent]]) -> "KneserNeyModel":
        n = self.order
        raw: dict[tuple, int] = {}
        for states in state_sequences(sequences):
            padded = [BOS] * (n - 1) + states.tolist()
            for i in range(n - 1, len(padded)):
                gram = tuple(padded[i - n + 1:i + 1])
                raw[gram] = raw.get(gram, 0) + 1
        tables: dict[int, dict[tuple, int]] = {n: raw}
        for m in range(n - 1, 0, -1):  # continuation counts: distinct left extensions
            cont: dict[tuple, int] = {}
            for gram in tables[m + 1]:
                cont[gram[1:]] = cont.get(gram[1:], 0) + 1
            tables[m] = cont
        for m, table in tables.items():
            by_context: dict[tuple, list[tuple[int, int]]] = {}
            for gram, c in table.items():
                by_context.setdefault(gram[:-1], []).append((gram[-1], c))
            level = {}
            for ctx, pairs in by_context.items():
                words = np.asarray([w for w, _ in pairs], np.int64)
                counts = np.asarray([c for _, c in pairs], np.float64)
                level[ctx] = _ContextCounts(words, counts, float(counts.sum()), int((counts == 1).sum()),
                                            int((counts == 2).sum()), int((counts >= 3).sum()))
            self._levels[m] = level
            self._discount[m] = _discounts([table])
        self._unigram = self._level_probs(1, (), np.full(NUM_STATES, 1.0 / NUM_STATES))
        self._cache = {}
        return self

    def _level_probs(self, m: int, ctx: tuple, lower: np.ndarray) -> np.ndarray:
        """Interpolated KN distribution of level m for one context, given the lower level's."""
        entry = self._levels.get(m, {}).get(ctx)
        if entry is None:
            return lower
        d1, d2, d3 = self._discount[m]
        d = np.where(entry.counts == 1, d1, np.where(entry.counts == 2, d2, d3))
        gamma = (d1 * entry.n1 + d2 * entry.n2 + d3 * entry.n3) / entry.total
        probs = gamma * lower
        probs[entry.words] += (entry.counts - d) / entry.total
        return probs

    def probs_next(self, history) -> np.ndarray:
        """p(next | history) over all states (float64, sums to 1)."""
        states = _history_states(history).tolist()
        context = tuple(([BOS] * (self.order - 1) + states)[-(self.order - 1):])
        cached = self._cache.get(context)
        if cached is not None:
            return cached
        probs = self._unigram
        for m in range(2, self.order + 1):
            probs = self._level_probs(m, context[len(context) - (m - 1):], probs)
        if len(self._cache) < 50_000:
            self._cache[context] = probs
        return probs

    def log2_probs_next(self, history) -> np.ndarray:
        return np.log2(self.probs_next(history))


# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WindowRBMConfig:
    """Training settings of the windowed RBM (the old demo's approach)."""

    window: int = 4  # consecutive events per visible vector (history = window - 1)
    n_hidden: int = 64  # binary hidden units
    epochs: int = 20  # passes over all windows
    batch_size: int = 64  # windows per CD-1 update
    learning_rate: float = 0.05  # per-window step size of CD-1
    momentum: float = 0.5  # classic RBM momentum
    weight_decay: float = 1e-4  # L2 on the weights
    seed: int = 0  # initialisation and sampling


class WindowRBM(NextChordModel):
    """One RBM over windows of ``window`` one-hot events (slots of NUM_STATES + 1 units: the states
    and a "before the start" PAD state, so that windows at the start of a sequence exist too).

    Each slot is a softmax group; the hidden units are binary; training is CD-1 on mini-batches.
    Windows are stored as state indices per slot, so the (window * (NUM_STATES + 1))-unit visible layer is
    never built densely except for the reconstruction probabilities."""

    name = "old demo RBM (windowed, CD-1)"

    def __init__(self, config: WindowRBMConfig = WindowRBMConfig()):
        if config.window < 2 or config.n_hidden < 1 or config.epochs < 0:
            raise InvalidModelInput(f"window RBM config {config}; allowed: window >= 2, n_hidden >= 1, epochs >= 0")
        self.config = config
        self.slot_size = NUM_STATES + 1
        self.pad = NUM_STATES
        rng = np.random.default_rng(config.seed)
        self.W = rng.normal(0, 0.01, (config.window, self.slot_size, config.n_hidden))
        self.b = np.zeros((config.window, self.slot_size))
        self.c = np.zeros(config.n_hidden)

    def windows(self, sequences: Iterable[Sequence[ChordEvent]]) -> np.ndarray:
        """(n, window) int64 state indices of every window ending at every event (PAD-padded)."""
        w = self.config.window
        rows = []
        for states in state_sequences(sequences):
            padded = np.concatenate([np.full(w - 1, self.pad), states])
            rows.append(np.lib.stride_tricks.sliding_window_view(padded, w))
        return np.concatenate(rows) if rows else np.zeros((0, w), np.int64)

    def _hidden_input(self, windows: np.ndarray) -> np.ndarray:
        pre = np.broadcast_to(self.c, (windows.shape[0], self.c.size)).copy()
        for k in range(self.config.window):
            pre += self.W[k, windows[:, k]]
        return pre

    def fit(self, sequences: Iterable[Sequence[ChordEvent]], progress: Progress | None = None) -> "WindowRBM":
        # The matrices are small (64 x 64 x 1729): one BLAS thread is faster, and on a busy machine
        # multi-threaded BLAS spin-waits made each update ~40x slower (measured).
        with _single_threaded_blas():
            return self._fit(sequences, progress)

    def _fit(self, sequences, progress: Progress | None) -> "WindowRBM":
        cfg = self.config
        data = self.windows(sequences)
        if data.shape[0] == 0:
            raise InvalidModelInput("no chord events to train the window RBM on; need at least one non-empty sequence")
        rng = np.random.default_rng(cfg.seed + 1)
        # Visible biases start at the log frequencies (Hinton's practical guide), PAD included.
        for k in range(cfg.window):
            freq = np.bincount(data[:, k], minlength=self.slot_size) + 0.01
            self.b[k] = np.log(freq / freq.sum())
        vel_w, vel_b, vel_c = np.zeros_like(self.W), np.zeros_like(self.b), np.zeros_like(self.c)
        for epoch in range(cfg.epochs):
            order = rng.permutation(data.shape[0])
            for start in range(0, order.size, cfg.batch_size):
                batch = data[order[start:start + cfg.batch_size]]
                n = batch.shape[0]
                ph_pos = _sigmoid(self._hidden_input(batch))
                h = (rng.random(ph_pos.shape) < ph_pos).astype(np.float64)
                grad_w = np.zeros_like(self.W)
                grad_b = np.zeros_like(self.b)
                neg_pre = np.broadcast_to(self.c, ph_pos.shape).copy()
                recon = []
                for k in range(cfg.window):
                    logits = self.b[k] + h @ self.W[k].T  # (n, slot)
                    probs = _softmax(logits)
                    draw = _categorical(probs, rng)
                    recon.append(draw)
                    neg_pre += self.W[k, draw]
                    np.add.at(grad_b[k], batch[:, k], 1.0)
                    np.add.at(grad_b[k], draw, -1.0)
                ph_neg = _sigmoid(neg_pre)
                for k in range(cfg.window):
                    np.add.at(grad_w[k], batch[:, k], ph_pos)
                    np.add.at(grad_w[k], recon[k], -ph_neg)
                grad_c = ph_pos.sum(0) - ph_neg.sum(0)
                lr = cfg.learning_rate / n
                vel_w = cfg.momentum * vel_w + lr * (grad_w - cfg.weight_decay * n * self.W)
                vel_b = cfg.momentum * vel_b + lr * grad_b
                vel_c = cfg.momentum * vel_c + lr * grad_c
                self.W += vel_w
                self.b += vel_b
                self.c += vel_c
            if progress is not None:
                progress(f"window RBM epoch {epoch + 1}/{cfg.epochs}", (epoch + 1) / max(cfg.epochs, 1))
        return self

    def log2_probs_next(self, history) -> np.ndarray:
        w = self.config.window
        states = _history_states(history)[-(w - 1):]
        slots = np.concatenate([np.full(w - 1 - states.size, self.pad), states])
        pre = self.c.copy()
        for k in range(w - 1):
            pre = pre + self.W[k, slots[k]]
        last = w - 1
        # -F(s) for every real state of the last slot (PAD excluded: it is never a next chord).
        neg_f = self.b[last, :NUM_STATES] + np.logaddexp(0.0, pre + self.W[last, :NUM_STATES]).sum(1)
        log_p = neg_f - _logsumexp(neg_f)
        return log_p / np.log(2.0)


def _single_threaded_blas():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: only a speed-up
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    return top + float(np.log(np.sum(np.exp(x - top))))


def _categorical(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One draw per row of a (n, k) probability matrix."""
    cumulative = np.cumsum(probs, axis=1)
    u = rng.random((probs.shape[0], 1)) * cumulative[:, -1:]
    return np.minimum((cumulative < u).sum(axis=1), probs.shape[1] - 1)
