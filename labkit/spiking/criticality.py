"""The branching factor: how many spikes a spike begets, the order parameter of criticality.

NALSM's estimator (Ivanov & Michmizos 2021, Sec. 3.3; official ``compute_branching_factor.py``):
for every spike of liquid neuron ``n`` at step ``t`` (inside the analysis window),

    ancestors   = spikes of n's presynaptic liquid neurons in [t - w, t)
    descendants = spikes of n's postsynaptic liquid neurons in [t + 1, t + 1 + w)
    sigma_t     = descendants / max(ancestors, 1)

a neuron's branching factor is the mean of ``sigma_t`` over its spikes, a sample's is the mean over
the neurons that spiked, and the liquid's is the mean over samples (w = 4 ms, 25 ms margins).
sigma < 1: activity dies out (ordered); sigma > 1: it explodes (chaotic); sigma = 1: critical.

Window counts are cumulative sums over time and the neighbour sums are one (sparse) matrix product,
so the whole estimate is a few tensor operations on the device.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import check_args


def branching_factor(spikes: torch.Tensor, pre, post, *, window: int = 4, margin: int = 25,
                     per_sample: bool = False):
    """Branching factor of spike trains ``spikes`` (B, T, N) on a network with edges ``pre -> post``.

    Returns the liquid's mean (a float; nan when no neuron spiked in the window), or the (B,)
    per-sample values when ``per_sample``.
    """
    if spikes.ndim != 3:
        raise ValueError(f"spikes must have shape (batch, steps, neurons), got {tuple(spikes.shape)}.")
    b, t_len, n = spikes.shape
    check_args("branching_factor", dict(window=window, margin=margin),
               {"window": (int, 1, None), "margin": (int, 0, None)})
    lo, hi = margin + window, t_len - margin - window  # spikes at t in [lo, hi) are analysed
    if hi <= lo:
        raise ValueError(f"the run of {t_len} steps is too short for a {window}-step window with {margin}-step "
                         "margins.")
    dev = spikes.device
    pre = torch.as_tensor(np.asarray(pre), dtype=torch.long, device=dev)
    post = torch.as_tensor(np.asarray(post), dtype=torch.long, device=dev)
    keep = (pre < n) & (post < n)
    pre, post = pre[keep], post[keep]
    s = spikes.to(torch.float32)
    c = torch.cat([torch.zeros(b, 1, n, device=dev), torch.cumsum(s, 1)], 1)  # c[:, t] = sum_{k<t} s[:, k]
    t_idx = torch.arange(lo, hi, device=dev)
    back = c[:, t_idx] - c[:, t_idx - window]                  # counts in [t - w, t)
    fwd = c[:, t_idx + 1 + window] - c[:, t_idx + 1]           # counts in [t + 1, t + 1 + w)
    adj = torch.sparse_coo_tensor(torch.stack([post, pre]), torch.ones_like(pre, dtype=torch.float32), (n, n),
                                  check_invariants=False).coalesce()
    # ancestors of n: sum over its presynaptic j of back[j]; descendants: sum over postsynaptic i of fwd[i]
    anc = torch.sparse.mm(adj, back.reshape(-1, n).T).T.reshape(back.shape)
    desc = torch.sparse.mm(adj.T.coalesce(), fwd.reshape(-1, n).T).T.reshape(fwd.shape)
    here = s[:, lo:hi]
    sigma = desc / anc.clamp(min=1.0) * here
    n_spk = here.sum(1)                                        # (B, N)
    neuron_bf = sigma.sum(1) / n_spk                           # nan where the neuron never spiked
    sample_bf = torch.nanmean(neuron_bf, dim=1)
    if per_sample:
        return sample_bf.cpu().numpy()
    return float(torch.nanmean(sample_bf))


def branching_factor_reference(spikes: np.ndarray, pre, post, *, window: int = 4, margin: int = 25) -> float:
    """A direct loop over spikes following the official script line by line (slow; for tests)."""
    spikes = np.asarray(spikes, dtype=bool)
    b, t_len, n = spikes.shape
    pre_of = [np.asarray(pre)[np.asarray(post) == i] for i in range(n)]
    post_of = [np.asarray(post)[np.asarray(pre) == i] for i in range(n)]
    sample_vals = []
    for s in spikes:
        neuron_vals = []
        for i in range(n):
            vals = []
            for t in range(margin + window, t_len - margin - window):
                if s[t, i]:
                    anc = s[t - window:t][:, pre_of[i]].sum()
                    desc = s[t + 1:t + 1 + window][:, post_of[i]].sum()
                    vals.append(desc / max(anc, 1))
            neuron_vals.append(np.mean(vals) if vals else np.nan)
        sample_vals.append(np.nanmean(neuron_vals) if np.any(np.isfinite(neuron_vals)) else np.nan)
    return float(np.nanmean(sample_vals))
