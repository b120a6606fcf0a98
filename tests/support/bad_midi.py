"""Raw Standard MIDI File bytes, well formed and adversarial, built byte by byte (no mido).

The regression tests of issue 18 (tests/test_midi_reading.py) and the fuzz harness use
these: every generator returns the exact bytes of one file, so a test can write it anywhere and
the case is reproducible from its arguments (and seed) alone.
"""
from __future__ import annotations

import random
import struct

MAX_DATA = 0x7F  # largest MIDI data byte


def vlq(value: int) -> bytes:
    """The variable-length quantity of any non-negative int (7 bits per byte, high bit = more);
    values past the SMF's 28-bit limit give longer, non-standard encodings on purpose."""
    if value < 0:
        raise ValueError(f"vlq of {value}: only non-negative values")
    groups = [value & 0x7F]
    value >>= 7
    while value:
        groups.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(groups))


def chunk(kind: bytes, data: bytes) -> bytes:
    """A chunk: 4-byte type, 32-bit big-endian length, data."""
    return kind + struct.pack(">I", len(data)) + data


def header(n_tracks: int, *, file_format: int = 1, division: int = 480) -> bytes:
    """The MThd chunk (division = ticks per quarter note)."""
    return chunk(b"MThd", struct.pack(">HHH", file_format, n_tracks, division))


def note_on(pitch: int, velocity: int = 100, channel: int = 0) -> bytes:
    return bytes((0x90 | channel, pitch & MAX_DATA, velocity & MAX_DATA))


def note_off(pitch: int, channel: int = 0) -> bytes:
    return bytes((0x80 | channel, pitch & MAX_DATA, 0))


def pedal(down: bool, channel: int = 0) -> bytes:
    """Sustain pedal (CC 64)."""
    return bytes((0xB0 | channel, 64, 127 if down else 0))


def set_tempo(microseconds_per_quarter: int) -> bytes:
    return b"\xff\x51\x03" + microseconds_per_quarter.to_bytes(3, "big")


def time_signature(numerator: int = 4, denominator_power: int = 2) -> bytes:
    return bytes((0xFF, 0x58, 0x04, numerator, denominator_power, 24, 8))


END_OF_TRACK = b"\xff\x2f\x00"


def track(events: list[tuple[int, bytes]], *, end_delta: int = 0) -> bytes:
    """An MTrk chunk from (delta ticks, event bytes), closed by end_of_track after ``end_delta``."""
    body = b"".join(vlq(delta) + event for delta, event in events)
    return chunk(b"MTrk", body + vlq(end_delta) + END_OF_TRACK)


def smf(tracks: list[bytes], *, division: int = 480, file_format: int | None = None) -> bytes:
    """A whole file from MTrk chunks (format 0 for one track, 1 otherwise, unless given)."""
    fmt = file_format if file_format is not None else (0 if len(tracks) == 1 else 1)
    return header(len(tracks), file_format=fmt, division=division) + b"".join(tracks)


# -- well-formed files ------------------------------------------------------------------------

CHORD_LOOP = ((48, 60, 64, 67), (41, 60, 65, 69), (43, 59, 62, 67), (45, 60, 64, 69))  # C F G Am


def chord_song(n_chords: int, *, division: int = 480, beats_per_chord: int = 4, tempo_us: int = 500000,
               velocity: int = 90) -> bytes:
    """A valid file with a real tempo map (tempo + 4/4 time signature): ``n_chords`` block chords
    cycling C F G Am, one every ``beats_per_chord`` beats; its chords are recognised one per chord."""
    events: list[tuple[int, bytes]] = [(0, set_tempo(tempo_us)), (0, time_signature(4, 2))]
    length = beats_per_chord * division
    for i in range(n_chords):
        chord = CHORD_LOOP[i % len(CHORD_LOOP)]
        events += [(0, note_on(p, velocity)) for p in chord]
        events += [(length if j == 0 else 0, note_off(p)) for j, p in enumerate(chord)]
    return smf([track(events)], division=division)


# -- adversarial files ------------------------------------------------------------------------

def huge_delta_note(delta: int = 0x0FFFFFFF) -> bytes:
    """One note lasting ``delta`` ticks (the largest SMF delta by default: 37 bytes, days of music)."""
    return smf([track([(0, note_on(60)), (delta, note_off(60))])])


def long_note_coarse_ticks(ticks: int = 100_000, division: int = 1) -> bytes:
    """One note of ``ticks`` ticks at ``division`` ticks per beat (100,000 beats by default)."""
    return smf([track([(0, note_on(60)), (ticks, note_off(60))])], division=division)


def huge_trailing_silence(delta: int = 0x0FFFFFFF) -> bytes:
    """A short valid phrase, then end_of_track ``delta`` ticks later."""
    events = [(0, set_tempo(500000)), (0, time_signature())]
    for chord in CHORD_LOOP:
        events += [(0, note_on(p)) for p in chord] + [(960 if j == 0 else 0, note_off(p)) for j, p in enumerate(chord)]
    return smf([track(events, end_delta=delta)])


def unreleased_pedal_far_end(delta: int = 0x0FFFFFFF) -> bytes:
    """A phrase under a sustain pedal that is released only ``delta`` ticks after the last note."""
    events = [(0, pedal(True))]
    for chord in CHORD_LOOP:
        events += [(0, note_on(p)) for p in chord] + [(480 if j == 0 else 0, note_off(p)) for j, p in enumerate(chord)]
    events.append((delta, pedal(False)))
    return smf([track(events)])


def zero_tempo_after_start(tick: int = 480) -> bytes:
    """A tempo of 0 microseconds per quarter (infinite BPM) at ``tick`` > 0, inside a phrase."""
    events = [(0, set_tempo(500000)), (0, note_on(60)), (tick, set_tempo(0)), (480, note_off(60)),
              (0, note_on(64)), (480, note_off(64))]
    return smf([track(events)])


def overlong_vlq(bits: int = 70) -> bytes:
    """A note whose off-delta is a VLQ of ``bits`` bits (more than a 64-bit integer holds)."""
    return smf([track([(0, note_on(60)), ((1 << bits) - 1, note_off(60))])])


def endless_vlq(n_bytes: int = 100_000) -> bytes:
    """A track whose first delta never ends: ``n_bytes`` continuation bytes (0x80) in a row (mido
    read it as one ever larger integer: quadratic time)."""
    return smf([chunk(b"MTrk", b"\x80" * n_bytes + b"\x00" + note_on(60))])


def stacked_same_key(n_notes: int) -> bytes:
    """``n_notes`` note-ons of one key, then as many note-offs: every note sounds the whole file."""
    events = [(0, note_on(60))] * n_notes + [(480 * 8 if i == 0 else 0, note_off(60)) for i in range(n_notes)]
    return smf([track(events)])


def pedal_storm(n_notes: int) -> bytes:
    """Notes and sustain-pedal presses interleaved: as many pedal intervals as notes."""
    events = []
    for i in range(n_notes):
        events += [(0, pedal(True)), (0, note_on(48 + i % 24)), (1, note_off(48 + i % 24)), (1, pedal(False))]
    return smf([track(events)], division=96)


def dense_notes_file(target_bytes: int, *, seed: int = 0, division: int = 96) -> bytes:
    """A valid file of about ``target_bytes`` packed with short random notes (the densest music
    that fits: one 4-byte note-on and one 4-byte note-off per note)."""
    rng = random.Random(seed)
    events: list[tuple[int, bytes]] = [(0, set_tempo(500000)), (0, time_signature())]
    n_notes = max(1, (target_bytes - 40) // 8)
    for _ in range(n_notes):
        pitch = rng.randrange(36, 96)
        events += [(rng.randrange(0, 3), note_on(pitch, rng.randrange(30, 120))), (rng.randrange(1, 24), note_off(pitch))]
    return smf([track(events)], division=division)


def dense_long_file(target_bytes: int, minutes: float, *, tempo_map: bool = False, seed: int = 0) -> bytes:
    """The slowest valid file of about ``target_bytes``: short random notes spread evenly over
    ``minutes`` at 120 BPM; without a tempo map (the default) its beats are tracked from the onsets."""
    rng = random.Random(seed)
    division = 480
    n_notes = max(1, (target_bytes - 40) // 8)
    step = int(minutes * 60 * 2 * division) // n_notes
    events: list[tuple[int, bytes]] = [(0, set_tempo(600000)), (0, time_signature())] if tempo_map else []
    for _ in range(n_notes):
        pitch = rng.randrange(36, 96)
        events += [(0, note_on(pitch, rng.randrange(30, 120))), (step, note_off(pitch))]
    return smf([track(events)], division=division)


def random_corruption(data: bytes, seed: int, flips: int = 8) -> bytes:
    """``data`` with ``flips`` random bytes replaced (and, for some seeds, cut short)."""
    rng = random.Random(seed)
    out = bytearray(data)
    for _ in range(flips):
        out[rng.randrange(len(out))] = rng.randrange(256)
    if rng.random() < 0.3:
        del out[rng.randrange(14, len(out)):]
    return bytes(out)


ADVERSARIAL_CASES = {
    "huge_delta_note": huge_delta_note,
    "long_note_coarse_ticks": long_note_coarse_ticks,
    "huge_trailing_silence": huge_trailing_silence,
    "unreleased_pedal_far_end": unreleased_pedal_far_end,
    "zero_tempo_after_start": zero_tempo_after_start,
    "overlong_vlq": overlong_vlq,
    "vlq_63_bits": lambda: overlong_vlq(63),
    "endless_vlq": endless_vlq,
}
"""Name -> generator (default arguments) of every adversarial file above that takes no size."""
