"""The ReLU RNN of Liu et al. (2024) and its initial connectivity of a chosen rank.

``h_t = relu(W_rec h_{t-1} + W_in x_t)``, ``h_0 = 0``, outputs ``W_out h_t``; dt = τ and no biases, as
the official ``main.py``. ``W_rec,0 = scale · N(0, 1)/√N``, truncated by SVD to rank r and rescaled to
the same Frobenius norm (:func:`labkit.dynamics.common.truncate_rank`), so ranks differ in structure,
not in size. Trained with SGD and momentum on every weight.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from labkit.core.params import check_args
from labkit.dynamics.common import truncate_rank

_RULES = {
    "n_in": (int, 1, None),
    "n_hidden": (int, 1, None),
    "n_out": (int, 1, None),
    "scale": (float, 0.0, None, "right"),
    "seed": "seed",
}


def recurrent_init(n_hidden: int, rank: int, scale: float, seed: int) -> torch.Tensor:
    """``scale · N(0,1)/√N`` truncated to ``rank`` and rescaled to its own Frobenius norm (float32, CPU)."""
    check_args(
        "recurrent_init",
        {"n_hidden": n_hidden, "rank": rank, "scale": scale, "seed": seed},
        {"n_hidden": (int, 1, None), "rank": (int, 1, n_hidden), "scale": (float, 0.0, None, "right"), "seed": "seed"},
    )
    g = torch.Generator().manual_seed(seed)
    W = scale * torch.randn(n_hidden, n_hidden, generator=g, dtype=torch.float64) / math.sqrt(n_hidden)
    return (truncate_rank(W, rank) if rank < n_hidden else W).float()


class ReluRNN(nn.Module):
    """A ReLU RNN without biases; ``forward(x)`` gives the outputs (batch, steps, n_out),
    ``hidden(x)`` the states (batch, steps, n_hidden)."""

    def __init__(
        self, n_in: int, n_hidden: int, n_out: int, rank: int | None = None, scale: float = 1.25, seed: int = 0
    ):
        super().__init__()
        v = check_args(
            "ReluRNN", {"n_in": n_in, "n_hidden": n_hidden, "n_out": n_out, "scale": scale, "seed": seed}, _RULES
        )
        rank = n_hidden if rank is None else rank
        W_rec = recurrent_init(n_hidden, rank, v["scale"], seed)
        g = torch.Generator().manual_seed(seed + 7919)
        self.W_in = nn.Parameter(torch.randn(n_hidden, n_in, generator=g) / math.sqrt(n_in))
        self.W_rec = nn.Parameter(W_rec)
        self.W_out = nn.Parameter(torch.randn(n_out, n_hidden, generator=g) / math.sqrt(n_hidden))

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        drive = x @ self.W_in.T  # (batch, steps, N): the inputs, for all steps at once
        h = torch.zeros_like(drive[:, 0])
        states = []
        for t in range(drive.shape[1]):  # the recurrence: one step after another
            h = torch.relu(h @ self.W_rec.T + drive[:, t])
            states.append(h)
        return torch.stack(states, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.hidden(x) @ self.W_out.T

    def decision_output(self, x: torch.Tensor) -> torch.Tensor:
        """The outputs at the last (decision) step, (batch, n_out)."""
        return self.forward(x)[:, -1]


def aligned_recurrent_init(W_in: torch.Tensor, W_out: torch.Tensor, norm: float) -> torch.Tensor:
    """A rank-one start aligned with the task: it maps the dominant input direction (top left-singular
    vector of W_in) onto the dominant readout direction (top right-singular vector of W_out), with
    Frobenius norm ``norm`` (that of the random start it replaces)."""
    u = torch.linalg.svd(W_out.double(), full_matrices=False)[2][0]
    v = torch.linalg.svd(W_in.double(), full_matrices=False)[0][:, 0]
    return (norm * torch.outer(u, v)).float()


def with_weights(W_in: torch.Tensor, W_rec: torch.Tensor, W_out: torch.Tensor) -> ReluRNN:
    """A :class:`ReluRNN` holding the given weights (copies)."""
    m = ReluRNN(W_in.shape[1], W_rec.shape[0], W_out.shape[0])
    with torch.no_grad():
        for name, w in (("W_in", W_in), ("W_rec", W_rec), ("W_out", W_out)):
            getattr(m, name).copy_(w)
    return m.to(W_rec.device)


def task_loss(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy over every step (fixate, then choose), averaged over steps and trials; ``logits``
    (..., batch, steps, n_out) with any leading member axes: the mean is taken per member, then summed."""
    lead = logits.shape[:-3]
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.expand(*lead, *y.shape).reshape(-1), reduction="none")
    return ce.reshape(*lead, -1).mean(-1).sum()


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of trials answered correctly at the decision step (per leading member axis)."""
    return (logits[..., -1, :].argmax(-1) == y[..., -1]).float().mean(-1)
