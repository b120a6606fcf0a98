"""load_clip / load_folder / emopia_split, the cache, unusable files and performance features."""
from __future__ import annotations

import csv
import json
import warnings
from pathlib import Path

import mido
import numpy as np
import pytest

from models.dataset import ClipError, cache_dir, emopia_split, load_clip, load_folder
from models.errors import InvalidModelInput, ModelError
from models.performance import performance_features
from tests.test_harmony import chord_name, progression_notes, write_midi

EMOPIA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "emopia"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOODCHORDS_CACHE_DIR", str(tmp_path / "cache"))


def _unusable_files(folder: Path) -> dict[str, str]:
    """Corrupt, empty, drum-only and zero-length files; returns name -> expected reason word."""
    (folder / "Q2_corrupt.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02garbage")
    write_midi(folder / "Q3_empty.mid", [])
    write_midi(folder / "Q4_drums.mid", [(0.0, 1.0, 36, 100), (1.0, 1.0, 38, 100)], channel=9)
    zero = mido.MidiFile(type=0, ticks_per_beat=480)  # every note-off at its note-on's tick
    zero.tracks.append(mido.MidiTrack([
        mido.Message("note_on", note=60, velocity=100, time=0), mido.Message("note_off", note=60, time=0),
        mido.Message("note_on", note=64, velocity=100, time=480), mido.Message("note_off", note=64, time=0),
    ]))
    zero.save(str(folder / "Q1_zero.mid"))
    return {"Q2_corrupt.mid": "corrupt", "Q3_empty.mid": "empty", "Q4_drums.mid": "drum-only",
            "Q1_zero.mid": "zero-length"}


def test_unusable_files_raise_clip_error_with_reason(tmp_path):
    expected = _unusable_files(tmp_path)
    for name, reason in expected.items():
        with pytest.raises(ClipError, match=reason) as info:
            load_clip(tmp_path / name)
        assert isinstance(info.value, ModelError)
        assert name in str(info.value)
    with pytest.raises(ClipError, match="not found"):
        load_clip(tmp_path / "missing.mid")


def test_load_folder_skips_unusable_files_with_count_and_warning(tmp_path):
    _unusable_files(tmp_path)
    write_midi(tmp_path / "Q1_good.mid", progression_notes(), tempos=((0.0, 600000),))
    (tmp_path / "notes.txt").write_text("not midi, ignored")
    calls = []
    with pytest.warns(UserWarning, match="skipped 4 of 5 MIDI files"):
        loaded = load_folder(tmp_path, progress=lambda msg, frac: calls.append((msg, frac)))
    assert [c.path.name for c in loaded.clips] == ["Q1_good.mid"]
    assert len(loaded.skipped) == 4
    assert {p.name for p, _ in loaded.skipped} == {"Q2_corrupt.mid", "Q3_empty.mid", "Q4_drums.mid", "Q1_zero.mid"}
    assert loaded.labels == ("Q1",)
    fracs = [f for _, f in calls]
    assert fracs == sorted(fracs) and fracs[-1] == 1.0 and len(calls) == 6


def test_load_clip_normalises_d_major_and_caches(tmp_path):
    path = write_midi(tmp_path / "Q4_dmajor.mid", progression_notes(transpose=2), tempos=((0.0, 600000),))
    clip = load_clip(path, "Q4")
    assert (clip.tonic, clip.mode, clip.beats_per_bar, clip.label) == (2, "major", 4, "Q4")
    assert [(chord_name(e.root, e.quality, e.bass), e.beats) for e in clip.events] == \
        [("C", 4.0), ("Am/E", 4.0), ("F", 4.0), ("G7", 4.0)] * 2
    assert clip.performance.tempo_bpm == pytest.approx(100.0, rel=1e-3)
    entries = list(cache_dir().rglob("*.json"))
    assert len(entries) == 1
    # a cached result is used (same clip), and a damaged cache entry is recomputed
    assert load_clip(path, "Q4") == clip
    entries[0].write_text("{not json")
    assert load_clip(path, "Q4") == clip
    # an entry from an incompatible build (a field missing) is recomputed and replaced, not recomputed every time
    record = json.loads(entries[0].read_text())
    del record["beats_per_bar"]
    entries[0].write_text(json.dumps(record))
    assert load_clip(path, "Q4") == clip
    assert "beats_per_bar" in json.loads(entries[0].read_text())


def test_labels_csv_and_split_csv(tmp_path):
    midis = tmp_path / "midis"
    midis.mkdir()
    for name in ("a.mid", "b.mid", "c.mid"):
        write_midi(midis / name, progression_notes(bars=1), tempos=((0.0, 600000),))
    labels = tmp_path / "labels.csv"
    with open(labels, "w", newline="") as fh:
        csv.writer(fh).writerows([("file", "label"), ("a.mid", "calm"), ("b", "tense"), ("c.mid", "calm")])
    split = tmp_path / "split.csv"
    split.write_text("clip_name\na.mid\nb.mid\n")
    loaded = load_folder(midis, labels_csv=labels, split_csv=split)
    assert [(c.path.name, c.label) for c in loaded.clips] == [("a.mid", "calm"), ("b.mid", "tense")]
    assert loaded.labels == ("calm", "tense")
    with pytest.raises(InvalidModelInput, match="available splits"):
        emopia_split(tmp_path, "test")
    with pytest.raises(InvalidModelInput, match="does not exist"):
        load_folder(tmp_path / "nowhere")


def test_performance_features_on_known_notes():
    # right hand: four legato quarter notes at 120 BPM (each overlaps the next by 0.1 s);
    # left hand: two detached half notes. Pedal down for the first half of the 2 s span.
    onset = np.array([0.0, 0.5, 1.0, 1.5, 0.0, 1.0])
    offset = np.array([0.6, 1.1, 1.6, 2.0, 0.5, 1.5])
    pitch = np.array([72, 74, 76, 77, 48, 43])
    velocity = np.array([100, 90, 80, 70, 50, 50])
    perf = performance_features(pitch, onset, offset, velocity, [(0.0, 1.0)], tempo_bpm=120.0)
    assert perf.notes_per_second == pytest.approx(3.0)
    assert perf.mean_velocity == pytest.approx(440 / 6)
    assert perf.mean_note_length_s == pytest.approx(np.mean(offset - onset))
    assert perf.mean_pitch == pytest.approx(pitch.mean())
    assert perf.pitch_std == pytest.approx(pitch.std())
    assert perf.pedal_share == pytest.approx(0.5)
    # overlapped time 3 x 0.1 s of a total 2.3 + 1.0 s of notes
    assert perf.legato == pytest.approx(0.3 / 3.3)
    assert perf.notes_per_beat == pytest.approx(6 / 4)
    assert 1.0 < perf.polyphony < 3.0


@pytest.mark.skipif(not (EMOPIA / "midis").is_dir(), reason="EMOPIA data not available")
def test_real_emopia_clips():
    names = ["Q1_0vLPYiPN7qY_0.mid", "Q3_egYSmNuIFGk_1.mid"]
    for name in names:
        clip = load_clip(EMOPIA / "midis" / name, name[:2])
        total = sum(e.beats for e in clip.events)
        assert len(clip.events) >= 3 and 8 <= total <= 200
        assert all(e.beats >= 0.5 and (e.beats * 2).is_integer() for e in clip.events)
        assert 50 <= clip.performance.tempo_bpm <= 200
        assert 0 <= clip.performance.pedal_share <= 1 and 0 <= clip.performance.legato <= 1
    # the validation split loads through the official CSV (cached per file)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the real files must all be usable
        val = emopia_split(EMOPIA.parent, "val")
    assert len(val.clips) == 114 and val.labels == ("Q1", "Q2", "Q3", "Q4")
