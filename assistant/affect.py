"""Words -> valence/arousal, grounded in published human ratings.

Anchors: 894 mood words with human valence and arousal ratings from the NRC VAD lexicon
(Mohammad 2018; see assistant/data/README.md), rescaled from 0..1 to -1..1.

Method (measured in bench/language.py, cross-validated with the evaluation words held out):
  * every word is embedded inside sentence templates ("a feeling of being {}", "a piece that
    sounds {}"; embeddings averaged), the same way on the anchor side and the query side;
    bare-word embeddings put antonyms together (energetic ~ tired), templated ones much less;
  * a learned read-out maps an embedding to (valence, arousal): a linear ridge map plus a kernel
    ridge correction (RBF kernel on the unit sphere). Unlike nearest-neighbour averaging it learns
    directions in the embedding (what makes a word more aroused), which is what arousal needs.
  * for single words that VADER's sentiment lexicon rates (Hutto & Gilbert 2014: ~7,500 words,
    each rated -4..+4 by ten people), valence blends the read-out with that independent human
    rating (LexiconValence): the embedding's valence errs on words whose sentiment is clear to a
    person, and this is where a second set of human ratings helps most.
The plain baseline (nearest anchors, bare words) is kept here so the benchmark can compare."""
from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from models.atomic_files import atomic_output

DATA_DIR = Path(__file__).resolve().parent / "data"
NORMS_FILE = DATA_DIR / "nrc_vad_mood_words.tsv"
NON_MOOD_FILE = DATA_DIR / "non_mood_words.txt"

#: Templates that put a mood word in context (unit embeddings averaged over them). "a feeling of
#: being {}" makes the word read as a feeling (the adjective sense of "blue", "dark"), "a piece that
#: sounds {}" as a musical character. Chosen by greedy forward selection over 22 candidate templates
#: with inner 4-fold cross-validation on the anchors: run on all 894 words it picks this pair; nested
#: inside the 5 benchmark folds it picked "a feeling of being {}" every time (with "a {} song" 4 times,
#: this pair once) and scored valence rho 0.838, arousal 0.738 on the held-out words, against 0.832 and
#: 0.726 for "music that feels {}" alone. Costs one more short encode per keyword. Measured and not
#: kept (each < +0.006 rho over this, none near the 0.86 goal): 5-12 template averages, concatenated
#: template embeddings, word-token or middle-layer (3-4) hidden states, read-out settings (gamma,
#: alphas), rank-transformed targets, SVR, kernel ridge alone, per-view prediction ensembles.
TEMPLATES = ("a feeling of being {}", "a piece that sounds {}")

#: Read-out settings, chosen by 5-fold cross-validation over the anchors (bench/language.py):
#: RBF width on squared chord distance between unit vectors, kernel ridge penalty, linear penalty.
KERNEL_GAMMA = 4.0
RIDGE_ALPHA = 0.3
LINEAR_ALPHA = 10.0
DETECTOR_C = 4.0  # inverse regularisation of the mood-word detector
VADER_RANGE = 4.0  # VADER's ratings run -4 (most negative) .. +4 (most positive)
BLEND_FOLDS = 5  # folds of the out-of-fold read-out predictions the lexicon blend is fitted on


@dataclass(frozen=True)
class AffectNorms:
    """Human-rated mood words."""

    words: tuple[str, ...]
    valence: np.ndarray  # -1 (unpleasant) .. +1 (pleasant), one per word
    arousal: np.ndarray  # -1 (calm) .. +1 (excited), one per word

    def subset(self, indices: Sequence[int] | np.ndarray) -> "AffectNorms":
        idx = np.asarray(indices, dtype=int)
        return AffectNorms(tuple(self.words[i] for i in idx), self.valence[idx], self.arousal[idx])


def load_affect_norms(path: Path | None = None) -> AffectNorms:
    """The shipped mood-word ratings (word, valence 0..1, arousal 0..1), rescaled to -1..1."""
    words, valence, arousal = [], [], []
    with open(path or NORMS_FILE, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t"):
            words.append(row["word"])
            valence.append(float(row["valence"]) * 2.0 - 1.0)
            arousal.append(float(row["arousal"]) * 2.0 - 1.0)
    return AffectNorms(tuple(words), np.array(valence), np.array(arousal))


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def templated_embeddings(model, words: Sequence[str], batch_size: int = 128) -> np.ndarray:
    """Unit embeddings of ``words`` as the mean over TEMPLATES (one row per word)."""
    if not words:
        return np.zeros((0, model.get_sentence_embedding_dimension()))
    texts = [template.format(word) for template in TEMPLATES for word in words]
    encoded = model.encode(texts, batch_size=batch_size, normalize_embeddings=True)
    stacked = np.asarray(encoded, dtype=np.float64).reshape(len(TEMPLATES), len(words), -1)
    return _unit(stacked.mean(axis=0))


def bare_embeddings(model, words: Sequence[str], batch_size: int = 128) -> np.ndarray:
    """Unit embeddings of the words on their own (the plain baseline)."""
    if not words:
        return np.zeros((0, model.get_sentence_embedding_dimension()))
    return _unit(model.encode(list(words), batch_size=batch_size, normalize_embeddings=True))


def load_non_mood_words(path: Path | None = None) -> tuple[str, ...]:
    """Hand-labelled words that name no mood (negatives for the mood-word detector)."""
    words: dict[str, None] = {}
    for line in (path or NON_MOOD_FILE).read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            words.update(dict.fromkeys(line.split()))
    return tuple(words)


def cached_templated_embeddings(model, words: Sequence[str], model_id: str = "all-MiniLM-L6-v2") -> np.ndarray:
    """templated_embeddings, cached on disk ($MOODCHORDS_CACHE_DIR or the user cache dir) keyed by
    the words, the templates and the model, so only the first start pays for ~1,300 encodes."""
    import hashlib

    from platformdirs import user_cache_dir

    key = hashlib.sha256("\n".join([model_id, *TEMPLATES, *words]).encode()).hexdigest()[:16]
    folder = Path(os.environ.get("MOODCHORDS_CACHE_DIR") or user_cache_dir("moodchords"))
    cache = folder / f"templated-{key}.npy"
    try:
        cached = np.load(cache)
        if cached.shape[0] == len(words):
            return cached.astype(np.float64)
    except (OSError, ValueError):
        pass
    embeddings = templated_embeddings(model, words)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(cache) as stream:
            np.save(stream, embeddings.astype(np.float32))
    except OSError:
        pass  # a read-only cache only costs time
    return embeddings


def anchor_embeddings(model, norms: AffectNorms) -> np.ndarray:
    """Templated embeddings of the rated mood words (cached)."""
    return cached_templated_embeddings(model, norms.words)


class MoodWordDetector:
    """Is a word a mood word? Logistic regression on templated embeddings, trained on the rated
    mood words (positives) and the hand-labelled non-mood words (negatives). Plain similarity to
    the nearest rated word cannot tell: "winter" reads closer to "cold" than "tense" does to any
    rated word."""

    def __init__(self, mood_embeddings: np.ndarray, other_embeddings: np.ndarray, c: float = DETECTOR_C) -> None:
        from sklearn.linear_model import LogisticRegression

        features = np.vstack([mood_embeddings, other_embeddings])
        labels = np.r_[np.ones(len(mood_embeddings)), np.zeros(len(other_embeddings))]
        self._model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit(features, labels)

    def probability(self, embeddings: np.ndarray) -> np.ndarray:
        """P(mood word) for each templated embedding row."""
        return self._model.predict_proba(_unit(np.atleast_2d(embeddings)))[:, 1]


class AffectReadout:
    """(valence, arousal) from an embedding: a linear ridge map (global directions such as "more
    aroused", so words far from every anchor still get a sensible reading) plus a kernel ridge
    correction of its residuals (RBF kernel on the unit sphere, for local detail)."""

    def __init__(self, anchor_embeddings: np.ndarray, valence: np.ndarray, arousal: np.ndarray,
                 gamma: float = KERNEL_GAMMA, alpha: float = RIDGE_ALPHA, linear_alpha: float = LINEAR_ALPHA) -> None:
        self._anchors = _unit(anchor_embeddings)
        self._gamma = gamma
        targets = np.stack([valence, arousal], axis=1)
        self._centre = self._anchors.mean(axis=0)
        self._mean = targets.mean(axis=0)
        centred = self._anchors - self._centre
        dim = centred.shape[1]
        self._linear = np.linalg.solve(centred.T @ centred + linear_alpha * np.eye(dim), centred.T @ (targets - self._mean))
        residual = targets - self._linear_part(self._anchors)
        kernel = self._kernel(self._anchors)
        self._coef = np.linalg.solve(kernel + alpha * np.eye(len(kernel)), residual)

    def _linear_part(self, rows: np.ndarray) -> np.ndarray:
        return (rows - self._centre) @ self._linear + self._mean

    def _kernel(self, rows: np.ndarray) -> np.ndarray:
        squared = np.clip(2.0 - 2.0 * rows @ self._anchors.T, 0.0, 4.0)
        return np.exp(-self._gamma * squared)

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        """(n, 2) array of (valence, arousal), clipped to -1..1."""
        rows = _unit(np.atleast_2d(embeddings))
        return np.clip(self._linear_part(rows) + self._kernel(rows) @ self._coef, -1.0, 1.0)

    def closeness(self, embeddings: np.ndarray) -> np.ndarray:
        """Cosine similarity of each row to its nearest anchor: how much it reads like a mood word."""
        rows = _unit(np.atleast_2d(embeddings))
        return (rows @ self._anchors.T).max(axis=1)


class NearestAnchors:
    """Baseline: similarity-weighted mean rating of the k nearest anchors."""

    def __init__(self, anchor_embeddings: np.ndarray, valence: np.ndarray, arousal: np.ndarray, k: int = 10) -> None:
        self._anchors = _unit(anchor_embeddings)
        self._targets = np.stack([valence, arousal], axis=1)
        self._k = min(k, len(self._anchors))

    def predict(self, embeddings: np.ndarray) -> np.ndarray:
        similarity = _unit(np.atleast_2d(embeddings)) @ self._anchors.T
        nearest = np.argsort(-similarity, axis=1)[:, : self._k]
        weights = np.maximum(np.take_along_axis(similarity, nearest, axis=1), 0.0) + 1e-9
        return (weights[:, :, None] * self._targets[nearest]).sum(axis=1) / weights.sum(axis=1, keepdims=True)


def load_sentiment_lexicon() -> dict[str, float]:
    """VADER's human sentiment ratings of single words, rescaled to -1..1 (word -> valence).

    Source: the vader_lexicon.txt of the vaderSentiment package (MIT; Hutto & Gilbert, ICWSM 2014:
    mean of ten raters per word). Emoticons and multi-word entries are left out. Empty when the
    package is missing, so the read-out alone is used."""
    from importlib import resources

    try:
        text = (resources.files("vaderSentiment") / "vader_lexicon.txt").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError, OSError):
        return {}
    lexicon: dict[str, float] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        word = fields[0]
        if len(fields) < 2 or not word.replace("-", "").replace("'", "").isalpha():
            continue
        try:
            lexicon[word.lower()] = max(-1.0, min(1.0, float(fields[1]) / VADER_RANGE))
        except ValueError:
            continue
    return lexicon


def fit_lexicon_blend(anchor_embeddings: np.ndarray, norms: AffectNorms, lexicon: dict[str, float],
                      folds: int = BLEND_FOLDS, seed: int = 0) -> tuple[float, float, float]:
    """(a, b, c) of valence = a * read-out + b * lexicon + c, by least squares over the anchors the
    lexicon rates, using each anchor's out-of-fold read-out prediction (read-outs fitted without
    it): the blend must weigh the read-out by how it does on unseen words, not on its own anchors,
    where it is near perfect. (1, 0, 0) - the read-out alone - when fewer than 10 anchors are rated."""
    rated = np.array([w in lexicon for w in norms.words])
    if rated.sum() < 10:
        return (1.0, 0.0, 0.0)
    fold_of = np.random.default_rng(seed).permutation(len(norms.words)) % folds
    held_out = np.zeros(len(norms.words))
    for fold in range(folds):
        train, test = fold_of != fold, fold_of == fold
        readout = AffectReadout(anchor_embeddings[train], norms.valence[train], norms.arousal[train])
        held_out[test] = readout.predict(anchor_embeddings[test])[:, 0]
    lexicon_values = np.array([lexicon.get(w, 0.0) for w in norms.words])
    design = np.stack([held_out[rated], lexicon_values[rated], np.ones(int(rated.sum()))], axis=1)
    a, b, c = np.linalg.lstsq(design, norms.valence[rated], rcond=None)[0]
    return (float(a), float(b), float(c))


#: fit_lexicon_blend on the shipped anchors and VADER 3.3.2, rounded (bench/language.py prints the
#: fit; tests/test_language.py checks these still match it). Kept as numbers because the fit costs
#: five read-out fits (~0.3-0.9 s) that every start would otherwise pay.
LEXICON_BLEND = (0.292, 1.064, -0.012)


class LexiconValence:
    """Valence of single words from the embedding read-out and, where VADER rates the word, that
    human rating: valence = a * read-out + b * lexicon + c (LEXICON_BLEND, see fit_lexicon_blend)."""

    def __init__(self, lexicon: dict[str, float], coefficients: tuple[float, float, float] = LEXICON_BLEND) -> None:
        self._lexicon = lexicon
        self.coefficients = coefficients

    def valence(self, words: Sequence[str], readout_valence: np.ndarray) -> np.ndarray:
        """The blended valence of each word (the read-out's where the lexicon has no rating), -1..1."""
        a, b, c = self.coefficients
        out = np.array(readout_valence, dtype=np.float64, copy=True)
        for i, word in enumerate(words):
            rating = self._lexicon.get(word.lower())
            if rating is not None:
                out[i] = a * out[i] + b * rating + c
        return np.clip(out, -1.0, 1.0)
