"""Generative classification: how well a clip fits each class of a model set, and the classifier.

Per class: the harmony log-likelihood (the chords under the class CRBM, exact; the durations
under its harmonic-rhythm table; the mode under its major share) and the performance
log-likelihood (the clip's performance features under the class profile). The classifier's score
combines them (combined_scores). For quadrant classes nothing is fitted; otherwise the harmony
weight is chosen by song-grouped cross-validation (song_folds; models.training.choose_harmony_weight)
and stored in the model folder's config.

Works on any loaded models.model_folder.ModelSet; TensorFlow is imported only when the CRBMs
score (ModelSet.experts)."""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from models.chord_states import chord_state_index
from models.errors import InvalidModelInput
from models.profiles import PROFILE_FEATURES, profile_log_density, rhythm_log_likelihood
from models.vocabulary import ChordEvent

#: Performance features the classifier scores (the marginal of each class's profile Gaussian);
#: chosen by 5-fold song-grouped cross-validation on EMOPIA train (bench/crbm_classify.py).
CLASSIFICATION_PERFORMANCE_FEATURES = ("notes_per_second", "mean_velocity", "mean_note_length_s", "mean_pitch", "legato")
SCORING_WINDOW_CHORDS = 32  # chords scored at once by harmony_log_likelihood_parts (~70 MB of experts' temporaries)
HARMONY_WEIGHT_GRID = (0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0)
VALENCE_BIAS_GRID = tuple(round(0.01 * i, 2) for i in range(-10, 11))  # nats per chord
CLASSIFIER_PARTS = ("combined", "harmony", "performance")


@dataclass(frozen=True)
class ClassLikelihood:
    """How well one clip fits one class (natural-log units)."""

    harmony: float  # chords under the class CRBM + durations under its rhythm table (+ log P(mode)), nats
    performance: float  # log density of the clip's performance features under the class profile
    combined: float  # the classifier's score (see combined_scores)


# -- the classifier's score ------------------------------------------------------------------
def quadrant_signs(coordinates: Sequence[tuple[float | None, float | None]]) -> tuple[np.ndarray, np.ndarray] | None:
    """Valence and arousal signs per class, when every class has both coordinates and the classes
    lie on both sides of both axes (Russell's quadrants); else None."""
    if not coordinates or any(v is None or a is None or v == 0 or a == 0 for v, a in coordinates):
        return None
    valence = np.sign(np.asarray([v for v, _ in coordinates], np.float64))
    arousal = np.sign(np.asarray([a for _, a in coordinates], np.float64))
    if len(set(valence)) < 2 or len(set(arousal)) < 2:
        return None
    return valence, arousal


def combined_scores(harmony: np.ndarray, performance: np.ndarray,
                    coordinates: Sequence[tuple[float | None, float | None]], harmony_weight: float,
                    valence_bias_per_chord: float = 0.0, n_chords: Sequence[int] | None = None) -> np.ndarray:
    """Classifier scores (clips x classes) from harmony and performance log-likelihoods.

    Quadrant classes: the valence side is read from the harmony alone and the arousal side from
    the performance alone, score(c) = log sum_{c': same valence} e^H(c') + log sum_{c': same
    arousal} e^P(c') (+ a tie-break for classes sharing a quadrant). Measured on EMOPIA: valence
    lives in the harmony (mode) and arousal in the performance, and each part adds noise to the
    other axis, so one weighted sum cannot serve both (bench/RESULTS.md). valence_bias_per_chord
    (nats per chord; stored by model folders trained before 2026-12-07, which fitted it by
    cross-validation) is added to the harmony of the positive-valence classes for each of the clip's
    n_chords. `moodchords train` no longer fits it: in a nested CV on EMOPIA train the fitted bias
    cost accuracy (bench/classifier_committee.py).
    Other classes: the weighted sum harmony_weight * H + P.
    """
    harmony = np.atleast_2d(np.asarray(harmony, np.float64))
    performance = np.atleast_2d(np.asarray(performance, np.float64))
    weighted = harmony_weight * harmony + performance
    signs = quadrant_signs(coordinates)
    if signs is None:
        return weighted
    from scipy.special import logsumexp

    valence, arousal = signs
    if valence_bias_per_chord and n_chords is not None:
        chords = np.asarray(n_chords, np.float64).reshape(-1, 1)
        harmony = harmony + valence_bias_per_chord * chords * (valence > 0)[None, :]
    columns = []
    for index in range(harmony.shape[1]):
        same_valence = logsumexp(harmony[:, valence == valence[index]], axis=1)
        same_arousal = logsumexp(performance[:, arousal == arousal[index]], axis=1)
        columns.append(same_valence + same_arousal + 1e-6 * weighted[:, index])
    return np.stack(columns, axis=1)


# -- one clip under every class of a model set -----------------------------------------------
def class_rhythm_log_likelihood(model_set, name: str, events: Sequence[ChordEvent]) -> float:
    """log P(the chord durations | class) under the class's harmonic-rhythm table (durations
    quantised to half beats, given the onset's position in the bar)."""
    params = model_set.parameters[name]
    return rhythm_log_likelihood(params.rhythm_probabilities, params.rhythm_durations, model_set.beats_per_bar, events)


def harmony_log_likelihood_parts(model_set, events: Sequence[ChordEvent], mode: str | None = None,
                                 scorer=None) -> dict[str, tuple[float, float, float]]:
    """Per class, the three parts of harmony_log_likelihoods: (chords, rhythm, mode); the mode
    part is 0 when the clip's mode is not given. ``scorer``: what gives the per-class chord
    log-probabilities (``class_log_probs(u)``); None: the model set's TensorFlow experts, or
    models.crbm_layout.NumpyClassScorer where TensorFlow must not be loaded (classify's memory)."""
    if not events:
        raise InvalidModelInput("no chord events to score; allowed: at least one ChordEvent")
    if mode is not None and mode not in ("major", "minor"):
        raise InvalidModelInput(f"mode {mode!r} not allowed; allowed: 'major', 'minor' or None")
    from models.crbm_layout import CHORD_LAYOUT, chord_visible, conditioning_matrix

    experts = scorer if scorer is not None else model_set.experts()
    states = np.asarray([chord_state_index(e) for e in events])
    visible = chord_visible(events)
    context = max(model_set.history, model_set.joint_history)
    # A window of chords at a time: the experts' intermediate is (T, K, S, H) floats, ~2 MB a
    # chord, and u ~16 KB a chord, so scoring a whole long file at once took gigabytes; each
    # window's u is built from the `context` chords before it (the same rows as for the whole
    # file), so memory is flat in the file's length.
    per_class = np.zeros(len(model_set.class_names))
    for start in range(0, len(states), SCORING_WINDOW_CHORDS):
        stop = min(start + SCORING_WINDOW_CHORDS, len(states))
        lo = max(0, start - context)
        u = conditioning_matrix(visible[lo:stop], model_set.history, model_set.joint_history, CHORD_LAYOUT)[start - lo:]
        log_p = experts.class_log_probs(u)  # (window, K, S)
        per_class += log_p[np.arange(stop - start), :, states[start:stop]].sum(axis=0)  # (K,)
    return {name: (float(per_class[k]), class_rhythm_log_likelihood(model_set, name, events),
                   mode_log_likelihood(model_set, name, mode))
            for k, name in enumerate(model_set.class_names)}


def mode_log_likelihood(model_set, name: str, mode: str | None) -> float:
    """log P(mode | class) from the class's major share; 0 when the clip's mode is not given."""
    if mode is None:
        return 0.0
    share = min(max(model_set.parameters[name].major_share, 0.01), 0.99)  # never log(0)
    return math.log(share if mode == "major" else 1.0 - share)


def harmony_log_likelihoods(model_set, events: Sequence[ChordEvent], mode: str | None = None,
                            scorer=None) -> dict[str, float]:
    """Per class, the log-likelihood of the clip's harmony: sum_t log p(chord_t | previous chords)
    under the class CRBM (exact) + log P(durations) under the class's harmonic-rhythm table
    + log P(mode | class) from the class's major share when the clip's mode is given."""
    return {name: chords + rhythm + mode_part
            for name, (chords, rhythm, mode_part) in harmony_log_likelihood_parts(model_set, events, mode,
                                                                                   scorer).items()}


def performance_log_likelihoods(model_set, performance) -> dict[str, float]:
    """Per class: log density of the clip's performance features under the class profile."""
    wanted = model_set.config.get("classification", {}).get("performance_features") or [f for f, _ in PROFILE_FEATURES]
    return {name: profile_log_density(performance, p.profile_mean, p.profile_cov, wanted)
            for name, p in model_set.parameters.items()}


def log_likelihoods(model_set, events: Sequence[ChordEvent], performance,
                    mode: str | None = None, scorer=None) -> dict[str, ClassLikelihood]:
    """Per class harmony (chords, + mode when given) and performance log-likelihoods and the
    classifier's score (combined_scores: factorised for quadrant classes, else the weighted sum
    with harmony_weight chosen by cross-validation on the training data)."""
    harmony = harmony_log_likelihoods(model_set, events, mode, scorer)
    perf = performance_log_likelihoods(model_set, performance)
    names = model_set.class_names
    combined = combined_scores([[harmony[n] for n in names]], [[perf[n] for n in names]],
                               model_set.coordinates, model_set.harmony_weight, model_set.valence_bias_per_chord,
                               [len(events)])[0]
    return {name: ClassLikelihood(harmony[name], perf[name], float(combined[i])) for i, name in enumerate(names)}


# -- many sequences under every class at once (training's cross-validation and validation) ---
#: Chords per call of ClassScorer's compiled function (one XLA compilation; ~2 MB of output a call).
SCORER_BATCH = 64


def sparse_history_rows(sequences: Sequence[np.ndarray], history: int, joint_history: int = 0,
                        layout=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The (v, u) rows of visible sequences with u's joint one-hots kept as row numbers: (v, u_slots, joint_ids).

    u_slots: the per-group history slots (models.crbm.history_matrix); joint_ids: (N, joint_history)
    int32, the row of A / B that the joint one-hot of slot j switches on (the slots' width + j * S +
    the state j + 1 chords back), -1 before the start. The dense u of the chord layout is 4188 wide and
    99.9 % zeros (POP909's 85k rows would take 1.4 GB); these rows give the same biases and gradients."""
    from models.crbm import history_matrix, visible_to_states

    if joint_history and (layout is None or layout.kind != "softmax"):
        raise InvalidModelInput("joint history needs a softmax layout (enumerable states); allowed: joint_history=0 for binary")
    vs, slots, joints = [], [], []
    for seq in sequences:
        seq = np.asarray(seq, np.float32)
        if len(seq) == 0:
            continue
        vs.append(seq)
        slots.append(history_matrix(seq, history))
        ids = np.full((len(seq), joint_history), -1, np.int32)
        if joint_history:
            states = visible_to_states(layout, seq)
            base = history * (layout.n_visible + 1)
            for j in range(joint_history):
                lag = j + 1
                if lag < len(seq):
                    ids[lag:, j] = base + j * layout.n_states + states[:-lag]
        joints.append(ids)
    if not vs:
        raise InvalidModelInput("no training rows: every sequence is empty; allowed: at least one non-empty sequence")
    return np.concatenate(vs), np.concatenate(slots), np.concatenate(joints)


class ClassScorer:
    """Exact log p_k(s | previous chords) of every class CRBM of a model set, for every chord of many
    sequences at once: the same numbers as ModelSet.experts().class_log_probs, from sparse histories
    (the few rows of A and B a history switches on, gathered) in SCORER_BATCH-chord batches of one
    XLA-compiled function (XLA fuses the (batch, K, S, H) softplus and its sum). Cross-validation scores
    every training clip once per run, so this is most of what choosing the classifier's settings costs."""

    def __init__(self, model_set=None, *, weights: Sequence[Mapping[str, np.ndarray]] | None = None, layout=None):
        """The class CRBMs of ``model_set`` in class_names order, or any CRBMs of one shape (``weights``,
        e.g. the class CRBMs and a pop expert) in ``layout`` (default: the chord layout)."""
        from models.crbm import CHORD_LAYOUT, VisibleLayout, infer_history, state_matrix
        from models.tf_runtime import tf

        if model_set is not None:
            layout = VisibleLayout.from_json(model_set.config["layout"])
            weights = [model_set.parameters[n].weights for n in model_set.class_names]
        if not weights:
            raise InvalidModelInput("no CRBM to score with; allowed: a model set or at least one CRBM's weights")
        self.layout = layout or CHORD_LAYOUT
        self.history, self.joint_history = infer_history(self.layout, np.asarray(weights[0]["A"]).shape[0])
        stack = lambda key: np.stack([np.asarray(w[key], np.float32) for w in weights])  # noqa: E731
        states = state_matrix(self.layout)
        self.width = self.history * (self.layout.n_visible + 1)
        A, B = stack("A"), stack("B")
        self._states = tf.constant(states)
        self._states_w = tf.constant(np.einsum("sd,kdh->ksh", states, stack("W")).astype(np.float32))
        self._b, self._c = tf.constant(stack("b")), tf.constant(stack("c"))
        self._A_slots, self._B_slots = tf.constant(A[:, :self.width]), tf.constant(B[:, :self.width])
        # joint rows first on the row axis, so one gather serves every class: (rows, K, D) / (rows, K, H), + a zero row
        pad = lambda M: np.concatenate([np.transpose(M[:, self.width:], (1, 0, 2)),  # noqa: E731
                                        np.zeros((1, M.shape[0], M.shape[2]), np.float32)])
        self._A_joint, self._B_joint = tf.constant(pad(A)), tf.constant(pad(B))
        self._none = A.shape[1] - self.width  # the zero row: a joint slot before the start
        spec = tf.TensorSpec
        self._function = tf.function(self._log_probs, jit_compile=True,
                                     input_signature=[spec([SCORER_BATCH, self.width], tf.float32),
                                                      spec([SCORER_BATCH, self.joint_history], tf.int32)])

    def _log_probs(self, slots, joint):
        from models.tf_runtime import tf

        bv = self._b[None] + tf.einsum("nu,kud->nkd", slots, self._A_slots)  # (N, K, D)
        bh = self._c[None] + tf.einsum("nu,kuh->nkh", slots, self._B_slots)  # (N, K, H)
        if self.joint_history:
            bv += tf.reduce_sum(tf.gather(self._A_joint, joint), axis=1)
            bh += tf.reduce_sum(tf.gather(self._B_joint, joint), axis=1)
        visible = tf.einsum("nkd,sd->nks", bv, self._states)
        hidden = tf.reduce_sum(tf.nn.softplus(self._states_w[None] + bh[:, :, None, :]), axis=3)
        return tf.nn.log_softmax(visible + hidden, axis=2)

    def log_probs(self, state_sequences: Sequence[np.ndarray], observed_only: bool = False) -> list[np.ndarray]:
        """Per sequence of chord-state indices: (T, K, S) float32 log p_k(s_t = . | s_<t), or with
        observed_only the (T, K) log-probabilities of the states that came."""
        from models.crbm import states_to_visible
        from models.tf_runtime import tf

        sequences = [np.asarray(s, np.int64) for s in state_sequences]
        kept = [s for s in sequences if s.size]
        out = [np.zeros((0, self._b.shape[0]) if observed_only else (0, self._b.shape[0], self.layout.n_states), np.float32)
               for _ in sequences]
        if not kept:
            return out
        visible = [states_to_visible(self.layout, s) for s in kept]
        _, slots, joint = sparse_history_rows(visible, self.history, self.joint_history, self.layout)
        joint = np.where(joint >= 0, joint - self.width, self._none).astype(np.int32)
        truth = np.concatenate(kept)
        rows = len(truth)
        parts = []
        for start in range(0, rows, SCORER_BATCH):
            stop = min(start + SCORER_BATCH, rows)
            batch_slots = np.zeros((SCORER_BATCH, self.width), np.float32)
            batch_joint = np.full((SCORER_BATCH, self.joint_history), self._none, np.int32)
            batch_slots[:stop - start], batch_joint[:stop - start] = slots[start:stop], joint[start:stop]
            log_p = self._function(tf.constant(batch_slots), tf.constant(batch_joint)).numpy()[:stop - start]
            parts.append(log_p[np.arange(stop - start), :, truth[start:stop]] if observed_only else log_p)
        flat = np.concatenate(parts)
        bounds = np.cumsum([0] + [s.size for s in kept])
        pieces = iter(flat[bounds[i]:bounds[i + 1]] for i in range(len(kept)))
        return [next(pieces) if s.size else empty for s, empty in zip(sequences, out)]


class ScoredNextChord:
    """One class of a ClassScorer as a models.next_chord predictor (log2_probs_sequence), reading the
    sequences scored in advance: MixtureNextChord over these asks for each sequence once per class,
    and the scorer gives all classes in one pass."""

    def __init__(self, table: Mapping[bytes, np.ndarray], index: int, scorer: ClassScorer):
        self.table, self.index, self.scorer = table, index, scorer

    @staticmethod
    def for_classes(scorer: ClassScorer, class_names: Sequence[str], state_sequences: Sequence[np.ndarray]) -> dict:
        """{class name: predictor} over the sequences, all scored now."""
        sequences = [np.asarray(s, np.int64) for s in state_sequences]
        table = {s.tobytes(): p for s, p in zip(sequences, scorer.log_probs(sequences))}
        return {name: ScoredNextChord(table, k, scorer) for k, name in enumerate(class_names)}

    def log2_probs_sequence(self, states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, np.int64)
        log_p = self.table.get(states.tobytes())
        if log_p is None:
            log_p = self.scorer.log_probs([states])[0]
        return log_p[:, self.index].astype(np.float64) / math.log(2.0)


# -- labelled clips: scores and accuracy -----------------------------------------------------
@dataclass(frozen=True)
class ClipScores:
    """Per-class log-likelihoods of a set of clips: arrays of shape (clips, classes)."""

    class_names: tuple[str, ...]
    harmony: np.ndarray  # sum of log p(chord | history) per clip and class (nats)
    performance: np.ndarray  # log density of the performance features per clip and class
    truth: np.ndarray  # index of each clip's true class
    n_chords: np.ndarray | None = None  # chord events per clip (the valence bias scales with it)


def score_clips(model_set, clips: Sequence) -> ClipScores:
    """Harmony and performance log-likelihoods of labelled clips under every class of a ModelSet
    (harmony_log_likelihoods' numbers, the chords of all clips scored together by a ClassScorer)."""
    names = model_set.class_names
    kept = [clip for clip in clips if clip.events and clip.label in names]
    chords = ClassScorer(model_set).log_probs([[chord_state_index(e) for e in c.events] for c in kept],
                                              observed_only=True) if kept else []
    harmony, perf, truth, n_chords = [], [], [], []
    for clip, observed in zip(kept, chords):
        n_chords.append(len(clip.events))
        per_class = observed.astype(np.float64).sum(axis=0)
        p = performance_log_likelihoods(model_set, clip.performance)
        harmony.append([per_class[k] + class_rhythm_log_likelihood(model_set, n, clip.events)
                        + mode_log_likelihood(model_set, n, clip.mode) for k, n in enumerate(names)])
        perf.append([p[n] for n in names])
        truth.append(names.index(clip.label))
    return ClipScores(tuple(names), np.asarray(harmony), np.asarray(perf), np.asarray(truth), np.asarray(n_chords))


def classification_accuracy(scores: ClipScores, class_info: Mapping | None = None, *, part: str = "combined",
                            harmony_weight: float = 0.0, valence_bias_per_chord: float = 0.0) -> dict:
    """Accuracy of the argmax of the classifier's score, and of valence / arousal (sign of the
    predicted class's coordinate) when the classes have them. part "combined" is the shipped
    classifier (combined_scores at harmony_weight and the valence bias, the same function
    log_likelihoods uses, so what is chosen here is what is shipped); "harmony" and "performance"
    score one side alone (they take no weight or bias: passing one is an error)."""
    if part not in CLASSIFIER_PARTS:
        raise InvalidModelInput(f"classifier part {part!r} not found; available parts = {list(CLASSIFIER_PARTS)}")
    if part != "combined" and (harmony_weight or valence_bias_per_chord):
        raise InvalidModelInput(f"harmony_weight={harmony_weight}, valence_bias_per_chord={valence_bias_per_chord} "
                                f"with part {part!r}; allowed: 0 (only the combined score takes them)")
    coordinates = [(None, None) if class_info is None or n not in class_info else (class_info[n][1], class_info[n][2])
                   for n in scores.class_names]
    if part == "harmony":
        total = scores.harmony
    elif part == "performance":
        total = scores.performance
    else:
        total = combined_scores(scores.harmony, scores.performance, coordinates, harmony_weight,
                                valence_bias_per_chord, scores.n_chords)
    predicted = total.argmax(axis=1)
    out = {"classes": float(np.mean(predicted == scores.truth)), "n": int(len(scores.truth))}
    for axis, pos in (("valence", 1), ("arousal", 2)):
        coords = [None if class_info is None or n not in class_info else class_info[n][pos] for n in scores.class_names]
        if all(c is not None for c in coords):
            sign = np.sign(np.asarray(coords, np.float64))
            out[axis] = float(np.mean(sign[predicted] == sign[scores.truth]))
    return out


def choose_valence_bias(pooled: ClipScores, harmony_weight: float, class_info: Mapping | None) -> tuple[float, dict]:
    """The valence bias (nats per chord, combined_scores) that maximises the out-of-fold class
    accuracy, then the valence accuracy, nearest 0 on ties. 0 when the classes are not quadrants.
    What `moodchords train` fitted before 2026-12-07; the benches that measured it use it now.
    Returns (bias, {bias: (class accuracy, valence accuracy)})."""
    table = {}
    for bias in VALENCE_BIAS_GRID:
        accuracy = classification_accuracy(pooled, class_info, harmony_weight=harmony_weight,
                                           valence_bias_per_chord=bias)
        if "valence" not in accuracy:
            return 0.0, {}
        table[bias] = (accuracy["classes"], accuracy["valence"])
    best = max(VALENCE_BIAS_GRID, key=lambda b: (table[b][0], table[b][1], -abs(b)))
    return best, table


# -- song-grouped folds ----------------------------------------------------------------------
def song_id(stem: str, label: str | None) -> str:
    """Group key for song-level folds: the file stem without its label prefix ('<label>_', when the
    label came from the name) and without its last '_<clip>' part. The label must go: a song's clips
    can carry different labels (59 of EMOPIA's 323 train songs do), and they share their material."""
    if label and stem.startswith(f"{label}_"):
        stem = stem[len(label) + 1:]
    return stem.rsplit("_", 1)[0] if "_" in stem else stem


def song_of(clip) -> str:
    """song_id of a clip (its file stem and label)."""
    return song_id(Path(getattr(clip, "path", "")).stem, getattr(clip, "label", None))


def song_folds(clips: Sequence, folds: int, seed: int) -> dict[str, int]:
    """Song -> fold (0..folds-1) for song-grouped cross-validation: clips of one song share a fold."""
    songs = sorted({song_of(c) for c in clips})
    return {s: i % folds for i, s in enumerate(np.random.default_rng(seed).permutation(songs))}
