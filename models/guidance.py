"""Chord sampling that favours what distinguishes the requested classes over what all classes share.

Two ways, side by side (issue 15, item 3; measured by bench/mood_carried.py):

* **Guided (contrastive) sampling.** At every step the next chord is drawn from
  p_g(x) ∝ p(x | c)^(1+g) / p(x)^g, i.e. guided logits (1+g)·log p(x|c) − g·log p(x), where
  p(x | c) is the requested class mixture (the generator's weighted product of the class experts)
  and p(x) the all-class reference (the same product with equal weights: what every class
  shares). g = 0 is the plain distribution; larger g sharpens towards the class's own chords.
* **Reranking.** Draw K cheap candidates from the plain generator and keep the one whose chords
  the classes' CRBMs find most typical of the requested mixture against all classes: the
  posterior log sum_k w_k p(k | chords) with a uniform prior (the shipped classifier's harmony
  likelihoods, read only).

models.generation applies the guidance inside its product of experts (GenerationOptions.guidance:
the guided logits are a re-weighting of the class experts, so they cost nothing extra) and offers
reranking (models.generation.reranked_generate); this module holds the arithmetic and the score.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from models.chord_states import NUM_STATES, chord_state_index
from models.errors import InvalidModelInput
from models.vocabulary import FRAME_TONIC, QUALITY_BY_NAME, ChordEvent

MAX_GUIDANCE = 10.0  # larger g collapses the distribution onto one chord; refused above this
DEFAULT_CANDIDATES = 8  # reranking: candidates drawn per composition


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    m = np.max(np.where(np.isfinite(x), x, -np.inf), axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return x - m - np.log(np.exp(x - m).sum(axis=-1, keepdims=True))


def check_guidance(g) -> float:
    """g as a float 0..MAX_GUIDANCE; InvalidModelInput naming the value otherwise."""
    try:
        value = float(g)
    except (TypeError, ValueError):
        raise InvalidModelInput(f"guidance {g!r} not allowed; allowed: a number 0..{MAX_GUIDANCE:g}") from None
    if isinstance(g, bool) or not 0.0 <= value <= MAX_GUIDANCE:
        raise InvalidModelInput(f"guidance {g!r} not allowed; allowed: a number 0..{MAX_GUIDANCE:g}")
    return value


def guided_logits(conditional_log_p: np.ndarray, reference_log_p: np.ndarray, g: float) -> np.ndarray:
    """(1+g)·log p(x|c) − g·log p(x), over the last axis (unnormalised: softmax it to sample).

    States impossible under p(x|c) stay impossible; a state the reference gives zero probability
    but the condition does not would get +inf, so it is treated as impossible too (the reference
    is a product of all experts, so this does not happen with finite experts)."""
    g = check_guidance(g)
    conditional = np.asarray(conditional_log_p, np.float64)
    reference = np.asarray(reference_log_p, np.float64)
    if conditional.shape != reference.shape:
        raise InvalidModelInput(f"log-probability shapes differ: {conditional.shape} vs {reference.shape}; "
                                "allowed: the same states in both")
    if g == 0.0:
        return conditional.copy()
    ok = np.isfinite(conditional) & np.isfinite(reference)
    out = np.full(conditional.shape, -np.inf)
    out[ok] = (1.0 + g) * conditional[ok] - g * reference[ok]
    return out


def guided_log_probs(conditional_log_p: np.ndarray, reference_log_p: np.ndarray, g: float) -> np.ndarray:
    """The normalised guided distribution, log p_g(x)."""
    return _log_softmax(guided_logits(conditional_log_p, reference_log_p, g))


def mixture_log_probs(class_log_probs: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """log p(x | weights) of the weighted product of experts from per-class log p_k(x), shape
    (..., K, S) -> (..., S): log_softmax(sum_k w_k log p_k(x)). Equal to models.generation's
    softmax(sum_k w_k (-F_k(x))): each log p_k differs from -F_k by a constant over x."""
    w = np.asarray(weights, np.float64)
    return _log_softmax(np.einsum("...ks,k->...s", np.asarray(class_log_probs, np.float64), w))


def colour_bias(mode: str, colours: Sequence[tuple[int, str]], weight: float) -> np.ndarray:
    """Extra logit ``weight`` on every state (any bass) of the colour chords, given as (root above the
    tonic, quality name), in the key-normalised frame of ``mode`` (assistant.expression's borrowed
    chords of a mixed mood)."""
    bias = np.zeros(NUM_STATES)
    if not colours or weight == 0:
        return bias
    for relative, quality in colours:
        if quality not in QUALITY_BY_NAME:
            raise InvalidModelInput(f"colour chord quality {quality!r} not found; available: {list(QUALITY_BY_NAME)}")
        root = (FRAME_TONIC[mode] + int(relative)) % 12
        for bass in range(12):
            bias[chord_state_index(ChordEvent(root, QUALITY_BY_NAME[quality], bass, 1.0))] += weight
    return bias


def contrastive_harmony_score(model_set, class_weights: Mapping[str, float], events: Sequence[ChordEvent]) -> float:
    """How typical the chords are of the requested mixture against all classes: log sum_k w_k p(k | chords)
    with a uniform class prior, p(k | chords) from the class CRBMs' exact chord log-likelihoods
    (models.classification.harmony_log_likelihood_parts, chords part only: the rhythm and mode are
    the plan's, not evidence of the class)."""
    from models.classification import harmony_log_likelihood_parts

    weights = model_set.validate_weights(class_weights)
    parts = harmony_log_likelihood_parts(model_set, events)
    names = model_set.class_names
    chords = np.asarray([parts[n][0] for n in names])
    posterior = chords - np.logaddexp.reduce(chords)
    w = np.asarray([weights[n] for n in names])
    keep = w > 0
    return float(np.logaddexp.reduce(np.log(w[keep]) + posterior[keep]))
