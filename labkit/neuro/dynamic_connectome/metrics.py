"""Scores of a CP model: its reconstruction, the core consistency that chooses its rank, and the similarity
of two models (for the stability of restarts)."""
from __future__ import annotations

import numpy as np

__all__ = ["cp_reconstruct", "core_consistency", "factor_similarity"]


def cp_reconstruct(factors, weights=None) -> np.ndarray:
    """The full tensor Σ_r λ_r a_r ∘ b_r ∘ c_r from factors (I,R), (J,R), (K,R)."""
    A, B, C = (np.asarray(f, dtype=float) for f in factors)
    lam = np.ones(A.shape[1]) if weights is None else np.asarray(weights, dtype=float)
    return np.einsum("ir,jr,kr,r->ijk", A, B, C, lam)


def core_consistency(X, factors, weights=None) -> float:
    """The core consistency diagnostic of a CP model (CORCONDIA; Bro & Kiers 2003, eq. 6), in percent.

    The least-squares Tucker core of ``X`` given the CP factors, ``G = X ×₁ A⁺ ×₂ B⁺ ×₃ C⁺``, is
    compared with the superdiagonal core ``T`` a true CP structure would give::

        CORCONDIA = 100 · (1 − ‖G − T‖²_F / R).

    It stays near 100 while every component is a real trilinear structure and falls (often below 0)
    once extra components only split or mix real ones: the usual way to choose a PARAFAC rank. The
    weights are folded into the first mode's factor.
    """
    A, B, C = (np.asarray(f, dtype=float) for f in factors)
    if weights is not None:
        A = A * np.asarray(weights, dtype=float)[None, :]
    X = np.asarray(X, dtype=float)
    R = A.shape[1]
    G = np.tensordot(np.linalg.pinv(A), X, axes=(1, 0))                 # (R, J, K)
    G = np.tensordot(G, np.linalg.pinv(B), axes=(1, 1))                 # (R, K, R)
    G = np.tensordot(G, np.linalg.pinv(C), axes=(1, 1))                 # (R, R, R): [a, b, c]
    T = np.zeros((R, R, R))
    T[np.arange(R), np.arange(R), np.arange(R)] = 1.0
    return float(100.0 * (1.0 - ((G - T) ** 2).sum() / R))


def factor_similarity(factors_a, factors_b) -> float:
    """Similarity of two CP models (Tomasi & Bro 2006; tensortools' ``kruskal_align`` score).

    Components are matched one-to-one (Hungarian algorithm) by the product over modes of the cosine
    of their columns; the score is the mean matched product, 1 for identical models up to permutation
    and scaling. Models of different rank are scored over the smaller one's components.
    """
    from scipy.optimize import linear_sum_assignment

    sim = None
    for fa, fb in zip(factors_a, factors_b):
        fa = np.asarray(fa, dtype=float)
        fb = np.asarray(fb, dtype=float)
        na = fa / np.maximum(np.linalg.norm(fa, axis=0, keepdims=True), 1e-300)
        nb = fb / np.maximum(np.linalg.norm(fb, axis=0, keepdims=True), 1e-300)
        s = na.T @ nb
        sim = s if sim is None else sim * s
    rows, cols = linear_sum_assignment(-sim)
    return float(sim[rows, cols].mean())
