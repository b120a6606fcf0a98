"""models.phrase: the class CRBMs (the shipped models) sampled on a learned rhythm with cadences."""
from __future__ import annotations

import numpy as np
import pytest

from research.baselines import KneserNeyModel
from models.errors import InvalidModelInput
from models.form_metrics import Piece, form_report, is_tonic
from models.harmonic_rhythm import fit_harmonic_rhythm
from models.phrase import FormOptions, cadence_states, compose_form
from models.model_folder import load_model_set
from models.vocabulary import QUALITY_BY_NAME, ChordEvent
from tests.test_harmonic_rhythm import _songs


@pytest.fixture(scope="module")
def model_set():
    return load_model_set()


@pytest.fixture(scope="module")
def rhythm(tmp_path_factory):
    return fit_harmonic_rhythm(_songs(tmp_path_factory.mktemp("songs"), [2, 2, 4], repeats=12))


@pytest.fixture(scope="module")
def pop():
    maj, dom7, mn = (QUALITY_BY_NAME[q] for q in ("maj", "dom7", "min"))
    loop = [ChordEvent(0, maj, 0, 2), ChordEvent(9, mn, 9, 2), ChordEvent(5, maj, 5, 2), ChordEvent(7, dom7, 7, 2)]
    return KneserNeyModel(2).fit([loop * 8])


def _state(event):
    from models.chord_states import chord_state_index

    return chord_state_index(event)


def test_through_composed_piece_has_bars_phrases_and_cadences(model_set, rhythm, pop):
    for seed in range(3):
        g = compose_form(model_set, {"Q3": 1.0}, FormOptions(bars=8, mode="minor"), rhythm=rhythm, pop=pop, seed=seed)
        assert g.mode == "minor" and g.beats_per_bar == 4
        assert sum(e.beats for e in g.events) == 32
        assert is_tonic(g.events[0], "minor") and is_tonic(g.events[-1], "minor") and g.events[-1].beats >= 4
        # the first 4-bar phrase ends on the dominant (E, E7, Esus4 in A minor), exactly at bar 5
        half = g.phrase_ends[0]
        assert _state(g.events[half]) in set(cadence_states("minor", "dominant").tolist())
        assert sum(e.beats for e in g.events[:half + 1]) == 16
        assert all(a != b for a, b in zip(g.events, g.events[1:]))  # no chord repeats its predecessor
        report = form_report([Piece.from_events(g.events, g.mode, 4)])
        assert report.short_chords_crossing == 0.0 and report.tonic_ending == 1.0
    again = compose_form(model_set, {"Q3": 1.0}, FormOptions(bars=8, mode="minor"), rhythm=rhythm, pop=pop, seed=2)
    assert again.events == g.events  # same seed, same piece


def test_pop_expert_pulls_towards_its_chords(model_set, rhythm, pop):
    def share(weight):
        chords = [e for s in range(6) for e in compose_form(
            model_set, {"Q2": 1.0}, FormOptions(bars=8, mode="major", pop_weight=weight, half_cadences=False),
            rhythm=rhythm, pop=pop, seed=s).events]
        return np.mean([(e.root, e.quality) in {(0, 0), (9, 1), (5, 0), (7, 2)} for e in chords])

    assert share(3.0) > share(0.0) + 0.2


def test_loop_form_repeats_its_progression(model_set, rhythm, pop):
    g = compose_form(model_set, {"Q1": 1.0}, FormOptions(bars=8, form="loop", loop_bars=2, variation=0.0, mode="major"),
                     rhythm=rhythm, pop=pop, seed=4)
    events = [(e.root, e.quality, e.beats) for e in g.events]
    onsets = np.concatenate([[0], np.cumsum([e.beats for e in g.events])])
    first_loop = [ev for ev, start in zip(events, onsets) if start < 8]
    second_loop = [ev for ev, start in zip(events, onsets) if 8 <= start < 16]
    assert first_loop == second_loop and sum(e.beats for e in g.events) == 32
    assert is_tonic(g.events[-1], "major") and g.events[-1].beats >= 4


def test_metres_and_bad_options(model_set, rhythm, pop):
    for metre, bpb, compound in (("3/4", 3, False), ("6/8", 3, True)):
        g = compose_form(model_set, {"Q4": 1.0}, FormOptions(bars=8, metre=metre), rhythm=rhythm, pop=pop, seed=1)
        assert g.beats_per_bar == bpb and g.compound == compound and sum(e.beats for e in g.events) == 8 * bpb
        if compound:  # 6/8 chords change on the dotted-quarter beats: quarter-note onsets at multiples of 1.5
            onsets = np.cumsum([0.0] + [e.beats for e in g.events])
            assert all((x / 1.5) == int(x / 1.5) for x in onsets)
    long = compose_form(model_set, {"Q2": 0.5, "Q3": 0.5}, FormOptions(bars=64), rhythm=rhythm, pop=pop, seed=3)
    assert sum(e.beats for e in long.events) == 256 and len(long.phrase_ends) == 16
    for bad, message in ((dict(metre="5/4"), "metre '5/4'"), (dict(loop_bars=3), "loop_bars=3"),
                         (dict(bars=300), "bars=300"), (dict(form="rondo"), "form 'rondo'"),
                         (dict(pop_weight=-1), "pop_weight=-1")):
        with pytest.raises(InvalidModelInput, match=message):
            compose_form(model_set, {"Q1": 1.0}, FormOptions(**bad), rhythm=rhythm, pop=pop, seed=0)
