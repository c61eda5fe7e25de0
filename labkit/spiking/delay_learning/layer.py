"""A trained delay kernel unrolled into synapses and run event-driven, in a vectorised sum and on the engine.

:func:`to_synapses` turns every nonzero kernel voxel ``(k, p, d, j, i)`` into one synapse per output
position ``(gy, gx)``: from input channel ``(p, gy + j, gx + i)`` to output neuron ``(k, gy, gx)``, with the
voxel's weight and a delay of ``d + 1`` steps (the engine's one step of transmission plus ``d``).

:func:`event_evidence` computes the evidence from the events and those synapses, event by event (every
event adds its synapses' weights at its step plus their delays) in one scatter: its cost grows with events x
surviving synapses, which pruning cuts, where ``conv3d`` pays for every voxel at every position.

:func:`run_layer` runs the layer on the spiking engine (:class:`labkit.spiking.lif_network.LIFNetwork`,
whose recurrent synapses carry per-synapse delays on both run paths): the input channels are relay neurons
that fire at the step of their event (a unit current onto a threshold of 0.5, no leak memory, no
refractoriness), and the output neurons are leaky integrators of the delayed spikes with a threshold.
"""
from __future__ import annotations

import numpy as np
import torch

from labkit.core.params import ParameterError, check_args
from labkit.spiking.delay_learning.model import check_events, check_kernel
from labkit.spiking.lif_network import LIFNetwork, SpikeRecord
from labkit.spiking.neurons import LIF
from labkit.spiking.synapses import Synapses


def events_from_list(t, p, y, x, *, n_steps: int, size: int, movie=None, n_movies: int = 1) -> torch.Tensor:
    """A dense (n_movies, 2, n_steps, size, size) event tensor from event lists (step, polarity, row, column,
    optional movie), each checked: times from 0, polarities 0 (ON) or 1 (OFF), addresses inside the frame."""
    check_args("events_from_list", dict(n_steps=n_steps, size=size, n_movies=n_movies),
               {"n_steps": (int, 1, None), "size": (int, 1, None), "n_movies": (int, 1, None)})
    cols = {k: torch.as_tensor(np.asarray(v), dtype=torch.long).reshape(-1)
            for k, v in dict(t=t, p=p, y=y, x=x).items()}
    cols["movie"] = torch.zeros_like(cols["t"]) if movie is None else \
        torch.as_tensor(np.asarray(movie)).long().reshape(-1)
    n = cols["t"].numel()
    if any(c.numel() != n for c in cols.values()):
        raise ParameterError("Parameters 't', 'p', 'y', 'x' (and 'movie') of events_from_list must be lists of one "
                             "length.")
    limits = {"t": (n_steps, "times must lie in [0, n_steps)"), "p": (2, "polarities must be 0 (ON) or 1 (OFF)"),
              "y": (size, "addresses must lie inside the frame"), "x": (size, "addresses must lie inside the frame"),
              "movie": (n_movies, "movie indices must lie in [0, n_movies)")}
    for name, (hi, why) in limits.items():
        c = cols[name]
        if n and (int(c.min()) < 0 or int(c.max()) >= hi):
            bad = int(c[(c < 0) | (c >= hi)][0])
            raise ParameterError(f"Parameter {name!r} of events_from_list: {why} (< {hi}), got {bad}.")
    out = torch.zeros(n_movies, 2, n_steps, size, size)
    out[cols["movie"], cols["p"], cols["t"], cols["y"], cols["x"]] = 1.0
    return out


def to_synapses(kernel: torch.Tensor, crop: int):
    """Edges of the unrolled layer on a ``crop`` x ``crop`` frame: ``pre`` (input channel ``p*crop^2 + y*crop + x``),
    ``post`` (output neuron ``k*G^2 + gy*G + gx``, G = crop - size + 1), ``weight``, ``delay`` (steps, 1..D),
    and (n_inputs, n_outputs, G)."""
    check_kernel(kernel)
    n_k, _, n_d, h, w = kernel.shape
    if h != w or h > crop:
        raise ParameterError(f"Parameter 'kernel' must be square and fit in the {crop}x{crop} frame, got {h}x{w}.")
    g = crop - h + 1
    k = kernel.detach().float().cpu()
    vox = k.nonzero()                                   # (V, 5): class, polarity, delay, row, column
    wt = k[tuple(vox.T)]
    gy, gx = torch.meshgrid(torch.arange(g), torch.arange(g), indexing="ij")
    gy, gx = gy.reshape(1, -1), gx.reshape(1, -1)
    kc, p, d, j, i = (c[:, None] for c in vox.T)
    pre = p * crop * crop + (gy + j) * crop + (gx + i)
    post = kc * g * g + gy * g + gx
    shape = pre.shape
    return dict(pre=pre.reshape(-1), post=post.reshape(-1), weight=wt[:, None].expand(shape).reshape(-1),
                delay=(d + 1).expand(shape).reshape(-1)), (2 * crop * crop, n_k * g * g, g)


def check_delays(delay: torch.Tensor, max_delay: int) -> None:
    """One sentence naming 'delay' when a delay lies outside 1..max_delay steps."""
    if delay.numel() and (int(delay.min()) < 1 or int(delay.max()) > max_delay):
        raise ParameterError(f"Parameter 'delay' must hold whole steps from 1 to D_max = {max_delay}, got "
                             f"{int(delay.min())}..{int(delay.max())}.")


def event_evidence(events: torch.Tensor, kernel: torch.Tensor, chunk: int = 1 << 22) -> torch.Tensor:
    """The evidence B (M, K, T, G, G) of :func:`~labkit.spiking.delay_learning.model.evidence` (stride 1),
    computed event by event through the unrolled synapses (see the module docstring)."""
    check_events(events)
    m, _, n_t, hh, ww = events.shape
    if hh != ww:
        raise ParameterError(f"Parameter 'events' must hold square frames, got {hh}x{ww}.")
    edges, (n_in, n_out, g) = to_synapses(kernel, hh)
    check_delays(edges["delay"], kernel.shape[2])
    syn, delay = _synapses(edges, n_in, n_out)
    mv, p, t, y, x = events.nonzero().T
    src = p * hh * ww + y * ww + x
    out = torch.zeros(m * n_out * n_t + 1)
    per = max(1, chunk // max(1, int(syn.out_degree.max()) if syn.nnz else 1))
    for a in range(0, src.numel(), per):               # bounded memory: about `chunk` synaptic events at a time
        sl = slice(a, a + per)
        ids, n_each = syn.outgoing(src[sl])
        seg = torch.repeat_interleave(torch.arange(n_each.numel()), n_each)
        when = t[sl][seg] + delay[ids] - 1                                 # evidence B(t_e + d)
        flat = (mv[sl][seg] * n_out + syn.post[ids]) * n_t + when
        flat = torch.where(when < n_t, flat, torch.full_like(flat, m * n_out * n_t))   # beyond the movie
        out.index_add_(0, flat, syn.weight[ids])
    return out[:-1].view(m, n_out // (g * g), g, g, n_t).permute(0, 1, 4, 2, 3)


def _synapses(edges: dict, n_src: int, n_post: int, offset: int = 0, device="cpu"):
    """:class:`Synapses` of the edges (targets shifted by ``offset``) stored by source, then target, then
    delay (a source and a target may be joined at several delays), and the delays in that order."""
    post = edges["post"] + offset
    n_d = int(edges["delay"].max()) + 1 if edges["delay"].numel() else 1
    order = torch.argsort((edges["pre"] * n_post + post) * n_d + edges["delay"])
    syn = Synapses(*(a[order].to(device) for a in (edges["pre"], post, edges["weight"].float())), n_src, n_post)
    return syn, edges["delay"][order]


def build_network(kernel: torch.Tensor, crop: int, threshold: float, tau_m: float = 2.0, device="cpu"):
    """The layer as a :class:`LIFNetwork`: relays ``0..n_in-1``, then outputs; returns (network, n_in, n_out, G)."""
    check_args("build_network", dict(threshold=threshold, tau_m=tau_m),
               {"threshold": (float, 0, None, "neither"), "tau_m": (float, 1.0, None)})
    edges, (n_in, n_out, g) = to_synapses(kernel, crop)
    check_delays(edges["delay"], kernel.shape[2])
    n = n_in + n_out
    syn, delay = _synapses(edges, n, n, offset=n_in, device=device)
    delay_ms = delay.double().numpy()
    relay = np.r_[np.ones(n_in, bool), np.zeros(n_out, bool)]
    neurons = LIF(n, tau_m=np.where(relay, 1.0, tau_m), v_th=np.where(relay, 0.5, threshold), v_reset=0.0,
                  t_ref=0.0, tau_syn=0.0, dt=1.0)
    net = LIFNetwork(neurons, syn, delay=delay_ms, max_delay=float(kernel.shape[2]), device=device)
    return net, n_in, n_out, g


def run_layer(events: torch.Tensor, kernel: torch.Tensor, threshold: float, *, tau_m: float = 2.0,
              engine: str = "auto", device="cpu") -> SpikeRecord:
    """The output spikes (neuron ``k*G^2 + gy*G + gx``) of the layer run on the engine over ``events``
    (M, 2, T, S, S): relays fire at their events' steps; the spikes of step ``t`` integrate B(t - 1)."""
    check_events(events)
    m, _, n_t, s, _ = events.shape
    net, n_in, n_out, g = build_network(kernel, s, threshold, tau_m, device)
    current = torch.zeros(n_t, m, n_in + n_out)
    current[:, :, :n_in] = events.permute(2, 0, 1, 3, 4).reshape(n_t, m, n_in)
    rec = net.run(n_t, m, current=current, engine=engine)
    out = rec.n >= n_in
    return SpikeRecord(t=rec.t[out], b=rec.b[out], n=rec.n[out] - n_in, n_steps=n_t, batch=m, n_neurons=n_out,
                       dt=rec.dt, extra={"grid": g, "n_synapses": int(net.syn.nnz)})
