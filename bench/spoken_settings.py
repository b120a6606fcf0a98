"""Spoken musical settings (issue 16 item 10): do the settings read from the transcript of a spoken
request (key, mode, tempo, bars, instrument, metre, form) equal those read from its text?

Each request is spoken by espeak-ng (voices en-us / en-gb, rates 130-170), transcribed by the shipped
speech model (assistant.speech defaults) in every arm side by side in one run, and read by the
project's own request parser (assistant.language.parse_settings). Arms: no prompt at all, the
earlier generic music sentence (before the vocabulary bias), the vocabulary bias
(assistant.speech_vocabulary) with and without the repairs, and the shipped decoding, which adds the
constrained re-decoding of the settings slots (assistant.speech_slots; DecodeSettings.settings_slots). Reported per arm and per list:
the share of requests whose settings match the text's (goal >= 95 %), word error rate (goal: no
worse than without the bias), latency, and the ms the slot re-decoding adds per request.

REQUESTS is the list the bias was tuned on; HELDOUT was written before any result was looked at
and never used for tuning.

Run: .venv/bin/python bench/spoken_settings.py            writes its section of bench/RESULTS.md
     .venv/bin/python bench/spoken_settings.py --quick    6 requests per list, nothing written
     --engine openai-whisper --model base --skip-generic   another engine / model, in its own section
     --tuning-only                                         no held-out request (development runs)
"""
from __future__ import annotations

#: Tuning list: requests naming keys, tempi, instruments, bars and metre (written as a user would
#: say them; sharps and flats as words, metres as words, since espeak-ng reads "3/4" as "three slash four").
REQUESTS = [
    "play something sad in E minor",
    "a happy tune in G major at 120 bpm",
    "compose eight bars of calm piano in D minor",
    "give me a slow waltz on strings in A minor",
    "an energetic rock song on electric guitar at 140 beats per minute",
    "something dreamy in F sharp minor on a synth pad",
    "a gentle lullaby in B flat major on the harp",
    "play a dark theme in C minor at 70 bpm",
    "make a jig in D major on the fiddle",
    "sixteen bars of hopeful music in E flat major",
    "a melancholic cello piece in E minor",
    "play something bright on the marimba in C major",
    "a triumphant march for brass in B flat major at 110 bpm",
    "something mysterious in G minor on the flute",
    "a romantic ballad in A flat major on electric piano",
    "compose four bars in three four time in F major",
    "a tense cue in B minor at 150 bpm",
    "play a peaceful choir piece in D flat major",
    "a sad song in F minor on acoustic guitar",
    "a cheerful dance in six eight time at 130 bpm",
    "make it joyful in E major with a trumpet",
    "an ambient piece at 60 beats per minute on a warm pad",
    "play a lonely clarinet melody in C sharp minor",
    "something epic for the orchestra in D minor at 100 bpm",
    "a nostalgic waltz in E minor on accordion",
    "twelve bars of blues on the saxophone in G major",
    "a playful xylophone tune in F major",
    "something angry and fast in A minor on distorted guitar",
    "a soft organ chorale in C major, thirty two bars",
    "play a calm piece in B major at 80 bpm",
    "a spooky theme on the harpsichord in G sharp minor",
    "an upbeat pop loop in A major at 125 bpm",
    "write eight bars in E minor for the violin",
    "a tender lullaby in common time on the music box",
    "play something hopeful in D major on the oboe",
    "a heavy dark riff on bass guitar in E minor at 90 bpm",
    "something sleepy in F major at a slow tempo on the vibraphone",
    "a grand finale in C major on the church organ",
    "give me a bittersweet piece in B flat minor, sixteen bars",
    "play a happy waltz in G major on the piano",
    "an anxious pulsing synth track in E minor at 160 bpm",
    "a relaxed bossa on nylon guitar in D minor",
    "a sad slow tune in E minor on the cello, eight bars",
    "compose a bright fanfare in E flat major for trumpet",
]
#: Held out: written together with REQUESTS, before the first result, and never used to tune the
#: prompt, the decoding or the normaliser.
HELDOUT = [
    "I'd like something in E minor please",
    "play me a gloomy tune in C sharp minor on the organ",
    "a bouncy song in A major at 132 bpm",
    "compose twenty bars of strings in D major",
    "something wistful on the flute in E minor",
    "a cozy waltz on the accordion in F major",
    "play a fast jig on the whistle in G major",
    "a stormy piece in D minor at 150 beats per minute",
    "a calm harp melody in E flat major",
    "make an eerie theme in B minor on the celesta",
    "a joyful brass fanfare in B flat major",
    "a slow blues in E major on electric guitar",
    "a sad piano ballad in G minor, eight bars",
    "a hypnotic loop in F minor at 100 bpm",
    "something heroic in C major on the french horn",
    "a quiet piece in A flat major at 66 bpm",
    "play a tense cello line in E minor at a fast tempo",
    "a warm ballad in D flat major on the rhodes",
    "a dance tune in six eight time on the fiddle",
    "compose sixteen bars in E minor on the marimba",
    "a soothing piece in B major on a synth pad",
    "an angry riff in F sharp minor on distorted guitar at 170 bpm",
    "a march in common time for brass in G major",
    "give me something lonely in C minor on the clarinet",
]

import argparse  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import machine, write_section  # noqa: E402
from bench.speech import corpus as mood_corpus, edit_distance, normalise, synthesise  # noqa: E402

TITLE = "Spoken musical settings (bench/spoken_settings.py)"
VOICES = ("en-us", "en-gb")
RATES = (130, 145, 160, 170)
GOAL_MATCH = 0.95
#: How the shipped bias came about, printed with the results so the held-out numbers can be judged.
HISTORY = ("History: the first full run (a vocabulary-only prompt, no repairs) gave 50.0 % / 54.2 % settings "
           "equal (tuning / held-out). Then, having seen those results for both lists: the repairs (their "
           "cases all seen in the tuning list: 'E, minor', 'in the minor', 'sea major', 'be flat minor', "
           "'B, B, M', '6, 8, time') and the request-style sentence before the vocabulary (the word list "
           "alone cost mood words on the mood requests). The held-out list was not used to choose them, but it was seen, so its numbers "
           "after the first run are not fully blind. The slot re-decoding (its slot patterns, first tokens kept, "
           "scoring without the prompt, leaving out instruments) was developed on the tuning list and bench/speech.py's "
           "tuning mood requests only. Instrument slots (the heard words after on/for/with competing with the instrument "
           "names, INSTRUMENT_PRIOR_NATS = 3 chosen from the margins on the same tuning lists) were added at a later "
           "stop; the held-out lists were first run through them in the run below.")
#: the settings compared (the instrument by its GM program: "violins" and "violin" are one setting)
COMPARED = ("key", "mode", "tempo_bpm", "bars", "program", "metre", "form", "loop_bars")


def settings_of(text: str) -> dict:
    """The request's settings as the project reads them (assistant.language.parse_settings)."""
    from assistant.language import parse_settings

    settings = parse_settings(text)
    return {name: getattr(settings, name) for name in COMPARED}


def corpus(folder: Path, lists: dict[str, list[str]]) -> list[tuple[str, str, str, int, np.ndarray]]:
    """(list name, text, voice, rate, audio): voices alternate, rates cycle through RATES (the
    held-out list shifted so each text gets another pairing than its neighbour in the other list)."""
    items = []
    for shift, (name, texts) in enumerate(lists.items()):
        for i, text in enumerate(texts):
            voice, rate = VOICES[(i + shift) % len(VOICES)], RATES[(i // 2 + shift) % len(RATES)]
            items.append((name, text, voice, rate, synthesise(text, voice, rate, folder)))
    return items


def non_speech(folder: Path) -> list[tuple[str, np.ndarray]]:
    """Audio with no words that still passes the silence gate: noise, a hum, and speech played
    backwards (speech-like sound the VAD accepts) -- a biased decoder must not say its prompt there."""
    rng = np.random.default_rng(7)
    seconds = np.arange(3 * 16000) / 16000
    clips = [("white noise", (rng.standard_normal(seconds.size) * 0.1).astype(np.float32)),
             ("220 Hz hum", (0.3 * np.sin(2 * np.pi * 220 * seconds)).astype(np.float32))]
    for i, text in enumerate(("play something sad in E minor on the cello at 90 bpm",
                              "a happy waltz in G major on the piano, eight bars",
                              "give me a bittersweet piece in B flat minor")):
        clips.append((f"reversed speech {i + 1}", synthesise(text, VOICES[i % 2], 150, folder)[::-1].copy()))
    return clips


def echoes(text: str, prompt: str | None, run: int = 3) -> bool:
    """True when ``text`` holds ``run`` or more consecutive words of the prompt."""
    from assistant.speech_vocabulary import prompt_words

    if not prompt or not text:
        return False
    said, given = prompt_words(text), " " + " ".join(prompt_words(prompt)) + " "
    return any(" " + " ".join(said[i:i + run]) + " " in given for i in range(len(said) - run + 1))


@dataclass(frozen=True)
class Heard:
    """One request in one arm."""
    list_name: str       # "tuning" | "held-out"
    text: str            # what was said
    transcript: str      # what the recogniser wrote
    match: bool          # the transcript's settings equal the text's
    errors: int          # word edits (Whisper-normalised words)
    words: int           # reference words
    seconds: float       # transcription time


def run_arm(transcriber, items, decoding) -> list[Heard]:
    """Each item transcribed with ``decoding``."""
    heard = []
    for list_name, text, _voice, _rate, audio in items:
        transcript = transcriber.transcribe(audio, decoding)
        reference = normalise(text)
        heard.append(Heard(list_name, text, transcript.text, settings_of(transcript.text) == settings_of(text),
                           edit_distance(reference, normalise(transcript.text)), len(reference), transcript.seconds))
    return heard


def summary(heard: list[Heard]) -> dict:
    return {"n": len(heard), "match": sum(h.match for h in heard) / max(1, len(heard)),
            "wer": sum(h.errors for h in heard) / max(1, sum(h.words for h in heard)),
            "median_s": statistics.median(h.seconds for h in heard) if heard else float("nan")}


def key_name(text: str) -> str | None:
    """The key as the composer names it (and the key chip shows it) for the key the request parser reads
    from ``text`` ("Eb major"), or None."""
    from assistant.language import parse_settings
    from assistant.music import parse_key, real_tonic_name

    settings = parse_settings(text)
    if not settings.key or not settings.mode:
        return None
    return f"{real_tonic_name(parse_key(settings.key)[0], settings.mode, settings.key)} {settings.mode}"


def key_chip_clicks(heard: list[Heard]) -> str:
    """Of the requests whose key was heard as another key, how often the key chip's menu
    (assistant.workspace.key_choices) offers the said key first, and among its first KEY_CHOICES_FIRST."""
    from assistant.workspace import KEY_CHOICES_FIRST, key_choices

    wrong = [(key_name(h.text), key_name(h.transcript)) for h in heard]
    wrong = [(said, got) for said, got in wrong if said and got and said != got]
    offered = [[c.text for c in key_choices(*got.split())] for _said, got in wrong]
    first = sum(said == menu[0] for (said, _got), menu in zip(wrong, offered))
    early = sum(said in menu[:KEY_CHOICES_FIRST] for (said, _got), menu in zip(wrong, offered))
    return (f"{len(wrong)} requests heard in another key: the key chip offers the said key first in {first}, "
            f"among its first {KEY_CHOICES_FIRST} in {early}")


def e_minor(heard: list[Heard]) -> str:
    """How many requests saying "E minor" (both lists) were read as E minor from the transcript."""
    said = [h for h in heard if "E minor" in h.text]
    right = sum(settings_of(h.transcript)["key"] == "E" and settings_of(h.transcript)["mode"] == "minor" for h in said)
    return f"{right}/{len(said)}"


#: the shipped decoding's arm (and the one the goal is judged on)
SLOTS_ARM = "vocabulary + repair + slot re-decoding (shipped)"
#: the arm shipped before the slot re-decoding (derived from the vocabulary arm, see arms())
REPAIR_ARM = "music vocabulary + repair (before)"


def arms(speech) -> dict[str, object]:
    """The decodings compared side by side: everything else as shipped (beam, lead silence, guard).
    The arm shipped before (vocabulary + repair) is the vocabulary arm's transcript put through
    repair_settings_words, exactly what Transcriber.transcribe does after decoding, without decoding twice."""
    shipped = speech.DEFAULT_DECODING
    before = replace(shipped, settings_slots=False)
    return {"no prompt": replace(before, initial_prompt=None, hotwords=None, repair_settings=False),
            "generic sentence (before)": replace(before, initial_prompt=speech.MUSIC_PROMPT, hotwords=None,
                                                 repair_settings=False),
            "music vocabulary": replace(before, repair_settings=False),
            SLOTS_ARM: shipped}


def repaired(heard: list[Heard]) -> list[Heard]:
    """The shipped arm from the vocabulary arm: the same transcripts after repair_settings_words."""
    from assistant.speech_vocabulary import repair_settings_words

    out = []
    for h in heard:
        text = repair_settings_words(h.transcript)
        out.append(replace(h, transcript=text, match=settings_of(text) == settings_of(h.text),
                           errors=edit_distance(normalise(h.text), normalise(text))))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default=None, help="speech engine (default: the shipped one)")
    parser.add_argument("--model", default=None, help="Whisper model (default: the shipped one)")
    parser.add_argument("--quick", action="store_true", help="6 requests per list, nothing written")
    parser.add_argument("--write", action="store_true", help="write bench/RESULTS.md even for a subset")
    parser.add_argument("--tuning-only", action="store_true",
                        help="leave out the held-out lists (for development runs; nothing written)")
    parser.add_argument("--skip-generic", action="store_true",
                        help="leave out the generic-sentence arm (e.g. for the slower base model)")
    args = parser.parse_args()
    from assistant import speech

    engine, model = args.engine or speech.DEFAULT_ENGINE, args.model or speech.DEFAULT_MODEL
    count = 6 if args.quick else None
    lists = {"tuning": REQUESTS[:count], "held-out": [] if args.tuning_only else HELDOUT[:count]}
    load_start, started = os.getloadavg()[0], time.perf_counter()
    transcriber = speech.load_transcriber(engine, model)
    results: dict[str, list[Heard]] = {}
    echo_rows: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as folder:
        items = corpus(Path(folder), lists)
        clips = non_speech(Path(folder))
        # bench/speech.py's mood requests (tuning + held-out): the bias must not cost ordinary words
        moods = [("mood", text, voice, rate, audio)
                 for text, voice, rate, audio in mood_corpus(Path(folder), "tuning" if args.tuning_only else "both",
                                                             count or 100)]
        compared = arms(speech)
        if args.skip_generic:
            compared.pop("generic sentence (before)")
        # Side by side: the arms take turns per request, so load changes hit every arm alike.
        for label in compared:
            results[label] = []
        for item in items:
            for label, decoding in compared.items():
                results[label] += run_arm(transcriber, [item], decoding)
        mood_results = {label: [] for label in compared}
        for item in moods:
            for label, decoding in compared.items():
                mood_results[label] += run_arm(transcriber, [item], decoding)
        for label, decoding in compared.items():
            prompt = " ".join(t for t in (decoding.hotwords, speech.resolve_prompt(decoding.initial_prompt)) if t)
            echo_rows[label] = []
            for name, audio in clips:  # (the repair cannot add words: the vocabulary arm stands for it)
                text = transcriber.transcribe(audio, decoding).text
                echo_rows[label].append(f"{name}: {text!r}" + (" ECHOES THE PROMPT" if echoes(text, prompt) else ""))
    slots = results.pop(SLOTS_ARM), mood_results.pop(SLOTS_ARM)
    results[REPAIR_ARM] = repaired(results["music vocabulary"])
    mood_results[REPAIR_ARM] = repaired(mood_results["music vocabulary"])
    results[SLOTS_ARM], mood_results[SLOTS_ARM] = slots
    # what the slot re-decoding costs: the same request, the two arms decoding in turn
    added_ms = statistics.median((new.seconds - old.seconds) * 1000 for new, old in
                                 zip(results[SLOTS_ARM] + mood_results[SLOTS_ARM],
                                     results["music vocabulary"] + mood_results["music vocabulary"]))
    load_end = os.getloadavg()[0]
    lines = [f"{machine()}; {engine} {model} (the shipped model: {speech.DEFAULT_ENGINE} {speech.DEFAULT_MODEL}); "
             f"load average {load_start:.1f} at start, {load_end:.1f} at the end (2 cores shared with parallel "
             f"work); {time.perf_counter() - started:.0f} s.", "",
             f"{len(lists['tuning'])} tuning + {len(lists['held-out'])} held-out requests naming keys, tempi, "
             f"instruments, bars and metre; espeak-ng {'/'.join(VOICES)} at {min(RATES)}-{max(RATES)} words a "
             f"minute; each transcribed in every arm, the arms taking turns per request. Settings = "
             f"assistant.language.parse_settings ({', '.join(COMPARED)}); goal: equal to the text's in >= "
             f"{GOAL_MATCH:.0%} of requests, WER no worse than without the bias.", "",
             f"The last two columns are bench/speech.py's {len(moods)} mood requests (few settings words; the "
             "settings read from the transcript must not gain what the text does not say), the same renditions, "
             "in the same run.", "",
             "| arm | settings equal, tuning | settings equal, held-out | \"E minor\" heard as E minor "
             "| WER tuning | WER held-out | median s | WER mood requests | settings equal, mood requests |",
             "|---|---|---|---|---|---|---|---|---|"]
    for label, heard in results.items():
        tuning = summary([h for h in heard if h.list_name == "tuning"])
        held = summary([h for h in heard if h.list_name == "held-out"])
        lines.append(f"| {label} | {tuning['match']:.1%} ({round(tuning['match'] * tuning['n'])}/{tuning['n']}) "
                     f"| {held['match']:.1%} ({round(held['match'] * held['n'])}/{held['n']}) | {e_minor(heard)} "
                     f"| {tuning['wer']:.1%} "
                     f"| {held['wer']:.1%} | {summary(heard)['median_s']:.2f} | {summary(mood_results[label])['wer']:.1%} "
                     f"| {summary(mood_results[label])['match']:.1%} |")
        print(lines[-1], flush=True)
    shipped_label = SLOTS_ARM
    shipped = results[shipped_label]
    met = all(summary([h for h in shipped if h.list_name == name])["match"] >= GOAL_MATCH for name in lists)
    lines += ["", f"One-click correction, {SLOTS_ARM}: {key_chip_clicks(shipped)}."]
    lines += ["", f"Slot re-decoding: median {added_ms:.0f} ms added per request (the shipped arm's "
              f"time minus the vocabulary arm's on the same request, all {len(items) + len(moods)} requests; "
              f"goal < 300 ms on tiny.en).", "",
              f"Goal >= {GOAL_MATCH:.0%} settings equal: {'met' if met else 'NOT met'} by the shipped arm. "
              + HISTORY, "", f"Shipped prompt: {speech.resolve_prompt(speech.DEFAULT_DECODING.initial_prompt)!r}", "",
              f"Requests whose settings differ, {shipped_label}:", ""]
    lines += [f"- ({h.list_name}) {h.text!r} -> {h.transcript!r}" for h in results[shipped_label] if not h.match] or ["- none"]
    lines += ["", f"Transcripts the slot re-decoding changed ({REPAIR_ARM} -> {SLOTS_ARM}):", ""]
    lines += [f"- ({h.list_name}) {old.transcript!r} -> {h.transcript!r}: settings "
              f"{'right' if h.match else 'wrong'} (were {'right' if old.match else 'wrong'})"
              for h, old in zip(results[SLOTS_ARM] + mood_results[SLOTS_ARM], results[REPAIR_ARM] + mood_results[REPAIR_ARM])
              if h.transcript != old.transcript] or ["- none"]
    lines += ["", "Requests whose settings differ without the bias (no prompt):", ""]
    lines += [f"- ({h.list_name}) {h.text!r} -> {h.transcript!r}" for h in results["no prompt"] if not h.match] or ["- none"]
    lines += ["", "Audio without words (must stay empty, never echo the prompt):", ""]
    for label, rows in echo_rows.items():
        lines.append(f"- {label}: " + "; ".join(rows))
    text = "\n".join(lines)
    print(text)
    if (args.write or not args.quick) and not args.tuning_only:
        shipped_model = (engine, model) == (speech.DEFAULT_ENGINE, speech.DEFAULT_MODEL)
        title = TITLE if shipped_model else TITLE.replace(")", f", {engine} {model})")
        write_section(title, text, "bench/spoken_settings.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
