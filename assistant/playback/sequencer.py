"""The player thread: plays a Score into sinks (FluidSynth, a MIDI port) against the monotonic
clock, with a playhead callback, so the caller (the Qt UI thread) returns at once from play()/stop().

Any object with note_on/note_off/program_change/all_notes_off is a sink (`Sink`); sinks that take
timestamped events (FluidSynth's own sequencer: `scheduled = True`) get notes ahead of time, which
is how FluidSynth and a MidiPortPlayer play in sync.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Protocol

import numpy as np

from assistant.errors import InvalidInput
from assistant.score import Score

PositionCallback = Callable[[float], None]  # position in beats from the start of the score
FinishedCallback = Callable[[], None]

POSITION_HZ = 30.0  # playhead updates per second
PLAYED_CHANNELS = 16  # MIDI channels a score may use
LOOKAHEAD_SECONDS = 0.15  # FluidSynth gets notes this early, timestamped on its sample clock
SCHEDULE_LEAD_SECONDS = 0.05  # first notes of a pass: time to hand them over before they are due
# The synth's sample clock falls behind the wall clock when its audio thread misses deadlines
# (PulseAudio then plays silence); beyond this lag the schedule jumps to catch up, so the sound
# stays with the playhead. Normal jitter (render-ahead, up to the buffer) stays well below.
DRIFT_LIMIT_MS = 150
STOP_SETTLE_SECONDS = 0.02  # stop(): second silence after a render period (see ScoreSequencer.stop)


# --------------------------------------------------------------------------- validation
def check_channel(channel: int) -> int:
    if not isinstance(channel, (int, np.integer)) or not 0 <= int(channel) < PLAYED_CHANNELS:
        raise InvalidInput(f"MIDI channel {channel!r} is not allowed; use an integer 0..{PLAYED_CHANNELS - 1}")
    return int(channel)


def check_program(program: int) -> int:
    if not isinstance(program, (int, np.integer)) or not 0 <= int(program) <= 127:
        raise InvalidInput(f"General MIDI program {program!r} is not allowed; use an integer 0..127")
    return int(program)


def check_score(score: Score, start_beats: float) -> float:
    if not isinstance(score, Score):
        raise InvalidInput(f"play() needs an assistant.score.Score, not {type(score).__name__}")
    if not score.tempo_bpm > 0:
        raise InvalidInput(f"tempo {score.tempo_bpm!r} bpm is not allowed; the score's tempo must be > 0")
    end = score_end_beats(score)
    try:
        start = float(start_beats)
    except (TypeError, ValueError):
        start = float("nan")
    if not 0.0 <= start <= max(end, 0.0):
        raise InvalidInput(f"start_beats {start_beats!r} is not allowed; use 0..{end:g} (the score's length in beats)")
    return start


def score_end_beats(score: Score) -> float:
    """Where playback ends (and a loop restarts): the score's length, or its last note-off."""
    if score.length_beats and score.length_beats > 0:
        return float(score.length_beats)
    return max((n.start_beats + n.duration_beats for n in score.notes), default=0.0)


# --------------------------------------------------------------------------- events
NOTE_OFF, NOTE_ON = 0, 1  # at equal times note-offs go first, so a repeated pitch re-sounds


@dataclass(frozen=True)
class NoteEvent:
    beats: float  # when, in beats from the start of the score
    kind: int  # NOTE_OFF or NOTE_ON
    channel: int  # 0..15
    pitch: int  # 0..127
    velocity: int  # 1..127 for NOTE_ON, 0 for NOTE_OFF


def score_events(score: Score, start_beats: float = 0.0) -> list[NoteEvent]:
    """Note on/off events from start_beats to the score's end, sorted. A note already sounding
    at start_beats starts there; notes running past the end are closed at the end."""
    end = score_end_beats(score)
    events: list[NoteEvent] = []
    for note in score.notes:
        note_end = min(note.start_beats + note.duration_beats, end)
        if note_end <= start_beats or note.start_beats >= end or note_end <= note.start_beats:
            continue
        onset = max(note.start_beats, start_beats)
        events.append(NoteEvent(onset, NOTE_ON, note.channel, note.pitch, note.velocity))
        events.append(NoteEvent(note_end, NOTE_OFF, note.channel, note.pitch, 0))
    events.sort(key=lambda e: (e.beats, e.kind, e.channel, e.pitch))
    return events


class Sink(Protocol):
    """Anything that can sound MIDI: FluidSynth, a MIDI port."""

    def note_on(self, channel: int, pitch: int, velocity: int) -> None: ...
    def note_off(self, channel: int, pitch: int) -> None: ...
    def program_change(self, channel: int, program: int) -> None: ...
    def all_notes_off(self) -> None: ...


# --------------------------------------------------------------------------- the player thread
class ScoreSequencer:
    """Plays a Score into sinks on its own thread, with a playhead callback.

    prepare(score, stop_event) -> bool runs on the player thread before the clock starts (waits
    for the SoundFont, program changes), so play() itself never blocks; False cancels."""

    def __init__(self, sinks: Callable[[], Iterable[Sink]], on_position: PositionCallback | None = None,
                 on_finished: FinishedCallback | None = None, name: str = "moodchords-player"):
        self._sinks = sinks  # called for the current sinks at every send
        self.on_position = on_position
        self.on_finished = on_finished
        self._name = name
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        # Held while events are sent; stop() takes it to silence everything, so no note-on can
        # follow the final all-notes-off.
        self._send_lock = threading.Lock()
        self._position = 0.0

    @property
    def is_playing(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    @property
    def position_beats(self) -> float:
        return self._position

    def play(self, score: Score, loop: bool = False, start_beats: float = 0.0,
             prepare: Callable[[Score, threading.Event], bool] | None = None) -> None:
        start = check_score(score, start_beats)
        thread = self._thread
        if thread is not None and thread.is_alive():
            self.stop()  # silences what was playing; nothing to silence otherwise
        self._stop = threading.Event()
        self._position = start
        self._thread = threading.Thread(target=self._run, args=(score, bool(loop), start, prepare, self._stop),
                                        name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and silence every sink (all notes off on every channel); returns within ~30 ms."""
        self._stop.set()
        with self._send_lock:
            sinks = list(self._sinks())
            for sink in sinks:
                if is_scheduled(sink):
                    sink.cancel_scheduled()  # notes queued ahead in FluidSynth's sequencer
            self._silence(sinks, hard=True)
            if any(is_scheduled(sink) for sink in sinks):
                # An event the synth's sequencer was dispatching while we cancelled may land
                # after the first silence: silence once more after a render period.
                time.sleep(STOP_SETTLE_SECONDS)
                self._silence([sink for sink in sinks if is_scheduled(sink)], hard=True)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)  # it only waits on _stop, so this is quick

    @staticmethod
    def _silence(sinks: Iterable[Sink], hard: bool) -> None:
        """hard (stop): cut everything now; else (end of a pass) release notes naturally."""
        for sink in sinks:
            try:
                if hard and hasattr(sink, "all_sounds_off"):
                    sink.all_sounds_off()
                else:
                    sink.all_notes_off()
            except Exception:  # noqa: BLE001 - one broken port must not keep notes on elsewhere
                pass

    def _report(self, beats: float) -> None:
        self._position = beats
        if self.on_position is not None:
            self.on_position(beats)

    def _run(self, score: Score, loop: bool, start: float, prepare, stop: threading.Event) -> None:
        if prepare is not None and not prepare(score, stop):
            return
        seconds_per_beat = score.seconds_per_beat()
        end = score_end_beats(score)
        first_pass = True
        finished = False
        while not stop.is_set():
            events = score_events(score, start if first_pass else 0.0)
            origin = start if first_pass else 0.0
            if not self._play_pass(events, origin, end, seconds_per_beat, stop):
                break
            with self._send_lock:  # notes cut at the loop point (or the end) never hang
                if not stop.is_set():
                    self._silence(self._sinks(), hard=False)
            if not loop:
                finished = True
                break
            first_pass = False
        if finished and not stop.is_set():
            self._report(end)
            stop.set()
            if self.on_finished is not None:
                self.on_finished()

    def _play_pass(self, events: list[NoteEvent], origin: float, end: float, seconds_per_beat: float,
                   stop: threading.Event) -> bool:
        """One pass from origin to end; False when stopped.

        Immediate sinks (MIDI ports) get each event when its time comes. Scheduled sinks
        (FluidSynth) get it up to LOOKAHEAD_SECONDS early, stamped with its exact time on the
        synth's sample clock, so their timing does not suffer when other Python threads hold the
        GIL. With a scheduled sink everything (immediate sinks, playhead) runs SCHEDULE_LEAD_SECONDS
        behind the clock so both stay in step."""
        sinks = list(self._sinks())
        scheduled = [sink for sink in sinks if is_scheduled(sink)]
        lead = SCHEDULE_LEAD_SECONDS if scheduled else 0.0
        t0 = time.monotonic()
        start_ticks = {id(sink): sink.current_tick() for sink in scheduled}
        base_ticks = {key: tick + int(lead * 1000) for key, tick in start_ticks.items()}
        period = 1.0 / POSITION_HZ
        next_report = lead
        index = ahead = 0  # next event for immediate / scheduled sinks
        total = (end - origin) * seconds_per_beat
        at = [(event.beats - origin) * seconds_per_beat for event in events]  # seconds from t0
        while True:
            now = time.monotonic() - t0
            with self._send_lock:
                if stop.is_set():
                    return False
                sinks = list(self._sinks())
                immediate = [sink for sink in sinks if not is_scheduled(sink)]
                scheduled = [sink for sink in sinks if is_scheduled(sink) and id(sink) in base_ticks]
                if ahead < len(events) and at[ahead] <= now + LOOKAHEAD_SECONDS:
                    for sink in scheduled:  # the synth's clock stalls when its audio thread starves
                        lag_ms = now * 1000 - (sink.current_tick() - start_ticks[id(sink)])
                        if lag_ms > DRIFT_LIMIT_MS:  # catch up with the wall clock (and the playhead)
                            start_ticks[id(sink)] -= int(lag_ms)
                            base_ticks[id(sink)] -= int(lag_ms)
                while ahead < len(events) and at[ahead] <= now + LOOKAHEAD_SECONDS:
                    event = events[ahead]
                    for sink in scheduled:
                        tick = base_ticks[id(sink)] + int(round(at[ahead] * 1000))
                        if event.kind == NOTE_ON:
                            sink.schedule_note_on(event.channel, event.pitch, event.velocity, tick)
                        else:
                            sink.schedule_note_off(event.channel, event.pitch, tick)
                    ahead += 1
                while index < len(events) and at[index] + lead <= now:
                    event = events[index]
                    for sink in immediate:
                        if event.kind == NOTE_ON:
                            sink.note_on(event.channel, event.pitch, event.velocity)
                        else:
                            sink.note_off(event.channel, event.pitch)
                    index += 1
            if now >= next_report:
                self._report(origin + min(max(now - lead, 0.0), total) / seconds_per_beat)
                next_report = lead + (int((now - lead) / period) + 1) * period  # no drift, no bursts
            if index >= len(events) and ahead >= len(events) and now >= total + lead:
                return True
            upcoming = [total + lead, next_report]
            if index < len(events):
                upcoming.append(at[index] + lead)
            if ahead < len(events):
                upcoming.append(at[ahead] - LOOKAHEAD_SECONDS)
            wait = min(upcoming) - (time.monotonic() - t0)
            if wait > 0 and stop.wait(wait):
                return False


def is_scheduled(sink) -> bool:
    """Sinks that take timestamped events (schedule_note_on/off, current_tick, cancel_scheduled)."""
