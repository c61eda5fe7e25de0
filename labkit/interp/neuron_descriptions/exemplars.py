"""Exemplars (MILAN's ``dissect.run``) and network dissection (Bau et al.'s IoU), streamed over images.

A unit's exemplars are its ``k`` images of highest peak activation, each masked where the unit exceeds
its ``q`` quantile over every position of every image. The quantile is exact (NumPy's linear
interpolation): for ``q`` near 1 it depends only on the top ``N - floor(q (N - 1))`` values of the
unit's ``N`` activations. Two streamed passes over the images: the first takes each unit's top images
and a strided sample of its values, whose order statistic gives a pivot below the quantile; the second
keeps only the values above the pivot (about twice as many as needed), among which the exact order
statistics are found by one sort. No unit's full activation list is ever sorted; a unit whose pivot
came out too high falls back to ``torch.topk`` on its values.
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
    # pass 1: each unit's top-k images by peak, and a strided sample of its values for a pivot
    stride = max(1, min(16, keep // 64))
    samples, best = [], torch.full((U, 0), -math.inf)
    best_idx = torch.zeros((U, 0), dtype=torch.long)
    for start, block in _chunks(acts, chunk):
        flat = block.reshape(block.shape[0], U, h * w)                   # no transposing copy
        samples.append(flat[:, :, ::stride].transpose(0, 1).reshape(U, -1))
        peak = flat.amax(2).T
        cand = torch.cat([best, peak], 1)
        cidx = torch.cat([best_idx, torch.arange(start, start + block.shape[0]).expand(U, -1)], 1)
        best, pos = torch.topk(cand, min(k, cand.shape[1]), dim=1)
        best_idx = torch.gather(cidx, 1, pos)
    # a pivot safely below the quantile: about twice the needed values lie above it
    sample = torch.cat(samples, 1)
    rank = min(sample.shape[1], 2 * math.ceil(keep * sample.shape[1] / N) + 8)
    pivot = torch.topk(sample, rank, dim=1).values[:, -1]
    # pass 2: keep only values above the pivot, then the exact order statistics among them
    units, values = [], []
    for _, block in _chunks(acts, chunk):
        flat = block.reshape(block.shape[0], U, h * w)
        sel = flat >= pivot[None, :, None]
        units.append(sel.nonzero()[:, 1])
        values.append(flat[sel])
    units, values = torch.cat(units), torch.cat(values)
    counts = torch.bincount(units, minlength=U)
    v_lo = torch.empty(U, dtype=torch.float64)
    v_hi = torch.empty(U, dtype=torch.float64)
    ok = counts >= keep
    if ok.any():
        order_v = torch.argsort(values, stable=True)
        order_u = torch.argsort(units[order_v], stable=True)
        sorted_vals = values[order_v][order_u]                    # grouped by unit, ascending within each
        offsets = torch.cumsum(counts, 0) - counts
        pos_lo = offsets + counts - keep                          # descending rank keep - 1
        v_lo[ok] = sorted_vals[pos_lo[ok]].double()
        v_hi[ok] = sorted_vals[torch.minimum(pos_lo + 1, offsets + counts - 1)[ok]].double()
    for u in torch.nonzero(~ok)[:, 0].tolist():                   # the pivot was too high: the plain way
        row = torch.cat([b.permute(1, 0, 2, 3).reshape(U, -1)[u] for _, b in _chunks(acts, chunk)])
        top = torch.topk(row, keep).values
        v_lo[u], v_hi[u] = float(top[keep - 1]), float(top[max(keep - 2, 0)])
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
