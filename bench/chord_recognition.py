"""How well models.harmony recognises chords, and what it extracts from EMOPIA.

1. Against human Roman-numeral analyses in music21's corpus (20 Bach chorales analysed in
   RomanText + 48 Monteverdi madrigals): each score is rendered to notes at 120 BPM, the recogniser
   runs on the score's own quarter-note beats, and every quarter is compared with the human label
   sounding at it: root, root + triad quality (major/minor/diminished/augmented), root + full
   vocabulary quality (only beats whose human chord is in the vocabulary), and bass.
   Also: the same with beats *tracked* from the onsets (the EMOPIA situation), and the tracker's
   beat F-measure (+-70 ms) on the scores.
2. On EMOPIA train (and val for the arousal check): vocabulary coverage (share of beats whose
   profile puts >= 80 % of its weight on the tones of the best-scoring chord, per candidate
   vocabulary), events per clip, mean duration, quality use, major share per quadrant against
   the README, and how well the performance features separate arousal.

Run: .venv/bin/python bench/chord_recognition.py [--sweep]   (~1-2 min; --sweep tries option sets)
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import cached_pickle, write_section  # noqa: E402

from models.beats import FRAME_RATE, dp_beats, estimate_tempo, onset_envelope  # noqa: E402
from models.harmony import (  # noqa: E402
    RecognitionOptions, _emission_log_likelihood, frame_profiles, recognise_chords,
)
from models.vocabulary import QUALITIES  # noqa: E402

EMOPIA = ROOT.parent / "shared" / "data" / "emopia"
SECONDS_PER_QUARTER = 0.5  # scores are rendered at 120 BPM
TRIAD = {"maj": "major", "dom7": "major", "maj7": "major", "add9": "major", "min": "minor", "min7": "minor",
         "dim": "diminished", "min7b5": "diminished", "dim7": "diminished", "aug": "augmented",
         "madd9": "minor"}
INTERVALS_TO_QUALITY = {frozenset(q.intervals): i for i, q in enumerate(QUALITIES)}
# Candidate qualities not (yet) in the vocabulary, for the coverage table
# (6 and m6 have the pitch classes of min7 / min7b5 on another root: ambiguous without the bass)
CANDIDATES = {"6": (0, 4, 7, 9), "m6": (0, 3, 7, 9), "maj9": (0, 2, 4, 7, 11), "m9": (0, 2, 3, 7, 10),
              "9": (0, 2, 4, 7, 10), "mmaj7": (0, 3, 7, 11)}


@dataclasses.dataclass
class Piece:
    name: str
    pitch: np.ndarray
    onset: np.ndarray  # seconds
    offset: np.ndarray
    beats: np.ndarray  # quarter-note times (s)
    beats_per_bar: int
    downbeat: int
    labels: list  # per quarter: (root pc, quality index | None, triad name, bass pc) or None


def label_agreement(piece: Piece, transpose: int = 0) -> float:
    """Share of sounding notes (sampled per quarter) that are tones of the human chord label.

    Independent of the recogniser: it checks that an analysis fits its score (some corpus scores
    are transposed or numbered differently from their analyses)."""
    total = hits = 0
    for q, label in enumerate(piece.labels):
        if label is None:
            continue
        t = q * SECONDS_PER_QUARTER + 0.01
        pcs = piece.pitch[(piece.onset <= t) & (piece.offset > t)] % 12
        intervals = QUALITIES[label[1]].intervals if label[1] is not None else (0, 3, 4, 7)
        tones = {(label[0] + transpose + i) % 12 for i in intervals}
        total += len(pcs)
        hits += sum(int(pc) in tones for pc in pcs)
    return hits / max(total, 1)


def fix_transposition(piece: Piece) -> tuple[Piece, float]:
    """Transpose the labels when the score is a transposed edition; returns the piece and its agreement."""
    agreement, shift = max((label_agreement(piece, t), t) for t in range(12))
    if shift == 0 or agreement - label_agreement(piece, 0) < 0.2:
        return piece, label_agreement(piece, 0)
    labels = [None if lab is None else ((lab[0] + shift) % 12, lab[1], lab[2], (lab[3] + shift) % 12)
              for lab in piece.labels]
    return dataclasses.replace(piece, labels=labels), agreement


ALIGNED = 0.7  # label agreement below which an analysis is taken not to fit its score


def load_pieces() -> list[Piece]:
    """The annotated pieces, parsed once by music21 (slow: minutes) and then kept in the user cache."""
    return cached_pickle("bench-annotated-pieces-v1.pickle", _parse_pieces)


def analysis_files() -> list[Path]:
    """music21's RomanText analyses used here: the Bach chorales' and Monteverdi's madrigals'."""
    from music21 import corpus

    corpus_dir = Path(corpus.getWork("bach/bwv269")).parent.parent  # music21/corpus
    return (sorted((corpus_dir / "bach" / "choraleAnalyses").glob("*.rntxt"))
            + sorted((corpus_dir / "monteverdi").glob("*.rntxt")))


def _parse_pieces() -> list[Piece]:
    from music21 import converter, corpus

    pieces = []
    for rn_path in analysis_files():
        try:
            if rn_path.parent.name == "choraleAnalyses":
                bwv = next(line.split(":", 1)[1].strip() for line in rn_path.read_text().splitlines()
                           if line.startswith("BWV:"))
                score = corpus.parse(f"bach/bwv{bwv}")
            else:
                score = converter.parse(rn_path.with_suffix(".mxl"))
            analysis = converter.parse(rn_path, format="romanText")
        except Exception as exc:  # a piece music21 cannot find or parse is left out (and counted)
            print(f"  skipped {rn_path.name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        piece = _piece(rn_path.stem, score, analysis)
        if piece is not None:
            pieces.append(piece)
    return pieces


def _piece(name, score, analysis) -> Piece | None:
    measure_offsets = {m.number: m.offset for m in score.parts[0].getElementsByClass("Measure")}
    flat = score.stripTies().flatten()
    notes = [(float(n.offset), float(n.offset + n.duration.quarterLength), p.midi)
             for n in flat.notes for p in n.pitches if n.duration.quarterLength > 0]
    if not notes or not measure_offsets:
        return None
    arr = np.asarray(notes)
    end_q = int(np.ceil(arr[:, 1].max()))
    chords = []
    for rn in analysis.recurse().getElementsByClass("RomanNumeral"):
        if rn.measureNumber not in measure_offsets:
            continue
        start = measure_offsets[rn.measureNumber] + float(rn.offset)
        root = rn.root().pitchClass
        pcs = frozenset((p.pitchClass - root) % 12 for p in rn.pitches)
        chords.append((start, root, INTERVALS_TO_QUALITY.get(pcs), rn.quality, rn.bass().pitchClass))
    chords.sort(key=lambda c: c[0])
    if not chords:
        return None
    starts = np.asarray([c[0] for c in chords])
    labels = []
    for q in range(end_q):
        i = int(np.searchsorted(starts, q + 1e-6, side="right")) - 1
        labels.append(None if i < 0 else chords[i][1:])
    ts = score.recurse().getElementsByClass("TimeSignature").first()
    bar_q = int(round(ts.barDuration.quarterLength)) if ts is not None else 4
    first_full = min((off for num, off in measure_offsets.items() if num >= 1), default=0.0)
    return Piece(name, arr[:, 2].astype(np.int16), arr[:, 0] * SECONDS_PER_QUARTER, arr[:, 1] * SECONDS_PER_QUARTER,
                 np.arange(end_q + 1) * SECONDS_PER_QUARTER, max(bar_q, 1), int(first_full) % max(bar_q, 1), labels)


def tracked_beats(piece: Piece) -> np.ndarray:
    from models.beats import _extend

    env = onset_envelope(piece.onset, np.full(len(piece.onset), 80), float(piece.offset.max()))
    times = dp_beats(env, estimate_tempo(env)) / FRAME_RATE
    return _extend(times, float(piece.onset.min()), float(piece.offset.max()))


def beat_f_measure(truth: np.ndarray, est: np.ndarray, tol: float = 0.07) -> float:
    truth = truth[truth <= est.max() + tol]
    if len(truth) == 0 or len(est) == 0:
        return 0.0
    hits = sum(np.min(np.abs(est - t)) <= tol for t in truth)
    precision, recall = hits / len(est), hits / len(truth)
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)


def evaluate(pieces: list[Piece], options: RecognitionOptions, *, use_tracked: bool = False) -> dict:
    counts = Counter()
    for piece in pieces:
        beats = tracked_beats(piece) if use_tracked else piece.beats
        rec = recognise_chords(piece.pitch, piece.onset, piece.offset, np.full(len(piece.pitch), 80), beats,
                               beats_per_bar=piece.beats_per_bar, downbeat=piece.downbeat, options=options)
        if len(rec.frame_starts) == 0:
            continue
        frame_times = np.interp(rec.frame_starts, np.arange(len(beats)), beats)
        for q, label in enumerate(piece.labels):
            if label is None:
                continue
            t = q * SECONDS_PER_QUARTER + 1e-6
            f = int(np.searchsorted(frame_times, t, side="right")) - 1
            if f < 0 or f >= len(frame_times):
                root, quality, bass = -1, -1, -1
            else:
                root, quality, bass = int(rec.frame_root[f]), int(rec.frame_quality[f]), int(rec.frame_bass[f])
            h_root, h_quality, h_triad, h_bass = label
            counts["beats"] += 1
            counts["root"] += root == h_root
            counts["bass"] += bass == h_bass
            if h_triad in ("major", "minor", "diminished", "augmented"):
                counts["triad_beats"] += 1
                counts["triad"] += root == h_root and quality >= 0 and TRIAD.get(QUALITIES[quality].name) == h_triad
            if h_quality is not None:
                counts["vocab_beats"] += 1
                counts["full"] += root == h_root and quality == h_quality
    return {
        "pieces": len(pieces), "beats": counts["beats"],
        "root": counts["root"] / max(counts["beats"], 1),
        "triad": counts["triad"] / max(counts["triad_beats"], 1), "triad_beats": counts["triad_beats"],
        "full": counts["full"] / max(counts["vocab_beats"], 1), "vocab_beats": counts["vocab_beats"],
        "bass": counts["bass"] / max(counts["beats"], 1),
    }


def coverage_templates(interval_sets):
    rows, roots = [], []
    for intervals in interval_sets:
        base = np.zeros(12)
        base[list(intervals)] = 1
        for r in range(12):
            rows.append(np.roll(base, r))
            roots.append(r)
    return np.asarray(rows), np.asarray(roots)


def emopia_stats(options: RecognitionOptions) -> tuple[dict, dict]:
    from models.beats import beat_grid
    from models.dataset import emopia_split
    from models.midi_reading import read_midi

    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        train = emopia_split(EMOPIA.parent, "train")
        val = emopia_split(EMOPIA.parent, "val")
    load_s = time.perf_counter() - started
    clips = train.clips
    # cold analysis speed (no cache) on the first 100 train clips
    from models.dataset import load_clip

    cold_started, cold_cpu = time.perf_counter(), time.process_time()
    for clip in clips[:100]:
        load_clip(clip.path, clip.label, use_cache=False)
    cold_ms = (time.perf_counter() - cold_started) / min(len(clips), 100) * 1000
    cpu_ms = (time.process_time() - cold_cpu) / min(len(clips), 100) * 1000
    load_avg = os.getloadavg()[0]
    stats = {"cold_ms": cold_ms, "cpu_ms": cpu_ms, "load_avg": load_avg, "clips": len(clips), "skipped": len(train.skipped) + len(val.skipped), "load_s": load_s,
             "warnings": len(caught)}
    stats["events_per_clip"] = float(np.mean([len(c.events) for c in clips]))
    stats["mean_beats"] = float(np.mean([e.beats for c in clips for e in c.events]))
    q_use = Counter(QUALITIES[e.quality].name for c in clips for e in c.events)
    total = sum(q_use.values())
    stats["quality_share"] = {k: v / total for k, v in q_use.most_common()}
    stats["inversion_share"] = float(np.mean([e.bass != e.root for c in clips for e in c.events]))
    stats["major_share"] = {lab: float(np.mean([c.mode == "major" for c in clips if c.label == lab]))
                            for lab in train.labels}
    stats["tempo_median"] = {lab: float(np.median([c.performance.tempo_bpm for c in clips if c.label == lab]))
                             for lab in train.labels}

    # Coverage: per beat, the chord that best explains the profile (no smoothing) under each vocabulary
    vocabularies = {
        "maj+min (24)": ["maj", "min"],
        "triads+sus (7 qualities)": ["maj", "min", "dim", "aug", "sus2", "sus4"],
        "first 12 qualities (before madd9, 7sus4)": [q.name for q in QUALITIES[:12]],
        f"current ({len(QUALITIES)} qualities)": [q.name for q in QUALITIES],
    }
    by_name = {q.name: q.intervals for q in QUALITIES}
    by_name.update(CANDIDATES)
    vocabularies["current + 6, m6"] = [q.name for q in QUALITIES] + ["6", "m6"]
    vocabularies["current + all 6 candidates"] = [q.name for q in QUALITIES] + list(CANDIDATES)
    fits = {k: [] for k in vocabularies}
    best_counts = Counter()
    smoothed_fit = []
    for clip in clips[::3]:  # every third clip keeps this part quick
        content = read_midi(clip.path)
        grid = beat_grid(content)
        chroma, bass, _ = frame_profiles(content.pitch, content.onset, content.sounding_offset, content.velocity,
                                         grid.times, options)
        active = chroma.sum(axis=1) > 0
        chroma, bass = chroma[active], bass[active]
        mass = chroma.sum(axis=1)
        for name, vocab in vocabularies.items():
            templates, roots = coverage_templates([by_name[n] for n in vocab])
            ll = _emission_log_likelihood(chroma, bass, templates, roots, options)
            best = np.argmax(ll, axis=1)
            fits[name].append((chroma * templates[best]).sum(axis=1) / mass)
            if name == "current + all 6 candidates":
                best_counts.update(vocab[i // 12] for i in best)
        rec = recognise_chords(content.pitch, content.onset, content.sounding_offset, content.velocity, grid.times,
                               beats_per_bar=grid.beats_per_bar, downbeat=grid.downbeat, options=options)
        smoothed_fit.append(rec.frame_fit[~np.isnan(rec.frame_fit)])
    stats["coverage"] = {k: float(np.mean(np.concatenate(v) >= 0.8)) for k, v in fits.items()}
    stats["mean_fit"] = {k: float(np.mean(np.concatenate(v))) for k, v in fits.items()}
    total = sum(best_counts.values())
    stats["best_with_candidates"] = {k: v / total for k, v in best_counts.most_common()}
    sf = np.concatenate(smoothed_fit)
    stats["smoothed_fit_mean"], stats["smoothed_cov"] = float(sf.mean()), float(np.mean(sf >= 0.8))

    # Arousal separation of each performance feature (Cohen's d, high Q1/Q2 vs low Q3/Q4) and a
    # logistic regression trained on train, tested on val.
    from models.performance import PERFORMANCE_FIELDS

    def matrix(folder):
        x = np.asarray([c.performance.as_array() for c in folder.clips])
        y = np.asarray([c.label in ("Q1", "Q2") for c in folder.clips], dtype=float)
        return x, y

    xt, yt = matrix(train)
    xv, yv = matrix(val)
    d = {}
    for j, name in enumerate(PERFORMANCE_FIELDS):
        a, b = xt[yt == 1, j], xt[yt == 0, j]
        d[name] = float((a.mean() - b.mean()) / np.sqrt((a.var() + b.var()) / 2 + 1e-12))
    stats["cohen_d"] = d
    mu, sd = xt.mean(0), xt.std(0) + 1e-9
    zt, zv = (xt - mu) / sd, (xv - mu) / sd
    w, b = np.zeros(zt.shape[1]), 0.0
    for _ in range(3000):
        p = 1 / (1 + np.exp(-(zt @ w + b)))
        w -= 0.1 * (zt.T @ (p - yt) / len(yt) + 1e-3 * w)
        b -= 0.1 * float(np.mean(p - yt))
    stats["arousal_val_acc"] = float(np.mean(((zv @ w + b) > 0) == (yv == 1)))
    stats["val_clips"] = len(val.clips)
    return stats, {}


def sweep(pieces):
    base = RecognitionOptions()
    trials = [("default", base)]
    for field, values in [("frame_beats", [0.5, 2.0]), ("change_cost", [2.0, 3.0, 6.0]),
                          ("strong_change_cost", [1.0, 3.0]), ("evidence", [4.0, 10.0]),
                          ("bass_evidence", [0.5, 2.0]), ("chord_tone_mass", [0.75, 0.92]),
                          ("offbeat_weight", [0.3, 1.0]), ("top_voice_weight", [0.5, 1.0]),
                          ("bass_root_prob", [0.45, 0.75])]:
        for v in values:
            trials.append((f"{field}={v}", dataclasses.replace(base, **{field: v})))
    dev = pieces[::2]
    for name, opts in trials:
        r = evaluate(dev, opts)
        print(f"{name:28s} root {r['root']:.3f} triad {r['triad']:.3f} full {r['full']:.3f} bass {r['bass']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", action="store_true", help="try option sets on half of the pieces (dev)")
    parser.add_argument("--no-emopia", action="store_true", help="skip the EMOPIA part")
    args = parser.parse_args()
    options = RecognitionOptions()
    started = time.perf_counter()
    fixed = [fix_transposition(p) for p in load_pieces()]
    pieces = [p for p, _ in fixed]
    aligned = [p for p, agreement in fixed if agreement >= ALIGNED]
    misfit = sorted(p.name for p, agreement in fixed if agreement < ALIGNED)
    print(f"loaded {len(pieces)} annotated pieces in {time.perf_counter() - started:.1f} s; "
          f"{len(misfit)} analyses do not fit their score: {misfit}", flush=True)
    if args.sweep:
        sweep(aligned)
        return 0
    started = time.perf_counter()
    results = {
        "all pieces (score beats)": evaluate(pieces, options),
        "aligned pieces (score beats)": evaluate(aligned, options),
        "aligned Bach chorales": evaluate([p for p in aligned if p.name.startswith("riemen")], options),
        "aligned Monteverdi madrigals": evaluate([p for p in aligned if p.name.startswith("madrigal")], options),
        "aligned, dev half (options tuned here)": evaluate(aligned[::2], options),
        "aligned, held-out half": evaluate(aligned[1::2], options),
        "aligned (beats tracked from onsets)": evaluate(aligned, options, use_tracked=True),
    }
    eval_s = time.perf_counter() - started
    f_beats = [beat_f_measure(p.beats, tracked_beats(p)) for p in aligned]
    from types import SimpleNamespace

    from models.beats import downbeat_phase

    downbeats = [downbeat_phase(p.beats, SimpleNamespace(pitch=p.pitch, onset=p.onset, offset=p.offset,
                                                         velocity=np.full(len(p.pitch), 80)), p.beats_per_bar)
                 == p.downbeat for p in pieces]
    lines = [
        "Recogniser (models/harmony.py, default RecognitionOptions, one frame per beat, Viterbi smoothing)",
        "against human RomanText analyses in music21's corpus, per quarter-note beat. root+triad: root and",
        "major/minor/diminished/augmented (beats whose human chord has such a triad); full: root and exact",
        "vocabulary quality (beats whose human chord is in the vocabulary). Two chorales are transposed",
        "editions (labels transposed to fit); 'aligned' leaves out the analyses whose labels cover < 70 % of the",
        "sounding notes (the analysis does not fit the score's measures, a corpus mismatch, not a recogniser",
        f"error): {', '.join(misfit) or 'none'}. music21 could not find 2 of the 20 chorale scores.",
        "Frame length chosen by these numbers (dev half): one beat beats half a bar and half a beat.",
        "",
        "| set | pieces | beats | root | root+triad | full quality (beats) | bass |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        lines.append(f"| {name} | {r['pieces']} | {r['beats']} | {r['root']:.1%} | {r['triad']:.1%} | "
                     f"{r['full']:.1%} ({r['vocab_beats']}) | {r['bass']:.1%} |")
    lines += ["", f"Beat tracker (models/beats.py) on the same scores rendered at 120 BPM, no tempo given: "
              f"beat F-measure (+-70 ms) mean {np.mean(f_beats):.3f}, median {np.median(f_beats):.3f} "
              f"(octave errors count as misses); downbeat phase (score beats) right in {sum(downbeats)} of "
              f"{len(downbeats)} pieces. Evaluation time {eval_s:.1f} s."]
    print("\n".join(lines), flush=True)
    if not args.no_emopia and (EMOPIA / "midis").is_dir():
        stats, _ = emopia_stats(options)
        readme = {"Q1": 0.74, "Q2": 0.26, "Q3": 0.38, "Q4": 0.73}
        emo = [
            "", f"EMOPIA train ({stats['clips']} clips; {stats['skipped']} skipped in train+val): "
            f"train+val loaded in {stats['load_s']:.1f} s with the cache as found; without cache "
            f"{stats['cold_ms']:.0f} ms wall / {stats['cpu_ms']:.0f} ms CPU per clip (one process, load average "
            f"{stats['load_avg']:.1f} on the shared machine), i.e. ~{stats['cpu_ms'] * 990 / 1000:.0f} s of CPU for all 990.",
            f"- events per clip {stats['events_per_clip']:.1f}, mean event duration {stats['mean_beats']:.2f} beats, "
            f"inversions {stats['inversion_share']:.1%} of events",
            "- qualities used: " + ", ".join(f"{k} {v:.1%}" for k, v in stats["quality_share"].items()),
            "- major share per quadrant (ours vs README's music21 figure): " + ", ".join(
                f"{k} {v:.0%} vs {readme.get(k, float('nan')):.0%}" for k, v in stats["major_share"].items()),
            "- median tracked tempo per quadrant (BPM): " + ", ".join(
                f"{k} {v:.0f}" for k, v in stats["tempo_median"].items()),
            "- vocabulary coverage (every third train clip, per beat, best chord without smoothing; share of",
            "  beats with >= 80 % of the profile on its tones / mean share on its tones):",
        ]
        for k in stats["coverage"]:
            emo.append(f"  - {k}: {stats['coverage'][k]:.1%} / {stats['mean_fit'][k]:.3f}")
        emo.append("  - best chord's quality with all candidates: " + ", ".join(
            f"{k} {v:.1%}" for k, v in list(stats["best_with_candidates"].items())[:14]))
        emo.append(f"  - after Viterbi smoothing (what the events carry): {stats['smoothed_cov']:.1%} / "
                   f"{stats['smoothed_fit_mean']:.3f}")
        emo.append("- arousal (Q1+Q2 vs Q3+Q4) separation per performance feature, Cohen's d on train: " + ", ".join(
            f"{k} {v:+.2f}" for k, v in stats["cohen_d"].items()))
        emo.append(f"- logistic regression on all performance features, train -> val ({stats['val_clips']} clips): "
                   f"arousal accuracy {stats['arousal_val_acc']:.1%}")
        print("\n".join(emo))
        lines += emo
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    lines += ["", f"`uname -a`: {uname}; nproc {os.cpu_count()}"]
    write_section("Chord recognition and EMOPIA extraction (harmony)", "\n".join(lines), "bench/chord_recognition.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
