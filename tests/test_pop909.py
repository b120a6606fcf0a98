"""models.pop909: reading POP909 song folders into key-normalised chords on real bars."""
from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import InvalidModelInput
from models.form_metrics import form_report
from models.pop909 import Metre, Pop909Error, load_pop909, parse_chord, read_song
from models.vocabulary import QUALITY_BY_NAME
from tests.conftest import SHARED_DATA

POP909 = SHARED_DATA / "pop909"
MAJ, MIN, DOM7, HDIM, SUS47 = (QUALITY_BY_NAME[q] for q in ("maj", "min", "dom7", "min7b5", "7sus4"))


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("MOODCHORDS_CACHE_DIR", str(tmp_path / "cache"))


def write_song(folder: Path, chords: list[tuple[float, float, str]], keys: list[tuple[float, float, str]],
               *, beats: int = 32, period: float = 0.5, bar: int = 4, half: int = 2, first: float = 1.0) -> Path:
    """A song folder: beats every ``period`` s from ``first``, a downbeat every ``bar`` beats, half-bar
    flags every ``half`` beats; chords and keys in beats (converted to seconds)."""
    folder.mkdir(parents=True)
    lines = [f"{first + i * period} {1.0 if i % half == 0 else 0.0} {1.0 if i % bar == 0 else 0.0}" for i in range(beats)]
    (folder / "beat_midi.txt").write_text("\n".join(lines) + "\n")
    sec = lambda b: first + b * period  # noqa: E731
    (folder / "chord_midi.txt").write_text("".join(f"{sec(a)}\t{sec(b)}\t{c}\n" for a, b, c in chords))
    (folder / "key_audio.txt").write_text("".join(f"{sec(a)}\t{sec(b)}\t{k}\n" for a, b, k in keys))
    return folder


def test_chord_labels_map_onto_the_vocabulary():
    assert parse_chord("N") is None
    assert parse_chord("C:maj") == (0, MAJ, 0)
    assert parse_chord("D:7/b7") == (2, DOM7, 0)  # D7/C
    assert parse_chord("Bb:hdim7") == (10, HDIM, 10)
    assert parse_chord("F#:sus4(b7)") == (6, SUS47, 6)
    assert parse_chord("A:maj6") == (9, MAJ, 9)  # the added sixth is dropped, the function kept
    assert parse_chord("Eb:min6/b3") == (3, MIN, 6)
    with pytest.raises(ValueError, match="'C:lydian'"):
        parse_chord("C:lydian")


def test_a_four_four_song_with_pickup_n_inversion_merge_and_key_change(tmp_path):
    # G major from beat 0, D minor from beat 24; bars of 4 beats from beat 0
    chords = [(0, 1, "N"), (1, 2, "D:maj"),  # starts on beat 2 of bar 0 (the grid starts on a downbeat)
              (2, 4, "G:maj"), (4, 6, "E:min"), (6, 8, "E:min"),  # identical neighbours merge
              (8, 12, "C:maj/3"), (12, 14, "N"), (14, 16, "E:7"),
              (16, 24, "G:maj6"), (24, 28, "D:min"), (28, 32, "A:7")]
    song = read_song(write_song(tmp_path / "001", chords, [(0, 24, "G:maj"), (24, 32, "D:min")]))
    assert song.metre == Metre(4, False) and song.tempo_bpm == pytest.approx(120.0)
    events = [(c.event.root, c.event.quality, c.event.bass, c.event.beats) for c in song.chords]
    # G major -> C major (shift 5): D=7, G=0, Em=9 min (2+2 beats merged), C/E=5 over 9, E7=9; D minor -> A minor
    assert events == [(7, MAJ, 7, 1.0), (0, MAJ, 0, 2.0), (9, MIN, 9, 4.0), (5, MAJ, 9, 4.0), (9, DOM7, 9, 2.0),
                      (0, MAJ, 0, 8.0), (9, MIN, 9, 4.0), (4, DOM7, 4, 4.0)]
    assert [c.bar for c in song.chords] == [0, 0, 1, 2, 3, 4, 6, 7]
    assert [c.beat_in_bar for c in song.chords] == [1, 2, 0, 0, 2, 0, 0, 0]
    assert [c.mode for c in song.chords][-2:] == ["minor", "minor"]
    # segments: up to the N, after it until the key change, the minor part
    assert [len(events) for events, _ in song.segments()] == [4, 2, 2]
    assert [mode for _, mode in song.segments()] == ["major", "major", "minor"]
    report = form_report([song.piece()])
    assert report.strong_beat_changes == 1.0  # changes at beats 2, 4, 8, 14, 16, 24, 28: all on beat 1 or 3
    assert report.diatonic == pytest.approx(7 / 8)  # A7 (C#, from E7 in G) is chromatic; E7 in A minor is not
    assert report.tonic_ending == 0.0  # ends on E7


def test_triple_and_compound_songs_put_bar_lines_on_the_half_bar_flags(tmp_path):
    # triple: a downbeat every 6 beats, half-bar flags every 3 -> 3/4 bars
    chords = [(0, 3, "A:min"), (3, 6, "D:min"), (6, 9, "E:7"), (9, 12, "A:min")]
    song = read_song(write_song(tmp_path / "034", chords, [(0, 12, "A:min")], beats=12, bar=6, half=3),
                     metre=Metre(3, False))
    assert [c.bar for c in song.chords] == [0, 1, 2, 3] and {c.beat_in_bar for c in song.chords} == {0.0}
    assert song.metre.name == "3/4"
    assert form_report([song.piece()]).tonic_ending == 1.0
    # compound: 4 dotted beats to a downbeat, half-bar flags every 2 -> 6/8 bars of 2 beats
    song = read_song(write_song(tmp_path / "014", [(0, 2, "C:maj"), (2, 4, "G:maj")], [(0, 4, "C:maj")],
                                beats=8, bar=4, half=2), metre=Metre(2, True))
    assert song.metre.name == "6/8" and [c.bar for c in song.chords] == [0, 1]


def test_missing_and_corrupt_files_are_named(tmp_path):
    folder = write_song(tmp_path / "002", [(0, 4, "C:maj")], [(0, 4, "C:maj")], beats=8)
    (folder / "key_audio.txt").unlink()
    with pytest.raises(Pop909Error, match=r"002/key_audio.txt: file not found"):
        read_song(folder)
    folder = write_song(tmp_path / "003", [(0, 4, "C:maj")], [(0, 4, "C:maj")], beats=8)
    (folder / "beat_midi.txt").write_text("0.5 1.0\n1.0 zero 0.0\n")
    with pytest.raises(Pop909Error, match=r"003/beat_midi.txt: line 1 has 2 fields; expected 3"):
        read_song(folder)
    folder = write_song(tmp_path / "004", [(0, 4, "C:blues")], [(0, 4, "C:maj")], beats=8)
    with pytest.raises(Pop909Error, match=r"004/chord_midi.txt: chord 'C:blues' not understood"):
        read_song(folder)
    with pytest.raises(Pop909Error, match="song folder not found"):
        read_song(tmp_path / "999")


def test_load_reads_in_parallel_skips_bad_songs_and_caches(tmp_path):
    root = tmp_path / "pop909"
    for n in range(1, 11):
        write_song(root / f"{n:03d}", [(0, 4, "C:maj"), (4, 8, "F:maj"), (8, 16, "G:maj")], [(0, 16, "F:maj")],
                   beats=16)
    (root / "005" / "chord_midi.txt").write_bytes(b"\xff\xfe garbage")
    (root / "index.csv").write_text("song_id,name,artist,modify_times,num_beats_per_measure,num_quavers_per_beat\n"
                                    "001,One,Someone,1,3,2\n")
    progress = []
    corpus = load_pop909(tmp_path, range(1, 12), workers=2, progress=lambda m, f: progress.append(f))
    assert [s.song_id for s in corpus.songs] == [f"{n:03d}" for n in range(1, 11) if n != 5]
    assert [i for i, _ in corpus.skipped] == ["005", "011"]
    assert "005/chord_midi.txt" in corpus.skipped[0][1] and "011: song folder not found" in corpus.skipped[1][1]
    assert corpus.songs[0].metre == Metre(3, False) and corpus.songs[0].title == "One"
    assert corpus.songs[1].chords[0].event.root == 7  # C in F major -> G in C major
    assert progress[-1] == 1.0
    again = load_pop909(tmp_path / "pop909", range(1, 12), workers=2, progress=lambda m, f: progress.append(("again", f)))
    assert again == corpus and ("again", 1.0) not in progress  # from the cache: nothing read
    with pytest.raises(InvalidModelInput, match="no POP909 song could be read"):
        load_pop909(tmp_path, [5], workers=1)
    with pytest.raises(InvalidModelInput, match="workers=0"):
        load_pop909(tmp_path, [1], workers=0)


@pytest.mark.skipif(not POP909.is_dir(), reason=f"POP909 not found at {POP909}")
@pytest.mark.slow
def test_real_pop909_matches_its_documented_shape():
    corpus = load_pop909(SHARED_DATA, range(1, 801), workers=2)
    assert len(corpus.songs) == 800 and not corpus.skipped
    report = form_report([s.piece() for s in corpus.songs])
    # the data README: 87 % of changes on beat 1 or 3; lengths 12/52/6/24/3/3 %; 91-93 % diatonic
    assert report.strong_beat_changes == pytest.approx(0.87, abs=0.02)
    assert report.length_histogram[1] == pytest.approx(0.52, abs=0.02)
    assert report.length_histogram[3] == pytest.approx(0.24, abs=0.02)
    assert 0.90 <= report.diatonic <= 0.94
    assert sorted({s.metre.name for s in corpus.songs}) == ["3/4", "4/4", "6/8", "9/8"]
