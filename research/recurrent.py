"""A recurrent memory for the CRBM's conditioning: the RNN-RBM idea (Boulanger-Lewandowski et al. 2012).

The CRBM of models.crbm sees a fixed window of previous frames. Here a small recurrent network
reads every frame of the sequence so far,

    m_t = (1 - leak) m_(t-1) + leak tanh(b_m + v_t W_vm + m_(t-1) W_mm),      m_(-1) = 0,

and its state m_(t-1) joins the window as ``extra_conditioning`` inputs of the ConditionalRBM
predicting frame t: the directed weights A and B carry it into the visible and hidden biases, as
the window already does. The CRBM's energies, sampling and inference code stay unchanged. The
leak (a leaky-integrator RNN) keeps what the first frames said from being overwritten at once: on
a toy "recall the first frame after a cue" task the plain tanh memory saturated and forgot it for
half of the training seeds, the leaky one (0.3) learned it for every seed tried.

Training (``train_memory``): contrastive divergence as before, but through the memory: the loss
F(v_t | u_t) - F(stop_gradient(v_t^-) | u_t), with v_t^- the end of a CD-k chain at the same
biases, has the CD direction as its gradient for W, b, c, A, B, and back-propagation through time
carries it into W_vm, W_mm and b_m (the paper's recipe; Adam steps).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from models.errors import InvalidModelInput
from models.progress import Progress
from models.tf_runtime import tf



class RecurrentMemory(tf.Module):
    """m_t = (1 - leak) m_(t-1) + leak tanh(b_m + v_t W_vm + m_(t-1) W_mm) over binary frames."""

    def __init__(self, n_visible: int, n_memory: int, seed: int = 0, leak: float = 0.3):
        super().__init__()
        if n_visible < 1 or n_memory < 1 or not 0 < leak <= 1:
            raise InvalidModelInput(f"n_visible={n_visible}, n_memory={n_memory}, leak={leak}; allowed: "
                                    "n_visible, n_memory >= 1, 0 < leak <= 1")
        rng = np.random.default_rng([seed, 7])
        self.n_visible, self.n_memory = int(n_visible), int(n_memory)
        self.leak = float(leak)
        # Glorot-like scales: the memory starts as a random but informative summary (with tiny weights its
        # state and the gradients into it would both start near zero, a saddle CD barely leaves)
        self.W_vm = tf.Variable(rng.normal(0.0, 1.0 / np.sqrt(n_visible), (n_visible, n_memory)).astype(np.float32),
                                name="W_vm")
        self.W_mm = tf.Variable(rng.normal(0.0, 0.9 / np.sqrt(n_memory), (n_memory, n_memory)).astype(np.float32),
                                name="W_mm")
        self.b_m = tf.Variable(np.zeros(n_memory, np.float32), name="b_m")

    @property
    def parameters(self) -> tuple[tf.Variable, ...]:
        return (self.W_vm, self.W_mm, self.b_m)

    def previous_states(self, frames: tf.Tensor) -> tf.Tensor:
        """(B, T, M) memory before each frame: m_(t-1) for frame t (zeros for the first)."""
        frames = tf.convert_to_tensor(frames, tf.float32)
        inputs = tf.einsum("btd,dm->tbm", frames, self.W_vm) + self.b_m  # time-major
        initial = tf.zeros([tf.shape(frames)[0], self.n_memory])
        leak = self.leak
        after = tf.scan(lambda m, x: (1.0 - leak) * m + leak * tf.tanh(x + tf.matmul(m, self.W_mm)), inputs,
                        initializer=initial)
        before = tf.concat([initial[None], after[:-1]], axis=0)
        return tf.transpose(before, [1, 0, 2])

    def conditioning_states(self, roll: np.ndarray) -> np.ndarray:
        """(T, M) float32 memory inputs of one piano roll (frame t sees m_(t-1))."""
        roll = np.asarray(roll, np.float32)
        if not len(roll):
            return np.zeros((0, self.n_memory), np.float32)
        return self.previous_states(roll[None])[0].numpy()


class Adam:
    """Adam steps on tf.Variables (Kingma & Ba 2015), written out: Keras stays unloaded (models.tf_runtime)."""

    def __init__(self, variables: Sequence[tf.Variable], learning_rate: float, beta1: float = 0.9,
                 beta2: float = 0.999, epsilon: float = 1e-8):
        self.variables = list(variables)
        self.learning_rate, self.beta1, self.beta2, self.epsilon = learning_rate, beta1, beta2, epsilon
        self.first = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.second = [tf.Variable(tf.zeros_like(v)) for v in self.variables]
        self.steps = tf.Variable(0.0)

    def apply(self, gradients: Sequence[tf.Tensor]) -> None:
        self.steps.assign_add(1.0)
        rate = self.learning_rate * tf.sqrt(1.0 - self.beta2 ** self.steps) / (1.0 - self.beta1 ** self.steps)
        for var, grad, m, v in zip(self.variables, gradients, self.first, self.second):
            m.assign(self.beta1 * m + (1.0 - self.beta1) * grad)
            v.assign(self.beta2 * v + (1.0 - self.beta2) * tf.square(grad))
            var.assign_sub(rate * m / (tf.sqrt(v) + self.epsilon))


def pad_sequences(sequences: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Stack (T_i, W) arrays into (N, T_max, W) zeros-padded, with the (N, T_max) bool mask of real steps."""
    length = max(len(s) for s in sequences)
    width = sequences[0].shape[1]
    out = np.zeros((len(sequences), length, width), np.float32)
    mask = np.zeros((len(sequences), length), bool)
    for i, s in enumerate(sequences):
        out[i, :len(s)] = s
        mask[i, :len(s)] = True
    return out, mask


def train_memory(rbm, memory: RecurrentMemory, rolls: Sequence[np.ndarray], window_rows: Sequence[np.ndarray], *,
                 epochs: int, k: int, learning_rate: float, batch_sequences: int = 8, weight_decay: float = 1e-4,
                 seed: int = 0, persistent: bool = True, progress: Progress | None = None) -> list[float]:
    """Train ``rbm`` (whose last ``memory.n_memory`` conditioning inputs are the memory) and
    ``memory`` together on whole sequences: CD-k through back-propagation in time (module docstring).
    ``window_rows[i]`` are the non-recurrent conditioning rows of ``rolls[i]``. Returns the mean
    free-energy gap per epoch (data minus negative samples). ``persistent``: the negative chains
    continue from each frame's previous negative sample (PCD), else they start at the data (CD-k)."""
    if rbm.extra_conditioning != memory.n_memory:
        raise InvalidModelInput(f"the CRBM has {rbm.extra_conditioning} extra conditioning inputs, the memory "
                                f"{memory.n_memory} units; they must match")
    if epochs < 1 or k < 1 or not learning_rate > 0 or batch_sequences < 1:
        raise InvalidModelInput(f"epochs={epochs}, k={k}, learning_rate={learning_rate}, batch_sequences="
                                f"{batch_sequences}; allowed: epochs, k, batch_sequences >= 1, learning_rate > 0")
    frames, mask = pad_sequences(rolls)
    windows, _ = pad_sequences(window_rows)
    variables = list(rbm.parameters) + list(memory.parameters)
    decayed = [rbm.W, rbm.A, rbm.B, memory.W_vm, memory.W_mm]
    adam = Adam(variables, learning_rate)
    particles = tf.Variable(frames)  # the persistent chains, one per frame of every sequence

    @tf.function(reduce_retracing=True)
    def step(pick, v_pad, w_pad, m_pad, seed_pair):
        positions = tf.where(m_pad)  # (N, 2) batch row, time step of every real frame
        with tf.GradientTape() as tape:
            m_prev = memory.previous_states(v_pad)
            u = tf.boolean_mask(tf.concat([w_pad, m_prev], axis=2), m_pad)
            v = tf.boolean_mask(v_pad, m_pad)
            bv, bh = rbm.dynamic_biases(tf.stop_gradient(u))
            where = tf.stack([tf.gather(pick, positions[:, 0]), positions[:, 1]], axis=1)
            start = tf.gather_nd(particles, where) if persistent else v
            v_neg, _, _ = rbm.gibbs_chain(start, bv, bh, k, seed_pair)
            v_neg = tf.stop_gradient(v_neg)
            if persistent:
                particles.scatter_nd_update(where, v_neg)
            gap = tf.reduce_mean(rbm.free_energy(v, u) - rbm.free_energy(v_neg, u))
            loss = gap + weight_decay * tf.add_n([tf.reduce_sum(tf.square(w)) for w in decayed]) / 2.0
        adam.apply(tape.gradient(loss, variables))
        return gap

    n = len(rolls)
    gaps = []
    for epoch in range(epochs):
        order = np.random.default_rng([seed, 11, epoch]).permutation(n)
        total, batches = 0.0, 0
        for b, lo in enumerate(range(0, n, batch_sequences)):
            pick = order[lo:lo + batch_sequences]
            length = int(mask[pick].sum(axis=1).max())  # trim the padding this batch does not need
            gap = step(tf.constant(pick.astype(np.int64)), tf.constant(frames[pick, :length]),
                       tf.constant(windows[pick, :length]), tf.constant(mask[pick, :length]),
                       tf.constant([seed * 1000 + epoch, b], tf.int64))
            total += float(gap)
            batches += 1
        gaps.append(total / batches)
        if progress is not None:
            progress(f"memory epoch {epoch + 1}/{epochs} free-energy gap {gaps[-1]:.3f}", (epoch + 1) / epochs)
    return gaps
