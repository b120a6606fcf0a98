"""Spoken requests without a microphone: espeak-ng renders the words to a WAV file, decoded as the
product decodes audio files (float32 mono 16 kHz)."""
from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import numpy as np


def espeak_audio(folder: Path, text: str, voice: str = "en-us", rate: int = 140) -> np.ndarray:
    """espeak-ng saying `text`, as assistant.audio.load_audio_file reads it."""
    from assistant.audio import load_audio_file

    wav = Path(folder) / f"speech-{uuid.uuid4().hex}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(wav), text], check=True,
                   capture_output=True, timeout=60)
    return load_audio_file(wav)
