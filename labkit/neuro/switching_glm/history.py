"""Spike history through one exponential basis: what each neuron's recent past contributes to the GLM.

``h_{t,m} = sum_{l=1}^{L} phi_l x_{t-l,m}`` with ``phi_l ∝ exp(-decay * l)`` normalised to sum 1 (the
official HMM-GLM code's ``exp_basis``). The simulator and the estimator both use it, so the model fits the
same history the data were drawn with.
"""
from __future__ import annotations

import numpy as np

from labkit.core.params import check_args

__all__ = ["history_basis", "convolve_history"]


def history_basis(window: int = 5, decay: float = 1.0) -> np.ndarray:
    """``phi_l ∝ exp(-decay * l)``, l = 1..window, normalised to sum 1 (lag 1 first)."""
    check_args("history_basis", {"window": window, "decay": decay},
               {"window": (int, 1, None), "decay": (float, 0, None)})
    phi = np.exp(-decay * np.arange(1, int(window) + 1))
    return phi / phi.sum()


def convolve_history(spikes, basis):
    """``h[b, t, m] = sum_l basis[l-1] x[b, t-l, m]`` (zeros before each trial's start). NumPy or torch in, same out."""
    import torch

    is_np = not isinstance(spikes, torch.Tensor)
    x = torch.as_tensor(np.asarray(spikes) if is_np else spikes)
    x = x.to(torch.float64 if is_np else (x.dtype if x.is_floating_point() else torch.float32))
    phi = torch.as_tensor(np.asarray(basis), dtype=x.dtype, device=x.device)
    B, T, N = x.shape
    L = phi.shape[0]
    # conv1d is a cross-correlation: pad L zeros in front, drop the last bin, flip the basis (lag L first)
    xp = torch.nn.functional.pad(x.transpose(1, 2).reshape(B * N, 1, T), (L, -1))
    h = torch.nn.functional.conv1d(xp, phi.flip(0).view(1, 1, L)).reshape(B, N, T).transpose(1, 2)
    return h.numpy() if is_np else h.contiguous()
