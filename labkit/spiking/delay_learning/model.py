"""The heterogeneous-delay layer (HD-SNN) as a time-invariant logistic regression, and its training.

Grimaldi & Perrinet (2023), Methods: the evidence of class ``k`` at position ``x`` and step ``t`` is

    B(k, t, x) = sum_{p, d, delta} K(k, p, d, delta) A(p, t - d, x + delta),    P(k | x, t) = sigma(B + b_k),

every kernel voxel one synapse: a weight from input channel ``(p, x + delta)`` with a delay of ``d`` steps
(``d = 0 .. D - 1``; on the spiking engine a delay of ``d + 1`` steps, its one step of transmission
included). The kernel is stored in delay order, ``(K, 2, D, kh, kw)``; the evidence is a ``conv3d`` of the
events padded with ``D - 1`` empty steps in the past (the kernel flipped in time, since ``conv3d``
correlates), on the positions where the kernel lies inside the frame, every ``stride``-th of them.

Training: binary cross-entropy against the one-hot current motion at every step whose delays all lie inside
the movie, with Adam (:func:`labkit.core.train.train`). The paper applies the sigmoid at every position; here
the evidence is first pooled over positions by a soft maximum, ``log mean_x exp B(k, t, x)`` (:func:`pooled`),
then ``P(k | t) = sigma(pooled + b_k)``. Why: over a texture that moves as a whole every position sees the
same mean events whatever the motion, so the gradient of a per-position logistic loss at a small kernel is
blind to direction (the class-specific signal is third order in the kernel) and training from a small start
stalls at this scale; the soft maximum makes it second order (a power iteration on each class's event
covariance), and learns within a hundred steps. Decoding takes the same pooled evidence, argmax per step.
Masks (the paper's circular masks growing with delay) keep only voxels within ``1 + max speed x d`` px of
the kernel centre: the content cannot have come from farther.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.params import ParameterError, check_args
from labkit.core.train import train


def check_kernel(kernel: torch.Tensor) -> torch.Tensor:
    """``kernel`` if it is a 5-D (classes, 2 polarities, delays, height, width) tensor, else one sentence."""
    if not isinstance(kernel, torch.Tensor) or kernel.ndim != 5 or kernel.shape[1] != 2:
        shape = tuple(kernel.shape) if isinstance(kernel, torch.Tensor) else type(kernel).__name__
        raise ParameterError(f"Parameter 'kernel' must be a 5-D tensor (classes, 2, delays, height, width), "
                             f"got {shape}.")
    return kernel


def check_events(events: torch.Tensor) -> torch.Tensor:
    """``events`` if it is an (M, 2, T, H, W) tensor of 0/1 events, else one sentence naming it."""
    if not isinstance(events, torch.Tensor) or events.ndim != 5 or events.shape[1] != 2:
        shape = tuple(events.shape) if isinstance(events, torch.Tensor) else type(events).__name__
        raise ParameterError(f"Parameter 'events' must be an (M, 2 polarities, T, H, W) tensor, got {shape}.")
    if events.numel() and not bool(((events == 0) | (events == 1)).all()):
        raise ParameterError("Parameter 'events' must hold 0/1 events (one per polarity, step and pixel).")
    return events


def delay_masks(n_delays: int, size: int, max_speed: float) -> torch.Tensor:
    """(D, size, size) bool: voxel (d, y, x) kept when within ``1 + max_speed * d`` px of the kernel centre."""
    r = (size - 1) / 2
    yy, xx = torch.meshgrid(torch.arange(size) - r, torch.arange(size) - r, indexing="ij")
    dist = torch.hypot(yy.float(), xx.float())
    return dist[None] <= 1.0 + max_speed * torch.arange(n_delays).float()[:, None, None] + 1e-6


def evidence(events: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None = None, stride: int = 1):
    """B (+ b): (M, K, T, H', W') evidence of every class at every step and kernel position (see the module)."""
    check_kernel(kernel)
    n_d = kernel.shape[2]
    x = F.pad(events.to(kernel.dtype), (0, 0, 0, 0, n_d - 1, 0))
    return F.conv3d(x, kernel.flip(2), bias, stride=(1, stride, stride))


def pooled(b: torch.Tensor) -> torch.Tensor:
    """Evidence (M, K, T, H', W') pooled over positions by a soft maximum, log mean exp: (M, K, T)."""
    return torch.logsumexp(b.flatten(3), -1) - np.log(b.shape[3] * b.shape[4])


def class_scores(events: torch.Tensor, kernel: torch.Tensor, bias: torch.Tensor | None = None,
                 stride: int = 1) -> torch.Tensor:
    """(M, T, K): the probability sigma(B + b) averaged over positions, per step (what the decoder compares)."""
    with torch.no_grad():
        return pooled(evidence(events, kernel, bias, stride)).transpose(1, 2)


class DelayLayer(torch.nn.Module):
    """The kernel ``K`` (classes, 2, D, size, size) and the biases ``b``, with the delay masks applied."""

    def __init__(self, n_classes: int, n_delays: int, size: int, max_speed: float, masked: bool = True,
                 seed: int = 0, init: float = 0.01):
        super().__init__()
        check_args("DelayLayer", dict(n_classes=n_classes, n_delays=n_delays, size=size, max_speed=max_speed),
                   {"n_classes": (int, 1, None), "n_delays": (int, 1, None), "size": (int, 1, None),
                    "max_speed": (float, 0, None)})
        g = torch.Generator().manual_seed(int(seed))
        self.weight = torch.nn.Parameter(torch.randn(n_classes, 2, n_delays, size, size, generator=g) * init)
        self.bias = torch.nn.Parameter(torch.full((n_classes,), -float(np.log(max(n_classes - 1, 1)))))  # the prior
        mask = delay_masks(n_delays, size, max_speed) if masked else torch.ones(n_delays, size, size, dtype=torch.bool)
        self.register_buffer("mask", mask[None, None].expand(n_classes, 2, -1, -1, -1).clone())

    @property
    def kernel(self) -> torch.Tensor:
        return self.weight * self.mask

    def forward(self, events: torch.Tensor, stride: int = 1) -> torch.Tensor:
        return evidence(events, self.kernel, self.bias, stride)


def bce_loss(layer: DelayLayer, events: torch.Tensor, labels: torch.Tensor, stride: int) -> torch.Tensor:
    """Binary cross-entropy of every class's sigma(pooled B + b) against the one-hot motion, over the steps
    whose delays lie inside the movie."""
    b = pooled(layer(events, stride))                    # (M, K, T)
    n_d = layer.weight.shape[2]
    target = F.one_hot(labels, b.shape[1]).permute(0, 2, 1).to(b.dtype)
    return F.binary_cross_entropy_with_logits(b[:, :, n_d - 1:], target[:, :, n_d - 1:])


def fit_layer(events: torch.Tensor, labels: torch.Tensor, n_classes: int, *, n_delays: int, size: int,
              max_speed: float, steps: int, lr: float = 0.01, batch: int = 16, stride: int = 4,
              masked: bool = True, seed: int = 0, init: float = 0.01, progress=None):
    """Train a :class:`DelayLayer` on movies ``events`` (M, 2, T, H, W) with motion ``labels`` (M, T):
    ``steps`` Adam steps on minibatches of ``batch`` movies drawn by ``seed``. Returns (layer, losses)."""
    check_events(events)
    check_args("fit_layer", dict(steps=steps, lr=lr, batch=batch, stride=stride, seed=seed),
               {"steps": (int, 1, None), "lr": (float, 0, None, "neither"), "batch": (int, 1, None),
                "stride": (int, 1, None), "seed": "seed"})
    if labels.shape != (events.shape[0], events.shape[2]):
        raise ParameterError(f"Parameter 'labels' must have shape (movies, steps) = "
                             f"{(events.shape[0], events.shape[2])}, got {tuple(labels.shape)}.")
    if size > min(events.shape[-2:]):
        raise ParameterError(f"Parameter 'size' ({size}) must fit in the frame {tuple(events.shape[-2:])}.")
    layer = DelayLayer(n_classes, n_delays, size, max_speed, masked, seed, init)
    rng = np.random.default_rng(seed)
    order = [rng.choice(events.shape[0], size=min(batch, events.shape[0]), replace=False) for _ in range(steps)]

    def loss_fn(step):
        idx = torch.as_tensor(order[step])
        return bce_loss(layer, events[idx], labels[idx], stride)

    losses = train(layer, loss_fn, steps, optimizer=torch.optim.Adam(layer.parameters(), lr=lr),
                   desc="delay layer", name="delay layer", progress=progress)
    return layer, losses
