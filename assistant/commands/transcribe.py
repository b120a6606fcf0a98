"""``moodchords transcribe FILE``: speech in an audio file -> text (offline Whisper)."""
from __future__ import annotations

import argparse
import json
import sys

ENGINE_CHOICES = ("openai-whisper", "faster-whisper")  # = assistant.speech.ENGINES (kept import-free)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("transcribe", help="transcribe speech in an audio file",
                                   description="Transcribe the speech in an audio file (any format ffmpeg "
                                               "reads) with Whisper, offline.")
    parser.add_argument("file", metavar="FILE", help="audio file (wav, mp3, flac, ogg, m4a, ...)")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, default=None,
                        help="speech engine (default: the benchmarked default, see bench/RESULTS.md)")
    parser.add_argument("--model", default=None,
                        help="Whisper model: tiny.en or base (installed); other openai-whisper names need internet")
    parser.add_argument("--json", action="store_true", help="print the transcript as JSON")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from assistant import speech
    from assistant.audio import read_audio_file

    loaded = read_audio_file(args.file)  # first: a bad file fails fast, before any model loads
    if loaded.truncated:
        print(f"note: {args.file} is {loaded.source_seconds:.0f} s long; transcribing its first "
              f"{loaded.seconds:.0f} s", file=sys.stderr)
    transcriber = speech.load_transcriber(args.engine or speech.DEFAULT_ENGINE, args.model or speech.DEFAULT_MODEL)
    transcript = transcriber.transcribe(loaded.samples)
    if args.json:
        print(json.dumps({
            "text": transcript.text, "language": transcript.language, "no_speech": transcript.no_speech,
            "rejected": transcript.rejected, "seconds": round(transcript.seconds, 3),
            "audio_seconds": round(transcript.audio_seconds, 3), "engine": transcriber.engine,
            "model": transcriber.model, "truncated": loaded.truncated,
        }))
    elif transcript.no_speech:
        print(f"(no speech recognised: {transcript.rejected})", file=sys.stderr)
    else:
        print(transcript.text)
    return 0
