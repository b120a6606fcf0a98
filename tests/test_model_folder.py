"""The model-folder format (models.model_folder): save/load round trip, file errors, class-weight
validation, load time, and an output path that is never destroyed (`train --out`, save_model_set)."""
from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from models.classification import class_rhythm_log_likelihood, harmony_log_likelihoods, log_likelihoods  # noqa: E402
from models.crbm import CHORD_LAYOUT  # noqa: E402
from models.emotion_classes import EMOPIA_CLASSES, class_info  # noqa: E402
from models.errors import InvalidModelInput, ModelFileError  # noqa: E402
from models.model_folder import (check_output_folder, default_model_dir, is_model_folder, load_model_set,  # noqa: E402
                                 model_set_from_class_models, save_model_set)
from models.training import train_class_models  # noqa: E402
from tests.support import tiny_models  # noqa: E402
from tests.support.labelled_midis import write_labelled_folder  # noqa: E402
from tests.support.tiny_models import TINY, synthetic_clips  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_set():
    return tiny_models.tiny_model_set()


def test_save_load_round_trip(tmp_path, tiny_model_set):
    model_set, clips = tiny_model_set
    out = save_model_set(model_set, tmp_path / "tiny")
    assert sorted(p.name for p in out.iterdir()) == ["class_down.npz", "class_up.npz", "config.json"]
    loaded = load_model_set(out)
    assert loaded.class_names == ("down", "up")
    assert loaded.classes[1].description == "bright" and loaded.classes[1].valence == 0.5
    assert loaded.classes[0].description == "down" and loaded.classes[0].valence is None  # user data: no coordinates
    for name in model_set.class_names:
        for key, value in model_set.parameters[name].weights.items():
            assert np.array_equal(value, loaded.parameters[name].weights[key])
    clip = clips["up"][0]
    before = log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode)
    after = log_likelihoods(loaded, clip.events, clip.performance, mode=clip.mode)
    assert before == after
    # the class models tell the classes apart on their own data
    assert after["up"].combined > after["down"].combined
    down = log_likelihoods(loaded, clips["down"][0].events, clips["down"][0].performance)
    assert down["down"].harmony > down["up"].harmony
    assert down["down"].performance > down["up"].performance


def test_joint_history_model_round_trip_and_exact_harmony(tmp_path):
    """A model set whose CRBMs also see the joint one-hot of the previous chord: saved, checked
    (the weight shapes follow joint_history), loaded, and scored exactly like its CRBMs."""
    import tensorflow as tf

    from models.crbm import chord_visible

    clips = synthetic_clips(per_class=4)
    config = replace(TINY, joint_history=1, joint_weight_decay=1e-3)
    models = train_class_models(clips, config)
    assert models["up"].weights["A"].shape == (2 * (CHORD_LAYOUT.n_visible + 1) + CHORD_LAYOUT.n_states, CHORD_LAYOUT.n_visible)
    model_set = model_set_from_class_models(name="joint", layout=CHORD_LAYOUT.to_json(), hyperparameters=config.to_json(),
                                            class_models=models)
    loaded = load_model_set(save_model_set(model_set, tmp_path / "joint"))
    assert loaded.joint_history == 1 and loaded.crbm("up").joint_history == 1
    clip = clips["down"][0]
    harmony = harmony_log_likelihoods(loaded, clip.events)
    rbm = loaded.crbm("down")
    visible = chord_visible(clip.events)
    exact = float(tf.reduce_sum(rbm.log_likelihood(tf.constant(visible), tf.constant(rbm.history_matrix(visible)))))
    assert harmony["down"] == pytest.approx(exact + class_rhythm_log_likelihood(loaded, "down", clip.events), abs=1e-3)
    assert harmony["down"] > harmony["up"]
    # A folder whose config claims no joint history no longer matches the weights: a clear file error.
    data = json.loads((tmp_path / "joint" / "config.json").read_text())
    data["hyperparameters"]["joint_history"] = 0
    (tmp_path / "joint" / "config.json").write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match="class_down.npz"):
        load_model_set(tmp_path / "joint")


def test_save_replaces_an_existing_folder_atomically(tmp_path, tiny_model_set):
    model_set, _ = tiny_model_set
    out = save_model_set(model_set, tmp_path / "m")
    (out / "class_up.npz").write_bytes(b"an older model's weights")
    save_model_set(model_set, out)  # a model folder is replaced whole
    assert load_model_set(out).class_names == model_set.class_names
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp folders left
    (out / "stale.txt").write_text("a user's file")  # no longer only a model folder: never deleted
    with pytest.raises(InvalidModelInput, match="exists and is not a model folder"):
        save_model_set(model_set, out)
    assert (out / "stale.txt").read_text() == "a user's file"


@pytest.mark.parametrize("damage, file_name", [
    ("delete_config", "config.json"), ("corrupt_config", "config.json"), ("delete_weights", "class_up.npz"),
    ("corrupt_weights", "class_up.npz"), ("wrong_shape", "class_up.npz"), ("missing_entry", "config.json"),
])
def test_missing_or_corrupt_files_name_the_file(tmp_path, tiny_model_set, damage, file_name):
    model_set, _ = tiny_model_set
    out = save_model_set(model_set, tmp_path / "tiny")
    config = out / "config.json"
    if damage == "delete_config":
        config.unlink()
    elif damage == "corrupt_config":
        config.write_text("{not json")
    elif damage == "delete_weights":
        (out / "class_up.npz").unlink()
    elif damage == "corrupt_weights":
        (out / "class_up.npz").write_bytes(b"PK\x03\x04 garbage")
    elif damage == "wrong_shape":
        np.savez(out / "class_up.npz", W=np.zeros((2, 2)), b=np.zeros(2), c=np.zeros(2), A=np.zeros((2, 2)), B=np.zeros((2, 2)))
    elif damage == "missing_entry":
        data = json.loads(config.read_text())
        del data["classes"][0]["performance_profile"]
        config.write_text(json.dumps(data))
    with pytest.raises(ModelFileError, match=file_name.replace(".", r"\.")):
        load_model_set(out)


def _with_pop_expert(tiny_model_set):
    """The tiny set rebuilt with a pop expert (its first class's weights) and a small harmonic rhythm."""
    from models.harmonic_rhythm import METRES, TEMPO_EDGES, HarmonicRhythm, max_beats
    from models.model_folder import model_set_from_class_models
    from models.training import train_class_models  # noqa: F811 (the module's import, named here for clarity)

    model_set, clips = tiny_model_set
    counts = {m: np.ones((len(TEMPO_EDGES) + 1, bpb, 4, max_beats(bpb))) for m, bpb in METRES.items()}
    counts["4/4"][..., 1] += 50  # mostly two-beat chords
    first = model_set.parameters[model_set.class_names[0]].weights
    pop_notes = {"data": "POP909", "license": "MIT", "songs": "001-700"}
    hyper = model_set.config["hyperparameters"]
    models = train_class_models(clips, replace(TINY, epochs=1, pretrain_epochs=1))
    return model_set_from_class_models(name="tiny-pop", layout=CHORD_LAYOUT.to_json(), hyperparameters=hyper,
                                       class_models=models, pop_expert=(first, pop_notes),
                                       harmonic_rhythm=HarmonicRhythm(counts))


def test_pop_expert_and_harmonic_rhythm_round_trip_and_are_checked(tmp_path, tiny_model_set):
    from models.generation import GenerationOptions, generate

    with_pop = _with_pop_expert(tiny_model_set)
    out = save_model_set(with_pop, tmp_path / "pop")
    assert sorted(p.name for p in out.iterdir()) == ["class_down.npz", "class_up.npz", "config.json",
                                                      "harmonic_rhythm.json", "pop_expert.npz"]
    assert is_model_folder(out)
    loaded = load_model_set(out)
    for key, value in with_pop.pop_weights.items():
        assert np.array_equal(value, loaded.pop_weights[key])
    assert loaded.harmonic_rhythm.counts["4/4"].tolist() == with_pop.harmonic_rhythm.counts["4/4"].tolist()
    experts, has_pop = loaded.generation_experts()
    assert has_pop and int(experts.b.shape[0]) == len(loaded.class_names) + 1
    g = generate(loaded, {"up": 1.0}, GenerationOptions(bars=4), seed=1)
    assert sum(e.beats for e in g.events) == 16
    # an older folder (neither file) still loads and generates
    older = save_model_set(tiny_model_set[0], tmp_path / "older")
    plain = load_model_set(older)
    assert plain.pop_weights is None and plain.harmonic_rhythm is None and plain.generation_experts()[1] is False
    # damage: each names the file
    pop_file, rhythm_file = out / "pop_expert.npz", out / "harmonic_rhythm.json"
    good_pop, good_rhythm = pop_file.read_bytes(), rhythm_file.read_text()
    np.savez(pop_file, W=np.zeros((3, 3)), b=np.zeros(3), c=np.zeros(3), A=np.zeros((3, 3)), B=np.zeros((3, 3)))
    with pytest.raises(ModelFileError, match="pop_expert.npz"):
        load_model_set(out)
    pop_file.write_bytes(good_pop)
    for bad in ("{", json.dumps({"format": "moodchords-harmonic-rhythm/2"}),
                good_rhythm.replace("[1.0", "[-1.0").replace("[1,", "[-1,", 1)):
        rhythm_file.write_text(bad)
        with pytest.raises(ModelFileError, match="harmonic_rhythm.json"):
            load_model_set(out)
    rhythm_file.unlink()
    with pytest.raises(ModelFileError, match="harmonic_rhythm.json"):
        load_model_set(out)


def test_missing_folder_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError, match="nowhere"):
        load_model_set(tmp_path / "nowhere")


def test_validate_weights(tiny_model_set):
    model_set, _ = tiny_model_set
    assert model_set.validate_weights({"up": 3, "down": 1}) == {"down": 0.25, "up": 0.75}
    assert model_set.validate_weights({"up": 2}) == {"down": 0.0, "up": 1.0}
    with pytest.raises(InvalidModelInput, match=r"'sideways'.*\['down', 'up'\]"):
        model_set.validate_weights({"sideways": 1})
    with pytest.raises(InvalidModelInput, match=r"-1.*'up'"):
        model_set.validate_weights({"up": -1, "down": 2})
    with pytest.raises(InvalidModelInput, match="sum to zero"):
        model_set.validate_weights({"up": 0, "down": 0})
    with pytest.raises(InvalidModelInput, match="nan"):
        model_set.validate_weights({"up": float("nan")})
    with pytest.raises(InvalidModelInput, match="not a number"):
        model_set.validate_weights({"up": "lots"})


def test_shipped_model_loads_fast_and_has_emopia_classes():
    started = time.perf_counter()
    model_set = load_model_set()
    seconds = time.perf_counter() - started
    assert seconds < 1.0
    assert [(c.name, c.description, c.valence, c.arousal) for c in model_set.classes] == [
        (name, *class_info(EMOPIA_CLASSES)[name]) for name in ("Q1", "Q2", "Q3", "Q4")]
    assert (default_model_dir() / "MODEL_CARD.md").read_text().count("CC BY-NC-SA 4.0") >= 1
    total = sum(p.stat().st_size for p in default_model_dir().iterdir())
    assert total < 10_000_000  # five CRBMs (the 4 classes and the POP909 pop expert), ~1.6 MB each


def test_shipped_model_card_is_the_one_its_config_gives():
    from assistant.commands.train import model_card

    card = (default_model_dir() / "MODEL_CARD.md").read_text()
    command = "moodchords train --data ../shared/data/emopia --pop909 ../shared/data/pop909 --out models/emopia"
    assert card == model_card(load_model_set().config, command)
    assert "only breaks ties" in card  # quadrant classes: the harmony weight is not what decides
    assert "POP909" in card and "MIT" in card and "001-700" in card  # the pop expert's data and its license


# --- the output path: `train --out` and save_model_set never destroy what is there (issue 18, item 1)

TRAIN_FAST = ["--epochs", "1", "--pretrain-epochs", "1", "--cv-folds", "0", "--hidden", "8", "--history", "2",
              "--no-pop909"]


def _user_folder(folder: Path) -> Path:
    write_labelled_folder(folder, bright=2, dark=2)
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


def test_is_model_folder_reads_config_json_as_loading_does(tmp_path):
    """is_model_folder reads config.json with model_config.parse_config, the loader's own reader: a
    FIFO named config.json is refused at once (reading it would block) and an oversized one unread."""
    from models.model_config import MAX_CONFIG_BYTES

    piped = tmp_path / "piped"
    piped.mkdir()
    os.mkfifo(piped / "config.json")
    started = time.monotonic()
    assert not is_model_folder(piped)
    assert time.monotonic() - started < 5
    huge = tmp_path / "huge"
    huge.mkdir()
    with open(huge / "config.json", "wb") as file:
        file.truncate(MAX_CONFIG_BYTES + 1)  # sparse: no 16 MB written
    assert not is_model_folder(huge)
