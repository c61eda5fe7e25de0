"""Pruning a delay kernel to a budget of synapses, and what the surviving kernel says about motion.

* :func:`prune` keeps the ``keep`` fraction of the kernel's synapses (its nonzero voxels) with the largest
  magnitude (Grimaldi & Perrinet 2023: accuracy stays near its peak down to ~31x fewer synapses).
* :func:`shorten` keeps the same number of synapses, those with the shortest delays (larger magnitude first
  within a delay): the paper's control, which loses accuracy much earlier.
* :func:`kernel_drift`: the centroid of each class's weight magnitudes (or positive weights), delay by delay,
  fitted by a line; a layer that learned the planted motion has its centroid drift *against* the motion (a
  spike from ``x - v d`` emitted ``d`` steps ago arrives together with one from ``x`` now).
* :func:`fit_sigmoid`: accuracy against log budget, a logistic curve from chance to its plateau, and the
  budget at half saturation.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from labkit.core.params import ParameterError
from labkit.spiking.delay_learning.model import check_kernel


def check_keep(keep) -> float:
    """``keep`` as a float in (0, 1], else one sentence naming it."""
    ok = isinstance(keep, (int, float)) and not isinstance(keep, bool) and math.isfinite(keep) and 0 < keep <= 1
    if not ok:
        raise ParameterError(f"Parameter 'keep' must be a fraction of the synapses in (0, 1], got {keep!r}.")
    return float(keep)


def n_kept(kernel: torch.Tensor, keep: float) -> int:
    """How many synapses a budget ``keep`` leaves: ``ceil(keep x nonzero voxels)``, at least one."""
    return max(1, math.ceil(check_keep(keep) * int((kernel != 0).sum()) - 1e-9))


def prune(kernel: torch.Tensor, keep: float) -> torch.Tensor:
    """The kernel with only its ``keep`` fraction of largest-magnitude synapses (the rest set to 0)."""
    check_kernel(kernel)
    n = n_kept(kernel, keep)
    flat = kernel.detach().reshape(-1)
    idx = torch.topk(flat.abs(), n, sorted=False).indices
    out = torch.zeros_like(flat)
    out[idx] = flat[idx]
    return out.view_as(kernel)


def shorten(kernel: torch.Tensor, keep: float | None = None, *, max_delay: int | None = None) -> torch.Tensor:
    """The kernel with only its shortest-delay synapses: the ``keep`` fraction of them (shortest delays first,
    larger magnitude first within a delay), or those with delay index below ``max_delay``."""
    check_kernel(kernel)
    k = kernel.detach()
    if max_delay is not None:
        if not isinstance(max_delay, int) or not 1 <= max_delay <= k.shape[2]:
            raise ParameterError(f"Parameter 'max_delay' must be an integer from 1 to {k.shape[2]}, got {max_delay!r}.")
        out = k.clone()
        out[:, :, max_delay:] = 0
        return out
    n = n_kept(k, 1.0 if keep is None else keep)
    delay = torch.arange(k.shape[2], dtype=k.dtype).view(1, 1, -1, 1, 1).expand_as(k).reshape(-1)
    mag = k.abs().reshape(-1)
    # rank: delay first, larger magnitude first; voxels at 0 go last
    rank = torch.where(mag > 0, delay - mag / (mag.max() + 1) , torch.full_like(mag, float("inf")))
    idx = torch.argsort(rank)[:n]
    out = torch.zeros_like(mag)
    out[idx] = k.reshape(-1)[idx]
    return out.view_as(k)


def kernel_drift(kernel: torch.Tensor, weights: str = "magnitude"):
    """Per class, the drift (vx, vy) in px per delay of the centroid of its synapses' weight magnitudes
    (``weights="magnitude"``, what pruning ranks) or of its positive weights (``"positive"``), summed over
    polarities: the least-squares slope over the delays that hold weight. (K, 2) NumPy; zeros for a kernel
    with one delay (no drift to see)."""
    check_kernel(kernel)
    if weights not in ("magnitude", "positive"):
        raise ParameterError(f"Parameter 'weights' must be 'magnitude' or 'positive', got {weights!r}.")
    k = kernel.detach()
    w = (k.abs() if weights == "magnitude" else k.clamp(min=0)).sum(1).double()   # (K, D, h, w)
    n_k, n_d, h, wd = w.shape
    if n_d < 2:
        return np.zeros((n_k, 2))
    xs = torch.arange(wd, dtype=torch.float64) - (wd - 1) / 2
    ys = torch.arange(h, dtype=torch.float64) - (h - 1) / 2
    mass = w.sum((2, 3))
    cx = (w.sum(2) * xs).sum(-1) / mass.clamp(min=1e-12)
    cy = (w.sum(3) * ys).sum(-1) / mass.clamp(min=1e-12)
    ok = (mass > 0).double()
    d = torch.arange(n_d, dtype=torch.float64)
    n = ok.sum(1).clamp(min=1)
    dm = (ok * d).sum(1) / n
    var = (ok * (d - dm[:, None]) ** 2).sum(1).clamp(min=1e-12)
    slope = [((ok * (d - dm[:, None]) * c).sum(1) / var) for c in (cx, cy)]
    return torch.stack(slope, 1).numpy()


def drift_angles(drift: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Angle (degrees) between each class's drift reversed (-drift) and its true velocity; 90 for no drift."""
    a, b = -np.asarray(drift), np.asarray(classes)
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    cos = np.where(na * nb > 0, (a * b).sum(1) / np.maximum(na * nb, 1e-300), 0.0)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def fast_beats_slow(drift: np.ndarray, n_directions: int, n_speeds: int) -> float:
    """The fraction of directions in which the fastest class's drift is longer than the slowest's (0 with one
    speed)."""
    if n_speeds < 2:
        return 0.0
    length = np.linalg.norm(drift, axis=1).reshape(n_directions, n_speeds)
    return float((length[:, -1] > length[:, 0]).mean())


def fit_sigmoid(keeps, accuracy, chance: float):
    """Fit accuracy = chance + (top - chance) / (1 + (keep50 / keep)^s) (a logistic curve in log budget).
    Returns (keep50, top, s) and the fitted function; NaNs when the fit fails, and keep50 NaN when it falls
    outside the measured budgets (an extrapolation, not a measurement)."""
    from scipy.optimize import curve_fit

    x, y = np.asarray(keeps, float), np.asarray(accuracy, float)

    def f(k, log50, top, s):
        return chance + (top - chance) / (1 + np.exp(s * (log50 - np.log(k))))

    try:
        p, _ = curve_fit(f, x, y, p0=(np.log(np.median(x)), max(y.max(), chance + 1e-3), 2.0), maxfev=5000)
        keep50 = float(np.exp(p[0])) if x.min() <= np.exp(p[0]) <= x.max() else math.nan   # not extrapolated
        return (keep50, float(p[1]), float(p[2])), (lambda k: f(np.asarray(k, float), *p))
    except (RuntimeError, ValueError):
        return (math.nan, math.nan, math.nan), (lambda k: np.full(np.shape(k), np.nan))
