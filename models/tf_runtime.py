"""TensorFlow, imported once for the whole models package, without Keras.

`import tensorflow` eagerly imports Keras 3 (and, through Keras' scikit-learn wrapper,
scikit-learn): ~100 MB of resident memory and ~1 s of start-up that the CRBM never uses (it is
written against TensorFlow's core ops). During the import, Keras is made to fail the way an
absent optional dependency does, which TensorFlow handles; `tf.keras` and `import keras` still
work afterwards for anyone who needs them (loaded on first use).
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys


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


def _import_tensorflow():
    if "tensorflow" in sys.modules:  # someone imported it first: use it as it is
        return sys.modules["tensorflow"]
    finder = _DeferKeras()
    sys.meta_path.insert(0, finder)
    try:
        import tensorflow
    finally:
        sys.meta_path.remove(finder)
    return tensorflow


tf = _import_tensorflow()
