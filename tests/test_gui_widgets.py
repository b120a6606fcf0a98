"""The window's pieces with a hand-made composition (real music core, real Qt, offscreen)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mido
import pretty_midi
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMessageBox

from assistant.pipeline import Assistant
from assistant.workspace import Busy
from gui.level_meter import level_to_fraction
from gui.main_window import MainWindow
from gui.midi_drag import build_midi_mime_data
from gui.piano_roll import PianoRoll, spans_from_markers
from tests.gui_support import CHORD_NAMES, DialogRecorder, hand_made_composition, temp_settings
from tests.support.unwritable import unwritable_folder

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def window(qtbot, tmp_path):
    # The real Assistant (its models load lazily and are not needed here: no autoload).
    assistant = Assistant(output_dir=tmp_path / "out")
    win = MainWindow(assistant, settings=temp_settings(tmp_path), drag_folder=tmp_path / "drag", autoload=False)
    qtbot.addWidget(win)
    win.resize(1400, 880)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.shutdown()


def test_piano_roll_shows_notes_and_chord_names(qtbot):
    composition = hand_made_composition()
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(900, 400)
    roll.show()
    spans = spans_from_markers(composition.score)
    roll.set_content(composition.score, spans)
    assert [span.name for span in roll.canvas.spans] == list(CHORD_NAMES)
    low, high = roll.canvas.pitch_range()
    pitches = [note.pitch for note in composition.score.notes]
    assert low <= min(pitches) and max(pitches) <= high
    # Fit shows the whole progression in the viewport.
    assert roll.canvas.x_of(composition.score.length_beats) <= roll.scroll.viewport().width()
    before = roll.canvas.pixels_per_beat
    roll.zoom_in_button.click()
    assert roll.canvas.pixels_per_beat == pytest.approx(before * 1.25)
    image = roll.canvas.grab().toImage()
    # Something other than the background was painted where the first bass note sits.
    bass = min(composition.score.notes, key=lambda note: note.pitch)
    x = int(roll.canvas.x_of(bass.start_beats) + 4)
    y = int(roll.canvas.y_of(bass.pitch) + roll.canvas.row_height() / 2)
    assert image.pixelColor(x, y).name() != image.pixelColor(x, 2).name()


def test_click_on_chord_name_locks_and_unlocks_it(window, qtbot):
    window.show_composition(hand_made_composition())
    canvas = window.piano_roll.canvas
    centre = canvas.chord_rect(2).center().toPoint()
    with qtbot.waitSignal(window.piano_roll.chordClicked) as blocker:
        qtbot.mouseClick(canvas, Qt.LeftButton, pos=centre)
    assert blocker.args == [2]
    assert window.locked == {2}
    assert canvas.spans[2].locked and not canvas.spans[1].locked
    qtbot.mouseClick(canvas, Qt.LeftButton, pos=centre)
    assert window.locked == set()


def test_drag_mime_data_carries_a_valid_midi_file(window, qtbot):
    composition = hand_made_composition()
    window.show_composition(composition)
    mime = window.midi_mime_data()
    urls = mime.urls()
    assert len(urls) == 1 and urls[0].isLocalFile()
    assert "text/uri-list" in mime.formats()
    path = Path(urls[0].toLocalFile())
    assert path.is_file() and path.suffix == ".mid"
    assert path.parent == window.drag_folder
    midi = pretty_midi.PrettyMIDI(str(path))
    assert sum(len(instrument.notes) for instrument in midi.instruments) > 0
    markers = [message.text for track in mido.MidiFile(str(path)).tracks for message in track
               if message.type == "marker"]
    assert markers == list(CHORD_NAMES)
    with pytest.raises(FileNotFoundError):
        build_midi_mime_data(path.with_name("missing.mid"))


def test_export_writes_a_midi_file_with_the_same_chords(window, qtbot, tmp_path):
    composition = hand_made_composition()
    window.show_composition(composition)
    target = tmp_path / "export" / "song.mid"
    target.parent.mkdir()
    window.export_to(target)
    qtbot.waitUntil(target.exists, timeout=5000)
    midi = pretty_midi.PrettyMIDI(str(target))
    seconds_per_beat = 60.0 / composition.score.tempo_bpm
    for placed in composition.progression.chords:
        start = placed.start_beats * seconds_per_beat
        end = placed.end_beats * seconds_per_beat
        heard = {note.pitch % 12 for instrument in midi.instruments for note in instrument.notes
                 if start - 1e-3 <= note.start < end - 1e-3}
        assert heard == set(placed.chord.pitch_classes), placed.chord.name


def test_export_to_unwritable_folder_shows_error_and_leaves_no_file(window, qtbot, tmp_path, monkeypatch):
    recorder = DialogRecorder()
    monkeypatch.setattr(QMessageBox, "critical", recorder)
    window.show_composition(hand_made_composition())
    folder = unwritable_folder(tmp_path)
    target = folder / "song.mid"
    window.export_to(target)
    qtbot.waitUntil(lambda: bool(recorder.shown), timeout=5000)
    title, text = recorder.shown[0]
    assert title == "Export failed" and str(target) in text
    assert not target.exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".song.mid")]


def test_mood_view_shows_keywords_dot_and_weights(window):
    composition = hand_made_composition()
    window.show_composition(composition)
    view = window.mood_view
    assert view.keywords() == ["hope", "wonder"]
    dot = view.plane.dot_position()
    rect = view.plane.plane_rect()
    assert dot.x() > rect.center().x() and dot.y() < rect.center().y()  # positive, excited
    assert [row[0] for row in view.bars.rows] == ["Q1", "Q2", "Q3", "Q4"]
    assert window.summary.text().startswith("D major")


def test_level_meter_scale():
    assert level_to_fraction(0.0) == 0.0
    assert level_to_fraction(1.0) == 1.0
    assert 0.45 < level_to_fraction(0.03) < 0.55  # about -30 dBFS sits mid-way
    assert level_to_fraction(0.001) == 0.0


def test_space_types_in_the_text_box_and_escape_cancels(window, qtbot):
    edit = window.request_bar.request_edit
    edit.setFocus()
    qtbot.keyClicks(edit, "calm sea")
    assert edit.text() == "calm sea"
    window.workspace.begin(object(), Busy.COMPOSING)  # a pending composition, as if the pipeline were busy
    window._show_busy("Composing…")
    qtbot.keyClick(window, Qt.Key_Escape)
    assert window.workspace.pending is None and window.request_bar.status.text() == "Cancelled"


def test_no_display_prints_one_line_and_returns_2():
    env = {key: value for key, value in os.environ.items()
           if key not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "gui"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 2
    assert result.stdout.strip() == "moodchords: no display found; use the command line: moodchords --help"


def test_settings_dialog_offers_the_installed_speech_models(qtbot):
    from assistant import speech
    from gui.settings_dialog import SettingsDialog, gather_choices

    choices = gather_choices()
    assert choices.engines == tuple(speech.ENGINES) and choices.models == tuple(speech.MODELS)
    dialog = SettingsDialog(choices, input_device=None, speech_engine=None, speech_model=None)
    qtbot.addWidget(dialog)
    chosen = dialog.chosen()
    assert chosen.input_device is None
    assert (chosen.speech_engine, chosen.speech_model) == (speech.DEFAULT_ENGINE, speech.DEFAULT_MODEL)


def test_settings_are_remembered(tmp_path):
    settings = temp_settings(tmp_path)
    settings.program, settings.volume, settings.loop, settings.input_device = 48, 0.5, True, "moodchords_mic"
    settings.sync()
    again = temp_settings(tmp_path)
    assert (again.program, again.volume, again.loop, again.input_device) == (48, 0.5, True, "moodchords_mic")
    again.program = None
    assert again.program is None


def test_mic_button_click_toggles_and_hold_is_push_to_talk(qtbot):
    from gui.request_bar import HOLD_MS, MicButton

    button = MicButton()
    qtbot.addWidget(button)
    events: list[str] = []
    button.startRequested.connect(lambda: (events.append("start"), setattr(button, "recording", True)))
    button.stopRequested.connect(lambda: (events.append("stop"), setattr(button, "recording", False)))
    button.press()
    button.release()  # a quick click: keeps recording
    assert events == ["start"] and button.recording
    button.press()  # the second click ends it
    button.release()
    assert events == ["start", "stop"]
    button.press()
    qtbot.wait(HOLD_MS + 100)
    button.release()  # held: releasing ends it
    assert events == ["start", "stop", "start", "stop"]


def test_metre_form_and_intensity_are_auto_until_chosen(window):
    transport = window.transport
    assert transport.overrides() is None  # every field Auto: the request and the mood decide
    assert transport.intensity_label.text() == "Auto" and transport.intensity_value is None
    transport.metre.setCurrentIndex(transport.metre.findData("6/8"))
    transport.form.setCurrentIndex(transport.form.findText("Loop of 2 bars"))
    transport.intensity.setValue(90)  # towards unmistakable
    overrides = transport.overrides()
    assert (overrides.metre, overrides.form, overrides.loop_bars, overrides.intensity) == ("6/8", "loop", 2, 0.9)
    assert transport.intensity_label.text() == "0.90"
    transport.intensity_label.click()  # back to Auto
    transport.metre.setCurrentIndex(0)
    transport.form.setCurrentIndex(transport.form.findText("Through-composed"))
    overrides = transport.overrides()
    assert overrides.intensity is None and overrides.metre is None and overrides.form == "through"
    assert [transport.metre.itemText(i) for i in range(transport.metre.count())] == ["Auto", "4/4", "3/4", "6/8"]


def _long_score(bars: int):
    """A real Score of one chord a bar (C, Am, F, G), 4/4, with chord markers."""
    from assistant.score import BASS_CHANNEL, CHORD_CHANNEL, Marker, Note, Score

    roots = (("C", 60), ("Am", 57), ("F", 53), ("G", 55))
    notes, markers = [], []
    for bar in range(bars):
        name, root = roots[bar % 4]
        third = 3 if name.endswith("m") else 4
        for pitch in (root, root + third, root + 7):
            notes.append(Note(pitch, bar * 4.0, 4.0, 80, CHORD_CHANNEL))
        notes.append(Note(root - 24, bar * 4.0, 4.0, 90, BASS_CHANNEL))
        markers.append(Marker(bar * 4.0, name))
    return Score(notes=tuple(notes), tempo_bpm=100.0, length_beats=bars * 4.0, markers=tuple(markers))


def test_piano_roll_pitch_labels_are_as_tall_as_their_font(qtbot):
    from PySide6.QtGui import QFontMetricsF

    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(900, 400)
    roll.show()
    roll.set_content(hand_made_composition().score, spans_from_markers(hand_made_composition().score))
    text_height = QFontMetricsF(roll.keys.label_font()).height()
    assert roll.canvas.row_height() < text_height  # the case that clipped the labels before
    labels = roll.keys.label_rects()
    low, high = roll.canvas.pitch_range()
    assert {pitch for pitch, _ in labels} >= {pitch for pitch in range(low, high + 1) if pitch % 12 == 0}
    for pitch, rect in labels:
        assert rect.height() >= text_height
        centre = roll.canvas.y_of(pitch) + roll.canvas.row_height() / 2
        assert rect.center().y() == pytest.approx(centre)
    tops = sorted(rect.top() for _, rect in labels)
    assert all(later - earlier >= text_height for earlier, later in zip(tops, tops[1:]))  # no overlaps


def test_piano_roll_one_beat_chord_name_is_drawn_or_in_its_tooltip(qtbot):
    from gui.piano_roll import ChordSpan

    score = _long_score(4)
    spans = (ChordSpan(0.0, 1.0, "Am", False), ChordSpan(1.0, 1.0, "F#m7b5/C", False),
             ChordSpan(2.0, 2.0, "G", False), ChordSpan(4.0, 12.0, "C", False))
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(900, 400)
    roll.show()
    roll.set_content(score, spans)
    canvas = roll.canvas
    assert canvas.chord_name_fits(0)  # a short name is drawn whole in a one-beat pill
    for index, span in enumerate(spans):  # and every name, drawn or not, is in its tooltip
        assert canvas.tooltip_at(canvas.chord_rect(index).center()).startswith(span.name + ":")


def test_piano_roll_32_bars_scroll_at_a_readable_zoom(qtbot):
    from gui.piano_roll import READABLE_PIXELS_PER_BEAT

    score = _long_score(32)
    roll = PianoRoll()
    qtbot.addWidget(roll)
    roll.resize(900, 400)
    roll.show()
    roll.set_content(score, spans_from_markers(score))
    qtbot.wait(20)
    assert roll.canvas.pixels_per_beat >= READABLE_PIXELS_PER_BEAT
    bar = roll.scroll.horizontalScrollBar()
    assert bar.maximum() > 0
    assert roll.canvas.width() >= 128 * READABLE_PIXELS_PER_BEAT
    assert all(roll.canvas.chord_name_fits(index) for index in range(len(roll.canvas.spans)))
    # A short piece still fits the viewport without scrolling.
    short = _long_score(4)
    roll.set_content(short, spans_from_markers(short))
    qtbot.wait(20)
    assert roll.canvas.x_of(short.length_beats) <= roll.scroll.viewport().width()
