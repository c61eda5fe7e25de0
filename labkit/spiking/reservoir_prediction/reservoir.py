"""The heterogeneous Izhikevich reservoir, run once over every trial; what the readouts see.

The reservoir is the engine's network (:class:`~labkit.spiking.lif_network.LIFNetwork`) of
:meth:`Izhikevich.mix <labkit.spiking.neurons.Izhikevich.mix>` neurons (Izhikevich 2003: 80% excitatory
regular-spiking to chattering, 20% inhibitory fast-spiking to low-threshold; two half-steps of ``v`` per
step), wired at random with probability ``p_conn`` (10%, :func:`~labkit.spiking.connectivity.random_connectivity`).
Weights follow the 2003 network, excitatory ``0.5 r`` and inhibitory ``-r`` (mV/ms), scaled by ``gain / p_conn``
so that sparser wiring keeps the summed input per neuron.

Labkit's choices (no official code was found), documented because they set what the readouts can learn:

* **A reproducible population clock.** Each neuron gets a tonic current drawn once, uniform in
  ``bias`` (mV/ms), plus weak Poisson noise (``noise_hz`` events of ``noise_weight``), and the recurrent
  gain is low (0.3), so the network is asynchronous rather than in Izhikevich's 10-Hz rhythm. Every trial
  starts from rest, so the trajectory after the trial's start and the cue repeats from trial to trial up
  to the noise: elapsed time can be read from the state (a "population clock", Buonomano & Maass 2009).
  With the 2003 gain and noise the state forgets the cue within ~100 ms and no readout can time 400 ms.
* **Inputs.** The cue drives ``cue_frac`` of the neurons (100 of 1,000, the issue's numbers), each stimulus
  its own ``stim_frac`` (50 of 1,000), with ``input_weight`` mV/ms while on.
* **What a readout sees:** each neuron's presynaptic eligibility trace, its spikes filtered with ``tau_e``
  ms, sampled every ``bin_ms`` at the bin's start: the value at a stimulus onset holds only spikes emitted
  before the stimulus arrived.

Readouts feed nothing back, so the reservoir runs once: trials (and cue-only probe trials) of all
replicates are one batch of the engine, and every learner trains on the same recorded traces.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import ParameterError, check_args, check_value
from labkit.spiking.connectivity import random_connectivity
from labkit.spiking.lif_network import LIFNetwork, SpikeRecord
from labkit.spiking.neurons import Izhikevich
from labkit.spiking.reservoir_prediction.task import TaskSpec
from labkit.spiking.synapses import Synapses


def check_dt(dt, owner: str = "ReservoirConfig") -> float:
    """``dt`` (ms) must divide 1 ms a whole number of times (1, 0.5, 0.25, ...)."""
    dt = check_value("dt", dt, (float, 0, 1, "right"), owner)
    k = round(1.0 / dt)
    if abs(k * dt - 1.0) > 1e-9:
        raise ParameterError(f"Parameter 'dt' of {owner} must divide 1 ms a whole number of times, got {dt!r}.")
    return dt


@dataclass(frozen=True)
class ReservoirConfig:
    """The reservoir's size, wiring, drive and readout traces (see the module docstring)."""

    n: int = 500
    frac_exc: float = 0.8
    p_conn: float = 0.1
    gain: float = 0.3
    bias: tuple = (3.0, 6.0)
    noise_hz: float = 100.0
    noise_weight: float = 0.5
    input_weight: float = 15.0
    cue_frac: float = 0.1
    stim_frac: float = 0.05
    dt: float = 1.0
    tau_e: float = 100.0
    bin_ms: float = 10.0

    def __post_init__(self):
        own = "ReservoirConfig"
        check_args(own, vars(self), {
            "n": (int, 10, None), "frac_exc": (float, 0, 1, "neither"), "p_conn": (float, 0, 1, "right"),
            "gain": (float, 0, None), "noise_hz": (float, 0, None), "noise_weight": (float, 0, None),
            "input_weight": (float, 0, None), "cue_frac": (float, 0, 1, "right"), "stim_frac": (float, 0, 1, "right"),
            "tau_e": (float, 0, None, "neither"), "bin_ms": (float, 0, None, "neither")})
        check_dt(self.dt, own)
        if len(self.bias) != 2 or not self.bias[0] <= self.bias[1]:
            raise ParameterError(f"Parameter 'bias' of {own} must be a range (low, high) with low <= high, "
                                 f"got {self.bias!r}.")
        if abs(round(self.bin_ms / self.dt) * self.dt - self.bin_ms) > 1e-9:
            raise ParameterError(f"Parameter 'bin_ms' of {own} must be a whole number of steps dt = {self.dt} ms, "
                                 f"got {self.bin_ms!r}.")

    def groups(self, n_stimuli: int):
        """The neurons driven by the cue and by each stimulus: (cue ids, [ids of stimulus k])."""
        n_cue, n_stim = max(1, round(self.cue_frac * self.n)), max(1, round(self.stim_frac * self.n))
        if n_cue + n_stimuli * n_stim > self.n:
            raise ParameterError(f"Parameter 'n' of ReservoirConfig: {self.n} neurons cannot hold the cue's {n_cue} "
                                 f"and {n_stimuli} stimuli of {n_stim} neurons each.")
        cue = np.arange(n_cue)
        return cue, [n_cue + k * n_stim + np.arange(n_stim) for k in range(n_stimuli)]


def build_reservoir(cfg: ReservoirConfig, n_stimuli: int, seed: int = 0, device="cpu") -> LIFNetwork:
    """The network: Izhikevich mix, 10% random wiring, and input channels cue, stimuli 1..K, tonic bias."""
    seed = check_value("seed", seed, "seed", "build_reservoir")
    n, n_exc = cfg.n, int(round(cfg.frac_exc * cfg.n))
    model = Izhikevich.mix(n_exc, n - n_exc, seed=seed, dt=cfg.dt)
    pre, post = random_connectivity(n, cfg.p_conn, seed=seed + 1)
    rng = np.random.default_rng(seed + 2)
    scale = cfg.gain / cfg.p_conn
    w = np.where(pre < n_exc, 0.5, -1.0) * rng.random(pre.size) * scale
    cue, stims = cfg.groups(n_stimuli)
    in_pre = np.concatenate([np.zeros(cue.size, int)] + [np.full(s.size, k + 1) for k, s in enumerate(stims)]
                            + [np.full(n, n_stimuli + 1)])
    in_post = np.concatenate([cue, *stims, np.arange(n)])
    in_w = np.r_[np.full(in_post.size - n, cfg.input_weight), rng.uniform(cfg.bias[0], cfg.bias[1], n)]
    syn = Synapses.from_edges(np.r_[pre, n + in_pre], np.r_[post, in_post], np.r_[w, in_w], n + n_stimuli + 2, n,
                              device=device)
    return LIFNetwork(model, syn, device=device)


def trial_inputs(spec: TaskSpec, cfg: ReservoirConfig, stim: np.ndarray, delays: np.ndarray) -> torch.Tensor:
    """Input spike trains (steps, batch, K + 2) for trials with stimulus ``stim[b]`` (-1: a cue-only probe)
    after ``delays[b]`` ms: the cue, the stimulus, and the tonic channel on at every step."""
    steps = int(round(spec.trial_ms / cfg.dt))
    t = np.arange(steps) * cfg.dt
    out = np.zeros((steps, len(stim), spec.n_stimuli + 2), dtype=bool)
    out[:, :, 0] = ((t >= spec.cue_onset) & (t < spec.cue_onset + spec.cue_ms))[:, None]
    onset = spec.onset_ms(delays)
    on = (t[:, None] >= onset[None]) & (t[:, None] < onset[None] + spec.stim_ms)   # (steps, batch)
    rows = np.nonzero(stim >= 0)[0]
    out[:, rows, stim[rows] + 1] = on[:, rows]
    out[:, :, -1] = True
    return torch.from_numpy(out)


def eligibility(rec: SpikeRecord, cfg: ReservoirConfig, n_bins: int) -> torch.Tensor:
    """Each neuron's spike trace ``e(t) = sum_{spikes s <= t} exp(-(t - s) / tau_e)`` at the bin starts
    ``t = b * bin_ms``, (batch, n_bins, N) float32; a spike of step ``i`` is emitted at ``(i + 1) dt``.

    One weighted count per bin and an exact exponential scan done as one cumulative sum (in float64)."""
    spb = int(round(cfg.bin_ms / cfg.dt))
    emitted = rec.t + 1                                       # in steps
    b = torch.div(emitted + spb - 1, spb, rounding_mode="floor")    # the first bin start at or after the spike
    keep = b < n_bins
    b, n, smp, emitted = b[keep], rec.n[keep], rec.b[keep], emitted[keep]
    wgt = torch.exp(-(b * spb - emitted).double() * cfg.dt / cfg.tau_e)
    c = torch.zeros(rec.batch * n_bins * rec.n_neurons, dtype=torch.float64, device=rec.t.device)
    c.index_add_(0, (smp * n_bins + b) * rec.n_neurons + n, wgt)
    c = c.view(rec.batch, n_bins, rec.n_neurons)
    # E_b = r^b cumsum(c r^-b), r = exp(-bin_ms / tau_e)
    lag = torch.arange(n_bins, dtype=torch.float64, device=c.device) * (cfg.bin_ms / cfg.tau_e)
    scan = torch.cumsum(c * torch.exp(lag)[None, :, None], 1) * torch.exp(-lag)[None, :, None]
    return scan.float()


@dataclass
class Recording:
    """The reservoir's traces: ``trials`` (R, n_trials, n_bins, N), ``probe`` (R, n_bins, N) the mean over
    the cue-only probes, the bin starts ``t_ms``, mean rates by cell class, and the spikes of replicate 0's
    first trial and first probe (for the raster)."""

    trials: torch.Tensor
    probe: torch.Tensor
    t_ms: np.ndarray
    rate_hz: dict
    raster: dict


def record(spec: TaskSpec, cfg: ReservoirConfig, stim: np.ndarray, *, n_probe: int = 8, seed: int = 0,
           device="cpu", chunk: int = 256, net: LIFNetwork | None = None) -> Recording:
    """Run every trial of every replicate (``stim``: (R, n_trials) labels) and ``n_probe`` cue-only probes per
    replicate through one reservoir, ``chunk`` samples per engine batch; the traces the readouts learn from."""
    seed = check_value("seed", seed, "seed", "record")
    check_value("n_probe", n_probe, (int, 1, None), "record")
    R, T = stim.shape
    n_bins = int(round(spec.trial_ms / cfg.bin_ms))
    if abs(n_bins * cfg.bin_ms - spec.trial_ms) > 1e-9:
        raise ParameterError(f"Parameter 'bin_ms' must divide trial_ms = {spec.trial_ms} ms, got {cfg.bin_ms}.")
    for d in (spec.cue_onset + spec.delay_before, spec.cue_onset + spec.delay_after):
        if abs(round(d / cfg.bin_ms) * cfg.bin_ms - d) > 1e-9:
            raise ParameterError(f"Parameter 'bin_ms' ({cfg.bin_ms} ms) must divide the stimulus onsets, got {d} ms.")
    net = net or build_reservoir(cfg, spec.n_stimuli, seed=seed, device=device)
    labels = np.r_[stim.reshape(-1), np.full(R * n_probe, -1)]
    delays = np.r_[np.tile(spec.delays(), R), np.full(R * n_probe, spec.delay_before)]
    steps = int(round(spec.trial_ms / cfg.dt))
    parts, raster = [], {}
    exc_n = int(round(cfg.frac_exc * cfg.n))
    total = torch.zeros(cfg.n, dtype=torch.float64, device=net.device)
    for s0 in range(0, len(labels), chunk):
        sl = slice(s0, min(s0 + chunk, len(labels)))
        rec = net.run(steps, sl.stop - sl.start, inputs=trial_inputs(spec, cfg, labels[sl], delays[sl]),
                      poisson_rate=cfg.noise_hz, poisson_weight=cfg.noise_weight, seed=seed * 7919 + s0)
        parts.append(eligibility(rec, cfg, n_bins))
        total += torch.bincount(rec.n, minlength=cfg.n).double()
        if s0 == 0:
            raster = {"t_ms": (rec.t[rec.b == 0].cpu().numpy() + 1) * cfg.dt, "neuron": rec.n[rec.b == 0].cpu().numpy(),
                      "n_exc": exc_n}
    X = torch.cat(parts)
    rate = total / (len(labels) * spec.trial_ms / 1000.0)
    rate_hz = {"excitatory": float(rate[:exc_n].mean()), "inhibitory": float(rate[exc_n:].mean())}
    trials = X[: R * T].view(R, T, n_bins, cfg.n)
    probe = X[R * T:].view(R, n_probe, n_bins, cfg.n).mean(1)
    return Recording(trials=trials, probe=probe, t_ms=np.arange(n_bins) * cfg.bin_ms, rate_hz=rate_hz, raster=raster)
