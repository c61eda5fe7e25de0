"""The dynamic-connectome pipeline as one estimator: affinities, non-negative tensor factorization, communities."""
from __future__ import annotations

import numpy as np

from labkit.core.device import resolve_device
from labkit.core.estimator import Estimator
from labkit.core.params import nullable
from labkit.neuro.dynamic_connectome.affinity import KERNELS, pairs_to_matrix, windowed_affinity
from labkit.neuro.dynamic_connectome.communities import detect_communities
from labkit.neuro.dynamic_connectome.ntf import NTF

__all__ = ["DynamicConnectome"]

_COUNT = (int, 1, None)
_POSITIVE = (float, 0, None, "neither")


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

    def fit(self, traces, progress=None) -> "DynamicConnectome":
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
