"""One way to fit every design: Adam through :func:`labkit.core.train.train`, with a cosine learning rate.

- regression: mean squared error; classification: cross-entropy, or the CBC head's margin loss;
- ReLinear: the quadratic weights (``g``, ``b`` of each :class:`QuadraticLinear`) train at
  ``lr × quadratic_lr_ratio`` (the official code's 1e-5 against 0.1 is a ratio of 1e-4);
- S-KAN: the mixing temperature falls from 1 to 0.05 over the first 80% of the steps, then each node
  keeps its strongest space;
- every fit runs on one CPU thread (:func:`labkit.core.threads.threads`: tiny models, many small ops);
- ``control="untrained"`` (the negative control) returns the model as it was built, without a step.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.params import check_args
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.fields.neuron_designs.layers import CBCHead, QuadraticLinear, SKANLinear
from labkit.fields.neuron_designs.targets import Task

CONTROLS = ("none", "untrained")


def parameter_groups(model: torch.nn.Module, lr: float, quadratic_lr_ratio: float) -> list[dict]:
    """Adam's parameter groups: every quadratic weight at ``lr × quadratic_lr_ratio``, the rest at ``lr``."""
    quad = [p for m in model.modules() if isinstance(m, QuadraticLinear) for p in m.quadratic_parameters()]
    ids = {id(p) for p in quad}
    rest = [p for p in model.parameters() if id(p) not in ids]
    groups = [{"params": rest, "lr": lr}]
    if quad:
        groups.append({"params": quad, "lr": lr * quadratic_lr_ratio})
    return groups


def _loss(model, out: torch.Tensor, y: torch.Tensor, classes: int) -> torch.Tensor:
    if classes == 0:
        return F.mse_loss(out, y)
    if isinstance(model, CBCHead):
        return model.loss(out, y)
    return F.cross_entropy(out, y)


@threads(1)   # on a GPU the torch thread count does not matter
def fit(model: torch.nn.Module, task: Task, steps: int, *, lr: float = 1e-2, batch_size: int = 0, seed: int = 0,
        quadratic_lr_ratio: float = 1.0, weight_decay: float = 0.0, control: str = "none",
        desc: str = "fitting") -> np.ndarray:
    """Train ``model`` on ``task`` for ``steps`` Adam steps; return the loss history (empty under the control).

    ``batch_size=0`` is full batch; otherwise each step draws that many training samples (seeded by ``seed``).
    """
    check_args("fit", {"steps": steps, "lr": lr, "batch_size": batch_size, "quadratic_lr_ratio": quadratic_lr_ratio,
                       "control": control},
               {"steps": (int, 1, None), "lr": (float, 0.0, None, "neither"), "batch_size": (int, 0, None),
                "quadratic_lr_ratio": (float, 0.0, None), "control": list(CONTROLS)})
    if control == "untrained":
        model.eval()
        return np.zeros(0)
    x, y, classes = task.x_train, task.y_train, task.n_classes
    if classes and (int(y.min()) < 0 or int(y.max()) >= classes):
        raise ValueError(f"fit: labels must lie in 0..{classes - 1}, got {int(y.min())}..{int(y.max())}.")
    opt = torch.optim.Adam(parameter_groups(model, lr, quadratic_lr_ratio), weight_decay=weight_decay)
    base = [g["lr"] for g in opt.param_groups]
    skan = [m for m in model.modules() if isinstance(m, SKANLinear)]
    g = torch.Generator().manual_seed(seed)
    n = x.shape[0]

    def loss_fn(step: int) -> torch.Tensor:
        if batch_size and batch_size < n:
            idx = torch.randint(0, n, (batch_size,), generator=g).to(x.device)
            return _loss(model, model(x[idx]), y[idx], classes)
        return _loss(model, model(x), y, classes)

    def schedule(step: int, _loss) -> None:
        c = 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * (step + 1) / steps))
        for group, b in zip(opt.param_groups, base):
            group["lr"] = b * c
        if skan:
            frac = (step + 1) / (0.8 * steps)
            for m in skan:
                if frac >= 1:
                    m.harden()
                else:
                    m.anneal(0.05 ** frac)

    return train(model, loss_fn, steps, optimizer=opt, callbacks=[schedule], desc=desc, check_every=50,
                 progress=False)


@threads(1)
@torch.no_grad()
def predict(model: torch.nn.Module, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])


def rmse(model: torch.nn.Module, task: Task) -> float:
    return float((predict(model, task.x_test) - task.y_test).square().mean().sqrt())


def accuracy(model: torch.nn.Module, task: Task) -> float:
    return float((predict(model, task.x_test).argmax(1) == task.y_test).float().mean())
