"""models.training's fused loop (issue 15, train time): the same updates as the dense per-batch loop,
the idle-update powers, and models.classification.ClassScorer against the stacked experts."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from models.classification import ClassScorer, ScoredNextChord, score_clips, harmony_log_likelihoods
from models.crbm import CHORD_LAYOUT, chord_visible
from models.training import TrainingConfig, idle_update_powers, train_crbm
from models.vocabulary import ChordEvent
from tests.support import tiny_models


def _chord_sequences(n_seq: int = 12, length: int = 14, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    roots, qualities = (0, 5, 7, 9, 2, 4), (0, 1, 2, 4)
    return [chord_visible([ChordEvent(int(r), int(q), int(r), 2.0)
                           for r, q in zip(rng.choice(roots, length), rng.choice(qualities, length))])
            for _ in range(n_seq)]


@pytest.mark.parametrize("method", ["exact", "cd"])
def test_fused_loop_gives_the_dense_loops_weights(method):
    """Joint rows on, their own weight decay, a momentum switch, a last short batch, two epochs: the fused
    loop (sparse rows, idle joint rows caught up by M^s) must end where the dense loop ends. The exact
    gradient is deterministic (float rounding only, which momentum amplifies: hence the small learning
    rate); CD draws the same random numbers."""
    config = TrainingConfig(n_hidden=6, history=2, joint_history=2, joint_weight_decay=0.01, weight_decay=0.001,
                            method=method, k=1, epochs=2, batch_size=16, momentum_switch_epoch=1, learning_rate=0.02)
    sequences = _chord_sequences()
    fused, _ = train_crbm(sequences, CHORD_LAYOUT, config, fused=True)
    dense, _ = train_crbm(sequences, CHORD_LAYOUT, config, fused=False)
    for name, value in dense.get_weights().items():
        assert np.abs(value).max() > 0
        np.testing.assert_allclose(fused.get_weights()[name], value, atol=5e-5 if method == "exact" else 5e-3, err_msg=name)


def test_fused_loop_trains_a_chord_model_that_predicts_its_data():
    from models.training import score_sequences

    config = replace(TrainingConfig.for_chords(), n_hidden=16, epochs=15, pretrain_epochs=0, batch_size=16)
    loop = [ChordEvent(0, 0, 0, 2.0), ChordEvent(9, 1, 9, 2.0), ChordEvent(5, 0, 5, 2.0), ChordEvent(7, 2, 7, 2.0)]
    rbm, report = train_crbm([chord_visible(loop * 6)] * 8, CHORD_LAYOUT, config)
    assert report.final_epoch == 15
    assert score_sequences(rbm, [chord_visible(loop * 6)]).top1_accuracy > 0.9


def test_idle_update_powers_are_repeated_updates_without_gradient():
    lr, momentum, decay = 0.05, 0.9, 0.003
    powers = idle_update_powers(lr, momentum, decay, 7)
    weight, velocity = 0.7, -0.2
    for s in range(8):
        expected = powers[s] @ np.array([0.7, -0.2])
        assert expected == pytest.approx([weight, velocity], rel=1e-5)
        velocity = momentum * velocity - lr * decay * weight
        weight = weight + velocity


def test_class_scorer_gives_the_stacked_experts_numbers():
    model_set, clips = tiny_models.tiny_model_set()
    from models.chord_states import chord_state_index
    from models.crbm import conditioning_matrix

    events = list(clips["up"][0].events) + list(clips["down"][1].events)
    states = np.asarray([chord_state_index(e) for e in events])
    u = conditioning_matrix(chord_visible(events), model_set.history, model_set.joint_history, CHORD_LAYOUT)
    expected = model_set.experts().class_log_probs(u)
    scorer = ClassScorer(model_set)
    full, short = scorer.log_probs([states, states[:3]])
    np.testing.assert_allclose(full, expected, atol=1e-4)
    np.testing.assert_allclose(short, expected[:3], atol=1e-4)
    observed = scorer.log_probs([states], observed_only=True)[0]
    np.testing.assert_allclose(observed, expected[np.arange(len(states)), :, states], atol=1e-4)
    predictors = ScoredNextChord.for_classes(scorer, model_set.class_names, [states])
    np.testing.assert_allclose(predictors["down"].log2_probs_sequence(states) * np.log(2.0),
                               expected[:, model_set.class_names.index("down")], atol=1e-4)
    # a sequence not scored in advance is scored on demand
    np.testing.assert_allclose(predictors["up"].log2_probs_sequence(states[:5]) * np.log(2.0),
                               expected[:5, model_set.class_names.index("up")], atol=1e-4)


def test_score_clips_gives_harmony_log_likelihoods_numbers():
    model_set, clips = tiny_models.tiny_model_set()
    chosen = clips["up"][:3] + clips["down"][:3]
    scores = score_clips(model_set, chosen)
    for row, clip in zip(scores.harmony, chosen):
        one = harmony_log_likelihoods(model_set, clip.events, clip.mode)
        np.testing.assert_allclose(row, [one[n] for n in model_set.class_names], atol=1e-3)
    assert list(scores.truth) == [model_set.class_names.index(c.label) for c in chosen]
