"""The model-folder format: one CRBM per emotion class plus the class's side models, loaded and saved.

Folder layout (format ``moodchords-crbm-set/1``)::

    config.json        hyperparameters, vocabulary (quality names), visible layout, classes
                       (description, valence, arousal, performance profile, rhythm, mode share,
                       weights file), training data, validation numbers, classifier settings
    class_<name>.npz   the class's CRBM weights W, b, c, A, B (float32)
    pop_expert.npz     optional: the POP909 pop expert, a CRBM of the class CRBMs' shape (config "pop_expert")
    harmonic_rhythm.json  optional: models.harmonic_rhythm fitted on POP909 (config "harmonic_rhythm")
    MODEL_CARD.md      data, license, hyperparameters, numbers, the command that reproduces it

Loading is numpy + json only (no TensorFlow import, no tracing): the TensorFlow experts are
built on first use (``ModelSet.crbm``), so ``load_model_set`` stays well under a second.
Scoring clips with a loaded set is models.classification; the schema checks are models.model_config.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from models.atomic_files import write_text_atomic
from models.classification import CLASSIFICATION_PERFORMANCE_FEATURES
from models.emotion_classes import EmotionClass
from models.errors import InvalidModelInput, ModelFileError
from models.model_config import parse_config, read_class_arrays, validate_config
from models.vocabulary import QUALITIES

FORMAT = "moodchords-crbm-set/1"
CONFIG_FILE = "config.json"
CARD_FILE = "MODEL_CARD.md"
PARAMETER_NAMES = ("W", "b", "c", "A", "B")  # same order as models.crbm.PARAMETER_NAMES

@dataclass(frozen=True)
class ClassParameters:
    """The learned numbers of one class (numpy; TensorFlow objects are built lazily)."""

    weights: dict  # CRBM weights, PARAMETER_NAMES -> float32 arrays
    profile_mean: np.ndarray  # (F,) mean of the transformed performance features
    profile_cov: np.ndarray  # (F, F) covariance of the transformed performance features
    rhythm_probabilities: np.ndarray  # (positions, durations) P(duration | half-beat position in bar)
    rhythm_durations: tuple[float, ...]  # beats of each duration column
    major_share: float  # share of the class's training clips in major, 0..1
    # (2, states) log P(chord state | major), log P(chord state | minor) in the class's clips,
    # smoothed towards all classes' (models.generation.mode_expert); None in older folders
    mode_chord_log_probs: np.ndarray | None = None


class ModelSet:
    """A loaded model folder. Cheap to construct; TensorFlow experts are built on first use."""

    def __init__(self, path: Path, config: dict, parameters: dict[str, ClassParameters],
                 pop_weights: Mapping[str, np.ndarray] | None = None, harmonic_rhythm=None):
        self.path = Path(path)
        self.pop_weights = dict(pop_weights) if pop_weights is not None else None  # POP909 CRBM weights, or None
        self.harmonic_rhythm = harmonic_rhythm  # models.harmonic_rhythm.HarmonicRhythm, or None (older folders)
        self.config = config
        self.name: str = str(config.get("name", self.path.name))
        self.beats_per_bar: int = int(config.get("beats_per_bar", 4))
        self.classes: tuple[EmotionClass, ...] = tuple(
            EmotionClass(c["name"], c.get("description") or c["name"], c.get("valence"), c.get("arousal"))
            for c in config["classes"]
        )
        self.parameters = parameters
        self.history: int = int(config["hyperparameters"]["history"])
        self.joint_history: int = int(config["hyperparameters"].get("joint_history", 0))  # older folders: none
        self.n_hidden: int = int(config["hyperparameters"]["n_hidden"])
        classification = config.get("classification", {})
        self.harmony_weight: float = float(classification.get("harmony_weight", 1.0))
        self.valence_bias_per_chord: float = float(classification.get("valence_bias_per_chord", 0.0))
        self._crbms: dict[str, Any] = {}
        self._experts = None
        self._generation_experts = None
        self.xla_generation = True  # build the stacked experts with XLA (set before their first use; False: plain TF)

    @property
    def class_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.classes)

    def __repr__(self) -> str:
        return f"ModelSet(name={self.name!r}, classes={list(self.class_names)}, path={str(self.path)!r})"

    # -- weights over classes ----------------------------------------------------------------
    def validate_weights(self, weights: Mapping[str, float]) -> dict[str, float]:
        """Class weights normalised to sum 1 (every class present; missing ones get 0).

        InvalidModelInput names an unknown class, a negative or non-finite weight or a zero sum,
        and lists the valid classes."""
        allowed = list(self.class_names)
        if not isinstance(weights, Mapping):
            raise InvalidModelInput(f"class weights {weights!r} must be a mapping class -> weight; classes = {allowed}")
        clean: dict[str, float] = {name: 0.0 for name in allowed}
        for name, value in weights.items():
            if name not in clean:
                raise InvalidModelInput(f"emotion class {name!r} not found; available classes = {allowed}")
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise InvalidModelInput(f"weight {value!r} of class {name!r} is not a number; allowed: a finite number >= 0") from None
            if not math.isfinite(number) or number < 0:
                raise InvalidModelInput(f"weight {value!r} of class {name!r} not allowed; allowed: a finite number >= 0 (classes = {allowed})")
            clean[name] = number
        total = sum(clean.values())
        if total <= 0:
            raise InvalidModelInput(f"class weights {dict(weights)!r} sum to zero; give at least one of {allowed} a weight > 0")
        return {name: value / total for name, value in clean.items()}

    # -- TensorFlow experts ------------------------------------------------------------------
    def crbm(self, name: str):
        """The class's models.crbm.ConditionalRBM (built on first use; imports TensorFlow)."""
        if name not in self.parameters:
            raise InvalidModelInput(f"emotion class {name!r} not found; available classes = {list(self.class_names)}")
        if name not in self._crbms:
            from models.crbm import ConditionalRBM, VisibleLayout

            layout = VisibleLayout.from_json(self.config["layout"])
            self._crbms[name] = ConditionalRBM.from_weights(layout, self.parameters[name].weights)
        return self._crbms[name]

    def experts(self):
        """All class CRBMs stacked (models.crbm.StackedExperts, in class_names order; built on
        first use, imports TensorFlow): mixed logits for generation, per-class exact scores."""
        if self._experts is None:
            from models.crbm import StackedExperts, VisibleLayout

            layout = VisibleLayout.from_json(self.config["layout"])
            self._experts = StackedExperts(layout, [self.parameters[n].weights for n in self.class_names],
                                           xla=self.xla_generation)
        return self._experts

    def generation_experts(self):
        """(StackedExperts, has_pop): the class CRBMs in class_names order, then the pop expert when the
        folder has one, stacked into one XLA-compiled logits call (built on first use)."""
        if self._generation_experts is None:
            if self.pop_weights is None:
                self._generation_experts = (self.experts(), False)
            else:
                from models.crbm import StackedExperts, VisibleLayout

                layout = VisibleLayout.from_json(self.config["layout"])
                weights = [self.parameters[n].weights for n in self.class_names] + [self.pop_weights]
                self._generation_experts = (StackedExperts(layout, weights, xla=self.xla_generation), True)
        return self._generation_experts

    @property
    def coordinates(self) -> list[tuple[float | None, float | None]]:
        """(valence, arousal) per class, in class order (None where unknown)."""
        return [(c.valence, c.arousal) for c in self.classes]


def default_model_dir() -> Path:
    """The shipped model folder (models/emopia)."""
    return Path(__file__).resolve().parent / "emopia"


def _read_config(path: Path) -> dict:
    file = path / CONFIG_FILE
    config = parse_config(file)  # size-capped, regular files only
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ModelFileError(f"model file {file} is not a {FORMAT} config (format = {config.get('format') if isinstance(config, dict) else None!r})")
    validate_config(config, file)  # every field's type, range and shape (models.model_config.SCHEMA)
    try:
        names = [c["name"] for c in config["classes"]]
        int(config["hyperparameters"]["history"])
        config["layout"]["group_sizes"]
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file {file} is corrupt: missing or bad entry {exc}") from None
    if not names:
        raise ModelFileError(f"model file {file} lists no classes")
    qualities = config.get("qualities")
    current = [q.name for q in QUALITIES]
    if qualities != current[:len(qualities or [])] or len(qualities or []) != config["layout"]["group_sizes"][1]:
        raise ModelFileError(f"model file {file} was trained with chord qualities {qualities}, incompatible with {current}")
    return config


MODE_CHORDS_KEY = "mode_chord_log_probs"  # optional array in a class's .npz (see ClassParameters)
POP_FILE = "pop_expert.npz"
RHYTHM_FILE = "harmonic_rhythm.json"
MAX_RHYTHM_BYTES = 1 << 20  # the fitted table is ~10 KB


def _read_pop_expert(path: Path, config: dict) -> dict | None:
    entry = config.get("pop_expert")
    if entry is None:
        return None
    file = path / entry["weights_file"]
    weights, _ = read_class_arrays(file, config)  # the class CRBMs' shapes, headers checked before reading
    for key, array in weights.items():
        if not np.all(np.isfinite(array)):
            raise ModelFileError(f"model file {file} is corrupt: {key} has non-finite values")
    return weights


def _read_harmonic_rhythm(path: Path, config: dict):
    entry = config.get("harmonic_rhythm")
    if entry is None:
        return None
    from models.harmonic_rhythm import HarmonicRhythm

    file = path / entry["file"]
    try:
        if not file.is_file() or file.is_symlink():
            raise ModelFileError(f"model file {file} not found (named by config.json's harmonic_rhythm.file)")
        if file.stat().st_size > MAX_RHYTHM_BYTES:
            raise ModelFileError(f"model file {file} is corrupt: {file.stat().st_size} bytes; allowed: at most {MAX_RHYTHM_BYTES}")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"model file {file} cannot be read ({exc})") from None
    try:
        return HarmonicRhythm.from_json(text)
    except InvalidModelInput as exc:
        raise ModelFileError(f"model file {file} is corrupt: {exc}") from None


def _read_class(path: Path, entry: dict, config: dict) -> ClassParameters:
    file = path / entry["weights_file"]
    layout_d = int(sum(config["layout"]["group_sizes"]))
    history = int(config["hyperparameters"]["history"])
    joint_history = int(config["hyperparameters"].get("joint_history", 0))
    n_states = int(np.prod(config["layout"]["group_sizes"]))
    hidden = int(config["hyperparameters"]["n_hidden"])
    width = history * (layout_d + 1) + joint_history * n_states  # models.crbm.conditioning_width
    shapes = {"W": (layout_d, hidden), "b": (layout_d,), "c": (hidden,),
              "A": (width, layout_d), "B": (width, hidden)}
    # npy headers checked against `shapes` before any data is read (models.model_config)
    weights, mode_chords = read_class_arrays(file, config)
    for key, shape in shapes.items():
        if weights[key].shape != shape or not np.all(np.isfinite(weights[key])):
            raise ModelFileError(f"model file {file} is corrupt: {key} has shape {weights[key].shape} "
                                 f"(expected {shape}) or non-finite values")
    if mode_chords is not None and (mode_chords.shape != (2, n_states) or not np.all(np.isfinite(mode_chords))):
        raise ModelFileError(f"model file {file} is corrupt: {MODE_CHORDS_KEY} has shape {mode_chords.shape} "
                             f"(expected {(2, n_states)}) or non-finite values")
    try:
        profile = entry["performance_profile"]
        rhythm = entry["rhythm"]
        return ClassParameters(
            weights=weights,
            profile_mean=np.asarray(profile["mean"], np.float64),
            profile_cov=np.asarray(profile["cov"], np.float64),
            rhythm_probabilities=np.asarray(rhythm["probabilities"], np.float64),
            rhythm_durations=tuple(float(d) for d in rhythm["durations"]),
            major_share=float(entry["major_share"]),
            mode_chord_log_probs=mode_chords,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"model file {path / CONFIG_FILE} is corrupt: class {entry.get('name')!r} entry {exc}") from None


def load_model_set(path: str | Path | None = None) -> ModelSet:
    """Load a model folder (default: the shipped models/emopia). ModelFileError names a missing or corrupt file."""
    folder = Path(path) if path is not None else default_model_dir()
    if not folder.is_dir():
        raise ModelFileError(f"model folder {folder} not found")
    config = _read_config(folder)
    parameters = {}
    for entry in config["classes"]:
        if not isinstance(entry.get("weights_file"), str) or Path(entry["weights_file"]).name != entry["weights_file"]:
            raise ModelFileError(f"model file {folder / CONFIG_FILE} is corrupt: bad weights_file of class {entry.get('name')!r}")
        parameters[entry["name"]] = _read_class(folder, entry, config)
    return ModelSet(folder, config, parameters, _read_pop_expert(folder, config), _read_harmonic_rhythm(folder, config))


# --------------------------------------------------------------------------------------------
# Writing
def _safe_file_stem(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name) or "class"


def model_set_from_class_models(*, name: str, layout: dict, hyperparameters: dict, class_models: Mapping,
                                beats_per_bar: int = 4,
                                class_info: Mapping[str, tuple[str, float | None, float | None]] | None = None,
                                training_data: dict | None = None, validation: dict | None = None,
                                classification: dict | None = None, path: str | Path = "",
                                pop_expert: tuple[Mapping[str, np.ndarray], dict] | None = None,
                                harmonic_rhythm=None) -> ModelSet:
    """An in-memory ModelSet from freshly trained models.training.ClassModel objects.

    class_info: label -> (description, valence, arousal); labels without an entry get their own
    name as description and no coordinates. pop_expert: (CRBM weights, notes for config.json) of the
    POP909 expert; harmonic_rhythm: a fitted models.harmonic_rhythm.HarmonicRhythm."""
    class_info = dict(class_info or {})
    classes, parameters = [], {}
    for label in sorted(class_models):
        model = class_models[label]
        description, valence, arousal = class_info.get(label, (label, None, None))
        classes.append({
            "name": label, "description": description, "valence": valence, "arousal": arousal,
            "weights_file": f"class_{_safe_file_stem(label)}.npz", "major_share": model.major_share,
            "n_clips": model.n_clips, "n_events": model.n_events,
            "training": {"epochs": model.report.final_epoch, "seconds": round(model.report.seconds, 2),
                         "reconstruction_error": model.report.reconstruction_error},
            "performance_profile": model.performance_profile, "rhythm": model.rhythm,
        })
        parameters[label] = ClassParameters(
            weights={k: np.asarray(model.weights[k], np.float32) for k in PARAMETER_NAMES},
            profile_mean=np.asarray(model.performance_profile["mean"], np.float64),
            profile_cov=np.asarray(model.performance_profile["cov"], np.float64),
            rhythm_probabilities=np.asarray(model.rhythm["probabilities"], np.float64),
            rhythm_durations=tuple(float(d) for d in model.rhythm["durations"]),
            major_share=float(model.major_share),
            mode_chord_log_probs=model.mode_chord_log_probs,
        )
    config = {
        "format": FORMAT, "name": name, "layout": layout, "qualities": [q.name for q in QUALITIES],
        "beats_per_bar": beats_per_bar, "hyperparameters": hyperparameters, "classes": classes,
        "classification": {"harmony_weight": 1.0, "performance_features": list(CLASSIFICATION_PERFORMANCE_FEATURES),
                           **(classification or {})},
        "training_data": training_data or {}, "validation": validation or {},
    }
    pop_weights = None
    if pop_expert is not None:
        pop_weights = {k: np.asarray(pop_expert[0][k], np.float32) for k in PARAMETER_NAMES}
        config["pop_expert"] = {"weights_file": POP_FILE, **pop_expert[1]}
    if harmonic_rhythm is not None:
        config["harmonic_rhythm"] = {"file": RHYTHM_FILE}
    return ModelSet(Path(path), config, parameters, pop_weights, harmonic_rhythm)


def is_model_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder that only holds what save_model_set writes: a config.json of
    this format, the weight files it names and a model card. Only such a folder may be replaced."""
    path = Path(path)
    if not path.is_dir() or path.is_symlink():
        return False
    try:
        config = parse_config(path / CONFIG_FILE)  # the one reader: size-capped, regular files only
        weights = {str(entry["weights_file"]) for entry in config["classes"]}
        if isinstance(config.get("pop_expert"), dict):
            weights.add(str(config["pop_expert"]["weights_file"]))
        if isinstance(config.get("harmonic_rhythm"), dict):
            weights.add(str(config["harmonic_rhythm"]["file"]))
        if config.get("format") != FORMAT:
            return False
        entries = list(path.iterdir())
    except (ModelFileError, OSError, KeyError, TypeError):  # any unreadable config: not ours
        return False
    allowed = weights | {CONFIG_FILE, CARD_FILE}
    return all(entry.name in allowed and entry.is_file() and not entry.is_symlink() for entry in entries)


def check_output_folder(out_dir: str | Path) -> Path:
    """Refuse an output path whose contents training would destroy: it must be new, an empty folder
    or a moodchords model folder (see is_model_folder). Call it before training, not only at save."""
    out = Path(out_dir)
    _recover_interrupted_swap(out)
    if not (out.exists() or out.is_symlink()):
        return out
    if out.is_dir() and not out.is_symlink():
        try:
            empty = next(out.iterdir(), None) is None
        except OSError as exc:
            raise InvalidModelInput(f"{out} cannot be read ({exc.strerror}); choose an empty or new folder") from None
        if empty or is_model_folder(out):
            return out
    raise InvalidModelInput(f"{out} exists and is not a model folder; choose an empty or new folder")


def _recover_interrupted_swap(out: Path) -> None:
    """A kill between the two renames of a non-atomic swap leaves the old folder in a hidden
    '.NAME.old-*' sibling and nothing at NAME: put it back. Stale staging folders are removed."""
    if not out.parent.is_dir():
        return
    for sibling in out.parent.glob(f".{out.name}.old-*"):
        kept = sibling / out.name
        if not (out.exists() or out.is_symlink()) and is_model_folder(kept):
            os.replace(kept, out)
        shutil.rmtree(sibling, ignore_errors=True)
    for sibling in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(sibling, ignore_errors=True)


def _exchange_paths(a: Path, b: Path) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    return result == 0


def save_model_set(model_set: ModelSet, out_dir: str | Path) -> Path:
    """Write a model folder atomically: built in a hidden folder beside it, then swapped into place
    (one atomic exchange where the OS offers it). Only a new path, an empty folder or a model
    folder is ever replaced (check_output_folder); an existing MODEL_CARD.md is not carried over
    (write the new one afterwards)."""
    out = check_output_folder(out_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        for entry in model_set.config["classes"]:
            parameters = model_set.parameters[entry["name"]]
            arrays = {k: np.asarray(parameters.weights[k], np.float32) for k in PARAMETER_NAMES}
            if parameters.mode_chord_log_probs is not None:
                arrays[MODE_CHORDS_KEY] = np.asarray(parameters.mode_chord_log_probs, np.float32)
            with open(tmp / entry["weights_file"], "wb") as fh:
                np.savez_compressed(fh, **arrays)
                fh.flush()
                os.fsync(fh.fileno())
        if model_set.pop_weights is not None:
            with open(tmp / model_set.config["pop_expert"]["weights_file"], "wb") as fh:
                np.savez_compressed(fh, **{k: np.asarray(model_set.pop_weights[k], np.float32) for k in PARAMETER_NAMES})
                fh.flush()
                os.fsync(fh.fileno())
        if model_set.harmonic_rhythm is not None:
            write_text_atomic(tmp / model_set.config["harmonic_rhythm"]["file"], model_set.harmonic_rhythm.to_json())
        write_text_atomic(tmp / CONFIG_FILE, json.dumps(model_set.config, indent=1))
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; a shipped model folder is readable by all
        for file in tmp.iterdir():
            os.chmod(file, 0o644)
        if out.exists():
            if _exchange_paths(tmp, out):
                shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous folder
            else:
                old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
                os.replace(out, old / out.name)
                os.replace(tmp, out)
                shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    model_set.path = out
    return out
