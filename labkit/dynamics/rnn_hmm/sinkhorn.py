"""The debiased Sinkhorn divergence between two point clouds, the loss that trains the RNN.

For uniform weights on points x_i (N, D) and y_j (M, D) and the cost C(x, y) = ‖x − y‖^p / p,

    S_ε(x, y) = OT_ε(x, y) − ½ OT_ε(x, x) − ½ OT_ε(y, y),   ε = blur^p,

where OT_ε is entropic optimal transport, computed from its dual potentials as ⟨a, f⟩ + ⟨b, g⟩. The
debiasing makes S_ε(x, x) = 0 and S_ε ≥ 0 (Feydy et al. 2019). As in GeomLoss (Feydy's thesis, Alg. 3.5):
log-domain soft C-transforms, symmetric (averaged) updates, and ε-scaling from the cloud's diameter^p
down to blur^p by a factor scaling^p per iteration. The loop runs without autograd; one last full update
is taken with it, so the gradient is the envelope-theorem gradient (the potentials are treated as
optimal, no back-propagation through the iterations): ∇_{x_i} S = a_i ∇(f_ba − f_aa)(x_i).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value


def _cost(x: torch.Tensor, y: torch.Tensor, p: int) -> torch.Tensor:
    if p == 2:
        d2 = (x * x).sum(-1)[:, None] + (y * y).sum(-1)[None, :] - 2 * x @ y.T
        return d2.clamp_min(0) / 2
    return torch.cdist(x, y).pow(p) / p


def _softmin(eps: float, C: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """f_i = −ε log Σ_j exp(h_j − C_ij / ε)."""
    return -eps * torch.logsumexp(h[None, :] - C / eps, dim=1)


def epsilon_schedule(p: int, diameter: float, blur: float, scaling: float) -> list[float]:
    """diameter^p, then geometric steps of scaling^p, ending at blur^p."""
    steps = np.arange(p * math.log(diameter), p * math.log(blur), p * math.log(scaling))
    return [diameter**p] + [float(np.exp(e)) for e in steps] + [blur**p]


def sinkhorn_divergence(x, y, blur: float = 0.2, p: int = 2, scaling: float = 0.5) -> torch.Tensor:
    """The debiased Sinkhorn divergence S_ε between the uniform measures on ``x`` (N, D) and ``y`` (M, D).

    ``blur``: the entropic scale (ε = blur^p); ``scaling``: the ε-annealing ratio (GeomLoss's default 0.5).
    Differentiable in ``x`` and ``y`` by the envelope theorem.
    """
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or x.shape[0] < 1 or y.shape[0] < 1:
        raise ParameterError(
            "Parameters 'x' and 'y' of sinkhorn_divergence must be point clouds (N, D) and (M, D) with the same D, "
            f"got {tuple(x.shape)} and {tuple(y.shape)}."
        )
    blur = check_value("blur", blur, (float, 0.0, None, "neither"), "sinkhorn_divergence")
    p = check_value("p", p, [1, 2], "sinkhorn_divergence")
    scaling = check_value("scaling", scaling, (float, 0.0, 1.0, "neither"), "sinkhorn_divergence")
    dtype = torch.promote_types(x.dtype, y.dtype)
    x, y = x.to(dtype), y.to(dtype)
    N, M = x.shape[0], y.shape[0]
    a_log = torch.full((N,), -math.log(N), dtype=dtype, device=x.device)
    b_log = torch.full((M,), -math.log(M), dtype=dtype, device=x.device)
    with torch.no_grad():
        both = torch.cat([x.detach(), y.detach()])
        diameter = max(float((both.max(0).values - both.min(0).values).norm()), blur)
        eps_list = epsilon_schedule(p, diameter, blur, scaling)
        xd, yd = x.detach(), y.detach()
        # the four problems (b -> a, a -> b, a -> a, b -> b) side by side: one batched soft-min per update
        # when N = M (the training case), else one call each
        Cs = [_cost(xd, yd, p), _cost(yd, xd, p), _cost(xd, xd, p), _cost(yd, yd, p)]
        logs = [b_log, a_log, a_log, b_log]  # the weights each soft-min sums over
        if N == M:
            Cs, logs = torch.stack(Cs), torch.stack(logs)

            def update(eps, pots):
                other = torch.stack([pots[1], pots[0], pots[2], pots[3]])  # g_ab, f_ba, f_aa, g_bb
                return -eps * torch.logsumexp((logs + other / eps)[:, None, :] - Cs / eps, dim=2)
        else:

            def update(eps, pots):
                other = [pots[1], pots[0], pots[2], pots[3]]
                return [_softmin(eps, C, lg + o / eps) for C, lg, o in zip(Cs, logs, other)]

        eps = eps_list[0]
        zero = [torch.zeros_like(lg) for lg in (a_log, b_log, a_log, b_log)]
        pots = update(eps, torch.stack(zero) if N == M else zero)  # f_ba, g_ab, f_aa, g_bb
        for eps in eps_list:
            new = update(eps, pots)
            pots = [0.5 * (old + nw) for old, nw in zip(pots, new)]
            if N == M:
                pots = torch.stack(pots)
        f_ba, g_ab, f_aa, g_bb = pots
    # the last, full update with autograd: the envelope-theorem gradient flows through the costs only
    # (each potential carries the gradient of the points it lives on: C(x, y.detach()), as GeomLoss does)
    f_ba_new = _softmin(eps, _cost(x, yd, p), b_log + g_ab / eps)
    g_ab_new = _softmin(eps, _cost(y, xd, p), a_log + f_ba / eps)
    f_aa_new = _softmin(eps, _cost(x, xd, p), a_log + f_aa / eps)
    g_bb_new = _softmin(eps, _cost(y, yd, p), b_log + g_bb / eps)
    return (f_ba_new - f_aa_new).mean() + (g_ab_new - g_bb_new).mean()
