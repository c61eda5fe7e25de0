"""The tasks and networks: Alleman, Lindsey & Fusi's cube task with a tunable input geometry, the MLPs
(run together by :class:`~labkit.dynamics.common.Ensemble`), planted shapes with known topology, and the
easy/hard feature task of Lampinen, Chan & Hermann.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from labkit.core.params import ParameterError, check_value

NONLINEARITIES = ("tanh", "relu")


def parity_dichotomies(d: int) -> torch.Tensor:
    """H: the 2^d − 1 parity dichotomies of the d-cube's vertices as 0/1 columns (2^d, 2^d − 1). Column j is the
    parity of the coordinates in the subset whose bitmask is the j-th in order of subset size, then bitmask, so
    the first d columns are the cube's coordinates themselves (the task's targets are the first k)."""
    d = check_value("d", d, (int, 1, 10), "parity_dichotomies")
    vertices = (torch.arange(2 ** d)[:, None] >> torch.arange(d)) & 1                  # (2^d, d) bits
    masks = sorted(range(1, 2 ** d), key=lambda m: (bin(m).count("1"), m))
    S = ((torch.tensor(masks)[:, None] >> torch.arange(d)) & 1)                          # (2^d − 1, d) subsets
    return ((vertices @ S.T) % 2).double()


def c_max(d: int, k: int) -> float:
    """The largest input-target cosine of the task: √(k/(2^d − 1)), that of the uniform π (isotropic inputs)."""
    return math.sqrt(k / (2 ** d - 1))


def aligned_weights(d: int, k: int, c: float) -> torch.Tensor:
    """π on the simplex (2^d − 1 weights) whose cosine with the target indicator (ones on the first k) is c:
    a mass a spread evenly on the k targets and 1 − a evenly on the rest, a solved in closed form. c = 0 puts
    nothing on the targets (they are only nonlinear functions of the inputs); c = c_max is the uniform π."""
    m = 2 ** d - 1
    k = check_value("k", k, (int, 1, m), "aligned_weights")
    cm = c_max(d, k)
    c = check_value("c", c, (float, 0.0, cm + 1e-12), "aligned_weights")
    if k == m:
        return torch.full((m,), 1.0 / m, dtype=torch.float64)
    # cos² = a² / (k (a²/k + (1−a)²/(m−k)))  ⇒  a/(1−a) = c √(k/(m−k)) / √(1 − c²)  (for c < 1)
    r = c * math.sqrt(k / (m - k)) / math.sqrt(max(1.0 - c * c, 1e-300))
    a = r / (1 + r)
    pi = torch.full((m,), (1 - a) / (m - k), dtype=torch.float64)
    pi[:k] = a / k
    return pi


@dataclass
class CubeTask:
    """One cube task: ``x`` (n, dim) noisy inputs, ``y`` (n, k) 0/1 targets, ``condition`` (n,) vertex index,
    ``means`` (2^d, dim) noise-free inputs, ``targets`` (2^d, k) 0/1; ``input_kernel``/``target_kernel`` the
    conditions' Gram matrices (the truth the hidden kernels are compared with)."""

    x: torch.Tensor
    y: torch.Tensor
    condition: torch.Tensor
    means: torch.Tensor
    targets: torch.Tensor
    pi: torch.Tensor

    @property
    def input_kernel(self) -> torch.Tensor:
        return self.means @ self.means.T

    @property
    def target_kernel(self) -> torch.Tensor:
        Y = 2 * self.targets - 1
        return Y @ Y.T


def cube_task(d: int, k: int, c: float, n_per_condition: int = 50, dim: int = 100, noise: float = 1.0,
              seed: int = 0, shuffle_labels: bool = False) -> CubeTask:
    """The task of Alleman et al. (repler ``RandomOrthogonal`` with ``sample_aligned``): 2^d conditions with
    input means (2H − 1) diag(√π) embedded by a random orthonormal map into ``dim`` dimensions (× √dim),
    plus N(0, noise²) per dimension; targets the first k parity dichotomies. ``shuffle_labels`` permutes the
    targets across samples (a null that leaves inputs untouched)."""
    m = 2 ** check_value("d", d, (int, 1, 8), "cube_task") - 1
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= m:
        raise ParameterError(f"Parameter 'k' of cube_task must be an integer from 1 to 2^d − 1 = {m}, got {k!r}.")
    cm = c_max(d, k)
    if not isinstance(c, (int, float)) or not 0 <= c <= cm + 1e-12:
        raise ParameterError(f"Parameter 'c' of cube_task must be in [0, c_max = {cm:.4f}] for d={d}, k={k}, "
                             f"got {c!r}.")
    dim = check_value("dim", dim, (int, m, None), "cube_task")
    g = torch.Generator().manual_seed(int(seed))
    H = parity_dichotomies(d)
    pi = aligned_weights(d, k, float(c))
    Q, _ = torch.linalg.qr(torch.randn(dim, m, generator=g, dtype=torch.float64))        # orthonormal columns
    means = ((2 * H - 1) * pi.sqrt()) @ Q.T * math.sqrt(dim)
    cond = torch.arange(2 ** d).repeat_interleave(n_per_condition)
    x = means[cond] + noise * torch.randn(len(cond), dim, generator=g, dtype=torch.float64)
    y = H[:, :k][cond]
    if shuffle_labels:
        y = y[torch.randperm(len(cond), generator=g)]
    return CubeTask(x.float(), y.float(), cond, means.float(), H[:, :k].float(), pi)


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units (Tanh or ReLU) and a linear readout. ``fixed_readout``
    keeps the readout (random, N(0, 1/width)) and a zero bias as buffers, so only the hidden layers learn
    (Alleman et al.'s set-up). :meth:`layers` returns every hidden layer's activity (depth, n, width)."""

    def __init__(self, n_in: int, width: int, n_out: int, depth: int = 1, nonlinearity: str = "relu",
                 fixed_readout: bool = False):
        super().__init__()
        self.nonlinearity = check_value("nonlinearity", nonlinearity, list(NONLINEARITIES), "MLP")
        self.hidden = nn.ModuleList([nn.Linear(n_in if i == 0 else width, width) for i in range(depth)])
        if fixed_readout:
            self.register_buffer("w_out", torch.randn(n_out, width) / math.sqrt(width))
            self.register_buffer("b_out", torch.zeros(n_out))
        else:
            self.w_out = nn.Parameter(torch.randn(n_out, width) / math.sqrt(width))
            self.b_out = nn.Parameter(torch.zeros(n_out))

    def layers(self, x: torch.Tensor) -> torch.Tensor:
        f = torch.tanh if self.nonlinearity == "tanh" else torch.relu
        out = []
        for lin in self.hidden:
            x = f(lin(x))
            out.append(x)
        return torch.stack(out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)[-1] @ self.w_out.T + self.b_out


def make_mlps(seeds, **kwargs) -> list[MLP]:
    """One :class:`MLP` per seed (each member's initialisation drawn from its own seed)."""
    out = []
    for s in seeds:
        torch.manual_seed(int(s))
        out.append(MLP(**kwargs))
    return out


def planted_shapes(n: int = 100, dim: int = 10, noise: float = 0.02, seed: int = 0) -> dict[str, torch.Tensor]:
    """Three clouds of n points with known topology, embedded isometrically in ``dim`` dimensions by a random
    rotation, plus N(0, noise²) jitter: a ``ring`` (unit circle, one 1-cycle), an ``arc`` (three quarters of
    it: no cycle) and a ``line`` (a segment of the same length as the ring, no cycle)."""
    g = torch.Generator().manual_seed(int(seed))
    t = torch.linspace(0, 1, n + 1, dtype=torch.float64)[:-1]
    flat = {
        "ring": torch.stack([torch.cos(2 * math.pi * t), torch.sin(2 * math.pi * t)], 1),
        "arc": torch.stack([torch.cos(1.5 * math.pi * t), torch.sin(1.5 * math.pi * t)], 1),
        "line": torch.stack([2 * math.pi * t, torch.zeros_like(t)], 1),
    }
    Q, _ = torch.linalg.qr(torch.randn(dim, dim, generator=g, dtype=torch.float64))
    return {k: torch.cat([v, torch.zeros(n, dim - 2, dtype=v.dtype)], 1) @ Q.T
            + noise * torch.randn(n, dim, generator=g, dtype=torch.float64) for k, v in flat.items()}


def feature_task(n: int, n_bits: int = 16, hard_bits: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Lampinen et al.'s two features in random ±1 inputs (n, n_bits): the easy one is bit 0, the hard one the
    parity of bits 1..hard_bits. Returns ``(x, y)`` with y (n, 2) 0/1 (easy, hard)."""
    hard_bits = check_value("hard_bits", hard_bits, (int, 1, n_bits - 1), "feature_task")
    g = torch.Generator().manual_seed(int(seed))
    bits = torch.randint(0, 2, (n, n_bits), generator=g)
    y = torch.stack([bits[:, 0], bits[:, 1:1 + hard_bits].sum(1) % 2], 1).float()
    return (2 * bits - 1).float(), y
