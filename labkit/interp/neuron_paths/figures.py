"""Plotly figures of the neuron-paths notebook: arrays in, figures out (nothing here computes a path)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS, model_color


def _np(a) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def path_on_activations(image, acts, path: dict, title: str = "") -> go.Figure:
    """The image, and its CLS activations [L, D] as a heatmap with each method's path neurons marked
    (``path``: method -> [L, K] indices)."""
    image, acts = _np(image).squeeze(), _np(acts)
    L, D = acts.shape
    fig = make_subplots(rows=1, cols=2, column_widths=[0.18, 0.82], horizontal_spacing=0.06,
                        subplot_titles=("image", "CLS activations after GELU, layer × neuron"))
    fig.add_trace(go.Heatmap(z=image[::-1], colorscale="Greys", showscale=False), 1, 1)
    fig.add_trace(go.Heatmap(z=acts, colorscale="Viridis", colorbar=dict(title="activation", x=1.02)), 1, 2)
    names = list(path)
    symbols = ["circle-open", "x-thin-open", "diamond-open", "square-open", "cross-thin-open"]
    for j, (name, idx) in enumerate(path.items()):
        idx = _np(idx)
        layers = np.repeat(np.arange(L), idx.shape[1])
        fig.add_trace(go.Scatter(x=idx.reshape(-1), y=layers + 0.12 * (j - (len(names) - 1) / 2), mode="markers",
                                 name=name, marker=dict(symbol=symbols[j % len(symbols)], size=11,
                                                        line=dict(width=2.5, color=model_color(name, names)))), 1, 2)
    fig.update_xaxes(visible=False, row=1, col=1)
    fig.update_yaxes(visible=False, scaleanchor="x", row=1, col=1)
    fig.update_xaxes(title="neuron", row=1, col=2)
    fig.update_yaxes(title="layer", tickvals=list(range(L)), row=1, col=2)
    fig.update_layout(title=title, height=380, legend=dict(orientation="h", y=-0.25))
    return fig


def box_by_method(values: dict, title: str, ytitle: str) -> go.Figure:
    """One box per method (``values``: method -> per-image numbers)."""
    names = list(values)
    fig = go.Figure([go.Box(y=_np(v), name=n, marker_color=model_color(n, names), boxmean=True)
                     for n, v in values.items()])
    fig.update_layout(title=title, yaxis_title=ytitle, showlegend=False, height=380)
    return fig


def intervention_bars(remove: dict, enhance: dict, methods, ks) -> go.Figure:
    """Mean Δp_y under removal (drop) and enhancement (gain), per method, for each K."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("removal (×0): drop of p_y", "enhancement (×2): gain of p_y"))
    for col, table in ((1, remove), (2, enhance)):
        for j, k in enumerate(ks):
            fig.add_trace(go.Bar(x=list(methods), y=[float(_np(table[mt, k]).mean()) for mt in methods],
                                 name=f"K = {k}", marker_color=COLORS[j % len(COLORS)], showlegend=col == 1,
                                 legendgroup=str(k)), 1, col)
    fig.update_yaxes(title="mean Δp_y", row=1, col=1)
    fig.update_layout(barmode="group", height=400, title="Interventions on each method's path")
    return fig


def class_frequency(counts, classes=None) -> go.Figure:
    """How often each neuron is on a class's K=1 path: one heatmap row per (class, layer)."""
    counts = _np(counts)
    C, L, D = counts.shape
    classes = list(range(C)) if classes is None else classes
    freq = counts / np.maximum(counts.sum(2, keepdims=True), 1)
    z = freq.reshape(C * L, D)
    labels = [f"digit {c}, layer {layer}" for c in classes for layer in range(L)]
    fig = go.Figure(go.Heatmap(z=z, y=labels, colorscale="Blues", colorbar=dict(title="share")))
    fig.update_layout(title="Per-class path neuron frequencies (JAS, K = 1)", xaxis_title="neuron",
                      height=max(400, 14 * C * L), yaxis=dict(autorange="reversed", tickfont=dict(size=9),
                                                            tickmode="array", tickvals=labels, ticktext=labels))
    return fig


def jaccard_figure(J, y) -> go.Figure:
    """The pairwise Jaccard matrix of paths, images sorted by class."""
    J, y = _np(J), _np(y)
    order = np.argsort(y, kind="stable")
    fig = go.Figure(go.Heatmap(z=J[np.ix_(order, order)], colorscale="Viridis", zmin=0, zmax=1,
                               colorbar=dict(title="Jaccard")))
    edges = np.flatnonzero(np.diff(y[order])) + 0.5
    for e in edges:
        fig.add_hline(y=e, line_width=0.5, line_color="white")
        fig.add_vline(x=e, line_width=0.5, line_color="white")
    fig.update_layout(title="Jaccard of JAS paths (K = 1), images sorted by digit", height=520, width=560,
                      xaxis_title="image", yaxis_title="image", yaxis=dict(autorange="reversed"))
    return fig


def pruning_figure(ks, prune: dict, sizes: dict, base: float, n_neurons: int) -> go.Figure:
    """Test accuracy when only the union of class paths is kept, against the share of CLS neurons kept."""
    names = list(prune)
    fig = go.Figure()
    for n in names:
        fig.add_trace(go.Scatter(x=_np(sizes[n]) / n_neurons, y=_np(prune[n]), mode="lines+markers", name=n,
                                 text=[f"K = {k}" for k in ks], line=dict(color=model_color(n, names))))
    fig.add_hline(y=base, line_dash="dot", annotation_text="all neurons", annotation_position="bottom right")
    fig.update_layout(title="Keeping only the class paths' neurons (K = " + ", ".join(map(str, ks)) + ")",
                      xaxis_title="share of CLS neurons kept", yaxis_title="test accuracy", height=420)
    return fig


def explorer_figure(image, acts, path, p: dict, title: str) -> go.Figure:
    """The explorer's view: the image's path over its activations, with p_y clean / removed / enhanced."""
    fig = path_on_activations(image, acts, {"JAS": path}, title)
    text = "   ".join(f"{k}: {v:.3f}" for k, v in p.items())
    fig.add_annotation(text=text, xref="paper", yref="paper", x=1.0, xanchor="right", y=1.2, showarrow=False)
    return fig


def loss_figure(losses) -> go.Figure:
    """The ViT's training loss per step."""
    losses = _np(losses)
    fig = go.Figure(go.Scatter(y=losses, mode="lines", line=dict(color=COLORS[0])))
    fig.update_layout(title="ViT training loss", xaxis_title="step", yaxis_title="cross-entropy", height=320)
    return fig
