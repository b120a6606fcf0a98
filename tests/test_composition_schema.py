"""One JSON schema (issue 16 item 6): `compose --json`, `listen --json` and the history record are the
one object documented in docs/composition-schema.md. The tables of that document are parsed and every
output is checked against them: every documented field present, nothing undocumented, every type."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.composition_schema import SCHEMA_VERSION, record_document
from assistant.history import HistoryRecord, HistoryStore
from assistant.pipeline import Assistant, composition_summary, from_history_record, to_history_record
from tests.test_composer import model_dir  # noqa: F401  (session fixture: the shipped models)

SCHEMA_DOC = Path(__file__).resolve().parent.parent / "docs" / "composition-schema.md"


def documented_objects(text: str) -> dict[str, dict[str, str]]:
    """The document's tables: object name -> {field: type}, from "### `name`" and "| `field` | type | ...|"."""
    objects: dict[str, dict[str, str]] = {}
    current = None
    for line in text.splitlines():
        heading = re.fullmatch(r"### `(\w+)`", line.strip())
        if heading:
            current = objects.setdefault(heading.group(1), {})
            continue
        row = re.match(r"\| `(\w+)` \| ([^|]+) \|", line)
        if row and current is not None:
            current[row.group(1)] = row.group(2).strip()
    return objects


def schema_errors(value, kind: str, objects: dict[str, dict[str, str]], where: str = "composition") -> list[str]:
    """Where `value` departs from the documented type `kind` (empty when it conforms)."""
    alternatives = kind.split(" or ")
    if len(alternatives) > 1:
        tried = [schema_errors(value, one, objects, where) for one in alternatives]
        return [] if any(not errors for errors in tried) else [f"{where}: {value!r} is not {kind}"]
    if kind == "null":
        return [] if value is None else [f"{where}: {value!r} is not null"]
    if kind.startswith("array of "):
        if not isinstance(value, list):
            return [f"{where}: {value!r} is not an array"]
        return [e for i, item in enumerate(value) for e in schema_errors(item, kind[9:], objects, f"{where}[{i}]")]
    if kind.startswith("map of "):
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not a map"]
        return [e for k, item in value.items() for e in schema_errors(item, kind[7:], objects, f"{where}.{k}")]
    if kind.startswith("object "):
        fields = objects[kind[7:]]
        if not isinstance(value, dict):
            return [f"{where}: {value!r} is not an object"]
        errors = [f"{where}.{name}: missing" for name in fields if name not in value]
        errors += [f"{where}.{name}: not documented" for name in value if name not in fields]
        return errors + [e for name, item in value.items() if name in fields
                         for e in schema_errors(item, fields[name], objects, f"{where}.{name}")]
    checks = {"string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}
    assert kind in checks, f"undocumented type {kind!r} at {where}"
    return [] if checks[kind](value) else [f"{where}: {value!r} is not {kind}"]


OBJECTS = documented_objects(SCHEMA_DOC.read_text())


def assert_conforms(document: dict) -> None:
    errors = schema_errors(document, "object composition", OBJECTS)
    assert not errors, "\n".join(errors)
    assert document["schema_version"] == SCHEMA_VERSION


def test_the_document_lists_every_object_it_names():
    assert {"composition", "mood", "settings", "effective", "sourced", "progression", "chord", "arrangement",
            "instrument"} <= set(OBJECTS)
    for fields in OBJECTS.values():
        for kind in fields.values():
            for name in re.findall(r"object (\w+)", kind):
                assert name in OBJECTS, name


def test_the_check_fails_on_a_missing_an_undocumented_or_a_mistyped_field(model_dir):  # noqa: F811
    composition = Assistant(model_dir=model_dir, write_midi_files=False).compose_from_text(
        "a calm evening in D minor", seed=3, overrides=None)
    good = json.loads(json.dumps(composition_summary(composition)))
    assert_conforms(good)
    broken = json.loads(json.dumps(good))
    del broken["mood"]["valence"]
    broken["emotion"] = {}
    broken["progression"]["chords"][0]["root"] = "D"
    broken["effective"]["tempo"]["value"] = None
    errors = schema_errors(broken, "object composition", OBJECTS)
    assert any("mood.valence: missing" in e for e in errors)
    assert any("composition.emotion: not documented" in e for e in errors)
    assert any("chords[0].root" in e for e in errors)
    assert any("effective.tempo.value" in e for e in errors)


def test_compose_listen_and_the_history_record_share_the_one_schema(model_dir, tmp_path, capsys,  # noqa: F811
                                                                   monkeypatch):
    """Real speech: espeak-ng writes the request, `compose FILE --json` and `listen --file FILE --json`
    transcribe and compose it; a typed `compose --json` and the history record of the same request too."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # listen writes its MIDI file there
    wav = tmp_path / "speech.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(wav), "a slow sad piece at 60 bpm on strings"],
                   check=True, timeout=60)
    outputs = {}
    for name, argv in {
        "compose text": ["compose", "a slow sad piece at 60 bpm on strings", "--seed", "1", "--bars", "2",
                         "--model", str(model_dir), "--json"],
        "compose audio": ["compose", str(wav), "--seed", "1", "--bars", "2", "--model", str(model_dir), "--json"],
        "listen": ["listen", "--file", str(wav), "--seed", "1", "--no-play", "--json"],
    }.items():
        assert main(argv) == 0, name
        outputs[name] = json.loads(capsys.readouterr().out)
    for name, document in outputs.items():
        assert_conforms(document)
    heard = outputs["listen"]
    assert heard["transcript"] and heard["transcript"] == outputs["compose audio"]["transcript"]
    assert heard["effective"]["tempo"] == {"value": 60, "source": "request"}
    assert heard["arrangement"]["instrument"] == {"number": 49, "name": "String Ensemble 1"}
    assert Path(heard["midi_path"]).is_file() and str(tmp_path) in heard["midi_path"]
    assert outputs["compose text"]["transcript"] is None

    store = HistoryStore(tmp_path / "history.sqlite3")
    assistant = Assistant(model_dir=model_dir, output_dir=tmp_path / "midi", history=store)
    composition = assistant.compose_from_text("a slow sad piece at 60 bpm on strings", seed=1)
    record = store.get(composition.id)
    stored = record_document(record)
    assert_conforms(stored)
    assert stored == json.loads(json.dumps(composition_summary(composition)))
    assert record.mood == stored["mood"] and record.progression == stored["progression"]
    assert record.keywords == tuple(stored["mood"]["keywords"]) and record.payload["schema_version"] == SCHEMA_VERSION
    restored = from_history_record(record)
    assert composition_summary(restored) == composition_summary(composition)
    store.close()


def _version_1_record(composition) -> HistoryRecord:
    """The record the history wrote before the one schema (payload version 1), from its old code."""
    import dataclasses

    record = to_history_record(composition)
    mood = dataclasses.asdict(composition.mood)
    mood["keywords"] = list(composition.mood.keywords)
    del mood["mixedness"], mood["warnings"]  # older still: before mixedness and warnings
    progression = {key: record.progression[key] for key in ("tonic", "mode", "tempo_bpm", "beats_per_bar", "key")}
    progression["chords"] = [{k: c[k] for k in ("root", "quality", "bass", "name", "start_beats", "duration_beats",
                                                "locked")} for c in record.progression["chords"]]
    return dataclasses.replace(record, mood=mood, progression=progression, payload={
        "version": 1, "arrangement": dataclasses.asdict(composition.arrangement), "timings": composition.timings,
        "sources": dict(composition.sources), "notices": list(composition.notices)})


def test_old_history_records_are_read_as_the_one_schema(model_dir, tmp_path):  # noqa: F811
    composition = Assistant(model_dir=model_dir, write_midi_files=False).compose_from_text(
        "a happy song", seed=5, overrides=None)
    store = HistoryStore(tmp_path / "history.sqlite3")
    store.add(_version_1_record(composition))
    old = store.get(composition.id)
    document = record_document(old)
    assert_conforms(document)
    assert document["progression"]["chords"] == composition_summary(composition)["progression"]["chords"]
    assert document["effective"] == composition_summary(composition)["effective"]
    restored = from_history_record(old)
    assert restored.chord_names == composition.chord_names and restored.sources == composition.sources
    assert restored.arrangement == composition.arrangement and restored.progression.key_name == \
        composition.progression.key_name
    store.close()


@pytest.mark.parametrize("argv", [["listen", "--file", "missing.wav"], ["listen", "--file", "."]])
def test_listen_file_that_is_not_audio_exits_2(argv, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "audio file" in error[0]
