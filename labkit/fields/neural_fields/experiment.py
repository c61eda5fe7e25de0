"""The comparisons the notebook and the benchmark run, as plain functions (tested; no figures here).

* :func:`compare_fields` fits one picture with several fields at the same parameter budget and the
  same number of steps, through the one training loop.
* :func:`fresh_study` runs FreSh on the Fourier-feature field and trains the field at FreSh's choice
  of ``σ``, at a default ``σ`` and at each ``σ`` of a small grid, all with the same budget, so one
  can see whether the frequency chosen *before* training lands near the best one found *by* training.
* :func:`rbf_layout` reads where each RBF field put its basis functions, for drawing over the picture.

The notebook's negative control, ``control="untrained"``: the comparison's fields are scored as they
start (zero steps, after their data-dependent set-up), and FreSh scores its candidates against the
picture with its pixels shuffled (the same values, no spatial structure, a flat spectrum), so its choice
knows nothing of the picture. The grid search that judges FreSh still trains: it is the truth FreSh's
choice is held to.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.core.progress import progress
from labkit.fields.neural_fields.data import Picture
from labkit.fields.neural_fields.fresh import FreshResult, fresh_select
from labkit.fields.neural_fields.models import (
    FIELDS,
    AdaptiveRBFField,
    GaussianRBFField,
    NeuralField,
    build_field,
)
from labkit.fields.neural_fields.training import FitResult, fit_field

CONTROLS = ("none", "untrained")
"""The method as it is, or the notebook's negative control (see the module's docstring)."""


def shuffled_picture(picture: Picture, seed: int = 0) -> Picture:
    """``picture`` with its pixels in a random order (seeded): the same values and histogram, no spatial
    structure, so its spectrum is flat. FreSh's target under the negative control."""
    rng = np.random.default_rng(seed)
    R, C = picture.resolution, picture.channels
    flat = picture.image.reshape(-1, C)
    image = flat[rng.permutation(flat.shape[0])].reshape(R, R, C)
    values = torch.from_numpy(image.reshape(-1, C).copy()).to(picture.values)
    return Picture(picture.name, image, picture.coords, values)


def _check_kinds(kinds: Sequence[str]) -> list[str]:
    kinds = list(kinds)
    if not kinds:
        raise ValueError(f"fields must name at least one of {', '.join(FIELDS)}.")
    for k in kinds:
        check_value("fields", k, list(FIELDS), "compare_fields")
    if len(set(kinds)) != len(kinds):
        raise ValueError(f"fields must not repeat a field, got {kinds!r}.")
    return kinds


def compare_fields(picture: Picture, kinds: Sequence[str], n_params: int, steps: int, *,
                   batch_size: int | None = None, eval_every: int = 25, device="cpu", seed: int = 0,
                   options: dict | None = None, control: str = "none") -> dict[str, tuple[NeuralField, FitResult]]:
    """Fit ``picture`` with each field in ``kinds`` at the same budget: ``{kind: (model, result)}``.

    Every budget is checked before anything trains, so a budget too small for one field fails at once.
    ``options`` maps a field to its options (e.g. ``{"fourier": {"sigma": 8.0}}``).
    ``control="untrained"``: every field scored untrained (zero steps), the negative control.
    """
    kinds = _check_kinds(kinds)
    if check_value("control", control, list(CONTROLS), "compare_fields") == "untrained":
        steps = 0
    options = options or {}
    for k in kinds:   # fail before training if any budget is too small
        build_field(k, n_params, picture.channels, resolution=picture.resolution, seed=seed, **options.get(k, {}))
    out = {}
    for k in progress(kinds, desc="fields"):
        out[k] = fit_field(k, picture, n_params, steps, batch_size=batch_size, eval_every=eval_every, device=device,
                           seed=seed, **options.get(k, {}))
    return out


@dataclass
class FreshStudy:
    """FreSh's choice of the Fourier features' ``σ`` against a default and a small grid search."""

    fresh: FreshResult
    default_sigma: float
    grid_sigmas: np.ndarray
    results: dict                 # σ -> FitResult, for every σ trained (grid, default, FreSh's choice)

    def psnr(self, sigma: float) -> float:
        return float(self.results[float(sigma)].psnr)

    @property
    def chosen_sigma(self) -> float:
        return float(self.fresh.chosen)

    @property
    def chosen_psnr(self) -> float:
        return self.psnr(self.chosen_sigma)

    @property
    def default_psnr(self) -> float:
        return self.psnr(self.default_sigma)

    @property
    def grid_psnr(self) -> np.ndarray:
        return np.array([self.psnr(s) for s in self.grid_sigmas])

    @property
    def best_grid_sigma(self) -> float:
        return float(self.grid_sigmas[int(np.argmax(self.grid_psnr))])

    @property
    def best_grid_psnr(self) -> float:
        return float(np.max(self.grid_psnr))


def _sigmas(values, name: str) -> np.ndarray:
    arr = np.asarray([float(v) for v in values], dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be a non-empty list of positive numbers, got {list(values)!r}.")
    return arr


def fresh_choice(picture: Picture, n_params: int, *, candidates: Sequence[float] = tuple(range(1, 21)),
                 n_evals: int = 10, crop: int | None = 64, device="cpu", seed: int = 0,
                 control: str = "none") -> FreshResult:
    """FreSh's choice of ``σ`` for the Fourier-feature field of ``n_params`` on ``picture``: no training.

    ``candidates`` are the values scored (the official grid for Fourier features is ``σ = 1 … 20``).
    ``control="untrained"``: FreSh matches the spectrum of the picture with its pixels shuffled (the
    negative control: a choice that knows nothing of the picture's structure).
    """
    if check_value("control", control, list(CONTROLS), "fresh_choice") == "untrained":
        picture = shuffled_picture(picture, seed)
    cands = _sigmas(candidates, "candidates")
    C, R = picture.channels, picture.resolution
    build_field("fourier", n_params, C, resolution=R, seed=seed)                   # budget check first

    def make(sigma, s):
        return build_field("fourier", n_params, C, resolution=R, seed=s, sigma=sigma)

    return fresh_select(make, cands, picture.to(device), crop=crop, n_evals=n_evals, seed=seed)


def fresh_study(picture: Picture, n_params: int, steps: int, *, candidates: Sequence[float] = tuple(range(1, 21)),
                default_sigma: float = 1.0, grid_sigmas: Sequence[float] = (1.0, 2.0, 4.0, 8.0, 16.0),
                n_evals: int = 10, crop: int | None = 64, batch_size: int | None = None, eval_every: int = 25,
                device="cpu", seed: int = 0, fresh: FreshResult | None = None) -> FreshStudy:
    """FreSh on the Fourier-feature field, then training at its choice, the default and a grid of ``σ``.

    The choice is :func:`fresh_choice` (or ``fresh``, one already made with the same ``n_params``); the
    official baseline is ``σ = 1``. Each distinct ``σ`` is trained once with the same budget, steps and seed.
    """
    grid = _sigmas(grid_sigmas, "grid_sigmas")
    default = float(_sigmas([default_sigma], "default_sigma")[0])
    build_field("fourier", n_params, picture.channels, resolution=picture.resolution, seed=seed)   # budget check
    if fresh is None:
        fresh = fresh_choice(picture, n_params, candidates=candidates, n_evals=n_evals, crop=crop, device=device,
                             seed=seed)
    todo = list(dict.fromkeys([*map(float, grid), default, float(fresh.chosen)]))
    results = {}
    for sigma in progress(todo, desc="σ"):
        _, results[sigma] = fit_field("fourier", picture, n_params, steps, batch_size=batch_size, eval_every=eval_every,
                                      device=device, seed=seed, sigma=sigma)
    return FreshStudy(fresh, default, grid, results)


def psnr_sentence(results: dict[str, FitResult], labels: dict[str, str], db: float = 30.0) -> str:
    """One sentence, computed from the fits, saying which fields end at or above ``db`` dB and which below
    (with their final PSNR): the notebook prints it instead of asserting it in prose."""
    def name(k):
        return f"{labels.get(k, k)} ({results[k].psnr:.2f} dB)"

    above = [name(k) for k in results if results[k].psnr >= db]
    below = [name(k) for k in results if results[k].psnr < db]
    parts = []
    if above:
        parts.append(f"at or above {db:g} dB: " + ", ".join(above))
    if below:
        parts.append(f"below {db:g} dB: " + ", ".join(below))
    return "; ".join(parts) + "."


@torch.no_grad()
def rbf_layout(model: NeuralField, picture: Picture) -> dict:
    """Where an RBF field's basis functions sit, for drawing over the picture.

    NeuRBF: ``{"centres": (N, 2), "covariances": (N, 2, 2)}`` in ``[-1, 1]`` coordinates, the
    covariance being the kernel's half-height ellipse ``(x - c)ᵀ Σ⁻¹ (x - c) = 1``. Gaussian RBFNet,
    whose Gaussians live in feature space: ``{"responses": (K, R, R)}``, each neuron's response over
    the picture, and ``{"winner": (R, R)}``, the neuron that responds most at each pixel.
    """
    if isinstance(model, AdaptiveRBFField):
        return {"centres": model.kc.cpu().numpy(), "covariances": torch.linalg.inv(model.ks).cpu().numpy()}
    if isinstance(model, GaussianRBFField):
        R = picture.resolution
        phi = model.responses(picture.coords.to(model.centres.device)).cpu().numpy()   # (P, K)
        return {"responses": phi.T.reshape(-1, R, R), "winner": phi.argmax(1).reshape(R, R)}
    raise ValueError(f"model must be a NeuRBF or Gaussian RBF field, got {type(model).__name__}.")


class FitCache:
    """Fits kept by (field, picture, budget), for an explorer: a fit already made is not made again.

    Pictures are loaded at ``resolution`` (or their largest square, if smaller) with ``color`` as
    :func:`~labkit.fields.neural_fields.data.load_picture` takes it; every fit uses ``steps``,
    ``batch_size``, ``device`` and ``seed``.
    """

    def __init__(self, resolution: int, steps: int, *, batch_size: int | None = None, device="cpu", seed: int = 0,
                 color: bool | None = None):
        self.resolution, self.steps, self.batch_size = resolution, steps, batch_size
        self.device, self.seed, self.color = device, seed, color
        self._pictures: dict[str, Picture] = {}
        self._fits: dict[tuple, FitResult] = {}

    def picture(self, name: str) -> Picture:
        from labkit.fields.neural_fields.data import load_picture, max_resolution

        if name not in self._pictures:
            self._pictures[name] = load_picture(name, min(self.resolution, max_resolution(name)), color=self.color)
        return self._pictures[name]

    def add(self, name: str, picture: Picture, n_params: int, results: dict) -> None:
        """Keep fits already made on ``picture`` (named ``name``): ``{field: FitResult}``."""
        self._pictures[name] = picture
        for kind, res in results.items():
            self._fits[(kind, name, int(n_params))] = res

    def get(self, kind: str, name: str, n_params: int) -> tuple[np.ndarray, FitResult]:
        """The picture (as an image) and the fit of ``kind`` to it at ``n_params`` (raised to the field's
        smallest budget if below it), fitting it if needed."""
        from labkit.fields.neural_fields.models import min_params

        pic = self.picture(name)
        n_params = max(int(n_params), min_params(kind, pic.channels, pic.resolution))
        key = (kind, name, n_params)
        if key not in self._fits:
            self._fits[key] = fit_field(kind, pic.to(self.device), int(n_params), self.steps,
                                        batch_size=self.batch_size, device=self.device, seed=self.seed)[1]
        return pic.image, self._fits[key]
