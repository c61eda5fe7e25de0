"""Semi-nonnegative matrix factorisation as a sparse dictionary (Ding, Li & Jordan 2010; Shafran,
Geiger & Geva 2025): codes ``G >= 0``, free atoms ``F``, fitted by multiplicative updates."""
from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch

from labkit.core.progress import trange
from labkit.interp.sparse_dictionaries.base import SparseDictionary


def _pos_part(A):
    return (A.abs() + A) * 0.5


def _neg_part(A):
    return (A.abs() - A) * 0.5


class SemiNMF(SparseDictionary):
    """Semi-nonnegative matrix factorisation ``X ~ G F``: codes ``G >= 0``, atoms ``F`` free.

    Multiplicative updates of Ding, Li & Jordan (2010, eqs. 8 and 10)::

        F <- (G^T G)^-1 G^T X
        G <- G * sqrt( ([X F^T]^+ + G [F F^T]^-) / ([X F^T]^- + G [F F^T]^+ + l1) )

    with ``A^+ = (|A| + A)/2``, ``A^- = (|A| - A)/2``, started from (spherical) K-means as Ding et
    al. do. ``F`` is free, so without sparsity the factorisation is not unique. ``l1 > 0`` adds an L1
    penalty on ``G`` (the standard sparse semi-NMF extension); ``keep_fraction < 1`` keeps only that fraction of each
    atom's largest entries, the winner-take-all sparsity Shafran et al. (2025) put on the atoms (a
    feature as a few co-active neurons). Atoms are rescaled to unit norm after each update. The
    ``G`` update costs ``n L^2``, so at most ``max_samples`` random rows are used for fitting.
    """

    name = "Semi-NMF"
    _rules: ClassVar[dict[str, Any]] = {
        **SparseDictionary._rules, "n_iter": (int, 1, None), "l1": (float, 0, None),
        "keep_fraction": (float, 0, 1, "right"), "max_samples": (int, 2, None), "encode_iter": (int, 1, None),
        "kmeans_iter": (int, 0, None),
    }

    def __init__(self, n_latents: int, *, n_iter: int = 100, l1: float = 0.0, keep_fraction: float = 1.0,
                 max_samples: int = 8192, encode_iter: int = 50, kmeans_iter: int = 10, device=None, seed: int = 0):
        super().__init__(n_latents, device=device, seed=seed)
        self.n_iter = n_iter
        self.l1 = l1
        self.keep_fraction = keep_fraction
        self.max_samples = max_samples
        self.encode_iter = encode_iter
        self.kmeans_iter = kmeans_iter

    def _update_G(self, X, G, A):
        P, Q = X @ A.T, A @ A.T
        num = _pos_part(P) + G @ _neg_part(Q)
        den = _neg_part(P) + G @ _pos_part(Q) + self.l1
        return G * torch.sqrt(num / den.clamp_min(1e-12))

    def _fit(self, X, Y):
        gen = torch.Generator(device=X.device).manual_seed(self.seed)
        if X.shape[0] > self.max_samples:
            X = X[torch.randperm(X.shape[0], generator=gen, device=X.device)[: self.max_samples]]
        n, d = X.shape
        L = self.n_latents
        # Ding et al. initialise with K-means; here spherical K-means++ (directions, not points),
        # then G = cluster indicator + 0.2 as in their paper.
        U = X / X.norm(dim=1, keepdim=True).clamp_min(1e-8)
        A = U.new_empty(L, d)   # k-means++ seeding (Arthur & Vassilvitskii 2007) on 1 - cosine
        A[0] = U[torch.randint(0, n, (1,), generator=gen, device=X.device)]
        gap = (1 - U @ A[0]).clamp_min(0)
        for j in range(1, L):
            w = gap.pow(2)
            pick = torch.multinomial(w, 1, generator=gen) if float(w.sum()) > 0 else \
                torch.randint(0, n, (1,), generator=gen, device=X.device)
            A[j] = U[pick[0]]
            gap = torch.minimum(gap, (1 - U @ A[j]).clamp_min(0))
        for _ in range(self.kmeans_iter):
            label = (U @ A.T).argmax(1)
            sums = torch.zeros_like(A).index_add_(0, label, U)
            empty = sums.norm(dim=1) < 1e-8
            sums[empty] = U[torch.randint(0, n, (int(empty.sum()),), generator=gen, device=X.device)]
            A = sums / sums.norm(dim=1, keepdim=True).clamp_min(1e-8)
        G = torch.nn.functional.one_hot((U @ A.T).argmax(1), L).float() * X.norm(dim=1, keepdim=True) + 0.2
        history = np.empty(self.n_iter)
        eye = torch.eye(L, device=X.device)
        for it in trange(self.n_iter, desc=self.name):
            GtG = G.T @ G
            ridge = 1e-5 * GtG.diagonal().mean() + 1e-8   # keeps an unused atom from making GtG singular
            A = torch.linalg.solve(GtG + ridge * eye, G.T @ X)
            if self.keep_fraction < 1:
                keep = max(1, math.ceil(self.keep_fraction * d))
                thresh = A.abs().topk(keep, dim=1).values[:, -1:]
                A = A * (A.abs() >= thresh)
            norms = A.norm(dim=1, keepdim=True).clamp_min(1e-8)
            A, G = A / norms, G * norms.T
            G = self._update_G(X, G, A)
            history[it] = float((X - G @ A).pow(2).sum(1).mean())
        self.history_ = history
        self.D_ = A
        self.bias_ = torch.zeros(d, device=X.device)

    def _encode(self, X):
        G = torch.relu(X @ torch.linalg.pinv(self.D_)) + 1e-2
        for _ in range(self.encode_iter):
            G = self._update_G(X, G, self.D_)
        return G
