"""Exemplars (MILAN's ``dissect.run``) and network dissection (Bau et al.'s IoU), streamed over images.

A unit's exemplars are its ``k`` images of highest peak activation, each masked where the unit exceeds
its ``q`` quantile over every position of every image. The quantile is exact (NumPy's linear
interpolation): for ``q`` near 1 it depends only on the top ``N - floor(q (N - 1))`` values of the
unit's ``N`` activations, which are kept, chunk by chunk, with ``torch.topk``; no unit's full
activation list is ever sorted.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value


@dataclass
class Exemplars:
    """``images`` (U, k) indices of each unit's top images (best first), ``scores`` (U, k) their peak
    activations, ``thresholds`` (U,) each unit's q-quantile, ``masks`` (U, k, h, w) where the unit
    exceeds it on each exemplar."""
    images: np.ndarray
    scores: np.ndarray
    thresholds: np.ndarray
    masks: np.ndarray

    def __len__(self) -> int:
        return len(self.images)

    def take(self, units) -> Exemplars:
        return Exemplars(self.images[units], self.scores[units], self.thresholds[units], self.masks[units])


def _check_acts(acts, n_images: int | None = None):
    if not hasattr(acts, "shape") or len(acts.shape) != 4:
        raise ParameterError(f"acts must be an array (n_images, n_units, h, w), got shape "
                             f"{getattr(acts, 'shape', type(acts).__name__)}.")
    if n_images is not None and acts.shape[0] != n_images:
        raise ParameterError(f"acts holds maps of {acts.shape[0]} images but the images are {n_images}: "
                             f"acts {tuple(acts.shape)} must match images on its first axis.")


def _chunks(acts, chunk):
    for start in range(0, acts.shape[0], chunk):
        block = acts[start:start + chunk]
        block = block if isinstance(block, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(block))
        yield start, block.float()


def exemplars(acts, k: int = 15, q: float = 0.99, *, chunk: int = 256, n_images: int | None = None) -> Exemplars:
    """Top-``k`` images and their masks above the ``q`` quantile, for every unit of ``acts``.

    ``acts``: (n_images, n_units, h, w), a NumPy array (a memmap works: it is read ``chunk`` images at a
    time) or a tensor; ``n_images``: if given, the number of images ``acts`` must describe.
    """
    _check_acts(acts, n_images)
    n, U, h, w = acts.shape
    k = check_value("k", k, (int, 1, n), "exemplars")
    q = check_value("q", q, (float, 0.0, 1.0, "neither"), "exemplars")
    N = n * h * w
    lo = math.floor(q * (N - 1))
    keep = N - lo                                   # the values at ranks lo and lo + 1 (ascending) are among these
    top_vals = torch.full((U, 0), -math.inf)
    best = torch.full((U, 0), -math.inf)
    best_idx = torch.zeros((U, 0), dtype=torch.long)
    for start, block in _chunks(acts, chunk):
        flat = block.permute(1, 0, 2, 3).reshape(U, -1)
        both = torch.cat([top_vals, flat], 1)
        top_vals = torch.topk(both, min(keep, both.shape[1]), dim=1).values
        peak = flat.view(U, block.shape[0], h * w).amax(2)
        cand = torch.cat([best, peak], 1)
        cidx = torch.cat([best_idx, torch.arange(start, start + block.shape[0]).expand(U, -1)], 1)
        best, pos = torch.topk(cand, min(k, cand.shape[1]), dim=1)
        best_idx = torch.gather(cidx, 1, pos)
    # ascending rank lo is descending rank keep - 1; rank lo + 1 is descending keep - 2
    v_lo = top_vals[:, keep - 1].double()
    v_hi = top_vals[:, max(keep - 2, 0)].double()
    frac = q * (N - 1) - lo
    thr = (v_lo + (v_hi - v_lo) * frac).numpy()
    order = best_idx.numpy()
    maps = np.stack([np.asarray(acts[order[:, j], np.arange(U)]) if not isinstance(acts, torch.Tensor)
                     else acts[order[:, j], torch.arange(U)].cpu().numpy() for j in range(k)], 1)
    return Exemplars(order, best.numpy(), thr, maps > thr[:, None, None, None])


def exemplars_numpy(acts: np.ndarray, k: int = 15, q: float = 0.99) -> Exemplars:
    """The plain NumPy reference: per unit, ``np.quantile`` and ``np.argpartition`` (for tests and the benchmark)."""
    n, U, h, w = acts.shape
    thr = np.empty(U)
    order = np.empty((U, k), int)
    scores = np.empty((U, k))
    for u in range(U):
        a = acts[:, u]
        thr[u] = np.quantile(a, q)
        peak = a.reshape(n, -1).max(1)
        top = np.argpartition(-peak, k - 1)[:k]
        top = top[np.argsort(-peak[top], kind="stable")]
        order[u], scores[u] = top, peak[top]
    masks = acts[order, np.arange(U)[:, None]] > thr[:, None, None, None]
    return Exemplars(order, scores, thr, masks)


def unit_masks(acts, thresholds: np.ndarray) -> np.ndarray:
    """(n, U, h, w) bool: where each unit exceeds its threshold."""
    return np.asarray(acts) > np.asarray(thresholds)[None, :, None, None]


def dissect(acts, thresholds: np.ndarray, concept_masks: np.ndarray, *, chunk: int = 256) -> np.ndarray:
    """Network dissection: (U, C) IoU of each unit's thresholded maps with each concept's masks over the
    whole dataset, Σ|M ∩ C| / Σ|M ∪ C|. ``concept_masks`` (n, C, h, w) bool at the maps' resolution."""
    _check_acts(acts)
    if concept_masks.shape[0] != acts.shape[0] or concept_masks.shape[2:] != acts.shape[2:]:
        raise ParameterError(f"concept_masks {concept_masks.shape} must match acts {tuple(acts.shape)} "
                             f"in images and map size.")
    U, C = acts.shape[1], concept_masks.shape[1]
    inter = np.zeros((U, C))
    m_area = np.zeros(U)
    c_area = concept_masks.reshape(len(concept_masks), C, -1).sum((0, 2)).astype(float)
    thr = torch.as_tensor(np.asarray(thresholds), dtype=torch.float32)
    for start, block in _chunks(acts, chunk):
        m = (block > thr[None, :, None, None]).float().permute(1, 0, 2, 3).reshape(U, -1)
        c = torch.from_numpy(np.ascontiguousarray(concept_masks[start:start + len(block)])).float()
        c = c.permute(1, 0, 2, 3).reshape(C, -1)
        inter += (m @ c.T).double().numpy()
        m_area += m.sum(1).double().numpy()
    union = m_area[:, None] + c_area[None, :] - inter
    return inter / np.maximum(union, 1)


def iou(mask: np.ndarray, concept: np.ndarray) -> float:
    """IoU of two boolean arrays (of any shape)."""
    mask, concept = np.asarray(mask, bool), np.asarray(concept, bool)
    union = (mask | concept).sum()
    return float((mask & concept).sum() / union) if union else 0.0
