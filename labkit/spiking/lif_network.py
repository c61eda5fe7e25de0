"""Batched recurrent networks of spiking neurons with sparse, event-driven synapses (the spiking engine).

The membrane of neuron ``i`` (potential relative to rest, in mV) follows the current-based LIF model
used by the NALSM liquid (Ivanov & Michmizos 2021, eq. 1; Maass, Natschläger & Markram 2002)::

    tau_m dv_i/dt = -v_i + tau_m * I_i(t),       spike when v_i >= v_th, then v_i = v_reset,
                                                  and refractory for t_ref
    tau_syn dI_i/dt = -I_i + sum_j w_ij sum_k delta(t - t_j^k - dt)

integrated exactly over each step ``dt`` for the linear parts: ``v <- v exp(-dt/tau_m) + I`` where
``I`` is the synaptic input of the step in mV. A spike of neuron ``j`` at step ``t`` reaches its
targets at step ``t + 1`` (one step of synaptic delay). With ``tau_syn = 0`` the synapses are
instantaneous (delta currents): each spike moves the target's potential by ``w_ij`` mV.

Refractoriness comes in the two forms found in the literature: ``"clamp"`` holds the potential at
``v_reset`` for ``t_ref`` (Brian2's ``unless refractory``, Maass et al. 2002); ``"block"`` lets the
potential integrate its inputs but forbids a spike (the NALSM official code, ``NALSM_LIF_v1.py``).

Synapses (:mod:`labkit.spiking.synapses`) are kept as a padded table of targets per source: a step
gathers the rows of the sources that spiked and scatters them onto the targets in one
``scatter_add_``, so its cost grows with the number of synaptic events, not with ``N^2``. Input
spike trains through frozen weights are turned into currents for many steps at once by one matrix
product.

Delays: with ``delay`` (ms, per synapse or one for all, whole steps up to ``max_delay``) a spike of
``j`` at step ``t`` reaches a recurrent target at ``t + delay / dt`` instead (input channels deliver in
one step as before); see :mod:`labkit.spiking.engine`. Plasticity hooks still see the spikes at the
step they are emitted. The neurons may be any model of :mod:`labkit.spiking.neurons` (a
:class:`LIFPopulation` stands for :class:`~labkit.spiking.neurons.LIF` with its parameters).

Run paths (``engine=``): the torch paths below, and the compiled CPU path
(:mod:`labkit.spiking.compiled`), which gives the same spikes; ``"auto"`` picks (see
:func:`labkit.spiking.engine.choose_engine`).

The step loop issues many small operations: on a CPU, splitting each over threads costs more in
synchronisation than it saves (and much more on a busy machine), so a run holds one CPU thread
(:func:`labkit.core.threads.threads`) and restores the caller's setting afterwards.

Everything is batched: ``B`` independent copies of the network (one per input sample) advance
together as tensor operations on the device, and each step runs a fixed handful of operations
(no Python loop over neurons, samples or synapses).
"""
from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from labkit.core.params import ParameterError, check_args, check_value
from labkit.core.threads import threads
from labkit.spiking import engine as engines
from labkit.spiking.neurons import LIF, REFRACTORY_MODES, NeuronModel
from labkit.spiking.synapses import SINKS, Synapses, segment_ids


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
    refractory: str = "clamp"

    def __post_init__(self):
        positive = (float, 0, None, "neither")
        check_args("LIFPopulation", vars(self), {
            "n": (int, 1, None), "tau_m": positive, "v_th": float, "tau_syn": (float, 0, None),
            "t_ref": (float, 0, None), "refractory": list(REFRACTORY_MODES)})
        # dt no longer than tau_m, and the reset below the threshold
        check_value("dt", self.dt, (float, 0, self.tau_m, "right"), "LIFPopulation")
        check_value("v_reset", self.v_reset, (float, None, self.v_th, "left"), "LIFPopulation")

    @property
    def decay_m(self) -> float:
        return math.exp(-self.dt / self.tau_m)

    @property
    def decay_syn(self) -> float:
        return math.exp(-self.dt / self.tau_syn) if self.tau_syn > 0 else 0.0

    @property
    def ref_steps(self) -> int:
        return int(round(self.t_ref / self.dt))

    def model(self) -> LIF:
        """The same neurons as a :class:`~labkit.spiking.neurons.LIF` model (what the network runs)."""
        return LIF(self.n, tau_m=self.tau_m, v_th=self.v_th, v_reset=self.v_reset, t_ref=self.t_ref,
                   tau_syn=self.tau_syn, dt=self.dt, refractory=self.refractory)


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


def _to_record(flats: list, n_steps: int, batch: int, n: int, stride: int, dt: float, dev) -> SpikeRecord:
    if flats:
        flat = torch.cat(flats)
        lengths = torch.tensor([f.numel() for f in flats], device=dev)
        tt = segment_ids(lengths, int(lengths.sum())) if flat.numel() else flat
    else:
        flat = tt = torch.zeros(0, dtype=torch.long, device=dev)
    return SpikeRecord(t=tt, b=flat // stride, n=flat % stride, n_steps=n_steps, batch=batch, n_neurons=n, dt=dt)


class PoissonDrive:
    """Independent Poisson events onto every neuron of every sample, ``lam`` per neuron and step on average,
    each moving the input by ``weight``: drawn a chunk of steps at a time as a current (steps, batch, n).

    A chunk's events are drawn as their total, Poisson(lam x cells), placed uniformly at random over the
    chunk's cells and counted: exactly independent Poisson counts per cell, at the cost of one random
    integer per event (a Poisson draw per cell costs several times more at the rates of a liquid's drive).
    """

    def __init__(self, batch: int, n: int, lam: float, weight: float, seed: int, device):
        self.batch, self.n, self.lam, self.weight, self.device = batch, n, float(lam), float(weight), device
        self.rng = np.random.default_rng(int(seed))
        self.gen = torch.Generator().manual_seed(int(seed))

    def current(self, steps: int, dtype=torch.float32) -> torch.Tensor:
        """The next ``steps`` steps of drive, (steps, batch, n), counted ~4M events at a time (bounded memory)."""
        per = max(1, int((1 << 22) / (self.batch * self.n * max(1.0, self.lam))))
        parts = [self._counts(min(per, steps - s)) for s in range(0, steps, per)]
        counts = parts[0] if len(parts) == 1 else torch.cat(parts)
        return (counts.to(dtype) * self.weight).to(self.device)

    def _counts(self, steps: int) -> torch.Tensor:
        cells = steps * self.batch * self.n
        where = torch.randint(cells, (int(self.rng.poisson(self.lam * cells)),), generator=self.gen)
        return torch.bincount(where, minlength=cells).view(steps, self.batch, self.n)


class LIFNetwork:
    """A recurrent population driven by input spike trains, external currents and/or Poisson events.

    ``pop``: a :class:`LIFPopulation` or any neuron model (:mod:`labkit.spiking.neurons`). ``synapses``
    has sources ``0..N-1`` (the population) followed by ``n_inputs`` input channels. ``delay``: the
    recurrent synapses' delays in ms (one for all or one per synapse of ``synapses``, those of input
    channels one step; whole multiples of ``dt``, at least one step, at most ``max_delay`` when given);
    None: one step.
    """

    def __init__(self, pop: LIFPopulation | NeuronModel, synapses: Synapses, *, delay=None,
                 max_delay: float | None = None, device="cpu"):
        if synapses.n_post != pop.n or synapses.n_src < pop.n:
            raise ValueError(f"synapses must target the population's {pop.n} neurons and list them first among "
                             f"their sources, got n_post={synapses.n_post}, n_src={synapses.n_src}.")
        self.pop, self.syn, self.device = pop, synapses, torch.device(device)
        self.neurons = pop.model() if isinstance(pop, LIFPopulation) else pop
        self.n_inputs = synapses.n_src - pop.n
        n_rec = int(synapses.indptr[pop.n])
        pre, post = synapses.pre[:n_rec].cpu().numpy(), synapses.post[:n_rec].cpu().numpy()
        steps = np.ones(synapses.nnz, np.int32) if delay is None else \
            engines.delay_steps(delay, synapses.nnz, self.neurons.dt, max_delay)
        if np.ndim(delay) and np.any(steps[n_rec:] != 1):
            raise ParameterError(f"Parameter 'delay' of LIFNetwork must be one step (dt = {self.neurons.dt} ms) for "
                                 "the synapses of input channels, which deliver in the next step.")
        steps = steps[:n_rec]
        self.delay_steps = steps
        self._order, self._seg = engines.delay_order(pre, post, steps, pop.n)
        self.max_delay_steps = self._seg.shape[1] - 1
        self._post = None                                # the compiled path's targets, in delay order
        # the recurrent synapses of each delay d as a table of their own (ids: their place in synapses)
        self._by_delay = []
        for d in range(1, self.max_delay_steps + 1):
            ids = torch.as_tensor(np.nonzero(steps == d)[0], device=synapses.post.device)
            part = synapses if delay is None else Synapses(synapses.pre[ids], synapses.post[ids],
                                                           synapses.weight[ids], synapses.n_src, synapses.n_post)
            self._by_delay.append((ids, part))

    def _check(self, n_steps, batch, inputs, current, poisson_rate, weight, chunk):
        check_args("LIFNetwork.run", dict(n_steps=n_steps, batch=batch, chunk=chunk, poisson_rate=poisson_rate),
                   {"n_steps": (int, 1, None), "batch": (int, 1, None), "chunk": (int, 1, None),
                    "poisson_rate": (float, 0, None)})
        if inputs is not None and (inputs.ndim != 3 or tuple(inputs.shape) != (n_steps, batch, self.n_inputs)):
            raise ValueError(f"inputs must have shape (n_steps, batch, n_inputs) = ({n_steps}, {batch}, "
                             f"{self.n_inputs}), got {tuple(inputs.shape)}.")
        if current is not None and (current.ndim != 3 or tuple(current.shape) != (n_steps, batch, self.pop.n)):
            raise ValueError(f"current must have shape (n_steps, batch, n_neurons) = ({n_steps}, {batch}, "
                             f"{self.pop.n}), got {tuple(current.shape)}.")
        if weight is not None and tuple(weight.shape) not in ((self.syn.nnz,), (batch, self.syn.nnz)):
            raise ValueError(f"weight must have shape (nnz,) or (batch, nnz) = ({batch}, {self.syn.nnz}), got "
                             f"{tuple(weight.shape)}.")

    def run(self, n_steps: int, batch: int = 1, *, inputs: torch.Tensor | None = None,
            current: torch.Tensor | None = None, poisson_rate: float = 0.0, poisson_weight: float = 0.0,
            seed: int = 0, weight: torch.Tensor | None = None, on_step: Callable | None = None,
            record: bool = True, chunk: int = 64, engine: str = "auto") -> SpikeRecord:
        """Simulate ``n_steps`` steps of ``batch`` independent copies from rest.

        inputs: (n_steps, batch, n_inputs) spike trains of the input channels (bool or 0/1).
        current: (n_steps, batch, N) external input (mV added to the synaptic input of each step).
        poisson_rate, poisson_weight: every neuron also receives independent Poisson events at this
            rate (Hz), each moving its input by ``poisson_weight`` mV (a Poisson number of events for
            each chunk of steps, scattered uniformly over its steps, samples and neurons: exactly
            independent Poisson counts per neuron and step; see :class:`PoissonDrive`).
        weight: weights overriding ``synapses.weight``: (nnz,) or per sample (batch, nnz).
        on_step(t, res_src, res_b, in_src, in_b): called after each step with the spikes emitted
            (population) and received (inputs); plasticity rules hook in here and may change
            ``weight`` in place.
        chunk: steps of input current computed per matrix product (memory: chunk * batch * N floats). The
            Poisson drive is drawn a chunk at a time, so with ``poisson_rate`` the draws (not their
            statistics) depend on ``chunk`` as well as on ``seed``.
        engine: ``"compiled"``, ``"torch"`` or ``"auto"`` (see :func:`labkit.spiking.engine.choose_engine`).

        On torch, frozen weights and no hook take the fast path (padded tables, one scatter per step and
        delay); the general path walks the synapse list so that weights may change between steps.
        """
        self._check(n_steps, batch, inputs, current, poisson_rate, weight, chunk)
        path = engines.choose_engine(engine, self.device, batch, on_step is not None,
                                     self.syn.weight.dtype == torch.float32)
        dev = self.device
        if inputs is not None:
            inputs = inputs.to(dev)
        if current is not None:
            current = current.to(dev)
        drive = PoissonDrive(batch, self.pop.n, poisson_rate * self.pop.dt / 1000.0, poisson_weight, seed,
                             self.device) if poisson_rate > 0 else None
        self._w_in = None
        with threads(1, device=dev):
            if path == "compiled":
                return self._run_compiled(n_steps, batch, inputs, current, drive, weight, record, chunk)
            if weight is None and on_step is None:
                return self._run_fast(n_steps, batch, inputs, current, drive, record, chunk)
            return self._run_general(n_steps, batch, inputs, current, drive, weight, on_step, record, chunk)

    def _input_current(self, inputs, t0, t1, batch, stride, dtype):
        """Current (t1 - t0, batch, stride) from the input channels' spikes through frozen weights."""
        n = self.pop.n
        if self._w_in is None:
            e0 = int(self.syn.indptr[n])
            w_in = torch.zeros(self.n_inputs, stride, dtype=dtype, device=self.device)
            w_in.index_put_((self.syn.pre[e0:] - n, self.syn.post[e0:]), self.syn.weight[e0:].to(dtype),
                            accumulate=True)
            self._w_in = w_in
        x = inputs[t0:t1].reshape(-1, self.n_inputs).to(dtype)
        return (x @ self._w_in).view(t1 - t0, batch, stride)

    def _uses_inputs(self, inputs) -> bool:
        """Whether input spike trains reach the population (given, and wired)."""
        return inputs is not None and self.n_inputs > 0 and int(self.syn.indptr[self.pop.n]) < self.syn.nnz

    def _external(self, inputs, current, poisson, n_steps, batch, stride, dtype):
        """``ext(t0, t1)``: the external input of steps ``t0 .. t1 - 1`` (inputs through frozen weights,
        current, Poisson drive), (t1 - t0, batch, stride), or None when there is none."""
        n = self.pop.n
        use_inputs = self._uses_inputs(inputs)
        if not (use_inputs or current is not None or poisson is not None):
            return lambda t0, t1: None

        def ext(t0, t1):
            out = self._input_current(inputs, t0, t1, batch, stride, dtype) if use_inputs else \
                torch.zeros(t1 - t0, batch, stride, dtype=dtype, device=self.device)
            if current is not None:
                out[:, :, :n] += current[t0:t1].to(dtype)
            if poisson is not None:
                out[:, :, :n] += poisson.current(t1 - t0, dtype)
            return out
        return ext

    def _start(self, batch):
        """Flat state, drive and scratch of a torch run, ``n + SINKS`` entries per sample."""
        stride = self.pop.n + SINKS                      # sink columns per sample (padding targets)
        dtype = self.syn.weight.dtype
        state = self.neurons.init_state(batch, stride, dtype, self.device)
        drive = torch.zeros(batch * stride, dtype=dtype, device=self.device)
        mask = torch.zeros(batch * stride, dtype=torch.bool, device=self.device)
        empty = torch.zeros(0, dtype=torch.long, device=self.device)
        return stride, dtype, state, drive, mask, deque([empty] * self.max_delay_steps, maxlen=self.max_delay_steps)

    def _run_fast(self, n_steps, batch, inputs, current, poisson, record, chunk):
        n = self.pop.n
        stride, dtype, state, drive, mask, past = self._start(batch)
        tables = [(part if part is self.syn else part.with_weight(self.syn.weight.index_select(0, ids))).ell(n, SINKS)
                  for ids, part in self._by_delay]
        drive2 = drive.view(batch, stride)
        external = self._external(inputs, current, poisson, n_steps, batch, stride, dtype)
        ext = None
        flats = []
        for t in range(n_steps):
            c = t % chunk
            if c == 0:
                ext = external(t, min(t + chunk, n_steps))
            if ext is not None:
                drive2.copy_(ext[c])
            else:
                drive.zero_()
            for (tgt, w), spk in zip(tables, reversed(past), strict=True):     # delay 1 (the last step's spikes) first
                if not spk.numel():
                    continue
                if batch == 1:
                    drive.scatter_add_(0, tgt.index_select(0, spk).view(-1), w.index_select(0, spk).view(-1))
                else:
                    i = spk % stride
                    idx = tgt.index_select(0, i)
                    idx += (spk - i).unsqueeze(1)
                    drive.scatter_add_(0, idx.view(-1), w.index_select(0, i).view(-1))
            spk = self.neurons.step(state, drive, mask)
            past.append(spk)
            if record:
                flats.append(spk)
        return _to_record(flats if record else [], n_steps, batch, n, stride, self.pop.dt, self.device)

    def _run_general(self, n_steps, batch, inputs, current, poisson, weight, on_step, record, chunk):
        n = self.pop.n
        stride, dtype, state, drive, mask, past = self._start(batch)
        w_all = self.syn.weight if weight is None else weight
        drive2 = drive.view(batch, stride)
        flats = []
        ext = None
        for t in range(n_steps):
            drive.zero_()
            if current is not None:
                drive2[:, :n] += current[t].to(dtype)
            if poisson is not None:
                if t % chunk == 0:                       # drawn in the same chunks as the fast path
                    ext = poisson.current(min(t + chunk, n_steps) - t, dtype)
                drive2[:, :n] += ext[t % chunk]
            for (ids, part), spk in zip(self._by_delay, reversed(past), strict=True):
                if spk.numel() and part.nnz:             # a delay that no synapse has delivers nothing
                    w = weight if part is self.syn else w_all.index_select(-1, ids)
                    part.propagate(spk % stride, None if batch == 1 else spk // stride, drive, w, stride)
            in_b = in_src = None
            if inputs is not None and self.n_inputs:
                in_b, in_m = inputs[t].nonzero(as_tuple=True)
                in_src = in_m + n
                self.syn.propagate(in_src, None if batch == 1 else in_b, drive, weight, stride, inputs=True)
            drive2[:, n:] = 0.0          # the sink columns absorbed padding of plastic weights
            spk = self.neurons.step(state, drive, mask)
            past.append(spk)
            if record:
                flats.append(spk)
            if on_step is not None:
                on_step(t, spk % stride, spk // stride, in_src, in_b)
        return _to_record(flats if record else [], n_steps, batch, n, stride, self.pop.dt, self.device)

    def _run_compiled(self, n_steps, batch, inputs, current, poisson, weight, record, chunk):
        """The compiled path (:mod:`labkit.spiking.compiled`): the same external input as the torch path,
        drawn in the same chunks, then a kernel call per chunk (one call for the whole run when the only
        external input is ``current``)."""
        n, dtype = self.pop.n, self.syn.weight.dtype
        n_rec = int(self.syn.indptr[n])
        if self._post is None:
            self._identity = bool(np.array_equal(self._order, np.arange(n_rec)))
            self._post = np.ascontiguousarray(self.syn.post[:n_rec].cpu().numpy()[self._order], dtype=np.int32)
        w = (self.syn.weight if weight is None else weight).detach().cpu()
        w = (w.view(1, -1) if w.ndim == 1 else w)[:, :n_rec].numpy()
        w = np.ascontiguousarray(w if self._identity else w[:, self._order], dtype=np.float32)
        if self._uses_inputs(inputs) or poisson is not None:
            external = self._external(inputs, current, poisson, n_steps, batch, n + SINKS, dtype)  # as torch

            def ext_np(t0, t1):
                x = external(t0, t1)
                return None if x is None else x[:, :, :n].cpu().numpy()
        else:
            cur = None if current is None else np.ascontiguousarray(current.to(dtype).cpu().numpy())
            ext_np, chunk = (lambda t0, t1: None if cur is None else cur[t0:t1]), n_steps
        t, b, i = engines.run_compiled(self.neurons, self._seg, self._post, w, n_steps, batch, ext_np, chunk)
        if not record:
            t = b = i = np.zeros(0, np.int64)
        as_long = lambda a: torch.as_tensor(a.astype(np.int64), device=self.device)  # noqa: E731
        return SpikeRecord(t=as_long(t), b=as_long(b), n=as_long(i), n_steps=n_steps, batch=batch, n_neurons=n,
                           dt=self.pop.dt)
