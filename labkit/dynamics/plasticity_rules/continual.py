"""Learning a stream of tasks without forgetting: Hebbian orthogonal projection (HLOP) and its exact twin.

A layer ``z = W x`` keeps its old tasks' outputs if every later update ``ΔW`` annihilates their inputs:
``ΔW x_old = 0``. Projecting each gradient off the old inputs' principal subspace, ``G ← G − G Pᵀ P``, does that.

* :class:`HebbianSubspace` — HLOP (Xiao et al. 2024): lateral neurons ``y = H x`` learn that subspace by Oja's
  subspace rule ``ΔH = y (x − Hᵀ y)ᵀ`` (here averaged over each task's inputs, with momentum 0.9); each task adds
  new lateral neurons, and only the new ones learn (the old ones already hold the old tasks).
* :func:`exact_subspace` — the exact answer (GPM, Saha et al. 2021): an SVD of the activity left over by the old
  basis, keeping the fewest new directions that bring the captured energy to ``energy``.
* :class:`OrthogonalProjection` — an optimizer wrapper (``train(..., optimizer=OrthogonalProjection(...))``) that
  projects the named weights' gradients before the inner optimizer steps; either basis fits it.
* :class:`StreamNet`, :class:`RotatedDigits`, :func:`acc_bwt` — the network, the task stream and its scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from labkit.core.params import ParameterError, check_value
from labkit.core.threads import threads
from labkit.data.datasets import Split


@dataclass
class RotatedDigits:
    """``n_tasks`` tasks made of one data set: task t embeds the features in ``dim`` dimensions by its own random
    orthonormal map ``Q_t`` (dim × features), ``x ↦ Q_t x``; the labels (one shared head) stay the same."""

    split: Split
    n_tasks: int = 5
    dim: int = 192
    seed: int = 0

    def __post_init__(self):
        check_value("n_tasks", self.n_tasks, (int, 1, None), "RotatedDigits")
        d = self.split.n_features
        check_value("dim", self.dim, (int, d, None), "RotatedDigits")
        gen = torch.Generator().manual_seed(int(self.seed))
        self.maps = [torch.linalg.qr(torch.randn(self.dim, d, generator=gen))[0] for _ in range(self.n_tasks)]

    def task(self, t: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        q, s = self.maps[t], self.split
        return s.x_train @ q.T, s.y_train, s.x_test @ q.T, s.y_test


class StreamNet(nn.Module):
    """A ReLU MLP with biases and one shared head (HLOP's PMNIST network, narrower)."""

    def __init__(self, sizes, seed: int = 0):
        super().__init__()
        sizes = [int(check_value("sizes", s, (int, 1, None), "StreamNet")) for s in sizes]
        with torch.random.fork_rng():  # nn.Linear's default initialisation, seeded, leaving the global RNG alone
            torch.manual_seed(int(seed))
            self.layers = nn.ModuleList([nn.Linear(i, o) for i, o in zip(sizes[:-1], sizes[1:])])

    def layer_inputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The input of every layer, ``[x, h_1, ..., h_{L-1}]``: the activity each projection protects."""
        ins = [x]
        for layer in self.layers[:-1]:
            ins.append(torch.relu(layer(ins[-1])))
        return ins

    def forward(self, x):
        return self.layers[-1](self.layer_inputs(x)[-1])

    @torch.no_grad()
    def accuracy(self, x, y) -> float:
        return float((self(x).argmax(1) == y).float().mean())


def exact_subspace(activity: torch.Tensor, energy: float, basis: torch.Tensor | None = None) -> torch.Tensor:
    """GPM's energy criterion: ``basis`` (d × k, orthonormal columns, or None) extended by the fewest leading
    singular vectors of the activity (samples × d) it leaves over, until it captures ``energy`` of
    ``‖activity‖²``. Returns the new d × k' basis."""
    check_value("energy", energy, (float, 0.0, 1.0, "neither"), "exact_subspace")
    r = activity.double()
    d = r.shape[1]
    basis = r.new_zeros(d, 0) if basis is None else basis.double()
    if basis.shape[1] >= d:
        raise ParameterError(f"Parameter 'basis' of exact_subspace already spans the layer's whole input ({d} dims).")
    total = float((r ** 2).sum())
    resid = r - (r @ basis) @ basis.T
    captured = total - float((resid ** 2).sum())
    s2 = torch.linalg.svdvals(resid) ** 2 if resid.shape[0] else r.new_zeros(0)
    need = energy * total - captured
    k = int(np.searchsorted(np.cumsum(s2.numpy()), need) + 1) if need > 0 else 0
    k = min(k, d - basis.shape[1], int((s2 > 1e-10 * max(total, 1e-30)).sum()))
    if k == 0:
        return basis.float()
    v = torch.linalg.svd(resid, full_matrices=False).Vh[:k].T
    v = v - basis @ (basis.T @ v)  # re-orthogonalise against the old basis
    return torch.cat([basis, torch.linalg.qr(v)[0]], 1).float()


class HebbianSubspace:
    """HLOP's lateral neurons for several layers: ``H_l`` (k_l × d_l) learnt by Oja's subspace rule.

    ``add(counts)`` gives each layer new lateral neurons (random unit-norm weights); ``fit(activity)`` runs
    ``iters`` steps of Oja's rule on the new neurons only, ``ΔH_new = ⟨y_new (x − Hᵀ y)ᵀ⟩`` with ``y = H x``,
    averaged over all of a finished task's inputs (the rule's expected update, computed through the second moment
    ``C = ⟨x xᵀ⟩`` of what the old neurons leave over), with momentum. HLOP's official code takes 5 such
    steps per minibatch instead; at this laptop budget the minibatch rule did not converge (see the notebook). The
    step is ``lr`` over the top eigenvalue of that ``C``, so one rate is stable in every layer whatever its scale.
    """

    def __init__(self, dims, lr: float = 0.08, momentum: float = 0.9, iters: int = 2000, seed: int = 0):
        self.dims = [int(check_value("dims", d, (int, 1, None), "HebbianSubspace")) for d in dims]
        self.lr = check_value("lr", lr, (float, 0.0, 1.0, "right"), "HebbianSubspace")
        self.momentum = check_value("momentum", momentum, (float, 0.0, 1.0, "left"), "HebbianSubspace")
        self.iters = check_value("iters", iters, (int, 1, None), "HebbianSubspace")
        self.gen = torch.Generator().manual_seed(int(seed))
        self.H = [torch.zeros(0, d) for d in self.dims]
        self.n_old = [0 for _ in self.dims]

    def add(self, counts) -> None:
        counts = list(counts)
        for l, (c, d) in enumerate(zip(counts, self.dims)):
            c = check_value("counts", c, (int, 0, None), "HebbianSubspace.add")
            if self.H[l].shape[0] + c > d:
                raise ParameterError(f"Parameter 'counts' of HebbianSubspace.add would give layer {l} "
                                     f"{self.H[l].shape[0] + c} lateral neurons for a {d}-dim input: the subspace "
                                     "would span the layer's whole input.")
            self.n_old[l] = self.H[l].shape[0]
            self.H[l] = torch.cat([self.H[l], torch.randn(c, d, generator=self.gen) / d ** 0.5])

    def fit(self, activity) -> None:
        """``activity``: one tensor per layer, a finished task's inputs to that layer (samples × d_l).

        The new neurons see what the old ones leave over, ``x − H_oldᵀ H_old x`` (the old lateral circuit's
        residual), so Oja's rule on it is the rule on the whole ``H`` with the old rows held fixed."""
        with threads(1):
            for l, x in enumerate(activity):
                k0, h = self.n_old[l], self.H[l]
                if h.shape[0] > k0:
                    self.H[l] = torch.cat([h[:k0], self._oja(x.detach().float(), h[:k0], h[k0:].clone())])

    def _oja(self, x: torch.Tensor, old: torch.Tensor, new: torch.Tensor) -> torch.Tensor:
        c = x.T @ x / max(len(x), 1)
        if old.shape[0]:
            r = torch.eye(c.shape[0]) - old.T @ old
            c = r @ c @ r.T
        lam = float(torch.linalg.eigvalsh(c)[-1]) + 1e-12
        buf = torch.zeros_like(new)
        for _ in range(self.iters):
            hc = new @ c                                   # ⟨y xᵀ⟩ on the residual
            buf = self.momentum * buf + hc - (hc @ new.T) @ new   # ⟨y (x − Hᵀ y)ᵀ⟩: Oja's subspace rule
            new = new + self.lr / lam * buf
        return new

    def bases(self) -> list[torch.Tensor]:
        return [h.clone() for h in self.H]


def subspace_cos2(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean squared cosine of the principal angles between the row spaces of ``a`` (k × d) and ``b`` (k' × d)."""
    qa, qb = torch.linalg.qr(a.double().T)[0], torch.linalg.qr(b.double().T)[0]
    k = min(qa.shape[1], qb.shape[1])
    return float((qa.T @ qb).pow(2).sum() / k) if k else float("nan")


class OrthogonalProjection(torch.optim.Optimizer):
    """Wrap ``optimizer``: before each step, replace the gradient ``G`` of each weight in ``bases`` (a dict
    weight → basis rows P, k × in) by ``G − G Pᵀ P``, and zero the gradients of the ``frozen`` parameters.
    With orthonormal rows the update is then orthogonal to every input in the span of P."""

    def __init__(self, optimizer: torch.optim.Optimizer, bases: dict, frozen=()):
        self.optimizer, self.frozen = optimizer, list(frozen)
        self.bases = {}
        for w, p in bases.items():
            if p.ndim != 2 or p.shape[1] != w.shape[1]:
                raise ParameterError(f"Parameter 'bases' of OrthogonalProjection: a basis of shape {tuple(p.shape)} "
                                     f"does not fit a weight of shape {tuple(w.shape)} (need k × {w.shape[1]}).")
            self.bases[w] = p.to(w)
        self.param_groups = optimizer.param_groups
        self.defaults = optimizer.defaults
        self.state = optimizer.state

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    @torch.no_grad()
    def project(self) -> None:
        for w, p in self.bases.items():
            if w.grad is not None and p.shape[0]:
                w.grad -= (w.grad @ p.T) @ p
        for w in self.frozen:
            w.grad = None

    def step(self, closure=None):
        self.project()
        return self.optimizer.step(closure)


def acc_bwt(acc: np.ndarray) -> tuple[float, float]:
    """From an accuracy matrix (``acc[i, j]``: task j's test accuracy after training task i): ACC, the mean final
    accuracy, and BWT, the mean change of each old task from just after it was learnt to the end."""
    acc = np.asarray(acc, dtype=float)
    if acc.ndim != 2 or acc.shape[0] != acc.shape[1] or acc.shape[0] < 1:
        raise ParameterError(f"Parameter 'acc' of acc_bwt must be a square tasks × tasks matrix, got {acc.shape}.")
    t = acc.shape[0]
    bwt = float(np.mean(acc[-1, :-1] - np.diag(acc)[:-1])) if t > 1 else 0.0
    return float(acc[-1].mean()), bwt


def cross_entropy(model, x, y):
    return F.cross_entropy(model(x), y)
