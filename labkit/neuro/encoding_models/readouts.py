"""The two trained readouts: factorized (where × what) and attention-routed (the transformer brain encoder).

* :class:`FactorizedReadout`: ``r_v = Σ_p m_v(p) Σ_c w_v(c) F(p, c) + b_v`` with a non-negative mask of unit
  sum (``softplus``, normalised), smoothed by a Laplacian penalty on the map's grid; all voxels in one model.
* :class:`AttentionReadout`: the map's tokens (a linear embedding of the features plus a learned positional
  code) are keys and values; each voxel owns a learned query; one cross-attention layer of ``heads`` heads
  routes a ``d``-vector per voxel, and a linear head per voxel maps it to the response. This is the core of
  Adeli, Sun & Kriegeskorte's encoder without its self-attention among queries and feed-forward block (one
  query per voxel here, not per region; with one voxel per query those blocks add nothing a linear head lacks).

Both train through :func:`labkit.core.train.train` on minibatches (:func:`fit_readout`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from labkit.core.threads import threads
from labkit.core.train import train


def grid_laplacian_pairs(side: int) -> torch.Tensor:
    """(E, 2) index pairs of horizontally and vertically neighbouring positions on a ``side`` x ``side`` grid."""
    idx = np.arange(side * side).reshape(side, side)
    pairs = np.concatenate([np.stack([idx[:, :-1].ravel(), idx[:, 1:].ravel()], 1),
                            np.stack([idx[:-1].ravel(), idx[1:].ravel()], 1)])
    return torch.as_tensor(pairs)


class FactorizedReadout(nn.Module):
    """Every voxel's mask (V, P) and channel weights (V, C); ``smooth`` weighs the Laplacian penalty."""

    def __init__(self, n_voxels: int, n_positions: int, n_channels: int, *, smooth: float = 1.0, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.side = int(round(math.sqrt(n_positions)))
        self.mask_raw = nn.Parameter(torch.zeros(n_voxels, n_positions))
        self.weights = nn.Parameter(0.1 * torch.randn(n_voxels, n_channels, generator=gen))
        self.bias = nn.Parameter(torch.zeros(n_voxels))
        self.smooth = smooth
        self.register_buffer("pairs", grid_laplacian_pairs(self.side))

    def mask(self) -> torch.Tensor:
        """(V, P) the non-negative mask of unit sum."""
        m = nn.functional.softplus(self.mask_raw)
        return m / m.sum(1, keepdim=True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(b, P, C) → (b, V)."""
        mixed = features @ self.weights.T                                           # (b, P, V)
        return (mixed * self.mask().T[None]).sum(1) + self.bias

    def penalty(self) -> torch.Tensor:
        """The Laplacian smoothness penalty: squared differences of neighbouring mask values, in units of
        the mask's mean value (so it does not depend on the map's size), summed over pairs, averaged over voxels."""
        m = self.mask() * self.mask_raw.shape[1]
        diff = m[:, self.pairs[:, 0]] - m[:, self.pairs[:, 1]]
        return self.smooth * (diff ** 2).sum(1).mean() / len(self.pairs)


class AttentionReadout(nn.Module):
    """One cross-attention layer from one learned query per voxel to the map's tokens, and a linear head."""

    def __init__(self, n_voxels: int, n_positions: int, n_channels: int, *, d: int = 64, heads: int = 4,
                 seed: int = 0):
        super().__init__()
        if d % heads:
            raise ValueError(f"AttentionReadout: d must be a multiple of heads, got d={d} and heads={heads}.")
        torch.manual_seed(seed)
        self.heads, self.d = heads, d
        self.embed = nn.Linear(n_channels, d)
        self.position = nn.Parameter(0.1 * torch.randn(n_positions, d))
        self.key = nn.Linear(d, d)
        self.value = nn.Linear(d, d)
        self.query = nn.Parameter(torch.randn(n_voxels, d) / math.sqrt(d))
        self.head = nn.Parameter(torch.randn(n_voxels, d) / math.sqrt(d))
        self.bias = nn.Parameter(torch.zeros(n_voxels))

    def _tokens(self, features: torch.Tensor) -> torch.Tensor:
        return self.embed(features) + self.position                                  # (b, P, d)

    def attention(self, features: torch.Tensor) -> torch.Tensor:
        """(b, P, C) → the routes (b, heads, V, P): each head's attention of each voxel's query over positions."""
        tokens = self._tokens(features)
        b, p, _ = tokens.shape
        k = self.key(tokens).view(b, p, self.heads, -1)
        q = self.query.view(-1, self.heads, self.d // self.heads)
        scores = torch.einsum("vhe,bphe->bhvp", q, k) / math.sqrt(self.d // self.heads)
        return torch.softmax(scores, -1)

    def forward(self, features: torch.Tensor, return_attention: bool = False):
        """(b, P, C) → (b, V) (and the routes (b, heads, V, P) with ``return_attention``)."""
        attn = self.attention(features)
        b, p, _ = features.shape
        v = self.value(self._tokens(features)).view(b, p, self.heads, -1)
        routed = torch.einsum("bhvp,bphe->bvhe", attn, v).reshape(b, -1, self.d)     # (b, V, d)
        out = (routed * self.head).sum(-1) + self.bias
        return (out, attn) if return_attention else out

    def head_share(self) -> torch.Tensor:
        """(V, heads) each head's share of a voxel's readout weight (squared norm): how much of the voxel the
        head carries. Routes are read as the heads' attention weighted by these shares."""
        w2 = self.head.detach().view(-1, self.heads, self.d // self.heads).pow(2).sum(-1)
        return w2 / w2.sum(1, keepdim=True)

    @torch.no_grad()
    def routes(self, features: torch.Tensor) -> torch.Tensor:
        """(b, P, C) → (b, V, P): each voxel's attention over positions, heads weighted by :meth:`head_share`."""
        return torch.einsum("bhvp,vh->bvp", self.attention(features), self.head_share())


def fit_readout(model: nn.Module, features: np.ndarray, responses: np.ndarray, *, steps: int, batch: int,
                lr: float, seed: int, device, name: str) -> np.ndarray:
    """Train ``model`` (moved to ``device``) by Adam on the mean squared error of minibatches of ``batch``
    scenes, plus ``model.penalty()`` where it has one; returns the loss history."""
    x = torch.as_tensor(features, dtype=torch.float32, device=device)
    y = torch.as_tensor(responses, dtype=torch.float32, device=device)
    model.to(device)
    gen = torch.Generator(device="cpu").manual_seed(seed)
    order = torch.randint(0, len(x), (steps, min(batch, len(x))), generator=gen).to(device)
    penalty = getattr(model, "penalty", None)

    def loss(step):
        idx = order[step]
        err = ((model(x[idx]) - y[idx]) ** 2).mean()
        return err + penalty() if penalty is not None else err

    with threads(device=device):                # on a CPU: one thread (a shared machine loses with two)
        return train(model, loss, steps, lr=lr, optimizer=torch.optim.Adam(model.parameters(), lr=lr),
                     desc=name, name=name)


@torch.no_grad()
def predict(model: nn.Module, features: np.ndarray, device, batch: int = 500) -> np.ndarray:
    """The model's responses (n, V) to ``features`` (n, P, C), in batches."""
    model.eval()
    out = [model(torch.as_tensor(features[i:i + batch], dtype=torch.float32, device=device)).cpu().numpy()
           for i in range(0, len(features), batch)]
    return np.concatenate(out).astype(np.float64)
