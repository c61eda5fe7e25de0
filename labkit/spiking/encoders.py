"""Input encoders: turn non-negative feature vectors into spike trains.

* Rate (Bernoulli/Poisson) coding: input ``m`` of sample ``s`` receives an event in each step with
  probability ``x[s, m] * max_rate * dt``. NALSM (Ivanov & Michmizos 2021; official code
  ``NALSM_LIF_v1.py``) feeds each pixel's normalised intensity as the per-millisecond probability of
  an event that drives an input LIF neuron far above threshold; that neuron then fires once and is
  refractory for 2 ms, and events that arrive meanwhile make it fire as soon as it recovers.
  ``refractory=k`` reproduces this: a channel that spiked stays silent for ``k`` steps, and a
  pending event fires it at the first free step.
* Latency (time-to-first-spike) coding: one spike per input at ``t = (1 - x) * t_max``, so stronger
  inputs fire earlier; inputs below ``threshold`` stay silent.

Both return a ``(n_steps, n_samples, n_inputs)`` bool tensor, the layout :class:`LIFNetwork` reads.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import check_args, check_value


def _features(x, name="x") -> torch.Tensor:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (samples, inputs) scaled to [0, 1], got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one sample and one input, got shape {arr.shape}.")
    if not np.isfinite(arr).all() or arr.min() < 0 or arr.max() > 1:
        raise ValueError(f"{name} must hold values in [0, 1] (firing probabilities per step at max_rate), got a range "
                         f"[{float(np.nanmin(arr)):.3g}, {float(np.nanmax(arr)):.3g}].")
    return torch.as_tensor(arr)


def dead_time(events: torch.Tensor, refractory: int) -> torch.Tensor:
    """Spikes of input neurons driven by ``events`` (T, ...) bool: a neuron fires at the first step
    with an event pending and no spike in the previous ``refractory`` steps (events arriving while
    it is refractory are merged into that one spike). A scan over time, vectorised over channels;
    it runs in NumPy, whose small in-place operations cost a microsecond where torch's cost tens
    (the encoding is done once, before the simulation moves to its device)."""
    if refractory <= 0:
        return events
    ev = events.cpu().numpy()
    out = np.zeros_like(ev)
    pending = np.zeros(ev.shape[1:], dtype=bool)
    free_at = np.zeros(ev.shape[1:], dtype=np.int64)
    fire = np.empty_like(pending)
    for t in range(ev.shape[0]):
        pending |= ev[t]
        np.logical_and(pending, free_at <= t, out=fire)
        out[t] = fire
        pending &= ~fire
        free_at[fire] = t + refractory + 1
    return torch.from_numpy(out).to(events.device)


def poisson_encode(x, n_steps: int, *, max_rate: float = 1000.0, dt: float = 1.0, refractory: int = 0,
                   seed: int = 0, device="cpu") -> torch.Tensor:
    """Bernoulli events with per-step probability ``x * max_rate (Hz) * dt (ms) / 1000``, passed
    through input neurons with ``refractory`` steps of dead time (NALSM: 2)."""
    x = _features(x)
    positive = (float, 0, None, "neither")
    check_args("poisson_encode", dict(n_steps=n_steps, max_rate=max_rate, dt=dt, refractory=refractory),
               {"n_steps": (int, 1, None), "max_rate": positive, "dt": positive, "refractory": (int, 0, None)})
    scale = max_rate * dt / 1000.0
    if scale > 1:
        raise ValueError("max_rate * dt must not exceed one event per step (1000 Hz at dt = 1 ms), got "
                         f"max_rate={max_rate} Hz, dt={dt} ms.")
    gen = torch.Generator().manual_seed(int(seed))
    u = torch.rand((n_steps, *x.shape), generator=gen)
    return dead_time(u < x * scale, int(refractory)).to(device)


def latency_encode(x, n_steps: int, *, t_max: int | None = None, threshold: float = 0.05,
                   device="cpu") -> torch.Tensor:
    """One spike per input at step ``round((1 - x) * t_max)``; inputs with ``x < threshold`` are silent."""
    x = _features(x)
    check_value("n_steps", n_steps, (int, 1, None), "latency_encode")
    t_max = n_steps - 1 if t_max is None else int(t_max)
    if not 0 <= t_max < n_steps:
        raise ValueError(f"t_max must lie in [0, n_steps), got {t_max} with n_steps={n_steps}.")
    t = torch.round((1 - x) * t_max).long()
    out = torch.zeros((n_steps, *x.shape), dtype=torch.bool)
    s, m = torch.nonzero(x >= threshold, as_tuple=True)
    out[t[s, m], s, m] = True
    return out.to(device)


def nalsm_normalize(x) -> np.ndarray:
    """NALSM's input scaling (official ``NALSM_SIM_SUPPORT.assemble_data``): divide every sample by
    its sum, then all samples by the largest resulting value, so that every sample sends the same
    expected number of input events per step (``1 / rescale``) and the brightest input fires every step."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.size == 0:
        raise ValueError(f"x must be a non-empty 2-D array (samples, inputs), got shape {x.shape}.")
    if not np.isfinite(x).all() or x.min() < 0:
        raise ValueError("x must hold finite non-negative values.")
    sums = x.sum(1, keepdims=True)
    if (sums <= 0).any():
        raise ValueError("every sample must have a positive sum to be normalised.")
    normed = x / sums
    return (normed / normed.max()).astype(np.float32)


def split_signed(x) -> np.ndarray:
    """Map signed features to two non-negative channels (positive part, negative part), each scaled
    by the largest absolute value, for rate coding of signals such as MNIST-1D."""
    x = np.asarray(x, dtype=np.float32)
    scale = np.abs(x).max() or 1.0
    return np.concatenate([np.clip(x, 0, None), np.clip(-x, 0, None)], axis=1) / scale
