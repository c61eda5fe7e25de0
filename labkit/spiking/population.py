"""Batched recurrent networks of leaky integrate-and-fire neurons with sparse, event-driven synapses.

The membrane of neuron ``i`` (potential relative to rest, in mV) follows the current-based LIF model
used by the NALSM liquid (Ivanov & Michmizos 2021, eq. 1; Maass, Natschläger & Markram 2002)::

    tau_m dv_i/dt = -v_i + tau_m * I_i(t),       spike when v_i >= v_th, then v_i = v_reset
                                                  and held there for t_ref (absolute refractoriness)
    tau_syn dI_i/dt = -I_i + sum_j w_ij sum_k delta(t - t_j^k - dt)

integrated exactly over each step ``dt`` for the linear parts: ``v <- v exp(-dt/tau_m) + I`` where
``I`` is the synaptic input of the step in mV. A spike of neuron ``j`` at step ``t`` reaches its
targets at step ``t + 1`` (one step of synaptic delay). With ``tau_syn = 0`` the synapses are
instantaneous (delta currents): each spike moves the target's potential by ``w_ij`` mV.

Synapses are stored per presynaptic source in compressed sparse rows: the synapses of source ``j``
are a contiguous range. A step touches only the ranges of the sources that spiked (event-driven),
so its cost grows with the number of synaptic events, not with ``N^2``. When the out-degree is a
large fraction of the population, dense weight rows are gathered instead, which is faster there:
:func:`Synapses.from_edges` picks the layout.

Everything is batched: ``B`` independent copies of the network (one per input sample) advance
together as tensor operations on the device. Refractoriness is event-driven too: the neurons that
spiked during the last ``t_ref`` are held at reset by index, so a step costs a handful of dense
passes over ``B x N`` plus work proportional to the spikes.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

# Above this fraction of dense out-degree, gathering dense weight rows beats the padded table
# (measured on a 2-core CPU: ELL wins below ~5% density at N = 4,000, dense rows above).
DENSE_ROW_THRESHOLD = 0.06
# With a dense matrix at hand, a step uses one matrix product when synaptic events * MATMUL_RATIO
# exceed B * n_src * n_post (an event costs a few scattered writes, a product term one fused FMA).
MATMUL_RATIO = 300


@dataclass(frozen=True)
class LIFPopulation:
    """Parameters of a population of ``n`` current-based LIF neurons (times in ms, potentials in mV).

    Defaults are the NALSM liquid's (Ivanov & Michmizos 2021, official code): tau_m = 64 ms,
    threshold 20 mV above rest, reset to rest, 2 ms refractory period, 1 ms synaptic current.
    """

    n: int
    tau_m: float = 64.0
    v_th: float = 20.0
    v_reset: float = 0.0
    t_ref: float = 2.0
    tau_syn: float = 1.0
    dt: float = 1.0

    def __post_init__(self):
        if not isinstance(self.n, (int, np.integer)) or isinstance(self.n, bool) or self.n < 1:
            raise ValueError(f"n (the number of neurons) must be a positive integer, got {self.n!r}: an empty population cannot be simulated.")
        if not self.tau_m > 0:
            raise ValueError(f"tau_m must be a positive time constant in ms, got {self.tau_m}.")
        if not 0 < self.dt <= self.tau_m:
            raise ValueError(f"dt must be positive and no longer than the membrane time constant tau_m={self.tau_m} ms, got {self.dt}.")
        if self.tau_syn < 0 or self.t_ref < 0:
            raise ValueError(f"tau_syn and t_ref must be non-negative, got tau_syn={self.tau_syn}, t_ref={self.t_ref}.")
        if not self.v_reset < self.v_th:
            raise ValueError(f"v_reset must lie below v_th, got v_reset={self.v_reset}, v_th={self.v_th}.")

    @property
    def decay_m(self) -> float:
        return math.exp(-self.dt / self.tau_m)

    @property
    def decay_syn(self) -> float:
        return math.exp(-self.dt / self.tau_syn) if self.tau_syn > 0 else 0.0

    @property
    def ref_steps(self) -> int:
        return int(round(self.t_ref / self.dt))


def segment_ids(lengths: torch.Tensor, total: int) -> torch.Tensor:
    """For concatenated segments of the given lengths, the segment index of every element
    (``repeat_interleave(arange(E), lengths)``, built with one scatter and one cumulative sum,
    which is much faster than ``torch.repeat_interleave`` on the CPU)."""
    marks = torch.zeros(total, dtype=torch.long, device=lengths.device)
    starts = (torch.cumsum(lengths, 0) - lengths)[1:]
    starts = starts[starts < total]
    marks.index_add_(0, starts, torch.ones_like(starts))
    return torch.cumsum(marks, 0)


def repeat_each(values: torch.Tensor, lengths: torch.Tensor, total: int) -> torch.Tensor:
    """``values[e]`` repeated ``lengths[e]`` times, concatenated."""
    return values.index_select(0, segment_ids(lengths, total))


def ragged_range(starts: torch.Tensor, lengths: torch.Tensor):
    """Concatenated ranges ``[starts[e], starts[e] + lengths[e])`` and their total length."""
    total = int(lengths.sum())
    if total == 0:
        return torch.zeros(0, dtype=torch.long, device=starts.device), 0
    seg = segment_ids(lengths, total)
    offsets = torch.cumsum(lengths, 0) - lengths
    idx = torch.arange(total, device=starts.device)
    idx += (starts - offsets).index_select(0, seg)
    return idx, total


class Synapses:
    """Weighted connections from ``n_src`` sources onto ``n_post`` targets, stored by source (CSR).

    Synapse ``e`` goes from ``pre[e]`` to ``post[e]`` with ``weight[e]`` (mV); the synapses of source
    ``j`` are ``indptr[j]:indptr[j+1]``. Sources may be the population itself (indices
    ``0..n_post-1``) followed by input channels. ``in_indptr``/``in_edges`` index the same synapses
    by target, for plasticity rules that act on a neuron's incoming synapses.
    """

    def __init__(self, pre: torch.Tensor, post: torch.Tensor, weight: torch.Tensor, n_src: int, n_post: int,
                 dense: torch.Tensor | None = None):
        self.pre, self.post, self.weight = pre, post, weight
        self.n_src, self.n_post = int(n_src), int(n_post)
        dev = post.device
        deg = torch.bincount(pre, minlength=self.n_src)
        self.indptr = torch.cat([torch.zeros(1, dtype=torch.long, device=dev), torch.cumsum(deg, 0)])
        self.in_edges = torch.argsort(post, stable=True)
        in_deg = torch.bincount(post, minlength=self.n_post)
        self.in_indptr = torch.cat([torch.zeros(1, dtype=torch.long, device=dev), torch.cumsum(in_deg, 0)])
        self.dense = dense  # optional (n_src, n_post) weight matrix, for dense rows or batched products
        self.rows = dense is not None  # propagate single spikes as dense rows

    @classmethod
    def from_edges(cls, pre, post, weight, n_src: int, n_post: int, *, device="cpu",
                   dtype=torch.float32, layout: str = "auto") -> "Synapses":
        """Build the table from edge lists (``pre[e] -> post[e]`` with ``weight[e]``).

        ``layout``: "sparse" (event-driven over the synapse list), "dense" (also a dense weight
        matrix whose rows are gathered per spike) or "auto" (dense when the mean out-degree exceeds
        ``DENSE_ROW_THRESHOLD * n_post``).
        """
        pre = torch.as_tensor(np.asarray(pre), dtype=torch.long)
        post = torch.as_tensor(np.asarray(post), dtype=torch.long)
        weight = torch.as_tensor(np.asarray(weight), dtype=dtype)
        if not (pre.shape == post.shape == weight.shape) or pre.ndim != 1:
            raise ValueError(f"pre, post and weight must be 1-D arrays of one length, got shapes {tuple(pre.shape)}, {tuple(post.shape)}, {tuple(weight.shape)}.")
        if n_src < 1 or n_post < 1:
            raise ValueError(f"n_src and n_post must be positive, got {n_src} and {n_post}.")
        if pre.numel() and (pre.min() < 0 or pre.max() >= n_src or post.min() < 0 or post.max() >= n_post):
            raise ValueError(f"edge indices out of range: pre must lie in [0, {n_src}) and post in [0, {n_post}).")
        if layout not in ("auto", "sparse", "dense"):
            raise ValueError(f"layout must be 'auto', 'sparse' or 'dense', got {layout!r}.")
        order = torch.argsort(pre * n_post + post)
        syn = cls(pre[order].to(device), post[order].to(device), weight[order].to(device), n_src, n_post)
        if layout == "dense" or (layout == "auto" and pre.numel() / n_src > DENSE_ROW_THRESHOLD * n_post):
            syn.dense, syn.rows = syn.to_dense(), True
        return syn

    @property
    def nnz(self) -> int:
        return int(self.post.numel())

    @property
    def out_degree(self) -> torch.Tensor:
        return self.indptr[1:] - self.indptr[:-1]

    def with_weight(self, weight: torch.Tensor) -> "Synapses":
        """The same wiring with another weight vector (shares the index arrays)."""
        other = object.__new__(Synapses)
        other.__dict__.update(self.__dict__)
        other.weight, other.dense, other.rows = weight, None, False
        return other

    def to_dense(self, weight: torch.Tensor | None = None) -> torch.Tensor:
        """The (n_src, n_post) weight matrix (``weight`` overrides the stored one)."""
        w = self.weight if weight is None else weight
        out = torch.zeros(self.n_src, self.n_post, dtype=w.dtype, device=w.device)
        out.index_put_((self.pre, self.post), w, accumulate=True)
        return out

    def edges(self):
        """``(pre, post, weight)`` of the synapses, as tensors."""
        return self.pre, self.post, self.weight

    def outgoing(self, src: torch.Tensor):
        """Synapse ids of the sources ``src`` (concatenated) and how many each source has."""
        lengths = self.indptr.index_select(0, src + 1) - self.indptr.index_select(0, src)
        idx, _ = ragged_range(self.indptr.index_select(0, src), lengths)
        return idx, lengths

    def incoming(self, tgt: torch.Tensor):
        """Synapse ids onto the targets ``tgt`` (concatenated) and how many each target has."""
        lengths = self.in_indptr.index_select(0, tgt + 1) - self.in_indptr.index_select(0, tgt)
        idx, _ = ragged_range(self.in_indptr.index_select(0, tgt), lengths)
        return self.in_edges.index_select(0, idx), lengths

    def propagate(self, src: torch.Tensor, batch: torch.Tensor | None, out: torch.Tensor,
                  weight: torch.Tensor | None = None) -> None:
        """Add the weights of the spikes ``(batch[e], src[e])`` onto ``out`` (flat, ``B * n_post``).

        ``batch=None`` means every spike belongs to sample 0. ``weight`` may be a per-sample table
        ``(B, nnz)`` (plastic synapses, one copy per sample).
        """
        if src.numel() == 0:
            return
        if weight is None and self.dense is not None:
            n_b = out.numel() // self.n_post
            events = src.numel() * self.nnz / self.n_src
            if batch is not None and events * MATMUL_RATIO > n_b * self.n_src * self.n_post:
                # many spikes: one dense product (B, n_src) @ (n_src, n_post) beats per-spike work
                s = torch.zeros(n_b * self.n_src, dtype=self.dense.dtype, device=out.device)
                s.index_fill_(0, batch * self.n_src + src, 1.0)
                out.view(n_b, self.n_post).addmm_(s.view(n_b, self.n_src), self.dense)
                return
            if self.rows:
                rows = self.dense.index_select(0, src)
                if batch is None:
                    out[: self.n_post] += rows.sum(0)
                else:
                    out.view(-1, self.n_post).index_add_(0, batch, rows)
                return
        e, lengths = self.outgoing(src)
        tgt = self.post.index_select(0, e)
        if weight is None:
            vals = self.weight.index_select(0, e)
        else:
            be = repeat_each(batch, lengths, e.numel()) if batch is not None else torch.zeros_like(e)
            vals = weight.reshape(-1).index_select(0, be * self.nnz + e)
        if batch is not None:
            tgt = tgt + repeat_each(batch * self.n_post, lengths, e.numel())
        out.index_add_(0, tgt, vals)


@dataclass
class SpikeRecord:
    """The spikes of a run, kept as events: step ``t[e]``, sample ``b[e]``, neuron ``n[e]``."""

    t: torch.Tensor
    b: torch.Tensor
    n: torch.Tensor
    n_steps: int
    batch: int
    n_neurons: int
    dt: float = 1.0
    extra: dict = field(default_factory=dict)

    @property
    def n_spikes(self) -> int:
        return int(self.t.numel())

    def counts(self) -> torch.Tensor:
        """Spike counts per sample and neuron, (B, N)."""
        flat = self.b * self.n_neurons + self.n
        return torch.bincount(flat, minlength=self.batch * self.n_neurons).view(self.batch, self.n_neurons)

    def dense(self, dtype=torch.bool) -> torch.Tensor:
        """The spikes as a (B, T, N) tensor."""
        out = torch.zeros(self.batch, self.n_steps, self.n_neurons, dtype=dtype, device=self.t.device)
        out[self.b, self.t, self.n] = 1
        return out

    def rate_hz(self) -> float:
        """Mean firing rate over neurons, samples and time (Hz)."""
        return self.n_spikes / (self.batch * self.n_neurons * self.n_steps * self.dt) * 1000.0


class LIFNetwork:
    """A recurrent LIF population driven by input spike trains and/or external Poisson events.

    ``synapses`` has sources ``0..N-1`` (the population) followed by ``n_inputs`` input channels.
    """

    def __init__(self, pop: LIFPopulation, synapses: Synapses, *, device="cpu"):
        if synapses.n_post != pop.n or synapses.n_src < pop.n:
            raise ValueError(f"synapses must target the population's {pop.n} neurons and list them first among their sources, got n_post={synapses.n_post}, n_src={synapses.n_src}.")
        self.pop, self.syn, self.device = pop, synapses, torch.device(device)
        self.n_inputs = synapses.n_src - pop.n

    def run(self, n_steps: int, batch: int = 1, *, inputs: torch.Tensor | None = None,
            poisson_rate: float = 0.0, poisson_weight: float = 0.0, seed: int = 0,
            weight: torch.Tensor | None = None, on_step: Callable | None = None,
            record: bool = True) -> SpikeRecord:
        """Simulate ``n_steps`` steps of ``batch`` independent copies from rest.

        inputs: (n_steps, batch, n_inputs) spike trains of the input channels (bool or 0/1).
        poisson_rate, poisson_weight: every neuron also receives independent Poisson events at this
            rate (Hz), each moving its current by ``poisson_weight`` mV (drawn as a Poisson number of
            events per step scattered uniformly: exactly independent Poisson counts per neuron).
        weight: optional per-sample weights (batch, nnz) overriding ``synapses.weight``.
        on_step(t, res_src, res_b, in_src, in_b): called after each step with the spikes emitted
            (population) and received (inputs); plasticity rules hook in here.
        """
        pop, n = self.pop, self.pop.n
        if not isinstance(n_steps, (int, np.integer)) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer, got {n_steps!r}.")
        if not isinstance(batch, (int, np.integer)) or batch < 1:
            raise ValueError(f"batch must be a positive integer, got {batch!r}.")
        if inputs is not None:
            if inputs.ndim != 3 or tuple(inputs.shape) != (n_steps, batch, self.n_inputs):
                raise ValueError(f"inputs must have shape (n_steps, batch, n_inputs) = ({n_steps}, {batch}, {self.n_inputs}), got {tuple(inputs.shape)}.")
            inputs = inputs.to(self.device, torch.bool)
        elif self.n_inputs and poisson_rate == 0:
            pass  # the inputs stay silent
        if poisson_rate < 0:
            raise ValueError(f"poisson_rate must be non-negative (Hz), got {poisson_rate}.")
        dev = self.device
        gen = torch.Generator(device=dev).manual_seed(int(seed))
        np_rng = np.random.default_rng(int(seed))
        v = torch.zeros(batch * n, device=dev)
        i_syn = torch.zeros(batch * n, device=dev) if pop.tau_syn > 0 else None
        drive = torch.zeros(batch * n, device=dev)
        decay_m, decay_s = pop.decay_m, pop.decay_syn
        lam = poisson_rate * pop.dt / 1000.0 * batch * n
        recent: deque = deque(maxlen=max(pop.ref_steps, 1))
        prev = torch.zeros(0, dtype=torch.long, device=dev)  # flat indices (b * n + i) of the last step's spikes
        flats = []
        for t in range(n_steps):
            drive.zero_()
            if prev.numel():
                if batch == 1:
                    self.syn.propagate(prev, None, drive, weight)
                else:
                    self.syn.propagate(prev % n, prev // n, drive, weight)
            in_b = in_src = None
            if inputs is not None:
                in_b, in_m = inputs[t].nonzero(as_tuple=True)
                in_src = in_m + n
                self.syn.propagate(in_src, None if batch == 1 else in_b, drive, weight)
            if lam > 0:
                k = int(np_rng.poisson(lam))
                if k:
                    drive.index_add_(0, torch.randint(batch * n, (k,), generator=gen, device=dev),
                                     torch.full((k,), poisson_weight, device=dev))
            if i_syn is not None:
                i_syn.mul_(decay_s).add_(drive)
                v.mul_(decay_m).add_(i_syn)
            else:
                v.mul_(decay_m).add_(drive)
            if pop.ref_steps and recent:
                v.index_fill_(0, torch.cat(tuple(recent)), pop.v_reset)
            spk = (v >= pop.v_th).nonzero().squeeze(1)
            if spk.numel():
                v.index_fill_(0, spk, pop.v_reset)
            if pop.ref_steps:
                recent.append(spk)
            if record:
                flats.append(spk)
            if on_step is not None:
                on_step(t, spk % n, spk // n, in_src, in_b)
            prev = spk
        if record and flats:
            flat = torch.cat(flats)
            lengths = torch.tensor([f.numel() for f in flats], device=dev)
            tt = segment_ids(lengths, int(lengths.sum()))
        else:
            flat = tt = torch.zeros(0, dtype=torch.long, device=dev)
        return SpikeRecord(t=tt, b=flat // n, n=flat % n, n_steps=n_steps, batch=batch, n_neurons=n, dt=pop.dt)
