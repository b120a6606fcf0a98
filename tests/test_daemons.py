"""The test daemons themselves work: the virtual microphone carries speech, the speaker is recordable."""
import subprocess

import numpy as np

from tests.support.daemons import MIC_SOURCE, SPEAKER_SINK


def test_pulseaudio_starts_with_null_sink_and_virtual_mic(pulse_audio):
    sinks = subprocess.run(["pactl", "list", "short", "sinks"], env=pulse_audio.env, capture_output=True,
                           text=True, check=True).stdout
    sources = subprocess.run(["pactl", "list", "short", "sources"], env=pulse_audio.env,
                             capture_output=True, text=True, check=True).stdout
    assert SPEAKER_SINK in sinks
    assert MIC_SOURCE in sources


def test_speaker_recording_hears_what_is_played(pulse_audio):
    wav = pulse_audio.speech_wav("hello")
    recording = pulse_audio.start_speaker_recording()
    subprocess.run(["paplay", f"--device={SPEAKER_SINK}", str(wav)], env=pulse_audio.env, check=True)
    audio = recording.stop()
    assert audio.size > 0.3 * 44100
    assert float(np.sqrt(np.mean(audio ** 2))) > 0.01  # speech, not silence


def test_jack_server_lists_ports(jack_server):
    out = subprocess.run(["jack_lsp"], env=jack_server.env, capture_output=True, text=True, check=True).stdout
    assert "system:playback_1" in out  # the dummy driver's ports: the server is up and answering


def test_speaker_recording_keeps_every_second(pulse_audio):
    audio = pulse_audio.record_speaker(2.0)  # silence is recorded too: the length is what counts
    assert audio.size >= 1.6 * 44100
