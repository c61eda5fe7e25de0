"""The neuron designs, as layers: quadratic neurons, KAN layers (B-spline, AF-KAN, S-KAN), the RBF/CBC head
and the bottleneck MLP block.

Each layer counts its own parameters like any torch module; :mod:`~labkit.fields.neuron_designs.designs`
stacks them into networks of a given parameter budget.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from labkit.core.params import check_value
from labkit.fields.neuron_designs.bases import (
    bspline_basis,
    chebyshev_basis,
    fourier_basis,
    gaussian_basis,
    knots,
    relu_kan_basis,
    uniform_bspline_basis,
)

OUTSIDE = ("error", "clamp", "extend")


class QuadraticLinear(nn.Module):
    """Quadratic neurons (Fan et al.): ``(w_r·x + b_r)(w_g·x + b_g) + w_b·(x⊙x) + c``, one per output.

    ``start="relinear"`` (the ReLinear start) sets ``w_g = 0, b_g = 1, w_b = 0, c = 0``: the layer is then
    exactly the linear layer ``w_r·x + b_r``, and :meth:`parameter_groups` lets the quadratic weights
    (``g`` and ``b``) train at a far smaller rate. ``start="plain"`` draws every weight as ``nn.Linear`` does.
    The linear part ``r`` is created first and, at the ReLinear start, ``g`` and ``b`` leave the random generator
    as they found it, so with the same seed a ReLinear network is exactly the MLP built in its place.
    """

    def __init__(self, d_in: int, d_out: int, start: str = "relinear"):
        super().__init__()
        check_value("start", start, ["relinear", "plain"], "QuadraticLinear")
        self.r = nn.Linear(d_in, d_out)
        rng = torch.get_rng_state()
        self.g = nn.Linear(d_in, d_out)
        self.b = nn.Linear(d_in, d_out)
        if start == "relinear":
            torch.set_rng_state(rng)    # g and b are overwritten: draw nothing, so the next layer matches the MLP's
            with torch.no_grad():
                self.g.weight.zero_()
                self.g.bias.fill_(1.0)
                self.b.weight.zero_()
                self.b.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.r(x) * self.g(x) + self.b(x * x)

    def quadratic_parameters(self) -> list[nn.Parameter]:
        return [*self.g.parameters(), *self.b.parameters()]

    def linear_parameters(self) -> list[nn.Parameter]:
        return list(self.r.parameters())


class KANLinear(nn.Module):
    """A KAN layer: each edge ``p → q`` is ``φ(x) = w_b silu(x) + w_s Σ_i c_i B_i(x)``, outputs sum their edges.

    ``grid`` intervals and spline order ``k`` on ``[lo, hi]``; the ``G + k`` B-splines come from the extended
    grid (:func:`~labkit.fields.neuron_designs.bases.bspline_basis`). Inputs outside ``[lo, hi]``:
    ``outside="error"`` refuses them; ``"clamp"`` feeds the spline the clamped value; ``"extend"`` feeds it
    the input as it is, so the bases fade out over the ``k`` extra knots on each side and vanish beyond (pykan's
    rule, for hidden layers, whose values drift past the grid as they train). The ``silu`` branch always sees
    the input as it is. :meth:`refine` moves the layer to a finer grid, fitting the new coefficients
    to the old curves by least squares. Parameters per edge: ``G + k + 2``.
    """

    def __init__(self, d_in: int, d_out: int, grid: int = 5, k: int = 3, *, lo: float = -1.0, hi: float = 1.0,
                 outside: str = "error", noise: float = 0.1):
        super().__init__()
        self.grid = check_value("grid", grid, (int, 1, None), "KANLinear")
        self.k = check_value("k", k, (int, 1, None), "KANLinear")
        self.outside = check_value("outside", outside, list(OUTSIDE), "KANLinear")
        self.lo, self.hi = float(lo), float(hi)
        self.d_in, self.d_out = d_in, d_out
        self.register_buffer("t", knots(self.grid, self.k, self.lo, self.hi))
        self.base_weight = nn.Parameter(torch.empty(d_out, d_in))
        nn.init.kaiming_uniform_(self.base_weight, a=math.sqrt(5))
        self.coef = nn.Parameter((torch.rand(d_out, d_in, self.grid + self.k) - 0.5) * (noise / self.grid))
        self.spline_scale = nn.Parameter(torch.full((d_out, d_in), 1.0))

    def basis(self, x: torch.Tensor) -> torch.Tensor:
        """The ``G + k`` B-splines at each input: ``(batch, d_in, G + k)``, after the ``outside`` rule."""
        if self.outside == "clamp":
            x = x.clamp(self.lo, self.hi)
        elif self.outside == "error" and x.numel() and (float(x.min()) < self.lo or float(x.max()) > self.hi):
            bad = float(x.min()) if float(x.min()) < self.lo else float(x.max())
            raise ValueError(f"KANLinear: an input ({bad:.4g}) lies outside the grid [{self.lo}, {self.hi}]; "
                             "rescale the inputs or build the layer with outside='clamp' or 'extend'.")
        return uniform_bspline_basis(x, self.grid, self.k, self.lo, self.hi)

    def edges(self, x: torch.Tensor) -> torch.Tensor:
        """Every edge's value ``φ_{q,p}(x_p)``: ``(batch, d_out, d_in)`` (for plotting the learned functions)."""
        spline = torch.einsum("bpi,qpi->bqp", self.basis(x), self.coef) * self.spline_scale
        return F.silu(x).unsqueeze(1) * self.base_weight + spline

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = self.basis(x)
        w = self.coef * self.spline_scale.unsqueeze(-1)
        return F.silu(x) @ self.base_weight.T + b.flatten(1) @ w.flatten(1).T

    @torch.no_grad()
    def refine(self, grid: int, x: torch.Tensor | None = None) -> KANLinear:
        """Move to ``grid`` intervals, the new coefficients the least-squares fit of the old splines at ``x``
        (default: 20 points per new interval across the grid). A nested finer grid reproduces them exactly on
        ``[lo, hi]``."""
        grid = check_value("grid", grid, (int, 1, None), "KANLinear.refine")
        if x is None:
            x = torch.linspace(self.lo, self.hi, 20 * (grid + self.k), dtype=self.coef.dtype).unsqueeze(1)
            x = x.expand(-1, self.d_in)
        old = torch.einsum("bpi,qpi->pbq", self.basis(x), self.coef)           # (d_in, batch, d_out)
        new_t = knots(grid, self.k, self.lo, self.hi, dtype=self.coef.dtype).to(x.device)
        xb = x.clamp(self.lo, self.hi) if self.outside == "clamp" else x
        a = bspline_basis(xb, new_t, self.k).transpose(0, 1)                     # (d_in, batch, G' + k)
        coef = torch.linalg.lstsq(a, old).solution                                # (d_in, G' + k, d_out)
        self.grid, self.t = grid, new_t
        self.coef = nn.Parameter(coef.permute(2, 0, 1).contiguous())
        return self


class AFKANLinear(nn.Module):
    """AF-KAN's layer (``global_attn``, ``quad1``; official ``models/af_kan.py``): ReLU-KAN bumps of each input,
    scored by one shared linear map, pooled over the ``G + k`` bumps by softmax attention across the inputs,
    LayerNorm over the inputs, then one shared linear map ``in → out`` of ``relu``.

    One change: the official code rescales the bumps by the batch's min and max (so an output depends on the
    rest of the batch); here each bump is scaled to peak at one, a constant that does not.
    """

    def __init__(self, d_in: int, d_out: int, grid: int = 5, k: int = 3, *, lo: float = -1.0, hi: float = 1.0):
        super().__init__()
        check_value("grid", grid, (int, 1, None), "AFKANLinear")
        check_value("k", k, (int, 1, None), "AFKANLinear")
        h = (hi - lo) / grid
        low = lo + h * torch.arange(-k, grid, dtype=torch.float32)
        self.low = nn.Parameter(low)
        self.high = nn.Parameter(low + (k + 1) * h)
        self.temperature = nn.Parameter(torch.tensor(math.sqrt(d_in)))
        self.score = nn.Linear(grid + k, 1)
        self.norm = nn.LayerNorm(d_in)
        self.weight = nn.Parameter(torch.empty(d_out, d_in))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = relu_kan_basis(x, self.low, torch.maximum(self.high, self.low + 1e-3))   # (batch, in, G + k)
        attn = torch.softmax(self.score(b) / self.temperature.clamp(min=1.0), dim=-2)
        z = self.norm((b * attn).sum(-1))
        return torch.relu(z) @ self.weight.T


SPACES = ("bspline", "fourier", "gaussian", "chebyshev")


class SKANLinear(nn.Module):
    """S-KAN's layer (Activation Space Selectable KANs; no official code, implemented from the paper's text):
    each output node mixes its edges' functions from several activation spaces (B-spline, Fourier, Gaussian
    RBF, Chebyshev polynomial) with softmax weights over learned logits at temperature ``tau``;
    :meth:`anneal` lowers ``tau`` during training, and :meth:`harden` keeps each node's strongest space only.
    Every space has ``n_basis = G + k`` functions per edge, plus a ``silu`` base weight per edge.
    """

    def __init__(self, d_in: int, d_out: int, grid: int = 5, k: int = 3, *, lo: float = -1.0, hi: float = 1.0):
        super().__init__()
        self.kan = KANLinear(d_in, d_out, grid, k, lo=lo, hi=hi, outside="clamp")
        n = grid + k
        self.n_freq = n // 2
        self.degree = n
        self.register_buffer("centres", torch.linspace(lo, hi, n))
        self.width = (hi - lo) / max(n - 1, 1)
        self.coef = nn.Parameter(torch.randn(3, d_out, d_in, n) * (0.1 / n))
        self.logits = nn.Parameter(torch.zeros(d_out, len(SPACES)))
        self.register_buffer("tau", torch.tensor(1.0))
        self.register_buffer("hard", torch.tensor(False))

    def _space_outputs(self, x: torch.Tensor) -> torch.Tensor:
        """``(batch, d_out, n_spaces)``: each space's sum over the inputs (the ``silu`` part added once)."""
        kan = self.kan
        bs = torch.einsum("bpi,qpi->bq", kan.basis(x), kan.coef * kan.spline_scale.unsqueeze(-1))
        f = fourier_basis(x, self.n_freq)
        g = gaussian_basis(x, self.centres, self.width)
        c = chebyshev_basis(x, self.degree)
        other = [torch.einsum("bpi,qpi->bq", basis, self.coef[j, ..., : basis.shape[-1]])
                 for j, basis in enumerate((f, g, c))]
        return torch.stack([bs, *other], dim=-1)

    def weights(self) -> torch.Tensor:
        """Each node's mixing weights over the spaces, ``(d_out, n_spaces)`` (one-hot once hardened)."""
        if bool(self.hard):
            return F.one_hot(self.logits.argmax(-1), len(SPACES)).to(self.logits.dtype)
        return torch.softmax(self.logits / self.tau, dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        base = F.silu(x) @ self.kan.base_weight.T
        return base + (self._space_outputs(x) * self.weights()).sum(-1)

    def anneal(self, tau: float) -> None:
        self.tau.fill_(float(tau))

    def harden(self) -> None:
        self.hard.fill_(True)

    def choices(self) -> list[str]:
        return [SPACES[i] for i in self.logits.argmax(-1).tolist()]


class CBCHead(nn.Module):
    """An RBF classification-by-components head (Saralajew et al.'s ``SlimClassificationByComponents``).

    Detections ``d_k(x) = exp(-‖x - w_k‖²/σ)`` of ``K = per_class × n_classes`` prototypes; reasoning
    probabilities ``r⁺, r⁻, r⁰`` per prototype and class from a softmax over three logits;
    ``p_c = (Σ_k d_k (r⁺_kc - r⁻_kc) + Σ_k r⁻_kc) / Σ_k (r⁺_kc + r⁻_kc)`` in [0, 1].
    Prototype ``k`` starts as a member of class ``k // per_class`` (reasoning positively for it, negatively
    for the others). :meth:`predict_wta` is the winner-takes-all readout, the nearest prototype's class,
    certified by :func:`~labkit.fields.neuron_designs.robust.certified_radius`.
    """

    def __init__(self, d_in: int, n_classes: int, per_class: int = 5, sigma: float = 1.0):
        super().__init__()
        self.per_class = check_value("per_class", per_class, (int, 1, None), "CBCHead")
        self.sigma = check_value("sigma", sigma, (float, 0.0, None, "neither"), "CBCHead")
        self.n_classes = check_value("n_classes", n_classes, (int, 2, None), "CBCHead")
        K = per_class * n_classes
        self.prototypes = nn.Parameter(torch.rand(K, d_in))
        owner = torch.arange(K) // per_class
        logits = torch.zeros(K, n_classes, 3)
        logits[..., 1] = 2.0                                # negative reasoning for the other classes
        logits[torch.arange(K), owner, 0] = 4.0             # positive for its own class
        logits[torch.arange(K), owner, 1] = 0.0
        self.reasoning = nn.Parameter(logits)

    def distances(self, x: torch.Tensor) -> torch.Tensor:
        """Euclidean distances to every prototype, ``(batch, K)``."""
        return torch.cdist(x, self.prototypes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = torch.exp(-self.distances(x).square() / self.sigma)
        r = torch.softmax(self.reasoning, dim=-1)
        pos, neg = r[..., 0], r[..., 1]
        return (d @ (pos - neg) + neg.sum(0)) / (pos + neg).sum(0)

    def prototype_classes(self) -> torch.Tensor:
        """Each prototype's class: the class it reasons most positively for."""
        return torch.softmax(self.reasoning, dim=-1)[..., 0].argmax(-1)

    def predict_wta(self, x: torch.Tensor) -> torch.Tensor:
        return self.prototype_classes()[self.distances(x).argmin(-1)]

    def loss(self, p: torch.Tensor, y: torch.Tensor, margin: float = 0.3) -> torch.Tensor:
        """The margin loss: ``relu(max_{c≠y} p_c - p_y + margin)``, averaged."""
        own = p.gather(1, y[:, None]).squeeze(1)
        other = p.masked_fill(F.one_hot(y, p.shape[1]).bool(), -1.0).amax(1)
        return torch.relu(other - own + margin).mean()


class BottleneckBlock(nn.Module):
    """Scaling MLPs' block: ``x + Linear_{4d→d}(GELU(Linear_{d→4d}(LayerNorm(x))))``."""

    def __init__(self, width: int, expansion: int = 4):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.up = nn.Linear(width, expansion * width)
        self.down = nn.Linear(expansion * width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.down(F.gelu(self.up(self.norm(x))))


class BottleneckMLP(nn.Module):
    """Bachmann et al.'s MLP: a linear embedding to ``width``, ``blocks`` bottleneck blocks, LayerNorm, a head."""

    def __init__(self, d_in: int, d_out: int, width: int, blocks: int = 2):
        super().__init__()
        check_value("width", width, (int, 1, None), "BottleneckMLP")
        check_value("blocks", blocks, (int, 1, None), "BottleneckMLP")
        self.embed = nn.Linear(d_in, width)
        self.blocks = nn.Sequential(*[BottleneckBlock(width) for _ in range(blocks)])
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.norm(self.blocks(self.embed(x))))
