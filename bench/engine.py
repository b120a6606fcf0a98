"""The composer engine measured end to end on EMOPIA (train on train, report val).

Next-chord NLL (bits/chord, over the full 12*Q*12 state space) and top-1 of the old demo's windowed
RBM, unigram, bigram/trigram Kneser-Ney and the CRBM (the shipped models/emopia and the same
settings retrained here from scratch); statistics of generated progressions vs real val ones;
music21 key-mode shares; generative emotion classification; notes per second and velocity of the
rendered accompaniment vs the class profile; and speed (compose, load, train,
with the old demo's training measured side by side in the same run).

Run: .venv/bin/python bench/engine.py  (about 15-30 minutes on 2 cores; `make bench` runs it).
Skips with a message when ../shared/data is absent.
"""
from __future__ import annotations

import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from _bootstrap import ROOT  # first: puts the project on sys.path, keeps the models offline
from common import write_section  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
SCRIPT = "bench/engine.py"
GENERATED_PER_CLASS = 50  # progressions of 8 bars generated per class
COMPOSE_REPEATS = 20  # compose timings (median)
# music21 analyze('key') major share of the class's clips, from ../shared/data/README.md
README_MAJOR_SHARE = {"Q1": 0.74, "Q2": 0.26, "Q3": 0.38, "Q4": 0.73}


def log(message: str) -> None:
    print(f"[engine {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def main() -> int:
    if not (DATA / "emopia").is_dir():
        print(f"bench/engine.py: skipped: EMOPIA not found at {DATA / 'emopia'} (see CONTRIBUTING.md, Data)")
        return 0
    import numpy as np

    from models.chord_states import N_QUALITIES, NUM_STATES, state_sequences
    from models.classification import log_likelihoods
    from models.dataset import emopia_split
    from models.next_chord import CRBMNextChord, MixtureNextChord, NextChordMetrics, next_chord_metrics, sequence_log2_probs
    from research.baselines import AddKUnigram, KneserNeyModel, WindowRBM, WindowRBMConfig
    from research.evaluation import grouped_accuracy, music21_mode, progression_statistics, vocabulary_of

    quick = "--quick" in sys.argv  # a smoke run of every part with tiny settings; writes no results
    demo_config = WindowRBMConfig(epochs=1) if quick else WindowRBMConfig()
    n_generated = 3 if quick else GENERATED_PER_CLASS
    compose_repeats = 3 if quick else COMPOSE_REPEATS

    lines: list[str] = []
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    lines += [f"Machine: `{uname}`; nproc {os.cpu_count()}; Python {platform.python_version()}. "
              "All timings below come from this one run, side by side, while other work may share the CPU.", ""]

    started = time.perf_counter()
    train, val = emopia_split(DATA, "train"), emopia_split(DATA, "val")
    log(f"EMOPIA loaded in {time.perf_counter() - started:.1f} s")
    labels = sorted(set(train.labels) | set(val.labels))
    train_by = {c: [clip for clip in train.clips if clip.label == c and clip.events] for c in labels}
    val_clips = [clip for clip in val.clips if clip.events and clip.label in labels]
    train_seqs = [clip.events for clip in train.clips if clip.events]
    val_seqs = [clip.events for clip in val_clips]
    lines += [f"Data: EMOPIA train {len(train_seqs)} clips ({sum(map(len, train_seqs))} chord events), "
              f"val {len(val_seqs)} clips ({sum(map(len, val_seqs))} events); key-normalised chord events from "
              f"models.dataset; states = (root, quality, bass) over 12 x {N_QUALITIES} x 12 = {NUM_STATES}; durations ignored.", ""]

    # -- shipped model set ----------------------------------------------------------------------
    from models.model_folder import default_model_dir, load_model_set

    model_set = load_model_set(default_model_dir())  # tracked in git: a missing one fails the bench
    hyper = dict(model_set.config["hyperparameters"])

    # -- next-chord prediction --------------------------------------------------------------------
    log("next-chord baselines")
    rows = []
    fit_seconds = {}
    baselines = {"old demo RBM (4-event windows, CD-1)": WindowRBM(demo_config), "unigram (add-k, k=0.1)": AddKUnigram(0.1),
                 "bigram (interpolated modified KN)": KneserNeyModel(2),
                 "trigram (interpolated modified KN)": KneserNeyModel(3)}
    for name, model in baselines.items():
        t0 = time.perf_counter()
        model.fit(train_seqs)
        fit_seconds[name] = time.perf_counter() - t0
        m = next_chord_metrics(model, val_seqs)
        rows.append((name, m, "pooled train clips (class unknown)"))
        log(f"  {name}: {m.bits_per_chord:.3f} bits, top-1 {m.top1_accuracy:.3f}")
    per_class_tri = {c: KneserNeyModel(3).fit([clip.events for clip in train_by[c]]) for c in labels}
    m = next_chord_metrics(MixtureNextChord(per_class_tri), val_seqs)
    rows.append(("trigram KN per class, Bayesian mixture", m, "class unknown"))

    def class_known(models) -> "NextChordMetrics":
        """Next-chord metrics when each val clip is scored by its own class's model (the label is known)."""
        parts = [next_chord_metrics(models[c.label], [c.events]) for c in val_clips]
        n = sum(k.events for k in parts)
        return NextChordMetrics(sum(k.bits_per_chord * k.events for k in parts) / n,
                                sum(k.top1_accuracy * k.events for k in parts) / n, n)

    rows.append(("trigram KN, the clip's own class", class_known(per_class_tri), "class known (oracle)"))
    log("shipped CRBM next-chord")
    shipped = {c: CRBMNextChord(model_set.crbm(c), f"CRBM {c}") for c in model_set.class_names}
    rows.append(("CRBM, shipped models/emopia, Bayesian mixture of the class CRBMs",
                 next_chord_metrics(MixtureNextChord(shipped), val_seqs), "class unknown"))
    rows.append(("CRBM, shipped, the clip's own class CRBM", class_known(shipped), "class known (oracle)"))

    # -- speed: train every class from scratch, the CRBM and the old demo side by side --------------
    train_rows = []
    train_total = demo_total = None
    try:
        from models.crbm import CHORD_LAYOUT, ConditionalRBM
        from models.training import TrainingConfig, train_class_models

        fields = {f.name for f in dataclasses.fields(TrainingConfig)}
        config = TrainingConfig(**{k: v for k, v in hyper.items() if k in fields})
        if quick:
            config = dataclasses.replace(config, epochs=1, pretrain_epochs=min(1, getattr(config, "pretrain_epochs", 0)))
        hyper = config.to_json()
        log(f"training every class from scratch: {config}")
        t0 = time.perf_counter()
        class_models = train_class_models(train_by, config)
        train_total = time.perf_counter() - t0
        demo_total = 0.0
        for c in labels:
            t0 = time.perf_counter()
            WindowRBM(demo_config).fit([clip.events for clip in train_by[c]])
            demo_s = time.perf_counter() - t0
            demo_total += demo_s
            train_rows.append((c, class_models[c].n_events, class_models[c].report.seconds, demo_s))
            log(f"  {c}: CRBM {class_models[c].report.seconds:.1f} s, old demo RBM {demo_s:.1f} s")
        retrained = {c: CRBMNextChord(ConditionalRBM.from_weights(CHORD_LAYOUT, m.weights), f"CRBM {c} retrained")
                     for c, m in class_models.items()}
        rows.append(("CRBM, retrained here with the same settings, Bayesian mixture",
                     next_chord_metrics(MixtureNextChord(retrained), val_seqs), "class unknown"))
        rows.append(("CRBM, retrained here, the clip's own class CRBM", class_known(retrained), "class known (oracle)"))
    except Exception as exc:  # noqa: BLE001
        log(f"CRBM training not measured: {exc!r}")
        lines.append(f"CRBM training not measured: {exc!r}")
    # Generation, classification and the composer use the shipped set.
    used_set, used_name = model_set, "shipped models/emopia"

    lines += ["### Next-chord prediction on EMOPIA val (every chord of every clip, the first included)", "",
              "| model | bits/chord | top-1 | conditioning |", "|---|---|---|---|"]
    lines += [f"| {name} | {m.bits_per_chord:.3f} | {pct(m.top1_accuracy)} | {cond} |" for name, m, cond in rows]
    lines += ["", f"Uniform over the {NUM_STATES} states: {np.log2(NUM_STATES):.3f} bits. CRBM training settings (the shipped config.json's, used for the retraining): "
              f"`{json.dumps(hyper)}`." if hyper else "", ""]

    # -- generated progressions -------------------------------------------------------------------
    vocabulary = vocabulary_of(train_seqs)
    generated: dict[str, list] = {}
    try:
        from models.generation import GenerationOptions, generate

        log("generating progressions")
        for c in used_set.class_names:
            generated[c] = [generate(used_set, {c: 1.0}, GenerationOptions(bars=8), seed=i)
                            for i in range(n_generated)]
    except Exception as exc:  # noqa: BLE001
        log(f"generation not measured: {exc!r}")
        lines.append(f"Generated-progression statistics not measured: {exc!r}")
    if generated:
        lines += [f"### Generated progressions (models.generation, {used_name}; 8 bars, seeds 0..{n_generated - 1} per class) vs real val clips",
                  "", "vocabulary = the chord states seen in the training events; diatonic = every pitch class in "
                  "the mode's scale (minor: natural or harmonic); cadence = last chord the tonic triad, preceded by "
                  "V, V7, vii(o) or IV/iv.", "",
                  "| class | source | progressions | chords | in vocabulary | diatonic | immediate repeats | ends on a cadence | major (model's mode) |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for c in labels:
            real = [(clip.events, clip.mode) for clip in val_clips if clip.label == c]
            for source, progs in (("generated", [(g.events, g.mode) for g in generated.get(c, [])]), ("real val", real)):
                if not progs:
                    continue
                s = progression_statistics(progs, vocabulary)
                lines.append(f"| {c} | {source} | {s.progressions} | {s.chords} | {pct(s.vocabulary_share)} | "
                             f"{pct(s.diatonic_share)} | {pct(s.repeat_share)} | {pct(s.cadence_share)} | {pct(s.major_share)} |")
        lines.append("")
        log("music21 key analysis")
        lines += ["### Key mode (music21 `analyze('key')` on the chords rendered as block chords)", "",
                  "| class | generated: major by music21 | training clips' chords: major by music21 | training clips: "
                  "major by models.dataset's key | README (music21 on the MIDI notes) | generated vs README |",
                  "|---|---|---|---|---|---|"]
        for c in labels:
            gen = [music21_mode(g.events) == "major" for g in generated.get(c, [])]
            clips = train_by[c]
            real_m21 = [music21_mode(clip.events) == "major" for clip in clips]
            ds = [clip.mode == "major" for clip in clips]
            g = float(np.mean(gen)) if gen else None
            ref = README_MAJOR_SHARE.get(c)
            diff = "n/a" if g is None or ref is None else f"{100 * (g - ref):+.0f} points"
            lines.append(f"| {c} | {pct(g)} | {pct(float(np.mean(real_m21)))} | {pct(float(np.mean(ds)))} | "
                         f"{pct(ref)} | {diff} |")
        lines.append("")

    # -- classification ----------------------------------------------------------------------------
    log("classification")
    scores = [log_likelihoods(used_set, clip.events, clip.performance, clip.mode) for clip in val_clips]
    truth = [clip.label for clip in val_clips]
    tri_scores = []
    for clip in val_clips:
        row = {}
        for c, model in per_class_tri.items():
            states = state_sequences([clip.events])[0]
            row[c] = float(sequence_log2_probs(model, states)[np.arange(states.size), states].sum() * np.log(2))
        tri_scores.append(row)
    lines += [f"### Generative emotion classification of the val clips ({used_name}; uniform class prior)", "",
              "| features | 4 classes | valence (Q1+Q4 vs Q2+Q3) | arousal (Q1+Q2 vs Q3+Q4) |", "|---|---|---|---|"]
    for name, rows_ in (("harmony (class CRBMs: chords + rhythm + mode)", [{c: s.harmony for c, s in r.items()} for r in scores]),
                        ("performance (class Gaussian profiles)", [{c: s.performance for c, s in r.items()} for r in scores]),
                        ("combined (models.classification.combined_scores: quadrant classes read valence from harmony, arousal from performance)", [{c: s.combined for c, s in r.items()} for r in scores]),
                        ("harmony, trigram KN per class (baseline)", tri_scores)):
        acc = grouped_accuracy(truth, rows_)
        lines.append(f"| {name} | {pct(acc.four_class)} | {pct(acc.valence)} | {pct(acc.arousal)} |")
    lines += ["", f"{len(val_clips)} val clips; chance: 4 classes 25 %, valence/arousal 50 %.", ""]

    # -- composer: rendered performance and speed -------------------------------------------------------
    try:
        from assistant.composer import Composer
        from assistant.mood import MusicalSettings

        composer = Composer(used_set)
        lines += [f"### Rendered accompaniment (assistant.composer with {used_name}, 8 bars, {compose_repeats} seeds per class) vs the class's training clips",
                  "", "| class | notes/s rendered (median) | notes/s clips (median) | velocity rendered (mean) | velocity clips (mean) |",
                  "|---|---|---|---|---|"]
        for c in used_set.class_names:
            nps, vel = [], []
            for seed in range(compose_repeats):
                result = composer.compose({c: 1.0}, MusicalSettings(bars=8), seed=seed)
                score = result.score
                nps.append(len(score.notes) / score.length_seconds())
                vel.append(float(np.mean([n.velocity for n in score.notes])))
            clips = train_by.get(c, [])
            clip_nps = statistics.median(x.performance.notes_per_second for x in clips) if clips else None
            clip_vel = float(np.mean([x.performance.mean_velocity for x in clips])) if clips else None
            lines.append(f"| {c} | {statistics.median(nps):.1f} | {clip_nps:.1f} | {np.mean(vel):.0f} | {clip_vel:.0f} |")
        lines.append("")
        times = []
        for seed in range(compose_repeats + 1):
            t0 = time.perf_counter()
            composer.compose({used_set.class_names[seed % len(used_set.class_names)]: 1.0}, MusicalSettings(bars=8), seed=seed)
            times.append(time.perf_counter() - t0)
        compose_ms = 1000 * statistics.median(times[1:])  # the first call traces the TF functions
        first_ms = 1000 * times[0]
    except Exception as exc:  # noqa: BLE001
        log(f"composer not measured: {exc!r}")
        lines.append(f"Composer not measured: {exc!r}")
        compose_ms = first_ms = None

    t0 = time.perf_counter()
    fresh = load_model_set(default_model_dir())
    for c in fresh.class_names:
        fresh.crbm(c)
    load_ms = 1000 * (time.perf_counter() - t0)

    # JSB chorales: bench/jsb.py (its own section)

    # -- speed table ------------------------------------------------------------------------------------
    lines += ["### Speed", "", "| what | time |", "|---|---|"]
    if compose_ms is not None:
        lines.append(f"| compose 8 bars (assistant.composer, median of {compose_repeats}; first call {first_ms:.0f} ms) | {compose_ms:.0f} ms |")
    lines.append(f"| load all class models (load_model_set + build every class CRBM) | {load_ms:.0f} ms |")
    for name, seconds in fit_seconds.items():
        lines.append(f"| fit {name} on all train events | {seconds:.1f} s |")
    if train_rows:
        for c, events, crbm_s, demo_s in train_rows:
            lines.append(f"| train class {c} ({events} events): class CRBM (after the pooled pre-training) / old demo RBM / ratio | "
                         f"{crbm_s:.1f} s / {demo_s:.1f} s / {crbm_s / demo_s:.2f}x |")
        lines.append(f"| train all classes from scratch (models.training.train_class_models: pooled pre-training, class "
                     f"CRBMs, side models) / old demo RBM per class / ratio | {train_total:.1f} s / {demo_total:.1f} s / "
                     f"{train_total / demo_total:.2f}x |")
    lines.append("")
    if quick:
        print("\n".join(lines))
        log("quick run: bench/RESULTS.md not written")
        return 0
    write_section("Composer engine: CRBM vs baselines, generation, classification, speed", "\n".join(lines), SCRIPT)
    print("\n".join(lines))
    log("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
