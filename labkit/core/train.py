"""The shared training loop: steps with a progress bar and a loss history, nothing hidden."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from labkit.core.progress import trange


def train(model: torch.nn.Module, loss_fn: Callable[[int], torch.Tensor], steps: int, *, lr: float = 1e-3,
          optimizer: torch.optim.Optimizer | None = None, weight_decay: float = 0.0,
          desc: str = "training", callback: Callable[[int, float], None] | None = None,
          clip: float | None = None) -> np.ndarray:
    """Run ``steps`` optimizer steps of ``loss_fn(step)`` on ``model``; return the loss at each step.

    ``loss_fn`` draws its own batch (so tasks stay in charge of their data). A NaN or infinite loss
    stops training with an error naming the step, rather than silently producing a broken model.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be a positive integer, got {steps!r}.")
    opt = optimizer or torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = np.empty(steps)
    model.train()
    bar = trange(steps, desc=desc)
    for step in bar:
        loss = loss_fn(step)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"training diverged: the loss is {loss.item()} at step {step}; lower lr.")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        history[step] = loss.item()
        if callback is not None:
            callback(step, history[step])
        if step % 50 == 0:
            bar.set_postfix(loss=f"{history[step]:.4f}")
    model.eval()
    return history
