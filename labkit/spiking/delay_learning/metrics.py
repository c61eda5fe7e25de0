"""How well a delay layer reads the motion: accuracy per step, settled, and against time since a motion began."""
from __future__ import annotations

import numpy as np
import torch


def settled_mask(since: torch.Tensor, n_delays: int) -> torch.Tensor:
    """Steps whose whole delay window lies inside one motion (``since >= D - 1``) and inside the movie."""
    t = torch.arange(since.shape[1])
    return (since >= n_delays - 1) & (t >= n_delays - 1)


def accuracy(scores: torch.Tensor, labels: torch.Tensor, since: torch.Tensor, n_delays: int) -> float:
    """Fraction of settled steps (:func:`settled_mask`) whose argmax class is the true motion."""
    ok = scores.argmax(-1) == labels
    mask = settled_mask(since, n_delays)
    return float(ok[mask].float().mean()) if bool(mask.any()) else float("nan")


def accuracy_by_since(scores: torch.Tensor, labels: torch.Tensor, since: torch.Tensor, n_delays: int,
                      max_since: int) -> np.ndarray:
    """Accuracy at each number of steps since the motion started, 0..max_since (steps inside the movie's
    first D - 1 are left out: their window reaches before the movie); NaN where no step has that age."""
    ok = (scores.argmax(-1) == labels).float()
    inside = torch.arange(since.shape[1])[None, :] >= n_delays - 1
    out = np.full(max_since + 1, np.nan)
    for s in range(max_since + 1):                     # a handful of ages, each a tensor reduction
        m = (since == s) & inside
        if bool(m.any()):
            out[s] = float(ok[m].mean())
    return out
