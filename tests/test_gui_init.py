"""gui/__init__.py keeps PySide6's import hook from reading the source of every module imported
after Qt (measured: ~210 MB of the window's resident memory with the models loaded)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Imports Qt (one way or the other), then a package nobody imported yet, and asks whether the
# sources of the modules it imports landed in linecache.
PROBE = r"""
import linecache, sys
if sys.argv[1] == "gui":
    import gui
else:
    import PySide6.QtWidgets
before = len(linecache.cache)
import xml.dom.minidom
print(len(linecache.cache) > before)
"""


def _source_cached(mode: str) -> bool:
    done = subprocess.run([sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip() == "True"


def test_plain_pyside_reads_the_source_of_every_later_import():
    assert _source_cached("pyside") is True  # the behaviour gui/__init__.py exists to stop


def test_importing_gui_stops_it():
    assert _source_cached("gui") is False


def test_modules_that_use_qt_are_still_recognised():
    import types

    from gui import _uses_pyside

    qt_user = types.ModuleType("qt_user")
    exec("from PySide6.QtCore import QObject", qt_user.__dict__)
    plain = types.ModuleType("plain")
    exec("import json", plain.__dict__)
    assert _uses_pyside(qt_user) and not _uses_pyside(plain)
