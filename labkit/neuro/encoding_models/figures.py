"""Plotly figures of the encoding-models notebook: arrays in, figures out (nothing here fits anything)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS, line_figure, model_color

KIND_NAMES = ("retinotopic", "category")


def _image(fig, z, row, col, colorscale="Greys", zmin=None, zmax=None, showscale=False):
    fig.add_trace(go.Heatmap(z=z, colorscale=colorscale, zmin=zmin, zmax=zmax, showscale=showscale), row=row, col=col)
    fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor=None, row=row, col=col)
    fig.update_xaxes(showticklabels=False, row=row, col=col)


def scenes_figure(images: np.ndarray, features: np.ndarray, evidence: np.ndarray, classes: np.ndarray,
                  channel: int = 0) -> go.Figure:
    """Row 1: scenes; row 2: one channel of the backbone's map; row 3: the evidence map of each scene's first digit."""
    n = len(images)
    titles = [f"scene {i}: digits {', '.join(str(c) for c in classes[i] if c >= 0)}" for i in range(n)]
    titles += [f"map channel {channel}" for _ in range(n)]
    titles += [f"evidence for a {classes[i][0]}" for i in range(n)]
    fig = make_subplots(3, n, subplot_titles=titles, vertical_spacing=0.06, horizontal_spacing=0.03)
    for i in range(n):
        _image(fig, images[i], 1, i + 1, zmin=0, zmax=1)
        _image(fig, features[i, :, channel].reshape(10, 10), 2, i + 1, colorscale="Viridis")
        _image(fig, evidence[i, classes[i][0]].reshape(10, 10), 3, i + 1, colorscale="Magma")
    fig.update_layout(title="Scenes, the backbone's 10×10 map and its class evidence", height=640)
    return fig


def score_scatter(scores: dict, kind: np.ndarray, pairs=(("ridge", "attention"), ("factorized", "attention")),
                  labels: dict | None = None) -> go.Figure:
    """Normalized score per voxel, readout against readout, coloured by voxel kind; the diagonal dotted."""
    labels = labels or {k: k for k in scores}
    pairs = [p for p in pairs if p[0] in scores and p[1] in scores]
    fig = make_subplots(1, max(len(pairs), 1), subplot_titles=[f"{labels[b]} vs {labels[a]}" for a, b in pairs])
    for j, (a, b) in enumerate(pairs):
        for i, name in enumerate(KIND_NAMES):
            sel = kind == i
            fig.add_trace(go.Scattergl(x=scores[a][sel], y=scores[b][sel], mode="markers", name=f"{name} voxels",
                                       marker=dict(size=4, color=COLORS[i], opacity=0.6), showlegend=j == 0),
                          row=1, col=j + 1)
        fig.add_trace(go.Scatter(x=[0, 1.2], y=[0, 1.2], mode="lines", line=dict(dash="dot", color="grey"),
                                 showlegend=False), row=1, col=j + 1)
        fig.update_xaxes(title=f"{labels[a]} (score / ceiling)", range=[-0.05, 1.25], row=1, col=j + 1)
        fig.update_yaxes(title=f"{labels[b]} (score / ceiling)", range=[-0.05, 1.25], row=1, col=j + 1)
    fig.update_layout(title="Normalized score per voxel (1 = the noise ceiling)", height=460)
    return fig


def masks_figure(true_windows: np.ndarray, masks: np.ndarray, voxels) -> go.Figure:
    """For each voxel in ``voxels``: its true Gaussian window (top) and the factorized readout's mask (bottom)."""
    voxels = list(voxels)
    fig = make_subplots(2, len(voxels), subplot_titles=[f"voxel {v}: true window" for v in voxels]
                        + ["recovered mask" for _ in voxels], vertical_spacing=0.1, horizontal_spacing=0.03)
    for j, v in enumerate(voxels):
        _image(fig, true_windows[v].reshape(10, 10), 1, j + 1, colorscale="Viridis")
        _image(fig, masks[v].reshape(10, 10), 2, j + 1, colorscale="Viridis")
    fig.update_layout(title="Where a retinotopic voxel reads: the truth and the factorized readout's mask", height=420)
    return fig


def routes_figure(images: np.ndarray, routes: np.ndarray, boxes: np.ndarray, title: str) -> go.Figure:
    """Scenes (top) and one voxel's attention route on each (bottom, the box of its class outlined by dots)."""
    n = len(images)
    fig = make_subplots(2, n, vertical_spacing=0.06, horizontal_spacing=0.03,
                        subplot_titles=[f"mass on box {float((r * b).sum()):.2f}" for r, b in zip(routes, boxes)]
                        + ["" for _ in range(n)])
    for j in range(n):
        _image(fig, images[j], 1, j + 1, zmin=0, zmax=1)
        _image(fig, routes[j].reshape(10, 10), 2, j + 1, colorscale="Magma", zmin=0)
        rr, cc = np.nonzero(boxes[j].reshape(10, 10))
        fig.add_trace(go.Scatter(x=cc, y=rr, mode="markers", marker=dict(symbol="circle-open", size=7,
                                 color=COLORS[2]), showlegend=False), row=2, col=j + 1)
    fig.update_layout(title=title, height=440)
    return fig


def curve_figure(sizes, curve: dict, labels: dict) -> go.Figure:
    """Median normalized score against training scenes, one line per readout and voxel kind (category dashed)."""
    names = list(curve)
    fig = go.Figure()
    for k in names:
        for i, kd in enumerate(KIND_NAMES):
            fig.add_trace(go.Scatter(x=list(sizes), y=curve[k][kd], mode="lines+markers",
                                     name=f"{labels[k]}, {kd}", line=dict(color=model_color(k, names),
                                                                          dash="dash" if i else "solid")))
    fig.update_layout(title="Score against training size", xaxis_title="training scenes",
                      yaxis_title="median normalized score", xaxis_type="log", height=440)
    return fig


def loss_figure(histories: dict) -> go.Figure:
    """Training loss of each trained readout against steps."""
    steps = max(len(h) for h in histories.values())
    return line_figure(np.arange(1, steps + 1), {k: np.asarray(h) for k, h in histories.items()},
                       title="Training loss", xaxis="step", yaxis="mean squared error (+ penalty)", log_y=True)


def explorer_figure(image: np.ndarray, truth_map: np.ndarray, maps: dict, measured: float, predicted: dict,
                    title: str) -> go.Figure:
    """One voxel on one scene: the scene, the true read-out map, each model's map or route, and the numbers."""
    panels = {"scene": image, "truth": truth_map.reshape(10, 10), **{k: m.reshape(10, 10) for k, m in maps.items()}}
    fig = make_subplots(1, len(panels), subplot_titles=[
        k if k in ("scene",) else f"{k}: {predicted.get(k, measured):+.2f}" for k in panels])
    for j, (k, z) in enumerate(panels.items()):
        _image(fig, z, 1, j + 1, colorscale="Greys" if k == "scene" else "Viridis")
    fig.update_layout(title=f"{title}; measured {measured:+.2f} (mean of repeats)", height=330)
    return fig
