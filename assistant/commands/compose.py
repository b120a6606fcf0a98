"""``moodchords compose``: a chord progression for an emotion (or a sentence), as MIDI."""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tempfile
from pathlib import Path

from assistant.errors import InvalidInput
from assistant.mood import TEMPO_RANGE

_TEMPO_ALLOWED = f"{TEMPO_RANGE[0]:g}..{TEMPO_RANGE[1]:g} BPM"

EXAMPLES = """examples:
  moodchords compose --emotion Q1=0.7,Q4=0.3 -o hopeful.mid
  moodchords compose --emotion Q3 --key "D minor" --tempo 70 --bars 16 -o sad.mid --json
  moodchords compose "make it sad and slow" -o sad.mid
  moodchords compose "a gentle waltz" --intensity 0.9 --form loop --loop-bars 2 -o waltz.mid
  moodchords compose "a sad song" --metre 6/8 --key "Bb minor" --json
  moodchords compose "a calm evening" --instrument strings     # or --instrument 49, "string ensemble 1"

  moodchords compose speech.wav -o out.mid   # an audio file: transcribed, then composed (as listen does)

Explicit settings win: flags first, then the request's words, then the mood's defaults;
--json says for each setting its value and its source (flag, request or mood).
TEXT (or an audio file) together with --emotion: the --emotion weights replace the mood read from
the words, whose settings (tempo, key, instrument ...) still apply; a one-line notice says so.
"""


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "compose", help="compose a chord progression for an emotion and write it as MIDI",
        description="Compose a chord progression for a mixture of emotion classes (or a sentence "
                    "describing a mood) and write it as a Standard MIDI File.",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("text", nargs="?", metavar="TEXT",
                        help="a mood in words, e.g. \"make it sad and slow\" (read by the language model), "
                             "or an existing audio file (wav, mp3, flac, ogg, m4a, ...) with a spoken request: "
                             "it is transcribed, then composed, as listen does")
    parser.add_argument("--emotion", "-e", metavar="WEIGHTS",
                        help="emotion class weights, e.g. Q1=0.7,Q4=0.3, or one class name such as Q3")
    parser.add_argument("-o", "--output", metavar="FILE.mid", help="MIDI file to write (default: none)")
    # Numbers are taken as text and checked here, so that a bad value gives one clear line.
    parser.add_argument("--bars", metavar="N", help="length in bars, 1..256 (default 8)")
    parser.add_argument("--key", metavar="KEY", help="key, e.g. D, F#m, \"Bb minor\" (default: chosen by the model)")
    parser.add_argument("--mode", metavar="MODE", help="major or minor (default: from --key or the model)")
    parser.add_argument("--tempo", metavar="BPM", help=f"tempo {_TEMPO_ALLOWED} (default: from the emotion)")
    parser.add_argument("--intensity", metavar="X",
                        help="how clearly the mood is played, 0 (subtle) .. 1 (unmistakable) (default 0.5)")
    parser.add_argument("--metre", "--meter", dest="metre", metavar="METRE",
                        help="time signature: 4/4, 3/4 or 6/8 (default: from the request, else 4/4)")
    parser.add_argument("--form", metavar="FORM",
                        help="through (through-composed) or loop (a short progression repeated with variation); "
                             "default: from the request, else through")
    parser.add_argument("--loop-bars", metavar="N", help="loop form: bars of the repeated progression, 2 or 4 (default 4)")
    parser.add_argument("--seed", metavar="N", help="random seed (same seed, same result)")
    parser.add_argument("--temperature", metavar="T", default="1.0",
                        help="sampling temperature 0.05..10; lower is safer, higher more adventurous (default 1.0)")
    parser.add_argument("--instrument", "-i", metavar="N|NAME",
                        help="General MIDI instrument of the chords: its GM number 1..128 as in GM manuals and "
                             "the window (1 Acoustic Grand Piano, 49 String Ensemble 1), or a name: strings, "
                             "\"acoustic grand piano\", or a unique part of one (default: from the request, "
                             "else the mood's)")
    # The 0-based --program of earlier versions: refused (not reinterpreted), pointing to --instrument.
    parser.add_argument("--program", metavar="N", help=argparse.SUPPRESS)
    parser.add_argument("--model", metavar="DIR", help="model folder (default: the shipped EMOPIA models)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def parse_emotion(text: str) -> dict[str, float]:
    """"Q1=0.7,Q4=0.3" or "Q3" -> {class: weight} (names and signs are checked by the model set)."""
    weights: dict[str, float] = {}
    parts = [p.strip() for p in str(text).split(",")]
    if not any(parts):
        raise InvalidInput(f"emotion {text!r} not allowed; allowed: CLASS=WEIGHT pairs such as Q1=0.7,Q4=0.3, "
                           "or one class name such as Q3")
    for part in parts:
        name, _, value = part.partition("=")
        name = name.strip()
        if not name:
            raise InvalidInput(f"emotion {text!r}: empty class name in {part!r}; allowed: CLASS=WEIGHT pairs "
                               "such as Q1=0.7,Q4=0.3")
        if name in weights:
            raise InvalidInput(f"emotion class {name!r} is given twice in {text!r}; give each class once")
        try:
            weight = float(value) if _ else 1.0
        except ValueError:
            raise InvalidInput(f"weight {value.strip()!r} of emotion class {name!r} is not a number; "
                               "allowed: a number >= 0, e.g. Q1=0.7") from None
        if not math.isfinite(weight) or weight < 0:
            raise InvalidInput(f"weight {value.strip()!r} of emotion class {name!r} not allowed; "
                               "allowed: a finite number >= 0, e.g. Q1=0.7")
        weights[name] = weight
    if sum(weights.values()) <= 0:
        raise InvalidInput(f"emotion weights {text!r} sum to zero; "
                           "allowed: at least one weight > 0, e.g. Q1=0.7,Q4=0.3")
    return weights


def _number(label: str, text: str | None, kind, allowed: str):
    if text is None:
        return None
    try:
        value = kind(text)
    except ValueError:
        raise InvalidInput(f"{label} {text!r} not allowed; allowed: {allowed}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"{label} {text!r} not allowed; allowed: {allowed}")
    return value


def _instrument(instrument: str | None, old_program: str | None) -> int | None:
    """--instrument (GM number 1..128 or a name) -> the MIDI program byte 0..127, or None."""
    from assistant.general_midi import parse_instrument

    if old_program is not None:
        hint = ""
        if old_program.strip().isdigit() and 0 <= int(old_program) <= 127:
            hint = f" (--program {int(old_program)} is --instrument {int(old_program) + 1})"
        raise InvalidInput(f"--program {old_program!r} is no longer accepted; allowed: --instrument with the GM "
                           f"number 1..128 or a name{hint}")
    return None if instrument is None else parse_instrument(instrument)


#: Endings of audio files: a TEXT ending so is meant as audio, even when the file is missing.
AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".mp3", ".flac", ".ogg", ".oga", ".opus", ".m4a", ".aac",
                            ".aif", ".aiff", ".wma", ".webm"})


def _audio_file(text: str | None) -> Path | None:
    """TEXT naming an audio file -> its path (it is transcribed, not read as mood words); None for words.

    An existing file with an audio ending, or named with a folder ("./take3"), is audio (read_audio_file
    refuses what ffmpeg cannot read); a lone word that happens to name a file ("calm") stays words. A
    missing file with an audio ending is refused, since reading "speech.wav" as a mood is never meant."""
    if text is None or not text.strip() or "\n" in text or len(text) > 4096:
        return None
    path = Path(text.strip()).expanduser()
    try:
        exists = path.is_file()
    except OSError:  # e.g. a name too long for the file system: words, not a file
        return None
    audio_name = path.suffix.lower() in AUDIO_SUFFIXES
    if exists and (audio_name or "/" in text):
        return path
    if audio_name and not exists and " " not in path.name:
        raise InvalidInput(f"audio file {text.strip()!r} does not exist; allowed: an existing audio file "
                           "(transcribed, then composed), mood words, or `moodchords listen` to speak")
    return None


def read_request_audio(command: str, path):
    """A spoken request's audio file, decoded (assistant.audio.LoadedAudio); a warning line when it is cut."""
    from assistant.audio import read_audio_file
    from assistant.cli import print_warning

    loaded = read_audio_file(path)
    if loaded.truncated:
        print_warning(command, f"{path} is {loaded.source_seconds:.0f} s long; transcribing its first "
                               f"{loaded.seconds:.0f} s")
    return loaded


def _check_key_and_mode(key: str | None, mode: str | None) -> None:
    """--key with a mode ("Dm", "D minor") and a --mode that says the other: refused, naming both."""
    from assistant.composer import key_has_mode
    from assistant.music import parse_key

    if key is None or mode is None or not key_has_mode(key):
        return
    _, key_mode = parse_key(key)
    if mode in ("major", "minor") and mode != key_mode:
        raise InvalidInput(f"--key {key!r} ({key_mode}) contradicts --mode {mode!r}; "
                           f"allowed: drop one of them, or give --key without a mode")


def _check_output(path: str | None) -> Path | None:
    """Fail before composing when the output folder cannot take the file."""
    if path is None:
        return None
    target = Path(path).expanduser()
    folder = target.parent
    if target.is_dir():
        raise InvalidInput(f"output {path!r} is a folder; allowed: a file path such as song.mid")
    if not folder.is_dir():
        raise InvalidInput(f"cannot write MIDI file {path!r}: folder {str(folder)!r} does not exist; "
                           "allowed: a path in an existing, writable folder")
    try:  # a real probe: os.access says yes to root even where the kernel refuses (e.g. /proc)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise InvalidInput(f"cannot write MIDI file {path!r}: folder {str(folder)!r} is not writable "
                           f"({error.strerror or error}); allowed: a path in an existing, writable folder") from None
    return target


def run(args) -> int:
    from assistant.cli import print_warning
    from assistant.composer import resolve_settings
    from assistant.general_midi import describe_instrument
    from assistant.mood import MusicalSettings
    from assistant.pipeline import Assistant, composition_summary
    from assistant.request_text import normalize_request

    bars = _number("bars", args.bars, int, "a whole number 1..256")
    tempo = _number("tempo", args.tempo, float, _TEMPO_ALLOWED)
    seed = _number("seed", args.seed, int, "a whole number")
    temperature = _number("temperature", args.temperature, float, "0.05..10, e.g. 0.8")
    if temperature is not None and not 0.05 <= temperature <= 10:  # the generator's range
        raise InvalidInput(f"temperature {args.temperature!r} not allowed; allowed: 0.05..10, e.g. 0.8")
    program = _instrument(args.instrument, args.program)
    intensity = _number("intensity", args.intensity, float, "a number 0..1 (0 subtle, 1 unmistakable)")
    if intensity is not None and not 0 <= intensity <= 1:
        raise InvalidInput(f"intensity {args.intensity!r} not allowed; allowed: a number 0..1 (0 subtle, 1 unmistakable)")
    loop_bars = _number("loop bars", args.loop_bars, int, "2 or 4")
    _check_key_and_mode(args.key, args.mode)
    explicit = MusicalSettings(tempo_bpm=tempo, key=args.key, mode=args.mode, bars=bars, program=program,
                               metre=args.metre, form=args.form, loop_bars=loop_bars, intensity=intensity)
    resolve_settings(explicit)  # reject bad values before loading anything
    weights = parse_emotion(args.emotion) if args.emotion is not None else None
    audio_file = _audio_file(args.text)
    text = None
    if audio_file is None and args.text is not None:
        text = normalize_request(args.text)  # before any model loads
    if weights is None and not text and audio_file is None:
        raise InvalidInput("no mood given; allowed: --emotion Q1=0.7,Q4=0.3 (or one class such as Q3), "
                           "or a TEXT such as \"make it sad and slow\"")
    output = _check_output(args.output)
    # a bad file fails here, before any model loads
    loaded = read_request_audio("compose", audio_file) if audio_file is not None else None
    if weights is not None and (text or loaded is not None):
        print_warning("compose", f"--emotion {args.emotion} replaces the mood read from the "
                                 f"{'speech' if loaded is not None else 'text'}; its settings (tempo, key, "
                                 "instrument ...) still apply")

    # The one flow the window uses too; only -o is written (no file in the compositions folder).
    assistant = Assistant(model_dir=args.model, write_midi_files=False)
    if loaded is not None:  # the listen command's path: transcribe, then compose the words heard
        composition = assistant.compose_from_audio(loaded.samples, overrides=explicit, seed=seed,
                                                   class_weights=weights, temperature=temperature)
        print(f"heard: {composition.transcript}", file=sys.stderr)
    elif text:  # --emotion, when given too, replaces the weights read from the text
        composition = assistant.compose_from_text(text, overrides=explicit, seed=seed, class_weights=weights,
                                                  temperature=temperature)
    else:
        composition = assistant.compose_from_weights(weights, overrides=explicit, seed=seed, temperature=temperature)
    for warning in composition.warnings:  # e.g. a tempo in the text out of range, ignored
        print_warning("compose", warning)
    if output is not None:
        composition = dataclasses.replace(composition, midi_path=assistant.export_midi(composition, output))

    if args.json:
        print(json.dumps(composition_summary(composition), indent=1))
    else:
        print(describe(composition.progression), file=sys.stdout)
        emotion = ", ".join(f"{n} {w:.2f}" for n, w in composition.mood.class_weights.items() if w > 0)
        instrument = describe_instrument(composition.arrangement.program)
        print(f"emotion: {emotion}; instrument: {instrument}; pattern: {composition.arrangement.pattern}; "
              f"seed {composition.seed}")
        if composition.midi_path is not None:
            print(f"wrote {composition.midi_path}")
    return 0


def describe(progression) -> str:
    """One line: key, tempo and the chords bar by bar, e.g. "D major, 92 BPM: | D | Bm G | ..."."""
    bpb = progression.beats_per_bar
    bars: dict[int, list[str]] = {}
    for placed in progression.chords:
        bars.setdefault(int(placed.start_beats // bpb), []).append(placed.chord.name)
    count = int(round(progression.length_beats / bpb))
    cells = [" ".join(bars.get(i, ["%"])) for i in range(count)]
    metre = "{}/{}".format(*progression.time_signature)
    return f"{progression.key_name}, {progression.tempo_bpm:g} BPM, {metre}: | " + " | ".join(cells) + " |"
