"""The model described: a 4-layer ReLU CNN that names the largest shape, trained with a spurious marker;
its unit maps, and unit deletion (MILAN's editing experiment, official ``experiments/edit.py``)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from labkit.core.threads import threads
from labkit.core.train import train
from labkit.data.scenes import N_MARKER_POSITIONS, Scenes, draw_scenes


class ShapeCNN(nn.Module):
    """conv(3x3) + ReLU x 4 (32, 16, 8, 4 pixels), global average pool, linear to 5 shapes."""

    def __init__(self, widths=(8, 16, 32, 32), n_classes: int = 5):
        super().__init__()
        chans = (3, *widths)
        self.convs = nn.ModuleList(nn.Conv2d(chans[i], chans[i + 1], 3, stride=1 if i == 0 else 2, padding=1)
                                   for i in range(4))
        self.head = nn.Linear(widths[-1], n_classes)
        self.widths = tuple(widths)

    def forward(self, x, keep: list[torch.Tensor] | None = None, maps: list | None = None):
        """``keep``: per layer a (width,) 0/1 tensor (0 deletes the unit); ``maps``: a list that receives
        each layer's activation maps."""
        h = (x - 0.3) / 0.3
        for i, conv in enumerate(self.convs):
            h = torch.relu(conv(h))
            if keep is not None:
                h = h * keep[i][None, :, None, None]
            if maps is not None:
                maps.append(h)
        return self.head(h.mean((2, 3)))


def spurious_scenes(n: int, seed: int, *, rate: float, size: int = 32) -> Scenes:
    """Scenes with exactly one large object, labelled by its shape; the marker sits at the class's
    position in a share ``rate`` of them and at a random position in the rest (``rate`` 0: decorrelated,
    every scene marked)."""
    rng = np.random.default_rng(seed + 7919)
    first = draw_scenes(n, seed, size=size, one_large=True)           # the labels, before the marker is drawn
    spurious = rng.random(n) < rate
    at = np.where(spurious, first.largest, rng.integers(0, N_MARKER_POSITIONS, n))
    if rate > 0:
        at = np.where(spurious, at, -1)                             # training: the rest carry no marker
    return draw_scenes(n, seed, size=size, one_large=True, marker_at=at)


def train_cnn(scenes: Scenes, *, steps: int = 400, batch: int = 64, lr: float = 3e-3, widths=(8, 16, 32, 32),
              seed: int = 0) -> tuple[ShapeCNN, np.ndarray]:
    """Train :class:`ShapeCNN` to name each scene's largest shape."""
    torch.manual_seed(seed)
    model = ShapeCNN(widths)
    x = torch.from_numpy(scenes.images)
    y = torch.from_numpy(scenes.largest)
    order = np.random.default_rng(seed).integers(0, len(x), (steps, batch))

    def loss(step):
        i = torch.from_numpy(order[step])
        return nn.functional.cross_entropy(model(x[i]), y[i])

    with threads(1):
        hist = train(model, loss, steps, lr=lr, desc="shape CNN", name="shape CNN")
    return model.eval(), hist


def layer_maps(model: ShapeCNN, images: np.ndarray, batch: int = 500) -> list[np.ndarray]:
    """Each layer's activation maps over ``images``: a list of (n, width, h, h) float32 arrays."""
    out: list[list[np.ndarray]] = [[] for _ in model.convs]
    with torch.no_grad(), threads(1):
        for s in range(0, len(images), batch):
            maps: list = []
            model(torch.from_numpy(images[s:s + batch]), maps=maps)
            for i, m in enumerate(maps):
                out[i].append(m.numpy())
    return [np.concatenate(o) for o in out]


def accuracy(model: ShapeCNN, scenes: Scenes, deleted=None, batch: int = 1000) -> float:
    """Accuracy on ``scenes`` with the units ``deleted`` (global unit indices, layer by layer) set to zero."""
    keep = torch.ones(sum(model.widths))
    if deleted is not None and len(deleted):
        keep[torch.as_tensor(np.asarray(deleted), dtype=torch.long)] = 0
    parts = list(keep.split(model.widths))
    correct = 0
    with torch.no_grad(), threads(1):
        for s in range(0, len(scenes), batch):
            logits = model(torch.from_numpy(scenes.images[s:s + batch]), keep=parts)
            correct += int((logits.argmax(1).numpy() == scenes.largest[s:s + batch]).sum())
    return correct / len(scenes)


@dataclass
class EditResult:
    """Decorrelated accuracy against the number of units deleted: ``counts`` (0..m), ``val``/``test`` for
    the described units (in order of single-unit validation accuracy), ``random`` (draws, m + 1) test
    accuracy for as many random units; ``chosen`` the count picked on validation; ``order`` the units."""
    counts: np.ndarray
    val: np.ndarray
    test: np.ndarray
    random: np.ndarray
    chosen: int
    order: np.ndarray

    @property
    def gain(self) -> float:
        return float(self.test[self.chosen] - self.test[0])

    @property
    def random_gain(self) -> float:
        return float(self.random[:, self.chosen].mean() - self.test[0])


def edit_experiment(model: ShapeCNN, candidates, val: Scenes, test: Scenes, *, max_units: int = 20,
                    draws: int = 5, seed: int = 0) -> EditResult:
    """Delete the ``candidates`` (units whose description names the spurious feature) one more at a time,
    in order of single-unit validation accuracy; against ``draws`` sets of as many random units."""
    candidates = np.asarray(candidates, int)
    single = np.array([accuracy(model, val, [u]) for u in candidates])
    order = candidates[np.argsort(-single, kind="stable")][:max_units]
    counts = np.arange(len(order) + 1)
    v = np.array([accuracy(model, val, order[:c]) for c in counts])
    t = np.array([accuracy(model, test, order[:c]) for c in counts])
    rng = np.random.default_rng(seed)
    total = sum(model.widths)
    rand = np.array([[accuracy(model, test, rng.choice(total, c, replace=False)) for c in counts]
                     for _ in range(draws)])
    chosen = int(np.argmax(v))
    return EditResult(counts, v, t, rand, chosen, order)
