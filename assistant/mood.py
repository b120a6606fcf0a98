"""What the language side hands to the composer: the mood and any explicit musical settings."""
from __future__ import annotations

from dataclasses import dataclass, field

TEMPO_RANGE = (20.0, 300.0)  # BPM a request or setting may ask for (text, CLI, window)
METRES = ("4/4", "3/4", "6/8")  # time signatures the composer writes (models.harmonic_rhythm.METRES)
FORMS = ("through", "loop")  # through-composed, or a 2- or 4-bar progression repeated with variation
LOOP_BARS = (2, 4)  # length of the repeated progression of the loop form
#: the settings a composition reports with their source ("flag", "request" or "mood")
SOURCED_SETTINGS = ("key", "mode", "tempo", "bars", "metre", "form", "instrument", "intensity")


def form_text(form: str, loop_bars: int | None) -> str:
    """A form as the window and the notices name it: "Through-composed", "Loop of 2 bars"."""
    return "Through-composed" if form != "loop" else f"Loop of {loop_bars or 4} bars"


@dataclass(frozen=True)
class MusicalSettings:
    """Explicit musical choices; None means "let the mood decide"."""

    tempo_bpm: float | None = None  # TEMPO_RANGE, 20..300
    key: str | None = None  # tonic name, e.g. "D", "F#", "Bb"
    mode: str | None = None  # "major" or "minor"
    bars: int | None = None  # 1..256
    program: int | None = None  # General MIDI program 0..127 for the chords
    instrument: str | None = None  # the word the user said, e.g. "strings"
    beats_per_bar: int = 4  # kept for old history records; the time signature is ``metre``
    metre: str | None = None  # METRES: "4/4", "3/4" or "6/8"
    form: str | None = None  # FORMS: "through" or "loop"
    loop_bars: int | None = None  # LOOP_BARS: 2 or 4 (the loop form's repeated length)
    intensity: float | None = None  # 0 (subtle) .. 1 (unmistakable); None: the default 0.5

    def merged(self, override: "MusicalSettings | None") -> "MusicalSettings":
        """These settings with every non-None field of ``override`` taking precedence."""
        if override is None:
            return self
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in values:
            value = getattr(override, name)
            if value is not None and not (name == "beats_per_bar" and value == 4):
                values[name] = value
        return MusicalSettings(**values)


@dataclass(frozen=True)
class Mood:
    """The emotion understood from a request."""

    valence: float  # -1 (negative) .. +1 (positive)
    arousal: float  # -1 (calm) .. +1 (excited)
    class_weights: dict[str, float]  # composer emotion class -> weight, sums to 1
    keywords: tuple[str, ...] = ()  # mood words found in the request
    settings: MusicalSettings = field(default_factory=MusicalSettings)  # explicit settings in the request
    #: True when the text carried no mood word (valence 0, uniform weights); arousal may still come from
    #: a genre word that says the tempo (assistant.affect.AROUSAL_CUES: "a lullaby", "a disco track")
    neutral: bool = False
    #: 0 (one-sided) .. 1 (both valence signs equally present among the request's mood words, e.g.
    #: "bittersweet", "happy but a little sad"); None: not read from words (e.g. --emotion weights)
    mixedness: float | None = None
    #: explicit values that were ignored, one line each with the allowed range, e.g. "tempo 400 bpm ignored;
    #: allowed 20..300 bpm" (the CLI prints them; Composition.warnings passes them on to the window)
    warnings: tuple[str, ...] = ()
