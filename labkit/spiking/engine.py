"""Choosing a run path of the spiking engine, and what both paths share: synaptic delays.

``engine="compiled"`` runs the network in Numba kernels (:mod:`labkit.spiking.compiled`, CPU only),
``"torch"`` as batched tensor operations (any device), ``"auto"`` picks the compiled path on the CPU at
small batch and torch on CUDA/MPS and at large batch, where one tensor operation covers many samples
(and for runs with an ``on_step`` hook, which the kernels cannot call). Without Numba the engine warns
once and runs on torch.

Delays: synapse ``e`` delivers a spike of step ``t`` at step ``t + delay[e]`` (in steps, 1 to ``D``,
the longest delay; a ring of the last ``D`` steps' spikes holds them in flight). Both paths group each
source's synapses by delay and deliver, at each step, the spikes of ``t - 1``, then ``t - 2``, ... ``t - D``,
so they add the same weights in the same order.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value
from labkit.spiking import compiled

ENGINES = ("auto", "compiled", "torch")
AUTO_MAX_BATCH = 8  # above this batch, "auto" takes the torch path (its per-step cost is shared by the samples)
_warned = []


def choose_engine(engine: str, device, batch: int, hook: bool, float32: bool = True) -> str:
    """``"compiled"`` or ``"torch"`` for a run (see the module docstring); raises for an unknown engine
    and for ``"compiled"`` off the CPU, with an ``on_step`` hook or with weights other than float32 (the
    kernels compute in float32; ``"auto"`` runs other precisions on torch)."""
    engine = check_value("engine", engine, list(ENGINES), "LIFNetwork.run")
    cpu = torch.device(device).type == "cpu"
    if engine == "compiled":
        if not cpu:
            raise ParameterError(f"Parameter 'engine' of LIFNetwork.run: 'compiled' runs on the CPU only, but the "
                                 f"network is on {device}; use 'torch' or 'auto'.")
        if hook:
            raise ParameterError("Parameter 'engine' of LIFNetwork.run: 'compiled' cannot call an on_step hook "
                                 "between steps; use 'torch' or 'auto' for plastic runs.")
        if not float32:
            raise ParameterError("Parameter 'engine' of LIFNetwork.run: 'compiled' computes in float32, but the "
                                 "synapse weights are not float32; use 'torch' or 'auto'.")
    if engine == "torch" or (engine == "auto" and (not cpu or hook or not float32 or batch > AUTO_MAX_BATCH)):
        return "torch"
    if compiled.NUMBA is None:
        if not _warned:
            warnings.warn("Numba could not be imported: the spiking engine runs on its torch path.", RuntimeWarning,
                          stacklevel=3)
            _warned.append(True)
        return "torch"
    return "compiled"


def delay_steps(delay, nnz: int, dt: float, max_delay: float | None = None) -> np.ndarray:
    """Per-synapse delays in ms (a number or one per synapse) as whole steps of ``dt``, each at least one
    step and at most ``max_delay`` ms (when given)."""
    d = np.asarray(delay, dtype=np.float64)
    if d.ndim == 0:
        d = np.full(nnz, float(d))
    if d.shape != (nnz,):
        raise ParameterError(f"Parameter 'delay' must be a number or one delay per synapse ({nnz}), "
                             f"got shape {d.shape}.")
    if nnz == 0:
        return np.zeros(0, np.int32)
    if not np.all(np.isfinite(d)):
        raise ParameterError("Parameter 'delay' must hold finite delays in ms.")
    steps = np.round(d / dt)
    if not np.allclose(steps * dt, d, rtol=0, atol=1e-9 * max(1.0, dt)):
        bad = d[np.argmax(np.abs(steps * dt - d))]
        raise ParameterError(f"Parameter 'delay' must be whole multiples of dt = {dt} ms, got {bad} ms.")
    if steps.min() < 1:
        raise ParameterError(f"Parameter 'delay' must be at least one step (dt = {dt} ms), got {d.min()} ms.")
    if max_delay is not None:
        check_value("max_delay", max_delay, (float, dt, None))
        if d.max() > max_delay + 1e-9:
            raise ParameterError(f"Parameter 'delay' must be at most max_delay = {max_delay} ms, got {d.max()} ms.")
    return steps.astype(np.int32)


def delay_order(pre: np.ndarray, post: np.ndarray, steps: np.ndarray, n_src: int):
    """The order of the synapses grouped by source, then delay, then target, and the row pointers
    ``seg`` (n_src, D + 1): the synapses of source ``j`` with delay ``d`` are ``seg[j, d-1]:seg[j, d]``
    of that order."""
    dmax = int(steps.max()) if steps.size else 1
    order = np.lexsort((post, steps, pre))
    counts = np.zeros((n_src, dmax), np.int64)
    np.add.at(counts, (pre, steps - 1), 1)
    seg = np.zeros((n_src, dmax + 1), np.int64)
    seg[:, 1:] = np.cumsum(counts, axis=1)
    seg += np.r_[0, np.cumsum(counts.sum(1))[:-1]][:, None]
    return order, seg


def run_compiled(model, seg, post, weight, n_steps: int, batch: int, external, chunk: int):
    """Run ``model`` over the compiled path: ``external(t0, t1)`` gives the external input of steps
    ``t0 .. t1 - 1`` as (t1 - t0, batch, n) float32 (or None); returns the spikes' (step, sample, neuron)."""
    run = compiled.CompiledRun(model, batch, seg, post, weight)
    parts = [run.advance(external(t0, min(t0 + chunk, n_steps)), min(chunk, n_steps - t0))
             for t0 in range(0, n_steps, chunk)]
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
