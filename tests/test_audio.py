"""Audio in: files (edge cases, resampling) and the real microphone path (PortAudio -> ALSA pulse
plugin -> a private PulseAudio server with a virtual microphone fed by espeak-ng)."""
from __future__ import annotations

import subprocess
import threading
import time

import numpy as np
import pytest

from assistant import audio
from assistant.errors import DeviceUnavailable, InvalidInput
from bench.speech import word_error_rate


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True)


def dominant_hz(samples: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return float(np.fft.rfftfreq(samples.size, 1 / rate)[spectrum.argmax()])


# ----------------------------------------------------------------------------- files
def test_empty_missing_folder_and_garbage_files_name_the_file(tmp_path):
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(0).bytes(5000))
    text = tmp_path / "notes.wav"
    text.write_text("this is not audio\n" * 50)
    for path, reason in ((empty, "empty"), (tmp_path / "missing.wav", "does not exist"), (tmp_path, "folder"),
                         (garbage, "not readable audio"), (text, "not readable audio")):
        with pytest.raises(InvalidInput, match=reason) as error:
            audio.load_audio_file(path)
        assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_wav_with_no_samples_is_invalid(tmp_path):
    path = tmp_path / "zero.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=16000:cl=mono", "-t", "0", str(path))
    with pytest.raises(InvalidInput, match="no audio samples|not readable"):
        audio.load_audio_file(path)


def test_silence_loads_as_zeros(tmp_path):
    path = tmp_path / "silence.wav"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-t", "2", str(path))
    samples = audio.load_audio_file(path)
    assert samples.dtype == np.float32 and samples.shape == (32000,) and not samples.any()


def test_8_khz_is_resampled_to_16_khz(tmp_path):
    path = tmp_path / "phone.wav"
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:sample_rate=8000", "-t", "1.5", "-ac", "1", str(path))
    samples = audio.load_audio_file(path)
    assert samples.shape[0] == pytest.approx(24000, abs=160)
    assert dominant_hz(samples) == pytest.approx(440, abs=2)


def test_48_khz_stereo_is_mixed_to_mono_16_khz(tmp_path):
    path = tmp_path / "studio.wav"
    # Left 660 Hz, right 1000 Hz: both must survive the down-mix, nothing above 8 kHz aliases.
    ffmpeg("-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000", "-f", "lavfi", "-i",
           "sine=frequency=1000:sample_rate=48000", "-filter_complex", "[0:a][1:a]join=inputs=2:channel_layout=stereo",
           "-t", "2", str(path))
    samples = audio.load_audio_file(path)
    assert samples.shape[0] == pytest.approx(32000, abs=160)
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(samples.size, 1 / 16000)
    peaks = sorted(freqs[np.argsort(spectrum)[-2:]])
    assert peaks == [pytest.approx(660, abs=2), pytest.approx(1000, abs=2)]


def test_hour_long_file_is_capped_quickly(tmp_path):
    path = tmp_path / "hour.flac"
    ffmpeg("-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "3600", str(path))
    started = time.monotonic()
    loaded = audio.read_audio_file(path)
    assert time.monotonic() - started < 20
    assert loaded.truncated and loaded.source_seconds == pytest.approx(3600, abs=1)
    assert loaded.seconds == pytest.approx(audio.MAX_FILE_SECONDS, abs=0.1)
    notes = []
    audio.load_audio_file(path, progress=lambda message, fraction: notes.append(message))
    assert notes and "3600 s long" in notes[0]


def test_resample_keeps_frequency():
    tone = np.sin(2 * np.pi * 440 * np.arange(44100) / 44100).astype(np.float32)
    out = audio.resample(tone, 44100)
    assert out.dtype == np.float32 and out.size == 16000 and dominant_hz(out) == pytest.approx(440, abs=2)


# ----------------------------------------------------------------------------- no device
def test_no_microphone_is_a_clear_device_error(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_SERVER", f"unix:{tmp_path}/no-such-server")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    with pytest.raises(DeviceUnavailable, match="no microphone found; type your request instead"):
        audio.Microphone()


# ----------------------------------------------------------------------------- virtual microphone
@pytest.fixture(scope="module")
def live_mic(pulse_audio):
    """The virtual microphone (the fixture keeps room tone flowing into it, like a real one)."""
    mic = audio.Microphone("moodchords_mic")
    mic.record(0.5)  # waits until the source delivers (it takes ~1-2 s to start)
    yield mic


@pytest.fixture(scope="module")
def tiny():
    from assistant.speech import load_transcriber

    return load_transcriber("openai-whisper", "tiny.en")


def speak_later(pulse_audio, text: str, delay_s: float = 0.5, **kwargs) -> threading.Thread:
    wav = pulse_audio.speech_wav(text, **kwargs)
    thread = threading.Thread(target=lambda: (time.sleep(delay_s), pulse_audio.play_into_mic(wav)))
    thread.start()
    return thread


def test_devices_include_the_pulseaudio_microphone(live_mic):
    devices = {d.name: d for d in audio.list_input_devices()}
    assert "moodchords_mic" in devices and devices["moodchords_mic"].backend == "pulse"
    assert "default" in devices and devices["default"].is_default
    assert not any(name.endswith(".monitor") for name in devices)  # speaker monitors are not microphones
    with pytest.raises(InvalidInput, match=r"microphone 'usb-mic-9000' not found; available input devices = \["):
        audio.Microphone("usb-mic-9000")


def test_record_fixed_length(live_mic):
    samples = live_mic.record(1.0)
    assert samples.dtype == np.float32 and samples.shape == (16000,)


def test_speech_during_a_slow_vad_load_is_kept(live_mic, pulse_audio, monkeypatch):
    """The VAD can take seconds to load the first time in a process (onnxruntime import, model
    file read from a cold disk); the microphone is already open then, so words said meanwhile count."""
    real_make_endpointer = audio.make_endpointer

    def slow_make_endpointer(*args, **kwargs):
        time.sleep(2.0)  # a cold first load; the speaker starts 0.5 s into it
        return real_make_endpointer(*args, **kwargs)

    monkeypatch.setattr(audio, "make_endpointer", slow_make_endpointer)
    speaker = speak_later(pulse_audio, "play something calm", delay_s=0.5)
    samples = live_mic.record_utterance(max_seconds=10)
    speaker.join()
    info = live_mic.last_utterance
    assert info.reason == "silence", info
    assert info.speech_start_s == pytest.approx(0.5, abs=0.6)  # heard from the start, while the VAD loaded
    assert samples.size / 16000 > 1.0


def test_an_unknown_vad_detector_is_a_clear_error_and_frees_the_microphone(live_mic):
    mic = audio.Microphone("moodchords_mic", detector="webrtc")
    with pytest.raises(InvalidInput, match=r"VAD detector 'webrtc' is unknown; available detectors = \["):
        mic.record_utterance(max_seconds=1)
    assert not mic.is_recording
    assert mic.record(0.2).size == 3200  # the device is usable again


@pytest.mark.slow
def test_hands_free_utterance_ends_by_itself_and_transcribes(live_mic, pulse_audio, tiny):
    said = "play something dark and tense"
    levels = []
    speaker = speak_later(pulse_audio, said, delay_s=1.5)
    started = time.monotonic()
    samples = live_mic.record_utterance(max_seconds=15, on_level=levels.append)
    took = time.monotonic() - started
    speaker.join()
    info = live_mic.last_utterance
    assert info.reason == "silence", info  # the VAD ended it, not the cap
    assert info.speech_start_s == pytest.approx(1.5, abs=0.6)
    assert 0.6 <= info.endpoint_s - info.speech_end_s <= 1.0  # ~silence_s after the last speech frame
    assert took < 8
    assert levels and max(levels) > 0.5 and min(levels) < 0.1  # the meter moved with the speech
    # The wait before speech is dropped (but for a 0.3 s lead-in); nothing after the endpoint is kept.
    assert samples.size / 16000 == pytest.approx(info.endpoint_s - info.speech_start_s + audio.PRE_ROLL_S, abs=0.05)
    transcript = tiny.transcribe(samples)
    assert word_error_rate(said, transcript.text) <= 0.2, transcript.text


@pytest.mark.slow
def test_push_to_talk(live_mic, pulse_audio, tiny):
    said = "I want a song that expresses hope and wonder"
    live_mic.start()
    pulse_audio.speak(said, voice="en-gb", rate=160)
    time.sleep(0.3)
    samples = live_mic.stop()
    assert not live_mic.is_recording
    assert word_error_rate(said, tiny.transcribe(samples).text) <= 0.25
    with pytest.raises(InvalidInput, match="not recording"):
        live_mic.stop()


def test_cancel_and_no_speech_timeout(live_mic):
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    assert live_mic.record_utterance(cancel=cancel).size == 0
    assert live_mic.last_utterance.reason == "cancelled" and time.monotonic() - started < 2
    assert live_mic.record_utterance(no_speech_timeout_s=1.0).size == 0
    assert live_mic.last_utterance.reason == "no_speech"


# ----------------------------------------------------------------------------- pre-roll (issue 16, item 2)
def test_pre_roll_buffer_keeps_the_newest_samples_oldest_first():
    ring = audio.PreRollBuffer(5)
    assert len(ring) == 0 and ring.contents().size == 0
    ring.push(np.array([1, 2], np.float32))
    assert ring.contents().tolist() == [1, 2]
    ring.push(np.array([3, 4, 5, 6], np.float32))  # wraps around: 1 falls out
    assert ring.contents().tolist() == [2, 3, 4, 5, 6] and len(ring) == 5
    ring.push(np.array([7], np.float32))
    assert ring.contents().tolist() == [3, 4, 5, 6, 7]
    ring.push(np.arange(10, 22, dtype=np.float32))  # a block longer than the ring: its tail
    assert ring.contents().tolist() == [17, 18, 19, 20, 21]
    ring.push(np.array([22, 23], np.float32))
    assert ring.contents().tolist() == [19, 20, 21, 22, 23]
    contents = ring.contents()
    contents[:] = 0  # a copy: the ring is not changed through it
    assert ring.contents().tolist() == [19, 20, 21, 22, 23]
    ring.clear()
    assert len(ring) == 0 and ring.contents().size == 0
    ring.push(np.array([8], np.float32))
    assert ring.contents().tolist() == [8]
    empty = audio.PreRollBuffer(0)
    empty.push(np.ones(4, np.float32))
    assert len(empty) == 0 and empty.contents().size == 0
    with pytest.raises(InvalidInput, match="pre-roll capacity -1 samples is not allowed"):
        audio.PreRollBuffer(-1)


def test_pre_roll_length_is_checked(pulse_audio):
    with pytest.raises(InvalidInput, match=r"pre_roll_s 5 is not allowed; use 0..2.0 seconds"):
        audio.Microphone("moodchords_mic", pre_roll_s=5)


def wait_for(condition, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_armed_microphone_puts_the_words_said_before_start_in_front(pulse_audio, live_mic):
    """Speech that began before the talk key went down (the key's or the stream's delay) is the
    recording's beginning: the armed microphone's pre-roll."""
    mic = audio.Microphone("moodchords_mic")
    mic.arm()
    try:
        wait_for(lambda: mic.pre_roll_audio().size >= 0.29 * 16000, 10, "the pre-roll to fill")  # the source started
        assert np.abs(mic.pre_roll_audio()).max() < 0.01  # room tone only
        speaker = pulse_audio.play_into_mic(pulse_audio.speech_wav("joyful festival"), wait=False)
        wait_for(lambda: np.abs(mic.pre_roll_audio()).max() > 0.05, 10, "the speech to reach the microphone")
        held_at_start = mic.pre_roll_audio()
        mic.start()
        time.sleep(0.5)
        samples = mic.stop()
        # After stop() the ring starts again: the next recording does not repeat the end of this one.
        held_after_stop = mic.pre_roll_audio().size
        speaker.wait(timeout=30)
        assert mic.is_armed and not mic.is_recording
        loud = np.flatnonzero(np.abs(samples) > 0.05)
        pre_roll = int(audio.PUSH_TO_TALK_PRE_ROLL_S * 16000)
        assert loud.size and loud[0] < pre_roll, "the speech onset before start() is not in the recording"
        assert np.allclose(samples[:pre_roll // 2], held_at_start[:pre_roll // 2], atol=0.02)  # it is the pre-roll
        assert samples.size / 16000 == pytest.approx(0.5 + audio.PUSH_TO_TALK_PRE_ROLL_S, abs=0.15)
        assert held_after_stop < 0.1 * 16000
    finally:
        mic.close()
    assert not mic.is_armed and mic._stream is None and audio._open_streams == 0


def test_rescanning_devices_while_microphones_are_open_keeps_them_working(pulse_audio, live_mic):
    """PortAudio's Pa_Terminate frees every open stream; listing devices re-initialises PortAudio.
    A recording in progress stops the rescan; an armed, idle stream is closed and re-opened."""
    armed = audio.Microphone("moodchords_mic")
    armed.arm()
    try:
        wait_for(lambda: armed.pre_roll_audio().size >= 0.29 * 16000, 10, "the pre-roll to fill")
        live_mic.start()
        recording_since = time.monotonic()
        devices = audio.list_input_devices()  # rescan refused: a stream records
        assert "moodchords_mic" in {d.name for d in devices}
        assert audio._rescan_portaudio(armed._sd) is False
        time.sleep(0.3)
        samples = live_mic.stop()
        assert samples.size / 16000 == pytest.approx(time.monotonic() - recording_since, abs=0.2)
        assert audio._rescan_portaudio(armed._sd) is True  # only the armed, idle stream: closed, re-opened
        assert armed.is_armed and armed._stream is not None and audio._open_streams == 1
        wait_for(lambda: armed.pre_roll_audio().size >= 0.29 * 16000, 10, "the pre-roll to fill after the rescan")
        armed.start()
        time.sleep(0.3)
        assert armed.stop().size / 16000 == pytest.approx(0.3 + audio.PUSH_TO_TALK_PRE_ROLL_S, abs=0.15)
    finally:
        armed.close()
    assert audio._open_streams == 0


def test_a_jack_server_that_went_away_does_not_abort_the_device_rescan(tmp_path):
    """PortAudio's JACK host API keeps a client of the JACK server it found at initialisation, and
    Pa_Terminate aborted the process (pa_jack.c: Assertion `err == 0') once that server had stopped:
    the window's settings dialog rescanned after a test's private JACK server was gone (CI abort)."""
    script = tmp_path / "rescan_after_jack.py"
    script.write_text(
        "from tests.support.daemons import Jack, running\n"
        "from assistant import audio\n"
        "with running(Jack()):\n"
        "    audio.list_input_devices()\n"
        "audio.list_input_devices()\n"
        "print('rescanned')\n")
    from tests.conftest import PROJECT_ROOT
    import sys

    result = subprocess.run([sys.executable, str(script)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                            timeout=120, env={**__import__("os").environ, "PYTHONPATH": str(PROJECT_ROOT)})
    assert result.returncode == 0 and "rescanned" in result.stdout, (result.returncode, result.stderr[-2000:])


def test_jack_stays_hidden_only_inside_and_jack_clients_wait_for_it(monkeypatch):
    from assistant.jack_environment import JACK_ENVIRONMENT_LOCK, NO_JACK_SERVER, jack_unreachable

    monkeypatch.setenv("JACK_DEFAULT_SERVER", "studio")
    monkeypatch.delenv("JACK_NO_START_SERVER", raising=False)
    opened_while_hidden = []

    def open_client():  # what assistant.midi_ports does around rtmidi.MidiOut
        with JACK_ENVIRONMENT_LOCK:
            opened_while_hidden.append(__import__("os").environ["JACK_DEFAULT_SERVER"] == NO_JACK_SERVER)

    with jack_unreachable():
        import os

        assert os.environ["JACK_DEFAULT_SERVER"] == NO_JACK_SERVER and os.environ["JACK_NO_START_SERVER"] == "1"
        client = threading.Thread(target=open_client)
        client.start()
        client.join(timeout=0.3)
        assert client.is_alive() and not opened_while_hidden  # waits for the environment to come back
    client.join(timeout=5)
    assert opened_while_hidden == [False]
    assert os.environ["JACK_DEFAULT_SERVER"] == "studio" and "JACK_NO_START_SERVER" not in os.environ
