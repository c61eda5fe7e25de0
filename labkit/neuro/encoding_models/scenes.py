"""Scenes of scattered digits and the small CNN backbone whose feature map the encoding models read.

A scene is a 40x40 canvas holding 1-3 of scikit-learn's 8x8 digits, upsampled 2x to 16x16, at random
positions (overlaps keep the brighter pixel). The backbone is three convolutions (40 → 20 → 10) giving a
10x10x32 map ``F``, followed by a 1x1 convolution giving one evidence map ``e_k`` per digit class; it is
trained on single digits at random offsets to say which digit it sees (class k's logit is the log-sum-exp of
``e_k`` over positions), so ``e_k`` peaks where a k is.
Because ``e_k(p)`` is linear in ``F(p)``, the category voxels of :mod:`.voxels` are exactly representable
by one cross-attention head, and by neither a fixed mask nor a flat linear map.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from labkit.core.cache import checkpoint
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.data.datasets import load_digits

CANVAS = 40       # canvas side (pixels)
DIGIT = 16        # an upsampled digit's side (pixels)
MAP = 10          # the feature map's side (positions); one position covers a 4x4 cell of the canvas
CHANNELS = 32     # the feature map's channels
N_CLASSES = 10


@dataclass
class Scenes:
    """``images`` (n, 40, 40) in [0, 1]; ``classes`` (n, 3) digit classes, -1 for an empty slot; ``corners``
    (n, 3, 2) the top-left (row, column) of each digit's 16x16 box; ``present`` (n, 10) which classes a scene holds."""
    images: np.ndarray
    classes: np.ndarray
    corners: np.ndarray

    @property
    def present(self) -> np.ndarray:
        out = np.zeros((len(self.images), N_CLASSES), dtype=np.float32)
        rows, slots = np.nonzero(self.classes >= 0)
        out[rows, self.classes[rows, slots]] = 1.0
        return out

    def box_mask(self, k: np.ndarray) -> np.ndarray:
        """(n, V, 100) boolean: map positions whose cell centre lies in a box of class ``k[v]`` in scene n."""
        centre = np.arange(MAP) * (CANVAS // MAP) + (CANVAS // MAP - 1) / 2          # cell centres (canvas pixels)
        r0 = self.corners[..., 0][:, :, None].astype(float)                          # (n, 3, 1)
        c0 = self.corners[..., 1][:, :, None].astype(float)
        in_r = (centre[None, None] >= r0) & (centre[None, None] < r0 + DIGIT)        # (n, 3, 10)
        in_c = (centre[None, None] >= c0) & (centre[None, None] < c0 + DIGIT)
        inside = (in_r[:, :, :, None] & in_c[:, :, None, :]).reshape(len(self.images), 3, MAP * MAP)
        match = self.classes[:, None, :] == np.asarray(k)[None, :, None]            # (n, V, 3)
        return np.einsum("nvs,nsp->nvp", match, inside) > 0


def make_scenes(n: int, seed: int, max_digits: int = 3) -> Scenes:
    """``n`` canvases with 1..``max_digits`` digits each (uniform), drawn by ``seed``."""
    pixels, labels = load_digits()
    digits = np.kron(pixels.reshape(-1, 8, 8) / 16.0, np.ones((2, 2)))            # (1797, 16, 16)
    rng = np.random.default_rng(seed)
    count = rng.integers(1, max_digits + 1, size=n)
    pick = rng.integers(0, len(digits), size=(n, max_digits))
    corners = rng.integers(0, CANVAS - DIGIT + 1, size=(n, max_digits, 2))
    used = np.arange(max_digits)[None, :] < count[:, None]
    images = np.zeros((n, CANVAS, CANVAS))
    ar = np.arange(DIGIT)
    rows = np.arange(n)[:, None, None]
    for s in range(max_digits):                       # three slots; each is one vectorized scatter over scenes
        yy = corners[:, s, 0][:, None, None] + ar[None, :, None]
        xx = corners[:, s, 1][:, None, None] + ar[None, None, :]
        patch = digits[pick[:, s]] * used[:, s, None, None]
        images[rows, yy, xx] = np.maximum(images[rows, yy, xx], patch)
    classes = np.where(used, labels[pick], -1)
    return Scenes(images.astype(np.float32), classes, np.where(used[..., None], corners, -100))


class Backbone(nn.Module):
    """Three convolutions to a 10x10x32 map, and a 1x1 head to one evidence map per class."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                                  nn.Conv2d(8, 32, 3, stride=2, padding=1), nn.ReLU(),
                                  nn.Conv2d(32, CHANNELS, 3, stride=2, padding=1), nn.ReLU())
        self.head = nn.Conv2d(CHANNELS, N_CLASSES, 1)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(n, 40, 40) → the map (n, 32, 10, 10) and the evidence maps (n, 10, 10, 10)."""
        fmap = self.body(images[:, None])
        return fmap, self.head(fmap)


def jittered_digits(n: int, seed: int, side: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """``n`` single upsampled digits at random offsets on ``side`` x ``side`` canvases, and their labels."""
    pixels, labels = load_digits()
    digits = np.kron(pixels.reshape(-1, 8, 8) / 16.0, np.ones((2, 2)))
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(digits), n)
    offset = rng.integers(0, side - DIGIT + 1, size=(n, 2))
    images = np.zeros((n, side, side), dtype=np.float32)
    ar = np.arange(DIGIT)
    images[np.arange(n)[:, None, None], offset[:, 0, None, None] + ar[None, :, None],
           offset[:, 1, None, None] + ar[None, None, :]] = digits[pick]
    return images, labels[pick]


def _train_backbone(seed: int, n_images: int, steps: int, batch: int = 64, lr: float = 3e-3) -> dict:
    """Train on single jittered digits: class k's logit is the log-sum-exp of its evidence map over positions,
    so the map learns to light up where a k is, wherever it is (the scenes' digits are found the same way)."""
    images, labels = jittered_digits(n_images, seed + 10_000)
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    torch.manual_seed(seed)
    net = Backbone()
    gen = torch.Generator().manual_seed(seed)

    def loss(step):
        idx = torch.randint(0, n_images, (batch,), generator=gen)
        _, evidence = net(x[idx])
        return nn.functional.cross_entropy(torch.logsumexp(evidence.flatten(2), -1), y[idx])

    with threads(device="cpu"):                     # small convolutions: one thread is fastest here
        history = train(net, loss, steps, lr=lr, optimizer=torch.optim.Adam(net.parameters(), lr=lr),
                        desc="backbone", name="backbone")
    return {"state": net.state_dict(), "loss": torch.from_numpy(history)}


def trained_backbone(seed: int, steps: int, n_images: int = 8000) -> tuple[Backbone, np.ndarray]:
    """The backbone trained ``steps`` Adam steps (batches of 64) on ``n_images`` jittered digits, cached with
    :func:`labkit.core.cache.checkpoint`; returns the model (eval mode, CPU) and its loss history."""
    saved = checkpoint("encoding_models_backbone", {"seed": seed, "steps": steps, "n_images": n_images},
                       lambda: _train_backbone(seed, n_images, steps))
    net = Backbone()
    net.load_state_dict(saved["state"])
    return net.eval(), saved["loss"].numpy()


@torch.no_grad()
def backbone_maps(net: Backbone, images: np.ndarray, batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """The feature map as (n, 100, 32) positions x channels, and the evidence maps as (n, 10, 100)."""
    fs, es = [], []
    with threads(device="cpu"):
        for i in range(0, len(images), batch):
            f, e = net(torch.from_numpy(images[i:i + batch]))
            fs.append(f.flatten(2).transpose(1, 2).numpy())
            es.append(e.flatten(2).numpy())
    return np.concatenate(fs), np.concatenate(es)


def evidence_in_box(evidence: np.ndarray, scenes: Scenes) -> float:
    """Over (scene, class) pairs where the class is present, the fraction whose evidence map (n, 10, 100)
    peaks inside one of that class's boxes: how well the backbone finds a digit."""
    box = scenes.box_mask(np.arange(N_CLASSES))
    hit = np.take_along_axis(box, evidence.argmax(-1)[..., None], -1)[..., 0]
    return float(hit[box.any(-1)].mean())
