"""Scoring a switching model against the truth: Hungarian state matching, accuracy, backbone ROC."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["match_states", "state_accuracy", "backbone_roc", "off_diagonal", "signed_accuracy"]


def match_states(true_states, predicted_states, n_states: int | None = None) -> np.ndarray:
    """The permutation ``perm`` with ``perm[k_true] = k_model`` that maximises agreement (Hungarian
    algorithm on the confusion matrix; Kuhn 1955). Works when the model has more states than the truth."""
    t = np.asarray(true_states).ravel()
    p = np.asarray(predicted_states).ravel()
    if t.shape != p.shape:
        raise ValueError(f"true_states and predicted_states must have the same shape, got {np.shape(true_states)} "
                         f"and {np.shape(predicted_states)}.")
    k_true = int(t.max()) + 1
    k_model = max(int(p.max()) + 1, n_states or 0)
    if k_model < k_true:
        k_model = k_true
    confusion = np.zeros((k_true, k_model), dtype=np.int64)
    np.add.at(confusion, (t, p), 1)
    rows, cols = linear_sum_assignment(confusion, maximize=True)
    perm = np.empty(k_true, dtype=np.int64)
    perm[rows] = cols
    return perm


def state_accuracy(true_states, predicted_states) -> float:
    """Fraction of bins whose predicted state, after the best relabelling, equals the true one."""
    t = np.asarray(true_states).ravel()
    p = np.asarray(predicted_states).ravel()
    perm = match_states(t, p)
    inverse = np.full(max(int(p.max()) + 1, perm.max() + 1), -1)
    inverse[perm] = np.arange(len(perm))
    return float(np.mean(inverse[p] == t))


def off_diagonal(matrix) -> np.ndarray:
    """The off-diagonal entries of a square matrix (or of each matrix in a stack), flattened."""
    m = np.asarray(matrix)
    n = m.shape[-1]
    mask = ~np.eye(n, dtype=bool)
    return m[..., mask]


def backbone_roc(score, adjacency) -> tuple[np.ndarray, np.ndarray, float]:
    """ROC curve (false-positive rate, true-positive rate) and AUC of a connection score against a
    backbone, over the off-diagonal pairs."""
    from sklearn.metrics import roc_auc_score, roc_curve

    y = off_diagonal(np.asarray(adjacency, dtype=bool))
    s = off_diagonal(np.asarray(score, dtype=float))
    if y.all() or not y.any():
        raise ValueError("adjacency must contain both connected and unconnected pairs to compute an ROC curve.")
    fpr, tpr, _ = roc_curve(y, s)
    return fpr, tpr, float(roc_auc_score(y, s))


def signed_accuracy(true_weights, fitted_weights) -> float:
    """Balanced accuracy of the connection types, {inhibitory, absent, excitatory} = sign of W, over every
    state's off-diagonal pairs: the mean over the three true types of the fraction called right.

    What the one-hot prior adds is exactly this: couplings that are signed and exactly zero where absent. A
    constant guess scores 1/3; a dense model (no exact zeros, as the plain and Gaussian HMM-GLMs) at most
    2/3, however good its signs. States must already be aligned to the truth (``align_states``)."""
    t = np.sign(off_diagonal(np.asarray(true_weights, dtype=float))).ravel()
    f = np.sign(off_diagonal(np.asarray(fitted_weights, dtype=float))).ravel()
    if t.shape != f.shape:
        raise ValueError(f"true_weights and fitted_weights must have the same shape, got {np.shape(true_weights)} "
                         f"and {np.shape(fitted_weights)}.")
    return float(np.mean([np.mean(f[t == c] == c) for c in (-1.0, 0.0, 1.0) if (t == c).any()]))
