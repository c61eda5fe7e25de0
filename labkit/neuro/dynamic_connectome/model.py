"""The estimators: :class:`NTF` (non-negative CP with batched restarts, on :func:`~.ntf.ntf_hals`) and
:class:`DynamicConnectome`, the whole pipeline (affinities, NTF, communities) as one estimator."""
from __future__ import annotations

import warnings

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.estimator import Estimator
from labkit.core.params import nullable
from labkit.neuro.dynamic_connectome.affinity import KERNELS, pairs_to_matrix, windowed_affinity
from labkit.neuro.dynamic_connectome.communities import detect_communities
from labkit.neuro.dynamic_connectome.metrics import cp_reconstruct, factor_similarity
from labkit.neuro.dynamic_connectome.ntf import ntf_hals

__all__ = ["NTF", "DynamicConnectome"]

_COUNT = (int, 1, None)
_POSITIVE = (float, 0, None, "neither")


class NTF(Estimator):
    """Non-negative CP decomposition with batched restarts, read like a scikit-learn estimator.

    Parameters: ``rank``; ``n_restarts`` random starts fitted as one batch (the best, lowest final
    error, is kept); ``max_iter``; ``tol`` (relative error decrease that counts as converged);
    ``inner_iter`` HALS sweeps per factor update; ``seed``; ``device``; ``dtype``; ``compress``
    (Tucker compression first, see :func:`ntf_hals`).

    After ``fit(X)``: ``factors_`` (three arrays (I_n, R), unit-norm columns, components sorted by
    weight), ``weights_`` (R,), ``errors_`` (relative error history of the kept restart),
    ``error_`` (its final relative error), ``n_iter_`` (iterations on X), ``compressed_iter_``
    (iterations on the Tucker core before those; 0 when not compressed), ``compressed_errors_`` (X's
    error estimated on the core over those), ``converged_``, ``restart_errors_`` (S,),
    ``restart_factors_`` (the S models, for stability across restarts), ``dead_components_``
    (indices of components whose weight collapsed to zero: possible when the rank exceeds what the
    data hold; they are kept as zero columns, never NaN, and a warning says so).
    """

    _rules = {"rank": _COUNT, "n_restarts": _COUNT, "max_iter": _COUNT, "tol": (float, 0, None),
              "inner_iter": _COUNT, "extrapolate": bool, "seed": "seed", "device": "device",
              "dtype": [torch.float32, torch.float64]}

    def __init__(self, rank: int = 2, *, n_restarts: int = 1, max_iter: int = 500, tol: float = 1e-6,
                 inner_iter: int = 3, extrapolate: bool = True, seed: int = 0, device="cpu",
                 dtype=torch.float32, compress="auto"):
        self.rank = rank
        self.n_restarts = n_restarts
        self.max_iter = max_iter
        self.tol = tol
        self.inner_iter = inner_iter
        self.extrapolate = extrapolate
        self.seed = seed
        self.device = device
        self.dtype = dtype
        self.compress = compress

    def fit(self, X, progress=None) -> NTF:
        """Fit the restarts as one batch (:func:`ntf_hals`) and keep the best; ``compress`` is checked there."""
        self._validate()
        self.device_ = resolve_device(self.device)
        res = ntf_hals(X, self.rank, n_restarts=self.n_restarts, max_iter=self.max_iter, tol=self.tol,
                       inner_iter=self.inner_iter, extrapolate=self.extrapolate, seed=self.seed, device=self.device_,
                       dtype=self.dtype, progress=progress, compress=self.compress)
        final = torch.stack([res.errors[s, int(res.n_iter[s]) - 1] for s in range(res.errors.shape[0])])
        best = int(torch.argmin(final))
        self.result_ = res
        self.best_restart_ = best
        self.restart_errors_ = final.numpy()
        self.restart_factors_ = [[F[s].cpu().double().numpy() for F in res.factors] for s in range(len(final))]
        self.factors_ = self.restart_factors_[best]
        self.weights_ = res.weights[best].cpu().double().numpy()
        self.errors_ = res.errors[best, : int(res.n_iter[best])].numpy()
        self.error_ = float(self.errors_[-1])
        self.n_iter_ = int(res.n_iter[best])
        self.compressed_iter_ = int(res.compressed_iter[best])
        self.compressed_errors_ = res.compressed_errors[best, : self.compressed_iter_].numpy()
        self.converged_ = bool(res.converged[best])
        scale = max(float(self.weights_.max()), 1e-300)
        self.dead_components_ = [int(r) for r in np.nonzero(self.weights_ < 1e-6 * scale)[0]]
        if self.dead_components_:
            warnings.warn(f"NTF: {len(self.dead_components_)} of {self.rank} components collapsed to zero "
                          f"(the data support fewer components); they are kept as zero columns.",
                          RuntimeWarning, stacklevel=2)
        return self

    def stability(self) -> float:
        """Mean pairwise :func:`factor_similarity` of the restarts to the best one (1 = same model)."""
        self._check_fitted("restart_factors_")
        if len(self.restart_factors_) < 2:
            raise ValueError("stability needs n_restarts >= 2.")
        best = self.restart_factors_[self.best_restart_]
        sims = [factor_similarity(best, f) for s, f in enumerate(self.restart_factors_) if s != self.best_restart_]
        return float(np.mean(sims))

    def reconstruct(self) -> np.ndarray:
        """The fitted tensor Σ_r λ_r a_r ∘ b_r ∘ c_r."""
        self._check_fitted("factors_")
        return cp_reconstruct(self.factors_, self.weights_)


class DynamicConnectome(Estimator):
    """The whole pipeline, read like a scikit-learn estimator.

    Parameters: ``rank`` (NTF components), ``window`` and ``step`` (samples), ``smooth`` (derivative
    smoothing, samples), ``kernel`` (see :mod:`.affinity`), ``n_restarts``, ``max_iter``, ``tol``,
    ``resolution`` (Louvain), ``seed``, ``device``.

    After ``fit(traces)`` ((animals, neurons, time)): ``affinity_`` (:class:`Affinity`), ``ntf_``
    (:class:`NTF`), ``motifs_`` (R, N, N) pair loadings as matrices, ``time_factors_`` (W, R),
    ``animal_factors_`` (A, R), ``weights_`` (R,), ``communities_`` (R, N) labels per motif.
    """

    _rules = {"rank": _COUNT, "window": (int, 2, None), "step": nullable(_COUNT), "smooth": _POSITIVE,
              "kernel": list(KERNELS), "n_restarts": _COUNT, "max_iter": _COUNT, "tol": (float, 0, None),
              "resolution": _POSITIVE, "on_constant": ["raise", "zero"], "seed": "seed", "device": "device"}

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

    def fit(self, traces, progress=None) -> DynamicConnectome:
        """Affinities of ``traces`` (animals, neurons, time), their NTF, and the communities of each motif."""
        self._validate()
        self.device_ = resolve_device(self.device)
        self.affinity_ = windowed_affinity(traces, window=self.window, step=self.step, smooth=self.smooth,
                                           kernel=self.kernel, on_constant=self.on_constant, device=self.device_)
        self.ntf_ = NTF(self.rank, n_restarts=self.n_restarts, max_iter=self.max_iter, tol=self.tol,
                        seed=self.seed, device=self.device_).fit(self.affinity_.tensor, progress=progress)
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
