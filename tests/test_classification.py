"""Generative classification (models.classification): the harmony parts, the quadrant classifier's
combined score, the valence bias, the accuracy the weight is chosen by, song-grouped folds."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from models.classification import (ClipScores, choose_valence_bias, class_rhythm_log_likelihood,  # noqa: E402
                                   classification_accuracy, combined_scores, harmony_log_likelihood_parts,
                                   harmony_log_likelihoods, song_folds, song_of)
from models.errors import InvalidModelInput  # noqa: E402
from tests.support import tiny_models  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_set():
    return tiny_models.tiny_model_set()


def test_harmony_parts_add_up_to_the_harmony(tiny_model_set):
    model_set, clips = tiny_model_set
    clip = clips["up"][0]
    for mode in ("major", "minor", None):
        parts = harmony_log_likelihood_parts(model_set, clip.events, mode)
        total = harmony_log_likelihoods(model_set, clip.events, mode)
        for name in model_set.class_names:
            chords, rhythm, mode_part = parts[name]
            assert total[name] == chords + rhythm + mode_part
            assert rhythm == class_rhythm_log_likelihood(model_set, name, clip.events)
            share = min(max(model_set.parameters[name].major_share, 0.01), 0.99)
            expected = 0.0 if mode is None else math.log(share if mode == "major" else 1 - share)
            assert mode_part == pytest.approx(expected)
    with pytest.raises(InvalidModelInput, match="mode 'dorian' not allowed"):
        harmony_log_likelihood_parts(model_set, clip.events, "dorian")


def test_quadrant_classes_read_valence_from_harmony_and_arousal_from_performance():
    coordinates = [(0.6, 0.6), (-0.6, 0.6), (-0.6, -0.6), (0.6, -0.6)]  # Q1..Q4
    harmony = np.log([[0.45, 0.05, 0.05, 0.45]])  # says: positive valence, nothing about arousal
    performance = np.log([[0.1, 0.6, 0.2, 0.1]])  # says: high arousal (Q2 most of all)
    scores = combined_scores(harmony, performance, coordinates, harmony_weight=0.2)
    assert scores.argmax() == 0  # Q1: positive (harmony) and aroused (performance)
    weighted = combined_scores(harmony, performance, [(None, None)] * 4, harmony_weight=0.2)
    np.testing.assert_allclose(weighted, 0.2 * harmony + performance)
    assert weighted.argmax() == 1  # the plain sum lets the performance pick Q2


def test_valence_bias_per_chord_moves_the_valence_decision_in_proportion_to_the_chords():
    coordinates = [(0.6, 0.6), (-0.6, 0.6), (-0.6, -0.6), (0.6, -0.6)]
    # Two clips whose harmony leans negative by 0.05 nats per chord (10 and 40 chords).
    harmony = np.array([[-10.5, -10.0, -10.0, -10.5], [-42.0, -40.0, -40.0, -42.0]])
    performance = np.log([[0.6, 0.1, 0.1, 0.2], [0.6, 0.1, 0.1, 0.2]])  # high arousal
    plain = combined_scores(harmony, performance, coordinates, 1.0)
    assert list(plain.argmax(axis=1)) == [1, 1]  # Q2: negative valence
    biased = combined_scores(harmony, performance, coordinates, 1.0, valence_bias_per_chord=0.06, n_chords=[10, 40])
    assert list(biased.argmax(axis=1)) == [0, 0]  # +0.06 per chord outweighs -0.05 per chord for both
    weak = combined_scores(harmony, performance, coordinates, 1.0, valence_bias_per_chord=0.04, n_chords=[10, 40])
    assert list(weak.argmax(axis=1)) == [1, 1]

    # choose_valence_bias finds a bias in the grid that labels both clips right when they are Q1.
    class_info = {name: (name, v, a) for name, (v, a) in zip(["Q1", "Q2", "Q3", "Q4"], coordinates)}
    pooled = ClipScores(("Q1", "Q2", "Q3", "Q4"), harmony, performance, np.array([0, 0]), np.array([10, 40]))
    bias, table = choose_valence_bias(pooled, 1.0, class_info)
    assert 0.05 < bias <= 0.1 and table[bias] == (1.0, 1.0) and table[0.0] == (0.0, 0.0)
    assert choose_valence_bias(pooled, 1.0, None) == (0.0, {})


def test_the_accuracy_the_weight_is_chosen_by_is_the_shipped_classifiers():
    coordinates = [(0.6, 0.6), (-0.6, 0.6), (-0.6, -0.6), (0.6, -0.6)]
    class_info = {name: (name, v, a) for name, (v, a) in zip(["Q1", "Q2", "Q3", "Q4"], coordinates)}
    harmony = np.log([[0.45, 0.05, 0.05, 0.45]])  # positive valence
    performance = np.log([[0.1, 0.6, 0.2, 0.1]])  # high arousal, Q2 most of all
    scores = ClipScores(("Q1", "Q2", "Q3", "Q4"), harmony, performance, np.array([0]))
    # weight 0 still means the factorised quadrant classifier (what ModelSet.log_likelihoods would
    # do with it), not the performance alone: it once meant that, and CV then chose a weight whose
    # shipped classifier it had never scored
    assert classification_accuracy(scores, class_info)["classes"] == 1.0
    assert classification_accuracy(scores, class_info, part="performance")["classes"] == 0.0
    assert classification_accuracy(scores, class_info, part="harmony")["valence"] == 1.0
    with pytest.raises(InvalidModelInput, match="available parts"):
        classification_accuracy(scores, class_info, part="melody")
    with pytest.raises(InvalidModelInput, match="only the combined score takes them"):
        classification_accuracy(scores, class_info, part="harmony", harmony_weight=2.0)


def test_song_folds_keep_a_song_together_whatever_its_clips_labels():
    from types import SimpleNamespace

    clips = [SimpleNamespace(path=Path(f"/data/{label}_{song}_{i}.mid"), label=label)
             for song in ("egYS_mNu", "abc", "Xyz12", "q_q_q", "song5", "song6")
             for i, label in enumerate(("Q1", "Q3", "Q4"))]
    assert song_of(clips[0]) == "egYS_mNu"
    # a label given by a CSV, not by the name: the stem is kept whole apart from the clip number
    assert song_of(SimpleNamespace(path=Path("/data/ballad_007_2.mid"), label="calm")) == "ballad_007"
    # the three clips of each song (three labels) are one song, so they land in one fold
    assert len({song_of(c) for c in clips}) == 6
    fold_of = song_folds(clips, 3, seed=0)
    assert sorted(fold_of) == sorted({"egYS_mNu", "abc", "Xyz12", "q_q_q", "song5", "song6"})
    assert sorted(fold_of.values()) == [0, 0, 1, 1, 2, 2]
