"""Activation maximization: x* = argmax_x a(x) − R(x), many pictures optimized as one batch.

An objective is a tuple naming what picture ``i`` should excite:

* ``("logit", c)`` — the model's output ``c``;
* ``("unit", layer, index)`` — one unit of a named layer (a flat index into its activation);
* ``("channel", layer, c)`` — channel ``c`` of a convolutional layer, averaged over space.

:func:`visualize` takes one objective per picture (units, facets and seeds side by side in one batch),
a parameterization (pixel or Fourier), random transforms, penalties and an optional diversity term
(Lucid's: minus the mean cosine similarity of the pictures' Gram matrices at a layer). Steps are
Adam's, or mfv's: the gradient divided by its mean absolute value, the step size growing linearly
from ``lr`` to ``2 lr``. All of it runs through :func:`labkit.core.train.train`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import ParameterError, check_args, check_value
from labkit.core.train import train
from labkit.interp.feature_visualization.images import (
    FourierImage,
    PixelImage,
    blur_penalty,
    check_crop,
    total_variation,
    transform,
)
from labkit.interp.feature_visualization.images import l2 as l2_penalty

KINDS = ("logit", "unit", "channel")


def named_layers(model: torch.nn.Module) -> dict[str, torch.nn.Module]:
    """The model's named submodules (the names objectives may use)."""
    return {name: m for name, m in model.named_modules() if name}


def _check_objectives(model, objectives, size: int) -> list[tuple]:
    layers = named_layers(model)
    if isinstance(objectives, tuple):
        objectives = [objectives]
    objectives = list(objectives)
    if not objectives:
        raise ParameterError("Parameter 'objectives' of visualize must name at least one objective.")
    probe = {}
    hooks = [m.register_forward_hook(lambda _m, _i, out, n=n: probe.__setitem__(n, out)) for n, m in layers.items()]
    with torch.no_grad():
        dev = next(model.parameters()).device
        out = model(torch.zeros(1, 3, size, size, device=dev))
    for h in hooks:
        h.remove()
    for obj in objectives:
        if not isinstance(obj, tuple) or not obj or obj[0] not in KINDS:
            raise ParameterError(f"Parameter 'objectives' of visualize: {obj!r} is not one of ('logit', c), "
                                 "('unit', layer, index), ('channel', layer, c).")
        if obj[0] == "logit":
            n = out.shape[1]
        else:
            if obj[1] not in layers:
                raise ParameterError(f"Parameter 'objectives' of visualize names layer {obj[1]!r}; valid layers: "
                                     f"{', '.join(layers)}.")
            act = probe[obj[1]]
            n = act[0].numel() if obj[0] == "unit" else (act.shape[1] if act.dim() == 4 else 0)
            if obj[0] == "channel" and act.dim() != 4:
                raise ParameterError(f"Parameter 'objectives' of visualize: layer {obj[1]!r} has no channels.")
        idx = obj[-1]
        if not isinstance(idx, (int, np.integer)) or not 0 <= idx < n:
            raise ParameterError(f"Parameter 'objectives' of visualize: unit {idx!r} of {obj[:-1]} "
                                 f"must be in 0..{n - 1}.")
    return objectives


def objective_values(model, x, objectives) -> torch.Tensor:
    """The activation each picture's objective asks for, (B,), from one forward pass."""
    names = {o[1] for o in objectives if o[0] != "logit"}
    layers = named_layers(model)
    acts = {}
    hooks = [layers[n].register_forward_hook(lambda _m, _i, out, n=n: acts.__setitem__(n, out)) for n in names]
    try:
        out = model(x)
    finally:
        for h in hooks:
            h.remove()
    vals = []
    for i, o in enumerate(objectives):
        if o[0] == "logit":
            vals.append(out[i, o[1]])
        elif o[0] == "unit":
            vals.append(acts[o[1]][i].flatten()[o[2]])
        else:
            vals.append(acts[o[1]][i, o[2]].mean())
    return torch.stack(vals)


class NormalizedAscent(torch.optim.Optimizer):
    """mfv's step: p ← p − lr_t · g / mean|g| per picture, lr_t growing linearly from lr to ``end`` · lr."""

    def __init__(self, params, lr: float, steps: int, end: float = 2.0):
        super().__init__(params, dict(lr=lr, steps=steps, end=end, t=0))

    @torch.no_grad()
    def step(self, closure=None):
        for g in self.param_groups:
            frac = g["t"] / max(1, g["steps"] - 1)
            lr = g["lr"] * (1 + (g["end"] - 1) * frac)
            for p in g["params"]:
                if p.grad is None:
                    continue
                mean = p.grad.abs().flatten(1).mean(1).clamp_min(1e-12).view(-1, *([1] * (p.dim() - 1)))
                p.sub_(lr * p.grad / mean)
            g["t"] += 1


@dataclass
class Synthesis:
    """``images`` (B, 3, H, W) in [0, 1]; ``activation`` (B,) on the final untransformed pictures;
    ``trace`` (steps, B) the activation at each step (on the transformed pictures)."""
    images: np.ndarray
    activation: np.ndarray
    trace: np.ndarray


RULES = {"steps": (int, 1, None), "lr": (float, 0, None, "neither"), "tv": (float, 0, None),
         "l2": (float, 0, None), "blur": (float, 0, None), "bregman": (float, 0, None),
         "diversity": (float, 0, None), "jitter": (float, 0, None), "rotate": (float, 0, 180),
         "decay": (float, 0, 3), "parameterization": ["pixel", "fourier"], "optimizer": ["adam", "normalized"],
         "seed": "seed", "size": (int, 4, 1024)}


def visualize(model: torch.nn.Module, objectives, *, size: int, steps: int = 200, lr: float = 0.05,
              parameterization: str = "pixel", decay: float = 1.0, colour=None, start=None,
              jitter: float = 0.0, scale=(1.0, 1.0), rotate: float = 0.0, crop=None,
              tv: float = 0.0, l2: float = 0.0, blur: float = 0.0, bregman: float = 0.0,
              diversity: float = 0.0, diversity_layer=None, optimizer: str = "adam", seed: int = 0) -> Synthesis:
    """Optimize one picture per objective, all in one batch; see the module docstring.

    ``start`` (B, 3, H, W): pixel starts (mfv's facet means; pixel parameterization only); ``crop``: a window
    of ``crop`` pixels, resized to the picture, per step (overrides ``scale``); ``bregman``: Bregman-TV weight
    applied after each pixel step (0: none; smaller smooths more; mfv's 0.4 → 2 on 0-255 pixels is
    about 100 → 500 here).
    """
    vals = dict(steps=steps, lr=lr, tv=tv, l2=l2, blur=blur, bregman=bregman, diversity=diversity, jitter=jitter,
                rotate=rotate, decay=decay, parameterization=parameterization, optimizer=optimizer, seed=seed,
                size=size)
    vals = check_args("visualize", vals, RULES)
    zoom = check_crop(crop, size, "visualize")
    scale = (zoom, zoom) if crop is not None else tuple(check_value("scale", float(s), (float, 0.1, 10), "visualize")
                                                        for s in scale)
    objectives = _check_objectives(model, objectives, size)
    if diversity > 0 and diversity_layer not in named_layers(model):
        raise ParameterError("Parameter 'diversity_layer' of visualize must be one of "
                             f"{', '.join(named_layers(model))}.")
    B = len(objectives)
    gen = torch.Generator().manual_seed(seed)
    if start is not None:
        start = np.asarray(start, np.float32)
        if parameterization != "pixel" or start.shape != (B, 3, size, size):
            raise ParameterError("Parameter 'start' of visualize must be pixel pictures of shape "
                                 f"{(B, 3, size, size)}.")
    image = (PixelImage(B, size, start, gen) if parameterization == "pixel"
             else FourierImage(B, size, decay, colour, gen))
    for p in model.parameters():
        p.requires_grad_(False)
    model.eval()
    trace = []
    weights = {"tv": (tv, total_variation), "l2": (l2, l2_penalty), "blur": (blur, blur_penalty)}

    def loss_fn(step):
        x = transform(image(), jitter=jitter, scale=scale, rotate=rotate, generator=gen)
        if diversity > 0:
            acts = {}
            h = named_layers(model)[diversity_layer].register_forward_hook(lambda _m, _i, o: acts.__setitem__(0, o))
        a = objective_values(model, x, objectives)
        trace.append(a.detach())
        loss = -a.sum()
        clean = image()
        for w, fn in weights.values():
            if w > 0:
                loss = loss + w * fn(clean).sum()
        if diversity > 0:
            h.remove()
            f = acts[0].flatten(2) if acts[0].dim() == 4 else acts[0][:, :, None]
            gram = torch.nn.functional.normalize((f @ f.transpose(1, 2)).flatten(1), dim=1)
            sim = gram @ gram.T
            loss = loss + diversity * (sim.sum() - sim.diag().sum()) / max(1, B - 1)
        return loss

    opt = (torch.optim.Adam(image.parameters(), lr=lr) if optimizer == "adam"
           else NormalizedAscent(image.parameters(), lr, steps))
    train(image, loss_fn, steps, optimizer=opt, desc="visualizing", name="visualize", check_every=steps,
          callbacks=[lambda s, _l: image.project(bregman)])
    with torch.no_grad():
        final = image()
        act = objective_values(model, final, objectives)
    return Synthesis(final.detach().cpu().numpy(), act.cpu().numpy(), torch.stack(trace).cpu().numpy())
