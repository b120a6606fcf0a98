"""Read a MIDI file into plain numpy arrays: notes in seconds, sustain pedal, tempo map, metre.

The bytes are scanned here (``_read_smf``, mido's reading rules, mido's own decoding of meta
events) rather than by building a mido object per message, 5x faster. Unusable files
(corrupt, empty, drum-only, zero-length, too long, not a regular file) raise :class:`ClipError`
with the reason, so that a folder loader can skip them and count them.

This is the one guard every MIDI input passes (classify, train, the dataset cache): only regular
files, at most MAX_FILE_BYTES read, at most MAX_BEATS beats and MAX_SECONDS of music, tempos > 0;
every array built afterwards is per note or per beat, never per tick.
"""
from __future__ import annotations

import os
import stat
import struct
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.errors import ModelError

DRUM_CHANNEL = 9  # MIDI channel 10 (0-based 9) is percussion in General MIDI
SUSTAIN_CONTROLLER = 64
PLACEHOLDER_TEMPO_BPM = 120.0  # what transcriptions without a tempo write (and the SMF default)
MAX_FILE_BYTES = 4 * 1024 * 1024  # real MIDI files are KBs, large orchestral ones 1-3 MB
MAX_SECONDS = 30 * 60.0  # longest music analysed (the onset envelope and beat tracking are per 10 ms)
MAX_BEATS = 10_000  # most quarter notes analysed (the file's own beat grid is built per quarter note)
TAIL_BEATS = 64  # events this many beats after the last note still count (pedal release, end of track;
#                 EMOPIA holds the pedal up to 17 beats past its last note)


def display_path(path: str | os.PathLike) -> str:
    """The path as text any terminal encoding can print: bytes that are not UTF-8 in a file name
    (decoded by Python as lone surrogates) are shown as \\xNN escapes."""
    text = os.fspath(path)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class ClipError(ModelError):
    """A MIDI file cannot be used as a training clip; the message names the file and the reason."""


@dataclass(frozen=True)
class MidiContent:
    """The musically relevant content of one MIDI file (all times in seconds from the file start)."""

    pitch: np.ndarray  # int16 (n,), MIDI note numbers, sorted by onset then pitch
    onset: np.ndarray  # float64 (n,), note-on time (s)
    offset: np.ndarray  # float64 (n,), written note-off time (s), > onset
    sounding_offset: np.ndarray  # float64 (n,), note-off extended by the sustain pedal (s)
    velocity: np.ndarray  # int16 (n,), 1..127
    pedal_intervals: tuple[tuple[float, float], ...]  # (down, up) times of CC64 >= 64 (s)
    tempo_changes: tuple[tuple[float, float], ...]  # (time s, BPM) of every set_tempo event
    time_signatures: tuple[tuple[float, int, int], ...]  # (time s, numerator, denominator)
    ticks_per_beat: int  # the file's resolution (ticks per quarter note)
    quarter_times: np.ndarray  # float64, time (s) of every quarter note of the file's own grid
    end_time: float  # last sounding offset (s)

    @property
    def has_real_tempo_map(self) -> bool:
        """True when the file's own beat grid is trustworthy (a sequencer/DAW export, not a transcription).

        A transcription writes one placeholder 120 BPM tempo; a DAW export writes several tempos,
        or one tempo other than exactly 120 together with a time signature.
        """
        if len(self.tempo_changes) > 1:
            return True
        if len(self.tempo_changes) == 1:
            return abs(self.tempo_changes[0][1] - PLACEHOLDER_TEMPO_BPM) > 1e-6 and bool(self.time_signatures)
        return False

    @property
    def beats_per_bar(self) -> int:
        """Beats per bar of the first time signature (compound metres count dotted beats); 4 if none."""
        if not self.time_signatures:
            return 4
        _, numerator, denominator = self.time_signatures[0]
        if denominator == 8 and numerator % 3 == 0 and numerator > 3:
            return numerator // 3
        return max(1, numerator)

    def file_beats(self) -> np.ndarray:
        """Beat times (s) from the file's own grid: quarters, or dotted quarters in compound x/8 metres."""
        if self.time_signatures:
            _, numerator, denominator = self.time_signatures[0]
            if denominator == 8 and numerator % 3 == 0 and numerator > 3:
                # beat = 3 eighths = 1.5 quarters: interpolate the quarter grid
                positions = np.arange(0.0, len(self.quarter_times) - 1, 1.5)
                return np.interp(positions, np.arange(len(self.quarter_times)), self.quarter_times)
            if denominator == 2:
                return self.quarter_times[::2]
        return self.quarter_times


def _ticks_to_seconds(ticks: np.ndarray, tempo_ticks: list[int], tempo_us: list[int], tpb: int) -> np.ndarray:
    """Convert absolute ticks to seconds through a piecewise-constant tempo map."""
    seg_start_ticks = np.asarray(tempo_ticks, dtype=np.float64)
    sec_per_tick = np.asarray(tempo_us, dtype=np.float64) / 1e6 / tpb
    seg_start_secs = np.concatenate(([0.0], np.cumsum(np.diff(seg_start_ticks) * sec_per_tick[:-1])))
    idx = np.searchsorted(seg_start_ticks, ticks, side="right") - 1
    idx = np.clip(idx, 0, len(seg_start_ticks) - 1)
    return seg_start_secs[idx] + (ticks - seg_start_ticks[idx]) * sec_per_tick[idx]


def read_midi_bytes(path: str | os.PathLike) -> bytes:
    """The bytes of a MIDI file: regular files only (a FIFO would block, /dev/zero never ends) and at
    most MAX_FILE_BYTES; ClipError names the file and what is allowed otherwise."""
    name = display_path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ClipError(f"{name}: file not found") from None
    except OSError as exc:
        raise ClipError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise ClipError(f"{name}: is a folder; allowed: a MIDI file")
    if not stat.S_ISREG(info.st_mode):
        raise ClipError(f"{name}: not a regular file (a device, FIFO or socket); allowed: a MIDI file on disk")
    if info.st_size > MAX_FILE_BYTES:
        raise ClipError(f"{name}: file too large ({info.st_size:,} bytes); allowed: MIDI files up to {MAX_FILE_BYTES:,} bytes")
    try:
        # O_NONBLOCK: a FIFO swapped in after the stat must not block the open
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise ClipError(f"{name}: not a regular file (a device, FIFO or socket); allowed: a MIDI file on disk")
            data = stream.read(MAX_FILE_BYTES + 1)  # the cap holds even if the file grows meanwhile
    except OSError as exc:
        raise ClipError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise ClipError(f"{name}: file too large (over {MAX_FILE_BYTES:,} bytes); allowed: MIDI files up to {MAX_FILE_BYTES:,} bytes")
    return data


MAX_VLQ_BYTES = 9  # a delta or length of more than 63 bits is corrupt (the SMF itself allows 4 bytes)
_META, _SYSEX = 0xFF, (0xF0, 0xF7)
NOTE_OFF, NOTE_ON, CONTROL_CHANGE, SET_TEMPO, TIME_SIGNATURE = range(5)  # kinds of _SmfEvent


class _CorruptSmf(Exception):
    """The bytes are not a Standard MIDI File that mido would read."""


def _read_smf(data: bytes) -> tuple[int, int, list[tuple[list[tuple], int]], int]:
    """Scan a Standard MIDI File the way mido.MidiFile(clip=True) reads it (same running status,
    same track-end rule, same errors for the same bytes), keeping only what read_midi uses.

    Returns (format, ticks per beat, tracks, set_tempo count); each track is (events, end tick)
    with events (tick from the track start, kind, channel, value 1, value 2) of the kinds above.
    mido builds one object per message (~7 us each, 2 s a MB); this scans ~5x faster and bounds
    every variable-length quantity (mido's are unbounded: quadratic time on a run of 0x80 bytes).
    """
    from mido.midifiles.meta import build_meta_message
    from mido.messages import Message

    size_of = len(data)
    pos = 0

    def take(count: int) -> bytes:
        nonlocal pos
        if count > 1_000_000:  # mido's MAX_MESSAGE_LENGTH
            raise _CorruptSmf(f"message length {count} exceeds maximum length 1000000")
        if pos + count > size_of:
            raise _CorruptSmf("unexpected end of file")
        chunk_bytes = data[pos:pos + count]
        pos += count
        return chunk_bytes

    def vlq() -> int:
        nonlocal pos
        value = 0
        for _ in range(MAX_VLQ_BYTES):
            if pos >= size_of:
                raise _CorruptSmf("unexpected end of file")
            byte = data[pos]
            pos += 1
            value = (value << 7) | (byte & 0x7F)
            if byte < 0x80:
                return value
        raise _CorruptSmf(f"a variable-length quantity longer than {MAX_VLQ_BYTES} bytes at byte {pos}; "
                          "the SMF allows 4")

    if size_of < 8:
        raise _CorruptSmf("unexpected end of file")
    name, length = struct.unpack(">4sL", data[:8])
    if name != b"MThd":
        raise _CorruptSmf("MThd not found. Probably not a MIDI file")
    header_bytes = data[8:8 + length]
    if len(header_bytes) < 6:
        raise _CorruptSmf("unexpected end of file")
    pos = 8 + length
    file_format, n_tracks, division = struct.unpack(">hhh", header_bytes[:6])
    tracks: list[tuple[list[tuple], int]] = []
    tempo_events = 0
    for _ in range(n_tracks):
        if pos + 8 > size_of:
            raise _CorruptSmf("unexpected end of file")
        name, length = struct.unpack(">4sL", data[pos:pos + 8])
        if name != b"MTrk":
            raise _CorruptSmf("no MTrk header at start of track")
        pos += 8
        start, tick, last_status = pos, 0, None
        events: list[tuple] = []
        append = events.append
        while pos - start != length:  # mido's rule: a message running past the chunk end reads on
            tick += vlq()
            if pos >= size_of:
                raise _CorruptSmf("unexpected end of file")
            status = data[pos]
            pos += 1
            peek = ()
            if status < 0x80:
                if last_status is None:
                    raise _CorruptSmf("running status without last_status")
                peek, status = (status,), last_status
            elif status != _META:
                last_status = status
            if 0x80 <= status < 0xF0:  # channel messages: the bulk of a file
                high, channel = status & 0xF0, status & 0x0F
                wanted = (2 if high in (0xC0, 0xD0) else 3) - 1 - len(peek)
                values = peek + tuple(take(wanted))
                if high == 0x90 or high == 0x80:
                    note, velocity = min(values[0], 127), min(values[1], 127)
                    append((tick, NOTE_ON if high == 0x90 and velocity > 0 else NOTE_OFF, channel, note, velocity))
                elif high == 0xB0:
                    append((tick, CONTROL_CHANGE, channel, min(values[0], 127), min(values[1], 127)))
            elif status == _META:
                meta_type = take(1)[0]
                body = take(vlq())
                try:  # mido's own decoding: the same files fail (e.g. an impossible key signature)
                    message = build_meta_message(meta_type, list(body), 0)
                except Exception as exc:
                    raise _CorruptSmf(f"{type(exc).__name__}: {exc}") from None
                if message.type == "set_tempo":
                    tempo_events += 1
                    append((tick, SET_TEMPO, 0, message.tempo, 0))
                elif message.type == "time_signature":
                    append((tick, TIME_SIGNATURE, 0, message.numerator, message.denominator))
            elif status in _SYSEX:
                take(vlq())
            else:  # system common / real-time bytes: rare, so mido itself checks them
                from mido.messages.specs import SPEC_BY_STATUS

                spec = SPEC_BY_STATUS.get(status)
                if spec is None:
                    raise _CorruptSmf(f"undefined status byte 0x{status:02x}")
                wanted = spec["length"] - 1 - len(peek)
                values = list(peek) + list(take(max(wanted, 0)))
                try:
                    Message.from_bytes([status] + [min(v, 127) for v in values])
                except Exception as exc:
                    raise _CorruptSmf(f"{type(exc).__name__}: {exc}") from None
        tracks.append((events, tick))
    return file_format, division, tracks, tempo_events


def _too_long(name: str, beats: float | None = None, seconds: float | None = None) -> ClipError:
    length = f"{beats:,.0f} beats" if beats is not None else f"{seconds / 60:,.1f} minutes"
    return ClipError(f"{name}: too long ({length} of music); allowed: at most {MAX_BEATS:,} beats "
                     f"(quarter notes) and {MAX_SECONDS / 60:.0f} minutes")


def read_midi(path: str | Path, data: bytes | None = None) -> MidiContent:
    """Read ``path`` (or its already read bytes ``data``, from read_midi_bytes); raises ClipError
    (not a regular file, too large, corrupt, empty, drum-only, zero-length, too long) with the reason."""
    path = Path(path)
    name = display_path(path)
    if data is None:
        data = read_midi_bytes(path)
    try:
        file_format, tpb, tracks, tempo_event_count = _read_smf(data)
    except _CorruptSmf as exc:
        raise ClipError(f"{name}: corrupt MIDI file ({display_path(str(exc))})") from None
    if not tpb or tpb <= 0:
        raise ClipError(f"{name}: corrupt MIDI file (SMPTE or zero time division is not supported)")

    # Gather every event with its absolute tick (type 2 files play tracks one after another).
    tempo_ticks, tempo_us = [0], [500000]
    time_sigs: list[tuple[int, int, int]] = []
    raw_notes: list[tuple[int, int, int, int, int]] = []  # (on tick, off tick, channel, pitch, velocity)
    pedal_events: list[tuple[int, int, bool]] = []  # (tick, channel, down)
    max_tick = 0
    drum_notes = 0
    track_start = 0
    for events, track_end in tracks:
        open_notes: dict[tuple[int, int], deque[tuple[int, int]]] = {}
        for relative_tick, kind, channel, value, value2 in events:
            tick = track_start + relative_tick
            if kind == NOTE_ON:
                if channel == DRUM_CHANNEL:
                    drum_notes += 1
                    continue
                open_notes.setdefault((channel, value), deque()).append((tick, value2))
            elif kind == NOTE_OFF:
                if channel == DRUM_CHANNEL:
                    continue
                stack = open_notes.get((channel, value))
                if stack:
                    on_tick, vel = stack.popleft()  # first in, first out: the usual reading of repeated notes
                    raw_notes.append((on_tick, tick, channel, value, vel))
            elif kind == CONTROL_CHANGE:
                if value == SUSTAIN_CONTROLLER and channel != DRUM_CHANNEL:
                    pedal_events.append((tick, channel, value2 >= 64))
            elif kind == SET_TEMPO:
                if tick == 0 and len(tempo_ticks) == 1:
                    tempo_us[0] = value  # replaces the SMF default of 120 BPM
                else:
                    tempo_ticks.append(tick)
                    tempo_us.append(value)
            elif kind == TIME_SIGNATURE:
                time_sigs.append((tick, value, value2))
        tick = track_start + track_end
        # notes never switched off end with their track
        for (channel, pitch), stack in open_notes.items():
            for on_tick, vel in stack:
                raw_notes.append((on_tick, tick, channel, pitch, vel))
        max_tick = max(max_tick, tick)
        if file_format == 2:
            track_start = tick

    if not raw_notes:
        if drum_notes:
            raise ClipError(f"{name}: drum-only file (only channel 10 notes, no pitched notes)")
        raise ClipError(f"{name}: empty MIDI file (no notes)")

    # Bound the length before any array is built (ticks are Python ints of any size until here):
    # a 37-byte file can put a note-off 2**28 or 2**70 ticks away.
    notes_end_tick = max(n[1] for n in raw_notes)
    if notes_end_tick > MAX_BEATS * tpb:
        raise _too_long(name, beats=notes_end_tick / tpb)
    horizon = notes_end_tick + TAIL_BEATS * tpb  # later pedal releases and track ends count as here; tempos dropped
    max_tick = min(max_tick, horizon)
    pedal_events = [(min(tick, horizon), ch, down) for tick, ch, down in pedal_events]
    time_sigs = [s for s in time_sigs if s[0] <= horizon]
    kept = [i for i, t in enumerate(tempo_ticks) if t <= horizon]
    tempo_ticks, tempo_us = [tempo_ticks[i] for i in kept], [tempo_us[i] for i in kept]
    zero_tempo = [t for t, us in zip(tempo_ticks, tempo_us) if us <= 0]
    if zero_tempo:
        raise ClipError(f"{name}: corrupt MIDI file (tempo of 0 microseconds per quarter note at tick {zero_tempo[0]}); "
                        "allowed: tempos of 1 to 16,777,215 microseconds per quarter note")

    order = np.argsort(np.asarray(tempo_ticks), kind="stable")
    tempo_ticks = [tempo_ticks[i] for i in order]
    tempo_us = [tempo_us[i] for i in order]
    notes = np.asarray(raw_notes, dtype=np.int64)
    onset = _ticks_to_seconds(notes[:, 0].astype(np.float64), tempo_ticks, tempo_us, tpb)
    offset = _ticks_to_seconds(notes[:, 1].astype(np.float64), tempo_ticks, tempo_us, tpb)
    if float(offset.max()) > MAX_SECONDS:
        raise _too_long(name, seconds=float(offset.max()))
    keep = offset > onset
    if not keep.any():
        raise ClipError(f"{name}: zero-length file (every note ends where it starts)")
    notes, onset, offset = notes[keep], onset[keep], offset[keep]
    sort = np.lexsort((notes[:, 3], onset))
    notes, onset, offset = notes[sort], onset[sort], offset[sort]
    pitch = notes[:, 3].astype(np.int16)
    velocity = np.clip(notes[:, 4], 1, 127).astype(np.int16)
    channel = notes[:, 2]

    # Sustain pedal: intervals per channel; a note released while the pedal is down sounds on
    # until the pedal comes up (or until the same key is struck again).
    pedal_intervals: list[tuple[float, float, int]] = []
    end_secs = float(_ticks_to_seconds(np.array([float(max_tick)]), tempo_ticks, tempo_us, tpb)[0])
    by_channel: dict[int, int | None] = {}
    for tick, ch, down in sorted(pedal_events):
        if down and by_channel.get(ch) is None:
            by_channel[ch] = tick
        elif not down and by_channel.get(ch) is not None:
            start = by_channel[ch]
            pedal_intervals.append((start, tick, ch))
            by_channel[ch] = None
    for ch, start in by_channel.items():
        if start is not None:
            pedal_intervals.append((start, max_tick, ch))
    pedal_secs = [
        (float(a), float(b), ch)
        for (a, b), ch in zip(
            _ticks_to_seconds(np.array([[p[0], p[1]] for p in pedal_intervals], dtype=np.float64).reshape(-1, 2),
                              tempo_ticks, tempo_us, tpb).reshape(-1, 2),
            (p[2] for p in pedal_intervals),
        )
        if b > a
    ]
    sounding = offset.copy()
    # one channel's pedal intervals never overlap: each note-off lies in at most one (a search, not
    # a pass over every note per interval, which took minutes for a file full of pedal presses)
    for ch in {p[2] for p in pedal_secs}:
        downs = np.asarray([a for a, _, c in pedal_secs if c == ch])
        ups = np.asarray([b for _, b, c in pedal_secs if c == ch])
        order_down = np.argsort(downs, kind="stable")
        downs, ups = downs[order_down], ups[order_down]
        on_channel = np.flatnonzero(channel == ch)
        k = np.searchsorted(downs, offset[on_channel], side="right") - 1
        inside = (k >= 0) & (offset[on_channel] < ups[np.maximum(k, 0)])
        held = on_channel[inside]
        sounding[held] = np.maximum(sounding[held], ups[k[inside]])
    if pedal_secs:
        # a re-struck key cuts the previous sounding of the same pitch
        for p in np.unique(pitch):
            idx = np.flatnonzero(pitch == p)
            if len(idx) > 1:
                nxt = onset[idx[1:]]
                sounding[idx[:-1]] = np.minimum(sounding[idx[:-1]], np.maximum(nxt, offset[idx[:-1]]))

    tempo_secs = _ticks_to_seconds(np.asarray(tempo_ticks, dtype=np.float64), tempo_ticks, tempo_us, tpb)
    tempo_changes = tuple((float(t), 60e6 / us) for t, us in zip(tempo_secs, tempo_us)) if tempo_event_count else ()
    sig_secs = _ticks_to_seconds(np.asarray([s[0] for s in time_sigs], dtype=np.float64), tempo_ticks, tempo_us, tpb)
    time_signatures = tuple((float(t), int(s[1]), int(s[2])) for t, s in zip(sig_secs, time_sigs))
    end_time = float(max(sounding.max(), offset.max()))
    if end_time - float(onset.min()) <= 1e-3:
        raise ClipError(f"{name}: zero-length file (all notes within 1 ms)")
    last_tick = max(max_tick, int(notes[:, 1].max()))
    quarter_ticks = np.arange(0, last_tick + tpb, tpb, dtype=np.float64)
    quarter_times = _ticks_to_seconds(quarter_ticks, tempo_ticks, tempo_us, tpb)
    return MidiContent(
        pitch=pitch,
        onset=onset,
        offset=offset,
        sounding_offset=sounding,
        velocity=velocity,
        pedal_intervals=tuple((a, b) for a, b, _ in sorted(pedal_secs)),
        tempo_changes=tempo_changes,
        time_signatures=time_signatures,
        ticks_per_beat=tpb,
        quarter_times=quarter_times,
        end_time=max(end_time, end_secs if end_secs < end_time + 10 else end_time),
    )
