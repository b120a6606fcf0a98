"""The opening every bench script needs before it can import the project: import it first (the
leading underscore keeps bench/run_all.py from running it as a bench).

    from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline

Run as ``python bench/X.py``, a script finds this module beside it (Python puts the script's folder
first on sys.path); it puts the project root (for ``models``, ``assistant``, ``tests``) and bench/
(for ``common``) on sys.path, keeps the language models offline (they come from installed packages,
never a hub) and TensorFlow's C++ log quiet.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

for _folder in (str(BENCH), str(ROOT)):  # ROOT ends up first, as the scripts had it
    if _folder not in sys.path:
        sys.path.insert(0, _folder)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
