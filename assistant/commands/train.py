"""``moodchords train``: train one CRBM per emotion class (+ performance profiles, rhythm) and
write the model folder with its MODEL_CARD.md.

EMOPIA (a folder with train_clip.csv / val_clip.csv, or its parent): the official split, train
on train, report val. Any other folder of MIDI files: label from the file-name prefix
("Q1_xxx.mid" -> "Q1") or from --labels CSV (file,label); all clips train, no validation numbers.

POP909 (--pop909, default ../shared/data/pop909 beside the project when it is there): songs 001-700
train the pop expert (a CRBM of the class CRBMs' shape that generation multiplies in) and the
harmonic rhythm; unreadable songs are skipped with a warning naming the file.
"""
from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path


MAX_CV_FOLDS = 20  # each fold trains every class model once more


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("train", help="train the emotion-class chord models from labelled MIDI files",
                                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="EMOPIA folder (with train_clip.csv) or a folder of labelled MIDI files")
    parser.add_argument("--out", required=True, help="model folder to write: a new path, an empty folder or an earlier model folder (replaced atomically)")
    parser.add_argument("--labels", default=None, help="CSV with columns file,label (instead of file-name prefixes)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per class model (default: the tuned value)")
    parser.add_argument("--pretrain-epochs", type=int, default=None,
                        help="epochs of the pooled all-class CRBM every class model starts from (0: none)")
    parser.add_argument("--hidden", type=int, default=None, help="hidden units per CRBM")
    parser.add_argument("--history", type=int, default=None, help="previous chords the CRBM conditions on")
    parser.add_argument("--joint-history", type=int, default=None,
                        help="most recent chords also given to the CRBM as the one-hot of their joint state (0: none)")
    parser.add_argument("--joint-weight-decay", type=float, default=None,
                        help="L2 coefficient on the joint-state weights (default: the general weight decay)")
    parser.add_argument("--method", choices=("cd", "pcd", "exact"), default=None, help="learning rule")
    parser.add_argument("--k", type=int, default=None, help="Gibbs steps for CD-k / PCD")
    parser.add_argument("--pop909", default=None,
                        help="POP909 folder (songs 001-700 train the pop expert and the harmonic rhythm; "
                             "default: ../shared/data/pop909 beside the project when present)")
    parser.add_argument("--no-pop909", action="store_true", help="train without POP909 (no pop expert, older rhythm)")
    parser.add_argument("--pop-epochs", type=int, default=None, help="epochs of the POP909 pop expert (default: the tuned value)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv-folds", type=int, default=None,
                        help="folds for choosing the harmony weight when the classes are not Russell quadrants "
                             "(default 3; 0: weight 1); quadrant classes such as EMOPIA's have nothing to choose")
    parser.add_argument("--checkpoints", default=None,
                        help="checkpoint folder, kept afterwards (default: .OUT.checkpoints beside OUT, removed on success)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoints of an interrupted run")
    parser.set_defaults(handler=run)


def _emopia_root(data: Path) -> Path | None:
    for candidate in (data, data / "emopia"):
        if (candidate / "train_clip.csv").is_file() and (candidate / "midis").is_dir():
            return candidate
    return None


def default_pop909() -> Path | None:
    """../shared/data/pop909 beside the project (where the shared data lives), when it is there."""
    folder = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "pop909"
    return folder if folder.is_dir() else None


def run(args: argparse.Namespace) -> int:
    """Train (see _train); a progress bar still on the terminal is closed first when training
    stops with an error, so the error line starts on a line of its own."""
    bars: list = []
    try:
        return _train(args, bars)
    except BaseException:
        for bar in bars:
            bar.close()  # ends the bar's line (the bar stays, showing where training stopped)
        raise


def check_cross_validation_folds(clips_by_label: dict, folds: int, seed: int) -> None:
    """InvalidModelInput naming the class, its usable files and what is needed when a
    cross-validation fold would leave a class without training files (e.g. one file per class)."""
    from models.errors import InvalidModelInput
    from models.classification import song_folds, song_of

    all_clips = [c for label in sorted(clips_by_label) for c in clips_by_label[label]]
    fold_of = song_folds(all_clips, folds, seed)
    for label, clips in sorted(clips_by_label.items()):
        songs = {song_of(c) for c in clips}
        folds_used = {fold_of[s] for s in songs}
        if len(folds_used) < 2:
            names = ", ".join(sorted(Path(c.path).name for c in clips)[:5]) + (", ..." if len(clips) > 5 else "")
            raise InvalidModelInput(
                f"class {label!r} has {len(clips)} usable MIDI file(s) from {len(songs)} song(s) ({names}); "
                f"--cv-folds {folds} holds out every song once, so each class needs usable files from at least "
                f"2 songs that land in different folds (in practice {folds} or more songs per class; clips named "
                f"<label>_<song>_<n>.mid share a song); add files or pass --cv-folds 0")


def _train(args: argparse.Namespace, bars: list) -> int:
    import os
    from dataclasses import replace

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from tqdm import tqdm

    from models.tf_runtime import tf

    tf.get_logger().setLevel("ERROR")
    from models.crbm import CHORD_LAYOUT
    from models.dataset import emopia_split, load_folder
    from models.errors import InvalidModelInput
    from models.atomic_files import write_text_atomic
    from models.classification import classification_accuracy, quadrant_signs, score_clips
    from models.emotion_classes import EMOPIA_CLASSES
    from models.emotion_classes import class_info as info_of
    from models.model_folder import CARD_FILE, check_output_folder, model_set_from_class_models, save_model_set
    from models.training import TrainingConfig, choose_harmony_weight, default_strategy, train_class_models

    started = time.perf_counter()
    data, out = Path(args.data), Path(args.out)
    check_output_folder(out)  # before any training: never destroy what is at --out
    config = TrainingConfig.for_chords()
    overrides = {k: v for k, v in (("epochs", args.epochs), ("n_hidden", args.hidden), ("history", args.history),
                                   ("joint_history", args.joint_history),
                                   ("joint_weight_decay", args.joint_weight_decay),
                                   ("method", args.method), ("k", args.k),
                                   ("pretrain_epochs", args.pretrain_epochs)) if v is not None}
    config = replace(config, seed=args.seed, **overrides).validate()

    # counts in per mille for smooth updates, shown as a percentage and times only (a count of
    # "66/1000" and a rate in per mille a second mean nothing to a user)
    bar = tqdm(total=1000, dynamic_ncols=True, file=sys.stderr, mininterval=0.5,
               bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed} elapsed, ~{remaining} left")
    bars.append(bar)

    def progress(message: str, fraction: float) -> None:
        bar.set_description(message[:60], refresh=False)
        bar.update(int(1000 * min(max(fraction, 0.0), 1.0)) - bar.n)  # redraws at most every mininterval

    def load_progress(stage: str):
        return lambda m, f: progress(f"{stage}: {m}", f)

    pop909 = None if args.no_pop909 else (Path(args.pop909) if args.pop909 else default_pop909())
    if pop909 is not None and not pop909.is_dir():
        raise InvalidModelInput(f"--pop909 {pop909} is not a folder; allowed: the POP909 folder (001/ ... 909/, index.csv)")
    if args.pop_epochs is not None and not 1 <= args.pop_epochs <= 10_000:
        raise InvalidModelInput(f"--pop-epochs {args.pop_epochs} not allowed; allowed: 1..10000")
    if args.cv_folds is not None and not 0 <= args.cv_folds <= MAX_CV_FOLDS:
        raise InvalidModelInput(f"--cv-folds {args.cv_folds} not allowed; allowed: 0..{MAX_CV_FOLDS} (0 or 1: no cross-validation)")

    corpus = None
    if pop909 is not None:  # read first: a POP909 without one readable song stops before any training
        from models.pop909 import TRAIN_SONGS, load_pop909

        pop_started = time.perf_counter()
        corpus = load_pop909(pop909, TRAIN_SONGS, workers=max(1, min(4, os.cpu_count() or 1)),
                             progress=load_progress("loading POP909"))
        read_seconds = time.perf_counter() - pop_started
        if corpus.skipped:
            bar.clear()
            shown = "; ".join(reason for _, reason in corpus.skipped[:3])
            more = f" (and {len(corpus.skipped) - 3} more)" if len(corpus.skipped) > 3 else ""
            print(f"warning: skipped {len(corpus.skipped)} POP909 song(s): {shown}{more}", file=sys.stderr)

    emopia = _emopia_root(data)
    if emopia is not None:
        train = emopia_split(emopia, "train", progress=load_progress("loading train"))
        val = emopia_split(emopia, "val", progress=load_progress("loading val"))
        class_info = info_of(EMOPIA_CLASSES)
        data_info = {"name": "EMOPIA 1.0", "folder": str(data), "train_split": "train_clip.csv", "val_split": "val_clip.csv",
                     "license": "CC BY-NC-SA 4.0",
                     "citation": "Hung, Ching, Doh, Kim, Nam, Yang: EMOPIA: A Multi-Modal Pop Piano Dataset For "
                                 "Emotion Recognition and Emotion-based Music Generation, ISMIR 2021"}
    else:
        train = load_folder(data, labels_csv=args.labels, progress=load_progress("loading"))
        val = None
        class_info = {}
        data_info = {"name": data.name, "folder": str(data), "labels": args.labels or "file-name prefix",
                     "license": "as given by the data's owner"}
    clips_by_label: dict[str, list] = {}
    for clip in train.clips:
        if clip.label and clip.events:
            clips_by_label.setdefault(clip.label, []).append(clip)
    if not clips_by_label:
        raise InvalidModelInput(f"no labelled MIDI clip with chords in {data}; label files as <label>_name.mid or pass --labels CSV")
    config.validate(n_models=len(clips_by_label))  # the folder must load: its parameter budget
    beats_per_bar = int(round(sum(c.beats_per_bar for c in train.clips) / len(train.clips)))
    data_info.update({"train_clips": sum(len(v) for v in clips_by_label.values()),
                      "skipped_files": len(train.skipped),
                      "clips_per_class": {k: len(v) for k, v in sorted(clips_by_label.items())}})

    def build(models, **extra):
        return model_set_from_class_models(name=out.name, layout=CHORD_LAYOUT.to_json(), hyperparameters=config.to_json(),
                                           class_models=models, beats_per_bar=beats_per_bar, class_info=class_info, **extra)

    # Quadrant classes: valence is read from the harmony and arousal from the performance, and nothing
    # is fitted. The harmony weight only breaks ties, and a valence bias fitted by CV cost accuracy in a
    # nested CV on EMOPIA train (bench/classifier_committee.py), so the CV would only cost time.
    quadrants = bool(class_info) and quadrant_signs(
        [class_info.get(label, (label, None, None))[1:] for label in sorted(clips_by_label)]) is not None
    if quadrants and args.cv_folds:
        bar.clear()
        print(f"note: --cv-folds {args.cv_folds} not used: quadrant classes leave the classifier nothing to choose",
              file=sys.stderr)
    cv_folds = 0 if quadrants else (3 if args.cv_folds is None else args.cv_folds)
    if cv_folds > 1:
        check_cross_validation_folds(clips_by_label, cv_folds, config.seed)
    strategy = default_strategy()  # several GPUs / machines when present; this CPU: the default strategy
    stages = 2 if cv_folds > 1 else 1
    harmony_weight, cv_table = 1.0, {}
    if cv_folds > 1:
        harmony_weight, cv_table, _ = choose_harmony_weight(
            clips_by_label, config, folds=cv_folds, beats_per_bar=beats_per_bar, strategy=strategy,
            progress=lambda m, f: progress(m, 0.5 * f), class_info=class_info or None)
    # Default checkpoints sit beside the output (hidden) and are removed once the folder is written.
    checkpoints = Path(args.checkpoints) if args.checkpoints else out.parent / f".{out.name}.checkpoints"
    models = train_class_models(clips_by_label, config, checkpoint_dir=checkpoints, resume=args.resume, strategy=strategy,
                                beats_per_bar=beats_per_bar,
                                progress=lambda m, f: progress(m, (stages - 1 + f) / stages))
    pop_expert, pop_notes = None, None
    if corpus is not None:
        from models.training import POP_EXPERT_EPOCHS, POP_EXPERT_METHOD, POP_EXPERT_SETTINGS, train_pop_expert

        pop_epochs = args.pop_epochs or POP_EXPERT_EPOCHS
        pop_expert = train_pop_expert(corpus.songs, config, epochs=pop_epochs, strategy=strategy,
                                      progress=lambda m, f: progress(f"pop expert {m}", f))
        pop_notes = {"data": "POP909 (Wang et al., ISMIR 2020)", "license": "MIT", "folder": str(pop909),
                     "songs": "001-700", "songs_read": pop_expert.n_songs,
                     "songs_skipped": [song for song, _ in corpus.skipped], "chords": pop_expert.n_chords,
                     "epochs": pop_epochs, "method": POP_EXPERT_METHOD, "settings": dict(POP_EXPERT_SETTINGS),
                     "seconds_reading": round(read_seconds, 1), "seconds_training": round(pop_expert.report.seconds, 1),
                     "seconds_rhythm": round(pop_expert.rhythm_seconds, 2)}
    classification = {"harmony_weight": harmony_weight, "cv_folds": cv_folds,
                      "cv_accuracy_by_weight": {str(k): round(v, 4) for k, v in cv_table.items()}}
    validation: dict = {}
    model_set = build(models, classification=classification, training_data=data_info,
                      pop_expert=None if pop_expert is None else (pop_expert.weights, pop_notes),
                      harmonic_rhythm=None if pop_expert is None else pop_expert.harmonic_rhythm)
    if val is not None:
        progress("validating", 1.0)
        val_by_label: dict[str, list] = {}
        for clip in val.clips:
            if clip.label in models and clip.events:
                val_by_label.setdefault(clip.label, []).append(clip)
        from models.chord_states import state_sequences
        from models.classification import ClassScorer, ScoredNextChord
        from models.next_chord import MixtureNextChord, next_chord_metrics

        # every val chord under every class CRBM in one pass (exact), read by each class and by the mixture
        val_events = [c.events for cs in val_by_label.values() for c in cs]
        predictors = ScoredNextChord.for_classes(ClassScorer(model_set), model_set.class_names, state_sequences(val_events))
        per_class, total_bits, total_hits, total_n = {}, 0.0, 0.0, 0
        for label, clips in sorted(val_by_label.items()):
            scores = next_chord_metrics(predictors[label], [c.events for c in clips])
            per_class[label] = {"nll_bits_per_chord": round(scores.bits_per_chord, 4),
                                "top1_accuracy": round(scores.top1_accuracy, 4), "chords": scores.events}
            total_bits += scores.bits_per_chord * scores.events
            total_hits += scores.top1_accuracy * scores.events
            total_n += scores.events
        clip_scores = score_clips(model_set, [c for cs in val_by_label.values() for c in cs])
        # Class unknown: the Bayesian mixture of the class CRBMs (the posterior over classes follows the chords).
        mixture = next_chord_metrics(MixtureNextChord({label: predictors[label] for label in models}), val_events)
        validation = {
            "split": "EMOPIA val_clip.csv", "clips": int(len(clip_scores.truth)),
            "nll_bits_per_chord": round(total_bits / total_n, 4), "top1_accuracy": round(total_hits / total_n, 4),
            "per_class": per_class,
            "mixture_nll_bits_per_chord": round(mixture.bits_per_chord, 4),
            "mixture_top1_accuracy": round(mixture.top1_accuracy, 4),
            "classification": {
                "harmony_only": classification_accuracy(clip_scores, class_info, part="harmony"),
                "performance_only": classification_accuracy(clip_scores, class_info, part="performance"),
                "combined": classification_accuracy(clip_scores, class_info, harmony_weight=harmony_weight),
            },
        }
    training_seconds = time.perf_counter() - started
    model_set.config["validation"] = validation
    model_set.config["training_data"]["seconds"] = round(training_seconds, 1)
    model_set.config["training_data"]["strategy"] = f"{type(strategy).__name__} ({strategy.num_replicas_in_sync} replicas)"
    save_model_set(model_set, out)
    command = "moodchords train " + " ".join(shlex.quote(a) for a in sys.argv[2:]) if len(sys.argv) > 2 else \
        f"moodchords train --data {shlex.quote(str(data))} --out {shlex.quote(str(out))}"
    write_text_atomic(out / CARD_FILE, model_card(model_set.config, command))
    if not args.checkpoints:
        import shutil

        shutil.rmtree(checkpoints, ignore_errors=True)
    bar.close()
    print(f"wrote {out} ({len(models)} classes, {training_seconds:.0f} s)")
    if pop_expert is not None:
        print(f"pop expert: {pop_expert.n_songs} POP909 songs, {pop_expert.n_chords} chords, "
              f"{pop_expert.report.final_epoch} epochs, {pop_expert.report.seconds:.0f} s")
    if validation:
        c = validation["classification"]["combined"]
        print(f"val: {validation['nll_bits_per_chord']:.3f} bits/chord own class, "
              f"{validation['mixture_nll_bits_per_chord']:.3f} class mixture, top-1 {validation['top1_accuracy']:.3f}, "
              f"classes {c['classes']:.3f}" + (f", valence {c['valence']:.3f}, arousal {c['arousal']:.3f}" if "valence" in c else ""))
    return 0


def model_card(config: dict, command: str) -> str:
    """The MODEL_CARD.md text for a model folder's config."""
    from models.classification import quadrant_signs

    data = config.get("training_data", {})
    hp = config["hyperparameters"]
    val = config.get("validation") or {}
    classification = config.get("classification", {})
    quadrants = quadrant_signs([(c.get("valence"), c.get("arousal")) for c in config["classes"]]) is not None
    lines = [
        f"# Model card: {config['name']} (moodchords conditional RBMs, one per emotion class)", "",
        "## What it is",
        "One conditional RBM (Taylor & Hinton) per emotion class over key-normalised chord events "
        "(softmax groups: root relative to the key, chord quality, bass interval above the root; "
        f"{config['layout']['group_sizes']} -> all states enumerable, exact likelihood and sampling), "
        f"conditioned on the previous {hp['history']} chords (root, quality and bass one-hots feeding the visible and hidden "
        f"biases through directed weights" + (f", plus the joint one-hot of the last {hp['joint_history']} chord state(s)"
                                             if hp.get("joint_history") else "") + "); beside each, a Gaussian performance profile, a harmonic-rhythm "
        "table (chord durations given the position in the bar) and the share of major-key clips. "
        "Generation samples from the weighted product of the class experts"
        + (f", times a pop expert: a CRBM of the same shape trained on POP909 ({config['pop_expert'].get('epochs')} epochs, "
           f"{config['pop_expert'].get('method')} learning rule"
           + "".join(f", {k} = {v}" for k, v in (config['pop_expert'].get('settings') or {}).items())
           + "), on a harmonic rhythm (chord lengths given the metre, "
           "tempo, beat in the bar and bar in a 4-bar phrase) fitted on POP909" if config.get("pop_expert") else "")
        + ".", "",
        "## Training data",
        f"- {data.get('name', '?')} ({data.get('folder', '')}): {data.get('train_clips', '?')} training clips "
        f"{data.get('clips_per_class', {})}; {data.get('skipped_files', 0)} files skipped.",
        f"- License of the data: **{data.get('license', '?')}**" + (
            "; models trained on it inherit its terms (attribution, non-commercial, share-alike)." if "BY-NC-SA" in data.get("license", "") else "."),
    ]
    if data.get("citation"):
        lines.append(f"- Cite: {data['citation']}.")
    pop = config.get("pop_expert")
    if pop:
        skipped = pop.get("songs_skipped") or []
        lines.append(f"- {pop.get('data', 'POP909')} ({pop.get('folder', '')}), songs {pop.get('songs', '001-700')} "
                     f"({pop.get('songs_read', '?')} read, {len(skipped)} skipped{': ' + ', '.join(skipped) if skipped else ''}; "
                     f"{pop.get('chords', '?')} chords): the pop expert and the harmonic rhythm (`pop_expert.npz`, "
                     f"`harmonic_rhythm.json`). License of the data: **{pop.get('license', 'MIT')}**. Songs 701-800 choose "
                     "settings; 801-909 are never used.")
    if data.get("train_split"):
        lines.append(f"- Split: trained on `{data['train_split']}` only; settings chosen and numbers below on `{data['val_split']}`"
                     " (the official test split was never used).")
    lines += ["", "## Classes", "| class | description | valence | arousal | clips | chord events | major share |", "|---|---|---|---|---|---|---|"]
    for c in config["classes"]:
        lines.append(f"| {c['name']} | {c['description']} | {c['valence']} | {c['arousal']} | {c['n_clips']} | {c['n_events']} | {c['major_share']:.2f} |")
    lines += ["", "## Hyperparameters", "```", *(f"{k} = {v}" for k, v in hp.items()),
              f"harmony_weight (classification) = {classification.get('harmony_weight')} " + (
                  "(not fitted: with quadrant classes valence is read from the harmony and arousal from the "
                  "performance, and the weight only breaks ties)" if quadrants else
                  f"(chosen by {classification.get('cv_folds')}-fold song-grouped CV on train)"),
              *([f"valence_bias_per_chord (classification, nats) = {classification['valence_bias_per_chord']} "
                 "(added per chord to the positive-valence classes' harmony score)"]
                if classification.get("valence_bias_per_chord") else []),
              f"performance features scored by the classifier = {config['classification'].get('performance_features')}",
              "```", ""]
    if val:
        cls = val["classification"]
        lines += ["## Validation (EMOPIA val split)",
                  f"- Exact next-chord NLL: **{val['nll_bits_per_chord']:.3f} bits per chord** (each class model on its own "
                  f"class's val clips; {sum(p['chords'] for p in val['per_class'].values())} chords); top-1 next-chord accuracy "
                  f"**{val['top1_accuracy']:.3f}**.",
                  *([f"- Class unknown (Bayesian mixture of the class models, uniform prior): **{val['mixture_nll_bits_per_chord']:.3f} "
                     f"bits per chord**, top-1 {val['mixture_top1_accuracy']:.3f}."] if "mixture_nll_bits_per_chord" in val else []),
                  "- Per class: " + ", ".join(f"{k} {v['nll_bits_per_chord']:.3f} bits / top-1 {v['top1_accuracy']:.3f}"
                                             for k, v in val["per_class"].items()),
                  f"- Generative classification of {val['clips']} val clips (argmax over classes):", "",
                  "| scores used | 4 classes | valence | arousal |", "|---|---|---|---|"]
        for key, title in (("harmony_only", "harmony only (CRBM chords + rhythm + mode)"), ("performance_only", "performance profile only"),
                           ("combined", "combined (quadrant classes: valence from harmony, arousal from performance)")):
            r = cls[key]
            lines.append(f"| {title} | {r['classes']:.3f} | {r.get('valence', float('nan')):.3f} | {r.get('arousal', float('nan')):.3f} |")
        lines.append("")
    lines += ["## Reproduce", "```", command, "```",
              f"Training took {data.get('seconds', '?')} s on the machine that produced it (2-core CPU, no GPU; "
              f"tf.distribute {data.get('strategy', '?')}). " + (
                  "The pooled pretraining runs once per cross-validation fold on that fold's training songs only (never "
                  "on its held-out clips, whose scores choose the classifier's settings) and once on all training clips "
                  "for the shipped class models." if (classification.get("cv_folds") or 0) > 1 else
                  "The pooled pretraining runs once, on all training clips, and the class models start from it; no "
                  "cross-validation runs, since the classifier has no setting to choose."), "",
              "## Limits",
              "- Chords come from an automatic recogniser on transcribed piano audio (melody and passing notes blur them);"
              " keys are estimated (Krumhansl-Schmuckler with Aarden-Essen's profiles), so some clips are normalised to the wrong tonic.",
              "- Pop piano only; arousal lives mostly in the performance profile, not in the chords.", ""]
    return "\n".join(lines)
