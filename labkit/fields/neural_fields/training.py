"""Fitting a field to a picture: one loop for every field (labkit's shared ``train``).

Each step is one full-batch Adam step on the mean squared error over all pixels, so the loss at
step ``t`` *is* the reconstruction error of the field before that step, and its PSNR,
``-10 log10(MSE)`` for values in ``[0, 1]``, is the curve drawn against steps and seconds. The
learning rate follows a cosine from ``lr`` down to ``lr / 100`` (NeuRBF's schedule; it helps every
field here settle at the end of a short budget). Wall-clock time is measured around the steps
only, never around the scoring.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from dataclasses import field as dc_field

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import check_args, nullable
from labkit.core.threads import threads
from labkit.core.train import train
from labkit.fields.neural_fields.data import ONE_THREAD_PIXELS, Picture
from labkit.fields.neural_fields.metrics import psnr, ssim
from labkit.fields.neural_fields.models import NeuralField, build_field


@dataclass
class FitResult:
    """What one fit produced: the PSNR curve against steps and seconds, and the final reconstruction."""

    kind: str
    n_params: int
    steps: np.ndarray          # the steps at which the field was scored (before that step's update)
    seconds: np.ndarray        # training wall-clock time spent before each of those steps (s)
    psnr_curve: np.ndarray     # PSNR (dB) of the whole picture at each of those steps
    reconstruction: np.ndarray  # (R, R, C), clipped to [0, 1]
    psnr: float
    ssim: float
    setup_seconds: float = 0.0  # data-dependent initialisation (k-means, neighbour tables)
    options: dict = dc_field(default_factory=dict)

    def seconds_to(self, db: float) -> float:
        """Seconds (setup included) until the curve first reaches ``db``; ``inf`` if it never does."""
        hit = np.flatnonzero(self.psnr_curve >= db)
        return float(self.setup_seconds + self.seconds[hit[0]]) if hit.size else math.inf

    def steps_to(self, db: float) -> float:
        hit = np.flatnonzero(self.psnr_curve >= db)
        return float(self.steps[hit[0]]) if hit.size else math.inf


@torch.no_grad()
def render(model: NeuralField, picture: Picture, chunk: int = 1 << 16) -> np.ndarray:
    """The field evaluated at every pixel centre, as an ``(R, R, C)`` array (not clipped)."""
    model.eval()
    coords = picture.coords
    if coords.shape[0] <= chunk:
        out = model(coords)
    else:
        out = torch.cat([model(coords[i:i + chunk]) for i in range(0, coords.shape[0], chunk)])
    R = picture.resolution
    return out.reshape(R, R, -1).cpu().numpy().astype(np.float64)


def fit(model: NeuralField, picture: Picture, steps: int, *, lr: float | None = None, batch_size: int | None = None,
        eval_every: int = 25, device="cpu", seed: int = 0, desc: str | None = None) -> FitResult:
    """Fit ``model`` to ``picture`` with ``steps`` Adam steps; return a :class:`FitResult`.

    ``batch_size=None`` (or at least the pixel count) makes every step full-batch, and the PSNR curve
    is read off the loss at every step. A smaller ``batch_size`` draws that many pixels per step
    (without replacement, from a generator seeded by ``seed``) and scores the whole picture every
    ``eval_every`` steps and after the last one (scoring time is not counted as training time).
    ``steps=0`` scores the field as it starts, after its data-dependent set-up: the untrained field of
    the notebook's negative control.
    """
    lr = model.default_lr if lr is None else lr
    check_args("fit", {"steps": steps, "lr": lr, "batch_size": batch_size, "eval_every": eval_every},
               {"steps": (int, 0, None), "lr": (float, 0, None, "neither"), "batch_size": nullable((int, 1, None)),
                "eval_every": (int, 1, None)})
    n_pix = picture.coords.shape[0]
    full = batch_size is None or batch_size >= n_pix
    device = resolve_device(device)
    model = model.to(device)
    pic = picture.to(device)
    t0 = time.perf_counter()
    model.prepare(pic)
    setup = time.perf_counter() - t0
    if steps == 0:
        return _scored(model, pic, picture.image, np.zeros(1), np.zeros(1), None, setup)
    opt = torch.optim.Adam(model.param_groups(float(lr)))
    n = int(steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t / n)))
    target = pic.values
    stamps = np.empty(n)
    gen = torch.Generator().manual_seed(seed)
    evals: dict[int, float] = {}
    paused = [0.0]

    def score(step):
        t = time.perf_counter()
        with torch.no_grad():
            evals[step] = float(torch.mean((model.fit_forward() - target) ** 2))
        model.train()
        paused[0] += time.perf_counter() - t

    def loss_fn(step):
        if full:
            return torch.mean((model.fit_forward() - target) ** 2)
        if step % eval_every == 0:
            score(step)
        rows = torch.randperm(n_pix, generator=gen)[:batch_size].to(device)
        return torch.mean((model.fit_forward(rows) - target[rows]) ** 2)

    def callback(step, loss):
        sched.step()
        model.on_step(step)
        stamps[step] = time.perf_counter() - start - paused[0]

    model.train()
    start = time.perf_counter()
    with threads(device=device, size=n_pix if full else batch_size, limit=ONE_THREAD_PIXELS):
        losses = train(model, loss_fn, n, optimizer=opt, desc=desc or model.kind, callback=callback)
    if full:
        curve_steps, mse = np.arange(n), losses
    else:
        curve_steps = np.array(sorted(evals))
        mse = np.array([evals[k] for k in curve_steps])
    seconds = np.where(curve_steps > 0, stamps[np.maximum(curve_steps - 1, 0)], 0.0)
    return _scored(model, pic, picture.image, np.append(curve_steps, n), np.append(seconds, stamps[-1]), mse, setup)


def _scored(model, pic, img, curve_steps, seconds, mse, setup) -> FitResult:
    """The fit's result. The curve ends with the field after the last step, scored as the reported PSNR
    is (its output clipped to [0, 1]); the points before (``mse``, None for none) are the unclipped field's."""
    recon = render(model, pic)
    last = float(np.mean((np.clip(recon, 0, 1) - img) ** 2))
    mse = np.append(np.asarray([] if mse is None else mse, dtype=float), last)
    return FitResult(kind=model.kind, n_params=model.n_params, steps=curve_steps, seconds=seconds,
                     psnr_curve=-10 * np.log10(np.maximum(mse, 1e-12)),
                     reconstruction=np.clip(recon, 0, 1), psnr=psnr(img, recon), ssim=ssim(img, recon),
                     setup_seconds=setup)


def fit_field(kind: str, picture: Picture, n_params: int, steps: int, *, lr: float | None = None,
              batch_size: int | None = None, eval_every: int = 25, device="cpu", seed: int = 0,
              **options) -> tuple[NeuralField, FitResult]:
    """Build a ``kind`` field of at most ``n_params`` parameters for ``picture`` and fit it."""
    torch.manual_seed(seed)
    model = build_field(kind, n_params, picture.channels, resolution=picture.resolution, seed=seed, **options)
    result = fit(model, picture, steps, lr=lr, batch_size=batch_size, eval_every=eval_every, device=device, seed=seed)
    result.options = dict(options)
    return model, result
