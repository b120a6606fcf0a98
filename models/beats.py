"""Beat grid of a clip: the file's own beats when it has a real tempo map, else beats tracked from onsets.

Transcribed piano (EMOPIA) carries one placeholder 120 BPM tempo, so its beats are tracked from
the note onsets: an onset-strength envelope, a tempo from its autocorrelation (50-200 BPM with a
log-normal preference around 110 BPM), then Ellis's (2007) dynamic-programming beat tracker. The
downbeat phase is the beat phase whose beats carry the most low, long notes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.midi_reading import MAX_BEATS, ClipError, MidiContent

FRAME_RATE = 100.0  # onset-envelope frames per second (10 ms)
MIN_BPM, MAX_BPM = 50.0, 200.0  # tempo search range
PRIOR_BPM, PRIOR_OCTAVES = 110.0, 1.0  # centre and spread (octaves) of the tempo preference
TIGHTNESS = 100.0  # Ellis's alpha: how strongly beat spacing must follow the tempo


@dataclass(frozen=True)
class BeatGrid:
    """Beat times covering a clip, and where bars start."""

    times: np.ndarray  # float64 (n,), beat onsets (s), increasing; the last one ends the last beat
    tempo_bpm: float  # median tempo of the grid (beats per minute)
    beats_per_bar: int  # beats in a bar (4 unless the file says otherwise)
    downbeat: int  # index into ``times`` of the first bar line (0..beats_per_bar-1)
    tracked: bool  # True when tracked from onsets, False when taken from the file's tempo map


def onset_envelope(onset: np.ndarray, velocity: np.ndarray, end_time: float) -> np.ndarray:
    """Onset strength per 10 ms frame: velocity-weighted onsets, smoothed by a 20 ms Gaussian."""
    n = int(np.ceil(end_time * FRAME_RATE)) + 1
    env = np.zeros(n)
    frames = np.clip(np.round(onset * FRAME_RATE).astype(int), 0, n - 1)
    # a chord (many notes at once) is a stronger onset than a single note, but sub-linearly
    np.add.at(env, frames, velocity / 127.0)
    env = np.sqrt(env)
    kernel = np.exp(-0.5 * (np.arange(-6, 7) / 2.0) ** 2)
    return np.convolve(env, kernel / kernel.sum(), mode="same")


def estimate_tempo(envelope: np.ndarray) -> float:
    """Tempo (BPM) at the autocorrelation peak of the envelope, weighted by the tempo preference."""
    x = envelope - envelope.mean()
    n = len(x)
    spectrum = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    min_lag = int(np.floor(60.0 * FRAME_RATE / MAX_BPM))
    max_lag = min(int(np.ceil(60.0 * FRAME_RATE / MIN_BPM)), n - 1)
    if max_lag <= min_lag:
        return PRIOR_BPM
    lags = np.arange(min_lag, max_lag + 1)
    bpm = 60.0 * FRAME_RATE / lags
    prior = np.exp(-0.5 * (np.log2(bpm / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    score = acf[lags] / (n - lags) * prior  # unbiased autocorrelation
    best = int(np.argmax(score))
    # parabolic interpolation for a sub-frame period
    if 0 < best < len(score) - 1:
        a, b, c = score[best - 1], score[best], score[best + 1]
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    else:
        shift = 0.0
    return float(60.0 * FRAME_RATE / (lags[best] + shift))


def dp_beats(envelope: np.ndarray, tempo_bpm: float) -> np.ndarray:
    """Ellis (2007) dynamic-programming beat tracking; returns beat frame indices."""
    period = 60.0 * FRAME_RATE / tempo_bpm
    std = envelope.std()
    local = envelope / std if std > 0 else envelope
    n = len(local)
    score = local.copy()
    backlink = np.full(n, -1)
    lo, hi = int(round(period / 2)), int(round(2 * period))
    offsets = np.arange(lo, hi + 1)
    penalty = -TIGHTNESS * np.log(offsets / period) ** 2
    # Frame t looks back at least lo frames, so the lo frames of a block depend only on frames
    # before the block: a block at a time (~15x fewer Python steps than a frame at a time; 30
    # minutes of music is 180,000 frames), with the same sums and the same first-maximum choice.
    step = max(lo, 1)
    for block in range(lo, n, step):
        t = np.arange(block, min(block + step, n))
        prev = t[:, None] - offsets[None, :]  # (frames, offsets)
        cand = np.where(prev >= 0, score[np.maximum(prev, 0)] + penalty[None, :], -np.inf)
        k = np.argmax(cand, axis=1)
        rows = np.arange(len(t))
        score[t] = local[t] + cand[rows, k]
        backlink[t] = prev[rows, k]
    # the last beat: the best-scoring frame within the final period
    tail = max(0, n - int(round(period)))
    t = tail + int(np.argmax(score[tail:]))
    beats = [t]
    while backlink[t] >= 0:
        t = int(backlink[t])
        beats.append(t)
    return np.asarray(beats[::-1])


MAX_GRID_BEATS = 2 * MAX_BEATS  # a grid never needs more (half-note or dotted beats need fewer)


def _extend(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """Extend a beat sequence at its own local period so that it covers [start, end].

    The added beats are counted before they are built: a tiny or zero period (a near-infinite
    file tempo) must not loop for ever or fill memory (ClipError beyond MAX_GRID_BEATS)."""
    if len(times) < 2:
        return times
    head_period = float(np.median(np.diff(times[:5])))
    tail_period = float(np.median(np.diff(times[-5:])))
    n_before = int(np.ceil((times[0] - start) / head_period)) if times[0] > start else 0
    n_after = int(np.ceil((end - times[-1]) / tail_period)) if times[-1] < end else 0
    if (n_before and not head_period > 0) or (n_after and not tail_period > 0) \
            or len(times) + n_before + n_after > MAX_GRID_BEATS:
        raise ClipError(f"beat grid of {len(times)} beats cannot be extended over {start:.3f}..{end:.3f} s "
                        f"at a period of {min(head_period, tail_period):.3g} s; allowed: at most {MAX_GRID_BEATS:,} beats")
    # same values the step-by-step extension gave: times[0] - k * head, times[-1] + k * tail
    before = times[0] - head_period * np.arange(n_before, 0, -1)
    after = times[-1] + tail_period * np.arange(1, n_after + 1)
    return np.concatenate((before, times, after))


def downbeat_phase(times: np.ndarray, content: MidiContent, beats_per_bar: int) -> int:
    """The beat phase (0..beats_per_bar-1) whose beats start the most low, long, loud notes."""
    if beats_per_bar <= 1 or len(times) < 2 * beats_per_bar:
        return 0
    period = float(np.median(np.diff(times)))
    low = content.pitch <= np.percentile(content.pitch, 35)
    weight = (content.velocity / 127.0) * np.minimum(content.offset - content.onset, 2 * period) * (1 + 2 * low)
    nearest = np.clip(np.searchsorted(times, content.onset - 0.15 * period), 0, len(times) - 1)
    close = np.abs(times[nearest] - content.onset) < 0.15 * period
    per_beat = np.bincount(nearest[close], weights=weight[close], minlength=len(times))
    strength = [per_beat[k::beats_per_bar].mean() for k in range(beats_per_bar)]
    return int(np.argmax(strength))


def beat_grid(content: MidiContent) -> BeatGrid:
    """The file's own beats for a DAW export, else beats tracked from the onsets (see module doc)."""
    bpb = content.beats_per_bar
    start, end = float(content.onset.min()), float(content.end_time)
    if content.has_real_tempo_map:
        times = content.file_beats()
        times = times[times <= end + 1e-9]
        if len(times) == 0 or times[-1] < end:
            times = _extend(times if len(times) >= 2 else content.quarter_times[:2], start, end)
        tempo = 60.0 / float(np.median(np.diff(times))) if len(times) > 1 else 120.0
        sig_start = content.time_signatures[0][0] if content.time_signatures else 0.0
        first_bar = int(np.searchsorted(times, sig_start - 1e-6))
        return BeatGrid(times=times, tempo_bpm=tempo, beats_per_bar=bpb, downbeat=first_bar % max(bpb, 1), tracked=False)
    envelope = onset_envelope(content.onset, content.velocity, end)
    tempo = estimate_tempo(envelope)
    frames = dp_beats(envelope, tempo)
    times = frames / FRAME_RATE
    if len(times) < 2:
        period = 60.0 / tempo
        times = np.arange(start, end + period, period)
    times = _extend(times, start, end)
    tempo_tracked = 60.0 / float(np.median(np.diff(times)))
    return BeatGrid(times=times, tempo_bpm=tempo_tracked, beats_per_bar=bpb,
                    downbeat=downbeat_phase(times, content, bpb), tracked=True)
