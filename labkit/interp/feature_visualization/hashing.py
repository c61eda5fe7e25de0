"""Networks as hash encoders (He & Su 2022): the on/off pattern of a ReLU layer names the linear region an
input falls in. With enough units, every training input gets its own region (the redundancy ratio falls to
0), and the codes still carry the classes: k-means, nearest neighbours under Hamming distance and logistic
regression classify from the code alone.
"""
from __future__ import annotations

import warnings
from math import comb

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from labkit.core.params import ParameterError, check_value

RELU_LIKE = (torch.nn.ReLU, torch.nn.LeakyReLU, torch.nn.ReLU6, torch.nn.PReLU)


@torch.no_grad()
def activation_codes(model: torch.nn.Module, x) -> np.ndarray:
    """Binary codes (N, units): 1 where a ReLU-like unit's input is positive, over every ReLU-like module
    in order."""
    mods = [m for m in model.modules() if isinstance(m, RELU_LIKE)]
    if not mods:
        raise ParameterError(f"Parameter 'model' of activation_codes has no ReLU-like units ({type(model).__name__}).")
    codes = []
    hooks = [m.register_forward_hook(lambda _m, inp, _o: codes.append((inp[0] > 0).flatten(1))) for m in mods]
    try:
        model(torch.as_tensor(np.asarray(x), dtype=torch.float32))
    finally:
        for h in hooks:
            h.remove()
    return torch.cat(codes, 1).numpy().astype(np.uint8)


def _binary(codes, owner: str) -> np.ndarray:
    c = np.asarray(codes)
    if c.ndim != 2 or c.size == 0 or not np.isin(c, (0, 1)).all():
        raise ParameterError(f"Parameter 'codes' of {owner} must be a non-empty 2-D matrix of 0s and 1s.")
    return c.astype(np.uint8)


def redundancy_ratio(codes) -> float:
    """(N − number of distinct codes) / N, after dropping bits that are constant over the N codes."""
    c = _binary(codes, "redundancy_ratio")
    c = c[:, c.min(0) != c.max(0)]
    n_unique = len(np.unique(c, axis=0)) if c.shape[1] else 1
    return (len(c) - n_unique) / len(c)


def region_bound(n: int, d: int) -> int:
    """Zaslavsky's bound: n hyperplanes (units) cut R^d into at most Σ_{i=0}^{d} C(n, i) regions."""
    n = check_value("n", n, (int, 0, None), "region_bound")
    d = check_value("d", d, (int, 0, None), "region_bound")
    return sum(comb(n, i) for i in range(min(n, d) + 1))


def kmeans_accuracy(codes, labels, k: int = 10, seed: int = 0) -> float:
    """k-means on the codes, clusters matched one-to-one to classes (Hungarian); the accuracy of that map."""
    from sklearn.cluster import KMeans
    from sklearn.exceptions import ConvergenceWarning

    c = _binary(codes, "kmeans_accuracy").astype(np.float64)
    labels = np.asarray(labels)
    with warnings.catch_warnings():          # a narrow layer has fewer distinct codes than k: expected, not news
        warnings.simplefilter("ignore", ConvergenceWarning)
        pred = KMeans(k, n_init=4, random_state=seed).fit_predict(c)
    classes = np.unique(labels)
    cont = np.array([[np.sum((pred == j) & (labels == y)) for y in classes] for j in range(k)])
    rows, cols = linear_sum_assignment(-cont)
    return float(cont[rows, cols].sum() / len(labels))


def knn_accuracy(train_codes, train_labels, test_codes, test_labels, k: int = 9) -> float:
    """k-nearest-neighbour vote under Hamming distance, trained on ``train_codes``."""
    a = _binary(train_codes, "knn_accuracy").astype(np.float32)
    b = _binary(test_codes, "knn_accuracy").astype(np.float32)
    ham = a.sum(1)[None, :] + b.sum(1)[:, None] - 2 * b @ a.T                      # (test, train)
    nn_idx = np.argsort(ham, axis=1, kind="stable")[:, :k]
    votes = np.asarray(train_labels)[nn_idx]
    n_cls = int(max(np.max(train_labels), np.max(test_labels))) + 1
    counts = np.zeros((len(b), n_cls))
    np.add.at(counts, (np.arange(len(b))[:, None].repeat(k, 1), votes), 1)
    return float(np.mean(counts.argmax(1) == np.asarray(test_labels)))


def logistic_accuracy(train_codes, train_labels, test_codes, test_labels) -> float:
    """Logistic regression on the codes."""
    from sklearn.linear_model import LogisticRegression

    a = _binary(train_codes, "logistic_accuracy")
    b = _binary(test_codes, "logistic_accuracy")
    clf = LogisticRegression(max_iter=500).fit(a, train_labels)
    return float(clf.score(b, test_labels))
