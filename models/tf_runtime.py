"""TensorFlow, imported once for the whole models package, without Keras.

`import tensorflow` eagerly imports Keras 3 (and, through Keras' scikit-learn wrapper,
scikit-learn): ~100 MB of resident memory and ~1 s of start-up that the CRBM never uses (it is
written against TensorFlow's core ops). During the import, Keras is made to fail the way an
absent optional dependency does, which TensorFlow handles; `tf.keras` and `import keras` still
work afterwards for anyone who needs them (loaded on first use).

TensorFlow's C++ start-up also writes INFO lines (oneDNN, CPU features) straight to file
descriptor 2 before its logging is configured, so TF_CPP_MIN_LOG_LEVEL does not reach them: every
CLI command printed four lines of noise. The import runs with descriptor 2 captured, and whatever
else it wrote is passed on afterwards.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile


class _Refuse(importlib.abc.Loader):
    def create_module(self, spec):  # noqa: D102 (default module creation)
        return None

    def exec_module(self, module) -> None:
        raise ImportError("Keras is not loaded during TensorFlow's import (models.tf_runtime)")


class _DeferKeras(importlib.abc.MetaPathFinder):
    """Finds keras where it is installed (TensorFlow reads its path) but refuses to run it."""

    def find_spec(self, name, path, target=None):
        if name != "keras" and not name.startswith("keras."):
            return None
        real = importlib.machinery.PathFinder.find_spec(name, path)
        if real is None:
            return None
        return importlib.machinery.ModuleSpec(name, _Refuse(), origin=real.origin,
                                              is_package=real.submodule_search_locations is not None)


#: Start-up lines of TensorFlow's C++ runtime that say nothing a user can act on.
_START_UP_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|\] oneDNN custom operations are on\."
    r"|\] This TensorFlow binary is optimized to use available CPU instructions"
    r"|^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags\.$")


def without_start_up_noise(text: str) -> str:
    """``text`` without the lines matching _START_UP_NOISE (everything else kept, in order)."""
    return "".join(line for line in text.splitlines(keepends=True) if not _START_UP_NOISE.search(line.rstrip("\n")))


def _import_tensorflow():
    if "tensorflow" in sys.modules:  # someone imported it first: use it as it is
        return sys.modules["tensorflow"]
    finder = _DeferKeras()
    sys.meta_path.insert(0, finder)
    sys.stderr.flush()
    captured = tempfile.TemporaryFile()
    saved = os.dup(2)
    os.dup2(captured.fileno(), 2)
    try:
        import tensorflow
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        sys.meta_path.remove(finder)
        captured.seek(0)
        rest = without_start_up_noise(captured.read().decode("utf-8", "replace"))
        captured.close()
        if rest:
            sys.stderr.write(rest)
            sys.stderr.flush()
    return tensorflow


tf = _import_tensorflow()
