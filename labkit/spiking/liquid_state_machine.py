"""Liquid state machines: a spiking reservoir, three ways of setting its weights, and a linear readout.

A liquid (Maass, Natschläger & Markram 2002) is a recurrent network of LIF neurons, 80% excitatory
and 20% inhibitory, on a 3-D grid, wired with a probability that falls with distance
(:mod:`labkit.spiking.connectivity`). Input spike trains drive it; a linear readout is trained on
the liquid's state, each neuron's spike count over the presentation. Three liquids share one
wiring and one starting point, every weight at its largest magnitude ``w_max`` (NALSM's start):

* ``plain``: weights left where they start; no learning.
* ``stdp``: pair-based STDP with equal potentiation and depression rates (LSM+STDP).
* ``nalsm``: STDP whose depression rate is set by an astrocyte from liquid minus input activity
  (Ivanov & Michmizos 2021, "Increasing Liquid State Machine Performance with Edge-of-Chaos
  Dynamics Organized by Astrocyte-modulated Plasticity", NeurIPS).

Plasticity follows the official code (``NALSM_RUN_MAIN_SIM_MNIST.py``) in two phases:

1. :meth:`Liquid.organize` (``run_W_DENSE_initialization_loop``): random training samples are shown
   one at a time for 20 ms to a single liquid whose weights carry over from sample to sample;
   potentials, refractoriness, astrocyte and learning rates restart with each sample, the STDP
   traces do not. The weights at the end are the liquid's ``W_INI``.
2. :meth:`Liquid.present` (``generate_..._spike_data``): every sample, train or test, is presented
   for ``n_steps`` ms to its own copy of the liquid that starts from ``W_INI`` with plasticity on and
   all learning rates (and the astrocyte's gain and bias) decaying by 0.99 per ms, so each copy
   settles early in the presentation. The spike counts feed the readout; the recorded spikes give
   the branching factor (:mod:`labkit.spiking.criticality`).

Public name: this module is ``labkit.spiking.liquid_state_machine`` after its notebook (the house
convention); ``labkit.spiking.lsm`` is an alias of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.progress import progress
from labkit.spiking.connectivity import NALSM_C, Liquid3D, distance_connectivity, input_connectivity
from labkit.spiking.criticality import branching_factor
from labkit.spiking.encoders import nalsm_normalize, poisson_encode
from labkit.spiking.plasticity import AstroSTDP, AstrocyteParams, STDPParams
from labkit.spiking.population import LIFNetwork, LIFPopulation, SpikeRecord, Synapses

KINDS = ("plain", "stdp", "nalsm")
__all__ = ["KINDS", "LiquidConfig", "Liquid", "Comparison", "compare_liquids", "size_sweep", "explore_astrocyte",
           "digits_dataset", "mnist1d_dataset", "readout_accuracy", "split_indices"]


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
    refractory: str = "block"      # NALSM: refractory neurons integrate but cannot fire
    input_refractory: int = 2      # input neurons' dead time (steps)

    def population(self, n: int) -> LIFPopulation:
        return LIFPopulation(n, tau_m=self.tau_m, v_th=self.v_th, v_reset=0.0, t_ref=self.t_ref,
                             tau_syn=self.tau_syn, dt=self.dt, refractory=self.refractory)


class Liquid:
    """A liquid wired for ``n_inputs`` input channels; ``weight`` holds its synapses' weights (nnz,):
    the recurrent synapses first (``n_rec`` of them, presynaptic neurons ``0..N-1``), then the input
    synapses (sources ``N..N+n_inputs-1``)."""

    def __init__(self, n_inputs: int, config: LiquidConfig = LiquidConfig(), *, seed: int = 0, device="cpu"):
        if not isinstance(n_inputs, (int, np.integer)) or isinstance(n_inputs, bool) or n_inputs < 1:
            raise ValueError(f"n_inputs must be a positive integer, got {n_inputs!r}.")
        self.config, self.n_inputs, self.device, self.seed = config, int(n_inputs), torch.device(device), seed
        self.geometry: Liquid3D = distance_connectivity(config.shape, frac_exc=config.frac_exc, c=config.c,
                                                        lam=config.lam, seed=seed)
        n = self.geometry.n
        self.n = n
        self.pop = config.population(n)
        ipre, ipost = input_connectivity(n_inputs, n, config.input_density, seed=seed + 1)
        rng = np.random.default_rng(seed + 2)
        w_rec = np.where(self.geometry.excitatory[self.geometry.pre], config.w_max, -config.w_max)
        w_in = config.w_max * rng.choice([-1.0, 1.0], size=len(ipre))
        pre = np.concatenate([self.geometry.pre, ipre + n])
        post = np.concatenate([self.geometry.post, ipost])
        self.syn = Synapses.from_edges(pre, post, np.concatenate([w_rec, w_in]), n + n_inputs, n, device=self.device)
        self.n_rec = len(self.geometry.pre)
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

    def _check_inputs(self, inputs) -> torch.Tensor:
        if not isinstance(inputs, torch.Tensor) or inputs.ndim != 3 or inputs.shape[2] != self.n_inputs or 0 in inputs.shape:
            shape = tuple(inputs.shape) if hasattr(inputs, "shape") else type(inputs).__name__
            raise ValueError(f"inputs must be spike trains of shape (steps, samples, {self.n_inputs}) with at least one step and sample, got {shape}.")
        return inputs

    def encode(self, x, n_steps: int, *, max_rate: float = 1000.0, seed: int = 0) -> torch.Tensor:
        """Rate-code features ``x`` (S, n_inputs) in [0, 1] through this liquid's input neurons."""
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"x must have shape (samples, {self.n_inputs}), got {x.shape}.")
        return poisson_encode(x, n_steps, max_rate=max_rate, dt=self.config.dt,
                              refractory=self.config.input_refractory, seed=seed)

    def run(self, inputs: torch.Tensor, *, batch_size: int = 256, keep: int = 0, seed: int = 0):
        """Drive the liquid with frozen weights by ``inputs`` (T, S, n_inputs), ``batch_size`` samples
        at a time. Returns ``(counts, record)``: spike counts (S, N) as a NumPy array and the
        SpikeRecord of the first ``keep`` samples (or None)."""
        return self.present(inputs, "plain", batch_size=batch_size, keep=keep, seed=seed)

    def present(self, inputs: torch.Tensor, kind: str = "plain", *, stdp: STDPParams = STDPParams(),
                astro: AstrocyteParams = AstrocyteParams(), lr_decay: float = 0.99, batch_size: int = 256,
                keep: int = 0, seed: int = 0, progress_desc: str | None = None):
        """Present every sample of ``inputs`` (T, S, n_inputs) to its own copy of the liquid.

        ``kind="plain"``: frozen weights. ``"stdp"``/``"nalsm"``: each copy starts from the current
        weights with (astrocyte-modulated) STDP on and all learning rates decaying by ``lr_decay``
        per step, as in the official code's presentation runs; the liquid itself is not changed.
        Returns ``(counts, record)`` as :meth:`run`.
        """
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
        inputs = self._check_inputs(inputs)
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
        t_len, n_s, _ = inputs.shape
        counts, record = [], None
        starts = range(0, n_s, batch_size)
        if progress_desc:
            starts = progress(starts, desc=progress_desc)
        for start in starts:
            x = inputs[:, start:start + batch_size].to(self.device)
            b = x.shape[1]
            if kind == "plain":
                rec = self.net.run(t_len, b, inputs=x, seed=seed + start)
            else:
                w = self.syn.weight.unsqueeze(0).repeat(b, 1)
                rule = AstroSTDP(self.syn, w, self.n, self.excitatory, batch=b,
                                 stdp=STDPParams(stdp.eta, stdp.a_trace, stdp.tau_trace, stdp.w_max, lr_decay),
                                 astro=astro if kind == "nalsm" else None, dt=self.config.dt)
                rec = self.net.run(t_len, b, inputs=x, weight=w, on_step=rule, seed=seed + start)
            counts.append(rec.counts().cpu().numpy())
            if start == 0 and keep:
                sel = rec.b < keep
                record = SpikeRecord(rec.t[sel], rec.b[sel], rec.n[sel], t_len, min(keep, b), self.n, self.config.dt)
        return np.concatenate(counts), record

    def branching_factor(self, record: SpikeRecord, *, window: int = 4, margin: int = 25) -> float:
        """NALSM's branching factor of recorded liquid spikes on this liquid's recurrent wiring."""
        return branching_factor(record.dense(), self.geometry.pre, self.geometry.post, window=window, margin=margin)

    def organize(self, inputs: torch.Tensor, kind: str, *, stdp: STDPParams = STDPParams(),
                 astro: AstrocyteParams = AstrocyteParams(), probe=None, probe_every: int = 0,
                 seed: int = 0) -> dict:
        """Self-organise the weights with STDP (``kind="stdp"``) or astrocyte-modulated STDP
        (``kind="nalsm"``), presenting the samples of ``inputs`` (T, S, n_inputs) one at a time to
        one liquid (official initialisation loop). ``probe(liquid) -> branching factor`` is called
        before the first sample and every ``probe_every`` samples.

        Returns the history: ``samples`` and ``bf`` at the probe points, and per sample the liquid's
        rate ``rate_hz``, its spikes per ms ``liquid_per_ms``, the input's ``input_per_ms`` and the
        astrocyte's mean depression rate ``astro``.
        """
        if kind not in ("stdp", "nalsm"):
            raise ValueError(f"kind must be 'stdp' or 'nalsm' for the plasticity phase, got {kind!r}.")
        inputs = self._check_inputs(inputs)
        rule = AstroSTDP(self.syn, self.syn.weight, self.n, self.excitatory, batch=1, stdp=stdp,
                         astro=astro if kind == "nalsm" else None, dt=self.config.dt)
        hist = {"samples": [], "bf": [], "rate_hz": [], "liquid_per_ms": [], "input_per_ms": [], "astro": []}

        def probe_now(i):
            if probe is not None and probe_every:
                hist["samples"].append(i)
                hist["bf"].append(float(probe(self)))

        probe_now(0)
        t_len, n_s, _ = inputs.shape
        a_sum = []

        def hook(t, rs, rb, ins, inb):
            rule(t, rs, rb, ins, inb)
            a_sum.append(rule.a)

        for i in progress(range(n_s), desc=f"{kind} plasticity"):
            rule.reset(traces=False)
            a_sum.clear()
            x = inputs[:, i:i + 1].to(self.device)
            rec = self.net.run(t_len, 1, inputs=x, on_step=hook, seed=seed + i)
            hist["rate_hz"].append(rec.rate_hz())
            hist["liquid_per_ms"].append(rec.n_spikes / (t_len * self.config.dt))
            hist["input_per_ms"].append(float(x.sum()) / (t_len * self.config.dt))
            hist["astro"].append(float(torch.stack(a_sum).mean()) if a_sum else stdp.eta)
            if probe_every and (i + 1) % probe_every == 0:
                probe_now(i + 1)
        return hist


def digits_dataset():
    """scikit-learn's 8x8 handwritten digits (1,797 samples), scaled as NALSM scales MNIST
    (:func:`~labkit.spiking.encoders.nalsm_normalize`), and labels."""
    from sklearn.datasets import load_digits

    d = load_digits()
    return nalsm_normalize(d.data), d.target.astype(int)


def mnist1d_dataset(n_samples: int = 2000, seed: int = 0):
    """MNIST-1D (Greydanus 2020), generated procedurally by the ``mnist1d`` package (no download):
    40-point signals split into two non-negative channels (positive and negative parts, 80 inputs)
    and scaled as NALSM scales MNIST. The package reseeds NumPy's and Python's global generators;
    they are restored afterwards."""
    import random

    from mnist1d.data import get_dataset_args, make_dataset

    from labkit.spiking.encoders import split_signed

    if not isinstance(n_samples, (int, np.integer)) or n_samples < 10:
        raise ValueError(f"n_samples must be an integer of at least 10 (one per class), got {n_samples!r}.")
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        args = get_dataset_args()
        args.num_samples = int(n_samples)
        args.seed = int(seed)
        d = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    x = np.concatenate([d["x"], d["x_test"]])
    y = np.concatenate([d["y"], d["y_test"]]).astype(int)
    return nalsm_normalize(split_signed(x)), y


def readout_accuracy(train_x, train_y, test_x, test_y) -> float:
    """Test accuracy of a linear readout: scikit-learn's RidgeClassifierCV (regularisation chosen by
    leave-one-out on the training set, closed form, so the same features give the same readout)
    on standardised features."""
    from sklearn.linear_model import RidgeClassifierCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    clf = make_pipeline(StandardScaler(), RidgeClassifierCV(alphas=np.logspace(-2, 4, 13)))
    clf.fit(np.asarray(train_x, dtype=np.float64), train_y)
    return float(clf.score(np.asarray(test_x, dtype=np.float64), test_y))


@dataclass
class Comparison:
    """What :func:`compare_liquids` returns for one data set."""

    liquids: dict            # kind -> Liquid (W_INI for stdp / nalsm)
    histories: dict          # kind -> organize() history (plain: its constant branching factor)
    bf: dict                 # kind -> branching factor of the presentation runs of the probe samples
    accuracy: dict           # kind -> readout test accuracy; "raw" -> the same readout on the raw inputs
    rate_hz: dict            # kind -> mean liquid rate over all presentations
    input_per_ms: float      # input spikes per ms (all channels) during the presentations
    liquid_per_ms: dict      # kind -> liquid spikes per ms during the presentations
    raster: dict = field(default_factory=dict)  # kind -> (T, N) spikes of probe sample 0
    raster_input: np.ndarray | None = None
    raster_label: int | None = None
    settings: dict = field(default_factory=dict)


def split_indices(n: int, test_fraction: float, seed: int):
    """A seeded random train/test split of ``n`` samples."""
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}.")
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(test_fraction * n))
    if not 0 < n_test < n - 1:
        raise ValueError(f"test_fraction={test_fraction} of {n} samples leaves no samples to train or to test on.")
    return perm[n_test:], perm[:n_test]


def compare_liquids(x, y, *, shape=(10, 10, 10), n_steps: int = 100, n_plasticity: int = 500,
                    astro_gain: float = 0.015, eta: float = 0.15, max_rate: float = 1000.0,
                    probe_size: int = 20, probe_every: int = 100, test_fraction: float = 1 / 3,
                    kinds=KINDS, plastic_presentation: bool = False, batch_size: int = 300, seed: int = 0,
                    device="cpu") -> Comparison:
    """Build one liquid, derive the plain / STDP-only / NALSM versions, and score their readouts.

    x: (S, M) features in [0, 1] (scaled with :func:`nalsm_normalize` for NALSM's input statistics),
    rate-coded at up to ``max_rate`` Hz and presented for ``n_steps`` ms each. The plasticity phase
    shows ``n_plasticity`` random training samples for 20 ms each (the official code: 50,000);
    ``astro_gain`` is the astrocyte's w_A, ``eta`` the potentiation rate. The branching factor is
    measured on the presentation runs of ``probe_size`` test samples, also every ``probe_every``
    plasticity samples. ``plastic_presentation``: keep plasticity on during the presentations as the
    official code does (:meth:`Liquid.present`; several times slower on a CPU); by default the
    presentations use the self-organised weights frozen.
    """
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y)
    if x.ndim != 2 or len(x) != len(y) or x.shape[1] < 1:
        raise ValueError(f"x must be (samples, inputs) with one label per sample in y, got shapes {x.shape} and {y.shape}.")
    bad = [k for k in kinds if k not in KINDS]
    if bad or not kinds:
        raise ValueError(f"kinds must be a non-empty selection of {KINDS}, got {list(kinds)}.")
    for name, val in (("n_steps", n_steps), ("probe_size", probe_size)):
        if not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name} must be a positive integer, got {val!r}.")
    if n_steps <= 2 * (25 + 4):
        raise ValueError(f"n_steps must exceed 58 ms so that the branching factor's 25 ms margins and 4 ms windows fit, got {n_steps}.")
    if not isinstance(n_plasticity, (int, np.integer)) or n_plasticity < 0:
        raise ValueError(f"n_plasticity must be a non-negative integer, got {n_plasticity!r}.")
    tr, te = split_indices(len(x), test_fraction, seed)
    stdp = STDPParams(eta=eta)
    astro = AstrocyteParams(gain=astro_gain)
    base = Liquid(x.shape[1], LiquidConfig(shape=tuple(shape)), seed=seed, device=device)
    enc = base.encode(x, n_steps, max_rate=max_rate, seed=seed + 1)
    probe_idx = te[:probe_size]
    probe = enc[:, probe_idx]
    rng = np.random.default_rng(seed + 3)
    plast = base.encode(x[tr[rng.integers(0, len(tr), max(n_plasticity, 1))]], 20, max_rate=max_rate, seed=seed + 4)
    out = Comparison(liquids={}, histories={}, bf={}, accuracy={}, rate_hz={},
                     input_per_ms=float(enc.float().sum()) / (len(x) * n_steps),
                     liquid_per_ms={}, raster_input=probe[:, 0].cpu().numpy(), raster_label=int(y[probe_idx[0]]),
                     settings=dict(n_steps=n_steps, n_plasticity=n_plasticity, astro_gain=astro_gain, eta=eta, n=base.n))
    out.accuracy["raw"] = readout_accuracy(x[tr], y[tr], x[te], y[te])
    for kind in kinds:
        liq = base.copy()

        pkind = kind if plastic_presentation else "plain"

        def probe_bf(l, pkind=pkind):
            _, rec = l.present(probe, pkind, stdp=stdp, astro=astro, keep=probe_size, batch_size=probe_size, seed=seed + 10_000)
            return l.branching_factor(rec)

        if kind == "plain" or n_plasticity == 0:
            bf0 = probe_bf(liq)
            pts = list(range(0, n_plasticity + 1, probe_every)) if probe_every else [0]
            hist = {"samples": pts, "bf": [bf0] * len(pts), "rate_hz": [], "liquid_per_ms": [], "input_per_ms": [], "astro": []}
        else:
            hist = liq.organize(plast, kind, stdp=stdp, astro=astro, probe=probe_bf, probe_every=probe_every, seed=seed + 5)
        counts, _ = liq.present(enc, pkind, stdp=stdp, astro=astro, batch_size=batch_size, seed=seed + 6,
                                progress_desc=f"{kind} presentations")
        _, rec = liq.present(probe, pkind, stdp=stdp, astro=astro, keep=probe_size, batch_size=probe_size, seed=seed + 10_000)
        out.bf[kind] = liq.branching_factor(rec)
        out.raster[kind] = rec.dense()[0].cpu().numpy()
        out.rate_hz[kind] = float(counts.sum()) / (counts.size * n_steps) * 1000.0
        out.liquid_per_ms[kind] = float(counts.sum(1).mean()) / n_steps
        out.accuracy[kind] = readout_accuracy(counts[tr], y[tr], counts[te], y[te])
        out.histories[kind], out.liquids[kind] = hist, liq
    return out


def size_sweep(x, y, shapes, *, kinds=("plain", "nalsm"), n_steps: int = 100, n_plasticity: int = 500,
               astro_gain: float = 0.015, test_fraction: float = 1 / 3, batch_size: int = 300, seed: int = 0,
               device="cpu") -> dict:
    """Readout accuracy against liquid size: ``{"n": [...], kind: [...], "raw": float}``, one
    :func:`compare_liquids` per grid shape (branching-factor probes off)."""
    out = {"n": [], "raw": None, **{k: [] for k in kinds}}
    for shape in progress(list(shapes), desc="liquid sizes"):
        c = compare_liquids(x, y, shape=tuple(shape), n_steps=n_steps, n_plasticity=n_plasticity,
                            astro_gain=astro_gain, probe_every=0, test_fraction=test_fraction, kinds=kinds,
                            batch_size=batch_size, seed=seed, device=device)
        out["n"].append(int(np.prod(shape)))
        out["raw"] = c.accuracy["raw"]
        for k in kinds:
            out[k].append(c.accuracy[k])
    return out


def explore_astrocyte(x, *, astro_gain: float = 0.015, max_rate: float = 1000.0, shape=(5, 5, 5),
                      n_plasticity: int = 60, n_steps: int = 100, n_probe: int = 8, seed: int = 0,
                      device="cpu") -> dict:
    """A small NALSM for the explorer: self-organise with ``astro_gain`` on inputs coded at up to
    ``max_rate`` Hz, then return the raster of one probe sample, the branching factor and the rate."""
    x = np.asarray(x, dtype=np.float32)
    liq = Liquid(x.shape[1], LiquidConfig(shape=tuple(shape)), seed=seed, device=device)
    rng = np.random.default_rng(seed)
    plast = liq.encode(x[rng.integers(0, len(x), n_plasticity)], 20, max_rate=max_rate, seed=seed + 1)
    if n_plasticity:
        liq.organize(plast, "nalsm", astro=AstrocyteParams(gain=astro_gain), seed=seed + 2)
    probe = liq.encode(x[rng.integers(0, len(x), n_probe)], n_steps, max_rate=max_rate, seed=seed + 3)
    _, rec = liq.run(probe, keep=n_probe, seed=seed + 4)
    return {"raster": rec.dense()[0].cpu().numpy(), "bf": liq.branching_factor(rec), "rate_hz": rec.rate_hz(),
            "input_per_ms": float(probe.float().sum()) / (n_probe * n_steps)}
