"""The comparisons the notebook runs (and the benchmark and the tests reuse), each a function of its settings.

Every model is built under ``torch.manual_seed(seed)`` right before it, so the same seed gives the same
numbers, and the ReLinear network's linear weights are those of the MLP it is compared with.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from labkit.core.params import check_value
from labkit.core.threads import threads
from labkit.fields.neuron_designs.designs import DESIGNS, build, count, match_params
from labkit.fields.neuron_designs.layers import CBCHead, QuadraticLinear
from labkit.fields.neuron_designs.prototypes import kmeans_init
from labkit.fields.neuron_designs.targets import Task, disk, image_task, regression_task
from labkit.fields.neuron_designs.training import CONTROLS, accuracy, fit, predict, rmse

CBC_LR_FACTOR = 0.1   # the CBC head trains at a tenth of the shared rate: at the full rate its prototypes overfit


@dataclass
class DiskResult:
    quadratic: torch.nn.Module
    linear: torch.nn.Module
    x_test: torch.Tensor
    y_test: torch.Tensor
    quad_accuracy: float
    linear_accuracy: float


def _binary_fit(model, x, y, steps, lr, control):
    if control == "untrained":
        return model
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    from labkit.core.train import train

    train(model, lambda s: F.binary_cross_entropy_with_logits(model(x)[:, 0], y.float()), steps, optimizer=opt,
          progress=False, check_every=50)
    return model


@threads(1)
def disk_study(n_train: int = 2000, n_test: int = 20000, steps: int = 1000, lr: float = 0.1, seed: int = 0,
               control: str = "none") -> DiskResult:
    """One quadratic neuron (plain start) and one linear neuron, each a logistic unit, trained on the disk task."""
    check_value("control", control, list(CONTROLS), "disk_study")
    x, y = disk(n_train, seed)
    xt, yt = disk(n_test, seed + 10_000)
    torch.manual_seed(seed)
    quad = _binary_fit(QuadraticLinear(2, 1, start="plain"), x, y, steps, lr, control)
    torch.manual_seed(seed)
    lin = _binary_fit(torch.nn.Linear(2, 1), x, y, steps, lr, control)

    def acc(m):
        return float(((predict(m, xt)[:, 0] > 0).long() == yt).float().mean())

    return DiskResult(quad, lin, xt, yt, acc(quad), acc(lin))


@dataclass
class Fit:
    """One trained network: its design, task, size, score (RMSE or accuracy) and loss history."""

    design: str
    task: str
    budget: int
    n_params: int
    score: float
    model: torch.nn.Module
    history: np.ndarray = field(repr=False)


def fit_design(design: str, task: Task, budget: int, steps: int, *, lr: float = 1e-2, batch_size: int = 0,
               seed: int = 0, control: str = "none", quadratic_lr_ratio: float = 1e-4, per_class_sigma: float = 0.0,
               width: int | None = None, device="cpu") -> Fit:
    """Build ``design`` at ``budget`` parameters (or at ``width``) for ``task``, train it, score it on the test set.

    A CBC head is scored by its winner-takes-all readout (the nearest prototype's class: the classifier whose
    radius is certified); its soft readout ``argmax p`` is :func:`labkit.fields.neuron_designs.training.accuracy`.
    ReLinear (``quadratic``) trains its quadratic weights at ``lr × quadratic_lr_ratio``; the plain-start
    quadratic net trains every weight at ``lr``. A CBC head starts from k-means prototypes of each class
    (not under the control, where it keeps its random start) with ``σ`` the mean squared distance of the
    training samples to their nearest prototype, unless ``per_class_sigma`` gives it. ``device``: where the
    model trains (the data are moved there; every random draw stays on the CPU, so a seed means the same start).
    """
    check_value("design", design, list(DESIGNS), "fit_design")
    if design == "cbc" and not task.n_classes:
        raise ValueError("fit_design: design 'cbc' is a classifier; the task is a regression.")
    w = width if width is not None else match_params(design, budget, task.d_in, task.d_out)
    grid_range = {}
    if task.n_classes and design in ("kan", "afkan", "skan"):
        # the grid spans the training inputs (MNIST-1D is standardised, not in [-1, 1]); test inputs beyond are clamped
        grid_range = {"lo": float(task.x_train.min()), "hi": float(task.x_train.max()), "outside": "clamp"}
    torch.manual_seed(seed)
    model = build(design, task.d_in, task.d_out, w, **grid_range)
    if isinstance(model, CBCHead) and control != "untrained":
        kmeans_init(model, task.x_train.cpu(), task.y_train.cpu(), seed)
    task, model = task.to(device), model.to(device)
    if isinstance(model, CBCHead):
        with torch.no_grad():
            model.sigma = per_class_sigma or float(model.distances(task.x_train).amin(1).square().mean())
    ratio = quadratic_lr_ratio if design == "quadratic" else 1.0
    hist = fit(model, task, steps, lr=lr * (CBC_LR_FACTOR if design == "cbc" else 1.0), batch_size=batch_size,
               seed=seed, quadratic_lr_ratio=ratio, control=control, desc=design)
    if isinstance(model, CBCHead):
        score = float((model.predict_wta(task.x_test) == task.y_test).float().mean())
    else:
        score = accuracy(model, task) if task.n_classes else rmse(model, task)
    return Fit(design, task.name, budget, count(model), score, model, hist)


def regression_study(targets: list[str], designs: list[str], budgets: list[int], steps: int, *, lr: float = 1e-2,
                     batch_size: int = 0, n_train: int = 2000, seed: int = 0, control: str = "none",
                     device="cpu") -> list[Fit]:
    """Every target × design × budget, Adam on ``n_train`` points (full batch unless ``batch_size``); test RMSE
    on 1,000 more."""
    out = []
    for target in targets:
        task = regression_task(target, n_train=n_train, seed=seed)
        for design in designs:
            for budget in budgets:
                out.append(fit_design(design, task, budget, steps, lr=lr, batch_size=batch_size, seed=seed,
                                      control=control, device=device))
    return out


def rmse_ratio(fits: list[Fit], target: str, design: str, baseline: str, budget: int) -> float:
    """``design``'s test RMSE over ``baseline``'s on ``target`` at ``budget``."""
    pick = {f.design: f.score for f in fits if f.task == target and f.budget == budget}
    return pick[design] / pick[baseline]


def image_study(task: Task, designs: list[str], budget: int, steps: int, *, lr: float = 3e-3, batch_size: int = 128,
                seed: int = 0, control: str = "none", quadratic_lr_ratio: float = 1e-4, device="cpu") -> dict[str, Fit]:
    """Every design at ``budget`` parameters on a classification task (minibatch Adam)."""
    return {d: fit_design(d, task, budget, steps, lr=lr, batch_size=batch_size, seed=seed, control=control,
                          quadratic_lr_ratio=quadratic_lr_ratio, device=device) for d in designs}


def relinear_study(task: Task, width: int, steps: int, *, lr: float = 3e-3, batch_size: int = 128, seed: int = 0,
                   control: str = "none", quadratic_lr_ratio: float = 1e-4, device="cpu") -> dict[str, Fit]:
    """The MLP, its ReLinear twin (same width, same seed: it starts as that MLP) and a plain-start quadratic net."""
    return {d: fit_design(d, task, 0, steps, lr=lr, batch_size=batch_size, seed=seed, control=control,
                          quadratic_lr_ratio=quadratic_lr_ratio, width=width, device=device)
            for d in ("mlp", "quadratic", "quadratic_plain")}


def scaling_study(task: Task, budgets: list[int], steps: int, *, lr: float = 3e-3, batch_size: int = 128,
                  seed: int = 0, control: str = "none", device="cpu") -> list[Fit]:
    """The bottleneck MLP at each budget."""
    return [fit_design("bottleneck", task, b, steps, lr=lr, batch_size=batch_size, seed=seed, control=control,
                       device=device)
            for b in budgets]


def load_images(names: list[str], mnist1d_samples: int, seed: int) -> dict[str, Task]:
    return {n: image_task(n, n_samples=mnist1d_samples, seed=seed) for n in names}


__all__ = ["DiskResult", "Fit", "disk_study", "fit_design", "regression_study", "rmse_ratio", "image_study",
           "relinear_study", "scaling_study", "load_images", "accuracy"]
