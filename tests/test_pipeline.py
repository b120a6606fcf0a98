"""The one flow, for real: virtual microphone -> Whisper -> keywords -> emotion -> composer -> MIDI."""
from __future__ import annotations

import dataclasses
import sys
import threading
import time

import mido
import pytest

from assistant.history import HistoryStore
from assistant.mood import MusicalSettings
from assistant.pipeline import (Assistant, NothingHeard, composition_summary, from_history_record, locks_to_keep,
                                to_history_record)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    history = HistoryStore(folder / "history.sqlite3")
    assistant = Assistant(output_dir=folder / "midi", history=history)
    stages = []
    assistant.load(progress=lambda message, fraction: stages.append((message, fraction)))
    assert stages[0][1] == 0.0 and stages[-1] == ("Ready", 1.0)
    assert assistant.speech_ready and assistant.composer_ready
    return assistant


def test_text_request_composes_and_writes_midi(assistant):
    composition = assistant.compose_from_text("make it sad and slow, 4 bars", seed=3)
    summary = composition_summary(composition)
    weights = summary["mood"]["class_weights"]
    assert max(weights, key=weights.get) == "Q3"
    assert composition.progression.tempo_bpm < 90
    assert composition.progression.length_beats == 16
    midi = mido.MidiFile(composition.midi_path)
    assert midi.type == 1
    markers = [m.text for track in midi.tracks for m in track if m.type == "marker"]
    assert markers == composition.chord_names
    assert set(composition.timings) >= {"mood", "compose", "write"}


def test_same_seed_same_music_and_history_round_trip(assistant):
    first = assistant.compose_from_text("a bright happy tune", seed=11)
    second = assistant.compose_from_text("a bright happy tune", seed=11)
    assert first.chord_names == second.chord_names
    stored = assistant.history.get(second.id)
    assert stored is not None and stored.midi_bytes
    restored = from_history_record(stored)
    assert restored.chord_names == second.chord_names
    assert restored.score.notes == second.score.notes
    assert to_history_record(restored).progression == stored.progression


def test_regenerate_keeps_locked_chords(assistant):
    original = assistant.compose_from_text("hopeful and warm, 8 bars", seed=21)
    locked = frozenset({0, 2})
    changed_any = False
    for seed in range(30, 36):
        again = assistant.regenerate(original, locked=locked, seed=seed)
        for index in locked:
            assert again.progression.chords[index].chord == original.progression.chords[index].chord
            assert again.progression.chords[index].start_beats == original.progression.chords[index].start_beats
        changed_any |= again.chord_names != original.chord_names
    assert changed_any  # unlocked chords are resampled


def test_overrides_win_over_the_request(assistant):
    composition = assistant.compose_from_text("fast and happy in D major", seed=2,
                                              overrides=MusicalSettings(key="Bb", mode="minor", tempo_bpm=77))
    assert composition.progression.key_name == "Bb minor"
    assert composition.progression.tempo_bpm == 77


def test_each_setting_says_where_it_came_from(assistant):
    composition = assistant.compose_from_text(
        "a gentle waltz in C major, 12 bars", seed=6, overrides=MusicalSettings(tempo_bpm=80, intensity=0.2))
    summary = composition_summary(composition)
    sources = {name: entry["source"] for name, entry in summary["effective"].items()}
    assert sources == {"key": "request", "mode": "request", "tempo": "flag", "bars": "request", "metre": "request",
                       "form": "mood", "instrument": "mood", "intensity": "flag"}
    assert summary["effective"]["metre"]["value"] == "3/4" and summary["effective"]["key"]["value"] == "C major"
    assert summary["effective"]["tempo"]["value"] == 80 and summary["effective"]["intensity"]["value"] == 0.2
    assert composition.progression.beats_per_bar == 3 and composition.progression.length_beats == 36
    assert composition.notices == ()


def test_a_flag_key_with_its_mode_replaces_the_requests_key_and_mode(assistant):
    composition = assistant.compose_from_text("a sad song in C major", seed=3,
                                              overrides=MusicalSettings(key="Bb minor"))
    assert composition.progression.key_name == "Bb minor"
    assert len(composition.notices) == 1 and "C major" in composition.notices[0]
    assert composition.notices[0] in composition.warnings  # shown by the CLI and the window's status line
    bare = assistant.compose_from_text("a sad song in C major", seed=3, overrides=MusicalSettings(key="Bb"))
    assert bare.progression.key_name == "Bb major"  # a tonic alone keeps the request's mode


def test_the_mood_decides_what_nothing_else_does(assistant):
    calm = assistant.compose_from_text("a calm, peaceful piano piece for a quiet evening", seed=1)
    assert calm.progression.tempo_bpm <= 100 and calm.sources["tempo"] == "mood"
    angry = assistant.compose_from_text("a furious, aggressive battle", seed=1)
    assert angry.progression.tempo_bpm >= 100 and angry.progression.mode == "minor"
    assert angry.sources["mode"] == "mood"


def test_regenerate_keeps_metre_form_key_and_tempo(assistant):
    first = assistant.compose_from_text("a happy 2-bar loop in 6/8", seed=8)
    assert first.form == "loop" and first.progression.compound and first.progression.beats_per_bar == 3
    again = assistant.regenerate(first, locked=frozenset({0}), seed=9)
    assert (again.progression.key_name, again.progression.tempo_bpm, again.progression.compound,
            again.progression.length_beats) == (first.progression.key_name, first.progression.tempo_bpm, True,
                                                first.progression.length_beats)
    assert again.form == "loop" and again.sources == first.sources
    restored = from_history_record(assistant.history.get(again.id))
    assert restored.sources == again.sources and restored.form == "loop"


def _transposed_names(composition, semitones):
    return [placed.chord.transposed(semitones).name for placed in composition.progression.chords]


def test_a_corrected_setting_recomposes_the_spoken_request_and_keeps_its_transcript(assistant, tmp_path):
    """A chip correction (Assistant.recompose) of a real spoken request: the transcript, its timing,
    the mood and the seed stay; the field becomes the user's ("flag"); the history record is spoken."""
    from tests.support.speech_audio import espeak_audio

    spoken = assistant.compose_from_audio(espeak_audio(tmp_path, "a sad song in A minor at 80 bpm"), seed=5)
    assert spoken.transcript and spoken.progression.mode == "minor"
    tonic = spoken.progression.key_name.split()[0]
    other = "E" if tonic != "E" else "A"
    corrected = assistant.recompose(spoken, overrides=MusicalSettings(key=other, mode="minor"))
    assert corrected.progression.key_name == f"{other} minor" and corrected.id != spoken.id
    assert (corrected.transcript, corrected.request_text, corrected.seed) == (spoken.transcript, spoken.request_text,
                                                                              spoken.seed)
    assert corrected.mood.keywords == spoken.mood.keywords and corrected.mood.valence == spoken.mood.valence
    assert corrected.mood.class_weights == pytest.approx(spoken.mood.class_weights)  # re-normalised, not re-read
    assert corrected.timings["transcribe"] == spoken.timings["transcribe"]
    assert corrected.sources["key"] == "flag" and corrected.sources["tempo"] == spoken.sources["tempo"]
    # Same seed, same mode, no locks: the same chords in the corrected key.
    semitones = (corrected.progression.tonic - spoken.progression.tonic) % 12
    assert [p.chord.root % 12 for p in corrected.progression.chords] == \
        [(p.chord.root + semitones) % 12 for p in spoken.progression.chords]
    stored = assistant.history.get(corrected.id)
    assert stored.transcript == spoken.transcript and stored.request_text == spoken.request_text
    assert composition_summary(from_history_record(stored))["transcript"] == spoken.transcript
    # Back to Auto: the request's words decide again.
    again = assistant.recompose(corrected)
    assert again.progression.key_name == spoken.progression.key_name and again.sources["key"] == spoken.sources["key"]


def test_a_corrected_setting_keeps_every_lock_its_shape_allows(assistant):
    original = assistant.compose_from_text("hopeful and warm in D major, 8 bars", seed=21)
    locked = frozenset({0, 2, 5})
    shown = dataclasses.replace(original, progression=original.progression.with_locked(locked))
    for overrides in (MusicalSettings(program=48), MusicalSettings(tempo_bpm=140), MusicalSettings(intensity=0.9)):
        corrected = assistant.recompose(shown, locked=locked, overrides=overrides)
        assert corrected.progression.locked_indices == locked and not any("unlocked" in n for n in corrected.notices)
        for index in locked:
            assert corrected.progression.chords[index] == shown.progression.chords[index]
    # A key in the same mode transposes the locked chords (they are key-relative) and keeps them locked.
    corrected = assistant.recompose(shown, locked=locked, overrides=MusicalSettings(key="A", mode="major"))
    assert corrected.progression.key_name == "A major" and corrected.progression.locked_indices == locked
    moved = _transposed_names(shown, 7)
    for index in locked:
        assert corrected.progression.chords[index].chord.name == moved[index]
        assert corrected.progression.chords[index].start_beats == shown.progression.chords[index].start_beats


@pytest.mark.parametrize("overrides,change", [
    (MusicalSettings(key="B", mode="minor"), "a minor key instead of a major one"),
    (MusicalSettings(bars=16), "16 bars instead of 8"),
    (MusicalSettings(metre="3/4"), "3/4 instead of 4/4"),
    (MusicalSettings(form="loop", loop_bars=2), "loop of 2 bars instead of through-composed"),
])
def test_a_correction_that_changes_the_shape_drops_the_locks_and_says_so_once(assistant, overrides, change):
    original = assistant.compose_from_text("hopeful and warm in D major, 8 bars", seed=21)
    shown = dataclasses.replace(original, progression=original.progression.with_locked({0, 2}))
    corrected = assistant.recompose(shown, locked=frozenset({0, 2}), overrides=overrides)
    assert corrected.progression.locked_indices == frozenset()
    dropped = [notice for notice in corrected.notices if "unlocked" in notice]
    assert len(dropped) == 1 and dropped[0].startswith("2 locked chords unlocked") and change in dropped[0]
    assert dropped[0].count(".") == 0 and dropped[0] in corrected.warnings  # one sentence, in the status line
    assert locks_to_keep(shown, shown.settings, frozenset({0, 2})) == (frozenset({0, 2}), None)


def test_composing_from_class_weights_alone(assistant):
    """The CLI's --emotion: weights in, no text read; the mood is the classes' mixed coordinates."""
    composition = assistant.compose_from_weights({"Q1": 0.7, "Q4": 0.3}, seed=5,
                                                 overrides=MusicalSettings(bars=4, key="D", tempo_bpm=90))
    assert composition.mood.class_weights == pytest.approx({"Q1": 0.7, "Q2": 0.0, "Q3": 0.0, "Q4": 0.3})
    assert composition.mood.valence == pytest.approx(0.6) and composition.mood.arousal == pytest.approx(0.24)
    assert composition.request_text == "" and composition.transcript is None and composition.warnings == ()
    assert composition.progression.tempo_bpm == 90 and composition.progression.length_beats == 16
    assert composition.progression.key_name in ("D major", "D minor")
    assert mido.MidiFile(composition.midi_path).type == 1
    summary = composition_summary(composition)
    assert summary["request_text"] == "" and summary["mood"]["mixedness"] is None  # no words read
    assert summary["mood"]["class_weights"] == pytest.approx({"Q1": 0.7, "Q2": 0.0, "Q3": 0.0, "Q4": 0.3})
    again = assistant.compose_from_weights({"Q1": 7, "Q4": 3}, seed=5,
                                           overrides=MusicalSettings(bars=4, key="D", tempo_bpm=90))
    assert again.chord_names == composition.chord_names  # weights are normalised before composing


def test_class_weights_given_with_text_replace_the_words_weights(assistant):
    composition = assistant.compose_from_text("make it sad and slow, 4 bars, at 1000 bpm", seed=4,
                                              class_weights={"Q1": 1})
    assert composition.mood.class_weights == {"Q1": 1.0, "Q2": 0.0, "Q3": 0.0, "Q4": 0.0}
    assert composition.mood.valence < 0 and "sad" in composition.keywords  # still the words' mood
    assert composition.progression.length_beats == 16
    assert any("1000 bpm" in warning for warning in composition.warnings)


def test_unknown_class_names_the_class_and_the_allowed_ones(assistant):
    from models.errors import InvalidModelInput

    with pytest.raises(InvalidModelInput, match=r"'Q9'.*Q1"):
        assistant.compose_from_weights({"Q9": 1.0})


def test_weights_are_validated_once_per_layer(assistant, monkeypatch):
    """One check where the user's weights enter the assistant (the composer) and one where they
    enter the models (models.generation.generate); nothing below re-checks them."""
    model_set = assistant.composer.model_set
    validate = model_set.validate_weights
    callers: list[str] = []

    def counting(weights):
        callers.append(sys._getframe(1).f_globals["__name__"])
        return validate(weights)

    monkeypatch.setattr(model_set, "validate_weights", counting)
    assistant.compose_from_text("make it sad and slow, 4 bars", seed=3)
    assert callers == ["assistant.composer", "models.generation"]
    callers.clear()
    assistant.compose_from_weights({"Q2": 1.0}, seed=3, overrides=MusicalSettings(bars=4))
    assert callers == ["assistant.composer", "models.generation"]


def test_silence_is_nothing_heard(assistant):
    import numpy as np

    with pytest.raises(NothingHeard, match="I didn't catch that"):
        assistant.compose_from_audio(np.zeros(16000 * 2, dtype=np.float32))


SPOKEN_REQUESTS = [
    ("I want a song that expresses hope and wonder", lambda c: c.mood.valence > 0),
    ("play something dark and tense", lambda c: max(c.mood.class_weights, key=c.mood.class_weights.get) == "Q2"),
    ("make it sad and slow", lambda c: max(c.mood.class_weights, key=c.mood.class_weights.get) == "Q3"
     and c.progression.tempo_bpm < 90),
    ("a calm peaceful piano piece", lambda c: max(c.mood.class_weights, key=c.mood.class_weights.get) == "Q4"
     and c.arrangement.program == 0),
]


@pytest.mark.parametrize("text,expectation", SPOKEN_REQUESTS, ids=[t for t, _ in SPOKEN_REQUESTS])
@pytest.mark.slow
def test_spoken_request_through_the_virtual_microphone(pulse_audio, assistant, text, expectation):
    from assistant.audio import Microphone

    microphone = Microphone("moodchords_mic")
    speaker = threading.Thread(target=lambda: (time.sleep(0.8), pulse_audio.speak(text, voice="en-us", rate=140)))
    speaker.start()
    audio = microphone.record_utterance(max_seconds=20)
    speaker.join()
    composition = assistant.compose_from_audio(audio, seed=7)
    assert composition.transcript, "nothing transcribed"
    assert expectation(composition), composition_summary(composition)
