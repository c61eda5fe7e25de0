"""The networks: the scene classifier whose facets are visualized, the independent facet judge, and the
one-layer ReLU MLPs whose activation codes are hashes.

* :class:`SceneCNN` — 3 convolutions + 2 fully connected layers, ReLU (the issue's network);
* :class:`FacetJudge` — another architecture (2 wide convolutions, global pooling) trained on the 12 facet
  labels, with noise augmentation; it judges syntheses and never sees the CNN;
* :class:`ReLUMLP` — input → ``width`` ReLU units → 10 logits.
:func:`fit_classifier` trains any of them with minibatch Adam through :func:`labkit.core.train.train`.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from labkit.core.train import train


class SceneCNN(nn.Module):
    """conv(16) → conv(32, stride 2) → conv(32, stride 2) → fc(``width``) → fc(classes); ReLU after each
    but the last."""

    def __init__(self, n_classes: int = 4, width: int = 64, size: int = 32):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, padding=1)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(16, 32, 3, stride=2, padding=1)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(32, 32, 3, stride=2, padding=1)
        self.relu3 = nn.ReLU()
        self.fc1 = nn.Linear(32 * (size // 4) ** 2, width)
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(width, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate code (after fc1's ReLU): what facets are clustered on."""
        x = self.relu3(self.conv3(self.relu2(self.conv2(self.relu1(self.conv1(x - 0.5))))))
        return self.relu4(self.fc1(x.flatten(1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.features(x))


class FacetJudge(nn.Module):
    """conv(16, 5x5, stride 2) → conv(32, stride 2) → global mean and max → linear(``n_out``): small, and
    unlike the CNN (no fully connected code, pooled over position)."""

    def __init__(self, n_out: int = 12):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 16, 5, stride=2, padding=2), nn.ReLU(),
                                  nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Linear(64, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.body(x - 0.5).flatten(2)
        return self.head(torch.cat([h.mean(2), h.amax(2)], 1))


class ReLUMLP(nn.Module):
    """One hidden layer of ``width`` ReLU units."""

    def __init__(self, n_in: int, width: int, n_out: int = 10):
        super().__init__()
        self.hidden = nn.Linear(n_in, width)
        self.relu = nn.ReLU()
        self.out = nn.Linear(width, n_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.relu(self.hidden(x)))


def fit_classifier(model: nn.Module, x: np.ndarray, y: np.ndarray, *, steps: int, batch: int = 64, lr: float = 3e-3,
                   noise: float = 0.0, seed: int = 0, callback=None, desc: str = "training") -> np.ndarray:
    """Minibatch cross-entropy training; ``noise``: Gaussian pixel noise added to each batch (augmentation);
    ``callback(step, loss)`` as in :func:`labkit.core.train.train`. Returns the loss history."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    X, Y = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.long)
    batch = min(batch, len(X))

    def loss_fn(step):
        idx = torch.randint(0, len(X), (batch,), generator=gen)
        xb = X[idx]
        if noise > 0:
            level = torch.rand(batch, *[1] * (xb.dim() - 1), generator=gen)
            xb = xb + noise * torch.randn(xb.shape, generator=gen) * level
        return nn.functional.cross_entropy(model(xb), Y[idx])

    hist = train(model, loss_fn, steps, lr=lr, desc=desc, name=desc, check_every=max(1, steps // 4),
                 callbacks=[callback] if callback else ())
    model.eval()
    return hist


@torch.no_grad()
def predict(model: nn.Module, x, batch: int = 1024) -> np.ndarray:
    """Argmax class of each input."""
    X = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    return torch.cat([model(X[i:i + batch]).argmax(1) for i in range(0, len(X), batch)]).numpy()
