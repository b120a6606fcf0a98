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
                                   song_of, sparse_history_rows)
from models.crbm import (CHORD_LAYOUT, ConditionalRBM, VisibleLayout, chord_visible, conditioning_matrix,
                         visible_to_states)
from models.errors import InvalidModelInput
from models.model_config import MAX_TOTAL_PARAMETERS, SCHEMA, expected_array_shapes
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
    pretrain_method: str = "cd"  # learning rule of the pooled pretraining ("cd", "pcd" or "exact")

    @classmethod
    def for_chords(cls) -> "TrainingConfig":
        """The shipped chord-model settings, chosen on EMOPIA val (bench/RESULTS.md, "CRBM settings"):
        the joint one-hot of the last 2 chords (with its own, stronger L2) and 64 hidden units are
        what lets the CRBM beat the Kneser-Ney bigram's likelihood (6.624 vs 6.646 bits/chord). The
        class models' 3 epochs from the pooled start follow the exact likelihood gradient (no sampling
        noise in the fine-tuning: val mixture 6.575 bits against 6.608 with CD-1, whose draws moved the val
        classifier by several points; "Class fine-tuning on EMOPIA val"); the pooled pretraining stays CD-1."""
        return cls(n_hidden=64, joint_history=2, joint_weight_decay=0.003, method="exact", pretrain_method="cd")

    def validate(self, n_models: int | None = None, layout: VisibleLayout = CHORD_LAYOUT) -> "TrainingConfig":
        """The config itself, or InvalidModelInput naming the first value training cannot use or whose
        model folder would not load: every hyperparameter within the loader's range
        (models.model_config.SCHEMA), and with ``n_models`` class CRBMs of ``layout`` at most
        MAX_TOTAL_PARAMETERS parameters in all (the loader's budget), so train never writes a folder
        that load_model_set refuses."""
        for name in ("method", "pretrain_method"):
            if getattr(self, name) not in ("cd", "pcd", "exact"):
                raise InvalidModelInput(f"{name} {getattr(self, name)!r} not allowed; allowed: ['cd', 'pcd', 'exact']")
        for name in ("n_hidden", "k", "epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise InvalidModelInput(f"{name}={getattr(self, name)} not allowed; allowed: >= 1")
        if self.history < 0:
            raise InvalidModelInput(f"history={self.history} not allowed; allowed: >= 0")
        if not 0 <= self.joint_history <= MAX_JOINT_HISTORY:
            raise InvalidModelInput(f"joint_history={self.joint_history} not allowed; allowed: 0..{MAX_JOINT_HISTORY} "
                                    "(what a model folder may hold)")
        if not self.learning_rate > 0:
            raise InvalidModelInput(f"learning_rate={self.learning_rate} not allowed; allowed: > 0")
        for name, (low, high) in loadable_hyperparameter_ranges().items():
            value = getattr(self, name)
            if value is None:
                continue
            if not (isinstance(value, (int, float)) and math.isfinite(value)) or not (low is None or value >= low) \
                    or not (high is None or value <= high):
                lower = 1 if name in ("n_hidden", "k", "epochs", "batch_size") else low
                raise InvalidModelInput(f"{name}={value} not allowed; allowed: {_number(lower)}..{_number(high)} "
                                        "(what a model folder may hold)")
        if n_models is not None:
            total = parameters_per_model(layout, self.n_hidden, self.history, self.joint_history) * n_models
            if total > MAX_TOTAL_PARAMETERS:
                largest = largest_hidden(layout, self.history, self.joint_history, n_models)
                raise InvalidModelInput(
                    f"n_hidden={self.n_hidden} with history={self.history}, joint_history={self.joint_history} and "
                    f"{n_models} class models is {total:,} parameters; allowed: at most {MAX_TOTAL_PARAMETERS:,} "
                    f"(what a model folder may hold): n_hidden 1..{largest} at this history" if largest >= 1 else
                    f"history={self.history}, joint_history={self.joint_history} with {n_models} class models is "
                    f"{total:,} parameters; allowed: at most {MAX_TOTAL_PARAMETERS:,} (what a model folder may hold): "
                    "a shorter history or joint history")
        return self

    def to_json(self) -> dict:
        return dict(self.__dict__)


#: A model folder's A has 39 * history + 2016 * joint_history rows, read back by models.crbm.infer_history,
#: which is unique only below 13 joint slots (2016 * 13 = 39 * 672).
MAX_JOINT_HISTORY = 12


def loadable_hyperparameter_ranges() -> dict[str, tuple[float | None, float | None]]:
    """{TrainingConfig field: (lowest, highest)} as the model-folder loader checks them (models.model_config.SCHEMA)."""
    names = set(TrainingConfig.__dataclass_fields__)
    return {f.path.split(".", 1)[1]: (f.low, f.high) for f in SCHEMA
            if f.path.startswith("hyperparameters.") and f.path.split(".", 1)[1] in names and f.kind in ("int", "number")}


def parameters_per_model(layout: VisibleLayout, n_hidden: int, history: int, joint_history: int) -> int:
    """Numbers one class of a model folder stores (W, b, c, A, B and its mode-chord table), counted by
    the loader's own shapes (models.model_config.expected_array_shapes)."""
    shapes = expected_array_shapes({"layout": {"group_sizes": list(layout.group_sizes)},
                                    "hyperparameters": {"n_hidden": n_hidden, "history": history,
                                                        "joint_history": joint_history}})
    return sum(math.prod(shape) for shape in shapes.values())


def largest_hidden(layout: VisibleLayout, history: int, joint_history: int, n_models: int) -> int:
    """The most hidden units n_models CRBMs of this history may have within MAX_TOTAL_PARAMETERS."""
    fixed = parameters_per_model(layout, 0, history, joint_history)
    per_hidden = parameters_per_model(layout, 1, history, joint_history) - fixed
    return (MAX_TOTAL_PARAMETERS // max(1, n_models) - fixed) // per_hidden


def _number(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


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


def sparse_dynamic_biases(rbm: ConditionalRBM, u_slots: tf.Tensor, joint_ids: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """rbm.dynamic_biases(u) from the sparse rows of models.classification.sparse_history_rows: (B, D), (B, H)."""
    width = u_slots.shape[1]
    bv = rbm.b + tf.matmul(u_slots, rbm.A[:width])
    bh = rbm.c + tf.matmul(u_slots, rbm.B[:width])
    if joint_ids.shape[1]:
        valid = tf.cast(joint_ids >= 0, tf.float32)[:, :, None]
        rows = tf.maximum(joint_ids, 0)
        bv += tf.reduce_sum(tf.gather(rbm.A, rows) * valid, axis=1)
        bh += tf.reduce_sum(tf.gather(rbm.B, rows) * valid, axis=1)
    return bv, bh


def sparse_bias_gradients(rbm: ConditionalRBM, v: tf.Tensor, u_slots: tf.Tensor, joint_ids: tf.Tensor,
                          v_negative_start: tf.Tensor, k: int, seed: tf.Tensor, method: str):
    """The learning signal of one minibatch on the sparse rows, as ascent directions of W and of the
    dynamic biases per row: (d_w, g_bv (B, D), g_bh (B, H), final negative particles, error).

    The directions of b, c and A, B follow from g_bv, g_bh (b: their sum; A: u^T g_bv), which is how
    only the joint rows a minibatch switches on get a gradient (sparse_conditioning_gradients).
    cd / pcd: rbm.cd_statistics' directions (same random draws); error = summed squared
    reconstruction error. exact: the exact log-likelihood gradient; error = summed NLL."""
    if method == "exact":
        with tf.GradientTape() as tape:
            bv, bh = sparse_dynamic_biases(rbm, u_slots, joint_ids)
            tape.watch([bv, bh])
            states_w = tf.matmul(rbm.states, rbm.W)
            neg_f_all = tf.matmul(bv, rbm.states, transpose_b=True) + tf.reduce_sum(
                tf.nn.softplus(states_w[None, :, :] + bh[:, None, :]), axis=2)
            neg_f_v = tf.reduce_sum(v * bv, axis=1) + tf.reduce_sum(tf.nn.softplus(bh + tf.matmul(v, rbm.W)), axis=1)
            total = tf.reduce_sum(neg_f_v - tf.reduce_logsumexp(neg_f_all, axis=1))
        d_w, g_bv, g_bh = tape.gradient(total, [rbm.W, bv, bh])
        return d_w, g_bv, g_bh, v_negative_start, -total
    bv, bh = sparse_dynamic_biases(rbm, u_slots, joint_ids)
    ph_pos = rbm.hidden_probabilities(v, bh)
    v_neg, ph_neg, _ = rbm.gibbs_chain(v_negative_start, bv, bh, k, seed)
    noise = tf.random.stateless_uniform(tf.shape(ph_pos), seed=seed + tf.constant([0, 3], seed.dtype))
    h_data = tf.cast(noise < ph_pos, tf.float32)
    recon = rbm.visible_probabilities(rbm.visible_logits(h_data, bv))
    recon_error = tf.reduce_sum(tf.square(v - recon))
    d_w = tf.matmul(v, ph_pos, transpose_a=True) - tf.matmul(v_neg, ph_neg, transpose_a=True)
    return d_w, v - v_neg, ph_pos - ph_neg, v_neg, recon_error


def sparse_conditioning_gradients(joint_ids: tf.Tensor, g_bv: tf.Tensor, g_bh: tf.Tensor, sentinel: int):
    """The joint rows of A and B a minibatch switches on, and their directions: (rows (R,), (R, D), (R, H)).
    ``sentinel``: a row number no joint id has (it stands for "before the start" and is dropped)."""
    n_slots = joint_ids.shape[1]
    flat = tf.reshape(tf.where(joint_ids >= 0, joint_ids, sentinel), [-1])
    rows, segment = tf.unique(flat)
    tile = lambda g: tf.reshape(tf.tile(g[:, None, :], [1, n_slots, 1]), [-1, g.shape[1]])  # noqa: E731
    g_a = tf.math.unsorted_segment_sum(tile(g_bv), segment, tf.size(rows))
    g_b = tf.math.unsorted_segment_sum(tile(g_bh), segment, tf.size(rows))
    keep = rows != sentinel
    return tf.boolean_mask(rows, keep), tf.boolean_mask(g_a, keep), tf.boolean_mask(g_b, keep)


def idle_update_powers(learning_rate: float, momentum: float, decay: float, steps: int) -> np.ndarray:
    """(steps + 1, 2, 2) float32: M^s, where M maps (weight, velocity) over one update with no gradient
    (v <- m v - lr d w; w <- w + v). A joint row of A / B is touched by few minibatches, so the fused
    loop applies its skipped updates at once, M^s, when a minibatch next touches it (and at the end of
    each call): the same weights as updating every row at every step, at a fraction of the cost."""
    one = np.array([[1.0 - learning_rate * decay, momentum], [-learning_rate * decay, momentum]])
    powers = [np.eye(2)]
    for _ in range(steps):
        powers.append(one @ powers[-1])
    return np.asarray(powers, np.float32)


#: Batches per call of the fused training loop: progress is reported between calls.
FUSED_CHUNK_BATCHES = 100


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
    fused: bool | None = None,
) -> tuple[ConditionalRBM, TrainingReport]:
    """Train one CRBM on sequences of visible rows ((T_i, D) arrays).

    checkpoint_dir: a tf.train.CheckpointManager folder (saved after every epoch); with
    resume=True training continues from its latest checkpoint (same config required).
    fused: run up to FUSED_CHUNK_BATCHES updates inside one tf.function on sparse conditioning rows
    (models.classification.sparse_history_rows; the default when the strategy has one replica: ~4x less CPU
    per epoch of the chord CRBM here, where updating every row of the 4188-row A and B at every step, and
    the dense history, were most of the time), or one strategy.run per update on dense rows (the only way
    with several replicas). Same updates up to float rounding, same random draws (tests/test_training_fused.py)."""
    config.validate()
    if config.method == "exact" and layout.kind != "softmax":
        raise InvalidModelInput("method 'exact' needs the softmax layout; allowed for binary: ['cd', 'pcd']")
    strategy = strategy or tf.distribute.get_strategy()
    started = time.perf_counter()
    if config.joint_history and layout.kind != "softmax":
        raise InvalidModelInput(f"joint_history={config.joint_history} needs the softmax layout; allowed for binary: 0")
    replicas = strategy.num_replicas_in_sync
    fused = replicas == 1 if fused is None else bool(fused)
    if fused and replicas != 1:
        raise InvalidModelInput(f"fused training runs on one replica; this strategy has {replicas}: allowed fused=False")
    if fused:
        v_all, u_slots, joint_ids = sparse_history_rows(sequences, config.history, config.joint_history, layout)
        u_all = None
    else:
        v_all, u_all = sequences_to_rows(sequences, config.history, config.joint_history, layout)
    n_rows = len(v_all)
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
    # PCD particles (one per training row); checkpointed through this variable.
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

    def apply_update(stats, n_global, lr, momentum):
        for param, vel, grad, decay, coefficient in zip(rbm.parameters, velocity, stats, decayed, decay_of):
            step = grad / n_global
            if decay:
                step = step - coefficient * param
            vel.assign(momentum * vel + lr * step)
            param.assign_add(vel)

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
        apply_update(stats, n_global, lr, momentum)
        return v_negative, error

    def distribute(array: np.ndarray):
        per = math.ceil(len(array) / replicas)

        def value_fn(ctx):
            i = ctx.replica_id_in_sync_group
            return tf.constant(array[i * per:(i + 1) * per])

        return strategy.experimental_distribute_values_from_function(value_fn)

    if fused:
        v_tf, slots_tf, joint_tf = tf.constant(v_all), tf.constant(u_slots), tf.constant(joint_ids)
        width = u_slots.shape[1]  # the dense rows of A and B (history slots); the rest are joint rows
        joint_decay = config.weight_decay if config.joint_weight_decay is None else config.joint_weight_decay
        lazy = rbm.n_conditioning > width
        last_touch = tf.Variable(tf.zeros([max(1, rbm.n_conditioning - width)], tf.int64), name="last_touch")
        vel_w, vel_b, vel_c, vel_a, vel_bb = velocity

        def step_dense(param, vel, grad, n_global, lr, momentum, decay):
            update = grad / n_global
            if decay is not None:
                update = update - decay * param
            new_vel = momentum * vel + lr * update
            return param + new_vel, new_vel

        def catch_up(param_rows, vel_rows, skipped, powers):
            m = tf.gather(powers, skipped)[:, :, :, None]  # (R, 2, 2, 1)
            return m[:, 0, 0] * param_rows + m[:, 0, 1] * vel_rows, m[:, 1, 0] * param_rows + m[:, 1, 1] * vel_rows

        # the exact gradient's (batch, S, H) softplus and its derivative, fused by XLA (~2x faster here)
        exact_gradients = tf.function(lambda v, slots, joint: sparse_bias_gradients(rbm, v, slots, joint, v, k, None, "exact"),
                                      jit_compile=True)

        scalar = tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.float32)
        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int64), scalar[0], scalar[0], scalar[1], scalar[1],
                                      tf.TensorSpec([None, 2, 2], tf.float32)])
        def train_chunk(batches, first_batch, epoch_seed, lr, momentum, powers):
            """Updates for the rows of each line of ``batches`` ((n, batch) row indices), in order."""
            error = tf.constant(0.0)
            n_global = tf.cast(tf.shape(batches)[1], tf.float32)
            last_touch.assign(tf.zeros_like(last_touch))
            n_steps = tf.shape(batches, out_type=tf.int64)[0]
            for i in tf.range(n_steps):
                idx = batches[i]
                v = tf.gather(v_tf, idx)
                slots, joint = tf.gather(slots_tf, idx), tf.gather(joint_tf, idx)
                seed = tf.stack([epoch_seed, first_batch + i])  # the dense loop's per-update seed (replica 0)
                start = tf.gather(particles_var, idx) if method == "pcd" else v
                if method == "exact":
                    d_w, g_bv, g_bh, v_neg, batch_error = exact_gradients(v, slots, joint)
                else:
                    d_w, g_bv, g_bh, v_neg, batch_error = sparse_bias_gradients(rbm, v, slots, joint, start, k, seed, method)
                if method == "pcd":
                    particles_var.scatter_nd_update(idx[:, None], v_neg)
                dense = ((rbm.W, vel_w, d_w, decay_of[0]), (rbm.b, vel_b, tf.reduce_sum(g_bv, 0), None),
                         (rbm.c, vel_c, tf.reduce_sum(g_bh, 0), None))
                for param, vel, grad, decay in dense:
                    new_param, new_vel = step_dense(param, vel, grad, n_global, lr, momentum, decay)
                    vel.assign(new_vel)
                    param.assign(new_param)
                for param, vel, grad in ((rbm.A, vel_a, g_bv), (rbm.B, vel_bb, g_bh)):
                    new_param, new_vel = step_dense(param[:width], vel[:width], tf.matmul(slots, grad, transpose_a=True),
                                                    n_global, lr, momentum, config.weight_decay)
                    vel[:width].assign(new_vel)
                    param[:width].assign(new_param)
                if lazy:
                    rows, g_a, g_b = sparse_conditioning_gradients(joint, g_bv, g_bh, rbm.n_conditioning)
                    skipped = i - tf.gather(last_touch, rows - width)
                    for param, vel, grad in ((rbm.A, vel_a, g_a), (rbm.B, vel_bb, g_b)):
                        param_rows, vel_rows = catch_up(tf.gather(param, rows), tf.gather(vel, rows), skipped, powers)
                        new_param, new_vel = step_dense(param_rows, vel_rows, grad, n_global, lr, momentum, joint_decay)
                        vel.scatter_nd_update(rows[:, None], new_vel)
                        param.scatter_nd_update(rows[:, None], new_param)
                    last_touch.scatter_nd_update((rows - width)[:, None], tf.fill(tf.shape(rows), i + 1))
                error += batch_error
            if lazy:  # every joint row to the end of the chunk
                skipped = n_steps - last_touch
                for param, vel in ((rbm.A, vel_a), (rbm.B, vel_bb)):
                    param_rows, vel_rows = catch_up(param[width:], vel[width:], skipped, powers)
                    vel[width:].assign(vel_rows)
                    param[width:].assign(param_rows)
            return error

    start_epoch = int(epoch_done.numpy())
    n_batches = math.ceil(n_rows / config.batch_size)
    last_error = float("nan")
    name = "nll" if method == "exact" else "recon"
    for epoch in range(start_epoch, config.epochs):
        rng = np.random.default_rng([config.seed, epoch])
        order = rng.permutation(n_rows)
        lr = config.learning_rate * (1.0 - 0.9 * epoch / max(1, config.epochs))
        momentum = config.momentum_initial if epoch < config.momentum_switch_epoch else config.momentum_final
        error_sum = 0.0
        if fused:
            full = n_rows // config.batch_size
            whole = order[:full * config.batch_size].reshape(full, config.batch_size).astype(np.int64)
            chunks = [(whole[i:i + FUSED_CHUNK_BATCHES], i) for i in range(0, full, FUSED_CHUNK_BATCHES)]
            if full * config.batch_size < n_rows:  # the last, shorter batch
                chunks.append((order[full * config.batch_size:][None, :].astype(np.int64), full))
            epoch_seed = tf.constant(config.seed * 100003 + epoch, tf.int64)
            powers = tf.constant(idle_update_powers(lr, momentum, joint_decay, FUSED_CHUNK_BATCHES))
            for batches, first in chunks:
                error_sum += float(train_chunk(tf.constant(batches), tf.constant(first, tf.int64), epoch_seed,
                                               tf.constant(lr, tf.float32), tf.constant(momentum, tf.float32), powers))
                if progress is not None:
                    done = first + len(batches)
                    progress(f"{label} epoch {epoch + 1}/{config.epochs} {name} "
                             f"{error_sum / min(done * config.batch_size, n_rows):.4f}",
                             (epoch + done / n_batches) / config.epochs)
        else:
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
                    progress(f"{label} epoch {epoch + 1}/{config.epochs} {name} {error_sum / min(seen, n_rows):.4f}",
                             (epoch + (batch + 1) / n_batches) / config.epochs)
        last_error = error_sum / n_rows
        epoch_done.assign(epoch + 1)
        if manager is not None:
            if not fused:
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
    pretrained: Mapping[str, np.ndarray] | None = None,
) -> dict[str, ClassModel]:
    """One chord CRBM + performance profile + rhythm + mode share per label.

    clips_by_label: label -> clips (objects with .events, .mode, .performance; e.g.
    models.dataset.Clip). Labels come from the data; any number >= 1 works. pretrained: the pooled
    CRBM's weights when the caller has them (trained on these clips' pool), instead of pretraining here."""
    if not clips_by_label:
        raise InvalidModelInput("no labelled clips; allowed: at least one label with clips")
    labels = sorted(clips_by_label)
    config.validate(n_models=len(labels))
    models: dict[str, ClassModel] = {}
    stages = len(labels) + (1 if config.pretrain_epochs and pretrained is None else 0)
    pooled_weights = None if pretrained is None else dict(pretrained)
    if config.pretrain_epochs and pretrained is None:
        pooled = [c for label in labels for c in clips_by_label[label] if len(c.events) > 0]
        pooled_rbm, _ = train_crbm(
            clip_sequences(pooled), CHORD_LAYOUT, replace(config, epochs=config.pretrain_epochs, method=config.pretrain_method),
            strategy=strategy,
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
#: scratch on POP909 songs 001-700. CD-1, 40 epochs: 3.603 bits/chord alone on 701-800 (10 epochs: 3.815),
#: ~60-75 s of CPU with the fused loop (10 epochs took 48 s before it). The exact gradient
#: (bench/pop909_next_chord.py --crbm-method exact) did not finish 4 epochs in 11 minutes on the
#: loaded 2-core machine: every step scores all 2016 states of every row.
POP_EXPERT_EPOCHS = 40
POP_EXPERT_METHOD = "cd"
#: Other TrainingConfig fields of the pop expert, over the class CRBMs' (bench/pop_expert_sweep.py, chosen on
#: POP909 701-800): POP909's 85k chords need far less L2 on the joint-state rows than EMOPIA's 15k
#: (0.0003 vs 0.003: 3.603 vs 3.645 bits alone, 3.627 vs 3.666 in the mixture with the class CRBMs).
POP_EXPERT_SETTINGS: dict = {"joint_weight_decay": 0.0003}


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
                     method: str = POP_EXPERT_METHOD, settings: Mapping | None = None,
                     strategy: tf.distribute.Strategy | None = None, progress: Progress | None = None) -> PopExpert:
    """The pop expert (a chord CRBM of ``config``'s shape, no pooled start) on the songs' continuous
    segments (models.pop909.Pop909Song), and the harmonic rhythm fitted on the same songs."""
    from models.harmonic_rhythm import fit_harmonic_rhythm

    if not songs:
        raise InvalidModelInput("no POP909 songs to learn from; allowed: at least one readable song")
    started = time.perf_counter()
    rhythm = fit_harmonic_rhythm(songs)
    rhythm_seconds = time.perf_counter() - started
    sequences = [chord_visible(events) for song in songs for events, _ in song.segments() if len(events) > 0]
    settings = dict(POP_EXPERT_SETTINGS if settings is None else settings)
    shape = {"n_hidden", "history", "joint_history"} & set(settings)
    if shape:  # generation stacks the pop expert with the class CRBMs: one shape
        raise InvalidModelInput(f"pop expert settings {sorted(shape)} not allowed; allowed: the class CRBMs' shape")
    pop_config = replace(config, **settings, epochs=int(epochs), method=method, pretrain_epochs=0).validate()
    rbm, report = train_crbm(sequences, CHORD_LAYOUT, pop_config, strategy=strategy, progress=progress, label="pop")
    return PopExpert(rbm.get_weights(), report, rhythm, len(songs), int(sum(len(s) for s in sequences)), rhythm_seconds)


# --------------------------------------------------------------------------------------------
# The classifier's harmony weight, by cross-validation
def cross_validated_scores(clips_by_label: Mapping[str, Sequence], config: TrainingConfig, *, folds: int = 3,
                           strategy=None, progress: Progress | None = None, beats_per_bar: int = 4,
                           class_info: Mapping | None = None) -> tuple[ClipScores, list]:
    """Song-grouped k-fold cross-validation of the class models on the training clips (song_folds,
    seed config.seed): the out-of-fold scores of every clip (pooled fold by fold) and each fold's
    in-memory ModelSet (trained on the other folds)."""
    all_clips = [c for label in sorted(clips_by_label) for c in clips_by_label[label] if c.events]
    fold_of = song_folds(all_clips, folds, config.seed)
    harmony, perf, truth, n_chords, fold_sets = [], [], [], [], []
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
        fold_sets.append(fold_set)
        scores = score_clips(fold_set, held)
        names = scores.class_names
        harmony.append(scores.harmony), perf.append(scores.performance), truth.append(scores.truth)
        n_chords.append(scores.n_chords)
    pooled = ClipScores(names, np.concatenate(harmony), np.concatenate(perf), np.concatenate(truth),
                        np.concatenate(n_chords))
    return pooled, fold_sets


def choose_harmony_weight(clips_by_label: Mapping[str, Sequence], config: TrainingConfig, *, folds: int = 3,
                          strategy=None, progress: Progress | None = None, beats_per_bar: int = 4,
                          class_info: Mapping | None = None) -> tuple[float, dict, ClipScores]:
    """Harmony-vs-performance weight by song-grouped k-fold cross-validation on the training clips
    (cross_validated_scores).

    Returns (weight, {weight: cv accuracy}, the pooled out-of-fold scores, for further choices such
    as models.classification.choose_valence_bias)."""
    pooled, _ = cross_validated_scores(clips_by_label, config, folds=folds, strategy=strategy, progress=progress,
                                       beats_per_bar=beats_per_bar, class_info=class_info)
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
