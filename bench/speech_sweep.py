"""Speech recogniser sweep (experiments behind assistant/speech.py's decoding defaults): audio front
ends, N-best rescoring with a generic domain language model, ensembles, on the espeak-ng requests
of bench/speech.py. Everything is CHOSEN on the tuning set (REQUESTS); the held-out set (HELDOUT)
is only reported beside it.

Run: nice -n 15 .venv/bin/python bench/speech_sweep.py [--set both|tuning|heldout|ext|ext-heldout] WHAT...
  WHAT = baseline                     the Transcriber's default decoding
         front:NAME[+NAME...]         a front end (FRONT_ENDS) before the Transcriber
         nbest:FRONT:BEAM:N           N-best lists (saved to $TMPDIR/moodchords-speech-nbest/), top-1 and oracle WER
         rescore:nbest:FRONT:BEAM:N   rescoring of saved lists with the generic domain bigram LM, a grid
  --set ext = the 24 tuning sentences in both voices x all four rates (192 utterances): choices are
  made there (far less noisy than 24 utterances), the bench pairing of HELDOUT is only reported.
Audio is synthesised once and cached in $TMPDIR/moodchords-speech-sweep*.npz.

Findings (faster-whisper tiny.en int8, 1 thread; WER tuning / held-out / all on the bench's 40):
  baseline (default of the time)   23.6 / 20.7 / 22.4 %     ext tuning 19.2 %
  lead silence 0.5 s               13.5 / 16.5 / 14.7 %     ext tuning 15.7 %  (0.3 s 18.6 %, 1.0 s 18.9 %)
  silence 0.5 s both ends          16.9 / 15.7 / 16.4 %;  tail only 18.0 / 25.6 / 21.1 %
  high-pass 100 Hz                 15.7 / 16.5 / 16.1 %     ext tuning 19.6 % (noise: 60 Hz 20.1 %, 150 Hz 20.4 %)
  high-pass 100 Hz + lead 0.5 s    19.1 / 15.7 / 17.7 %     ext tuning 18.7 %
  peak 0.5 / RMS -20 dBFS          20.2 / 20.7 / 20.4 %;  22.5 / 24.8 / 23.4 %
  trim silence                     23.0 / 22.3 / 22.7 %
  ffmpeg atempo 0.95 / 0.9 / 0.85  23.0 / 20.7 / 22.1 %;  21.9 / 23.1 / 22.4 %;  28.7 / 21.5 / 25.8 %
  resample slower 1.05 / 1.1 / 0.9 18.0 / 16.5 / 17.4 %;  20.8 / 17.4 / 19.4 %;  32.6 / 35.5 / 33.8 %
  white noise 40 dB / lowpass 4k   21.9 / 20.7 / 21.4 %;  23.6 / 27.3 / 25.1 %
  N-best (beam 5, 5 hyps) + lead 0.5 s, ext tuning: top-1 15.7 %, oracle 12.7 %; rescored with
  the generic domain bigram LM at best 15.0 % (OOV -12, per-word average, lambda 0.1) and worse
  for larger weights: not kept (the lists differ mostly in punctuation).
Kept: DecodeSettings.lead_silence_s = 0.5 (assistant/speech.py).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.speech import HELDOUT, REQUESTS, corpus, edit_distance, normalise  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "moodchords-speech-sweep.npz"
NBEST_DIR = Path(tempfile.gettempdir()) / "moodchords-speech-nbest"
SR = 16000


def items():
    if CACHE.exists():
        data = np.load(CACHE, allow_pickle=True)
        return list(data["items"])
    with tempfile.TemporaryDirectory() as tmp:
        got = corpus(Path(tmp), "both", max(len(REQUESTS), len(HELDOUT)))
    np.savez(CACHE, items=np.array(got, dtype=object))
    return got


EXT_CACHE = Path(tempfile.gettempdir()) / "moodchords-speech-sweep-ext.npz"


def ext_items(which="tuning"):
    """More acoustic variety for choosing (less noise than 24 utterances): every sentence of the
    set in both voices x all four rates (8 renditions)."""
    from bench.speech import RATES, VOICES, synthesise

    cache = EXT_CACHE.with_name(EXT_CACHE.stem + f"-{which}.npz")
    if cache.exists():
        return list(np.load(cache, allow_pickle=True)["items"])
    texts = REQUESTS if which == "tuning" else HELDOUT
    with tempfile.TemporaryDirectory() as tmp:
        got = [(t, v, r, synthesise(t, v, r, Path(tmp))) for t in texts for v in VOICES for r in RATES]
    np.savez(cache, items=np.array(got, dtype=object))
    return got


# --------------------------------------------------------------------------------- front ends
def ffmpeg_filter(audio: np.ndarray, filt: str) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-v", "error", "-f", "f32le", "-ar", str(SR), "-ac", "1", "-i", "pipe:0",
                          "-af", filt, "-f", "f32le", "-ar", str(SR), "-ac", "1", "pipe:1"],
                         input=audio.astype(np.float32).tobytes(), capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.float32).copy()


def peak_norm(audio, peak=0.5):
    m = np.abs(audio).max()
    return audio * (peak / m) if m > 0 else audio


def rms_norm(audio, dbfs=-20.0):
    rms = np.sqrt(np.mean(audio ** 2))
    return np.clip(audio * (10 ** (dbfs / 20) / rms), -1, 1) if rms > 0 else audio


def pad(audio, lead=0.5, tail=0.5):
    return np.concatenate([np.zeros(int(lead * SR), np.float32), audio, np.zeros(int(tail * SR), np.float32)])


def trim(audio, threshold=0.01, margin=0.1):
    loud = np.flatnonzero(np.abs(audio) > threshold * np.abs(audio).max())
    if loud.size == 0:
        return audio
    m = int(margin * SR)
    return audio[max(0, loud[0] - m): loud[-1] + m]


def resample_slow(audio, factor):
    """Play `factor` times slower (and lower): resample to factor x the samples, keep 16 kHz."""
    from scipy.signal import resample_poly

    up = int(round(factor * 100))
    return resample_poly(audio, up, 100).astype(np.float32)


def highpass(audio, hz=100):
    from scipy.signal import butter, sosfilt

    return sosfilt(butter(4, hz, "highpass", fs=SR, output="sos"), audio).astype(np.float32)


def fft_highpass(audio, hz=100.0, ramp=0.5):
    """Zero-phase high-pass in the frequency domain: gain 0 below ramp*hz, raised cosine up to hz."""
    spectrum = np.fft.rfft(audio)
    freqs = np.fft.rfftfreq(audio.size, 1 / SR)
    low = ramp * hz
    gain = np.clip((freqs - low) / (hz - low), 0, 1)
    gain = 0.5 - 0.5 * np.cos(np.pi * gain)
    return np.fft.irfft(spectrum * gain, audio.size).astype(np.float32)


def add_noise(audio, snr_db=40, seed=0):
    rng = np.random.default_rng(seed)
    power = np.mean(audio ** 2)
    return (audio + rng.standard_normal(audio.size).astype(np.float32) * np.sqrt(power / 10 ** (snr_db / 10))).astype(np.float32)


FRONT_ENDS = {
    "none": lambda a: a,
    "peak0.5": lambda a: peak_norm(a, 0.5),
    "peak0.95": lambda a: peak_norm(a, 0.95),
    "rms-20": lambda a: rms_norm(a, -20),
    "rms-30": lambda a: rms_norm(a, -30),
    "pad0.5": lambda a: pad(a, 0.5, 0.5),
    "pad1.0": lambda a: pad(a, 1.0, 1.0),
    "pad0.25": lambda a: pad(a, 0.25, 0.25),
    "lead0.5": lambda a: pad(a, 0.5, 0.0),
    "tail0.5": lambda a: pad(a, 0.0, 0.5),
    "lead0.3": lambda a: pad(a, 0.3, 0.0),
    "lead1.0": lambda a: pad(a, 1.0, 0.0),
    "hp60": lambda a: highpass(a, 60),
    "dc": lambda a: a - a.mean(),
    "fhp100": lambda a: fft_highpass(a, 100),
    "fhp150": lambda a: fft_highpass(a, 150),
    "hp150": lambda a: highpass(a, 150),
    "hp200": lambda a: highpass(a, 200),
    "hp300": lambda a: highpass(a, 300),
    "trim": trim,
    "hp100": lambda a: highpass(a, 100),
    "atempo0.95": lambda a: ffmpeg_filter(a, "atempo=0.95"),
    "atempo0.9": lambda a: ffmpeg_filter(a, "atempo=0.9"),
    "atempo0.85": lambda a: ffmpeg_filter(a, "atempo=0.85"),
    "atempo1.1": lambda a: ffmpeg_filter(a, "atempo=1.1"),
    "slow1.05": lambda a: resample_slow(a, 1.05),
    "slow1.1": lambda a: resample_slow(a, 1.1),
    "slow1.2": lambda a: resample_slow(a, 1.2),
    "fast0.9": lambda a: resample_slow(a, 0.9),
    "noise40": lambda a: add_noise(a, 40),
    "noise30": lambda a: add_noise(a, 30),
    "lowpass4k": lambda a: ffmpeg_filter(a, "lowpass=f=4000"),
}


# --------------------------------------------------------------------------------- domain LM
import math  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402

NUMBER_WORDS = frozenset("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                         "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy "
                         "eighty ninety hundred".split())


def lm_words(text: str) -> list[str]:
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return ["<num>" if w.isdigit() or w in NUMBER_WORDS else w for w in words]


def vocabulary():
    """Slot fillers from the project's own generic lists (none written for the benchmark)."""
    from assistant import affect, keywords, language

    moods = list(affect.load_affect_norms().words)
    instruments = sorted(set(language.INSTRUMENT_PROGRAMS) | {
        re.sub(r"\s*\(.*\)|\s*\d+$", "", n).lower() for n in language.GM_PROGRAM_NAMES})
    tempos = list(language.TEMPO_WORDS)
    things = list(affect.load_non_mood_words())
    nouns = sorted(keywords.REQUEST_WORDS & set(
        "song songs tune tunes track tracks piece pieces music melody melodies chord chords progression "
        "progressions composition rhythm harmony".split()))
    return dict(mood=moods, instrument=instruments, tempo=tempos, thing=things, noun=nouns)


NOTES = [f"{n}{a}" for n in "ABCDEFG" for a in ("", " sharp", " flat")]
#: Generic request frames (how people ask a composing assistant for music), filled at random.
TEMPLATES = [
    "{open} {det} {mood} {noun}", "{open} something {mood}", "{open} something {mood} and {mood}",
    "make it {mood}", "make it {mood} and {mood}", "make it more {mood}", "make it a little more {mood}",
    "{det} {mood} {noun}", "{det} {mood} {mood} {noun}", "{det} {mood} and {mood} {noun}",
    "{open} {det} {mood} {noun} on {det} {instrument}", "{open} {det} {mood} {noun} with {instrument}",
    "{open} something {mood} on {det} {instrument}", "{det} {mood} {instrument} {noun}",
    "{open} {det} {mood} {noun} in {key}", "{det} {mood} {noun} in {key}", "{open} something in {key}",
    "{open} {det} {mood} {noun} at {num} beats per minute", "{det} {mood} {noun} at {num} bpm",
    "{open} {num} bars of {mood} {instrument}", "{open} {num} bars of {mood} {noun}",
    "{open} {det} {mood} {noun} for {det} {thing}", "something {mood} for {det} {thing}",
    "{det} {mood} {noun} about {det} {thing}", "something {mood} like {det} {thing}",
    "I feel {mood}", "I am feeling {mood}, {open} something {mood}", "I feel {mood} today, {open} {det} {mood} {noun}",
    "{open} {det} {tempo} {mood} {noun}", "make it {tempo}", "make it {tempo} and {mood}",
    "make the {noun} {mood}", "{open} {det} {mood} {noun} that {verb} {mood}",
    "{open} {det} {mood} {noun} with {det} {mood} {instrument}",
]
FILL = dict(
    open=["play", "play me", "give me", "write", "compose", "make", "create", "I want", "I need", "I would like",
          "could you play", "can you write", "please play", "let's hear"],
    det=["a", "an", "the", "some", "my"],
    verb=["sounds", "feels", "gets", "turns", "becomes", "stays"],
)


def domain_sentences(count=30000, seed=0):
    rng = random.Random(seed)
    vocab = {**vocabulary(), **FILL}
    vocab["key"] = [f"{n} {m}" for n in NOTES for m in ("major", "minor")] + ["a minor key", "a major key"]
    vocab["num"] = ["<num>"]
    out = []
    for _ in range(count):
        template = rng.choice(TEMPLATES)
        out.append(re.sub(r"\{(\w+)\}", lambda m: rng.choice(vocab[m.group(1)]), template))
    return out


class BigramLM:
    """Interpolated Kneser-Ney word bigram over lm_words(); unseen words get `oov` (log prob)."""

    def __init__(self, sentences, discount=0.75, oov=-12.0):
        from collections import Counter, defaultdict

        self.d, self.oov = discount, oov
        bigrams = Counter()
        for s in sentences:
            words = ["<s>"] + lm_words(s) + ["</s>"]
            bigrams.update(zip(words, words[1:]))
        self.bigram = bigrams
        self.history = Counter()
        self.followers = Counter()
        preceders = Counter()
        for (u, w), c in bigrams.items():
            self.history[u] += c
            self.followers[u] += 1
            preceders[w] += 1
        total = sum(preceders.values())
        self.cont = {w: n / total for w, n in preceders.items()}

    def word_logprob(self, u, w):
        cont = self.cont.get(w)
        if cont is None:
            return self.oov
        h = self.history.get(u, 0)
        if not h:
            return math.log(cont)
        p = max(self.bigram.get((u, w), 0) - self.d, 0) / h + self.d * self.followers[u] / h * cont
        return math.log(p)

    def logprob(self, text):
        words = ["<s>"] + lm_words(text) + ["</s>"]
        return sum(self.word_logprob(u, w) for u, w in zip(words, words[1:]))


# --------------------------------------------------------------------------------- N-best
class NBest:
    """N-best lists from faster-whisper's CTranslate2 model (same prompt and suppression as
    faster_whisper.transcribe with our settings)."""

    def __init__(self, transcriber):
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_suppressed_tokens

        self.fw = transcriber._backend.model
        self.tok = Tokenizer(self.fw.hf_tokenizer, self.fw.model.is_multilingual, task="transcribe", language="en")
        self.suppress = list(get_suppressed_tokens(self.tok, [-1]))

    def prompt(self, text):
        before = [self.tok.sot_prev] + self.tok.encode(" " + text.strip()) if text else []
        return before + list(self.tok.sot_sequence) + [self.tok.no_timestamps]

    def encode(self, audio):
        from faster_whisper.audio import pad_or_trim

        features = self.fw.feature_extractor(audio)
        return self.fw.encode(pad_or_trim(features[:, : features.shape[-1] - 1]))

    def decode(self, encoded, prompt_text, beam=5, n=5, patience=1.0, **kw):
        result = self.fw.model.generate(
            encoded, [self.prompt(prompt_text)], beam_size=beam, patience=patience, num_hypotheses=n,
            length_penalty=1.0, return_scores=True, return_no_speech_prob=True, suppress_blank=True,
            suppress_tokens=self.suppress, max_length=448, **kw)[0]
        return [(self.tok.decode(ids).strip(), float(score) * len(ids), len(ids))
                for ids, score in zip(result.sequences_ids, result.scores)]


def collect_nbest(transcriber, data, front, beam, n, prompt_text):
    from assistant import speech

    nb = NBest(transcriber)
    out = []
    for text, voice, rate, audio in data:
        started = time.perf_counter()
        enc = nb.encode(front(audio).astype(np.float32))
        hyps = nb.decode(enc, prompt_text, beam, n)
        top = hyps[0][0]
        guarded = False
        if prompt_text and (speech._looks_looped(top) or speech._compression_ratio(top) > speech.COMPRESSION_THRESHOLD
                            or speech._parrots(top, prompt_text)):
            hyps = nb.decode(enc, None, beam, n)
            guarded = True
        out.append(dict(text=text, hyps=hyps, seconds=time.perf_counter() - started, guarded=guarded))
    return out


def dedupe(hyps):
    """Best-scored hypothesis per distinct word sequence."""
    seen, out = set(), []
    for h in sorted(hyps, key=lambda h: -h[1]):
        key = tuple(lm_words(h[0]))
        if key not in seen:
            seen.add(key)
            out.append(h)
    return out


def rescore_rows(lists, lm, weight, mode="sum", word_bonus=0.0):
    rows = []
    for entry in lists:
        hyps = dedupe(entry["hyps"])
        if mode == "sum":
            key = lambda h: h[1] + weight * lm.logprob(h[0]) + word_bonus * len(lm_words(h[0]))  # noqa: E731
        else:  # per-token average whisper score, LM per word
            key = lambda h: h[1] / (h[2] + 1) + weight * lm.logprob(h[0]) / (len(lm_words(h[0])) + 1)  # noqa: E731
        best = max(hyps, key=key) if weight or word_bonus else entry["hyps"][0]
        rows.append((entry["text"], best[0], entry["seconds"]))
    return rows


def oracle_rows(lists):
    rows = []
    for entry in lists:
        ref = normalise(entry["text"])
        best = min(entry["hyps"], key=lambda h: edit_distance(ref, normalise(h[0])))
        rows.append((entry["text"], best[0], entry["seconds"]))
    return rows


# --------------------------------------------------------------------------------- scoring
def score(rows, label):
    """rows: (text, hypothesis, seconds). Prints and returns WER tuning / held-out / all, median s."""
    edits = {"tuning": [0, 0], "heldout": [0, 0]}
    failures = []
    for text, hyp, _ in rows:
        ref = normalise(text)
        e = edit_distance(ref, normalise(hyp))
        part = edits["heldout" if text in HELDOUT else "tuning"]
        part[0] += e
        part[1] += len(ref)
        if e:
            failures.append((text, hyp))
    wer = {k: v[0] / max(1, v[1]) for k, v in edits.items()}
    wer["all"] = sum(v[0] for v in edits.values()) / sum(v[1] for v in edits.values())
    wer["median_s"] = statistics.median(s for *_, s in rows)
    print(f"{label:44s} tuning {wer['tuning']:6.1%}  held-out {wer['heldout']:6.1%}  all {wer['all']:6.1%}  "
          f"median {wer['median_s']:.2f} s  load {os.getloadavg()[0]:.1f}", flush=True)
    return wer, failures


def run_transcriber(transcriber, data, decoding=None, front=lambda a: a):
    rows = []
    for text, voice, rate, audio in data:
        started = time.perf_counter()
        processed = front(audio)
        t = transcriber.transcribe(processed, decoding)
        rows.append((text, t.text, time.perf_counter() - started))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", nargs="*", default=["baseline"])
    parser.add_argument("--set", choices=("tuning", "heldout", "both", "ext", "ext-heldout"), default="both")
    parser.add_argument("--model", default="tiny.en")
    parser.add_argument("--show", action="store_true", help="print the failures")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from assistant import speech

    data = items()
    if args.set.startswith("ext"):
        data = ext_items("tuning" if args.set == "ext" else "heldout")
    elif args.set != "both":
        data = [d for d in data if (d[0] in HELDOUT) == (args.set == "heldout")]
    transcriber = speech.load_transcriber("faster-whisper", args.model, threads=1)
    for what in args.what:
        if what == "baseline":
            wer, fails = score(run_transcriber(transcriber, data), "baseline (default decoding)")
        elif what.startswith("front:"):
            names = what[6:].split("+")
            fns = [FRONT_ENDS[n] for n in names]

            def front(a, fns=fns):
                for f in fns:
                    a = f(a)
                return a.astype(np.float32)
            wer, fails = score(run_transcriber(transcriber, data, front=front), f"front end {'+'.join(names)}")
        elif what.startswith("nbest:"):  # nbest:FRONT:BEAM:N[:noprompt]
            parts = what.split(":")
            names, beam, n = parts[1].split("+"), int(parts[2]), int(parts[3])
            prompt_text = None if "noprompt" in parts else speech.MUSIC_PROMPT
            fns = [FRONT_ENDS[x] for x in names]

            def front(a, fns=fns):
                for f in fns:
                    a = f(a)
                return a
            lists = collect_nbest(transcriber, data, front, beam, n, prompt_text)
            NBEST_DIR.mkdir(exist_ok=True)
            (NBEST_DIR / f"{what.replace(':', '_')}.json").write_text(json.dumps(lists))
            wer, fails = score(rescore_rows(lists, None, 0.0), f"{what} top-1")
            score(oracle_rows(lists), f"{what} oracle")
        elif what.startswith("rescore:"):  # rescore:NAME  (a saved N-best file)
            lists = json.loads((NBEST_DIR / f"{what[8:].replace(':', '_')}.json").read_text())
            lm = BigramLM(domain_sentences())
            score(rescore_rows(lists, lm, 0.0), f"{what} top-1")
            for oov in (-6.0, -9.0, -12.0):
                lm.oov = oov
                for mode in ("sum", "avg"):
                    for weight in ((0.05, 0.1, 0.2, 0.3, 0.5) if mode == "sum" else (0.1, 0.2, 0.3, 0.5, 1.0)):
                        score(rescore_rows(lists, lm, weight, mode), f"  oov {oov} {mode} lambda {weight}")
            fails = []
        else:
            raise SystemExit(f"unknown {what}")
        if args.show:
            for text, hyp in fails:
                print(f"    {text!r} -> {hyp!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
