"""Liquid state machines: a spiking reservoir, three ways of setting its weights, and a linear readout.

A liquid (Maass, Natschläger & Markram 2002) is a recurrent network of LIF neurons, 80% excitatory
and 20% inhibitory, on a 3-D grid, wired with a probability that falls with distance
(:mod:`labkit.spiking.connectivity`). Input spike trains drive it; a linear readout is trained on
the liquid's state, here each neuron's spike count over the presentation. Three liquids:

* ``plain``: weights left where they start (all at the maximal magnitude ``w_max``, the starting
  point of NALSM's plasticity), no learning.
* ``stdp``: the same liquid after a self-organisation phase of pair-based STDP with equal
  potentiation and depression rates.
* ``nalsm``: the same phase with the astrocyte setting the depression rate from liquid minus input
  activity (Ivanov & Michmizos 2021, "Increasing Liquid State Machine Performance with
  Edge-of-Chaos Dynamics Organized by Astrocyte-modulated Plasticity", NeurIPS).

The self-organisation phase follows the official code (``run_W_DENSE_initialization_loop``): random
training samples are shown one at a time for 20 ms each to a single liquid whose weights carry over
from sample to sample, while the neurons, traces and astrocyte restart with each sample. The
readout is then trained on liquids with those weights frozen (see the notebook for what this
leaves out). The branching factor (:mod:`labkit.spiking.criticality`) measures where each liquid
sits between order and chaos.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch

from labkit.core.progress import progress
from labkit.spiking.connectivity import NALSM_C, Liquid3D, distance_connectivity, input_connectivity
from labkit.spiking.criticality import branching_factor
from labkit.spiking.encoders import poisson_encode
from labkit.spiking.plasticity import AstroSTDP, AstrocyteParams, STDPParams
from labkit.spiking.population import LIFNetwork, LIFPopulation, SpikeRecord, Synapses

KINDS = ("plain", "stdp", "nalsm")


@dataclass(frozen=True)
class LiquidConfig:
    """Geometry and neurons of a liquid; defaults are NALSM's (official code, MNIST networks)."""

    shape: tuple = (10, 10, 10)
    frac_exc: float = 0.8
    c: dict = field(default_factory=lambda: dict(NALSM_C))
    lam: float = 3.0
    input_density: float = 0.15
    w_max: float = 3.0
    tau_m: float = 64.0
    v_th: float = 20.0
    t_ref: float = 2.0
    tau_syn: float = 1.0
    dt: float = 1.0

    def population(self, n: int) -> LIFPopulation:
        return LIFPopulation(n, tau_m=self.tau_m, v_th=self.v_th, v_reset=0.0, t_ref=self.t_ref,
                             tau_syn=self.tau_syn, dt=self.dt)


class Liquid:
    """A liquid wired for ``n_inputs`` input channels; ``weight`` holds its synapses' weights (nnz,)."""

    def __init__(self, n_inputs: int, config: LiquidConfig = LiquidConfig(), *, seed: int = 0, device="cpu"):
        if not isinstance(n_inputs, (int, np.integer)) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive integer, got {n_inputs!r}.")
        self.config, self.n_inputs, self.device, self.seed = config, int(n_inputs), torch.device(device), seed
        self.geometry: Liquid3D = distance_connectivity(config.shape, frac_exc=config.frac_exc, c=config.c,
                                                        lam=config.lam, seed=seed)
        n = self.geometry.n
        self.n = n
        ipre, ipost = input_connectivity(n_inputs, n, config.input_density, seed=seed + 1)
        rng = np.random.default_rng(seed + 2)
        w_rec = np.where(self.geometry.excitatory[self.geometry.pre], config.w_max, -config.w_max)
        w_in = config.w_max * rng.choice([-1.0, 1.0], size=len(ipre))
        pre = np.concatenate([self.geometry.pre, ipre + n])
        post = np.concatenate([self.geometry.post, ipost])
        self.syn = Synapses.from_edges(pre, post, np.concatenate([w_rec, w_in]), n + n_inputs, n,
                                       device=self.device, layout="sparse")
        self.pop = config.population(n)
        self.net = LIFNetwork(self.pop, self.syn, device=self.device)
        self.excitatory = torch.as_tensor(self.geometry.excitatory, device=self.device)
        self.initial_weight = self.syn.weight.clone()

    @property
    def weight(self) -> torch.Tensor:
        return self.syn.weight

    def copy(self) -> "Liquid":
        """The same liquid with its own weight table (so one can be trained, another kept plain)."""
        other = object.__new__(Liquid)
        other.__dict__.update(self.__dict__)
        other.syn = self.syn.with_weight(self.syn.weight.clone())
        other.net = LIFNetwork(self.pop, other.syn, device=self.device)
        return other

    def _check_inputs(self, inputs: torch.Tensor) -> None:
        if inputs.ndim != 3 or inputs.shape[2] != self.n_inputs:
            raise ValueError(f"inputs must be spike trains of shape (steps, samples, {self.n_inputs}), got {tuple(inputs.shape)}.")

    def run(self, inputs: torch.Tensor, *, batch_size: int = 256, seed: int = 0, keep_raster: int = 0):
        """Drive the liquid with ``inputs`` (T, S, n_inputs), ``batch_size`` samples at a time.

        Returns ``(counts, record)``: spike counts (S, N) as a NumPy array, and the SpikeRecord of the
        first ``keep_raster`` samples (or None).
        """
        self._check_inputs(inputs)
        t_len, n_s, _ = inputs.shape
        counts, raster = [], None
        self.syn.dense = self.syn.to_dense()  # frozen weights: dense rows / one product per busy step
        for start in range(0, n_s, batch_size):
            x = inputs[:, start:start + batch_size].to(self.device)
            rec = self.net.run(t_len, x.shape[1], inputs=x, seed=seed + start)
            counts.append(rec.counts().cpu().numpy())
            if start == 0 and keep_raster:
                raster = rec
        self.syn.dense = None
        return np.concatenate(counts), raster

    def spikes(self, inputs: torch.Tensor, *, seed: int = 0) -> SpikeRecord:
        """One batch run, all spikes kept (for rasters and the branching factor)."""
        self._check_inputs(inputs)
        return self.net.run(inputs.shape[0], inputs.shape[1], inputs=inputs.to(self.device), seed=seed)

    def branching_factor(self, inputs: torch.Tensor, *, seed: int = 0, window: int = 4, margin: int = 25) -> float:
        """NALSM's branching factor of this liquid driven by ``inputs`` (T, S, n_inputs)."""
        rec = self.spikes(inputs, seed=seed)
        return branching_factor(rec.dense(), self.geometry.pre, self.geometry.post, window=window, margin=margin)

    def organize(self, inputs: torch.Tensor, kind: str, *, stdp: STDPParams = STDPParams(),
                 astro: AstrocyteParams = AstrocyteParams(), probe: torch.Tensor | None = None,
                 probe_every: int = 0, seed: int = 0, carry_astrocyte: bool = True) -> dict:
        """Self-organise the weights with STDP (``kind="stdp"``) or astrocyte-modulated STDP
        (``kind="nalsm"``), presenting the samples of ``inputs`` (T, S, n_inputs) one at a time.

        Every ``probe_every`` samples the branching factor is measured on ``probe`` (frozen weights).
        ``carry_astrocyte``: keep the astrocyte's state from one sample to the next (the continuous
        astrocyte of the paper's eq. 7); False restarts it with every sample as the official code's
        initialisation loop does, which weakens its feedback for 20 ms samples (tau_A = 100 ms).
        Returns the history: ``samples``, ``bf`` at those points, ``rate_hz`` per sample, and the
        astrocyte's mean depression rate ``astro`` per sample.
        """
        if kind not in ("stdp", "nalsm"):
            raise ValueError(f"kind must be 'stdp' or 'nalsm' for the plasticity phase, got {kind!r}.")
        self._check_inputs(inputs)
        rule = AstroSTDP(self.syn, self.syn.weight, self.n, self.excitatory, batch=1, stdp=stdp,
                         astro=astro if kind == "nalsm" else None, dt=self.config.dt)
        hist = {"samples": [], "bf": [], "rate_hz": [], "astro": []}

        def probe_now(i):
            if probe is not None and probe_every:
                hist["samples"].append(i)
                hist["bf"].append(self.branching_factor(probe, seed=seed + 10_000))

        probe_now(0)
        t_len, n_s, _ = inputs.shape
        a_sum = []
        for i in progress(range(n_s), desc=f"{kind} plasticity"):
            a_keep = rule.a.clone()
            rule.reset()
            if carry_astrocyte and i:
                rule.a = a_keep
            a_sum.clear()
            x = inputs[:, i:i + 1].to(self.device)

            def hook(t, rs, rb, ins, inb):
                rule(t, rs, rb, ins, inb)
                a_sum.append(rule.a)

            rec = self.net.run(t_len, 1, inputs=x, on_step=hook, seed=seed + i)
            hist["rate_hz"].append(rec.rate_hz())
            hist["astro"].append(float(torch.stack(a_sum).mean()) if a_sum else stdp.eta)
            if probe_every and (i + 1) % probe_every == 0:
                probe_now(i + 1)
        return hist


def digits_dataset():
    """scikit-learn's 8x8 handwritten digits (1,797 samples): pixels scaled to [0, 1], and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return (d.data / 16.0).astype(np.float32), d.target.astype(int)


def mnist1d_dataset(n_samples: int = 2000, seed: int = 0):
    """MNIST-1D (Greydanus 2020), generated procedurally by the ``mnist1d`` package (no download):
    40-point signals as two non-negative channels (positive and negative parts, 80 inputs)."""
    from mnist1d.data import get_dataset_args, make_dataset

    from labkit.spiking.encoders import split_signed

    args = get_dataset_args()
    args.num_samples = int(n_samples)
    args.seed = int(seed)
    d = make_dataset(args)
    x = np.concatenate([d["x"], d["x_test"]])
    y = np.concatenate([d["y"], d["y_test"]]).astype(int)
    return split_signed(x).astype(np.float32), y


def readout_accuracy(train_x, train_y, test_x, test_y, *, alpha: float = 10.0) -> float:
    """Test accuracy of a linear readout: scikit-learn's RidgeClassifier on standardised features
    (closed form, so the same features always give the same readout)."""
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), RidgeClassifier(alpha=alpha))
    clf.fit(np.asarray(train_x, dtype=np.float64), train_y)
    return float(clf.score(np.asarray(test_x, dtype=np.float64), test_y))


@dataclass
class Comparison:
    """What :func:`compare_liquids` returns for one data set."""

    liquids: dict
    histories: dict          # kind -> organize() history (plain: probes only)
    bf: dict                 # kind -> final branching factor on the probe inputs
    accuracy: dict           # kind -> readout test accuracy; "raw" -> readout on the raw inputs
    rate_hz: dict            # kind -> mean liquid rate on the probe inputs
    input_per_ms: float      # input spikes per ms (all channels) during plasticity
    liquid_per_ms: dict      # kind -> liquid spikes per ms over the last quarter of plasticity
    raster: dict = field(default_factory=dict)  # kind -> (T, N) spikes of probe sample 0
    raster_input: np.ndarray | None = None
    raster_label: int | None = None


def compare_liquids(x, y, *, shape=(10, 10, 10), n_steps: int = 100, max_rate: float = 1000.0,
                    n_plasticity: int = 400, lr_scale: float = 4.0, astro_gain: float = 0.015,
                    probe_size: int = 16, probe_steps: int = 100, probe_every: int = 50,
                    test_fraction: float = 1 / 3, kinds=KINDS, batch_size: int = 300, seed: int = 0,
                    device="cpu") -> Comparison:
    """Build one liquid, derive the plain / STDP-only / NALSM versions, and score their readouts.

    x: (S, M) features in [0, 1], rate-coded at up to ``max_rate`` Hz for ``n_steps`` ms per sample.
    The plasticity phase shows ``n_plasticity`` random training samples for 20 ms each; ``lr_scale``
    multiplies the STDP rate (0.15) and the astrocyte gain together, which speeds learning up
    without moving the astrocyte's set point. Branching factors are measured on ``probe_size`` test
    samples of ``probe_steps`` ms every ``probe_every`` plasticity samples.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"x must be (samples, inputs) with one label per sample in y, got shapes {x.shape} and {y.shape}.")
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"kinds must be among {KINDS}, got {bad}.")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(x))
    n_test = int(round(test_fraction * len(x)))
    if not 0 < n_test < len(x) - 1:
        raise ValueError(f"test_fraction must leave samples for training and testing, got {test_fraction} of {len(x)} samples.")
    te, tr = perm[:n_test], perm[n_test:]
    stdp = STDPParams(eta=0.15 * lr_scale)
    astro = AstrocyteParams(gain=astro_gain * lr_scale)
    base = Liquid(x.shape[1], LiquidConfig(shape=tuple(shape)), seed=seed, device=device)
    enc = poisson_encode(x, n_steps, max_rate=max_rate, seed=seed + 1)
    probe = poisson_encode(x[te[:probe_size]], probe_steps, max_rate=max_rate, seed=seed + 2)
    plast_x = x[tr[rng.integers(0, len(tr), n_plasticity)]]
    plast = poisson_encode(plast_x, 20, max_rate=max_rate, seed=seed + 3)
    input_per_ms = float(plast.float().sum()) / (n_plasticity * 20)
    out = Comparison(liquids={}, histories={}, bf={}, accuracy={}, rate_hz={}, input_per_ms=input_per_ms,
                     liquid_per_ms={}, raster_input=probe[:, 0].cpu().numpy(), raster_label=int(y[te[0]]))
    out.accuracy["raw"] = readout_accuracy(x[tr], y[tr], x[te], y[te])
    for kind in kinds:
        liq = base.copy()
        if kind == "plain":
            bf0 = liq.branching_factor(probe, seed=seed + 10_000)
            n_pts = n_plasticity // probe_every + 1 if probe_every else 1
            hist = {"samples": [i * probe_every for i in range(n_pts)], "bf": [bf0] * n_pts, "rate_hz": [], "astro": []}
        else:
            hist = liq.organize(plast, kind, stdp=stdp, astro=astro, probe=probe, probe_every=probe_every, seed=seed + 4)
        rec = liq.spikes(probe, seed=seed + 10_000)
        out.bf[kind] = branching_factor(rec.dense(), liq.geometry.pre, liq.geometry.post)
        out.rate_hz[kind] = rec.rate_hz()
        out.raster[kind] = rec.dense()[0].cpu().numpy()
        if hist["rate_hz"]:
            tail = hist["rate_hz"][-max(1, len(hist["rate_hz"]) // 4):]
            out.liquid_per_ms[kind] = float(np.mean(tail)) * liq.n / 1000.0
        counts, _ = liq.run(enc, batch_size=batch_size, seed=seed + 5)
        out.accuracy[kind] = readout_accuracy(counts[tr], y[tr], counts[te], y[te])
        out.histories[kind], out.liquids[kind] = hist, liq
    return out
