"""Univariate bases of the KAN layers, evaluated for a whole batch at once (no loop over samples or edges).

- :func:`knots` and :func:`bspline_basis`: B-splines of order ``k`` on ``G`` equal intervals of
  ``[lo, hi]``, by the Cox–de Boor recursion over an extended grid (``k`` extra knots each side, as in
  pykan and efficient-kan), so ``G + k`` bases cover ``[lo, hi]`` and sum to one there;
- :func:`relu_kan_basis`: ReLU-KAN's bumps ``(relu(x - a_i) relu(b_i - x))²`` (AF-KAN's ``quad1``),
  scaled to peak at one;
- :func:`fourier_basis`, :func:`gaussian_basis`, :func:`chebyshev_basis`: the other activation
  spaces S-KAN chooses among.

Every function maps ``x`` of shape ``(..., n)`` to ``(..., n, n_bases)``.
"""
from __future__ import annotations

import torch

from labkit.core.params import check_value


def knots(grid: int, k: int, lo: float = -1.0, hi: float = 1.0, *, dtype=torch.float32) -> torch.Tensor:
    """The ``G + 2k + 1`` equally spaced knots of the extended grid: ``lo - k h, ..., hi + k h``, ``h = (hi-lo)/G``."""
    grid = check_value("grid", grid, (int, 1, None), "knots")
    k = check_value("k", k, (int, 1, None), "knots")
    if not hi > lo:
        raise ValueError(f"Parameter 'hi' of knots must exceed lo={lo}, got {hi}.")
    h = (hi - lo) / grid
    return lo + h * torch.arange(-k, grid + k + 1, dtype=dtype)


def bspline_basis(x: torch.Tensor, t: torch.Tensor, k: int) -> torch.Tensor:
    """The ``len(t) - k - 1`` B-splines of order (degree) ``k`` on knots ``t`` at ``x``: ``(..., n, len(t)-k-1)``.

    Cox–de Boor: ``B_{i,0} = 1[t_i <= x < t_{i+1}]``,
    ``B_{i,p} = (x - t_i)/(t_{i+p} - t_i) B_{i,p-1} + (t_{i+p+1} - x)/(t_{i+p+1} - t_{i+1}) B_{i+1,p-1}``.
    The loop runs over the order (``k`` steps), each step a tensor op over every sample, input and basis.
    """
    x = x.unsqueeze(-1)
    t = t.to(x.dtype)
    b = ((x >= t[:-1]) & (x < t[1:])).to(x.dtype)
    for p in range(1, k + 1):
        left = (x - t[: -(p + 1)]) / (t[p:-1] - t[: -(p + 1)])
        right = (t[p + 1:] - x) / (t[p + 1:] - t[1:-p])
        b = left * b[..., :-1] + right * b[..., 1:]
    return b


def _uniform_orders(x: torch.Tensor, grid: int, k: int, lo: float, hi: float) -> tuple[torch.Tensor, torch.Tensor]:
    """The B-splines of order ``k - 1`` and ``k`` on the extended uniform grid (no autograd graph).

    On equally spaced knots both denominators of the recursion are ``p·h``, one number per order: the step
    becomes ``((x - t_i) B_i + (t_{i+p+1} - x) B_{i+1}) / (p h)``, a third fewer ops than the general recursion.
    """
    h = (hi - lo) / grid
    t = lo + h * torch.arange(-k, grid + k + 1, dtype=x.dtype, device=x.device)
    x = x.unsqueeze(-1)
    b = ((x >= t[:-1]) & (x < t[1:])).to(x.dtype)
    previous = b
    for p in range(1, k + 1):
        previous = b
        b = ((x - t[: -(p + 1)]) * b[..., :-1] + (t[p + 1:] - x) * b[..., 1:]) * (1.0 / (p * h))
    return previous, b


class _UniformBSpline(torch.autograd.Function):
    """The uniform B-spline basis with its derivative in closed form: ``dB_{i,k}/dx = (B_{i,k-1} - B_{i+1,k-1}) / h``.

    Autograd through the recursion would record every one of its ops (and reduce each broadcast back to
    ``x``); the closed form needs the order ``k - 1`` bases, which the forward pass computes anyway. A small
    KAN's training step is dominated by the number of ops, not their size, so this halves it.
    """

    @staticmethod
    def forward(ctx, x, grid, k, lo, hi):
        lower, b = _uniform_orders(x, grid, k, lo, hi)
        ctx.save_for_backward(lower)
        ctx.h = (hi - lo) / grid
        return b

    @staticmethod
    def backward(ctx, grad):
        (lower,) = ctx.saved_tensors
        slope = (lower[..., :-1] - lower[..., 1:]) * (1.0 / ctx.h)
        return (grad * slope).sum(-1), None, None, None, None


def uniform_bspline_basis(x: torch.Tensor, grid: int, k: int, lo: float = -1.0, hi: float = 1.0) -> torch.Tensor:
    """The same ``G + k`` B-splines as ``bspline_basis(x, knots(grid, k, lo, hi), k)``, faster: fewer ops per
    order on equal knots, and the derivative in closed form when ``x`` needs a gradient (hidden layers)."""
    if x.requires_grad and torch.is_grad_enabled():
        return _UniformBSpline.apply(x, grid, k, lo, hi)
    return _uniform_orders(x, grid, k, lo, hi)[1]


def relu_kan_basis(x: torch.Tensor, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """ReLU-KAN bumps ``(relu(x - a) relu(b - x))² · 16/(b - a)⁴`` (one at the bump's centre): ``(..., n, len(a))``."""
    x = x.unsqueeze(-1)
    bump = torch.relu(x - low) * torch.relu(high - x)
    return bump.square() * (16.0 / (high - low).pow(4))


def fourier_basis(x: torch.Tensor, n_freq: int) -> torch.Tensor:
    """``sin(jπx/2), cos(jπx/2)`` for ``j = 1..n_freq`` (period 4 covers [-1, 1] without forcing equal ends)."""
    j = torch.arange(1, n_freq + 1, dtype=x.dtype, device=x.device) * (torch.pi / 2)
    arg = x.unsqueeze(-1) * j
    return torch.cat([arg.sin(), arg.cos()], dim=-1)


def gaussian_basis(x: torch.Tensor, centres: torch.Tensor, width: float) -> torch.Tensor:
    """Gaussian bumps ``exp(-((x - c)/width)²)`` at ``centres``."""
    return torch.exp(-((x.unsqueeze(-1) - centres) / width).square())


def chebyshev_basis(x: torch.Tensor, degree: int) -> torch.Tensor:
    """Chebyshev polynomials ``T_1..T_degree`` at ``tanh(x)`` (kept in [-1, 1], as Chebyshev-KANs do)."""
    x = torch.tanh(x)
    terms = [x, 2 * x * x - 1]
    for _ in range(degree - 2):
        terms.append(2 * x * terms[-1] - terms[-2])
    return torch.stack(terms[:degree], dim=-1)
