"""``moodchords compose``: bad input gives one line and exit code 2; good input writes a real MIDI file."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import mido
import pytest

from assistant.cli import main
from assistant.commands.compose import describe, parse_emotion
from assistant.errors import InvalidInput
from tests.test_composer import model_dir  # noqa: F401  (session fixture: the shipped models)

ROOT = Path(__file__).resolve().parent.parent
MOODCHORDS = ROOT / ".venv" / "bin" / "moodchords"


def test_parse_emotion():
    assert parse_emotion("Q1=0.7,Q4=0.3") == {"Q1": 0.7, "Q4": 0.3}
    assert parse_emotion("Q3") == {"Q3": 1.0}
    assert parse_emotion(" Q2 = 2 , Q1=0 ") == {"Q2": 2.0, "Q1": 0.0}
    for bad, word in (("Q1=x", "'x'"), ("Q1=-1", "'-1'"), ("Q1=0,Q2=0", "sum to zero"), ("Q1=1,Q1=2", "twice"),
                      ("", "allowed"), ("=3", "empty"), ("Q1=nan", "nan")):
        with pytest.raises(InvalidInput, match=word):
            parse_emotion(bad)


BAD_ARGUMENTS = [
    (["--emotion", "Q1=0.5,Q4=-0.5"], "'-0.5'"),
    (["--emotion", "Q1=0,Q4=0"], "sum to zero"),
    (["--emotion", "Q1=lots"], "'lots'"),
    (["--emotion", "Q1", "--bars", "0"], "bars 0"),
    (["--emotion", "Q1", "--bars", "-3"], "bars -3"),
    (["--emotion", "Q1", "--bars", "257"], "bars 257"),
    (["--emotion", "Q1", "--bars", "eight"], "'eight'"),
    (["--emotion", "Q1", "--key", "H"], "'H'"),
    (["--emotion", "Q1", "--key", "D dorian"], "'D dorian'"),
    (["--emotion", "Q1", "--mode", "lydian"], "'lydian'"),
    (["--emotion", "Q1", "--tempo", "10"], "10"),
    (["--emotion", "Q1", "--tempo", "301"], "301"),
    (["--emotion", "Q1", "--tempo", "fast"], "'fast'"),
    (["--emotion", "Q1", "--instrument", "129"], "'129'"),
    (["--emotion", "Q1", "--instrument", "0"], "1..128"),
    (["--emotion", "Q1", "--instrument", "stings"], "close: strings"),
    (["--emotion", "Q1", "--instrument", "bass"], "ambiguous"),
    (["--emotion", "Q1", "--program", "4"], "--instrument 5"),  # the old 0-based flag is refused, not reread
    (["--emotion", "Q1", "--temperature", "0"], "'0'"),
    (["--emotion", "Q1", "--temperature", "11"], "'11'"),
    ([], "no mood given"),
    (["--emotion", "Q1", "--intensity", "1.5"], "'1.5'"),
    (["--emotion", "Q1", "--intensity", "loud"], "'loud'"),
    (["--emotion", "Q1", "--metre", "5/4"], "'5/4'"),
    (["--emotion", "Q1", "--form", "rondo"], "'rondo'"),
    (["--emotion", "Q1", "--loop-bars", "3"], "3"),
    (["--emotion", "Q1", "--key", "Dm", "--mode", "major"], "--mode 'major'"),
]


@pytest.mark.parametrize("extra, word", BAD_ARGUMENTS)
def test_bad_input_is_one_line_and_exit_2(extra, word, tmp_path, capsys):
    out = tmp_path / "out.mid"
    code = main(["compose", *extra, "-o", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("moodchords compose: error:"), err
    assert word in lines[0] and "allowed" in lines[0]
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where", ["missing-folder", "file-as-folder", "proc", "folder"])
def test_unwritable_output_is_one_line_and_exit_2(where, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    target = {"missing-folder": tmp_path / "nope" / "out.mid", "file-as-folder": blocker / "out.mid",
              "proc": Path("/proc/out.mid"), "folder": tmp_path}[where]
    code = main(["compose", "--emotion", "Q1", "-o", str(target)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and str(target) in err[0] and "allowed" in err[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_subprocess_bad_key_exit_2(tmp_path):
    out = tmp_path / "out.mid"
    result = subprocess.run([str(MOODCHORDS), "compose", "--emotion", "Q1", "--key", "Hb", "-o", str(out)],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "'Hb'" in result.stderr and "allowed" in result.stderr
    assert not out.exists()


def test_unknown_class_is_one_line_and_exit_2(model_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out.mid"
    code = main(["compose", "--emotion", "Q1=0.5,Q9=0.5", "-o", str(out), "--model", str(model_dir)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "'Q9'" in err[0] and "Q1" in err[0] and "Q4" in err[0]
    assert not out.exists()


def test_missing_model_folder_is_one_line_and_exit_2(tmp_path, capsys):
    code = main(["compose", "--emotion", "Q1", "--model", str(tmp_path / "nowhere")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "nowhere" in err[0]


def test_compose_writes_midi_and_json(model_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "song.mid"
    common = ["--emotion", "Q1=0.7,Q4=0.3", "--bars", "4", "--key", "D", "--tempo", "90", "--seed", "1",
              "--model", str(model_dir), "--json"]
    code = main(["compose", *common, "-o", str(out), "--instrument", "5"])  # GM 5 = Electric Piano 1
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["progression"]["key"] in ("D major", "D minor") and report["progression"]["tempo_bpm"] == 90
    assert report["progression"]["bars"] == 4
    assert report["mood"]["class_weights"] == {"Q1": 0.7, "Q2": 0.0, "Q3": 0.0, "Q4": 0.3}
    assert report["midi_path"] == str(out) and report["seed"] == 1
    assert sum(c["duration_beats"] for c in report["progression"]["chords"]) == 16
    midi = mido.MidiFile(out)
    markers = [m.text for m in midi.tracks[0] if m.type == "marker"]
    assert markers == [c["name"] for c in report["progression"]["chords"]]
    assert [m.program for m in midi.tracks[1] if m.type == "program_change"] == [4]  # the MIDI byte, 0-based
    assert report["arrangement"]["instrument"] == {"number": 5, "name": "Electric Piano 1"}
    assert report["arrangement"]["program"] == 4
    assert main(["compose", *common]) == 0  # same seed, same chords; no -o: nothing written
    again = json.loads(capsys.readouterr().out)
    assert again["progression"]["chords"] == report["progression"]["chords"] and again["midi_path"] is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid"]


def test_json_is_the_pipelines_composition_summary(model_dir, capsys):  # noqa: F811
    """compose goes through assistant.pipeline.Assistant, as the window does: its JSON is
    composition_summary of the Composition the pipeline makes for the same request and seed."""
    from assistant.mood import MusicalSettings
    from assistant.pipeline import Assistant, composition_summary

    code = main(["compose", "--emotion", "Q2=1,Q3=3", "--bars", "4", "--mode", "minor", "--seed", "8",
                 "--model", str(model_dir), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    composition = Assistant(model_dir=model_dir, write_midi_files=False).compose_from_weights(
        {"Q2": 1, "Q3": 3}, overrides=MusicalSettings(bars=4, mode="minor"), seed=8)
    expected = json.loads(json.dumps(composition_summary(composition)))
    assert set(report["timings"]) == set(expected["timings"]) == {"compose"}
    for differs in ("timings", "id", "created_at"):  # each composition its own
        del report[differs], expected[differs]
    assert report == expected
    assert report["mood"]["class_weights"] == {"Q1": 0.0, "Q2": 0.25, "Q3": 0.75, "Q4": 0.0}
    assert report["midi_path"] is None


def test_subprocess_compose_single_class(model_dir, tmp_path):  # noqa: F811
    out = tmp_path / "sad.mid"
    result = subprocess.run([str(MOODCHORDS), "compose", "--emotion", "Q3", "--key", "Em", "--seed", "5",
                             "--model", str(model_dir), "-o", str(out)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert "E minor" in result.stdout and f"wrote {out}" in result.stdout
    assert mido.MidiFile(out).type == 1


@pytest.mark.slow
def test_subprocess_compose_from_text_prints_only_its_result(tmp_path):
    """Nothing but the result on a terminal: no TensorFlow start-up lines, no model-loading bars."""
    out = tmp_path / "sad.mid"
    result = subprocess.run([str(MOODCHORDS), "compose", "make it sad and slow", "--seed", "1", "-o", str(out)],
                            capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout.strip().splitlines()[-1] == f"wrote {out}"


def test_describe_lists_chords_bar_by_bar():
    from assistant.music import Progression
    from models.vocabulary import ChordEvent

    progression = Progression.from_events([ChordEvent(0, 0, 0, 8), ChordEvent(9, 1, 9, 2), ChordEvent(7, 2, 7, 2)],
                                          7, "major", 96)
    assert describe(progression) == "G major, 96 BPM, 4/4: | G | % | Em D7 |"


@pytest.mark.slow
def test_text_is_read_by_the_mood_reader(model_dir, tmp_path, capsys):  # noqa: F811
    """The positional TEXT goes through the real assistant.language.MoodReader."""
    out = tmp_path / "sad.mid"
    code = main(["compose", "make it sad and slow, in D minor, 4 bars", "-o", str(out), "--seed", "2",
                 "--model", str(model_dir), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["progression"]["key"] == "D minor" and report["progression"]["bars"] == 4
    assert report["mood"]["valence"] < 0  # sad
    sad = report["mood"]["class_weights"]["Q3"] + report["mood"]["class_weights"]["Q2"]
    happy = report["mood"]["class_weights"]["Q1"] + report["mood"]["class_weights"]["Q4"]
    assert sad > happy
    assert out.exists() and report["midi_path"] == str(out)


def test_compose_prints_every_warning_of_the_request(model_dir, tmp_path, capsys):  # noqa: F811
    """What `mood` warns about, `compose` warns about too: one line each, in the CLI's format, and
    in the JSON report."""
    code = main(["compose", "happy at 400 bpm, 8.5 bars, in D major", "--seed", "1", "--model", str(model_dir),
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    expected = ["tempo 400 bpm ignored; allowed 20..300 bpm",
                "length 8.5 bars ignored; allowed whole numbers 1..256 bars"]
    assert captured.err.splitlines() == [f"moodchords compose: warning: {w}" for w in expected]
    report = json.loads(captured.out)
    assert report["warnings"] == expected and report["progression"]["key"] == "D major"


def test_compose_text_with_invalid_utf8_and_controls(model_dir, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "sad.mid"
    code = main(["compose", "a sad \udcff song\x00\x1b in D minor", "--seed", "1", "--model", str(model_dir),
                 "-o", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "D minor" in captured.out and out.exists()


def test_compose_refuses_an_over_long_request_before_loading(tmp_path, capsys):
    code = main(["compose", "in C" + " " * 100_000 + "x", "--model", str(tmp_path / "no-such-models")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("moodchords compose: error: request is 100,005 characters long")


def test_contradicting_key_and_mode_name_both_flags(tmp_path, capsys):
    code = main(["compose", "--emotion", "Q1", "--key", "Dm", "--mode", "major"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "--key 'Dm'" in err and "--mode 'major'" in err


def test_flag_key_wins_over_the_request_with_a_notice(model_dir, capsys):  # noqa: F811
    code = main(["compose", "a sad song in C major", "--key", "Bb minor", "--seed", "3", "--model", str(model_dir),
                 "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["progression"]["key"] == "Bb minor"
    assert report["effective"]["key"] == {"value": "Bb minor", "source": "flag"}
    assert report["effective"]["mode"] == {"value": "minor", "source": "flag"}
    notices = [line for line in captured.err.splitlines() if "overridden" in line]
    assert len(notices) == 1 and "C major" in notices[0] and "Bb minor" in notices[0]


def test_new_flags_reach_the_music_and_the_json(model_dir, capsys):  # noqa: F811
    code = main(["compose", "--emotion", "Q4", "--metre", "6/8", "--form", "loop", "--loop-bars", "2",
                 "--intensity", "0.9", "--bars", "8", "--seed", "4", "--model", str(model_dir), "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    report = json.loads(captured.out)
    assert report["progression"]["metre"] == "6/8" and report["progression"]["beats_per_bar"] == 3
    assert report["progression"]["bars"] == 8
    assert report["form"] == "loop" and report["intensity"] == 0.9
    sources = {name: entry["source"] for name, entry in report["effective"].items()}
    assert sources == {"key": "mood", "mode": "mood", "tempo": "mood", "bars": "flag", "metre": "flag",
                       "form": "flag", "instrument": "mood", "intensity": "flag"}
    assert report["progression"]["tempo_bpm"] <= 100  # Q4 is calm: the plan's tempo, never a sampled one


def test_unsupported_metre_and_unknown_key_in_words_are_warned(model_dir, capsys):  # noqa: F811
    code = main(["compose", "a calm song in H major, in 5/4", "--seed", "1", "--model", str(model_dir)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    warnings = [line for line in captured.err.splitlines() if "warning" in line]
    assert any("'H major'" in w and "not understood" in w for w in warnings), captured.err
    assert any("5/4" in w and "4/4, 3/4, 6/8" in w for w in warnings), captured.err
    assert ", 4/4:" in captured.out


@pytest.mark.parametrize("given, number, name", [
    ("strings", 49, "String Ensemble 1"), ("acoustic grand piano", 1, "Acoustic Grand Piano"),
    ("49", 49, "String Ensemble 1"), ("church", 20, "Church Organ"), ("Acoustic Guitar (nylon)", 25,
                                                                      "Acoustic Guitar (nylon)")])
def test_subprocess_instrument_by_gm_number_or_name(given, number, name, model_dir, tmp_path):  # noqa: F811
    """--instrument takes GM's 1..128 (as the window shows) or a name; the text line, the JSON and the
    MIDI file agree (the file carries the 0-based program byte, number - 1)."""
    out = tmp_path / "x.mid"
    command = [str(MOODCHORDS), "compose", "--emotion", "Q4", "--bars", "2", "--seed", "3", "--model", str(model_dir),
               "--instrument", given, "-o", str(out)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert f"instrument: {number} {name};" in result.stdout
    assert [m.program for m in mido.MidiFile(out).tracks[1] if m.type == "program_change"] == [number - 1]
    result = subprocess.run([*command, "--json"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    report = json.loads(result.stdout)
    assert report["arrangement"]["instrument"] == {"number": number, "name": name}
    assert report["arrangement"]["program"] == number - 1


def test_subprocess_unknown_instrument_lists_close_matches():
    result = subprocess.run([str(MOODCHORDS), "compose", "--emotion", "Q1", "--instrument", "vilin"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'vilin' unknown" in lines[0] and "Violin" in lines[0]


def test_subprocess_request_not_in_english_says_so_in_one_line(model_dir, tmp_path):  # noqa: F811
    """Issue 16: "triste et lente" came out happy. Now one stderr line says requests are read in English,
    and the mood is neutral (uniform class weights)."""
    result = subprocess.run([str(MOODCHORDS), "compose", "triste et lente", "--seed", "1", "--bars", "2", "--json",
                             "--model", str(model_dir)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "read in English" in line]
    assert notices == ["moodchords compose: warning: the request looks French; requests are read in English, "
                       "so its mood is read as neutral (explicit settings such as a tempo still apply)"]
    report = json.loads(result.stdout)
    assert report["mood"]["keywords"] == [] and set(report["mood"]["class_weights"].values()) == {0.25}


def _speak(path: Path, words: str) -> Path:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-w", str(path), words], check=True, timeout=60)
    return path


def test_subprocess_compose_an_audio_file_transcribes_it(model_dir, tmp_path):  # noqa: F811
    """Issue 16: `compose speech.wav` read the path as mood words. Now the file is transcribed (the
    Assistant's audio path, as listen) and the words heard are composed: a slow request comes out slow."""
    wav = _speak(tmp_path / "speech.wav", "a slow sad piece at 60 bpm on strings")
    out = tmp_path / "out.mid"
    result = subprocess.run([str(MOODCHORDS), "compose", str(wav), "--seed", "1", "--bars", "2", "--json",
                             "--model", str(model_dir), "-o", str(out)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    heard = report["transcript"].lower()  # espeak through tiny.en: "that's all sad, the sad 60 bpm on the strings."
    assert "sad" in heard and "60" in heard and "strings" in heard and report["request_text"] == report["transcript"]
    assert report["progression"]["tempo_bpm"] == 60 and report["arrangement"]["instrument"]["number"] == 49
    assert "speech" not in report["mood"]["keywords"] and "wav" not in report["mood"]["keywords"]
    assert report["effective"]["tempo"]["source"] == "request" and mido.MidiFile(out).type == 1
    assert f"heard: {report['transcript']}" in result.stderr


@pytest.mark.parametrize("given, word", [("speech.wav", "does not exist"), ("take.MP3", "does not exist")])
def test_subprocess_missing_audio_file_is_refused_not_read_as_words(given, word, tmp_path):
    result = subprocess.run([str(MOODCHORDS), "compose", given], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and word in lines[0] and "listen" in lines[0] and repr(given) in lines[0]


def test_subprocess_unreadable_audio_file_is_exit_2(tmp_path):
    bad = tmp_path / "noise.wav"
    bad.write_bytes(b"not a wave file at all" * 10)
    result = subprocess.run([str(MOODCHORDS), "compose", str(bad)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and str(bad) in result.stderr


def test_subprocess_text_with_emotion_says_the_precedence(model_dir, tmp_path):  # noqa: F811
    """TEXT + --emotion: the weights replace the words' mood, the words' settings still apply; one line says so."""
    result = subprocess.run([str(MOODCHORDS), "compose", "a happy song at 70 bpm", "--emotion", "Q3", "--seed", "2",
                             "--bars", "2", "--json", "--model", str(model_dir)], capture_output=True, text=True,
                            timeout=300, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    notices = [line for line in result.stderr.splitlines() if "--emotion" in line]
    assert notices == ["moodchords compose: warning: --emotion Q3 replaces the mood read from the text; its "
                       "settings (tempo, key, instrument ...) still apply"]
    report = json.loads(result.stdout)
    assert report["mood"]["class_weights"] == {"Q1": 0.0, "Q2": 0.0, "Q3": 1.0, "Q4": 0.0}
    assert report["progression"]["tempo_bpm"] == 70
    alone = subprocess.run([str(MOODCHORDS), "compose", "--emotion", "Q3", "--seed", "2", "--bars", "2",
                            "--model", str(model_dir)], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert alone.returncode == 0 and "--emotion" not in alone.stderr  # no notice without TEXT


def test_help_documents_audio_and_emotion_precedence():
    result = subprocess.run([str(MOODCHORDS), "compose", "--help"], capture_output=True, text=True, timeout=120)
    text = " ".join(result.stdout.split())
    assert "existing audio file" in text and "replace the mood read from the words" in text
    assert "GM number 1..128" in text or "number 1..128" in text
