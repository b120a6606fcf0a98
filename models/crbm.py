"""A conditional restricted Boltzmann machine (Taylor & Hinton style) in TensorFlow 2.

The model of one time step given the previous ``history`` steps:

    E(v, h | u) = - v.(b + u A) - h.(c + u B) - v W h

``v`` is the current step's visible vector, ``h`` the binary hidden units and ``u`` the
concatenated history (``history`` slots of ``n_visible + 1`` units: the step's visible vector and
a "before the start" flag, so that the first steps of a sequence are modelled too), then, for
the softmax layout, the one-hot of the *joint* state of the ``joint_history`` most recent steps
(S units each: per-group slots shift the next step's biases additively, group by group, while a
joint one-hot gives every previous state its own bias vectors, as a bigram table does). ``A`` and
``B`` are the autoregressive (directed) weights from the history into the visible and hidden
biases. Free energy: F(v | u) = -v.(b + u A) - sum_j softplus(c_j + (u B)_j + (v W)_j).

Two visible layouts share this class:

* ``VisibleLayout.softmax((12, Q, 12))`` - chord events as one-hot groups (root relative to the
  key, quality, bass interval above the root). Every visible state can be enumerated
  (12 * Q * 12 states), so ``log_prob_all_states`` gives the *exact* conditional distribution
  (negative free energies normalised over all states) and sampling is exact, with no Gibbs
  mixing error. ``state_matrix`` is the (S x D) matrix of all states.
* ``VisibleLayout.binary(88)`` - plain binary frames (e.g. piano keys): block Gibbs sampling
  (``gibbs``) and the free energy; the likelihood is not tractable.

API for other engineers (evaluation, generation):
    rbm = ConditionalRBM(layout, n_hidden=64, history=4)
    u = rbm.history_matrix(visible_rows)        # (T, U) conditioning rows of one sequence (numpy)
    ConditionalRBM(layout, 32, history=4, joint_history=1)  # + the joint one-hot of the previous state
    rbm.free_energy(v, u)                       # (B,) float32
    rbm.log_prob_all_states(u)                  # (B, S) exact log p(s | u), softmax layout only
    rbm.log_likelihood(v, u)                    # (B,) exact log p(v | u), softmax layout only
    rbm.pseudo_log_likelihood(v, u)             # (B,) binary layout: sum_i log p(v_i | v_-i, u)
    rbm.gibbs(v0, u, steps, seed)               # (B, D) sample after `steps` Gibbs sweeps
    rbm.sample_next(u, seed, steps)             # exact (softmax) or Gibbs (binary) next step
    rbm.get_weights() / ConditionalRBM.from_weights(layout, dict)   # numpy round trip
    models.training.train_crbm(sequences, layout, TrainingConfig(...), strategy=...)  # CD-k / PCD / exact
    StackedExperts(layout, [weights, ...])      # several chord CRBMs for mixed sampling / scoring
All tensors are float32; hot paths are ``tf.function``s with fixed ranks. For binary frames
(e.g. JSB, ``VisibleLayout.binary(88)``) call ``train_crbm`` directly and set ``epochs`` (the
default 5 is the class models' fine-tuning after pooled pretraining; ``pretrain_epochs`` is used
only by ``train_class_models``) and ``k`` (CD-k); sample with ``sample_next(u, seed, steps=50+)``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from models.errors import InvalidModelInput
from models.tf_runtime import tf

# The layout and conditioning helpers are numpy only (models.crbm_layout): re-exported here, so
# `from models.crbm import ...` keeps working; code that must not load TensorFlow imports them there.
from models.crbm_layout import (CHORD_LAYOUT, PARAMETER_NAMES, VisibleLayout, chord_visible,  # noqa: F401
                                conditioning_matrix, conditioning_width, history_matrix, infer_history,
                                state_matrix, states_to_visible, visible_to_states)


class ConditionalRBM(tf.Module):
    """A conditional RBM with binary hidden units; see the module docstring for the API."""

    def __init__(self, layout: VisibleLayout, n_hidden: int, history: int, seed: int = 0,
                 weights: Mapping[str, np.ndarray] | None = None, name: str | None = None, joint_history: int = 0,
                 extra_conditioning: int = 0):
        super().__init__(name=name)
        if n_hidden < 1 or history < 0 or joint_history < 0 or extra_conditioning < 0:
            raise InvalidModelInput(f"n_hidden={n_hidden}, history={history}, joint_history={joint_history}, "
                                    f"extra_conditioning={extra_conditioning}; allowed: n_hidden >= 1, history >= 0, "
                                    "joint_history >= 0, extra_conditioning >= 0")
        if joint_history and layout.kind != "softmax":
            raise InvalidModelInput(f"joint_history={joint_history} needs a softmax layout; allowed for binary: 0")
        self.layout = layout
        self.n_hidden = int(n_hidden)
        self.history = int(history)
        self.joint_history = int(joint_history)
        self.n_visible = layout.n_visible
        # extra_conditioning: more inputs after the history slots (e.g. a recurrent memory, research.recurrent)
        self.extra_conditioning = int(extra_conditioning)
        self.n_conditioning = conditioning_width(layout, self.history, self.joint_history) + self.extra_conditioning
        d, h, u = self.n_visible, self.n_hidden, self.n_conditioning
        if weights is None:
            rng = np.random.default_rng(seed)
            weights = {
                "W": rng.normal(0.0, 0.01, (d, h)), "b": np.zeros(d), "c": np.zeros(h),
                "A": rng.normal(0.0, 0.001, (u, d)), "B": rng.normal(0.0, 0.001, (u, h)),
            }
        shapes = {"W": (d, h), "b": (d,), "c": (h,), "A": (u, d), "B": (u, h)}
        for key, shape in shapes.items():
            value = np.asarray(weights[key], np.float32)
            if value.shape != shape:
                raise InvalidModelInput(f"weight {key} has shape {value.shape}; expected {shape}")
        self.W = tf.Variable(np.asarray(weights["W"], np.float32), name="W")
        self.b = tf.Variable(np.asarray(weights["b"], np.float32), name="b")
        self.c = tf.Variable(np.asarray(weights["c"], np.float32), name="c")
        self.A = tf.Variable(np.asarray(weights["A"], np.float32), name="A")
        self.B = tf.Variable(np.asarray(weights["B"], np.float32), name="B")
        offsets = np.cumsum((0,) + layout.group_sizes)
        self._group_bounds = tuple((int(offsets[i]), int(offsets[i + 1])) for i in range(len(layout.group_sizes)))
        self._states = tf.constant(state_matrix(layout)) if layout.kind == "softmax" else None

    # -- parameters ---------------------------------------------------------------------------
    @property
    def parameters(self) -> tuple[tf.Variable, ...]:
        """The trainable variables in PARAMETER_NAMES order."""
        return (self.W, self.b, self.c, self.A, self.B)

    def get_weights(self) -> dict[str, np.ndarray]:
        return {name: var.numpy() for name, var in zip(PARAMETER_NAMES, self.parameters)}

    def set_weights(self, weights: Mapping[str, np.ndarray]) -> None:
        for name, var in zip(PARAMETER_NAMES, self.parameters):
            var.assign(np.asarray(weights[name], np.float32))

    @classmethod
    def from_weights(cls, layout: VisibleLayout, weights: Mapping[str, np.ndarray]) -> "ConditionalRBM":
        w = np.asarray(weights["W"])
        history, joint_history = infer_history(layout, np.asarray(weights["A"]).shape[0])
        return cls(layout, n_hidden=w.shape[1], history=history, weights=weights, joint_history=joint_history)

    def history_matrix(self, visible: np.ndarray) -> np.ndarray:
        """The conditioning rows u of one sequence (per-group slots + joint one-hots)."""
        return conditioning_matrix(visible, self.history, self.joint_history, self.layout)

    @property
    def states(self) -> tf.Tensor:
        """(S, D) all visible states (softmax layout only)."""
        if self._states is None:
            raise InvalidModelInput("binary layout has no enumerable states; allowed: softmax layout")
        return self._states

    # -- energies -----------------------------------------------------------------------------
    def dynamic_biases(self, u: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        """Visible and hidden biases given the history: (B, D), (B, H)."""
        return self.b + tf.matmul(u, self.A), self.c + tf.matmul(u, self.B)

    @tf.function(reduce_retracing=True)
    def free_energy(self, v: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
        """F(v | u), shape (B,)."""
        return self._free_energy(v, u)

    def _free_energy(self, v: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
        bv, bh = self.dynamic_biases(u)
        return -tf.reduce_sum(v * bv, axis=1) - tf.reduce_sum(tf.nn.softplus(bh + tf.matmul(v, self.W)), axis=1)

    def _negative_free_energy_all(self, u: tf.Tensor) -> tf.Tensor:
        """-F(s | u) for every state s: (B, S). Costs one (B x S x H) softplus."""
        bv, bh = self.dynamic_biases(u)
        states_w = tf.matmul(self.states, self.W)  # (S, H)
        visible_term = tf.matmul(bv, self.states, transpose_b=True)  # (B, S)
        hidden_term = tf.reduce_sum(tf.nn.softplus(states_w[None, :, :] + bh[:, None, :]), axis=2)
        return visible_term + hidden_term

    def log_prob_all_states(self, u: tf.Tensor) -> tf.Tensor:
        """Exact log p(s | u) over all S states, (B, S) (softmax layout)."""
        self._require_enumerable()
        return self._log_prob_all_states(tf.convert_to_tensor(u, tf.float32))

    @tf.function(reduce_retracing=True)
    def _log_prob_all_states(self, u: tf.Tensor) -> tf.Tensor:
        return tf.nn.log_softmax(self._negative_free_energy_all(u), axis=1)

    def _require_enumerable(self) -> None:
        if self._states is None:
            raise InvalidModelInput("binary layout has no enumerable states; allowed: softmax layout")

    def log_likelihood(self, v: tf.Tensor, u: tf.Tensor, chunk: int = 128) -> tf.Tensor:
        """Exact log p(v | u) for one-hot rows v, (B,) (softmax layout); chunked to bound memory."""
        self._require_enumerable()
        v = tf.convert_to_tensor(v, tf.float32)
        u = tf.convert_to_tensor(u, tf.float32)
        parts = []
        for start in range(0, int(v.shape[0]), chunk):
            parts.append(self._log_likelihood_chunk(v[start:start + chunk], u[start:start + chunk]))
        return tf.concat(parts, axis=0) if parts else tf.zeros((0,), tf.float32)

    @tf.function(reduce_retracing=True)
    def _log_likelihood_chunk(self, v: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
        neg_f = self._negative_free_energy_all(u)
        neg_f_v = -self._free_energy(v, u)
        return neg_f_v - tf.reduce_logsumexp(neg_f, axis=1)

    def pseudo_log_likelihood(self, v: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
        """Pseudo-log-likelihood sum_i log p(v_i | v_-i, u) per row, (B,) (binary layout; for the
        softmax layout use the exact log_likelihood). Costs D free-energy evaluations."""
        if self.layout.kind != "binary":
            raise InvalidModelInput("pseudo_log_likelihood is for the binary layout; use log_likelihood for softmax groups")
        return self._pseudo_log_likelihood(tf.convert_to_tensor(v, tf.float32), tf.convert_to_tensor(u, tf.float32))

    @tf.function(reduce_retracing=True)
    def _pseudo_log_likelihood(self, v: tf.Tensor, u: tf.Tensor) -> tf.Tensor:
        bv, bh = self.dynamic_biases(u)
        hidden_in = bh + tf.matmul(v, self.W)  # (B, H)
        base = tf.reduce_sum(v * bv, axis=1) + tf.reduce_sum(tf.nn.softplus(hidden_in), axis=1)  # -F(v)
        sign = 1.0 - 2.0 * v  # flipping bit i adds sign_i to v_i
        flipped_hidden = hidden_in[:, None, :] + sign[:, :, None] * self.W[None, :, :]  # (B, D, H)
        flipped = base[:, None] + sign * bv + tf.reduce_sum(tf.nn.softplus(flipped_hidden), axis=2) \
            - tf.reduce_sum(tf.nn.softplus(hidden_in), axis=1)[:, None]  # -F(v with bit i flipped)
        return tf.reduce_sum(tf.math.log_sigmoid(base[:, None] - flipped), axis=1)

    # -- sampling -----------------------------------------------------------------------------
    def hidden_probabilities(self, v: tf.Tensor, bh: tf.Tensor) -> tf.Tensor:
        return tf.sigmoid(bh + tf.matmul(v, self.W))

    def visible_logits(self, h: tf.Tensor, bv: tf.Tensor) -> tf.Tensor:
        return bv + tf.matmul(h, self.W, transpose_b=True)

    def visible_probabilities(self, logits: tf.Tensor) -> tf.Tensor:
        """Mean-field visible probabilities (per-group softmax, or sigmoid)."""
        if self.layout.kind == "binary":
            return tf.sigmoid(logits)
        return tf.concat([tf.nn.softmax(logits[:, lo:hi], axis=1) for lo, hi in self._group_bounds], axis=1)

    def sample_visible(self, logits: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        """One sample of v given its logits (one-hot per group, or Bernoulli bits)."""
        if self.layout.kind == "binary":
            noise = tf.random.stateless_uniform(tf.shape(logits), seed=seed)
            return tf.cast(noise < tf.sigmoid(logits), tf.float32)
        parts = []
        for g, (lo, hi) in enumerate(self._group_bounds):
            group_seed = seed + tf.constant([0, 7919 * (g + 1)], seed.dtype)
            draw = tf.random.stateless_categorical(logits[:, lo:hi], 1, seed=group_seed)[:, 0]
            parts.append(tf.one_hot(draw, hi - lo, dtype=tf.float32))
        return tf.concat(parts, axis=1)

    def gibbs_chain(self, v0: tf.Tensor, bv: tf.Tensor, bh: tf.Tensor, steps: int, seed: tf.Tensor,
                    hidden_mask: tf.Tensor | None = None):
        """Run `steps` block-Gibbs sweeps from v0 with fixed dynamic biases. ``hidden_mask`` (B, H)
        of 0/1: hidden units at 0 are dropped (held off) in every sweep (dropout training).

        Returns (v_k, ph_k, first reconstruction probabilities)."""
        v = v0
        first_recon = None
        for step in range(steps):
            step_seed = seed + tf.constant([0, 104729 * (step + 1)], seed.dtype)
            ph = self._masked_hidden_probabilities(v, bh, hidden_mask)
            noise = tf.random.stateless_uniform(tf.shape(ph), seed=step_seed)
            h = tf.cast(noise < ph, tf.float32)
            logits = self.visible_logits(h, bv)
            if first_recon is None:
                first_recon = self.visible_probabilities(logits)
            v = self.sample_visible(logits, step_seed + tf.constant([0, 1], seed.dtype))
        return v, self._masked_hidden_probabilities(v, bh, hidden_mask), first_recon

    def _masked_hidden_probabilities(self, v: tf.Tensor, bh: tf.Tensor, hidden_mask: tf.Tensor | None) -> tf.Tensor:
        ph = self.hidden_probabilities(v, bh)
        return ph if hidden_mask is None else ph * hidden_mask

    @tf.function(reduce_retracing=True)
    def gibbs(self, v0: tf.Tensor, u: tf.Tensor, steps: int, seed: tf.Tensor) -> tf.Tensor:
        """A sample after `steps` Gibbs sweeps (use >= 20-50 to mix for binary frames)."""
        bv, bh = self.dynamic_biases(u)
        v, _, _ = self.gibbs_chain(v0, bv, bh, steps, seed)
        return v

    def sample_next(self, u: np.ndarray, seed: int, steps: int = 50, temperature: float = 1.0) -> np.ndarray:
        """Sample the next visible rows given histories u: (B, D) float32 numpy.

        softmax layout: exact (enumeration, tempered by `temperature`); binary: Gibbs from the
        mean-field visible biases with `steps` sweeps."""
        u = tf.convert_to_tensor(u, tf.float32)
        seed_t = tf.constant([int(seed), 0], tf.int64)
        if self.layout.kind == "softmax":
            logits = self._negative_free_energy_all(u) / float(temperature)
            draw = tf.random.stateless_categorical(logits, 1, seed=seed_t)[:, 0]
            return tf.gather(self.states, draw).numpy()
        bv, _ = self.dynamic_biases(u)
        v0 = tf.cast(tf.sigmoid(bv) > 0.5, tf.float32)
        return self.gibbs(v0, u, steps, seed_t).numpy()

    # -- learning signals (used by models.training) --------------------------------------------
    def cd_statistics(self, v: tf.Tensor, u: tf.Tensor, v_negative_start: tf.Tensor, k: int,
                      seed: tf.Tensor, hidden_keep: float = 1.0) -> tuple[list[tf.Tensor], tf.Tensor, tf.Tensor]:
        """Contrastive-divergence ascent directions summed over the batch.

        The negative chain starts at `v_negative_start` (= v for CD-k, the persistent particles
        for PCD). ``hidden_keep`` < 1: dropout (Srivastava et al. 2014, dropout RBMs): each row keeps
        each hidden unit with this probability, the same units in its positive and negative phase.
        Returns (directions in PARAMETER_NAMES order, final negative particles, summed squared
        reconstruction error of the first mean-field reconstruction)."""
        bv, bh = self.dynamic_biases(u)
        mask = None
        if hidden_keep < 1.0:
            noise = tf.random.stateless_uniform(tf.shape(bh), seed=seed + tf.constant([0, 11], seed.dtype))
            mask = tf.cast(noise < hidden_keep, tf.float32)
        ph_pos = self._masked_hidden_probabilities(v, bh, mask)
        v_neg, ph_neg, _ = self.gibbs_chain(v_negative_start, bv, bh, k, seed, hidden_mask=mask)
        # Reconstruction error of the data (not of PCD particles): one up-down pass.
        noise = tf.random.stateless_uniform(tf.shape(ph_pos), seed=seed + tf.constant([0, 3], seed.dtype))
        h_data = tf.cast(noise < ph_pos, tf.float32)
        recon = self.visible_probabilities(self.visible_logits(h_data, bv))
        recon_error = tf.reduce_sum(tf.square(v - recon))
        dv = v - v_neg
        dh = ph_pos - ph_neg
        d_w = tf.matmul(v, ph_pos, transpose_a=True) - tf.matmul(v_neg, ph_neg, transpose_a=True)
        d_b = tf.reduce_sum(dv, axis=0)
        d_c = tf.reduce_sum(dh, axis=0)
        d_a = tf.matmul(u, dv, transpose_a=True)
        d_bb = tf.matmul(u, dh, transpose_a=True)
        return [d_w, d_b, d_c, d_a, d_bb], v_neg, recon_error

    def exact_statistics(self, v: tf.Tensor, u: tf.Tensor) -> tuple[list[tf.Tensor], tf.Tensor]:
        """Exact log-likelihood gradient (softmax layout), summed over the batch; and the summed NLL."""
        with tf.GradientTape() as tape:
            neg_f = self._negative_free_energy_all(u)
            log_z = tf.reduce_logsumexp(neg_f, axis=1)
            log_p = -self._free_energy(v, u) - log_z
            total = tf.reduce_sum(log_p)
        grads = tape.gradient(total, list(self.parameters))
        return grads, -total


class StackedExperts:
    """Several softmax-layout CRBMs of the same shape stacked into constant tensors, for fast
    exact mixed sampling and per-class scoring (used by models.generation and models.classification).

    ``logits(u, weights, temperature)``: (N, S) logits of the weighted product of the experts,
    sum_k w_k * (-F_k(s | u)) / temperature; experts with weight 0 are skipped (weights may be negative).
    ``class_log_probs(u)``: (N, K, S) exact log p_k(s | u) of every expert.
    Both are tf.functions with fixed ranks (traced once per number of active classes) and run on
    the GPU where there is one.

    How ``logits`` is fast (issue 15, "Speed"; bench/crbm.py): the conditioning u of a chord history is
    one-hot (at most history * groups + joint_history ones among its thousands of units), so the dynamic
    biases u A and u B are sums of the few rows of A and B that u selects, gathered in numpy (a dense matmul
    reads all 8 MB of A and B per call; the gather of 14 rows is a tiny per-step op that costs less in numpy
    than a TensorFlow gather, and gives the same bits); the visible and hidden terms run in one
    XLA-compiled TensorFlow call. The hidden term sum_h softplus(x_sh + bh_h), which dominates, is computed as
    sum over chunks of log prod_{h in chunk} (1 + e^{x_sh} e^{bh_h}) with e^{x_sh} precomputed: one
    logarithm per ``chunk`` hidden units instead of an exp and a log1p per unit. The same sums up to
    float32 rounding (tests/test_crbm.py). ``chunk`` is the largest of 8, 4, 2, 1 for which no product can
    pass e^PRODUCT_LIMIT, by a bound on x_sh + bh_h over every history vector (the shipped experts: x + bh
    <= 12.7, chunk 4); a row that overflows anyway (a u that is no history vector) is recomputed with the
    plain softplus, row by row, so a row never depends on its batch."""

    #: float32 overflows past e^88.7; products are kept below e^PRODUCT_LIMIT
    PRODUCT_LIMIT = 80.0

    def __init__(self, layout: VisibleLayout, weights: list[Mapping[str, np.ndarray]], xla: bool = True):
        if layout.kind != "softmax":
            raise InvalidModelInput(f"layout kind {layout.kind!r} cannot be stacked; allowed: 'softmax'")
        states = state_matrix(layout)
        self.layout = layout
        self.states_np = states
        self.n_states, self.n_visible = states.shape
        self.history, self.joint_history = infer_history(layout, np.asarray(weights[0]["A"]).shape[0])
        stack = lambda key: np.stack([np.asarray(w[key], np.float32) for w in weights])  # noqa: E731
        # Precomputed per class: the hidden input of every state (K, S, H), and its exponential.
        states_w = np.einsum("sd,kdh->ksh", states, stack("W")).astype(np.float32)
        self.states_w = tf.constant(states_w)
        self.states_w_exp = tf.exp(self.states_w)
        self.b, self.c, self.A, self.B = (tf.constant(stack(k)) for k in ("b", "c", "A", "B"))
        self.n_hidden = int(states_w.shape[2])
        # the most ones a history vector has: every group of every history slot, and the joint one-hots
        self.max_active = self.history * len(layout.group_sizes) + self.joint_history
        bound = self._hidden_input_bound(states_w, stack("c"), stack("B"))
        self.chunk = next(size for size in (8, 4, 2, 1)
                          if self.n_hidden % size == 0 and (size == 1 or size * bound <= self.PRODUCT_LIMIT))
        self.states = tf.constant(states)
        self._subsets: dict[tuple[int, ...], tuple] = {}
        spec = tf.TensorSpec
        signature = [spec([None, None], tf.float32), spec([None, self.n_states, None], tf.float32),
                     spec([None, self.n_visible], tf.float32), spec([None, None], tf.float32),
                     spec([None, None, self.n_visible], tf.float32), spec([None, None, None], tf.float32)]
        # xla: XLA fuses the (N, K, S, H) hidden term and its sum, which dominate a generation step (bench/crbm.py
        # times both side by side), for one compile per number of active classes and batch shape (~0.25 s;
        # assistant.pipeline's warm-up does it for all classes)
        biases = [spec([None, None, self.n_visible], tf.float32), spec([None, None, self.n_hidden], tf.float32),
                  spec([None], tf.float32), spec([None, self.n_states, self.n_hidden], tf.float32)]
        self._mixed = tf.function(self._sparse_mixed_logits, input_signature=biases, jit_compile=xla)
        # numpy views of the stacked constants (no copies on the CPU) for the gather of the dynamic biases
        self._b_np, self._c_np, self._A_np, self._B_np = (t.numpy() for t in (self.b, self.c, self.A, self.B))
        self._mixed_plain = tf.function(self._mixed_logits, input_signature=[signature[0], spec([None], tf.float32),
                                                                             *signature[1:]], jit_compile=xla)
        self._per_class = tf.function(self._class_log_probs, input_signature=signature)
        self._mixed_concrete = self._mixed_plain_concrete = self._per_class_concrete = None
        # False: every row by the plain formula (dense u, a softplus per hidden unit): the path before the
        # sparse one, kept for the benches' side-by-side timing and as the overflow fallback
        self.sparse_logits = True
        self._mixtures: dict[tuple, tuple] = {}
        self._flat_call = None

    def _hidden_input_bound(self, states_w: np.ndarray, c: np.ndarray, B: np.ndarray) -> float:
        """An upper bound of x_sh + bh_h over experts, states, hidden units and every history vector: per
        history slot the larger of its start flag and the sum of each group's largest weight, per joint slot
        the largest weight or 0 (nothing before the start)."""
        d, groups = self.n_visible, self.layout.group_sizes
        offsets = np.cumsum((0,) + groups)
        bound = np.asarray(c, np.float64) + states_w.max(axis=1)  # (K, H)
        B = np.asarray(B, np.float64)
        for j in range(self.history):
            start = j * (d + 1)
            slot = sum(B[:, start + offsets[g]:start + offsets[g + 1]].max(axis=1) for g in range(len(groups)))
            bound += np.maximum(slot, B[:, start + d])
        for j in range(self.joint_history):
            start = self.history * (d + 1) + j * self.n_states
            bound += np.maximum(B[:, start:start + self.n_states].max(axis=1), 0.0)
        return float(bound.max())

    def _negative_free_energies(self, u, states_w, b, c, A, B):
        bv = b[None] + tf.einsum("nu,kud->nkd", u, A)  # (N, K, D)
        bh = c[None] + tf.einsum("nu,kuh->nkh", u, B)  # (N, K, H)
        visible = tf.einsum("nkd,sd->nks", bv, self.states)
        hidden = tf.reduce_sum(tf.nn.softplus(states_w[None] + bh[:, :, None, :]), axis=3)
        return visible + hidden  # (N, K, S)

    def _mixed_logits(self, u, weights, states_w, b, c, A, B):
        """The plain formula (dense u, softplus per hidden unit): the fallback for rows that overflow."""
        return tf.einsum("nks,k->ns", self._negative_free_energies(u, states_w, b, c, A, B), weights)

    def _sparse_mixed_logits(self, bv, bh, weights, states_w_exp):
        """_mixed_logits from the dynamic biases bv (N, K, D), bh (N, K, H) and e^{states_w} (K, S, H)."""
        visible = tf.einsum("nkd,sd->nks", bv, self.states)
        factors = 1.0 + states_w_exp[None] * tf.exp(bh)[:, :, None, :]  # (N, K, S, H)
        shape = tf.shape(factors)
        # unit h * (H / chunk) + i of every chunk in one product: the product runs over an outer axis, so the
        # H / chunk units of the inner axis stay contiguous for the vector units
        chunks = tf.reshape(factors, [shape[0], shape[1], shape[2], self.chunk, self.n_hidden // self.chunk])
        hidden = tf.reduce_sum(tf.math.log(tf.reduce_prod(chunks, axis=3)), axis=3)
        return tf.einsum("nks,k->ns", visible + hidden, weights)

    def _class_log_probs(self, u, states_w, b, c, A, B):
        return tf.nn.log_softmax(self._negative_free_energies(u, states_w, b, c, A, B), axis=2)

    def _subset(self, active: tuple[int, ...]) -> tuple:
        if active not in self._subsets:
            idx = list(active)
            self._subsets[active] = tuple(tf.gather(t, idx) for t in (self.states_w, self.b, self.c, self.A, self.B,
                                                                       self.states_w_exp))
        return self._subsets[active]

    def sparse_history(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(index, value), each (N, M): the nonzero units of each row of u, padded with (0, 0.0) to
        M = max(max_active, the most nonzeros of a row) so that history vectors share one shape."""
        u = np.asarray(u, np.float32)
        rows, cols = np.nonzero(u)
        counts = np.bincount(rows, minlength=len(u))
        width = max(self.max_active, int(counts.max()) if len(u) else 0)
        index = np.zeros((len(u), width), np.int32)
        value = np.zeros((len(u), width), np.float32)
        slot = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)  # position within its row
        index[rows, slot] = cols
        value[rows, slot] = u[rows, cols]
        return index, value

    def dynamic_biases(self, u: np.ndarray, active: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """b + u A and c + u B of the ``active`` experts, (N, K, D) and (N, K, H) float32, from u's nonzeros."""
        index, value = self.sparse_history(u)
        rows = np.ix_(np.asarray(active), index.reshape(-1))
        shape = (len(active), len(index), index.shape[1])
        value = value[None, :, :, None]
        bv = (self._A_np[rows].reshape(*shape, -1) * value).sum(axis=2)
        bh = (self._B_np[rows].reshape(*shape, -1) * value).sum(axis=2)
        return ((self._b_np[list(active)][:, None] + bv).transpose(1, 0, 2),
                (self._c_np[list(active)][:, None] + bh).transpose(1, 0, 2))

    def _mixture(self, weights: np.ndarray, temperature: float) -> tuple[tuple[int, ...], tf.Tensor]:
        """(active experts, their weights / temperature as a tensor), kept for the last few mixtures: a
        generation asks with the same mixture at every step."""
        weights = np.asarray(weights, np.float64)
        key = (weights.tobytes(), float(temperature))
        entry = self._mixtures.get(key)  # one read: another thread may clear the dict meanwhile
        if entry is None:
            active = tuple(int(i) for i in np.flatnonzero(weights != 0))  # guidance makes some negative
            entry = (active, tf.constant(weights[list(active)] / temperature, tf.float32))
            if len(self._mixtures) >= 64:
                self._mixtures.clear()
            self._mixtures[key] = entry
        return entry

    def _call_sparse(self, *inputs: tf.Tensor) -> tf.Tensor:
        """The compiled sparse logits; through the concrete function's flat call when TensorFlow has one (it
        skips binding the arguments to the signature again, ~0.2 ms of a ~0.5 ms step), else its public call."""
        if self._mixed_concrete is None:
            self._mixed_concrete = self._mixed.get_concrete_function()
            self._flat_call = getattr(self._mixed_concrete, "_call_flat", None)
        if self._flat_call is not None:
            try:
                return self._flat_call(list(inputs), self._mixed_concrete.captured_inputs)
            except TypeError:  # another TensorFlow's private signature: the public call from now on
                self._flat_call = None
        return self._mixed_concrete(*inputs)

    def logits(self, u: np.ndarray, weights: np.ndarray, temperature: float = 1.0) -> np.ndarray:
        """(N, S) float64 mixed logits for N histories (numpy in, numpy out)."""
        active, w = self._mixture(weights, temperature)
        states_w, b, c, A, B, states_w_exp = self._subset(active)
        if not self.sparse_logits:
            return self._plain_logits(u, w, (states_w, b, c, A, B))
        bv, bh = self.dynamic_biases(u, active)
        out = self._call_sparse(tf.constant(bv), tf.constant(bh), w, states_w_exp)
        out = out.numpy().astype(np.float64)
        overflowed = np.flatnonzero(~np.isfinite(out).all(axis=1))
        for row in overflowed:  # a product of e^x past float32's range: the row with one softplus per unit
            out[row] = self._plain_logits(np.asarray(u)[row:row + 1], w, (states_w, b, c, A, B))[0]
        return out

    def _plain_logits(self, u: np.ndarray, w: tf.Tensor, subset: tuple) -> np.ndarray:
        if self._mixed_plain_concrete is None:
            self._mixed_plain_concrete = self._mixed_plain.get_concrete_function()
        return self._mixed_plain_concrete(tf.constant(u, tf.float32), w, *subset).numpy().astype(np.float64)

    def class_log_probs(self, u: np.ndarray) -> np.ndarray:
        """(N, K, S) exact per-class log-probabilities of every state given each history."""
        if self._per_class_concrete is None:
            self._per_class_concrete = self._per_class.get_concrete_function()
        active = tuple(range(int(self.b.shape[0])))
        return self._per_class_concrete(tf.constant(u, tf.float32), *self._subset(active)[:5]).numpy()

    def history_vector(self, previous: Sequence[int]) -> np.ndarray:
        """Conditioning vector (history * (D + 1)) after the given state indices (latest last)."""
        d = self.n_visible
        u = np.zeros((self.history, d + 1), np.float32)
        for j in range(self.history):
            if j < len(previous):
                u[j, :d] = self.states_np[previous[-1 - j]]
            else:
                u[j, d] = 1.0
        if not self.joint_history:
            return u.reshape(-1)
        joint = np.zeros((self.joint_history, self.n_states), np.float32)
        for j in range(min(self.joint_history, len(previous))):
            joint[j, previous[-1 - j]] = 1.0
        return np.concatenate([u.reshape(-1), joint.reshape(-1)])

    @property
    def context(self) -> int:
        """How many previous steps the conditioning sees."""
        return max(self.history, self.joint_history)
