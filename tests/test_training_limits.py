"""TrainingConfig.validate checks every hyperparameter against the model-folder loader's caps
(models.model_config), so `moodchords train` never writes a folder that will not load."""
from __future__ import annotations

import copy
import json
from dataclasses import replace

import pytest

from models.crbm import CHORD_LAYOUT
from models.errors import InvalidModelInput, ModelConfigError
from models.model_config import MAX_TOTAL_PARAMETERS, validate_config
from models.training import TrainingConfig, largest_hidden, parameters_per_model
from tests.support import tiny_models

BASE = TrainingConfig.for_chords()


@pytest.mark.parametrize("changes, words", [
    ({"n_hidden": 4097}, "n_hidden=4097 not allowed; allowed: 1..4096"),
    ({"n_hidden": 0}, "n_hidden=0 not allowed; allowed: >= 1"),
    ({"history": 65}, "history=65 not allowed; allowed: 0..64"),
    ({"joint_history": 13}, "joint_history=13 not allowed; allowed: 0..12"),
    ({"k": 10_001}, "k=10001 not allowed; allowed: 1..10000"),
    ({"momentum_final": 1.5}, "momentum_final=1.5 not allowed; allowed: 0..1"),
    ({"weight_decay": -0.1}, "weight_decay=-0.1 not allowed; allowed: 0..1000000"),
    ({"joint_weight_decay": float("nan")}, "joint_weight_decay=nan not allowed"),
    ({"epochs": 10**9 + 1}, "epochs=1000000001 not allowed; allowed: 1..1000000000"),
])
def test_values_outside_the_loaders_range_are_refused(changes, words):
    with pytest.raises(InvalidModelInput, match=words.replace("(", r"\(").replace(".", r"\.").replace("+", r"\+")):
        replace(BASE, **changes).validate()


def _folder_config(config: TrainingConfig, n_classes: int) -> dict:
    """The tiny model set's config.json with these hyperparameters and this many classes (what train writes)."""
    model_set, _ = tiny_models.tiny_model_set()
    folder = copy.deepcopy(model_set.config)
    folder["hyperparameters"] = json.loads(json.dumps(config.to_json()))
    folder["classes"] = [dict(folder["classes"][0], name=f"c{i}", weights_file=f"class_c{i}.npz") for i in range(n_classes)]
    return folder


@pytest.mark.parametrize("n_classes", [1, 4, 64])
def test_validate_accepts_exactly_what_the_loader_accepts(tmp_path, n_classes):
    """At the parameter budget's edge (the largest n_hidden and one more) and at the history caps, train's
    check and the loader's agree."""
    largest = largest_hidden(CHORD_LAYOUT, BASE.history, BASE.joint_history, n_classes)
    assert parameters_per_model(CHORD_LAYOUT, largest, 4, 2) * n_classes <= MAX_TOTAL_PARAMETERS
    candidates = [replace(BASE, n_hidden=min(largest, 4096)), replace(BASE, n_hidden=largest + 1),
                  replace(BASE, n_hidden=8, history=64, joint_history=12), replace(BASE, n_hidden=8, history=64, joint_history=13)]
    for config in candidates:
        try:
            config.validate(n_models=n_classes)
            trains = True
        except InvalidModelInput:
            trains = False
        try:
            validate_config(_folder_config(config, n_classes), tmp_path / "config.json")
            loads = True
        except ModelConfigError:
            loads = False
        assert trains == loads or (trains is False and config.joint_history == 13), (config, n_classes, trains, loads)


def test_train_refuses_a_network_larger_than_a_folder_may_hold(tmp_path, capsys):
    from assistant.cli import main
    from tests.support.labelled_midis import write_labelled_folder

    data = write_labelled_folder(tmp_path / "midis", bright=2, dark=2)
    out = tmp_path / "model"
    assert main(["train", "--data", str(data), "--out", str(out), "--hidden", "5000", "--no-pop909"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "moodchords train: error: n_hidden=5000 not allowed; allowed: 1..4096 (what a model folder may hold)"
    # two classes of 4000 hidden units each pass the range but not the budget: refused before any training
    assert main(["train", "--data", str(data), "--out", str(out), "--hidden", "4000", "--no-pop909", "--cv-folds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "n_hidden=4000 with history=4, joint_history=2 and 2 class models is" in err
    assert f"allowed: at most {MAX_TOTAL_PARAMETERS:,}" in err and "n_hidden 1..3930" in err
    assert not out.exists() and not list(tmp_path.glob(".model*"))
