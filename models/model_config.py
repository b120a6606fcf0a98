"""The model folder's schema: every config.json value and every .npz array checked at load.

A model folder is input like any other file: a wrong type, range or shape must end in one
ModelConfigError naming the file and the field (CLI exit 2), never a traceback, a hang or a
multi-gigabyte allocation later on. So:

- ``SCHEMA`` declares every field the code reads: path -> kind, range, length, and for arrays the
  shape derived from the rest of the config (e.g. a covariance is F x F for the F stored profile
  features, a rhythm table has beats_per_bar / step rows). ``validate_config`` walks it.
- ``read_class_arrays`` reads a class's .npz member by member through ``zipfile``: the npy header
  (``np.lib.format.read_magic`` + ``read_array_header_1_0/2_0``) is checked against the shape the
  config's layout gives before a single data byte is read, so an array's memory is bounded by the
  layout (and the layout by the ranges below), whatever its header claims.
- Every number loaded is finite and within the range the code can use.

Numpy + json only (loading never imports TensorFlow).
"""
from __future__ import annotations

import json
import lzma
import math
import os
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from models.errors import ModelConfigError, ModelFileError
from models.profiles import PROFILE_FEATURES

#: models.profiles.PROFILE_FEATURES as config.json stores them ("feature:transform"), in order: the
#: profile mean and covariance are indexed by position.
PROFILE_FEATURES_STORED: tuple[str, ...] = tuple(f"{name}:{transform}" for name, transform in PROFILE_FEATURES)
PROFILE_FEATURE_NAMES = tuple(name for name, _ in PROFILE_FEATURES)

MAX_CONFIG_BYTES = 16 << 20  # the shipped config.json is 33 KB
MAX_NPY_HEADER_BYTES = 10_000  # numpy's own default limit for a trusted header
#: Parameters of all classes together (float32 elements): 2**25 = 128 MB as float32. The shipped
#: set has 1.7 M; this bounds what n_hidden, history and joint_history may ask for.
MAX_TOTAL_PARAMETERS = 1 << 25
MAX_WEIGHT_MAGNITUDE = 1e4  # |CRBM weight|; shipped CRBM weights stay below 8; larger ones overflow float32 energies
MAX_PROFILE_MAGNITUDE = 1e6  # profile means / variances (log-features and MIDI units are < 1e4)
MIN_COV_EIGEN_RATIO = 1e-12  # smallest / largest covariance eigenvalue (np.linalg.solve must not fail)
PROBABILITY_SUM_TOLERANCE = 1e-3  # rhythm rows are stored rounded to 6 decimals
MIN_RHYTHM_STEP = 1 / 16  # beats: the generator fills a bar chord by chord in steps of this size


# --------------------------------------------------------------------------------------------
# Config schema
@dataclass(frozen=True)
class Field:
    """One field of config.json: where it is, what it must be."""

    path: str  # dotted path; "[]" stands for every item of a list, e.g. "classes[].major_share"
    kind: str  # "int", "number", "string", "object", "list", "strings", "vector" or "matrix"
    required: bool = True  # absent -> error (else the field and its children are skipped)
    nullable: bool = False  # JSON null allowed (children skipped)
    low: float | None = None  # inclusive minimum of a number (every element of a vector / matrix)
    high: float | None = None  # inclusive maximum
    length: tuple[int, int] | None = None  # allowed item count of a list / strings / vector
    choices: tuple | None = None  # allowed values (strings: of each element)
    # shape of a vector / matrix from the (already checked) rest of the config: (config, class index) -> shape
    shape: Callable[[dict, int | None], tuple[int, ...]] | None = None
    shape_from: str = ""  # which fields the shape comes from, for the message
    # further check: (value, config, class index) -> None when fine, else what was found wrong
    check: Callable[[Any, dict, int | None], str | None] | None = None
    adjective: str = ""  # said of a vector / matrix before its noun, e.g. "symmetric positive definite"
    condition: str = ""  # said after the kind, e.g. "whose rows each sum to 1"
    words: str = ""  # the whole expectation in words, instead of the one built from the above


def _features(config: dict, index: int | None) -> int:
    return len(PROFILE_FEATURES_STORED)


def _rhythm_shape(config: dict, index: int | None) -> tuple[int, int]:
    durations = config["classes"][index]["rhythm"]["durations"]
    return _rhythm_rows(config, durations[0]), len(durations)


def _rhythm_rows(config: dict, step: float) -> int:
    return max(1, int(round(config.get("beats_per_bar", 4) / step)))


def _check_group_sizes(value, config, index) -> str | None:
    ok = all(isinstance(v, int) and not isinstance(v, bool) for v in value) and value[0] == 12 and value[2] == 12
    return None if ok else _describe(value)


def _check_qualities(value, config, index) -> str | None:
    from models.vocabulary import QUALITIES

    known = [q.name for q in QUALITIES]
    ok = value == known[:len(value)] and len(value) == config["layout"]["group_sizes"][1]
    return None if ok else _describe(value)


def _check_printable(value, config, index) -> str | None:
    return None if value.isprintable() else _describe(value)


def _check_unique_names(value, config, index) -> str | None:
    names = [c.get("name") if isinstance(c, dict) else None for c in value]
    duplicates = sorted({n for n in names if isinstance(n, str) and names.count(n) > 1})
    return f"{_describe(duplicates[0])} more than once" if duplicates else None


def _check_class_name(value, config, index) -> str | None:
    ok = value.strip() and value.isprintable()  # labels come from users' file names and CSVs
    return None if ok else _describe(value)


def _check_file_name(value, config, index) -> str | None:
    ok = value not in (".", "..") and Path(value).name == value and "\\" not in value and value.isprintable()
    return None if ok else _describe(value)


def _check_profile_features(value, config, index) -> str | None:
    return None if tuple(value) == PROFILE_FEATURES_STORED else _describe(value)


def _check_covariance(value, config, index) -> str | None:
    cov = np.asarray(value, np.float64)
    scale = float(np.max(np.abs(cov)))
    asymmetry = np.abs(cov - cov.T)
    if np.max(asymmetry) > 1e-9 * max(scale, 1.0):
        i, j = np.unravel_index(int(np.argmax(asymmetry)), cov.shape)
        return f"[{i}][{j}] = {cov[i, j]:g} but [{j}][{i}] = {cov[j, i]:g}"
    eigen = np.linalg.eigvalsh(cov)
    if not eigen[0] > MIN_COV_EIGEN_RATIO * eigen[-1]:
        return f"eigenvalues {eigen[0]:.3g}..{eigen[-1]:.3g}"
    return None


def _check_durations(value, config, index) -> str | None:
    step = float(value[0])
    ok = step >= MIN_RHYTHM_STEP and all(abs(float(d) - (k + 1) * step) <= 1e-6 for k, d in enumerate(value))
    return None if ok else _describe(value)


def _check_distribution_rows(value, config, index) -> str | None:
    sums = np.asarray(value, np.float64).sum(axis=1)
    bad = np.flatnonzero(np.abs(sums - 1.0) > PROBABILITY_SUM_TOLERANCE)
    return f"row {bad[0]} summing to {sums[bad[0]]:.6g}" if len(bad) else None


def _check_rhythm_beats(value, config, index) -> str | None:
    return None if value == config.get("beats_per_bar", 4) else _describe(value)


def _check_performance_features(value, config, index) -> str | None:
    return None if len(set(value)) == len(value) else f"{_describe(value)} (a name repeated)"


#: Every field the code reads, parents before children. Fields only written for people (model
#: card numbers, cross-validation tables, training notes) are checked as far as the card uses them.
SCHEMA: tuple[Field, ...] = (
    Field("format", "string"),
    Field("name", "string", required=False, length=(1, 200), check=_check_printable,
          words="a model name of 1..200 printable characters"),
    Field("layout", "object"),
    Field("layout.kind", "string", choices=("softmax",)),
    Field("layout.group_sizes", "vector", length=(3, 3), low=1, high=64, check=_check_group_sizes,
          words="[12, Q, 12]: root, quality and bass-interval group sizes, Q the number of qualities"),
    Field("qualities", "strings", length=(1, 64), check=_check_qualities,
          words="the chord qualities this version knows, in its order (a leading part of models.vocabulary."
                "QUALITIES), one per unit of layout.group_sizes[1]"),
    Field("beats_per_bar", "int", required=False, low=1, high=64),
    Field("hyperparameters", "object"),
    Field("hyperparameters.n_hidden", "int", low=1, high=4096),
    Field("hyperparameters.history", "int", low=0, high=64),
    Field("hyperparameters.joint_history", "int", required=False, low=0, high=16),
    Field("hyperparameters.method", "string", required=False, choices=("cd", "pcd", "exact")),
    Field("hyperparameters.k", "int", required=False, low=1, high=10_000),
    Field("hyperparameters.epochs", "int", required=False, low=0, high=10**9),
    Field("hyperparameters.batch_size", "int", required=False, low=1, high=10**9),
    Field("hyperparameters.learning_rate", "number", required=False, low=0, high=1e6),
    Field("hyperparameters.momentum_initial", "number", required=False, low=0, high=1),
    Field("hyperparameters.momentum_final", "number", required=False, low=0, high=1),
    Field("hyperparameters.momentum_switch_epoch", "int", required=False, low=0, high=10**9),
    Field("hyperparameters.weight_decay", "number", required=False, low=0, high=1e6),
    Field("hyperparameters.joint_weight_decay", "number", required=False, nullable=True, low=0, high=1e6),
    Field("hyperparameters.pretrain_epochs", "int", required=False, low=0, high=10**9),
    Field("hyperparameters.seed", "int", required=False, nullable=True, low=-(2**63), high=2**64),
    Field("classes", "list", length=(1, 64), check=_check_unique_names, condition="with distinct names"),
    Field("classes[]", "object"),
    Field("classes[].name", "string", length=(1, 64), check=_check_class_name,
          words="a class name of 1..64 printable characters, not only spaces"),
    Field("classes[].description", "string", required=False, nullable=True, length=(0, 500), check=_check_printable,
          words="words for the mood: up to 500 printable characters, or null"),
    Field("classes[].valence", "number", required=False, nullable=True, low=-1, high=1),
    Field("classes[].arousal", "number", required=False, nullable=True, low=-1, high=1),
    Field("classes[].weights_file", "string", length=(1, 255), check=_check_file_name,
          words="a plain file name inside the model folder (no '/' or '..')"),
    Field("classes[].major_share", "number", low=0, high=1),
    Field("classes[].n_clips", "int", required=False, low=0, high=10**12),
    Field("classes[].n_events", "int", required=False, low=0, high=10**12),
    Field("classes[].training", "object", required=False),
    Field("classes[].performance_profile", "object"),
    Field("classes[].performance_profile.features", "strings", required=False, check=_check_profile_features,
          words=f"exactly {list(PROFILE_FEATURES_STORED)}"),
    Field("classes[].performance_profile.mean", "vector", low=-MAX_PROFILE_MAGNITUDE, high=MAX_PROFILE_MAGNITUDE,
          shape=lambda config, index: (_features(config, index),), shape_from="the profile features"),
    Field("classes[].performance_profile.cov", "matrix", low=-MAX_PROFILE_MAGNITUDE, high=MAX_PROFILE_MAGNITUDE,
          shape=lambda config, index: (_features(config, index),) * 2, shape_from="the profile features",
          check=_check_covariance, adjective="symmetric positive definite"),
    Field("classes[].performance_profile.n", "int", required=False, low=0, high=10**12),
    Field("classes[].rhythm", "object"),
    Field("classes[].rhythm.beats_per_bar", "int", required=False, check=_check_rhythm_beats,
          words="the folder's beats_per_bar"),
    Field("classes[].rhythm.durations", "vector", length=(1, 256), low=MIN_RHYTHM_STEP, high=256,
          check=_check_durations,
          words=f"1..256 durations in beats step, 2 x step, 3 x step, ... with step >= {MIN_RHYTHM_STEP:g} "
                "(e.g. [0.5, 1.0, 1.5, ...])"),
    Field("classes[].rhythm.probabilities", "matrix", low=0, high=1, shape=_rhythm_shape,
          shape_from="beats_per_bar / durations[0] rows, one column per duration",
          check=_check_distribution_rows, condition=f"whose rows each sum to 1 (within {PROBABILITY_SUM_TOLERANCE:g})"),
    Field("classes[].rhythm.counts", "matrix", required=False, low=0, high=1e15, shape=_rhythm_shape,
          shape_from="the probabilities' shape"),
    Field("classification", "object", required=False),
    Field("classification.harmony_weight", "number", required=False, low=0, high=1000),
    Field("classification.valence_bias_per_chord", "number", required=False, low=-100, high=100),
    Field("classification.performance_features", "strings", required=False, nullable=True,
          length=(0, len(PROFILE_FEATURE_NAMES)), choices=PROFILE_FEATURE_NAMES, check=_check_performance_features,
          condition="each at most once"),
    Field("classification.cv_folds", "int", required=False, nullable=True, low=0, high=1000),
    Field("pop_expert", "object", required=False),
    Field("pop_expert.weights_file", "string", length=(1, 255), check=_check_file_name,
          words="a plain file name inside the model folder (no '/' or '..')"),
    Field("harmonic_rhythm", "object", required=False),
    Field("harmonic_rhythm.file", "string", length=(1, 255), check=_check_file_name,
          words="a plain file name inside the model folder (no '/' or '..')"),
    Field("training_data", "object", required=False),
    Field("validation", "object", required=False),
)

_MISSING = object()


def parse_config(file: Path) -> Any:
    """config.json parsed (size-capped, regular files only). ModelFileError when it cannot be read."""
    file = Path(file)
    size = _regular_file_size(file)
    if size > MAX_CONFIG_BYTES:
        raise ModelConfigError(file, "(file)", f"at most {MAX_CONFIG_BYTES >> 20} MB", f"{size} bytes")
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"model file {file} is corrupt: {_one_line(exc)}") from None


def validate_config(config: Any, file: Path) -> None:
    """Check config.json against SCHEMA; the first violation raises ModelConfigError(file, field)."""
    if not isinstance(config, dict):
        raise ModelConfigError(file, "(top level)", "a JSON object", _describe(config))
    for field in SCHEMA:
        for path, value, index in _resolve(config, field.path):
            _check_field(field, path, value, index, config, file)
    _check_parameter_budget(config, file)


def _resolve(config: dict, path: str):
    """(concrete path, value or _MISSING, class index) for every place the field path names."""
    found = [("", config, None)]
    for part in path.split("."):
        key, each = (part[:-2], True) if part.endswith("[]") else (part, False)
        nxt = []
        for where, node, index in found:
            if node is _MISSING or node is None:
                continue  # an optional parent is absent: nothing below it to check
            child = node.get(key, _MISSING)
            child_path = f"{where}.{key}" if where else key
            if not each:
                nxt.append((child_path, child, index))
            elif isinstance(child, list):
                nxt.extend((f"{child_path}[{i}]", item, i) for i, item in enumerate(child))
        found = nxt
    return found


def _check_field(field: Field, path: str, value: Any, index: int | None, config: dict, file: Path) -> None:
    words = _kind_words(field, config, index)

    def fail(got: Any = _MISSING, *, described: str | None = None) -> None:
        found = described if described is not None else None if got is _MISSING else _describe(got)
        raise ModelConfigError(file, path, words, found)

    if value is _MISSING:
        if field.required:
            fail(described="nothing (missing)")
        return
    if value is None:
        if not field.nullable:
            fail(value)
        return
    kind = field.kind
    if kind == "object" and not isinstance(value, dict):
        fail(value)
    if kind in ("list", "strings") and not isinstance(value, list):
        fail(value)
    if kind == "string" and not isinstance(value, str):
        fail(value)
    if kind == "strings" and not all(isinstance(v, str) for v in value):
        fail(value)
    if kind in ("int", "number"):
        if not _is_number(value, integer=kind == "int") or not _in_range(value, field):
            fail(value)
    if kind in ("vector", "matrix"):
        _check_array(field, value, index, config, fail)
    if field.length is not None and kind in ("string", "list", "strings", "vector"):
        low, high = field.length
        if not low <= len(value) <= high:
            fail(value if kind == "string" else _MISSING, described=None if kind == "string" else f"{len(value)} items")
    if field.choices is not None:
        values = value if kind == "strings" else [value]
        if any(v not in field.choices for v in values):
            fail(value)
    if field.check is not None:
        problem = field.check(value, config, index)
        if problem is not None:
            fail(described=problem)


def _check_array(field: Field, value: Any, index, config: dict, fail) -> None:
    """Numbers first (the first bad element is named), then the shape the config asks for."""
    if not isinstance(value, list):
        fail(value)
    if field.kind == "vector":
        cells = [((i,), v) for i, v in enumerate(value)]
        got = (len(value),)
    else:
        if not value:
            fail(described="no rows")
        if not all(isinstance(row, list) for row in value) or len({len(row) for row in value}) != 1:
            fail(described=f"{len(value)} rows that do not form a rectangular matrix")
        cells = [((i, j), v) for i, row in enumerate(value) for j, v in enumerate(row)]
        got = (len(value), len(value[0]))
    for where, cell in cells:
        if not _is_number(cell) or not _in_range(cell, field):
            fail(described=f"{_describe(cell)} at {''.join(f'[{k}]' for k in where)}")
    if field.shape is not None and got != field.shape(config, index):
        fail(described=f"{got[0]} values" if field.kind == "vector" else _with_article("x".join(map(str, got)) + " matrix"))


def _kind_words(field: Field, config: dict | None = None, index: int | None = None) -> str:
    """What the field must be, in words, e.g. "an integer 1..64"."""
    if field.words:
        return field.words
    span = ""
    if field.low is not None or field.high is not None:
        span = f" {_number_words(field.low)}..{_number_words(field.high)}"
    condition = f" {field.condition}" if field.condition else ""
    if field.kind == "int":
        return f"an integer{span}"
    if field.kind == "number":
        return f"a finite number{span}"
    if field.kind == "string":
        if field.choices:
            return f"one of {list(field.choices)}"
        return f"a string of {field.length[0]}..{field.length[1]} characters" if field.length else "a string"
    if field.kind == "object":
        return "a JSON object"
    if field.kind == "list":
        return (f"a list of {field.length[0]}..{field.length[1]} items" if field.length else "a list") + condition
    if field.kind == "strings":
        allowed = f" from {list(field.choices)}" if field.choices else ""
        count = f"{field.length[0]}..{field.length[1]} " if field.length else ""
        return f"a list of {count}strings{allowed}{condition}"
    size = ""
    if field.shape is not None and config is not None:
        try:
            size = "x".join(map(str, field.shape(config, index))) + " "
        except (KeyError, IndexError, TypeError, ValueError, ZeroDivisionError):
            size = ""  # the fields the shape comes from are reported on their own
        if field.kind == "vector" and size:
            size = f"{size.strip()}-element "
    adjective = f"{field.adjective} " if field.adjective else ""
    noun = "vector" if field.kind == "vector" else "matrix"
    origin = f" (from {field.shape_from})" if field.shape_from and size else ""
    return _with_article(f"{size}{adjective}{noun} of finite numbers{span}{origin}{condition}")


def _with_article(text: str) -> str:
    spoken_vowel = text[:1] in "aeiou8" or text.startswith(("11", "18")) and not text[2:3].isdigit()
    return f"{'an' if spoken_vowel else 'a'} {text}"


def _number_words(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _is_number(value: Any, integer: bool = False) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return not integer and isinstance(value, float) and math.isfinite(value)


def _in_range(value: int | float, field: Field) -> bool:
    # ints compare exactly with floats in Python, so huge JSON integers never overflow here
    return (field.low is None or value >= field.low) and (field.high is None or value <= field.high)


def _check_parameter_budget(config: dict, file: Path) -> None:
    per_class = sum(math.prod(shape) for shape in expected_array_shapes(config).values())
    total = per_class * len(config["classes"])
    if total > MAX_TOTAL_PARAMETERS:
        raise ModelConfigError(file, "hyperparameters.n_hidden",
                               f"a network of at most {MAX_TOTAL_PARAMETERS} parameters over all classes "
                               "(n_hidden, history, joint_history and the layout ask for more)", f"{total}")


# --------------------------------------------------------------------------------------------
# Class weights (.npz)
WEIGHT_NAMES = ("W", "b", "c", "A", "B")  # models.crbm.PARAMETER_NAMES
MODE_CHORDS_KEY = "mode_chord_log_probs"  # optional: (2, states) log P(chord state | major / minor)


def expected_array_shapes(config: dict) -> dict[str, tuple[int, ...]]:
    """The shape of every array of a class .npz, from the (validated) layout and hyperparameters."""
    groups = [int(g) for g in config["layout"]["group_sizes"]]
    visible, states = sum(groups), math.prod(groups)
    hyper = config["hyperparameters"]
    hidden, history, joint = int(hyper["n_hidden"]), int(hyper["history"]), int(hyper.get("joint_history", 0))
    width = history * (visible + 1) + joint * states  # models.crbm.conditioning_width
    return {"W": (visible, hidden), "b": (visible,), "c": (hidden,), "A": (width, visible), "B": (width, hidden),
            MODE_CHORDS_KEY: (2, states)}


_SHAPE_ORIGIN = {
    "W": "layout.group_sizes, hyperparameters.n_hidden", "b": "layout.group_sizes",
    "c": "hyperparameters.n_hidden",
    "A": "layout.group_sizes, hyperparameters.history, hyperparameters.joint_history",
    "B": "layout.group_sizes, hyperparameters.history, hyperparameters.joint_history, hyperparameters.n_hidden",
    MODE_CHORDS_KEY: "layout.group_sizes",
}

_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, EOFError, OSError,
               ValueError, NotImplementedError, RuntimeError, KeyError, struct.error, OverflowError)


def read_class_arrays(file: Path, config: dict) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """A class's CRBM weights (float32, WEIGHT_NAMES) and its mode table (float64, or None when the
    folder predates it), each header checked against expected_array_shapes before its data is read."""
    file = Path(file)
    shapes = expected_array_shapes(config)
    bound = sum(math.prod(s) for s in shapes.values()) * 8  # every array as float64
    size = _regular_file_size(file)
    limit = 2 * bound + (16 << 20)  # room for zip overhead and incompressible data
    if size > limit:
        raise ModelConfigError(file, "(file)", f"at most {limit} bytes for this layout", f"{size} bytes")
    arrays: dict[str, np.ndarray] = {}
    try:
        with zipfile.ZipFile(file) as archive:
            members = {info.filename: info for info in archive.infolist()}
            for key, shape in shapes.items():
                info = members.get(f"{key}.npy")
                if info is None:
                    if key == MODE_CHORDS_KEY:
                        continue  # folders trained before the mode table existed
                    raise ModelConfigError(file, key, _array_words(key, shape), "nothing (missing)")
                arrays[key] = _read_member(archive, info, file, key, shape)
    except ModelFileError:
        raise
    except _ZIP_ERRORS as exc:
        raise ModelFileError(f"model file {file} is corrupt: {_one_line(exc)}") from None
    mode_chords = arrays.get(MODE_CHORDS_KEY)
    if mode_chords is not None:
        mode_chords = mode_chords.astype(np.float64)
        row_mass = np.logaddexp.reduce(mode_chords, axis=1)
        if np.any(np.abs(row_mass) > 1e-3):
            row = int(np.argmax(np.abs(row_mass)))
            raise ModelConfigError(file, MODE_CHORDS_KEY, _array_words(MODE_CHORDS_KEY, shapes[MODE_CHORDS_KEY]),
                                   f"row {row} whose probabilities sum to {math.exp(row_mass[row]):.6g}")
    weights = {key: arrays[key].astype(np.float32, copy=False) for key in WEIGHT_NAMES}
    return weights, mode_chords


def _array_words(key: str, shape: tuple[int, ...]) -> str:
    """What array `key` must be, e.g. "a 38x64 float16/32/64 array of finite numbers |x| <= 1e4 (from ...)"."""
    if key == MODE_CHORDS_KEY:
        values = "log probabilities -1e4..0, each row's probabilities summing to 1"
    else:
        values = f"finite numbers, |value| <= {MAX_WEIGHT_MAGNITUDE:g}"
    return _with_article(f"{_shape_words(shape)} float16/32/64 array of {values} (shape from {_SHAPE_ORIGIN[key]})")


def _value_range(key: str) -> tuple[float, float]:
    return (-1e4, 1e-3) if key == MODE_CHORDS_KEY else (-MAX_WEIGHT_MAGNITUDE, MAX_WEIGHT_MAGNITUDE)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: Path, key: str,
                 shape: tuple[int, ...]) -> np.ndarray:
    expected = _array_words(key, shape)

    def fail(got: str) -> None:
        raise ModelConfigError(file, key, expected, got)

    if info.file_size > math.prod(shape) * 8 + MAX_NPY_HEADER_BYTES + 64:
        fail(f"a member of {info.file_size} bytes unpacked")
    with archive.open(info) as stream:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            got_shape, fortran, dtype = np.lib.format.read_array_header_1_0(stream, max_header_size=MAX_NPY_HEADER_BYTES)
        elif version == (2, 0):
            got_shape, fortran, dtype = np.lib.format.read_array_header_2_0(stream, max_header_size=MAX_NPY_HEADER_BYTES)
        else:
            fail(f"npy format {version[0]}.{version[1]} (readable: 1.0, 2.0)")
        if dtype.kind != "f" or dtype.itemsize not in (2, 4, 8) or dtype.hasobject:
            fail(f"dtype {dtype}")
        if tuple(got_shape) != shape:
            fail(_shape_words(tuple(got_shape)))  # before any data is read: no allocation of the claimed size
        needed = math.prod(shape) * dtype.itemsize
        data = stream.read(needed)
        if len(data) < needed:
            fail(f"{len(data)} of its {needed} data bytes")
        if stream.read(1):  # reading to the end also checks the CRC
            fail(f"more than the {needed} data bytes its header gives")
    array = np.frombuffer(data, dtype).reshape(shape, order="F" if fortran else "C")
    low, high = _value_range(key)
    bad = ~(np.isfinite(array) & (array >= low) & (array <= high))
    if np.any(bad):
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        fail(f"{float(array[where]):g} at {list(where)}")
    return array


def _shape_words(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape)) if len(shape) != 1 else f"{shape[0]}-element"


# --------------------------------------------------------------------------------------------
def _regular_file_size(file: Path) -> int:
    """The size of a regular file; ModelFileError for a missing one, a FIFO, a device, a folder."""
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise ModelFileError(f"model file {file} not found (is {file.parent} a moodchords model folder?)") from None
    except (OSError, ValueError) as exc:
        raise ModelFileError(f"model file {file} cannot be read: {_one_line(exc)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise ModelConfigError(file, "(file)", "a regular file", "a folder, device or pipe")
    return info.st_size


def _describe(value: Any) -> str:
    """A value for a message, one line and short."""
    if isinstance(value, dict):
        return f"an object with keys {sorted(map(str, value))[:6]}"
    try:
        text = json.dumps(value[:6] if isinstance(value, list) else value, default=repr)
    except ValueError:  # e.g. an integer too long to print
        text = f"a {type(value).__name__}"
    if isinstance(value, list) and len(value) > 6:
        text = f"{text[:-1]}, ... ({len(value)} items)]"
    return text if len(text) <= 100 else text[:97] + "..."


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
