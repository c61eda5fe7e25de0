"""Dynamic functional connectomes: affinities → non-negative tensor factorization → communities.

Follows L. Dyballa, S. Lang, A. Haslund-Gourley, E. Yemini & S. W. Zucker (2024), *Learning dynamic
representations of the functional connectome in neurobiological networks*, ICLR 2024
(github dyballa/dynamic-connectomes). Three stages:

1. :func:`windowed_affinity` — a non-linear, derivative-based affinity between every pair of neurons
   in sliding windows, per animal: a non-negative tensor (pairs × windows × animals);
2. :class:`NTF` — non-negative CP/PARAFAC of that tensor (batched HALS in PyTorch): each component
   is a *functional motif* (pair loadings), a time course and an animal loading;
3. :func:`detect_communities` — weighted community detection in each motif's graph.

:class:`DynamicConnectome` runs the three; :func:`simulate_dynamic_connectome` makes data with known
communities and epochs; :func:`rank_scan` and :func:`choose_rank` choose the number of components.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.neuro.dynamic_connectome.affinity import (KERNELS, Affinity, derivative_z, pairs_to_matrix,
                                                      static_correlation, windowed_affinity)
from labkit.neuro.dynamic_connectome.communities import detect_communities, match_time_factors, partition_scores
from labkit.neuro.dynamic_connectome.ntf import (NTF, core_consistency, cp_reconstruct, factor_similarity, max_cp_rank,
                                                 ntf_hals)
from labkit.neuro.dynamic_connectome.simulate import (DynamicConnectomeData, epoch_courses, epoch_mean_matrices,
                                                      random_backbone, simulate_dynamic_connectome)

__all__ = ["DynamicConnectome", "rank_scan", "choose_rank", "evaluate", "core_consistency", "windowed_affinity", "Affinity", "KERNELS", "derivative_z",
           "pairs_to_matrix", "static_correlation", "detect_communities", "partition_scores", "match_time_factors",
           "NTF", "ntf_hals", "cp_reconstruct", "factor_similarity", "max_cp_rank", "DynamicConnectomeData",
           "simulate_dynamic_connectome", "random_backbone", "epoch_courses", "epoch_mean_matrices"]


class DynamicConnectome:
    """The whole pipeline, read like a scikit-learn estimator.

    Parameters: ``rank`` (NTF components), ``window`` and ``step`` (samples), ``smooth`` (derivative
    smoothing, samples), ``kernel`` (see :mod:`.affinity`), ``n_restarts``, ``max_iter``, ``tol``,
    ``resolution`` (Louvain), ``seed``, ``device``.

    After ``fit(traces)`` ((animals, neurons, time)): ``affinity_`` (:class:`Affinity`), ``ntf_``
    (:class:`NTF`), ``motifs_`` (R, N, N) pair loadings as matrices, ``time_factors_`` (W, R),
    ``animal_factors_`` (A, R), ``weights_`` (R,), ``communities_`` (R, N) labels per motif.
    """

    def __init__(self, rank: int = 4, *, window: int = 80, step: int | None = None, smooth: float = 2.0,
                 kernel: str = "coactivation", n_restarts: int = 8, max_iter: int = 500, tol: float = 1e-6,
                 resolution: float = 1.0, on_constant: str = "raise", seed: int = 0, device="cpu"):
        self.rank = rank
        self.window = window
        self.step = step
        self.smooth = smooth
        self.kernel = kernel
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.tol = tol
        self.resolution = resolution
        self.on_constant = on_constant
        self.seed = seed
        self.device = device

    def fit(self, traces, progress=None) -> "DynamicConnectome":
        self.affinity_ = windowed_affinity(traces, window=self.window, step=self.step, smooth=self.smooth,
                                           kernel=self.kernel, on_constant=self.on_constant, device=self.device)
        self.ntf_ = NTF(self.rank, n_restarts=self.n_restarts, max_iter=self.max_iter, tol=self.tol,
                        seed=self.seed, device=self.device).fit(self.affinity_.tensor, progress=progress)
        pair_f, time_f, animal_f = self.ntf_.factors_
        n = self.affinity_.n_neurons
        self.motifs_ = np.stack([pairs_to_matrix(pair_f[:, r], n, self.affinity_.pairs) for r in range(self.rank)])
        self.time_factors_ = time_f
        self.animal_factors_ = animal_f
        self.weights_ = self.ntf_.weights_
        self.communities_ = np.stack([
            detect_communities(m, resolution=self.resolution, seed=self.seed) if m.max() > 0 else np.arange(n)
            for m in self.motifs_])
        return self


def rank_scan(tensor, ranks, *, n_restarts: int = 4, max_iter: int = 300, tol: float = 1e-6, seed: int = 0,
              device="cpu", progress=None) -> dict:
    """Fit ``n_restarts`` NTF models at each rank (one batch per rank); return, per rank, the final
    relative errors of every restart (``errors``: (len(ranks), n_restarts)), the mean
    :func:`factor_similarity` of the other restarts to the best one (``similarity``) and the
    :func:`core_consistency` of the best restart (``core_consistency``, percent)."""
    ranks = [int(r) for r in ranks]
    if not ranks or min(ranks) < 1:
        raise ValueError(f"ranks must be positive integers, got {ranks!r}.")
    if n_restarts < 2:
        raise ValueError(f"n_restarts must be >= 2 to measure stability, got {n_restarts!r}.")
    errors, sims, cores = [], [], []
    it = ranks if progress is None else progress(ranks)
    for r in it:
        m = NTF(r, n_restarts=n_restarts, max_iter=max_iter, tol=tol, seed=seed + 1000 * r, device=device).fit(tensor)
        errors.append(m.restart_errors_)
        sims.append(m.stability())
        cores.append(core_consistency(tensor, m.factors_, m.weights_))
    return {"ranks": np.array(ranks), "errors": np.array(errors), "similarity": np.array(sims),
            "core_consistency": np.array(cores)}


def choose_rank(scan: dict, min_core_consistency: float = 90.0, min_gain: float = 0.01) -> int:
    """The rank to fit, read off a :func:`rank_scan`: the largest scanned rank such that it and every
    smaller scanned rank (1) keep a core consistency of at least ``min_core_consistency`` percent
    (Bro & Kiers 2003: near 100 for an appropriate PARAFAC model, below about 50 for a wrong one) and
    (2) lower the best relative error of the rank before by at least ``min_gain`` (relative): under
    non-negativity an extra component of negligible weight can leave the core almost superdiagonal,
    but a component that explains nothing is not one. The restarts' similarity is not used: a model
    one component too large can be perfectly reproducible when the extra component always splits the
    same real one. Returns the smallest scanned rank if no rank qualifies beyond it."""
    ranks = np.asarray(scan["ranks"])
    core = np.asarray(scan["core_consistency"], dtype=float)
    best = np.asarray(scan["errors"], dtype=float).min(axis=1) if "errors" in scan else None
    order = np.argsort(ranks)
    chosen = int(ranks[order[0]])
    for k, i in enumerate(order):
        if not core[i] >= min_core_consistency:
            break
        if k > 0 and best is not None and not best[i] <= (1.0 - min_gain) * best[order[k - 1]]:
            break
        chosen = int(ranks[i])
    return chosen


def evaluate(model: DynamicConnectome, data: DynamicConnectomeData) -> dict:
    """Score a fitted model against a simulation's truth.

    For each epoch type: the time factor that correlates best with the epoch's course (fraction of
    each window in the epoch), that correlation, and the ARI/NMI between the communities of that
    factor's motif and the epoch's true partition. Also the static baseline (one correlation matrix
    over all time, Louvain) scored against every epoch's partition.
    """
    aff = model.affinity_
    courses = epoch_courses(data.epoch_of_sample, len(data.epoch_names), aff.window, aff.step)
    best, corr = match_time_factors(model.time_factors_, courses)
    per_epoch = []
    static_labels = detect_communities(static_correlation(data.traces), resolution=model.resolution, seed=model.seed)
    for e, name in enumerate(data.epoch_names):
        r = int(best[e])
        dyn = partition_scores(data.communities[e], model.communities_[r])
        sta = partition_scores(data.communities[e], static_labels)
        per_epoch.append({"epoch": name, "factor": r, "time_corr": float(corr[e, r]), "ari": dyn["ari"],
                          "nmi": dyn["nmi"], "static_ari": sta["ari"], "static_nmi": sta["nmi"]})
    return {"per_epoch": per_epoch, "courses": courses, "corr": corr, "best": best, "static_labels": static_labels}
