"""Model folders: save/load round trip, file errors, class-weight validation, load time."""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

from models.crbm import CHORD_LAYOUT  # noqa: E402
from models.errors import InvalidModelInput, ModelFileError  # noqa: E402
from models.performance import PerformanceFeatures  # noqa: E402
from models.store import (EMOPIA_CLASSES, default_model_dir, load_model_set, model_set_from_class_models,  # noqa: E402
                          save_model_set)
from models.training import TrainingConfig, train_class_models  # noqa: E402
from models.vocabulary import ChordEvent  # noqa: E402


@dataclass(frozen=True)
class SyntheticClip:
    path: Path
    label: str
    events: tuple
    mode: str
    performance: PerformanceFeatures


def synthetic_clips(seed: int = 0, per_class: int = 12) -> dict[str, list[SyntheticClip]]:
    """Two classes: 'up' (major, I-IV-V-I, loud and dense) and 'down' (minor, i-iv-v, soft and sparse)."""
    rng = np.random.default_rng(seed)
    major = [ChordEvent(0, 0, 0, 2.0), ChordEvent(5, 0, 5, 2.0), ChordEvent(7, 2, 7, 2.0), ChordEvent(0, 0, 0, 2.0)]
    minor = [ChordEvent(9, 1, 9, 4.0), ChordEvent(2, 1, 2, 2.0), ChordEvent(4, 1, 4, 2.0), ChordEvent(9, 1, 9, 4.0)]
    out: dict[str, list[SyntheticClip]] = {"up": [], "down": []}
    for label, chords, mode, loud in (("up", major, "major", 1.0), ("down", minor, "minor", 0.0)):
        for i in range(per_class):
            events = tuple(chords * 3)
            perf = PerformanceFeatures(
                notes_per_second=float(np.exp(rng.normal(2.0 if loud else 1.3, 0.2))), mean_velocity=float(rng.normal(80 if loud else 50, 5)),
                mean_note_length_s=float(np.exp(rng.normal(-0.3 if loud else 0.3, 0.2))), mean_pitch=float(rng.normal(62, 3)),
                pitch_std=float(rng.normal(10, 1)), tempo_bpm=float(rng.normal(120, 10)), pedal_share=float(rng.uniform(0.5, 0.9)),
                legato=float(rng.uniform(0.2, 0.6)), velocity_std=float(rng.normal(10, 2)), polyphony=float(rng.uniform(2, 4)),
                notes_per_beat=2.0)
            out[label].append(SyntheticClip(Path(f"{label}_song{i // 2}_{i % 2}.mid"), label, events, mode, perf))
    return out


TINY = TrainingConfig(n_hidden=8, history=2, k=1, epochs=3, pretrain_epochs=3, batch_size=16, learning_rate=0.1)


@pytest.fixture(scope="module")
def tiny_model_set():
    clips = synthetic_clips()
    models = train_class_models(clips, TINY)
    return model_set_from_class_models(name="tiny", layout=CHORD_LAYOUT.to_json(), hyperparameters=TINY.to_json(),
                                       class_models=models, class_info={"up": ("bright", 0.5, 0.5)}), clips


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
    before = model_set.log_likelihoods(clip.events, clip.performance, mode=clip.mode)
    after = loaded.log_likelihoods(clip.events, clip.performance, mode=clip.mode)
    assert before == after
    # the class models tell the classes apart on their own data
    assert after["up"].combined > after["down"].combined
    down = loaded.log_likelihoods(clips["down"][0].events, clips["down"][0].performance)
    assert down["down"].harmony > down["up"].harmony
    assert down["down"].performance > down["up"].performance



def test_harmony_parts_add_up_to_the_harmony(tiny_model_set):
    model_set, clips = tiny_model_set
    clip = clips["up"][0]
    for mode in ("major", "minor", None):
        parts = model_set.harmony_log_likelihood_parts(clip.events, mode)
        total = model_set.harmony_log_likelihoods(clip.events, mode)
        for name in model_set.class_names:
            chords, rhythm, mode_part = parts[name]
            assert total[name] == chords + rhythm + mode_part
            assert rhythm == model_set.rhythm_log_likelihood(name, clip.events)
            share = min(max(model_set.parameters[name].major_share, 0.01), 0.99)
            expected = 0.0 if mode is None else math.log(share if mode == "major" else 1 - share)
            assert mode_part == pytest.approx(expected)
    with pytest.raises(InvalidModelInput, match="mode 'dorian' not allowed"):
        model_set.harmony_log_likelihood_parts(clip.events, "dorian")

def test_joint_history_model_round_trip_and_exact_harmony(tmp_path):
    """A model set whose CRBMs also see the joint one-hot of the previous chord: saved, checked
    (the weight shapes follow joint_history), loaded, and scored exactly like its CRBMs."""
    import tensorflow as tf

    from dataclasses import replace

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
    harmony = loaded.harmony_log_likelihoods(clip.events)
    rbm = loaded.crbm("down")
    visible = chord_visible(clip.events)
    exact = float(tf.reduce_sum(rbm.log_likelihood(tf.constant(visible), tf.constant(rbm.history_matrix(visible)))))
    assert harmony["down"] == pytest.approx(exact + loaded.rhythm_log_likelihood("down", clip.events), abs=1e-3)
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


@pytest.mark.skipif(not (default_model_dir() / "config.json").is_file(), reason="shipped model not trained yet")
def test_shipped_model_loads_fast_and_has_emopia_classes():
    started = time.perf_counter()
    model_set = load_model_set()
    seconds = time.perf_counter() - started
    assert seconds < 1.0
    assert [(c.name, c.description, c.valence, c.arousal) for c in model_set.classes] == [
        (name, *EMOPIA_CLASSES[name]) for name in ("Q1", "Q2", "Q3", "Q4")]
    assert (default_model_dir() / "MODEL_CARD.md").read_text().count("CC BY-NC-SA 4.0") >= 1
    total = sum(p.stat().st_size for p in default_model_dir().iterdir())
    assert total < 8_000_000


def test_shipped_model_card_is_the_one_its_config_gives():
    from assistant.commands.train import model_card

    card = (default_model_dir() / "MODEL_CARD.md").read_text()
    command = "moodchords train --data ../shared/data/emopia --out models/emopia"
    assert card == model_card(load_model_set().config, command)
    assert "only breaks ties" in card  # quadrant classes: the harmony weight is not what decides


def _write_midi(path: Path, chords: list[tuple[int, ...]], velocity: int = 80, seconds_per_chord: float = 1.0) -> None:
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    ticks = int(480 * 2 * seconds_per_chord)  # 120 BPM: 2 beats per second
    for _ in range(4):
        for chord in chords:
            for i, pitch in enumerate(chord):
                track.append(mido.Message("note_on", note=pitch, velocity=velocity, time=0))
            for i, pitch in enumerate(chord):
                track.append(mido.Message("note_off", note=pitch, velocity=0, time=ticks if i == 0 else 0))
    mid.save(str(path))


MAJOR_LOOP = [(48, 60, 64, 67), (41, 60, 65, 69), (43, 59, 62, 67), (48, 60, 64, 67)]
MINOR_LOOP = [(45, 60, 64, 69), (38, 62, 65, 69), (40, 59, 64, 68), (45, 60, 64, 69)]


def test_train_and_classify_commands_on_a_user_folder(tmp_path, capsys):
    from assistant.cli import main

    data = tmp_path / "midis"
    data.mkdir()
    for i in range(3):
        _write_midi(data / f"bright_{i}.mid", MAJOR_LOOP, velocity=95, seconds_per_chord=0.5)
        _write_midi(data / f"dark_{i}.mid", MINOR_LOOP, velocity=45, seconds_per_chord=1.5)
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


def test_quadrant_classes_read_valence_from_harmony_and_arousal_from_performance():
    import numpy as np

    from models.store import combined_scores

    coordinates = [(0.6, 0.6), (-0.6, 0.6), (-0.6, -0.6), (0.6, -0.6)]  # Q1..Q4
    harmony = np.log([[0.45, 0.05, 0.05, 0.45]])  # says: positive valence, nothing about arousal
    performance = np.log([[0.1, 0.6, 0.2, 0.1]])  # says: high arousal (Q2 most of all)
    scores = combined_scores(harmony, performance, coordinates, harmony_weight=0.2)
    assert scores.argmax() == 0  # Q1: positive (harmony) and aroused (performance)
    weighted = combined_scores(harmony, performance, [(None, None)] * 4, harmony_weight=0.2)
    np.testing.assert_allclose(weighted, 0.2 * harmony + performance)
    assert weighted.argmax() == 1  # the plain sum lets the performance pick Q2


def test_valence_bias_per_chord_moves_the_valence_decision_in_proportion_to_the_chords():
    import numpy as np

    from models.store import combined_scores
    from models.training import ClipScores, choose_valence_bias

    coordinates = [(0.6, 0.6), (-0.6, 0.6), (-0.6, -0.6), (0.6, -0.6)]
    # Two clips whose harmony leans negative by 0.05 nats per chord (10 and 40 chords).
    harmony = np.array([[-10.5, -10.0, -10.0, -10.5], [-42.0, -40.0, -40.0, -42.0]])
    performance = np.log([[0.6, 0.1, 0.1, 0.2], [0.6, 0.1, 0.1, 0.2]])  # high arousal
    plain = combined_scores(harmony, performance, coordinates, 1.0)
    assert list(plain.argmax(axis=1)) == [1, 1]  # Q2: negative valence
    biased = combined_scores(harmony, performance, coordinates, 1.0, valence_bias_per_chord=0.06, n_chords=[10, 40])
    assert list(biased.argmax(axis=1)) == [0, 0]  # +0.06 per chord outweighs -0.05 per chord for both
    weak = combined_scores(harmony, performance, coordinates, 1.0, valence_bias_per_chord=0.04, n_chords=[10, 40])
    assert list(weak.argmax(axis=1)) == [1, 1]

    # choose_valence_bias finds a bias in the grid that labels both clips right when they are Q1.
    class_info = {name: (name, v, a) for name, (v, a) in zip(["Q1", "Q2", "Q3", "Q4"], coordinates)}
    pooled = ClipScores(("Q1", "Q2", "Q3", "Q4"), harmony, performance, np.array([0, 0]), np.array([10, 40]))
    bias, table = choose_valence_bias(pooled, 1.0, class_info)
    assert 0.05 < bias <= 0.1 and table[bias] == (1.0, 1.0) and table[0.0] == (0.0, 0.0)
    assert choose_valence_bias(pooled, 1.0, None) == (0.0, {})


def test_the_accuracy_the_weight_is_chosen_by_is_the_shipped_classifiers():
    import numpy as np

    from models.training import ClipScores, classification_accuracy

    coordinates = [(0.6, 0.6), (-0.6, 0.6), (-0.6, -0.6), (0.6, -0.6)]
    class_info = {name: (name, v, a) for name, (v, a) in zip(["Q1", "Q2", "Q3", "Q4"], coordinates)}
    harmony = np.log([[0.45, 0.05, 0.05, 0.45]])  # positive valence
    performance = np.log([[0.1, 0.6, 0.2, 0.1]])  # high arousal, Q2 most of all
    scores = ClipScores(("Q1", "Q2", "Q3", "Q4"), harmony, performance, np.array([0]))
    # weight 0 still means the factorised quadrant classifier (what ModelSet.log_likelihoods would
    # do with it), not the performance alone: it once meant that, and CV then chose a weight whose
    # shipped classifier it had never scored
    assert classification_accuracy(scores, class_info)["classes"] == 1.0
    assert classification_accuracy(scores, class_info, part="performance")["classes"] == 0.0
    assert classification_accuracy(scores, class_info, part="harmony")["valence"] == 1.0
    with pytest.raises(InvalidModelInput, match="available parts"):
        classification_accuracy(scores, class_info, part="melody")
    with pytest.raises(InvalidModelInput, match="only the combined score takes them"):
        classification_accuracy(scores, class_info, part="harmony", harmony_weight=2.0)


def test_song_folds_keep_a_song_together_whatever_its_clips_labels():
    from types import SimpleNamespace

    from models.training import song_folds, song_of

    clips = [SimpleNamespace(path=Path(f"/data/{label}_{song}_{i}.mid"), label=label)
             for song in ("egYS_mNu", "abc", "Xyz12", "q_q_q", "song5", "song6")
             for i, label in enumerate(("Q1", "Q3", "Q4"))]
    assert song_of(clips[0]) == "egYS_mNu"
    # a label given by a CSV, not by the name: the stem is kept whole apart from the clip number
    assert song_of(SimpleNamespace(path=Path("/data/ballad_007_2.mid"), label="calm")) == "ballad_007"
    # the three clips of each song (three labels) are one song, so they land in one fold
    assert len({song_of(c) for c in clips}) == 6
    fold_of = song_folds(clips, 3, seed=0)
    assert sorted(fold_of) == sorted({"egYS_mNu", "abc", "Xyz12", "q_q_q", "song5", "song6"})
    assert sorted(fold_of.values()) == [0, 0, 1, 1, 2, 2]
