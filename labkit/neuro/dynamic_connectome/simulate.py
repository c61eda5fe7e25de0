"""Calcium-like activity of several animals whose functional communities change with the epochs.

The simulator gives the dynamic-connectome pipeline (Dyballa et al. 2024) a known answer. A set of
neurons, wired by a backbone (a real *C. elegans* subnetwork from :mod:`labkit.data.worm`, or a
random sparse graph from :mod:`labkit.data.networks`), is recorded in several animals through a shared
protocol of epochs (for example spontaneous → stimulus on → stimulus off → ...). Each epoch *type* has its
own partition of the neurons into communities: during that epoch the members of a community receive a common drive
(bursts at random times), so they rise and fall together, and the partition changes from one epoch
type to the next. That is the ground truth the method must find: which neurons group together
(communities), when (epochs), and in which animals (per-animal gains). With ``overlap`` > 0 the communities
overlap: every neuron also takes that fraction of its drive from a second, randomly chosen community of the
epoch (the rest from its own), so members of different communities co-fluctuate too and the boundaries
blur; the truth stays the main partition.

Dynamics (a rate network on the backbone, exponential-Euler integration, batched over animals)::

    τ dx_i/dt = −x_i + g Σ_j W̃_ji r_j + u_i(t) + σ_p ξ_i(t),    r_i = max(x_i, 0),

with W̃ the signed backbone scaled so every neuron's summed absolute input weight is at most 1
(so g < 1 keeps the network stable), and the community drive ``u_i(t) = G_{a,e} w_i s_{a,e,k}(t)``
during epochs of type e, where k is i's community in e, s a train of boxcar bursts (Poisson onsets,
``event_rate``), ``G_{a,e}`` the animal's gain for that epoch type and ``w_i`` a per-neuron weight.
Calcium is the rate convolved with a GCaMP-like kernel ``h(t) = e^{−t/τ_d} − e^{−t/τ_r}`` (peak
normalised to 1), and the fluorescence adds white noise of ``noise_std`` times each trace's SD.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import check_args
from labkit.core.threads import threads
from labkit.data.networks import Backbone

__all__ = ["DynamicConnectomeData", "simulate_dynamic_connectome", "epoch_courses", "epoch_mean_matrices"]


class AnimalsNeurons:
    """``n_animals`` and ``n_neurons`` of an object holding ``traces`` (animals, neurons, samples): shared by the
    simulation and a user's recordings, which the same figures and drivers read."""

    @property
    def n_animals(self) -> int:
        return self.traces.shape[0]

    @property
    def n_neurons(self) -> int:
        return self.traces.shape[1]


@dataclass
class DynamicConnectomeData(AnimalsNeurons):
    """Simulated recordings and their truth (all arrays NumPy)."""

    traces: np.ndarray            # (A, N, T) fluorescence
    time: np.ndarray              # (T,) seconds
    dt: float
    neurons: list[str]
    backbone: np.ndarray          # (N, N) signed, normalised weights, [i, j] = from i to j
    epoch_of_sample: np.ndarray   # (T,) index into epoch_names
    epoch_names: list[str]
    schedule: list[int]           # epoch type of each block
    block_duration: float
    communities: np.ndarray       # (E, N) community label of each neuron in each epoch type
    gain: np.ndarray              # (A, E) each animal's drive strength per epoch type
    rates: np.ndarray = field(repr=False)      # (A, N, T) underlying activity r
    calcium: np.ndarray = field(repr=False)    # (A, N, T) noise-free calcium
    overlap: float = 0.0                       # fraction of each neuron's drive from its second community
    second_communities: np.ndarray | None = field(repr=False, default=None)   # (E, N), when overlap > 0



def _balanced_partition(n: int, k: int, rng) -> np.ndarray:
    labels = np.arange(n) % k
    rng.shuffle(labels)
    return labels


def epoch_mean_matrices(matrices, courses, epoch_names=None) -> list[np.ndarray]:
    """The mean affinity matrix of the windows that lie wholly inside each epoch type.

    ``matrices``: (n_windows, N, N); ``courses``: (n_windows, n_epochs) from :func:`epoch_courses`.
    An epoch type no window fits inside (windows longer than its blocks) is an error naming the
    window, not a silent NaN matrix.
    """
    matrices, courses = np.asarray(matrices), np.asarray(courses)
    if matrices.ndim != 3 or courses.ndim != 2 or len(matrices) != len(courses):
        raise ValueError(f"matrices must be (windows, N, N) and courses (windows, epochs) with the same windows, "
                         f"got shapes {matrices.shape} and {courses.shape}.")
    out = []
    for e in range(courses.shape[1]):
        inside = courses[:, e] == 1
        if not inside.any():
            name = epoch_names[e] if epoch_names is not None else f"epoch type {e}"
            raise ValueError(f"no window lies wholly inside a block of {name!r}: the window must be shorter "
                             "than the blocks (lower `window` or raise `block_duration`).")
        out.append(matrices[inside].mean(axis=0))
    return out


def epoch_courses(epoch_of_sample, n_epochs: int, window: int, step: int) -> np.ndarray:
    """Fraction of each sliding window spent in each epoch type: (n_windows, n_epochs)."""
    e = np.asarray(epoch_of_sample)
    onehot = np.eye(n_epochs)[e]                                   # (T, E)
    starts = np.arange(0, len(e) - window + 1, step)
    csum = np.vstack([np.zeros((1, n_epochs)), np.cumsum(onehot, axis=0)])
    return (csum[starts + window] - csum[starts]) / window


def simulate_dynamic_connectome(backbone, neurons=None, *, sign=None, n_animals: int = 8,
                                epoch_names=("spontaneous", "stimulus on", "stimulus off"),
                                schedule=(0, 1, 2, 1, 2, 0), block_duration: float = 60.0, dt: float = 0.25,
                                n_communities=3, event_rate: float = 0.25, event_duration: float = 2.0,
                                tau: float = 0.5, coupling: float = 0.3, gain_spread: float = 0.4,
                                private_noise: float = 0.2, noise_std: float = 0.5, tau_rise: float = 0.2,
                                tau_decay: float = 1.5, overlap: float = 0.0, seed: int = 0,
                                device="cpu") -> DynamicConnectomeData:
    """Simulate calcium traces of ``n_animals`` animals on ``backbone`` with epoch-specific communities.

    ``backbone``: a :class:`labkit.data.networks.Backbone` (its weights, neurons and signs), or (N, N)
    non-negative weights, [i, j] from i to j (e.g. ``Connectome.weights`` of a subnetwork) with ``neurons``
    and ``sign``, optional (N, N) ±1/0 synapse signs (``Connectome.sign``), else excitatory.
    ``schedule``: the epoch type (index into ``epoch_names``) of each block of ``block_duration`` s.
    ``n_communities``: an int for every epoch type, or one per type. ``overlap`` in [0, 0.5): the fraction of
    each neuron's community drive taken from a second community (0: disjoint communities). Same seed, same
    numbers (and ``overlap=0`` gives the numbers of earlier versions).
    """
    if isinstance(backbone, Backbone):
        backbone, neurons, sign = backbone.weights, backbone.neurons, backbone.sign
    W = np.asarray(backbone, dtype=float)
    if W.ndim != 2 or W.shape[0] != W.shape[1] or W.shape[0] < 2:
        raise ValueError(f"backbone must be a square (N, N) matrix with N >= 2, got shape {W.shape}.")
    if not np.all(np.isfinite(W)) or (W < 0).any():
        raise ValueError("backbone must hold finite non-negative weights (signs go in `sign`).")
    N = W.shape[0]
    if neurons is None:
        neurons = [f"n{i}" for i in range(N)]
    neurons = [str(x) for x in neurons]
    if len(neurons) != N:
        raise ValueError(f"neurons must name the {N} rows of backbone, got {len(neurons)} names.")
    if sign is not None:
        sign = np.asarray(sign, dtype=float)
        if sign.shape != W.shape:
            raise ValueError(f"sign must have the backbone's shape {W.shape}, got {sign.shape}.")
    E = len(epoch_names)
    schedule = [int(s) for s in schedule]
    if not schedule or min(schedule) < 0 or max(schedule) >= E:
        raise ValueError(f"schedule must list epoch indices in [0, {E - 1}], got {schedule!r}.")
    ks = [int(n_communities)] * E if np.isscalar(n_communities) else [int(k) for k in n_communities]
    if len(ks) != E or min(ks) < 1 or max(ks) > N:
        raise ValueError(f"n_communities must be an int or one int per epoch type, each in [1, {N}], "
                         f"got {n_communities!r}.")
    positive, non_negative = (float, 0, None, "neither"), (float, 0, None)
    check_args("simulate_dynamic_connectome",
               {"n_animals": n_animals, "block_duration": block_duration, "dt": dt, "tau": tau,
                "event_duration": event_duration, "tau_rise": tau_rise, "tau_decay": tau_decay,
                "event_rate": event_rate, "private_noise": private_noise, "noise_std": noise_std, "coupling": coupling,
                "gain_spread": gain_spread, "overlap": overlap, "seed": seed},
               {"n_animals": (int, 1, None), "block_duration": positive, "dt": positive, "tau": positive,
                "event_duration": positive, "tau_rise": positive, "tau_decay": positive, "event_rate": non_negative,
                "private_noise": non_negative, "noise_std": non_negative,
                "coupling": (float, 0, 1, "left"),            # below 1, so the network is stable
                "gain_spread": (float, 0, 1, "left"), "overlap": (float, 0, 0.5, "left"), "seed": "seed"})
    if tau_rise >= tau_decay:
        raise ValueError(f"tau_rise must be shorter than tau_decay={tau_decay}, got {tau_rise!r}.")

    rng = np.random.default_rng(seed)
    A = int(n_animals)
    per_block = int(round(block_duration / dt))
    T = per_block * len(schedule)
    epoch_of_sample = np.repeat(np.array(schedule), per_block)
    communities = np.stack([_balanced_partition(N, k, rng) for k in ks])          # (E, N)
    gain = rng.uniform(1.0 - gain_spread, 1.0 + gain_spread, size=(A, E))
    w_neuron = rng.uniform(0.7, 1.3, size=(A, N))

    # The network runs for a burn-in of 10 decay times in the first epoch before the recording starts,
    # so the recording holds no start-up transient (which would co-activate every pair at t = 0).
    burn = int(np.ceil(10 * tau_decay / dt))
    e_t = np.concatenate([np.full(burn, schedule[0]), epoch_of_sample])
    Ts = burn + T
    # Latent community drives: boxcar bursts with Poisson onsets, per animal, epoch type and community.
    kmax = max(ks)
    onsets = rng.random((A, E, kmax, Ts)) < event_rate * dt
    amps = rng.uniform(0.5, 1.5, size=(A, E, kmax, Ts)) * onsets
    width = max(1, int(round(event_duration / dt)))
    csum = np.cumsum(amps, axis=-1)
    drive = csum - np.concatenate([np.zeros((A, E, kmax, width)), csum[..., :-width]], axis=-1)  # (A,E,K,Ts)
    # u[a, t, i] = gain[a, e(t)] * w[a, i] * drive[a, e(t), k(i, e(t)), t]
    k_it = communities[e_t]                                                         # (Ts, N)
    u = drive[:, e_t[:, None], k_it, np.arange(Ts)[:, None]]                        # (A, Ts, N)
    second = None
    if overlap > 0:
        # each neuron's second community in each epoch: any other community of that epoch, at random
        k_e = np.asarray(ks)[:, None]
        second = (communities + 1 + rng.integers(0, np.maximum(k_e - 1, 1), size=communities.shape)) % k_e
        second = np.where(k_e > 1, second, communities)
        u = (1.0 - overlap) * u + overlap * drive[:, e_t[:, None], second[e_t], np.arange(Ts)[:, None]]
    u = u * gain[:, e_t][:, :, None] * w_neuron[:, None, :]

    # Backbone: log-compressed synapse counts, signed, each neuron's total |input| scaled to <= 1.
    # A sign of 0 (gap junctions, or a chemical synapse of unknown sign) counts as +1.
    Wl = np.log1p(W) * (np.where(sign == 0, 1.0, np.sign(sign)) if sign is not None else 1.0)
    in_sum = np.abs(Wl).sum(axis=0)
    Wn = Wl / np.maximum(in_sum, 1e-12)[None, :]

    dev = resolve_device(device)
    gen = torch.Generator(device="cpu").manual_seed(int(seed) + 1)
    Wt = torch.as_tensor(Wn, dtype=torch.float32, device=dev)
    ut = torch.as_tensor(u, dtype=torch.float32, device=dev)                          # (A, T, N)
    xi = torch.randn(A, Ts, N, generator=gen).to(dev)
    decay = float(np.exp(-dt / tau))
    noise_scale = private_noise * float(np.sqrt((1 - decay ** 2) / 2.0))
    x = torch.zeros(A, N, device=dev)
    rates = torch.empty(A, Ts, N, device=dev)
    with threads(1, device=dev):               # thousands of tiny steps: one thread is fastest
        for t in range(Ts):
            r = x.clamp_min(0.0)
            target = coupling * (r @ Wt) + ut[:, t]
            x = decay * x + (1 - decay) * target + noise_scale * xi[:, t]
            rates[:, t] = x.clamp_min(0.0)
    rates = rates.permute(0, 2, 1).cpu().numpy().astype(np.float64)               # (A, N, T)

    # GCaMP-like kernel, peak 1, convolved causally (FFT).
    tk = np.arange(0.0, 6 * tau_decay, dt)
    h = np.exp(-tk / tau_decay) - np.exp(-tk / tau_rise)
    h /= h.max()
    nfft = int(2 ** np.ceil(np.log2(Ts + len(h))))
    calcium = np.fft.irfft(np.fft.rfft(rates, nfft) * np.fft.rfft(h, nfft), nfft)[..., burn:Ts]
    rates = rates[..., burn:]
    sd = calcium.std(axis=-1, keepdims=True)
    sd = np.where(sd > 0, sd, 1.0)
    traces = calcium + noise_std * sd * rng.standard_normal(calcium.shape)
    return DynamicConnectomeData(traces=traces.astype(np.float32), time=np.arange(T) * dt, dt=float(dt),
                                 neurons=neurons, backbone=Wn, epoch_of_sample=epoch_of_sample,
                                 epoch_names=[str(n) for n in epoch_names], schedule=schedule,
                                 block_duration=float(block_duration), communities=communities, gain=gain,
                                 rates=rates.astype(np.float32), calcium=calcium.astype(np.float32),
                                 overlap=float(overlap), second_communities=second)
