"""bench/_bootstrap.py: the one opening of the bench scripts, run as `python bench/X.py` from anywhere."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["form.py", "mood_carried.py"])
def test_a_bench_script_imports_the_project_through_the_bootstrap(script, tmp_path):
    """From a folder outside the project, with no PYTHONPATH: the script's imports of the project
    (models, assistant) and of bench/common work, so --help answers."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), "--help"], capture_output=True,
                            text=True, timeout=120, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {script}")


def test_the_bootstrap_puts_the_project_first_and_keeps_models_offline(tmp_path):
    code = ("import sys, os; sys.path.insert(0, sys.argv[1]); import _bootstrap as bootstrap, models, common; "
            "print(sys.path[0] == str(bootstrap.ROOT), os.environ['HF_HUB_OFFLINE'])")
    result = subprocess.run([sys.executable, "-c", code, str(ROOT / "bench")], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "1"]
