"""MIDI output through rtmidi's JACK API on a real JACK server (jackd -d dummy), received by a
second rtmidi client."""
from __future__ import annotations

import time

import pytest

import rtmidi  # part of the product (requirements/base.txt): missing, the tests fail

from assistant.errors import DeviceUnavailable, InvalidInput  # noqa: E402
from assistant.midi_ports import MidiPortPlayer, list_midi_outputs  # noqa: E402
from assistant.playback import FluidSynthPlayer  # noqa: E402
from assistant.score import Note, Score  # noqa: E402

NOTE_ON, NOTE_OFF, CONTROL, PROGRAM = 0x90, 0x80, 0xB0, 0xC0


class Listener:
    """A second JACK MIDI client whose input receives what we send."""

    def __init__(self, name: str = "listener"):
        self.midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name)
        self.name = name

    def connect_to(self, source_port: str) -> None:
        ports = self.midi_in.get_ports()
        assert source_port in ports, ports
        self.midi_in.open_port(ports.index(source_port), "in")
        time.sleep(0.1)  # JACK connects on its next cycle

    def offer_port(self) -> None:
        self.midi_in.open_virtual_port("in")

    def receive(self, count: int, timeout: float = 3.0) -> list[tuple[list[int], float]]:
        """At least `count` messages (message, seconds since the previous one), or what came."""
        messages = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.midi_in.get_message()
            if message is None:
                if len(messages) >= count:
                    time.sleep(0.05)  # anything trailing
                    if self.midi_in.get_message() is None:
                        break
                time.sleep(0.005)
                continue
            messages.append(message)
        return messages

    def close(self) -> None:
        self.midi_in.close_port()
        self.midi_in.delete()


@pytest.fixture
def listener(jack_server):
    client = Listener()
    yield client
    client.close()


def score() -> Score:
    return Score(notes=(Note(60, 0.0, 1.0, 100, 0), Note(36, 0.0, 2.0, 90, 1), Note(64, 1.0, 1.0, 80, 0)),
                 tempo_bpm=240.0, length_beats=2.0, programs={0: 48, 1: 32})  # 0.25 s per beat


def test_virtual_port_messages_arrive_at_a_second_client(listener):
    with MidiPortPlayer() as port:
        assert port.api == "jack" and port.port_name == "moodchords"
        listener.connect_to("moodchords:moodchords")
        port.program_change(0, 48)
        port.note_on(0, 60, 100)
        port.note_off(0, 60)
        port.control_change(1, 7, 64)
        messages = [m for m, _ in listener.receive(4)]
    assert messages[:4] == [[PROGRAM | 0, 48], [NOTE_ON | 0, 60, 100], [NOTE_OFF | 0, 60, 0], [CONTROL | 1, 7, 64]]


def test_all_notes_off_reaches_every_channel(listener):
    with MidiPortPlayer() as port:
        listener.connect_to("moodchords:moodchords")
        port.note_on(3, 67, 90)
        port.all_notes_off()
        messages = [m for m, _ in listener.receive(2 + 16 * 2)]
    assert messages[0] == [NOTE_ON | 3, 67, 90]
    assert messages[1] == [NOTE_OFF | 3, 67, 0]  # explicit off for what was sounding
    for channel in range(16):
        assert [CONTROL | channel, 123, 0] in messages  # all notes off
        assert [CONTROL | channel, 64, 0] in messages  # sustain up


def test_all_sounds_off_also_cuts_release_tails(listener):
    with MidiPortPlayer() as port:
        listener.connect_to("moodchords:moodchords")
        port.all_sounds_off()
        messages = [m for m, _ in listener.receive(16 * 3)]
    assert all([CONTROL | channel, 120, 0] in messages for channel in range(16))


def test_existing_port_by_name_and_listing(listener):
    listener.offer_port()
    outputs = list_midi_outputs()
    assert "listener:in" in outputs, outputs
    with MidiPortPlayer(port_name="LISTENER:in") as port:  # unique, case-insensitive part is enough
        assert port.port_name == "listener:in"
        port.note_on(0, 72, 64)
        assert listener.receive(1)[0][0] == [NOTE_ON | 0, 72, 64]


def test_unknown_port_lists_the_available_ones(listener):
    listener.offer_port()
    with pytest.raises(DeviceUnavailable) as error:
        MidiPortPlayer(port_name="no such synth")
    assert "'no such synth'" in str(error.value) and "listener:in" in str(error.value)


def test_standalone_play_sends_timed_notes(listener):
    with MidiPortPlayer() as port:
        listener.connect_to("moodchords:moodchords")
        port.play(score())
        received = listener.receive(8 + 32, timeout=3.0)  # + the closing sustain-up and all-notes-off CCs
        assert not port.is_playing
    notes = [(m, dt) for m, dt in received if m[0] & 0xF0 in (NOTE_ON, NOTE_OFF)]
    assert [m for m, _ in received[:2]] == [[PROGRAM | 0, 48], [PROGRAM | 1, 32]]
    assert [m for m, _ in notes[:2]] == [[NOTE_ON | 0, 60, 100], [NOTE_ON | 1, 36, 90]]
    # then C off and E on together one beat (0.25 s) later, both off at the end (beat 2)
    assert notes[2][0] == [NOTE_OFF | 0, 60, 0] and notes[2][1] == pytest.approx(0.25, abs=0.04)
    assert notes[3][0] == [NOTE_ON | 0, 64, 80]
    ends = {tuple(m) for m, _ in notes[4:6]}
    assert ends == {(NOTE_OFF | 0, 64, 0), (NOTE_OFF | 1, 36, 0)}
    assert notes[4][1] == pytest.approx(0.25, abs=0.04)


def test_stop_mid_note_leaves_nothing_sounding(listener):
    with MidiPortPlayer() as port:
        listener.connect_to("moodchords:moodchords")
        long = Score(notes=(Note(60, 0.0, 40.0, 100, 0),), tempo_bpm=120.0, length_beats=40.0)
        port.play(long)
        time.sleep(0.2)
        port.stop()
        messages = [m for m, _ in listener.receive(3)]
    assert [NOTE_ON | 0, 60, 100] in messages
    assert messages.index([NOTE_OFF | 0, 60, 0]) > messages.index([NOTE_ON | 0, 60, 100])


def test_fluidsynth_player_drives_the_port_without_audio(listener):
    port = MidiPortPlayer()
    listener.connect_to("moodchords:moodchords")
    with FluidSynthPlayer(midi_out=port, audio=False) as player:
        player.set_volume(0.5)  # CC7 64 on every channel
        player.play(score())
        # CC7 x16, programs, CC7 x16 again at play, 6 notes, 32 closing CCs
        received = [m for m, _ in listener.receive(16 + 2 + 16 + 6 + 32, timeout=3.0)]
    port.close()
    assert [CONTROL | 0, 7, 64] in received
    assert [NOTE_ON | 0, 60, 100] in received and [NOTE_OFF | 1, 36, 0] in received


def test_audio_and_port_together(listener, pulse_audio):
    """FluidSynth sounds and the port gets the same notes, from one player thread."""
    port = MidiPortPlayer()
    listener.connect_to("moodchords:moodchords")
    with FluidSynthPlayer(midi_out=port) as player:
        assert player.wait_ready(timeout=120)
        player.play(score())
        received = [m for m, _ in listener.receive(2 + 16 + 6 + 32, timeout=3.0)]
    port.close()
    assert [NOTE_ON | 0, 60, 100] in received and [NOTE_ON | 0, 64, 80] in received


def test_bad_values_are_refused(jack_server):
    with pytest.raises(InvalidInput, match="api"):
        list_midi_outputs(api="bogus")
    with MidiPortPlayer() as port:
        with pytest.raises(InvalidInput, match="channel"):
            port.note_on(16, 60, 100)
        with pytest.raises(InvalidInput, match="velocity"):
            port.note_on(0, 60, 0)
        with pytest.raises(InvalidInput, match="program"):
            port.program_change(0, 128)


def test_no_midi_system_says_what_was_tried(monkeypatch):
    monkeypatch.setenv("JACK_DEFAULT_SERVER", "moodchords-no-such-server")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    with pytest.raises(DeviceUnavailable) as error:
        MidiPortPlayer()
    assert "jack" in str(error.value) and "JACK server" in str(error.value)
