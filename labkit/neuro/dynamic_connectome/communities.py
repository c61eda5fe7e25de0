"""Communities in a motif's weighted graph (stage 3 of Dyballa et al. 2024) and the scores against truth.

The paper turns each NTF factor's pair loadings into a weighted graph and fits a nested weighted
stochastic block model (graph-tool, not on PyPI). We use weighted Louvain modularity maximisation
(Blondel et al. 2008; networkx's ``louvain_communities``), whose objective for a weighted graph is

    Q = (1 / 2m) Σ_ij [ w_ij − γ k_i k_j / 2m ] δ(c_i, c_j),     k_i = Σ_j w_ij,  2m = Σ_ij w_ij,

with resolution γ (1 by default). Louvain is randomised; a fixed seed makes it deterministic.
"""
from __future__ import annotations

import networkx as nx
import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

__all__ = ["detect_communities", "partition_scores", "match_time_factors"]


def detect_communities(weights, *, resolution: float = 1.0, seed: int = 0) -> np.ndarray:
    """Labels (N,) from weighted Louvain on a symmetric non-negative (N, N) matrix.

    Communities are numbered by size (0 = largest); an isolated neuron (all weights zero) forms its
    own community.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"weights must be a square (N, N) matrix, got shape {w.shape}.")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValueError("weights must be finite and non-negative.")
    if not (isinstance(resolution, (int, float)) and resolution > 0):
        raise ValueError(f"resolution must be a positive number, got {resolution!r}.")
    w = (w + w.T) / 2.0
    np.fill_diagonal(w, 0.0)
    n = w.shape[0]
    if w.max() > 0:
        w = w / w.max()            # scale-free: modularity is invariant, this only avoids tiny floats
    g = nx.Graph()
    g.add_nodes_from(range(n))
    i, j = np.nonzero(np.triu(w, 1))
    g.add_weighted_edges_from(zip(i.tolist(), j.tolist(), w[i, j].tolist()))
    comms = nx.community.louvain_communities(g, weight="weight", resolution=resolution, seed=seed)
    comms = sorted((sorted(c) for c in comms), key=lambda c: (-len(c), c[0]))
    labels = np.empty(n, dtype=int)
    for k, c in enumerate(comms):
        labels[c] = k
    return labels


def partition_scores(true_labels, pred_labels) -> dict:
    """Adjusted Rand index and normalised mutual information of two partitions of the same neurons."""
    t = np.asarray(true_labels)
    p = np.asarray(pred_labels)
    if t.shape != p.shape or t.ndim != 1:
        raise ValueError(f"true_labels and pred_labels must be 1-D of the same length, got {t.shape} and {p.shape}.")
    return {"ari": float(adjusted_rand_score(t, p)), "nmi": float(normalized_mutual_info_score(t, p))}


def match_time_factors(time_factors, courses) -> tuple[np.ndarray, np.ndarray]:
    """For each true epoch course (columns of ``courses``, (W, E)) the best-correlated time factor.

    Returns ``best`` (E,) factor indices and ``corr`` (E, R) Pearson correlations (a flat factor
    correlates 0). Several epochs may pick the same factor; that is reported, not hidden.
    """
    f = np.asarray(time_factors, dtype=float)
    c = np.asarray(courses, dtype=float)
    if f.ndim != 2 or c.ndim != 2 or f.shape[0] != c.shape[0]:
        raise ValueError(f"time_factors (W, R) and courses (W, E) must share W, got {f.shape} and {c.shape}.")
    fz = f - f.mean(0)
    cz = c - c.mean(0)
    fn = np.linalg.norm(fz, axis=0)
    cn = np.linalg.norm(cz, axis=0)
    corr = (cz.T @ fz) / np.outer(np.where(cn > 0, cn, 1.0), np.where(fn > 0, fn, 1.0))
    corr[:, fn == 0] = 0.0
    corr[cn == 0, :] = 0.0
    return corr.argmax(axis=1), corr
