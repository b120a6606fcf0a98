"""Chord recognition and key estimation on a beat grid.

Per analysis frame (a beat by default) a pitch-class profile is built from the sounding notes,
weighted by how long they sound in the frame, their velocity (with a piano-like decay while the
pedal holds them) and the metrical position of their onset; the lowest sounding note gives a
separate bass profile. Every chord of the vocabulary (models.vocabulary.QUALITIES on all 12
roots) scores the frame with a multinomial "chord tones vs. other tones" model plus a bass model;
a Viterbi pass with a cost for every chord change (cheaper on strong beats) keeps melody and
passing notes from producing spurious chords. Runs of one chord become ChordEvents.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.errors import InvalidModelInput
from models.vocabulary import FRAME_TONIC, PITCH_CLASSES, QUALITIES, ChordEvent

# Key profiles (major, minor), index 0 = tonic.
KRUMHANSL_KESSLER = (
    (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
    (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
)
TEMPERLEY_KOSTKA_PAYNE = (
    (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
    (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330),
)
AARDEN_ESSEN = (  # humdrum keycor's values; the profiles of music21's analyze('key')
    (17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624, 8.15494, 0.232998, 4.95122),
    (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621, 1.93186, 7.37619, 1.75623),
)
KEY_PROFILES = {"krumhansl": KRUMHANSL_KESSLER, "temperley": TEMPERLEY_KOSTKA_PAYNE, "aarden-essen": AARDEN_ESSEN}
# Aarden-Essen's profiles (bench/key_finding.py): they frame EMOPIA's chords like Temperley's (more predictable
# chords and a better emotion classifier than with Krumhansl-Kessler's) and read modes as music21 does, which
# the composer's mode prior has to match (Temperley's read far more clips as major).
DEFAULT_KEY_PROFILES = "aarden-essen"
# Work and memory of frame_profiles grow with (notes x sampling points each one covers): music
# sounds a few to a few dozen notes at once, so more than MAX_MEAN_POLYPHONY on average is an
# adversarial file (e.g. 100,000 note-ons of one key held together); it is refused, not analysed.
MAX_MEAN_POLYPHONY = 256
MAX_NOTE_SAMPLES = 20_000_000  # and never more (note, sampling point) pairs than this in all
NOTE_SAMPLES_PER_CHUNK = 1 << 20  # pairs expanded at once (about 50 MB of temporaries)


@dataclass(frozen=True)
class RecognitionOptions:
    """Knobs of the chord recogniser (defaults chosen by bench/chord_recognition.py)."""

    frame_beats: float = 1.0  # analysis frame length in beats (0.5, 1 or 2 = half bar in 4/4)
    samples_per_frame: int = 8  # time points per frame at which sounding notes are sampled
    decay_s: float = 2.5  # time constant (s) of a held note's fading weight (piano decay under pedal)
    velocity_power: float = 0.5  # weight ~ (velocity/127) ** power
    offbeat_weight: float = 0.4  # weight of a note whose onset is off the frame's beats (passing notes)
    top_voice_weight: float = 0.8  # weight of the highest sounding note (often melody, often not a chord tone)
    chord_tone_mass: float = 0.85  # share of the profile the model expects on chord tones
    evidence: float = 6.0  # pseudo-count of one frame's profile (sharper emissions when larger)
    bass_evidence: float = 0.5  # pseudo-count of one frame's bass profile
    bass_root_prob: float = 0.5  # P(bass = root); other chord tones share 3/4 of the rest, non-chord tones 1/4
    change_cost: float = 3.0  # log cost of a chord change on a weak frame
    strong_change_cost: float = 2.0  # log cost of a chord change at a bar / half-bar start
    qualities: tuple[int, ...] = tuple(range(len(QUALITIES)))  # allowed quality indices
    quality_log_prior: tuple[float, ...] = ()  # per allowed quality; empty = built-in preference


# Simpler chords first: a seventh or sus chord must earn its extra tone.
DEFAULT_QUALITY_LOG_PRIOR = {
    "maj": 0.0, "min": 0.0, "dom7": -0.7, "maj7": -1.0, "min7": -0.9, "dim": -1.5, "min7b5": -1.5,
    "sus2": -1.6, "sus4": -1.4, "add9": -1.4, "aug": -2.5, "dim7": -1.8, "madd9": -1.4, "7sus4": -1.4,
}


@dataclass(frozen=True)
class Recognition:
    """The result of chord recognition on one clip (absolute pitch classes, before key normalisation)."""

    frame_starts: np.ndarray  # float64 (f,), frame start positions in beats from the first grid beat
    frame_root: np.ndarray  # int (f,), root pitch class per frame (absolute)
    frame_quality: np.ndarray  # int (f,), index into QUALITIES per frame
    frame_bass: np.ndarray  # int (f,), bass pitch class per frame (absolute; == root unless a chord-tone inversion)
    frame_fit: np.ndarray  # float (f,), share of the frame's profile on the chosen chord's tones (nan when silent)
    chroma: np.ndarray  # float (f, 12), frame profiles (unnormalised)
    bass_chroma: np.ndarray  # float (f, 12), frame bass profiles
    events: tuple[ChordEvent, ...]  # merged runs, absolute pitch classes, durations in beats


def chord_templates(qualities: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Binary templates (S, 12) for all (root, quality) states, with their roots and quality indices."""
    rows, roots, quals = [], [], []
    for q in qualities:
        base = np.zeros(PITCH_CLASSES)
        base[list(QUALITIES[q].intervals)] = 1.0
        for r in range(PITCH_CLASSES):
            rows.append(np.roll(base, r))
            roots.append(r)
            quals.append(q)
    return np.asarray(rows), np.asarray(roots), np.asarray(quals)


def frame_profiles(
    pitch: np.ndarray, onset: np.ndarray, sounding_offset: np.ndarray, velocity: np.ndarray,
    beat_times: np.ndarray, options: RecognitionOptions,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pitch-class and bass profiles per frame, and each frame's start in beats.

    The beat grid is first subdivided into frames of ``frame_beats`` beats (interpolated in
    time), then into ``samples_per_frame`` sampling points per frame.
    """
    n_beats = len(beat_times) - 1
    beat_positions = np.arange(0.0, n_beats + 1e-9, options.frame_beats)
    frame_edges = np.interp(beat_positions, np.arange(n_beats + 1), beat_times)
    n_frames = len(frame_edges) - 1
    s = options.samples_per_frame
    # sampling points in the middle of s equal slices of every frame
    frac = (np.arange(s) + 0.5) / s
    sample_times = (frame_edges[:-1, None] + frac[None, :] * np.diff(frame_edges)[:, None]).ravel()
    m = len(sample_times)

    # Each note covers the sampling points within [onset, sounding offset); a note shorter than
    # one slice still counts once, at the first point after its onset.
    first = np.searchsorted(sample_times, onset)
    last = np.maximum(np.searchsorted(sample_times, sounding_offset), first + 1)
    last = np.minimum(last, m)
    keep = first < m
    pitch, onset, velocity, first, last = pitch[keep], onset[keep], velocity[keep], first[keep], last[keep]
    lengths = last - first
    total = int(lengths.sum())
    if total > min(MAX_MEAN_POLYPHONY * max(m, 1), MAX_NOTE_SAMPLES):
        raise InvalidModelInput(f"notes overlap too densely to analyse ({total / max(m, 1):,.0f} notes sounding at once "
                                f"on average, {total:,} note samples); allowed: at most {MAX_MEAN_POLYPHONY} on average "
                                f"and {MAX_NOTE_SAMPLES:,} note samples")

    # metrical weight of each note: onsets near a beat (on this grid) count fully
    beat_pos = np.interp(onset, beat_times, np.arange(n_beats + 1))
    off_beat = np.abs(beat_pos - np.round(beat_pos)) > 0.15
    note_weight = (velocity / 127.0) ** options.velocity_power * np.where(off_beat, options.offbeat_weight, 1.0)

    # Each note expands to the sampling points it covers, a chunk of notes at a time so that memory
    # stays flat in the file's length; the chunks keep the notes' order, so every sum is the same.
    ends = np.cumsum(lengths)
    chunk_bounds = [0]
    while chunk_bounds[-1] < len(lengths):
        start_pairs = ends[chunk_bounds[-1] - 1] if chunk_bounds[-1] else 0
        nxt = int(np.searchsorted(ends, start_pairs + NOTE_SAMPLES_PER_CHUNK, side="right"))
        chunk_bounds.append(max(nxt, chunk_bounds[-1] + 1))

    def expanded(a: int, b: int) -> tuple[np.ndarray, np.ndarray]:
        """(note index, sampling point index) of every pair of notes a..b-1."""
        part = lengths[a:b]
        note_idx = a + np.repeat(np.arange(b - a), part)
        sample_idx = np.repeat(first[a:b] - np.cumsum(part) + part, part) + np.arange(int(part.sum()))
        return note_idx, sample_idx

    # lowest and highest sounding pitch per sampling point (over every note, before any weight)
    low = np.full(m, 999)
    high = np.full(m, -1)
    for a, b in zip(chunk_bounds[:-1], chunk_bounds[1:]):
        note_idx, sample_idx = expanded(a, b)
        p = pitch[note_idx].astype(np.int64)
        np.minimum.at(low, sample_idx, p)
        np.maximum.at(high, sample_idx, p)

    chroma = np.zeros((n_frames, PITCH_CLASSES))
    for a, b in zip(chunk_bounds[:-1], chunk_bounds[1:]):
        note_idx, sample_idx = expanded(a, b)
        p = pitch[note_idx].astype(np.int64)
        age = sample_times[sample_idx] - onset[note_idx]
        w = note_weight[note_idx] * np.exp(-np.maximum(age, 0.0) / options.decay_s)
        is_top = (p == high[sample_idx]) & (p != low[sample_idx])
        w = np.where(is_top, w * options.top_voice_weight, w)
        np.add.at(chroma, (sample_idx // s, p % PITCH_CLASSES), w)
    sounding = low < 999
    bass = np.zeros((n_frames, PITCH_CLASSES))
    np.add.at(bass, (np.flatnonzero(sounding) // s, low[sounding] % PITCH_CLASSES), 1.0)
    return chroma, bass, beat_positions[:-1]


def _emission_log_likelihood(
    chroma: np.ndarray, bass: np.ndarray, templates: np.ndarray, roots: np.ndarray, options: RecognitionOptions,
) -> np.ndarray:
    """log P(profile, bass | chord) per frame and state, with profiles scaled to fixed pseudo-counts."""
    k = templates.sum(axis=1)
    p_in = options.chord_tone_mass / k
    p_out = (1.0 - options.chord_tone_mass) / (PITCH_CLASSES - k)
    log_t = np.where(templates > 0, np.log(p_in)[:, None], np.log(p_out)[:, None])  # (S, 12)
    mass = chroma.sum(axis=1, keepdims=True)
    prof = np.divide(chroma, mass, out=np.zeros_like(chroma), where=mass > 0) * options.evidence
    ll = prof @ log_t.T
    # bass: root, other chord tone, or non-chord tone
    root_onehot = np.eye(PITCH_CLASSES)[roots]
    other_tone = templates * (1 - root_onehot)
    b_root = options.bass_root_prob
    b_tone = (1.0 - b_root) * 0.75 / np.maximum(k - 1, 1)
    b_out = (1.0 - b_root) * 0.25 / (PITCH_CLASSES - k)
    log_b = np.log(root_onehot * b_root + other_tone * b_tone[:, None] + (1 - templates) * b_out[:, None])
    bmass = bass.sum(axis=1, keepdims=True)
    bprof = np.divide(bass, bmass, out=np.zeros_like(bass), where=bmass > 0) * options.bass_evidence
    return ll + bprof @ log_b.T


def recognise_chords(
    pitch: np.ndarray, onset: np.ndarray, sounding_offset: np.ndarray, velocity: np.ndarray,
    beat_times: np.ndarray, *, beats_per_bar: int = 4, downbeat: int = 0,
    options: RecognitionOptions = RecognitionOptions(),
) -> Recognition:
    """Recognise chords on the beat grid ``beat_times`` (s); see the module docstring."""
    chroma, bass, starts = frame_profiles(pitch, onset, sounding_offset, velocity, beat_times, options)
    templates, roots, quals = chord_templates(options.qualities)
    priors = options.quality_log_prior or tuple(DEFAULT_QUALITY_LOG_PRIOR.get(QUALITIES[q].name, -2.0)
                                                for q in options.qualities)
    log_prior = np.asarray(priors)[np.searchsorted(np.asarray(options.qualities), quals)]
    # frames before the first and after the last sounding frame carry no harmony
    active = np.flatnonzero(chroma.sum(axis=1) > 0)
    if len(active) == 0:
        empty = np.zeros(0)
        return Recognition(empty, empty.astype(int), empty.astype(int), empty.astype(int), empty,
                           np.zeros((0, 12)), np.zeros((0, 12)), ())
    lo, hi = active[0], active[-1] + 1
    chroma, bass, starts = chroma[lo:hi], bass[lo:hi], starts[lo:hi]
    emission = _emission_log_likelihood(chroma, bass, templates, roots, options)
    bar_pos = np.mod(starts - downbeat, beats_per_bar)
    half_bar = beats_per_bar / 2 if beats_per_bar % 2 == 0 else beats_per_bar
    strong = np.isclose(np.mod(bar_pos, half_bar), 0.0) | np.isclose(np.mod(bar_pos, half_bar), half_bar)
    cost = np.where(strong, options.strong_change_cost, options.change_cost)
    # the quality prior enters once per chord; paid per frame it would penalise long chords
    path = _viterbi_with_entry_prior(emission, cost, log_prior)
    root, quality = roots[path], quals[path]

    # fit: share of the frame's profile on the chosen chord's tones
    mass = chroma.sum(axis=1)
    on_chord = (chroma * templates[path]).sum(axis=1)
    fit = np.divide(on_chord, mass, out=np.full(len(mass), np.nan), where=mass > 0)

    # runs of one chord -> events; bass = the run's commonest bass if it is a chord tone
    events: list[ChordEvent] = []
    frame_bass = root.copy()
    change = np.flatnonzero(np.diff(path) != 0) + 1
    bounds = np.concatenate(([0], change, [len(path)]))
    for a, b in zip(bounds[:-1], bounds[1:]):
        r, q = int(root[a]), int(quality[a])
        run_bass = bass[a:b].sum(axis=0)
        bass_pc = r
        if run_bass.sum() > 0:
            candidate = int(np.argmax(run_bass))
            if templates[path[a], candidate] > 0:
                bass_pc = candidate
        frame_bass[a:b] = bass_pc
        beats = quantise_half_beats((b - a) * options.frame_beats)
        events.append(ChordEvent(root=r, quality=q, bass=bass_pc, beats=beats))
    return Recognition(starts, root, quality, frame_bass, fit, chroma, bass, tuple(events))


def _viterbi_with_entry_prior(emission: np.ndarray, cost: np.ndarray, log_prior: np.ndarray) -> np.ndarray:
    """Viterbi where a chord's quality prior is paid once on entering it, not on every frame."""
    n, s = emission.shape
    score = emission[0] + log_prior
    back = np.zeros((n, s), dtype=np.int32)
    states = np.arange(s)
    for t in range(1, n):
        best_prev = int(np.argmax(score))
        switch = score[best_prev] - cost[t] + log_prior
        use_switch = switch > score
        use_switch[best_prev] = False
        back[t] = np.where(use_switch, best_prev, states)
        score = np.where(use_switch, switch, score) + emission[t]
    path = np.empty(n, dtype=np.int64)
    path[-1] = int(np.argmax(score))
    for t in range(n - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def quantise_half_beats(beats: float) -> float:
    """Round a duration to the nearest half beat, at least half a beat."""
    return max(0.5, round(beats * 2) / 2)


@dataclass(frozen=True)
class KeyEstimate:
    tonic: int  # tonic pitch class 0..11 (absolute)
    mode: str  # "major" | "minor"
    correlation: float  # Pearson correlation of the best key profile with the clip's profile


def key_correlations(pitch: np.ndarray, duration_s: np.ndarray, profiles: str = DEFAULT_KEY_PROFILES) -> np.ndarray:
    """(2, 12) Pearson correlations of the duration-weighted pitch-class histogram with the major
    (row 0) and minor (row 1) key profile at every tonic 0..11; all zeros for a flat histogram."""
    hist = np.bincount(pitch.astype(np.int64) % PITCH_CLASSES, weights=duration_s, minlength=PITCH_CLASSES)
    out = np.zeros((2, PITCH_CLASSES))
    if hist.std() == 0:
        return out
    for row, profile in enumerate(KEY_PROFILES[profiles]):
        for tonic in range(PITCH_CLASSES):
            out[row, tonic] = float(np.corrcoef(hist, np.roll(np.asarray(profile), tonic))[0, 1])
    return out


def estimate_key(pitch: np.ndarray, duration_s: np.ndarray, profiles: str = DEFAULT_KEY_PROFILES) -> KeyEstimate:
    """Krumhansl-Schmuckler key finding (the best-correlated key profile) over the duration-weighted
    pitch-class histogram, with the profiles KEY_PROFILES[profiles] (ties: major before minor, the
    lower tonic first)."""
    correlations = key_correlations(pitch, duration_s, profiles)
    if not correlations.any():
        return KeyEstimate(0, "major", 0.0)
    row, tonic = np.unravel_index(int(np.argmax(correlations)), correlations.shape)
    return KeyEstimate(tonic=int(tonic), mode=("major", "minor")[row], correlation=float(correlations[row, tonic]))


def normalising_shift(tonic: int, mode: str) -> int:
    """Semitones that move ``tonic`` to C (major) or A (minor)."""
    return (FRAME_TONIC[mode] - tonic) % PITCH_CLASSES
