"""Multifaceted feature visualization (Nguyen, Yosinski & Clune 2016): the facets of a class unit are
the clusters of its training images' penultimate codes (t-SNE to 2-D, then k-means), and each facet gets
its own synthesis, started from the mean of the images nearest its centroid.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from labkit.core.params import ParameterError, check_value


@dataclass
class Facets:
    """``embedding`` (N, 2) t-SNE of the codes; ``labels`` (N,) cluster of each image; ``centroids`` (k, 2);
    ``nearest`` (k, m) the images nearest each centroid (indices into the codes)."""
    embedding: np.ndarray
    labels: np.ndarray
    centroids: np.ndarray
    nearest: np.ndarray


def facets(codes: np.ndarray, k: int, *, n_nearest: int = 15, perplexity: float = 30.0, seed: int = 0) -> Facets:
    """t-SNE of ``codes`` (N, D) to 2-D, k-means into ``k`` facets, and the ``n_nearest`` images nearest each
    centroid (the paper: k = 10, 15 images)."""
    from sklearn.cluster import KMeans
    from sklearn.manifold import TSNE

    codes = np.asarray(codes, np.float64)
    if codes.ndim != 2 or len(codes) < 2:
        raise ParameterError(f"Parameter 'codes' of facets must be a 2-D array of at least 2 rows, got {codes.shape}.")
    k = check_value("k", k, (int, 2, None), "facets")
    if k > len(codes):
        raise ParameterError(f"Parameter 'k' of facets ({k}) is above the number of images ({len(codes)}).")
    n_nearest = min(check_value("n_nearest", n_nearest, (int, 1, None), "facets"), len(codes))
    perp = min(perplexity, (len(codes) - 1) / 3)
    method = "exact" if len(codes) <= 1000 else "barnes_hut"          # exact is faster on a few hundred codes
    emb = TSNE(2, perplexity=perp, init="pca", method=method, random_state=seed).fit_transform(codes)
    km = KMeans(k, n_init=10, random_state=seed).fit(emb)
    dist = ((emb[:, None, :] - km.cluster_centers_[None]) ** 2).sum(-1)
    nearest = np.argsort(dist, axis=0, kind="stable")[:n_nearest].T
    return Facets(emb, km.labels_, km.cluster_centers_, nearest)


def match_clusters(labels: np.ndarray, truth: np.ndarray, candidates) -> np.ndarray:
    """Assign each cluster 0..k-1 one of ``candidates`` (distinct, Hungarian on the contingency counts)."""
    labels, truth = np.asarray(labels), np.asarray(truth)
    k = int(labels.max()) + 1
    cont = np.array([[np.sum((labels == j) & (truth == c)) for c in candidates] for j in range(k)])
    rows, cols = linear_sum_assignment(-cont)
    out = np.full(k, -1)
    out[rows] = np.asarray(candidates)[cols]
    return out


def facet_starts(images: np.ndarray, f: Facets) -> np.ndarray:
    """mfv's starting points: the mean picture of the images nearest each centroid. (k, 3, H, W)."""
    return np.asarray(images)[f.nearest].mean(1)
