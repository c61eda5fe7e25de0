"""Input encoders: turn non-negative feature vectors into spike trains.

* Rate (Poisson/Bernoulli) coding: input ``m`` of sample ``s`` spikes in each step with probability
  ``x[s, m] * max_rate * dt`` (NALSM feeds each pixel as a Bernoulli spike train whose probability
  is the normalised intensity; Ivanov & Michmizos 2021, Sec. 4).
* Latency (time-to-first-spike) coding: one spike per input at ``t = (1 - x) * t_max``, so stronger
  inputs fire earlier; inputs below ``threshold`` stay silent.

Both return a ``(n_steps, n_samples, n_inputs)`` bool tensor, the layout :class:`LIFNetwork` reads.
"""
from __future__ import annotations

import numpy as np
import torch


def _features(x, name="x") -> torch.Tensor:
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples, inputs) scaled to [0, 1], got shape {tuple(x.shape)}.")
    if x.numel() and (not torch.isfinite(x).all() or x.min() < 0 or x.max() > 1):
        raise ValueError(f"{name} must hold values in [0, 1], got a range [{float(x.min()):.3g}, {float(x.max()):.3g}].")
    return x


def poisson_encode(x, n_steps: int, *, max_rate: float = 200.0, dt: float = 1.0, seed: int = 0,
                   device="cpu") -> torch.Tensor:
    """Bernoulli spike trains with per-step probability ``x * max_rate (Hz) * dt (ms) / 1000``."""
    x = _features(x)
    if n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps}.")
    p = x * (max_rate * dt / 1000.0)
    if p.numel() and float(p.max()) > 1:
        raise ValueError(f"max_rate * dt must not exceed one spike per step (1000 Hz at dt = 1 ms), got max_rate={max_rate} Hz, dt={dt} ms.")
    gen = torch.Generator().manual_seed(int(seed))
    u = torch.rand((n_steps, *p.shape), generator=gen)
    return (u < p).to(device)


def latency_encode(x, n_steps: int, *, t_max: int | None = None, threshold: float = 0.05,
                   device="cpu") -> torch.Tensor:
    """One spike per input at step ``round((1 - x) * t_max)``; inputs with ``x < threshold`` are silent."""
    x = _features(x)
    if n_steps < 1:
        raise ValueError(f"n_steps must be a positive integer, got {n_steps}.")
    t_max = n_steps - 1 if t_max is None else int(t_max)
    if not 0 <= t_max < n_steps:
        raise ValueError(f"t_max must lie in [0, n_steps), got {t_max} with n_steps={n_steps}.")
    t = torch.round((1 - x) * t_max).long()
    out = torch.zeros((n_steps, *x.shape), dtype=torch.bool)
    s, m = torch.nonzero(x >= threshold, as_tuple=True)
    out[t[s, m], s, m] = True
    return out.to(device)


def split_signed(x) -> np.ndarray:
    """Map signed features to two non-negative channels (positive part, negative part), each scaled
    by the largest absolute value, for rate coding of signals such as MNIST-1D."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.abs(x).max() or 1.0
    return np.concatenate([np.clip(x, 0, None), np.clip(-x, 0, None)], axis=1) / scale
