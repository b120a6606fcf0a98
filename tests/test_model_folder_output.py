"""`train --out` and save_model_set never destroy what is at the output path (issue 18, item 1)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from models.errors import InvalidModelInput
from models.model_folder import check_output_folder, is_model_folder, load_model_set, save_model_set
from tests.support.labelled_midis import MAJOR_LOOP, MINOR_LOOP, write_midi_loop

TRAIN_FAST = ["--epochs", "1", "--pretrain-epochs", "1", "--cv-folds", "0", "--hidden", "8", "--history", "2"]


def _user_folder(folder: Path) -> Path:
    folder.mkdir()
    for i in range(2):
        write_midi_loop(folder / f"bright_{i}.mid", MAJOR_LOOP, velocity=95, seconds_per_chord=0.5)
        write_midi_loop(folder / f"dark_{i}.mid", MINOR_LOOP, velocity=45, seconds_per_chord=1.5)
    (folder / "notes.txt").write_text("my notes")
    return folder


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_train_refuses_an_out_folder_that_holds_other_files_and_keeps_them(tmp_path, capsys):
    from assistant.cli import main

    data = _user_folder(tmp_path / "v")
    before = _snapshot(data)
    assert main(["train", "--data", str(data), "--out", str(data), *TRAIN_FAST]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"moodchords: {data} exists and is not a model folder; choose an empty or new folder"] or \
        (len(err) == 1 and "exists and is not a model folder; choose an empty or new folder" in err[0])
    assert _snapshot(data) == before
    assert not list(tmp_path.glob(".v.*"))  # no staging or checkpoint folder left beside it


def test_train_refuses_a_plain_file_as_out(tmp_path, capsys):
    from assistant.cli import main

    data = _user_folder(tmp_path / "v")
    plain = tmp_path / "model.txt"
    plain.write_text("keep me")
    assert main(["train", "--data", str(data), "--out", str(plain), *TRAIN_FAST]) == 2
    assert "exists and is not a model folder" in capsys.readouterr().err
    assert plain.read_text() == "keep me"


def test_train_replaces_an_earlier_model_folder_and_an_empty_one(tmp_path):
    from assistant.cli import main

    data = _user_folder(tmp_path / "v")
    out = tmp_path / "model"
    out.mkdir()  # an empty folder is fine
    assert main(["train", "--data", str(data), "--out", str(out), *TRAIN_FAST]) == 0
    assert is_model_folder(out)
    first = json.loads((out / "config.json").read_text())
    assert main(["train", "--data", str(data), "--out", str(out), *TRAIN_FAST, "--seed", "7"]) == 0
    assert is_model_folder(out) and load_model_set(out).class_names == ("bright", "dark")
    assert json.loads((out / "config.json").read_text()) != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "v"]  # nothing staged left behind

    (out / "notes.txt").write_text("a user's file inside a model folder")  # no longer only ours
    assert not is_model_folder(out)
    with pytest.raises(InvalidModelInput, match="is not a model folder"):
        check_output_folder(out)


def test_save_model_set_swaps_atomically_and_refuses_foreign_folders(tmp_path):
    shipped = load_model_set()
    out = save_model_set(shipped, tmp_path / "copy")
    inode_before = os.stat(out / "config.json").st_ino
    save_model_set(load_model_set(out), out)  # replace a model folder with a model folder
    assert os.stat(out / "config.json").st_ino != inode_before
    assert load_model_set(out).class_names == shipped.class_names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]

    foreign = tmp_path / "photos"
    foreign.mkdir()
    (foreign / "cat.jpg").write_bytes(b"\xff\xd8")
    with pytest.raises(InvalidModelInput, match="photos exists and is not a model folder"):
        save_model_set(shipped, foreign)
    assert (foreign / "cat.jpg").read_bytes() == b"\xff\xd8"
    link = tmp_path / "link"
    link.symlink_to(out)
    with pytest.raises(InvalidModelInput, match="is not a model folder"):
        save_model_set(shipped, link)  # never replace through a symlink


def test_a_swap_killed_between_its_renames_is_put_back(tmp_path):
    shipped = load_model_set()
    out = save_model_set(shipped, tmp_path / "model")
    # What a kill between "old aside" and "new into place" leaves: the model in .model.old-X/model.
    stash = tmp_path / ".model.old-abc123"
    stash.mkdir()
    os.replace(out, stash / "model")
    half_written = tmp_path / ".model.tmp-def456"
    half_written.mkdir()
    (half_written / "class_Q1.npz").write_bytes(b"partial")
    assert check_output_folder(out) == out
    assert is_model_folder(out) and load_model_set(out).class_names == shipped.class_names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_a_deeply_nested_config_at_out_is_not_a_model_folder(tmp_path):
    out = tmp_path / "odd"
    out.mkdir()
    (out / "config.json").write_text("[" * 100_000 + "]" * 100_000)
    assert not is_model_folder(out)
    with pytest.raises(InvalidModelInput, match="is not a model folder"):
        check_output_folder(out)
