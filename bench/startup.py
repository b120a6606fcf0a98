"""Start-up and latency of the whole pipeline (what the user waits for).

- Cold start: a fresh Python process, imports included, loading as the window does (speech first):
  time until ready to listen (speech model loaded) and until everything is loaded. Median of 3.
- End of speech -> emotion: with the speech already captured (push-to-talk: the release is the end
  of speech; hands-free adds the 0.7 s pause the VAD waits for), transcription + mood reading,
  then composing + MIDI writing: median and p90 over the espeak-ng requests of bench/speech.py.
- Memory: resident set size with every model loaded (no window, no synthesizer).
Run: .venv/bin/python bench/startup.py"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import percentile, rss_mb, write_section  # noqa: E402

COLD_START = r"""
import json, time
started = time.perf_counter()
from assistant.runtime import limit_malloc_arenas
limit_malloc_arenas()
from assistant.pipeline import Assistant
assistant = Assistant()
assistant.load(speech=True, composer=False)
listen = time.perf_counter() - started
assistant.load(speech=False, composer=True)
print(json.dumps({"listen": listen, "all": time.perf_counter() - started}))
"""


def main() -> int:
    from assistant.runtime import limit_malloc_arenas

    limit_malloc_arenas()  # as the CLI and the window do
    env = dict(os.environ, HF_HUB_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3")
    load_before = os.getloadavg()[0]
    cold = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", COLD_START], cwd=ROOT, env=env, capture_output=True, text=True,
                             check=True).stdout
        cold.append(json.loads(out.strip().splitlines()[-1]))

    os.environ.update(HF_HUB_OFFLINE="1")
    from speech import HELDOUT, REQUESTS, synthesise  # bench/speech.py's spoken requests

    from assistant.pipeline import Assistant

    with tempfile.TemporaryDirectory() as folder:
        assistant = Assistant(output_dir=Path(folder) / "midi")
        assistant.load()
        memory = rss_mb()
        voices, rates = ("en-us", "en-gb"), (130, 140, 150, 160, 170)
        texts = REQUESTS + HELDOUT
        to_emotion, to_composition = [], []
        for index, text in enumerate(texts):
            audio = synthesise(text, voices[index % 2], rates[index % len(rates)], Path(folder))
            started = time.perf_counter()
            transcript = assistant.transcribe(audio)
            mood = assistant.read_mood(transcript.text or text)
            to_emotion.append(time.perf_counter() - started)
            assistant.compose_from_text(transcript.text or text, seed=index)
            to_composition.append(time.perf_counter() - started)
    load_after = os.getloadavg()[0]

    lines = [
        f"Load average {load_before:.1f} before, {load_after:.1f} after (2 cores; other work raises the times).", "",
        "| measure | median | p90 | goal |", "|---|---|---|---|",
        f"| cold start -> ready to listen (fresh process, speech model first), 3 runs | "
        f"{statistics.median(c['listen'] for c in cold):.2f} s | {max(c['listen'] for c in cold):.2f} s (max) | < 6 s |",
        f"| cold start -> every model loaded | {statistics.median(c['all'] for c in cold):.2f} s | "
        f"{max(c['all'] for c in cold):.2f} s (max) | |",
        f"| end of speech -> emotion (transcribe + mood), {len(texts)} requests | "
        f"{statistics.median(to_emotion):.2f} s | {percentile(to_emotion, 0.9):.2f} s | < 0.8 s |",
        f"| end of speech -> composition written (+ compose, MIDI) | {statistics.median(to_composition):.2f} s | "
        f"{percentile(to_composition, 0.9):.2f} s | |",
        "", f"Resident memory with every model loaded (speech, composer, language; no window, no synthesizer): "
        f"{memory:.0f} MB. Hands-free mode adds the VAD's 0.7 s pause; push-to-talk ends at the release.",
    ]
    write_section("Start-up and latency (pipeline)", "\n".join(lines), script="bench/startup.py")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
