"""The conditional RBM and its training (tiny models, synthetic data, seconds)."""
from __future__ import annotations

import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

from dataclasses import replace

import numpy as np
import pytest

from models.tf_runtime import tf  # TensorFlow as the models import it; missing, the tests fail

from models.chord_states import chord_from_state, chord_state_index  # noqa: E402
from models.crbm import (CHORD_LAYOUT, PARAMETER_NAMES, ConditionalRBM, StackedExperts, VisibleLayout,  # noqa: E402
                         conditioning_matrix, history_matrix, state_matrix, states_to_visible, visible_to_states)
from models.errors import InvalidModelInput  # noqa: E402
from models.training import TrainingConfig, score_sequences, train_crbm  # noqa: E402

SMALL = VisibleLayout.softmax((4, 3, 2))  # 24 states


def _random_rbm(layout=SMALL, hidden=4, history=2, scale=1.0, seed=3) -> ConditionalRBM:
    rng = np.random.default_rng(seed)
    d, u = layout.n_visible, history * (layout.n_visible + 1)
    weights = {"W": rng.normal(0, scale, (d, hidden)), "b": rng.normal(0, scale, d), "c": rng.normal(0, scale, hidden),
               "A": rng.normal(0, scale, (u, d)), "B": rng.normal(0, scale, (u, hidden))}
    return ConditionalRBM(layout, hidden, history, weights=weights)


def _markov_sequences(n_seq=60, length=16, seed=0, layout=SMALL) -> list[np.ndarray]:
    """Sequences of a sparse first-order Markov chain over the layout's states."""
    rng = np.random.default_rng(seed)
    s = layout.n_states
    successors = {i: rng.choice(s, size=2, replace=False) for i in range(s)}
    out = []
    for _ in range(n_seq):
        state = [int(rng.integers(s))]
        for _ in range(length - 1):
            state.append(int(successors[state[-1]][0 if rng.random() < 0.8 else 1]))
        out.append(states_to_visible(layout, np.asarray(state)))
    return out


def test_chord_state_index_round_trip():
    for state in range(CHORD_LAYOUT.n_states):
        assert chord_state_index(chord_from_state(state)) == state
    states = np.arange(CHORD_LAYOUT.n_states)
    assert np.array_equal(visible_to_states(CHORD_LAYOUT, state_matrix(CHORD_LAYOUT)), states)
    assert state_matrix(CHORD_LAYOUT).sum(axis=1).tolist() == [3.0] * len(states)  # one unit per group


def test_history_matrix_marks_steps_before_the_start():
    visible = states_to_visible(SMALL, np.asarray([0, 5, 7]))
    u = history_matrix(visible, 2).reshape(3, 2, SMALL.n_visible + 1)
    assert u[0, 0, -1] == 1 and u[0, 1, -1] == 1  # nothing before the first step
    assert u[1, 0, -1] == 0 and np.array_equal(u[1, 0, :-1], visible[0]) and u[1, 1, -1] == 1
    assert np.array_equal(u[2, 1, :-1], visible[0]) and np.array_equal(u[2, 0, :-1], visible[1])


def test_free_energy_matches_brute_force_sum_over_hidden_states():
    rbm = _random_rbm()
    v = tf.constant(states_to_visible(SMALL, np.asarray([3, 17])))
    u = tf.constant(np.random.default_rng(1).random((2, rbm.n_conditioning)).astype(np.float32))
    weights = rbm.get_weights()
    for row in range(2):
        vv, uu = v.numpy()[row].astype(np.float64), u.numpy()[row].astype(np.float64)
        total = 0.0
        for h in itertools.product((0, 1), repeat=rbm.n_hidden):
            h = np.asarray(h, np.float64)
            energy = -vv @ (weights["b"] + uu @ weights["A"]) - h @ (weights["c"] + uu @ weights["B"]) - vv @ weights["W"] @ h
            total += math.exp(-energy)
        assert float(rbm.free_energy(v, u)[row]) == pytest.approx(-math.log(total), rel=1e-4, abs=1e-4)


def test_exact_log_likelihood_normalises_over_all_states():
    rbm = _random_rbm(scale=1.5)
    u = tf.constant(np.random.default_rng(2).random((5, rbm.n_conditioning)).astype(np.float32))
    log_p = rbm.log_prob_all_states(u).numpy()
    assert log_p.shape == (5, SMALL.n_states)
    assert np.allclose(np.exp(log_p).sum(axis=1), 1.0, atol=1e-5)
    assert log_p.std() > 0.5  # not uniform: the test would catch a constant
    # log_likelihood of each state agrees with the enumeration
    states = state_matrix(SMALL)
    uu = tf.repeat(u[:1], SMALL.n_states, axis=0)
    ll = rbm.log_likelihood(tf.constant(states), uu, chunk=7).numpy()
    assert np.allclose(ll, log_p[0], atol=1e-4)


def test_exact_sampling_follows_the_enumerated_distribution():
    rbm = _random_rbm(scale=1.0)
    u = np.zeros((4000, rbm.n_conditioning), np.float32)
    u[:, SMALL.n_visible::SMALL.n_visible + 1] = 1.0  # "before the start" flags
    expected = np.exp(rbm.log_prob_all_states(tf.constant(u[:1])).numpy()[0])
    draws = visible_to_states(SMALL, rbm.sample_next(u, seed=5))
    observed = np.bincount(draws, minlength=SMALL.n_states) / len(draws)
    assert np.abs(observed - expected).max() < 0.03


def test_cd_training_lowers_the_exact_nll():
    sequences = _markov_sequences()
    before = score_sequences(ConditionalRBM(SMALL, 16, 1), sequences).nll_bits_per_chord
    rbm, report = train_crbm(sequences, SMALL, TrainingConfig(n_hidden=16, history=1, k=1, epochs=30,
                                                             batch_size=32, learning_rate=0.1, pretrain_epochs=0))
    after = score_sequences(rbm, sequences)
    # The chain has ~1 bit of entropy per step; uniform is log2(24) = 4.6 bits, chance top-1 1/24.
    assert before > 4.0
    assert after.nll_bits_per_chord < 2.8
    assert after.top1_accuracy > 0.45
    assert report.final_epoch == 30 and report.replicas == 1


def test_pcd_and_exact_methods_also_learn():
    sequences = _markov_sequences(n_seq=30)
    for method in ("pcd", "exact"):
        rbm, _ = train_crbm(sequences, SMALL, TrainingConfig(n_hidden=8, history=1, k=1, epochs=15, method=method,
                                                             batch_size=32, learning_rate=0.1, pretrain_epochs=0))
        assert score_sequences(rbm, sequences).nll_bits_per_chord < 3.5, method


def test_binary_layout_gibbs_and_training():
    # Frames alternate between two fixed 10-bit patterns; the CRBM should predict the next one.
    layout = VisibleLayout.binary(10)
    a = np.asarray([1, 1, 0, 0, 1, 0, 0, 0, 1, 0], np.float32)
    b = 1 - a
    sequences = [np.stack([a if t % 2 == 0 else b for t in range(12)]) for _ in range(40)]
    rbm, report = train_crbm(sequences, layout, TrainingConfig(n_hidden=8, history=1, k=1, epochs=40, batch_size=32,
                                                               learning_rate=0.1, pretrain_epochs=0))
    u = history_matrix(np.stack([a, b]), 1)[1:]  # previous frame = a -> expect b
    sample = rbm.sample_next(np.repeat(u, 20, axis=0), seed=1, steps=30)
    assert set(np.unique(sample)) <= {0.0, 1.0}
    assert (sample == b).mean() > 0.9
    with pytest.raises(InvalidModelInput):
        rbm.log_prob_all_states(tf.constant(u))  # not enumerable


def test_hidden_dropout_holds_the_dropped_units_off_in_both_phases():
    # keep 0: every unit dropped, so no statistic that involves the hidden units moves; keep 1: plain CD
    rng = np.random.default_rng(0)
    rbm = ConditionalRBM(VisibleLayout.binary(6), n_hidden=5, history=1, seed=1)
    v = tf.constant((rng.random((8, 6)) < 0.5).astype(np.float32))
    u = tf.constant(history_matrix(v.numpy(), 1))
    seed = tf.constant([3, 4], tf.int64)
    dropped, _, _ = rbm.cd_statistics(v, u, v, 2, seed, hidden_keep=0.0)
    for name in ("W", "c", "B"):
        assert np.all(dropped[PARAMETER_NAMES.index(name)].numpy() == 0.0), name
    assert np.any(dropped[PARAMETER_NAMES.index("b")].numpy() != 0.0)  # the visible side still learns
    plain, _, _ = rbm.cd_statistics(v, u, v, 2, seed)
    kept, _, _ = rbm.cd_statistics(v, u, v, 2, seed, hidden_keep=1.0)
    for a, b in zip(plain, kept):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    half, _, _ = rbm.cd_statistics(v, u, v, 2, seed, hidden_keep=0.5)
    assert not np.allclose(half[0].numpy(), plain[0].numpy())


def test_checkpoint_and_resume_give_the_uninterrupted_result(tmp_path):
    sequences = _markov_sequences(n_seq=20)
    config = TrainingConfig(n_hidden=6, history=2, k=2, epochs=4, batch_size=16, pretrain_epochs=0, method="pcd")
    full, _ = train_crbm(sequences, SMALL, config)

    class Interrupted(Exception):
        pass

    def interrupt_in_epoch_3(message: str, fraction: float) -> None:
        if "epoch 3/4" in message:
            raise Interrupted

    with pytest.raises(Interrupted):
        train_crbm(sequences, SMALL, config, checkpoint_dir=tmp_path, progress=interrupt_in_epoch_3)
    assert sorted(p.name for p in tmp_path.glob("ckpt-*.index")) == ["ckpt-1.index", "ckpt-2.index"]
    resumed, report = train_crbm(sequences, SMALL, config, checkpoint_dir=tmp_path, resume=True)
    assert report.epochs_run == 2 and report.final_epoch == 4
    for name, value in full.get_weights().items():
        assert np.allclose(value, resumed.get_weights()[name], atol=1e-5), name
    fresh, _ = train_crbm(sequences, SMALL, config, checkpoint_dir=tmp_path, resume=False)  # ignores checkpoints
    assert np.allclose(fresh.get_weights()["W"], full.get_weights()["W"], atol=1e-5)


def test_bad_configs_are_refused():
    with pytest.raises(InvalidModelInput, match="method"):
        TrainingConfig(method="sgd").validate()
    with pytest.raises(InvalidModelInput, match="exact"):
        train_crbm([np.zeros((3, 10), np.float32)], VisibleLayout.binary(10), TrainingConfig(method="exact"))


MIRRORED_SCRIPT = r"""
import json, sys, numpy as np, tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
sys.path.insert(0, sys.argv[1])
from tests.test_crbm import SMALL, _markov_sequences
from models.crbm import ConditionalRBM
from models.training import TrainingConfig, score_sequences, train_crbm
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
sequences = _markov_sequences()
before = score_sequences(ConditionalRBM(SMALL, 16, 1), sequences).nll_bits_per_chord
rbm, report = train_crbm(sequences, SMALL, TrainingConfig(n_hidden=16, history=1, k=1, epochs=30, batch_size=32,
                                                         learning_rate=0.1, pretrain_epochs=0), strategy=strategy)
after = score_sequences(rbm, sequences)
print(json.dumps({"replicas": report.replicas, "before": before, "after": after.nll_bits_per_chord,
                  "top1": after.top1_accuracy, "mirrored": type(rbm.W).__name__}))
"""


@pytest.mark.slow
def test_training_inside_a_mirrored_strategy_over_two_logical_cpus():
    # Logical devices must be configured before TensorFlow initialises: a fresh interpreter.
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(root)], capture_output=True, text=True,
                          timeout=300, cwd=root)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert "Mirrored" in result["mirrored"]
    assert result["before"] > 4.0 and result["after"] < 2.8 and result["top1"] > 0.45


def test_pseudo_log_likelihood_matches_brute_force_conditionals():
    layout = VisibleLayout.binary(5)
    rbm = _random_rbm(layout=layout, hidden=3, history=1, scale=0.8)
    v = tf.constant([[1, 0, 1, 1, 0], [0, 0, 0, 1, 1]], tf.float32)
    u = tf.constant(np.random.default_rng(4).random((2, rbm.n_conditioning)).astype(np.float32))
    pll = rbm.pseudo_log_likelihood(v, u).numpy()
    for row in range(2):
        expected = 0.0
        for i in range(5):
            flipped = v.numpy()[row:row + 1].copy()
            flipped[0, i] = 1 - flipped[0, i]
            f_v = float(rbm.free_energy(v[row:row + 1], u[row:row + 1])[0])
            f_flip = float(rbm.free_energy(tf.constant(flipped), u[row:row + 1])[0])
            expected += -math.log1p(math.exp(f_v - f_flip))  # p(v_i) = e^-F(v) / (e^-F(v) + e^-F(flip))
        assert pll[row] == pytest.approx(expected, abs=1e-4)


def _permutation_chain(n_seq: int, length: int, seed: int, layout=SMALL, stay: float = 0.9):
    """A first-order chain over joint states: with probability `stay` the successor is perm[state]
    (a random permutation), else a uniformly random state. Per-group conditioning (root, quality,
    bass of the previous state each shifting the biases on their own) cannot express an arbitrary
    permutation of joint states; a joint one-hot of the previous state can.
    Returns (sequences, the chain's own mean NLL in bits per step on them)."""
    rng = np.random.default_rng(seed)
    s = layout.n_states
    perm = np.random.default_rng(99).permutation(s)  # the same chain for every seed
    sequences, bits, n = [], 0.0, 0
    for _ in range(n_seq):
        state = [int(rng.integers(s))]
        bits += math.log2(s)
        for _ in range(length - 1):
            nxt = int(perm[state[-1]]) if rng.random() < stay else int(rng.integers(s))
            p = (stay if nxt == perm[state[-1]] else 0.0) + (1 - stay) / s
            bits -= math.log2(p)
            state.append(nxt)
        n += length
        sequences.append(states_to_visible(layout, np.asarray(state)))
    return sequences, bits / n


def test_conditioning_matrix_adds_the_joint_one_hot_of_recent_states():
    states = np.asarray([0, 5, 7, 23])
    visible = states_to_visible(SMALL, states)
    u = conditioning_matrix(visible, 2, 2, SMALL)
    base = SMALL.n_visible + 1
    assert u.shape == (4, 2 * base + 2 * SMALL.n_states)
    assert np.array_equal(u[:, :2 * base], history_matrix(visible, 2))
    joint = u[:, 2 * base:].reshape(4, 2, SMALL.n_states)
    assert joint[0].sum() == 0 and joint[1, 1].sum() == 0  # nothing before the start
    assert np.argmax(joint[3, 0]) == 7 and np.argmax(joint[3, 1]) == 5 and joint[3].sum() == 2
    rbm = ConditionalRBM(SMALL, 4, history=2, joint_history=2, seed=1)
    rbm.A.assign(tf.random.normal(rbm.A.shape, seed=2))
    again = ConditionalRBM.from_weights(SMALL, rbm.get_weights())  # the widths determine both histories
    assert (again.history, again.joint_history) == (2, 2)
    assert np.array_equal(again.history_matrix(visible), u)
    experts = StackedExperts(SMALL, [rbm.get_weights()])
    assert (experts.history, experts.joint_history, experts.context) == (2, 2, 2)
    assert np.array_equal(experts.history_vector(list(states[:3])), u[3])
    # The stacked experts and the single CRBM agree on the exact distribution given a joint history.
    assert np.allclose(experts.class_log_probs(u)[:, 0], rbm.log_prob_all_states(tf.constant(u)).numpy(), atol=1e-4)
    with pytest.raises(InvalidModelInput, match="joint_history"):
        ConditionalRBM(VisibleLayout.binary(5), 2, history=1, joint_history=1)


def test_xla_compiled_mixed_logits_match_plain_tensorflow():
    """StackedExperts compiles the weighted product of experts with XLA; the logits must be those of plain
    TensorFlow (and of the experts' own exact scores) for every number of active classes."""
    weights = []
    for seed in range(3):
        rbm = ConditionalRBM(SMALL, 6, history=2, joint_history=1, seed=seed)
        for variable in (rbm.W, rbm.A, rbm.B, rbm.b, rbm.c):
            variable.assign(tf.random.normal(variable.shape, stddev=0.5, seed=seed + 10))
        weights.append(rbm.get_weights())
    compiled, plain = StackedExperts(SMALL, weights), StackedExperts(SMALL, weights, xla=False)
    u = conditioning_matrix(states_to_visible(SMALL, np.asarray([3, 9, 1, 4])), 2, 1, SMALL)
    exact = np.stack([ConditionalRBM.from_weights(SMALL, w)._negative_free_energy_all(tf.constant(u)).numpy()
                      for w in weights], axis=1)  # (N, K, S) -F of every state under every expert
    for mix in ([1.0, 0.0, 0.0], [0.7, 0.0, 0.3], [0.2, 0.5, 0.3]):
        expected = np.einsum("nks,k->ns", exact, np.asarray(mix)) / 0.8
        assert np.allclose(compiled.logits(u, np.asarray(mix), 0.8), expected, atol=1e-3)
        assert np.allclose(plain.logits(u, np.asarray(mix), 0.8), expected, atol=1e-3)


def test_joint_history_fits_a_joint_state_chain_that_per_group_conditioning_cannot():
    train, _ = _permutation_chain(80, 16, seed=0)
    held_out, chain_bits = _permutation_chain(40, 16, seed=1)
    config = TrainingConfig(n_hidden=4, history=1, k=1, epochs=40, batch_size=32, learning_rate=0.1, pretrain_epochs=0)
    per_group, _ = train_crbm(train, SMALL, config)
    joint, _ = train_crbm(train, SMALL, replace(config, joint_history=1))
    per_group_bits = score_sequences(per_group, held_out).nll_bits_per_chord
    joint_bits = score_sequences(joint, held_out).nll_bits_per_chord
    # The chain: ~0.9 of the steps are its permutation; log2(24) = 4.6 bits for a uniform guess.
    assert chain_bits < 1.3
    assert joint_bits < chain_bits + 0.5, (joint_bits, chain_bits)
    assert per_group_bits > joint_bits + 1.0, (per_group_bits, joint_bits)


def test_tensorflow_is_imported_without_keras_and_keras_still_loads_on_demand():
    """models.tf_runtime keeps Keras (and scikit-learn through it) out of TensorFlow's import:
    ~100 MB of the window's memory budget. tf.keras must still work for whoever asks."""
    script = ("import sys; import models.crbm; from models.tf_runtime import tf; "
              "print('keras' in sys.modules, 'sklearn' in sys.modules); "
              "print(float(tf.reduce_sum(tf.ones([2, 3])))); "
              "print(type(tf.keras.layers.Dense(2)).__name__)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=str(Path(__file__).resolve().parent.parent))
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "False", "6.0", "Dense"]
    # TensorFlow's C++ start-up lines (written to fd 2 before its logging is set up) are kept out
    assert "oneDNN" not in done.stderr and "absl::InitializeLog" not in done.stderr, done.stderr


def test_only_tensorflows_start_up_noise_is_dropped_from_what_its_import_writes():
    from models.tf_runtime import without_start_up_noise

    noise = ("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
             "I0000 00:00:1796590028.859210    5724 port.cc:153] oneDNN custom operations are on. You may see "
             "slightly different numerical results due to floating-point round-off errors.\n"
             "I0000 00:00:1796590031.831246    5728 cpu_feature_guard.cc:227] This TensorFlow binary is optimized "
             "to use available CPU instructions in performance-critical operations.\n"
             "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the "
             "appropriate compiler flags.\n")
    real = "E0000 cuda_dnn.cc:8310] Unable to register cuDNN factory\nImportError: libfoo.so: cannot open\n"
    assert without_start_up_noise(noise) == ""
    assert without_start_up_noise(noise + real) == real
    assert without_start_up_noise(real + noise) == real


def test_stacked_logits_of_a_history_do_not_depend_on_its_batch():
    """models.generation shares log-probability rows across generations (SHARED_ROWS): a row computed in a
    look-ahead batch must equal, bit for bit, the row of the same history computed alone, or a seed's chords
    would depend on the requests before it."""
    from models.model_folder import load_model_set

    experts, _ = load_model_set().generation_experts()
    weights = np.asarray([0.4, 0.3, 0.2, 0.1, 0.5][:int(experts.b.shape[0])])
    rng = np.random.default_rng(0)
    histories = np.stack([experts.history_vector([int(s) for s in rng.integers(0, experts.n_states, k % 5)])
                          for k in range(12)])
    batch = experts.logits(histories, weights)
    alone = np.concatenate([experts.logits(histories[i:i + 1], weights) for i in range(12)])
    assert np.array_equal(batch, alone)
    assert np.array_equal(experts.logits(np.concatenate([histories, histories]), weights)[:12], batch)


def test_sparse_logits_equal_the_plain_formula_on_the_shipped_experts():
    """StackedExperts.logits (gathered dynamic biases, products of 1 + e^x in chunks, issue 15 "Speed") gives
    the plain formula's logits (dense u, a softplus per hidden unit) up to float32 rounding, for guided
    (negative) weights and subsets of the experts; and no history vector exceeds the bound the chunk is
    chosen by."""
    from models.model_folder import load_model_set

    experts, _ = load_model_set().generation_experts()
    rng = np.random.default_rng(3)
    histories = np.stack([experts.history_vector([int(s) for s in rng.integers(0, experts.n_states, k % 6)])
                          for k in range(14)])
    k = int(experts.b.shape[0])
    for weights in (np.full(k, 1.0 / k), np.asarray([1.1, -0.2, 0.4, -0.1, 0.5][:k]), np.eye(k)[0]):
        experts.sparse_logits = False
        plain = experts.logits(histories, weights, 0.9)
        experts.sparse_logits = True
        sparse = experts.logits(histories, weights, 0.9)
        log_p = lambda x: x - np.logaddexp.reduce(x, axis=1, keepdims=True)  # noqa: E731
        assert np.abs(log_p(sparse) - log_p(plain)).max() < 1e-4
    assert experts.chunk in (2, 4, 8)
    bound = experts._hidden_input_bound(experts.states_w.numpy(), experts.c.numpy(), experts.B.numpy())
    _, bh = experts.dynamic_biases(histories, range(k))
    assert (experts.states_w.numpy()[None] + bh[:, :, None, :]).max() <= bound + 1e-4
    assert experts.chunk * bound <= experts.PRODUCT_LIMIT


def test_rows_whose_product_overflows_take_the_plain_softplus():
    """A conditioning row that is no history vector can push e^x past float32 inside a product: that row is
    recomputed with the plain softplus (finite, equal to the plain formula), the others keep the fast path."""
    rbm = ConditionalRBM(SMALL, 8, history=1, seed=4)
    rbm.B.assign(tf.fill(rbm.B.shape, 3.0))
    experts = StackedExperts(SMALL, [rbm.get_weights()])
    u = conditioning_matrix(states_to_visible(SMALL, np.asarray([3, 9])), 1, 0, SMALL)
    u[1] *= 40.0  # bh ~ 40 * 3 * (ones in u): e^x overflows float32
    weights = np.asarray([1.0])
    recomputed = []
    plain_rows = experts._plain_logits
    experts._plain_logits = lambda rows, *args: recomputed.append(len(rows)) or plain_rows(rows, *args)
    fast = experts.logits(u, weights)
    assert recomputed == [1]  # only the overflowing row
    experts.sparse_logits = False
    plain = experts.logits(u, weights)
    assert np.isfinite(fast).all()
    assert np.allclose(fast, plain, rtol=1e-5, atol=1e-3)
