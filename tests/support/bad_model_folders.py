"""Corrupted copies of the shipped model folder, for the schema tests of issue 18 item 11
(tests/test_model_config.py) and the fuzz bench (bench/model_config.py).

Every case is reproducible from its seed: copy_model_folder makes the folder (weight files as
symlinks to the shipped ones, so a case costs one small config.json), and mutate_config /
write_fuzzed_npz / write_w_bomb damage it.
"""
from __future__ import annotations

import copy
import json
import random
import zipfile
from pathlib import Path

import numpy as np

from models.model_folder import default_model_dir

SHIPPED = default_model_dir()
CONFIG = "config.json"

#: Values of every JSON type and awkward number a mutation can put anywhere in config.json.
ODD_VALUES = [None, True, False, 0, -1, 1, 2, 7, 10**30, -(10**30), 0.5, -0.5, 1e308, -1e308, 1e-320,
              float("nan"), float("inf"), float("-inf"), "", "x", "Q1", "four", [], [0], [1.0, 2.0], [[1]],
              [[0.0] * 16] * 8, {}, {"a": 1}, [None], ["Q1", "Q1"], "\x00", "a\nb"]


def copy_model_folder(parent: Path, name: str = "model") -> Path:
    """A copy of the shipped model folder whose .npz files are symlinks (read-only use)."""
    folder = Path(parent) / name
    folder.mkdir()
    for file in SHIPPED.iterdir():
        if file.suffix == ".npz":
            (folder / file.name).symlink_to(file)
        else:
            (folder / file.name).write_bytes(file.read_bytes())
    return folder


def shipped_config() -> dict:
    return json.loads((SHIPPED / CONFIG).read_text())


def shipped_arrays(name: str = "class_Q1.npz") -> dict[str, np.ndarray]:
    with np.load(SHIPPED / name) as data:
        return {key: data[key] for key in data.files}


def _paths(node, prefix=()):
    """Every path to a value inside the config (of a list: its first, middle and last item)."""
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for index in sorted({0, len(node) - 1, len(node) // 2}) if node else []:
            yield from _paths(node[index], prefix + (index,))


def mutate_config(rng: random.Random, config: dict) -> str:
    """One random change anywhere in config (in place): delete a key, scale or shift a number,
    shorten a list, or put an ODD_VALUES value in its place. Returns the path changed, for reports."""
    paths = [p for p in _paths(config) if p]
    path = rng.choice(paths)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    current = parent[path[-1]]
    action = rng.random()
    if action < 0.15 and isinstance(parent, dict):
        del parent[path[-1]]
    elif action < 0.3 and isinstance(current, (int, float)) and not isinstance(current, bool):
        parent[path[-1]] = current * rng.choice([-1, 0, 2, 1e6, 1.5]) + rng.choice([0, 0.5, -3])
    elif action < 0.4 and isinstance(current, list) and current:
        parent[path[-1]] = current[: rng.randrange(len(current))]
    else:  # a copy: a shared list or dict could be mutated later, into itself (a cycle) or for the next case
        parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return ".".join(map(str, path))


def write_fuzzed_npz(rng: random.Random, arrays: dict[str, np.ndarray], path: Path) -> str:
    """The arrays as an npz, one of them with a random npy header (shape, dtype, order, format
    version) over its real or truncated data. Returns the array changed."""
    key = rng.choice(sorted(arrays))
    shape = rng.choice([(), (0,), (1,), (30000, 30000), (2**40, 2**40), (38, 64, 1), (64, 38),
                        tuple(reversed(arrays[key].shape)), arrays[key].shape, (-1, 5)])
    descr = rng.choice(["<f4", "<f8", ">f4", "<f2", "<i4", "|O", "<c16", "|b1", "<U3", "|V8", "[('a', '<f4')]"])
    fortran = rng.random() < 0.2
    version = rng.choice([(1, 0), (2, 0), (3, 0), (9, 9)])
    raw = arrays[key].tobytes()
    if rng.random() < 0.3:
        raw = raw[: rng.randrange(len(raw) + 1)]
    with zipfile.ZipFile(path, "w") as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", "w", force_zip64=True) as stream:
                if name != key:
                    np.lib.format.write_array(stream, array)
                    continue
                header = "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (
                    descr if descr.startswith("[") else repr(descr), fortran, repr(shape))
                stream.write(b"\x93NUMPY" + bytes(version))
                encoded = header.encode("latin1") + b"\n"
                stream.write(len(encoded).to_bytes(2 if version == (1, 0) else 4, "little") + encoded)
                stream.write(raw)
    return key


def write_w_bomb(path: Path, rows: int = 30000, cols: int = 30000) -> None:
    """The shipped class Q1's npz with W replaced by a rows x cols float32 zero matrix (3.6 GB
    unpacked at 30000 x 30000, 15 MB packed), streamed in 4 MB chunks."""
    chunk = bytes(1 << 22)
    arrays = shipped_arrays()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("W.npy", "w", force_zip64=True) as stream:
            np.lib.format.write_array_header_1_0(stream, {"descr": "<f4", "fortran_order": False, "shape": (rows, cols)})
            left = rows * cols * 4
            while left > 0:
                stream.write(chunk[:min(left, len(chunk))])
                left -= len(chunk)
        for key in ("b", "c", "A", "B", "mode_chord_log_probs"):
            with archive.open(f"{key}.npy", "w") as stream:
                np.lib.format.write_array(stream, arrays[key])


#: Run with `python -c MEASURE_LOAD FOLDER` (cwd: the project): loads the folder and prints JSON
#: {"outcome": [file, field] or null, "seconds", "cpu_seconds", "peak_mb"}. VmHWM, not ru_maxrss: Linux carries
#: ru_maxrss over from the parent across fork + exec.
MEASURE_LOAD = r"""
import json, re, sys, time
from models.errors import ModelConfigError
from models.model_folder import load_model_set
started, cpu_started = time.perf_counter(), time.process_time()
try:
    load_model_set(sys.argv[1])
    outcome = None
except ModelConfigError as error:
    outcome = [error.file, error.field]
peak_kb = int(re.search(r"VmHWM:\s+(\d+)", open("/proc/self/status").read()).group(1))
print(json.dumps({"outcome": outcome, "seconds": time.perf_counter() - started,
                  "cpu_seconds": time.process_time() - cpu_started, "peak_mb": peak_kb / 1024}))
"""
