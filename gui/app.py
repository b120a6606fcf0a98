"""`python -m gui` / `moodchords gui`: the window. Without a display it says so in one line and
returns 2 (the command line works everywhere)."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

NO_DISPLAY = "moodchords: no display found; use the command line: moodchords --help"
EXIT_NO_DISPLAY = 2


def has_display(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


# --- the real devices (imported lazily: the factories run on a worker thread) -----------------
def _open_player(on_position: Callable[[float], None], on_finished: Callable[[], None]) -> Any:
    from assistant.playback import FluidSynthPlayer

    return FluidSynthPlayer(on_position=on_position, on_finished=on_finished)


def _open_microphone(device_name: str | None) -> Any:
    from assistant.audio import Microphone

    return Microphone(device_name)


def _midi_outputs() -> Sequence[str]:
    from assistant.midi_ports import list_midi_outputs

    return list_midi_outputs()


def _open_midi_port(port: str | None, on_position: Callable[[float], None], on_finished: Callable[[], None]) -> Any:
    from assistant.midi_ports import MidiPortPlayer

    return MidiPortPlayer(port, on_position=on_position, on_finished=on_finished)


def _instrument_names() -> Sequence[str]:
    from assistant.general_midi import GM_PROGRAM_NAMES

    return GM_PROGRAM_NAMES


def real_devices():
    from gui.main_window import Devices

    return Devices(player=_open_player, microphone=_open_microphone, midi_outputs=_midi_outputs,
                   midi_port=_open_midi_port, instrument_names=_instrument_names)


def build_window(*, model_dir: str | Path | None = None, history_path: str | Path | None = None,
                 settings: Any = None, devices: Any = None, autoload: bool = True):
    """The window with the real pipeline, history and devices (used by main, bench and screenshots)."""
    from assistant.history import HistoryStore
    from assistant.pipeline import Assistant
    from gui.main_window import MainWindow
    from gui.settings import WindowSettings

    settings = settings or WindowSettings()
    # Never raises for the file or its folder: a locked, read-only or unusable history opens in
    # memory and history.notice says why (the window shows it).
    history = HistoryStore(history_path)
    assistant = Assistant(model_dir=model_dir, speech_engine=settings.speech_engine,
                          speech_model=settings.speech_model, history=history)
    return MainWindow(assistant, history=history, devices=devices or real_devices(), settings=settings,
                      autoload=autoload)


def main(argv: list[str] | None = None) -> int:
    if not has_display():
        print(NO_DISPLAY)
        return EXIT_NO_DISPLAY
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from assistant.runtime import limit_malloc_arenas

    limit_malloc_arenas()  # before Qt and the workers start their threads
    from PySide6.QtWidgets import QApplication

    from gui.settings import APPLICATION, ORGANISATION
    from gui.theme import apply_theme

    app = QApplication.instance() or QApplication(list(sys.argv[:1] if argv is None else ["moodchords", *argv]))
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("moodchords")
    apply_theme(app)
    window = build_window()
    window.show()
    code = int(app.exec())
    window.export.clean_up()  # the drag folder is temporary: its files go with the app
    from gui.workers import threads_still_running

    if threads_still_running():  # closed while a model was loading: Qt must not tear that thread down
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    del window  # before the QApplication goes, so Qt never sees orphaned widgets
    return code


if __name__ == "__main__":
    sys.exit(main())
