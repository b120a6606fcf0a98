"""General MIDI level 1: the 128 program (instrument) names, by program number."""
from __future__ import annotations

from assistant.errors import InvalidInput

#: The 128 General MIDI level 1 program names, index = program number (0-based).
GM_PROGRAM_NAMES: tuple[str, ...] = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano",
    "Electric Piano 1", "Electric Piano 2", "Harpsichord", "Clavinet",
    "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba", "Xylophone", "Tubular Bells", "Dulcimer",
    "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ", "Reed Organ", "Accordion", "Harmonica",
    "Tango Accordion",
    "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)", "Electric Guitar (jazz)", "Electric Guitar (clean)",
    "Electric Guitar (muted)", "Overdriven Guitar", "Distortion Guitar", "Guitar Harmonics",
    "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)", "Fretless Bass", "Slap Bass 1",
    "Slap Bass 2", "Synth Bass 1", "Synth Bass 2",
    "Violin", "Viola", "Cello", "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani",
    "String Ensemble 1", "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs",
    "Synth Voice", "Orchestra Hit",
    "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1", "Synth Brass 2",
    "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet",
    "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
    "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)",
    "Pad 1 (new age)", "Pad 2 (warm)", "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)",
    "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)",
    "FX 6 (goblins)", "FX 7 (echoes)", "FX 8 (sci-fi)",
    "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)
assert len(GM_PROGRAM_NAMES) == 128


def describe_program(program: int | None) -> str:
    """Human name of a GM program, e.g. 48 -> "String Ensemble 1"."""
    if program is None:
        return "-"
    if not (0 <= program < len(GM_PROGRAM_NAMES)):
        raise InvalidInput(f"GM program {program} outside 0..127")
    return GM_PROGRAM_NAMES[program]


#: Users see General MIDI's own numbering, 1..128 (the numbers printed in every GM manual); the MIDI
#: program byte, 0..127, stays inside the library (Arrangement.program, history records, MIDI files).
GM_FIRST_NUMBER = 1


def gm_number(program: int) -> int:
    """The GM number users see (1..128) for a MIDI program byte (0..127): 48 -> 49."""
    describe_program(program)  # range check
    return program + GM_FIRST_NUMBER


def describe_instrument(program: int | None) -> str:
    """"49 String Ensemble 1": the number and the name as the window and the CLI show them."""
    if program is None:
        return "-"
    return f"{gm_number(program)} {describe_program(program)}"


def _folded(text: str) -> str:
    """Lower case, punctuation as spaces: "Acoustic Guitar (nylon)" -> "acoustic guitar nylon"."""
    return " ".join("".join(c if c.isalnum() else " " for c in text.casefold()).split())


def _close_matches(wanted: str, names: list[str], count: int = 5) -> list[str]:
    import difflib

    by_fold: dict[str, str] = {}
    for name in names:  # the first spelling wins: GM's own names before the request words
        by_fold.setdefault(_folded(name), name)
    return [by_fold[f] for f in difflib.get_close_matches(wanted, list(by_fold), n=count, cutoff=0.5)]


def parse_instrument(text: str) -> int:
    """A GM number (1..128) or a name -> the MIDI program byte (0..127).

    Names: a full GM name ("acoustic grand piano", any case and punctuation), a word the request reader
    knows ("strings", "organ"), or a unique part of a GM name ("nylon", "church"). Unknown or ambiguous
    names raise InvalidInput listing the close matches."""
    raw = str(text).strip()
    if not raw:
        raise InvalidInput("instrument '' not allowed; allowed: a General MIDI number 1..128 or a name "
                           "such as piano, strings, \"acoustic grand piano\"")
    if raw.lstrip("+-").isdigit():
        number = int(raw)
        if not GM_FIRST_NUMBER <= number < GM_FIRST_NUMBER + len(GM_PROGRAM_NAMES):
            raise InvalidInput(f"instrument {raw!r} not allowed; allowed: a General MIDI number 1..128 "
                               f"(1 Acoustic Grand Piano ... 128 Gunshot) or a name such as strings")
        return number - GM_FIRST_NUMBER
    wanted = _folded(raw)
    for program, name in enumerate(GM_PROGRAM_NAMES):
        if _folded(name) == wanted:
            return program
    from assistant.language import INSTRUMENT_PROGRAMS  # the words a request may use ("strings")

    if wanted in INSTRUMENT_PROGRAMS:
        return INSTRUMENT_PROGRAMS[wanted]
    padded = f" {wanted} "
    partial = [p for p, name in enumerate(GM_PROGRAM_NAMES) if wanted in _folded(name)]
    whole_words = [p for p in partial if padded in f" {_folded(GM_PROGRAM_NAMES[p])} "]
    matches = whole_words if len(whole_words) == 1 else partial
    if len(matches) == 1:
        return matches[0]
    if matches:
        listed = ", ".join(describe_instrument(p) for p in matches[:8]) + (" ..." if len(matches) > 8 else "")
        raise InvalidInput(f"instrument {raw!r} is ambiguous; it matches {listed}; "
                           "allowed: a longer name or the number")
    close = _close_matches(wanted, [*GM_PROGRAM_NAMES, *INSTRUMENT_PROGRAMS])
    hint = f"close: {', '.join(close)}; " if close else ""
    raise InvalidInput(f"instrument {raw!r} unknown; {hint}allowed: a General MIDI number 1..128 or a name "
                       "such as piano, strings, \"acoustic grand piano\"")
