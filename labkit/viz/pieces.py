"""Figure pieces every figures module shares: line plots and learning curves, heatmaps, rasters, and
runs of equal labels shaded behind a time axis.

Builders receive arrays, never models, and return a ``plotly.graph_objects.Figure`` (or decorate one).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from labkit.viz.theme import COLORS

# Translucent fills for shaded runs of labels: the palette's hues, light enough to read a trace over.
RUN_FILLS = ["rgba(0,0,0,0.0)", "rgba(230,159,0,0.18)", "rgba(0,114,178,0.14)", "rgba(0,158,115,0.16)",
             "rgba(204,121,167,0.16)", "rgba(86,180,233,0.16)"]


def _axes(fig: go.Figure, title: str, xaxis: str, yaxis: str, log_x: bool, log_y: bool) -> go.Figure:
    """Title the figure and its axes, and put either axis on a log scale."""
    fig.update_layout(title=title, xaxis_title=xaxis, yaxis_title=yaxis)
    if log_x:
        fig.update_xaxes(type="log")
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def line_figure(x, ys: dict[str, Sequence[float]], *, title: str = "", xaxis: str = "", yaxis: str = "",
                log_x: bool = False, log_y: bool = False, mode: str = "lines") -> go.Figure:
    """Several named curves over a shared x (a learning curve, a tuning curve)."""
    fig = go.Figure()
    for name, y in ys.items():
        fig.add_trace(go.Scatter(x=np.asarray(x), y=np.asarray(y), name=name, mode=mode))
    return _axes(fig, title, xaxis, yaxis, log_x, log_y)


def heatmap(matrix, *, title: str = "", x=None, y=None, xaxis: str = "", yaxis: str = "",
            colorscale: str = "Viridis", zmid: float | None = None, colorbar: str = "") -> go.Figure:
    """A labelled matrix (connectivity, confusion, similarity), row 0 at the top."""
    fig = go.Figure(go.Heatmap(z=np.asarray(matrix), x=x, y=y, colorscale=colorscale, zmid=zmid,
                               colorbar=dict(title=colorbar)))
    fig.update_layout(title=title, xaxis_title=xaxis, yaxis_title=yaxis)
    fig.update_yaxes(autorange="reversed")
    return fig


def raster(spikes, *, dt: float = 1.0, title: str = "", max_neurons: int = 200, color: str = COLORS[0],
           time_unit: str = "ms") -> go.Figure:
    """A spike raster from a (time, neurons) array of counts or booleans."""
    spikes = np.asarray(spikes)
    t, n = np.nonzero(spikes[:, :max_neurons])
    fig = go.Figure(go.Scattergl(x=t * dt, y=n, mode="markers", marker=dict(size=3, color=color), name="spikes"))
    fig.update_layout(title=title, xaxis_title=f"time ({time_unit})", yaxis_title="neuron", showlegend=False)
    return fig


def learning_curve(losses, *, x=None, name: str = "loss", title: str = "", xaxis: str = "step",
                   yaxis: str = "loss", log_x: bool = False, log_y: bool = False, smooth: int | None = None,
                   color: str = COLORS[0], raw_color: str = COLORS[5], fig: go.Figure | None = None) -> go.Figure:
    """A loss (or any training statistic) against steps, raw and, if ``smooth`` > 1, its running mean
    over ``smooth`` steps drawn on top (centred, over the full windows only)."""
    y = np.asarray(losses, dtype=float)
    x = np.arange(1, len(y) + 1) if x is None else np.asarray(x)
    fig = fig or go.Figure()
    if smooth and smooth > 1:
        fig.add_trace(go.Scatter(x=x, y=y, name=f"{name} (each step)", mode="lines",
                                 line=dict(color=raw_color, width=1), opacity=0.5))
        s = np.convolve(y, np.ones(smooth) / smooth, mode="valid")
        fig.add_trace(go.Scatter(x=x[smooth // 2: smooth // 2 + len(s)], y=s, name=f"{name} (smoothed, {smooth} steps)",
                                 mode="lines", line=dict(color=color, width=3)))
    else:
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines", line=dict(color=color)))
    return _axes(fig, title, xaxis, yaxis, log_x, log_y)


def label_runs(labels, times=None) -> list[tuple[float, float, int]]:
    """``(start, end, label)`` of each run of equal labels; ``times`` are the samples' times (default
    0, 1, 2, ...), and a run ends one sample step after its last sample."""
    e = np.asarray(labels)
    t = np.arange(len(e)) if times is None else np.asarray(times)
    edges = np.flatnonzero(np.diff(e)) + 1
    starts = np.r_[0, edges]
    ends = np.r_[edges, len(e)]
    dt = t[1] - t[0] if len(t) > 1 else 1.0
    return [(t[s], t[u - 1] + dt, int(e[s])) for s, u in zip(starts, ends)]


def shade_runs(fig: go.Figure, labels, times=None, *, names: Sequence[str] | None = None,
               fills: Sequence[str] = RUN_FILLS, row=None, col=None, opacity: float | None = None,
               offset: float = 0.0) -> go.Figure:
    """Shade the background of ``fig`` (or one subplot) by runs of equal labels: one rectangle per run,
    coloured by label, named at its top left when ``names`` is given. ``offset`` shifts every edge
    (``-0.5`` centres the runs on integer sample positions)."""
    for t0, t1, lab in label_runs(labels, times):
        kw = dict(row=row, col=col) if row is not None else {}
        if names is not None:
            kw.update(annotation_text=names[lab], annotation_position="inside top left", annotation_font_size=10)
        if opacity is not None:
            kw["opacity"] = opacity
        fig.add_vrect(x0=t0 + offset, x1=t1 + offset, fillcolor=fills[lab % len(fills)], line_width=0,
                      layer="below", **kw)
    return fig
