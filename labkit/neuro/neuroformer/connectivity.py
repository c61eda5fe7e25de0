"""Connectivity read from the model's attention, and the two baselines it is compared with.

:func:`attention_connectivity` (the paper's "attention connectivity"): for every position that predicts a
token of neuron *i*, the attention it puts on tokens of neuron *j* earlier in the window (self-attention)
and in the past (cross-attention), summed and averaged over those positions, heads and layers, then
divided by *j*'s share of all tokens (so a neuron is not "attended" merely for firing a lot). The result
``A[i, j]`` reads "i <- j", the orientation of a GLM's ``W[post, pre]``.

Baselines: :func:`xcorr_asymmetry` (lagged cross-correlation over 1-10 ms, i <- j) and
:func:`glm_couplings` (the couplings of the landed ``SwitchingGLM(n_states=1)``, the simulator's own family).
Scores: :func:`edge_auc` over ordered pairs and :func:`direction_accuracy` over one-way true edges.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.threads import threads
from labkit.neuro.neuroformer.model import Neuroformer, make_batch
from labkit.neuro.neuroformer.tokens import Tokens

__all__ = ["attention_connectivity", "xcorr_asymmetry", "glm_couplings", "edge_auc", "direction_accuracy"]


@torch.no_grad()
def attention_connectivity(model: Neuroformer, tokens: Tokens, rows, stimulus, batch_size: int = 256,
                           relative: bool = False) -> np.ndarray:
    """``A[i, j]``: normalised attention from the positions predicting neuron i onto neuron j's tokens.

    ``relative=True`` divides instead by the mass that *uniform* attention (every allowed key alike) would
    put on j from the same positions: how much more than co-occurrence the model attends to j. Uniform
    attention already scores j's share of i's recent tokens, a lagged co-occurrence that finds the circuit
    on its own (an untrained model does this); only the relative score measures what training added.
    """
    n = model.n
    mass = torch.zeros(n, n, dtype=torch.float64)
    flat = torch.zeros(n, n, dtype=torch.float64)
    count = torch.zeros(n, dtype=torch.float64)
    L = model.tf.cfg.n_layers
    names = [f"blocks.{k}.{a}.hook_pattern" for k in range(L) for a in ("attn", "xattn")]
    rows = np.asarray(rows)
    with threads(1):
        for s in range(0, rows.size, batch_size):
            b = make_batch(tokens, rows[s:s + batch_size], stimulus)
            if b.ids.shape[1] == 0:
                continue
            ctx, mask = model.context(b)
            _, cache = model.run(model.inputs(b.ids, b.dt), ctx, mask, names=names, detach=True)
            B, P = b.ids.shape[0], b.ids.shape[1] + 1
            # position p predicts token p (the input at p + 1): a query of neuron ids[p]
            q = torch.nn.functional.one_hot(b.ids.clamp(min=0), n).double() * (b.ids >= 0)[..., None]
            q = torch.cat([q, torch.zeros(B, 1, n, dtype=torch.float64)], 1)              # (B, P, n)
            k_self = torch.cat([torch.zeros(B, 1, n, dtype=torch.float64), q[:, :-1]], 1)  # input at p: token p-1
            k_past = torch.nn.functional.one_hot(b.past_ids.clamp(min=0), n).double() * (b.past_ids >= 0)[..., None]
            Lp = b.past_ids.shape[1]
            u_self = torch.ones(P, P, dtype=torch.float64).tril()
            u_self = (u_self / u_self.sum(1, keepdim=True))[None]
            u_x = mask.double() / mask.double().sum(1, keepdim=True)
            flat += (torch.einsum("bpi,xpq,bqj->ij", q, u_self, k_self)
                     + torch.einsum("bpi,bq,bqj->ij", q, u_x[:, 1:1 + Lp], k_past)) * L
            for k in range(L):
                a_self = cache[f"blocks.{k}.attn.hook_pattern"].double().mean(1)            # (B, P, P)
                a_x = cache[f"blocks.{k}.xattn.hook_pattern"].double().mean(1)[:, :, 1:1 + Lp]
                mass += torch.einsum("bpi,bpq,bqj->ij", q, a_self, k_self) + torch.einsum("bpi,bpq,bqj->ij", q,
                                                                                           a_x, k_past)
            count += q.sum((0, 1)) * L
    if relative:
        A = (mass / flat.clamp(min=1e-12)).numpy()
        np.fill_diagonal(A, 0.0)
        return A
    share = np.bincount(tokens.ids[tokens.ids >= 0], minlength=n) / max(int((tokens.ids >= 0).sum()), 1)
    A = (mass / count.clamp(min=1)[:, None]).numpy() / np.maximum(share, 1e-9)[None]
    np.fill_diagonal(A, 0.0)
    return A


def xcorr_asymmetry(counts: np.ndarray, lags=range(1, 11)) -> np.ndarray:
    """``C[i, j]``: covariance of i at t + lag with j at t, summed over ``lags`` (ms), minus the reverse,
    over trials; counts (trials, time, neurons). Positive where j leads i. One matrix product per lag."""
    x = np.asarray(counts, np.float64)
    if x.ndim != 3:
        raise ValueError(f"counts must have shape (trials, time, neurons), got {x.shape}.")
    x = x - x.mean((0, 1), keepdims=True)
    n_bins = x.shape[0] * x.shape[1]
    lead = np.zeros((x.shape[2], x.shape[2]))
    for lag in lags:
        lead += np.einsum("bti,btj->ij", x[:, lag:], x[:, :-lag]) / n_bins
    out = lead - lead.T
    np.fill_diagonal(out, 0.0)
    return out


def glm_couplings(counts: np.ndarray, *, seed: int = 0, n_iter: int = 1, m_steps: int = 100) -> np.ndarray:
    """``|W[i, j]|`` of a one-state coupled Poisson GLM (``SwitchingGLM(n_states=1)``) fit to the counts."""
    from labkit.neuro.switching_glm import SwitchingGLM

    glm = SwitchingGLM(n_states=1, window=5, n_iter=n_iter, m_steps=m_steps, device="cpu", seed=seed).fit(counts)
    W = np.abs(glm.weights_[0])
    np.fill_diagonal(W, 0.0)
    return W


def _offdiag(n):
    return ~np.eye(n, dtype=bool)


def edge_auc(score: np.ndarray, adjacency_pre_post: np.ndarray, exclude: np.ndarray | None = None) -> float:
    """ROC AUC of ``score[i, j]`` (i <- j) for the true edges ``adjacency[j, i]`` over ordered pairs i != j
    (leaving out the pairs where ``exclude[i, j]``)."""
    truth = np.asarray(adjacency_pre_post).T
    off = _offdiag(truth.shape[0])
    if exclude is not None:
        off = off & ~np.asarray(exclude, bool)
    s, t = np.asarray(score)[off], truth[off]
    if t.all() or not t.any():
        raise ValueError("adjacency must hold both edges and non-edges off the diagonal.")
    ranks = np.argsort(np.argsort(s, kind="stable"), kind="stable").astype(float)
    # ties share their mean rank
    _, inv, cnt = np.unique(s, return_inverse=True, return_counts=True)
    ranks = (np.bincount(inv, ranks) / cnt)[inv] + 1.0
    n_pos, n_neg = t.sum(), (~t).sum()
    return float((ranks[t].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def direction_accuracy(score: np.ndarray, adjacency_pre_post: np.ndarray) -> float:
    """Share of one-way true edges j -> i with ``score[i, j] > score[j, i]`` (chance 0.5)."""
    adj = np.asarray(adjacency_pre_post)
    one_way = adj & ~adj.T                       # [pre, post]
    pre, post = np.nonzero(one_way)
    if pre.size == 0:
        raise ValueError("adjacency has no one-way edge to score a direction on.")
    s = np.asarray(score)
    return float(np.mean(s[post, pre] > s[pre, post]))
