"""`moodchords train` and `moodchords classify` end to end on a user's folder of labelled MIDI files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.model_folder import load_model_set
from tests.support.labelled_midis import MAJOR_LOOP, MINOR_LOOP, write_midi_loop


def test_train_and_classify_commands_on_a_user_folder(tmp_path, capsys):
    from assistant.cli import main

    data = tmp_path / "midis"
    data.mkdir()
    for i in range(3):
        write_midi_loop(data / f"bright_{i}.mid", MAJOR_LOOP, velocity=95, seconds_per_chord=0.5)
        write_midi_loop(data / f"dark_{i}.mid", MINOR_LOOP, velocity=45, seconds_per_chord=1.5)
    (data / "broken_0.mid").write_bytes(b"not a midi file")
    out = tmp_path / "model"
    assert main(["train", "--data", str(data), "--out", str(out), "--epochs", "2", "--pretrain-epochs", "3",
                 "--cv-folds", "0", "--hidden", "8", "--history", "2"]) == 0
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
