"""Five neural fields that map a coordinate ``x ∈ [-1, 1]²`` to a pixel value, sized to a parameter budget.

* :class:`GaussianRBFField` — Gaussian RBFNet (Bouzidi et al. 2025): low-resolution dense feature grids
  ``z(x) ∈ R^D`` decoded by a single layer of Gaussian neurons *in feature space*,
  ``f(x) = w₀ + Σ_k w_k exp(-½ Σ_d β_kd (z_d(x) - c_kd)²)``, centres ``c_k`` and precisions ``β_k`` learned.
  (Not a mixture of Gaussians placed on the picture: the paper contrasts its neurons with exactly that.)
* :class:`AdaptiveRBFField` — NeuRBF (Chen et al. 2023) for images: adaptive anisotropic
  inverse-quadratic kernels ``φ_k(x) = 1 / (1 + (x - c_k)ᵀ Σ_k⁻¹ (x - c_k))`` whose centres come from
  a k-means of the pixels weighted by the picture's gradient magnitude and whose shapes from the
  weighted covariance of each cluster; the ``K`` nearest kernels' normalised responses are composed
  with multi-frequency sinusoids, ``z = Σ_k w_k ⊙ sin(φ̂_k(x) ω)`` (eq. 4 of the paper), concatenated
  with a small hash grid, and decoded by an MLP whose first layer is ``h + sin(h ⊙ ω')``.
* :class:`SirenField` — sine activations (Sitzmann et al. 2020), ``ω₀ = 30`` and their initialisation.
* :class:`FourierFeatureField` — a ReLU MLP on Gaussian random Fourier features
  ``γ(x) = [cos 2πBx, sin 2πBx]``, ``B ~ N(0, σ²)`` (Tancik et al. 2020); ``σ`` is what FreSh tunes.
* :class:`HashGridField` — a multiresolution hash encoding and a small ReLU MLP (Müller et al. 2022).

:func:`build_field` sizes each to a budget of parameters. The count is of the numbers a field must
store: trained parameters plus NeuRBF's fixed, picture-dependent kernel centres and shapes (the
paper counts them too); the Fourier matrix ``B`` is not counted (it is regenerated from the seed).

Choices the papers leave open at this scale, or where this module departs from the official code:

* Gaussian RBFNet's official image setting decodes a "DiF-grid" (six periodic basis grids, 106k numbers,
  ``N(0, 1)`` initial features) with 64 neurons, trained 15,000 steps with an L1 loss. Here the grids are
  four *dense* multiresolution grids (16 … the finest the budget buys, 2 features each) with ``N(0, 0.1²)``
  initial features, trained with the shared MSE loop. With ``N(0, 1)`` features and centres near 0 every
  neuron starts at about ``exp(-D/2)`` and with the same response, and a few hundred steps do not break the
  symmetry: on camera at 256², 200-300 full-picture steps gave 26 dB with ``N(0, 1)`` features on dense grids
  of 122k numbers and 19 dB with the official periodic tiling at 108k, against 29.4 dB with ``N(0, 0.1²)``
  features at 56k. Collisions hurt it more than an MLP decoder: on a hash grid of the same budget it reached
  24.5 dB. The grid is never finer than the picture.
* NeuRBF's image setting pairs its kernels with a 2-level hash grid of 2²⁴ rows and matches the number of
  kernels to a 16-level Instant-NGP; at a budget of tens of thousands the grid gets at most about a third
  of the budget (its table shrinks first) and the kernels the rest.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import nn

from labkit.core.params import check_args, check_value
from labkit.fields.neural_fields.encoding import DenseGridEncoding, HashEncoding
from labkit.fields.neural_fields.gather import gather_rows

FIELDS = ("gaussian_rbf", "neurbf", "siren", "fourier", "hash_grid")
FIELD_LABELS = {"gaussian_rbf": "Gaussian RBF", "neurbf": "adaptive RBF (NeuRBF)", "siren": "SIREN",
                "fourier": "Fourier features", "hash_grid": "hash grid"}


class NeuralField(nn.Module):
    """Base class: ``forward(coords (P, 2)) -> values (P, C)``, plus hooks for the training loop."""

    kind = "field"
    default_lr = 1e-3

    def prepare(self, picture) -> None:
        """Data-dependent set-up before training: remember the pixel grid (subclasses also place
        kernels and precompute what depends on the coordinates only)."""
        self._grid = picture.coords

    def fit_forward(self, rows: torch.Tensor | None = None) -> torch.Tensor:
        """The field at the prepared pixel grid (``rows`` of it, or all): what training evaluates."""
        return self(self._grid if rows is None else self._grid[rows])

    def on_step(self, step: int) -> None:
        """Called after each optimizer step (refresh neighbour tables). Default: nothing."""

    def param_groups(self, lr: float) -> list[dict]:
        return [{"params": [p for p in self.parameters() if p.requires_grad], "lr": lr}]

    @property
    def n_params(self) -> int:
        return int(sum(p.numel() for p in self.parameters() if p.requires_grad)) + self._stored_extra()

    def _stored_extra(self) -> int:
        return 0


def _knn(points: torch.Tensor, centres: torch.Tensor, k: int) -> torch.Tensor:
    """Indices ``(P, k)`` of each point's ``k`` nearest centres (SciPy's KD-tree)."""
    tree = cKDTree(centres.detach().cpu().double().numpy())
    _, idx = tree.query(points.detach().cpu().double().numpy(), k=k)
    return torch.from_numpy(np.asarray(idx, dtype=np.int64).reshape(points.shape[0], k)).to(points.device)


class _NeighbourCache:
    """Remembers one coordinate tensor (the training grid) and its neighbour table."""

    def __init__(self):
        self.coords: torch.Tensor | None = None
        self.idx: torch.Tensor | None = None

    def lookup(self, coords, centres, k):
        if self.coords is not None and coords is self.coords:
            return self.idx
        return _knn(coords, centres, k)

    def set(self, coords, centres, k):
        self.coords, self.idx = coords, _knn(coords, centres, k)


# --------------------------------------------------------------------------------------------------
class GaussianRBFField(NeuralField):
    """Gaussian RBFNet (Bouzidi, Laga & Wannous 2025): low-resolution feature grids decoded by a
    *single layer* of Gaussian RBF neurons that live in the grids' feature space.

    With ``z(x) ∈ R^D`` the concatenated bilinear features of ``n_levels`` dense grids at ``x``, neuron
    ``k`` has a learned centre ``c_k ∈ R^D`` and learned per-dimension precisions ``β_k = exp(b_k)``, and

        f(x) = W φ(x) + w₀,    φ_k(x) = exp(-½ Σ_d β_kd (z_d(x) - c_kd)²),

    computed as three matrix products, ``(z²)·βᵀ - 2 z·(β⊙c)ᵀ + Σ_d β c²`` (as the official code).
    Centres start at ``U(-1e-4, 1e-4)`` and ``b_k`` at 0 (the official initialisation); the grid
    features start at ``N(0, grid_init²)`` (see the module notes on this choice). ``n_rbfs`` = 64 is
    the paper's image setting.
    """

    kind = "gaussian_rbf"
    default_lr = 1e-2

    def __init__(self, finest_resolution: int, channels: int = 1, *, n_rbfs: int = 64, n_levels: int = 4,
                 n_features: int = 2, base_resolution: int = 16, grid_init: float = 0.1, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        base = min(base_resolution, finest_resolution)
        self.grid = DenseGridEncoding(n_levels, n_features, base, finest_resolution, init=grid_init, generator=gen)
        D = self.grid.out_dim
        self.centres = nn.Parameter(torch.rand(n_rbfs, D, generator=gen) * 2e-4 - 1e-4)
        self.log_precision = nn.Parameter(torch.zeros(n_rbfs, D))
        self.out = nn.Linear(n_rbfs, channels)
        with torch.no_grad():   # PyTorch's default init, drawn from the field's own generator
            bound = 1.0 / math.sqrt(n_rbfs)
            self.out.weight.copy_(torch.rand(self.out.weight.shape, generator=gen) * 2 * bound - bound)
            self.out.bias.copy_(torch.rand(self.out.bias.shape, generator=gen) * 2 * bound - bound)

    @property
    def n_rbfs(self) -> int:
        return int(self.centres.shape[0])

    def prepare(self, picture) -> None:
        super().prepare(picture)
        self._plan = self.grid.plan(picture.coords)     # the grid rows and weights never change

    def rbf(self, z: torch.Tensor) -> torch.Tensor:
        """The neurons' responses ``φ (P, K)`` to features ``z (P, D)``."""
        beta = self.log_precision.exp()
        d2 = (z * z) @ beta.T - 2.0 * (z @ (beta * self.centres).T) + (beta * self.centres**2).sum(1)
        return torch.exp(-0.5 * d2.clamp_min(0.0))

    def fit_forward(self, rows=None):
        plan = self._plan if rows is None else (self._plan[0][rows], self._plan[1][rows])
        return self.out(self.rbf(self.grid.lookup(*plan)))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.out(self.rbf(self.grid(coords)))

    @torch.no_grad()
    def responses(self, coords: torch.Tensor) -> torch.Tensor:
        """``φ (P, K)``: where on the picture each Gaussian neuron fires."""
        return self.rbf(self.grid(coords))


# --------------------------------------------------------------------------------------------------
def _weighted_kmeans(points: np.ndarray, weights: np.ndarray, k: int, n_iter: int, rng: np.random.Generator):
    """NeuRBF's weighted k-means: seeds drawn ∝ weight without replacement, then Lloyd steps."""
    keep = weights > 0
    pts, w = points[keep], weights[keep]
    k = min(k, pts.shape[0])
    centres = pts[rng.choice(pts.shape[0], size=k, replace=False, p=w / w.sum())]
    for _ in range(n_iter):
        _, labels = cKDTree(centres).query(pts, k=1)
        mass = np.bincount(labels, weights=w, minlength=k)
        new = np.stack([np.bincount(labels, weights=w * pts[:, i], minlength=k) for i in range(2)], 1)
        filled = mass > 0
        new[filled] /= mass[filled, None]
        new[~filled] = centres[~filled]
        if np.allclose(new, centres):
            break
        centres = new
    return centres, pts, w


def neurbf_kernels(image: np.ndarray, n_kernels: int, *, alpha: float = 0.5, n_iter: int = 10, seed: int = 0):
    """NeuRBF's kernel initialisation for a picture ``(R, R, C)``: centres ``(N, 2)`` and precisions ``(N, 2, 2)``.

    Pixels are weighted by the Sobel gradient magnitude; centres are their weighted k-means
    (10 Lloyd iterations, as the paper's image config); each kernel's covariance is the weighted
    covariance of its cluster divided by ``alpha`` (0.5), its diagonal clipped to
    ``[(half a pixel / 100)², (extent / 10)²]`` and its correlation below 0.999; precision = inverse.
    """
    from skimage.filters import sobel_h, sobel_v

    R = image.shape[0]
    grad = np.sqrt(sum(sobel_h(image[..., c]) ** 2 + sobel_v(image[..., c]) ** 2 for c in range(image.shape[2])))
    points = _grid_np(R)
    weights = grad.reshape(-1).astype(np.float64)
    if not np.any(weights > 0):
        weights = np.ones_like(weights)
    weights = weights / weights.mean()
    rng = np.random.default_rng(seed)
    centres, pts, w = _weighted_kmeans(points, weights, n_kernels, n_iter, rng)
    k = centres.shape[0]
    _, labels = cKDTree(centres).query(pts, k=1)
    off = pts - centres[labels]
    mass = np.bincount(labels, weights=w, minlength=k)
    cov = np.zeros((k, 2, 2))
    for i in range(2):
        for j in range(2):
            cov[:, i, j] = np.bincount(labels, weights=w * off[:, i] * off[:, j], minlength=k)
    filled = mass > 0
    cov[filled] /= mass[filled, None, None]
    cov /= alpha
    vmin, vmax = (2.0 / R / 2 / 100) ** 2, (2.0 / 10) ** 2
    cov[:, 0, 0] = np.clip(np.where(filled, cov[:, 0, 0], 1e-10), vmin, vmax)
    cov[:, 1, 1] = np.clip(np.where(filled, cov[:, 1, 1], 1e-10), vmin, vmax)
    lim = np.sqrt(cov[:, 0, 0] * cov[:, 1, 1]) * 0.999
    cov[:, 0, 1] = np.clip(np.where(filled, cov[:, 0, 1], 0.0), -lim, lim)
    cov[:, 1, 0] = cov[:, 0, 1]
    return centres.astype(np.float32), np.linalg.inv(cov).astype(np.float32)


def _grid_np(R: int) -> np.ndarray:
    c = (np.arange(R) + 0.5) / R * 2 - 1
    yy, xx = np.meshgrid(c, c, indexing="ij")
    return np.stack([xx.reshape(-1), yy.reshape(-1)], 1)


class AdaptiveRBFField(NeuralField):
    """NeuRBF for images: adaptive RBFs composed with multi-frequency sinusoids, a small hash grid,
    and an MLP decoder (the paper's image configuration, scaled to a parameter budget).

    ``n_kernels`` kernels with ``n_channels`` (32) feature channels each; every pixel uses its
    ``neighbours`` (4) nearest kernels with responses normalised to sum to 1 (the sum detached, as
    the official code). The composition frequencies are ``2^linspace(-3, 12, n_channels)`` and the
    decoder's first-layer frequencies ``2^linspace(log2 10, log2 100, hidden)``. Kernel centres and
    shapes stay fixed after :meth:`prepare` (the paper's image config fixes them, too).
    """

    kind = "neurbf"
    default_lr = 5e-3

    def __init__(self, n_kernels: int, channels: int = 1, *, resolution: int = 256, n_channels: int = 32,
                 hidden: int = 64, neighbours: int = 4, grid_levels: int = 2, grid_features: int = 2,
                 grid_table: int = 2**12, seed: int = 0):
        super().__init__()
        self.n_kernels, self.neighbours, self.seed = n_kernels, min(neighbours, n_kernels), seed
        self.register_buffer("kc", torch.zeros(n_kernels, 2))
        self.register_buffer("ks", torch.eye(2).repeat(n_kernels, 1, 1))
        self.lc0 = nn.Parameter(torch.empty(n_kernels, n_channels).uniform_(-1e-4, 1e-4))
        self.grid = HashEncoding(grid_levels, grid_features, grid_table, base_resolution=16,
                                 finest_resolution=max(resolution // 2, 17))
        self.lcb0 = nn.Parameter(torch.empty(n_channels + self.grid.out_dim).uniform_(-1e-4, 1e-4))
        self.register_buffer("rbf_freqs", torch.exp2(torch.linspace(-3.0, 12.0, n_channels)))
        self.register_buffer("mlp_freqs", torch.exp2(torch.linspace(math.log2(10.0), math.log2(100.0), hidden)))
        self.l0 = nn.Linear(n_channels + self.grid.out_dim, hidden)
        self.l1 = nn.Linear(hidden, hidden)
        self.l2 = nn.Linear(hidden, channels)
        self._cache = _NeighbourCache()

    def _stored_extra(self) -> int:
        return self.n_kernels * 5          # centres (2) and the symmetric shape matrix (3)

    def prepare(self, picture) -> None:
        super().prepare(picture)
        kc, ks = neurbf_kernels(picture.image, self.n_kernels, seed=self.seed)
        with torch.no_grad():
            self.kc.copy_(torch.from_numpy(kc).to(self.kc))
            self.ks.copy_(torch.from_numpy(ks).to(self.ks))
        self._cache.set(picture.coords, self.kc, self.neighbours)
        # Kernels stay fixed, so everything before the kernel weights depends on the coordinates only.
        with torch.no_grad():
            self._basis = self._sinusoid_basis(picture.coords, self._cache.idx)
        self._plan = self.grid.plan(picture.coords)

    def param_groups(self, lr: float) -> list[dict]:
        # The paper's image config: Adam(0.9, 0.99, eps 1e-15), lr 1e-2 for the decoder and 5e-3 for the
        # grid and the kernel weights.
        dec = [*self.l0.parameters(), *self.l1.parameters(), *self.l2.parameters()]
        adam = {"betas": (0.9, 0.99), "eps": 1e-15}
        return [{"params": dec, "lr": 2 * lr, **adam},
                {"params": [self.lc0, self.lcb0, *self.grid.parameters()], "lr": lr, **adam}]

    def _sinusoid_basis(self, coords: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """``sin(φ̂_k(x) ω)`` for each point's K kernels, ``(P, K, n_channels)``."""
        d = coords[:, None, :] - self.kc[idx]                                # (P, K, 2)
        q = torch.einsum("pki,pkij,pkj->pk", d, self.ks[idx], d)
        r = 1.0 / (1.0 + q)
        r = r / (r.sum(-1, keepdim=True) + 1e-8)
        return torch.sin(r[..., None] * self.rbf_freqs)

    def _decode(self, idx, basis, grid_features):
        z = (gather_rows(self.lc0, idx) * basis).sum(1)                     # (P, n_channels)
        h = torch.cat([grid_features, z], -1) + self.lcb0
        h = self.l0(h)
        h = h + torch.sin(h * self.mlp_freqs)
        return self.l2(torch.relu(self.l1(h)))

    def fit_forward(self, rows=None):
        if rows is None:
            return self._decode(self._cache.idx, self._basis, self.grid.lookup(*self._plan))
        return self._decode(self._cache.idx[rows], self._basis[rows],
                            self.grid.lookup(self._plan[0][rows], self._plan[1][rows]))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        idx = self._cache.lookup(coords, self.kc, self.neighbours)          # (P, K)
        return self._decode(idx, self._sinusoid_basis(coords, idx), self.grid(coords))


# --------------------------------------------------------------------------------------------------
class SirenField(NeuralField):
    """SIREN: ``sin(ω₀ (W x + b))`` layers, first-layer weights ``U(-1/n, 1/n)``, hidden
    ``U(-√(6/n)/ω₀, √(6/n)/ω₀)``, a linear output (Sitzmann et al. 2020, sec. 3.2)."""

    kind = "siren"
    default_lr = 1e-4

    def __init__(self, width: int, channels: int = 1, *, hidden_layers: int = 3, omega: float = 30.0, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        dims = [2] + [width] * (hidden_layers + 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.out = nn.Linear(width, channels)
        self.omega = omega
        with torch.no_grad():
            for i, layer in enumerate(self.layers):
                n = layer.in_features
                bound = 1.0 / n if i == 0 else math.sqrt(6.0 / n) / omega
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=gen) * 2 * bound - bound)
                layer.bias.copy_((torch.rand(layer.bias.shape, generator=gen) * 2 - 1) / math.sqrt(n))
            bound = math.sqrt(6.0 / width) / omega
            self.out.weight.copy_(torch.rand(self.out.weight.shape, generator=gen) * 2 * bound - bound)
            self.out.bias.zero_()

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        h = coords
        for layer in self.layers:
            h = torch.sin(self.omega * layer(h))
        return self.out(h)


class FourierFeatureField(NeuralField):
    """A ReLU MLP on random Fourier features ``[cos 2πBx, sin 2πBx]`` with ``B ~ N(0, σ²)`` of shape
    ``(width/2, 2)`` (Tancik et al. 2020; FreSh's layout: ``width`` features, 3 hidden layers)."""

    kind = "fourier"
    default_lr = 3e-3

    def __init__(self, width: int, channels: int = 1, *, sigma: float = 5.0, hidden_layers: int = 3, seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.sigma = float(sigma)
        self.register_buffer("B", torch.randn(width // 2, 2, generator=gen) * sigma)
        dims = [2 * (width // 2)] + [width] * hidden_layers
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.out = nn.Linear(width, channels)
        with torch.no_grad():   # PyTorch's default init, drawn from the field's own generator
            for layer in [*self.layers, self.out]:
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.copy_(torch.rand(layer.weight.shape, generator=gen) * 2 * bound - bound)
                layer.bias.copy_(torch.rand(layer.bias.shape, generator=gen) * 2 * bound - bound)

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        proj = 2 * math.pi * coords @ self.B.T
        h = torch.cat([torch.cos(proj), torch.sin(proj)], -1)
        for layer in self.layers:
            h = torch.relu(layer(h))
        return self.out(h)


class HashGridField(NeuralField):
    """A multiresolution hash encoding (``levels`` × 2 features, ``table`` rows per level, resolutions
    16 … the picture's) and a ReLU MLP with two hidden layers of 64 (Müller et al. 2022)."""

    kind = "hash_grid"
    default_lr = 1e-2

    def __init__(self, table: int, channels: int = 1, *, resolution: int = 256, levels: int = 8, hidden: int = 64,
                 seed: int = 0):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        self.encoding = HashEncoding(levels, 2, table, base_resolution=min(16, resolution),
                                     finest_resolution=resolution)
        with torch.no_grad():
            self.encoding.table.copy_(torch.rand(self.encoding.table.shape, generator=gen) * 2e-4 - 1e-4)
        self.mlp = nn.Sequential(nn.Linear(self.encoding.out_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden),
                                 nn.ReLU(), nn.Linear(hidden, channels))
        with torch.no_grad():
            for layer in self.mlp:
                if isinstance(layer, nn.Linear):
                    bound = 1.0 / math.sqrt(layer.in_features)
                    layer.weight.copy_(torch.rand(layer.weight.shape, generator=gen) * 2 * bound - bound)
                    layer.bias.copy_(torch.rand(layer.bias.shape, generator=gen) * 2 * bound - bound)

    def param_groups(self, lr: float) -> list[dict]:
        return [{"params": list(self.parameters()), "lr": lr, "betas": (0.9, 0.99), "eps": 1e-15}]

    def prepare(self, picture) -> None:
        super().prepare(picture)
        self._plan = self.encoding.plan(picture.coords)   # the grid's rows and weights never change

    def fit_forward(self, rows=None):
        plan = self._plan if rows is None else (self._plan[0][rows], self._plan[1][rows])
        return self.mlp(self.encoding.lookup(*plan))

    def forward(self, coords: torch.Tensor) -> torch.Tensor:
        return self.mlp(self.encoding(coords))


# --------------------------------------------------------------------------------------------------
def _mlp_count(width: int, hidden_layers: int, channels: int, in_dim: int) -> int:
    return in_dim * width + width + (hidden_layers - 1) * (width * width + width) + width * channels + channels


def _grbf_count(finest: int, channels: int, n_rbfs: int = 64, n_levels: int = 4, n_features: int = 2) -> int:
    D = n_levels * n_features
    grid = DenseGridEncoding.count(n_levels, n_features, min(16, finest), finest)
    return grid + 2 * n_rbfs * D + n_rbfs * channels + channels


def _neurbf_fixed(table: int, channels: int, n_ch: int = 32, hidden: int = 64) -> int:
    grid = 2 * table * 2
    return grid + (n_ch + 4) + (n_ch + 4) * hidden + hidden + hidden * hidden + hidden + hidden * channels + channels


def _size(kind: str, n_params: int, channels: int, resolution: int) -> tuple[str, int, int, dict]:
    """``(knob, value, smallest allowed value, constructor kwargs)``: the size of each field that comes
    closest to ``n_params`` without exceeding it."""
    if kind == "gaussian_rbf":
        finest = 0
        lo, hi = 1, max(resolution, 1)
        while lo <= hi:                                   # the finest grid that fits the budget
            mid = (lo + hi) // 2
            if _grbf_count(mid, channels) <= n_params:
                finest, lo = mid, mid + 1
            else:
                hi = mid - 1
        return "finest grid resolution", finest, 16, {"finest_resolution": finest}
    if kind == "neurbf":
        table = 2 ** 12
        while table > 16 and _neurbf_fixed(table, channels) > 0.3 * n_params:   # grid + MLP: a third at most
            table //= 2
        n_kernels = (n_params - _neurbf_fixed(table, channels)) // (32 + 5)
        return "kernels", n_kernels, 16, {"n_kernels": n_kernels, "grid_table": table}
    if kind in ("siren", "fourier"):
        best = 0
        for w in range(8, 4097, 2):
            count = (_mlp_count(w, 4, channels, 2) if kind == "siren" else _mlp_count(w, 3, channels, w))
            if count > n_params:
                break
            best = w
        return "width", best, 8, {"width": best}
    if kind == "hash_grid":
        mlp = 16 * 64 + 64 + 64 * 64 + 64 + 64 * channels + channels
        table = (n_params - mlp) // 16
        return "hash table rows", table, 16, {"table": table}
    raise ValueError(f"field must be one of {', '.join(FIELDS)}, got {kind!r}.")


# Options a caller may set without changing a field's parameter count.
OPTIONS = {"gaussian_rbf": {"grid_init"}, "neurbf": set(), "siren": {"omega"}, "fourier": {"sigma"},
           "hash_grid": set()}


def build_field(kind: str, n_params: int, channels: int = 1, *, resolution: int = 256, seed: int = 0,
                **options) -> NeuralField:
    """A field of type ``kind`` (one of :data:`FIELDS`) with at most ``n_params`` parameters, for a
    ``resolution²`` picture of ``channels`` channels.

    ``options`` (see :data:`OPTIONS`) pass through to the field: ``sigma`` for ``"fourier"``,
    ``omega`` for ``"siren"``, ``grid_init`` for ``"gaussian_rbf"``.
    """
    check_args("build_field", {"kind": kind, "n_params": n_params}, {"kind": list(FIELDS), "n_params": (int, 1, None)})
    unknown = sorted(set(options) - OPTIONS[kind])
    if unknown:
        allowed = ", ".join(sorted(OPTIONS[kind])) or "none"
        raise ValueError(f"option {unknown[0]!r} is not one the {kind!r} field takes (allowed: {allowed}).")
    knob, value, smallest, kwargs = _size(kind, int(n_params), channels, resolution)
    if value < smallest:
        need = min_params(kind, channels, resolution)
        raise ValueError(f"n_params={n_params} is too small for the {kind!r} field: it needs at least {need} "
                         f"parameters (its {knob} must be at least {smallest}).")
    cls = {"gaussian_rbf": GaussianRBFField, "neurbf": AdaptiveRBFField, "siren": SirenField,
           "fourier": FourierFeatureField, "hash_grid": HashGridField}[kind]
    if kind in ("neurbf", "hash_grid"):
        kwargs["resolution"] = resolution
    size_arg = next(iter(kwargs))
    first = kwargs.pop(size_arg)
    return cls(first, channels, seed=seed, **kwargs, **options)


def min_params(kind: str, channels: int = 1, resolution: int = 256) -> int:
    """The smallest parameter budget :func:`build_field` accepts for this field."""
    check_value("kind", kind, list(FIELDS), "min_params")
    lo, hi = 1, 1 << 24
    while lo < hi:
        mid = (lo + hi) // 2
        _, value, smallest, _ = _size(kind, mid, channels, resolution)
        if value >= smallest:
            hi = mid
        else:
            lo = mid + 1
    return lo
