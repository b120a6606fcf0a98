"""Training the conditional RBMs (one per emotion class) and the per-class side models.

Learning: contrastive divergence CD-k, persistent CD (one persistent negative particle per
training row, since every row has its own history), or - for the enumerable chord layout - the
exact log-likelihood gradient. Minibatch SGD with momentum (0.5 for the first epochs, then the
final value), a linear learning-rate decay and L2 weight decay on W, A, B.

Distribution: every update runs as ``strategy.run`` (per-replica statistics on the replica's
slice of the global minibatch) followed by ``strategy.reduce(SUM)`` and one update in
cross-replica context, so the default strategy (CPU), ``MirroredStrategy`` (several GPUs) and
``MultiWorkerMirroredStrategy`` (several machines) run the same code.

Beside each class's CRBM: the class's side models (models.profiles: performance profile,
harmonic rhythm, mode-chord tables) and its share of major-mode clips. The classifier's
harmony weight is chosen here by song-grouped cross-validation (choose_harmony_weight), scoring
the held-out songs with models.classification.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from models.classification import (HARMONY_WEIGHT_GRID, ClipScores, classification_accuracy, score_clips, song_folds,
                                   song_of)
from models.crbm import (CHORD_LAYOUT, ConditionalRBM, VisibleLayout, chord_visible, conditioning_matrix,
                         visible_to_states)
from models.errors import InvalidModelInput
from models.model_folder import model_set_from_class_models
from models.profiles import fit_mode_chord_log_probs, fit_performance_profile, fit_rhythm, mode_chord_counts
from models.progress import Progress
from models.tf_runtime import tf

@dataclass(frozen=True)
class TrainingConfig:
    """Hyperparameters of one class CRBM (defaults chosen on EMOPIA val: bench/crbm_sweep.py)."""

    n_hidden: int = 32  # binary hidden units
    history: int = 4  # previous chord events the model conditions on (per-group one-hots: root, quality, bass)
    # Most recent events also given as the one-hot of their joint state (softmax layout only; see
    # for_chords() for the shipped chord settings). 0 here: binary frames (JSB) cannot use it.
    joint_history: int = 0
    method: str = "cd"  # "cd" (CD-k), "pcd" (persistent CD) or "exact" (exact gradient, softmax layout)
    k: int = 1  # Gibbs sweeps per update (CD-k / PCD)
    epochs: int = 3  # passes over the class's training events (after the pooled pretraining)
    batch_size: int = 64  # global minibatch (split over the replicas)
    learning_rate: float = 0.05  # initial step size; decays linearly to 10 % of it
    momentum_initial: float = 0.5  # momentum during the first `momentum_switch_epoch` epochs
    momentum_final: float = 0.9  # momentum afterwards
    momentum_switch_epoch: int = 3
    weight_decay: float = 1e-4  # L2 coefficient on W, A, B
    joint_weight_decay: float | None = None  # L2 on the joint-state rows of A, B (None: weight_decay)
    pretrain_epochs: int = 150  # epochs of one pooled CRBM on all classes' clips, the start of every class model
    seed: int = 0  # initial weights, shuffling and sampling

    @classmethod
    def for_chords(cls) -> "TrainingConfig":
        """The shipped chord-model settings, chosen on EMOPIA val (bench/RESULTS.md, "CRBM settings"):
        the joint one-hot of the last 2 chords (with its own, stronger L2) and 64 hidden units are
        what lets the CRBM beat the Kneser-Ney bigram's likelihood (6.624 vs 6.646 bits/chord)."""
        return cls(n_hidden=64, joint_history=2, joint_weight_decay=0.003)

    def validate(self) -> "TrainingConfig":
        if self.method not in ("cd", "pcd", "exact"):
            raise InvalidModelInput(f"method {self.method!r} not allowed; allowed: ['cd', 'pcd', 'exact']")
        for name in ("n_hidden", "k", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InvalidModelInput(f"{name}={getattr(self, name)} not allowed; allowed: >= 1")
        if self.history < 0:
            raise InvalidModelInput(f"history={self.history} not allowed; allowed: >= 0")
        if self.joint_history < 0:
            raise InvalidModelInput(f"joint_history={self.joint_history} not allowed; allowed: >= 0")
        if not self.learning_rate > 0:
            raise InvalidModelInput(f"learning_rate={self.learning_rate} not allowed; allowed: > 0")
        return self

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TrainingReport:
    """What happened while training one CRBM."""

    epochs_run: int  # epochs run in this call (0 when a finished checkpoint was resumed)
    final_epoch: int  # total epochs done
    reconstruction_error: float  # mean squared error per row of the last epoch's reconstructions
    seconds: float  # wall-clock time of this call
    n_rows: int  # training rows (time steps)
    replicas: int  # replicas in sync (strategy.num_replicas_in_sync)


def sequences_to_rows(sequences: Sequence[np.ndarray], history: int, joint_history: int = 0,
                      layout: VisibleLayout | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack sequences of visible rows into (v, u) training rows (each sequence its own history;
    u as models.crbm.conditioning_matrix)."""
    vs, us = [], []
    for seq in sequences:
        seq = np.asarray(seq, np.float32)
        if len(seq) == 0:
            continue
        vs.append(seq)
        us.append(conditioning_matrix(seq, history, joint_history, layout))
    if not vs:
        raise InvalidModelInput("no training rows: every sequence is empty; allowed: at least one non-empty sequence")
    return np.concatenate(vs), np.concatenate(us)


def train_crbm(
    sequences: Sequence[np.ndarray],
    layout: VisibleLayout,
    config: TrainingConfig = TrainingConfig(),
    *,
    strategy: tf.distribute.Strategy | None = None,
    progress: Progress | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    label: str = "",
    initial_weights: Mapping[str, np.ndarray] | None = None,
) -> tuple[ConditionalRBM, TrainingReport]:
    """Train one CRBM on sequences of visible rows ((T_i, D) arrays).

    checkpoint_dir: a tf.train.CheckpointManager folder (saved after every epoch); with
    resume=True training continues from its latest checkpoint (same config required)."""
    config.validate()
    if config.method == "exact" and layout.kind != "softmax":
        raise InvalidModelInput("method 'exact' needs the softmax layout; allowed for binary: ['cd', 'pcd']")
    strategy = strategy or tf.distribute.get_strategy()
    started = time.perf_counter()
    if config.joint_history and layout.kind != "softmax":
        raise InvalidModelInput(f"joint_history={config.joint_history} needs the softmax layout; allowed for binary: 0")
    v_all, u_all = sequences_to_rows(sequences, config.history, config.joint_history, layout)
    n_rows = len(v_all)
    replicas = strategy.num_replicas_in_sync
    with strategy.scope():
        rbm = ConditionalRBM(layout, config.n_hidden, config.history, seed=config.seed, weights=initial_weights,
                             name=f"crbm_{label}" if label else None, joint_history=config.joint_history)
        if initial_weights is not None:
            pass  # e.g. the pooled model: keep its biases
        elif layout.kind == "binary":  # start the visible biases at the data's log-odds (Hinton's guide)
            mean = np.clip(v_all.mean(axis=0), 1e-3, 1 - 1e-3)
            rbm.b.assign(np.log(mean / (1 - mean)).astype(np.float32))
        else:
            bias = np.zeros(layout.n_visible, np.float32)
            lo = 0
            for size in layout.group_sizes:
                freq = v_all[:, lo:lo + size].mean(axis=0) + 1e-3
                bias[lo:lo + size] = np.log(freq / freq.sum())
                lo += size
            rbm.b.assign(bias)
        velocity = [tf.Variable(tf.zeros_like(p), name=f"velocity_{n}") for n, p in zip("WbcAB", rbm.parameters)]
        epoch_done = tf.Variable(0, dtype=tf.int64, name="epoch")
    # PCD particles live on the host (one per training row); checkpointed through this variable.
    particles_var = tf.Variable(v_all.copy(), name="pcd_particles")
    checkpoint = tf.train.Checkpoint(rbm=rbm, velocity=velocity, epoch=epoch_done, particles=particles_var)
    manager = None
    if checkpoint_dir is not None:
        manager = tf.train.CheckpointManager(checkpoint, str(checkpoint_dir), max_to_keep=2)
        if resume and manager.latest_checkpoint:
            checkpoint.restore(manager.latest_checkpoint).expect_partial()
    particles = particles_var.numpy()

    decayed = (True, False, False, True, True)  # weight decay on W, A, B only
    # Per-row L2 of A and B: the joint-state rows (sparse one-hots) may get their own coefficient.
    row_decay = np.full((rbm.n_conditioning, 1), config.weight_decay, np.float32)
    if config.joint_history and config.joint_weight_decay is not None:
        row_decay[config.history * (layout.n_visible + 1):] = config.joint_weight_decay
    row_decay = tf.constant(row_decay)
    decay_of = (tf.constant(config.weight_decay), None, None, row_decay, row_decay)
    method, k = config.method, config.k

    @tf.function(reduce_retracing=True)
    def train_step(v, u, v_start, seed, n_global, lr, momentum):
        def replica_fn(v, u, v_start):
            ctx = tf.distribute.get_replica_context()
            replica = tf.cast(ctx.replica_id_in_sync_group, tf.int64)
            replica_seed = seed + tf.stack([tf.constant(0, tf.int64), replica * 1000003])
            if method == "exact":
                stats, nll = rbm.exact_statistics(v, u)
                return stats, v_start, nll
            return rbm.cd_statistics(v, u, v_start, k, replica_seed)

        stats, v_negative, error = strategy.run(replica_fn, args=(v, u, v_start))
        stats = [strategy.reduce(tf.distribute.ReduceOp.SUM, s, axis=None) for s in stats]
        error = strategy.reduce(tf.distribute.ReduceOp.SUM, error, axis=None)
        for param, vel, grad, decay, coefficient in zip(rbm.parameters, velocity, stats, decayed, decay_of):
            step = grad / n_global
            if decay:
                step = step - coefficient * param
            vel.assign(momentum * vel + lr * step)
            param.assign_add(vel)
        return v_negative, error

    def distribute(array: np.ndarray):
        per = math.ceil(len(array) / replicas)

        def value_fn(ctx):
            i = ctx.replica_id_in_sync_group
            return tf.constant(array[i * per:(i + 1) * per])

        return strategy.experimental_distribute_values_from_function(value_fn)

    start_epoch = int(epoch_done.numpy())
    n_batches = math.ceil(n_rows / config.batch_size)
    last_error = float("nan")
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(n_rows)
        lr = config.learning_rate * (1.0 - 0.9 * epoch / max(1, config.epochs))
        momentum = config.momentum_initial if epoch < config.momentum_switch_epoch else config.momentum_final
        error_sum = 0.0
        for batch in range(n_batches):
            idx = order[batch * config.batch_size:(batch + 1) * config.batch_size]
            v = v_all[idx]
            start = particles[idx] if method == "pcd" else v
            seed = tf.constant([config.seed * 100003 + epoch, batch], tf.int64)
            v_neg, error = train_step(distribute(v), distribute(u_all[idx]), distribute(start), seed,
                                      tf.constant(float(len(idx))), tf.constant(lr, tf.float32),
                                      tf.constant(momentum, tf.float32))
            if method == "pcd":
                particles[idx] = np.concatenate([t.numpy() for t in strategy.experimental_local_results(v_neg)])
            error_sum += float(error)
            if progress is not None and (batch % 20 == 0 or batch == n_batches - 1):
                seen = (batch + 1) * config.batch_size
                name = "nll" if method == "exact" else "recon"
                progress(f"{label} epoch {epoch + 1}/{config.epochs} {name} {error_sum / min(seen, n_rows):.4f}",
                         (epoch + (batch + 1) / n_batches) / config.epochs)
        last_error = error_sum / n_rows
        epoch_done.assign(epoch + 1)
        if manager is not None:
            particles_var.assign(particles)
            manager.save(checkpoint_number=epoch + 1)
    report = TrainingReport(
        epochs_run=max(0, config.epochs - start_epoch), final_epoch=int(epoch_done.numpy()),
        reconstruction_error=last_error, seconds=time.perf_counter() - started, n_rows=n_rows, replicas=replicas,
    )
    return rbm, report


# --------------------------------------------------------------------------------------------
# Evaluation of chord models
@dataclass(frozen=True)
class SequenceScores:
    """Exact next-chord scores of a chord CRBM on held-out sequences."""

    nll_bits_per_chord: float  # mean -log2 p(chord | history), exact
    top1_accuracy: float  # share of chords that are the model's most likely next chord
    n_chords: int


def score_sequences(rbm: ConditionalRBM, sequences: Sequence[np.ndarray]) -> SequenceScores:
    """Exact NLL (bits/chord) and top-1 next-chord accuracy of a softmax-layout CRBM."""
    v, u = sequences_to_rows(sequences, rbm.history, rbm.joint_history, rbm.layout)
    total_nll, hits = 0.0, 0
    for start in range(0, len(v), 256):
        log_p = rbm.log_prob_all_states(tf.constant(u[start:start + 256])).numpy()
        truth = visible_to_states(rbm.layout, v[start:start + 256])
        total_nll -= float(log_p[np.arange(len(truth)), truth].sum())
        hits += int((log_p.argmax(axis=1) == truth).sum())
    return SequenceScores(total_nll / len(v) / math.log(2), hits / len(v), len(v))


# --------------------------------------------------------------------------------------------
# The class models: a CRBM per class (from a pooled start) and the class's side models
@dataclass(frozen=True)
class ClassModel:
    """Everything learned for one emotion class."""

    label: str  # class name, e.g. "Q1"
    weights: dict  # CRBM weights (PARAMETER_NAMES -> numpy arrays)
    performance_profile: dict  # see fit_performance_profile
    rhythm: dict  # see fit_rhythm
    major_share: float  # share of the class's clips in a major key, 0..1
    n_clips: int  # training clips
    n_events: int  # training chord events
    report: TrainingReport
    mode_chord_log_probs: np.ndarray | None = None  # (2, states), see fit_mode_chord_log_probs


def clip_sequences(clips: Sequence) -> list[np.ndarray]:
    return [chord_visible(c.events) for c in clips if len(c.events) > 0]


def train_class_models(
    clips_by_label: Mapping[str, Sequence],
    config: TrainingConfig = TrainingConfig(),
    *,
    strategy: tf.distribute.Strategy | None = None,
    progress: Progress | None = None,
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    beats_per_bar: int = 4,
) -> dict[str, ClassModel]:
    """One chord CRBM + performance profile + rhythm + mode share per label.

    clips_by_label: label -> clips (objects with .events, .mode, .performance; e.g.
    models.dataset.Clip). Labels come from the data; any number >= 1 works."""
    if not clips_by_label:
        raise InvalidModelInput("no labelled clips; allowed: at least one label with clips")
    labels = sorted(clips_by_label)
    models: dict[str, ClassModel] = {}
    stages = len(labels) + (1 if config.pretrain_epochs else 0)
    pooled_weights = None
    if config.pretrain_epochs:
        pooled = [c for label in labels for c in clips_by_label[label] if len(c.events) > 0]
        pooled_rbm, _ = train_crbm(
            clip_sequences(pooled), CHORD_LAYOUT, replace(config, epochs=config.pretrain_epochs), strategy=strategy,
            progress=None if progress is None else (lambda m, f: progress(m, f / stages)),
            checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir) / "_pooled",
            resume=resume, label="pooled",
        )
        pooled_weights = pooled_rbm.get_weights()
    mode_counts = {label: mode_chord_counts(clips_by_label[label]) for label in labels}
    pooled_mode_counts = sum(mode_counts.values())
    for i, label in enumerate(labels, start=stages - len(labels)):
        clips = [c for c in clips_by_label[label] if len(c.events) > 0]
        if not clips:
            raise InvalidModelInput(f"class {label!r} has no clip with chord events; every class needs at least one")

        def class_progress(message: str, fraction: float, i=i) -> None:
            if progress is not None:
                progress(message, (i + fraction) / stages)

        rbm, report = train_crbm(
            clip_sequences(clips), CHORD_LAYOUT, config, strategy=strategy, progress=class_progress,
            checkpoint_dir=None if checkpoint_dir is None else Path(checkpoint_dir) / label,
            resume=resume, label=label, initial_weights=pooled_weights,
        )
        models[label] = ClassModel(
            label=label, weights=rbm.get_weights(),
            performance_profile=fit_performance_profile([c.performance for c in clips]),
            rhythm=fit_rhythm(clips, beats_per_bar),
            major_share=float(np.mean([c.mode == "major" for c in clips])),
            n_clips=len(clips), n_events=int(sum(len(c.events) for c in clips)), report=report,
            mode_chord_log_probs=fit_mode_chord_log_probs(mode_counts[label], pooled_mode_counts),
        )
    return models


# --------------------------------------------------------------------------------------------
# The POP909 pop expert and harmonic rhythm
#: Epochs and rule of the pop expert: the class CRBMs' shape (TrainingConfig.for_chords) trained from
#: scratch on POP909 songs 001-700. CD-1: 10 epochs take 75-140 s here and keep generated pieces 95 %
#: diatonic (bench/RESULTS.md, "Pop expert for the phrase-aware prototype"); 40 epochs predict POP909
#: better (3.642 vs 3.815 bits/chord) but take 4x as long. The exact gradient
#: (bench/pop909_next_chord.py --crbm-method exact) did not finish 4 epochs in 11 minutes on the
#: loaded 2-core machine: every step scores all 2016 states of every row.
POP_EXPERT_EPOCHS = 10
POP_EXPERT_METHOD = "cd"


@dataclass(frozen=True)
class PopExpert:
    """What is learned from POP909: the pop expert CRBM and the harmonic rhythm."""

    weights: dict  # CRBM weights (PARAMETER_NAMES -> numpy arrays), the class CRBMs' shape
    report: TrainingReport  # the CRBM's training
    harmonic_rhythm: object  # models.harmonic_rhythm.HarmonicRhythm fitted on the songs
    n_songs: int  # songs learned from
    n_chords: int  # chord events learned from (continuous segments)
    rhythm_seconds: float  # wall-clock time of fitting the harmonic rhythm


def train_pop_expert(songs: Sequence, config: TrainingConfig, *, epochs: int = POP_EXPERT_EPOCHS,
                     method: str = POP_EXPERT_METHOD, strategy: tf.distribute.Strategy | None = None,
                     progress: Progress | None = None) -> PopExpert:
    """The pop expert (a chord CRBM of ``config``'s shape, no pooled start) on the songs' continuous
    segments (models.pop909.Pop909Song), and the harmonic rhythm fitted on the same songs."""
    from models.harmonic_rhythm import fit_harmonic_rhythm

    if not songs:
        raise InvalidModelInput("no POP909 songs to learn from; allowed: at least one readable song")
    started = time.perf_counter()
    rhythm = fit_harmonic_rhythm(songs)
    rhythm_seconds = time.perf_counter() - started
    sequences = [chord_visible(events) for song in songs for events, _ in song.segments() if len(events) > 0]
    pop_config = replace(config, epochs=int(epochs), method=method, pretrain_epochs=0).validate()
    rbm, report = train_crbm(sequences, CHORD_LAYOUT, pop_config, strategy=strategy, progress=progress, label="pop")
    return PopExpert(rbm.get_weights(), report, rhythm, len(songs), int(sum(len(s) for s in sequences)), rhythm_seconds)


# --------------------------------------------------------------------------------------------
# The classifier's harmony weight, by cross-validation
def choose_harmony_weight(clips_by_label: Mapping[str, Sequence], config: TrainingConfig, *, folds: int = 3,
                          strategy=None, progress: Progress | None = None, beats_per_bar: int = 4,
                          class_info: Mapping | None = None) -> tuple[float, dict, ClipScores]:
    """Harmony-vs-performance weight by song-grouped k-fold cross-validation on the training clips.

    Returns (weight, {weight: cv accuracy}, the pooled out-of-fold scores, for further choices such
    as models.classification.choose_valence_bias)."""
    all_clips = [c for label in sorted(clips_by_label) for c in clips_by_label[label] if c.events]
    fold_of = song_folds(all_clips, folds, config.seed)
    harmony, perf, truth, n_chords = [], [], [], []
    names = None
    for fold in range(folds):
        train = {label: [c for c in clips_by_label[label] if c.events and fold_of[song_of(c)] != fold]
                 for label in clips_by_label}
        held = [c for c in all_clips if fold_of[song_of(c)] == fold]
        fold_progress = None if progress is None else (lambda m, f, fold=fold: progress(f"cv {fold + 1}/{folds} {m}", (fold + f) / folds))
        models = train_class_models(train, config, strategy=strategy, progress=fold_progress, beats_per_bar=beats_per_bar)
        fold_set = model_set_from_class_models(name=f"cv-fold-{fold + 1}", layout=CHORD_LAYOUT.to_json(),
                                               hyperparameters=config.to_json(), class_models=models,
                                               beats_per_bar=beats_per_bar, class_info=class_info)
        scores = score_clips(fold_set, held)
        names = scores.class_names
        harmony.append(scores.harmony), perf.append(scores.performance), truth.append(scores.truth)
        n_chords.append(scores.n_chords)
    pooled = ClipScores(names, np.concatenate(harmony), np.concatenate(perf), np.concatenate(truth),
                        np.concatenate(n_chords))
    table = {w: classification_accuracy(pooled, class_info, harmony_weight=w)["classes"] for w in HARMONY_WEIGHT_GRID}
    best = max(HARMONY_WEIGHT_GRID, key=lambda w: (table[w], -abs(w - 1.0)))
    return best, table, pooled


def default_strategy() -> tf.distribute.Strategy:
    """MultiWorkerMirroredStrategy when TF_CONFIG describes a cluster, MirroredStrategy over several
    local GPUs, else the default (single-device) strategy; the training code is the same for all."""
    import os

    if os.environ.get("TF_CONFIG"):
        return tf.distribute.MultiWorkerMirroredStrategy()
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()
