"""Networks of each neuron design, sized to a parameter budget.

Every design is a small template with one width ``w``:

========================  ==============================================================
``mlp``                   ``d → w → w → out``, SiLU (the plain MLP)
``bottleneck``            Scaling MLPs: embedding to ``w``, two bottleneck blocks, LayerNorm, head
``quadratic``             ``d → w → w → out`` of quadratic neurons, SiLU, ReLinear start
``quadratic_plain``       the same, every weight drawn at random (no ReLinear start)
``kan``                   KAN ``[d, w, ⌈w/2⌉, out]`` (B-splines, G = 5, k = 3)
``afkan``, ``skan``       the same widths, AF-KAN and S-KAN layers
``cbc``                   an RBF/CBC head on the inputs, ``w`` prototypes per class (classification only)
========================  ==============================================================

:func:`match_params` picks the width whose parameter count is nearest the budget.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from labkit.core.params import check_value
from labkit.fields.neuron_designs.layers import (
    AFKANLinear,
    BottleneckMLP,
    CBCHead,
    KANLinear,
    QuadraticLinear,
    SKANLinear,
)

DESIGNS = ("mlp", "bottleneck", "quadratic", "quadratic_plain", "kan", "afkan", "skan", "cbc")
LABELS = {"mlp": "MLP", "bottleneck": "bottleneck MLP", "quadratic": "quadratic (ReLinear)",
          "quadratic_plain": "quadratic (plain start)", "kan": "KAN", "afkan": "AF-KAN", "skan": "S-KAN",
          "cbc": "RBF/CBC prototypes"}
MAX_WIDTH = 4096


class Stack(nn.Module):
    """Layers with an activation between them (none after the last)."""

    def __init__(self, layers: list[nn.Module], activation=F.silu):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < len(self.layers) - 1 and self.activation is not None:
                x = self.activation(x)
        return x


def kan_widths(d_in: int, d_out: int, width: int) -> list[int]:
    return [d_in, width, max(1, (width + 1) // 2), d_out]


def build(design: str, d_in: int, d_out: int, width: int, *, grid: int = 5, k: int = 3,
          sigma: float = 1.0, lo: float = -1.0, hi: float = 1.0, outside: str = "error") -> nn.Module:
    """One network of ``design`` with width ``width`` (see the module's table). ``lo, hi``: the grid range of a
    KAN family's first layer (the inputs' range), ``outside``: its rule for inputs beyond it."""
    design = check_value("design", design, list(DESIGNS), "build")
    width = check_value("width", width, (int, 1, MAX_WIDTH), "build")
    if design == "mlp":
        return Stack([nn.Linear(d_in, width), nn.Linear(width, width), nn.Linear(width, d_out)])
    if design == "bottleneck":
        return BottleneckMLP(d_in, d_out, width)
    if design in ("quadratic", "quadratic_plain"):
        start = "relinear" if design == "quadratic" else "plain"
        return Stack([QuadraticLinear(d_in, width, start), QuadraticLinear(width, width, start),
                      QuadraticLinear(width, d_out, start)])
    if design == "cbc":
        return CBCHead(d_in, d_out, per_class=width, sigma=sigma)
    w = kan_widths(d_in, d_out, width)
    if design == "kan":
        # the first layer refuses inputs outside [-1, 1]; past the grid, hidden values fade out of the splines
        # (pykan's rule; clamping them instead fit f4 2-4x worse on seeds 0-3 of the benchmark)
        layers = [KANLinear(a, b, grid, k, **({"lo": lo, "hi": hi, "outside": outside} if i == 0 else
                                               {"outside": "extend"}))
                  for i, (a, b) in enumerate(zip(w[:-1], w[1:]))]
    elif design == "afkan":
        layers = [AFKANLinear(a, b, grid, k, **({"lo": lo, "hi": hi} if i == 0 else {}))
                  for i, (a, b) in enumerate(zip(w[:-1], w[1:]))]
    else:
        layers = [SKANLinear(a, b, grid, k, **({"lo": lo, "hi": hi} if i == 0 else {}))
                  for i, (a, b) in enumerate(zip(w[:-1], w[1:]))]
    return Stack(layers, activation=None)


def n_params(design: str, d_in: int, d_out: int, width: int, *, grid: int = 5, k: int = 3) -> int:
    """The parameter count of ``build(design, d_in, d_out, width)`` in closed form (no model is built)."""
    design = check_value("design", design, list(DESIGNS), "n_params")
    w, n = width, grid + k
    if design == "mlp":
        return d_in * w + w + w * w + w + w * d_out + d_out
    if design == "bottleneck":
        return d_in * w + w + 2 * (2 * w + 8 * w * w + 5 * w) + 2 * w + w * d_out + d_out
    if design in ("quadratic", "quadratic_plain"):
        return 3 * n_params("mlp", d_in, d_out, width)
    if design == "cbc":
        K = w * d_out
        return K * d_in + K * d_out * 3
    pairs = list(zip(kan_widths(d_in, d_out, width)[:-1], kan_widths(d_in, d_out, width)[1:]))
    if design == "kan":
        return sum(a * b * (n + 2) for a, b in pairs)
    if design == "afkan":
        return sum(2 * n + 1 + (n + 1) + 2 * a + a * b for a, b in pairs)
    return sum(a * b * (n + 2) + 3 * a * b * n + b * 4 for a, b in pairs)


def min_params(design: str, d_in: int, d_out: int) -> int:
    """The smallest network of ``design`` (width one)."""
    return n_params(design, d_in, d_out, 1)


def match_params(design: str, budget: int, d_in: int, d_out: int, *, tolerance: float = 0.1) -> int:
    """The width whose parameter count is nearest ``budget``. A budget below the design's smallest network
    (beyond ``tolerance``) is refused with that minimum named."""
    design = check_value("design", design, list(DESIGNS), "match_params")
    budget = check_value("budget", budget, (int, 1, None), "match_params")
    smallest = min_params(design, d_in, d_out)
    if smallest > budget * (1 + tolerance):
        raise ValueError(f"match_params: a budget of {budget} parameters is too small for design {design!r}; "
                         f"its smallest network ({d_in} inputs, {d_out} outputs) has {smallest}.")
    best, best_gap = 1, abs(smallest - budget)
    for w in range(2, MAX_WIDTH + 1):
        n = n_params(design, d_in, d_out, w)
        if abs(n - budget) < best_gap:
            best, best_gap = w, abs(n - budget)
        if n > budget:
            break
    return best


def count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
