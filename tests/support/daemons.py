"""Real audio and MIDI daemons for tests: PulseAudio with virtual devices, and JACK's dummy
driver for virtual MIDI ports. Each runs in its own temporary runtime directory and is stopped
by its PID; nothing is left behind."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np

SPEAKER_SINK = "moodchords_speaker"  # null sink: where the app's sound goes
MIC_FEED_SINK = "moodchords_mic_feed"  # null sink: what is played here comes out of the mic
MIC_SOURCE = "moodchords_mic"  # remap-source of the feed's monitor: the virtual microphone
SPEAKER_RATE_HZ = 44100


def _stop(process: subprocess.Popen, timeout_s: float = 5.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class SpeakerRecording:
    """Records the speaker sink's monitor (float32 mono) until stop(). parec writes to a file:
    a pipe read only at the end would fill (64 KB, ~0.4 s) and stall the recorder."""

    def __init__(self, env: dict[str, str], directory: Path, rate_hz: int = SPEAKER_RATE_HZ):
        self.rate_hz = rate_hz
        self._path = directory / f"speaker-{uuid.uuid4().hex}.raw"
        self._file = open(self._path, "wb")
        self._process = subprocess.Popen(
            ["parec", f"--device={SPEAKER_SINK}.monitor", "--raw", "--format=float32le",
             "--channels=1", f"--rate={rate_hz}", "--latency-msec=20"],
            stdout=self._file, stderr=subprocess.DEVNULL, env=env,
        )

    def stop(self) -> np.ndarray:
        _stop(self._process)
        self._file.close()
        data = self._path.read_bytes()
        self._path.unlink(missing_ok=True)
        usable = len(data) - len(data) % 4
        return np.frombuffer(data[:usable], dtype="<f4").astype(np.float32)


class TimedRecording:
    """Reads a PulseAudio source continuously and stamps every 10 ms chunk with its arrival time
    (time.perf_counter), so sounds in two recordings can be placed on one clock (latency benches).
    Both recordings see the same server-side buffering (20 ms), so their difference is accurate
    to about one chunk."""

    CHUNK_S = 0.01

    def __init__(self, env: dict[str, str], device: str, rate_hz: int = 16000):
        self.rate_hz = rate_hz
        self._chunk_frames = int(rate_hz * self.CHUNK_S)
        self._chunks: list[tuple[float, np.ndarray]] = []
        self._process = subprocess.Popen(
            ["parec", f"--device={device}", "--raw", "--format=float32le", "--channels=1",
             f"--rate={rate_hz}", "--latency-msec=20"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        size = self._chunk_frames * 4
        while True:
            data = self._process.stdout.read(size)
            if len(data) < 4:
                return
            samples = np.frombuffer(data[: len(data) - len(data) % 4], dtype="<f4")
            self._chunks.append((time.perf_counter(), samples))

    def _loud_sample_times(self, threshold: float):
        for arrival_s, samples in list(self._chunks):
            loud = np.flatnonzero(np.abs(samples) > threshold)
            if loud.size:
                yield arrival_s - (len(samples) - loud) / self.rate_hz

    def first_sound_after(self, after_s: float, threshold: float = 0.01) -> float | None:
        """perf_counter time of the first sample louder than threshold after after_s."""
        for times in self._loud_sample_times(threshold):
            later = times[times > after_s]
            if later.size:
                return float(later[0])
        return None

    def last_sound_before(self, before_s: float, threshold: float = 0.01) -> float | None:
        """perf_counter time of the last sample louder than threshold before before_s."""
        last = None
        for times in self._loud_sample_times(threshold):
            earlier = times[times < before_s]
            if earlier.size:
                last = float(earlier[-1])
        return last

    def peak(self) -> float:
        """The loudest sample's magnitude so far (0.0 before any sound)."""
        return max((float(np.abs(samples).max()) for _, samples in list(self._chunks) if samples.size), default=0.0)

    def stop(self) -> None:
        _stop(self._process)
        self._reader.join(timeout=5)
        self._process.stdout.close()


class PulseAudio:
    """A private PulseAudio server: a null sink as speaker, a virtual microphone."""

    def __init__(self) -> None:
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="moodchords-pulse-"))
        self.socket = self.runtime_dir / "pulse" / "native"
        self.server = f"unix:{self.socket}"
        self.env = dict(os.environ, XDG_RUNTIME_DIR=str(self.runtime_dir), PULSE_SERVER=self.server,
                        HOME=str(self.runtime_dir))
        self.process: subprocess.Popen | None = None
        self._room_tone: list[subprocess.Popen] = []

    def start(self, timeout_s: float = 10.0) -> "PulseAudio":
        if not shutil.which("pulseaudio"):
            raise RuntimeError("pulseaudio is not installed (make test installs it)")
        modules = [
            f"module-native-protocol-unix socket={self.socket} auth-anonymous=1",
            f"module-null-sink sink_name={SPEAKER_SINK} rate={SPEAKER_RATE_HZ}",
            f"module-null-sink sink_name={MIC_FEED_SINK}",
            f"module-remap-source source_name={MIC_SOURCE} master={MIC_FEED_SINK}.monitor",
        ]
        args = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--use-pid-file=false",
                "--log-target=stderr", "--log-level=error"]
        for module in modules:
            args += ["-L", module]
        self.process = subprocess.Popen(args, env=self.env, stdout=subprocess.DEVNULL,
                                        stderr=open(self.runtime_dir / "pulseaudio.log", "wb"))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pulseaudio exited: {(self.runtime_dir / 'pulseaudio.log').read_text()}")
            if subprocess.run(["pactl", "info"], env=self.env, capture_output=True).returncode == 0:
                subprocess.run(["pactl", "set-default-sink", SPEAKER_SINK], env=self.env, check=True)
                subprocess.run(["pactl", "set-default-source", MIC_SOURCE], env=self.env, check=True)
                self._start_room_tone()
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("pulseaudio did not start in time")

    def _start_room_tone(self, timeout_s: float = 10.0) -> None:
        """Keep digital silence flowing into both null sinks. A real microphone always delivers
        samples and a real sound card always runs; an idle null sink's monitor delivers nothing."""
        self._room_tone = [
            subprocess.Popen(["pacat", "--playback", f"--device={sink}", "--raw", "--format=s16le", "--channels=1",
                              "--rate=16000", "--latency-msec=50", "/dev/zero"], env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for sink in (MIC_FEED_SINK, SPEAKER_SINK)]
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            inputs = subprocess.run(["pactl", "list", "short", "sink-inputs"], env=self.env, capture_output=True,
                                    text=True).stdout
            if len(inputs.strip().splitlines()) >= len(self._room_tone):
                return
            time.sleep(0.1)
        raise RuntimeError("pacat did not start feeding the null sinks")

    def stop(self) -> None:
        for process in self._room_tone:
            _stop(process)
        self._room_tone = []
        if self.process is not None:
            _stop(self.process)
            self.process = None
        shutil.rmtree(self.runtime_dir, ignore_errors=True)

    def activate(self) -> dict[str, str | None]:
        """Point this process (PortAudio's ALSA pulse plugin, FluidSynth) at this server;
        returns the previous values for deactivate()."""
        previous = {k: os.environ.get(k) for k in ("PULSE_SERVER",)}
        os.environ["PULSE_SERVER"] = self.server
        return previous

    @staticmethod
    def deactivate(previous: dict[str, str | None]) -> None:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # ----- the virtual microphone
    def speech_wav(self, text: str, voice: str = "en-us", rate: int = 140) -> Path:
        """espeak-ng's rendering of text as a wav file."""
        path = self.runtime_dir / f"speech-{uuid.uuid4().hex}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(path), text], check=True,
                       capture_output=True)
        return path

    def play_into_mic(self, wav: Path, wait: bool = True) -> subprocess.Popen:
        process = subprocess.Popen(["paplay", f"--device={MIC_FEED_SINK}", str(wav)], env=self.env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if wait:
            process.wait(timeout=60)
        return process

    def speak(self, text: str, voice: str = "en-us", rate: int = 140, wait: bool = True) -> subprocess.Popen:
        """Speak text into the virtual microphone with espeak-ng (blocking unless wait=False)."""
        return self.play_into_mic(self.speech_wav(text, voice, rate), wait=wait)

    # ----- the speaker
    def start_speaker_recording(self) -> SpeakerRecording:
        return SpeakerRecording(self.env, self.runtime_dir)

    def timed_recordings(self) -> tuple[TimedRecording, TimedRecording]:
        """(what goes into the microphone, what comes out of the speaker), on one clock."""
        return TimedRecording(self.env, f"{MIC_FEED_SINK}.monitor"), TimedRecording(self.env, f"{SPEAKER_SINK}.monitor")

    def record_speaker(self, seconds: float) -> np.ndarray:
        """Record the speaker's monitor for `seconds` (float32 mono, SPEAKER_RATE_HZ)."""
        recording = self.start_speaker_recording()
        time.sleep(seconds)
        return recording.stop()


class Jack:
    """A private JACK server with the dummy driver: rtmidi's JACK API gets working virtual ports."""

    def __init__(self) -> None:
        self.name = f"moodchords-{uuid.uuid4().hex[:8]}"
        self.runtime_dir = Path(tempfile.mkdtemp(prefix="moodchords-jack-"))
        self.env = dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_AUDIO_RESERVATION="1",
                        JACK_NO_START_SERVER="1")
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 10.0) -> "Jack":
        if not shutil.which("jackd"):
            raise RuntimeError("jackd is not installed (make test installs jackd2)")
        self.process = subprocess.Popen(
            ["jackd", "--no-realtime", "-n", self.name, "-d", "dummy", "-r", "48000", "-p", "512"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=open(self.runtime_dir / "jackd.log", "wb"))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jackd exited: {(self.runtime_dir / 'jackd.log').read_text()}")
            if subprocess.run(["jack_lsp"], env=self.env, capture_output=True).returncode == 0:
                return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("jackd did not start in time")

    def activate(self) -> dict[str, str | None]:
        keys = ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")
        previous = {k: os.environ.get(k) for k in keys}
        for key in keys:
            os.environ[key] = self.env[key]
        return previous

    deactivate = staticmethod(PulseAudio.deactivate)

    def stop(self) -> None:
        if self.process is not None:
            _stop(self.process)
            self.process = None
        shutil.rmtree(self.runtime_dir, ignore_errors=True)


@contextlib.contextmanager
def running(server):
    """Start a daemon (PulseAudio() or Jack()), point this process at it, and undo both on exit
    (the environment restored, the daemon stopped by its PID)."""
    server.start()
    previous = server.activate()
    try:
        yield server
    finally:
        server.deactivate(previous)
        server.stop()
