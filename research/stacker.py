"""A linear stacker over the class models' scores: multinomial logistic regression (numpy only).

The shipped generative classifier (models.classification.combined_scores) reads valence from the
class CRBMs' harmony log-likelihoods and arousal from the performance profiles, with one valence bias
per chord chosen by cross-validation. This stacker instead learns how to weigh those scores (and the
clip's performance features) from the out-of-fold scores of training's cross-validation: a
multinomial logistic regression with an L2 penalty, its feature group set and penalty chosen by an
inner song-grouped cross-validation on log-loss (choose_stacker). Fitting is Newton's method with a
backtracking line search, deterministic (no random start); prediction is a few dot products.

Research code: bench/classifier_stacking.py compares it with the shipped rule on EMOPIA train
(bench/RESULTS.md "Emotion classifier stacking on EMOPIA train (issue 15)"); the product does not use
it (the pre-registered rule did not adopt it).

Feature groups (STACKER_FEATURE_GROUPS; K classes, F profile features):
* ``harmony``: the harmony log-likelihood of each class minus their mean (K columns);
* ``harmony_per_chord``: the same divided by the clip's chord count (K columns);
* ``performance``: the performance log-likelihood of each class minus their mean (K columns);
* ``profile``: the clip's transformed performance features (models.profiles.performance_vector, F);
* ``major``: 1 for a major clip, 0 for minor, 0.5 when unknown;
* ``log_chords``: log of the chord count.
Columns are standardised with the training rows' mean and scale (stored with the weights).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from models.errors import InvalidModelInput

STACKER_FEATURE_GROUPS = ("harmony", "harmony_per_chord", "performance", "profile", "major", "log_chords")
#: The candidate feature sets and L2 penalties the inner cross-validation chooses among (declared
#: before any comparison was run: bench/classifier_stacking.py, bench/RESULTS.md).
STACKER_CANDIDATE_SETS: tuple[tuple[str, ...], ...] = (
    ("harmony", "performance"),
    ("harmony_per_chord", "performance"),
    ("harmony", "harmony_per_chord", "performance", "profile", "major", "log_chords"),
)
STACKER_L2_GRID = (0.1, 1.0, 10.0, 100.0, 1000.0)
STACKER_INNER_FOLDS = 5
NEWTON_MAX_STEPS = 100
NEWTON_TOLERANCE = 1e-9  # stop when the objective improves by less than this (relative)


@dataclass(frozen=True)
class StackerInputs:
    """What the stacker reads of N clips under K classes."""

    harmony: np.ndarray  # (N, K) harmony log-likelihoods (nats)
    performance: np.ndarray  # (N, K) performance log-likelihoods
    n_chords: np.ndarray  # (N,) chord events per clip
    profile: np.ndarray  # (N, F) transformed performance features
    major: np.ndarray  # (N,) 1 major, 0 minor, 0.5 unknown

    def __post_init__(self):
        h, p = np.asarray(self.harmony), np.asarray(self.performance)
        n = h.shape[0] if h.ndim == 2 else -1
        problems = []
        if h.ndim != 2 or p.shape != h.shape:
            problems.append(f"harmony {h.shape} and performance {p.shape} must both be (clips, classes)")
        if np.shape(self.n_chords) != (n,):
            problems.append(f"n_chords {np.shape(self.n_chords)} must be ({n},)")
        if np.ndim(self.profile) != 2 or np.shape(self.profile)[0] != n:
            problems.append(f"profile {np.shape(self.profile)} must be ({n}, features)")
        if np.shape(self.major) != (n,):
            problems.append(f"major {np.shape(self.major)} must be ({n},)")
        if problems:
            raise InvalidModelInput("stacker inputs of mismatched shapes: " + "; ".join(problems))
        if not n or np.any(np.asarray(self.n_chords) < 1):
            raise InvalidModelInput("stacker inputs: at least one clip, each with at least one chord")

    def rows(self, index) -> "StackerInputs":
        return StackerInputs(self.harmony[index], self.performance[index], self.n_chords[index],
                             self.profile[index], self.major[index])


def feature_matrix(inputs: StackerInputs, groups: Sequence[str]) -> np.ndarray:
    """(N, D) raw (unstandardised) feature columns of the groups, in the given order."""
    unknown = [g for g in groups if g not in STACKER_FEATURE_GROUPS]
    if unknown or not groups:
        raise InvalidModelInput(f"stacker feature groups {list(groups)} not allowed; allowed: a non-empty list "
                                f"from {list(STACKER_FEATURE_GROUPS)}")
    h = np.asarray(inputs.harmony, np.float64)
    p = np.asarray(inputs.performance, np.float64)
    n = np.asarray(inputs.n_chords, np.float64)
    columns = []
    for group in groups:
        if group == "harmony":
            columns.append(h - h.mean(axis=1, keepdims=True))
        elif group == "harmony_per_chord":
            columns.append((h - h.mean(axis=1, keepdims=True)) / n[:, None])
        elif group == "performance":
            columns.append(p - p.mean(axis=1, keepdims=True))
        elif group == "profile":
            columns.append(np.asarray(inputs.profile, np.float64))
        elif group == "major":
            columns.append(np.asarray(inputs.major, np.float64)[:, None])
        else:  # log_chords
            columns.append(np.log(n)[:, None])
    return np.concatenate(columns, axis=1)


def _softmax_rows(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_logistic(x: np.ndarray, y: np.ndarray, n_classes: int, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression: (weights (K, D), intercept (K,)) minimising
    sum_i -log p(y_i | x_i) + l2 / 2 * |weights|^2 (the intercept unpenalised; a 1e-8 ridge keeps its
    Newton system solvable), by Newton's method with backtracking. x should be standardised."""
    x = np.asarray(x, np.float64)
    y = np.asarray(y)
    if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] == 0:
        raise InvalidModelInput(f"logistic fit needs x (N, D) and y (N,), N >= 1; got x {x.shape}, y {y.shape}")
    if not np.all(np.isfinite(x)):
        raise InvalidModelInput("logistic fit: x holds a non-finite value")
    if n_classes < 2 or np.any(y < 0) or np.any(y >= n_classes) or not np.issubdtype(y.dtype, np.integer):
        raise InvalidModelInput(f"logistic fit: labels must be integers 0..{n_classes - 1} with >= 2 classes")
    if not (l2 > 0 and np.isfinite(l2)):
        raise InvalidModelInput(f"l2 {l2!r} not allowed; allowed: a finite number > 0")
    n, d = x.shape
    k = n_classes
    xb = np.concatenate([x, np.ones((n, 1))], axis=1)  # (N, D+1)
    onehot = np.eye(k)[y]
    penalty = np.full(d + 1, l2)
    penalty[-1] = 1e-8
    theta = np.zeros((k, d + 1))

    def objective(t):
        z = xb @ t.T
        z_max = z.max(axis=1, keepdims=True)
        log_norm = z_max[:, 0] + np.log(np.exp(z - z_max).sum(axis=1))
        return float(np.sum(log_norm - (z * onehot).sum(axis=1)) + 0.5 * np.sum(penalty * t * t))

    value = objective(theta)
    for _ in range(NEWTON_MAX_STEPS):
        prob = _softmax_rows(xb @ theta.T)  # (N, K)
        grad = (prob - onehot).T @ xb + penalty * theta  # (K, D+1)
        # Hessian: sum_i (diag(p_i) - p_i p_i^T) kron x_i x_i^T, + the penalty on the diagonal
        cov = prob[:, :, None] * (np.eye(k)[None] - prob[:, None, :])  # (N, K, K)
        hess = np.zeros((k, d + 1, k, d + 1))
        for a in range(k):
            for b in range(a, k):
                block = (xb * cov[:, a, b, None]).T @ xb
                hess[a, :, b, :] = block
                hess[b, :, a, :] = block.T
        hess = hess.reshape(k * (d + 1), k * (d + 1))
        hess[np.diag_indices_from(hess)] += np.tile(penalty, k)
        step = np.linalg.lstsq(hess, grad.reshape(-1), rcond=None)[0].reshape(k, d + 1)
        size = 1.0
        while True:
            candidate = theta - size * step
            new_value = objective(candidate)
            if new_value <= value or size < 1e-10:
                break
            size *= 0.5
        improvement = value - new_value
        theta, value = candidate, min(value, new_value)
        if improvement <= NEWTON_TOLERANCE * max(1.0, abs(value)):
            break
    return theta[:, :d], theta[:, d]


@dataclass(frozen=True)
class LinearStacker:
    """A fitted stacker: feature groups, standardisation and the logistic weights."""

    groups: tuple[str, ...]
    mean: np.ndarray  # (D,)
    scale: np.ndarray  # (D,) > 0
    weights: np.ndarray  # (K, D)
    intercept: np.ndarray  # (K,)
    l2: float

    def log_probabilities(self, inputs: StackerInputs) -> np.ndarray:
        """(N, K) log p(class | clip's scores)."""
        x = feature_matrix(inputs, self.groups)
        if x.shape[1] != self.weights.shape[1] or inputs.harmony.shape[1] != self.weights.shape[0]:
            raise InvalidModelInput(f"stacker of {self.weights.shape[0]} classes x {self.weights.shape[1]} features "
                                    f"given {inputs.harmony.shape[1]} classes x {x.shape[1]} features")
        x = (x - self.mean) / self.scale
        z = x @ self.weights.T + self.intercept
        z_max = z.max(axis=1, keepdims=True)
        return z - z_max - np.log(np.exp(z - z_max).sum(axis=1, keepdims=True))

    def to_json(self) -> dict:
        return {"features": list(self.groups), "l2": self.l2, "mean": [round(float(v), 8) for v in self.mean],
                "scale": [round(float(v), 8) for v in self.scale],
                "weights": [[round(float(v), 8) for v in row] for row in self.weights],
                "intercept": [round(float(v), 8) for v in self.intercept]}

    @staticmethod
    def from_json(data: Mapping) -> "LinearStacker":
        return LinearStacker(tuple(data["features"]), np.asarray(data["mean"], np.float64),
                             np.asarray(data["scale"], np.float64), np.asarray(data["weights"], np.float64),
                             np.asarray(data["intercept"], np.float64), float(data["l2"]))


def fit_stacker(inputs: StackerInputs, truth: np.ndarray, groups: Sequence[str], l2: float) -> LinearStacker:
    """Standardise the groups' columns on these rows and fit the logistic regression."""
    x = feature_matrix(inputs, groups)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale = np.where(scale > 1e-12, scale, 1.0)
    weights, intercept = fit_logistic((x - mean) / scale, np.asarray(truth), inputs.harmony.shape[1], l2)
    # rounded as stored, so a stacker read back from config.json predicts exactly as this one
    stacker = LinearStacker(tuple(groups), mean, scale, weights, intercept, float(l2))
    return LinearStacker.from_json(stacker.to_json())


def group_folds(groups: Sequence[str], folds: int, seed: int) -> np.ndarray:
    """Fold (0..folds-1) of each row, rows of one group (song) together (models.classification.song_folds' rule)."""
    names = sorted(set(groups))
    fold_of = {s: i % folds for i, s in enumerate(np.random.default_rng(seed).permutation(names))}
    return np.asarray([fold_of[g] for g in groups])


def cross_validated_log_loss(inputs: StackerInputs, truth: np.ndarray, fold: np.ndarray, groups: Sequence[str],
                             l2: float) -> float:
    """Mean out-of-fold log-loss of fit_stacker over the given folds."""
    total = 0.0
    for f in np.unique(fold):
        held = fold == f
        stacker = fit_stacker(inputs.rows(~held), truth[~held], groups, l2)
        log_p = stacker.log_probabilities(inputs.rows(held))
        total -= float(log_p[np.arange(held.sum()), truth[held]].sum())
    return total / len(truth)


def choose_stacker(inputs: StackerInputs, truth: np.ndarray, songs: Sequence[str], *, seed: int = 0,
                   folds: int = STACKER_INNER_FOLDS,
                   candidate_sets: Sequence[Sequence[str]] = STACKER_CANDIDATE_SETS,
                   l2_grid: Sequence[float] = STACKER_L2_GRID) -> tuple[LinearStacker, dict]:
    """The feature set and L2 with the lowest song-grouped cross-validated log-loss on these rows, then
    fitted on all of them. Returns (stacker, {"set+l2": cv log-loss}); ties go to the earlier set and the
    larger penalty."""
    truth = np.asarray(truth)
    fold = group_folds(songs, folds, seed)
    if len(np.unique(fold)) < 2:
        raise InvalidModelInput(f"choosing the stacker needs rows from at least 2 songs; got {len(set(songs))}")
    table, best, best_key = {}, None, None
    for set_index, groups in enumerate(candidate_sets):
        for l2 in sorted(l2_grid, reverse=True):
            loss = cross_validated_log_loss(inputs, truth, fold, groups, l2)
            key = f"{'+'.join(groups)} l2={l2:g}"
            table[key] = round(loss, 5)
            if best is None or loss < best - 1e-12:
                best, best_key = loss, (tuple(groups), l2)
    return fit_stacker(inputs, truth, best_key[0], best_key[1]), table
