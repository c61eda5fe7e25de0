"""Scores of the readouts against the task's truth: the delay, the probabilities, and the change.

Everything is read on replicate means of the probe outputs (what the readouts predict on cue-only trials):

* the **predicted delay**: the time of the when-readout's peak after the cue's onset;
* the **amplitudes** ``a_k``: the what-readouts at that peak;
* the **criteria** (issue 28): ``|peak - D| <= 0.1 D`` and ``max_k |a_k - p_k| <= 0.1``;
* **trials to criterion** after the change: the first trial ``j`` (counted from the change, 1-based) whose
  trials ``j-4 .. j`` (a 5-trial mean) meet both criteria; ``never`` (the block's length + 1) if none does.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.spiking.reservoir_prediction.task import TaskSpec

DELAY_TOL = 0.1    # the "within 10% of the true delay"
PROB_TOL = 0.1     # the max_k |a_k - p_k| <= 0.1


def mean_curves(when: torch.Tensor, what: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Replicate means: when (n_trials, n_bins), what (n_trials, K, n_bins)."""
    return when.mean(1).cpu().numpy(), what.mean(1).cpu().numpy()


def peak_and_amplitudes(when: np.ndarray, what: np.ndarray, t_ms: np.ndarray, cue_onset: float):
    """The predicted delay (ms after the cue's onset) and the amplitudes at the peak, from curves ``when``
    (n_bins,) and ``what`` (K, n_bins); the peak is searched from the cue's onset on (the first bin on a tie)."""
    ok = np.asarray(t_ms) >= cue_onset
    b = int(np.flatnonzero(ok)[np.argmax(when[ok])])
    return float(t_ms[b] - cue_onset), what[:, b]


def block_scores(when: np.ndarray, what: np.ndarray, t_ms: np.ndarray, spec: TaskSpec, trials) -> dict:
    """Delay and amplitudes of the mean over ``trials`` (a range of trial indices in one block), with their
    errors against the block's truth."""
    trials = np.asarray(trials)
    delay, amps = peak_and_amplitudes(when[trials].mean(0), what[trials].mean(0), t_ms, spec.cue_onset)
    true_d, p = spec.delay_at(int(trials[0])), spec.probs_at(int(trials[0]))
    return {"delay_ms": delay, "delay_rel_error": abs(delay - true_d) / true_d, "amplitudes": amps,
            "prob_error": float(np.max(np.abs(amps - p)))}


def meets(scores: dict) -> bool:
    return scores["delay_rel_error"] <= DELAY_TOL and scores["prob_error"] <= PROB_TOL


def trials_to_criterion(when: np.ndarray, what: np.ndarray, t_ms: np.ndarray, spec: TaskSpec,
                        window: int = 5) -> int:
    """Trials after the change until a ``window``-trial mean meets both criteria (1-based; block length + 1
    if never)."""
    c, n_after = spec.change_trial, spec.n_trials - spec.change_trial
    for j in range(window, n_after + 1):
        if meets(block_scores(when, what, t_ms, spec, range(c + j - window, c + j))):
            return j
    return n_after + 1


def error_per_trial(when: np.ndarray, what: np.ndarray, t_ms: np.ndarray, spec: TaskSpec) -> dict:
    """Each trial's delay error (relative) and probability error, from its own replicate-mean curves."""
    d, p = [], []
    for i in range(spec.n_trials):
        s = block_scores(when, what, t_ms, spec, [i])
        d.append(s["delay_rel_error"])
        p.append(s["prob_error"])
    return {"delay_rel_error": np.array(d), "prob_error": np.array(p)}


def subspace_angle_deg(when: torch.Tensor, what: torch.Tensor) -> np.ndarray:
    """Mean angle (degrees) between each replicate's when-weights and each of its what-weights, without
    the bias weight: when (..., R, D), what (..., R, K, D) -> (...,). 90 = orthogonal."""
    u = torch.nn.functional.normalize(when[..., :-1], dim=-1)
    v = torch.nn.functional.normalize(what[..., :-1], dim=-1)
    cos = torch.einsum("...rd,...rkd->...rk", u, v).clamp(-1, 1)
    return torch.rad2deg(torch.arccos(cos)).mean((-1, -2)).cpu().numpy()


def random_angle_deg(dim: int, n: int = 2000, seed: int = 0) -> float:
    """The mean angle between two random Gaussian vectors in ``dim`` dimensions (about 88 degrees at 1,000)."""
    g = torch.Generator().manual_seed(seed)
    a, b = torch.randn(n, dim, generator=g), torch.randn(n, dim, generator=g)
    cos = torch.nn.functional.cosine_similarity(a, b, dim=-1)
    return float(torch.rad2deg(torch.arccos(cos)).mean())
