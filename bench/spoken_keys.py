"""How well the speech model hears a spoken key at all (issue 16 item 10's ceiling).

bench/spoken_settings.py measures whole requests; most of its misses are key letters ("D minor"
heard as "B minor") that the slot re-decoding (assistant.speech_slots) cannot repair, because it asks
the same model. This bench asks how far any decoding of that model could go: every key the composer
writes (assistant.music.CONVENTIONAL_KEYS, spoken as "D flat major") in one carrier sentence, spoken by
espeak-ng (voices en-us / en-gb, rates 130 / 150 / 170), and

- as the shipped decoding hears it (the free transcript with the vocabulary prompt, the repairs and
  the slot re-decoding: what `listen` composes in);
- forced choice: the carrier sentence with each of the keys, all scored against the audio
  (Transcriber.text_logprobs); the rank of the key really said. Top-1 is the best any re-decoding
  among keys can do with this model; top-2 and top-3 say how often the right key is among the first
  alternatives a chip could offer.

Reported per model (tiny.en is shipped; base is the other installed model), with the tonic letters
confused most often.

Run: .venv/bin/python bench/spoken_keys.py                 tiny.en, writes its section of bench/RESULTS.md
     .venv/bin/python bench/spoken_keys.py --model base    the base model, in its own section
     .venv/bin/python bench/spoken_keys.py --quick         6 keys, nothing written
"""
from __future__ import annotations

from _bootstrap import ROOT  # noqa: F401  first: puts the project on sys.path, keeps the models offline

import argparse  # noqa: E402
import collections  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import machine, write_section  # noqa: E402
from bench.speech import synthesise  # noqa: E402

TITLE = "Spoken keys: what the speech model can hear (bench/spoken_keys.py)"
CARRIER = "compose a short piece in {key} for me"
VOICES = ("en-us", "en-gb")
RATES = (130, 150, 170)


def spoken_keys() -> tuple[str, ...]:
    """Every key the composer writes, as a user says it ("D flat major"), from the parser's vocabulary."""
    from assistant.speech_vocabulary import music_vocabulary

    return music_vocabulary().key_names


def key_of(text: str) -> tuple | None:
    """(key, mode) as the request parser reads them from ``text``."""
    from assistant.language import parse_settings

    settings = parse_settings(text)
    return (settings.key, settings.mode) if settings.key else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="Whisper model (default: the shipped one)")
    parser.add_argument("--quick", action="store_true", help="6 keys, nothing written")
    args = parser.parse_args()
    from assistant import speech

    engine, model = speech.DEFAULT_ENGINE, args.model or speech.DEFAULT_MODEL
    keys = spoken_keys()[:6] if args.quick else spoken_keys()
    load_start, started = os.getloadavg()[0], time.perf_counter()
    transcriber = speech.load_transcriber(engine, model)
    texts = [CARRIER.format(key=k) for k in keys]
    truth = {k: key_of(t) for k, t in zip(keys, texts)}
    free_right, ranks, seconds = 0, [], []
    confusions: collections.Counter = collections.Counter()
    rows = 0
    free_misses: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        for voice in VOICES:
            for rate in RATES:
                for key, text in zip(keys, texts):
                    audio = synthesise(text, voice, rate, Path(folder))
                    heard = transcriber.transcribe(audio).text
                    if key_of(heard) == truth[key]:
                        free_right += 1
                    else:
                        free_misses.append(f"{key!r} ({voice}, {rate}) -> {heard!r}")
                    tick = time.perf_counter()
                    scores = transcriber.text_logprobs(audio, texts)
                    seconds.append(time.perf_counter() - tick)
                    order = sorted(range(len(keys)), key=lambda i: -scores[i])
                    ranks.append([keys[i] for i in order].index(key) + 1)
                    best = keys[order[0]]
                    if best != key:
                        confusions[(key.rsplit(" ", 1)[0], best.rsplit(" ", 1)[0])] += 1  # tonics: "F sharp"
                    rows += 1
                print(f"{voice} {rate}: {rows} spoken, free {free_right}/{rows}, "
                      f"forced top-1 {sum(r == 1 for r in ranks)}/{rows}", flush=True)
    ranks_array = np.asarray(ranks)
    lines = [f"{machine()}; {engine} {model} (shipped: {speech.DEFAULT_ENGINE} {speech.DEFAULT_MODEL}); load average "
             f"{load_start:.1f} at start, {os.getloadavg()[0]:.1f} at the end; {time.perf_counter() - started:.0f} s.", "",
             f"{len(keys)} keys (every key the composer writes) in the sentence {CARRIER.format(key='<key>')!r}, spoken by "
             f"espeak-ng {'/'.join(VOICES)} at {'/'.join(map(str, RATES))} words a minute: {rows} utterances. Forced "
             f"choice: the sentence with each of the {len(keys)} keys scored against the audio "
             f"(Transcriber.text_logprobs, {np.median(seconds) * 1000:.0f} ms median for all {len(keys)}).", "",
             "| measure | keys right |", "|---|---|",
             f"| shipped decoding (free transcript, prompt, repairs, slot re-decoding) | "
             f"{free_right / rows:.1%} ({free_right}/{rows}) |"]
    for top in (1, 2, 3):
        right = int(np.sum(ranks_array <= top))
        lines.append(f"| forced choice among all keys, right key in the top {top} | {right / rows:.1%} ({right}/{rows}) |")
    lines += ["", "Tonics confused most often in the forced choice (said -> chosen: times): "
              + (", ".join(f"{a} -> {b}: {n}" for (a, b), n in confusions.most_common(8)) or "none") + "."]
    lines += ["", f"Keys the shipped decoding got wrong (the first 12 of {len(free_misses)}):", ""]
    lines += [f"- {miss}" for miss in free_misses[:12]] or ["- none"]
    text = "\n".join(lines)
    print(text)
    if not args.quick:
        shipped = model == speech.DEFAULT_MODEL
        write_section(TITLE if shipped else TITLE.replace(" (bench", f", {model} (bench"), text, "bench/spoken_keys.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
