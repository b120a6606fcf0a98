"""Small labelled MIDI files for the train / classify / output-folder tests: a chord loop played
four times at 120 BPM (bright major loops, dark minor loops)."""
from __future__ import annotations

from pathlib import Path


def write_midi_loop(path: Path, chords: list[tuple[int, ...]], velocity: int = 80, seconds_per_chord: float = 1.0) -> None:
    import mido

    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    ticks = int(480 * 2 * seconds_per_chord)  # 120 BPM: 2 beats per second
    for _ in range(4):
        for chord in chords:
            for i, pitch in enumerate(chord):
                track.append(mido.Message("note_on", note=pitch, velocity=velocity, time=0))
            for i, pitch in enumerate(chord):
                track.append(mido.Message("note_off", note=pitch, velocity=0, time=ticks if i == 0 else 0))
    mid.save(str(path))


MAJOR_LOOP = [(48, 60, 64, 67), (41, 60, 65, 69), (43, 59, 62, 67), (48, 60, 64, 67)]  # I IV V I in C
MINOR_LOOP = [(45, 60, 64, 69), (38, 62, 65, 69), (40, 59, 64, 68), (45, 60, 64, 69)]  # i iv V i in A minor


def write_labelled_folder(folder: Path, bright: int, dark: int) -> Path:
    """Make ``folder`` with ``bright`` loud, fast major loops (bright_0.mid ...) and ``dark`` soft,
    slow minor loops (dark_0.mid ...): two classes a tiny model can tell apart."""
    folder.mkdir()
    for i in range(bright):
        write_midi_loop(folder / f"bright_{i}.mid", MAJOR_LOOP, velocity=95, seconds_per_chord=0.5)
    for i in range(dark):
        write_midi_loop(folder / f"dark_{i}.mid", MINOR_LOOP, velocity=45, seconds_per_chord=1.5)
    return folder
