"""The tasks: two smooth targets on [-1, 1]^d (the KAN paper's), the disk, and the two digit sets.

- ``f2(x) = exp(sin(πx₁) + x₂²)`` and ``f4(x) = exp(½(sin(π(x₁² + x₂²)) + sin(π(x₃² + x₄²))))``;
- :func:`disk`: points uniform in the unit disk, labelled 1 inside radius ``1/√2`` (half the area);
- :func:`image_task`: scikit-learn's 8×8 digits (pixels / 16) or MNIST-1D (standardised by the training
  split), split by :func:`labkit.data.datasets.split_indices`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.data.datasets import load_digits, load_mnist1d, split_indices


def f2(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(torch.pi * x[:, 0]) + x[:, 1] ** 2)


def f4(x: torch.Tensor) -> torch.Tensor:
    a = torch.sin(torch.pi * (x[:, 0] ** 2 + x[:, 1] ** 2))
    b = torch.sin(torch.pi * (x[:, 2] ** 2 + x[:, 3] ** 2))
    return torch.exp(0.5 * (a + b))


TARGETS = {"f2": (f2, 2), "f4": (f4, 4)}


@dataclass
class Task:
    """Training and test tensors of one task; ``n_classes`` is 0 for regression."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int = 0

    def to(self, device) -> Task:
        """The same task with its tensors on ``device``."""
        return Task(self.name, self.x_train.to(device), self.y_train.to(device), self.x_test.to(device),
                    self.y_test.to(device), self.n_classes)

    @property
    def d_in(self) -> int:
        return self.x_train.shape[1]

    @property
    def d_out(self) -> int:
        return self.n_classes or 1


def regression_task(target: str, n_train: int = 2000, n_test: int = 1000, seed: int = 0) -> Task:
    """``n_train`` and ``n_test`` points uniform on ``[-1, 1]^d`` and the target's values there."""
    check_value("target", target, sorted(TARGETS), "regression_task")
    f, d = TARGETS[target]
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n_train + n_test, d, generator=g) * 2 - 1
    y = f(x)[:, None]
    return Task(target, x[:n_train], y[:n_train], x[n_train:], y[n_train:])


def disk(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points uniform in the unit disk and their labels: 1 inside radius 1/√2 (half the area), else 0."""
    n = check_value("n", n, (int, 2, None), "disk")
    g = torch.Generator().manual_seed(seed)
    r = torch.sqrt(torch.rand(n, generator=g))
    a = torch.rand(n, generator=g) * 2 * math.pi
    x = torch.stack([r * torch.cos(a), r * torch.sin(a)], dim=1)
    return x, (r < 1 / math.sqrt(2)).long()


def best_halfplane_accuracy() -> float:
    """The best accuracy of any half-plane on the disk task (theory): predict 'outside' on the side of a chord
    ``x₁ > c`` and 'inside' elsewhere, maximised over ``c`` (areas of circular segments, by quadrature)."""
    c = np.linspace(-1, 1, 20001)

    def segment(radius, c):          # area of {x₁ > c} inside a disk of this radius
        cc = np.clip(c / radius, -1, 1)
        return radius ** 2 * (np.arccos(cc) - cc * np.sqrt(1 - cc ** 2))

    inner = 1 / math.sqrt(2)
    out_right = segment(1.0, c) - segment(inner, c)   # outside points on the 'outside' side: right
    in_left = math.pi * inner ** 2 - segment(inner, c)
    return float(((out_right + in_left) / math.pi).max())


def image_task(name: str, n_samples: int = 5000, test_fraction: float = 0.2, seed: int = 0) -> Task:
    """``"digits"`` (8×8, pixels / 16) or ``"mnist1d"`` (``n_samples`` signals, standardised): a seeded split."""
    check_value("name", name, ["digits", "mnist1d"], "image_task")
    if name == "digits":
        x, y = load_digits()
        x = x / 16.0
    else:
        x, y = load_mnist1d(n_samples, seed=seed)
    tr, te = split_indices(len(y), test_fraction, seed)
    if name == "mnist1d":
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-8
        x = (x - mu) / sd
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.long)
    return Task(name, xt[tr], yt[tr], xt[te], yt[te], n_classes=int(y.max()) + 1)
