"""models.crbm_layout: the numpy side of the chord CRBM, and NumpyClassScorer, the TensorFlow-free
class scoring `moodchords classify` uses (issue 18: a classify process under 500 MB for any file;
TensorFlow alone takes ~480 MB). The numpy scores must be the TensorFlow experts' scores."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EMOPIA_MIDIS = Path("/work/shared/data/emopia/midis")
CLASSIFY_PEAK_MB = 500  # issue 18: memory under 500 MB for any input file


def _real_midis(count: int) -> list[Path]:
    files = sorted(EMOPIA_MIDIS.glob("*.mid"))[:count] if EMOPIA_MIDIS.is_dir() else []
    if not files:  # the shared data set is optional; the repository's own MIDI fixtures are not
        files = sorted((ROOT / "tests").rglob("*.mid"))[:count]
    if not files:
        pytest.skip("no MIDI files found")
    return files


def test_importing_the_layout_side_does_not_load_tensorflow():
    code = ("import sys; import models.crbm_layout, models.classification, models.model_folder, models.dataset; "
            "print('tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_crbm_reexports_the_layout_helpers():
    import models.crbm as crbm
    import models.crbm_layout as layout

    for name in ("CHORD_LAYOUT", "VisibleLayout", "chord_visible", "conditioning_matrix", "state_matrix",
                 "infer_history", "history_matrix", "states_to_visible", "visible_to_states"):
        assert getattr(crbm, name) is getattr(layout, name)


def test_numpy_class_scores_match_the_tensorflow_experts_on_real_histories():
    from models.classification import SCORING_WINDOW_CHORDS  # noqa: F401 (the same windows are scored)
    from models.crbm_layout import CHORD_LAYOUT, NumpyClassScorer, chord_visible, conditioning_matrix
    from models.dataset import load_clip
    from models.model_folder import load_model_set

    model_set = load_model_set(None)
    clip = next(c for c in (load_clip(p) for p in _real_midis(5)) if len(c.events) >= 4)
    u = conditioning_matrix(chord_visible(clip.events), model_set.history, model_set.joint_history, CHORD_LAYOUT)
    expected = model_set.experts().class_log_probs(u)  # TensorFlow
    got = NumpyClassScorer.for_model_set(model_set).class_log_probs(u)
    assert got.shape == expected.shape and got.dtype == np.float32
    assert np.isfinite(got).all()
    np.testing.assert_allclose(np.logaddexp.reduce(got, axis=2), 0.0, atol=1e-4)  # normalised over the states
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-3)
    # and a history that is no real sequence (random ones) still agrees
    rng = np.random.default_rng(0)
    odd = (rng.random((3, u.shape[1])) < 0.01).astype(np.float32)
    np.testing.assert_allclose(NumpyClassScorer.for_model_set(model_set).class_log_probs(odd),
                               model_set.experts().class_log_probs(odd), rtol=0, atol=2e-3)


def test_classify_scores_with_numpy_equal_the_tensorflow_scores():
    from models.classification import log_likelihoods
    from models.crbm_layout import NumpyClassScorer
    from models.dataset import load_clip
    from models.model_folder import load_model_set

    model_set = load_model_set(None)
    scorer = NumpyClassScorer.for_model_set(model_set)
    for path in _real_midis(3):
        clip = load_clip(path)
        if not clip.events:
            continue
        tf_scores = log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode)
        np_scores = log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode, scorer=scorer)
        for name in tf_scores:
            assert np_scores[name].harmony == pytest.approx(tf_scores[name].harmony, abs=1e-3 * len(clip.events))
            assert np_scores[name].performance == tf_scores[name].performance
        best = lambda scores: max(scores, key=lambda c: scores[c].combined)  # noqa: E731
        assert best(np_scores) == best(tf_scores)


def test_scorer_refuses_a_binary_layout():
    from models.crbm_layout import NumpyClassScorer, VisibleLayout
    from models.errors import InvalidModelInput

    with pytest.raises(InvalidModelInput, match="softmax"):
        NumpyClassScorer(VisibleLayout.binary(88), [])


def _classify_peak(args: list[str]) -> tuple[subprocess.CompletedProcess, float]:
    """Run `moodchords classify ARGS` (the installed console script, else `python -m assistant.cli`)
    under a small launcher whose only child it is, so the launcher's RUSAGE_CHILDREN ru_maxrss is the
    classify process's own peak resident memory (pytest's earlier children do not count)."""
    script = Path(sys.executable).parent / "moodchords"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    launcher = ("import resource, subprocess, sys; done = subprocess.run(sys.argv[1:]); "
                "print(f'PEAK_KB {resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}', file=sys.stderr); "
                "sys.exit(done.returncode)")
    out = subprocess.run([sys.executable, "-c", launcher, *command, "classify", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    peak_kb = int(out.stderr.rsplit("PEAK_KB ", 1)[1].split()[0])
    return out, peak_kb / 1024


def test_classify_on_real_midi_files_stays_under_500_mb(tmp_path):
    """Issue 18: the whole `moodchords classify FILE` process under 500 MB (it was ~585 MB with
    TensorFlow loaded before any file was read), on real files and on a long valid one."""
    import json

    from tests.support import bad_midi

    long_file = tmp_path / "long.mid"
    long_file.write_bytes(bad_midi.chord_song(400))
    files = [str(p) for p in _real_midis(2)] + [str(long_file)]
    out, peak_mb = _classify_peak([*files, "--json"])
    assert out.returncode == 0, out.stderr
    results = json.loads(out.stdout)["results"]
    assert [r.get("predicted") is not None for r in results] == [True] * len(files), results
    assert results[-1]["chords"] >= 300
    assert peak_mb < CLASSIFY_PEAK_MB, f"classify peak {peak_mb:.0f} MB"
