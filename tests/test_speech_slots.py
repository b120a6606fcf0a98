"""Constrained re-decoding of the settings slots (issue 16 item 10): where the slots are, that their
alternatives are the request parser's own, and real Whisper (the shipped engine and model) choosing
among them on espeak-ng speech."""
from __future__ import annotations

import subprocess
from dataclasses import replace

import numpy as np
import pytest

from assistant import speech, speech_slots
from assistant.audio import load_audio_file
from assistant.language import BARS_RANGE, parse_settings, parse_settings_detailed
from assistant.mood import TEMPO_RANGE
from assistant.music import CONVENTIONAL_KEYS, parse_key
from assistant.speech_slots import find_slots, redecode_slots, slot_vocabulary
from assistant.speech_vocabulary import music_vocabulary

OFF = replace(speech.DEFAULT_DECODING, settings_slots=False)
#: the settings compared (as bench/spoken_settings.py does: the instrument by its GM program)
COMPARED = ("key", "mode", "tempo_bpm", "bars", "program", "metre", "form", "loop_bars")


def settings_of(text: str) -> tuple:
    settings = parse_settings(text)
    return tuple(getattr(settings, name) for name in COMPARED)


def espeak(tmp_path, text: str, voice: str = "en-us", rate: int = 150) -> np.ndarray:
    wav = tmp_path / f"{abs(hash((text, voice, rate)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(wav), text], check=True, capture_output=True)
    return load_audio_file(wav)


def slots_of(text: str) -> list[tuple[str, str]]:
    return [(slot.kind, text[slot.start:slot.end]) for slot in find_slots(text)]


# ------------------------------------------------------------------------------ the slots (text only)
@pytest.mark.parametrize("text, expected", [
    ("A happy tune in T Major at 120 bpm.", [("key", "T Major"), ("tempo", "120 bpm")]),
    ("Play something sad in a minor.", [("key", "a minor")]),
    ("Eight bars in the flat major.", [("bars", "Eight bars"), ("key", "the flat major")]),
    ("Something really left sharp, minor on a thin pad.", [("key", "left sharp, minor"), ("instrument", "thin")]),
    ("A rock song at 140 meters per minute.", [("tempo", "140 meters per minute")]),
    ("Ambient B, set 6 to 8 per minute on a warm pad.", [("tempo", "6 to 8 per minute")]),
    ("A quiet piece at 66pm.", [("tempo", "66pm")]),
    ("Compose 16 Mars in E minor.", [("bars", "16 Mars"), ("key", "E minor")]),
    ("Write eight bars for the violin.", [("bars", "eight bars")]),
    ("Compose 12 measures.", [("bars", "12 measures")]),
])
def test_slots_are_found_with_their_near_misses(text, expected):
    assert slots_of(text) == expected


@pytest.mark.parametrize("text", [
    "play it in a minor key", "the major scale", "I see major problems", "make it a minor change",
    "let's meet at 3 pm", "a calm piece on the piano", "a 4-bar loop", "",
    "compose something for me", "play it on the electric guitar", "make it joyful with a trumpet",
])
def test_no_slot_where_no_setting_is_said(text):
    assert find_slots(text) == []


@pytest.mark.parametrize("text, expected", [
    ("Play something hopeful on the Diablo.", [("instrument", "Diablo")]),
    ("A tender lullaby on the music marks.", [("instrument", "music marks")]),
    ("Write eight bars for my lin.", [("bars", "eight bars"), ("instrument", "lin")]),
    ("Something dreamy on a thin pad.", [("instrument", "thin")]),  # "pad" is read already: one word open
    ("Music for a rainy day.", [("instrument", "rainy day")]),  # a slot; the heard words compete (below)
    ("Play it on bass.", [("instrument", "bass")]),
])
def test_instrument_slots_follow_on_for_with(text, expected):
    assert slots_of(text) == expected


def test_instrument_slot_alternatives_are_the_parsers_names():
    names = set(slot_vocabulary()["instrument"])
    one, = find_slots("on the Diablo")
    assert set(one.alternatives) == names and one.heard_penalty == speech_slots.INSTRUMENT_PRIOR_NATS
    two, = find_slots("on the music marks")
    assert set(two.alternatives) == names | {f"{name} marks" for name in names}
    assert all(parse_settings(f"on the {name}").program is not None for name in names)


def test_alternatives_come_from_the_parsers_vocabulary():
    vocabulary = slot_vocabulary()
    # keys: every key the composer writes, spoken, each read back by the request parser as that key
    assert vocabulary["key"] == music_vocabulary().key_names
    assert len(vocabulary["key"]) == len({name for _pc, _mode, name in CONVENTIONAL_KEYS})
    read = set()
    for words in vocabulary["key"]:
        settings = parse_settings(f"play it in {words}")
        read.add((parse_key(settings.key)[0], settings.mode))
    assert read == {(pc, mode) for pc, mode, _name in CONVENTIONAL_KEYS}
    # numbers: the whole ranges the parser accepts, and nothing outside them
    assert [float(n) for n in vocabulary["tempo"]] == list(np.arange(TEMPO_RANGE[0], TEMPO_RANGE[1] + 1))
    assert [int(n) for n in vocabulary["bars"]] == list(range(BARS_RANGE[0], BARS_RANGE[1] + 1))
    tempo_slot, = find_slots("at 140 meters per minute")
    assert all(parse_settings(f"at {words}").tempo_bpm == float(words.split()[0]) for words in tempo_slot.alternatives)
    bars_slot, = find_slots("16 Mars")
    assert all(parse_settings(words).bars == int(words.split()[0]) for words in bars_slot.alternatives)


class _Fake:
    """A scorer that likes some words (tests the text side alone): a token is a word, its
    log-probability the word's liking (-3 if not liked), wherever it stands."""

    def __init__(self, liked: dict[str, float], unliked: float = -3.0):
        self.liked, self.unliked, self.words, self.calls = liked, unliked, {}, 0

    def encode(self, text):
        return [self.words.setdefault(word, len(self.words)) for word in text.replace(",", " ,").split()]

    def score(self, token) -> float:
        word = next(w for w, i in self.words.items() if i == token)
        return self.liked.get(word, self.unliked)

    def next_token_rows(self, tokens, positions):
        self.calls += 1
        fake = self

        class Row:
            def __getitem__(self, token):
                return fake.score(token)
        return {p: Row() for p in positions}

    def sequence_logprobs(self, sequences):
        self.calls += 1
        return [np.array([self.score(t) for t in s]) for s in sequences]


def test_redecoding_replaces_only_the_slots():
    fake = _Fake({"E": 0.0, "minor": 0.0, "90": 0.0})
    assert redecode_slots("A heavy riff in T minor, at 8 bpm.", fake) == "A heavy riff in E minor, at 90 bpm."
    assert fake.calls == 2  # one pass for the first tokens, one batch for the alternatives
    untouched = _Fake({})
    assert redecode_slots("a calm piece on the piano", untouched) == "a calm piece on the piano"
    assert untouched.calls == 0  # no slot, no decoder pass
    long = "in T minor " + "la " * speech_slots.MAX_TOKENS  # more than the decoder holds: left as heard
    assert redecode_slots(long, untouched) == long and untouched.calls == 0


def test_a_value_said_out_of_range_competes_as_heard():
    """The alternatives are only the allowed values, so heard words the parser reads as one value out of
    range compete with them as they are: a '400 beats per minute' the audio favours stays (and the parser's
    warning names it; CI found listen composing at 100 bpm, no warning, for a spoken 'four hundred beats
    per minute'), an '8 bpm' the audio does not favour is re-decoded."""
    said = _Fake({"400": 0.0, "100": -1.0, "E": 0.0, "minor": 0.0})
    text = "A happy song at 400 beats per minute, in T minor, please."
    assert redecode_slots(text, said) == "A happy song at 400 beats per minute, in E minor, please."
    assert "tempo 400 bpm ignored; allowed 20..300 bpm" in parse_settings_detailed(redecode_slots(text, said)).warnings
    assert redecode_slots("Compose 500 bars, please.", _Fake({"500": 0.0, "16": -1.0})) == "Compose 500 bars, please."
    misheard = _Fake({"80": 0.0})
    assert redecode_slots("A happy song at 8 bpm, please.", misheard) == "A happy song at 80 bpm, please."


def test_an_instrument_wins_only_within_the_prior_of_the_heard_words():
    """The heard words after "on the" compete with the instrument names, INSTRUMENT_PRIOR_NATS ahead: a
    name the audio scores a little below them wins (a misheard instrument), one far below does not (the
    words were something else: "music for a rainy day")."""
    prior = speech_slots.INSTRUMENT_PRIOR_NATS
    close = _Fake({"Diablo": 0.0, "please": 0.0, "oboe": -(prior - 0.5)}, unliked=-10.0)
    assert redecode_slots("Play it on the Diablo please", close) == "Play it on the oboe please"
    far = _Fake({"Diablo": 0.0, "please": 0.0, "oboe": -(prior + 0.5)}, unliked=-10.0)
    assert redecode_slots("Play it on the Diablo please", far) == "Play it on the Diablo please"
    rainy = _Fake({"rainy": 0.0, "day": 0.0}, unliked=-10.0)
    assert redecode_slots("Music for a rainy day", rainy) == "Music for a rainy day"


def test_spoken_out_of_range_tempo_keeps_its_warning(shipped, tmp_path):
    audio = espeak(tmp_path, "a happy song at four hundred beats per minute", "en-us", 140)
    reread = shipped.reread_settings(audio, "A happy song at 400 beats per minute.")
    assert "allowed 20..300 bpm" in " ".join(parse_settings_detailed(reread).warnings), reread


# ------------------------------------------------------------------------------ real Whisper
@pytest.fixture(scope="module")
def shipped():
    return speech.load_transcriber()  # the shipped engine and model, with the shipped decoding


def test_shipped_decoding_redecodes_the_slots():
    assert speech.DEFAULT_DECODING.settings_slots


@pytest.mark.parametrize("said, heard", [
    ("play something sad in E minor", ["Play something sad in a minor.", "Play something sad in the minor.",
                                       "Play something sad in T minor."]),
    ("an ambient piece at 60 beats per minute on a warm pad",
     ["Ambient B, set 6 to 8 per minute on a warm pad.", "An ambient piece at 60 meters per minute on a warm pad."]),
])
def test_whisper_chooses_the_spoken_setting_among_the_alternatives(shipped, tmp_path, said, heard):
    """Wrong transcripts of the audio (what the recogniser has written for it) are re-decoded against
    the audio into the spoken key / tempo."""
    audio = espeak(tmp_path, said, "en-us", 150)
    expected = parse_settings(said)
    for text in heard:
        assert parse_settings(text) != expected, text  # the wrong reading to start from
        reread = shipped.reread_settings(audio, text)
        settings = parse_settings(reread)
        assert (settings.key, settings.mode, settings.tempo_bpm) == (expected.key, expected.mode, expected.tempo_bpm), reread


@pytest.mark.parametrize("said, voice, rate, heard", [
    ("something sleepy in F major at a slow tempo on the vibraphone", "en-us", 160,
     "Something sleepy in F major at a slow tempo on the microphone."),
    ("a tender lullaby in common time on the music box", "en-gb", 130,
     "Tender, la, la, my in common time on the music marks."),  # (marimba's 2.4 nats: too near the prior to pin)
])
def test_whisper_hears_the_instrument_among_the_names(shipped, tmp_path, said, voice, rate, heard):
    """Transcripts tiny.en wrote for these renditions (bench/spoken_settings.py), re-decoded against the audio."""
    audio = espeak(tmp_path, said, voice, rate)
    assert parse_settings(heard).program != parse_settings(said).program
    reread = shipped.reread_settings(audio, heard)
    assert parse_settings(reread).program == parse_settings(said).program, reread


@pytest.mark.parametrize("said", ["give me an energetic happy tune for a summer morning",
                                  "I need triumphant music for the final scene", "a tense suspenseful cue for a thriller"])
def test_words_that_name_no_instrument_stay(shipped, tmp_path, said):
    audio = espeak(tmp_path, said, "en-us", 150)
    reread = shipped.reread_settings(audio, said)
    assert reread == said and parse_settings(reread).program is None


def test_openai_whisper_redecodes_the_slots_too(tmp_path):
    """The other engine (openai-whisper tiny.en, PyTorch): the same re-decoding, its own scorer."""
    transcriber = speech.load_transcriber("openai-whisper", "tiny.en")
    audio = espeak(tmp_path, "play something sad in E minor", "en-us", 150)
    for text in ("Play something sad in a minor.", "Play something sad in T minor."):
        settings = parse_settings(transcriber.reread_settings(audio, text))
        assert (settings.key, settings.mode) == ("E", "minor"), text
    on = transcriber.transcribe(espeak(tmp_path, "play a calm piece in B major at 80 bpm", "en-gb", 160))
    assert parse_settings(on.text).tempo_bpm == 80, on.text  # slots off: "8, bpm"


@pytest.mark.parametrize("said, voice, rate", [
    ("play a calm piece in B major at 80 bpm", "en-gb", 160),         # slots off: "8, bpm"
    ("something dreamy in F sharp minor on a synth pad", "en-gb", 160),  # slots off: "left sharp, minor"
    ("something mysterious in G minor on the flute", "en-gb", 160),    # slots off: "D minor"
])
def test_spoken_settings_read_right_only_with_the_slots(shipped, tmp_path, said, voice, rate, monkeypatch):
    audio = espeak(tmp_path, said, voice, rate)
    expected = settings_of(said)
    on = shipped.transcribe(audio)
    assert settings_of(on.text) == expected, on.text
    # settings off = the old behaviour: the slot code is never reached, and these come out wrong
    monkeypatch.setattr(speech_slots, "redecode_slots", lambda *a, **k: pytest.fail("slots re-decoded while off"))
    off = shipped.transcribe(audio, OFF)
    assert settings_of(off.text) != expected, off.text


def test_the_redecoding_says_nothing_where_nothing_was_said(shipped, tmp_path):
    """Word-free audio stays empty with the slots on (the echo guard of test_speech_vocabulary covers
    speech played backwards): noise and a hum."""
    rng = np.random.default_rng(3)
    noise = (rng.standard_normal(3 * 16000) * 0.1).astype(np.float32)
    hum = (0.3 * np.sin(2 * np.pi * 220 * np.arange(3 * 16000) / 16000)).astype(np.float32)
    assert shipped.transcribe(noise).text == "" and shipped.transcribe(hum).text == ""


def test_text_logprobs_ranks_the_spoken_reading_first(shipped, tmp_path):
    """Transcriber.text_logprobs (bench/spoken_keys.py's forced choice): the sentence really said scores
    above the same sentence with another key or another instrument; bad input gets InvalidInput."""
    from assistant.errors import InvalidInput

    audio = espeak(tmp_path, "compose a short piece in E flat major for the harp", "en-us", 150)
    said, *others = ["compose a short piece in E flat major for the harp",
                     "compose a short piece in A flat major for the harp",
                     "compose a short piece in E flat minor for the harp",
                     "compose a short piece in E flat major for the horn"]
    scores = shipped.text_logprobs(audio, [said, *others])
    assert len(scores) == 4 and all(np.isfinite(scores))
    assert scores[0] > max(scores[1:]), scores
    with pytest.raises(InvalidInput, match="non-empty"):
        shipped.text_logprobs(audio, [])
    with pytest.raises(InvalidInput, match="non-empty"):
        shipped.text_logprobs(audio, ["a tune", "  "])
    with pytest.raises(InvalidInput, match="one window"):
        shipped.text_logprobs(np.zeros(40 * 16000, np.float32), [said])


def test_slots_of_any_text_are_in_order_inside_it_and_apart():
    """Seeded random transcripts from the words the slot patterns look at (and noise around them):
    find_slots never raises, its slots lie inside the text in order without overlapping, and
    re-decoding them with a scorer that likes nothing in particular returns text."""
    rng = np.random.default_rng(21)
    words = ["on", "for", "with", "the", "a", "my", "in", "and", "of", "key", "E", "T", "a", "sharp", "flat",
             "major", "minor", "bpm", "pm", "per", "minute", "beats", "meters", "bars", "Mars", "measures", "loop",
             "16", "6", "to", "8", "four", "hundred", "piano", "Diablo", "music", "box", "pad", "thin", "me", ",",
             ".", "-", "é", "ß", "🎵", "", "'s", "3/4", "x" * 30]
    for _case in range(2000):
        text = " ".join(rng.choice(words, size=int(rng.integers(0, 14))))
        slots = find_slots(text)
        previous_end = 0
        for slot in slots:
            assert previous_end <= slot.start < slot.end <= len(text), (text, slot)
            assert slot.alternatives and slot.kind in ("key", "tempo", "bars", "instrument")
            previous_end = slot.end
        if slots and _case % 20 == 0:
            assert isinstance(redecode_slots(text, _Fake({}, unliked=-float(rng.integers(1, 5)))), str)
