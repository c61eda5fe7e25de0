"""MILAN's captioner p(d | E) over the scene grammar, and PMI decoding.

MILAN's captioner is a frozen, pretrained image encoder (ImageNet's ResNet) whose features are pooled
inside each exemplar's mask, and a decoder trained on human descriptions. Here:

* :class:`SceneEncoder` — a small CNN pretrained to parse scenes cell by cell (colour, category, size,
  texture at 16x16): the stand-in for ImageNet pretraining, and separate from any model described;
* :func:`region_features` — its cell posteriors pooled in each exemplar's mask, and in the mask's left,
  right, upper and lower halves (so relations can be read), averaged over the k exemplars;
* :class:`Captioner` — one score per slot feature of the grammar from those features (each slot value
  reads only its part of the region: :func:`slot_inputs`; slot layouts an MLP); a description's logit
  is the sum of its slots' scores, so log p(d | E) for all descriptions is one matrix product and a
  log-softmax over the grammar;
* :func:`pmi_scores` / :func:`describe` — log p(d | E) − λ log p(d), argmax over the whole grammar (exact).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from labkit.core.estimator import Estimator
from labkit.core.params import ParameterError, check_value
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.data.scenes import Grammar, Scenes, pool

GROUPS = (8, 7, 3, 3)            # colour (+background, +white), category (+background, +marker), size, texture
N_PARSE = sum(GROUPS)
N_REGION_FEATURES = 5 * N_PARSE + 1


class SceneEncoder(nn.Module):
    """32x32 RGB -> per-cell logits (21 = colour 8, category 7, size 3, texture 3) on a 16x16 grid."""

    def __init__(self, width: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 5, padding=2), nn.ReLU(), nn.AvgPool2d(2),
            nn.Conv2d(width, 2 * width, 5, padding=2), nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv2d(2 * width, N_PARSE, 1))

    def forward(self, x):
        return self.net((x - 0.3) / 0.3)

    def posteriors(self, images: np.ndarray, batch: int = 512) -> np.ndarray:
        """(n, 21, 16, 16) float32: per-group softmax of the cell logits."""
        out = []
        with torch.no_grad():
            for s in range(0, len(images), batch):
                logits = self(torch.from_numpy(images[s:s + batch]))
                out.append(torch.cat([g.softmax(1) for g in logits.split(GROUPS, 1)], 1).numpy())
        return np.concatenate(out)


def parse_targets(scenes: Scenes, resolution: int = 16) -> np.ndarray:
    """(n, 4, h, w) int64 cell targets: colour, category, size, texture of the object covering most of each cell."""
    cover = pool(scenes.masks.astype(np.float32), resolution)                  # (n, S, h, w)
    slot = cover.argmax(1)
    hit = cover.max(1) >= 0.5
    f = np.take_along_axis(scenes.features, slot.reshape(len(slot), -1, 1), 1).reshape(*slot.shape, -1)
    marker = f[..., 15] & hit
    obj = hit & ~marker
    colour = np.where(obj, 1 + f[..., 4:10].argmax(-1), np.where(marker, 7, 0))
    shape = np.where(obj, 1 + f[..., 10:15].argmax(-1), np.where(marker, 6, 0))
    size = np.where(obj, 1 + f[..., 0:2].argmax(-1), 0)
    texture = np.where(obj, 1 + f[..., 2:4].argmax(-1), 0)
    return np.stack([colour, shape, size, texture], 1).astype(np.int64)


def train_encoder(scenes: Scenes, *, steps: int = 150, batch: int = 64, width: int = 8, lr: float = 1e-2,
                  seed: int = 0) -> tuple[SceneEncoder, np.ndarray]:
    """Pretrain a :class:`SceneEncoder` on ``scenes``; return it (eval mode) and its loss history."""
    torch.manual_seed(seed)
    enc = SceneEncoder(width)
    x = torch.from_numpy(scenes.images)
    y = torch.from_numpy(parse_targets(scenes))
    order = np.random.default_rng(seed).integers(0, len(x), (steps, batch))

    def loss(step):
        i = torch.from_numpy(order[step])
        parts = enc(x[i]).split(GROUPS, 1)
        t = y[i]
        weight = 1.0 + 4.0 * (t[:, 1] > 0).float()          # object cells are one in eight: weigh them up
        return sum((nn.functional.cross_entropy(p, t[:, g], reduction="none") * weight).mean()
                   for g, p in enumerate(parts))

    with threads(1):
        hist = train(enc, loss, steps, lr=lr, desc="scene encoder", name="scene encoder")
    return enc.eval(), hist


def region_features(posteriors: np.ndarray, images: np.ndarray, masks: np.ndarray, *, chunk: int = 64) -> np.ndarray:
    """(U, 106) exemplar-set features: per exemplar, the encoder's cell posteriors pooled in the mask and
    in its left, right, upper and lower halves (about the mask's centroid), and the mask's area; then
    averaged over the k exemplars. ``images`` (U, k) indices into ``posteriors`` (n, 21, 16, 16);
    ``masks`` (U, k, h, w) bool at any resolution that divides or is divided by 16."""
    U, k = images.shape
    side = posteriors.shape[-1]
    h = masks.shape[-1]
    out = np.empty((U, N_REGION_FEATURES), np.float32)
    grid = np.arange(side, dtype=np.float32) + 0.5
    for s in range(0, U, chunk):
        m = masks[s:s + chunk].astype(np.float32)
        if h > side:
            m = pool(m, side)
        elif h < side:
            m = m.repeat(side // h, -1).repeat(side // h, -2)
        area = m.sum((-1, -2))
        safe = np.maximum(area, 1e-6)
        cx = (m.sum(-2) * grid).sum(-1) / safe
        cy = (m.sum(-1) * grid).sum(-1) / safe
        left = grid[None, None, None, :] < cx[..., None, None]
        up = grid[None, None, :, None] < cy[..., None, None]
        w = np.stack([m, m * left, m * ~left, m * up, m * ~up], 2)                     # (c, k, 5, h, h)
        w = w / np.maximum(w.sum((-1, -2), keepdims=True), 1e-6)
        p = posteriors[images[s:s + chunk]]                                           # (c, k, 21, h, h)
        f = np.einsum("ckrhw,ckphw->ckrp", w, p).reshape(len(m), k, -1)
        f = np.concatenate([f, (area / side ** 2)[..., None]], -1)
        out[s:s + chunk] = f.mean(1)
    return out


def slot_inputs(grammar: Grammar) -> np.ndarray:
    """(n_slot_features, 106) 0/1: which region features each slot value may read. Object slot values and
    disjunctions read the whole mask (and its area); a relation's first term its left and upper halves, its
    second term its right and lower halves; the relation word reads everything. Slot layouts (patterns) are
    scored by an MLP on all features instead."""
    def cols(regions):
        return [r * N_PARSE + p for r in regions for p in range(N_PARSE)]

    mask = np.zeros((len(grammar.slot_features), N_REGION_FEATURES), np.float32)
    for j, f in enumerate(grammar.slot_features):
        if f.startswith(("size=", "texture=", "colour=", "shape=", "or=")):
            mask[j, cols([0]) + [N_REGION_FEATURES - 1]] = 1
        elif f.startswith("A="):
            mask[j, cols([1, 3])] = 1
        elif f.startswith("B="):
            mask[j, cols([2, 4])] = 1
        elif f.startswith("rel="):
            mask[j] = 1
    return mask


class SlotHead(nn.Module):
    """Slot scores: a linear map restricted by :func:`slot_inputs` for slot values, plus an MLP for the
    slot layouts (the rows of ``slot_inputs`` that are all zero)."""

    def __init__(self, mask: np.ndarray, hidden: int):
        super().__init__()
        self.register_buffer("mask", torch.as_tensor(mask))
        self.register_buffer("layout", torch.as_tensor(mask.sum(1) == 0))
        n_out, n_in = mask.shape
        self.linear = nn.Linear(n_in, n_out)
        self.mlp = nn.Sequential(nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, int(self.layout.sum())))

    def forward(self, x):
        out = x @ (self.linear.weight * self.mask).T + self.linear.bias
        return out.index_put((torch.arange(out.shape[0])[:, None], torch.nonzero(self.layout)[:, 0][None, :]),
                             self.mlp(x), accumulate=True)


class Captioner(Estimator):
    """p(d | E) over the grammar: a :class:`SlotHead` from region features to slot scores;
    logits = scores @ slot_matrixᵀ, a log-softmax over every description."""

    _rules = {"hidden": (int, 1, None), "steps": (int, 1, None), "lr": (float, 0.0, None, "neither"),
              "weight_decay": (float, 0.0, None), "seed": "seed"}

    def __init__(self, grammar: Grammar, *, hidden: int = 64, steps: int = 400, lr: float = 1e-2,
                 weight_decay: float = 1e-3, seed: int = 0):
        self.grammar, self.hidden, self.steps, self.lr, self.weight_decay, self.seed = \
            grammar, hidden, steps, lr, weight_decay, seed

    def fit(self, features: np.ndarray, annotations: np.ndarray) -> Captioner:
        """``features`` (U, 106) of annotated units; ``annotations`` (U, a) grammar indices, or (U, n_desc)
        float annotation distributions (soft targets)."""
        self._validate()
        if len(features) != len(annotations):
            raise ParameterError(f"features ({len(features)} units) and annotations ({len(annotations)} units) "
                                 f"must describe the same units.")
        torch.manual_seed(self.seed)
        x = torch.as_tensor(features, dtype=torch.float32)
        self.mean_, self.scale_ = x.mean(0), x.std(0) + 1e-3
        self.slots_ = torch.as_tensor(self.grammar.slot_matrix)
        self.net_ = SlotHead(slot_inputs(self.grammar), self.hidden)
        a = np.asarray(annotations)
        soft = a.dtype.kind == "f" and a.ndim == 2 and a.shape[1] == self.grammar.n
        y = torch.as_tensor(a, dtype=torch.float32 if soft else torch.long)
        xs = (x - self.mean_) / self.scale_

        def loss(step):
            logp = torch.log_softmax(self.net_(xs) @ self.slots_.T, 1)
            return -(logp * y).sum(1).mean() if soft else -logp.gather(1, y).mean()

        with threads(1):
            self.loss_ = train(self.net_, loss, self.steps, lr=self.lr, weight_decay=self.weight_decay,
                               desc="captioner", name="captioner")
        return self

    def slot_scores(self, features: np.ndarray) -> np.ndarray:
        """(U, n_slot_features) the head's score for every slot feature (a description's logit is the sum
        of its slots' scores: ``slot_scores @ grammar.slot_matrix.T``)."""
        self._check_fitted("net_")
        with torch.no_grad():
            x = (torch.as_tensor(features, dtype=torch.float32) - self.mean_) / self.scale_
            return self.net_(x).double().numpy()

    def log_likelihood(self, features: np.ndarray) -> np.ndarray:
        """(U, n_desc) log p(d | E): one matrix product of slot scores with the grammar's slot matrix."""
        self._check_fitted("net_")
        with torch.no_grad():
            x = (torch.as_tensor(features, dtype=torch.float32) - self.mean_) / self.scale_
            return torch.log_softmax(self.net_(x) @ self.slots_.T, 1).double().numpy()


def pmi_scores(log_likelihood: np.ndarray, log_prior: np.ndarray, lam: float = 0.3) -> np.ndarray:
    """log p(d | E) − λ log p(d) for every unit and description."""
    lam = check_value("lam", lam, (float, 0.0, None), "pmi_scores")
    return np.asarray(log_likelihood) - lam * np.asarray(log_prior)[None, :]


def describe(log_likelihood: np.ndarray, log_prior: np.ndarray, lam: float = 0.3, top: int = 1) -> np.ndarray:
    """The argmax description of each unit under PMI (exact, over the whole grammar); ``top`` > 1 gives
    the ``top`` best (U, top), best first."""
    s = pmi_scores(log_likelihood, log_prior, lam)
    if top == 1:
        return s.argmax(1)
    return np.argsort(-s, 1, kind="stable")[:, :top]
