"""How well a dictionary recovered the truth: cosines of atoms to the planted features, the fraction
recovered (an atom at cosine >= 0.9), explained variance, L0 and dead latents (:func:`evaluate`)."""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import check_value
from labkit.interp.sparse_dictionaries.base import SparseDictionary, check_activations


def _as_tensor(A, device=None) -> torch.Tensor:
    if isinstance(A, torch.Tensor):
        return A.to(device or A.device, torch.float32)
    return torch.as_tensor(np.asarray(A), dtype=torch.float32, device=device)


def feature_cosines(D, directions, planes=None) -> torch.Tensor:
    """Cosine similarity (n_true, n_latents) of every true feature to every atom (rows of ``D``).

    A 1-D feature's similarity is the signed cosine; a 2-D feature's (``planes``: (p, 2, dim)
    orthonormal bases) is the norm of the atom's projection onto its plane.
    """
    D = _as_tensor(D)
    D = D / D.norm(dim=1, keepdim=True).clamp_min(1e-12)
    T = _as_tensor(directions, D.device)
    if T.dim() != 2 or T.shape[1] != D.shape[1]:
        raise ValueError(f"directions must have shape (n_features, {D.shape[1]}), got {tuple(T.shape)}.")
    T = T / T.norm(dim=1, keepdim=True).clamp_min(1e-12)
    sims = T @ D.T
    if planes is not None and len(planes):
        P = _as_tensor(planes, D.device)
        sims = torch.cat([sims, torch.einsum("pkd,ld->plk", P, D).norm(dim=-1)])
    return sims


def max_cosines(D, directions, planes=None) -> torch.Tensor:
    """For each true feature, the best cosine over atoms."""
    return feature_cosines(D, directions, planes).max(dim=1).values


def recovery(D, directions, planes=None, threshold: float = 0.9) -> dict:
    """Mean max cosine similarity (MMCS) and the fraction of true features with an atom at
    cosine >= ``threshold`` (recovered)."""
    best = max_cosines(D, directions, planes)
    return {"mmcs": float(best.mean()), "recovered": float((best >= threshold).float().mean())}


def explained_variance(X: torch.Tensor, X_hat: torch.Tensor) -> float:
    """1 - sum ||x - x_hat||^2 / sum ||x - mean(x)||^2."""
    return float(1 - (X - X_hat).pow(2).sum() / (X - X.mean(0)).pow(2).sum())


@torch.no_grad()
def evaluate(model: SparseDictionary, X, directions, planes=None, *, Y=None, threshold: float = 0.9,
             tol: float = 1e-3, batch_size: int = 8192) -> dict:
    """Everything the comparison table shows, for a fitted dictionary on activations ``X``.

    ``directions``/``planes`` are the true features (for a transcoder: the output features, and
    ``Y`` the targets). A code counts as active when above ``tol`` (data units); ``l0`` is the mean
    number of active codes per input and ``dead`` the number of latents never active on ``X``.
    """
    X = model._check_input(X)
    T = X if Y is None else check_activations(Y, "Y", X.device)
    fired = torch.zeros(model.n_latents, dtype=torch.bool, device=X.device)
    sse, l0 = 0.0, 0.0
    for i in range(0, X.shape[0], batch_size):
        z = model.encode(X[i:i + batch_size])
        active = z.abs() > tol
        fired |= active.any(0)
        l0 += float(active.sum())
        sse += float((model.decode(z) - T[i:i + batch_size]).pow(2).sum())
    ev = 1 - sse / float((T - T.mean(0)).pow(2).sum())
    out = recovery(model.D_, directions, planes, threshold)
    out.update({"explained_variance": ev, "l0": l0 / X.shape[0], "dead": int((~fired).sum()),
                "fit_time": float(getattr(model, "fit_time_", float("nan")))})
    return out


@torch.no_grad()
def top_activations(model: SparseDictionary, X, latent: int, n: int = 10):
    """Indices and code values of the ``n`` inputs on which ``latent`` is most active."""
    latent = check_value("latent", latent, (int, 0, model.n_latents - 1), "top_activations")
    z = model.encode(X)[:, latent]
    vals, idx = z.topk(min(n, z.shape[0]))
    return idx, vals


@torch.no_grad()
def latent_summary(model: SparseDictionary, X, directions, latent: int, *, codes=None, n_top: int = 12,
                   planes=None) -> dict:
    """What the explorer shows of one latent, as arrays: its atom, the true feature nearest to it,
    and its ``n_top`` strongest activations on ``X`` (with that feature's true magnitudes there, when
    the true ``codes`` are given).

    Keys: ``name`` (the method), ``latent``, ``atom`` (dim,), ``feature`` (index of the nearest true
    feature; planes come after the directions), ``cosine``, ``truth`` (its direction, or None for a
    plane), ``top_index``, ``top_value`` and ``top_truth`` (None without ``codes`` or for a plane).
    """
    sims = feature_cosines(model.D_, directions, planes)[:, latent].cpu().numpy()
    j = int(np.argmax(sims))
    truth = _as_tensor(directions)[j].cpu().numpy() if j < directions.shape[0] else None
    idx, vals = top_activations(model, X, latent, n_top)
    idx = idx.cpu().numpy()
    top_truth = None if truth is None or codes is None else _as_tensor(codes)[idx, j].cpu().numpy()
    return {"name": model.name, "latent": latent, "atom": model.D_[latent].cpu().numpy(), "feature": j,
            "cosine": float(sims[j]), "truth": truth, "top_index": idx, "top_value": vals.cpu().numpy(),
            "top_truth": top_truth}
