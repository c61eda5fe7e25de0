"""Simulated retinal cell types: linear–nonlinear (LN) cells on a small movie canvas, the ground truth.

Each type has a difference-of-Gaussians receptive field (centre σ, surround 2σ), a monophasic (sustained)
or biphasic (transient) temporal filter of ``FILTER_LENGTH`` frames and a polarity (ON +1, OFF −1). A cell of
a type sits at a random position, with ±``jitter`` on its RF size and filter time constant. Its rate in each
time bin is ``softplus(GAIN · g(t) + BIAS)`` with ``g`` the unit-norm filter applied to the movie's last
``FILTER_LENGTH`` frames; its response to a movie is a Poisson count with mean ``rate_scale`` × the mean rate
over the movie's valid bins. Everything is batched: one matrix product for space, one for time.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_value

FILTER_LENGTH = 10
GAIN, BIAS = 2.0, -1.0
# name: (polarity, temporal kind, centre sigma as a fraction of the canvas side)
TYPES = {
    "ON sustained small": (+1, "mono", 1 / 16), "OFF sustained small": (-1, "mono", 1 / 16),
    "ON transient large": (+1, "bi", 2 / 16), "OFF transient large": (-1, "bi", 2 / 16),
    "ON transient small": (+1, "bi", 1 / 16), "OFF transient small": (-1, "bi", 1 / 16),
    "ON sustained large": (+1, "mono", 2 / 16), "OFF sustained large": (-1, "mono", 2 / 16),
    "ON transient medium": (+1, "bi", 1.5 / 16), "OFF transient medium": (-1, "bi", 1.5 / 16),
}
TAU = {"mono": 2.5, "bi": 1.2}          # frames
SMOKE_TYPES = ("ON sustained small", "OFF sustained small", "ON transient large")
DEFAULT_TYPES = ("ON sustained small", "ON transient small", "ON transient large",
                 "OFF sustained small", "OFF transient small", "OFF transient large")


def type_names(n_types: int) -> tuple[str, ...]:
    """The types a simulation of ``n_types`` uses: 3 for the smoke test, the issue's 6, else the first n."""
    check_value("n_types", n_types, (int, 2, len(TYPES)))
    if n_types == 3:
        return SMOKE_TYPES
    if n_types == 6:
        return DEFAULT_TYPES
    return tuple(TYPES)[:n_types]


def temporal_filter(kind: np.ndarray, tau: np.ndarray, length: int = FILTER_LENGTH) -> np.ndarray:
    """Unit-norm temporal filters (cells × lags, lag 0 = the newest frame): a gamma bump (``mono``) or the
    difference of a fast and a slower bump (``bi``, transient)."""
    lag = np.arange(length, dtype=np.float64)[None, :]
    tau = np.asarray(tau, dtype=np.float64)[:, None]
    fast = (lag / tau) ** 2 * np.exp(-lag / tau)
    slow = (lag / (2 * tau)) ** 2 * np.exp(-lag / (2 * tau))
    f = np.where(np.asarray(kind)[:, None] == "bi", fast - 0.9 * slow * fast.max(1, keepdims=True)
                 / slow.max(1, keepdims=True), fast)
    return f / np.linalg.norm(f, axis=1, keepdims=True)


def dog_field(centre: np.ndarray, sigma: np.ndarray, side: int, surround: float = 0.6) -> np.ndarray:
    """Unit-norm difference-of-Gaussians fields (cells × side × side): centre σ, surround 2σ holding
    ``surround`` of the centre's mass."""
    y, x = np.mgrid[0:side, 0:side].astype(np.float64)
    d2 = (x[None] - centre[:, 0, None, None]) ** 2 + (y[None] - centre[:, 1, None, None]) ** 2
    s = sigma[:, None, None]
    c = np.exp(-d2 / (2 * s ** 2)) / (2 * np.pi * s ** 2)
    su = np.exp(-d2 / (8 * s ** 2)) / (8 * np.pi * s ** 2)
    f = c - surround * su
    return f / np.linalg.norm(f.reshape(len(f), -1), axis=1)[:, None, None]


class LNPopulation(torch.nn.Module):
    """The true cells as a differentiable model: ``forward(movies (B, T, H, W)) -> (B, N)`` mean counts."""

    def __init__(self, spatial: np.ndarray, temporal: np.ndarray, polarity: np.ndarray, rate_scale: float):
        super().__init__()
        self.register_buffer("spatial", torch.as_tensor(spatial * polarity[:, None, None], dtype=torch.float32))
        self.register_buffer("temporal", torch.as_tensor(temporal, dtype=torch.float32))
        self.rate_scale = float(rate_scale)
        self.side = spatial.shape[-1]

    @property
    def n_neurons(self) -> int:
        return self.spatial.shape[0]

    def forward(self, movies: torch.Tensor) -> torch.Tensor:
        b, t, h, w = movies.shape
        if (h, w) != (self.side, self.side) or t < self.temporal.shape[1]:
            raise ValueError(f"movies: expected (batch, T >= {self.temporal.shape[1]}, {self.side}, {self.side}), "
                             f"got {tuple(movies.shape)}.")
        proj = movies.reshape(b * t, h * w) @ self.spatial.reshape(self.n_neurons, -1).T     # (B*T, N)
        win = proj.reshape(b, t, -1).unfold(1, self.temporal.shape[1], 1)                   # (B, T', N, L)
        g = (win * self.temporal.flip(1)).sum(-1)                                            # lag 0 = newest
        return self.rate_scale * torch.nn.functional.softplus(GAIN * g + BIAS).mean(1)


@dataclass
class Cells:
    """Cells drawn from the types: their true type index, position (x, y in pixels), RF σ, τ and LN model."""
    types: np.ndarray
    positions: np.ndarray
    sigmas: np.ndarray
    taus: np.ndarray
    names: tuple[str, ...]
    model: LNPopulation


def draw_cells(names: tuple[str, ...], per_type: int, side: int, rng: np.random.Generator, *,
               jitter: float = 0.15, rate_scale: float = 20.0, centred: float | None = None) -> Cells:
    """``per_type`` cells of each named type at uniform positions (a 2-pixel margin), with RF size and τ
    jittered by a uniform factor in [1 − jitter, 1 + jitter]. ``centred``: instead, each cell's RF at the canvas
    centre up to a uniform error of ± ``centred`` pixels in x and y (a stimulus centred on the cell's RF, as an
    experimenter would place it after a short RF map)."""
    check_value("per_type", per_type, (int, 1, None))
    check_value("side", side, (int, 6, None))
    types = np.repeat(np.arange(len(names)), per_type)
    n = len(types)
    pol, kind, frac = (np.array([TYPES[names[t]][i] for t in types]) for i in range(3))
    positions = rng.uniform(2, side - 3, size=(n, 2)) if centred is None else \
        (side - 1) / 2 + rng.uniform(-centred, centred, size=(n, 2))
    sigmas = frac.astype(float) * side * rng.uniform(1 - jitter, 1 + jitter, n)
    taus = np.array([TAU[k] for k in kind]) * rng.uniform(1 - jitter, 1 + jitter, n)
    model = LNPopulation(dog_field(positions, sigmas, side), temporal_filter(kind, taus), pol.astype(float),
                         rate_scale)
    return Cells(types, positions, sigmas, taus, tuple(names), model)


@dataclass
class Retina:
    """A simulated recording: white-noise ``movies`` (n, T, H, W), Poisson ``counts`` (n, N), the ``cells``."""
    movies: torch.Tensor
    counts: torch.Tensor
    cells: Cells

    @property
    def types(self) -> np.ndarray:
        return self.cells.types


def white_noise(n: int, frames: int, side: int, generator: torch.Generator) -> torch.Tensor:
    """Gaussian white-noise movies, unit variance per pixel."""
    return torch.randn(n, frames, side, side, generator=generator)


def simulate_retina(n_types: int = 6, cells_per_type: int = 40, *, side: int = 16, frames: int = 20,
                    n_movies: int = 3000, jitter: float = 0.15, rate_scale: float = 20.0, seed: int = 0) -> Retina:
    """Draw the cells and record their Poisson responses to ``n_movies`` white-noise movies."""
    check_value("n_movies", n_movies, (int, 1, None))
    check_value("frames", frames, (int, FILTER_LENGTH, None))
    check_value("jitter", jitter, (float, 0.0, 0.9))
    check_value("rate_scale", rate_scale, (float, 0.0, None, "right"))
    check_value("seed", seed, "seed")
    rng = np.random.default_rng(seed)
    cells = draw_cells(type_names(n_types), cells_per_type, side, rng, jitter=jitter, rate_scale=rate_scale)
    gen = torch.Generator().manual_seed(seed)
    movies = white_noise(n_movies, frames, side, gen)
    with torch.no_grad():
        rates = torch.cat([cells.model(m) for m in movies.split(500)])
    counts = torch.poisson(rates, generator=gen)
    return Retina(movies, counts, cells)


def held_out_cells(retina: Retina, per_type: int, seed: int, *, jitter: float = 0.15,
                   position_error: float = 1.0) -> Cells:
    """New cells of the same types (new jitter) from the ground-truth LN models, each seen through a stimulus
    centred on its RF up to ± ``position_error`` pixels (the precision of a quick model-free RF map)."""
    check_value("per_type", per_type, (int, 1, None))
    check_value("position_error", position_error, (float, 0.0, None))
    rng = np.random.default_rng([seed, 1])
    side = retina.movies.shape[-1]
    return draw_cells(retina.cells.names, per_type, side, rng, jitter=jitter, rate_scale=retina.cells.model.rate_scale,
                      centred=position_error)
