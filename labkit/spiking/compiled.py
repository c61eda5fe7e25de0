"""The compiled CPU path of the spiking engine: whole runs of a network in Numba kernels.

A Python-driven step costs a few microseconds per torch call, which at batch 1 is most of the step;
here all the steps of a chunk of the run (the network's ``chunk``, 64 by default: the external drive is
computed a chunk at a time) run in one call of a kernel compiled by Numba on first use and cached on
disk (``@njit(cache=True)``: no code generation per run). Numba's cache rules apply: beside the module
when that directory is writable, else in the user's cache directory (a read-only install works), or
in ``NUMBA_CACHE_DIR`` when set.

A step of one sample, as the torch path does it and in the same float32 operations:

1. the drive starts as the step's external input (``ext``, zeros when there is none);
2. the spikes of the last ``D`` steps arrive: for each delay ``d = 1..D`` in turn, for each neuron that
   fired at step ``t - d`` (in increasing order), the weights of its synapses of delay ``d`` (in the
   order of their targets) are added onto their targets (event-driven over compressed rows: the
   synapses of each source sorted by delay, ``seg[j, d-1]:seg[j, d]`` those of delay ``d``);
3. the neuron model (:mod:`labkit.spiking.neurons`; ``code`` 0 LIF, 1 adaptive LIF, 2 Izhikevich)
   advances every neuron and records the ones that fire in a ring of the last ``D`` steps' spikes.

Samples are independent: more than one run in parallel (``prange`` over the batch, Numba's threads).
If Numba cannot be imported, :data:`NUMBA` is None and the network falls back to its torch path.
"""
from __future__ import annotations

import numpy as np

try:
    import numba
    from numba import njit, prange
except Exception:  # pragma: no cover - depends on the install
    numba = None
NUMBA = numba

F32 = np.float32

if numba is not None:
    @njit(cache=True, nogil=True)
    def _fused(v, decay, x):
        """``v * decay + x`` rounded once to float32 (the product of two float32 is exact in float64)."""
        return F32(np.float64(v) * np.float64(decay) + np.float64(x))

    @njit(cache=True, nogil=True)
    def _lif(v, i_syn, refr, drive, d_m, d_s, v_th, v_reset, ref, clamp):
        """The membrane update of LIF neurons without branches on their values (so that the compiler
        vectorises it); marks the spikes in ``drive`` (1 where a neuron fires, else 0: the drive is spent).
        With decay_syn = 0 the synaptic current is the drive itself (``i_syn * 0 + x = x``)."""
        for i in range(drive.shape[0]):
            x = _fused(i_syn[i], d_s[i], drive[i])
            i_syn[i] = x
            y = _fused(v[i], d_m[i], x)
            r = refr[i]
            busy = r > 0
            y = v_reset[i] if busy and clamp else y
            fire = y >= v_th[i] and not (busy and not clamp)
            refr[i] = np.int32(ref[i]) if fire else max(r - 1, 0)
            v[i] = v_reset[i] if fire else y
            drive[i] = F32(1.0) if fire else F32(0.0)

    @njit(cache=True, nogil=True)
    def _adaptive_lif(P, block, S, refr, drive):
        """The membrane update of adaptive LIF neurons (P rows 5, 6: decay_w, b; S row 2: w), marking the
        spikes in ``drive`` as :func:`_lif` does."""
        for i in range(drive.shape[0]):
            x = _fused(S[1, i], P[1, i], drive[i])
            S[1, i] = x
            v = _fused(S[0, i], P[0, i], x) - S[2, i]
            S[2, i] = S[2, i] * P[5, i]
            r = refr[i]
            if r > 0 and not block:
                v = P[3, i]
            fire = v >= P[2, i] and not (block and r > 0)
            refr[i] = np.int32(P[4, i]) if fire else max(r - 1, 0)
            if fire:
                v = P[3, i]
                S[2, i] = S[2, i] + P[6, i]
            S[0, i] = v
            drive[i] = F32(1.0) if fire else F32(0.0)

    @njit(cache=True, nogil=True)
    def _izhikevich(v, u, drive, a_dt, b, c, d, h):
        """One step of Izhikevich neurons (P rows: a dt, b, c, d, dt / 2; S rows: v, u), without branches
        on their values; marks the spikes in ``drive`` as :func:`_lif` does."""
        c004, c5, c140, peak = F32(0.04), F32(5.0), F32(140.0), F32(30.0)   # float32 constants
        for i in range(drive.shape[0]):
            x, y, w = drive[i], v[i], u[i]
            y = y + ((((y * c004 + c5) * y + c140) - w) + x) * h[i]      # two half-steps of v
            y = y + ((((y * c004 + c5) * y + c140) - w) + x) * h[i]
            w = w + (y * b[i] - w) * a_dt[i]
            fire = y >= peak
            v[i] = c[i] if fire else y
            u[i] = w + d[i] if fire else w
            drive[i] = F32(1.0) if fire else F32(0.0)

    @njit(cache=True, nogil=True)
    def _collect(drive, out):
        """The neurons marked 1 in ``drive``, in increasing order, into ``out``; returns their number."""
        ns = 0
        for i in range(drive.shape[0]):
            if drive[i] != 0:
                out[ns] = i
                ns += 1
        return ns

    @njit(cache=True, nogil=True)
    def _sample(b, code, P, block, S, refr, ring, ring_n, t0, ext, seg, post, weight, drive, rec_t, rec_n):
        """Steps ``t0 .. t0 + len(ext) - 1`` of sample ``b``; returns how many spikes it recorded."""
        n = drive.shape[0]
        dmax = ring.shape[1]
        wrow = weight[b if weight.shape[0] > 1 else 0]
        count = 0
        for c in range(ext.shape[0]):
            t = t0 + c
            if ext.shape[2]:
                drive[:] = ext[c, b]
            else:
                drive[:] = 0
            for d in range(1, dmax + 1):
                slot = (t - d) % dmax
                for k in range(ring_n[b, slot]):
                    j = ring[b, slot, k]
                    for e in range(np.uint64(seg[j, d - 1]), np.uint64(seg[j, d])):   # unsigned: no wrap-around
                        drive[post[e]] += wrow[e]
            slot = t % dmax
            if code == 2:
                _izhikevich(S[b, 0], S[b, 1], drive, P[0], P[1], P[2], P[3], P[4])
            elif code == 1:
                _adaptive_lif(P, block, S[b], refr[b], drive)
            else:
                _lif(S[b, 0], S[b, 1], refr[b], drive, P[0], P[1], P[2], P[3], P[4], not block)
            ns = _collect(drive, ring[b, slot])
            ring_n[b, slot] = ns
            base = b * ext.shape[0] * n + count
            for k in range(ns):
                rec_t[base + k] = t
                rec_n[base + k] = ring[b, slot, k]
            count += ns
        return count

    @njit(cache=True, nogil=True)
    def _chunk_serial(code, P, block, S, refr, ring, ring_n, t0, ext, seg, post, weight, rec_t, rec_n, counts):
        drive = np.empty(S.shape[2], F32)
        for b in range(S.shape[0]):
            counts[b] = _sample(np.int64(b), code, P, block, S, refr, ring, ring_n, t0, ext, seg, post, weight, drive,
                                rec_t, rec_n)

    @njit(cache=True, nogil=True, parallel=True)
    def _chunk_parallel(code, P, block, S, refr, ring, ring_n, t0, ext, seg, post, weight, rec_t, rec_n, counts):
        for b in prange(S.shape[0]):
            drive = np.empty(S.shape[2], F32)
            counts[b] = _sample(np.int64(b), code, P, block, S, refr, ring, ring_n, t0, ext, seg, post, weight, drive,
                                rec_t, rec_n)


class CompiledRun:
    """The state of one compiled run of ``batch`` samples of ``model`` over synapses given as ``seg``
    (n, D + 1) int64 row pointers by source and delay, ``post`` (nnz,) int32 targets and ``weight``
    (1 or batch, nnz) float32; advanced a chunk at a time by :meth:`advance`."""

    def __init__(self, model, batch: int, seg: np.ndarray, post: np.ndarray, weight: np.ndarray):
        n = model.n
        self.model, self.batch, self.n = model, batch, n
        self.code, self.block = model.CODE, getattr(model, "refractory", "clamp") == "block"
        self.P = model.kernel_table()
        init = model.init_values()
        S = np.zeros((batch, max(len(model.STATE), 3), n), F32)
        for r, key in enumerate(model.STATE):
            S[:, r] = np.asarray(init[key], dtype=F32)
        self.S = S
        self.refr = np.zeros((batch, n), np.int32)
        dmax = seg.shape[1] - 1
        self.ring = np.zeros((batch, dmax, n), np.int32)
        self.ring_n = np.zeros((batch, dmax), np.int64)
        self.seg, self.post = seg, post.astype(np.uint32)
        self.weight = weight
        self.t = 0
        self.kernel = _chunk_parallel if batch > 1 else _chunk_serial

    def advance(self, ext: np.ndarray | None, steps: int):
        """Run ``steps`` steps with external input ``ext`` (steps, batch, n) float32 or None; return the
        spikes as (step, sample, neuron) arrays, ordered by step, then sample, then neuron."""
        if ext is None:
            ext = np.zeros((steps, self.batch, 0), F32)
        cap = steps * self.n
        rec_t = np.empty(self.batch * cap, np.int32)
        rec_n = np.empty(self.batch * cap, np.int32)
        counts = np.zeros(self.batch, np.int64)
        self.kernel(self.code, self.P, self.block, self.S, self.refr, self.ring, self.ring_n, self.t,
                    np.ascontiguousarray(ext, dtype=F32), self.seg, self.post, self.weight, rec_t, rec_n, counts)
        self.t += steps
        parts = [slice(b * cap, b * cap + int(counts[b])) for b in range(self.batch)]
        t = np.concatenate([rec_t[p] for p in parts])
        nn = np.concatenate([rec_n[p] for p in parts])
        bb = np.repeat(np.arange(self.batch, dtype=np.int32), counts)
        if self.batch > 1:
            order = np.argsort(t, kind="stable")
            t, bb, nn = t[order], bb[order], nn[order]
        return t, bb, nn
