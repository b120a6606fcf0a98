"""The window's numbers: launch -> shown and interactive (median of 5 fresh processes), end of
speech -> playback starts (virtual microphone), memory with all models loaded and over 200
regenerations. Writes the "Window (gui)" section of bench/RESULTS.md.

    .venv/bin/python bench/window.py [--launches 5] [--regenerations 200] [--skip-speech] [--utterances 10]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import percentile, rss_mb, write_section  # noqa: E402

# Runs in a fresh interpreter: from its start to the first event handled after show().
LAUNCH_CHILD = r"""
import os, sys, time, tempfile
from pathlib import Path
t0 = float(os.environ["MOODCHORDS_BENCH_T0"])
from assistant.runtime import limit_malloc_arenas
limit_malloc_arenas()
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


def pump(app, seconds: float) -> None:
    """Handle events for this many seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.005)


def trimmed_speech(wav: Path, threshold: float = 0.01, tail_s: float = 0.05) -> Path:
    """The wav without espeak-ng's trailing silence (it adds ~0.4 s), so the speech player ends,
    and the button is released, when the words end."""
    import wave

    import numpy as np

    with wave.open(str(wav)) as source:
        params = source.getparams()
        samples = np.frombuffer(source.readframes(params.nframes), dtype="<i2")
    loud = np.flatnonzero(np.abs(samples) > threshold * 32768)
    end = len(samples) if not loud.size else min(len(samples), int(loud[-1] + tail_s * params.framerate))
    out = wav.with_name(wav.stem + "-trimmed.wav")
    with wave.open(str(out), "wb") as target:
        target.setparams(params)
        target.writeframes(samples[:end].tobytes())
    return out


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

    from assistant.history import HistoryStore

    store = HistoryStore(scratch / "history.sqlite3") if history else None
    assistant = Assistant(output_dir=scratch / "out", history=store)
    window = MainWindow(assistant, history=store, devices=devices or Devices(),
                        settings=WindowSettings(QSettings(str(scratch / "s.ini"), QSettings.IniFormat)),
                        drag_folder=scratch / "drag")
    window.show()
    return window


def real_devices():
    """The window's real synthesizer and microphone (what `make run` opens)."""
    from gui.app import _open_microphone, _open_player
    from gui.main_window import Devices

    return Devices(player=_open_player, microphone=_open_microphone)


def measure_memory(app, regenerations: int) -> dict:
    """RSS with every model loaded and the synthesizer and microphone open (a private PulseAudio),
    then over `regenerations` Regenerate clicks, each shown and played."""
    from tests.support.daemons import PulseAudio, running

    with running(PulseAudio()):
        return _measure_memory(app, regenerations)


def _measure_memory(app, regenerations: int) -> dict:
    scratch = Path(tempfile.mkdtemp(prefix="moodchords-bench-"))
    before = rss_mb()
    window = make_window(app, scratch, real_devices())
    loaded = {"done": False, "error": None}
    window.loadFinished.connect(lambda: loaded.update(done=True))
    window.loadFailed.connect(lambda message: loaded.update(error=message))
    started = time.perf_counter()
    run_until(app, lambda: loaded["done"] or loaded["error"], 600)
    if loaded["error"]:
        window.shutdown()
        raise RuntimeError(loaded["error"])
    load_s = time.perf_counter() - started
    run_until(app, lambda: window.player is not None and window.microphone is not None, 60)
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
            "regen_median_ms": statistics.median(durations) * 1000, "regen_p90_ms": percentile(durations, 0.9) * 1000}


def measure_speech_to_note(app, runs: int = 10) -> list[tuple[float, float]]:
    """Per run, (end of speech -> play() called, end of speech -> first note sounding) in seconds.

    The request is spoken into the virtual microphone and the button released when the speech
    player ends, as a composer releasing at the end of the sentence. Sounding times come from
    two timestamped recordings on one clock: the microphone feed (the last loud sample is the
    end of speech) and the speaker's monitor (the first loud sample after it is the first note,
    after FluidSynth's scheduling lead and audio buffer and PulseAudio)."""
    from tests.support.daemons import PulseAudio, running

    with running(PulseAudio()) as server:
        scratch = Path(tempfile.mkdtemp(prefix="moodchords-bench-"))
        window = make_window(app, scratch, real_devices(), history=False)
        failed = []
        window.loadFailed.connect(failed.append)
        run_until(app, lambda: failed or (window.speech_ready and window.microphone is not None
                                          and window.player is not None), 600)
        if failed:
            window.shutdown()
            raise RuntimeError(failed[0])
        try:
            return _speak_and_time(app, server, window, runs)
        finally:
            window.shutdown()


def _speak_and_time(app, server, window, runs: int) -> list[tuple[float, float]]:
    requests = ["I want a calm song full of hope", "play something dark and tense",
                "a happy bright tune for a summer morning", "give me a sad slow ballad",
                "an exciting energetic chase", "something peaceful and tender for a lullaby"]
    results = []
    for run in range(runs):
        window.stop()
        pump(app, 1.0)  # the last composition's tail dies away
        wav = trimmed_speech(server.speech_wav(requests[run % len(requests)]))
        mic, speaker = server.timed_recordings()
        shown = []
        window.compositionShown.connect(lambda composition: shown.append(time.perf_counter()))
        window.start_recording()
        pump(app, 0.5)
        player = server.play_into_mic(wav, wait=False)
        while player.poll() is None:
            app.processEvents()
            time.sleep(0.005)
        released = time.perf_counter()
        window.stop_recording()
        run_until(app, lambda: bool(shown) and window.playing, 120)
        pump(app, 1.0)  # let the first notes reach the speaker's monitor
        mic.stop()
        speaker.stop()
        window.compositionShown.disconnect()
        end_of_speech = mic.last_sound_before(released)
        first_note = speaker.first_sound_after(end_of_speech) if end_of_speech is not None else None
        if end_of_speech is None or first_note is None:
            raise RuntimeError(f"run {run}: no speech or no note found in the recordings (end of speech "
                               f"{end_of_speech}, peaks: mic {mic.peak():.3f}, speaker {speaker.peak():.3f})")
        results.append((shown[0] - end_of_speech, first_note - end_of_speech))
    return results


def timing_row(what: str, seconds: list[float]) -> str:
    """A "| measure | median s | p90 s | max s |" table row."""
    return f"| {what} | {statistics.median(seconds):.2f} | {percentile(seconds, 0.9):.2f} | {max(seconds):.2f} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=5)
    parser.add_argument("--regenerations", type=int, default=200)
    parser.add_argument("--skip-speech", action="store_true")
    parser.add_argument("--utterances", type=int, default=10)
    args = parser.parse_args(argv)

    lines = [f"Offscreen Qt platform (no display here); real pipeline, models loading in the background. "
             f"Load average {os.getloadavg()[0]:.1f} at the start (2 cores).", ""]
    shown, interactive = measure_launches(args.launches)
    lines += [f"Launch (fresh `python`, imports included), median of {args.launches}:", "",
              "| measure | median s | min s | max s |", "|---|---|---|---|",
              f"| window shown | {statistics.median(shown):.2f} | {min(shown):.2f} | {max(shown):.2f} |",
              f"| first event handled (interactive) | {statistics.median(interactive):.2f} | "
              f"{min(interactive):.2f} | {max(interactive):.2f} |", ""]
    print("\n".join(lines), flush=True)

    from assistant.runtime import limit_malloc_arenas

    limit_malloc_arenas()  # as gui.app.main does
    from PySide6.QtWidgets import QApplication

    app = QApplication(["moodchords-bench"])
    memory = measure_memory(app, args.regenerations)
    samples = " · ".join(f"{count}: {mb:.0f} MB" for count, mb in memory["samples"].items())
    lines += [f"Memory (RSS of the window's process): before the window {memory['before']:.0f} MB; "
              f"all models loaded (composer, language, speech; {memory['load_s']:.1f} s) and the "
              f"synthesizer and microphone open (private PulseAudio) "
              f"{memory['after_load']:.0f} MB; after N regenerations (one chord locked, history on): "
              f"{samples}.", "",
              f"Regenerate -> shown: median {memory['regen_median_ms']:.0f} ms, "
              f"p90 {memory['regen_p90_ms']:.0f} ms.", ""]
    if not args.skip_speech:
        try:
            runs = measure_speech_to_note(app, args.utterances)
            started = [run[0] for run in runs]
            sounding = [run[1] for run in runs]
            lines += [f"End of speech -> first note, {len(runs)} spoken requests (virtual PulseAudio mic fed by "
                      "espeak-ng, button released when the speech ends; transcription + mood + composing + "
                      "MIDI write + playback). Times from timestamped recordings of the mic feed and the "
                      "speaker's monitor (goal: first note sounding < 1.0 s):", "",
                      "| measure | median s | p90 s | max s |", "|---|---|---|---|",
                      timing_row("end of speech -> playback started (play() called)", started),
                      timing_row("end of speech -> first note sounding", sounding), ""]
        except Exception as error:  # noqa: BLE001
            traceback.print_exc()
            lines += [f"End of speech -> first note not measured: {type(error).__name__}: {error}", ""]
    lines.append(f"Load average {os.getloadavg()[0]:.1f} at the end.")
    body = "\n".join(lines)
    print(body)
    write_section("Window (gui)", body, "bench/window.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
