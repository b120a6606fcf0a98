"""Standard MIDI File export and import of a ``Score`` (mido).

The file is SMF type 1 so that a DAW gets one track per part: track 0 carries the tempo, the
time signature and the chord names (marker meta events); then one track per channel used
(chords, bass) with its program change and notes. Files are written atomically.
"""
from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path

import mido

from assistant.errors import InvalidInput
from assistant.score import BASS_CHANNEL, CHORD_CHANNEL, Marker, Note, Score
from models.atomic_files import atomic_output

TICKS_PER_BEAT = 480
TRACK_NAMES = {CHORD_CHANNEL: "Chords", BASS_CHANNEL: "Bass"}
SONG_TRACK_NAME = "moodchords"
STALE_TEMP_SECONDS = 3600.0  # a temporary file this old is left over from a killed write, never one in progress
# write_midi's temporary files: "." + the target's name + "." + mkstemp's 8 random characters + ".tmp"
TEMP_NAME = re.compile(r"^\.(?P<target>.+\.midi?)\.[a-z0-9_]{8}\.tmp$", re.IGNORECASE)


def remove_stale_temp_files(folder: str | os.PathLike, older_than_s: float = STALE_TEMP_SECONDS) -> list[Path]:
    """Delete the hidden ``.NAME.mid.XXXXXXXX.tmp`` files a killed write_midi left in ``folder``
    (only regular files of exactly that pattern, not modified for ``older_than_s``); returns them.
    Errors (a read-only folder, a file removed meanwhile) are ignored: cleaning up is best effort."""
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not TEMP_NAME.match(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if entry.is_file(follow_symlinks=False) and now - info.st_mtime > older_than_s:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue
    return removed


def _ticks(beats: float) -> int:
    return int(round(beats * TICKS_PER_BEAT))


def _latin1(text: str) -> str:
    """Meta-event text as MIDI stores it (Latin-1): music signs spelled out, other symbols as '?'."""
    text = text.replace("♯", "#").replace("♭", "b").replace("°", "dim").replace("ø7", "ø").replace("ø", "m7b5")
    return text.encode("latin-1", "replace").decode("latin-1")


def _timed_track(events: list[tuple[int, int, mido.Message | mido.MetaMessage]], end_tick: int) -> mido.MidiTrack:
    """A track from (absolute tick, order, message) with delta times and a final end_of_track."""
    track = mido.MidiTrack()
    now = 0
    for tick, _order, message in sorted(events, key=lambda e: (e[0], e[1])):
        track.append(message.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    return track


def score_to_midi(score: Score) -> mido.MidiFile:
    """The score as a type-1 mido.MidiFile (ticks_per_beat 480)."""
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    last_note_tick = max((_ticks(n.start_beats + n.duration_beats) for n in score.notes), default=0)
    end_tick = max(_ticks(score.length_beats), last_note_tick)

    conductor: list = [
        (0, 0, mido.MetaMessage("track_name", name=SONG_TRACK_NAME)),
        # 6/8: the metronome clicks every dotted quarter (36 MIDI clocks), x/4 every quarter (24)
        (0, 1, mido.MetaMessage("time_signature", numerator=score.time_signature[0],
                                denominator=score.time_signature[1], clocks_per_click=36 if score.compound else 24,
                                notated_32nd_notes_per_beat=8)),
        (0, 2, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(score.tempo_bpm))),
    ]
    if score.key_signature:  # before the first marker: sorting keeps list order at equal (tick, order)
        conductor.append((0, 3, mido.MetaMessage("key_signature", key=score.key_signature)))
    conductor += [(_ticks(m.start_beats), 3, mido.MetaMessage("marker", text=_latin1(m.text))) for m in score.markers]
    midi.tracks.append(_timed_track(conductor, end_tick))

    channels = sorted({n.channel for n in score.notes} | set(score.programs))
    for channel in channels:
        events: list = [(0, 0, mido.MetaMessage("track_name", name=TRACK_NAMES.get(channel, f"Channel {channel + 1}")))]
        if channel in score.programs:
            events.append((0, 1, mido.Message("program_change", channel=channel, program=int(score.programs[channel]))))
        # Per key, a note that is still sounding when the same key starts again is ended there,
        # so that every note_on has its own note_off. Offs sort before ons at the same tick.
        notes = sorted((n for n in score.notes if n.channel == channel), key=lambda n: (n.start_beats, n.pitch))
        last: dict[int, tuple[int, list]] = {}  # key -> (start tick, its note_off event)
        for note in notes:
            start = _ticks(note.start_beats)
            end = max(start + 1, _ticks(note.start_beats + note.duration_beats))
            previous = last.get(note.pitch)
            if previous is not None and previous[1][0] > start:
                if previous[0] == start:  # same key struck twice at once: one note is enough
                    continue
                previous[1][0] = start
            off = [end, 2, mido.Message("note_off", channel=channel, note=note.pitch, velocity=0)]
            on = [start, 3, mido.Message("note_on", channel=channel, note=note.pitch, velocity=note.velocity)]
            events += [on, off]
            last[note.pitch] = (start, off)
        midi.tracks.append(_timed_track([tuple(e) for e in events], end_tick))
    return midi


def write_midi(score: Score, path: str | os.PathLike) -> Path:
    """Write the score as a Standard MIDI File, atomically; returns the path written.

    The bytes go to a temporary file in the destination folder that replaces ``path`` only once
    complete, so a failure never leaves a partial file. InvalidInput names the path when the
    folder is missing or not writable.
    """
    target = Path(path).expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise InvalidInput(f"cannot write MIDI file {str(target)!r}: it is a folder; give a file path such as song.mid")
    try:
        midi = score_to_midi(score)
    except (ValueError, TypeError) as error:  # mido rejects out-of-range data bytes
        raise InvalidInput(f"cannot write MIDI file {str(target)!r}: {error}; allowed: pitches and velocities "
                           "0..127, channels 0..15, programs 0..127") from None
    remove_stale_temp_files(folder)  # a kill -9 during an earlier write leaves its temporary file behind
    opened = False  # whether the temporary file could be made: else the folder is the problem
    try:
        with atomic_output(target, prefix=f".{target.name}.", suffix=".tmp") as stream:  # TEMP_NAME's pattern
            opened = True
            midi.save(file=stream)
    except OSError as error:
        if not opened:
            raise InvalidInput(f"cannot write MIDI file {str(target)!r}: folder {str(folder)!r} is not writable "
                               f"({error.strerror or error}); choose a path in an existing, writable folder") from None
        raise InvalidInput(f"cannot write MIDI file {str(target)!r}: {error.strerror or error}") from None
    return target


def read_score(path: str | os.PathLike) -> Score:
    """Read a MIDI file back into a Score (first tempo and time signature; markers; programs).

    InvalidInput names the file when it is missing, not a regular file, too large or not a MIDI file
    (the bytes come through models.midi_reading's guard, as for every MIDI input).
    """
    from models.midi_reading import ClipError, read_midi_bytes

    source = Path(path).expanduser()
    try:
        data = read_midi_bytes(source)
    except ClipError as error:
        raise InvalidInput(f"cannot read MIDI file: {error}") from None
    try:
        midi = mido.MidiFile(file=io.BytesIO(data))
    except (OSError, EOFError, ValueError, KeyError, IndexError) as error:
        raise InvalidInput(f"cannot read MIDI file {str(source)!r}: {error}; "
                           "allowed: a Standard MIDI File (.mid)") from None
    per_beat = float(midi.ticks_per_beat)
    if per_beat <= 0:
        raise InvalidInput(f"cannot read MIDI file {str(source)!r}: SMPTE or zero time division "
                           f"({midi.ticks_per_beat}); allowed: ticks per quarter note > 0")
    tempo_bpm, beats_per_bar = 120.0, 4
    tempo_seen = signature_seen = False
    programs: dict[int, int] = {}
    markers: list[Marker] = []
    notes: list[Note] = []
    end_tick = 0
    for track in midi.tracks:
        tick = 0
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for message in track:
            tick += message.time
            if message.type == "set_tempo" and not tempo_seen:
                tempo_bpm, tempo_seen = round(mido.tempo2bpm(message.tempo), 6), True
            elif message.type == "time_signature" and not signature_seen:
                beats_per_bar, signature_seen = int(message.numerator), True
            elif message.type == "marker":
                markers.append(Marker(tick / per_beat, message.text))
            elif message.type == "program_change":
                programs.setdefault(message.channel, message.program)
            elif message.type == "note_on" and message.velocity > 0:
                sounding.setdefault((message.channel, message.note), []).append((tick, message.velocity))
            elif message.type in ("note_off", "note_on"):
                started = sounding.get((message.channel, message.note))
                if started:
                    start, velocity = started.pop(0)
                    notes.append(Note(message.note, start / per_beat, max(tick - start, 1) / per_beat,
                                      velocity, message.channel))
        end_tick = max(end_tick, tick)
    notes.sort(key=lambda n: (n.start_beats, n.channel, n.pitch))
    markers.sort(key=lambda m: m.start_beats)
    return Score(tuple(notes), tempo_bpm, end_tick / per_beat, beats_per_bar, programs, tuple(markers))
