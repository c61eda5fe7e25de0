"""Neuron paths in a ViT: the joint attribution score, the layer-progressive search, its baselines, and
interventions.

A *neuron* is one FFN activation after the GELU (``blocks.{l}.mlp.hook_post``) at the class token. A *path*
holds ``K`` neurons in each layer; it is given as an integer tensor [n_images, n_layers, K] (one path per
image), [n_layers, K] (one path for every image), or a list of ``(layer, neuron)`` pairs (one path for every
image). Internally a path is a boolean mask [n_images, n_layers, d_mlp].

All gradients are of the target class's softmax probability ``p_y``. Images and the ``m`` Riemann steps
are batched together (``m × images`` sequences in one pass), so a search costs one forward and one backward
pass per layer, never a loop over neurons.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value
from labkit.interp.neuron_paths.vit import ViT

OPS = {"remove": 0.0, "enhance": 2.0}
"""The interventions: each path neuron's activation multiplied by this factor."""


def _hook_name(layer: int) -> str:
    return f"blocks.{layer}.mlp.hook_post"


# ----------------------------------------------------------------------------- checks
def check_targets(model: ViT, images, y) -> tuple[torch.Tensor, torch.Tensor]:
    """``images`` as the model's tensor and ``y`` as a LongTensor of one class per image, or raise."""
    x = model.check_images(images)
    y = torch.as_tensor(y).reshape(-1) if not isinstance(y, torch.Tensor) else y.reshape(-1)
    if y.dtype.is_floating_point or len(y) not in (1, len(x)):
        raise ValueError(f"y must hold one integer class per image ({len(x)}), got {tuple(y.shape)} {y.dtype}.")
    C = model.cfg.d_vocab
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= C):
        bad = int(y.min()) if int(y.min()) < 0 else int(y.max())
        raise ValueError(f"y holds class {bad}, outside the model's classes [0, {C - 1}].")
    return x, y.expand(len(x)).to(torch.long)


def path_mask(model: ViT, path, n: int) -> torch.Tensor:
    """The boolean mask [n, n_layers, d_mlp] of ``path`` (see the module docstring), or a ValueError naming it."""
    L, D = model.cfg.n_layers, model.cfg.d_mlp
    if isinstance(path, torch.Tensor) and path.dtype == torch.bool:
        if tuple(path.shape[-2:]) != (L, D) or path.dim() not in (2, 3):
            raise ValueError(f"path as a mask must have shape [n, {L}, {D}] or [{L}, {D}], got {tuple(path.shape)}.")
        return path.expand(n, L, D).clone() if path.dim() == 2 else path.clone()
    if isinstance(path, (list, tuple)) and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in path):
        mask = torch.zeros(L, D, dtype=torch.bool)
        for layer, neuron in path:
            if not (isinstance(layer, (int, np.integer)) and 0 <= layer < L):
                raise ValueError(f"path has layer {layer!r}, outside the model's layers [0, {L - 1}].")
            if not (isinstance(neuron, (int, np.integer)) and 0 <= neuron < D):
                raise ValueError(f"path has neuron {neuron!r} in layer {layer}, outside [0, {D - 1}].")
            mask[layer, neuron] = True
        return mask.expand(n, L, D).clone()
    idx = torch.as_tensor(path) if not isinstance(path, torch.Tensor) else path
    if idx.dtype.is_floating_point or idx.dtype == torch.bool or idx.dim() not in (2, 3):
        raise ValueError(f"path must be integer neuron indices [n, n_layers, K] or [n_layers, K], a boolean mask, "
                         f"or a list of (layer, neuron) pairs, got {tuple(idx.shape)} {idx.dtype}.")
    idx = idx.expand(n, *idx.shape) if idx.dim() == 2 else idx
    if idx.shape[1] != L or idx.shape[0] != n:
        raise ValueError(f"path has shape {tuple(idx.shape)}: it must cover the model's {L} layers for {n} images.")
    if idx.numel() and (int(idx.min()) < 0 or int(idx.max()) >= D):
        raise ValueError(f"path has neuron {int(idx.min()) if int(idx.min()) < 0 else int(idx.max())}, "
                         f"outside [0, {D - 1}].")
    mask = torch.zeros(n, L, D, dtype=torch.bool)
    return mask.scatter_(2, idx.long(), True)


def _check_m(m) -> int:
    return check_value("m", m, (int, 1, 100_000))


def _check_k(model: ViT, k) -> int:
    return check_value("k", k, (int, 1, model.cfg.d_mlp))


# ----------------------------------------------------------------------------- activations and probabilities
def cls_activations(model: ViT, x: torch.Tensor) -> torch.Tensor:
    """The CLS neurons of every layer [n, n_layers, d_mlp] (no gradients)."""
    names = [_hook_name(layer) for layer in range(model.cfg.n_layers)]
    with torch.no_grad():
        _, cache = model.run_with_cache(x, names=names)
    return torch.stack([cache[n][:, 0] for n in names], dim=1)


def _set_cls(values: dict[int, torch.Tensor], masks: dict[int, torch.Tensor]):
    """Hooks that write ``values[l]`` at the CLS position of layer ``l`` where ``masks[l]`` is set."""
    def make(layer):
        def hook(act, name):
            cls = torch.where(masks[layer], values[layer], act[:, 0])
            return torch.cat([cls[:, None], act[:, 1:]], dim=1)
        return (_hook_name(layer), hook)
    return [make(layer) for layer in values]


def target_prob(model: ViT, x: torch.Tensor, y: torch.Tensor, fwd_hooks=()) -> torch.Tensor:
    """p_y of each image [n] under ``fwd_hooks``."""
    return torch.softmax(model.logits(x, fwd_hooks), dim=-1).gather(1, y[:, None])[:, 0]


def _scaled_grads(model: ViT, x, y, a0, scaled: torch.Tensor, m: int, chunk: int = 2048) -> torch.Tensor:
    """Σ_k ∂p_y/∂v at v = α_k·a0 on the neurons of ``scaled`` [n, L, D] (the others free), α_k = k/m,
    k = 0..m-1: the Riemann sums [n, L, D] (zero off ``scaled``). Images × steps are batched."""
    n, L, D = a0.shape
    alphas = torch.arange(m, dtype=a0.dtype) / m
    layers = [layer for layer in range(L) if bool(scaled[:, layer].any())]
    out = torch.zeros(n, L, D, dtype=a0.dtype)
    per = max(1, chunk // m)
    for s in range(0, n, per):
        sl = slice(s, min(n, s + per))
        b = sl.stop - sl.start
        xs = x[sl].repeat(m, 1, 1, 1)
        ys = y[sl].repeat(m)
        al = alphas.repeat_interleave(b)[:, None]
        vals = {layer: (al * a0[sl, layer].repeat(m, 1)).requires_grad_(True) for layer in layers}
        masks = {layer: scaled[sl, layer].repeat(m, 1) for layer in layers}
        with torch.enable_grad():
            p = target_prob(model, xs, ys, _set_cls(vals, masks))
            grads = torch.autograd.grad(p.sum(), [vals[layer] for layer in layers])
        for layer, g in zip(layers, grads):
            out[sl, layer] = (g * masks[layer]).reshape(m, b, D).sum(0)
    return out


# ----------------------------------------------------------------------------- scores and searches
def joint_attribution(model: ViT, x, y, path, m: int = 20) -> torch.Tensor:
    """The joint attribution score of ``path`` for each image [n]: the integrated gradient of p_y with the
    path's neurons scaled together from 0 to their values (left Riemann sum, ``m`` steps),
    Σ_{j∈P} x_j · (1/m) Σ_k ∂p_y/∂x_j(α_k)."""
    m = _check_m(m)
    x, y = check_targets(model, x, y)
    mask = path_mask(model, path, len(x))
    a0 = cls_activations(model, x)
    g = _scaled_grads(model, x, y, a0, mask, m)
    return (g * a0 * mask).sum((1, 2)) / m


def find_path(model: ViT, x, y, k: int = 1, m: int = 20) -> torch.Tensor:
    """The layer-progressive search (the official ``joint_attr.py``): at layer l the neurons already on the
    path are scaled together with the whole of layer l, one backward pass gives every candidate's gradient,
    and candidate i scores (Σ_k [g_{l,i} + Σ_{j∈P} g_j]) · (x_{l,i} + Σ_{j∈P} x_j) / m; the ``k`` best join the
    path. Returns neuron indices [n, n_layers, k]."""
    m, k = _check_m(m), _check_k(model, k)
    x, y = check_targets(model, x, y)
    a0 = cls_activations(model, x)
    n, L, D = a0.shape
    path = torch.zeros(n, L, D, dtype=torch.bool)
    chosen = []
    for layer in range(L):
        scaled = path.clone()
        scaled[:, layer] = True
        g = _scaled_grads(model, x, y, a0, scaled, m)
        g_path = (g * path).sum((1, 2))
        x_path = (a0 * path).sum((1, 2))
        score = (g[:, layer] + g_path[:, None]) * (a0[:, layer] + x_path[:, None]) / m
        top = score.topk(k, dim=1).indices
        path[:, layer].scatter_(1, top, True)
        chosen.append(top)
    return torch.stack(chosen, dim=1)


def layer_ig_scores(model: ViT, x, y, m: int = 20) -> torch.Tensor:
    """Each layer's CLS neurons scored by integrated gradients with that layer alone scaled from 0 [n, L, D]."""
    m = _check_m(m)
    x, y = check_targets(model, x, y)
    a0 = cls_activations(model, x)
    return torch.stack([_scaled_grads(model, x, y, a0, _layer_only(a0.shape, layer), m)[:, layer]
                        for layer in range(a0.shape[1])], dim=1) * a0 / m


def _layer_only(shape, layer: int) -> torch.Tensor:
    mask = torch.zeros(shape, dtype=torch.bool)
    mask[:, layer] = True
    return mask


def layer_ig_path(model: ViT, x, y, k: int = 1, m: int = 20) -> torch.Tensor:
    """Per-layer IG (each layer scaled alone, not in the paper): the ``k`` best neurons of each layer."""
    k = _check_k(model, k)
    return layer_ig_scores(model, x, y, m).topk(k, dim=2).indices


def activation_path(model: ViT, x, k: int = 1) -> torch.Tensor:
    """The ``k`` most active CLS neurons of each layer [n, L, k]."""
    k = _check_k(model, k)
    return cls_activations(model, model.check_images(x)).topk(k, dim=2).indices


def influence_scores(model: ViT, x, y, m: int = 20) -> torch.Tensor:
    """Each CLS neuron's conductance with the *input* scaled from zero (the influence-pattern baseline's
    path): Σ_k ∂p_y/∂x_{l,i}(α_k·input) · (x_{l,i}(α_{k+1}·input) − x_{l,i}(α_k·input)) [n, L, D]."""
    m = _check_m(m)
    x, y = check_targets(model, x, y)
    names = [_hook_name(layer) for layer in range(model.cfg.n_layers)]
    alphas = torch.arange(m + 1, dtype=x.dtype) / m
    xs = (alphas[:, None, None, None, None] * x[None]).reshape(-1, *x.shape[1:])
    ys = y.repeat(m + 1)
    store = {}

    def keep(act, name):
        store[name] = act

    with torch.enable_grad():
        p = target_prob(model, xs.requires_grad_(True), ys, [(name, keep) for name in names])
        grads = torch.autograd.grad(p.sum(), [store[name] for name in names])
    acts = [(store[name].detach(), g) for name, g in zip(names, grads)]
    n = len(x)
    out = []
    for a, g in acts:
        v, g = a[:, 0].reshape(m + 1, n, -1), g[:, 0].reshape(m + 1, n, -1)
        out.append((g[:-1] * (v[1:] - v[:-1])).sum(0))
    return torch.stack(out, dim=1)


def influence_pattern_path(model: ViT, x, y, k: int = 1, m: int = 20) -> torch.Tensor:
    """The ``k`` neurons of each layer with the largest conductance under the input scaled from zero."""
    k = _check_k(model, k)
    return influence_scores(model, x, y, m).topk(k, dim=2).indices


def random_path(model: ViT, n: int, k: int = 1, seed: int = 0) -> torch.Tensor:
    """``k`` distinct random neurons per layer for each of ``n`` images [n, L, k] (seeded)."""
    k = _check_k(model, k)
    gen = torch.Generator().manual_seed(int(seed))
    return torch.rand(n, model.cfg.n_layers, model.cfg.d_mlp, generator=gen).topk(k, dim=2).indices


# ----------------------------------------------------------------------------- interventions
def intervene(model: ViT, x, y, path, op: str = "remove") -> tuple[torch.Tensor, torch.Tensor]:
    """p_y of each image before and after multiplying the path's CLS neurons by 0 (``remove``) or 2
    (``enhance``); returns ``(p_before, p_after)``, each [n]."""
    if op not in OPS:
        raise ValueError(f"op must be one of {', '.join(map(repr, OPS))}, got {op!r}.")
    x, y = check_targets(model, x, y)
    mask = path_mask(model, path, len(x))
    return _intervene(model, x, y, mask, OPS[op])


def _intervene(model, x, y, mask, factor):
    def make(layer):
        def hook(act, name):
            cls = torch.where(mask[:, layer], act[:, 0] * factor, act[:, 0])
            return torch.cat([cls[:, None], act[:, 1:]], dim=1)
        return (_hook_name(layer), hook)
    with torch.no_grad():
        before = target_prob(model, x, y)
        after = target_prob(model, x, y, [make(layer) for layer in range(mask.shape[1]) if mask[:, layer].any()])
    return before, after


def class_paths(paths: torch.Tensor, y, n_classes: int, d_mlp: int, k: int | None = None):
    """Each class's most frequent path neurons: ``(top, counts)``, ``counts`` [C, L, d_mlp] how many of the
    class's paths hold each neuron, ``top`` [C, L, k] the ``k`` most frequent (``k`` defaults to the paths' K)."""
    paths = torch.as_tensor(paths)
    y = torch.as_tensor(y).long()
    n, L, K = paths.shape
    k = K if k is None else check_value("k", k, (int, 1, d_mlp))
    onehot = torch.zeros(n, L, d_mlp).scatter_(2, paths, 1.0)
    counts = torch.zeros(n_classes, L, d_mlp).index_add_(0, y, onehot)
    # ties broken by the lower index: a stable order, so a run repeats exactly
    order = torch.argsort(-counts + torch.arange(d_mlp) * 1e-6, dim=2)
    return order[:, :, :k], counts


def jaccard_matrix(paths: torch.Tensor, d_mlp: int) -> torch.Tensor:
    """Pairwise Jaccard similarity of the paths' neuron sets [n, n]."""
    n, L, K = paths.shape
    sets = torch.zeros(n, L, d_mlp).scatter_(2, paths, 1.0).reshape(n, -1)
    inter = sets @ sets.T
    size = sets.sum(1)
    return inter / (size[:, None] + size[None] - inter)


def within_between(paths: torch.Tensor, y, d_mlp: int) -> tuple[float, float]:
    """Mean Jaccard of two different images' paths of the same class, and of different classes."""
    J = jaccard_matrix(paths, d_mlp)
    y = torch.as_tensor(y)
    same = y[:, None] == y[None]
    off = ~torch.eye(len(y), dtype=torch.bool)
    return float(J[same & off].mean()), float(J[~same].mean())


def prune_to(model: ViT, keep) -> list:
    """Forward hooks that zero every CLS neuron outside ``keep`` (a boolean mask [n_layers, d_mlp] or a
    path, see :func:`path_mask`): run ``model.logits(x, prune_to(model, keep))``."""
    mask = path_mask(model, keep, 1)[0]

    def make(layer):
        def hook(act, name):
            cls = act[:, 0] * mask[layer].to(act.dtype)
            return torch.cat([cls[:, None], act[:, 1:]], dim=1)
        return (_hook_name(layer), hook)
    return [make(layer) for layer in range(model.cfg.n_layers)]


def union_mask(top: torch.Tensor, d_mlp: int) -> torch.Tensor:
    """The union over classes of class paths ``top`` [C, L, k]: a mask [L, d_mlp]."""
    C, L, k = top.shape
    return torch.zeros(C, L, d_mlp, dtype=torch.bool).scatter_(2, top, True).any(0)


def random_like(mask: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """As many random neurons in each layer as ``mask`` [L, D] holds."""
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool or mask.dim() != 2:
        raise ParameterError("Parameter 'mask' must be a boolean tensor [n_layers, d_mlp].")
    gen = torch.Generator().manual_seed(int(seed))
    order = torch.rand(mask.shape, generator=gen).argsort(dim=1)
    ranks = order.argsort(dim=1)
    return ranks < mask.sum(1, keepdim=True)
