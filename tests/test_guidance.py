"""models.guidance: guided (contrastive) chord logits and sampling, and reranking."""
from __future__ import annotations

import numpy as np
import pytest

from models.errors import InvalidModelInput
from models.guidance import (check_guidance, colour_bias, guided_log_probs, guided_logits, mixture_log_probs)


def _log(p):
    with np.errstate(divide="ignore"):
        return np.log(np.asarray(p, np.float64))


CONDITIONAL = np.array([0.5, 0.3, 0.15, 0.05])  # p(x | c)
REFERENCE = np.array([0.4, 0.1, 0.25, 0.25])  # p(x): what all classes share


def test_g_zero_gives_the_plain_distribution():
    assert np.allclose(guided_logits(_log(CONDITIONAL), _log(REFERENCE), 0.0), _log(CONDITIONAL))
    assert np.allclose(np.exp(guided_log_probs(_log(CONDITIONAL), _log(REFERENCE), 0)), CONDITIONAL)


@pytest.mark.parametrize("g", [0.5, 1.0, 2.0])
def test_guided_distribution_is_the_contrastive_formula(g):
    expected = CONDITIONAL ** (1 + g) / REFERENCE ** g
    expected = expected / expected.sum()
    assert np.allclose(np.exp(guided_log_probs(_log(CONDITIONAL), _log(REFERENCE), g)), expected)
    logits = guided_logits(_log(CONDITIONAL), _log(REFERENCE), g)
    assert np.allclose(logits, (1 + g) * _log(CONDITIONAL) - g * _log(REFERENCE))


def test_guidance_favours_what_distinguishes_the_class():
    # state 1 is 3x likelier under the class than overall, state 3 5x less likely: guidance moves mass to 1
    plain = CONDITIONAL
    guided = np.exp(guided_log_probs(_log(CONDITIONAL), _log(REFERENCE), 1.0))
    assert guided[1] > plain[1] and guided[3] < plain[3]
    assert np.argmax(guided) == 1  # the distinctive state now leads, not the most common one


def test_impossible_states_stay_impossible_and_shapes_must_match():
    conditional = _log([0.5, 0.5, 0.0])
    reference = _log([0.2, 0.3, 0.5])
    out = guided_log_probs(conditional, reference, 1.5)
    assert out[2] == -np.inf and np.isclose(np.exp(out).sum(), 1.0)
    # a state the reference rules out is not given +inf
    assert np.isneginf(guided_logits(_log([0.5, 0.5]), _log([1.0, 0.0]), 1.0)[1])
    with pytest.raises(InvalidModelInput, match="shapes"):
        guided_logits(np.zeros(3), np.zeros(4), 1.0)


def test_batched_rows_are_independent():
    cond = np.stack([_log(CONDITIONAL), _log(REFERENCE)])
    ref = np.stack([_log(REFERENCE), _log(CONDITIONAL)])
    out = guided_log_probs(cond, ref, 1.0)
    assert np.allclose(out[0], guided_log_probs(_log(CONDITIONAL), _log(REFERENCE), 1.0))
    assert np.allclose(np.exp(out).sum(axis=1), 1.0)


@pytest.mark.parametrize("bad", [-0.1, 11, float("nan"), "strong", None, True])
def test_bad_guidance_is_refused_naming_it(bad):
    with pytest.raises(InvalidModelInput) as error:
        check_guidance(bad)
    assert repr(bad) in str(error.value) and "0..10" in str(error.value)


def test_mixture_is_the_normalised_weighted_product():
    per_class = np.stack([_log([0.7, 0.2, 0.1]), _log([0.1, 0.3, 0.6])])  # (K=2, S=3)
    mixed = np.exp(mixture_log_probs(per_class, np.array([0.5, 0.5])))
    expected = np.sqrt([0.07, 0.06, 0.06])
    assert np.allclose(mixed, expected / expected.sum())
    assert np.allclose(np.exp(mixture_log_probs(per_class, np.array([1.0, 0.0]))), [0.7, 0.2, 0.1])


def test_colour_bias_marks_every_bass_of_the_borrowed_chords():
    from models.chord_states import chord_from_state
    from models.vocabulary import QUALITY_BY_NAME

    bias = colour_bias("major", ((5, "min"),), 2.0)  # iv of C major: F minor
    marked = [chord_from_state(s) for s in np.flatnonzero(bias)]
    assert len(marked) == 12 and all(e.root == 5 and e.quality == QUALITY_BY_NAME["min"] for e in marked)
    assert set(bias[bias != 0]) == {2.0}
    minor = colour_bias("minor", ((8, "maj"),), 1.0)  # VI of A minor: F major
    assert all(chord_from_state(s).root == 5 for s in np.flatnonzero(minor))
    with pytest.raises(InvalidModelInput, match="quality"):
        colour_bias("major", ((5, "weird"),), 1.0)


# -- on a real (tiny, trained) model set --------------------------------------------------------


@pytest.fixture(scope="module")
def model_set():
    from models.crbm import CHORD_LAYOUT
    from models.model_folder import model_set_from_class_models
    from models.training import TrainingConfig, train_class_models
    from tests.support.tiny_models import synthetic_clips

    config = TrainingConfig(n_hidden=8, history=2, joint_history=1, k=1, epochs=5, pretrain_epochs=10, batch_size=16,
                            learning_rate=0.1)
    return model_set_from_class_models(name="tiny", layout=CHORD_LAYOUT.to_json(), hyperparameters=config.to_json(),
                                       class_models=train_class_models(synthetic_clips(), config))


def test_guided_generation_fills_the_bars_and_ends_on_the_tonic(model_set):
    from models.chord_states import chord_state_index
    from models.generation import GenerationOptions, generate, tonic_states

    name = model_set.class_names[0]
    for g in (0.0, 1.0, 3.0):
        for seed in range(3):
            out = generate(model_set, {name: 1.0}, GenerationOptions(bars=4, guidance=g, mode="minor"), seed=seed)
            assert sum(e.beats for e in out.events) == pytest.approx(16)
            assert out.mode == "minor"
            tonic = set(tonic_states("minor").tolist())
            assert chord_state_index(out.events[0]) in tonic and chord_state_index(out.events[-1]) in tonic
            assert all(a != b for a, b in zip(out.events, out.events[1:]))
    again = generate(model_set, {name: 1.0}, GenerationOptions(bars=4, guidance=1.0), seed=5)
    assert again == generate(model_set, {name: 1.0}, GenerationOptions(bars=4, guidance=1.0), seed=5)
    with pytest.raises(InvalidModelInput, match="guidance"):
        generate(model_set, {name: 1.0}, GenerationOptions(bars=4, guidance=-1), seed=1)


def test_generators_guided_weights_equal_the_guided_distribution(model_set):
    """The generator applies guidance as re-weighted class experts in one logits call: the result must
    equal (1+g) log p(x|c) - g log p(x) computed from the per-class log-probabilities."""
    from models.generation import GenerationOptions, _Sampler, mode_expert

    weights = model_set.validate_weights({model_set.class_names[0]: 0.8, model_set.class_names[1]: 0.2})
    history = [5, 40, 300]
    for g in (0.0, 1.5):
        sampler = _Sampler(model_set, weights, "major", GenerationOptions(bars=4, guidance=g), np.random.default_rng(0))
        experts = model_set.experts()
        per_class = experts.class_log_probs(experts.history_vector(history)[None])[0]
        w = np.asarray([weights[n] for n in model_set.class_names])
        uniform = np.full(len(w), 1 / len(w))
        expected = guided_logits(mixture_log_probs(per_class, w), mixture_log_probs(per_class, uniform), g)
        expected = expected + mode_expert(model_set, weights, "major")
        expected = expected - np.logaddexp.reduce(expected)
        np.testing.assert_allclose(sampler.log_probs([history])[0], expected, atol=2e-3)


def test_reranking_keeps_the_best_scored_candidate(model_set):
    from models.generation import GenerationOptions, reranked_generate
    from models.guidance import contrastive_harmony_score

    name = model_set.class_names[0]
    best, scores = reranked_generate(model_set, {name: 1.0}, GenerationOptions(bars=4), candidates=5, seed=2)
    assert len(scores) == 5 and all(s <= 1e-9 for s in scores)  # log of a probability
    assert contrastive_harmony_score(model_set, {name: 1.0}, best.events) == pytest.approx(max(scores))
    with pytest.raises(InvalidModelInput, match="candidates"):
        reranked_generate(model_set, {name: 1.0}, GenerationOptions(bars=4), candidates=0, seed=2)
