"""Trace-based STDP on a sparse synapse table, and NALSM's astrocyte that sets its depression.

Pair-based STDP with exponential traces (Ivanov & Michmizos 2021, eqs. 4-6; official code
``NALSM_STDP.py``). Every neuron and input channel ``j`` keeps a trace::

    x_j <- exp(-dt / tau_trace) * (x_j + a * s_j(t))          (a = 0.1, tau_trace = 10 ms)

and a synapse ``j -> i`` changes, at each step, by::

    dw_ij = lr_post(j) * x_j * s_i(t)   +   lr_pre(j) * x_i * s_j(t)

(the traces are read before this step's spikes are added, so only strictly ordered pairs count).
For an excitatory or input presynaptic neuron, post-after-pre potentiates with the fixed rate
``eta`` and pre-after-post depresses with ``-A``; for an inhibitory one the roles flip (``-A`` makes
inhibition stronger, ``+eta`` weaker). Weights are clipped to [0, w_max] (excitatory),
[-w_max, 0] (inhibitory) and [-w_max, w_max] (input).

NALSM's astrocyte (eq. 7; ``NALSM_ASTRO.py``) integrates liquid spikes against input spikes and sets
the depression rate, a global feedback on all synapses::

    A <- A + (w_A * (sum_i s_i^liquid(t) - sum_m s_m^input(t)) + b_A - A) / tau_A,

with ``A(0) = b_A = eta`` and ``tau_A = 100 ms``. When the liquid fires more than its input, ``A``
grows, depression outweighs potentiation and the liquid calms down; when it fires less, ``A`` falls
below ``eta`` and potentiation wins. Plain STDP ("STDP-only" liquid) keeps ``A = eta``.

The rule is event-driven: each step touches only the outgoing synapses of neurons that spiked
(the pre-after-post term) and the incoming synapses of neurons that spiked (post-after-pre), through
an index of each neuron's incoming synapses. The weight table is either shared (one network) or
per sample (``B`` copies, as in NALSM's plasticity during every sample presentation).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from labkit.core.params import check_args
from labkit.spiking.synapses import Synapses


@dataclass(frozen=True)
class STDPParams:
    """NALSM's STDP defaults (official code): eta = 0.15, trace jump a = 0.1, tau = 10 ms, w_max = 3."""

    eta: float = 0.15
    a_trace: float = 0.1
    tau_trace: float = 10.0
    w_max: float = 3.0
    lr_decay: float = 1.0   # per-step factor on all learning rates (NALSM: 0.99 during sample presentations)

    def __post_init__(self):
        positive = (float, 0, None, "neither")
        check_args("STDPParams", vars(self), {"eta": (float, 0, None), "a_trace": (float, 0, None),
                                              "tau_trace": positive, "w_max": positive,
                                              "lr_decay": (float, 0, 1, "right")})


@dataclass(frozen=True)
class AstrocyteParams:
    """NALSM's astrocyte: gain w_A (0.015 for 1,000-neuron liquids), tau_A = 100 ms, bias offset 0."""

    gain: float = 0.015
    tau: float = 100.0
    bias_offset: float = 0.0

    def __post_init__(self):
        check_args("AstrocyteParams", vars(self), {"gain": (float, 0, None), "tau": (float, 0, None, "neither"),
                                                   "bias_offset": float})


def weight_bounds(syn: Synapses, n_res: int, excitatory, w_max: float):
    """Per-synapse lower and upper weight bounds of a liquid (by the presynaptic neuron's kind)."""
    dev = syn.post.device
    exc = torch.as_tensor(excitatory, dtype=torch.bool, device=dev)
    src_kind = torch.full((syn.n_src,), 2, dtype=torch.long, device=dev)  # 2: input channel
    src_kind[:n_res] = torch.where(exc, 0, 1)                             # 0: excitatory, 1: inhibitory
    lo_k = torch.tensor([0.0, -w_max, -w_max], device=dev)
    hi_k = torch.tensor([w_max, 0.0, w_max], device=dev)
    kind = src_kind.index_select(0, syn.pre)
    return lo_k[kind], hi_k[kind]


class AstroSTDP:
    """STDP, optionally with NALSM's astrocyte, as an ``on_step`` hook of :meth:`LIFNetwork.run`.

    weight: the weights to modify in place, (nnz,) shared (then batch must be 1) or (B, nnz).
    Every step gathers, for the sources that spiked, their padded rows of outgoing synapses and,
    for the liquid neurons that spiked, their rows of incoming synapses (:meth:`Synapses.tables`),
    so the work is proportional to the spikes times the degrees, for the whole batch at once.
    """

    def __init__(self, syn: Synapses, weight: torch.Tensor, n_res: int, excitatory, *, batch: int = 1,
                 stdp: STDPParams = STDPParams(), astro: AstrocyteParams | None = None, dt: float = 1.0):
        if weight.ndim == 1 and batch != 1:
            raise ValueError(f"a shared weight vector can only learn from batch 1, got batch={batch}; pass per-sample "
                             "weights (batch, nnz).")
        if weight.ndim == 2 and weight.shape[0] != batch:
            raise ValueError(f"per-sample weights must have batch={batch} rows, got shape {tuple(weight.shape)}.")
        if weight.shape[-1] != syn.nnz or not weight.is_contiguous():
            raise ValueError(f"weight must be a contiguous tensor with {syn.nnz} synapses in its last dimension, got "
                             f"shape {tuple(weight.shape)}.")
        dev = weight.device
        self.syn, self.n_res, self.batch, self.stdp, self.astro = syn, n_res, batch, stdp, astro
        self.w = weight
        self.w_flat = weight.view(-1)
        self.lo, self.hi = weight_bounds(syn, n_res, excitatory, stdp.w_max)
        self.inh = torch.zeros(syn.n_src + 1, dtype=torch.bool, device=dev)
        self.inh[:n_res] = ~torch.as_tensor(excitatory, dtype=torch.bool, device=dev)
        self.tab = syn.tables()
        self.in_inh = self.inh[self.tab["in_pre"]]            # (n_post, D_in): presynaptic neuron inhibitory
        self.decay = math.exp(-dt / stdp.tau_trace)
        self.reset()

    def reset(self, traces: bool = True) -> None:
        """Start a new sample: astrocyte and learning rates back to their initial values, and the
        traces zeroed unless ``traces=False`` (the official initialisation loop keeps them)."""
        dev = self.w.device
        if traces or not hasattr(self, "x"):
            # traces, flat (b * (n_src + 1) + j); slot n_src of every sample stays 0 (padding)
            self.x = torch.zeros(self.batch * (self.syn.n_src + 1), device=dev)
        self.eta = self.stdp.eta
        self.a = torch.full((self.batch,), self.stdp.eta, device=dev)
        if self.astro is not None:
            self.gain = self.astro.gain
            self.bias = self.stdp.eta * (1.0 + self.astro.bias_offset)

    def __call__(self, t, res_src, res_b, in_src, in_b) -> None:
        s1 = self.syn.n_src + 1
        has_in = in_src is not None and in_src.numel() > 0
        if res_src.numel() or has_in:
            self._update(res_src, res_b, in_src if has_in else None, in_b if has_in else None)
            # traces: x <- decay * (x + a s)
            for src, b in ((res_src, res_b), (in_src, in_b)) if has_in else ((res_src, res_b),):
                if src.numel():
                    self.x.index_add_(0, b * s1 + src, torch.full(src.shape, self.stdp.a_trace, device=src.device))
        self.x.mul_(self.decay)
        if self.astro is not None:
            if self.batch == 1:
                diff = float(res_src.numel() - (in_src.numel() if in_src is not None else 0))
            else:
                diff = torch.bincount(res_b, minlength=self.batch).to(self.a.dtype)
                if in_b is not None:
                    diff = diff - torch.bincount(in_b, minlength=self.batch).to(self.a.dtype)
            self.a += (self.gain * diff + self.bias - self.a) / self.astro.tau
            self.gain *= self.stdp.lr_decay
            self.bias *= self.stdp.lr_decay
        if self.stdp.lr_decay != 1.0:
            self.eta *= self.stdp.lr_decay
            self.a *= self.stdp.lr_decay

    def _update(self, res_src, res_b, in_src, in_b) -> None:
        tab, nnz, s1, n = self.tab, self.syn.nnz, self.syn.n_src + 1, self.syn.n_post
        per_sample = self.w.ndim == 2
        blocks = []   # (synapse ids, weight positions, weight changes)

        def pos_of(e, b):
            return e + (b * nnz).unsqueeze(1) if per_sample else e

        # pre-after-post, on the outgoing synapses of every spiking source: lr = -A for an
        # excitatory or input source, +eta for an inhibitory one, times the target's trace
        for src, b, sfx, first in ((res_src, res_b, "", 0), (in_src, in_b, "_in", n)):
            if src is None or src.numel() == 0:
                continue
            rows = src - first
            lr = torch.where(self.inh.index_select(0, src), self.eta, -self.a.index_select(0, b)).unsqueeze(1)
            e = tab["out_e" + sfx].index_select(0, rows)
            tr = tab["out_post_tr" + sfx].index_select(0, rows)
            tr += (b * s1).unsqueeze(1)
            blocks.append((e, pos_of(e, b), self.x.take(tr).mul_(lr)))
        # post-after-pre, on the incoming synapses of every spiking liquid neuron: lr = +eta for an
        # excitatory or input source, -A for an inhibitory one, times the source's trace
        if res_src.numel():
            e = tab["in_e"].index_select(0, res_src)
            tr = tab["in_pre"].index_select(0, res_src)
            tr += (res_b * s1).unsqueeze(1)
            lr = torch.where(self.in_inh.index_select(0, res_src), -self.a.index_select(0, res_b).unsqueeze(1),
                             self.eta)
            blocks.append((e, pos_of(e, res_b), self.x.take(tr).mul_(lr)))
        for _, pos, d in blocks:
            self.w_flat.scatter_add_(0, pos.view(-1), d.view(-1))
        for e, pos, _ in blocks:   # clip after all changes of the step, as the official code does
            pos = pos.view(-1)
            e = e.view(-1)
            self.w_flat.scatter_(0, pos, torch.clamp(self.w_flat.take(pos), self.lo.take(e), self.hi.take(e)))
