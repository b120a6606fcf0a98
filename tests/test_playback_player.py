"""Live playback through real FluidSynth (assistant.playback.player): sound into PulseAudio's null
sink recorded from its monitor (tests/support/daemons.py). Offline renders: test_playback_render.py."""
from __future__ import annotations

import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import DeviceUnavailable, InvalidInput
from assistant.playback import FluidSynthPlayer
from tests.support.daemons import SPEAKER_RATE_HZ, SPEAKER_SINK
from tests.support.playback_scores import C_MAJOR, ORGAN, PIANO, chord_score, rms
from tests.support.spectrum import assert_pitches_sound, pitch_strengths


# ----------------------------------------------------------------------------- live
class SpeakerTap:
    """Records the speaker's monitor into a file (parec), readable at any time.

    (The fixture's record_speaker() pipes parec's output and reads it only at the end, so
    parec blocks once the 64 KB pipe is full: about 0.37 s at 44.1 kHz float32.)"""

    def __init__(self, pulse_audio):
        self._file = tempfile.NamedTemporaryFile(suffix=".f32", delete=False)
        self.path = Path(self._file.name)
        self._process = subprocess.Popen(
            ["parec", f"--device={SPEAKER_SINK}.monitor", "--raw", "--format=float32le", "--channels=1",
             f"--rate={SPEAKER_RATE_HZ}", "--latency-msec=20"], stdout=self._file, stderr=subprocess.DEVNULL,
            env=pulse_audio.env)
        deadline = time.monotonic() + 10
        while self.path.stat().st_size < 4096 * 4 and time.monotonic() < deadline:
            time.sleep(0.02)  # parec is connected and the stream runs
        assert self.path.stat().st_size > 0, "parec recorded nothing"

    def frames(self) -> int:
        return self.path.stat().st_size // 4

    def audio(self, start: int = 0, end: int | None = None) -> np.ndarray:
        data = np.fromfile(self.path, dtype="<f4")
        return data[start:end]

    def close(self) -> None:
        self._process.terminate()
        self._process.wait(timeout=5)
        self._file.close()
        self.path.unlink(missing_ok=True)

    def next_audio(self, seconds: float) -> np.ndarray:
        """The next `seconds` of sound (waits for parec to write it)."""
        start = self.frames()
        wanted = int(seconds * SPEAKER_RATE_HZ)
        deadline = time.monotonic() + seconds + 5.0
        while self.frames() < start + wanted and time.monotonic() < deadline:
            time.sleep(0.05)
        audio = self.audio(start, start + wanted)
        assert audio.size == wanted, f"parec delivered {audio.size} of {wanted} frames"
        return audio

    def level_now(self, seconds: float = 0.3) -> float:
        """RMS of the next `seconds` of sound."""
        return rms(self.next_audio(seconds))


@pytest.fixture(scope="module")
def player(pulse_audio):
    with FluidSynthPlayer() as live:
        assert live.wait_ready(timeout=120)
        yield live


@pytest.fixture
def tap(pulse_audio, player):
    player.stop()
    speaker = SpeakerTap(pulse_audio)
    yield speaker
    player.stop()
    speaker.close()


def test_live_chord_sounds_at_its_pitches(player, tap):
    start = tap.frames()
    player.play(chord_score(beats=4.0, tempo=120.0))
    time.sleep(1.8)
    audio = tap.audio(start)
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    assert loud.size, f"nothing was heard (peak {np.abs(audio).max() if audio.size else 0})"
    onset = loud[0]
    body = audio[onset + int(0.1 * SPEAKER_RATE_HZ):onset + int(1.2 * SPEAKER_RATE_HZ)]
    assert body.size > 0.8 * SPEAKER_RATE_HZ
    assert_pitches_sound(body, SPEAKER_RATE_HZ, C_MAJOR)


def test_stop_silences_every_note(player, tap):
    player.play(chord_score(pitches=[48, 60, 64, 67, 72], beats=60.0, program=ORGAN))  # would sound 30 s
    time.sleep(0.6)
    playing_level = tap.level_now(0.4)
    assert player.is_playing
    player.stop()
    assert not player.is_playing
    time.sleep(0.5)  # PulseAudio latency + what reverb leaves
    after_level = tap.level_now(0.5)
    assert playing_level > 0.02, playing_level
    assert after_level < playing_level / 100, (playing_level, after_level)


def test_set_volume_changes_the_level_while_playing(player, tap):
    player.set_volume(0.8)
    player.play(chord_score(beats=60.0, program=ORGAN))
    time.sleep(0.6)
    loud = tap.level_now(0.5)
    player.set_volume(0.2)
    time.sleep(0.4)
    quiet = tap.level_now(0.5)
    player.set_volume(0.8)
    player.stop()
    assert 0.15 < quiet / loud < 0.4, (loud, quiet)  # gain is linear: 0.2 / 0.8 = 0.25


def test_set_program_changes_the_instrument_while_playing(player, tap):
    """Organ then flute on the same held chord: the spectrum changes (the flute lacks the
    organ's strong upper partials)."""
    player.play(chord_score(pitches=[60], beats=60.0, program=ORGAN))
    time.sleep(0.5)
    organ = tap.next_audio(0.5)
    player.set_program(0, 73)  # flute: only new notes use it, so play the chord again
    player.play(chord_score(pitches=[60], beats=60.0, program=ORGAN))  # score says organ; set_program wins
    time.sleep(0.5)
    flute = tap.next_audio(0.5)
    player.stop()
    player.set_program(0, PIANO)
    player._programs.clear()  # noqa: SLF001 - give the next tests the score's programs back

    def upper_share(signal):
        s = pitch_strengths(signal, SPEAKER_RATE_HZ, [60, 72, 79, 84, 88, 91])
        return sum(s[p] for p in (72, 79, 84, 88, 91)) / s[60]

    assert rms(organ) > 0.01 and rms(flute) > 0.01
    assert abs(np.log(upper_share(organ) / upper_share(flute))) > np.log(1.5), (upper_share(organ), upper_share(flute))


def test_position_callback_runs_on_the_player_thread_at_about_30_hz(player):
    positions, threads, finished = [], set(), threading.Event()

    def on_position(beats):
        positions.append((time.monotonic(), beats))
        threads.add(threading.get_ident())

    player.on_position, player.on_finished = on_position, finished.set
    try:
        started = time.monotonic()
        player.play(chord_score(beats=4.0, tempo=240.0))  # 1 s
        assert time.monotonic() - started < 0.05  # the caller's thread is free at once
        assert finished.wait(5.0)
    finally:
        player.on_position = player.on_finished = None
    assert threading.get_ident() not in threads
    beats = [b for _, b in positions]
    assert beats == sorted(beats) and beats[0] < 0.2 and beats[-1] == pytest.approx(4.0)
    rate = len(positions) / (positions[-1][0] - positions[0][0])
    assert 20 <= rate <= 40, rate
    assert not player.is_playing


def test_loop_restarts_and_stop_ends_it(player, tap):
    positions = []
    player.on_position = positions.append
    try:
        player.play(chord_score(beats=2.0, tempo=240.0), loop=True)  # 0.5 s per pass
        time.sleep(1.4)
        assert player.is_playing
        player.stop()
    finally:
        player.on_position = None
    wraps = sum(1 for a, b in zip(positions, positions[1:]) if b < a)
    assert wraps >= 2, positions
    time.sleep(0.4)
    assert tap.level_now(0.3) < 1e-3


def test_play_from_a_later_beat_starts_there(player):
    positions = []
    player.on_position = positions.append
    try:
        player.play(chord_score(beats=8.0, tempo=240.0), start_beats=6.0)
        time.sleep(0.3)
    finally:
        player.stop()
        player.on_position = None
    assert positions and positions[0] >= 6.0


def test_bad_control_values_are_refused(player):
    with pytest.raises(InvalidInput, match="volume"):
        player.set_volume(1.5)
    with pytest.raises(InvalidInput, match="channel"):
        player.set_program(16, 0)
    with pytest.raises(InvalidInput, match="program"):
        player.set_program(0, 128)
    with pytest.raises(InvalidInput, match="start_beats"):
        player.play(chord_score(beats=4.0), start_beats=5.0)
    assert not player.is_playing


def test_no_pulseaudio_server_fails_at_construction(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path / 'no-such-server'}")
    with pytest.raises(DeviceUnavailable, match="No audio output"):
        FluidSynthPlayer()
