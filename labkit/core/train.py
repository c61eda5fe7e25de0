"""The shared training loop: optimizer steps with a progress bar, a loss history and a divergence check.

Every gradient-trained model of the lab trains through :func:`train`. What differs between methods
(drawing a batch, renormalising a dictionary, resampling dead latents, a learning-rate schedule,
taking checkpoints, clamping a circuit) goes into ``loss_fn`` and ``callbacks``, so the loop itself,
its divergence message and its progress bar exist once::

    history = train(model, lambda step: loss_on(batch(step)), steps=2000, lr=1e-3,
                    callbacks=[renormalise, resample_dead])

Each step: ``loss = loss_fn(step)``; ``zero_grad``; ``backward``; optional gradient clipping;
``optimizer.step()``; then each callback ``cb(step, loss)`` in order, with the loss as a detached
tensor (no device sync). A callback that returns ``True`` stops training after that step.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch

from labkit.core.progress import trange

Callback = Callable[[int, torch.Tensor], "bool | None"]


class Diverged(FloatingPointError):
    """The loss became NaN or infinite."""


def _parameters(model) -> list[torch.nn.Parameter]:
    if isinstance(model, torch.nn.Module):
        return list(model.parameters())
    return list(model)


def train(model: torch.nn.Module | Iterable[torch.nn.Parameter], loss_fn: Callable[[int], torch.Tensor], steps: int,
          *, lr: float = 1e-3, optimizer: torch.optim.Optimizer | None = None, weight_decay: float = 0.0,
          desc: str = "training", callback: Callable[[int, float], None] | None = None,
          callbacks: Sequence[Callback] = (), clip: float | None = None, check_every: int = 1,
          name: str = "training", progress: bool | None = None) -> np.ndarray:
    """Run ``steps`` optimizer steps of ``loss_fn(step)``; return the loss at each step (NumPy).

    ``model``: a module (put in train mode, then eval mode at the end) or an iterable of parameters.
    ``optimizer``: defaults to AdamW(lr, weight_decay). ``callback(step, float_loss)`` is the simple
    form (it syncs the device each step); ``callbacks`` get the loss as a tensor. ``check_every``: how
    often the loss is checked for NaN/inf (each check syncs the device); a divergence raises
    :class:`Diverged` naming ``name``, the first bad step and its loss. Steps run so far are kept.
    """
    if not isinstance(steps, int) or isinstance(steps, bool) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    params = _parameters(model)
    opt = optimizer or torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    device = params[0].device if params else torch.device("cpu")
    history = torch.full((steps,), float("nan"), device=device,
                         dtype=torch.float32 if device.type == "mps" else torch.float64)
    is_module = isinstance(model, torch.nn.Module)
    if is_module:
        model.train()
    bar = trange(steps, desc=desc, enabled=progress)
    last = -1
    for step in bar:
        loss = loss_fn(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        detached = loss.detach()
        history[step] = detached
        last = step
        stop = False
        if callback is not None:
            callback(step, float(detached))
        for cb in callbacks:
            stop = bool(cb(step, detached)) or stop
        if (step + 1) % check_every == 0 or step == steps - 1 or stop:
            if not bool(torch.isfinite(history[step])):
                break
        if step % 50 == 0 and bar.disable is False:
            bar.set_postfix(loss=f"{float(detached):.4f}")
        if stop:
            break
    if is_module:
        model.eval()
    out = history[: last + 1].cpu().numpy() if last + 1 < steps else history.cpu().numpy()
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        raise Diverged(f"{name} diverged: the loss is {out[bad[0]]} at step {bad[0]}; lower lr.")
    return out
