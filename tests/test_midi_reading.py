"""Issue 18, items 4-7 and 12: no MIDI input may crash, hang or exhaust memory, and one bad file
never ends a batch. The adversarial files are raw SMF bytes (tests/support/bad_midi.py)."""
from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import pytest

from models.dataset import ClipError, load_clip, load_folder
from models.midi_reading import MAX_FILE_BYTES, read_midi
from tests.support import bad_midi

PROJECT = Path(__file__).resolve().parent.parent
MEMORY_LIMIT_MB = 500  # issue 18: any input file
TIME_LIMIT_S = 5.0  # issue 18: any file under 1 MB


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOODCHORDS_CACHE_DIR", str(tmp_path / "cache"))


PEAK_MB = """
def peak_mb():
    # VmHWM: this process's own peak resident memory (ru_maxrss also keeps the forking parent's
    # peak across exec on Linux, so a child of a large pytest would report the parent's size)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""


def run_python(code: str, *, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter at the project root (its peak memory is its own)."""
    return subprocess.run([sys.executable, "-c", PEAK_MB + textwrap.dedent(code)], cwd=PROJECT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def analyse_in_subprocess(path: Path) -> dict:
    """load_clip on ``path`` in a child with a 2 GB address-space cap (a regression fails, it does not
    swap the machine): its outcome, seconds (CPU time: other processes sharing the cores do not
    count; wall time beside it) and peak resident memory."""
    result = run_python(f"""
        import json, resource, time
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from models.dataset import ClipError, load_clip
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            clip = load_clip({str(path)!r}, use_cache=False)
            outcome = f"ok {{len(clip.events)}} chords"
        except ClipError as error:
            outcome = f"ClipError: {{error}}"
        print(json.dumps({{"outcome": outcome, "seconds": time.process_time() - started_cpu,
                          "wall_seconds": time.perf_counter() - started,
                          "peak_mb": peak_mb()}}))
    """)
    assert result.returncode == 0, result.stderr[-2000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- item 4: a file's length is bounded -------------------------------------------------------

@pytest.mark.parametrize("case, expected", [
    ("huge_delta_note", "too long"),  # 37 bytes, one note of 2**28 ticks: reached 6-8 GB
    ("long_note_coarse_ticks", "too long"),  # 36 bytes, 1 tick a beat, one 100,000-tick note: 39 s, 1.7 GB
    ("overlong_vlq", "variable-length quantity longer than 9 bytes"),  # a 70-bit delta: OverflowError
    ("vlq_63_bits", "too long"),
    ("endless_vlq", "variable-length quantity longer than 9 bytes"),  # 100,000 bytes of 0x80
    ("zero_tempo_after_start", "tempo of 0"),  # ZeroDivisionError
    ("huge_trailing_silence", "ok 4 chords"),  # the music is short; a far end_of_track changes nothing
    ("unreleased_pedal_far_end", "ok"),  # a pedal released 2**28 ticks later: the same
])
def test_adversarial_files_end_fast_small_and_clear(tmp_path, case, expected):
    path = tmp_path / f"{case}.mid"
    path.write_bytes(bad_midi.ADVERSARIAL_CASES[case]())
    report = analyse_in_subprocess(path)
    assert expected in report["outcome"]
    if report["outcome"].startswith("ClipError"):
        assert str(path) in report["outcome"]
        assert "allowed" in report["outcome"] or "variable-length" in report["outcome"]
    assert report["seconds"] < 1.0 and report["peak_mb"] < MEMORY_LIMIT_MB


def test_too_long_names_the_bound(tmp_path):
    path = tmp_path / "long.mid"
    path.write_bytes(bad_midi.long_note_coarse_ticks())
    with pytest.raises(ClipError, match=r"too long \(100,000 beats of music\); allowed: at most 10,000 beats"):
        read_midi(path)
    path.write_bytes(bad_midi.chord_song(2400))  # 9,600 beats at 120 BPM: 80 minutes
    with pytest.raises(ClipError, match=r"too long \(80.0 minutes of music\); allowed: .* 30 minutes"):
        read_midi(path)


@pytest.mark.parametrize("case", ["tracked_29_minutes", "tempo_map_25_minutes", "stacked_same_key", "pedal_storm"])
def test_files_under_a_megabyte_take_under_5_s_and_500_mb(tmp_path, case):
    data = {"tracked_29_minutes": lambda: bad_midi.dense_long_file(990_000, 29),  # beats tracked over 29 min
            "tempo_map_25_minutes": lambda: bad_midi.dense_long_file(990_000, 25, tempo_map=True),
            "stacked_same_key": lambda: bad_midi.stacked_same_key(80_000),  # every note held together
            "pedal_storm": lambda: bad_midi.pedal_storm(50_000)}[case]()
    assert len(data) < 1_000_000
    path = tmp_path / f"{case}.mid"
    path.write_bytes(data)
    report = analyse_in_subprocess(path)
    assert report["seconds"] < TIME_LIMIT_S and report["peak_mb"] < MEMORY_LIMIT_MB, report
    if case == "stacked_same_key":
        assert "overlap too densely" in report["outcome"]
    else:
        assert report["outcome"].startswith("ok"), report  # analysed, not refused


# -- item 7: special files ---------------------------------------------------------------------

def test_devices_fifos_folders_and_huge_files_are_refused_without_reading(tmp_path):
    for special in ("/dev/zero", "/dev/urandom"):
        with pytest.raises(ClipError, match="not a regular file"):
            load_clip(special)
    with pytest.raises(ClipError, match="is a folder"):
        load_clip(tmp_path)
    big = tmp_path / "big.mid"
    with open(big, "wb") as stream:  # sparse: no disk used
        stream.truncate(MAX_FILE_BYTES + 1)
    with pytest.raises(ClipError, match=f"file too large.*allowed: MIDI files up to {MAX_FILE_BYTES:,} bytes"):
        load_clip(big)


def test_a_fifo_never_blocks(tmp_path):
    fifo = tmp_path / "pipe.mid"
    os.mkfifo(fifo)
    outcome: list = []

    def read() -> None:
        try:
            load_clip(fifo)
        except ClipError as error:
            outcome.append(str(error))

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=5)
    if reader.is_alive():  # unblock the thread before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("reading a FIFO blocked")
    assert outcome and "not a regular file" in outcome[0]


# -- item 5: one bad file never ends a batch ---------------------------------------------------

def _batch_folder(folder: Path) -> list[str]:
    """One good file and the bad ones; returns the bad names."""
    (folder / "Q1_good.mid").write_bytes(bad_midi.chord_song(8))
    bad = {"Q2_tempo0.mid": bad_midi.zero_tempo_after_start(), "Q3_vlq.mid": bad_midi.overlong_vlq(),
           "Q4_huge.mid": bad_midi.huge_delta_note()}
    for name, data in bad.items():
        (folder / name).write_bytes(data)
    return sorted(bad)


def test_load_folder_skips_every_bad_file_and_names_them_all(tmp_path):
    bad = _batch_folder(tmp_path)
    for i in range(12):  # more than the summary gives reasons for: the rest are still named
        (tmp_path / f"Q9_corrupt{i:02d}.mid").write_bytes(b"MThd garbage")
    with pytest.warns(UserWarning) as caught:
        loaded = load_folder(tmp_path)
    assert [c.path.name for c in loaded.clips] == ["Q1_good.mid"]
    skipped = {p.name for p, _ in loaded.skipped}
    assert skipped == set(bad) | {f"Q9_corrupt{i:02d}.mid" for i in range(12)}
    message = str(caught[0].message)
    assert message.startswith(f"skipped 15 of 16 MIDI files in {tmp_path}: ") and "\n" not in message
    assert all(name in message for name in skipped)
    assert "Q2_tempo0.mid: corrupt MIDI file (tempo of 0" in message


def test_an_unexpected_error_on_one_file_is_caught_named_and_logged(tmp_path, monkeypatch, caplog):
    import models.dataset

    _batch_folder(tmp_path)
    real = models.dataset.analyse_midi

    def analyse(path, *args, **kwargs):  # a bug that only one file triggers
        if Path(path).name == "Q1_good.mid":
            raise RuntimeError("simulated bug")
        return real(path, *args, **kwargs)

    (tmp_path / "Q4_other.mid").write_bytes(bad_midi.chord_song(6))
    monkeypatch.setattr(models.dataset, "analyse_midi", analyse)
    with caplog.at_level(logging.ERROR, logger="models.dataset"), pytest.warns(UserWarning, match="skipped 4 of 5"):
        loaded = load_folder(tmp_path)
    assert [c.path.name for c in loaded.clips] == ["Q4_other.mid"]
    reasons = dict((p.name, r) for p, r in loaded.skipped)
    assert "could not be analysed (unexpected RuntimeError: simulated bug)" in reasons["Q1_good.mid"]
    assert any("Q1_good.mid" in r.getMessage() and r.exc_info for r in caplog.records)


def test_classify_reports_each_bad_file_and_scores_the_rest(tmp_path, capsys):
    from assistant.cli import main

    bad = _batch_folder(tmp_path)
    files = [str(tmp_path / "Q1_good.mid")] + [str(tmp_path / n) for n in bad] + ["/dev/zero"]
    assert main(["classify", *files, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    by_name = {Path(r["file"]).name: r for r in report["results"]}
    assert "predicted" in by_name["Q1_good.mid"]
    assert "tempo of 0" in by_name["Q2_tempo0.mid"]["error"]
    assert "variable-length quantity" in by_name["Q3_vlq.mid"]["error"] and "too long" in by_name["Q4_huge.mid"]["error"]
    assert "not a regular file" in by_name["zero"]["error"]
    assert main(["classify", *files[1:]]) == 2  # every file failed: exit 2, one error line each
    errors = capsys.readouterr().err.splitlines()
    assert len([line for line in errors if line.startswith("moodchords classify: error: ")]) == 4


def test_classify_catches_an_unexpected_error_per_file(tmp_path, capsys, monkeypatch, caplog):
    from assistant.cli import main
    import models.classification as classification

    (tmp_path / "a.mid").write_bytes(bad_midi.chord_song(8))
    (tmp_path / "b.mid").write_bytes(bad_midi.chord_song(12))
    real = classification.log_likelihoods

    def scores(model_set, events, *args, **kwargs):
        if len(events) == 12:
            raise ValueError("simulated bug")
        return real(model_set, events, *args, **kwargs)

    monkeypatch.setattr(classification, "log_likelihoods", scores)
    with caplog.at_level(logging.ERROR):
        assert main(["classify", str(tmp_path / "a.mid"), str(tmp_path / "b.mid"), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert "predicted" in results[0]
    assert results[1]["error"] == f"{tmp_path / 'b.mid'}: could not be analysed (unexpected ValueError: simulated bug)"
    assert any("b.mid" in r.getMessage() and r.exc_info for r in caplog.records)


# -- item 6: classify's memory is flat in the file's length -------------------------------------

@pytest.mark.slow
def test_classify_memory_is_flat_in_the_number_of_chords(tmp_path):
    short, long = tmp_path / "short.mid", tmp_path / "long.mid"
    short.write_bytes(bad_midi.chord_song(16, beats_per_chord=2))
    long.write_bytes(bad_midi.chord_song(300, beats_per_chord=2))  # 300 chords: 600 MB more before the fix
    result = run_python(f"""
        import json, resource
        from models.classification import log_likelihoods
        from models.dataset import load_clip
        from models.model_folder import load_model_set
        model_set = load_model_set(None)
        peaks = []
        for path in ({str(short)!r}, {str(long)!r}):
            clip = load_clip(path, use_cache=False)
            log_likelihoods(model_set, clip.events, clip.performance, mode=clip.mode)
            peaks.append((len(clip.events), peak_mb()))
        print(json.dumps(peaks))
    """, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    (short_chords, short_peak), (long_chords, long_peak) = json.loads(result.stdout.strip().splitlines()[-1])
    assert short_chords >= 10 and long_chords >= 250
    assert long_peak - short_peak < 100, (short_peak, long_peak)


def test_windowed_scores_equal_scoring_the_whole_file_at_once():
    import numpy as np

    from models.chord_states import chord_state_index
    from models.classification import SCORING_WINDOW_CHORDS, harmony_log_likelihood_parts
    from models.crbm import CHORD_LAYOUT, chord_visible, conditioning_matrix
    from models.model_folder import load_model_set
    from models.vocabulary import ChordEvent

    model_set = load_model_set(None)
    rng = np.random.default_rng(3)
    events = [ChordEvent(int(r), int(q), int(r), 2.0) for r, q in zip(rng.integers(0, 12, 100), rng.integers(0, 14, 100))]
    assert len(events) > 2 * SCORING_WINDOW_CHORDS
    states = np.asarray([chord_state_index(e) for e in events])
    u = conditioning_matrix(chord_visible(events), model_set.history, model_set.joint_history, CHORD_LAYOUT)
    whole = model_set.experts().class_log_probs(u)[np.arange(len(events)), :, states].astype(np.float64).sum(axis=0)
    parts = harmony_log_likelihood_parts(model_set, events)
    windowed = np.asarray([parts[name][0] for name in model_set.class_names])
    assert np.allclose(windowed, whole, atol=1e-2, rtol=0)


# -- item 12 -------------------------------------------------------------------------------------

def test_classify_prints_a_file_name_that_is_not_utf8_under_a_strict_utf8_stdout(tmp_path, monkeypatch):
    from assistant.cli import main

    name = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"Q1_caf\xe9.mid"))  # Latin-1 bytes in the name
    Path(name).write_bytes(bad_midi.chord_song(8))
    broken = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"Q2_\xff.mid"))
    Path(broken).write_bytes(b"MThd garbage")
    out, err = io.BytesIO(), io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(out, encoding="utf-8", errors="strict"))
    monkeypatch.setattr(sys, "stderr", io.TextIOWrapper(err, encoding="utf-8", errors="strict"))
    assert main(["classify", name, broken]) == 0
    sys.stdout.flush(), sys.stderr.flush()
    assert "Q1_caf\\xe9.mid: " in out.getvalue().decode("utf-8")
    assert "Q2_\\xff.mid: corrupt MIDI file" in err.getvalue().decode("utf-8")


def test_transcribe_names_a_device_as_not_a_regular_file(tmp_path):
    from assistant.audio import read_audio_file
    from assistant.errors import InvalidInput

    with pytest.raises(InvalidInput, match="/dev/urandom is not a regular file") as info:
        read_audio_file("/dev/urandom")
    assert "empty" not in str(info.value)
    fifo = tmp_path / "pipe.wav"
    os.mkfifo(fifo)
    with pytest.raises(InvalidInput, match="not a regular file"):
        read_audio_file(fifo)


@pytest.mark.slow
def test_train_with_one_file_per_class_says_what_is_needed_on_its_own_line(tmp_path, capsys):
    from assistant.cli import main

    data = tmp_path / "midis"
    data.mkdir()
    (data / "bright_a.mid").write_bytes(bad_midi.chord_song(8))
    (data / "dark_b.mid").write_bytes(bad_midi.chord_song(6, tempo_us=900000))
    code = main(["train", "--data", str(data), "--out", str(tmp_path / "model"), "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2
    error = [line for line in err.split("\n") if "error:" in line]
    assert len(error) == 1 and error[0].startswith("moodchords train: error: class 'bright' has 1 usable MIDI file(s)")
    assert "--cv-folds 0" in error[0] and "no training rows" not in err


def test_stale_temporary_midi_files_are_removed_before_writing(tmp_path):
    from assistant.midi_file import write_midi
    from tests.test_midi_file import pad_score

    old = time.time() - 2 * 3600
    stale = tmp_path / ".song.mid.ab12cd_3.tmp"  # what a kill -9 during write_midi leaves
    fresh = tmp_path / ".song.mid.zz12cd_3.tmp"  # a write in progress elsewhere
    foreign = tmp_path / ".notes.txt.ab12cd_3.tmp"  # not ours
    for path in (stale, fresh, foreign):
        path.write_bytes(b"partial")
    os.utime(stale, (old, old))
    os.utime(foreign, (old, old))
    write_midi(pad_score(), tmp_path / "other.mid")
    assert not stale.exists() and fresh.exists() and foreign.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".notes.txt.ab12cd_3.tmp", ".song.mid.zz12cd_3.tmp", "other.mid"]
