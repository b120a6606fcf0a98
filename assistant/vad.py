"""End-of-utterance detection for hands-free capture: feed 32 ms frames of 16 kHz audio, learn
when the speaker has finished (``silence_s`` of non-speech after some speech).

Two detectors share one endpointing rule:
- ``SileroEndpointer``: the Silero VAD network that ships inside faster-whisper (ONNX, ~1 ms per
  frame on one core); robust to steady noise.
- ``EnergyEndpointer``: frame RMS against an adaptive noise floor; free, but fooled by noise.
bench/speech.py measures both (latency after the true end of speech, false cuts) and
DEFAULT_DETECTOR is the winner.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000
FRAME_SAMPLES = 512  # Silero's frame at 16 kHz: 32 ms
FRAME_SECONDS = FRAME_SAMPLES / SAMPLE_RATE

#: Detectors by name; see bench/speech.py ("VAD endpointing") for the measurement behind the default.
DETECTORS = ("silero", "energy")
# Chosen by bench/speech.py ("VAD endpointing" in bench/RESULTS.md): Silero has no false cuts on
# clean or noisy speech and ends utterances about as fast; the energy detector cuts/never ends in noise.
DEFAULT_DETECTOR = "silero"


def rms_dbfs(frame: np.ndarray) -> float:
    """RMS level of a frame in dB relative to full scale (-120 for digital silence)."""
    if frame.size == 0:
        return -120.0
    rms = float(np.sqrt(np.mean(np.square(frame, dtype=np.float64))))
    return 20.0 * math.log10(rms) if rms > 1e-6 else -120.0


def level_0_1(dbfs: float, floor_db: float = -60.0) -> float:
    """A meter reading: floor_db -> 0, 0 dBFS -> 1."""
    return min(1.0, max(0.0, (dbfs - floor_db) / -floor_db))


@dataclass(frozen=True)
class EndpointSettings:
    silence_s: float = 0.7     # trailing non-speech (s) that ends an utterance
    min_speech_s: float = 0.2  # speech (s, cumulative) needed before an utterance counts as started


class _Endpointer:
    """The shared rule: started after min_speech_s of speech frames; ended after silence_s of
    consecutive non-speech frames once started."""

    def __init__(self, settings: EndpointSettings = EndpointSettings()):
        self.settings = settings
        self.frames = 0
        self.speech_frames = 0
        self.trailing_silence = 0
        self.started = False
        self.ended = False
        self.first_speech_frame: int | None = None
        self.last_speech_frame: int | None = None

    def is_speech(self, frame: np.ndarray) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def feed(self, frame: np.ndarray) -> bool:
        """Feed one FRAME_SAMPLES frame (float32, 16 kHz). Returns True once the utterance ended."""
        speech = self.is_speech(frame)
        self.frames += 1
        if speech:
            self.speech_frames += 1
            self.trailing_silence = 0
            if self.first_speech_frame is None:
                self.first_speech_frame = self.frames - 1
            self.last_speech_frame = self.frames - 1
            if self.speech_frames * FRAME_SECONDS >= self.settings.min_speech_s:
                self.started = True
        else:
            self.trailing_silence += 1
        if self.started and self.trailing_silence * FRAME_SECONDS >= self.settings.silence_s:
            self.ended = True
        return self.ended

    @property
    def speech_start_s(self) -> float | None:
        return None if self.first_speech_frame is None else self.first_speech_frame * FRAME_SECONDS

    @property
    def speech_end_s(self) -> float | None:
        return None if self.last_speech_frame is None else (self.last_speech_frame + 1) * FRAME_SECONDS


class SileroEndpointer(_Endpointer):
    """Silero VAD v6 (faster-whisper's copy), run frame by frame with its recurrent state."""

    _session = None  # one ONNX session per process; the state lives in each endpointer

    def __init__(self, settings: EndpointSettings = EndpointSettings(), threshold: float = 0.5,
                 neg_threshold: float = 0.35):
        super().__init__(settings)
        self.threshold = threshold          # probability above which a frame is speech
        self.neg_threshold = neg_threshold  # ...and below which, once speaking, it is silence
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(64, np.float32)  # the previous frame's last 64 samples
        self._speaking = False
        self.session()

    @classmethod
    def session(cls):
        if cls._session is None:
            import os

            import onnxruntime
            from faster_whisper.utils import get_assets_path

            options = onnxruntime.SessionOptions()
            options.inter_op_num_threads = 1
            options.intra_op_num_threads = 1
            options.log_severity_level = 4
            cls._session = onnxruntime.InferenceSession(
                os.path.join(get_assets_path(), "silero_vad_v6.onnx"),
                providers=["CPUExecutionProvider"], sess_options=options)
        return cls._session

    def probability(self, frame: np.ndarray) -> float:
        chunk = np.concatenate([self._context, frame.astype(np.float32, copy=False)])[None, :]
        out, self._h, self._c = self.session().run(None, {"input": chunk, "h": self._h, "c": self._c})
        self._context = chunk[0, -64:].copy()
        return float(np.asarray(out).reshape(-1)[0])

    def is_speech(self, frame: np.ndarray) -> bool:
        p = self.probability(frame)
        # Hysteresis, as faster-whisper's get_speech_timestamps does.
        self._speaking = p >= self.threshold or (self._speaking and p >= self.neg_threshold)
        return self._speaking


class EnergyEndpointer(_Endpointer):
    """Frame RMS above an adaptive noise floor (+ hysteresis). The floor is a low percentile of
    the last few seconds of frame levels, so the gaps between words keep it honest."""

    def __init__(self, settings: EndpointSettings = EndpointSettings(), on_db: float = 12.0,
                 off_db: float = 8.0, min_level_db: float = -50.0, window_s: float = 3.0):
        super().__init__(settings)
        self.on_db = on_db              # dB above the noise floor that starts speech
        self.off_db = off_db            # dB above the floor below which speech stops
        self.min_level_db = min_level_db  # absolute dBFS below which nothing is speech
        self._levels: deque[float] = deque(maxlen=max(1, int(window_s / FRAME_SECONDS)))
        self._speaking = False

    @property
    def noise_floor_db(self) -> float:
        return float(np.percentile(self._levels, 10)) if self._levels else -120.0

    def is_speech(self, frame: np.ndarray) -> bool:
        db = rms_dbfs(frame)
        self._levels.append(db)
        threshold = self.noise_floor_db + (self.off_db if self._speaking else self.on_db)
        self._speaking = db > max(threshold, self.min_level_db)
        return self._speaking


def make_endpointer(detector: str = DEFAULT_DETECTOR, silence_s: float = 0.7,
                    min_speech_s: float = 0.2) -> _Endpointer:
    settings = EndpointSettings(silence_s=silence_s, min_speech_s=min_speech_s)
    if detector == "silero":
        return SileroEndpointer(settings)
    if detector == "energy":
        return EnergyEndpointer(settings)
    from assistant.errors import InvalidInput

    raise InvalidInput(f"VAD detector {detector!r} is unknown; available detectors = {list(DETECTORS)}")


def find_endpoint(audio: np.ndarray, detector: str = DEFAULT_DETECTOR, silence_s: float = 0.7) -> float | None:
    """Offline helper (bench, tests): seconds into ``audio`` at which the endpointer would stop
    a live recording, or None if it never would."""
    endpointer = make_endpointer(detector, silence_s)
    for i in range(len(audio) // FRAME_SAMPLES):
        if endpointer.feed(audio[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES]):
            return (i + 1) * FRAME_SECONDS
    return None
