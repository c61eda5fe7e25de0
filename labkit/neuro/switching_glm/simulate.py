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

The backbone is either random (:func:`random_backbone`) or a real *C. elegans* subnetwork
(:func:`connectome_backbone`, from :mod:`labkit.data.worm`). Everything is in the paper's orientation
``W[state, post, pre]``; note that :mod:`labkit.data.worm` stores ``weights[pre, post]``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

__all__ = ["Backbone", "SwitchingData", "random_backbone", "connectome_backbone", "worm_backbone",
           "history_basis", "convolve_history", "simulate_switching_glm", "DEFAULT_WORM_NEURONS"]

# Locomotion command interneurons (Chalfie et al. 1985) and the head interneurons around them.
DEFAULT_WORM_NEURONS = ("AVA", "AVB", "AVD", "AVE", "PVC", "AIB", "RIM", "AIZ", "RIB", "AIY")


@dataclass
class Backbone:
    """A directed anatomical backbone: ``adjacency[post, pre]`` (bool, no self-loops) and the sign of each
    connection, ``sign[post, pre]`` in {-1, 0, +1} (non-zero exactly on the adjacency)."""

    adjacency: np.ndarray
    sign: np.ndarray
    neurons: list[str]
    source: str = "random"
    sign_known: np.ndarray | None = field(default=None, repr=False)

    @property
    def n_neurons(self) -> int:
        return self.adjacency.shape[0]

    @property
    def density(self) -> float:
        n = self.n_neurons
        return float(self.adjacency.sum() / max(n * (n - 1), 1))

    def __repr__(self) -> str:
        return (f"Backbone({self.source!r}, {self.n_neurons} neurons, {int(self.adjacency.sum())} connections, "
                f"density {self.density:.2f}, {int((self.sign > 0).sum())} excitatory)")


def _check_int(name, value, low, high=None):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        rng = f"in [{low}, {high}]" if high is not None else f">= {low}"
        raise ValueError(f"{name} must be an integer {rng}, got {value!r}.")
    return int(value)


def _check_prob(name, value, *, open_low=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (
            (0.0 < value if open_low else 0.0 <= value) and value <= 1.0):
        raise ValueError(f"{name} must be a probability in {'(0' if open_low else '[0'}, 1], got {value!r}.")
    return float(value)


def random_backbone(n_neurons: int = 20, density: float = 0.2, p_excitatory: float = 0.5, seed: int = 0) -> Backbone:
    """A random directed backbone: each ordered pair (no self-loops) connected with probability ``density``,
    excitatory with probability ``p_excitatory``, else inhibitory."""
    n = _check_int("n_neurons", n_neurons, 2)
    density = _check_prob("density", density, open_low=True)
    p_excitatory = _check_prob("p_excitatory", p_excitatory)
    rng = np.random.default_rng(seed)
    adj = rng.random((n, n)) < density
    np.fill_diagonal(adj, False)
    sign = np.where(adj, np.where(rng.random((n, n)) < p_excitatory, 1, -1), 0).astype(np.int8)
    return Backbone(adj, sign, [f"n{i}" for i in range(n)], "random", sign_known=np.zeros((n, n), bool))


def connectome_backbone(connectome, *, min_synapses: float = 1.0, p_excitatory: float = 0.5, seed: int = 0) -> Backbone:
    """The backbone of a connectome (a :class:`labkit.data.worm.Connectome`, usually a ``subnetwork``).

    A connection pre -> post exists where ``weights[pre, post] >= min_synapses``; its sign is the
    connectome's predicted sign (Fenyves et al. 2020) where known, and is drawn at random (excitatory with
    probability ``p_excitatory``, seeded) where the prediction is missing or ambiguous.
    """
    for attr in ("weights", "neurons"):
        if not hasattr(connectome, attr):
            raise ValueError(f"connectome must be a labkit.data.worm.Connectome (with .weights and .neurons), "
                             f"got {type(connectome).__name__}.")
    w = np.asarray(connectome.weights, dtype=float)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError(f"connectome.weights must be a square matrix of at least 2 neurons, got shape {w.shape}.")
    if not np.isfinite(min_synapses) or min_synapses <= 0:
        raise ValueError(f"min_synapses must be a positive number, got {min_synapses!r}.")
    p_excitatory = _check_prob("p_excitatory", p_excitatory)
    adj = (w >= min_synapses).T.copy()                          # [post, pre]
    np.fill_diagonal(adj, False)
    if not adj.any():
        raise ValueError(f"min_synapses={min_synapses!r} leaves no connection in this connectome; lower it.")
    n = adj.shape[0]
    known = np.zeros((n, n), dtype=np.int8)
    if getattr(connectome, "sign", None) is not None:
        known = np.asarray(connectome.sign, dtype=np.int8).T.copy()
    rng = np.random.default_rng(seed)
    drawn = np.where(rng.random((n, n)) < p_excitatory, 1, -1)
    sign = np.where(adj, np.where(known != 0, known, drawn), 0).astype(np.int8)
    name = f"{getattr(connectome, 'name', 'connectome')} ({getattr(connectome, 'kind', '')}, >= {min_synapses:g} synapses)"
    return Backbone(adj, sign, list(connectome.neurons), name, sign_known=adj & (known != 0))


def worm_backbone(neurons_or_class: str | Sequence[str] = DEFAULT_WORM_NEURONS, *, name: str = "cook_2019_herm",
                  min_synapses: float = 3.0, p_excitatory: float = 0.5, seed: int = 0) -> Backbone:
    """A *C. elegans* chemical-synapse subnetwork as a backbone (see :func:`connectome_backbone`).

    The default: the locomotion command interneurons and their head partners (20 neurons) in the
    adult hermaphrodite of Cook et al. (2019), connections of at least 3 synapses.
    """
    from labkit.data.worm import load_connectome, subnetwork

    sub = subnetwork(load_connectome(name, kind="chemical"), list(neurons_or_class) if not isinstance(neurons_or_class, str) else neurons_or_class)
    return connectome_backbone(sub, min_synapses=min_synapses, p_excitatory=p_excitatory, seed=seed)


def history_basis(window: int = 5, decay: float = 1.0) -> np.ndarray:
    """``phi_l ∝ exp(-decay * l)``, l = 1..window, normalised to sum 1 (lag 1 first)."""
    window = _check_int("window", window, 1)
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"decay must be a non-negative number, got {decay!r}.")
    phi = np.exp(-decay * np.arange(1, window + 1))
    return phi / phi.sum()


def convolve_history(spikes, basis):
    """``h[b, t, m] = sum_l basis[l-1] x[b, t-l, m]`` (zeros before each trial's start). NumPy or torch in, same out."""
    import torch

    is_np = not isinstance(spikes, torch.Tensor)
    x = torch.as_tensor(np.asarray(spikes) if is_np else spikes)
    x = x.to(torch.float64 if is_np else (x.dtype if x.is_floating_point() else torch.float32))
    phi = torch.as_tensor(np.asarray(basis), dtype=x.dtype, device=x.device)
    B, T, N = x.shape
    L = phi.shape[0]
    # conv1d is a cross-correlation: pad L zeros in front, drop the last bin, flip the basis (lag L first)
    xp = torch.nn.functional.pad(x.transpose(1, 2).reshape(B * N, 1, T), (L, -1))
    h = torch.nn.functional.conv1d(xp, phi.flip(0).view(1, 1, L)).reshape(B, N, T).transpose(1, 2)
    return h.numpy() if is_np else h.contiguous()


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
        n_train = _check_int("n_train", n_train, 1, self.spikes.shape[0] - 1)
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
        raise ValueError(f"backbone must be a Backbone (random_backbone, connectome_backbone), got {type(backbone).__name__}.")
    K = _check_int("n_states", n_states, 1, 50)
    n_trials = _check_int("n_trials", n_trials, 1)
    T = _check_int("n_time_bins", n_time_bins, 1)
    stickiness = _check_prob("stickiness", stickiness)
    p_active = _check_prob("p_active", p_active)
    if len(strength) != 2 or not (0 <= strength[0] <= strength[1]):
        raise ValueError(f"strength must be a range (low, high) with 0 <= low <= high, got {strength!r}.")
    if len(bias) != 2 or not (bias[0] <= bias[1]):
        raise ValueError(f"bias must be a range (low, high) with low <= high, got {bias!r}.")
    basis = history_basis(window, decay)
    rng = np.random.default_rng(seed)
    N = backbone.n_neurons

    active = (rng.random((K, N, N)) < p_active) & backbone.adjacency
    strengths = rng.uniform(strength[0], strength[1], (K, N, N))
    weights = np.where(active, backbone.sign * strengths, 0.0)
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
