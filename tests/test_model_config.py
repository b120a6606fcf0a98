"""Model folders are checked against models.model_config's schema at load (issue 18, item 11):
every corrupted value ends in one ModelConfigError naming the file and the field (CLI exit 2),
never a traceback, a hang or a memory bomb; the shipped models still load."""
from __future__ import annotations

import json
import math
import contextlib
import os
import pickle
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from models.errors import ModelConfigError, ModelError, ModelFileError
from models.model_config import PROFILE_FEATURES_STORED, expected_array_shapes
from models.classification import class_rhythm_log_likelihood, performance_log_likelihoods
from models.model_folder import load_model_set
from models.vocabulary import ChordEvent
from tests.conftest import PROJECT_ROOT
from tests.support.bad_model_folders import (CONFIG, MEASURE_LOAD, copy_model_folder, mutate_config,
                                             shipped_arrays, shipped_config, write_fuzzed_npz, write_w_bomb)



@contextlib.contextmanager
def _no_hang(seconds: int = 20):
    """Turn a hang (e.g. opening a FIFO) into a test failure instead of a stuck test run."""
    def give_up(signum, frame):
        raise TimeoutError(f"still loading after {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _mutate_config(folder: Path, change) -> Path:
    config = json.loads((folder / CONFIG).read_text())
    change(config)
    (folder / CONFIG).write_text(json.dumps(config))  # NaN / Infinity written as Python's json does
    return folder / CONFIG


def _set(path, value):
    def change(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _delete(path):
    def change(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return change


def _cov_with(index, value):
    def change(config):
        config["classes"][0]["performance_profile"]["cov"][index[0]][index[1]] = value
    return change


def _duplicate_name(config):
    config["classes"][1]["name"] = config["classes"][0]["name"]


def _shrink_cov(config):
    cov = config["classes"][0]["performance_profile"]["cov"]
    config["classes"][0]["performance_profile"]["cov"] = [row[:-1] for row in cov[:-1]]


def _negative_probability(config):
    row = config["classes"][0]["rhythm"]["probabilities"][0]
    row[0], row[1] = -0.1, row[1] + 0.1 + row[0]  # the row still sums to 1


CONFIG_CASES = {
    # tracebacks before
    "beats_per_bar four": (_set(["beats_per_bar"], "four"), "beats_per_bar"),
    "n_hidden many": (_set(["hyperparameters", "n_hidden"], "many"), "hyperparameters.n_hidden"),
    "n_hidden missing": (_delete(["hyperparameters", "n_hidden"]), "hyperparameters.n_hidden"),
    "harmony_weight x": (_set(["classification", "harmony_weight"], "x"), "classification.harmony_weight"),
    "duplicate class names": (_duplicate_name, "classes"),
    "covariance NaN": (_cov_with((0, 0), float("nan")), "classes[0].performance_profile.cov"),
    "covariance wrong size": (_shrink_cov, "classes[0].performance_profile.cov"),
    "mean wrong size": (_set(["classes", 0, "performance_profile", "mean"], [1.0, 2.0]),
                        "classes[0].performance_profile.mean"),
    "empty durations": (_set(["classes", 0, "rhythm", "durations"], []), "classes[0].rhythm.durations"),
    "empty probabilities": (_set(["classes", 0, "rhythm", "probabilities"], []), "classes[0].rhythm.probabilities"),
    # hang before
    "all-zero durations": (_set(["classes", 0, "rhythm", "durations"], [0.0] * 16), "classes[0].rhythm.durations"),
    # silently accepted before
    "beats_per_bar 0": (_set(["beats_per_bar"], 0), "beats_per_bar"),
    "major_share 5": (_set(["classes", 2, "major_share"], 5), "classes[2].major_share"),
    "major_share NaN": (_set(["classes", 2, "major_share"], float("nan")), "classes[2].major_share"),
    "valence 99": (_set(["classes", 1, "valence"], 99), "classes[1].valence"),
    "negative variance": (_cov_with((3, 3), -1.0), "classes[0].performance_profile.cov"),
    "asymmetric covariance": (_cov_with((0, 1), 5.0), "classes[0].performance_profile.cov"),
    "negative probability": (_negative_probability, "classes[0].rhythm.probabilities"),
    # more of the same family
    "rows not summing to 1": (_set(["classes", 0, "rhythm", "probabilities"], [[0.5] * 16] * 8),
                              "classes[0].rhythm.probabilities"),
    "weights_file outside": (_set(["classes", 0, "weights_file"], "../x.npz"), "classes[0].weights_file"),
    "history bool": (_set(["hyperparameters", "history"], True), "hyperparameters.history"),
    "classes not a list": (_set(["classes"], {"Q1": 1}), "classes"),
    "unknown performance feature": (_set(["classification", "performance_features"], ["loudness"]),
                                    "classification.performance_features"),
    "profile features reordered": (_set(["classes", 0, "performance_profile", "features"],
                                         list(reversed(PROFILE_FEATURES_STORED))),
                                   "classes[0].performance_profile.features"),
    "qualities reordered": (_set(["qualities"], ["min", "maj", "dom7", "maj7", "min7", "dim", "min7b5", "sus2", "sus4",
                                                  "add9", "aug", "dim7", "madd9", "7sus4"]), "qualities"),
    "description with a line break": (_set(["classes", 3, "description"], "calm\nsecond line"),
                                      "classes[3].description"),
    "blank class name": (_set(["classes", 0, "name"], "   "), "classes[0].name"),
    "group sizes": (_set(["layout", "group_sizes"], [12, 14, 13]), "layout.group_sizes"),
    "huge network": (_set(["hyperparameters", "n_hidden"], 4096), "hyperparameters.n_hidden"),
}


def test_the_shipped_models_pass_the_schema():
    model_set = load_model_set()
    assert model_set.class_names == ("Q1", "Q2", "Q3", "Q4")
    for params in model_set.parameters.values():
        assert all(np.all(np.isfinite(w)) and w.dtype == np.float32 for w in params.weights.values())
        assert params.mode_chord_log_probs.shape == (2, 2016)


@pytest.mark.parametrize("case", sorted(CONFIG_CASES))
def test_a_bad_config_value_names_the_file_and_the_field(tmp_path, case):
    change, field = CONFIG_CASES[case]
    folder = copy_model_folder(tmp_path)
    file = _mutate_config(folder, change)
    started = time.process_time()
    with pytest.raises(ModelConfigError) as caught:
        load_model_set(folder)
    assert time.process_time() - started < 2.0
    error = caught.value
    assert (error.file, error.field) == (str(file), field)
    message = str(error)
    assert message.startswith(f"{file}: {field}: expected ") and "\n" not in message
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.field) == (ModelConfigError, message, field)


@pytest.mark.parametrize("damage", ["deeply nested", "too large", "fifo", "not utf-8", "a number", "huge integer"])
def test_a_damaged_config_file_is_a_model_file_error(tmp_path, damage):
    folder = copy_model_folder(tmp_path)
    file = folder / CONFIG
    file.unlink()
    if damage == "deeply nested":
        file.write_text("[" * 200_000 + "]" * 200_000)
    elif damage == "too large":
        file.write_text(" " * (17 << 20) + "{}")
    elif damage == "fifo":
        os.mkfifo(file)  # reading it would block forever
    elif damage == "not utf-8":
        file.write_bytes(b'{"format": "\xff"}')
    elif damage == "a number":
        file.write_text("5")
    else:
        file.write_text("9" * 5000)  # past Python's integer-string limit
    started = time.process_time()
    with _no_hang(), pytest.raises(ModelFileError, match=re.escape(str(file))):
        load_model_set(folder)
    assert time.process_time() - started < 2.0


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def _replace_npz(folder: Path, arrays: dict[str, np.ndarray], name: str = "class_Q1.npz") -> Path:
    (folder / name).unlink()
    _write_npz(folder / name, arrays)
    return folder / name


@pytest.mark.parametrize("case, field", [
    ("W wrong shape", "W"), ("W NaN", "W"), ("B infinite", "B"), ("W integers", "W"), ("W missing", "W"),
    ("W huge", "W"), ("mode table not log probabilities", "mode_chord_log_probs"),
    ("mode table wrong shape", "mode_chord_log_probs"),
])
def test_a_bad_array_names_the_file_and_the_array(tmp_path, case, field):
    folder = copy_model_folder(tmp_path)
    arrays = shipped_arrays()
    if case == "W wrong shape":
        arrays["W"] = arrays["W"][:, :10]
    elif case == "W NaN":
        arrays["W"] = arrays["W"].copy()
        arrays["W"][3, 4] = np.nan
    elif case == "B infinite":
        arrays["B"] = arrays["B"].copy()
        arrays["B"][0, 0] = np.inf
    elif case == "W integers":
        arrays["W"] = arrays["W"].astype(np.int32)
    elif case == "W missing":
        del arrays["W"]
    elif case == "W huge":
        arrays["W"] = arrays["W"] * 1e6
    elif case == "mode table not log probabilities":
        arrays["mode_chord_log_probs"] = arrays["mode_chord_log_probs"] + 5
    else:
        arrays["mode_chord_log_probs"] = arrays["mode_chord_log_probs"][:, :100]
    file = _replace_npz(folder, arrays)
    with pytest.raises(ModelConfigError) as caught:
        load_model_set(folder)
    assert (caught.value.file, caught.value.field) == (str(file), field)
    assert str(caught.value).startswith(f"{file}: {field}: expected ")


def test_a_folder_without_the_mode_table_still_loads(tmp_path):
    folder = copy_model_folder(tmp_path)
    arrays = shipped_arrays()
    del arrays["mode_chord_log_probs"]
    _replace_npz(folder, arrays)
    assert load_model_set(folder).parameters["Q1"].mode_chord_log_probs is None


@pytest.mark.parametrize("damage", ["truncated", "not a zip", "fifo", "folder"])
def test_a_damaged_weights_file_is_a_model_file_error(tmp_path, damage):
    folder = copy_model_folder(tmp_path)
    file = folder / "class_Q2.npz"
    data = file.read_bytes()
    file.unlink()
    if damage == "truncated":
        file.write_bytes(data[: len(data) // 2])
    elif damage == "not a zip":
        file.write_bytes(b"hello" * 100)
    elif damage == "fifo":
        os.mkfifo(file)  # opening it would block forever
    else:
        file.mkdir()
    started = time.process_time()
    with _no_hang(), pytest.raises(ModelFileError, match=re.escape(str(file))):
        load_model_set(folder)
    assert time.process_time() - started < 2.0


@pytest.mark.slow
def test_a_30000x30000_w_is_rejected_from_its_header_without_allocating_it(tmp_path):
    folder = copy_model_folder(tmp_path)
    bomb = folder / "class_Q1.npz"
    bomb.unlink()
    write_w_bomb(bomb)
    result = subprocess.run([sys.executable, "-c", MEASURE_LOAD, str(folder)], capture_output=True, text=True,
                            cwd=PROJECT_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout)
    assert measured["outcome"] == [str(bomb), "W"]
    assert measured["cpu_seconds"] < 0.5 and measured["seconds"] < 5.0  # wall time: other jobs share the cores
    assert measured["peak_mb"] < 200


@pytest.mark.parametrize("case", ["n_hidden many", "covariance NaN", "all-zero durations", "major_share 5"])
def test_the_cli_exits_2_with_one_line_naming_file_and_field(tmp_path, case):
    change, field = CONFIG_CASES[case]
    folder = copy_model_folder(tmp_path)
    file = _mutate_config(folder, change)
    result = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "moodchords"), "compose", "--model", str(folder),
                             "--emotion", "Q1=1"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"moodchords compose: error: {file}: {field}: expected ")


def test_the_cli_names_an_array_of_the_wrong_shape(tmp_path):
    folder = copy_model_folder(tmp_path)
    arrays = shipped_arrays()
    arrays["A"] = np.zeros((5, 5), np.float32)
    file = _replace_npz(folder, arrays)
    result = subprocess.run([str(PROJECT_ROOT / ".venv" / "bin" / "moodchords"), "compose", "--model", str(folder),
                             "--emotion", "Q1=1"], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (f"moodchords compose: error: {file}: A: expected a 4188x38 float16/32/64 array "
                                     "of finite numbers, |value| <= 10000 (shape from layout.group_sizes, "
                                     "hyperparameters.history, hyperparameters.joint_history), got 5x5")


# --------------------------------------------------------------------------------------------
# Seeded fuzz: random mutations of config values and types and of npz headers. Only the
# project's errors may come out, each case fast; a folder that loads must also be usable.
def _use(model_set) -> None:
    """What composing and classifying read from the config, without the CRBMs (TensorFlow)."""
    from models.generation import sample_rhythm

    rng = np.random.default_rng(0)
    events = [ChordEvent(0, 0, 0, 1.0), ChordEvent(7, 0, 7, 2.5), ChordEvent(9, 1, 9, 0.5)]
    for name in model_set.class_names:
        assert math.isfinite(class_rhythm_log_likelihood(model_set, name, events))
        durations = sample_rhythm(model_set, {name: 1.0}, 8.0 * model_set.beats_per_bar, model_set.beats_per_bar, rng)
        assert abs(sum(durations) - 8.0 * model_set.beats_per_bar) < 1e-6
    performance = SimpleNamespace(notes_per_second=6.0, mean_velocity=70.0, mean_note_length_s=0.4, mean_pitch=62.0,
                                  pitch_std=12.0, tempo_bpm=110.0, pedal_share=0.5, legato=0.5, velocity_std=10.0,
                                  polyphony=3.0)
    assert all(math.isfinite(v) for v in performance_log_likelihoods(model_set, performance).values())


@pytest.mark.slow
def test_fuzzed_configs_and_headers_give_only_model_errors(tmp_path):
    rng = random.Random(1812)
    shipped = shipped_config()
    arrays = shipped_arrays()
    outcomes = {"loaded": 0, "rejected": 0}
    slowest = 0.0
    for case in range(300):
        folder = copy_model_folder(tmp_path, f"case{case}")
        if case % 3 == 2:
            npz = folder / "class_Q1.npz"
            npz.unlink()
            write_fuzzed_npz(rng, arrays, npz)
        else:
            config = json.loads(json.dumps(shipped))
            for _ in range(rng.choice([1, 1, 2, 3])):
                mutate_config(rng, config)
            (folder / CONFIG).write_text(json.dumps(config))
        started = time.process_time()  # CPU: other jobs share the cores
        try:
            model_set = load_model_set(folder)
        except ModelError as error:
            assert "\n" not in str(error) and str(folder) in str(error), (case, str(error))
            outcomes["rejected"] += 1
            model_set = None
        slowest = max(slowest, time.process_time() - started)
        if model_set is not None:  # accepted: composing and classifying must work with it
            _use(model_set)
            outcomes["loaded"] += 1
    assert slowest < 2.0
    assert outcomes["rejected"] > 150 and outcomes["loaded"] > 10, outcomes


def test_array_shapes_come_from_the_layout():
    shapes = expected_array_shapes(shipped_config())
    assert shapes["W"] == (38, 64) and shapes["A"] == (4 * 39 + 2 * 2016, 38) and shapes["mode_chord_log_probs"] == (2, 2016)
