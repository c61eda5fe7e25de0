"""Scores against the true types: the adjusted Rand index and accuracy after Hungarian matching."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score


def _labels(name: str, labels, n: int | None = None) -> np.ndarray:
    a = np.asarray(labels)
    if a.ndim != 1 or (n is not None and len(a) != n):
        raise ValueError(f"{name} must give one label per neuron ({n}), got shape {a.shape}.")
    return a


def ari(true_types, assignment) -> float:
    """Adjusted Rand index between the true types and a clustering (1 = identical partitions, ~0 = chance)."""
    t = _labels("true_types", true_types)
    return float(adjusted_rand_score(t, _labels("assignment", assignment, len(t))))


def matched_accuracy(true_types, assignment) -> float:
    """Fraction of cells whose cluster maps to their type under the best one-to-one matching of clusters to
    types (Hungarian); cells in clusters left unmatched count as wrong (chance is about 1/types)."""
    t = _labels("true_types", true_types)
    a = _labels("assignment", assignment, len(t))
    _, ti = np.unique(t, return_inverse=True)
    _, ai = np.unique(a, return_inverse=True)
    confusion = np.zeros((ai.max() + 1, ti.max() + 1))
    np.add.at(confusion, (ai, ti), 1)
    rows, cols = linear_sum_assignment(-confusion)
    return float(confusion[rows, cols].sum() / len(t))
