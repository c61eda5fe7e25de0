"""Plotly figures for the plasticity-rules notebook: arrays in, figures out (nothing here trains)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS, model_color

LABELS = {"bp": "BP", "fa": "FA", "ccl": "CCL", "readout": "readout only",
          "finetune": "fine-tuning", "hlop": "HLOP (Hebbian)", "exact": "exact projection"}


def curves_figure(curves: dict, title: str = "") -> go.Figure:
    """Test accuracy against epochs, one line per rule (``curves``: name → accuracy array, epoch 0 first)."""
    fig = go.Figure()
    names = list(curves)
    for n, acc in curves.items():
        fig.add_trace(go.Scatter(x=np.arange(len(acc)), y=acc, name=LABELS.get(n, n),
                                 line=dict(color=model_color(n, names), width=2)))
    fig.update_layout(title=title, xaxis_title="epoch", yaxis_title="test accuracy", yaxis_range=[0, 1])
    return fig


def alignment_figure(alignment: dict, title: str = "") -> go.Figure:
    """Per-layer cosine of each rule's update with BP's over training (``alignment``: name → epochs × layers)."""
    names = list(alignment)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[LABELS.get(n, n) for n in names], shared_yaxes=True)
    for i, cos in enumerate(alignment.values()):
        for l in range(cos.shape[1]):
            fig.add_trace(go.Scatter(x=np.arange(len(cos)), y=cos[:, l], name=f"W{l + 1}", legendgroup=f"W{l + 1}",
                                     showlegend=i == 0, line=dict(color=COLORS[l % len(COLORS)])), 1, i + 1)
        fig.update_xaxes(title_text="epoch", row=1, col=i + 1)
    fig.update_yaxes(title_text="cosine with BP's update", range=[-0.5, 1.05], row=1, col=1)
    fig.update_layout(title=title)
    return fig


def code_pca_figure(acts: list, codes: list, labels: np.ndarray, title: str = "") -> go.Figure:
    """Per layer: samples' forward activity a_l (dots, coloured by class) and the feedback codes c_l of the ten
    classes (stars), both projected on the first two principal components of a_l. Only a code's direction matters
    to the loss (a_l c_lᵀ), so each code is drawn scaled to the activity's mean norm, or it would sit at the origin."""
    n = len(acts)
    fig = make_subplots(rows=1, cols=n, subplot_titles=[f"layer {l + 1}" for l in range(n)])
    for l, (a, c) in enumerate(zip(acts, codes)):
        mu = a.mean(0)
        c = c * (np.linalg.norm(a - mu, axis=1).mean() / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-12))
        _, _, vt = np.linalg.svd(a - mu, full_matrices=False)
        pa, pc = (a - mu) @ vt[:2].T, (c - mu) @ vt[:2].T
        for k in range(c.shape[0]):
            color = COLORS[k % len(COLORS)] if k < len(COLORS) else "#888888"
            sel = labels == k
            fig.add_trace(go.Scatter(x=pa[sel, 0], y=pa[sel, 1], mode="markers", name=f"class {k}",
                                     legendgroup=str(k), showlegend=l == 0,
                                     marker=dict(color=color, size=4, opacity=0.5, symbol=k // len(COLORS))),
                          1, l + 1)
            fig.add_trace(go.Scatter(x=[pc[k, 0]], y=[pc[k, 1]], mode="markers+text", text=[str(k)],
                                     textposition="top center", legendgroup=str(k), showlegend=False,
                                     marker=dict(color=color, size=13, symbol="star", line=dict(width=1))), 1, l + 1)
    fig.update_layout(title=title, height=420)
    return fig


def matrices_figure(matrices: dict, title: str = "") -> go.Figure:
    """Accuracy matrices side by side: row i, column j = task j's test accuracy after training task i."""
    names = list(matrices)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=[LABELS.get(n, n) for n in names],
                        horizontal_spacing=0.06)
    for i, n in enumerate(names):
        m = np.asarray(matrices[n])
        t = np.arange(1, m.shape[0] + 1)
        fig.add_trace(go.Heatmap(z=m, x=t, y=t, zmin=0, zmax=1, colorscale="Viridis", showscale=i == len(names) - 1,
                                 text=np.round(m, 2), texttemplate="%{text}", colorbar=dict(title="accuracy")),
                      1, i + 1)
        fig.update_xaxes(title_text="task tested", dtick=1, row=1, col=i + 1)
        fig.update_yaxes(autorange="reversed", dtick=1, row=1, col=i + 1,
                         title_text="after training task" if i == 0 else None)
    fig.update_layout(title=title, height=380)
    return fig


def cos2_figure(cos2: list, title: str = "") -> go.Figure:
    """Mean cos² of the principal angles between Oja's new lateral neurons and the exact subspace, per layer and
    task (``cos2``: (task, layer, value) triples, pooled over replicates)."""
    arr = np.array(cos2, dtype=float)
    fig = go.Figure()
    for l in sorted({int(v) for v in arr[:, 1]}):
        sel = arr[:, 1] == l
        fig.add_trace(go.Box(x=arr[sel, 0] + 1, y=arr[sel, 2], name=f"layer {l + 1} input", boxpoints="all",
                             marker_color=COLORS[l % len(COLORS)]))
    fig.update_layout(title=title, boxmode="group", xaxis_title="after task", yaxis_range=[0, 1.02],
                      yaxis_title="mean cos² (1 = same subspace)")
    return fig


def scores_figure(energies, acc, bwt, title: str = "") -> go.Figure:
    """ACC and BWT of the exact projection against the energy threshold."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=energies, y=acc, name="ACC", mode="lines+markers", line=dict(color=COLORS[0])))
    fig.add_trace(go.Scatter(x=energies, y=bwt, name="BWT", mode="lines+markers", line=dict(color=COLORS[3])))
    fig.update_layout(title=title, xaxis_title="energy kept by the protected subspace", yaxis_title="score")
    return fig
