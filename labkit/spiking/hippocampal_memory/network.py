"""A spiking CA3 content-addressable memory learned by STDP (after Casanueva-Morato et al. 2024), on the
labkit spiking engine (:class:`~labkit.spiking.lif_network.LIFNetwork` with per-neuron parameters and
per-synapse delays, :class:`~labkit.spiking.plasticity.AstroSTDP` without astrocyte).

One cue neuron per address (one-hot), one content neuron per bit. Populations, in index order:

* ``Ic`` (n_cues), ``Ik`` (n_bits), ``If`` (n_bits): input relays, driven by the operations' pulses
  (cue, content to learn, fragment to recall from);
* ``C`` (n_cues): CA3 cue neurons, with lateral inhibition among them;
* ``K`` (n_bits): CA3 content neurons that a cue recalls (plastic ``C -> K``);
* ``Kf`` (n_bits): CA3 content neurons that recall addresses (plastic ``Kf -> C``);
* ``A`` (n_cues), ``O`` (n_bits): outputs (address out, content out).

Static routing delays (ms): ``Ic -> C`` 2.0, ``Ik -> Kf`` 1.8, ``Ik -> K`` 2.2, ``If -> Kf`` 1.8,
``C -> A`` and ``K -> O`` 3.0, lateral ``C -> C`` 0.1; plastic ``C -> K`` 1.0 and ``Kf -> C`` 1.0.
So a 1 ms cue pulse at ``t`` fires ``C`` at ``t + 2``, ``A`` at ``t + 5`` (the paper's address latency),
``K`` at ``t + 3`` and ``O`` at ``t + 6`` (its content latency).

Learning: cue and content held 3 ms; every relay fires each 1.1 ms (1 ms refractory). Within each
cycle ``Kf`` fires 0.2 ms before ``C`` and ``C`` 0.2 ms before ``K``, so pair STDP (eta = A = 6 mV,
trace jump 1, tau 3 ms, weights in [0, 6], the paper's values) ends each hold on a potentiation of
``C -> K`` and ``Kf -> C`` for the content's bits. Forgetting: an old bit that the cue still recalls
fires 1.0 ms after each cue spike, 0.1 ms before the next, so the next cue spike depresses it below
threshold (pre after post); a second cycle takes it to 0.

Where this differs from the paper's network (whose definition this file does not copy): synapses are
delta currents (tau_syn = 0: a spike moves the target by ``w`` mV in the next step; the paper's 0.3 ms
current spreads that over three 0.1 ms steps); a fragment enters through its own relays ``If`` (the
paper gates its content population by cue activity); plasticity is switched on for learning operations
only (traces start from zero at each), else recall by content would write the fragment's other bits into
every address it returns; and ``Kf -> C`` is not forgotten (a re-learned address keeps its old bits for
recall by content; recall by cue is exact).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from labkit.core.params import ParameterError, check_args, check_value
from labkit.spiking.lif_network import LIFNetwork
from labkit.spiking.neurons import LIF
from labkit.spiking.plasticity import AstroSTDP, STDPParams
from labkit.spiking.synapses import Synapses

DT = 0.1                     # ms
W_MAX = 6.0                  # mV: STDP weight ceiling (the paper's w_max) and recall strength
V_TH = 3.0                   # mV above rest
T_REF = 1.0                  # ms
HOLD = 3.0                   # ms: cue and content held while learning
PULSE = 1.0                  # ms: recall pulse
W_ROUTE = 10.0               # mV: static one-to-one routing, one spike fires the target
DRIVE = 10.0                 # mV per step into a relay while its pulse lasts
MIN_SPACING = {"learn": 7.0, "recall_cue": 6.0, "recall_content": 6.0}   # ms to the next operation's onset
OUT_LAG = 3.0                # ms: outputs lag their CA3 neurons
PLASTIC_WINDOW = 6.0         # ms after a learning onset during which STDP runs
LATENCY = {"address": 5.0, "content": 6.0}   # the paper's recall-by-cue latencies (ms)
DELAYS = {"Ic>C": 2.0, "Ik>Kf": 1.8, "Ik>K": 2.2, "If>Kf": 1.8, "C>A": 3.0, "K>O": 3.0, "C>C": 0.1,
          "C>K": 1.0, "Kf>C": 1.0}
CONTROLS = ("none", "no_learning")
POPS = ("Ic", "Ik", "If", "C", "K", "Kf", "A", "O")
OPS = tuple(MIN_SPACING)


@dataclass
class Op:
    """One operation: ``kind`` in :data:`OPS`, onset (ms), cue per sample (B,) and pattern per sample (B, n_bits)."""

    kind: str
    onset: float
    cue: np.ndarray | None = None
    pattern: np.ndarray | None = None


@dataclass
class MemoryRun:
    """What a sequence of operations returned: per operation, the addresses and content bits that fired
    on the outputs (``addresses`` (n_ops, B, n_cues), ``contents`` (n_ops, B, n_bits), bool), and the first
    output latencies (ms, NaN where none fired); the spike record and the operations."""

    ops: list
    addresses: np.ndarray
    contents: np.ndarray
    address_latency: np.ndarray
    content_latency: np.ndarray
    record: object
    n_steps: int


class CA3Memory:
    """The cue-content memory of ``n_cues`` addresses and ``n_bits`` content bits, ``batch`` independent
    copies (per-sample weights). ``control="no_learning"`` runs without STDP (the null: nothing is stored)."""

    def __init__(self, n_cues: int, n_bits: int, *, batch: int = 1, control: str = "none", device="cpu"):
        check_args("CA3Memory", dict(n_cues=n_cues, n_bits=n_bits, batch=batch, control=control),
                   {"n_cues": (int, 1, 100_000), "n_bits": (int, 1, 100_000), "batch": (int, 1, 100_000),
                    "control": list(CONTROLS)})
        self.n_cues, self.n_bits, self.batch, self.control = n_cues, n_bits, batch, control
        self.device = torch.device(device)
        sizes = dict(zip(POPS, (n_cues, n_bits, n_bits, n_cues, n_bits, n_bits, n_cues, n_bits), strict=True))
        self.offset, start = {}, 0
        for name, size in sizes.items():
            self.offset[name] = np.arange(start, start + size)
            start += size
        self.n = start
        self._build()
        self.weight = self.syn.weight.repeat(batch, 1).contiguous()

    def _build(self) -> None:
        o, M = self.offset, self.n_bits
        pre, post, w, d = [], [], [], []

        def add(a, b, weight, delay, *, full=False):
            a, b = (np.repeat(a, len(b)), np.tile(b, len(a))) if full else (a, b)
            pre.append(a)
            post.append(b)
            w.append(np.full(len(a), weight))
            d.append(np.full(len(a), DELAYS[delay]))

        for a, b, key in (("Ic", "C", "Ic>C"), ("Ik", "Kf", "Ik>Kf"), ("Ik", "K", "Ik>K"), ("If", "Kf", "If>Kf"),
                          ("C", "A", "C>A"), ("K", "O", "K>O")):
            add(o[a], o[b], W_ROUTE, key)
        # lateral inhibition among cue neurons, strong enough to silence any cue that the recalled content
        # excites (at most n_bits synapses of W_MAX) 0.7 ms after an inhibiting spike (tau_m 0.5 ms)
        ci, cj = np.meshgrid(o["C"], o["C"], indexing="ij")
        off = ci != cj
        add(ci[off], cj[off], -4.0 * W_MAX * M, "C>C")
        n_static = sum(len(x) for x in pre)
        add(o["C"], o["K"], 0.0, "C>K", full=True)
        add(o["Kf"], o["C"], 0.0, "Kf>C", full=True)
        pre, post, w, d = (np.concatenate(x) for x in (pre, post, w, d))
        order = np.argsort(pre * self.n + post, kind="stable")      # the order Synapses.from_edges keeps
        self.syn = Synapses.from_edges(pre, post, w, self.n, self.n, device=self.device)
        static = np.zeros(len(pre), bool)
        static[:n_static] = True
        static = static[order]
        self.static_idx = torch.as_tensor(np.nonzero(static)[0], device=self.device)
        self.static_w = self.syn.weight.index_select(0, self.static_idx)
        self.plastic = torch.as_tensor(~static, device=self.device)
        delay = d[order]
        tau = np.full(self.n, 0.5)
        tau[np.r_[o["K"], o["Kf"]]] = 3.0
        neurons = LIF(self.n, tau_m=tau, v_th=V_TH, v_reset=0.0, t_ref=T_REF, tau_syn=0.0, dt=DT)
        self.net = LIFNetwork(neurons, self.syn, delay=delay, device=self.device)
        self._pairs = {"C>K": self._block(o["C"], o["K"]), "Kf>C": self._block(o["Kf"], o["C"])}

    def _block(self, a, b) -> torch.Tensor:
        """Synapse ids of the full block ``a -> b`` as an (len(a), len(b)) index table."""
        key = self.syn.pre.cpu().numpy() * self.n + self.syn.post.cpu().numpy()
        want = (a[:, None] * self.n + b[None, :]).ravel()
        return torch.as_tensor(np.searchsorted(key, want).reshape(len(a), len(b)), device=self.device)

    def copy(self) -> CA3Memory:
        """The same network with its own copy of the learned weights."""
        other = CA3Memory.__new__(CA3Memory)
        other.__dict__.update(self.__dict__)
        other.weight = self.weight.clone()
        return other

    def weights(self, which: str = "C>K") -> np.ndarray:
        """The plastic weights (B, n_src, n_dst): ``"C>K"`` (cue to content) or ``"Kf>C"`` (content to cue)."""
        which = check_value("which", which, ["C>K", "Kf>C"], "CA3Memory.weights")
        return self.weight[:, self._pairs[which]].cpu().numpy()

    # ----- operations -------------------------------------------------------------------------------------
    def _cues(self, cue, name="cue") -> np.ndarray:
        c = np.broadcast_to(np.asarray(cue), (self.batch,)) if np.ndim(cue) == 0 else np.asarray(cue)
        if c.shape != (self.batch,) or not np.issubdtype(c.dtype, np.integer):
            raise ParameterError(f"Parameter {name!r} of CA3Memory must be an integer or {self.batch} integers "
                                 f"(one per sample), got {cue!r}.")
        if c.min() < 0 or c.max() >= self.n_cues:
            raise ParameterError(f"Parameter {name!r} of CA3Memory must lie in [0, {self.n_cues}), got {cue!r}.")
        return c.astype(np.int64)

    def _pattern(self, pattern, name) -> np.ndarray:
        p = np.asarray(pattern)
        if p.ndim == 1 and p.shape[0] == self.n_bits:
            p = np.broadcast_to(p, (self.batch, self.n_bits))
        if p.shape != (self.batch, self.n_bits) or not np.isin(p, (0, 1)).all():
            raise ParameterError(f"Parameter {name!r} of CA3Memory must be {self.n_bits} bits of 0/1 (or one row "
                                 f"per sample, ({self.batch}, {self.n_bits})), got shape {np.shape(pattern)}.")
        if not p.any(axis=1).all():
            raise ParameterError(f"Parameter {name!r} of CA3Memory must have at least one active bit.")
        return p.astype(bool)

    def op(self, kind: str, onset: float, cue=None, pattern=None) -> Op:
        """A checked operation (``pattern``: the content to learn, or the fragment to recall from)."""
        kind = check_value("kind", kind, list(OPS), "CA3Memory.op")
        onset = check_value("onset", onset, (float, 0, None), "CA3Memory.op")
        c = self._cues(cue) if kind in ("learn", "recall_cue") else None
        p = self._pattern(pattern, "content" if kind == "learn" else "fragment") if kind != "recall_cue" else None
        return Op(kind, onset, c, p)

    def schedule(self, ops: list, spacing: float | None = None) -> list:
        """Operations ``(kind, cue, pattern)`` placed one after another, each at the minimum spacing of its
        kind (or at ``spacing`` ms for all)."""
        out, t = [], 0.0
        for kind, cue, pattern in ops:
            out.append(self.op(kind, t, cue, pattern))
            t += MIN_SPACING[kind] if spacing is None else float(spacing)
        return out

    def check_spacing(self, ops: list) -> None:
        """Raise if an operation starts before the previous one's minimum spacing."""
        for a, b in zip(ops, ops[1:], strict=False):
            if b.onset - a.onset < MIN_SPACING[a.kind] - 1e-9:
                raise ParameterError(f"Parameter 'ops' of CA3Memory.run: a {b.kind} at {b.onset} ms follows a "
                                     f"{a.kind} at {a.onset} ms, closer than its minimum spacing of "
                                     f"{MIN_SPACING[a.kind]} ms (pass strict=False to run it anyway).")

    def _current(self, ops, n_steps, batch) -> torch.Tensor:
        cur = torch.zeros(n_steps, batch, self.n)
        b = np.arange(batch)
        for op in ops:
            s0 = int(round(op.onset / DT))
            s1 = s0 + int(round((HOLD if op.kind == "learn" else PULSE) / DT))
            if op.cue is not None:
                cur[s0:s1, b, self.offset["Ic"][op.cue]] = DRIVE
            if op.pattern is not None:
                rows, bits = np.nonzero(op.pattern)
                pop = self.offset["Ik" if op.kind == "learn" else "If"]
                cur[s0:s1, rows, pop[bits]] = DRIVE
        return cur

    def run(self, ops: list, *, strict: bool = True, tail: float = 10.0) -> MemoryRun:
        """Simulate the operations from rest (weights carry over between runs) and read each operation's
        outputs: ``A``/``O`` spikes from ``onset + 3`` ms to the next onset + 3 ms."""
        if not ops:
            raise ParameterError("Parameter 'ops' of CA3Memory.run must hold at least one operation.")
        ops = sorted(ops, key=lambda op: op.onset)
        if strict:
            self.check_spacing(ops)
        n_steps = int(round((ops[-1].onset + tail) / DT))
        hook = None
        if self.control == "none":
            hook = _GatedSTDP(self, [op.onset for op in ops if op.kind == "learn"])
        rec = self.net.run(n_steps, self.batch, current=self._current(ops, n_steps, self.batch), weight=self.weight,
                           on_step=hook, engine="torch")
        return self._read(ops, rec, n_steps)

    def recall_parallel(self, kind: str, queries, *, sample: int = 0) -> MemoryRun:
        """Many recalls from the weights of one sample at once, each query a sample of its own batch (no
        learning happens during recall, so this equals recalling them one after another): ``queries`` are
        cues (Q,) for ``"recall_cue"`` or fragments (Q, n_bits) for ``"recall_content"``."""
        kind = check_value("kind", kind, ["recall_cue", "recall_content"], "CA3Memory.recall_parallel")
        check_value("sample", sample, (int, 0, self.batch - 1), "CA3Memory.recall_parallel")
        q = np.asarray(queries)
        one = CA3Memory.__new__(CA3Memory)
        one.__dict__.update(self.__dict__)
        one.batch = len(q) if q.ndim else 1
        op = one.op(kind, 0.0, q if kind == "recall_cue" else None, q if kind == "recall_content" else None)
        n_steps = int(round((MIN_SPACING[kind] + OUT_LAG + 1.0) / DT))
        rec = self.net.run(n_steps, one.batch, current=self._current([op], n_steps, one.batch),
                           weight=self.weight[sample].contiguous(), engine="torch")
        return one._read([op], rec, n_steps)

    def _read(self, ops, rec, n_steps) -> MemoryRun:
        t, b, n = (x.cpu().numpy() for x in (rec.t, rec.b, rec.n))
        onsets = np.array([op.onset for op in ops])
        edges = np.r_[onsets, n_steps * DT] + OUT_LAG
        k = len(ops)
        addr = np.zeros((k, rec.batch, self.n_cues), bool)
        cont = np.zeros((k, rec.batch, self.n_bits), bool)
        lat_a = np.full((k, rec.batch), np.nan)
        lat_c = np.full((k, rec.batch), np.nan)
        j = np.searchsorted(edges, t * DT, side="right") - 1
        for name, out, lat in (("A", addr, lat_a), ("O", cont, lat_c)):
            first = self.offset[name][0]
            sel = (n >= first) & (n < first + out.shape[2]) & (j >= 0) & (j < k)
            out[j[sel], b[sel], n[sel] - first] = True
            dt_ = t[sel] * DT - onsets[j[sel]]
            np.fmin.at(lat, (j[sel], b[sel]), dt_)
        return MemoryRun(ops, addr, cont, lat_a, lat_c, rec, n_steps)


class _GatedSTDP:
    """Pair STDP (:class:`AstroSTDP` without astrocyte, the paper's eta = A = 6, trace jump 1, tau 3 ms,
    w_max 6) during the plastic window after each learning onset; traces start from zero at each
    window, and the static synapses keep their weights."""

    def __init__(self, mem: CA3Memory, learn_onsets):
        self.mem = mem
        self.stdp = AstroSTDP(mem.syn, mem.weight, mem.n, np.ones(mem.n, bool), batch=mem.batch,
                              stdp=STDPParams(eta=W_MAX, a_trace=1.0, tau_trace=3.0, w_max=W_MAX), dt=DT)
        self.starts = {int(round(t / DT)) for t in learn_onsets}
        self.on = np.zeros(0, bool)
        width = int(round(PLASTIC_WINDOW / DT))
        last = max(self.starts) + width if self.starts else 0
        self.on = np.zeros(last + 1, bool)
        for s in self.starts:
            self.on[s:s + width] = True

    def __call__(self, t, res_src, res_b, in_src, in_b) -> None:
        if t in self.starts:
            self.stdp.reset()
        if t < len(self.on) and self.on[t]:
            self.stdp(t, res_src, res_b, in_src, in_b)
            self.mem.weight[:, self.mem.static_idx] = self.mem.static_w
