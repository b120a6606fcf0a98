"""Offline rendering through real FluidSynth (assistant.playback.render)."""
from __future__ import annotations

import numpy as np
import pytest

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.playback import render_score_audio
from assistant.score import Note, Score
from tests.support.playback_scores import C_MAJOR, ORGAN, PIANO, RATE, chord_score, rms
from tests.support.spectrum import assert_pitches_sound


def test_offline_render_of_c_major_has_peaks_at_its_pitches():
    audio = render_score_audio(chord_score())
    assert audio.dtype == np.float32 and audio.ndim == 2 and audio.shape[1] == 2
    assert audio.shape[0] == int(round((4 * 0.5 + 1.0) * RATE))  # 4 beats at 120 bpm + 1 s tail
    body = audio[int(0.2 * RATE):int(1.8 * RATE)].mean(axis=1)
    assert_pitches_sound(body, RATE, C_MAJOR)
    freqs = np.fft.rfftfreq(body.size, 1 / RATE)
    spectrum = np.abs(np.fft.rfft(body * np.hanning(body.size)))
    strongest = sorted(freqs[np.argsort(spectrum)[-200:]])  # the strongest bins sit at the chord's fundamentals
    for hz in (261.6, 329.6, 392.0):
        assert any(abs(f - hz) < 2.0 for f in strongest), hz


def test_offline_render_timing_and_mono():
    """A note at beat 2 at 120 bpm starts at 1.0 s; mono output is the channel mean."""
    score = Score(notes=(Note(69, 2.0, 1.0, 100, 0),), tempo_bpm=120.0, length_beats=4.0)
    mono = render_score_audio(score, stereo=False, tail_seconds=0.5)
    assert mono.ndim == 1 and mono.size == int(2.5 * RATE)
    onset = int(np.argmax(np.abs(mono) > 0.01)) / RATE
    assert 0.99 <= onset <= 1.02
    assert rms(mono[:int(0.95 * RATE)]) < 1e-4  # silence before the note


def test_offline_render_is_repeatable_and_follows_program():
    a = render_score_audio(chord_score(program=ORGAN))
    b = render_score_audio(chord_score(program=ORGAN))
    c = render_score_audio(chord_score(program=PIANO))
    assert np.max(np.abs(a - b)) < 1e-3  # same score, same sound (the synth is reused)
    assert np.max(np.abs(a - c)) > 0.05  # another instrument sounds different


def test_offline_render_refuses_bad_input():
    with pytest.raises(InvalidInput, match="samplerate"):
        render_score_audio(chord_score(), samplerate=10)
    with pytest.raises(InvalidInput, match="program"):
        render_score_audio(chord_score(program=128))
    with pytest.raises(InvalidInput, match="Score"):
        render_score_audio("not a score")


def test_unloadable_soundfont_is_a_device_error(tmp_path):
    broken = tmp_path / "broken.sf2"
    broken.write_bytes(b"RIFF garbage" * 10)
    with pytest.raises(DeviceUnavailable, match="could not load the SoundFont"):
        render_score_audio(chord_score(), soundfont=broken)
