"""Figures of the delay-learning notebook: arrays in, plotly figures out."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS, model_color
from labkit.viz.pieces import line_figure, raster

METHODS = ("dense", "pruned by magnitude", "shortened (shortest delays kept)")


def class_name(k: int, classes: np.ndarray) -> str:
    """'45°, 0.5 px/step' for class ``k`` of the (K, 2) velocities."""
    vx, vy = classes[k]
    return f"{np.degrees(np.arctan2(vy, vx)) % 360:.0f}°, {np.hypot(vx, vy):.2g} px/step"


def stream_figure(events: np.ndarray, velocity: np.ndarray, labels: np.ndarray, classes: np.ndarray,
                  steps=(12, 24, 36, 48)) -> go.Figure:
    """One movie: its trajectory (content position, coloured by motion class) and ON - OFF event frames summed
    over the 6 steps up to each of ``steps``. ``events`` (2, T, S, S), ``velocity`` (T, 2), ``labels`` (T,)."""
    steps = [s for s in steps if s < events.shape[1]]
    titles = ["trajectory"] + [f"events, steps {s - 5}–{s}" for s in steps]
    fig = make_subplots(1, len(steps) + 1, subplot_titles=titles, horizontal_spacing=0.03)
    pos = np.cumsum(velocity, 0)
    names = [class_name(k, classes) for k in range(len(classes))]
    for k in np.unique(labels):
        m = labels == k
        fig.add_trace(go.Scatter(x=np.where(m, pos[:, 0], np.nan), y=np.where(m, pos[:, 1], np.nan),
                                 mode="lines+markers", marker=dict(size=3), name=names[k],
                                 line=dict(color=model_color(names[k], names))), 1, 1)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", row=1, col=1)
    for i, s in enumerate(steps):
        frame = events[0, s - 5:s + 1].sum(0) - events[1, s - 5:s + 1].sum(0)
        fig.add_trace(go.Heatmap(z=frame, colorscale="RdBu_r", zmid=0, showscale=False), 1, i + 2)
        fig.update_yaxes(autorange="reversed", showticklabels=False, row=1, col=i + 2)
        fig.update_xaxes(showticklabels=False, row=1, col=i + 2)
    fig.update_layout(title="A movie: the content's path (px, coloured by motion) and its events (red ON, blue OFF)",
                      height=330, legend=dict(font=dict(size=9)))
    return fig


def kernel_figure(kernel: np.ndarray, classes: np.ndarray, which=None, delays=None) -> go.Figure:
    """Delay slices (ON - OFF weights) of the kernels of the classes ``which`` (rows), at ``delays`` (columns)."""
    n_k, _, n_d = kernel.shape[:3]
    which = list(range(0, n_k, max(1, n_k // 4)))[:4] if which is None else list(which)
    delays = list(np.unique(np.linspace(0, n_d - 1, min(n_d, 6)).astype(int))) if delays is None else list(delays)
    fig = make_subplots(len(which), len(delays), horizontal_spacing=0.01, vertical_spacing=0.04,
                        column_titles=[f"delay {d}" for d in delays])
    lim = float(np.abs(kernel[which][:, :, delays]).max()) or 1.0
    for r, k in enumerate(which):
        for c, d in enumerate(delays):
            fig.add_trace(go.Heatmap(z=kernel[k, 0, d] - kernel[k, 1, d], colorscale="RdBu_r", zmin=-lim, zmax=lim,
                                     showscale=(r == 0 and c == 0), colorbar=dict(x=1.12)), r + 1, c + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_yaxes(showticklabels=False, autorange="reversed")
    for r, k in enumerate(which):  # each row's class, written across, left of its first panel
        fig.add_annotation(text=class_name(k, classes).replace(", ", "<br>"), textangle=0, showarrow=False,
                           xref="paper", x=-0.01, xanchor="right", yref=f"y{r * len(delays) + 1 if r else ''} domain",
                           y=0.5)
    fig.update_layout(title="Learned kernels: weight (ON − OFF) at each delay; the blob moves against the motion",
                      height=150 * len(which) + 80, margin=dict(l=110))
    return fig


def since_figure(by_since: np.ndarray, chance: float, n_delays: int) -> go.Figure:
    """Test accuracy against steps since the current motion started."""
    fig = line_figure(np.arange(len(by_since)), {"accuracy": by_since}, mode="lines+markers",
                      title="How fast: accuracy against time since the motion started",
                      xaxis="steps (ms) since the motion started", yaxis="accuracy")
    fig.add_hline(y=chance, line_dash="dot", annotation_text="chance")
    fig.add_vline(x=n_delays - 1, line_dash="dash", annotation_text="all delays inside the motion")
    fig.update_yaxes(range=[0, 1.02])
    return fig


def budget_figure(keeps, pruned, shortened, fits: dict, chance: float) -> go.Figure:
    """Accuracy against the fraction of synapses kept, pruning against shortening, with their sigmoid fits."""
    keeps = np.asarray(keeps)
    fine = np.geomspace(keeps.min(), keeps.max(), 200)
    fig = go.Figure()
    for name, acc in ((METHODS[1], pruned), (METHODS[2], shortened)):
        color = model_color(name, METHODS)
        fig.add_trace(go.Scatter(x=keeps, y=acc, mode="markers", name=name, marker=dict(color=color, size=8)))
        fig.add_trace(go.Scatter(x=fine, y=fits[name](fine), mode="lines", name=f"{name}, sigmoid fit",
                                 line=dict(color=color, dash="dot")))
    fig.add_hline(y=chance, line_dash="dot", annotation_text="chance")
    fig.add_vline(x=1 / 30, line_dash="dash", annotation_text="1/30")
    fig.update_xaxes(type="log", title="fraction of synapses kept")
    fig.update_layout(title="Accuracy against the synapses kept: pruning by magnitude and shortening",
                      yaxis_title="accuracy", yaxis_range=[0, 1.02])
    return fig


def engine_raster(t: np.ndarray, n: np.ndarray, labels: np.ndarray, n_per_class: int, classes: np.ndarray,
                  n_steps: int) -> go.Figure:
    """Output spikes of the pruned layer on the engine (one movie): neuron index grouped by class, with the
    true class's band outlined at each step."""
    counts = np.zeros((n_steps, len(classes) * n_per_class))
    np.add.at(counts, (t, n), 1)
    fig = raster(counts, max_neurons=counts.shape[1], color=COLORS[0],
                 title="The pruned layer on the spiking engine: output spikes (grey band: the true motion's neurons)")
    lo = labels * n_per_class
    fig.add_trace(go.Scatter(x=np.arange(n_steps), y=lo + n_per_class / 2, mode="lines", name="true class",
                             line=dict(color="rgba(0,0,0,0.25)", width=6)))
    fig.update_yaxes(title=f"output neuron (class × {n_per_class} positions)")
    return fig


def explorer_figure(events: np.ndarray, scores: np.ndarray, kernel: np.ndarray, k: int, classes: np.ndarray,
                    n_delays: int) -> go.Figure:
    """One constant motion: its summed events, the pooled evidence of every class over time, and the true
    class's kernel: at each pixel the delay its weight magnitude sits at on average (the path it expects)."""
    names = [class_name(j, classes) for j in range(len(classes))]
    fig = make_subplots(1, 3, subplot_titles=["events (ON − OFF, all steps)", "pooled evidence per class",
                                              f"kernel of {names[k]}: mean delay by |weight|"],
                        column_widths=[0.28, 0.44, 0.28])
    fig.add_trace(go.Heatmap(z=events[0].sum(0) - events[1].sum(0), colorscale="RdBu_r", zmid=0, showscale=False), 1, 1)
    for j in range(len(classes)):
        fig.add_trace(go.Scatter(y=scores[:, j], mode="lines", name=names[j], showlegend=False,
                                 line=dict(width=4 if j == k else 1, color=COLORS[0] if j == k else "lightgray")), 1, 2)
    fig.add_vline(x=n_delays - 1, line_dash="dash", row=1, col=2)
    w = np.abs(kernel[k]).sum(0)                                      # (D, h, w) weight magnitudes
    depth = (np.arange(w.shape[0])[:, None, None] * w).sum(0) / w.sum(0).clip(1e-9)
    fig.add_trace(go.Heatmap(z=np.where(w.sum(0) > 0, depth, np.nan), colorscale="Viridis",
                             colorbar=dict(title="delay", x=1.02)), 1, 3)
    for c in (1, 3):
        fig.update_yaxes(autorange="reversed", showticklabels=False, row=1, col=c)
        fig.update_xaxes(showticklabels=False, row=1, col=c)
    fig.update_xaxes(title="step", row=1, col=2)
    fig.update_layout(height=360, title=f"Motion {names[k]}: the true class (thick) wins once its delays fill")
    return fig
