"""Scores against the truth: noise ceilings from two repeats, normalized scores, mask overlap, routing mass."""
from __future__ import annotations

import numpy as np

from labkit.core.params import ParameterError


def _pearson(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column-wise correlation of two (n, V) arrays."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def noise_ceiling(repeats) -> np.ndarray:
    """The single-trial noise ceiling of each voxel from repeats (R, n, V), R >= 2: the mean correlation
    between two repeats of the same scenes. For response = signal + independent noise this estimates
    var(signal) / var(response), the largest r² any model of the signal can reach on one trial."""
    y = np.asarray(repeats, dtype=np.float64)
    if y.ndim != 3 or y.shape[0] < 2:
        raise ParameterError(f"noise_ceiling: repeats must be (repeats, scenes, voxels) with at least 2 repeats, "
                             f"got shape {y.shape}.")
    if not np.all(np.isfinite(y)):
        raise ParameterError("noise_ceiling: repeats holds NaN or infinite values.")
    pairs = [(i, j) for i in range(len(y)) for j in range(i + 1, len(y))]
    return np.mean([_pearson(y[i], y[j]) for i, j in pairs], axis=0)


def normalized_score(prediction: np.ndarray, repeats: np.ndarray, ceiling: np.ndarray | None = None) -> np.ndarray:
    """Each voxel's r² between prediction (n, V) and single trials, averaged over the repeats (R, n, V),
    over the noise ceiling (estimated from the repeats unless given). The true signal scores 1 on average."""
    repeats = np.asarray(repeats, dtype=np.float64)
    r2 = np.mean([_pearson(prediction, y) ** 2 for y in repeats], axis=0)
    c = noise_ceiling(repeats) if ceiling is None else ceiling
    return r2 / c


def half_max_masks(masks: np.ndarray) -> np.ndarray:
    """(V, P) boolean: the positions where each mask reaches half its maximum."""
    return masks >= 0.5 * masks.max(1, keepdims=True)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise intersection over union of two boolean (V, P) arrays."""
    return (a & b).sum(1) / np.maximum((a | b).sum(1), 1)


def routing_mass(routes: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Each voxel's median, over the scenes whose box mask is not empty, of the route's mass (b, V, P) on the
    box (b, V, P) boolean; NaN for a voxel with no such scene."""
    mass = (routes * boxes).sum(-1)
    mass = np.where(boxes.any(-1), mass, np.nan)
    out = np.full(mass.shape[1], np.nan)
    seen = ~np.all(np.isnan(mass), 0)
    out[seen] = np.nanmedian(mass[:, seen], 0)
    return out
