"""Where the valence decision comes from: out-of-fold scores of the EMOPIA train clips split into
their parts (chords under the class CRBM, harmonic rhythm, key mode, performance), so that the
weights of the parts can be compared by cross-validation on train (val shown for information). Also
two candidates not in the shipped classifier: a continuous mode score per clip (the best major key's
profile correlation minus the best minor key's, models.harmony.key_correlations) under a Gaussian
per class, fitted on the training folds, in place of (or beside) the binary mode part; and harmony
models per valence group (Q1+Q4 vs Q2+Q3, twice the clips per model) instead of per quadrant; and a
key-normalised pitch-class histogram under a smoothed multinomial per class. Last, how far val can
be trusted: bootstrap over its songs (clips of one song are not independent) of the shipped valence
accuracy, and of its difference from each candidate on the same clips.

Run: .venv/bin/python bench/valence_parts.py [--cache FILE]   (needs ../shared/data/emopia)
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402

from models.classification import harmony_log_likelihood_parts, performance_log_likelihoods  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "emopia"


def part_scores(model_set, clips):
    """(chords, rhythm, mode, performance, n_chords, truth, mode is major) per clip x class."""
    names = model_set.class_names
    rows = {k: [] for k in ("chords", "rhythm", "mode", "performance", "n", "truth", "major", "name")}
    for clip in clips:
        if not clip.events or clip.label not in names:
            continue
        parts = harmony_log_likelihood_parts(model_set, clip.events, clip.mode)
        for index, key in enumerate(("chords", "rhythm", "mode")):
            rows[key].append([parts[n][index] for n in names])
        p = performance_log_likelihoods(model_set, clip.performance)
        rows["performance"].append([p[n] for n in names])
        rows["n"].append(len(clip.events))
        rows["truth"].append(names.index(clip.label))
        rows["major"].append(clip.mode == "major")
        rows["name"].append(clip.path.name)
    return {k: np.asarray(v) for k, v in rows.items()}


def collect(cache: Path) -> None:
    from models.crbm import CHORD_LAYOUT
    from models.dataset import emopia_split
    from models.emotion_classes import EMOPIA_CLASSES, class_info
    from models.model_folder import load_model_set, model_set_from_class_models
    from models.classification import song_folds, song_of
    from models.training import TrainingConfig, train_class_models

    train = [c for c in emopia_split(DATA, "train").clips if c.label and c.events]
    val = [c for c in emopia_split(DATA, "val").clips if c.label and c.events]
    config = TrainingConfig.for_chords()
    by_label: dict[str, list] = {}
    for c in train:
        by_label.setdefault(c.label, []).append(c)
    fold_of = song_folds(train, 3, config.seed)
    parts = []
    for fold in range(3):
        print(f"fold {fold + 1}/3", file=sys.stderr, flush=True)
        fold_train = {k: [c for c in v if fold_of[song_of(c)] != fold] for k, v in by_label.items()}
        models = train_class_models(fold_train, config)
        model_set = model_set_from_class_models(name="cv", layout=CHORD_LAYOUT.to_json(), hyperparameters=config.to_json(),
                                                class_models=models, beats_per_bar=4, class_info=class_info(EMOPIA_CLASSES))
        parts.append(part_scores(model_set, [c for c in train if fold_of[song_of(c)] == fold]))
    cv = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    cv["fold"] = np.concatenate([np.full(len(p["truth"]), fold) for fold, p in enumerate(parts)])
    shipped = part_scores(load_model_set(ROOT / "models" / "emopia"), val)
    np.savez(cache, **{f"cv_{k}": v for k, v in cv.items()}, **{f"val_{k}": v for k, v in shipped.items()})


VALENCE_SIGNS = np.array([1, -1, -1, 1])  # Q1..Q4
AROUSAL_SIGNS = np.array([1, 1, -1, -1])


def predicted_classes(p: dict, w_chords: float, w_rhythm: float, w_mode: float, w_perf_valence: float = 0.0, *,
                      valence_bias: float = 0.0) -> np.ndarray:
    """Per clip the quadrant classifier's class with the valence side read from a weighted sum of the
    parts (+ valence_bias nats per chord for the positive classes, as models.classification.combined_scores)."""
    from scipy.special import logsumexp

    h = w_chords * p["chords"] + w_rhythm * p["rhythm"] + w_mode * p["mode"] + w_perf_valence * p["performance"]
    h = h + valence_bias * p["n"][:, None] * (VALENCE_SIGNS > 0)[None, :]
    cols = [logsumexp(h[:, VALENCE_SIGNS == VALENCE_SIGNS[i]], axis=1)
            + logsumexp(p["performance"][:, AROUSAL_SIGNS == AROUSAL_SIGNS[i]], axis=1) + 1e-6 * h[:, i] for i in range(4)]
    return np.stack(cols, 1).argmax(1)


def valence_correct(p: dict, *weights: float, valence_bias: float = 0.0) -> np.ndarray:
    """Per clip: is the predicted class's valence the true one's."""
    return VALENCE_SIGNS[predicted_classes(p, *weights, valence_bias=valence_bias)] == VALENCE_SIGNS[p["truth"]]


def accuracies(p: dict, *weights: float, valence_bias: float = 0.0) -> tuple[float, float, float]:
    """4-class / valence / arousal accuracy of predicted_classes."""
    pred, t = predicted_classes(p, *weights, valence_bias=valence_bias), p["truth"]
    return (np.mean(pred == t), np.mean(VALENCE_SIGNS[pred] == VALENCE_SIGNS[t]),
            np.mean(AROUSAL_SIGNS[pred] == AROUSAL_SIGNS[t]))


def mode_contrast(path: Path) -> float:
    """Best major key's profile correlation minus the best minor key's (> 0: major)."""
    from models.harmony import key_correlations
    from models.midi_reading import read_midi

    content = read_midi(path)
    major, minor = key_correlations(content.pitch, content.offset - content.onset).max(axis=1)
    return float(major - minor)


def fold_scores(cv: dict, val: dict, cache: Path, feature, fit_score) -> tuple[np.ndarray, np.ndarray]:
    """Per clip x class scores of a per-clip feature (feature(midi path) -> value or array; computed
    from the MIDI files once, cached): out of fold on train (fit_score(x_fit, y_fit, x) on the other
    folds), and fitted on all train clips for val."""
    if cache.is_file():
        z = np.load(cache)
        x_cv, x_val = z["cv"], z["val"]
    else:
        x_cv = np.array([feature(DATA / "midis" / n) for n in cv["name"]])
        x_val = np.array([feature(DATA / "midis" / n) for n in val["name"]])
        np.savez(cache, cv=x_cv, val=x_val)
    out_of_fold = np.zeros((len(x_cv), 4))
    for fold in np.unique(cv["fold"]):
        held = cv["fold"] == fold
        out_of_fold[held] = fit_score(x_cv[~held], cv["truth"][~held], x_cv[held])
    return out_of_fold, fit_score(x_cv, cv["truth"], x_val)


def contrast_parts(cv: dict, val: dict, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per clip x class: log N(mode contrast | class mean, class sd) (fold_scores)."""
    def fit_score(x_fit, y_fit, x):
        stats = [(x_fit[y_fit == k].mean(), x_fit[y_fit == k].std()) for k in range(4)]
        return np.stack([-0.5 * ((x - m) / sd) ** 2 - np.log(sd) for m, sd in stats], axis=1)

    return fold_scores(cv, val, cache, mode_contrast, fit_score)


def pitch_class_histogram(path: Path) -> np.ndarray:
    """(12,) duration-weighted pitch-class shares in the clip's normalised key (C major / A minor)."""
    from models.harmony import estimate_key, normalising_shift
    from models.midi_reading import read_midi

    content = read_midi(path)
    duration = content.offset - content.onset
    key = estimate_key(content.pitch, duration)
    classes = (content.pitch + normalising_shift(key.tonic, key.mode)) % 12
    histogram = np.bincount(classes, weights=duration, minlength=12)
    return histogram / histogram.sum()


def histogram_parts(cv: dict, val: dict, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per clip x class: sum_pc share_pc log theta_class,pc, the log-likelihood per note of a
    multinomial with the class's pitch-class shares theta (add-one smoothed over the 12 classes)
    (fold_scores); times `draws` it scores a clip as that many notes."""
    def fit_score(h_fit, y_fit, h):
        log_theta = [np.log((h_fit[y_fit == k].sum(0) + 1 / 12) / (h_fit[y_fit == k].sum() + 1)) for k in range(4)]
        return np.stack([h @ t for t in log_theta], axis=1)

    return fold_scores(cv, val, cache, pitch_class_histogram, fit_score)


def song_of_name(name: str) -> str:
    """models.training.song_id of an EMOPIA clip file name (its label is the prefix)."""
    from models.classification import song_id

    return song_id(Path(name).stem, name.split("_", 1)[0])


def song_bootstrap(values: np.ndarray, names: np.ndarray, resamples: int = 5000, seed: int = 0) -> tuple[float, float, float]:
    """Mean of per-clip values, resampling whole songs: (standard error, 2.5 %, 97.5 % percentile)."""
    songs = np.array([song_of_name(n) for n in names])
    members = [np.flatnonzero(songs == s) for s in np.unique(songs)]
    rng = np.random.default_rng(seed)
    means = []
    for _ in range(resamples):
        picked = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        means.append(values[picked].mean())
    return float(np.std(means)), *np.percentile(means, [2.5, 97.5])


VALENCE_GROUPS = {"Q1": "positive", "Q4": "positive", "Q2": "negative", "Q3": "negative"}


def group_parts(cache: Path) -> dict:
    """Harmony parts (chords, rhythm, mode) under CRBMs trained per valence group instead of per
    quadrant: out of fold on train (the same song folds), and the all-train models on val."""
    if cache.is_file():
        return dict(np.load(cache))
    from models.crbm import CHORD_LAYOUT
    from models.dataset import emopia_split
    from models.model_folder import model_set_from_class_models
    from models.classification import song_folds, song_of
    from models.training import TrainingConfig, train_class_models

    config = TrainingConfig.for_chords()
    train = [c for c in emopia_split(DATA, "train").clips if c.label in VALENCE_GROUPS and c.events]
    val = [c for c in emopia_split(DATA, "val").clips if c.label in VALENCE_GROUPS and c.events]

    def fit(clips):
        by_group: dict[str, list] = {}
        for c in clips:
            by_group.setdefault(VALENCE_GROUPS[c.label], []).append(c)
        return model_set_from_class_models(
            name="groups", layout=CHORD_LAYOUT.to_json(), hyperparameters=config.to_json(),
            class_models=train_class_models(by_group, config), beats_per_bar=4,
            class_info={"positive": ("Q1+Q4", 0.6, None), "negative": ("Q2+Q3", -0.6, None)})

    def scores(model_set, clips):  # (clips, [positive, negative], [chords, rhythm, mode]), truth: positive
        rows = [harmony_log_likelihood_parts(model_set, c.events, c.mode) for c in clips]
        return (np.array([[r["positive"], r["negative"]] for r in rows]),
                np.array([VALENCE_GROUPS[c.label] == "positive" for c in clips]))

    fold_of = song_folds(train, 3, config.seed)
    folds = []
    for fold in range(3):
        print(f"valence groups: fold {fold + 1}/3", file=sys.stderr, flush=True)
        model_set = fit([c for c in train if fold_of[song_of(c)] != fold])
        folds.append(scores(model_set, [c for c in train if fold_of[song_of(c)] == fold]))
    val_parts, val_truth = scores(fit(train), val)
    out = {"cv_parts": np.concatenate([f[0] for f in folds]), "cv_truth": np.concatenate([f[1] for f in folds]),
           "val_parts": val_parts, "val_truth": val_truth}
    np.savez(cache, **out)
    return out


GRID = [(1.0, r, m, 0.0) for r in (0.0, 0.5, 1.0) for m in (0.0, 1.0, 2.0, 3.0, 5.0)] + \
       [(1.0, 1.0, 1.0, p) for p in (0.1, 0.3)] + [(0.0, 0.0, 1.0, 0.0)]


def main() -> int:
    from bench.common import write_section

    parser = argparse.ArgumentParser()
    parser.add_argument("--cache", default="/tmp/valence_parts.npz", help="out-of-fold scores (made when missing)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave bench/RESULTS.md alone")
    args = parser.parse_args()
    cache = Path(args.cache)
    if not cache.is_file() or "cv_name" not in np.load(cache).files:  # (older caches lack the clip names)
        collect(cache)
    z = np.load(cache)
    cv = {k[3:]: z[k] for k in z.files if k.startswith("cv_")}
    val = {k[4:]: z[k] for k in z.files if k.startswith("val_")}
    contrast_cv, contrast_val = contrast_parts(cv, val, cache.with_name(cache.stem + "_contrast.npz"))
    rows = []
    for weights in GRID:
        a, b = accuracies(cv, *weights), accuracies(val, *weights)
        rows.append(f"| {weights[0]:g} / {weights[1]:g} / {weights[2]:g} / {weights[3]:g} | "
                    f"{a[0]:.1%} / {a[1]:.1%} | {b[0]:.1%} / {b[1]:.1%} |")
    from models.model_folder import load_model_set

    bias = load_model_set(ROOT / "models" / "emopia").valence_bias_per_chord  # 0 since train stopped fitting it (2026-12-07)
    shipped_cv, shipped_val = accuracies(cv, 1.0, 1.0, 1.0, valence_bias=bias), accuracies(val, 1.0, 1.0, 1.0, valence_bias=bias)
    rows.append(f"| 1 / 1 / 1 / 0 + valence bias {bias:g} nats per chord (shipped) | {shipped_cv[0]:.1%} / "
                f"{shipped_cv[1]:.1%} | {shipped_val[0]:.1%} / {shipped_val[1]:.1%} |")
    best = max(GRID, key=lambda w: accuracies(cv, *w)[1])
    contrast_rows, contrast_scores = [], []
    for binary, soft in ((0.0, 1.0), (0.0, 2.0), (1.0, 1.0)):
        for rhythm in (0.0, 0.5, 1.0):
            with_contrast = [{**p, "mode": binary * p["mode"] + soft * c} for p, c in ((cv, contrast_cv), (val, contrast_val))]
            a, b = (accuracies(p, 1.0, rhythm, 1.0) for p in with_contrast)
            contrast_scores.append((a[1], b[1], valence_correct(with_contrast[1], 1.0, rhythm, 1.0)))
            contrast_rows.append(f"| 1 / {rhythm:g} / {binary:g} binary + {soft:g} contrast / 0 | {a[0]:.1%} / {a[1]:.1%} | "
                                 f"{b[0]:.1%} / {b[1]:.1%} |")
    chosen_cv, chosen_val, contrast_correct = max(contrast_scores, key=lambda score: score[:2])
    shipped = (shipped_cv[1], shipped_val[1])
    groups = group_parts(cache.with_name(cache.stem + "_groups.npz"))
    group_rows, group_scores = [], []
    for weights in ((1.0, 0.0, 0.0), (1.0, 0.0, 1.0), (1.0, 0.5, 1.0), (1.0, 1.0, 1.0), (1.0, 0.0, 2.0), (1.0, 1.0, 2.0)):
        w = np.asarray(weights)
        cv_correct, val_correct = (((groups[f"{k}_parts"] * w).sum(axis=2).argmax(axis=1) == 0) == groups[f"{k}_truth"]
                                   for k in ("cv", "val"))
        a, b = cv_correct.mean(), val_correct.mean()
        group_scores.append((a, b, val_correct))
        group_rows.append(f"| {weights[0]:g} / {weights[1]:g} / {weights[2]:g} | {a:.1%} | {b:.1%} |")
    group_cv, group_val, group_correct = max(group_scores, key=lambda score: score[:2])
    histogram_rows, histogram_scores = [], []
    per_note_cv, per_note_val = histogram_parts(cv, val, cache.with_name(cache.stem + "_histogram.npz"))
    for draws in (10.0, 20.0, 40.0):
        for rhythm in (0.0, 1.0):
            with_histogram = [{**p, "mode": p["mode"] + draws * h} for p, h in ((cv, per_note_cv), (val, per_note_val))]
            a, b = (accuracies(p, 1.0, rhythm, 1.0) for p in with_histogram)
            histogram_scores.append((a[1], b[1], valence_correct(with_histogram[1], 1.0, rhythm, 1.0)))
            histogram_rows.append(f"| {draws:g} | {rhythm:g} | {a[0]:.1%} / {a[1]:.1%} | {b[0]:.1%} / {b[1]:.1%} |")
    histogram_cv_best, histogram_val_best, histogram_correct = max(histogram_scores, key=lambda score: score[:2])
    shipped_correct = valence_correct(val, 1.0, 1.0, 1.0, valence_bias=bias)
    if not np.array_equal(groups["val_truth"], VALENCE_SIGNS[val["truth"]] > 0):
        raise SystemExit("the valence-group cache lists other val clips than the score cache; delete both")
    se, low, high = song_bootstrap(shipped_correct.astype(float), val["name"])
    cv_se, _, _ = song_bootstrap(valence_correct(cv, 1.0, 1.0, 1.0, valence_bias=bias).astype(float), cv["name"])
    trust_rows, resolved, better_on_val = [], False, False
    for label, correct in (("re-weighted parts " + " / ".join(f"{w:g}" for w in best), valence_correct(val, *best)),
                           ("mode contrast", contrast_correct), ("valence-group CRBMs", group_correct),
                           ("pitch-class histogram", histogram_correct)):
        d_se, d_low, d_high = song_bootstrap(correct.astype(float) - shipped_correct, val["name"])
        resolved |= d_low > 0 or d_high < 0
        better_on_val |= correct.mean() > shipped_correct.mean()
        trust_rows.append(f"| {label} | {correct.mean():.1%} | {correct.mean() - shipped_correct.mean():+.1%} "
                          f"(SE {d_se:.1%}, 95 % {d_low:+.1%} .. {d_high:+.1%}) |")
    n_songs = len({song_of_name(n) for n in val["name"]})
    text = "\n".join([
        f"EMOPIA train: 3-fold song-grouped CV ({len(cv['truth'])} clips, models retrained per fold with the shipped "
        f"TrainingConfig.for_chords()); val: the shipped models/emopia ({len(val['truth'])} clips). The valence side "
        "of the quadrant classifier (models.classification.combined_scores) read from a weighted sum of the harmony's parts: "
        "chords (class CRBM), harmonic rhythm, key mode (class major share), and optionally the performance; "
        "arousal stays with the performance.", "",
        "| weights chords / rhythm / mode / performance | CV train: 4 classes / valence | val: 4 classes / valence |",
        "|---|---|---|", *rows, "",
        f"Cross-validation on train would pick {best[0]:g} / {best[1]:g} / {best[2]:g} / {best[3]:g} for valence, "
        "and val disagrees with it; on this axis the two rank the settings differently by more than val's "
        "standard error (below), so the shipped equal weights "
        "were kept: re-weighting the parts does not reliably move valence.", "",
        "A continuous mode part (not shipped): the mode contrast (best major minus best minor key correlation, "
        "models.harmony.key_correlations, from the notes) under a Gaussian per class, in place of or beside the binary mode:", "",
        "| weights chords / rhythm / mode / performance | CV train: 4 classes / valence | val: 4 classes / valence |",
        "|---|---|---|", *contrast_rows, "",
        f"Cross-validation's best of these ({chosen_cv:.1%} valence, shipped {shipped[0]:.1%}) gets {chosen_val:.1%} "
        f"on val (shipped {shipped[1]:.1%}): "
        + ("val does not confirm it, so it was not adopted." if chosen_val <= shipped[1] else
           "val confirms it."), "",
        "Harmony models per valence group (not shipped): one CRBM (with its rhythm and mode parts) for Q1+Q4 and one "
        "for Q2+Q3, twice the clips each, valence = the group with the higher weighted score:", "",
        "| weights chords / rhythm / mode | CV train: valence | val: valence |", "|---|---|---|", *group_rows, "",
        f"Cross-validation's best of these ({group_cv:.1%}) gets {group_val:.1%} on val (the shipped quadrant models "
        f"{shipped[1]:.1%}): " + ("not better on val, so not adopted." if group_val <= shipped[1] else "better on val too."),
        "",
        "A key-normalised pitch-class histogram (not shipped): the clip's duration-weighted pitch-class shares after "
        "transposing to C major / A minor, scored as `draws` notes from a multinomial per class (its pooled shares, "
        "add-one smoothed), added to the harmony score:", "",
        "| draws | rhythm weight | CV train: 4 classes / valence | val: 4 classes / valence |", "|---|---|---|---|",
        *histogram_rows, "",
        f"Cross-validation's best of these ({histogram_cv_best:.1%}) gets {histogram_val_best:.1%} on val (shipped "
        f"{shipped[1]:.1%}).", "",
        f"How far val can be trusted: its {len(val['truth'])} clips come from {n_songs} songs, and clips of a song "
        "share their chords, so the bootstrap resamples songs (5000 resamples). The shipped classifier's val valence "
        f"is {shipped[1]:.1%}, standard error {se:.1%}, 95 % interval {low:.1%} .. {high:.1%} (train CV: "
        f"{shipped[0]:.1%}, SE {cv_se:.1%}). Each family's CV choice against it on the same val clips (paired):", "",
        "| CV's choice | val valence | minus shipped |", "|---|---|---|", *trust_rows, "",
        ("Some paired differences are resolved by val (the interval excludes 0)." if resolved else
         "No paired difference is resolved by val (every interval includes 0), and the 72 % goal lies inside the shipped "
         "classifier's interval: val cannot rank these classifiers. "
         + ("Train CV prefers each candidate to the shipped classifier; none does better on val." if not better_on_val
            else "")),
        ""])
    print(text)
    if not args.no_write:
        write_section("Valence: the parts of the harmony score (bench/valence_parts.py)", text, "bench/valence_parts.py")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
