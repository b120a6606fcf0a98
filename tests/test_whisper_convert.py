"""The CTranslate2 -> openai-whisper converter: the converted model must compute what
CTranslate2 computes from the same weights (encoder outputs on the same mel features)."""
from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch

from assistant import whisper_convert
from assistant.errors import InvalidInput
from models.errors import ModelFileError


@pytest.fixture(scope="module")
def speech_mel(tmp_path_factory):
    """80-bin log-mel features of an espeak-ng sentence, padded to Whisper's 30 s window."""
    import whisper

    wav = tmp_path_factory.mktemp("speech") / "hope.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), "I want a song that expresses hope and wonder"],
                   check=True, capture_output=True)
    audio = whisper.load_audio(str(wav))
    return whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(audio)))


def _encoder_outputs(model_name: str, checkpoint, mel):
    import ctranslate2
    import whisper

    model = whisper.load_model(str(checkpoint), device="cpu")
    with torch.inference_mode():
        ours = model.embed_audio(mel[None]).numpy()[0]
    folder = whisper_convert.ensure_ctranslate2_model(model_name)
    reference = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32", intra_threads=1)
    features = ctranslate2.StorageView.from_array(np.ascontiguousarray(mel[None].numpy()))
    theirs = np.array(reference.encode(features, to_cpu=True))[0]
    return model, ours, theirs


def _assert_same(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    cosine = float((ours * theirs).sum() / (np.linalg.norm(ours) * np.linalg.norm(theirs)))
    per_frame = (ours * theirs).sum(1) / (np.linalg.norm(ours, axis=1) * np.linalg.norm(theirs, axis=1))
    assert cosine > 0.9999, cosine
    assert per_frame.min() > 0.999, per_frame.min()
    assert np.abs(ours - theirs).max() < 0.05 * np.abs(theirs).max()


@pytest.mark.slow
def test_tiny_en_encoder_matches_ctranslate2(tmp_path, speech_mel):
    checkpoint = whisper_convert.convert(whisper_convert.model_parts("tiny.en"), tmp_path / "tiny.en.pt",
                                         whisper_convert.model_folder("tiny.en") / "config.json")
    model, ours, theirs = _encoder_outputs("tiny.en", checkpoint, speech_mel)
    assert model.dims.n_mels == 80 and model.dims.n_vocab == 51864 and not model.is_multilingual
    assert model.dims.n_audio_layer == 4 and model.dims.n_audio_state == 384
    _assert_same(ours, theirs)


@pytest.mark.slow
def test_base_encoder_matches_ctranslate2_from_split_parts(tmp_path, speech_mel):
    parts = whisper_convert.model_parts("base")
    assert len(parts) == 2  # the weights ship in two packages; the converter streams both
    checkpoint = whisper_convert.convert(parts, tmp_path / "base.pt", whisper_convert.model_folder("base") / "config.json")
    model, ours, theirs = _encoder_outputs("base", checkpoint, speech_mel)
    assert model.is_multilingual and model.dims.n_audio_layer == 6 and model.dims.n_audio_state == 512
    _assert_same(ours, theirs)


def test_ensure_checkpoint_converts_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    messages = []
    path = whisper_convert.ensure_openai_checkpoint("tiny.en", progress=lambda m, f: messages.append(m))
    assert path == tmp_path / "moodchords" / "whisper" / "tiny.en.pt" and path.is_file()
    assert messages  # progress was reported while converting
    stamp = path.stat().st_mtime_ns
    again = whisper_convert.ensure_openai_checkpoint("tiny.en", progress=lambda m, f: messages.append("again"))
    assert again == path and path.stat().st_mtime_ns == stamp and "again" not in messages
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]  # atomic: no leftovers
    # A corrupt cache file is replaced, not trusted.
    path.write_bytes(b"not a checkpoint")
    assert whisper_convert.ensure_openai_checkpoint("tiny.en") == path
    assert path.stat().st_size > 1_000_000


def test_unknown_model_lists_the_installed_ones():
    with pytest.raises(InvalidInput, match=r"available models = \['base', 'tiny.en'\]"):
        whisper_convert.ensure_openai_checkpoint("huge")


def test_truncated_model_file_names_the_file(tmp_path):
    source = whisper_convert.model_parts("tiny.en")[0]
    truncated = tmp_path / "model.bin"
    with open(source, "rb") as handle:
        truncated.write_bytes(handle.read(100_000))
    with pytest.raises(ModelFileError, match="model.bin is truncated"):
        whisper_convert.read_ct2_model(truncated)
