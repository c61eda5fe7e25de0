"""Simulated spiking populations that switch between coupling states on a shared anatomical backbone.

The generative model is the HMM-GLM of Li et al. (2023, "One-hot Generalized Linear Model for Switching
Brain State Discovery", eqs. 1–3): a Markov chain of states ``z_t`` with transition matrix ``Pi``, and
in each state a GLM

    x_{t,n} ~ Poisson(f_{t,n}),   f_{t,n} = sigma(b_n + sum_m W_{z_t, n<-m} h_{t,m}),
    h_{t,m} = sum_{l=1}^{L} phi_l x_{t-l,m}                    (spike history through one basis)

with ``phi_l ∝ exp(-decay * l)`` normalised to sum 1 (the official code's ``exp_basis``). The couplings
follow the one-hot construction of the paper: each connection is inhibitory, absent or excitatory in
each state, ``W_s = (A_s^exc - A_s^inh) ⊙ S_s``, with state-specific strengths ``S_s``. Here the
anatomical **backbone** decides which connections can exist and their sign (Dale's law), and each
state switches on a random subset of them (probability ``p_active`` per state and connection), so the
per-state one-hot ``A_s`` is a draw from the prior ``P(exc/inh) = p_active`` on backbone edges and
``P(absent) = 1`` elsewhere — the state-constant structure the one-hot prior is meant to recover.

The backbone (:mod:`labkit.data.networks`) is either random or a real *C. elegans* subnetwork. Everything
here is in the paper's orientation ``W[state, post, pre]``; the backbone, like every connectome of the
lab, is ``[pre, post]``, so it is read transposed.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from labkit.core.params import check_args, check_value
from labkit.data.networks import Backbone, random_backbone
from labkit.neuro.switching_glm.history import history_basis

__all__ = ["SwitchingData", "simulate_switching_glm"]


@dataclass
class SwitchingData:
    """Simulated spikes with their whole truth.

    ``spikes`` (trials, time, neurons) counts; ``states`` (trials, time); ``weights`` (states, post, pre);
    ``active`` (states, post, pre) bool, the per-state one-hot support; ``bias`` (neurons,);
    ``transitions`` (states, states); ``rates`` (trials, time, neurons), the true conditional intensity.
    """

    spikes: np.ndarray
    states: np.ndarray
    weights: np.ndarray
    active: np.ndarray
    bias: np.ndarray
    transitions: np.ndarray
    rates: np.ndarray
    backbone: Backbone
    basis: np.ndarray
    seed: int

    @property
    def n_states(self) -> int:
        return self.weights.shape[0]

    def split(self, n_train: int) -> tuple[np.ndarray, np.ndarray]:
        """The first ``n_train`` trials and the rest, as two spike arrays."""
        n_train = check_value("n_train", n_train, (int, 1, self.spikes.shape[0] - 1), "SwitchingData.split")
        return self.spikes[:n_train], self.spikes[n_train:]


def simulate_switching_glm(backbone: Backbone | None = None, *, n_states: int = 3, n_trials: int = 20,
                           n_time_bins: int = 500, stickiness: float = 0.98, p_active: float = 0.7,
                           strength: tuple[float, float] = (1.0, 3.0), bias: tuple[float, float] = (-0.05, 0.05),
                           window: int = 5, decay: float = 1.0, seed: int = 0) -> SwitchingData:
    """Simulate the HMM-GLM on a backbone (default: a random one of 20 neurons at density 0.2).

    ``stickiness``: self-transition probability (the rest spread evenly); ``p_active``: probability that a
    backbone connection is switched on in a given state; ``strength``: the uniform range of a connection's
    state-specific strength; ``bias``: the uniform range of the baseline ``b_n`` (shared by the states,
    as in the paper); the rate is ``sigmoid(.)`` spikes per bin, as in the paper's synthetic data.
    """
    if backbone is None:
        backbone = random_backbone(seed=seed)
    if not isinstance(backbone, Backbone):
        raise ValueError(f"backbone must be a labkit.data.networks.Backbone (random_backbone, worm_backbone), "
                         f"got {type(backbone).__name__}.")
    probability = (float, 0, 1)
    checked = check_args("simulate_switching_glm",
                         {"n_states": n_states, "n_trials": n_trials, "n_time_bins": n_time_bins,
                          "stickiness": stickiness, "p_active": p_active, "seed": seed},
                         {"n_states": (int, 1, 50), "n_trials": (int, 1, None), "n_time_bins": (int, 1, None),
                          "stickiness": probability, "p_active": probability, "seed": "seed"})
    K, n_trials, T = checked["n_states"], checked["n_trials"], checked["n_time_bins"]
    stickiness, p_active = checked["stickiness"], checked["p_active"]
    if len(strength) != 2 or not (0 <= strength[0] <= strength[1]):
        raise ValueError(f"strength must be a range (low, high) with 0 <= low <= high, got {strength!r}.")
    if len(bias) != 2 or not (bias[0] <= bias[1]):
        raise ValueError(f"bias must be a range (low, high) with low <= high, got {bias!r}.")
    basis = history_basis(window, decay)
    rng = np.random.default_rng(seed)
    N = backbone.n_neurons

    active = (rng.random((K, N, N)) < p_active) & backbone.adjacency.T          # [state, post, pre]
    strengths = rng.uniform(strength[0], strength[1], (K, N, N))
    weights = np.where(active, backbone.sign.T * strengths, 0.0)
    b = rng.uniform(bias[0], bias[1], N)
    trans = np.full((K, K), (1 - stickiness) / max(K - 1, 1)) if K > 1 else np.ones((1, 1))
    if K > 1:
        np.fill_diagonal(trans, stickiness)

    # the Markov chain, vectorised over trials
    states = np.empty((n_trials, T), dtype=np.int64)
    states[:, 0] = rng.integers(K, size=n_trials)
    cum = np.cumsum(trans, axis=1)
    u = rng.random((n_trials, T))
    for t in range(1, T):
        states[:, t] = np.minimum((u[:, t, None] > cum[states[:, t - 1]]).sum(1), K - 1)

    # spikes, vectorised over trials and neurons; the history window is a ring of the last L bins
    L = len(basis)
    spikes = np.zeros((n_trials, T, N), dtype=np.int64)
    rates = np.empty((n_trials, T, N))
    hist = np.zeros((n_trials, L, N))                               # hist[:, l] = x_{t-1-l}
    for t in range(T):
        h = np.einsum("l,bln->bn", basis, hist)
        eta = b + np.einsum("bnm,bm->bn", weights[states[:, t]], h)
        rates[:, t] = 1.0 / (1.0 + np.exp(-eta))
        spikes[:, t] = rng.poisson(rates[:, t])
        hist = np.concatenate([spikes[:, t, None], hist[:, :-1]], axis=1)
    return SwitchingData(spikes, states, weights, active, b, trans, rates, backbone, basis, seed)
