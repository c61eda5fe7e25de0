"""The Hopfield network, for contrast: ±1 units, Hebbian weights, asynchronous updates.

``W = X^T X / N`` with a zero diagonal for patterns ``X`` (P, N) of ±1; a unit takes the sign of its field
``h_i = sum_j W_ij s_j`` (keeping its state where ``h_i = 0``). Asynchronous updates visit the units in a
random order each sweep until a sweep changes nothing. Retrieval from a corrupted pattern succeeds up to a
load ``alpha = P / N`` of about 0.138 (Amit, Gutfreund & Sompolinsky 1985); above it the overlap with the
stored pattern collapses.
"""
from __future__ import annotations

import numpy as np

from labkit.core.estimator import Estimator
from labkit.core.params import ParameterError, check_value


def _pm1(x, name: str, n: int | None = None) -> np.ndarray:
    x = np.atleast_2d(np.asarray(x, dtype=float))
    if x.ndim != 2 or not np.isin(x, (-1.0, 1.0)).all():
        raise ParameterError(f"Parameter {name!r} of HopfieldNetwork must hold only -1 and +1 values.")
    if n is not None and x.shape[1] != n:
        raise ParameterError(f"Parameter {name!r} of HopfieldNetwork must have {n} units per row, got {x.shape[1]}.")
    return x


class HopfieldNetwork(Estimator):
    """Hebbian Hopfield network; ``control="untrained"`` keeps W = 0 (the null)."""

    _rules = {"control": ["none", "untrained"], "max_sweeps": (int, 1, 10_000)}

    def __init__(self, control: str = "none", max_sweeps: int = 50):
        self.control, self.max_sweeps = control, max_sweeps

    def fit(self, patterns) -> HopfieldNetwork:
        """Store ``patterns`` (P, N) of ±1: ``W = X^T X / N``, zero diagonal."""
        self._validate()
        x = _pm1(patterns, "patterns")
        self.n_ = x.shape[1]
        w = x.T @ x / self.n_
        np.fill_diagonal(w, 0.0)
        self.weights_ = np.zeros_like(w) if self.control == "untrained" else w
        return self

    def update(self, state) -> np.ndarray:
        """One synchronous update of every unit: ``sign(W s)`` (a unit keeps its state where the field is 0)."""
        self._check_fitted("weights_")
        s = _pm1(state, "state", self.n_)
        h = s @ self.weights_
        return np.where(h > 0, 1.0, np.where(h < 0, -1.0, s))

    def recall(self, state, seed: int = 0) -> np.ndarray:
        """Asynchronous updates from each row of ``state`` until a whole sweep changes nothing (or
        ``max_sweeps``). Units are visited one at a time (the rule is sequential), all rows at once."""
        self._check_fitted("weights_")
        s = _pm1(state, "state", self.n_).copy()
        rng = np.random.default_rng(check_value("seed", seed, "seed", "HopfieldNetwork.recall"))
        w = self.weights_
        for _ in range(self.max_sweeps):
            changed = False
            for i in rng.permutation(self.n_):
                h = s @ w[:, i]
                new = np.where(h > 0, 1.0, np.where(h < 0, -1.0, s[:, i]))
                if not changed and np.any(new != s[:, i]):
                    changed = True
                s[:, i] = new
            if not changed:
                break
        return s


def overlap(state, patterns) -> np.ndarray:
    """``m = s . x / N`` row by row."""
    s, x = np.atleast_2d(state), np.atleast_2d(patterns)
    return (s * x).sum(1) / s.shape[1]


def flip(patterns, fraction: float, rng) -> np.ndarray:
    """Each row with exactly ``round(fraction N)`` of its units flipped."""
    x = np.atleast_2d(np.asarray(patterns, dtype=float)).copy()
    k = int(round(check_value("fraction", fraction, (float, 0, 1), "flip") * x.shape[1]))
    idx = np.argsort(rng.random(x.shape), axis=1)[:, :k]
    np.put_along_axis(x, idx, -np.take_along_axis(x, idx, axis=1), axis=1)
    return x


def retrieval(n: int, load: float, rng, *, fraction: float = 0.1, max_probes: int = 100, control: str = "none",
              seed: int = 0) -> float:
    """Mean final overlap of asynchronous recall from stored patterns with ``fraction`` of units flipped, for
    ``P = round(load N)`` random patterns of ``N = n`` units (at most ``max_probes`` of them probed)."""
    p = max(1, int(round(load * n)))
    x = np.where(rng.random((p, n)) < 0.5, 1.0, -1.0)
    net = HopfieldNetwork(control=control).fit(x)
    probe = x[:max_probes]
    return float(overlap(net.recall(flip(probe, fraction, rng), seed=seed), probe).mean())
