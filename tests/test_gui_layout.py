"""The window never outgrows the screen (issue 16): a request with many mood words wraps its
keyword chips, and the transport bar and the setting chips wrap, instead of widening the window.
Real geometry needs a real X server: each case runs the real MainWindow (with the app's theme) in a
subprocess on its own Xvfb screen (1280x800 and 1400x900)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.xvfb import run_json_on_xvfb

ROOT = Path(__file__).resolve().parent.parent

TWELVE_WORDS = ("furious", "aggressive", "violent", "chaotic", "frantic", "angry", "dark", "menacing",
                "brutal", "savage", "raging", "hostile")

# Runs inside the Xvfb display: shows the window as a new user gets it, then a composition whose
# mood has the twelve keywords, and prints the geometry before and after.
WINDOW_SCRIPT = r"""
import dataclasses, json, sys, tempfile
from pathlib import Path
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv)
from gui.theme import apply_theme
apply_theme(app)  # the real window's fonts and paddings: the widths measured are the user's
from assistant.pipeline import Assistant
from gui.main_window import MainWindow
from tests.gui_support import hand_made_composition, temp_settings

words = tuple(sys.argv[1].split(","))
folder = Path(tempfile.mkdtemp())
window = MainWindow(Assistant(output_dir=folder / "out"), settings=temp_settings(folder),
                    drag_folder=folder / "drag", autoload=False)
window.show()
for _ in range(20):
    app.processEvents()
screen = window.screen().availableGeometry()
before = window.frameGeometry().width()
composition = hand_made_composition()
mood = dataclasses.replace(composition.mood, keywords=words)
long_warning = "tempo 1000 bpm ignored; allowed 20..300 bpm · " * 6
window.show_composition(dataclasses.replace(composition, mood=mood, notices=(long_warning,)))
window.request_bar.set_status(long_warning)  # a long status line wraps, never widens
for _ in range(40):
    app.processEvents()

def visible(widget):
    rect = widget.rect()
    top_left = widget.mapTo(window, rect.topLeft())
    inside = window.rect().contains(top_left) and window.rect().contains(widget.mapTo(window, rect.bottomRight()))
    return widget.isVisible() and inside and widget.visibleRegion().boundingRect().width() > 0

print(json.dumps({
    "screen_width": screen.width(), "screen_height": screen.height(),
    "width_before": before, "width_after": window.frameGeometry().width(),
    "minimum_width": window.minimumSizeHint().width(),
    "transport_minimum_width": window.transport.minimumSizeHint().width(),
    "setting_chips": len(window.request_bar.setting_chips.chips),
    "keywords": window.mood_view.keywords(),
    "more_chip": window.mood_view.more_chip.text() if window.mood_view.more_chip else None,
    "mood_visible": visible(window.mood_view),
    "compose_visible": visible(window.request_bar.compose_button),
    "mood_on_screen": screen.contains(window.mood_view.mapToGlobal(window.mood_view.rect().bottomRight())),
    "compose_on_screen": screen.contains(window.request_bar.compose_button.mapToGlobal(
        window.request_bar.compose_button.rect().bottomRight())),
}))
window.shutdown()
"""


def _run_on_xvfb(width: int, height: int) -> dict:
    return run_json_on_xvfb(WINDOW_SCRIPT, ",".join(TWELVE_WORDS), width, height, cwd=ROOT)


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb for real window geometry")
@pytest.mark.parametrize("width,height", [(1280, 800), (1400, 900)])
def test_twelve_keywords_do_not_widen_the_window_past_the_screen(width, height):
    geometry = _run_on_xvfb(width, height)
    assert geometry["screen_width"] == width
    assert geometry["width_after"] <= geometry["width_before"], geometry  # a long request widens nothing
    assert geometry["keywords"] == list(TWELVE_WORDS[:6])
    assert geometry["more_chip"] == "+6"
    assert geometry["mood_visible"] and geometry["compose_visible"], geometry


@pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb for real window geometry")
@pytest.mark.parametrize("width,height", [(1280, 800), (1400, 900)])
def test_window_with_twelve_keywords_fits_the_screen(width, height):
    geometry = _run_on_xvfb(width, height)
    assert geometry["width_before"] <= width, geometry
    assert geometry["width_after"] <= width, geometry
    assert geometry["minimum_width"] < 1280 - 100, geometry  # comfortably below the smallest screen
    assert geometry["setting_chips"] == 7, geometry  # the setting chips are on screen too
    assert geometry["mood_on_screen"] and geometry["compose_on_screen"], geometry


def test_window_minimum_width_is_below_1280_px(qtbot, tmp_path):
    """Offscreen, with the app's theme: the window, the transport bar and the request bar (with a
    composition, twelve keywords, seven setting chips and a long status line) fit a 1280 px screen."""
    import dataclasses

    from PySide6.QtWidgets import QApplication

    from assistant.pipeline import Assistant
    from gui.main_window import MainWindow
    from gui.theme import apply_theme
    from tests.gui_support import hand_made_composition, temp_settings

    app = QApplication.instance()
    before = (app.style().name(), app.palette(), app.font(), app.styleSheet())
    apply_theme(app)  # the real window's fonts and paddings
    try:
        window = MainWindow(Assistant(output_dir=tmp_path / "out"), settings=temp_settings(tmp_path),
                            drag_folder=tmp_path / "drag", autoload=False)
        qtbot.addWidget(window)
        window.show()
        empty = window.minimumSizeHint().width()
        composition = hand_made_composition()
        mood = dataclasses.replace(composition.mood, keywords=TWELVE_WORDS)
        window.show_composition(dataclasses.replace(composition, mood=mood))
        window.request_bar.set_status("the request's key C major is overridden by the key setting Bb minor · " * 5)
        QApplication.processEvents()
        assert len(window.request_bar.setting_chips.chips) == 7
        assert window.minimumSizeHint().width() < 1280, window.minimumSizeHint()
        assert window.minimumSizeHint().width() <= empty + 10  # nothing shown widens it
        assert window.transport.minimumSizeHint().width() < 600  # the bar wraps (it was 1124-1303 px in one row)
        window.shutdown()
    finally:  # the other tests in this process keep the plain style
        app.setStyle(before[0])
        app.setPalette(before[1])
        app.setFont(before[2])
        app.setStyleSheet(before[3])


def test_keyword_chips_wrap_instead_of_widening_the_mood_panel(qtbot):
    from PySide6.QtWidgets import QApplication

    from assistant.mood import Mood
    from gui.mood_view import MoodView

    view = MoodView()
    qtbot.addWidget(view)
    view.show()
    empty_width = view.minimumSizeHint().width()
    view.set_mood(Mood(valence=-0.8, arousal=0.9, class_weights={"angry": 1.0}, keywords=TWELVE_WORDS))
    QApplication.processEvents()
    assert view.minimumSizeHint().width() <= max(empty_width, 260)
    assert view.sizeHint().width() <= max(empty_width, 260) + 60
    view.resize(280, 700)
    QApplication.processEvents()
    chips = view.keyword_labels + [view.more_chip]
    assert view.more_chip.text() == "+6" and view.more_chip.toolTip() == ", ".join(TWELVE_WORDS[6:])
    rows = {chip.geometry().top() for chip in chips}
    assert len(rows) >= 2  # wrapped
    for chip in chips:  # every chip inside the panel, none overlapping the summary below
        assert chip.mapTo(view, chip.rect().bottomRight()).x() <= view.width()
        assert chip.mapTo(view, chip.rect().bottomRight()).y() < view.summary.mapTo(view, view.summary.rect().topLeft()).y()
