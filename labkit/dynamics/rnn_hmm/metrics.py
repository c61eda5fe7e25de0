"""The numbers the notebook records: how well the RNN's symbols match the HMM's, how completely it
collapses without noise, how its noisy states split into slow and fast ones, how it winds in the plane
of its first two principal components, and its activity around switches."""

from __future__ import annotations

import numpy as np
import torch

from labkit.dynamics.rnn_hmm.stats import EmissionStats, max_frequency_error, max_transition_error


def stat_errors(hmm: EmissionStats, rnn: EmissionStats, min_freq: float = 0.05) -> dict:
    """``max_frequency_error`` and ``max_transition_error`` (rows of symbols with HMM frequency ≥ ``min_freq``)."""
    return {
        "max_frequency_error": max_frequency_error(hmm, rnn),
        "max_transition_error": max_transition_error(hmm, rnn, hmm.frequencies, min_freq),
        "min_stay_probability": min_stay_probability(rnn, np.flatnonzero(hmm.frequencies >= min_freq)),
        "hmm_stay_probability": min_stay_probability(hmm, np.flatnonzero(hmm.frequencies >= min_freq)),
        "hmm_switches": hmm.switches,
        "rnn_switches": rnn.switches,
    }


def collapse_ratio(final_norms, start_norms) -> float:
    """The largest norm reached without noise over the mean norm of the noisy start states (a run that
    overflows counts as 1e30, so that the number can be recorded)."""
    r = float(torch.as_tensor(final_norms).double().max() / torch.as_tensor(start_norms).double().mean())
    return r if np.isfinite(r) else 1e30


def min_stay_probability(st: EmissionStats, symbols) -> float:
    """The smallest P(y_{t+1} = k | y_t = k) over the given (frequent) symbols: how long the emitted runs last.
    A memoryless emitter with the same frequencies has P = frequency; the 2-state chain HMM has 0.9405."""
    return float(np.nan_to_num(np.diag(st.transitions)[list(symbols)], nan=0.0).min())


def pca(H, k: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Principal axes of states ``H`` (..., N): returns (mean (N,), axes (k, N), explained variance ratio (k,))."""
    X = np.asarray(H, dtype=np.float64).reshape(-1, np.shape(H)[-1])
    mu = X.mean(0)
    _, s, Vt = np.linalg.svd(X - mu, full_matrices=False)
    return mu, Vt[:k], (s[:k] ** 2) / (s**2).sum()


def project(H, mu, axes) -> np.ndarray:
    return (np.asarray(H, dtype=np.float64) - mu) @ axes.T


def winding_per_cycle(pcs, clusters, symbols=(0, 2)) -> float:
    """Net turns of the PC1–PC2 angle per switch cycle (a cycle: one switch out of each cluster) along
    trajectories ``pcs`` (B, T, 2) whose readout clusters are ``clusters`` (B, T). NaN without a cycle."""
    pcs, c = np.asarray(pcs), np.asarray(clusters)
    ang = np.unwrap(np.arctan2(pcs[..., 1], pcs[..., 0]), axis=-1)
    turns = np.abs(ang[:, -1] - ang[:, 0]).sum() / (2 * np.pi)
    leave = [((c[:, :-1] == k) & (c[:, 1:] != k)).sum() for k in symbols]
    cycles = min(leave)
    return float(turns / cycles) if cycles > 0 else float("nan")


def switch_triggered(h, clusters, units, k: int, window: int = 10) -> np.ndarray:
    """Mean activity (len(units), 2·window + 1) of ``units`` around every switch out of cluster ``k`` (time 0:
    the last step in k), over runs ``h`` (B, T, H) with clusters (B, T)."""
    h, c = np.asarray(h), np.asarray(clusters)
    b, t = np.nonzero((c[:, :-1] == k) & (c[:, 1:] != k))
    ok = (t >= window) & (t + window < c.shape[1])
    b, t = b[ok], t[ok]
    if len(t) == 0:
        return np.full((len(units), 2 * window + 1), np.nan)
    idx = t[:, None] + np.arange(-window, window + 1)[None]
    return h[b[:, None], idx][..., units].mean(0).T


def class_fractions(classes) -> np.ndarray:
    """Fractions of states in the fast, intermediate and slow residency classes."""
    return np.bincount(np.asarray(classes).ravel(), minlength=3) / max(np.size(classes), 1)


def join_runs(pcs, *labels):
    """Runs (B, T, 2) laid end to end as one (B·(T+1), 2) array with a NaN row after each run (so a line
    drawn through it breaks between runs); each label array (B, T) laid out the same way, −1 at the breaks."""
    pcs = np.asarray(pcs, dtype=np.float64)
    B, T = pcs.shape[:2]
    flat = np.concatenate([pcs, np.full((B, 1, 2), np.nan)], axis=1).reshape(-1, 2)
    labs = [np.concatenate([np.asarray(lab), np.full((B, 1), -1)], axis=1).reshape(-1) for lab in labels]
    return (flat, *labs)
