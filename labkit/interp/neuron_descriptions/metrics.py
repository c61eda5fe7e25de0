"""Scores of descriptions: exact match, slot-level F1, precision on exemplars, detection AUROC."""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from labkit.core.params import ParameterError
from labkit.data.scenes import Grammar, Scenes


def exact_match(chosen, truth) -> np.ndarray:
    """(U,) bool: the chosen description is the planted one."""
    return np.asarray(chosen) == np.asarray(truth)


def slot_f1(grammar: Grammar, chosen, truth) -> np.ndarray:
    """(U,) F1 between the words (slot values, relation, "or") of the chosen and the true descriptions."""
    a = grammar.atoms[np.asarray(chosen)]
    b = grammar.atoms[np.asarray(truth)]
    both = (a & b).sum(1)
    p = both / np.maximum(a.sum(1), 1)
    r = both / np.maximum(b.sum(1), 1)
    return np.where(both > 0, 2 * p * r / np.maximum(p + r, 1e-12), 0.0)


def description_precision(grammar: Grammar, scenes: Scenes, images: np.ndarray, masks: np.ndarray,
                          descriptions) -> np.ndarray:
    """(U,) the share of each unit's exemplar regions (``images`` (U, k), ``masks`` (U, k, h, w)) on which
    its description holds."""
    U, k = images.shape
    truth = grammar.truth(scenes, masks.reshape(U * k, *masks.shape[2:]), images.ravel())
    held = truth[np.arange(U * k), np.repeat(np.asarray(descriptions), k)]
    return held.reshape(U, k).mean(1)


def auroc(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """AUROC of each column of ``scores`` (n, U) against the boolean column of ``labels`` (n, U) (ties
    count one half; NaN where a column has only one class)."""
    labels = np.asarray(labels, bool)
    scores = np.asarray(scores, float)
    if labels.shape != scores.shape:
        raise ParameterError(f"labels {labels.shape} and scores {scores.shape} must have the same shape.")
    ranks = rankdata(scores, axis=0)
    pos = labels.sum(0)
    neg = len(labels) - pos
    u = (ranks * labels).sum(0) - pos * (pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((pos > 0) & (neg > 0), u / (pos * neg), np.nan)


def detection_score(grammar: Grammar, scenes: Scenes, peaks: np.ndarray, descriptions) -> np.ndarray:
    """(U,) AUROC of "the description holds in the scene" against each unit's peak activation there, on
    held-out ``scenes``; ``peaks`` (n_scenes, U)."""
    holds = grammar.participation(scenes).any(1)[:, np.asarray(descriptions)]
    return auroc(holds, peaks)
