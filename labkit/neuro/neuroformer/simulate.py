"""Ground truth: a spiking circuit on a real (or random) wiring diagram, a shared stimulus and a behavior.

A :class:`~labkit.spiking.lif_network.LIFNetwork` of current-based LIF neurons is wired by
:func:`labkit.data.networks.worm_backbone` (the 20 *C. elegans* locomotion command interneurons and their
head partners, chemical synapses of at least 3 contacts, signed) or by a random sparse backbone. Every
neuron gets independent Poisson background; a known third of the neurons also gets a stimulus current,
one smooth waveform shared by all trials (so those neurons have a PSTH). The behavior is a smoothed, noisy
readout of 4 "motor" neurons (an exponential filter of their spikes plus Gaussian noise), read per window.

Events are kept as three integer arrays (``trial``, ``time`` in ms, ``neuron``), sorted by trial, time,
neuron; :func:`to_dense` turns them into a (trials, time, neurons) count array.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import check_args
from labkit.data.networks import Backbone, random_backbone, worm_backbone
from labkit.spiking.lif_network import LIFNetwork, LIFPopulation
from labkit.spiking.synapses import Synapses

__all__ = ["CircuitData", "simulate_circuit", "to_dense", "BACKBONES"]

BACKBONES = ("worm", "random")


@dataclass
class CircuitData:
    """Spikes as events, the truth behind them, the stimulus and the behavior (see the module docstring)."""

    trial: np.ndarray
    time: np.ndarray
    neuron: np.ndarray
    n_trials: int
    n_neurons: int
    trial_length: int
    adjacency: np.ndarray        # [pre, post]: True where pre -> post
    weights: np.ndarray          # [pre, post] signed synaptic weight (mV)
    stimulated: np.ndarray       # (N,) bool: the neurons the stimulus drives
    motor: np.ndarray            # (4,) the neurons the behavior reads
    stimulus: np.ndarray         # (trial_length,) the shared stimulus waveform (0..1)
    behavior: np.ndarray         # (trials, trial_length) the behavior at 1 ms
    names: list

    @property
    def n_spikes(self) -> int:
        return int(self.time.size)

    def subset(self, trials) -> CircuitData:
        """The same circuit restricted to ``trials`` (renumbered 0..len-1)."""
        trials = np.asarray(trials)
        keep = np.isin(self.trial, trials)
        remap = np.full(self.n_trials, -1)
        remap[trials] = np.arange(trials.size)
        order = np.lexsort((self.neuron[keep], self.time[keep], remap[self.trial[keep]]))
        return CircuitData(remap[self.trial[keep]][order], self.time[keep][order], self.neuron[keep][order],
                           int(trials.size), self.n_neurons, self.trial_length, self.adjacency, self.weights,
                           self.stimulated, self.motor, self.stimulus, self.behavior[trials], self.names)


def to_dense(trial, time, neuron, n_trials: int, trial_length: int, n_neurons: int) -> np.ndarray:
    """Spike counts (trials, trial_length, neurons) of events."""
    out = np.zeros((n_trials, trial_length, n_neurons), np.float32)
    np.add.at(out, (np.asarray(trial), np.asarray(time), np.asarray(neuron)), 1.0)
    return out


def _stimulus(rng, length: int, smooth_ms: float = 40.0) -> np.ndarray:
    """A smooth positive waveform in [0, 1]: filtered white noise, rectified and scaled."""
    noise = rng.standard_normal(length + 400)
    k = np.exp(-np.arange(int(5 * smooth_ms)) / smooth_ms)
    s = np.convolve(noise, k / k.sum(), mode="full")[400:400 + length]
    s = np.maximum(s - np.quantile(s, 0.4), 0.0)
    return s / max(s.max(), 1e-9)


def simulate_circuit(n_trials: int = 300, trial_length: int = 1000, *, backbone: str = "worm", n_neurons: int = 20,
                     coupling: float = 1.5, background_hz: float = 250.0, background_mv: float = 2.0,
                     stimulus_mv: float = 1.0, behavior_tau: float = 50.0, behavior_noise: float = 0.1,
                     seed: int = 0) -> CircuitData:
    """Simulate ``n_trials`` trials of ``trial_length`` ms at 1 ms (see the module docstring).

    ``coupling``: the spectral radius of the excitatory synapses' weight matrix, in units of the threshold (20 mV);
    weights scale with synapse count (capped at 3x the median) and all of them, excitatory and inhibitory, are
    scaled together to this radius, so that every seed's sign draw gives a network equally far from runaway
    excitation (1.5: one spike of the median synapse moves its target by roughly 6-10 mV);
    ``background_hz`` / ``background_mv``: the Poisson background's rate and step per event;
    ``stimulus_mv``: the peak stimulus current per step; ``behavior_tau`` (ms) and ``behavior_noise`` (in
    units of the readout's standard deviation) shape the behavior.
    """
    check_args("simulate_circuit", dict(n_trials=n_trials, trial_length=trial_length, backbone=backbone,
                                        n_neurons=n_neurons, coupling=coupling, background_hz=background_hz,
                                        background_mv=background_mv, stimulus_mv=stimulus_mv,
                                        behavior_tau=behavior_tau, behavior_noise=behavior_noise, seed=seed),
               {"n_trials": (int, 1, None), "trial_length": (int, 10, None), "backbone": list(BACKBONES),
                "n_neurons": (int, 5, None), "coupling": (float, 0, None), "background_hz": (float, 0, None),
                "background_mv": (float, 0, None), "stimulus_mv": (float, 0, None),
                "behavior_tau": (float, 0, None, "neither"), "behavior_noise": (float, 0, None), "seed": "seed"})
    rng = np.random.default_rng(seed)
    bb: Backbone = worm_backbone(seed=seed) if backbone == "worm" else random_backbone(n_neurons, 0.15, 0.7,
                                                                                      seed=seed)
    n = bb.n_neurons
    scale = np.minimum(bb.weights / max(np.median(bb.weights[bb.adjacency]), 1e-9), 3.0)
    signed = np.where(bb.adjacency, bb.sign * scale, 0.0)
    radius = float(np.abs(np.linalg.eigvals(np.maximum(signed, 0.0))).max())
    signed = signed * (coupling * 20.0 / max(radius, 1e-9))
    pre, post = np.nonzero(bb.adjacency)
    syn = Synapses.from_edges(pre, post, signed[pre, post], n, n)
    net = LIFNetwork(LIFPopulation(n, tau_m=20.0, v_th=20.0, t_ref=2.0, tau_syn=0.0), syn)
    stimulated = np.zeros(n, bool)
    stimulated[rng.choice(n, n // 3, replace=False)] = True
    stim = _stimulus(rng, trial_length)
    current = torch.zeros(trial_length, n_trials, n)
    current[:, :, torch.as_tensor(stimulated)] = torch.as_tensor(stim * stimulus_mv, dtype=torch.float32)[:, None, None]
    rec = net.run(trial_length, n_trials, current=current, poisson_rate=background_hz,
                  poisson_weight=background_mv, seed=int(rng.integers(2**31)), engine="torch")
    trial, time, neuron = rec.b.numpy(), rec.t.numpy(), rec.n.numpy()
    order = np.lexsort((neuron, time, trial))
    trial, time, neuron = trial[order], time[order], neuron[order]
    motor = np.sort(rng.choice(np.flatnonzero(~stimulated), 4, replace=False))
    dense = to_dense(trial, time, neuron, n_trials, trial_length, n)
    k = np.exp(-np.arange(int(5 * behavior_tau)) / behavior_tau)
    drive = dense[:, :, motor] @ rng.uniform(0.5, 1.5, 4)
    smooth = np.apply_along_axis(lambda x: np.convolve(x, k)[:trial_length], 1, drive)
    behavior = smooth + behavior_noise * smooth.std() * rng.standard_normal(smooth.shape)
    behavior = (behavior - behavior.mean()) / max(behavior.std(), 1e-9)
    return CircuitData(trial.astype(np.int64), time.astype(np.int64), neuron.astype(np.int64), n_trials, n,
                       trial_length, bb.adjacency, signed, stimulated, motor, stim, behavior.astype(np.float32),
                       list(bb.neurons))
