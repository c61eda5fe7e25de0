"""A multiresolution hash encoding in pure PyTorch (Müller et al. 2022, "Instant neural graphics
primitives with a multiresolution hash encoding", eqs. 2-4, 2-D case).

Level ``l`` is a grid of resolution ``N_l = floor(N_min · b^l)`` with ``b = exp((ln N_max - ln N_min) /
(L - 1))``. A point's ``F`` features at level ``l`` are the bilinear interpolation of the feature
vectors stored at its cell's 4 corners. A corner ``(i, j)`` reads row ``i + j (N_l + 1)`` of the
level's table when the whole grid fits (``(N_l + 1)² ≤ T``), else row ``h(i, j) = (i·π₁ ⊕ j·π₂) mod T``
with ``π₁ = 1``, ``π₂ = 2654435761`` (the paper's spatial hash): collisions are left to the
optimizer and the MLP behind it. The levels' features are concatenated, ``L·F`` numbers per point.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from labkit.core.params import check_args, check_value
from labkit.fields.neural_fields.gather import gather_rows

_PRIME = 2654435761


def bilinear_weights(frac: torch.Tensor) -> torch.Tensor:
    """Weights ``(P, L, 4)`` of a cell's corners (0,0), (1,0), (0,1), (1,1) for positions ``frac``
    ``(P, L, 2)`` inside it."""
    fx, fy = frac[..., 0], frac[..., 1]
    return torch.stack([(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy], dim=2)


class _GridLookup(nn.Module):
    """What the grid encodings share: :meth:`plan` (each subclass's) says which rows of ``table``
    a point reads and with which weights; :meth:`lookup` interpolates them."""

    table: nn.Parameter

    def lookup(self, idx: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """Interpolated features ``(P, L·F)`` for a plan from :meth:`plan`."""
        feats = gather_rows(self.table, idx)                                  # (P, L, 4, F)
        return (feats * w[..., None]).sum(2).reshape(idx.shape[0], -1)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.lookup(*self.plan(coords))


class HashEncoding(_GridLookup):
    """Multiresolution hash encoding of 2-D points in ``[-1, 1]²``.

    ``n_levels`` (L) levels of ``n_features`` (F) features, ``table_size`` (T) rows per level,
    resolutions from ``base_resolution`` (N_min) to ``finest_resolution`` (N_max). Tables are
    initialised uniformly in ``[-init, init]`` (the paper: 1e-4).
    """

    def __init__(self, n_levels: int = 8, n_features: int = 2, table_size: int = 2**12,
                 base_resolution: int = 16, finest_resolution: int = 256, init: float = 1e-4):
        super().__init__()
        check_args("HashEncoding", {"n_levels": n_levels, "n_features": n_features, "table_size": table_size},
                   {"n_levels": (int, 1, None), "n_features": (int, 1, None), "table_size": (int, 4, None)})
        res = grid_resolutions(n_levels, base_resolution, finest_resolution)
        self.n_levels, self.n_features, self.table_size = n_levels, n_features, table_size
        self.register_buffer("resolutions", torch.tensor(res, dtype=torch.long), persistent=False)
        self.register_buffer("dense", torch.tensor([(r + 1) ** 2 <= table_size for r in res]), persistent=False)
        self.table = nn.Parameter(torch.empty(n_levels * table_size, n_features).uniform_(-init, init))
        corners = torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=torch.long)
        self.register_buffer("corners", corners, persistent=False)

    @property
    def out_dim(self) -> int:
        return self.n_levels * self.n_features

    def plan(self, coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``(P, L, 4)`` of the flattened table each point reads, and their bilinear weights ``(P, L, 4)``.

        The plan depends on the coordinates only, so a field fitting a fixed pixel grid computes it once.
        """
        x = (coords.clamp(-1, 1) + 1) / 2                                     # (P, 2) in [0, 1]
        res = self.resolutions.to(x.dtype)                                    # (L,)
        pos = x[:, None, :] * res[None, :, None]                              # (P, L, 2)
        cell = torch.minimum(pos.floor().long(), (self.resolutions - 1)[None, :, None])  # x = 1 stays in the last cell
        frac = pos - cell                                                     # (P, L, 2)
        corner = cell[:, :, None, :] + self.corners[None, None]               # (P, L, 4, 2)
        i, j = corner[..., 0], corner[..., 1]
        dense_idx = i + j * (self.resolutions[None, :, None] + 1)
        hashed_idx = torch.bitwise_xor(i, j * _PRIME) % self.table_size
        idx = torch.where(self.dense[None, :, None], dense_idx, hashed_idx)
        idx = idx + (torch.arange(self.n_levels, device=x.device) * self.table_size)[None, :, None]
        return idx, bilinear_weights(frac)


class DenseGridEncoding(_GridLookup):
    """Multiresolution *dense* feature grids (no hashing), bilinearly interpolated: the "low-resolution
    feature grids" a Gaussian RBFNet decodes (Bouzidi et al. 2025).

    Level ``l`` stores ``(N_l + 1)²`` vertex features of ``n_features`` numbers, ``N_l`` from
    ``base_resolution`` to ``finest_resolution`` in a geometric progression (as the hash encoding),
    initialised ``N(0, init²)``. A point's features are the levels' bilinear interpolations, concatenated.
    """

    def __init__(self, n_levels: int = 4, n_features: int = 4, base_resolution: int = 16,
                 finest_resolution: int = 128, init: float = 0.1, generator: torch.Generator | None = None):
        super().__init__()
        check_args("DenseGridEncoding", {"n_levels": n_levels, "n_features": n_features,
                                         "base_resolution": base_resolution},
                   {"n_levels": (int, 1, None), "n_features": (int, 1, None), "base_resolution": (int, 1, None)})
        check_value("finest_resolution", finest_resolution, (int, base_resolution, None), "DenseGridEncoding")
        res = grid_resolutions(n_levels, base_resolution, finest_resolution)
        self.n_levels, self.n_features = n_levels, n_features
        self.register_buffer("resolutions", torch.tensor(res, dtype=torch.long), persistent=False)
        offsets = [0]
        for r in res:
            offsets.append(offsets[-1] + (r + 1) ** 2)
        self.register_buffer("offsets", torch.tensor(offsets[:-1], dtype=torch.long), persistent=False)
        self.table = nn.Parameter(torch.randn(offsets[-1], n_features, generator=generator) * init)
        self.register_buffer("corners", torch.tensor([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=torch.long),
                             persistent=False)

    @staticmethod
    def count(n_levels: int, n_features: int, base_resolution: int, finest_resolution: int) -> int:
        """Number of stored features for these settings (without building the grids)."""
        return n_features * sum((r + 1) ** 2 for r in grid_resolutions(n_levels, base_resolution, finest_resolution))

    @property
    def out_dim(self) -> int:
        return self.n_levels * self.n_features

    def plan(self, coords: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Rows ``(P, L, 4)`` of the stacked grids each point reads, and their bilinear weights ``(P, L, 4)``."""
        x = (coords.clamp(-1, 1) + 1) / 2
        res = self.resolutions.to(x.dtype)
        pos = x[:, None, :] * res[None, :, None]                              # (P, L, 2)
        cell = torch.minimum(pos.floor().long(), (self.resolutions - 1)[None, :, None])
        frac = pos - cell
        corner = cell[:, :, None, :] + self.corners[None, None]               # (P, L, 4, 2)
        idx = corner[..., 0] + corner[..., 1] * (self.resolutions[None, :, None] + 1) + self.offsets[None, :, None]
        return idx, bilinear_weights(frac)

    def level_features(self, level: int) -> torch.Tensor:
        """The vertex features of one level as an ``(N + 1, N + 1, F)`` array (rows: y, columns: x)."""
        r = int(self.resolutions[level])
        start = int(self.offsets[level])
        return self.table[start:start + (r + 1) ** 2].detach().reshape(r + 1, r + 1, self.n_features)


def grid_resolutions(n_levels: int, base_resolution: int, finest_resolution: int) -> list[int]:
    """``N_l = floor(N_min · b^l)``, ``b = (N_max / N_min)^(1/(L-1))`` (Müller et al. 2022, eq. 2-3)."""
    growth = math.exp((math.log(finest_resolution) - math.log(base_resolution)) / max(n_levels - 1, 1))
    res = [int(math.floor(base_resolution * growth**level + 1e-9)) for level in range(n_levels)]
    res[-1] = finest_resolution if n_levels > 1 else base_resolution
    return res
