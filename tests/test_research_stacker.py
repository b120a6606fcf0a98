"""research.stacker: the linear stacker bench/classifier_stacking.py compares with the shipped classifier
(multinomial logistic regression over the class models' scores, chosen by grouped CV)."""
from __future__ import annotations

import numpy as np
import pytest

from models.errors import InvalidModelInput
from research.stacker import (STACKER_FEATURE_GROUPS, LinearStacker, StackerInputs, choose_stacker, feature_matrix,
                              fit_logistic, fit_stacker, group_folds)


def synthetic(n=240, k=4, seed=0, separation=3.0):
    """Clips whose harmony log-likelihood favours the true class (by `separation` nats) plus noise."""
    rng = np.random.default_rng(seed)
    truth = np.arange(n) % k
    chords = rng.integers(4, 40, n)
    harmony = rng.normal(size=(n, k)) + separation * np.eye(k)[truth]
    performance = rng.normal(size=(n, k))
    inputs = StackerInputs(harmony * chords[:, None] / 10, performance, chords, rng.normal(size=(n, 10)),
                           rng.integers(0, 2, n).astype(float))
    return inputs, truth


def test_separable_data_is_learned_and_held_out_rows_are_classified():
    inputs, truth = synthetic()
    train, held = np.arange(len(truth)) < 180, np.arange(len(truth)) >= 180
    stacker = fit_stacker(inputs.rows(train), truth[train], ("harmony_per_chord", "performance"), l2=1.0)
    log_p = stacker.log_probabilities(inputs.rows(held))
    np.testing.assert_allclose(np.exp(log_p).sum(axis=1), 1.0, atol=1e-9)
    assert np.mean(log_p.argmax(axis=1) == truth[held]) > 0.9
    # the harmony columns carry the class, the performance columns are noise
    harmony_weights = np.abs(stacker.weights[:, :4]).mean()
    assert harmony_weights > 3 * np.abs(stacker.weights[:, 4:]).mean()


def test_newton_fit_reaches_the_minimum_of_the_penalised_log_loss():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = (x @ np.array([1.5, -1.0, 0.0]) + 0.5 * rng.normal(size=200) > 0).astype(int)
    weights, intercept = fit_logistic(x, y, 2, l2=2.0)

    def objective(w, b):
        z = x @ w.T + b
        return float(np.sum(np.log(np.exp(z).sum(axis=1)) - z[np.arange(200), y]) + 1.0 * np.sum(w * w))

    best = objective(weights, intercept)
    for _ in range(20):  # no nearby point is better
        assert objective(weights + 1e-3 * rng.normal(size=weights.shape), intercept + 1e-3 * rng.normal(size=2)) >= best
    assert weights[1, 0] - weights[0, 0] > 0.5 and weights[1, 1] - weights[0, 1] < -0.3  # the signs of the truth


def test_fitting_and_choosing_are_deterministic_and_survive_json():
    inputs, truth = synthetic(seed=2)
    songs = [f"song{i // 3}" for i in range(len(truth))]
    first, table = choose_stacker(inputs, truth, songs, seed=0, l2_grid=(1.0, 10.0))
    second, again = choose_stacker(inputs, truth, songs, seed=0, l2_grid=(1.0, 10.0))
    assert table == again and first.groups == second.groups and first.l2 == second.l2
    np.testing.assert_array_equal(first.weights, second.weights)
    back = LinearStacker.from_json(first.to_json())
    np.testing.assert_array_equal(back.log_probabilities(inputs), first.log_probabilities(inputs))
    assert len(table) == 3 * 2 and min(table.values()) < 0.5  # separable: low CV log-loss


def test_group_folds_keep_a_song_in_one_fold():
    songs = [f"s{i % 17}" for i in range(100)]
    fold = group_folds(songs, 5, seed=3)
    for song in set(songs):
        assert len(set(fold[[i for i, s in enumerate(songs) if s == song]])) == 1
    assert set(fold) == set(range(5))
    np.testing.assert_array_equal(fold, group_folds(songs, 5, seed=3))


def test_feature_columns():
    inputs, _ = synthetic(n=8)
    x = feature_matrix(inputs, STACKER_FEATURE_GROUPS)
    assert x.shape == (8, 4 + 4 + 4 + 10 + 1 + 1)
    np.testing.assert_allclose(x[:, :4].sum(axis=1), 0.0, atol=1e-9)  # centred across classes
    np.testing.assert_allclose(x[:, 4:8] * inputs.n_chords[:, None], x[:, :4])
    np.testing.assert_allclose(x[:, -1], np.log(inputs.n_chords))


def test_bad_shapes_and_values_are_refused():
    inputs, truth = synthetic(n=20)
    with pytest.raises(InvalidModelInput, match="mismatched shapes"):
        StackerInputs(inputs.harmony, inputs.performance[:, :3], inputs.n_chords, inputs.profile, inputs.major)
    with pytest.raises(InvalidModelInput, match="n_chords"):
        StackerInputs(inputs.harmony, inputs.performance, inputs.n_chords[:5], inputs.profile, inputs.major)
    with pytest.raises(InvalidModelInput, match="at least one chord"):
        StackerInputs(inputs.harmony, inputs.performance, np.zeros(20), inputs.profile, inputs.major)
    with pytest.raises(InvalidModelInput, match="feature groups"):
        feature_matrix(inputs, ("harmony", "tempo"))
    with pytest.raises(InvalidModelInput, match="labels"):
        fit_logistic(np.zeros((3, 2)), np.array([0, 1, 4]), 4, 1.0)
    with pytest.raises(InvalidModelInput, match="x \\(N, D\\)"):
        fit_logistic(np.zeros((3, 2)), np.array([0, 1]), 2, 1.0)
    with pytest.raises(InvalidModelInput, match="non-finite"):
        fit_logistic(np.array([[np.nan], [0.0]]), np.array([0, 1]), 2, 1.0)
    with pytest.raises(InvalidModelInput, match="l2"):
        fit_logistic(np.zeros((2, 1)), np.array([0, 1]), 2, 0.0)
    stacker = fit_stacker(inputs, truth, ("harmony",), 1.0)
    three = StackerInputs(inputs.harmony[:, :3], inputs.performance[:, :3], inputs.n_chords, inputs.profile, inputs.major)
    with pytest.raises(InvalidModelInput, match="4 classes x 4 features given 3 classes"):
        stacker.log_probabilities(three)
    with pytest.raises(InvalidModelInput, match="at least 2 songs"):
        choose_stacker(inputs, truth, ["one"] * 20)
