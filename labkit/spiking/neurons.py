"""Neuron models of the spiking engine, behind one small interface, with per-neuron parameter vectors.

A network (:class:`~labkit.spiking.lif_network.LIFNetwork`) owns the synapses, drives, spike records
and ``on_step`` hooks; a neuron model owns only what happens inside one step of one population:
given the synaptic and external input of the step (``drive``, one value per neuron), it advances its
state and says which neurons fire. Every parameter may be a scalar or a vector of one value per
neuron, so one network holds several populations (the 80/20 excitatory/inhibitory Izhikevich mix).

* :class:`LIF`: the current-based leaky integrate-and-fire neuron of the liquid (unchanged): exact
  exponential decay of the synaptic current and the membrane, ``v <- v exp(-dt/tau_m) + I``, threshold,
  reset, refractoriness that clamps the potential (``"clamp"``) or only forbids a spike (``"block"``).
* :class:`AdaptiveLIF`: the LIF with a spike-triggered adaptation current ``w`` that each spike raises
  by ``b`` and that decays with ``tau_w``: ``v <- v exp(-dt/tau_m) + I - w``.
* :class:`Izhikevich`: Izhikevich (2003), ``v' = 0.04 v^2 + 5 v + 140 - u + I``, ``u' = a (b v - u)``,
  spike at ``v >= 30`` mV, then ``v = c``, ``u += d``; ``v`` takes two half-steps of ``dt / 2`` per step
  (0.5 ms at the paper's 1 ms) for stability, ``u`` one step with the new ``v``.
  :meth:`Izhikevich.mix` draws the paper's heterogeneous 80/20 network.

Each model has two run paths that perform the same float32 operations in the same order, so that they
give the same spikes: :meth:`NeuronModel.step` (torch, batched, any device) and a code plus a parameter
table for the compiled kernels of :mod:`labkit.spiking.compiled`. A product added to a sum
(``v exp(-dt/tau_m) + I``) is rounded once (a fused multiply-add, which torch's ``add(alpha=)`` does
on the CPU); the compiled path does the same through float64.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from labkit.core.params import ParameterError, check_value

REFRACTORY_MODES = ("clamp", "block")
V_PEAK = 30.0  # Izhikevich's spike cut-off (mV)


def per_neuron(name: str, value, n: int, rule, owner: str) -> np.ndarray:
    """``value`` (a number or one per neuron) as a float64 vector of length ``n``, each entry checked
    against ``rule`` (see :func:`labkit.core.params.check_value`)."""
    if np.ndim(value) == 0:
        return np.full(n, check_value(name, float(value) if isinstance(value, np.floating) else value, rule, owner))
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ParameterError(f"Parameter {name!r} of {owner} must be a number or a vector of one value per "
                             f"neuron (length {n}), got shape {arr.shape}.")
    for x in arr:                                  # the first bad entry raises, in the rule's words
        check_value(name, float(x), rule, owner)
    return arr


def _fused(v: torch.Tensor, decay, x: torch.Tensor, out: torch.Tensor) -> None:
    """``out = v * decay + x`` rounded once: torch's fused ``add(alpha=)`` for one decay for all, and
    through float64 for a decay per neuron (the compiled path rounds the same way)."""
    if isinstance(decay, float):
        torch.add(x, v, alpha=decay, out=out)
    else:
        out.copy_(torch.addcmul(x.double(), v.double(), decay))


class NeuronModel:
    """The interface of a neuron model (see the module docstring).

    ``n`` neurons, step ``dt`` (ms); ``STATE``: the names of the state variables (each one float per
    neuron); ``CODE``: the model's number in the compiled kernels. Subclasses set ``self.params`` (a dict
    of float64 vectors, one value per neuron) and implement :meth:`init_values`, :meth:`constants`,
    :meth:`kernel_rows` and :meth:`step`.
    """

    name = "neuron model"
    STATE: tuple = ()
    PAD: dict = {}   # state values of the padding columns (a resting point that never fires), 0 if not named
    CODE = -1

    def __init__(self, n: int, dt: float):
        self.n = check_value("n", n, (int, 1, None), type(self).__name__)
        self.dt = check_value("dt", dt, (float, 0, None, "neither"), type(self).__name__)
        self.refractory = "clamp"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n}, dt={self.dt})"

    def init_values(self) -> dict:
        """Each state variable's value at the start of a run, one per neuron."""
        raise NotImplementedError

    def constants(self) -> dict:
        """The per-neuron constants of a step: ``name -> (values, padding value, fused)``."""
        raise NotImplementedError

    def kernel_rows(self) -> list:
        """The rows of :meth:`kernel_table` (see :mod:`labkit.spiking.compiled`)."""
        raise NotImplementedError

    def kernel_table(self) -> np.ndarray:
        """The parameters the compiled kernels read, (rows, n) float32."""
        return np.ascontiguousarray(np.stack(self.kernel_rows()).astype(np.float32))

    def init_state(self, batch: int, stride: int, dtype, device) -> dict:
        """The state for ``batch`` samples laid out flat, ``stride`` entries per sample (the neurons, then
        padding columns that never fire), a refractory counter per entry (``"refr"``), and the step's
        constants (``"k"``): a Python float where all neurons share the value, else a tensor laid out as
        the state (float64 of the float32 value where ``fused``, for :func:`_fused`)."""
        def layout(values, pad, dt):
            row = torch.full((stride,), pad, dtype=torch.float64)
            row[: self.n] = torch.as_tensor(np.asarray(values, dtype=np.float32), dtype=torch.float64)
            return row.to(dt).repeat(batch).to(device)

        state = {key: layout(val, self.PAD.get(key, 0.0), dtype) for key, val in self.init_values().items()}
        state["refr"] = torch.zeros(batch * stride, dtype=torch.int32, device=device)
        state["k"] = {key: float(val[0]) if np.all(val == val[0]) else
                      layout(val, pad, torch.float64 if fused else dtype)
                      for key, (val, pad, fused) in self.constants().items()}
        return state

    def step(self, state: dict, drive: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Advance one step in place with this step's input ``drive``; return the flat indices of the
        neurons that fire (``mask`` is scratch space of ``drive``'s shape)."""
        raise NotImplementedError


def _set(x: torch.Tensor, idx: torch.Tensor, value) -> None:
    """``x[idx] = value`` for a scalar or a per-entry tensor."""
    if isinstance(value, float):
        x.index_fill_(0, idx, value)
    else:
        x.index_copy_(0, idx, value.index_select(0, idx).to(x.dtype))


class LIF(NeuronModel):
    """Current-based LIF neurons (times in ms, potentials in mV relative to rest); see the module docstring.

    Defaults are the NALSM liquid's (Ivanov & Michmizos 2021, official code): tau_m = 64 ms, threshold
    20 mV, reset to rest, 2 ms refractory period, 1 ms synaptic current (0: delta synapses).
    """

    name = "lif"
    STATE = ("v", "i_syn")
    CODE = 0

    def __init__(self, n: int, *, tau_m=64.0, v_th=20.0, v_reset=0.0, t_ref=2.0, tau_syn=1.0, dt: float = 1.0,
                 refractory: str = "clamp"):
        super().__init__(n, dt)
        own = type(self).__name__
        self.refractory = check_value("refractory", refractory, list(REFRACTORY_MODES), own)
        p = self.params = {
            "tau_m": per_neuron("tau_m", tau_m, self.n, (float, self.dt, None), own),
            "v_th": per_neuron("v_th", v_th, self.n, float, own),
            "v_reset": per_neuron("v_reset", v_reset, self.n, float, own),
            "t_ref": per_neuron("t_ref", t_ref, self.n, (float, 0, None), own),
            "tau_syn": per_neuron("tau_syn", tau_syn, self.n, (float, 0, None), own),
        }
        if np.any(p["v_reset"] >= p["v_th"]):
            raise ParameterError(f"Parameter 'v_reset' of {own} must lie below v_th for every neuron.")

    def init_values(self) -> dict:
        return {"v": np.zeros(self.n), "i_syn": np.zeros(self.n)}

    def constants(self) -> dict:
        p = self.params
        syn = p["tau_syn"] > 0
        return {"decay_m": (np.exp(-self.dt / p["tau_m"]), 1.0, True),
                "decay_syn": (np.where(syn, np.exp(-self.dt / np.where(syn, p["tau_syn"], 1.0)), 0.0), 0.0, True),
                "v_th": (p["v_th"], math.inf, False), "v_reset": (p["v_reset"], 0.0, False),
                "ref": (np.round(p["t_ref"] / self.dt), 0.0, False)}

    def kernel_rows(self):
        k = self.constants()
        return [k["decay_m"][0], k["decay_syn"][0], self.params["v_th"], self.params["v_reset"], k["ref"][0],
                np.zeros(self.n), np.zeros(self.n)]

    def step(self, state, drive, mask):
        k, v, refr = state["k"], state["v"], state["refr"]
        if np.any(self.params["tau_syn"] > 0):
            _fused(state["i_syn"], k["decay_syn"], drive, state["i_syn"])
            drive = state["i_syn"]
        _fused(v, k["decay_m"], drive, v)
        self._adapt(state)
        ref = k["ref"]
        busy = None if isinstance(ref, float) and ref == 0 else refr > 0
        if busy is not None and self.refractory == "clamp":
            if isinstance(k["v_reset"], float):
                v.masked_fill_(busy, k["v_reset"])
            else:
                torch.where(busy, k["v_reset"], v, out=v)
        torch.ge(v, k["v_th"], out=mask)
        if busy is not None:
            if self.refractory == "block":
                mask &= ~busy
            refr.sub_(busy.to(refr.dtype))
        spk = mask.nonzero().view(-1)
        _set(v, spk, k["v_reset"])
        if busy is not None:
            _set(refr, spk, ref)
        self._after_spikes(state, spk)
        return spk

    def _adapt(self, state) -> None:
        """Hook for :class:`AdaptiveLIF` (after the membrane update)."""

    def _after_spikes(self, state, spk) -> None:
        """Hook for :class:`AdaptiveLIF` (after the spikes are known)."""


class AdaptiveLIF(LIF):
    """LIF neurons with a spike-triggered adaptation current ``w`` (mV per step, as the drive): each step
    ``v <- v exp(-dt/tau_m) + I - w``, then ``w <- w exp(-dt/tau_w)``, and a spike raises ``w`` by ``b``."""

    name = "adaptive_lif"
    STATE = ("v", "i_syn", "w")
    CODE = 1

    def __init__(self, n: int, *, tau_w=100.0, b=1.0, **lif):
        super().__init__(n, **lif)
        own = type(self).__name__
        self.params["tau_w"] = per_neuron("tau_w", tau_w, self.n, (float, 0, None, "neither"), own)
        self.params["b"] = per_neuron("b", b, self.n, float, own)

    def init_values(self) -> dict:
        return {**super().init_values(), "w": np.zeros(self.n)}

    def constants(self) -> dict:
        return {**super().constants(), "decay_w": (np.exp(-self.dt / self.params["tau_w"]), 0.0, False),
                "b": (self.params["b"], 0.0, False)}

    def kernel_rows(self):
        rows = super().kernel_rows()
        k = self.constants()
        rows[5], rows[6] = k["decay_w"][0], k["b"][0]
        return rows

    def _adapt(self, state):
        state["v"].sub_(state["w"])
        state["w"].mul_(state["k"]["decay_w"])

    def _after_spikes(self, state, spk):
        w, b = state["w"], state["k"]["b"]
        w.index_add_(0, spk, torch.full(spk.shape, b, dtype=w.dtype, device=w.device) if isinstance(b, float)
                     else b.index_select(0, spk))


class Izhikevich(NeuronModel):
    """Izhikevich (2003) neurons with per-neuron a, b, c, d (see the module docstring); ``v0``: the
    starting potential (``u`` starts at ``b v0``). The drive is a current held over the step (mV/ms)."""

    name = "izhikevich"
    STATE = ("v", "u")
    PAD = {"v": -70.0}    # with u = 0, a = b = 0 and no input: the stable rest of 0.04 v^2 + 5 v + 140 = 0
    CODE = 2

    def __init__(self, n: int, *, a=0.02, b=0.2, c=-65.0, d=8.0, v0=-65.0, dt: float = 1.0):
        super().__init__(n, dt)
        own = type(self).__name__
        self.params = {"a": per_neuron("a", a, self.n, (float, 0, None), own),
                       "b": per_neuron("b", b, self.n, float, own),
                       "c": per_neuron("c", c, self.n, (float, None, V_PEAK, "left"), own),
                       "d": per_neuron("d", d, self.n, float, own),
                       "v0": per_neuron("v0", v0, self.n, (float, None, V_PEAK, "left"), own)}

    @classmethod
    def mix(cls, n_exc: int = 800, n_inh: int = 200, *, seed: int = 0, dt: float = 1.0) -> Izhikevich:
        """The paper's heterogeneous network: excitatory a=0.02, b=0.2, c=-65+15r^2, d=8-6r^2; inhibitory
        a=0.02+0.08r, b=0.25-0.05r, c=-65, d=2 (r uniform in [0, 1) per neuron); excitatory neurons first."""
        rng = np.random.default_rng(check_value("seed", seed, "seed", "Izhikevich.mix"))
        re, ri = rng.random(n_exc), rng.random(n_inh)
        return cls(n_exc + n_inh, a=np.r_[np.full(n_exc, 0.02), 0.02 + 0.08 * ri],
                   b=np.r_[np.full(n_exc, 0.2), 0.25 - 0.05 * ri], c=np.r_[-65 + 15 * re ** 2, np.full(n_inh, -65.0)],
                   d=np.r_[8 - 6 * re ** 2, np.full(n_inh, 2.0)], dt=dt)

    def init_values(self) -> dict:
        v0 = self.params["v0"].astype(np.float32)
        return {"v": v0, "u": self.params["b"].astype(np.float32) * v0}

    def constants(self) -> dict:
        p = self.params
        return {"a_dt": (p["a"] * self.dt, 0.0, False), "b": (p["b"], 0.0, False), "c": (p["c"], -65.0, False),
                "d": (p["d"], 0.0, False)}

    def kernel_rows(self):
        p = self.params
        return [p["a"] * self.dt, p["b"], p["c"], p["d"], np.full(self.n, self.dt / 2)]

    def step(self, state, drive, mask):
        k, v, u = state["k"], state["v"], state["u"]
        half = self.dt / 2
        for _ in range(2):                 # v += h (0.04 v^2 + 5 v + 140 - u + I), in this order
            dv = torch.mul(v, 0.04).add_(5.0).mul_(v).add_(140.0).sub_(u).add_(drive)
            v.add_(dv.mul_(half))
        du = torch.mul(v, k["b"]).sub_(u)
        u.add_(du.mul_(k["a_dt"]))
        torch.ge(v, V_PEAK, out=mask)
        spk = mask.nonzero().view(-1)
        _set(v, spk, k["c"])
        d = k["d"]
        u.index_add_(0, spk, torch.full(spk.shape, d, dtype=u.dtype, device=u.device) if isinstance(d, float)
                     else d.index_select(0, spk))
        return spk


MODELS = {m.name: m for m in (LIF, AdaptiveLIF, Izhikevich)}
