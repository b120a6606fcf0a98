"""Speech to text, offline: Whisper through openai-whisper (PyTorch) or faster-whisper
(CTranslate2), on weights that ship inside installed packages (see assistant.whisper_convert).

A Transcriber is loaded once and reused; transcribe() takes float32 mono 16 kHz audio (what
assistant.audio returns) and never crashes on silence, noise, clipping or another language: it
returns a Transcript with empty text and no_speech=True instead of Whisper's hallucinations.
"""
from __future__ import annotations

import math
import os
import re
import threading
import time
import zlib
from dataclasses import dataclass, replace
from typing import Sequence

import numpy as np

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.request_text import normalize_request
from assistant.speech_vocabulary import repair_settings_words
from models.progress import Progress

SAMPLE_RATE = 16000
WINDOW_SECONDS = 30  # Whisper's fixed input window

ENGINES = ("openai-whisper", "faster-whisper")
#: Models whose weights are installed (offline). Standard openai-whisper names ("small.en", ...)
#: are also accepted and fetched the way each library does, which needs internet.
MODELS = ("tiny.en", "base")
# Chosen by bench/speech.py (bench/RESULTS.md "Speech", 40 espeak-ng requests, both engines and
# models side by side in one run). Rule: the most accurate setup whose latency can meet the goal
# (end of speech -> emotion < 0.8 s). With beam 5 + the music prompt: faster-whisper base 14.0 % WER
# but 1.5 s even at load average 1.6; openai-whisper base 16.1 %, 2.2 s; openai-whisper tiny.en
# 20.1 %, 1.2 s; faster-whisper tiny.en 21.1 %, 0.95 s at load 4.5 and ~0.45 s at load 1.5 -> the
# only one under 0.8 s. Choose "base" in the settings for accuracy when latency matters less.
DEFAULT_ENGINE = "faster-whisper"
DEFAULT_MODEL = "tiny.en"

# Rejection of hallucinations (Whisper "hears" words in silence and noise).
SILENCE_DBFS = -55.0          # audio whose loudest 100 ms is below this is silence: skip the model
NO_SPEECH_PROB = 0.6          # Whisper's own thresholds (transcribe.py): no speech if the
LOGPROB_THRESHOLD = -1.0      # no-speech probability is high AND the text is improbable
HARD_LOGPROB_THRESHOLD = -1.5  # ...or the text is very improbable whatever no_speech_prob says
COMPRESSION_THRESHOLD = 2.4   # repetitive text ("the the the ...") is a decoding failure
MIN_SPEECH_S = 0.15           # Silero VAD must hear at least this much speech
#: Encoder frames (50 a second) kept after the audio's end when the settings slots are re-decoded:
#: the decoder attends to the audio's frames, not the whole 30 s window (about 5x cheaper).
SLOT_FRAMES_MARGIN = 50


def slot_frames(samples: int) -> int:
    """Encoder frames of a window of ``samples`` (320 samples a frame) plus SLOT_FRAMES_MARGIN, at most
    the 1500 of a whole window: the part of the encoder output the settings slots are scored on."""
    return min(1500, math.ceil(samples / 320) + SLOT_FRAMES_MARGIN)


#: DecodeSettings.initial_prompt value that stands for the music vocabulary prompt
#: (assistant.speech_vocabulary.music_prompt: key letters, major/minor, sharp/flat, bpm, bars,
#: metres, instrument names, all read from the request parser; built on first use). Whisper
#: continues the vocabulary of its "previous" text, so a spoken "in E minor" stays "E minor"
#: instead of the likelier "in a minor" (bench/spoken_settings.py, bench/RESULTS.md).
MUSIC_VOCABULARY = "<music vocabulary>"
#: The generic request sentence that was the prompt before the vocabulary bias; kept as the
#: comparison arm of bench/spoken_settings.py and for bench/speech_sweep.py. Its "in a minor key"
#: pulled a spoken "in E minor" to "in a minor".
MUSIC_PROMPT = "Play something calm and peaceful on the piano. Make it sad, dark and slow, eight bars in a minor key."


def resolve_prompt(prompt: str | None) -> str | None:
    """The text of a DecodeSettings.initial_prompt (MUSIC_VOCABULARY -> the vocabulary prompt)."""
    if prompt == MUSIC_VOCABULARY:
        from assistant.speech_vocabulary import music_prompt

        return music_prompt()
    return prompt or None


@dataclass(frozen=True)
class DecodeSettings:
    """How Whisper searches for the text (both engines)."""
    beam_size: int = 5                 # hypotheses kept per step; 1 = greedy
    patience: float = 1.0              # beam search: stop after patience * beam_size finished hypotheses
    length_penalty: float | None = None  # None = Whisper's default (plain mean log-probability)
    initial_prompt: str | None = MUSIC_VOCABULARY  # previous-text context (MUSIC_VOCABULARY: the music vocabulary); None = no prompt
    hotwords: str | None = None        # words put before the prompt (faster-whisper's hotwords; openai-whisper: prepended to the prompt)
    prompt_guard: bool = True          # redo without the prompt when the prompted text loops or parrots it
    suppress_blank: bool = True        # no blank/EOT as the first token
    # Seconds of digital silence put before the speech. Whisper was trained on clips that rarely
    # start on the first phoneme, and it drops or garbles a first word said at once ("a calm
    # peaceful piano piece" -> "Calm, peaceful, the aloe beast"); an endpointed or push-to-talk
    # utterance starts right there. Chosen by bench/speech_sweep.py on the tuning requests in 8
    # renditions each (192 utterances, faster-whisper tiny.en): 0 s 19.2 % WER, 0.3 s 18.6 %,
    # 0.5 s 15.7 %, 1.0 s 18.9 %; the bench's held-out requests 20.7 % -> 16.5 % with 0.5 s.
    lead_silence_s: float = 0.5
    # Settings words written in a form the request parser cannot read are put back in its form
    # ("E, minor" -> "E minor", "B P M" -> "bpm"; assistant.speech_vocabulary.repair_settings_words).
    repair_settings: bool = True
    # The settings slots of the transcript (a key after "in", a number before bpm/"per minute"/bars,
    # near-misses included) re-decoded by the same model among the request grammar's alternatives
    # only, given the audio (assistant.speech_slots). Both engines.
    settings_slots: bool = True


# Chosen by bench/speech.py (faster-whisper tiny.en): greedy without prompt 29.8 % WER; beam 5
# alone 26.8 %; greedy + prompt 23.1 %; beam 2 + prompt 22.4 %; beam 5 + prompt 21.1 % (held-out
# requests 24.8 % -> 20.7 %) for ~+0.05-0.1 s. Temperature fallback stays off (a second decode
# costs a full window); the prompt guard replaces it for the failure the prompt brings. Then
# bench/speech_sweep.py: 0.5 s of lead silence (see lead_silence_s). bench/speech.py with it:
# faster-whisper tiny.en int8 22.4 % -> 14.7 % (tuning 13.5 %, held-out 16.5 %) at 0.31 s median;
# base 16.1 % -> 13.7 %; openai-whisper tiny.en 20.1 % -> 18.1 %, base 16.1 % -> 12.7 %.
# Tried there and NOT kept (no gain on the tuning set, or too slow; numbers in its docstring):
# loudness normalisation, high-pass 60-200 Hz, trimming, tail padding, ffmpeg atempo 0.85-0.95,
# resampling slower/lower, N-best rescoring with a generic domain bigram LM (-0.7 pp at best),
# perturbation ensembles with a word vote (2-3x the latency), and a shorter encoder context.
DEFAULT_DECODING = DecodeSettings()
#: faster-whisper weight precision on CPU: int8 quantises the weights at load, ~100 MB less
#: resident memory (the window's 1.5 GB budget) and faster (0.31 s against 0.52 s), with 14.7 %
#: WER against float32's 18.1 % on the 40-request bench with the lead silence (22.4 % against
#: 21.1 % before it; bench/RESULTS.md, "Threads and precision").
FASTER_WHISPER_COMPUTE_TYPE = "int8"
COMPUTE_TYPES = ("float32", "int8")


@dataclass(frozen=True)
class Transcript:
    """What was said."""
    text: str               # the words, stripped; "" when nothing usable was heard
    language: str           # ISO code Whisper decoded in ("en"), or the language it detected
    no_speech: bool         # True when the audio held no usable speech (text is then "")
    seconds: float          # processing time (s) of transcribe(): audio in -> text
    audio_seconds: float = 0.0  # length of the audio (s)
    rejected: str = ""      # why text is empty: "silence", "no speech", "unclear", "language xx"; "" if accepted
    avg_logprob: float = float("nan")   # Whisper's mean token log-probability
    no_speech_prob: float = float("nan")  # Whisper's probability of <|nospeech|>


def _compression_ratio(text: str) -> float:
    raw = text.encode("utf-8")
    return len(raw) / len(zlib.compress(raw)) if raw else 0.0


def _loudest_window_dbfs(audio: np.ndarray, window: int = SAMPLE_RATE // 10) -> float:
    if audio.size == 0:
        return -120.0
    usable = audio[: audio.size // window * window].reshape(-1, window) if audio.size >= window else audio[None, :]
    rms = np.sqrt(np.mean(np.square(usable, dtype=np.float64), axis=1)).max()
    return 20 * math.log10(rms) if rms > 1e-6 else -120.0


def speech_seconds(audio: np.ndarray) -> float:
    """Seconds of speech that faster-whisper's Silero VAD finds in the audio."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    stamps = get_speech_timestamps(audio, VadOptions(min_speech_duration_ms=100, min_silence_duration_ms=300))
    return sum(s["end"] - s["start"] for s in stamps) / SAMPLE_RATE


def _check_audio(audio) -> np.ndarray:
    audio = np.asarray(audio)
    if audio.ndim == 2 and 1 in audio.shape:
        audio = audio.reshape(-1)
    if audio.ndim != 1:
        raise InvalidInput(f"audio of shape {audio.shape} is not allowed; give mono float32 16 kHz samples (1-D)")
    if not np.issubdtype(audio.dtype, np.floating):
        raise InvalidInput(f"audio of dtype {audio.dtype} is not allowed; give float32 samples in -1..1")
    audio = np.nan_to_num(audio.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    return np.clip(audio, -1.0, 1.0)


def with_lead_silence(audio: np.ndarray, seconds: float) -> np.ndarray:
    """The audio with `seconds` of zeros before it (DecodeSettings.lead_silence_s)."""
    count = max(0, int(round(seconds * SAMPLE_RATE)))
    if not count:
        return audio
    return np.concatenate([np.zeros(count, dtype=audio.dtype), audio])


def _looks_looped(text: str) -> bool:
    """A decoding failure typical of Whisper (more so with a prompt, or on speech it cannot
    understand): a word or short phrase (1-3 words) three or more times in a row ("happy, happy,
    happy"), or a phrase of 4+ words said twice ("I hope you enjoyed the video and I hope you
    enjoyed the video"); people asking for music do neither."""
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()
    for n in (1, 2, 3):
        for start in range(len(words) - 3 * n + 1):
            gram = words[start:start + n]
            if words[start + n:start + 2 * n] == gram and words[start + 2 * n:start + 3 * n] == gram:
                return True
    four_grams = [tuple(words[i:i + 4]) for i in range(len(words) - 3)]
    return len(set(four_grams)) < len(four_grams)


def _parrots(text: str, prompt: str, run: int = 6) -> bool:
    """True when the text copies `run` or more consecutive words of the prompt (the decoder
    continued the prompt instead of transcribing)."""
    said = re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()
    given = " " + " ".join(re.sub(r"[^a-z0-9' ]+", " ", prompt.lower()).split()) + " "
    return any(" " + " ".join(said[i:i + run]) + " " in given for i in range(len(said) - run + 1))


def _torch_threads() -> int:
    # Half the cores, at most 4: Whisper's small decoder ops gain little from more threads, and
    # OpenMP threads that compete with other busy processes for a core spin and stall (measured on
    # the 2-core bench machine: tiny.en 0.9 s with 1 thread, 4.8 s with 2 under load).
    return max(1, min(4, (os.cpu_count() or 1) // 2))


@dataclass(frozen=True)
class _Decoded:
    text: str
    language: str
    avg_logprob: float
    no_speech_prob: float
    encoded: object = None      # the encoder output (faster-whisper), reused by the settings slots


class Transcriber:
    """A loaded Whisper model (one engine, one model size). Thread-safe: calls are serialised."""

    def __init__(self, engine: str, model: str, backend, decoding: DecodeSettings = DEFAULT_DECODING):
        self.engine = engine    # "openai-whisper" | "faster-whisper"
        self.model = model      # model name ("tiny.en")
        self.decoding = decoding  # search settings used when transcribe() is given none
        self._backend = backend
        self._lock = threading.Lock()

    @property
    def english_only(self) -> bool:
        return self.model.endswith(".en")

    def transcribe(self, audio: np.ndarray, decoding: DecodeSettings | None = None) -> Transcript:
        """Text of float32 mono 16 kHz audio. Silence, noise, or speech in another language than
        English give an empty text and no_speech=True (with the reason in ``rejected``).
        ``decoding`` overrides the search settings for this call (the bench compares them)."""
        decoding = decoding or self.decoding
        started = time.perf_counter()
        audio = _check_audio(audio)
        audio_seconds = audio.size / SAMPLE_RATE

        def result(text="", language="en", rejected="", decoded: _Decoded | None = None) -> Transcript:
            return Transcript(text, language, not text, time.perf_counter() - started, audio_seconds,
                              rejected if not text else "",
                              decoded.avg_logprob if decoded else float("nan"),
                              decoded.no_speech_prob if decoded else float("nan"))

        if audio_seconds < 0.1 or _loudest_window_dbfs(audio) < SILENCE_DBFS:
            return result(rejected="silence")
        if speech_seconds(audio) < MIN_SPEECH_S:
            return result(rejected="no speech")
        windows = [with_lead_silence(window, decoding.lead_silence_s)
                   for window in self._windows(audio, decoding.lead_silence_s)]
        with self._lock:
            decoded = [self._decode(window, decoding) for window in windows]
        language = decoded[0].language
        kept = []
        for part in decoded:
            if part.no_speech_prob > NO_SPEECH_PROB and part.avg_logprob < LOGPROB_THRESHOLD:
                continue
            if part.avg_logprob < HARD_LOGPROB_THRESHOLD or _compression_ratio(part.text) > COMPRESSION_THRESHOLD:
                continue
            if _looks_looped(part.text):  # even without the prompt: a hallucination, not speech
                continue
            kept.append(part.text.strip())
        # Cleaned like typed text (assistant.request_text); the request's length limit applies later
        text = normalize_request(" ".join(t for t in kept if t), max_chars=None)
        if decoding.repair_settings:
            text = repair_settings_words(text)
        worst = min(decoded, key=lambda d: d.avg_logprob)
        if language != "en":
            # The mood reader understands English only: say what we heard rather than guessing.
            return result(language=language, rejected=f"language {language}", decoded=worst)
        if decoding.settings_slots and text and len(windows) == 1:
            text = self._redecode_slots(text, windows[0], decoded[0])
        return result(text=text, language=language, rejected="unclear", decoded=worst)

    def _decode(self, window: np.ndarray, decoding: DecodeSettings) -> _Decoded:
        decoding = replace(decoding, initial_prompt=resolve_prompt(decoding.initial_prompt))
        part = self._backend.decode(window, decoding)
        given = " ".join(t for t in (decoding.hotwords, decoding.initial_prompt) if t)
        if given and decoding.prompt_guard and (
                _looks_looped(part.text) or _compression_ratio(part.text) > COMPRESSION_THRESHOLD
                or _parrots(part.text, given)):
            # The prompt led the decoder astray: the unprompted text is the honest answer.
            part = self._backend.decode(window, replace(decoding, initial_prompt=None, hotwords=None))
        return part

    def reread_settings(self, audio: np.ndarray, text: str) -> str:
        """``text``, a transcript of ``audio`` (float32 mono 16 kHz, one window: at most ~29 s), with
        its settings slots re-decoded against the audio as transcribe() does (assistant.speech_slots);
        unchanged for longer audio."""
        encoded = self._encode_one_window(_check_audio(audio))
        if encoded is None:
            return text
        window, features = encoded
        return self._redecode_slots(text, window, _Decoded(text, "en", 0.0, 0.0, features))

    def text_logprobs(self, audio: np.ndarray, texts: Sequence[str]) -> list[float]:
        """Log-probability (nats) of each of ``texts`` as the transcript of ``audio`` (float32 mono
        16 kHz, one window: at most ~29 s), forced through the decoder as the settings slots are scored
        (no previous-text prompt). How sure the model is between readings: bench/spoken_keys.py ranks
        every key this way."""
        audio = _check_audio(audio)
        if not texts or any(not str(t).strip() for t in texts):
            raise InvalidInput("texts to score must be non-empty strings; allowed: at least one text")
        encoded = self._encode_one_window(audio)
        if encoded is None:
            raise InvalidInput(f"audio of {audio.size / SAMPLE_RATE:.1f} s cannot be scored; allowed: one window "
                               f"of at most {WINDOW_SECONDS - self.decoding.lead_silence_s:g} s")
        window, features = encoded
        with self._lock:
            scorer = self._backend.slot_scorer(_Decoded("", "en", 0.0, 0.0, features), window.size)
            sequences = [scorer.encode(text) for text in texts]
            if max(len(s) for s in sequences) > 400:
                raise InvalidInput("a text to score is too long; allowed: at most 400 Whisper tokens")
            return [float(np.sum(lp)) for lp in scorer.sequence_logprobs(sequences)]

    def _encode_one_window(self, audio: np.ndarray) -> tuple[np.ndarray, object] | None:
        """(the window transcribe() would decode, with its lead silence; its encoder output), or None
        when ``audio`` is longer than one window or the engine cannot encode one alone."""
        encode = getattr(self._backend, "encode_window", None)
        if encode is None or audio.size > (WINDOW_SECONDS - self.decoding.lead_silence_s) * SAMPLE_RATE:
            return None
        window = with_lead_silence(audio, self.decoding.lead_silence_s)
        with self._lock:
            return window, encode(window)

    def _redecode_slots(self, text: str, window: np.ndarray, decoded: _Decoded) -> str:
        """``text`` with its settings slots re-decoded (DecodeSettings.settings_slots)."""
        make_scorer = getattr(self._backend, "slot_scorer", None)
        if make_scorer is None or decoded.encoded is None:
            return text  # a window decoded in several segments (faster-whisper): left as heard
        from assistant.speech_slots import redecode_slots

        with self._lock:
            scorer = make_scorer(decoded, window.size)
            return redecode_slots(text, scorer) if scorer is not None else text

    def warm_up(self) -> None:
        """One short decode so that the first real request does not pay for allocations."""
        rng = np.random.default_rng(0)
        with self._lock:
            # A prompt of about the vocabulary prompt's length, without building the vocabulary: that
            # imports the request parser (scikit-learn, ~1 s), which the window loads next anyway.
            prompt = MUSIC_PROMPT if self.decoding.initial_prompt == MUSIC_VOCABULARY else self.decoding.initial_prompt
            self._backend.decode((rng.standard_normal(SAMPLE_RATE) * 0.01).astype(np.float32),
                                 replace(self.decoding, initial_prompt=prompt))

    @staticmethod
    def _windows(audio: np.ndarray, lead_silence_s: float = 0.0):
        # Room for the lead silence: a padded window must still fit Whisper's 30 s.
        step = int(round((WINDOW_SECONDS - max(0.0, lead_silence_s)) * SAMPLE_RATE))
        for start in range(0, max(1, audio.size), step):
            window = audio[start:start + step]
            if window.size >= SAMPLE_RATE // 10:
                yield window


class _OpenAIWhisperBackend:
    def __init__(self, model_name: str, progress: Progress | None, threads: int, compute_type: str):
        import torch
        import whisper

        from assistant import whisper_convert

        torch.set_num_threads(threads)
        self._threads = threads
        if model_name in whisper_convert.PACKAGED_MODELS:
            checkpoint = whisper_convert.ensure_openai_checkpoint(model_name, progress)
            if progress:
                progress(f"loading Whisper {model_name} (openai-whisper)", 0.5)
            self.model = whisper.load_model(str(checkpoint), device="cpu")
        else:
            if progress:
                progress(f"loading Whisper {model_name} (openai-whisper; needs internet unless cached)", 0.5)
            try:
                self.model = whisper.load_model(model_name, device="cpu")
            except Exception as error:  # noqa: BLE001 - urllib/ssl/OS errors when offline
                raise DeviceUnavailable(
                    f"Whisper model {model_name!r} is not installed and could not be downloaded ({error}); "
                    f"it needs internet once. Installed models = {list(MODELS)}") from None
        self.model.eval()
        self.english_only = not self.model.is_multilingual
        self._torch = torch
        self._whisper = whisper

    def decode(self, audio: np.ndarray, decoding: DecodeSettings) -> _Decoded:
        whisper = self._whisper
        if self._torch.get_num_threads() != self._threads:  # torch's setting is per process
            self._torch.set_num_threads(self._threads)
        padded = whisper.pad_or_trim(self._torch.from_numpy(audio))
        mel = whisper.log_mel_spectrogram(padded, n_mels=self.model.dims.n_mels)
        options = whisper.DecodingOptions(
            task="transcribe",
            language="en" if self.english_only else None,  # multilingual: detect, then judge
            temperature=0.0, without_timestamps=True, fp16=False,  # fp32: CPUs have no fast fp16
            beam_size=decoding.beam_size if decoding.beam_size > 1 else None,
            patience=decoding.patience if decoding.beam_size > 1 else None,
            length_penalty=decoding.length_penalty,
            prompt=" ".join(t for t in (decoding.hotwords, decoding.initial_prompt) if t) or None,
            suppress_blank=decoding.suppress_blank)
        with self._torch.inference_mode():
            # encoded here (whisper.decode takes encoded features as they are) to keep them for the slots
            features = self.model.embed_audio(mel.unsqueeze(0))[0]
            out = whisper.decode(self.model, features, options)
        return _Decoded(out.text, out.language or "en", float(out.avg_logprob), float(out.no_speech_prob), features)

    def encode_window(self, audio: np.ndarray):
        """The encoder output of one window of audio, as decode() makes it."""
        whisper = self._whisper
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(self._torch.from_numpy(audio)),
                                          n_mels=self.model.dims.n_mels)
        with self._torch.inference_mode():
            return self.model.embed_audio(mel.unsqueeze(0))[0]

    def slot_scorer(self, decoded: _Decoded, samples: int) -> "_TorchScorer | None":
        """Forced decoding over ``decoded``'s encoder output (``samples``: the window's length)."""
        if decoded.encoded is None:
            return None
        return _TorchScorer(self.model, decoded.encoded[:slot_frames(samples)], self._torch)


class _TorchScorer:
    """assistant.speech_slots.Scorer on an openai-whisper model: one decoder pass over a padded batch
    (causal, so the padding after a sequence changes none of its positions), over one window's
    encoder output cut to the audio and a margin, without the previous-text prompt (as _ForcedScorer)."""

    def __init__(self, model, features, torch):
        from whisper.tokenizer import get_tokenizer

        self._model, self._torch = model, torch
        self._tokenizer = get_tokenizer(model.is_multilingual, language="en", task="transcribe")
        self._start = list(self._tokenizer.sot_sequence_including_notimestamps)
        self._features = features

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(" " + text.strip())

    def _logprobs(self, sequences):
        torch = self._torch
        longest = max(len(s) for s in sequences)
        tokens = torch.full((len(sequences), len(self._start) + longest), self._tokenizer.eot, dtype=torch.long)
        for i, sequence in enumerate(sequences):
            tokens[i, :len(self._start) + len(sequence)] = torch.tensor(self._start + list(sequence))
        with torch.inference_mode():
            logits = self._model.decoder(tokens, self._features.unsqueeze(0).expand(len(sequences), -1, -1))
            return torch.log_softmax(logits.float(), dim=-1)

    def next_token_rows(self, tokens, positions):
        rows = self._logprobs([list(tokens[:max(positions)])])[0]
        offset = len(self._start) - 1  # the row that predicts text token p
        return {p: rows[offset + p].numpy().astype(np.float64) for p in positions}

    def sequence_logprobs(self, sequences):
        rows = self._logprobs(sequences)
        offset = len(self._start) - 1
        return [rows[i, offset + np.arange(len(s)), list(s)].numpy().astype(np.float64)
                for i, s in enumerate(sequences)]


class _FasterWhisperBackend:
    def __init__(self, model_name: str, progress: Progress | None, threads: int, compute_type: str):
        from faster_whisper import WhisperModel

        from assistant import whisper_convert

        if model_name in whisper_convert.PACKAGED_MODELS:
            folder = whisper_convert.ensure_ctranslate2_model(model_name, progress)
            if progress:
                progress(f"loading Whisper {model_name} (faster-whisper)", 0.5)
            self.model = WhisperModel(str(folder), device="cpu", compute_type=compute_type, cpu_threads=threads)
        else:
            try:
                self.model = WhisperModel(model_name, device="cpu", compute_type=compute_type, cpu_threads=threads)
            except Exception as error:  # noqa: BLE001 - huggingface_hub offline errors
                raise DeviceUnavailable(
                    f"Whisper model {model_name!r} is not installed and could not be downloaded ({error}); "
                    f"it needs internet once (and HF_HUB_OFFLINE unset). Installed models = {list(MODELS)}"
                ) from None
        self.english_only = not self.model.model.is_multilingual
        self._encoded = None
        encode = self.model.encode

        def remember(features):  # the encoder output of the last decode, for the settings slots
            self._encoded = encode(features)
            return self._encoded

        self.model.encode = remember

    def encode_window(self, audio: np.ndarray):
        """The encoder output of one window of audio, as transcribe() makes it."""
        from faster_whisper.audio import pad_or_trim

        features = self.model.feature_extractor(audio)
        return self.model.encode(pad_or_trim(features[:, :max(1, features.shape[-1] - 1)]))

    def slot_scorer(self, decoded: _Decoded, samples: int) -> "_ForcedScorer | None":
        """Forced decoding over ``decoded``'s encoder output (``samples``: the window's length)."""
        if decoded.encoded is None:
            return None
        return _ForcedScorer(self.model, decoded.encoded, slot_frames(samples))

    def decode(self, audio: np.ndarray, decoding: DecodeSettings) -> _Decoded:
        self._encoded = None
        segments, info = self.model.transcribe(
            audio, language="en" if self.english_only else None, beam_size=decoding.beam_size, best_of=1,
            patience=decoding.patience, length_penalty=decoding.length_penalty or 1.0,
            initial_prompt=decoding.initial_prompt, hotwords=decoding.hotwords,
            suppress_blank=decoding.suppress_blank,
            temperature=0.0, condition_on_previous_text=False, without_timestamps=True,
            vad_filter=False, no_speech_threshold=None, log_prob_threshold=None,
            compression_ratio_threshold=None)
        segments = list(segments)  # the generator does the decoding
        if not segments:
            return _Decoded("", info.language or "en", -10.0, 1.0)
        # A window may come back as several segments: weight by token count.
        tokens = [max(1, len(s.tokens)) for s in segments]
        avg = sum(s.avg_logprob * n for s, n in zip(segments, tokens)) / sum(tokens)
        return _Decoded("".join(s.text for s in segments), info.language or "en", float(avg),
                        float(max(s.no_speech_prob for s in segments)),
                        self._encoded if len(segments) == 1 else None)


class _ForcedScorer:
    """assistant.speech_slots.Scorer on a faster-whisper model, over one window's encoder output cut
    to ``frames`` (the audio and a margin). No previous-text prompt: the alternatives are the grammar's
    already, and the prompt would be decoded again for every alternative (measured: 4x the cost).
    Next-token rows: Whisper.generate with the tokens as the forced prefix, one step past the last
    position asked for (return_logits_vocab); whole sequences: Whisper.align's token probabilities,
    one decoder pass for a batch."""

    def __init__(self, model, encoded, frames: int):
        from faster_whisper.tokenizer import Tokenizer

        self._model = model
        self._tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe",
                                    language="en")
        self._memory = np.ascontiguousarray(np.asarray(encoded, dtype=np.float32)[:, :frames])

    def encode(self, text: str) -> list[int]:
        return self._tokenizer.encode(" " + text.strip())

    def _memory_for(self, count: int):
        import ctranslate2

        return ctranslate2.StorageView.from_array(np.ascontiguousarray(np.repeat(self._memory, count, axis=0)))

    def next_token_rows(self, tokens, positions):
        start = list(self._tokenizer.sot_sequence) + [self._tokenizer.no_timestamps]
        last = max(positions)
        prefix = list(tokens[:last])
        # ctranslate2 decodes at most min(max_length / 2, max_length - (len(start) - 1)) steps, the
        # forced prefix included: one step past it gives the row of every position up to ``last``
        steps = len(prefix) + 1
        result, = self._model.model.generate(
            self._memory_for(1), [start + prefix], max_length=max(2 * steps, steps + len(start) - 1),
            beam_size=1, return_logits_vocab=True, suppress_blank=False, suppress_tokens=[])
        logits = np.asarray(result.logits[0], dtype=np.float64)
        peak = logits.max(axis=1, keepdims=True)
        logprobs = logits - peak - np.log(np.exp(logits - peak).sum(axis=1, keepdims=True))
        return {p: logprobs[p] for p in positions if p < len(logprobs)}

    def sequence_logprobs(self, sequences):
        sequences = [list(s) for s in sequences]
        results = self._model.model.align(self._memory_for(len(sequences)), list(self._tokenizer.sot_sequence),
                                          sequences, 2 * self._memory.shape[1])  # mel frames: 2 an encoder frame
        return [np.log(np.maximum(np.asarray(r.text_token_probs, dtype=np.float64), 1e-30)) for r in results]


_BACKENDS = {"openai-whisper": _OpenAIWhisperBackend, "faster-whisper": _FasterWhisperBackend}
_loaded: dict[tuple, Transcriber] = {}
_load_lock = threading.Lock()


def _standard_names() -> list[str]:
    try:
        import whisper

        return list(whisper.available_models())
    except Exception:  # noqa: BLE001 - whisper itself missing
        return []


def load_transcriber(engine: str = DEFAULT_ENGINE, model: str = DEFAULT_MODEL,
                     progress: Progress | None = None, *, threads: int | None = None,
                     compute_type: str | None = None) -> Transcriber:
    """The Transcriber for (engine, model), loaded once per process (first call converts the
    weights if needed: a few seconds) and warmed up with one short decode.
    threads: CPU threads for the model (None = half the cores); compute_type: faster-whisper
    weight precision ("int8" | "float32"; None = FASTER_WHISPER_COMPUTE_TYPE)."""
    if engine not in ENGINES:
        raise InvalidInput(f"speech engine {engine!r} is unknown; available engines = {list(ENGINES)}")
    if model not in MODELS and model not in _standard_names():
        raise InvalidInput(
            f"Whisper model {model!r} not found; available models = {list(MODELS)} (installed) "
            f"or, with internet, {[m for m in _standard_names() if m not in MODELS]}")
    threads = threads or _torch_threads()
    compute_type = compute_type or FASTER_WHISPER_COMPUTE_TYPE
    if compute_type not in COMPUTE_TYPES:
        raise InvalidInput(f"compute type {compute_type!r} is not allowed; available = {list(COMPUTE_TYPES)}")
    key = (engine, model, threads, compute_type if engine == "faster-whisper" else "float32")
    with _load_lock:
        if key not in _loaded:
            backend = _BACKENDS[engine](model, progress, threads, compute_type)
            _loaded[key] = Transcriber(engine, model, backend)
            if progress:
                progress(f"warming up Whisper {model}", 0.9)
            _loaded[key].warm_up()
            if progress:
                progress(f"Whisper {model} ready", 1.0)
        return _loaded[key]
