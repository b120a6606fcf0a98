"""`moodchords train` and `moodchords classify` end to end on a user's folder of labelled MIDI files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.model_folder import load_model_set
from tests.support.labelled_midis import write_labelled_folder


@pytest.mark.slow
def test_train_and_classify_commands_on_a_user_folder(tmp_path, capsys):
    from assistant.cli import main

    data = write_labelled_folder(tmp_path / "midis", bright=3, dark=3)
    (data / "broken_0.mid").write_bytes(b"not a midi file")
    out = tmp_path / "model"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "2", "--pretrain-epochs", "3",
                 "--cv-folds", "0", "--hidden", "8", "--history", "2", "--no-pop909"]) == 0
    shown = capsys.readouterr().err
    assert "100%|" in shown and "left" in shown and "‰" not in shown and "/1000" not in shown  # a percentage bar
    skipped = [line for line in shown.splitlines() if "warning" in line]
    assert len(skipped) == 1 and skipped[0].startswith("moodchords train: warning: skipped 1 of 7 MIDI files in ")
    assert "broken_0.mid: corrupt MIDI file" in skipped[0] and "UserWarning" not in shown
    model_set = load_model_set(out)
    assert model_set.class_names == ("bright", "dark")
    assert all(c.valence is None for c in model_set.classes)
    card = (out / "MODEL_CARD.md").read_text()
    assert "moodchords train" in card and "bright" in card and "only breaks ties" not in card
    capsys.readouterr()
    assert main(["classify", str(data / "bright_1.mid"), str(data / "dark_2.mid"), str(data / "broken_0.mid"),
                 "--model", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["valence_bias_per_chord"] == 0.0  # classes without coordinates: no valence side
    by_file = {Path(r["file"]).name: r for r in report["results"]}
    assert "error" in by_file["broken_0.mid"]
    for name in ("bright_1.mid", "dark_2.mid"):
        scores = by_file[name]["classes"]
        assert set(scores) == {"bright", "dark"}
        for s in scores.values():
            assert s["combined"] == pytest.approx(report["harmony_weight"] * s["harmony"] + s["performance"], abs=1e-3)
    assert by_file["bright_1.mid"]["predicted"] == "bright" and by_file["dark_2.mid"]["predicted"] == "dark"
    assert main(["classify", str(data / "broken_0.mid"), "--model", str(out)]) == 2
    assert main(["classify", str(data / "bright_1.mid"), "--model", str(tmp_path / "nowhere")]) == 2


def _tiny_pop909(root: Path, good: int = 2) -> Path:
    """A POP909-shaped folder: ``good`` readable songs (I-vi-IV-V in C, two beats a chord) and song
    003 with an unreadable chord file; every other song of 001-700 is missing."""
    from tests.test_pop909 import write_song

    loop = ["C:maj", "A:min", "F:maj", "G:7"]
    chords = [(2 * i, 2 * i + 2, loop[i % 4]) for i in range(32)]
    for number in range(1, good + 1):
        write_song(root / f"{number:03d}", chords, [(0, 64, "C:maj")], beats=65)
    bad = write_song(root / "003", chords, [(0, 64, "C:maj")], beats=65)
    (bad / "chord_midi.txt").write_text("0.0 nonsense\n")
    return root


@pytest.mark.slow
def test_train_with_pop909_ships_the_pop_expert_and_the_harmonic_rhythm(tmp_path, capsys, monkeypatch):
    from assistant.cli import main
    from models.generation import GenerationOptions, generate

    monkeypatch.setenv("MOODCHORDS_CACHE_DIR", str(tmp_path / "cache"))
    data = write_labelled_folder(tmp_path / "midis", bright=3, dark=3)
    pop = _tiny_pop909(tmp_path / "pop909")
    out = tmp_path / "model"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "2", "--pretrain-epochs", "3",
                 "--cv-folds", "0", "--hidden", "8", "--history", "2", "--pop909", str(pop), "--pop-epochs", "3"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "POP909" in line and "warning" in line]
    assert len(warnings) == 1 and "skipped 698 POP909 song(s)" in warnings[0] and "003" in warnings[0]
    assert "pop expert: 2 POP909 songs" in captured.out
    assert (out / "pop_expert.npz").is_file() and (out / "harmonic_rhythm.json").is_file()
    model_set = load_model_set(out)
    assert model_set.pop_weights is not None and model_set.harmonic_rhythm is not None
    assert model_set.config["pop_expert"]["songs_read"] == 2 and model_set.config["pop_expert"]["license"] == "MIT"
    card = (out / "MODEL_CARD.md").read_text()
    assert "POP909" in card and "MIT" in card and "001-700" in card
    # the POP909 rhythm (two beats a chord) now shapes generation: chords start on beats 1 or 3
    for seed in range(4):
        g = generate(model_set, {"bright": 1.0}, GenerationOptions(bars=8), seed=seed)
        onsets = [sum(e.beats for e in g.events[:i]) for i in range(len(g.events))]
        assert all(onset % 2 == 0 for onset in onsets) and g.events[-1].beats >= 4
    # training again over it replaces it (the extra files are part of a model folder)
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--pretrain-epochs", "1",
                 "--cv-folds", "0", "--hidden", "8", "--history", "2", "--no-pop909"]) == 0
    assert not (out / "pop_expert.npz").exists() and load_model_set(out).pop_weights is None


def test_train_refuses_a_pop909_without_a_readable_song(tmp_path, capsys, monkeypatch):
    from assistant.cli import main

    monkeypatch.setenv("MOODCHORDS_CACHE_DIR", str(tmp_path / "cache"))
    data = write_labelled_folder(tmp_path / "midis", bright=2, dark=0)
    pop = _tiny_pop909(tmp_path / "pop909", good=0)
    out = tmp_path / "model"
    args = ["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--pretrain-epochs", "1",
            "--cv-folds", "0", "--hidden", "8", "--history", "2"]
    assert main(args + ["--pop909", str(pop)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("moodchords")]
    assert len(err) == 1 and "no POP909 song could be read" in err[0] and "001" in err[0]
    assert main(args + ["--pop909", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert not out.exists()  # nothing written


def _emopia_shaped(root: Path) -> Path:
    """An EMOPIA-shaped folder (midis/, train_clip.csv, val_clip.csv): two songs per quadrant class."""
    from tests.support.labelled_midis import MAJOR_LOOP, MINOR_LOOP, write_midi_loop

    (root / "midis").mkdir(parents=True)
    styles = {"Q1": (MAJOR_LOOP, 100, 0.5), "Q2": (MINOR_LOOP, 100, 0.5), "Q3": (MINOR_LOOP, 40, 1.5),
              "Q4": (MAJOR_LOOP, 40, 1.5)}
    names = []
    for label, (loop, velocity, seconds) in styles.items():
        for song in range(2):
            names.append(f"{label}_song{label}{song}_0.mid")
            write_midi_loop(root / "midis" / names[-1], loop, velocity=velocity, seconds_per_chord=seconds)
    (root / "train_clip.csv").write_text("clip_name\n" + "\n".join(names) + "\n")
    (root / "val_clip.csv").write_text("clip_name\n" + "\n".join(names[::2]) + "\n")
    return root


@pytest.mark.slow
def test_train_fits_no_classifier_setting_for_quadrant_classes(tmp_path, capsys, monkeypatch):
    """Quadrant classes (EMOPIA's): valence from the harmony, arousal from the performance, nothing
    fitted, so no cross-validation runs (a CV-fitted valence bias cost accuracy in a nested CV on
    EMOPIA train: bench/classifier_committee.py); an explicit --cv-folds gets a one-line note."""
    from assistant.cli import main

    monkeypatch.setenv("MOODCHORDS_CACHE_DIR", str(tmp_path / "cache"))
    data = _emopia_shaped(tmp_path / "emopia")
    out = tmp_path / "model"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--pretrain-epochs", "1",
                 "--cv-folds", "3", "--hidden", "8", "--history", "2", "--no-pop909"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if "note:" in line]
    assert len(notes) == 1 and "--cv-folds 3 not used" in notes[0]
    model_set = load_model_set(out)
    classification = json.loads((out / "config.json").read_text())["classification"]
    assert classification["cv_folds"] == 0 and classification["cv_accuracy_by_weight"] == {}
    assert "valence_bias_per_chord" not in classification and model_set.valence_bias_per_chord == 0.0
    assert model_set.class_names == ("Q1", "Q2", "Q3", "Q4") and model_set.classes[0].valence is not None
    card = (out / "MODEL_CARD.md").read_text()
    assert "not fitted" in card and "valence_bias_per_chord" not in card
    assert "combined" in json.loads((out / "config.json").read_text())["validation"]["classification"]


def test_train_cross_validates_classes_without_coordinates_by_default(tmp_path, capsys):
    """Classes that are not quadrants still choose their harmony weight by a 3-fold song CV by
    default: one song per class cannot be split into folds, refused before any training."""
    from assistant.cli import main

    data = write_labelled_folder(tmp_path / "midis", bright=1, dark=1)
    out = tmp_path / "model"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "1", "--pretrain-epochs", "1",
                 "--hidden", "8", "--history", "2", "--no-pop909"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("moodchords")]
    assert len(err) == 1 and "--cv-folds 3 holds out every song once" in err[0]
    for folds in ("-1", "21"):
        assert main(["train", "--data", str(data), "--out", str(out), "--cv-folds", folds, "--no-pop909"]) == 2
        err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("moodchords")]
        assert len(err) == 1 and f"--cv-folds {folds} not allowed; allowed: 0..20" in err[0]
    assert not out.exists()
