"""Plotly figures of the feature-visualization notebook: arrays in, figures out (nothing here trains)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS


def mosaic(images: np.ndarray, n_cols: int, pad: int = 2) -> np.ndarray:
    """(N, 3, H, W) pictures in [0, 1] tiled row by row into one (rows·H, cols·W, 3) uint8 picture."""
    n, _, h, w = images.shape
    rows = -(-n // n_cols)
    out = np.full((rows * (h + pad) - pad, n_cols * (w + pad) - pad, 3), 255, np.uint8)
    for i, im in enumerate(np.clip(images, 0, 1)):
        r, c = divmod(i, n_cols)
        y, x = r * (h + pad), c * (w + pad)
        out[y:y + h, x:x + w] = (255 * im.transpose(1, 2, 0)).astype(np.uint8)
    return out


def image_grid(images: np.ndarray, n_cols: int, title: str, row_labels=(), col_labels=(), cell: int = 64) -> go.Figure:
    """A tiled grid of pictures with optional row and column labels."""
    tile = mosaic(images, n_cols)
    h = images.shape[-1] + 2
    fig = go.Figure(go.Image(z=tile, hoverinfo="skip"))
    scale = cell / h
    left = 150 if len(row_labels) else 20
    top = 100 if len(col_labels) else 50
    fig.update_layout(title=title, width=max(560, left + 30 + tile.shape[1] * scale),
                      height=130 + tile.shape[0] * scale, margin=dict(l=left, r=20, t=top, b=10))
    fig.update_xaxes(showgrid=False, zeroline=False, side="top",
                     tickvals=[c * h + h / 2 for c in range(len(col_labels))],
                     ticktext=list(col_labels), showticklabels=bool(len(col_labels)), tickfont=dict(size=10))
    fig.update_yaxes(showgrid=False, zeroline=False, tickvals=[r * h + h / 2 for r in range(len(row_labels))],
                     ticktext=list(row_labels), showticklabels=bool(len(row_labels)))
    return fig


def tsne_figure(classes: list, facet_names, class_index: int = 0) -> go.Figure:
    """One class's codes in t-SNE coordinates: colour = planted facet, symbol = found cluster; centroids as crosses."""
    d = classes[class_index]
    emb, truth, labels = d["found"].embedding, d["facets"], d["found"].labels
    fig = go.Figure()
    for j, f in enumerate(np.unique(truth)):
        sel = truth == f
        fig.add_trace(go.Scatter(x=emb[sel, 0], y=emb[sel, 1], mode="markers", name=facet_names[f],
                                 marker=dict(color=COLORS[j % len(COLORS)], symbol=labels[sel] % 3, size=7)))
    c = d["found"].centroids
    fig.add_trace(go.Scatter(x=c[:, 0], y=c[:, 1], mode="markers", name="k-means centroids",
                             marker=dict(symbol="x", size=14, color="black")))
    fig.update_layout(title=f"class {class_index}: codes in t-SNE; colour = planted facet, symbol = cluster "
                            f"(ARI {d['ari']:.2f})",
                      xaxis_title="t-SNE 1", yaxis_title="t-SNE 2", height=450, width=900)
    return fig


def trace_figure(traces: dict, title: str = "activation of the class unit against step") -> go.Figure:
    """Mean (over pictures) objective activation against step, one line per regime."""
    fig = go.Figure()
    for i, (name, tr) in enumerate(traces.items()):
        fig.add_trace(go.Scatter(y=tr.mean(1), mode="lines", name=name, line=dict(color=COLORS[i % len(COLORS)])))
    fig.update_layout(title=title, xaxis_title="step", yaxis_title="logit (transformed picture)", height=400, width=800)
    return fig


def hash_figure(hs, bound: np.ndarray) -> go.Figure:
    """Left: redundancy ratio against width, with the share of inputs Zaslavsky's bound would force to share
    a region; middle: redundancy against training step; right: code accuracies against width."""
    fig = make_subplots(1, 3, subplot_titles=("redundancy after training", "redundancy during training",
                                              "classifying from the code"), horizontal_spacing=0.08)
    w = hs.widths
    fig.add_trace(go.Scatter(x=w, y=hs.redundancy, mode="lines+markers", name="redundancy (trained)",
                             line=dict(color=COLORS[0])), 1, 1)
    fig.add_trace(go.Scatter(x=w, y=bound, mode="lines", name="floor from the region bound",
                             line=dict(color="grey", dash="dash")), 1, 1)
    for i, width in enumerate(w):
        fig.add_trace(go.Scatter(x=hs.epochs, y=hs.redundancy_epochs[i], mode="lines", name=f"width {width}",
                                 line=dict(color=COLORS[i % len(COLORS)]), showlegend=False,
                                 hovertemplate=f"width {width}: %{{y:.3f}}<extra></extra>"), 1, 2)
    for i, (name, acc) in enumerate([("9-NN (Hamming)", hs.knn), ("k-means (matched)", hs.kmeans),
                                     ("logistic", hs.logistic), ("the MLP itself", hs.mlp)]):
        fig.add_trace(go.Scatter(x=w, y=acc, mode="lines+markers", name=name,
                                 line=dict(color=COLORS[(i + 1) % len(COLORS)])), 1, 3)
    for c in (1, 3):
        fig.update_xaxes(type="log", title_text="hidden units", row=1, col=c)
    fig.update_xaxes(title_text="training step", row=1, col=2)
    fig.update_yaxes(title_text="redundancy ratio", row=1, col=1)
    fig.update_yaxes(title_text="test accuracy", row=1, col=3)
    fig.update_layout(height=440, width=1050, legend=dict(orientation="h", y=-0.28))
    return fig


def explorer_figure(image: np.ndarray, trace: np.ndarray, title: str) -> go.Figure:
    """One synthesis beside its activation against step."""
    fig = make_subplots(1, 2, column_widths=[0.4, 0.6], subplot_titles=("synthesis", "activation against step"))
    fig.add_trace(go.Image(z=(255 * np.clip(image, 0, 1).transpose(1, 2, 0)).astype(np.uint8)), 1, 1)
    fig.add_trace(go.Scatter(y=trace, mode="lines", line=dict(color=COLORS[0]), showlegend=False), 1, 2)
    fig.update_xaxes(visible=False, row=1, col=1)
    fig.update_yaxes(visible=False, row=1, col=1)
    fig.update_xaxes(title_text="step", row=1, col=2)
    fig.update_layout(title=title, height=380, width=900)
    return fig
