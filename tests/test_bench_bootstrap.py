"""bench/_bootstrap.py: the one opening of the bench scripts, run as `python bench/X.py` from anywhere."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


#: bench scripts with a --help (argparse): each is started from outside the project to answer it
SCRIPTS_WITH_HELP = ["form.py", "mood_carried.py", "chord_recognition.py", "crbm.py", "jsb_sweep.py", "key_finding.py",
                     "midi_input_limits.py", "mode_expert.py", "model_config.py", "pop909_next_chord.py",
                     "pop909_pretrain.py", "pop909_retrain.py", "pre_roll.py", "window.py", "classifier_committee.py",
                     "classifier_stacking.py"]
#: run as scripts only (no package import of bench.X from elsewhere), so the bootstrap is their opening
BOOTSTRAPPED = SCRIPTS_WITH_HELP + ["compose_speed.py", "engine.py", "harmonic_rhythm.py", "jsb.py", "playback.py",
                                   "pop909_position.py", "pop909_read.py", "startup.py"]


@pytest.mark.parametrize("script", SCRIPTS_WITH_HELP)
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


@pytest.mark.parametrize("script", BOOTSTRAPPED)
def test_the_opening_is_not_repeated(script):
    """The path set-up lives in bench/_bootstrap.py alone: a bootstrapped script neither edits sys.path
    nor repeats the offline settings."""
    text = (ROOT / "bench" / script).read_text()
    assert "sys.path.insert" not in text and 'os.environ.setdefault("HF_HUB_OFFLINE"' not in text
    assert "import _bootstrap" in text or "from _bootstrap import" in text
