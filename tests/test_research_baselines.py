"""Next-chord baselines and evaluation metrics on synthetic chord sequences (fast, numpy only)."""
from __future__ import annotations

import numpy as np
import pytest

from models.chord_states import NUM_STATES, chord_from_state, chord_state_index
from research.baselines import AddKUnigram, KneserNeyModel, WindowRBM, WindowRBMConfig
from models.errors import InvalidModelInput
from models.next_chord import next_chord_metrics
from research.evaluation import (GroupedAccuracy, ends_with_cadence, grouped_accuracy, progression_statistics, vocabulary_of)
from models.vocabulary import QUALITY_BY_NAME, ChordEvent

MAJ, MIN, DOM7, DIM = (QUALITY_BY_NAME[n] for n in ("maj", "min", "dom7", "dim"))


def chord(root: int, quality: int = MAJ, bass: int | None = None, beats: float = 1.0) -> ChordEvent:
    return ChordEvent(root, quality, root if bass is None else bass, beats)


# A 4-state Markov chain with strong transitions: I -> IV -> V -> I, sometimes I -> vi -> IV.
STATES = [chord(0), chord(5), chord(7, DOM7), chord(9, MIN)]
TRANSITIONS = np.array([[0.0, 0.6, 0.1, 0.3], [0.05, 0.0, 0.9, 0.05], [0.9, 0.05, 0.0, 0.05], [0.0, 0.9, 0.1, 0.0]])


def markov_sequences(n: int, length: int, seed: int) -> list[list[ChordEvent]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = int(rng.integers(4))
        seq = []
        for _ in range(length):
            seq.append(STATES[s])
            s = int(rng.choice(4, p=TRANSITIONS[s]))
        out.append(seq)
    return out


def test_state_index_round_trip_and_bounds():
    seen = set()
    for state in range(NUM_STATES):
        event = chord_from_state(state)
        assert chord_state_index(event) == state
        seen.add((event.root, event.quality, event.bass))
    assert len(seen) == NUM_STATES
    with pytest.raises(InvalidModelInput, match="out of range"):
        chord_from_state(NUM_STATES)


@pytest.mark.parametrize("order", [2, 3])
def test_kneser_ney_sums_to_one_over_all_states(order):
    model = KneserNeyModel(order).fit(markov_sequences(30, 20, seed=1))
    for history in ([], [STATES[0]], [STATES[0], STATES[1]], [chord(3, DIM), chord(11, DIM)], [STATES[2], chord(1)]):
        p = 2.0 ** model.log2_probs_next(history)
        assert p.shape == (NUM_STATES,)
        assert p.sum() == pytest.approx(1.0, abs=1e-9)
        assert p.min() > 0.0  # unseen states keep probability mass (uniform at the bottom)
    # a frequent transition is far more likely than an unseen state
    p = 2.0 ** model.log2_probs_next([STATES[1]])
    assert p[chord_state_index(STATES[2])] > 0.5
    assert model.predict_next([STATES[1]]) == chord(7, DOM7)


def test_kneser_ney_discounts_come_from_count_of_counts():
    model = KneserNeyModel(3).fit(markov_sequences(30, 20, seed=2))
    for level, (d1, d2, d3) in model._discount.items():
        assert 0 < d1 <= 1 and 0 < d2 <= 2 and 0 < d3 <= 3, level


def test_unigram_add_k_sums_to_one_and_follows_counts():
    model = AddKUnigram(k=0.5).fit([[chord(0), chord(0), chord(7)]])
    p = 2.0 ** model.log2_probs_next([])
    assert p.sum() == pytest.approx(1.0)
    assert p[chord_state_index(chord(0))] == pytest.approx(2.5 / (3 + 0.5 * NUM_STATES))
    with pytest.raises(InvalidModelInput, match="k > 0"):
        AddKUnigram(k=0)


def test_bigram_beats_unigram_on_markov_chain():
    train, test = markov_sequences(60, 24, seed=3), markov_sequences(20, 24, seed=4)
    uni = next_chord_metrics(AddKUnigram().fit(train), test)
    bi = next_chord_metrics(KneserNeyModel(2).fit(train), test)
    tri = next_chord_metrics(KneserNeyModel(3).fit(train), test)
    assert uni.events == bi.events == 20 * 24
    assert bi.bits_per_chord < uni.bits_per_chord - 0.5
    assert bi.top1_accuracy > uni.top1_accuracy + 0.2
    assert tri.bits_per_chord < uni.bits_per_chord


def test_window_rbm_trains_and_predicts():
    train, test = markov_sequences(40, 16, seed=5), markov_sequences(10, 16, seed=6)
    untrained = WindowRBM(WindowRBMConfig(n_hidden=16, epochs=0))
    rbm = WindowRBM(WindowRBMConfig(n_hidden=16, epochs=15, batch_size=32, seed=1)).fit(train)
    p = 2.0 ** rbm.log2_probs_next([STATES[0], STATES[1]])
    assert p.sum() == pytest.approx(1.0, abs=1e-9) and p.min() > 0
    before, after = next_chord_metrics(untrained, test), next_chord_metrics(rbm, test)
    assert after.bits_per_chord < before.bits_per_chord - 3  # it learned (uniform: log2(NUM_STATES) ~ 11 bits)
    assert rbm.predict_next([STATES[3], STATES[0], STATES[1]]) == STATES[2]  # IV -> V7 is 90 %


def test_cadences_and_progression_statistics():
    major_authentic = [chord(0), chord(5), chord(7, DOM7), chord(0)]
    major_plagal = [chord(0), chord(5), chord(0, MAJ, bass=4)]
    minor_authentic = [chord(9, MIN), chord(2, MIN), chord(4, MAJ), chord(9, MIN)]
    minor_vii = [chord(9, MIN), chord(8, DIM), chord(9, MIN)]
    no_cadence = [chord(0), chord(7), chord(7), chord(9, MIN)]
    assert ends_with_cadence(major_authentic, "major") and ends_with_cadence(major_plagal, "major")
    assert ends_with_cadence(minor_authentic, "minor") and ends_with_cadence(minor_vii, "minor")
    assert not ends_with_cadence(no_cadence, "major")
    assert not ends_with_cadence(minor_authentic, "major")  # A minor is not the tonic of C major
    stats = progression_statistics([(major_authentic, "major"), (no_cadence, "major"), (minor_vii, "minor")],
                                   vocabulary=vocabulary_of([major_authentic]))
    assert stats.progressions == 3 and stats.chords == 11
    assert stats.cadence_share == pytest.approx(2 / 3)
    assert stats.repeat_share == pytest.approx(1 / 8)  # G G is the only repeat among 3+3+2 steps
    # vocabulary = {C, F, G7}: the first progression's 4 chords + the C of the second (G is not G7)
    assert stats.vocabulary_share == pytest.approx(5 / 11)
    # G#dim in A minor is diatonic to harmonic minor; every chord here is diatonic
    assert stats.diatonic_share == pytest.approx(1.0)
    assert stats.major_share == pytest.approx(2 / 3)
    with pytest.raises(InvalidModelInput, match="allowed modes"):
        progression_statistics([(major_authentic, "dorian")])


def test_classification_accuracy_groups():
    rows = [
        {"Q1": -1.0, "Q2": -5.0, "Q3": -5.0, "Q4": -5.0},  # Q1 right
        {"Q1": -2.0, "Q2": -9.0, "Q3": -9.0, "Q4": -1.0},  # true Q1, says Q4: valence right, arousal wrong
        {"Q1": -9.0, "Q2": -1.0, "Q3": -1.5, "Q4": -9.0},  # true Q3, says Q2: valence right, arousal wrong
    ]
    acc = grouped_accuracy(["Q1", "Q1", "Q3"], rows)
    assert acc == GroupedAccuracy(1 / 3, 1.0, 1 / 3, 3)
    with pytest.raises(InvalidModelInput):
        grouped_accuracy(["Q5"], rows[:1])


def test_mixture_of_class_models_is_a_proper_sequential_mixture():
    from models.next_chord import MixtureNextChord

    a = KneserNeyModel(2).fit(markov_sequences(20, 12, seed=7))
    b = AddKUnigram(k=1.0).fit([[chord(2, MIN)] * 10])
    seq = np.array([chord_state_index(e) for e in markov_sequences(1, 10, seed=8)[0]])
    mix = MixtureNextChord({"a": a, "b": b})
    log2p = mix.log2_probs_sequence(seq)
    assert log2p.shape == (10, NUM_STATES)
    assert np.allclose(np.exp2(log2p).sum(axis=1), 1.0)
    # first step: the prior halves; later the chain's own model dominates the posterior
    assert np.allclose(np.exp2(log2p[0]), 0.5 * np.exp2(a.log2_probs_next([])) + 0.5 * np.exp2(b.log2_probs_next([])))
    assert np.allclose(log2p[-1], a.log2_probs_next(seq[:-1]), atol=1e-3)
    # the sequence's total log-likelihood equals the mixture of the two models' sequence likelihoods
    total_a = sum(a.log2_probs_next(seq[:t])[seq[t]] for t in range(10))
    total_b = sum(b.log2_probs_next(seq[:t])[seq[t]] for t in range(10))
    assert log2p[np.arange(10), seq].sum() == pytest.approx(np.log2(0.5 * 2 ** total_a + 0.5 * 2 ** total_b))


def test_music21_mode_of_rendered_chords():
    from research.evaluation import music21_major_share, music21_mode

    c_major = [chord(0, beats=2), chord(5, beats=2), chord(7, DOM7, beats=2), chord(0, beats=2)]
    a_minor = [chord(9, MIN, beats=2), chord(2, MIN, beats=2), chord(4, MAJ, beats=2), chord(9, MIN, beats=2)]
    assert music21_mode(c_major) == "major"
    assert music21_mode(a_minor) == "minor"
    assert music21_major_share([c_major, a_minor, c_major]) == pytest.approx(2 / 3)
    with pytest.raises(InvalidModelInput, match="empty"):
        music21_mode([])


def test_crbm_adapter_uses_the_same_state_order_as_the_crbm():
    """A small real (untrained, random) CRBM: the adapter's distribution is the CRBM's exact one."""
    import tensorflow as tf

    from models.chord_states import chord_state_index
    from models.crbm import CHORD_LAYOUT, ConditionalRBM, chord_visible, history_matrix
    from models.next_chord import CRBMNextChord

    assert all(chord_state_index(chord_from_state(s)) == s for s in range(0, NUM_STATES, 7))
    rbm = ConditionalRBM(CHORD_LAYOUT, n_hidden=8, history=2, seed=3)
    rbm.W.assign(rbm.W * 100.0)  # make the distribution far from uniform
    seq = markov_sequences(1, 6, seed=9)[0]
    adapter = CRBMNextChord(rbm)
    log2p = adapter.log2_probs_sequence(np.array([chord_state_index(e) for e in seq]))
    assert np.allclose(np.exp2(log2p).sum(axis=1), 1.0, atol=1e-4)
    visible = chord_visible(seq)
    exact = rbm.log_likelihood(tf.constant(visible), tf.constant(history_matrix(visible, 2))).numpy() / np.log(2)
    assert np.allclose(log2p[np.arange(6), [chord_state_index(e) for e in seq]], exact, atol=1e-3)
    assert np.allclose(adapter.log2_probs_next(seq[:3]), log2p[3], atol=1e-4)
