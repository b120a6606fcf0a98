"""The JSB chorales benchmark for the same CRBM code, in its binary-frame layout.

Data: JSB-chorales JSON (Boulanger-Lewandowski et al. 2012 format): ``{split: [chorale, ...]}``,
a chorale a list of time steps, a time step the list of sounding MIDI pitches.

Metric: expected frame-level accuracy ACC = TP / (TP + FP + FN) (Bay et al. 2009), averaged two
ways. Summed: the counts summed over all predicted frames, from the predicted per-key probabilities,
E[TP] = sum p_i t_i, E[FP] = sum p_i (1 - t_i), E[FN] = sum (1 - p_i) t_i. Per step: each frame's
expected accuracy E[TP / (TP + FP + FN)] under the predictive distribution, estimated from the
sampled frames, then the mean over frames: how the paper's authors say the numbers of
Boulanger-Lewandowski 2012, Table 1 were computed (their evaluation notes). The two differ by several
points, so only the per-step mean compares with the paper. Every frame of every chorale is
predicted from the frames before it (the first from "before the start").

The CRBM's marginals p(v_i = 1 | history) are estimated by block-Gibbs chains run with the
history's dynamic biases, averaging the mean-field visible probabilities of every sweep after a
burn-in (Rao-Blackwellised). The headline prediction samples the same CRBM at a temperature
T < 1 (all energies scaled by 1/T; chains burn in at T = 1, then restart at the best frame they
visited), which sharpens the predictive marginals; T = 1 is reported beside it. Conditioning:
the previous ``history`` frames plus one slot with the mean of all earlier frames of the chorale
(``summary_decay``), trained by PCD with the weights averaged over the last epochs; optionally a
recurrent memory of every earlier frame joins the conditioning (``memory_units``, research.recurrent).
The next-frame log-likelihood is estimated by annealed importance sampling (Salakhutdinov & Murray
2008) per frame, from the base model with the same dynamic visible biases and no couplings, on a
random subset of frames.

The headline predictor is exact instead (research.frame_support): the CRBMs' energies normalised over
the distinct training frames (88 % of the valid frames are among them), multiplied by the CRBMs of
more training seeds and by a frame n-gram expert. On the train holdout this beats the Gibbs-sampled
single CRBM by about a point of summed ACC; Gibbs over all 2**D frames stays reported beside it.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from models.errors import InvalidModelInput, ModelError
from models.progress import Progress

Chorale = tuple[tuple[int, ...], ...]  # time steps, each the sorted sounding MIDI pitches
MIDI_LOW, MIDI_HIGH = 21, 108  # the 88 piano keys


# -- data -------------------------------------------------------------------------------------
def parse_jsb(data: object, source: str = "JSB data") -> dict[str, tuple[Chorale, ...]]:
    """Validate decoded JSB JSON: ``{split: [[[pitch, ...], ...], ...]}`` with MIDI pitches 21..108."""
    if not isinstance(data, Mapping) or not data:
        raise InvalidModelInput(f"{source}: expected a JSON object {{split: [chorales]}}, got {type(data).__name__}")
    splits: dict[str, tuple[Chorale, ...]] = {}
    for split, chorales in data.items():
        if not isinstance(chorales, list):
            raise InvalidModelInput(f"{source}: split {split!r} is {type(chorales).__name__}; expected a list of chorales")
        parsed = []
        for c, chorale in enumerate(chorales):
            if not isinstance(chorale, list):
                raise InvalidModelInput(f"{source}: {split}[{c}] is {type(chorale).__name__}; expected a list of time steps")
            steps = []
            for t, step in enumerate(chorale):
                if not isinstance(step, list) or not all(isinstance(p, (int, float)) and float(p).is_integer() for p in step):
                    raise InvalidModelInput(f"{source}: {split}[{c}][{t}] = {step!r}; expected a list of MIDI pitch numbers")
                pitches = tuple(sorted({int(p) for p in step}))
                if pitches and not (MIDI_LOW <= pitches[0] and pitches[-1] <= MIDI_HIGH):
                    raise InvalidModelInput(f"{source}: {split}[{c}][{t}] has pitch outside {MIDI_LOW}..{MIDI_HIGH}: {list(pitches)}")
                steps.append(pitches)
            if steps:
                parsed.append(tuple(steps))
        splits[str(split)] = tuple(parsed)
    return splits


def load_jsb(path: str | Path) -> dict[str, tuple[Chorale, ...]]:
    """Read and validate a JSB-chorales JSON file (InvalidModelInput naming the file and the problem)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidModelInput(f"JSB data file {path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidModelInput(f"cannot read JSB data file {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidModelInput(f"JSB data file {path} is not valid JSON: {exc}") from None
    return parse_jsb(data, source=str(path))


def select_split(splits: Mapping[str, Sequence[Chorale]], name: str) -> Sequence[Chorale]:
    if name not in splits:
        raise InvalidModelInput(f"split {name!r} not found; available splits = {sorted(splits)}")
    if not splits[name]:
        raise InvalidModelInput(f"split {name!r} has no chorale with time steps")
    return splits[name]


@dataclass(frozen=True)
class PitchRange:
    """The keys that are visible units (inclusive MIDI range)."""

    low: int  # lowest MIDI pitch
    high: int  # highest MIDI pitch

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    @staticmethod
    def of(chorales: Sequence[Chorale]) -> "PitchRange":
        pitches = [p for chorale in chorales for step in chorale for p in step]
        if not pitches:
            raise InvalidModelInput("no sounding pitch in the training chorales; cannot choose the visible units")
        return PitchRange(min(pitches), max(pitches))


def piano_roll(chorale: Chorale, pitch_range: PitchRange) -> tuple[np.ndarray, int]:
    """(T, D) float32 binary frames of a chorale, and the number of notes outside the range
    (they cannot be predicted and count as false negatives)."""
    roll = np.zeros((len(chorale), pitch_range.size), np.float32)
    for t, step in enumerate(chorale):
        for p in step:
            if pitch_range.low <= p <= pitch_range.high:
                roll[t, p - pitch_range.low] = 1.0
    return roll, int(outside_notes(chorale, pitch_range).sum())


# -- the metric -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrameCounts:
    """Expected true/false positives and false negatives summed over frames."""

    tp: float
    fp: float
    fn: float

    @property
    def accuracy(self) -> float:
        """ACC = TP / (TP + FP + FN); 1.0 when nothing was expected and nothing predicted."""
        denominator = self.tp + self.fp + self.fn
        return self.tp / denominator if denominator > 0 else 1.0

    def __add__(self, other: "FrameCounts") -> "FrameCounts":
        return FrameCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


def expected_counts(probabilities: np.ndarray, targets: np.ndarray, missed: int = 0) -> FrameCounts:
    """Expected TP/FP/FN of per-unit on-probabilities (T, D) against binary targets (T, D);
    ``missed`` = target notes outside the visible units (extra false negatives)."""
    p = np.asarray(probabilities, np.float64)
    t = np.asarray(targets, np.float64)
    if p.shape != t.shape:
        raise InvalidModelInput(f"probabilities of shape {p.shape} vs targets of shape {t.shape}; they must match")
    if p.size and (p.min() < 0 or p.max() > 1):
        raise InvalidModelInput(f"probabilities must lie in 0..1; got {p.min():g}..{p.max():g}")
    return FrameCounts(float((p * t).sum()), float((p * (1 - t)).sum()), float(((1 - p) * t).sum()) + missed)


def frame_accuracies(predictions: np.ndarray, targets: np.ndarray, missed: np.ndarray | None = None) -> np.ndarray:
    """Per-frame ACC = TP / (TP + FP + FN) of hard predictions (T, D) against binary targets (T, D)
    (``missed``: per frame, target notes outside the units); 1 where nothing sounds and nothing is
    predicted. The mean over frames is the paper's per-step metric for a deterministic predictor;
    the Gibbs chains score their samples with the same rule (_frame_accuracy)."""
    from models.tf_runtime import tf

    v = np.asarray(predictions, np.float32)
    t = np.asarray(targets, np.float32)
    if v.shape != t.shape:
        raise InvalidModelInput(f"predictions of shape {v.shape} vs targets of shape {t.shape}; they must match")
    extra = np.zeros(len(v), np.float32) if missed is None else np.asarray(missed, np.float32)
    return _frame_accuracy(tf.constant(v), tf.constant(t), tf.constant(extra)).numpy().astype(np.float64)


def outside_notes(chorale: Chorale, pitch_range: PitchRange) -> np.ndarray:
    """Per time step, the sounding notes outside the visible units (piano_roll's count, per frame)."""
    return np.array([sum(not pitch_range.low <= p <= pitch_range.high for p in step) for step in chorale], np.int64)


def copy_previous(roll: np.ndarray) -> np.ndarray:
    """Prediction "the next frame repeats the previous one" (the first frame: nothing sounds)."""
    out = np.zeros_like(roll)
    out[1:] = roll[:-1]
    return out


# -- the CRBM ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class JsbConfig:
    """Settings of the JSB evaluation of the CRBM (training + inference)."""

    # Defaults: the best settings on a held-out part of train (train on the first 85 % of the train
    # chorales, evaluate on the last 15 %; two or three training seeds; bench/jsb_sweep.py); valid was not
    # used to choose them. The data are key-normalised (C), so transposition augmentation hurts.
    n_hidden: int = 300  # binary hidden units (with the memory, 300 x 60 epochs beat 150 x 30 by ~0.9 points)
    history: int = 3  # previous frames the CRBM conditions on
    epochs: int = 60  # training passes over the (augmented) train frames
    k: int = 15  # Gibbs sweeps per CD update
    method: str = "pcd"  # "cd" or "pcd"
    learning_rate: float = 0.1  # initial learning rate (decays linearly to 10 %)
    batch_size: int = 64  # frames per update
    weight_decay: float = 1e-4  # L2 on W, A, B
    transpose: int = 0  # augment: every transposition by -transpose..+transpose semitones that stays in range
    copy_init: float = 0.0  # initial A weight from a key in the previous frame to the same key
    average_last: int = 10  # > 0: the final weights are the mean of the weights after each of the last N epochs
    summary_decay: float = 1.0  # > 0: one more conditioning slot, the decayed mean of ALL earlier frames (0: off)
    sparsity_target: float = 0.1  # target mean hidden activity
    sparsity_cost: float = 0.0  # strength of the sparsity push (0: off)
    # dropout of hidden units in the PCD training (each row drops each unit with this probability, in
    # both phases; Srivastava et al. 2014); the trained W is then scaled by the keep probability.
    # On the train holdout (3 seeds) 0.1 and 0.2 add ~1 point of summed ACC, 0.5 loses.
    hidden_dropout: float = 0.2
    # > 0: a recurrent memory of this many leaky tanh units joins the conditioning after the PCD training,
    # then memory and CRBM train together (research.recurrent, the RNN-RBM idea). On the train holdout it
    # adds ~1 point to a 1-frame window without the summary slot, but only ~0.3 to the default window.
    memory_units: int = 300
    memory_epochs: int = 20  # passes over the chorales training the memory (with the CRBM)
    memory_learning_rate: float = 3e-4  # Adam step size of the memory training
    chains: int = 32  # Gibbs chains per predicted frame
    gibbs_steps: int = 400  # sweeps per chain
    burn_in: int = 100  # sweeps discarded before averaging the mean-field marginals
    temperature: float = 0.1  # the predictive distribution p_T ~ exp(-E / T) of the headline ACC (1: the model)
    threshold: float = 0.25  # the hard "key on when its T = 1 marginal > threshold" rule
    chain_start: str = "previous"  # chains start at the previous frame, or "bias" (a draw from the dynamic biases)
    # The exact predictor over the training frames (research.frame_support), the headline: the product of
    # `ensemble` CRBMs (trained with seeds seed..seed+ensemble-1; their mean score, a geometric mean) and
    # a frame n-gram expert whose log-probability enters with weight ngram_weight (0: the CRBMs alone).
    ensemble: int = 3
    ngram_order: int = 3  # frames of context + 1
    ngram_discount: float = 0.75  # absolute discount of the interpolated n-gram
    ngram_weight: float = 0.5
    ais_frames: int = 0  # frames for the AIS log-likelihood estimate (0: skip it)
    ais_betas: int = 1000  # intermediate distributions of AIS
    ais_particles: int = 64  # AIS runs per frame
    seed: int = 0


@dataclass(frozen=True)
class JsbResult:
    """The JSB evaluation of the trained CRBMs, with the simple baselines beside it."""

    # Exact over the support (the distinct training frames; research.frame_support), at config.temperature:
    product_acc: float  # the headline: CRBMs x frame n-gram, expected ACC summed over frames
    product_step_acc: float  # the same as the mean of the per-step expectations (exact)
    product_untempered_acc: float  # the product at T = 1, summed
    product_untempered_step_acc: float  # the product at T = 1, per step
    exact_acc: float  # the CRBMs alone (no n-gram), summed
    exact_step_acc: float  # the CRBMs alone, per step
    ngram_acc: float  # the frame n-gram alone, summed
    ngram_step_acc: float  # the frame n-gram alone, per step
    exact_log_likelihood: float  # the CRBMs alone at T = 1: mean log p(frame) over the frames in the support, nats
    product_log_likelihood: float  # the product at T = 1: the same
    support_frames: int  # frames the exact predictor enumerates
    support_coverage: float  # share of the evaluated frames inside the support
    # One CRBM (seed config.seed) over all 2**D frames, sampled by Gibbs chains:
    acc: float  # expected next-frame ACC summed over frames, from the Gibbs-estimated marginals at config.temperature
    untempered_acc: float  # the same from the T = 1 marginals (the trained model as it is)
    threshold_acc: float  # ACC of the T = 1 marginals rounded at config.threshold (hard, not a sample of the model)
    mean_field_acc: float  # expected ACC of the mean-field fixed point's marginals (an approximation, not the paper's)
    thresholded_acc: float  # ACC of the Gibbs marginals rounded at 0.5 (hard, not a sample of the model)
    map_acc: float  # ACC of an approximate most likely frame (best free energy the chains visited + ICM; not the paper's)
    copy_previous_acc: float  # ACC of "repeat the previous frame"
    frequency_acc: float  # ACC of independent keys at their training frequencies
    # The same quantities as the mean over time steps of each step's expected accuracy, the averaging the
    # paper's authors prescribe (their evaluation notes), estimated from the sampled frames:
    step_acc: float  # sampled at config.temperature
    untempered_step_acc: float  # sampled at T = 1: the authors' exact recipe for the model as trained
    threshold_step_acc: float  # the T = 1 marginals rounded at config.threshold (hard)
    map_step_acc: float  # the approximate most likely frame (hard)
    copy_previous_step_acc: float  # "repeat the previous frame"
    log_likelihood: float | None  # mean next-frame log-likelihood (nats per frame, AIS), or None
    log_likelihood_stderr: float | None  # its standard error over the AIS frames
    log_likelihood_frames: int  # frames in the AIS estimate (0: not estimated)
    frames: int  # predicted frames of the evaluated split
    chorales: int  # chorales of the evaluated split
    train_frames: int  # training frames (after transposition)
    pitch_low: int  # lowest visible key (MIDI)
    pitch_high: int  # highest visible key (MIDI)
    train_seconds: float  # wall-clock training time (every CRBM of the ensemble)
    predict_seconds: float  # wall-clock time of the marginal estimation (+ mean field + ICM)
    exact_seconds: float  # wall-clock time of the exact prediction (scores, n-gram, scoring)
    config: JsbConfig


def conditioning_rows(roll: np.ndarray, history: int, summary_decay: float = 0.0) -> np.ndarray:
    """The CRBM's conditioning rows u of one piano roll: ``history`` slots of the previous frames
    (models.crbm.history_matrix), and with ``summary_decay`` > 0 one more slot of the same width
    holding the long history: the mean of all earlier frames weighted by summary_decay**(lag - 1)
    (so the whole chorale so far, e.g. its key, reaches the biases), its flag 1 at the first frame."""
    from models.crbm import history_matrix

    if summary_decay <= 0:
        return history_matrix(roll, history)
    roll = np.asarray(roll, np.float32)
    steps, d = roll.shape
    out = history_matrix(roll, history + 1)
    total = np.zeros(d, np.float64)
    weight = 0.0
    for t in range(steps):
        slot = out[t, history * (d + 1):]
        if weight > 0:
            slot[:d] = total / weight
            slot[d] = 0.0
        else:
            slot[:] = 0.0
            slot[d] = 1.0
        total = summary_decay * total + roll[t]
        weight = summary_decay * weight + 1.0
    return out


def conditioning_slots(config: "JsbConfig") -> int:
    """Slots of D + 1 conditioning units (the ConditionalRBM's ``history`` argument)."""
    return config.history + (1 if config.summary_decay > 0 else 0)


# -- training (a loop of its own: the binary layout's recipe, on ConditionalRBM's variables) ------
def transposed_rolls(chorales: Sequence[Chorale], pitch_range: PitchRange,
                     shifts: Sequence[int]) -> list[np.ndarray]:
    """Piano rolls of every chorale transposed by every shift (semitones) that keeps all of its
    pitches inside the range; shift 0 is always kept (its out-of-range notes dropped)."""
    out = []
    for chorale in chorales:
        pitches = [p for step in chorale for p in step]
        low, high = (min(pitches), max(pitches)) if pitches else (pitch_range.low, pitch_range.high)
        for shift in shifts:
            if shift == 0 or (pitch_range.low <= low + shift and high + shift <= pitch_range.high):
                moved = tuple(tuple(p + shift for p in step) for step in chorale)
                out.append(piano_roll(moved, pitch_range)[0])
    return out


def train_jsb_crbm(rolls: Sequence[np.ndarray], config: "JsbConfig", progress: Progress | None = None,
                   windows: Sequence[np.ndarray] | None = None):
    """CD-k / PCD training of a binary-layout ConditionalRBM on piano rolls; returns (rbm, rows).
    ``windows``: the rolls' conditioning_rows when the caller has them already.

    Why not models.training.train_crbm: this loop runs a whole epoch inside one tf.function (the
    augmented data has ~10x the rows), starts the previous frame's A-diagonal at ``copy_init``
    (the "keys tend to be held" prior), and adds a hidden sparsity target."""
    from models.tf_runtime import tf

    from models.crbm import ConditionalRBM, VisibleLayout

    d = rolls[0].shape[1]
    v_all = np.concatenate([np.asarray(r, np.float32) for r in rolls])
    if windows is None:
        windows = [conditioning_rows(r, config.history, config.summary_decay) for r in rolls]
    u_all = np.concatenate(windows)
    n_rows = len(v_all)
    rbm = ConditionalRBM(VisibleLayout.binary(d), config.n_hidden, conditioning_slots(config), seed=config.seed)
    mean = np.clip(v_all.mean(axis=0), 1e-3, 1 - 1e-3)
    rbm.b.assign(np.log(mean / (1 - mean)).astype(np.float32))
    if config.history > 0 and config.copy_init:
        a = rbm.A.numpy()
        a[np.arange(d), np.arange(d)] += config.copy_init
        rbm.A.assign(a)
    velocity = [tf.Variable(tf.zeros_like(p)) for p in rbm.parameters]
    particles = tf.Variable(v_all)
    v_tf, u_tf = tf.constant(v_all), tf.constant(u_all)
    decayed = (True, False, False, True, True)
    batch, k, persistent = config.batch_size, config.k, config.method == "pcd"
    n_batches = n_rows // batch
    sparsity, sparsity_cost = config.sparsity_target, config.sparsity_cost
    keep = 1.0 - config.hidden_dropout
    q = tf.Variable(tf.fill([config.n_hidden], sparsity))  # running mean hidden activity

    @tf.function
    def run_epoch(order, lr, momentum, seed):
        error = tf.constant(0.0)
        for i in tf.range(n_batches):
            idx = order[i * batch:(i + 1) * batch]
            v, u = tf.gather(v_tf, idx), tf.gather(u_tf, idx)
            start = tf.gather(particles, idx) if persistent else v
            s = tf.stack([seed, tf.cast(i, tf.int64)])
            stats, v_neg, err = rbm.cd_statistics(v, u, start, k, s, hidden_keep=keep)
            if persistent:
                particles.scatter_nd_update(idx[:, None], v_neg)
            if sparsity_cost > 0:  # Lee et al. / Hinton's guide: push the mean activity towards the target
                _, bh = rbm.dynamic_biases(u)
                active = tf.reduce_mean(rbm.hidden_probabilities(v, bh), axis=0)
                q.assign(0.9 * q + 0.1 * active)
                push = sparsity_cost * (sparsity - q) * float(batch)
                stats[2] = stats[2] + push
                stats[0] = stats[0] + tf.reduce_mean(v, axis=0)[:, None] * push[None, :]
            for param, vel, grad, decay in zip(rbm.parameters, velocity, stats, decayed):
                step = grad / float(batch)
                if decay:
                    step = step - config.weight_decay * param
                vel.assign(momentum * vel + lr * step)
                param.assign_add(vel)
            error += err
        return error / float(n_batches * batch)

    averaged = None  # sums of the parameters after each of the last ``average_last`` epochs
    for epoch in range(config.epochs):
        order = tf.constant(np.random.default_rng([config.seed, epoch]).permutation(n_rows).astype(np.int64))
        lr = config.learning_rate * (1.0 - 0.9 * epoch / max(1, config.epochs))
        momentum = 0.5 if epoch < min(3, config.epochs // 4 + 1) else 0.9
        error = float(run_epoch(order, tf.constant(lr, tf.float32), tf.constant(momentum, tf.float32),
                                tf.constant(config.seed * 100003 + epoch, tf.int64)))
        if config.average_last > 0 and epoch >= config.epochs - config.average_last:
            values = [p.numpy().astype(np.float64) for p in rbm.parameters]
            averaged = values if averaged is None else [a + v for a, v in zip(averaged, values)]
        if progress is not None:
            progress(f"epoch {epoch + 1}/{config.epochs} recon {error:.3f}", (epoch + 1) / config.epochs)
    if averaged is not None:  # Polyak averaging: the mean of the last epochs' weights (less SGD noise)
        count = min(config.average_last, config.epochs)
        for param, total in zip(rbm.parameters, averaged):
            param.assign((total / count).astype(np.float32))
    if keep < 1.0:  # a visible unit saw on average `keep` of the hidden units' weights in training
        rbm.W.assign(rbm.W * keep)
    return rbm, n_rows


@dataclass(frozen=True)
class JsbModel:
    """A trained binary-layout CRBM with what its conditioning rows are made of."""

    rbm: object  # models.crbm.ConditionalRBM
    config: JsbConfig
    memory: object | None = None  # research.recurrent.RecurrentMemory when config.memory_units > 0

    def conditioning(self, roll: np.ndarray) -> np.ndarray:
        """The conditioning rows u of one piano roll: the window slots (conditioning_rows), then the memory."""
        rows = conditioning_rows(roll, self.config.history, self.config.summary_decay)
        if self.memory is None:
            return rows
        return np.concatenate([rows, self.memory.conditioning_states(roll)], axis=1)


def train_jsb_model(rolls: Sequence[np.ndarray], config: "JsbConfig",
                    progress: Progress | None = None) -> tuple[JsbModel, int]:
    """train_jsb_crbm, then with ``config.memory_units`` > 0 a recurrent memory joins its conditioning
    (new directed weights from the memory start small) and both train on whole chorales
    (research.recurrent.train_memory, persistent chains). Returns (model, training rows)."""
    if config.memory_units < 0 or config.memory_epochs < 1 or not config.memory_learning_rate > 0:
        raise InvalidModelInput(f"memory_units={config.memory_units}, memory_epochs={config.memory_epochs}, "
                                f"memory_learning_rate={config.memory_learning_rate}; allowed: memory_units >= 0, "
                                "memory_epochs >= 1, memory_learning_rate > 0")
    share = 0.5 if config.memory_units else 1.0

    def part(offset: float):
        return None if progress is None else (lambda message, fraction: progress(message, offset + share * fraction))

    windows = [conditioning_rows(r, config.history, config.summary_decay) for r in rolls]
    rbm, rows = train_jsb_crbm(rolls, config, progress=part(0.0), windows=windows)
    if not config.memory_units:
        return JsbModel(rbm, config), rows
    from models.crbm import ConditionalRBM
    from research.recurrent import RecurrentMemory, train_memory

    window = rbm.get_weights()
    extended = ConditionalRBM(rbm.layout, config.n_hidden, conditioning_slots(config), seed=config.seed,
                              extra_conditioning=config.memory_units)
    a, b = extended.A.numpy(), extended.B.numpy()
    a[:len(window["A"])], b[:len(window["B"])] = window["A"], window["B"]
    extended.set_weights({**window, "A": a, "B": b})
    memory = RecurrentMemory(rbm.n_visible, config.memory_units, seed=config.seed)
    model = JsbModel(extended, config, memory)
    train_memory(extended, memory, rolls, windows, epochs=config.memory_epochs, k=config.k,
                 learning_rate=config.memory_learning_rate, weight_decay=config.weight_decay, seed=config.seed,
                 persistent=config.method == "pcd", progress=part(0.5))
    return model, rows


# -- inference ----------------------------------------------------------------------------------
def previous_frames(u: np.ndarray, n_visible: int) -> np.ndarray:
    """The previous frame of each conditioning row (slot 0; zeros before the start)."""
    return np.asarray(u[:, :n_visible], np.float32)


def gibbs_marginals(rbm, u: np.ndarray, chains: int, steps: int, burn_in: int, seed: int,
                    start: str = "previous", batch_rows: int = 4096, temperature: float = 1.0,
                    restart: int = 0, targets: np.ndarray | None = None,
                    missed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Estimated p(v_i = 1 | u) for every history row: mean over ``chains`` block-Gibbs chains of
    the mean-field visible probabilities of every sweep after ``burn_in`` (Rao-Blackwellised);
    chains start at the previous frame ("previous") or a draw from the dynamic visible biases
    ("bias"). ``temperature`` T samples p_T(v, h | u) ~ exp(-E(v, h | u) / T) (all energies scaled
    by 1/T: T < 1 sharpens the predictive distribution towards its modes, T = 1 is the model).
    ``restart`` > 0: the
    first ``restart`` sweeps run at T = 1, then every chain of a row restarts at the lowest-free-
    energy frame the row's chains visited and samples at T (at low T, chains started in separate
    poor local modes would not leave them). Also returns, per row, the lowest-free-energy
    frame any chain visited (a MAP candidate). With ``targets`` (B, D) (and ``missed`` (B,) target
    notes outside the units), also the expected accuracy of each row's frame under the sampled
    distribution, E[TP / (TP + FP + FN)], the mean over every sampled frame after burn-in (the
    paper's per-step expectation, estimated by sampling as its authors prescribe). Returns ((B, D)
    float64 marginals, (B, D) float32 frames, (B,) float64 expected accuracies or None)."""
    from models.tf_runtime import tf

    if steps <= burn_in or chains < 1 or burn_in < 0:
        raise InvalidModelInput(f"gibbs steps {steps}, burn-in {burn_in}, chains {chains}; "
                                "allowed: steps > burn_in >= 0, chains >= 1")
    if start not in CHAIN_STARTS:
        raise InvalidModelInput(f"chain start {start!r}; allowed: {list(CHAIN_STARTS)}")
    if not temperature > 0 or not 0 <= restart < steps:
        raise InvalidModelInput(f"temperature {temperature}, restart {restart}; allowed: temperature > 0, "
                                "0 <= restart < steps")
    d = rbm.n_visible
    if targets is not None and np.shape(targets) != (len(u), d):
        raise InvalidModelInput(f"targets of shape {np.shape(targets)}; allowed: ({len(u)}, {d})")
    if missed is not None and np.shape(missed) != (len(u),):
        raise InvalidModelInput(f"missed notes of shape {np.shape(missed)}; allowed: ({len(u)},)")
    scored = targets is not None
    # the targets and missed notes only go to the chains when there is something to score
    scoring_rows = () if not scored else (
        np.asarray(targets, np.float32), np.zeros(len(u), np.float32) if missed is None else np.asarray(missed, np.float32))
    run = tf.function(lambda ub, sb, tb=None, mb=None: _gibbs_batch(rbm, ub, steps, burn_in, sb, start == "previous",
                                                                    1.0 / temperature, chains, restart, tb, mb),
                      reduce_retracing=True)
    out, best, accuracy = [], [], []
    rows_per_batch = max(1, batch_rows // chains)
    for lo in range(0, len(u), rows_per_batch):
        rows = slice(lo, lo + rows_per_batch)
        ub = np.repeat(np.asarray(u[rows], np.float32), chains, axis=0)
        scoring = [tf.constant(np.repeat(x[rows], chains, axis=0)) for x in scoring_rows]
        marg, mode, energy, acc = run(tf.constant(ub), tf.constant([seed, lo], tf.int64), *scoring)
        n = len(ub) // chains
        out.append(marg.numpy().reshape(n, chains, d).mean(1))
        energy = energy.numpy().reshape(n, chains)
        best.append(mode.numpy().reshape(n, chains, d)[np.arange(n), energy.argmin(1)])
        accuracy.append(acc.numpy().reshape(n, chains).mean(1))
    return (np.concatenate(out).astype(np.float64), np.concatenate(best),
            np.concatenate(accuracy).astype(np.float64) if scored else None)


CHAIN_STARTS = ("previous", "bias")


def _gibbs_batch(rbm, u, steps: int, burn_in: int, seed, from_previous: bool, beta: float = 1.0,
                 chains: int = 1, restart: int = 0, targets=None, missed=None):
    from models.tf_runtime import tf

    bv, bh = rbm.dynamic_biases(u)
    d = rbm.n_visible
    if from_previous:  # the previous frame is history slot 0 (zeros before the start)
        v = u[:, :rbm.n_visible]
    else:
        v = tf.cast(tf.random.stateless_uniform(tf.shape(bv), seed=seed) < tf.sigmoid(bv), tf.float32)
    total = tf.zeros_like(bv)
    accuracy_total = tf.zeros_like(bv[:, 0])
    scored = targets is not None  # without targets the per-frame accuracy is not computed at all
    missed = tf.zeros_like(accuracy_total) if missed is None else missed
    best_v, best_f = v, _free_energy(rbm, v, bv, bh)
    for step in tf.range(steps):
        s = seed + tf.cast(tf.stack([0, 2 * step + 1]), tf.int64) * 7919
        if restart:  # sweeps 0..restart-1 at T = 1, then every chain restarts at its row's best frame
            if step == restart:
                per_row = tf.reshape(best_f, [-1, chains])
                pick = tf.argmin(per_row, axis=1, output_type=tf.int32)
                frames = tf.gather(tf.reshape(best_v, [-1, chains, d]), pick, axis=1, batch_dims=1)
                v = tf.reshape(tf.repeat(frames[:, None, :], chains, axis=1), [-1, d])
            b = tf.where(step >= restart, beta, 1.0)
        else:
            b = tf.constant(beta, tf.float32)
        ph = tf.sigmoid(b * (bh + tf.matmul(v, rbm.W)))
        h = tf.cast(tf.random.stateless_uniform(tf.shape(ph), seed=s) < ph, tf.float32)
        pv = tf.sigmoid(b * rbm.visible_logits(h, bv))
        total += tf.cast(step >= burn_in, tf.float32) * pv
        v = tf.cast(tf.random.stateless_uniform(tf.shape(pv), seed=s + tf.constant([1, 0], tf.int64)) < pv, tf.float32)
        if scored:
            accuracy_total += tf.cast(step >= burn_in, tf.float32) * _frame_accuracy(v, targets, missed)
        f = _free_energy(rbm, v, bv, bh)
        best_v = tf.where((f < best_f)[:, None], v, best_v)
        best_f = tf.minimum(f, best_f)
    return total / float(steps - burn_in), best_v, best_f, accuracy_total / float(steps - burn_in)


def _frame_accuracy(v, targets, missed):
    """TP / (TP + FP + FN) of each sampled frame (1 when nothing sounds and nothing is predicted)."""
    from models.tf_runtime import tf

    tp = tf.reduce_sum(v * targets, axis=1)
    denominator = tf.reduce_sum(v, axis=1) + tf.reduce_sum(targets, axis=1) + missed - tp
    return tf.where(denominator > 0, tp / tf.maximum(denominator, 1.0), 1.0)


def _free_energy(rbm, v, bv, bh):
    from models.tf_runtime import tf

    return -tf.reduce_sum(v * bv, axis=1) - tf.reduce_sum(tf.nn.softplus(bh + tf.matmul(v, rbm.W)), axis=1)


def mean_field_marginals(rbm, u: np.ndarray, iterations: int = 50, damping: float = 0.5) -> np.ndarray:
    """Mean-field fixed point m = sigmoid(bv + W sigmoid(bh + m W)), started at the previous frame
    (damped updates). A deterministic, cheaper stand-in for the marginals. Returns (B, D) float64."""
    from models.tf_runtime import tf

    bv, bh = rbm.dynamic_biases(tf.constant(np.asarray(u, np.float32)))
    m = tf.constant(previous_frames(u, rbm.n_visible))
    for _ in range(iterations):
        m = damping * m + (1 - damping) * tf.sigmoid(rbm.visible_logits(rbm.hidden_probabilities(m, bh), bv))
    return m.numpy().astype(np.float64)


def icm_mode(rbm, u: np.ndarray, v0: np.ndarray, sweeps: int = 5) -> np.ndarray:
    """Iterated conditional modes on the free energy F(v | u) from v0: flip, in every sweep, each
    key whose flip lowers F given the others (one key at a time, in order). A local MAP frame."""
    from models.tf_runtime import tf

    bv, bh = rbm.dynamic_biases(tf.constant(np.asarray(u, np.float32)))
    v = tf.constant(np.asarray(v0, np.float32))
    w = rbm.W
    d = rbm.n_visible
    for _ in range(sweeps):
        changed = False
        for i in range(d):
            act = bh + tf.matmul(v, w)  # (B, H)
            sign = 1.0 - 2.0 * v[:, i]
            delta = sign * bv[:, i] + tf.reduce_sum(tf.nn.softplus(act + sign[:, None] * w[i][None, :]) - tf.nn.softplus(act), axis=1)
            flip = delta > 0  # -F rises
            if bool(tf.reduce_any(flip)):
                changed = True
                v = tf.tensor_scatter_nd_update(tf.transpose(v), [[i]], [tf.where(flip, 1.0 - v[:, i], v[:, i])])
                v = tf.transpose(v)
        if not changed:
            break
    return v.numpy()


def ais_log_likelihood(rbm, v: np.ndarray, u: np.ndarray, betas: int, particles: int, seed: int) -> np.ndarray:
    """Per-row AIS estimate of log p(v | u) (nats) for a binary-layout CRBM.

    Base model: the same dynamic visible biases, no couplings (log Z_0 = sum softplus(bv) + H log 2);
    intermediate p_k(v) ~ exp(v.bv) prod_j (1 + exp(beta_k (vW + bh)_j)); transitions: one block-Gibbs
    sweep at beta_k. log Z is the log-mean of the importance weights: Z is unbiased, but log Z is
    underestimated on average (Jensen), so the log-likelihood estimate is, if anything, optimistic."""
    from models.tf_runtime import tf

    if betas < 2 or particles < 1:
        raise InvalidModelInput(f"AIS betas {betas}, particles {particles}; allowed: betas >= 2, particles >= 1")
    v = np.asarray(v, np.float32)
    u = np.asarray(u, np.float32)
    schedule = np.concatenate([np.linspace(0, 0.5, betas // 4, endpoint=False),
                               np.linspace(0.5, 0.9, betas // 4, endpoint=False),
                               np.linspace(0.9, 1.0, betas - 2 * (betas // 4))]).astype(np.float32)
    out = []
    for i in range(len(v)):
        ui = tf.constant(np.repeat(u[i:i + 1], particles, axis=0))
        bv, bh = rbm.dynamic_biases(ui)
        s = tf.constant([seed, i], tf.int64)
        x = tf.cast(tf.random.stateless_uniform(tf.shape(bv), seed=s) < tf.sigmoid(bv), tf.float32)
        log_w = tf.zeros((particles,))
        previous = 0.0
        for k in range(1, len(schedule)):
            beta = float(schedule[k])
            act = tf.matmul(x, rbm.W) + bh
            log_w += tf.reduce_sum(tf.nn.softplus(beta * act) - tf.nn.softplus(previous * act), axis=1)
            previous = beta
            sk = s + tf.constant([0, 1], tf.int64) * (k * 104729)
            ph = tf.sigmoid(beta * act)
            h = tf.cast(tf.random.stateless_uniform(tf.shape(ph), seed=sk) < ph, tf.float32)
            pv = tf.sigmoid(bv + beta * tf.matmul(h, rbm.W, transpose_b=True))
            x = tf.cast(tf.random.stateless_uniform(tf.shape(pv), seed=sk + tf.constant([1, 0], tf.int64)) < pv, tf.float32)
        log_z0 = tf.reduce_sum(tf.nn.softplus(bv[0])) + rbm.n_hidden * math.log(2.0)
        log_z = float(log_z0 + tf.reduce_logsumexp(log_w) - math.log(particles))
        vi = tf.constant(v[i:i + 1])
        neg_free_energy = float(tf.reduce_sum(vi * bv[:1]) + tf.reduce_sum(tf.nn.softplus(tf.matmul(vi, rbm.W) + bh[:1])))
        out.append(neg_free_energy - log_z)
    return np.asarray(out)


def evaluation_rows(model: JsbModel, chorales: Sequence[Chorale],
                    pitch_range: PitchRange) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What every frame of ``chorales`` is predicted from and scored against: (targets (T, D),
    conditioning rows (T, U), per frame the target notes outside the units (T,))."""
    rolls = [piano_roll(c, pitch_range)[0] for c in chorales]
    return (np.concatenate(rolls), np.concatenate([model.conditioning(r) for r in rolls]),
            np.concatenate([outside_notes(c, pitch_range) for c in chorales]))


def sampled_marginals(rbm, u: np.ndarray, config: JsbConfig, temperature: float, targets: np.ndarray,
                      missed: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """gibbs_marginals with the config's chains at ``temperature``; below T = 1 the chains burn in at
    T = 1, then every chain restarts at its row's lowest-free-energy frame and samples p_T. Returns
    (marginals, best visited frames, per-step expected accuracies)."""
    return gibbs_marginals(rbm, u, config.chains, config.gibbs_steps, config.burn_in, config.seed, config.chain_start,
                           temperature=temperature, restart=config.burn_in if temperature != 1.0 else 0,
                           targets=targets, missed=missed)


def exact_accuracy(scores: np.ndarray, scorer, temperature: float) -> tuple[float, float, np.ndarray]:
    """Score the exact predictive distributions p_T(m) ~ exp(scores / T) over a support with a
    research.frame_support.FrameScorer: (expected ACC summed over frames, the mean of the per-step
    expectations, per row log p_T(target), -inf outside the support)."""
    from research.frame_support import predictive

    prediction = scorer.score(predictive(scores, temperature))
    return (expected_counts(prediction.marginals, scorer.targets, int(scorer.missed.sum())).accuracy,
            float(prediction.step_accuracies.mean()), prediction.log_likelihoods)


def exact_prediction(models: Sequence[JsbModel], train_rolls: Sequence[np.ndarray],
                     evaluated_rolls: Sequence[np.ndarray], missed: np.ndarray) -> dict[str, float | int]:
    """The exact predictors over the training frames (research.frame_support) on the evaluated rolls:
    the CRBMs' product (mean score), the frame n-gram, and their product with weight
    config.ngram_weight, at config.temperature and at T = 1. Returns JsbResult's product_*, exact_*,
    ngram_*, *_log_likelihood and support_* fields by name."""
    from research.frame_support import FrameNgram, FrameScorer, FrameSupport, crbm_scores

    config = models[0].config
    support = FrameSupport.of(train_rolls)
    scorer = FrameScorer(support, np.concatenate(evaluated_rolls), missed)
    crbm = np.mean([crbm_scores(m.rbm, np.concatenate([m.conditioning(r) for r in evaluated_rolls]), support)
                    for m in models], axis=0)
    ngram = FrameNgram(support, config.ngram_order, config.ngram_discount).fit(train_rolls)
    ngram_scores = np.concatenate([ngram.log_probabilities(r) for r in evaluated_rolls])
    product = crbm + config.ngram_weight * ngram_scores
    t = config.temperature
    product_acc, product_step, _ = exact_accuracy(product, scorer, t)
    product_t1, product_t1_step, product_ll = exact_accuracy(product, scorer, 1.0)
    exact_acc, exact_step, _ = exact_accuracy(crbm, scorer, t)
    _, _, exact_ll = exact_accuracy(crbm, scorer, 1.0)
    ngram_acc, ngram_step, _ = exact_accuracy(ngram_scores, scorer, t)
    inside = np.isfinite(exact_ll)
    mean_inside = lambda values: float(values[inside].mean()) if inside.any() else float("nan")  # noqa: E731
    return dict(product_acc=product_acc, product_step_acc=product_step, product_untempered_acc=product_t1,
                product_untempered_step_acc=product_t1_step, exact_acc=exact_acc, exact_step_acc=exact_step,
                ngram_acc=ngram_acc, ngram_step_acc=ngram_step, exact_log_likelihood=mean_inside(exact_ll),
                product_log_likelihood=mean_inside(product_ll), support_frames=support.size,
                support_coverage=float(inside.mean()) if len(inside) else 0.0)


def evaluate_crbm_on_jsb(splits: Mapping[str, Sequence[Chorale]], train_split: str = "train",
                         split: str = "valid", config: JsbConfig = JsbConfig(), *,
                         progress: Progress | None = None) -> JsbResult:
    """Train the CRBM (binary-frame layout) on ``train_split`` and evaluate next-frame ACC on ``split``."""
    if config.method not in ("cd", "pcd"):
        raise InvalidModelInput(f"method {config.method!r} not allowed; allowed: ['cd', 'pcd']")
    if config.chain_start not in CHAIN_STARTS:
        raise InvalidModelInput(f"chain start {config.chain_start!r}; allowed: {list(CHAIN_STARTS)}")
    for name in ("n_hidden", "epochs", "k", "batch_size", "chains", "ensemble", "ngram_order"):
        if getattr(config, name) < 1:
            raise InvalidModelInput(f"{name}={getattr(config, name)} not allowed; allowed: >= 1")
    if config.history < 0 or config.transpose < 0 or not config.learning_rate > 0:
        raise InvalidModelInput(f"history={config.history}, transpose={config.transpose}, learning_rate="
                                f"{config.learning_rate}; allowed: history >= 0, transpose >= 0, learning_rate > 0")
    if not (config.temperature > 0 and 0 < config.threshold < 1 and 0 <= config.summary_decay <= 1
            and config.average_last >= 0 and 0 <= config.hidden_dropout < 1 and config.ngram_weight >= 0
            and 0 < config.ngram_discount < 1):
        raise InvalidModelInput(f"temperature={config.temperature}, threshold={config.threshold}, summary_decay="
                                f"{config.summary_decay}, average_last={config.average_last}, hidden_dropout="
                                f"{config.hidden_dropout}, ngram_weight={config.ngram_weight}, ngram_discount="
                                f"{config.ngram_discount}; allowed: temperature > 0, 0 < threshold < 1, "
                                "0 <= summary_decay <= 1, average_last >= 0, 0 <= hidden_dropout < 1, ngram_weight >= 0, "
                                "0 < ngram_discount < 1")
    if config.gibbs_steps <= config.burn_in or config.burn_in < 0:
        raise InvalidModelInput(f"gibbs steps {config.gibbs_steps}, burn-in {config.burn_in}; allowed: steps > burn-in >= 0")
    train = select_split(splits, train_split)
    evaluated = select_split(splits, split)
    pitch_range = PitchRange.of(train)
    train_rolls = transposed_rolls(train, pitch_range, range(-config.transpose, config.transpose + 1))
    if sum(len(r) for r in train_rolls) < config.batch_size:
        raise InvalidModelInput(f"{sum(len(r) for r in train_rolls)} training frames; need at least batch_size="
                                f"{config.batch_size}")
    started = time.perf_counter()
    models = []
    for member in range(config.ensemble):
        def train_progress(message: str, fraction: float, member: int = member) -> None:
            if progress is not None:
                progress(f"training CRBM {member + 1}/{config.ensemble}: {message}",
                         0.6 * (member + fraction) / config.ensemble)

        member_config = dataclasses.replace(config, seed=config.seed + member)
        model, train_rows = train_jsb_model(train_rolls, member_config, progress=train_progress)
        models.append(model)
    model, rbm = models[0], models[0].rbm
    train_seconds = time.perf_counter() - started

    frequency = np.concatenate([piano_roll(c, pitch_range)[0] for c in train]).mean(axis=0)
    started = time.perf_counter()
    v_all, u_all, missed_per_frame = evaluation_rows(model, evaluated, pitch_range)
    missed = int(missed_per_frame.sum())
    if progress is not None:
        progress(f"estimating marginals of {len(v_all)} frames", 0.6)
    probs, best, step_accuracy = sampled_marginals(rbm, u_all, config, 1.0, v_all, missed_per_frame)
    tempered, tempered_step_accuracy = probs, step_accuracy
    if config.temperature != 1.0:
        if progress is not None:
            progress(f"marginals at temperature {config.temperature:g}", 0.7)
        tempered, _, tempered_step_accuracy = sampled_marginals(rbm, u_all, config, config.temperature, v_all,
                                                                missed_per_frame)
    mean_field = mean_field_marginals(rbm, u_all)
    if progress is not None:
        progress("iterated conditional modes from the best visited frames", 0.8)
    mode = icm_mode(rbm, u_all, best)
    acc = lambda p: expected_counts(p, v_all, missed).accuracy  # noqa: E731
    step_acc = lambda p: float(frame_accuracies(p, v_all, missed_per_frame).mean())  # noqa: E731
    chorale_rolls = np.split(v_all, np.cumsum([len(c) for c in evaluated])[:-1])
    copied = np.concatenate([copy_previous(roll) for roll in chorale_rolls])
    rounded = (probs > config.threshold).astype(np.float64)
    copy_acc = acc(copied)
    frames = len(v_all)
    predict_seconds = time.perf_counter() - started

    if progress is not None:
        progress(f"exact prediction over the training frames ({config.ensemble} CRBMs x frame n-gram)", 0.85)
    started = time.perf_counter()
    exact = exact_prediction(models, train_rolls, chorale_rolls, missed_per_frame)
    exact_seconds = time.perf_counter() - started

    ll = stderr = None
    n_ais = 0
    if config.ais_frames > 0:
        rng = np.random.default_rng(config.seed)
        pick = np.sort(rng.choice(len(v_all), size=min(config.ais_frames, len(v_all)), replace=False))
        if progress is not None:
            progress(f"AIS log-likelihood on {len(pick)} frames", 0.9)
        values = ais_log_likelihood(rbm, v_all[pick], u_all[pick], config.ais_betas, config.ais_particles, config.seed)
        ll, n_ais = float(values.mean()), len(pick)
        stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else None
    if progress is not None:
        progress("done", 1.0)
    return JsbResult(
        **exact,
        acc=acc(tempered), untempered_acc=acc(probs),
        threshold_acc=acc(rounded), mean_field_acc=acc(mean_field), thresholded_acc=acc((probs > 0.5).astype(np.float64)),
        map_acc=acc(mode.astype(np.float64)), copy_previous_acc=copy_acc,
        step_acc=float(tempered_step_accuracy.mean()), untempered_step_acc=float(step_accuracy.mean()),
        threshold_step_acc=step_acc(rounded),
        map_step_acc=step_acc(mode.astype(np.float64)), copy_previous_step_acc=step_acc(copied),
        frequency_acc=acc(np.broadcast_to(frequency, v_all.shape)),
        log_likelihood=ll, log_likelihood_stderr=stderr, log_likelihood_frames=n_ais, frames=frames,
        chorales=len(evaluated), train_frames=train_rows, pitch_low=pitch_range.low, pitch_high=pitch_range.high,
        train_seconds=train_seconds, predict_seconds=predict_seconds, exact_seconds=exact_seconds, config=config,
    )


# --------------------------------------------------------------------------------------------
# Command line: python -m research.jsb --data FILE.json [--train-split train] [--split valid] [--json]
#: The model options: flag, JsbConfig field, type (or the allowed choices), help ({default} is read
#: from JsbConfig, so the help cannot drift from the defaults).
MODEL_OPTIONS = (
    ("--epochs", "epochs", int, "training epochs (default {default})"),
    ("--learning-rate", "learning_rate", float, "initial learning rate (default {default})"),
    ("--method", "method", ("cd", "pcd"), "CD-k or persistent CD (default {default})"),
    ("--transpose", "transpose", int,
     "augment training with transpositions by -N..+N semitones that stay in range (default {default})"),
    ("--hidden", "n_hidden", int, "hidden units (default {default})"),
    ("--history", "history", int, "previous frames the CRBM conditions on (default {default})"),
    ("--summary-decay", "summary_decay", float,
     "weight decay per step of the extra conditioning slot 'mean of all earlier frames' "
     "(default {default}; 1: the plain mean; 0: no such slot)"),
    ("--hidden-dropout", "hidden_dropout", float,
     "probability of dropping a hidden unit per training row in the PCD training (default {default}; 0: off)"),
    ("--average-last", "average_last", int,
     "final weights = mean of the weights after each of the last N epochs (default {default}; 0: off)"),
    ("--memory-units", "memory_units", int,
     "recurrent memory units joining the conditioning, the RNN-RBM idea (default {default}; 0: off)"),
    ("--memory-epochs", "memory_epochs", int, "passes training the memory with the CRBM (default {default})"),
    ("--k", "k", int, "Gibbs sweeps per CD update (default {default})"),
    ("--chains", "chains", int, "Gibbs chains per predicted frame (default {default})"),
    ("--gibbs-steps", "gibbs_steps", int, "sweeps per prediction chain, the first quarter burn-in (default {default})"),
    ("--temperature", "temperature", float,
     "temperature of the predictive distribution behind the headline expected ACC "
     "(default {default}, chosen on held-out train chorales; 1: the model as trained)"),
    ("--threshold", "threshold", float, "the hard rule 'key on when its T = 1 marginal exceeds this' (default {default})"),
    ("--chain-start", "chain_start", ("previous", "bias"),
     "prediction chains start at the previous frame or a draw from the dynamic biases (default {default})"),
    ("--ensemble", "ensemble", int,
     "CRBMs trained with consecutive seeds whose product predicts exactly over the training frames (default {default})"),
    ("--ngram-order", "ngram_order", int, "order of the frame n-gram expert in that product (default {default})"),
    ("--ngram-weight", "ngram_weight", float,
     "weight of the frame n-gram's log-probability in the product (default {default}; 0: the CRBMs alone)"),
    ("--ais-frames", "ais_frames", int, "frames for the AIS next-frame log-likelihood estimate (default {default}; 0: skip)"),
    ("--seed", "seed", int, "random seed (default {default})"),
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m research.jsb",
        description="Train the conditional RBM on one split of a JSB-chorales JSON file and report the expected "
                    "next-frame accuracy ACC = TP/(TP+FP+FN) on another (Boulanger-Lewandowski et al. 2012): "
                    "exactly over the distinct training frames (the product of --ensemble CRBMs and a frame n-gram), "
                    "and for one CRBM over all frames by Gibbs sampling, beside 'copy the previous frame' and "
                    "independent key frequencies.")
    parser.add_argument("--data", required=True, metavar="FILE.json",
                        help="JSB chorales JSON: {split: [chorale: [time step: [MIDI pitch, ...]]]}")
    parser.add_argument("--train-split", default="train", help="split to train on (default: train)")
    parser.add_argument("--split", default="valid", help="split to evaluate (default: valid)")
    defaults = JsbConfig()
    for flag, field, kind, text in MODEL_OPTIONS:
        typed = {"choices": kind} if isinstance(kind, tuple) else {"type": kind, "metavar": flag[2:].upper().replace("-", "_")}
        parser.add_argument(flag, dest=field, help=text.format(default=getattr(defaults, field)), **typed)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    return parser


def _progress(message: str, fraction: float) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    overrides = {field: getattr(args, field) for _, field, _, _ in MODEL_OPTIONS}
    integers = {"epochs": 1, "n_hidden": 1, "history": 0, "k": 1, "chains": 1, "gibbs_steps": 2, "ais_frames": 0,
                "transpose": 0, "average_last": 0, "memory_units": 0,
                "memory_epochs": 1, "ensemble": 1, "ngram_order": 1}  # name -> smallest value allowed
    rules = {name: (lambda x, low=low: x >= low, f"an integer >= {low}") for name, low in integers.items()}
    rules.update({"learning_rate": (lambda x: x > 0, "a number > 0"), "temperature": (lambda x: x > 0, "a number > 0"),
                  "threshold": (lambda x: 0 < x < 1, "a number strictly between 0 and 1"),
                  "summary_decay": (lambda x: 0 <= x <= 1, "a number between 0 and 1"),
                  "hidden_dropout": (lambda x: 0 <= x < 1, "a number >= 0 and < 1"),
                  "ngram_weight": (lambda x: x >= 0, "a number >= 0")})
    flags = {field: flag for flag, field, _, _ in MODEL_OPTIONS}
    for name, (ok, allowed) in rules.items():
        value = overrides[name]
        if value is not None and not ok(value):
            raise InvalidModelInput(f"{flags[name]} {value} is not allowed; use {allowed}")
    config = dataclasses.replace(JsbConfig(), **{k: v for k, v in overrides.items() if v is not None})
    if args.gibbs_steps is not None:  # keep the default's proportion: a quarter of the sweeps is burn-in
        config = dataclasses.replace(config, burn_in=min(config.burn_in, config.gibbs_steps // 4))
    splits = load_jsb(args.data)
    result = evaluate_crbm_on_jsb(splits, args.train_split, args.split, config,
                                  progress=None if args.json else _progress)
    summary = dataclasses.asdict(result)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"JSB {args.split}: expected ACC at temperature {config.temperature:g} over {result.frames} frames, "
              f"exact over the {result.support_frames} training frames ({result.support_coverage:.1%} of these frames), "
              f"{config.ensemble} CRBM(s) x frame {config.ngram_order}-gram: {result.product_acc:.2%} summed over frames, "
              f"{result.product_step_acc:.2%} as the mean of the per-step expectations (the paper's authors' averaging)\n"
              f"  the CRBM(s) alone: {result.exact_acc:.2%} summed, {result.exact_step_acc:.2%} per step; "
              f"the n-gram alone: {result.ngram_acc:.2%} summed\n"
              f"  one CRBM over all frames, Gibbs-sampled at T = {config.temperature:g}: {result.acc:.2%} summed, "
              f"{result.step_acc:.2%} per step; at T = 1 (the model as trained): {result.untempered_acc:.2%} summed, "
              f"{result.untempered_step_acc:.2%} per step\n"
              f"  other rules (summed): mean-field marginals "
              f"{result.mean_field_acc:.2%}, T = 1 marginals rounded at {config.threshold:g} {result.threshold_acc:.2%} "
              f"and at 0.5 {result.thresholded_acc:.2%}, approximate most likely frame {result.map_acc:.2%}\n"
              f"  baselines: copy previous frame {result.copy_previous_step_acc:.2%} per step, {result.copy_previous_acc:.2%} "
              f"summed; key frequencies {result.frequency_acc:.2%} summed")
        if result.log_likelihood is not None:
            print(f"next-frame log-likelihood (AIS, {result.log_likelihood_frames} frames): "
                  f"{result.log_likelihood:.3f} nats/frame")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Bad options and data print one line, "research.jsb: error: ...", and exit 2."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except ModelError as error:
        print(f"research.jsb: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
