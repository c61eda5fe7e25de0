"""The liquid: a 3-D grid of LIF neurons wired by distance, its input synapses, and its plasticity phases.

:class:`Liquid` builds one liquid (NALSM's geometry and neurons, :class:`LiquidConfig`), rate-codes
features through its input neurons, presents samples to copies of itself with frozen or plastic
weights (:meth:`Liquid.present`), and self-organises its weights with STDP or astrocyte-modulated
STDP (:meth:`Liquid.organize`); see the package docstring for the two phases of the official code.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.device import resolve_device
from labkit.core.params import check_args, check_value
from labkit.core.progress import progress
from labkit.spiking.connectivity import NALSM_C, Liquid3D, distance_connectivity, input_connectivity
from labkit.spiking.criticality import branching_factor
from labkit.spiking.encoders import poisson_encode
from labkit.spiking.lif_network import LIFNetwork, LIFPopulation, SpikeRecord
from labkit.spiking.plasticity import AstrocyteParams, AstroSTDP, STDPParams
from labkit.spiking.synapses import Synapses

KINDS = ("plain", "stdp", "nalsm")
DEFAULT_STDP = STDPParams()  # frozen dataclasses: one shared default is safe
DEFAULT_ASTROCYTE = AstrocyteParams()


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
        check_args("Liquid", dict(n_inputs=n_inputs, seed=seed, device=device),
                   {"n_inputs": (int, 1, None), "seed": "seed", "device": "device"})
        self.config, self.n_inputs, self.device, self.seed = config, int(n_inputs), resolve_device(device), seed
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

    def copy(self) -> Liquid:
        """The same liquid with its own weight table (so one can be trained, another kept plain)."""
        other = object.__new__(Liquid)
        other.__dict__.update(self.__dict__)
        other.syn = self.syn.with_weight(self.syn.weight.clone())
        other.net = LIFNetwork(self.pop, other.syn, device=self.device)
        return other

    def _check_inputs(self, inputs) -> torch.Tensor:
        shaped = isinstance(inputs, torch.Tensor) and inputs.ndim == 3 and inputs.shape[2] == self.n_inputs
        if not shaped or 0 in inputs.shape:
            shape = tuple(inputs.shape) if hasattr(inputs, "shape") else type(inputs).__name__
            raise ValueError(f"inputs must be spike trains of shape (steps, samples, {self.n_inputs}) with at least "
                             f"one step and sample, got {shape}.")
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

    def present(self, inputs: torch.Tensor, kind: str = "plain", *, stdp: STDPParams = DEFAULT_STDP,
                astro: AstrocyteParams = DEFAULT_ASTROCYTE, lr_decay: float = 0.99, batch_size: int = 256,
                keep: int = 0, seed: int = 0, progress_desc: str | None = None):
        """Present every sample of ``inputs`` (T, S, n_inputs) to its own copy of the liquid.

        ``kind="plain"``: frozen weights. ``"stdp"``/``"nalsm"``: each copy starts from the current
        weights with (astrocyte-modulated) STDP on and all learning rates decaying by ``lr_decay``
        per step, as in the official code's presentation runs; the liquid itself is not changed.
        Returns ``(counts, record)`` as :meth:`run`.
        """
        check_args("Liquid.present", dict(kind=kind, batch_size=batch_size),
                   {"kind": list(KINDS), "batch_size": (int, 1, None)})
        inputs = self._check_inputs(inputs)
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

    def organize(self, inputs: torch.Tensor, kind: str, *, stdp: STDPParams = DEFAULT_STDP,
                 astro: AstrocyteParams = DEFAULT_ASTROCYTE, probe=None, probe_every: int = 0,
                 seed: int = 0) -> dict:
        """Self-organise the weights with STDP (``kind="stdp"``) or astrocyte-modulated STDP
        (``kind="nalsm"``), presenting the samples of ``inputs`` (T, S, n_inputs) one at a time to
        one liquid (official initialisation loop). ``probe(liquid) -> branching factor`` is called
        before the first sample and every ``probe_every`` samples.

        Returns the history: ``samples`` and ``bf`` at the probe points, and per sample the liquid's
        rate ``rate_hz``, its spikes per ms ``liquid_per_ms``, the input's ``input_per_ms`` and the
        astrocyte's mean depression rate ``astro``.
        """
        check_value("kind", kind, ["stdp", "nalsm"], "Liquid.organize")     # the plastic kinds
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
