"""The prototype classifier's set-up and its robustness: k-means prototypes, the certified radius, an L2 attack.

With the winner-takes-all readout (the nearest prototype's class) a CBC head is a nearest-prototype
classifier. If ``d₁`` is the distance from ``x`` to its nearest prototype and ``d₂`` to the nearest
prototype of another class, no perturbation shorter than the hypothesis margin ``(d₂ - d₁)/2`` changes the
class: each distance moves by at most the perturbation's length (triangle inequality).
:func:`attack_radius` searches for the smallest L2 perturbation that does change it, with projected
gradient steps on ``d_own - d_other`` and a bisected budget, so the certificate can be tested.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.core.threads import threads
from labkit.fields.neuron_designs.layers import CBCHead


def kmeans_init(head: CBCHead, x: torch.Tensor, y: torch.Tensor, seed: int = 0) -> CBCHead:
    """Put ``per_class`` k-means centres of each class's training samples into the head (prototype order:
    class by class, as the head's reasoning starts)."""
    from sklearn.cluster import KMeans

    C, m = head.n_classes, head.per_class
    if int(y.min()) < 0 or int(y.max()) >= C:
        raise ValueError(f"kmeans_init: labels must lie in 0..{C - 1}, got {int(y.min())}..{int(y.max())}.")
    centres = []
    for c in range(C):
        xc = x[y == c].numpy()
        if len(xc) < m:
            raise ValueError(f"kmeans_init: class {c} has {len(xc)} samples, fewer than per_class={m}.")
        km = KMeans(n_clusters=m, n_init=3, random_state=seed).fit(xc)
        centres.append(km.cluster_centers_)
    with torch.no_grad():
        head.prototypes.copy_(torch.as_tensor(np.concatenate(centres), dtype=head.prototypes.dtype))
    return head


def _own_other(head: CBCHead, x: torch.Tensor, cls: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance to the nearest prototype of class ``cls`` and to the nearest of any other class."""
    d = head.distances(x)
    same = head.prototype_classes()[None, :] == cls[:, None]
    inf = torch.tensor(float("inf"), dtype=d.dtype)
    return torch.where(same, d, inf).amin(1), torch.where(same, inf, d).amin(1)


@torch.no_grad()
def certified_radius(head: CBCHead, x: torch.Tensor) -> torch.Tensor:
    """The hypothesis margin ``(d₂ - d₁)/2`` of each sample under the winner-takes-all readout."""
    cls = head.predict_wta(x)
    own, other = _own_other(head, x, cls)
    return (other - own) / 2


def pgd_l2(head: CBCHead, x: torch.Tensor, eps: torch.Tensor, *, steps: int = 100, restarts: int = 3,
           seed: int = 0) -> torch.Tensor:
    """Projected gradient descent in the L2 ball of radius ``eps`` (one per sample) on ``d_own - d_other`` of
    the clean winner-takes-all class; True where some step of some restart changed the class."""
    steps = check_value("steps", steps, (int, 1, None), "pgd_l2")
    restarts = check_value("restarts", restarts, (int, 1, None), "pgd_l2")
    cls = head.predict_wta(x)
    eps = eps.reshape(-1, 1).to(x.dtype)
    alpha = 2.5 * eps / steps
    g = torch.Generator().manual_seed(seed)
    flipped = torch.zeros(x.shape[0], dtype=torch.bool)
    for r in range(restarts):
        if r == 0:
            delta = torch.zeros_like(x)
        else:
            u = torch.randn(x.shape, generator=g, dtype=x.dtype)
            delta = u / u.norm(dim=1, keepdim=True) * eps * torch.rand(x.shape[0], 1, generator=g, dtype=x.dtype)
        for _ in range(steps):
            delta.requires_grad_(True)
            own, other = _own_other(head, x + delta, cls)
            grad, = torch.autograd.grad((other - own).sum(), delta)
            with torch.no_grad():
                flipped |= other < own
                delta = delta - alpha * grad / grad.norm(dim=1, keepdim=True).clamp_min(1e-12)
                norm = delta.norm(dim=1, keepdim=True)
                delta = delta * torch.clamp(eps / norm.clamp_min(1e-12), max=1.0)
        with torch.no_grad():
            own, other = _own_other(head, x + delta, cls)
            flipped |= other < own
    return flipped


@dataclass
class AttackResult:
    radius: np.ndarray        # certified radius of each sample
    found: np.ndarray         # the attack flipped the sample within 3 × its radius
    attack_eps: np.ndarray    # the smallest budget found to flip it (inf where none within 3 × radius)
    violations: int           # samples flipped by a budget below their certified radius


@threads(1)
def attack_radius(head: CBCHead, x: torch.Tensor, *, steps: int = 100, restarts: int = 3, rounds: int = 10,
                  factor: float = 3.0, seed: int = 0) -> AttackResult:
    """For each sample, the smallest L2 budget in ``(0, factor × radius]`` at which :func:`pgd_l2` flips its
    class, by ``rounds`` bisections; every budget tried below the radius that flips counts as a violation.
    Runs on the CPU (the head is moved there)."""
    head.cpu().eval()
    x = x.cpu()
    for p in head.parameters():
        p.requires_grad_(False)
    try:
        r = certified_radius(head, x)
        hi = factor * r
        found = pgd_l2(head, x, hi, steps=steps, restarts=restarts, seed=seed)
        lo = torch.zeros_like(r)
        violated = torch.zeros_like(found)
        for i in range(rounds):
            mid = (lo + hi) / 2
            ok = pgd_l2(head, x, mid, steps=steps, restarts=restarts, seed=seed + i + 1)
            violated |= ok & (mid < r)
            hi = torch.where(ok, mid, hi)
            lo = torch.where(ok, lo, mid)
    finally:
        for p in head.parameters():
            p.requires_grad_(True)
    eps = torch.where(found, hi, torch.full_like(hi, float("inf")))
    return AttackResult(r.numpy(), found.numpy(), eps.numpy(), int(violated.sum()))
