"""``moodchords mood "TEXT"``: the mood a request carries (keywords, valence, arousal, weights over
the composer's emotion classes) and the explicit musical settings in it."""
from __future__ import annotations

import argparse
import json
import sys

EXTRACTOR_CHOICES = ("keybert", "yake")  # = assistant.keywords.make_extractor (kept import-free)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("mood", help="read the mood and musical settings of a request text",
                                   description="Read the mood (keywords, valence, arousal, emotion class weights) "
                                               "and the explicit musical settings of a request, offline.")
    parser.add_argument("text", metavar="TEXT", help='the request, e.g. "a calm peaceful piano piece"')
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--extractor", choices=EXTRACTOR_CHOICES, default=None,
                        help="keyword extractor (default: the benchmarked one, see bench/RESULTS.md)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from assistant import language
    from assistant.cli import print_warning
    from assistant.general_midi import describe_program, gm_number
    from assistant.request_text import normalize_request
    from models.emotion_classes import EMOPIA_CLASSES

    text = normalize_request(args.text)  # invalid UTF-8 in argv, controls, over-long text: fail or fix here
    language.parse_settings_detailed(text)  # cheap, and fails fast on bad input
    classes = language.default_classes()
    if classes is EMOPIA_CLASSES:
        print("note: no installed model set found; using EMOPIA's quadrants Q1-Q4 as emotion classes",
              file=sys.stderr)
    reader = language.MoodReader(classes, extractor=args.extractor or language.DEFAULT_EXTRACTOR)
    mood = reader.read(text)
    settings = mood.settings
    if args.json:
        print(json.dumps({
            "text": text,
            "keywords": list(mood.keywords),
            "valence": round(mood.valence, 4),
            "arousal": round(mood.arousal, 4),
            "neutral": mood.neutral,
            "mixedness": round(mood.mixedness or 0.0, 4),
            "class_weights": {name: round(weight, 4) for name, weight in mood.class_weights.items()},
            "settings": {
                "tempo_bpm": settings.tempo_bpm, "key": settings.key, "mode": settings.mode, "bars": settings.bars,
                "program": settings.program,
                "program_name": describe_program(settings.program) if settings.program is not None else None,
                "instrument_number": gm_number(settings.program) if settings.program is not None else None,
                "instrument": settings.instrument,
                "metre": settings.metre, "form": settings.form, "loop_bars": settings.loop_bars,
            },
            "warnings": list(mood.warnings),
            "extractor": reader.extractor_name,
        }))
    for warning in mood.warnings:
        print_warning("mood", warning)
    if args.json:
        return 0
    print(f"keywords: {', '.join(mood.keywords) if mood.keywords else '(none)'}")
    print(f"valence:  {mood.valence:+.2f}   (-1 unpleasant .. +1 pleasant)")
    print(f"arousal:  {mood.arousal:+.2f}   (-1 calm .. +1 excited)" + ("   [no mood found: neutral]" if mood.neutral else ""))
    if mood.mixedness:
        print(f"mixed:    {mood.mixedness:.2f}   (0 one-sided .. 1 both valence signs equally)")
    descriptions = {c.name: getattr(c, "description", "") for c in reader.classes}
    print("classes:")
    for name, weight in sorted(mood.class_weights.items(), key=lambda item: -item[1]):
        print(f"  {name:6s} {weight:6.1%}  {descriptions.get(name, '')}")
    parts = []
    if settings.tempo_bpm is not None:
        parts.append(f"tempo {settings.tempo_bpm:g} bpm")
    if settings.key or settings.mode:
        parts.append("key " + " ".join(x for x in (settings.key, settings.mode) if x))
    if settings.bars is not None:
        parts.append(f"{settings.bars} bars")
    if settings.metre is not None:
        parts.append(f"metre {settings.metre}")
    if settings.form is not None:
        parts.append("loop" + (f" of {settings.loop_bars} bars" if settings.loop_bars else "")
                     if settings.form == "loop" else "through-composed")
    if settings.program is not None:
        parts.append(f"{settings.instrument} -> GM {gm_number(settings.program)} {describe_program(settings.program)}")
    print(f"settings: {'; '.join(parts) if parts else '(none: the mood decides)'}")
    return 0
