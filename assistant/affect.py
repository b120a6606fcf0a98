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


# --------------------------------------------------------------------------------------------
# Arousal cues: musical words a composer hears as tempo and energy

#: Genre, form and scene words that fix how fast and how hard a piece is played, whatever feeling
#: words surround them: (arousal cue -1..1, why). The human ratings (NRC VAD) score these words as
#: words, near neutral arousal ("ballad" 0.0, "funeral" -0.04 as read), but a composer asked for a
#: ballad writes it slow and a march with a steady strong beat. Used by MoodReader only where the
#: words' own arousal reads weak (|arousal| < WEAK_AROUSAL), so they settle a vague request and never
#: override a clear one. Longer phrases win over the words inside them ("funeral march", "slow dance").
#: Written from what the genres are, not fitted to any bench list; bench/mood_requests_heldout.py was
#: written before this list and is the check that it generalises.
AROUSAL_CUES: dict[str, tuple[float, str]] = {
    # calm: slow, soft, little pulse
    "lullaby": (-0.5, "sung to put a child to sleep: slow, soft, rocking"),
    "lullabies": (-0.5, "sung to put a child to sleep: slow, soft, rocking"),
    "ballad": (-0.35, "the pop and jazz ballad is the slow song of a set (about 60-90 BPM)"),
    "ballads": (-0.35, "the pop and jazz ballad is the slow song of a set (about 60-90 BPM)"),
    "funeral": (-0.45, "funeral music is processional and slow (the funeral march walks at ~60 BPM)"),
    "funeral march": (-0.45, "a march at a mourner's walking pace, slower than any other march"),
    "dirge": (-0.5, "a slow, mournful song for the dead"),
    "requiem": (-0.4, "the mass for the dead: slow and solemn"),
    "elegy": (-0.35, "a sung or played lament for the dead: slow, reflective"),
    "lament": (-0.35, "a song of grief: slow, sustained"),
    "hymn": (-0.25, "congregational singing at a walking pace or slower"),
    "nocturne": (-0.35, "a night piece: slow, lyrical, quiet"),
    "serenade": (-0.25, "an evening song sung to a lover: unhurried, soft"),
    "torch song": (-0.3, "a slow sentimental song of unrequited love"),
    "ambient": (-0.4, "ambient music: slow-moving textures with little pulse"),
    "drone": (-0.3, "a held tone: no pulse at all"),
    "slow dance": (-0.35, "a dance danced holding each other, at ballad tempo"),
    "soft": (-0.3, "a dynamic (piano): played quietly"),
    "softly": (-0.3, "a dynamic (piano): played quietly"),
    "quiet": (-0.3, "a dynamic (piano): played quietly"),
    "quietly": (-0.3, "a dynamic (piano): played quietly"),
    "gentle": (-0.3, "played with a light touch and no hurry"),
    "gently": (-0.3, "played with a light touch and no hurry"),
    "cosy": (-0.3, "warm and at rest at home: a composer plays it soft and unhurried"),
    "cozy": (-0.3, "warm and at rest at home: a composer plays it soft and unhurried"),
    # energetic: a strong, quick beat, loud
    "march": (0.3, "a march has a steady, strong beat at about 120 BPM"),
    "anthem": (0.35, "sung by crowds: loud, rousing"),
    "fanfare": (0.45, "a loud brass flourish"),
    "dance": (0.35, "music for dancing has a strong, quick beat"),
    "dancing": (0.35, "music for dancing has a strong, quick beat"),
    "disco": (0.45, "a four-on-the-floor dance beat at about 120 BPM"),
    "techno": (0.5, "a hard, fast electronic dance beat (120-150 BPM)"),
    "rave": (0.5, "all-night fast electronic dance music"),
    "punk": (0.5, "fast, loud, short songs"),
    "metal": (0.5, "heavy metal: loud, distorted, driving"),
    "rock and roll": (0.4, "a fast dance beat with a backbeat"),
    "polka": (0.4, "a quick dance in two"),
    "jig": (0.35, "a quick dance in 6/8"),
    "reel": (0.35, "a quick dance in 4/4"),
    "salsa": (0.4, "a quick Latin dance with busy percussion"),
    "samba": (0.4, "a quick Latin dance with busy percussion"),
    "festival": (0.3, "a crowd outdoors: loud, festive"),
    "carnival": (0.35, "a street festival with drums and dancing"),
    "parade": (0.3, "marching music in the street"),
    "chase": (0.4, "chase scenes are scored fast and urgent"),
    "battle": (0.35, "battle music is loud and percussive"),
    "driving": (0.35, "a driving beat: insistent, propulsive"),
    "upbeat": (0.4, "literally the up-tempo, lively beat"),
}
WEAK_AROUSAL = 0.2  # below this |arousal| the words' own reading is too weak to set the tempo by itself
CUE_WEIGHT = 0.6  # share of the cue in the arousal of a weakly read request
#: a tempo asked for in words or numbers is a cue too: (BPM - TEMPO_CUE_CENTRE) / TEMPO_CUE_SPAN, clipped
TEMPO_CUE_CENTRE = 100.0
TEMPO_CUE_SPAN = 100.0
TEMPO_CUE_LIMIT = 0.5

_CUE_PATTERN = None
_MONTH_BEFORE = __import__("re").compile(r"\b(?:in|of|early|late|since|until|mid|from|through)\s+$", __import__("re").I)


def find_arousal_cues(text: str) -> list[tuple[int, str, float]]:
    """(character offset, cue phrase, arousal cue) of every AROUSAL_CUES phrase in ``text``, longest
    phrases first so a phrase claims its words ("funeral march" is one cue, not two)."""
    import re

    global _CUE_PATTERN
    if _CUE_PATTERN is None:
        phrases = sorted(AROUSAL_CUES, key=len, reverse=True)
        _CUE_PATTERN = re.compile(r"\b(" + "|".join(r"[\s-]+".join(map(re.escape, p.split())) for p in phrases)
                                  + r")\b", re.I)
    found = []
    for match in _CUE_PATTERN.finditer(text):
        phrase = " ".join(match.group(1).lower().replace("-", " ").split())
        if phrase == "march" and _MONTH_BEFORE.search(text[:match.start()]):
            continue  # "in March", "early March": the month
        if phrase in AROUSAL_CUES:
            found.append((match.start(), phrase, AROUSAL_CUES[phrase][0]))
    return found


def tempo_cue(tempo_bpm: float) -> float:
    """The arousal a tempo asked for says by itself (70 BPM -0.3, 140 BPM +0.4)."""
    value = (float(tempo_bpm) - TEMPO_CUE_CENTRE) / TEMPO_CUE_SPAN
    return float(np.clip(value, -TEMPO_CUE_LIMIT, TEMPO_CUE_LIMIT))


def cued_arousal(arousal: float, cues: Sequence[float]) -> float:
    """The arousal of a request with its cues: unchanged when there are none or the words read
    clearly (|arousal| >= WEAK_AROUSAL); else moved CUE_WEIGHT of the way to the cues' mean."""
    if not cues or abs(arousal) >= WEAK_AROUSAL:
        return float(arousal)
    cue = float(np.mean(cues))
    return float(np.clip((1.0 - CUE_WEIGHT) * arousal + CUE_WEIGHT * cue, -1.0, 1.0))
