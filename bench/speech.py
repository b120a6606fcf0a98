"""Speech benchmark: word error rate and latency of each Whisper engine x model on spoken mood
requests (espeak-ng voices en-us / en-gb, rates 130-170), and the VAD endpointing comparison
(latency after the true end of speech, false cuts) on utterances with pauses, clean and noisy.

Run: .venv/bin/python bench/speech.py [--quick]   (writes its section of bench/RESULTS.md)
"""
from __future__ import annotations

import argparse
import datetime as _dt
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "RESULTS.md"
SECTION = "## Speech (bench/speech.py)"

REQUESTS = [
    "I want a song that expresses hope and wonder",
    "play something dark and tense",
    "make it sad and slow",
    "a calm peaceful piano piece",
    "give me an energetic happy tune for a summer morning",
    "something melancholic, like rain on a window",
    "I need triumphant music for the final scene",
    "write a gentle lullaby in D major",
    "make it angry and fast with heavy drums",
    "a dreamy relaxing progression at seventy beats per minute",
    "play a mysterious theme in a minor key",
    "I feel lonely tonight, give me something nostalgic",
    "an uplifting anthem that builds to a big chorus",
    "compose eight bars of soft romantic strings",
    "something playful and bouncy for a cartoon",
    "make the chords brighter and more joyful",
    "a tense suspenseful cue for a thriller",
    "play something warm and cozy on an electric piano",
    "I want sad chords that slowly turn hopeful",
    "give me a calm ambient pad for meditation",
    "an excited celebration song in G major",
    "make it darker and a little slower",
    "a bittersweet ballad about leaving home",
    "play a heroic adventurous melody with brass",
]
VOICES = ("en-us", "en-gb")
RATES = (130, 145, 160, 170)
MODEL_GRID = [("openai-whisper", "tiny.en"), ("faster-whisper", "tiny.en"),
              ("openai-whisper", "base"), ("faster-whisper", "base")]


# --------------------------------------------------------------------------------- WER
_NUMBER_WORDS = {"seventy": "70", "eight": "8"}


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation (apostrophes dropped inside words, hyphens split words)."""
    text = text.lower().replace("'", "").replace("’", "")
    words = re.sub(r"[^a-z0-9]+", " ", text).split()
    return [_NUMBER_WORDS.get(w, w) for w in words]


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance over words (substitutions, insertions, deletions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise(reference), normalise(hypothesis)
    return edit_distance(ref, hyp) / max(1, len(ref))


# --------------------------------------------------------------------------------- audio
def synthesise(text: str, voice: str, rate: int, folder: Path) -> np.ndarray:
    from assistant.audio import load_audio_file

    wav = folder / f"{abs(hash((text, voice, rate)))}.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-w", str(wav), text], check=True, capture_output=True)
    return load_audio_file(wav)  # espeak-ng writes 22050 Hz; ffmpeg resamples to 16 kHz


def corpus(folder: Path, count: int) -> list[tuple[str, str, int, np.ndarray]]:
    items = []
    for i, text in enumerate(REQUESTS[:count]):
        voice, rate = VOICES[i % len(VOICES)], RATES[(i // 2) % len(RATES)]
        items.append((text, voice, rate, synthesise(text, voice, rate, folder)))
    return items


# --------------------------------------------------------------------------------- transcription
def bench_transcription(items, grid) -> list[dict]:
    from assistant import speech

    rows = []
    for engine, model in grid:
        started = time.perf_counter()
        transcriber = speech.load_transcriber(engine, model)
        load_s = time.perf_counter() - started
        transcriber.transcribe(items[0][3])  # warm-up (first call allocates)
        edits = words = 0
        latencies, failures = [], []
        for text, voice, rate, audio in items:
            transcript = transcriber.transcribe(audio)
            e = edit_distance(normalise(text), normalise(transcript.text))
            edits += e
            words += len(normalise(text))
            latencies.append(transcript.seconds)
            if e:
                failures.append(f"{text!r} -> {transcript.text!r}")
        rows.append({"engine": engine, "model": model, "wer": edits / words, "load_s": load_s,
                     "median_s": statistics.median(latencies),
                     "p90_s": sorted(latencies)[int(0.9 * (len(latencies) - 1))],
                     "rtf": statistics.median(t / (len(a) / 16000) for t, (*_, a) in zip(latencies, items)),
                     "failures": failures})
        print(f"{engine:15s} {model:8s} WER {rows[-1]['wer']:.1%}  median {rows[-1]['median_s']:.2f} s", flush=True)
    return rows


# --------------------------------------------------------------------------------- VAD
def _true_end(signal: np.ndarray, threshold: float = 0.01) -> float:
    loud = np.flatnonzero(np.abs(signal) > threshold)
    return (loud[-1] + 1) / 16000


def _trim(audio: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(audio) > threshold)
    return audio[loud[0]:loud[-1] + 1]


def bench_vad(folder: Path, count: int) -> dict:
    """Two phrases with a pause between them (0.25-0.5 s: shorter than the 0.7 s endpoint),
    0.5 s lead-in, 2.5 s tail; clean and with white noise at 20 dB SNR and hum+noise at 10 dB SNR."""
    from assistant.vad import DETECTORS, find_endpoint, make_endpointer

    rng = np.random.default_rng(7)
    cases = []
    for i, text in enumerate(REQUESTS[:count]):
        words = text.split()
        half = max(1, len(words) // 2)
        voice, rate = VOICES[i % 2], RATES[i % len(RATES)]
        first = _trim(synthesise(" ".join(words[:half]), voice, rate, folder))
        second = _trim(synthesise(" ".join(words[half:]), voice, rate, folder))
        pause = np.zeros(int(16000 * (0.25 + 0.25 * (i % 3) / 2)), np.float32)
        clean = np.concatenate([np.zeros(8000, np.float32), first, pause, second, np.zeros(40000, np.float32)])
        end = _true_end(clean)
        power = np.mean(np.square(np.concatenate([first, second])))
        t = np.arange(clean.size) / 16000
        white = rng.standard_normal(clean.size).astype(np.float32) * np.sqrt(power / 10 ** (20 / 10))
        hum = (np.sin(2 * np.pi * 50 * t) + 0.5 * np.sin(2 * np.pi * 150 * t)).astype(np.float32)
        hum *= np.sqrt(power / 10 ** (10 / 10) / np.mean(np.square(hum))) * 0.7
        hum += rng.standard_normal(clean.size).astype(np.float32) * np.sqrt(power / 10 ** (10 / 10)) * 0.3
        for condition, signal in (("clean", clean), ("white noise 20 dB SNR", clean + white),
                                  ("hum + noise 10 dB SNR", clean + hum)):
            cases.append((condition, np.clip(signal, -1, 1).astype(np.float32), end))
    results = {}
    for detector in DETECTORS:
        for condition in dict.fromkeys(c for c, *_ in cases):
            latencies, cuts, misses = [], 0, 0
            for c, signal, end in cases:
                if c != condition:
                    continue
                endpoint = find_endpoint(signal, detector, silence_s=0.7)
                if endpoint is None:
                    misses += 1
                elif endpoint < end:
                    cuts += 1
                else:
                    latencies.append(endpoint - end)
            results[(detector, condition)] = {
                "n": sum(1 for c, *_ in cases if c == condition), "cuts": cuts, "misses": misses,
                "median_s": statistics.median(latencies) if latencies else float("nan"),
                "max_s": max(latencies) if latencies else float("nan")}
        endpointer = make_endpointer(detector)
        frame = cases[0][1][:512]
        started = time.perf_counter()
        for _ in range(200):
            endpointer.is_speech(frame)
        results[(detector, "cost")] = (time.perf_counter() - started) / 200 * 1000
    return results


# --------------------------------------------------------------------------------- report
def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} cores, load average {load:.1f} at start"


def write_section(text: str) -> None:
    existing = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(existing):
        updated = pattern.sub(lambda _: text.rstrip() + "\n\n", existing)
    else:
        updated = existing.rstrip() + "\n\n" + text.rstrip() + "\n"
    tmp = RESULTS.with_suffix(".md.tmp")
    tmp.write_text(updated)
    os.replace(tmp, RESULTS)


def report(rows, vad, machine, count, started) -> str:
    from assistant import speech
    from assistant.vad import DEFAULT_DETECTOR, DETECTORS

    lines = [SECTION, "",
             f"{_dt.date.today().isoformat()}; {machine}; {count} espeak-ng requests "
             f"(voices {'/'.join(VOICES)}, rates {min(RATES)}-{max(RATES)} wpm), 16 kHz; "
             f"torch/CTranslate2 threads = {max(1, min(4, (os.cpu_count() or 1) // 2))}; "
             f"took {time.perf_counter() - started:.0f} s.", "",
             "| engine | model | WER | latency median (s) | p90 (s) | real-time factor | load (s) |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['engine']} | {r['model']} | {r['wer']:.1%} | {r['median_s']:.2f} | {r['p90_s']:.2f} "
                     f"| {r['rtf']:.2f} | {r['load_s']:.1f} |")
    lines += ["", "Latency = audio in -> text (Transcript.seconds, after a warm-up call). WER = word edits / "
              "reference words after lower-casing and stripping punctuation.", ""]
    for r in rows:
        if r["failures"]:
            lines.append(f"- {r['engine']} {r['model']} errors: " + "; ".join(r["failures"][:6]))
    lines += ["", "VAD endpointing (silence_s = 0.7; two phrases with a 0.25-0.5 s pause; latency = endpoint "
              "- true end of speech; a cut = endpoint before the true end):", "",
              "| detector | condition | utterances | false cuts | never ended | latency median (s) | max (s) |",
              "|---|---|---|---|---|---|---|"]
    for detector in DETECTORS:
        for (d, condition), v in vad.items():
            if d == detector and condition != "cost":
                lines.append(f"| {d} | {condition} | {v['n']} | {v['cuts']} | {v['misses']} | {v['median_s']:.2f} "
                             f"| {v['max_s']:.2f} |")
    lines.append("")
    lines.append("Cost per 32 ms frame: " + ", ".join(f"{d} {vad[(d, 'cost')]:.2f} ms" for d in DETECTORS) + ".")
    default = next((r for r in rows if r["engine"] == speech.DEFAULT_ENGINE and r["model"] == speech.DEFAULT_MODEL), None)
    lines.append("")
    lines.append(f"Defaults in use: engine {speech.DEFAULT_ENGINE}, model {speech.DEFAULT_MODEL}, "
                 f"VAD {DEFAULT_DETECTOR}.")
    if default:
        lines.append(f"End of speech -> text with the defaults: transcription median {default['median_s']:.2f} s "
                     f"(+ the endpoint wait of silence_s = 0.7 s in hands-free mode, 0 with push-to-talk).")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="8 requests, tiny.en only (a smoke run)")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    machine = _machine()
    count = 8 if args.quick else len(REQUESTS)
    grid = [g for g in MODEL_GRID if not args.quick or g[1] == "tiny.en"]
    with tempfile.TemporaryDirectory(prefix="moodchords-bench-speech-") as tmp:
        folder = Path(tmp)
        vad = bench_vad(folder, min(count, 12))
        for (d, c), v in vad.items():
            if c != "cost":
                print(f"VAD {d:7s} {c:24s} cuts {v['cuts']} misses {v['misses']} median {v['median_s']:.2f} s", flush=True)
        items = corpus(folder, count)
        rows = bench_transcription(items, grid)
    text = report(rows, vad, machine, count, started)
    if not args.quick:
        write_section(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
