"""Synapses of a spiking network, stored for event-driven simulation and for plasticity.

Synapses are stored per presynaptic source in compressed sparse rows (for plasticity) and, for
simulation, as a padded table ("ELL"): row ``j`` lists the targets and weights of source ``j``,
padded to the largest out-degree with a sink column that no neuron reads. A step of
:class:`labkit.spiking.lif_network.LIFNetwork` gathers the rows of the sources that spiked and
scatters them onto the targets in one ``scatter_add_``, so its cost grows with the number of
synaptic events, not with ``N^2``. The ragged-index helpers here build those gathers without a
Python loop.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import check_args

SINKS = 16  # sink columns per sample that absorb the padding of the synapse table


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

    def __init__(self, pre: torch.Tensor, post: torch.Tensor, weight: torch.Tensor, n_src: int, n_post: int):
        self.pre, self.post, self.weight = pre, post, weight
        self.n_src, self.n_post = int(n_src), int(n_post)
        dev = post.device
        deg = torch.bincount(pre, minlength=self.n_src)
        self.indptr = torch.cat([torch.zeros(1, dtype=torch.long, device=dev), torch.cumsum(deg, 0)])
        self.in_edges = torch.argsort(post, stable=True)
        in_deg = torch.bincount(post, minlength=self.n_post)
        self.in_indptr = torch.cat([torch.zeros(1, dtype=torch.long, device=dev), torch.cumsum(in_deg, 0)])
        self._ell = None
        self._tables = None

    @classmethod
    def from_edges(cls, pre, post, weight, n_src: int, n_post: int, *, device="cpu",
                   dtype=torch.float32) -> Synapses:
        """Build the table from edge lists (``pre[e] -> post[e]`` with ``weight[e]``)."""
        pre = torch.as_tensor(np.asarray(pre), dtype=torch.long)
        post = torch.as_tensor(np.asarray(post), dtype=torch.long)
        weight = torch.as_tensor(np.asarray(weight), dtype=dtype)
        if not (pre.shape == post.shape == weight.shape) or pre.ndim != 1:
            raise ValueError(f"pre, post and weight must be 1-D arrays of one length, got shapes {tuple(pre.shape)}, "
                             f"{tuple(post.shape)}, {tuple(weight.shape)}.")
        check_args("Synapses.from_edges", dict(n_src=n_src, n_post=n_post),
                   {"n_src": (int, 1, None), "n_post": (int, 1, None)})
        if pre.numel() and (pre.min() < 0 or pre.max() >= n_src or post.min() < 0 or post.max() >= n_post):
            raise ValueError(f"edge indices out of range: pre must lie in [0, {n_src}) and post in [0, {n_post}).")
        order = torch.argsort(pre * n_post + post)
        return cls(pre[order].to(device), post[order].to(device), weight[order].to(device), n_src, n_post)

    @property
    def nnz(self) -> int:
        return int(self.post.numel())

    @property
    def out_degree(self) -> torch.Tensor:
        return self.indptr[1:] - self.indptr[:-1]

    def with_weight(self, weight: torch.Tensor) -> Synapses:
        """The same wiring with another weight vector (shares the index arrays)."""
        other = object.__new__(Synapses)
        other.__dict__.update(self.__dict__)
        other.weight, other._ell = weight, None
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

    def ell(self, src_stop: int | None = None, sinks: int = SINKS):
        """The padded table of sources ``0..src_stop-1``: ``(targets, weights)``, each
        ``(src_stop, max out-degree)``. Padding has weight 0 and points at the sink columns
        ``n_post .. n_post + sinks - 1`` in turn (spread over many addresses, because thousands of
        additions onto one address serialise). Cached, and rebuilt when the weights change."""
        src_stop = self.n_src if src_stop is None else int(src_stop)
        key = (src_stop, sinks, self.weight._version, self.weight.data_ptr())
        if self._ell is None or self._ell[0] != key:
            dev = self.post.device
            deg = self.out_degree[:src_stop]
            width = max(int(deg.max()) if deg.numel() else 0, 1)
            n_e = int(self.indptr[src_stop])
            pre = self.pre[:n_e]
            slot = torch.arange(n_e, device=dev) - self.indptr.index_select(0, pre)
            sink = self.n_post + torch.arange(width, device=dev) % sinks
            tgt = sink.repeat(src_stop, 1)
            w = torch.zeros((src_stop, width), dtype=self.weight.dtype, device=dev)
            tgt[pre, slot] = self.post[:n_e]
            w[pre, slot] = self.weight[:n_e]
            self._ell = (key, tgt, w)
        return self._ell[1], self._ell[2]

    def invalidate(self) -> None:
        """Forget cached layouts (after the weights changed in place)."""
        self._ell = None

    def tables(self, sinks: int = SINKS) -> dict:
        """Padded synapse-id tables for plasticity and per-sample weights (cached; wiring only):

        ``out_e`` (n_post, D_out): the synapse ids of each population source, padded with id 0;
        ``out_post``: their targets, padding at the sink columns ``n_post ..`` (propagation);
        ``out_post_tr``: their targets, padding at ``n_src`` (an always-zero trace slot);
        ``out_e_in``, ``out_post_in``, ``out_post_tr_in``: the same for the input channels
        (sources ``n_post..n_src-1``, rows indexed from 0), whose out-degree differs;
        ``in_e`` (n_post, D_in): the synapse ids onto each target, padded with id 0;
        ``in_pre``: their sources, padding at ``n_src``.
        """
        if self._tables is not None and self._tables[0] == sinks:
            return self._tables[1]
        dev = self.post.device

        def pad(rows, n_rows, ids, fill_row):
            lengths = torch.bincount(rows, minlength=n_rows)
            width = max(int(lengths.max()) if lengths.numel() else 0, 1)
            start = torch.cumsum(lengths, 0) - lengths
            order = torch.argsort(rows, stable=True)
            r = rows[order]
            slot = torch.arange(r.numel(), device=dev) - start.index_select(0, r)
            out = {}
            for name, (vals, fill) in ids.items():
                t = fill(width).repeat(n_rows, 1)
                t[r, slot] = vals[order]
                out[name] = t
            return out

        e = torch.arange(self.nnz, device=dev)
        def zero(w):                    # padding synapse id 0
            return torch.zeros(w, dtype=torch.long, device=dev)

        def sink(w):                    # padding targets spread over the sink columns
            return self.n_post + torch.arange(w, device=dev) % sinks

        def trace0(w):                  # padding at the always-zero trace slot
            return torch.full((w,), self.n_src, dtype=torch.long, device=dev)

        tab = {}
        n_rec = int(self.indptr[self.n_post])      # sources 0..n_post-1 (the population) come first
        for suffix, sl, first, n_rows in (("", slice(0, n_rec), 0, self.n_post),
                                          ("_in", slice(n_rec, self.nnz), self.n_post, self.n_src - self.n_post)):
            if n_rows == 0:
                continue
            part = pad(self.pre[sl] - first, n_rows, {"out_e": (e[sl], zero), "out_post": (self.post[sl], sink),
                                                       "out_post_tr": (self.post[sl], trace0)}, None)
            tab.update({k + suffix: v for k, v in part.items()})
        tab.update(pad(self.post, self.n_post, {"in_e": (e, zero), "in_pre": (self.pre, trace0)}, None))
        self._tables = (sinks, tab)
        return tab

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
                  weight: torch.Tensor | None = None, stride: int | None = None, inputs: bool = False) -> None:
        """Add the weights of the spikes ``(batch[e], src[e])`` onto ``out``: flat, ``stride`` entries
        per sample (``n_post + SINKS`` by default; the sink columns absorb padding). ``inputs``: the
        sources are input channels (ids ``n_post..n_src-1``), not population neurons.

        ``batch=None`` means every spike belongs to sample 0. ``weight`` (nnz,) or per sample
        ``(B, nnz)`` overrides the stored weights (plastic synapses).
        """
        if src.numel() == 0:
            return
        stride = self.n_post + SINKS if stride is None else stride
        tab = self.tables()
        if inputs:
            src = src - self.n_post
        sfx = "_in" if inputs else ""
        e = tab["out_e" + sfx].index_select(0, src)
        tgt = tab["out_post" + sfx].index_select(0, src)
        w = self.weight if weight is None else weight
        if w.ndim == 2 and batch is not None:
            e += (batch * self.nnz).unsqueeze(1)
        vals = w.reshape(-1).take(e)
        if batch is not None:
            tgt += (batch * stride).unsqueeze(1)
        out.scatter_add_(0, tgt.view(-1), vals.view(-1).to(out.dtype))
