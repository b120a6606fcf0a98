"""One JSON schema for a composition: what ``compose --json`` and ``listen --json`` print and what a
history record holds, with the field names of ``assistant.pipeline.Composition``.

Every field, its type and meaning is documented in docs/composition-schema.md (the tests validate
the CLI's output and the history records against that document). A history record is the same
document split into the store's columns: ``mood``, ``settings`` and ``progression`` in their own
columns, the rest in ``payload``; ``record_document`` joins them again and upgrades the records
written before this schema (payload ``"version": 1``), which stay readable.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping

from assistant.mood import SOURCED_SETTINGS, Mood, MusicalSettings

if TYPE_CHECKING:
    from assistant.arrangement import Arrangement
    from assistant.history import HistoryRecord
    from assistant.music import Progression

#: Bumped when a field changes meaning or is removed (adding a field keeps the version).
#: 1 was the history payload before one schema (and the CLI's JSON had no version).
SCHEMA_VERSION = 2

#: Top-level fields with a history record column (HistoryRecord field) of the same name ...
_COLUMN_FIELDS = ("id", "created_at", "request_text", "transcript", "mood", "settings", "progression", "seed",
                  "midi_path")
#: ... and those kept in its payload column.
_PAYLOAD_FIELDS = ("schema_version", "effective", "arrangement", "form", "intensity", "timings", "warnings")


def progression_document(progression: "Progression") -> dict[str, Any]:
    """The ``progression`` object: key, tempo, metre, length and every chord."""
    return {
        "key": progression.key_name, "tonic": progression.tonic, "tonic_name": progression.tonic_name,
        "mode": progression.mode, "tempo_bpm": progression.tempo_bpm,
        "metre": "{}/{}".format(*progression.time_signature), "beats_per_bar": progression.beats_per_bar,
        "compound": progression.compound, "bars": _whole(progression.length_beats / progression.beats_per_bar),
        "chords": [{"name": p.chord.name, "root": p.chord.root, "quality": p.chord.quality, "bass": p.chord.bass,
                    "start_beats": p.start_beats, "duration_beats": p.duration_beats, "locked": p.locked}
                   for p in progression.chords],
    }


def arrangement_document(arrangement: "Arrangement") -> dict[str, Any]:
    """The ``arrangement`` object: Arrangement's fields plus the instrument as users name it."""
    from assistant.general_midi import describe_program, gm_number

    return {**dataclasses.asdict(arrangement),
            "instrument": {"number": gm_number(arrangement.program), "name": describe_program(arrangement.program)}}


def mood_document(mood: Mood) -> dict[str, Any]:
    """The ``mood`` object: Mood's fields as plain JSON."""
    document = dataclasses.asdict(mood)
    document["keywords"] = list(mood.keywords)
    document["warnings"] = list(mood.warnings)
    return document


def effective_settings(progression: Mapping[str, Any], arrangement: Mapping[str, Any], settings: Mapping[str, Any],
                       form: str, intensity: float, sources: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """The ``effective`` object: each of SOURCED_SETTINGS as composed, with where it came from."""
    instrument = settings.get("instrument") or arrangement["instrument"]["name"]
    values = {"key": progression["key"], "mode": progression["mode"], "tempo": progression["tempo_bpm"],
              "bars": progression["bars"], "metre": progression["metre"],
              "form": f"loop of {settings.get('loop_bars') or 4} bars" if form == "loop" else form,
              "instrument": instrument, "intensity": intensity}
    return {name: {"value": values[name], "source": sources.get(name, "mood")} for name in SOURCED_SETTINGS}


def composition_document(composition) -> dict[str, Any]:
    """A Composition (assistant.pipeline) as the one documented JSON object."""
    progression = progression_document(composition.progression)
    arrangement = arrangement_document(composition.arrangement)
    settings = dataclasses.asdict(composition.settings)
    return {
        "schema_version": SCHEMA_VERSION,
        "id": composition.id,
        "created_at": composition.created_at,
        "request_text": composition.request_text,
        "transcript": composition.transcript,
        "mood": mood_document(composition.mood),
        "settings": settings,
        "effective": effective_settings(progression, arrangement, settings, composition.form, composition.intensity,
                                        composition.sources),
        "progression": progression,
        "arrangement": arrangement,
        "form": composition.form,
        "intensity": composition.intensity,
        "seed": composition.seed,
        "midi_path": str(composition.midi_path) if composition.midi_path else None,
        "timings": dict(composition.timings),
        "warnings": list(composition.warnings),
    }


def history_record(composition) -> "HistoryRecord":
    """The composition's document split into a history record's columns (with the MIDI file's bytes)."""
    from assistant.history import HistoryRecord

    document = composition_document(composition)
    midi_bytes = None
    if composition.midi_path is not None and composition.midi_path.is_file():
        midi_bytes = composition.midi_path.read_bytes()  # survives the file's deletion
    return HistoryRecord(**{name: document[name] for name in _COLUMN_FIELDS},
                         keywords=tuple(document["mood"]["keywords"]), midi_bytes=midi_bytes,
                         payload={name: document[name] for name in _PAYLOAD_FIELDS})


def record_document(record: "HistoryRecord") -> dict[str, Any]:
    """A history record as the documented JSON object, whatever schema version wrote it."""
    payload = record.payload
    if payload.get("schema_version") != SCHEMA_VERSION:
        return _upgraded_document(record)
    return {**{name: getattr(record, name) for name in _COLUMN_FIELDS},
            **{name: payload[name] for name in _PAYLOAD_FIELDS}}


def _upgraded_document(record: "HistoryRecord") -> dict[str, Any]:
    """A record written before the one schema (payload version 1, or none): the same facts under the
    schema's names; fields older records lack get the values those versions composed with."""
    from assistant.arrangement import Arrangement

    payload = record.payload
    mood = mood_document(mood_from_document(record.mood))
    settings = dataclasses.asdict(MusicalSettings(**record.settings))
    progression = progression_document(progression_from_document(record.progression))
    arrangement = arrangement_document(Arrangement(**payload["arrangement"]))
    form = payload.get("form", "through")  # absent before issue 15
    intensity = float(payload.get("intensity", 0.5))
    return {
        **{name: getattr(record, name) for name in _COLUMN_FIELDS},
        "schema_version": SCHEMA_VERSION, "mood": mood, "settings": settings, "progression": progression,
        "effective": effective_settings(progression, arrangement, settings, form, intensity,
                                        payload.get("sources", {})),
        "arrangement": arrangement, "form": form, "intensity": intensity,
        "timings": dict(payload.get("timings", {})), "warnings": mood["warnings"] + list(payload.get("notices", ())),
    }


def mood_from_document(mood: Mapping[str, Any]) -> Mood:
    """A Mood from the ``mood`` object (also the mood column of records of every version)."""
    fields = dict(mood)
    fields["settings"] = MusicalSettings(**fields.get("settings", {}))
    fields["keywords"] = tuple(fields.get("keywords", ()))
    fields["warnings"] = tuple(fields.get("warnings", ()))
    return Mood(**fields)


def progression_from_document(progression: Mapping[str, Any]) -> "Progression":
    """A Progression from the ``progression`` object (derived fields such as ``key`` are recomputed)."""
    from assistant.music import Chord, PlacedChord, Progression, key_spelling

    p = progression
    spelling = key_spelling(p["tonic"], p["mode"])
    chords = tuple(PlacedChord(Chord(c["root"], c["quality"], c["bass"], spelling), c["start_beats"],
                               c["duration_beats"], c["locked"]) for c in p["chords"])
    return Progression(chords, p["tonic"], p["mode"], p["tempo_bpm"], p["beats_per_bar"],
                       bool(p.get("compound", False)), p.get("tonic_name"))  # both absent in older records


def sources_from_document(document: Mapping[str, Any]) -> dict[str, str]:
    """Composition.sources from the ``effective`` object."""
    return {name: entry["source"] for name, entry in document["effective"].items()}


def notices_from_document(document: Mapping[str, Any]) -> tuple[str, ...]:
    """Composition.notices: the ``warnings`` after the mood's own (Composition.warnings lists those first)."""
    return tuple(document["warnings"][len(document["mood"]["warnings"]):])


def _whole(number: float) -> float | int:
    return int(number) if float(number).is_integer() else number
