"""The PySide6 window (see gui/main_window.py); `python -m gui` starts it."""
from gui import _pyside_none_refcount

_pyside_none_refcount.apply()
