"""JSB chorales loader, the expected frame accuracy, and `python -m research.jsb` on a tiny synthetic file."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from models.errors import InvalidModelInput
from research.jsb import (PitchRange, conditioning_rows, copy_previous, expected_counts, frame_accuracies, gibbs_marginals,
                          icm_mode, load_jsb, mean_field_marginals, outside_notes, piano_roll, transposed_rolls)

ROOT = Path(__file__).resolve().parent.parent


def test_expected_accuracy_on_hand_made_frames():
    targets = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0]], np.float32)
    hard = np.array([[1, 0, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0]], np.float32)
    counts = expected_counts(hard, targets)
    assert (counts.tp, counts.fp, counts.fn) == (3.0, 1.0, 1.0)
    assert counts.accuracy == pytest.approx(3 / 5)
    soft = np.array([[0.5, 1.0, 0.0, 0.0], [0.0, 0.25, 1.0, 0.0], [0.0, 0.0, 0.0, 0.5]])
    counts = expected_counts(soft, targets, missed=2)
    # TP = 0.5 + 1 + 0.25 + 1; FP = 0.5; FN = 0.5 + 0.75 + 2 missed notes
    assert (counts.tp, counts.fp, counts.fn) == pytest.approx((2.75, 0.5, 3.25))
    assert counts.accuracy == pytest.approx(2.75 / 6.5)
    # copy: frame 0 predicts nothing (FN 2), frame 1 gets D (TP 1, FP 1, FN 1), frame 2 sounds nothing (FP 2)
    assert expected_counts(copy_previous(targets), targets).accuracy == pytest.approx(1 / 7)
    with pytest.raises(InvalidModelInput, match="shape"):
        expected_counts(soft[:2], targets)
    with pytest.raises(InvalidModelInput, match="0..1"):
        expected_counts(soft * 3, targets)


def test_per_step_accuracy_on_hand_made_frames():
    targets = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], np.float32)
    hard = np.array([[1, 0, 0, 0], [0, 1, 1, 1], [0, 0, 0, 0], [1, 0, 0, 0]], np.float32)
    # frame 0: TP 1, FN 1 -> 1/2; frame 1: TP 2, FP 1 -> 2/3; frame 2: nothing either side -> 1; frame 3: FP 1 -> 0
    assert frame_accuracies(hard, targets) == pytest.approx([1 / 2, 2 / 3, 1.0, 0.0])
    # a note outside the units is a miss of its own frame: frame 0 -> 1/3, frame 2 -> 0/1
    assert frame_accuracies(hard, targets, np.array([1, 0, 1, 0])) == pytest.approx([1 / 3, 2 / 3, 0.0, 0.0])
    # the mean of per-frame ratios differs from the ratio of the summed counts (3/5 here)
    assert frame_accuracies(hard[:2], targets[:2]).mean() == pytest.approx(7 / 12)
    assert expected_counts(hard[:2], targets[:2]).accuracy == pytest.approx(3 / 5)
    with pytest.raises(InvalidModelInput, match="shape"):
        frame_accuracies(hard[:2], targets)
    pitch_range = PitchRange(60, 62)
    assert outside_notes(((59, 60), (61,), (70, 71, 62)), pitch_range).tolist() == [1, 0, 2]
    assert outside_notes(((59, 60), (61,), (70, 71, 62)), pitch_range).sum() == piano_roll(
        ((59, 60), (61,), (70, 71, 62)), pitch_range)[1]


def test_evaluation_rows_line_up_targets_histories_and_missed_notes_across_chorales():
    from research.jsb import JsbConfig, JsbModel, evaluation_rows

    pitch_range = PitchRange(60, 62)
    chorales = (((59, 60), (61,)), ((62,), (70, 60), (60,)))
    model = JsbModel(rbm=None, config=JsbConfig(history=1, summary_decay=0.0, memory_units=0))
    targets, rows, missed = evaluation_rows(model, chorales, pitch_range)
    assert targets.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0], [1, 0, 0]]
    assert missed.tolist() == [1, 0, 0, 1, 0]
    # each chorale's first frame is predicted from "before the start" (the flag), not the previous chorale
    np.testing.assert_array_equal(rows, np.concatenate([conditioning_rows(targets[:2], 1), conditioning_rows(targets[2:], 1)]))
    assert rows[2].tolist() == [0, 0, 0, 1]


def test_sampled_per_step_accuracy_matches_the_exact_expectation():
    """Uncoupled keys (W = 0): p(v | u) is a product of Bernoullis, so E[TP / (TP + FP + FN)] per
    row is exact by enumerating all 2^d frames; the sampled estimate must agree with it."""
    import itertools

    from models.crbm import ConditionalRBM, VisibleLayout, history_matrix

    d, history = 5, 1
    rng = np.random.default_rng(4)
    u_width = history * (d + 1)
    weights = {"W": np.zeros((d, 3)), "b": rng.normal(0, 1.0, d), "c": np.zeros(3),
               "A": rng.normal(0, 1.0, (u_width, d)), "B": np.zeros((u_width, 3))}
    rbm = ConditionalRBM(VisibleLayout.binary(d), 3, history, weights=weights)
    u = history_matrix((rng.random((4, d)) < 0.5).astype(np.float32), history)
    targets = (rng.random((4, d)) < 0.5).astype(np.float32)
    missed = np.array([0, 1, 0, 2])
    p = 1 / (1 + np.exp(-(weights["b"] + u @ weights["A"])))
    frames = np.array(list(itertools.product([0, 1], repeat=d)), np.float64)  # (32, d)
    exact = []
    for row in range(len(u)):
        prob = np.prod(np.where(frames == 1, p[row], 1 - p[row]), axis=1)
        acc = frame_accuracies(frames, np.repeat(targets[row:row + 1], len(frames), 0), np.full(len(frames), missed[row]))
        exact.append(float(prob @ acc))
    _, _, sampled = gibbs_marginals(rbm, u, chains=64, steps=300, burn_in=20, seed=5, targets=targets, missed=missed)
    assert sampled == pytest.approx(exact, abs=0.01)  # ~18,000 samples a row: standard error < 0.004
    _, _, none = gibbs_marginals(rbm, u, chains=2, steps=4, burn_in=1, seed=0)
    assert none is None
    with pytest.raises(InvalidModelInput, match="targets"):
        gibbs_marginals(rbm, u, chains=2, steps=4, burn_in=1, seed=0, targets=targets[:2])
    with pytest.raises(InvalidModelInput, match="missed"):
        gibbs_marginals(rbm, u, chains=2, steps=4, burn_in=1, seed=0, targets=targets, missed=missed[:3])


def test_loader_on_tiny_json(tmp_path):
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps({"train": [[[60, 64, 67], [62, 65], []], []], "valid": [[[48, 60.0], [72]]]}))
    splits = load_jsb(path)
    assert sorted(splits) == ["train", "valid"]
    assert splits["train"] == (((60, 64, 67), (62, 65), ()),)  # the empty chorale is dropped
    assert splits["valid"] == (((48, 60), (72,)),)
    pitch_range = PitchRange.of(splits["train"])
    assert (pitch_range.low, pitch_range.high, pitch_range.size) == (60, 67, 8)
    roll, missed = piano_roll(splits["valid"][0], pitch_range)
    assert roll.shape == (2, 8) and roll[0, 0] == 1 and roll.sum() == 1 and missed == 2
    for bad, message in [({"train": [[[60, 200]]]}, "outside 21..108"), ({"train": [[["C4"]]]}, "MIDI pitch"),
                         ([1, 2], "JSON object"), ({"train": 5}, "list of chorales")]:
        path.write_text(json.dumps(bad))
        with pytest.raises(InvalidModelInput, match=message):
            load_jsb(path)
    path.write_text("{not json")
    with pytest.raises(InvalidModelInput, match="not valid JSON"):
        load_jsb(path)
    with pytest.raises(InvalidModelInput, match="not found"):
        load_jsb(tmp_path / "missing.json")


def test_transposed_rolls_stay_in_range():
    pitch_range = PitchRange(60, 67)
    chorale = ((60, 64), (62,), ())
    rolls = transposed_rolls([chorale], pitch_range, range(-2, 3))
    # -2, -1 leave the range (58, 59); 0, +1, +2 fit (the highest pitch 64 + 2 = 66 <= 67)
    assert len(rolls) == 3
    assert [tuple(np.flatnonzero(r[0])) for r in rolls] == [(0, 4), (1, 5), (2, 6)]
    assert all(r.shape == (3, 8) and r[2].sum() == 0 for r in rolls)


def test_marginal_estimators_on_an_uncoupled_crbm():
    """With W = 0 the frame's keys are independent given the history: every estimator must return
    sigmoid(dynamic visible bias), and the most likely frame is the keys with a positive bias."""
    from models.crbm import ConditionalRBM, VisibleLayout, history_matrix

    d, history = 6, 1
    rng = np.random.default_rng(0)
    u_width = history * (d + 1)
    weights = {"W": np.zeros((d, 4)), "b": rng.normal(0, 1.5, d), "c": np.zeros(4),
               "A": rng.normal(0, 1.0, (u_width, d)), "B": rng.normal(0, 1.0, (u_width, 4))}
    rbm = ConditionalRBM(VisibleLayout.binary(d), 4, history, weights=weights)
    u = history_matrix((rng.random((5, d)) < 0.5).astype(np.float32), history)
    exact = 1 / (1 + np.exp(-(weights["b"] + u @ weights["A"])))
    gibbs, best, _ = gibbs_marginals(rbm, u, chains=8, steps=30, burn_in=5, seed=1)
    assert np.allclose(gibbs, exact, atol=1e-5)  # Rao-Blackwellised: exact when the keys are independent
    assert np.allclose(mean_field_marginals(rbm, u), exact, atol=1e-5)
    assert np.array_equal(icm_mode(rbm, u, best), (exact > 0.5).astype(np.float32))
    # at temperature T the keys stay independent, each with logit bias / T (with or without the restart)
    sharp = 1 / (1 + np.exp(-(weights["b"] + u @ weights["A"]) / 0.5))
    for restart in (0, 5):
        tempered, _, _ = gibbs_marginals(rbm, u, chains=4, steps=30, burn_in=5, seed=2, temperature=0.5, restart=restart)
        assert np.allclose(tempered, sharp, atol=1e-5)
    with pytest.raises(InvalidModelInput, match="chain start"):
        gibbs_marginals(rbm, u, chains=2, steps=4, burn_in=1, seed=0, start="zeros")
    with pytest.raises(InvalidModelInput, match="temperature"):
        gibbs_marginals(rbm, u, chains=2, steps=4, burn_in=1, seed=0, temperature=0.0)


def test_tempered_restart_concentrates_on_the_best_frame():
    """A strongly coupled CRBM with two modes: at a low temperature after the restart, every chain of
    a row sits at the lower-free-energy mode, so the marginals are (almost) that frame."""
    from models.crbm import ConditionalRBM, VisibleLayout, history_matrix

    d = 4
    w = np.array([[6.0, -6.0], [6.0, -6.0], [-6.0, 6.0], [-6.0, 6.0]])  # hidden 0 likes keys 0,1; hidden 1 keys 2,3
    weights = {"W": w, "b": np.array([-3.0, -3.0, -3.2, -3.2]), "c": np.array([-5.0, -5.0]),
               "A": np.zeros((d + 1, d)), "B": np.zeros((d + 1, 2))}
    rbm = ConditionalRBM(VisibleLayout.binary(d), 2, 1, weights=weights)
    u = history_matrix(np.array([[0, 0, 1, 1], [0, 0, 1, 1]], np.float32), 1)
    free = lambda v: -(v @ weights["b"]) - np.logaddexp(0, v @ w + weights["c"]).sum()  # noqa: E731
    assert free(np.array([1, 1, 0, 0.0])) < free(np.array([0, 0, 1, 1.0]))
    target = np.array([[1, 0, 0, 0], [1, 1, 0, 0]], np.float32)
    tempered, best, per_step = gibbs_marginals(rbm, u, chains=8, steps=60, burn_in=30, seed=3, temperature=0.1,
                                               restart=30, targets=target)
    assert np.array_equal(best, np.array([[1, 1, 0, 0], [1, 1, 0, 0]], np.float32))
    assert np.allclose(tempered, best, atol=1e-3)
    assert per_step == pytest.approx([1 / 2, 1.0], abs=1e-3)  # every sample is the best frame


def test_conditioning_rows_add_the_mean_of_all_earlier_frames():
    roll = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0]], np.float32)
    plain = conditioning_rows(roll, 1)
    assert plain.shape == (4, 4)
    rows = conditioning_rows(roll, 1, summary_decay=1.0)
    assert rows.shape == (4, 8) and np.array_equal(rows[:, :4], plain)
    assert np.array_equal(rows[0, 4:], [0, 0, 0, 1])  # nothing before the start: the flag
    assert np.allclose(rows[3, 4:], [1 / 3, 1 / 3, 1 / 3, 0])  # the plain mean of frames 0..2
    decayed = conditioning_rows(roll, 1, summary_decay=0.5)
    assert np.allclose(decayed[2, 4:7], np.array([0.5, 1.0, 0.0]) / 1.5)  # weights 0.5 (frame 0), 1 (frame 1)


def synthetic_chorales(n: int, length: int, seed: int) -> list[list[list[int]]]:
    """Four voices walking through I-IV-V-I in C: highly predictable frames."""
    cycle = [[48, 64, 67, 72], [53, 65, 69, 72], [55, 62, 67, 71], [48, 64, 67, 72]]
    rng = np.random.default_rng(seed)
    return [[cycle[(t + int(rng.integers(4))) % 4] for t in range(length)] for _ in range(n)]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", "research.jsb", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_jsb_command_on_tiny_synthetic_json(tmp_path):
    data = tmp_path / "chorales.json"
    data.write_text(json.dumps({"train": synthetic_chorales(12, 16, 1), "valid": synthetic_chorales(4, 16, 2)}))
    done = run_cli("--data", str(data), "--train-split", "train", "--split", "valid", "--json",
                   "--epochs", "3", "--hidden", "8", "--history", "2", "--chains", "2", "--gibbs-steps", "10",
                   "--ais-frames", "3", "--transpose", "1", "--method", "cd", "--chain-start", "bias",
                   "--temperature", "0.5", "--threshold", "0.3", "--average-last", "2", "--summary-decay", "0.9",
                   "--learning-rate", "0.05", "--memory-units", "4", "--memory-epochs", "2", "--hidden-dropout", "0.3",
                   "--ensemble", "2", "--ngram-order", "2", "--ngram-weight", "0.3")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert 0.0 <= result["acc"] <= 1.0
    # the exact predictor: the cycle's three distinct chords are the support, and every valid frame is one
    assert result["support_frames"] == 3 and result["support_coverage"] == 1.0
    assert result["config"]["ensemble"] == 2 and result["config"]["ngram_weight"] == 0.3
    for rule in ("product_acc", "product_step_acc", "product_untempered_acc", "product_untempered_step_acc",
                 "exact_acc", "exact_step_acc", "ngram_acc", "ngram_step_acc"):
        assert 0.0 <= result[rule] <= 1.0
    assert result["exact_log_likelihood"] < 0 and result["product_log_likelihood"] < 0
    assert result["frames"] == 4 * 16 and result["chorales"] == 4
    # every synthetic chorale spans the whole range 48..72, so no transposition by +-1 fits
    assert result["train_frames"] == 12 * 16
    assert result["config"]["temperature"] == 0.5 and result["config"]["threshold"] == 0.3
    for rule in ("untempered_acc", "threshold_acc", "mean_field_acc", "thresholded_acc", "map_acc", "step_acc",
                 "untempered_step_acc", "threshold_step_acc", "map_step_acc", "copy_previous_step_acc"):
        assert 0.0 <= result[rule] <= 1.0
    assert result["pitch_low"] == 48 and result["pitch_high"] == 72
    assert 0.0 <= result["copy_previous_acc"] <= 1.0
    assert result["log_likelihood_frames"] == 3 and result["log_likelihood"] < 0
    assert result["config"]["memory_units"] == 4 and result["config"]["hidden_dropout"] == 0.3


def test_exact_prediction_learns_a_deterministic_chord_cycle():
    """I-IV-V repeated: the frame n-gram of the exact predictor knows each next chord; the CRBMs' product
    over the three support frames is a distribution whose summed and per-step ACC agree with its parts."""
    from research.jsb import JsbConfig, exact_prediction, piano_roll, train_jsb_model

    cycle = [(48, 64, 67, 72), (53, 65, 69, 72), (55, 62, 67, 71)]
    chorale = lambda start, n: tuple(cycle[(start + t) % 3] for t in range(n))  # noqa: E731
    pitch_range = PitchRange(48, 72)
    train = [piano_roll(chorale(s, 15), pitch_range)[0] for s in (0, 1, 2, 0, 1, 2)]
    valid = [piano_roll(chorale(s, 9), pitch_range)[0] for s in (2, 0)]
    config = JsbConfig(n_hidden=8, history=1, epochs=3, memory_units=0, ensemble=2, ngram_order=2,
                       ngram_weight=1.0, temperature=0.1)
    models = [train_jsb_model(train, dataclasses.replace(config, seed=s))[0] for s in (0, 1)]
    result = exact_prediction(models, train, valid, np.zeros(18, np.int64))
    assert result["support_frames"] == 3 and result["support_coverage"] == 1.0
    # only the first frame of each valid chorale is uncertain (which chord starts); 16 of 18 are determined
    assert result["ngram_acc"] > 0.85 and result["ngram_step_acc"] > 0.85
    assert result["product_acc"] > 0.85
    assert result["exact_log_likelihood"] < 0 and result["product_log_likelihood"] > result["exact_log_likelihood"]


def test_jsb_command_rejects_bad_input(tmp_path):
    done = run_cli("--data", str(tmp_path / "missing.json"), "--json")
    assert done.returncode == 2 and "not found" in done.stderr
    data = tmp_path / "c.json"
    data.write_text(json.dumps({"train": synthetic_chorales(2, 4, 1)}))
    done = run_cli("--data", str(data), "--split", "test")
    assert done.returncode == 2 and "available splits = ['train']" in done.stderr
    done = run_cli("--data", str(data), "--hidden", "0")
    assert done.returncode == 2 and "--hidden 0" in done.stderr
    for flag, value in (("--temperature", "0"), ("--threshold", "1"), ("--summary-decay", "1.5"),
                        ("--hidden-dropout", "1")):
        done = run_cli("--data", str(data), flag, value)
        assert done.returncode == 2 and f"{flag} {float(value)}" in done.stderr, done.stderr
    done = run_cli("--data", str(data), "--memory-units", "-1")
    assert done.returncode == 2 and "--memory-units -1 is not allowed; use an integer >= 0" in done.stderr
    done = run_cli("--data", str(data), "--ensemble", "0")
    assert done.returncode == 2 and "--ensemble 0 is not allowed; use an integer >= 1" in done.stderr
    done = run_cli("--data", str(data), "--ngram-weight", "-0.5")
    assert done.returncode == 2 and "--ngram-weight -0.5 is not allowed; use a number >= 0" in done.stderr


def test_jsb_command_help_shows_the_config_defaults():
    from research.jsb import JsbConfig

    done = run_cli("--help")
    text = " ".join(done.stdout.split())  # argparse wraps the help lines
    defaults = JsbConfig()
    assert done.returncode == 0
    assert f"previous frames the CRBM conditions on (default {defaults.history})" in text
    assert f"Gibbs sweeps per CD update (default {defaults.k})" in text
    assert f"hidden units (default {defaults.n_hidden})" in text


def test_recurrent_memory_follows_its_recurrence():
    from research.recurrent import RecurrentMemory

    memory = RecurrentMemory(n_visible=3, n_memory=2, seed=1)
    roll = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 0]], np.float32)
    w_vm, w_mm, b_m = (p.numpy() for p in memory.parameters)
    expected, m = [], np.zeros(2, np.float32)
    for frame in roll:  # frame t sees the memory of frames 0..t-1
        expected.append(m)
        m = (1 - memory.leak) * m + memory.leak * np.tanh(b_m + frame @ w_vm + m @ w_mm)
    states = memory.conditioning_states(roll)
    np.testing.assert_allclose(states, np.array(expected), atol=1e-6)
    assert not states[0].any() and memory.conditioning_states(roll[:0]).shape == (0, 2)


def test_memory_learns_what_the_window_cannot_see():
    """After a cue, the last frame repeats the first one, further back than the window: with
    history 1 only the recurrent memory can carry it, so p(last frame = first frame) must win."""
    from models.crbm import ConditionalRBM, VisibleLayout
    from research.recurrent import RecurrentMemory, train_memory

    rolls, d = [], 4
    for first in (0, 1) * 8:
        roll = np.zeros((4, d), np.float32)
        roll[0, first] = roll[-1, first] = 1.0
        roll[1, 3] = 1.0  # the same filler after either first frame, so the window sees no difference
        roll[2, 2] = 1.0  # the cue: the next frame recalls the first
        rolls.append(roll)
    rbm = ConditionalRBM(VisibleLayout.binary(d), 8, 1, seed=0, extra_conditioning=6)
    memory = RecurrentMemory(d, 6, seed=0)
    windows = [conditioning_rows(r, 1) for r in rolls]
    gaps = train_memory(rbm, memory, rolls, windows, epochs=200, k=5, learning_rate=0.03, batch_sequences=16)
    assert np.isfinite(gaps).all()
    for first in (0, 1):
        roll = rolls[first]
        u = np.concatenate([conditioning_rows(roll, 1), memory.conditioning_states(roll)], axis=1)[-1:]
        marginals, _, _ = gibbs_marginals(rbm, u, chains=16, steps=120, burn_in=20, seed=3)
        assert marginals[0, first] > 0.8 and marginals[0, 1 - first] < 0.2, marginals
    with pytest.raises(InvalidModelInput, match="must match"):
        train_memory(ConditionalRBM(VisibleLayout.binary(d), 8, 1), memory, rolls, windows, epochs=1, k=1,
                     learning_rate=0.1)


@pytest.mark.slow
def test_adam_minimises_a_quadratic_and_keras_stays_unloaded():
    from research.recurrent import Adam
    from models.tf_runtime import tf

    x = tf.Variable([3.0, -2.0])
    adam = Adam([x], learning_rate=0.1)
    for _ in range(300):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(x - tf.constant([1.0, 0.5])))
        adam.apply(tape.gradient(loss, [x]))
    np.testing.assert_allclose(x.numpy(), [1.0, 0.5], atol=1e-2)
    train_one_epoch = (
        "import sys, numpy as np\n"
        "from models.crbm import ConditionalRBM, VisibleLayout\n"
        "from research.recurrent import RecurrentMemory, train_memory\n"
        "rolls = [np.eye(3, dtype=np.float32)] * 2\n"
        "train_memory(ConditionalRBM(VisibleLayout.binary(3), 2, 0, extra_conditioning=2), RecurrentMemory(3, 2),\n"
        "             rolls, [np.zeros((3, 0), np.float32)] * 2, epochs=1, k=1, learning_rate=0.01)\n"
        "print('keras' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", train_one_epoch], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.strip() == "False", done.stderr
