"""The exact predictor over the training frames (research.frame_support): scores, n-gram, scoring."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from models.errors import InvalidModelInput
from research.frame_support import FrameNgram, FrameScorer, FrameSupport, UNSEEN, crbm_scores, predictive

A, B, C = [1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1]


def test_support_holds_each_training_frame_once_and_finds_them():
    rolls = [np.array([A, B, A], np.float32), np.array([C, A], np.float32)]
    support = FrameSupport.of(rolls)
    assert support.size == 3
    ids = support.ids(np.array([A, C, [1, 1, 1, 1], B], np.float32))
    assert ids[2] == UNSEEN
    np.testing.assert_array_equal(support.frames[ids[[0, 1, 3]]], [A, C, B])
    with pytest.raises(InvalidModelInput, match="no training frame"):
        FrameSupport.of([np.zeros((0, 4), np.float32)])


@pytest.mark.slow
def test_exact_scores_are_the_crbms_free_energy_and_normalise_over_every_state():
    """With every one of the 2**D frames in the support, the predictive distribution is the CRBM's exact
    conditional p(v | u) ~ exp(-F(v | u)), computed here by the model's own free_energy."""
    from models.crbm import ConditionalRBM, VisibleLayout
    from models.tf_runtime import tf

    d = 4
    rbm = ConditionalRBM(VisibleLayout.binary(d), n_hidden=5, history=1, seed=3)
    rng = np.random.default_rng(0)
    rbm.set_weights({**rbm.get_weights(), "W": rng.normal(0, 1, (d, 5)).astype(np.float32),
                     "A": rng.normal(0, 1, rbm.A.shape).astype(np.float32),
                     "B": rng.normal(0, 1, rbm.B.shape).astype(np.float32)})
    every_frame = np.array(list(itertools.product([0, 1], repeat=d)), np.float32)
    support = FrameSupport.of([every_frame])
    u = np.concatenate([rng.integers(0, 2, (3, d)), np.zeros((3, 1))], axis=1).astype(np.float32)
    scores = crbm_scores(rbm, u, support, rows_per_batch=2)
    for r in range(len(u)):
        free = rbm.free_energy(tf.constant(support.frames), tf.constant(np.repeat(u[r:r + 1], len(support.frames), 0)))
        np.testing.assert_allclose(scores[r], -free.numpy(), rtol=1e-5, atol=1e-4)
    p = predictive(scores)
    np.testing.assert_allclose(p.sum(1), 1.0)
    brute = np.exp(scores - scores.max(1, keepdims=True))
    np.testing.assert_allclose(p, brute / brute.sum(1, keepdims=True))
    sharp = predictive(scores, temperature=0.01)  # low T: the mode
    assert (sharp.argmax(1) == scores.argmax(1)).all() and (sharp.max(1) > 0.99).all()
    with pytest.raises(InvalidModelInput, match="temperature 0"):
        predictive(scores, temperature=0)


def test_ngram_is_interpolated_absolute_discounting():
    roll = np.array([A, B, A, B, A, C], np.float32)
    support = FrameSupport.of([roll])
    a, b, c = support.ids(np.array([A, B, C], np.float32))
    d = 0.5
    ngram = FrameNgram(support, order=2, discount=d).fit([roll])
    logp = ngram.log_probabilities(np.array([A, B], np.float32))
    np.testing.assert_allclose(np.exp(logp).sum(1), 1.0)
    # continuation unigram: contexts before A: {START, B}, before B: {A}, before C: {A}; add 0.5
    unigram = np.zeros(3)
    unigram[[a, b, c]] = [2.5, 1.5, 1.5]
    unigram /= unigram.sum()
    # step 0 follows START (seen once, before A)
    expected0 = d * 1 / 1 * unigram
    expected0[a] += (1 - d) / 1
    np.testing.assert_allclose(np.exp(logp[0]), expected0)
    # step 1 follows A: A->B twice, A->C once
    expected1 = d * 2 / 3 * unigram
    expected1[b] += (2 - d) / 3
    expected1[c] += (1 - d) / 3
    np.testing.assert_allclose(np.exp(logp[1]), expected1)
    with pytest.raises(InvalidModelInput, match="discount 1"):
        FrameNgram(support, order=2, discount=1)


def test_scoring_is_exact_for_point_masses_and_mixtures():
    from research.jsb import frame_accuracies

    support = FrameSupport.of([np.array([A, B, C], np.float32)])
    a, b, c = support.ids(np.array([A, B, C], np.float32))
    targets = np.array([A, [1, 1, 0, 1], A], np.float32)  # the second frame is outside the support
    p = np.zeros((3, 3))
    p[0, a] = 1.0  # certain and right
    p[1, b] = 1.0  # certain, shares 2 of 3 notes
    p[2, [a, c]] = 0.5  # a half chance of being right
    scored = FrameScorer(support, targets, missed=np.array([0, 0, 1])).score(p)
    hard = frame_accuracies(np.array([A, B], np.float32), targets[:2])
    np.testing.assert_allclose(scored.step_accuracies[:2], hard)
    # the third frame has one more target note outside the keys: A scores 2/3, C scores 1/4
    np.testing.assert_allclose(scored.step_accuracies[2], 0.5 * 2 / 3 + 0.5 * 1 / 4)
    np.testing.assert_allclose(scored.marginals[2], 0.5 * np.array(A) + 0.5 * np.array(C))
    assert scored.log_likelihoods[0] == 0.0 and scored.log_likelihoods[1] == -math.inf
    assert scored.log_likelihoods[2] == pytest.approx(math.log(0.5))
    with pytest.raises(InvalidModelInput, match="probabilities of shape"):
        FrameScorer(support, targets).score(p[:, :2])
