"""The PySide6 window (see gui/main_window.py); `python -m gui` starts it."""
