"""The noise-driven RNN: no bias, and noise as its only input.

h_t = ReLU(W_in ξ_t + W_hh h_{t−1}),  ξ_t ~ N(0, σ² I),  h_0 = 0,
y_t = GumbelSoftmax_hard(W_out h_t, τ)   (a one-hot symbol whose gradient is the soft sample's).

``gain`` (a vector over hidden units, default all ones) multiplies each unit's activity at every step:
0 silences a unit, 2 doubles it. It is how the kick screen silences units and the explorer turns a kick
group up or down; it is not a parameter and is never trained.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from labkit.core.params import check_value


@dataclass
class Rollout:
    """One run: hidden states ``h`` (B, T, H), readout ``logits`` (B, T, K), one-hot ``symbols`` (B, T, K)."""

    h: torch.Tensor
    logits: torch.Tensor
    symbols: torch.Tensor


def gumbel_hard(logits: torch.Tensor, tau: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """A hard Gumbel-softmax sample with the straight-through gradient (as ``F.gumbel_softmax(hard=True)``),
    drawn from ``generator`` so that the same seed gives the same symbols."""
    u = torch.rand(logits.shape, generator=generator, dtype=logits.dtype, device="cpu").to(logits.device)
    g = -torch.log(-torch.log(u.clamp(1e-20, 1 - 1e-7)))
    soft = torch.softmax((logits + g) / tau, dim=-1)
    hard = torch.nn.functional.one_hot(soft.argmax(-1), logits.shape[-1]).to(soft.dtype)
    if not (torch.is_grad_enabled() and logits.requires_grad):
        return hard  # exactly one-hot (hard + soft − soft is one-hot only up to rounding)
    return hard + soft - soft.detach()


class NoiseRNN(nn.Module):
    """A bias-free ReLU RNN driven by noise alone; weights initialised as ``nn.RNN`` / ``nn.Linear`` do
    (uniform in ±1/√hidden), as in the official code."""

    def __init__(self, n_noise: int = 20, n_hidden: int = 50, n_symbols: int = 3, seed: int = 0):
        super().__init__()
        self.n_noise = check_value("n_noise", n_noise, (int, 1, None), "NoiseRNN")
        self.n_hidden = check_value("n_hidden", n_hidden, (int, 1, None), "NoiseRNN")
        self.n_symbols = check_value("n_symbols", n_symbols, (int, 2, None), "NoiseRNN")
        gen = torch.Generator().manual_seed(int(seed))
        k = 1 / n_hidden**0.5

        def uniform(*shape):
            return nn.Parameter((torch.rand(*shape, generator=gen) * 2 - 1) * k)

        self.W_in = uniform(n_hidden, n_noise)
        self.W_hh = uniform(n_hidden, n_hidden)
        self.W_out = uniform(n_symbols, n_hidden)

    def noise(self, n: int, length: int, generator: torch.Generator | None = None, scale: float = 1.0) -> torch.Tensor:
        """ξ of shape (n, length, n_noise) from ``generator`` (on the CPU, then moved: the same on any device)."""
        xi = torch.randn(n, length, self.n_noise, generator=generator) * scale
        return xi.to(self.W_in.device)

    def hidden(self, xi: torch.Tensor, h0: torch.Tensor | None = None,
               gain: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states (B, T, H) for noise ``xi`` (B, T, n_noise), from ``h0`` (B, H; default 0)."""
        drive = xi @ self.W_in.T  # every step's input at once
        B, T = xi.shape[:2]
        h = drive.new_zeros(B, self.n_hidden) if h0 is None else h0
        W = self.W_hh.T
        out = []
        for t in range(T):  # the recurrence forces a loop over time
            h = torch.relu(drive[:, t] + h @ W)
            if gain is not None:
                h = h * gain
            out.append(h)
        return torch.stack(out, 1)

    def forward(self, xi: torch.Tensor, tau: float = 1.0, generator: torch.Generator | None = None,
                h0: torch.Tensor | None = None, gain: torch.Tensor | None = None) -> Rollout:
        h = self.hidden(xi, h0, gain)
        logits = h @ self.W_out.T
        return Rollout(h, logits, gumbel_hard(logits, tau, generator))
