"""The whole window on the real pipeline (offscreen Qt, real models, real devices or virtual ones)."""
from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from assistant.pipeline import Assistant
from gui.main_window import Devices, MainWindow
from tests.gui_support import DialogRecorder, temp_settings

REQUEST = "a calm and hopeful song full of wonder"


@pytest.fixture(scope="module")
def loaded_assistant(tmp_path_factory):
    """One real Assistant per module: the models load once (text only; speech loads on demand)."""
    assistant = Assistant(output_dir=tmp_path_factory.mktemp("compositions"))
    assistant.load(speech=False)
    return assistant


def make_window(qtbot, assistant, tmp_path, *, history=None, devices=None, autoload=True) -> MainWindow:
    window = MainWindow(assistant, history=history, devices=devices, settings=temp_settings(tmp_path),
                        drag_folder=tmp_path / "drag", autoload=autoload)
    qtbot.addWidget(window)
    window.resize(1400, 880)
    window.show()
    qtbot.waitExposed(window)
    return window


def compose_by_typing(qtbot, window: MainWindow, text: str = REQUEST, timeout: int = 120_000):
    if not window.composer_ready:
        qtbot.waitUntil(lambda: window.composer_ready, timeout=timeout)
    edit = window.request_bar.request_edit
    edit.clear()
    qtbot.keyClicks(edit, text)
    with qtbot.waitSignal(window.compositionShown, timeout=timeout) as blocker:
        qtbot.keyClick(edit, Qt.Key_Return)
    return blocker.args[0]


def test_window_shows_in_under_two_seconds(qtbot, loaded_assistant, tmp_path):
    started = time.perf_counter()
    window = MainWindow(loaded_assistant, settings=temp_settings(tmp_path), drag_folder=tmp_path)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    elapsed = time.perf_counter() - started
    assert elapsed < 2.0, f"window took {elapsed:.2f} s to show"
    qtbot.waitSignal(window.loadFinished, timeout=120_000).wait() if not window.speech_ready else None
    window.shutdown()


def test_typed_request_shows_the_composition_in_the_piano_roll(qtbot, loaded_assistant, tmp_path):
    window = make_window(qtbot, loaded_assistant, tmp_path)
    composition = compose_by_typing(qtbot, window)
    canvas = window.piano_roll.canvas
    assert canvas.score is composition.score and len(canvas.score.notes) > 0
    assert [span.name for span in canvas.spans] == composition.chord_names
    assert window.request_bar.request_edit.text() == REQUEST
    assert set(window.mood_view.keywords()) == set(composition.keywords[:6])
    assert composition.progression.key_name in window.summary.text()
    # Enter re-composes from edited text.
    second = compose_by_typing(qtbot, window, "an angry, fast and dark song")
    assert second.request_text == "an angry, fast and dark song" and second.id != composition.id
    window.shutdown()


def test_regenerate_changes_unlocked_chords_and_keeps_locked_ones(qtbot, loaded_assistant, tmp_path):
    window = make_window(qtbot, loaded_assistant, tmp_path)
    first = compose_by_typing(qtbot, window)
    locked = {0, 2}
    for index in sorted(locked):
        qtbot.mouseClick(window.piano_roll.canvas, Qt.LeftButton,
                         pos=window.piano_roll.canvas.chord_rect(index).center().toPoint())
    assert window.locked == locked
    names = first.chord_names
    changed = False
    for _ in range(4):  # sampling may repeat a chord by chance; a few takes must change something
        with qtbot.waitSignal(window.compositionShown, timeout=60_000) as blocker:
            window.transport.regenerate_button.click()
        new = blocker.args[0]
        assert [new.chord_names[i] for i in sorted(locked)] == [names[i] for i in sorted(locked)]
        assert window.locked == locked  # still locked on screen
        assert all(window.piano_roll.canvas.spans[i].locked for i in locked)
        unlocked = [i for i in range(len(names)) if i not in locked]
        if any(new.chord_names[i] != names[i] for i in unlocked if i < len(new.chord_names)):
            changed = True
            break
    assert changed, "four regenerations left every unlocked chord as it was"
    window.shutdown()


def test_ignored_tempo_is_named_in_the_status_line(qtbot, loaded_assistant, tmp_path):
    """What the request asked for and the window ignored shows where the eyes are, with the allowed range."""
    window = make_window(qtbot, loaded_assistant, tmp_path)
    composition = compose_by_typing(qtbot, window, "a sad song at 1000 bpm")
    status = window.request_bar.status.text()
    assert composition.warnings and all(warning in status for warning in composition.warnings)
    assert "1000 bpm" in status and "20..300 bpm" in status, status
    assert 20 <= composition.progression.tempo_bpm <= 300
    window.shutdown()


def test_metre_form_and_intensity_fields_win_over_the_request(qtbot, loaded_assistant, tmp_path):
    window = make_window(qtbot, loaded_assistant, tmp_path)
    transport = window.transport
    transport.metre.setCurrentIndex(transport.metre.findData("6/8"))
    transport.form.setCurrentIndex(transport.form.findText("Loop of 2 bars"))
    transport.intensity.setValue(100)
    composition = compose_by_typing(qtbot, window, "a gentle waltz in 3/4")
    assert composition.progression.compound and composition.progression.time_signature == (6, 8)
    assert composition.form == "loop" and composition.intensity == 1.0
    assert composition.sources["metre"] == composition.sources["form"] == composition.sources["intensity"] == "flag"
    status = window.request_bar.status.text()
    assert "3/4" in status and "6/8" in status and "overridden" in status, status  # the field won, and says so
    window.shutdown()


def test_over_long_request_is_an_error_dialog(qtbot, loaded_assistant, tmp_path, monkeypatch):
    recorder = DialogRecorder()
    monkeypatch.setattr(QMessageBox, "critical", recorder)
    window = make_window(qtbot, loaded_assistant, tmp_path)
    qtbot.waitUntil(lambda: window.composer_ready, timeout=120_000)
    window.request_bar.request_edit.setText("calm" * 2500)  # 10,000 characters: typing them takes minutes
    qtbot.keyClick(window.request_bar.request_edit, Qt.Key_Return)
    qtbot.waitUntil(lambda: recorder.shown != [], timeout=30_000)
    (title, message), = recorder.shown
    assert title == "Could not compose" and "10,000 characters" in message and "allowed" in message, message
    assert window.workspace.composition is None and window.workspace.busy is None
    assert window.request_bar.compose_button.isEnabled()  # the next request can be typed
    window.shutdown()


def test_history_survives_closing_and_reopening(qtbot, tmp_path):
    from assistant.history import HistoryStore
    from assistant.pipeline import to_history_record
    from tests.gui_support import hand_made_composition

    path = tmp_path / "history.sqlite3"
    assistant = Assistant(output_dir=tmp_path / "out")
    store = HistoryStore(path)
    composition = hand_made_composition(text="a stormy night by the sea")
    store.add(to_history_record(composition))
    window = make_window(qtbot, assistant, tmp_path, history=store, autoload=False)
    window.refresh_history()
    assert window.history_panel.record_ids() == [composition.id]
    assert "D major" in window.history_panel.list.item(0).text()
    window.close()
    store.close()

    again_store = HistoryStore(path)  # a new session on the same file
    again = make_window(qtbot, assistant, tmp_path, history=again_store, autoload=False)
    again.refresh_history()
    assert again.history_panel.record_ids() == [composition.id]
    item = again.history_panel.list.item(0)
    with qtbot.waitSignal(again.compositionShown, timeout=10_000) as blocker:
        again.history_panel.list.itemClicked.emit(item)
    restored = blocker.args[0]
    assert restored.chord_names == composition.chord_names
    assert again.request_bar.request_edit.text() == "a stormy night by the sea"
    again.history_panel.list.setCurrentItem(item)
    again.history_controller.confirm_delete = lambda title, text: True  # the user answers Yes
    again.history_panel.delete_button.click()
    qtbot.waitUntil(lambda: again.history_panel.record_ids() == [], timeout=5000)
    assert HistoryStore(path).list(10) == []
    again.shutdown()


def test_each_composition_is_committed_to_the_history_as_it_is_made(qtbot, loaded_assistant, tmp_path):
    from assistant.history import HistoryStore

    path = tmp_path / "history.sqlite3"
    loaded_assistant.history = HistoryStore(path)
    try:
        window = make_window(qtbot, loaded_assistant, tmp_path, history=loaded_assistant.history)
        composition = compose_by_typing(qtbot, window)
        records = HistoryStore(path).list(10)  # another connection sees it: committed
        assert len(records) == 1 and records[0].request_text == composition.request_text
        assert window.history_panel.record_ids() == [records[0].id]
        window.shutdown()
    finally:
        loaded_assistant.history = None


def test_missing_model_file_disables_composing_but_the_window_works(qtbot, tmp_path, monkeypatch):
    recorder = DialogRecorder()
    monkeypatch.setattr(QMessageBox, "critical", recorder)
    assistant = Assistant(model_dir=tmp_path / "no-such-model", output_dir=tmp_path / "out")
    window = make_window(qtbot, assistant, tmp_path)
    qtbot.waitUntil(lambda: window.load_label.text() == "Composer unavailable", timeout=60_000)
    button = window.request_bar.compose_button
    assert not button.isEnabled()
    assert "no-such-model" in button.toolTip() and "Fix:" in button.toolTip()
    assert not window.request_bar.mic_button.isEnabled()
    qtbot.keyClicks(window.request_bar.request_edit, "still typing")  # the rest of the window works
    assert window.request_bar.request_edit.text() == "still typing"
    assert recorder.shown == []  # a status, not a dialog storm
    window.shutdown()


def test_missing_microphone_disables_the_button_with_a_reason(qtbot, tmp_path):
    from assistant.audio import Microphone

    assistant = Assistant(model_dir=tmp_path / "no-model", output_dir=tmp_path / "out")
    devices = Devices(microphone=lambda name: Microphone("no-such-microphone-xyz"))
    window = make_window(qtbot, assistant, tmp_path, devices=devices)
    button = window.request_bar.mic_button
    qtbot.waitUntil(lambda: "type your request" in button.toolTip(), timeout=30_000)
    assert not button.isEnabled()
    assert window.microphone is None
    window.shutdown()


def test_missing_soundfont_disables_the_synth_with_a_reason(qtbot, tmp_path):
    from assistant.playback import FluidSynthPlayer

    assistant = Assistant(model_dir=tmp_path / "no-model", output_dir=tmp_path / "out")
    devices = Devices(player=lambda on_position, on_finished: FluidSynthPlayer(
        soundfont=tmp_path / "missing.sf2", on_position=on_position, on_finished=on_finished))
    window = make_window(qtbot, assistant, tmp_path, devices=devices)
    synth = window.transport.synth
    qtbot.waitUntil(lambda: not synth.isEnabled(), timeout=30_000)
    assert "SoundFont" in synth.toolTip()
    assert not window.transport.play_button.isEnabled()
    window.shutdown()


@pytest.mark.slow
def test_spoken_request_through_the_virtual_microphone_is_composed(qtbot, pulse_audio, loaded_assistant, tmp_path):
    from assistant.audio import Microphone
    from tests.support.daemons import MIC_SOURCE

    devices = Devices(microphone=lambda name: Microphone(MIC_SOURCE))
    window = make_window(qtbot, loaded_assistant, tmp_path, devices=devices)
    button = window.request_bar.mic_button
    qtbot.waitUntil(button.isEnabled, timeout=300_000)  # the speech model loads in the background
    levels: list[float] = []
    window.recorder.level.connect(levels.append)
    qtbot.mouseClick(button, Qt.LeftButton)  # a click (not a hold): recording stays on
    qtbot.waitUntil(lambda: window.workspace.recording and button.property("look") == "listening", timeout=5000)
    pulse_audio.speak("I want a happy song full of hope")
    qtbot.wait(600)  # the tail of the speech is still in the audio pipes; a person releases a bit later too
    with qtbot.waitSignal(window.compositionShown, timeout=180_000) as blocker:
        qtbot.mouseClick(button, Qt.LeftButton)  # click again: done
    composition = blocker.args[0]
    assert max(levels, default=0.0) > 0.2  # the meter saw the speech
    assert composition.transcript and "happy" in composition.transcript.lower()
    assert window.request_bar.request_edit.text() == composition.request_text
    assert [span.name for span in window.piano_roll.canvas.spans] == composition.chord_names
    # Space held is push-to-talk too; Esc throws the recording away.
    window.request_bar.request_edit.clearFocus()
    window.setFocus()
    qtbot.keyPress(window, Qt.Key_Space)
    qtbot.waitUntil(lambda: window.workspace.recording, timeout=5000)
    qtbot.keyClick(window, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not window.workspace.recording, timeout=5000)
    assert window.request_bar.status.text() == "Recording cancelled"
    qtbot.keyRelease(window, Qt.Key_Space)
    window.shutdown()


def test_play_moves_the_playhead_through_fluidsynth(qtbot, pulse_audio, tmp_path):
    from gui.app import _open_player
    from tests.gui_support import hand_made_composition

    assistant = Assistant(output_dir=tmp_path / "out")
    window = make_window(qtbot, assistant, tmp_path, devices=Devices(player=_open_player), autoload=False)
    window.start_background_loading()
    qtbot.waitUntil(lambda: window.player is not None, timeout=60_000)
    window.show_composition(hand_made_composition())
    assert window.transport.play_button.isEnabled()
    window.transport.play_button.click()
    qtbot.waitUntil(lambda: (window.piano_roll.canvas.playhead_beats or 0.0) > 2.0, timeout=15_000)
    assert window.playing and window.player.is_playing
    window.transport.stop_button.click()
    assert window.piano_roll.canvas.playhead_beats is None and not window.playing
    window.shutdown()


def test_virtual_midi_port_plays_the_score(qtbot, jack_server, tmp_path):
    import rtmidi

    from gui.app import _midi_outputs, _open_midi_port
    from gui.main_window import VIRTUAL_PORT
    from tests.gui_support import hand_made_composition

    assistant = Assistant(output_dir=tmp_path / "out")
    devices = Devices(midi_outputs=_midi_outputs, midi_port=_open_midi_port)
    window = make_window(qtbot, assistant, tmp_path, devices=devices, autoload=False)
    window.start_background_loading()
    output = window.transport.output
    qtbot.waitUntil(lambda: window.outputs.outputs_listed, timeout=20_000)
    output.setCurrentIndex(output.findData(VIRTUAL_PORT))
    qtbot.waitUntil(lambda: window.midi_player is not None, timeout=20_000)
    listener = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, "gui-test-listener")  # a DAW, as far as we care
    ports = listener.get_ports()
    ours = [index for index, name in enumerate(ports) if "moodchords" in name]
    assert ours, ports
    listener.open_port(ours[0], "in")
    time.sleep(0.2)  # JACK connects on its next cycle
    window.show_composition(hand_made_composition())
    assert window.transport.play_button.isEnabled()  # no synth here: the MIDI port alone plays
    window.transport.play_button.click()
    qtbot.waitUntil(lambda: (window.piano_roll.canvas.playhead_beats or 0.0) > 1.0, timeout=10_000)
    assert window.midi_player.is_playing
    window.transport.stop_button.click()
    assert not window.midi_player.is_playing
    received = []
    while (message := listener.get_message()) is not None:
        received.append(message[0])
    listener.delete()
    assert any(m[0] & 0xF0 == 0x90 and m[2] > 0 for m in received), received[:10]  # note-ons arrived
    window.shutdown()


# ----------------------------------------------------------------------------- push-to-talk keys (issue 16, item 2)
def listening_window(qtbot, tmp_path):
    """A window on the virtual microphone, ready to record (the speech model is not needed until a
    recording ends, so it is marked ready rather than loaded)."""
    import dataclasses

    from assistant.audio import Microphone
    from tests.support.daemons import MIC_SOURCE

    window = make_window(qtbot, Assistant(output_dir=tmp_path / "out"), tmp_path, autoload=False)
    window.workspace.loading = dataclasses.replace(window.workspace.loading, speech_ready=True)
    window._microphone_opened(None, Microphone(MIC_SOURCE))  # as OpenMicrophoneJob hands it over: armed
    assert window.request_bar.mic_button.isEnabled() and window.microphone.is_armed
    return window


def keep_recordings(monkeypatch) -> list:
    """Recorded audio stays with the test instead of starting a transcription job (the keys and the
    microphone are under test, not the speech model; a model load would outlive the window)."""
    kept: list = []
    monkeypatch.setattr(MainWindow, "_recorded", lambda self, audio: (kept.append(audio), self._end_recording()))
    return kept


def assert_microphone_closed(window) -> None:
    """After shutdown no stream of the window is open (a later PortAudio rescan or exit meets none)."""
    from assistant import audio

    assert not window.microphone.is_armed and not window.microphone.is_recording
    assert window.microphone._stream is None and audio._open_streams == 0


def send_space(widget, press: bool, modifiers=Qt.NoModifier, autorepeat: bool = False) -> None:
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    kind = QEvent.KeyPress if press else QEvent.KeyRelease
    QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key_Space, modifiers, " ", autorepeat))


def test_auto_repeat_while_space_is_held_never_ends_the_recording(qtbot, pulse_audio, tmp_path):
    window = listening_window(qtbot, tmp_path)
    window.request_bar.request_edit.clearFocus()
    window.setFocus()
    send_space(window, press=True)
    qtbot.waitUntil(lambda: window.workspace.recording, timeout=5000)
    for _ in range(20):  # 30 ms auto-repeat for 1.2 s: release+press pairs NOT flagged as auto-repeat
        send_space(window, press=False)
        send_space(window, press=True)
        qtbot.wait(30)
        assert window.workspace.recording
    for _ in range(5):  # and presses flagged as auto-repeat
        send_space(window, press=True, autorepeat=True)
        qtbot.wait(30)
    qtbot.wait(200)
    assert window.workspace.recording and window.request_bar.mic_button.property("look") == "listening"
    qtbot.keyClick(window, Qt.Key_Escape)
    qtbot.waitUntil(lambda: not window.workspace.recording, timeout=5000)
    send_space(window, press=False)
    window.shutdown()
    assert_microphone_closed(window)


def test_ctrl_space_talks_from_inside_the_text_field_and_space_still_types(qtbot, pulse_audio, tmp_path, monkeypatch):
    kept = keep_recordings(monkeypatch)
    window = listening_window(qtbot, tmp_path)
    edit = window.request_bar.request_edit
    edit.setFocus()
    qtbot.keyClicks(edit, "soft piano")
    assert edit.text() == "soft piano" and not window.workspace.recording  # Space types in the field
    send_space(edit, press=True, modifiers=Qt.ControlModifier)
    qtbot.waitUntil(lambda: window.workspace.recording, timeout=5000)
    assert edit.text() == "soft piano"  # no space typed
    qtbot.wait(500)  # held longer than a tap
    send_space(edit, press=False, modifiers=Qt.ControlModifier)
    send_space(edit, press=True, modifiers=Qt.ControlModifier)  # auto-repeat pair: still held
    qtbot.wait(200)
    assert window.workspace.recording
    with qtbot.waitSignal(window.recorder.recorded, timeout=10_000):
        send_space(edit, press=False)  # Ctrl let go first: the release still ends the hold
    assert len(kept) == 1 and not window.workspace.recording
    window.shutdown()
    assert_microphone_closed(window)


def test_push_to_talk_keeps_the_words_said_as_the_key_went_down(qtbot, pulse_audio, tmp_path, monkeypatch):
    """The armed microphone's pre-roll: speech that started before Space was pressed (the user
    talking as the finger lands, the recorder thread's hop) is at the start of the recording."""
    import numpy as np

    from assistant.audio import PUSH_TO_TALK_PRE_ROLL_S

    kept = keep_recordings(monkeypatch)
    window = listening_window(qtbot, tmp_path)
    microphone = window.microphone
    qtbot.waitUntil(lambda: microphone.pre_roll_audio().size >= 0.29 * 16000, timeout=10_000)
    speaker = pulse_audio.play_into_mic(pulse_audio.speech_wav("joyful"), wait=False)
    qtbot.waitUntil(lambda: np.abs(microphone.pre_roll_audio()).max() > 0.05, timeout=10_000)  # talking already
    window.request_bar.request_edit.clearFocus()
    window.setFocus()
    send_space(window, press=True)
    qtbot.wait(400)
    with qtbot.waitSignal(window.recorder.recorded, timeout=10_000) as blocker:
        send_space(window, press=False)
    speaker.wait(timeout=30)
    samples = blocker.args[0]
    assert kept == [samples] and not window.workspace.recording
    loud = np.flatnonzero(np.abs(samples) > 0.05)
    assert loud.size and loud[0] < PUSH_TO_TALK_PRE_ROLL_S * 16000, "the onset before the key press was cut"
    assert samples.size / 16000 >= 0.4 + PUSH_TO_TALK_PRE_ROLL_S - 0.05
    window.shutdown()
    assert_microphone_closed(window)
