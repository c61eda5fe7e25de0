"""Checking spike counts once, for every model of the room: one sentence naming what is wrong."""
from __future__ import annotations

import numpy as np
import torch

__all__ = ["check_counts", "work_size"]

Tensor = torch.Tensor


def check_counts(spikes, name: str = "spikes", *, min_time: int = 1) -> Tensor:
    """Spike counts as a float tensor of shape (trials, time, neurons), or a one-sentence ValueError."""
    if isinstance(spikes, (list, tuple)):
        try:
            spikes = np.asarray(spikes, dtype=float)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be an array of shape (trials, time, neurons) with equal-length "
                             "trials.") from None
    if isinstance(spikes, np.ndarray):
        if not (np.issubdtype(spikes.dtype, np.number) or spikes.dtype == bool):
            raise ValueError(f"{name} must hold numbers (spike counts), got dtype {spikes.dtype}.")
        spikes = torch.from_numpy(np.ascontiguousarray(spikes, dtype=np.float64))
    if not isinstance(spikes, Tensor):
        raise ValueError(f"{name} must be a NumPy array or torch tensor of spike counts, got {type(spikes).__name__}.")
    if spikes.dim() == 2:
        spikes = spikes.unsqueeze(0)
    if spikes.dim() != 3:
        raise ValueError(f"{name} must have shape (trials, time, neurons) or (time, neurons), "
                         f"got {tuple(spikes.shape)}.")
    if spikes.dtype == torch.bool or not spikes.is_floating_point():
        spikes = spikes.to(torch.float64)
    B, T, N = spikes.shape
    if B == 0 or N == 0:
        raise ValueError(f"{name} must hold at least one trial and one neuron, got shape {tuple(spikes.shape)}.")
    if T == 0:
        raise ValueError(f"{name} has an empty trial (0 time bins); every trial needs at least {min_time} bins.")
    if T < min_time:
        raise ValueError(f"{name} has {T} time bins per trial, fewer than the {min_time} needed here.")
    if torch.isnan(spikes).any():
        raise ValueError(f"{name} contains NaN; spike counts must be finite non-negative integers.")
    if torch.isinf(spikes).any():
        raise ValueError(f"{name} contains infinite values; spike counts must be finite non-negative integers.")
    if (spikes < 0).any():
        raise ValueError(f"{name} contains negative values; spike counts must be non-negative integers.")
    if (spikes != torch.round(spikes)).any():
        raise ValueError(f"{name} contains non-integer values; spike counts must be non-negative integers.")
    return spikes


def work_size(spikes, n_states: int) -> int:
    """Numbers per step of an E-step on ``spikes`` (trials x time x neurons x states): what decides
    whether a fit runs on one CPU thread (:func:`labkit.core.threads.threads`)."""
    return int(np.prod(np.shape(spikes))) * n_states if not isinstance(spikes, str) else 0
