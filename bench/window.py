"""The window's numbers: launch -> shown and interactive (median of 5 fresh processes), end of
speech -> playback starts (virtual microphone), memory with all models loaded and over 200
regenerations. Writes the "Window (gui)" section of bench/RESULTS.md.

    .venv/bin/python bench/window.py [--launches 5] [--regenerations 200] [--skip-speech]
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from common import write_section  # noqa: E402

# Runs in a fresh interpreter: from its start to the first event handled after show().
LAUNCH_CHILD = r"""
import os, sys, time, tempfile
from pathlib import Path
t0 = float(os.environ["MOODCHORDS_BENCH_T0"])
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from gui.app import build_window
from gui.settings import WindowSettings
from gui.theme import apply_theme
app = QApplication(["moodchords"])
apply_theme(app)
scratch = Path(tempfile.mkdtemp(prefix="moodchords-bench-"))
window = build_window(history_path=scratch / "h.sqlite3",
                      settings=WindowSettings(QSettings(str(scratch / "s.ini"), QSettings.IniFormat)))
window.show()
shown = time.time() - t0
def interactive():
    print(f"{shown:.4f} {time.time() - t0:.4f}", flush=True)
    os._exit(0)  # the models are still loading in the background; that is the point
QTimer.singleShot(0, interactive)
app.exec()
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_launches(count: int) -> tuple[list[float], list[float]]:
    shown, interactive = [], []
    for _ in range(count):
        env = dict(os.environ, MOODCHORDS_BENCH_T0=repr(time.time()))
        result = subprocess.run([sys.executable, "-c", LAUNCH_CHILD], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=120)
        line = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
        if result.returncode != 0 or not line:
            raise RuntimeError(f"launch failed: {result.stderr[-800:]}")
        first, second = (float(x) for x in line.split())
        shown.append(first)
        interactive.append(second)
    return shown, interactive


def run_until(app, predicate, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        app.processEvents()
        time.sleep(0.005)


def make_window(app, scratch: Path, devices=None, history=True):
    from PySide6.QtCore import QSettings

    from assistant.pipeline import Assistant
    from gui.main_window import Devices, MainWindow
    from gui.settings import WindowSettings

    store = None
    if history:
        try:
            from assistant.history import HistoryStore

            store = HistoryStore(scratch / "history.sqlite3")
        except ImportError:
            store = None
    assistant = Assistant(output_dir=scratch / "out", history=store)
    window = MainWindow(assistant, history=store, devices=devices or Devices(),
                        settings=WindowSettings(QSettings(str(scratch / "s.ini"), QSettings.IniFormat)),
                        drag_folder=scratch / "drag")
    window.show()
    return window


def measure_memory(app, regenerations: int) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="moodchords-bench-"))
    before = rss_mb()
    window = make_window(app, scratch)
    loaded = {"done": False, "error": None}
    window.loadFinished.connect(lambda: loaded.update(done=True))
    window.loadFailed.connect(lambda message: loaded.update(error=message))
    started = time.perf_counter()
    run_until(app, lambda: loaded["done"] or loaded["error"], 600)
    if loaded["error"]:
        window.shutdown()
        raise RuntimeError(loaded["error"])
    load_s = time.perf_counter() - started
    after_load = rss_mb()
    shown = []
    window.compositionShown.connect(lambda composition: shown.append(time.perf_counter()))
    window.compose_text("a calm and hopeful song full of wonder")
    run_until(app, lambda: len(shown) == 1, 120)
    window.toggle_lock(0)
    samples, durations = {0: rss_mb()}, []
    for index in range(1, regenerations + 1):
        begin = time.perf_counter()
        window.regenerate()
        run_until(app, lambda: len(shown) == index + 1, 120)
        durations.append(time.perf_counter() - begin)
        if index in (50, 100, 150, 200) or index == regenerations:
            samples[index] = rss_mb()
    window.shutdown()
    return {"before": before, "load_s": load_s, "after_load": after_load, "samples": samples,
            "regen_median_ms": statistics.median(durations) * 1000, "regen_p90_ms":
                sorted(durations)[int(0.9 * (len(durations) - 1))] * 1000}


def measure_speech_to_note(app, runs: int = 3) -> list[float]:
    """Seconds from the end of the spoken request (the virtual mic's speech ended and the button
    is released) to playback starting (FluidSynth play() called on the composed score)."""
    from gui.main_window import Devices
    from tests.support.daemons import PulseAudio

    from gui.app import _open_microphone, _open_player

    server = PulseAudio().start()
    previous = server.activate()
    try:
        scratch = Path(tempfile.mkdtemp(prefix="moodchords-bench-"))
        window = make_window(app, scratch, Devices(player=_open_player, microphone=_open_microphone),
                             history=False)
        failed = []
        window.loadFailed.connect(failed.append)
        run_until(app, lambda: failed or (window.speech_ready and window.microphone is not None
                                          and window.player is not None), 600)
        if failed:
            window.shutdown()
            raise RuntimeError(failed[0])
        results = []
        for _ in range(runs):
            shown = []
            window.compositionShown.connect(lambda composition: shown.append(time.perf_counter()))
            window.start_recording()
            run_until(app, lambda: True, 0.5)
            speaker = server.speak("I want a calm song full of hope", wait=False)
            while speaker.poll() is None:
                app.processEvents()
                time.sleep(0.005)
            end_of_speech = time.perf_counter()
            window.stop_recording()
            run_until(app, lambda: bool(shown) and window.playing, 120)
            results.append(shown[0] - end_of_speech)
            window.compositionShown.disconnect()
        window.shutdown()
        return results
    finally:
        PulseAudio.deactivate(previous)
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--regenerations", type=int, default=200)
    parser.add_argument("--skip-speech", action="store_true")
    args = parser.parse_args(argv)

    lines = ["Offscreen Qt platform (no display here); real pipeline, models loading in the background.", ""]
    shown, interactive = measure_launches(args.launches)
    lines += [f"Launch (fresh `python`, imports included), median of {args.launches}:", "",
              "| measure | median s | min s | max s |", "|---|---|---|---|",
              f"| window shown | {statistics.median(shown):.2f} | {min(shown):.2f} | {max(shown):.2f} |",
              f"| first event handled (interactive) | {statistics.median(interactive):.2f} | "
              f"{min(interactive):.2f} | {max(interactive):.2f} |", ""]
    print("\n".join(lines), flush=True)

    from PySide6.QtWidgets import QApplication

    app = QApplication(["moodchords-bench"])
    try:
        memory = measure_memory(app, args.regenerations)
        samples = " · ".join(f"{count}: {mb:.0f} MB" for count, mb in memory["samples"].items())
        lines += [f"Memory (RSS of the window's process): before the window {memory['before']:.0f} MB; "
                  f"all models loaded (composer, language, speech; {memory['load_s']:.1f} s) "
                  f"{memory['after_load']:.0f} MB; after N regenerations (one chord locked, history on): "
                  f"{samples}.", "",
                  f"Regenerate -> shown: median {memory['regen_median_ms']:.0f} ms, "
                  f"p90 {memory['regen_p90_ms']:.0f} ms.", ""]
    except Exception as error:  # noqa: BLE001 (a part that has not landed yet is reported, not hidden)
        lines += [f"Memory / regenerations not measured: {type(error).__name__}: {error}", ""]
    if not args.skip_speech:
        try:
            delays = measure_speech_to_note(app)
            lines += [f"End of speech -> playback started (virtual PulseAudio mic, espeak-ng request, release at "
                      f"the end of speech; transcription + mood + composing + MIDI write): median "
                      f"{statistics.median(delays):.2f} s over {len(delays)} runs "
                      f"({', '.join(f'{d:.2f}' for d in delays)}).", ""]
        except Exception as error:  # noqa: BLE001
            lines += [f"End of speech -> first note not measured: {type(error).__name__}: {error}", ""]
    body = "\n".join(lines)
    print(body)
    write_section("Window (gui)", body, "bench/window.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
