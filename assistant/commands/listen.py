"""`moodchords listen`: record a spoken request, transcribe, compose, play through FluidSynth."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time


def register(subparsers) -> None:
    parser = subparsers.add_parser("listen", help="record a spoken mood request, compose and play it",
                                   description="Record from the microphone, transcribe, compose, play.")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=float, metavar="N", help="record exactly N seconds (1-30)")
    length.add_argument("--vad", action="store_true", help="hands-free: stop after a pause (default)")
    length.add_argument("--file", metavar="AUDIO", help="listen to a recorded request (wav, mp3, flac, ...) "
                                                        "instead of the microphone")
    parser.add_argument("-o", "--output", metavar="FILE.mid", help="also write the MIDI here")
    parser.add_argument("--no-play", action="store_true", help="do not play the result")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--device", help="input device name (default: the system default)")
    parser.add_argument("--engine", help="speech engine: openai-whisper or faster-whisper")
    parser.add_argument("--model", help="speech model size: tiny.en or base")
    parser.add_argument("--seed", type=int, help="random seed for reproducible output")
    parser.set_defaults(handler=run)


def _progress(message: str, fraction: float) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from assistant.audio import Microphone
    from assistant.commands.compose import read_request_audio
    from assistant.cli import print_warning
    from assistant.errors import InvalidInput
    from assistant.pipeline import Assistant, composition_summary

    if args.seconds is not None and not 1 <= args.seconds <= 30:
        raise InvalidInput(f"--seconds {args.seconds:g} is not allowed; use 1 to 30 seconds")
    # A bad file, or no input device, fails here, before any model loads.
    recorded = read_request_audio("listen", args.file) if args.file is not None else None
    microphone = Microphone(args.device) if recorded is None else None
    assistant = Assistant(speech_engine=args.engine, speech_model=args.model)
    assistant.load(progress=_progress)
    if recorded is not None:
        audio = recorded.samples
    else:
        print("Listening... speak your request" + ("" if args.seconds else " (a pause ends it)"), file=sys.stderr)
        audio = microphone.record(args.seconds) if args.seconds is not None else microphone.record_utterance()
    composition = assistant.compose_from_audio(audio, seed=args.seed, progress=_progress)
    for warning in composition.warnings:  # e.g. a tempo heard out of range, ignored
        print_warning("listen", warning)
    if args.output:  # the copy asked for becomes the composition's file (the summary's "midi_path")
        composition = dataclasses.replace(composition, midi_path=assistant.export_midi(composition, args.output))
    summary = composition_summary(composition)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"Heard: {composition.transcript}")
        print(f"Mood: {', '.join(composition.keywords) or 'neutral'} "
              f"(valence {composition.mood.valence:+.2f}, arousal {composition.mood.arousal:+.2f})")
        print(f"{composition.progression.key_name}, {composition.progression.tempo_bpm:.0f} BPM: "
              + " | ".join(composition.chord_names))
        print(f"MIDI: {summary['midi_path']}")
    if not args.no_play:
        from assistant.playback import FluidSynthPlayer

        player = FluidSynthPlayer()
        try:
            player.play(composition.score)
            time.sleep(0.2)
            while player.is_playing:
                time.sleep(0.05)
        finally:
            player.stop()
            player.close()
    return 0
