"""Screenshot of the real window for docs/screenshot.png: open it, compose one request, grab it.

    xvfb-run -a -s "-screen 0 1400x900x24" .venv/bin/python scripts/screenshot.py [out.png] [request]
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REQUEST = "I want a song that expresses hope and wonder, in D major, 8 bars"


def start_pulse_audio():
    """A private PulseAudio (virtual speaker and microphone, as in the tests) so the picture shows
    the window with a working microphone and playback; None where pulseaudio is missing."""
    import shutil

    if not shutil.which("pulseaudio"):
        return None
    from tests.support.daemons import PulseAudio

    server = PulseAudio().start()
    server.activate()
    return server


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else ROOT / "docs" / "screenshot.png"
    pulse = start_pulse_audio()
    request = argv[1] if len(argv) > 1 else REQUEST
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from gui.app import build_window
    from gui.settings import WindowSettings
    from gui.theme import apply_theme

    app = QApplication(["moodchords"])
    apply_theme(app)
    scratch = Path(tempfile.mkdtemp(prefix="moodchords-shot-"))
    # A scratch history and settings: the picture must not depend on (or touch) the user's.
    window = build_window(history_path=scratch / "history.sqlite3",
                          settings=WindowSettings(QSettings(str(scratch / "s.ini"), QSettings.IniFormat)))
    window.resize(1400, 880)
    window.show()
    state = {"shots": 0, "code": 1}

    def compose() -> None:
        window.request_bar.request_edit.setText(request)
        window.compose_text(request)

    def composed(composition) -> None:
        if window.history is not None and state["shots"] == 0:
            # A second take fills the history list, and one locked chord shows the padlock.
            state["shots"] = 1
            window.toggle_lock(1)
            window.regenerate()
            return
        # Let playback move the playhead a little (if there is an audio output), then grab.
        QTimer.singleShot(1500, grab)

    def grab() -> None:
        if window.piano_roll.canvas.playhead_beats is None:
            window.piano_roll.set_playhead(composition_beats() * 0.3)
        out.parent.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(out))
        print(f"wrote {out}")
        state["code"] = 0
        window.close()
        app.quit()

    def composition_beats() -> float:
        return window.composition.score.length_beats if window.composition is not None else 0.0

    def failed(message: str) -> None:
        print(f"screenshot: {message}", file=sys.stderr)
        window.close()
        app.quit()

    window.loadFinished.connect(compose)
    window.compositionShown.connect(composed)
    window.errorShown.connect(failed)
    QTimer.singleShot(300_000, lambda: failed("timed out"))
    app.exec()
    del window
    if pulse is not None:
        pulse.stop()
    return state["code"]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
