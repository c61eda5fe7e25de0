"""Superposition with known features: planted sparse features, and the toy model that stores them.

**Planted features.** ``m`` sparse features live in ``d < m`` dimensions. Feature ``i`` has a unit
direction ``f_i`` and is active with probability ``p_i``; when active its magnitude is drawn from
U(0, 1). An activation vector is the sum of the active features::

    x = sum_i s_i f_i,      s_i = u_i * 1[active_i],   u_i ~ U(0, 1),   P(active_i) = p_i.

Two kinds of structure from the matching-pursuit paper (Costa et al. 2025, "From Flat to
Hierarchical") can be added: *hierarchical* features (a child can fire only when its parent
fires) and *multi-dimensional* features (a feature that occupies a 2-D plane, drawn as a point on a
circle of random angle and magnitude, so no single direction in the plane is "the" feature).

**The toy model of superposition** (Elhage et al. 2022, "Toy Models of Superposition", eq. 1)
compresses ``m`` features into ``n`` hidden neurons and reads them back through a ReLU::

    h = W x,      x' = ReLU(W^T h + b),      L = E_x sum_i I_i (x_i - x'_i)^2,

with importances ``I_i``. With sparse features it stores more features than it has neurons, at
the cost of interference: in two dimensions the columns of ``W`` form the famous digon, triangle,
square and pentagon. Its hidden activations ``h`` are a second data set whose truth (the columns of
``W``) was found by training rather than planted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import check_value
from labkit.core.train import train

_PROBABILITY = (float, 0, 1)


def _probabilities(name: str, value, n: int) -> np.ndarray:
    """One probability for all ``n`` items or an array of ``n`` (an array: beyond the rule language)."""
    p = np.full(n, float(value)) if np.ndim(value) == 0 else np.asarray(value, float)
    if p.shape != (n,) or not np.all((p >= 0) & (p <= 1)):
        raise ValueError(f"{name} must be a probability in [0, 1] or an array of {n} of them, got {value!r}.")
    return p


def random_directions(n: int, dim: int, *, seed: int = 0) -> np.ndarray:
    """``n`` random unit vectors in ``dim`` dimensions (rows), uniform on the sphere."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal((n, dim))
    return v / np.linalg.norm(v, axis=1, keepdims=True)


@dataclass
class SparseFeatureData:
    """Activations with their ground truth (what :func:`make_sparse_features` returns).

    ``X`` is ``codes @ directions`` plus the planes' contributions. ``directions`` holds the unit
    direction of every 1-D feature (hierarchy included); ``planes`` the orthonormal basis of every
    2-D feature. ``parents[i]`` is the parent of feature ``i`` or -1.
    """

    X: torch.Tensor                 # (n_samples, dim) activations
    codes: torch.Tensor             # (n_samples, n_features) magnitudes of the 1-D features (0 = off)
    directions: torch.Tensor        # (n_features, dim) unit directions
    feature_prob: np.ndarray        # (n_features,) marginal probability that each feature is active
    parents: np.ndarray             # (n_features,) parent index, -1 for a root feature
    planes: torch.Tensor            # (n_planes, 2, dim) orthonormal bases of 2-D features
    plane_codes: torch.Tensor       # (n_samples, n_planes, 2) coordinates in each plane
    seed: int = 0
    meta: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return self.directions.shape[0]

    @property
    def dim(self) -> int:
        return self.X.shape[1]


def make_sparse_features(n_samples: int = 50_000, n_features: int = 256, dim: int = 64,
                         feature_prob=0.02, *, directions=None, n_children: int = 0,
                         child_prob: float = 0.5, n_planes: int = 0, plane_prob: float = 0.02,
                         seed: int = 0, device: str | torch.device = "cpu") -> SparseFeatureData:
    """Sample activations made of sparse planted features (see the module docstring).

    ``feature_prob`` is one probability or one per root feature. ``directions`` (rows, shape
    ``(n_features + n_children, dim)``) replaces the random unit directions, e.g. by a trained
    toy model's columns. ``n_children`` children are attached to each of the first root features in
    turn (at most one level deep): a child fires with probability ``child_prob`` when its parent
    fires and never otherwise. ``n_planes`` 2-D features fire with probability ``plane_prob`` at a
    uniform angle and magnitude U(0, 1).
    """
    owner = "make_sparse_features"
    n_samples = check_value("n_samples", n_samples, (int, 1, None), owner)
    n_features = check_value("n_features", n_features, (int, 1, None), owner)
    dim = check_value("dim", dim, (int, 1, None), owner)
    n_children = check_value("n_children", n_children, (int, 0, None), owner)
    n_planes = check_value("n_planes", n_planes, (int, 0, None), owner)
    if n_children > n_features:
        raise ValueError(f"n_children must be at most n_features={n_features} (one child per root at most), "
                         f"got {n_children}.")
    if n_planes and dim < 2:
        raise ValueError(f"2-D features need dim >= 2, got dim={dim}.")
    p_root = _probabilities("feature_prob", feature_prob, n_features)
    child_prob = check_value("child_prob", child_prob, _PROBABILITY, owner)
    plane_prob = check_value("plane_prob", plane_prob, _PROBABILITY, owner)
    m = n_features + n_children
    rng = np.random.default_rng(seed)
    if directions is None:
        dirs = random_directions(m, dim, seed=seed)
    else:
        dirs = np.asarray(directions.detach().cpu() if isinstance(directions, torch.Tensor) else directions, float)
        if dirs.shape != (m, dim) or not np.all(np.isfinite(dirs)):
            raise ValueError(f"directions must be a finite array of shape ({m}, {dim}), got shape {dirs.shape}.")
        norms = np.linalg.norm(dirs, axis=1, keepdims=True)
        if np.any(norms == 0):
            raise ValueError("directions must not contain a zero row.")
        dirs = dirs / norms
    parents = np.full(m, -1)
    parents[n_features:] = np.arange(n_children)  # child j of root j
    active = rng.random((n_samples, m)) < np.concatenate([p_root, np.full(n_children, child_prob)])
    if n_children:
        active[:, n_features:] &= active[:, :n_children]
    codes = active * rng.random((n_samples, m))
    X = codes @ dirs
    planes = np.zeros((n_planes, 2, dim))
    plane_codes = np.zeros((n_samples, n_planes, 2))
    if n_planes:
        for j in range(n_planes):  # an orthonormal pair per plane
            q, _ = np.linalg.qr(rng.standard_normal((dim, 2)))
            planes[j] = q.T
        on = rng.random((n_samples, n_planes)) < plane_prob
        angle = rng.uniform(0, 2 * np.pi, (n_samples, n_planes))
        r = on * rng.random((n_samples, n_planes))
        plane_codes = np.stack([r * np.cos(angle), r * np.sin(angle)], axis=-1)
        X = X + np.einsum("npk,pkd->nd", plane_codes, planes)
    marginal = np.concatenate([p_root, p_root[:n_children] * child_prob])
    t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=device)
    return SparseFeatureData(X=t(X), codes=t(codes), directions=t(dirs), feature_prob=marginal,
                             parents=parents, planes=t(planes), plane_codes=t(plane_codes), seed=seed)


# --------------------------------------------------------------------------------------------------
# The toy model of superposition (Elhage et al. 2022)
# --------------------------------------------------------------------------------------------------
@dataclass
class ToyModel:
    """A trained toy model: ``W`` (n_hidden, n_features), ``b`` (n_features,), the loss history."""

    W: torch.Tensor
    b: torch.Tensor
    feature_prob: float
    importance: np.ndarray
    loss: np.ndarray

    @property
    def norms(self) -> np.ndarray:
        """||W_i||: about 1 for a represented feature, about 0 for a dropped one."""
        return self.W.norm(dim=0).cpu().numpy()

    @property
    def dimensionality(self) -> np.ndarray:
        """Feature dimensionality D_i = ||W_i||^4 / sum_j (W_i . W_j)^2 (Elhage et al. 2022, sec. 7)."""
        W = self.W.cpu()
        gram = W.T @ W
        d = W.norm(dim=0) ** 4 / (gram ** 2).sum(dim=1).clamp_min(1e-12)
        return d.numpy()

    def hidden(self, codes: torch.Tensor) -> torch.Tensor:
        """Hidden activations h = W x for feature vectors ``codes`` (n_samples, n_features)."""
        return codes.to(self.W.device) @ self.W.T

    def represented(self, threshold: float = 0.5) -> np.ndarray:
        """Indices of the features the model stores (||W_i|| above ``threshold``)."""
        return np.nonzero(self.norms > threshold)[0]


def train_toy_models(n_features=(5,), n_hidden: int = 2, feature_prob=0.05, *, importance=None,
                     steps: int = 2000, batch_size: int = 1024, lr: float = 1e-2, seed: int = 0,
                     device: str | torch.device = "cpu", desc: str = "toy models") -> list[ToyModel]:
    """Train several ReLU-output toy models (Elhage et al. 2022, eq. 1) at once, as one batch.

    ``n_features`` and ``feature_prob`` give one value per model (or one for all); every model has
    ``n_hidden`` neurons. Features are independently active with their model's probability at
    magnitude U(0, 1); ``importance`` (one array per model, or one array for all, or ``None`` for
    ones) weights each feature's squared error. Models are padded to the largest ``n_features``
    with features that never fire and do not count, so each trains exactly as it would alone;
    Adam's update is elementwise, so summing the models' losses trains them independently.
    """
    nf = [n_features] if np.ndim(n_features) == 0 else list(n_features)
    nf = [check_value("n_features", v, (int, 1, None), "train_toy_models") for v in nf]
    probs = np.atleast_1d(np.asarray(feature_prob, dtype=float))
    M = max(len(nf), probs.size)
    if len(nf) == 1:
        nf = nf * M
    if probs.size == 1:
        probs = np.repeat(probs, M)
    if len(nf) != M or probs.size != M:
        raise ValueError(f"n_features and feature_prob must give one value per model or one for all, got "
                         f"{len(nf)} and {probs.size} values.")
    probs = _probabilities("feature_prob", probs, M)
    n_hidden = check_value("n_hidden", n_hidden, (int, 1, None), "train_toy_models")
    steps = check_value("steps", steps, (int, 1, None), "train_toy_models")
    batch_size = check_value("batch_size", batch_size, (int, 1, None), "train_toy_models")
    Fmax = max(nf)
    if importance is None:
        imps = [np.ones(n) for n in nf]
    elif np.ndim(importance) == 1 and not isinstance(importance[0], (list, tuple, np.ndarray)):
        imps = [np.asarray(importance, float)] * M
    else:
        imps = [np.asarray(v, float) for v in importance]
    if len(imps) != M or any(v.shape != (n,) or not np.all(np.isfinite(v)) or np.any(v < 0) for v, n in zip(imps, nf)):
        raise ValueError(f"importance must be non-negative numbers, one per feature of each model (n_features={nf}).")
    device = resolve_device(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    mask = torch.arange(Fmax, device=device)[None, :] < torch.as_tensor(nf, device=device)[:, None]     # (M, F)
    p = torch.as_tensor(probs, dtype=torch.float32, device=device)[:, None] * mask
    I = torch.zeros(M, Fmax, device=device)
    for m, v in enumerate(imps):
        I[m, : nf[m]] = torch.as_tensor(v, dtype=torch.float32)
    scale = torch.as_tensor([(2.0 / (n_hidden + n)) ** 0.5 for n in nf], device=device)[:, None, None]
    W = (torch.randn(M, n_hidden, Fmax, generator=gen, device=device) * scale * mask[:, None, :]).requires_grad_(True)
    b = torch.zeros(M, Fmax, device=device, requires_grad=True)
    history = torch.empty(steps, M, device=device)
    per_model = None

    def loss_fn(step):
        nonlocal per_model
        x = (torch.rand(M, batch_size, Fmax, generator=gen, device=device) < p[:, None]) * \
            torch.rand(M, batch_size, Fmax, generator=gen, device=device)
        out = torch.relu(torch.bmm(torch.bmm(x, W.transpose(1, 2)), W) + b[:, None])
        per_model = (I[:, None] * (x - out) ** 2).sum(-1).mean(-1)
        return per_model.sum()

    def keep(step, loss):
        history[step] = per_model.detach()

    train([W, b], loss_fn, steps, lr=lr, desc=desc, callbacks=[keep], name="toy models")
    history = history.cpu().numpy()
    return [ToyModel(W=W[m, :, : nf[m]].detach().clone(), b=b[m, : nf[m]].detach().clone(),
                     feature_prob=float(probs[m]),
                     importance=imps[m], loss=history[:, m]) for m in range(M)]


def train_toy_model(n_features: int = 5, n_hidden: int = 2, feature_prob: float = 0.05, *,
                    importance=None, steps: int = 2000, batch_size: int = 1024, lr: float = 1e-2,
                    seed: int = 0, device: str | torch.device = "cpu", desc: str = "toy model") -> ToyModel:
    """Train one ReLU-output toy model (Elhage et al. 2022, eq. 1); see :func:`train_toy_models`."""
    if importance is not None:
        importance = [np.asarray(importance, float)]
    return train_toy_models([n_features], n_hidden, [feature_prob], importance=importance, steps=steps,
                            batch_size=batch_size, lr=lr, seed=seed, device=device, desc=desc)[0]


def toy_model_data(model: ToyModel, n_samples: int = 50_000, *, seed: int = 0) -> SparseFeatureData:
    """Hidden activations ``h = W x`` of a trained toy model, with its represented columns as truth.

    Only the features the model stores (||W_i|| > 0.5) are kept as ground truth; their unit
    directions are the normalized columns of ``W``.
    """
    keep = model.represented()
    if keep.size == 0:
        raise ValueError("model represents no feature (every ||W_i|| <= 0.5); train it longer or make features "
                         "sparser.")
    m = model.W.shape[1]
    full = make_sparse_features(n_samples, m, model.W.shape[0], model.feature_prob,
                                directions=model.W.T.cpu().numpy() + 1e-12, seed=seed, device=model.W.device)
    X = model.hidden(full.codes)
    dirs = model.W.T / model.W.norm(dim=0, keepdim=True).T.clamp_min(1e-12)
    return SparseFeatureData(X=X, codes=full.codes[:, keep], directions=dirs[keep],
                             feature_prob=np.full(keep.size, model.feature_prob), parents=np.full(keep.size, -1),
                             planes=full.planes, plane_codes=full.plane_codes, seed=seed,
                             meta={"represented": keep, "n_features_total": m})


def transcoder_target(data: SparseFeatureData, d_out: int | None = None, *, seed: int = 0):
    """The outputs of an idealised MLP that computes with the planted features.

    Feature ``i`` of the input writes its own unit output direction ``g_i``, scaled by its
    magnitude: ``y = sum_i s_i g_i``. Recovering ``g`` from ``(x, y)`` needs the sparse code of
    ``x`` (no linear map does it when features outnumber dimensions), which is what a transcoder
    (Dunefsky et al. 2024) learns. Returns ``(Y, out_directions)``.
    """
    d_out = data.dim if d_out is None else check_value("d_out", d_out, (int, 1, None), "transcoder_target")
    G = torch.as_tensor(random_directions(data.n_features, d_out, seed=seed + 10_000), dtype=torch.float32,
                        device=data.X.device)
    return data.codes @ G, G
