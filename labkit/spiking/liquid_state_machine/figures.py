"""Figures for the liquid state machine notebook (builders only: they never simulate); rasters and
running means come from :mod:`labkit.viz.pieces`."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.pieces import learning_curve, raster
from labkit.viz.theme import COLORS

KIND_NAMES = {"plain": "plain LSM", "stdp": "STDP-only LSM", "nalsm": "NALSM (astrocyte + STDP)"}
KIND_COLORS = {"plain": COLORS[7], "stdp": COLORS[1], "nalsm": COLORS[0]}


def geometry_figure(positions, excitatory, pre, post, *, n_edges: int = 400, seed: int = 0) -> go.Figure:
    """The liquid on its 3-D grid: excitatory and inhibitory neurons, and a sample of synapses."""
    positions, excitatory = np.asarray(positions), np.asarray(excitatory, bool)
    fig = go.Figure()
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(pre), size=min(n_edges, len(pre)), replace=False)
    xs, ys, zs = [], [], []
    for e in pick:
        a, b = positions[pre[e]], positions[post[e]]
        xs += [a[0], b[0], None]
        ys += [a[1], b[1], None]
        zs += [a[2], b[2], None]
    fig.add_trace(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color="rgba(120,120,120,0.35)", width=1),
                               name=f"{len(pick)} of {len(pre)} synapses"))
    for flag, name, color in ((True, "excitatory", COLORS[0]), (False, "inhibitory", COLORS[3])):
        p = positions[excitatory == flag]
        fig.add_trace(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers", name=f"{name} ({len(p)})",
                                   marker=dict(size=3, color=color)))
    fig.update_layout(title="The liquid: LIF neurons on a grid, wired with probability C·exp(-(D/λ)²)",
                      scene=dict(xaxis_title="x", yaxis_title="y", zaxis_title="z"), height=550,
                      legend=dict(x=0.0, y=1.0))
    return fig


def raster_figure(input_spikes, liquid_spikes: dict, *, dt: float = 1.0, label=None,
                  max_neurons: int = 300) -> go.Figure:
    """Input spike trains (top) and the spikes of each liquid (below) for one sample.

    input_spikes: (T, M) array; liquid_spikes: {kind: (T, N) array}.
    """
    rows = 1 + len(liquid_spikes)
    titles = ["input spike trains"] + [KIND_NAMES.get(k, k) for k in liquid_spikes]
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.05, subplot_titles=titles,
                        row_heights=[0.6] + [1.0] * (rows - 1))
    traces = [("input", np.asarray(input_spikes), COLORS[2])] + [
        (k, np.asarray(s), KIND_COLORS.get(k, COLORS[0])) for k, s in liquid_spikes.items()]
    for r, (name, s, color) in enumerate(traces, start=1):
        for trace in raster(s, dt=dt, max_neurons=max_neurons, color=color).data:
            fig.add_trace(trace.update(name=name, marker_size=2.5), row=r, col=1)
        fig.update_yaxes(title_text="channel" if r == 1 else "neuron", row=r, col=1)
    fig.update_xaxes(title_text="time (ms)", row=rows, col=1)
    what = f" (digit {label})" if label is not None else ""
    fig.update_layout(title=f"Spike rasters for one input{what}", height=220 + 230 * (rows - 1))
    return fig


def branching_figure(histories: dict, *, end_fraction: float | None = None) -> go.Figure:
    """Branching factor against plasticity samples shown, per liquid, with the critical value 1; with
    ``end_fraction``, the last part of the plasticity phase (whose mean the checks hold) is shaded."""
    fig = go.Figure()
    last = max((max(h["samples"]) for h in histories.values() if h.get("samples")), default=0)
    if end_fraction and last:
        fig.add_vrect(x0=last * (1 - end_fraction), x1=last, fillcolor="#888", opacity=0.12, line_width=0,
                      annotation_text="end: mean checked", annotation_position="top left")
    for kind, h in histories.items():
        fig.add_trace(go.Scatter(x=h["samples"], y=h["bf"], mode="lines+markers", name=KIND_NAMES.get(kind, kind),
                                 line=dict(color=KIND_COLORS.get(kind, COLORS[0]), width=2)))
    fig.add_hline(y=1.0, line_dash="dot", line_color="#888", annotation_text="critical (σ = 1)",
                  annotation_position="bottom right")
    fig.update_layout(title="Branching factor σ while the liquid self-organises",
                      xaxis_title="plasticity samples shown (20 ms each)",
                      yaxis_title="branching factor σ", legend=dict(orientation="h", x=0, y=-0.22))
    return fig


def activity_figure(histories: dict, *, smooth: int = 20) -> go.Figure:
    """Liquid spikes per ms during plasticity (each sample, and the running mean over ``smooth``) against the
    input's: the astrocyte pulls the liquid's activity towards its input's."""
    fig = go.Figure()
    inp = None
    for kind, h in histories.items():
        r = np.asarray(h.get("liquid_per_ms", []), dtype=float)
        if not r.size:
            continue
        color = KIND_COLORS.get(kind, COLORS[0])
        learning_curve(r, name=KIND_NAMES.get(kind, kind), smooth=min(smooth, r.size), color=color, raw_color=color,
                       fig=fig)
        inp = float(np.mean(h["input_per_ms"]))
    if inp is not None:
        # a dotted trace, not add_hline's annotation: on a log axis that annotation is placed at
        # 10**inp and stretches the axis to it
        fig.add_trace(go.Scatter(x=[1, max(len(h.get("liquid_per_ms", [])) for h in histories.values())], y=[inp, inp],
                                 mode="lines", line=dict(color=COLORS[2], dash="dot"), name="input spikes per ms"))
    fig.update_yaxes(type="log")
    fig.update_layout(title="Liquid activity during plasticity (the astrocyte pulls it towards the input's)",
                      xaxis_title="plasticity samples shown (20 ms each)", yaxis_title="liquid spikes per ms (log)")
    return fig


def accuracy_figure(results: dict) -> go.Figure:
    """Grouped bars: test accuracy per data set (keys) and model (inner keys)."""
    fig = go.Figure()
    models = list(dict.fromkeys(m for r in results.values() for m in r))
    palette = {**KIND_COLORS, "raw": COLORS[4]}
    for m in models:
        ys = [results[d].get(m, np.nan) for d in results]
        name = KIND_NAMES.get(m, "linear readout on raw inputs" if m == "raw" else m)
        fig.add_trace(go.Bar(x=list(results), y=ys, name=name, marker_color=palette.get(m, COLORS[5]),
                             text=[f"{y:.3f}" for y in ys], textposition="outside"))
    fig.update_layout(title="Readout test accuracy (RidgeClassifier on spike counts)", barmode="group",
                      xaxis_title="data set", yaxis_title="test accuracy", yaxis_range=[0, 1.08],
                      legend=dict(orientation="h", y=-0.2))
    return fig


def size_figure(sizes, accuracy: dict, raw: float | None = None) -> go.Figure:
    """Accuracy against liquid size (number of neurons) per liquid."""
    fig = go.Figure()
    for kind, acc in accuracy.items():
        fig.add_trace(go.Scatter(x=sizes, y=acc, mode="lines+markers", name=KIND_NAMES.get(kind, kind),
                                 line=dict(color=KIND_COLORS.get(kind, COLORS[0]), width=2)))
    if raw is not None:
        fig.add_hline(y=raw, line_dash="dot", line_color=COLORS[4], annotation_text="raw inputs",
                      annotation_position="bottom right")
    fig.update_xaxes(type="log")
    fig.update_layout(title="Digits accuracy against liquid size", xaxis_title="liquid neurons (log)",
                      yaxis_title="test accuracy")
    return fig


def explorer_figure(spikes, bf: float, rate_hz: float, gain: float, max_rate: float,
                    n_plasticity: int | None = None) -> go.Figure:
    """The explorer's view: the raster of one sample after ``n_plasticity`` plasticity samples, with its
    branching factor."""
    s = np.asarray(spikes)
    after = f" after {n_plasticity:,} plasticity samples" if n_plasticity is not None else ""
    return raster(s, max_neurons=s.shape[1],
                  title=f"astrocyte gain {gain:g}, input up to {max_rate:g} Hz{after} → σ = {bf:.2f}, {rate_hz:.1f} Hz")
