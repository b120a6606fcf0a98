"""The PySide6 window (see gui/main_window.py); `python -m gui` starts it."""
from __future__ import annotations

import sys
import types


def _uses_pyside(module: types.ModuleType) -> bool:
    """Does the module hold PySide6 objects? Looks at its globals only."""
    for value in list(getattr(module, "__dict__", {}).values()):
        owner = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
        if isinstance(owner, str) and owner.startswith(("PySide6", "shiboken6")):
            return True
    return False


def _stop_pyside_reading_every_imported_module() -> None:
    """PySide6's import hook (for `from __feature__ import snake_case`) asks, for every module
    imported after it, whether the module uses PySide, by reading the module's whole source with
    inspect.getsource; the sources stay in linecache. Loading TensorFlow, torch and transformers
    after Qt then costs ~250 MB of resident memory and seconds (bench/window.py, "Memory"). Answer
    from the module's globals instead. Internal to PySide6: if it moves, nothing changes."""
    import PySide6.QtCore  # noqa: F401 (installs the hook)

    feature = sys.modules.get("shibokensupport.feature")
    if feature is not None and hasattr(feature, "_mod_uses_pyside"):
        feature._mod_uses_pyside = _uses_pyside


_stop_pyside_reading_every_imported_module()
