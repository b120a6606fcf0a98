"""Audio in: microphone capture (push-to-talk and hands-free) and audio files, always delivered
as float32 mono 16 kHz numpy arrays (what Whisper wants).

The microphone goes through PortAudio (sounddevice). Debian's PortAudio has no PulseAudio host
API: it reaches PulseAudio through ALSA's "pulse" plugin (libasound2-plugins), which appears as
the ALSA devices "pulse" and "default". To pick a particular PulseAudio source (e.g. a USB
microphone, or the test suite's "moodchords_mic"), a device name that matches a PulseAudio source
opens the "pulse" device with PULSE_SOURCE set, which the plugin's libpulse honours.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.jack_environment import jack_unreachable
from assistant.vad import (DEFAULT_DETECTOR, FRAME_SAMPLES, SAMPLE_RATE, level_0_1, make_endpointer,
                           rms_dbfs)
from models.progress import Progress

#: Longest audio file we transcribe; longer files are cut here (a mood request is a sentence).
MAX_FILE_SECONDS = 120.0
#: ffmpeg gets this long to decode a file before we give up on it.
DECODE_TIMEOUT_S = 60.0
#: Audio kept before the first speech frame in hands-free mode (Whisper likes a little lead-in).
PRE_ROLL_S = 0.3
#: Push-to-talk: an armed microphone keeps this much audio from before the talk key went down and
#: puts it in front of the recording, so the first word is not cut by the key's or the stream's delay.
PUSH_TO_TALK_PRE_ROLL_S = 0.3
#: Longest pre-roll a Microphone accepts (it is a ring buffer held in memory for every block).
MAX_PRE_ROLL_S = 2.0

NO_MICROPHONE_HELP = (
    "no microphone found; type your request instead. To use your voice, connect a microphone and "
    "check that PulseAudio/PipeWire is running (`pactl info`) and lists it (`pactl list short sources`)"
)

LevelCallback = Callable[[float], None]


# ---------------------------------------------------------------------------------------------
# Devices


@dataclass(frozen=True)
class InputDevice:
    """A capture device the user can choose by name."""
    name: str               # what to pass as Microphone(device_name=...)
    description: str        # human-readable label
    channels: int           # input channels offered
    default_samplerate: float  # Hz
    is_default: bool        # the system's default input
    backend: str            # "portaudio" (an ALSA/PortAudio device) or "pulse" (a PulseAudio source)


_portaudio_lock = threading.Lock()  # opening/closing streams and re-initialising PortAudio, never at once
_open_streams = 0  # streams of ours now open; PortAudio is only re-initialised while this is 0
# Armed microphones (held here until disarmed, so an open stream never outlives its owner unseen);
# their idle streams close for a rescan and re-open after it.
_armed_microphones: set[Microphone] = set()


@contextmanager
def _portaudio_without_jack():
    """Initialise PortAudio with its JACK host API unable to connect. That host API holds a JACK
    client for as long as PortAudio stays initialised, and if that JACK server stops meanwhile (a
    user quitting JACK, a test's private server) the next Pa_Terminate -- our device rescan, or
    sounddevice's at exit -- fails an assertion in pa_jack.c and aborts the whole process.
    Microphones are reached through ALSA (and its PulseAudio/PipeWire plugin), never JACK."""
    with jack_unreachable():
        yield


def _sounddevice():
    try:
        with _portaudio_lock, _portaudio_without_jack():  # importing sounddevice initialises PortAudio
            import sounddevice
    except OSError as error:  # libportaudio missing
        raise DeviceUnavailable(f"{NO_MICROPHONE_HELP} (PortAudio could not be loaded: {error})") from None
    return sounddevice


def _rescan_portaudio(sd) -> bool:
    """PortAudio lists devices once, at initialisation; a PulseAudio server started later (or a
    microphone plugged in) only shows after a re-initialisation. Pa_Terminate closes every open
    stream under its owner's feet (a crash at the owner's next call), so armed microphones that are
    not recording close their streams first and re-open them after; while any stream of ours is
    recording, nothing is re-initialised (False: the previous device list stays)."""
    with _portaudio_lock:
        suspended = [microphone for microphone in list(_armed_microphones) if microphone._suspend_locked()]
        try:
            if _open_streams != 0:
                return False
            with _portaudio_without_jack():
                sd._terminate()
                sd._initialize()
            return True
        finally:
            for microphone in suspended:
                microphone._resume_locked()


class PreRollBuffer:
    """The last ``capacity`` samples pushed, oldest first: a fixed ring buffer (no allocation per
    block, one copy in) for the audio heard just before a push-to-talk recording starts.
    Not thread-safe on its own; Microphone guards it with its state lock."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise InvalidInput(f"pre-roll capacity {capacity} samples is not allowed; use 0 or more")
        self.capacity = int(capacity)                    # samples kept at most
        self._ring = np.zeros(self.capacity, np.float32)  # the samples, wrapping around
        self._end = 0                                     # index after the newest sample
        self._held = 0                                    # samples held (<= capacity)

    def __len__(self) -> int:
        return self._held

    def push(self, samples: np.ndarray) -> None:
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if self.capacity == 0 or samples.size == 0:
            return
        if samples.size >= self.capacity:  # the block alone fills the ring: keep its tail
            self._ring[:] = samples[-self.capacity:]
            self._end, self._held = 0, self.capacity
            return
        first = min(samples.size, self.capacity - self._end)
        self._ring[self._end:self._end + first] = samples[:first]
        self._ring[:samples.size - first] = samples[first:]
        self._end = (self._end + samples.size) % self.capacity
        self._held = min(self.capacity, self._held + samples.size)

    def contents(self) -> np.ndarray:
        """A copy of the samples held, oldest first."""
        start = (self._end - self._held) % self.capacity if self.capacity else 0
        if start + self._held <= self.capacity:
            return self._ring[start:start + self._held].copy()
        return np.concatenate([self._ring[start:], self._ring[:self._end]])

    def clear(self) -> None:
        self._end = self._held = 0


def _pulse_sources() -> list[dict]:
    """PulseAudio sources (microphones; monitors of outputs are left out), or [] without a server."""
    if not shutil.which("pactl"):
        return []
    try:
        listing = subprocess.run(["pactl", "-f", "json", "list", "sources"], capture_output=True,
                                 text=True, timeout=5)
        default = subprocess.run(["pactl", "get-default-source"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return []
    if listing.returncode != 0:
        return []
    try:
        sources = json.loads(listing.stdout)
    except json.JSONDecodeError:
        return []
    default_name = default.stdout.strip() if default.returncode == 0 else ""
    result = []
    for source in sources:
        if source.get("monitor_source") or source.get("properties", {}).get("device.class") == "monitor":
            continue
        spec = source.get("sample_specification", "")
        channels = next((int(p[:-2]) for p in spec.split() if p.endswith("ch") and p[:-2].isdigit()), 1)
        rate = next((float(p[:-2]) for p in spec.split() if p.endswith("Hz") and p[:-2].isdigit()), 44100.0)
        result.append({"name": source["name"], "description": source.get("description", source["name"]),
                       "channels": channels, "rate": rate, "is_default": source["name"] == default_name})
    return result


def list_input_devices() -> list[InputDevice]:
    """Capture devices: PortAudio's inputs, then PulseAudio's sources (if a server is running)."""
    sd = _sounddevice()
    _rescan_portaudio(sd)
    devices = []
    try:
        default_index = sd.default.device[0]
        if default_index is None or default_index < 0:
            default_index = sd.query_hostapis(0)["default_input_device"] if sd.query_hostapis() else -1
    except Exception:  # noqa: BLE001 - PortAudio reports "no default" in several ways
        default_index = -1
    for index, info in enumerate(sd.query_devices()):
        if info["max_input_channels"] > 0:
            devices.append(InputDevice(info["name"], f"{info['name']} (PortAudio/ALSA)",
                                       int(info["max_input_channels"]), float(info["default_samplerate"]),
                                       index == default_index, "portaudio"))
    if any(d.name == "pulse" for d in devices):  # PulseAudio sources are reachable through it
        for source in _pulse_sources():
            devices.append(InputDevice(source["name"], f"{source['description']} (PulseAudio)",
                                       source["channels"], source["rate"], False, "pulse"))
    return devices


@dataclass(frozen=True)
class _ResolvedDevice:
    portaudio_device: int | str  # what sounddevice opens
    pulse_source: str | None     # PULSE_SOURCE to set while opening, for a PulseAudio source
    label: str


def _resolve_device(device_name: str | None) -> _ResolvedDevice:
    devices = list_input_devices()
    portaudio = [d for d in devices if d.backend == "portaudio"]
    if not portaudio:
        raise DeviceUnavailable(NO_MICROPHONE_HELP)
    if device_name is None:
        default = next((d for d in portaudio if d.is_default), None)
        # On a PulseAudio desktop "default" is PulseAudio's default source; prefer it by name.
        chosen = next((d for d in portaudio if d.name == "default"), default or portaudio[0])
        return _ResolvedDevice(chosen.name, None, chosen.name)
    wanted = device_name.strip().lower()
    for match in (lambda d: d.name.lower() == wanted, lambda d: wanted in d.name.lower()):
        found = [d for d in devices if match(d)]
        if found:
            device = found[0]
            if device.backend == "pulse":
                return _ResolvedDevice("pulse", device.name, f"{device.name} (PulseAudio)")
            return _ResolvedDevice(device.name, None, device.name)
    raise InvalidInput(
        f"microphone {device_name!r} not found; available input devices = {[d.name for d in devices]}"
    )


# ---------------------------------------------------------------------------------------------
# Resampling


def resample(audio: np.ndarray, from_rate: int, to_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Band-limited polyphase resampling (scipy), float32 out."""
    audio = np.asarray(audio, dtype=np.float32)
    if int(from_rate) == int(to_rate) or audio.size == 0:
        return audio
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(from_rate), int(to_rate))
    return resample_poly(audio, int(to_rate) // g, int(from_rate) // g).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Microphone


@dataclass(frozen=True)
class UtteranceInfo:
    """How a hands-free recording ended (timestamps in seconds from the start of the recording)."""
    reason: str                    # "silence" (endpoint), "max_seconds", "cancelled" or "no_speech"
    speech_start_s: float | None   # first speech frame, None if no speech was heard
    speech_end_s: float | None     # end of the last speech frame
    endpoint_s: float              # when the recording stopped
    endpoint_wall_s: float         # time.monotonic() at the endpoint decision (for latency budgets)


def _is_cancelled(cancel) -> bool:
    if cancel is None:
        return False
    if hasattr(cancel, "is_set"):
        return bool(cancel.is_set())
    return bool(cancel())


class Microphone:
    """A microphone, by name (None = the system default). Audio comes back as float32 mono 16 kHz.

    Push-to-talk: start() ... stop() -> audio.  Fixed length: record(seconds).
    Hands-free: record_utterance() ends ~silence_s after the speaker stops (VAD endpointing).
    arm() keeps the stream open between recordings, holding the last ``pre_roll_s`` of audio, which
    start() puts in front of the recording (the first word is not cut); close() (or disarm()) ends it.
    """

    def __init__(self, device_name: str | None = None, samplerate: int = SAMPLE_RATE,
                 detector: str = DEFAULT_DETECTOR, pre_roll_s: float = PUSH_TO_TALK_PRE_ROLL_S):
        if int(samplerate) != SAMPLE_RATE:
            raise InvalidInput(f"samplerate {samplerate} is not supported; Whisper needs {SAMPLE_RATE}")
        if not 0 <= pre_roll_s <= MAX_PRE_ROLL_S:
            raise InvalidInput(f"pre_roll_s {pre_roll_s} is not allowed; use 0..{MAX_PRE_ROLL_S} seconds")
        self.samplerate = SAMPLE_RATE      # Hz of what we return
        self.detector = detector           # endpointer for record_utterance ("silero" | "energy")
        self.pre_roll_s = float(pre_roll_s)  # seconds an armed microphone keeps for start()
        self._device = _resolve_device(device_name)
        self.device_name = self._device.label
        self._sd = _sounddevice()
        self.device_samplerate = self._pick_device_rate()  # Hz the device is opened at
        self._stream = None     # the open PortAudio stream (opened and closed under _portaudio_lock)
        self._armed = False     # keep the stream open between recordings (pre-roll)
        # Shared with PortAudio's callback thread, under _state_lock:
        self._state_lock = threading.Lock()
        self._recording = False  # blocks go to the recording (else to the pre-roll)
        self._chunks: list[np.ndarray] = []
        self._queue: queue.Queue[np.ndarray] | None = None
        self._on_level: LevelCallback | None = None
        self._pre_roll = PreRollBuffer(int(round(self.pre_roll_s * self.device_samplerate)))
        self.last_utterance: UtteranceInfo | None = None

    # --- opening
    def _with_pulse_source(self, action):
        """Run ``action`` with PULSE_SOURCE pointing at the chosen PulseAudio source (if any)."""
        if self._device.pulse_source is None:
            return action()
        previous = os.environ.get("PULSE_SOURCE")
        os.environ["PULSE_SOURCE"] = self._device.pulse_source
        try:
            return action()
        finally:
            if previous is None:
                os.environ.pop("PULSE_SOURCE", None)
            else:
                os.environ["PULSE_SOURCE"] = previous

    def _pick_device_rate(self) -> int:
        """16 kHz if the device takes it, else its own rate (44.1/48 kHz), resampled afterwards."""
        sd = self._sd
        info = sd.query_devices(self._device.portaudio_device, "input")
        for rate in (SAMPLE_RATE, int(info["default_samplerate"]), 48000, 44100):
            try:
                sd.check_input_settings(device=self._device.portaudio_device, channels=1,
                                        samplerate=rate, dtype="float32")
                return rate
            except Exception:  # noqa: BLE001 - PortAudio raises PortAudioError/ValueError
                continue
        raise DeviceUnavailable(f"microphone {self.device_name!r} accepts none of the rates 16000/44100/48000 Hz "
                                f"in mono float32; {NO_MICROPHONE_HELP}")

    def _callback(self, indata, frames, time_info, status) -> None:
        """PortAudio's thread: a block goes to the recording, or (armed, idle) into the pre-roll."""
        with self._state_lock:
            if not self._recording:
                self._pre_roll.push(indata[:, 0])
                return
            chunk = indata[:, 0].copy()
            self._chunks.append(chunk)
            to_queue, on_level = self._queue, self._on_level
        if to_queue is not None:
            to_queue.put(chunk)
        elif on_level is not None:
            on_level(level_0_1(rms_dbfs(chunk)))

    def _open_stream_locked(self) -> None:
        """Open and start the stream (_portaudio_lock held)."""
        global _open_streams
        block = int(round(FRAME_SAMPLES * self.device_samplerate / SAMPLE_RATE))

        def open_stream():
            stream = self._sd.InputStream(device=self._device.portaudio_device, channels=1,
                                          samplerate=self.device_samplerate, dtype="float32",
                                          blocksize=block, latency="high", callback=self._callback)
            stream.start()
            return stream

        with self._state_lock:
            self._pre_roll.clear()
        try:
            self._stream = self._with_pulse_source(open_stream)
        except Exception as error:  # noqa: BLE001 - PortAudioError carries the host's message
            self._stream = None
            raise DeviceUnavailable(f"could not open microphone {self.device_name!r} ({error}); "
                                    f"{NO_MICROPHONE_HELP}") from None
        _open_streams += 1

    def _close_stream_locked(self) -> None:
        """Stop and close the stream (_portaudio_lock held); the callback has run its last on return."""
        global _open_streams
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
                stream.close()
            finally:
                _open_streams -= 1

    def _suspend_locked(self) -> bool:
        """For a PortAudio rescan: close an armed stream that is not recording (True if closed)."""
        if not self._armed or self._stream is None or self._recording:
            return False
        self._close_stream_locked()
        return True

    def _resume_locked(self) -> None:
        try:
            self._open_stream_locked()
        except DeviceUnavailable:  # gone in the rescan: start() says so when the user talks
            pass

    def _open(self, on_level: LevelCallback | None, to_queue: bool, with_pre_roll: bool = False) -> None:
        with _portaudio_lock:
            if self._recording:
                raise InvalidInput("the microphone is already recording; stop() it first")
            if self._stream is None:
                self._open_stream_locked()
            with self._state_lock:
                self._chunks = [self._pre_roll.contents()] if with_pre_roll and len(self._pre_roll) else []
                self._pre_roll.clear()
                self._queue = queue.Queue() if to_queue else None
                self._on_level = on_level
                self._recording = True

    def _close(self) -> np.ndarray:
        """End the recording: the audio since _open. The stream stays open while armed."""
        with _portaudio_lock:
            if not self._armed:
                self._close_stream_locked()  # first: the blocks PortAudio still holds arrive
            with self._state_lock:
                chunks, self._chunks = self._chunks, []
                self._recording = False
                self._queue = None
                self._on_level = None
        audio = np.concatenate(chunks) if chunks else np.zeros(0, np.float32)
        return resample(audio, self.device_samplerate)

    # --- keeping it open
    def arm(self) -> None:
        """Keep the microphone open from now on, holding the last ``pre_roll_s`` of audio for the
        next start() (a block copy per 32 ms; nothing older is kept). DeviceUnavailable if it
        cannot be opened."""
        with _portaudio_lock:
            if self._stream is None:
                self._open_stream_locked()
            self._armed = True
            _armed_microphones.add(self)

    def disarm(self) -> None:
        """Stop keeping the microphone open; a recording in progress goes on until stop()."""
        with _portaudio_lock:
            self._armed = False
            _armed_microphones.discard(self)
            if self._stream is not None and not self._recording:
                self._close_stream_locked()

    @property
    def is_armed(self) -> bool:
        return self._armed

    def pre_roll_audio(self) -> np.ndarray:
        """What an armed, idle microphone holds now for the next start() (float32 mono 16 kHz)."""
        with self._state_lock:
            held = self._pre_roll.contents()
        return resample(held, self.device_samplerate)

    # --- push-to-talk
    def start(self, on_level: LevelCallback | None = None) -> None:
        """Start recording (push-to-talk pressed). on_level gets a 0..1 meter reading per 32 ms.
        An armed microphone's pre-roll is the recording's beginning."""
        self._open(on_level, to_queue=False, with_pre_roll=True)

    def stop(self) -> np.ndarray:
        """Stop recording (push-to-talk released); the audio since start() (and its pre-roll)."""
        if not self._recording:
            raise InvalidInput("the microphone is not recording; call start() first")
        return self._close()

    @property
    def is_recording(self) -> bool:
        return self._recording

    def record(self, seconds: float) -> np.ndarray:
        """Record a fixed number of seconds of audio (counted in samples, not wall-clock time:
        a device that is slow to start delivers late, not short)."""
        if not 0 < seconds <= 300:
            raise InvalidInput(f"recording length {seconds} s is not allowed; use 0 < seconds <= 300")
        wanted = int(round(seconds * self.device_samplerate))
        self._open(None, to_queue=True)
        received = 0
        deadline = time.monotonic() + seconds + 5.0
        try:
            while received < wanted and time.monotonic() < deadline:
                try:
                    received += len(self._queue.get(timeout=0.05))
                except queue.Empty:
                    continue
        finally:
            audio = self._close()
        if received < wanted:
            raise DeviceUnavailable(f"microphone {self.device_name!r} delivered {received / self.device_samplerate:.1f} s "
                                    f"of audio in {seconds + 5:.0f} s; {NO_MICROPHONE_HELP}")
        return audio[: int(round(seconds * SAMPLE_RATE))]

    # --- hands-free
    def record_utterance(self, max_seconds: float = 30.0, silence_s: float = 0.7,
                         on_level: LevelCallback | None = None, cancel=None,
                         no_speech_timeout_s: float | None = None) -> np.ndarray:
        """Record one utterance: from now until ``silence_s`` of silence follows speech, at most
        ``max_seconds``. ``on_level(0..1)`` drives a meter; ``cancel`` (threading.Event or a
        callable returning True) stops early and returns an empty array. With
        ``no_speech_timeout_s``, give up (empty array) if nobody speaks that long.
        ``last_utterance`` tells how it ended."""
        if not 0 < max_seconds <= 300:
            raise InvalidInput(f"max_seconds {max_seconds} is not allowed; use 0 < max_seconds <= 300")
        if not 0.1 <= silence_s <= 5:
            raise InvalidInput(f"silence_s {silence_s} is not allowed; use 0.1..5 seconds")
        # The microphone opens first: the VAD can take seconds to load the first time in a process,
        # and what is said meanwhile waits in the queue instead of being lost.
        self._open(None, to_queue=True)
        try:
            endpointer = make_endpointer(self.detector, silence_s=silence_s)
        except BaseException:
            self._close()
            raise
        pending = np.zeros(0, np.float32)  # 16 kHz samples not yet fed to the VAD
        fed = 0                             # 16 kHz samples fed so far
        reason = "max_seconds"
        started_wall = time.monotonic()
        try:
            while True:
                if _is_cancelled(cancel):
                    reason = "cancelled"
                    break
                try:
                    chunk = self._queue.get(timeout=0.05)
                except queue.Empty:
                    if time.monotonic() - started_wall > max_seconds + 2.0:
                        break  # the device stopped delivering: do not hang
                    continue
                # Per-block resampling is slightly approximate at block edges: good enough for a VAD;
                # the returned audio is resampled in one piece.
                pending = np.concatenate([pending, resample(chunk, self.device_samplerate)])
                if on_level is not None:
                    on_level(level_0_1(rms_dbfs(chunk)))
                ended = False
                while len(pending) >= FRAME_SAMPLES:
                    frame, pending = pending[:FRAME_SAMPLES], pending[FRAME_SAMPLES:]
                    fed += FRAME_SAMPLES
                    if endpointer.feed(frame):
                        ended = True
                        break
                if ended:
                    reason = "silence"
                    break
                if fed >= max_seconds * SAMPLE_RATE:
                    break
                if (no_speech_timeout_s is not None and not endpointer.started
                        and fed >= no_speech_timeout_s * SAMPLE_RATE):
                    reason = "no_speech"
                    break
        finally:
            endpoint_wall = time.monotonic()
            audio = self._close()
        self.last_utterance = UtteranceInfo(reason, endpointer.speech_start_s, endpointer.speech_end_s,
                                            fed / SAMPLE_RATE, endpoint_wall)
        if reason in ("cancelled", "no_speech") or (reason == "max_seconds" and not endpointer.started):
            return np.zeros(0, np.float32)
        audio = audio[: min(fed, int(max_seconds * SAMPLE_RATE))]  # blocks after the endpoint are not the utterance
        start = endpointer.speech_start_s
        if start is not None:  # drop the wait before speech, keep a short lead-in
            audio = audio[max(0, int((start - PRE_ROLL_S) * SAMPLE_RATE)):]
        return audio

    def close(self) -> None:
        """Disarm and end any recording (its audio is dropped): the stream is closed. Idempotent."""
        self.disarm()
        if self._recording:
            self._close()

    def __enter__(self) -> "Microphone":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Files


@dataclass(frozen=True)
class LoadedAudio:
    """An audio file decoded for Whisper."""
    samples: np.ndarray     # float32 mono 16 kHz
    seconds: float          # length of `samples`
    source_seconds: float | None  # the file's own length (None if unknown)
    truncated: bool         # True when the file was longer than max_seconds and was cut


def _probe_seconds(path: Path) -> float | None:
    if not shutil.which("ffprobe"):
        return None
    try:
        result = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration",
                                 "-of", "default=nw=1:nk=1", str(path)],
                                capture_output=True, text=True, timeout=DECODE_TIMEOUT_S)
        return float(result.stdout.strip())
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None


def read_audio_file(path: str | os.PathLike, max_seconds: float = MAX_FILE_SECONDS) -> LoadedAudio:
    """Decode any file ffmpeg reads to float32 mono 16 kHz (ffmpeg resamples and down-mixes).
    Files longer than max_seconds are cut there (see ``truncated``)."""
    path = Path(path)
    if not path.exists():
        raise InvalidInput(f"audio file {path} does not exist")
    if path.is_dir():
        raise InvalidInput(f"audio file {path} is a folder; give a file (wav, mp3, flac, ogg, m4a, ...)")
    if not path.is_file():  # /dev/urandom has size 0 but is not empty; a FIFO would block the decoder
        raise InvalidInput(f"audio file {path} is not a regular file (a device, FIFO or socket); "
                           "give an audio file on disk (wav, mp3, flac, ogg, m4a, ...)")
    if path.stat().st_size == 0:
        raise InvalidInput(f"audio file {path} is empty (0 bytes)")
    if not shutil.which("ffmpeg"):
        raise DeviceUnavailable("ffmpeg is not installed; it is needed to read audio files (apt-get install ffmpeg)")
    # -t before -i bounds what is demuxed as well as what is written: a WAV declaring 1 sample per
    # second in 64 KB blocks otherwise took ~10 s to give its 120 s (found by bench/fuzz.py).
    limit = f"{max_seconds:.3f}"
    command = ["ffmpeg", "-nostdin", "-v", "error", "-t", limit, "-i", str(path), "-vn", "-t", limit,
               "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"]
    try:
        result = subprocess.run(command, capture_output=True, timeout=DECODE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise InvalidInput(f"audio file {path} took longer than {DECODE_TIMEOUT_S:.0f} s to decode") from None
    except OSError as error:
        raise InvalidInput(f"audio file {path} could not be read: {error}") from None
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        reason = detail[-1] if detail else f"ffmpeg exit code {result.returncode}"
        raise InvalidInput(f"audio file {path} is not readable audio ({reason}); "
                           f"give a wav, mp3, flac, ogg or m4a file")
    raw = result.stdout[: len(result.stdout) // 2 * 2]
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    if samples.size == 0:
        raise InvalidInput(f"audio file {path} contains no audio samples")
    # Only a decode that reached the limit may have been cut: ask ffprobe for the file's length then
    # only (a second process per file halved bench/fuzz.py's audio throughput); a shorter decode is
    # the whole file, so its length is the file's own.
    reached_limit = samples.size >= (max_seconds - 0.05) * SAMPLE_RATE
    source_seconds = _probe_seconds(path) if reached_limit else samples.size / SAMPLE_RATE
    truncated = reached_limit and source_seconds is not None and source_seconds > max_seconds + 0.05
    return LoadedAudio(samples, samples.size / SAMPLE_RATE, source_seconds, truncated)


def load_audio_file(path: str | os.PathLike, max_seconds: float = MAX_FILE_SECONDS,
                    progress: Progress | None = None) -> np.ndarray:
    """float32 mono 16 kHz samples of an audio file (InvalidInput naming the file if unusable).
    A file longer than max_seconds is cut; progress (if given) is told so."""
    loaded = read_audio_file(path, max_seconds)
    if loaded.truncated and progress is not None:
        progress(f"{path} is {loaded.source_seconds:.0f} s long; using its first {max_seconds:.0f} s", 1.0)
    return loaded.samples
