"""Choosing the NTF rank by held-out reconstruction error (cross-validation on a mask of the tensor's cells).

The core consistency (:func:`~.metrics.core_consistency`) asks whether a fitted model is trilinear; under strong
noise a component that splits a real one can stay consistent enough to pass. The held-out error asks a question
noise cannot fake: does the model predict entries it never saw? (Bro, Kjeldahl, Smilde & Kiers 2008,
"Cross-validation of component models"; Williams et al. 2018, "Unsupervised discovery of demixed,
low-dimensional neural dynamics across multiple timescales through tensor component analysis", Fig. 3.)

What is held out is a set of **(window, animal) cells**, each with all its pairs: in the affinity tensor
(pairs × windows × animals) the pairs of one cell share their neurons' noise (pair (i, j) and pair (i, k) both see
neuron i's trace in that window), so a single held-out entry would be predictable from its neighbours in the
training set by a component that fits noise. A whole cell is not: its pairs can only be predicted from what the
other windows and animals share. The cells are split into ``n_folds`` folds; each fold is held out in turn, the
model is fitted on the rest by EM (the missing cells imputed with the current model, then one HALS sweep per
factor: a majorize-minimize step, so the error on the observed cells never rises), and scored on the fold.
:func:`choose_rank_heldout` then takes the smallest rank whose mean held-out error lies within one standard error
of the best, the error of their fold-by-fold difference (the one-standard-error rule; Hastie, Tibshirani & Friedman
2009, Sec. 7.10).
"""
from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import check_args
from labkit.core.threads import threads as thread_limit
from labkit.neuro.dynamic_connectome.ntf import _check_tensor, _hals_sweeps, random_init

__all__ = ["cell_folds", "masked_ntf", "heldout_scan", "choose_rank_heldout"]

_COUNT = (int, 1, None)
_WINDOW = 5  # iterations over which the convergence test measures improvement (as in ntf_hals)


def cell_folds(n_windows: int, n_animals: int, n_folds: int = 5, seed: int = 0) -> np.ndarray:
    """The fold (0..n_folds-1) of every (window, animal) cell, (n_windows, n_animals).

    Cell (w, a) gets fold ``(π(a) + s_w) mod n_folds``, with π a random permutation of the animals and s_w a random
    shift per window: every window keeps its animals spread over the folds (no window is ever held out in every
    animal while there are at least two), and every animal is held out in about 1/n_folds of the windows."""
    check_args("cell_folds", {"n_windows": n_windows, "n_animals": n_animals, "n_folds": n_folds},
               {"n_windows": _COUNT, "n_animals": (int, 2, None), "n_folds": (int, 2, None)})
    rng = np.random.default_rng(seed)
    perm = rng.permutation(n_animals)
    shift = rng.integers(0, n_folds, size=n_windows)
    return (perm[None, :] + shift[:, None]) % n_folds


def _khatri_rao(B, C):
    """(S, J, R), (S, K, R) -> (S, J·K, R), row j·K + k = b_j ∗ c_k (the order of X.reshape(I, J·K))."""
    S, J, R = B.shape
    return (B[:, :, None, :] * C[:, None, :, :]).reshape(S, J * C.shape[1], R)


def masked_ntf(X, observed, rank: int, *, n_restarts: int = 2, max_iter: int = 300, tol: float = 1e-5,
               inner_iter: int = 3, seed: int = 0, device="cpu", dtype=torch.float32, threads: int | None = 1):
    """Non-negative CP of ``X`` (I, J, K) fitted on the observed (window, animal) cells only.

    ``observed``: boolean (J, K), True where the cell's entries (all I of them) are used, or (M, J, K) for M masks
    fitted as one batch. EM: the unobserved cells are filled with the current model,
    ``X̃ = W ∗ X + (1 − W) ∗ [[A, B, C]]``, and each factor takes ``inner_iter`` HALS sweeps on X̃
    (:func:`~.ntf._hals_sweeps`); since ‖X̃ − M‖² majorizes the observed error and touches it at the current
    model, the observed error never rises. ``n_restarts`` random starts per mask run in the same batch; each stops
    when its observed error improves by less than ``tol`` (relative) per iteration over the last five. Returns
    ``(factors, train_errors)``: three tensors (M·S, I_n, R), mask m's starts at rows m·S .. m·S + S − 1, and the
    (M·S,) relative errors on the observed cells."""
    with thread_limit(threads, device=device) if threads is not None else contextlib.nullcontext():
        return _masked_ntf(X, observed, rank, n_restarts=n_restarts, max_iter=max_iter, tol=tol,
                           inner_iter=inner_iter, seed=seed, device=device, dtype=dtype)


def _masked_ntf(X, observed, rank, *, n_restarts, max_iter, tol, inner_iter, seed, device, dtype):
    device = resolve_device(device)
    check_args("masked_ntf", {"rank": rank, "n_restarts": n_restarts, "max_iter": max_iter,
                              "inner_iter": inner_iter, "tol": tol},
               {"rank": _COUNT, "n_restarts": _COUNT, "max_iter": _COUNT, "inner_iter": _COUNT,
                "tol": (float, 0, None)})
    X = _check_tensor(X, dtype, device)
    I, J, K = X.shape
    W = torch.as_tensor(np.asarray(observed))
    if W.ndim == 2:
        W = W[None]
    if W.dtype != torch.bool or tuple(W.shape[1:]) != (J, K):
        raise ValueError(f"observed must be a boolean array of shape (J, K) = {(J, K)} or (M, J, K), got "
                         f"{W.dtype} {tuple(W.shape)}.")
    if not bool(W.reshape(W.shape[0], -1).any(dim=1).all()):
        raise ValueError("observed must keep at least one (window, animal) cell in every mask.")
    S, R = W.shape[0] * int(n_restarts), int(rank)
    W = W.to(device).repeat_interleave(int(n_restarts), dim=0).reshape(S, J * K).to(dtype)   # 1: observed cell
    Wm = 1.0 - W
    X2 = X.reshape(I, J * K)                                                   # mode-1 unfolding, shared by all S
    cell2 = torch.linalg.vector_norm(X2, dim=0).double().pow(2)               # ‖X‖² of every cell
    norm2 = (W.double() * cell2).sum(dim=1)                                   # (S,) ‖X‖² of the observed cells
    A, B, C = random_init((I, J, K), R, S, seed=seed, dtype=dtype, device=device,
                          norm_x=float(norm2.mean().sqrt()) / math.sqrt(float(W.mean())))
    history = torch.full((S, max_iter + 1), float("nan"), dtype=torch.float64)
    active = torch.ones(S, dtype=torch.bool)
    gram = lambda F: F.transpose(1, 2) @ F  # noqa: E731
    # Nothing of size I·J·K·S is ever formed: with the mask constant along the pairs (mode 1), the imputed
    # tensor's products reduce to X's own (shared by every restart) plus R×R terms of the model:
    #   X̃_(1) (C ⊙ B) = X_(1) (W ∗ KR) + A · KRᵀ((1 − W) ∗ KR),   Aᵀ X̃_(1) = W ∗ (Aᵀ X_(1)) + (1 − W) ∗ (AᵀA_old KRᵀ),
    # with KR = C ⊙ B (J·K × R) and W the cells' mask; and the observed error from AᵀX_(1) and AᵀA.
    P = A.transpose(1, 2) @ X2                                                 # (S, R, J·K)
    for it in range(max_iter + 1):
        KR = _khatri_rao(B, C)                                                 # (S, J·K, R)
        inner = (P * KR.transpose(1, 2) * W[:, None, :]).sum(dim=(1, 2)).double()
        model2 = (((KR @ gram(A)) * KR).sum(dim=2) * W).sum(dim=1).double()
        err = (torch.sqrt((norm2 - 2 * inner + model2).clamp_min(0.0)) / norm2.sqrt()).cpu()
        history[:, it] = torch.where(active, err, history[:, it - 1] if it else err)
        if it >= _WINDOW:
            before = history[:, it - _WINDOW]
            active &= ~((before - history[:, it]) <= _WINDOW * tol * before)
        if it == max_iter or not bool(active.any()):
            break
        M_A = X2 @ (W[:, :, None] * KR) + A @ (KR.transpose(1, 2) @ (Wm[:, :, None] * KR))
        A_new = _hals_sweeps(A, M_A, gram(B) * gram(C), inner_iter)
        P_new = A_new.transpose(1, 2) @ X2
        T = (W[:, None, :] * P_new + Wm[:, None, :] * ((A_new.transpose(1, 2) @ A) @ KR.transpose(1, 2)))
        T = T.reshape(S, R, J, K)                                              # Aᵀ X̃: B's and C's MTTKRP
        gA = gram(A_new)
        B_new = _hals_sweeps(B, torch.einsum("srjk,skr->sjr", T, C), gA * gram(C), inner_iter)
        C_new = _hals_sweeps(C, torch.einsum("srjk,sjr->skr", T, B_new), gA * gram(B_new), inner_iter)
        keep = active.to(device)[:, None, None]                                # converged restarts stay frozen
        A, B, C, P = (torch.where(keep, new, old) for new, old in ((A_new, A), (B_new, B), (C_new, C), (P_new, P)))
    return [A, B, C], history[:, it]


def heldout_scan(tensor, ranks, *, n_folds: int = 5, n_restarts: int = 2, max_iter: int = 300, tol: float = 1e-5,
                 seed: int = 0, device="cpu", progress=None) -> dict:
    """Held-out relative error of NTF models of each rank, by ``n_folds``-fold cross-validation over the
    (window, animal) cells of ``tensor`` (pairs × windows × animals; :func:`cell_folds`).

    For each rank, every fold's ``n_restarts`` starts are fitted on the other folds, all folds as one batch
    (:func:`masked_ntf`); the start with the lowest training error is scored on its held-out fold,
    ``‖X_F − X̂_F‖ / ‖X_F‖``. Returns ``ranks``, ``heldout`` (len(ranks), n_folds), ``train`` (the kept starts'
    training errors, same shape) and ``folds`` (the fold of every cell, (J, K))."""
    ranks = [int(r) for r in ranks]
    if not ranks or min(ranks) < 1:
        raise ValueError(f"ranks must be positive integers, got {ranks!r}.")
    check_args("heldout_scan", {"n_folds": n_folds, "n_restarts": n_restarts},
               {"n_folds": (int, 2, None), "n_restarts": _COUNT})
    X = _check_tensor(tensor, torch.float32, resolve_device(device))
    I, J, K = X.shape
    folds = cell_folds(J, K, n_folds, seed=seed)
    observed = np.stack([folds != f for f in range(n_folds)])                  # (n_folds, J, K)
    cell2 = torch.linalg.vector_norm(X, dim=0).double().pow(2).cpu().numpy()   # (J, K) ‖X‖² of every cell
    heldout = np.full((len(ranks), n_folds), np.nan)
    train = np.full((len(ranks), n_folds), np.nan)
    it = list(enumerate(ranks)) if progress is None else progress(list(enumerate(ranks)))
    for i, r in it:
        factors, errs = masked_ntf(X, observed, r, n_restarts=n_restarts, max_iter=max_iter, tol=tol,
                                   seed=seed + 1000 * r, device=device)
        for f in range(n_folds):
            best = f * n_restarts + int(torch.argmin(errs[f * n_restarts:(f + 1) * n_restarts]))
            A, B, C = (F[best] for F in factors)
            resid = torch.linalg.vector_norm(X - torch.einsum("ir,jr,kr->ijk", A, B, C), dim=0)
            test = folds == f
            heldout[i, f] = math.sqrt(resid.double().pow(2).cpu().numpy()[test].sum() / cell2[test].sum())
            train[i, f] = float(errs[best])
    return {"ranks": np.array(ranks), "heldout": heldout, "train": train, "folds": folds}


def choose_rank_heldout(scan: dict) -> int:
    """The smallest scanned rank whose mean held-out error exceeds the best rank's by at most one standard error
    of their difference (the one-standard-error rule, Hastie, Tibshirani & Friedman 2009, Sec. 7.10, on paired
    differences): every rank is scored on the same folds, so rank r is compared with the best rank fold by fold,
    ``d_f = e_f(r) − e_f(best)``, and kept out only if ``mean(d) > SE(d) = sd(d)/√F``. The folds' own spread
    (which cells each holds) cancels in the difference; with the unpaired SE of the best rank's mean it swamped
    the small gain of a real component and the rule took one rank too few."""
    ranks = np.asarray(scan["ranks"])
    err = np.asarray(scan["heldout"], dtype=float)
    if err.ndim != 2 or err.shape[0] != len(ranks) or err.shape[1] < 2:
        raise ValueError(f"scan['heldout'] must be (len(ranks), n_folds >= 2), got shape {err.shape}.")
    mean = err.mean(axis=1)
    best = int(np.nanargmin(mean))
    diff = err - err[best]
    se = diff.std(axis=1, ddof=1) / math.sqrt(err.shape[1])
    ok = mean - mean[best] <= se
    return int(ranks[ok].min())
