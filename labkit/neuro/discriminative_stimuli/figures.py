"""Figures for the discriminative-stimuli notebook (plotly; arrays in, figures out; nothing here fits anything).

Movies are drawn as *frame strips*: chosen frames side by side, one movie per row, on one diverging colour
scale (blue dark, red bright), so a whole set of stimuli is one heatmap.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS, heatmap, line_figure

DIVERGING = "RdBu_r"


def strips(movies: np.ndarray, frames=None, gap: int = 1) -> np.ndarray:
    """(K, T, H, W) → one image: row k holds movie k's chosen ``frames`` side by side, NaN gaps between."""
    movies = np.asarray(movies, dtype=float)
    k, t, h, w = movies.shape
    frames = np.arange(t) if frames is None else np.asarray(frames)
    pad = np.full((k, len(frames), h + gap, w + gap), np.nan)
    pad[:, :, :h, :w] = movies[:, frames]
    img = pad.transpose(0, 2, 1, 3).reshape(k * (h + gap), len(frames) * (w + gap))
    return img[:-gap, :-gap] if gap else img


def _strip_trace(img: np.ndarray, scale: float, showscale: bool = False):
    return go.Heatmap(z=img, zmin=-scale, zmax=scale, colorscale=DIVERGING, showscale=showscale, hoverinfo="skip")


def _bare(fig, rows: int, cols: int = 1) -> None:
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="")
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False, ticks="", autorange="reversed")
    for i in range(1, rows * cols + 1):
        sx = "" if i == 1 else str(i)
        fig.layout[f"yaxis{sx}"].update(scaleanchor=f"x{sx}")


def filter_movies(spatial: np.ndarray, temporal: np.ndarray, frames: int) -> np.ndarray:
    """The movie each cell's linear filter prefers: spatial × temporal, newest frame last (K, frames, H, W)."""
    k, length = temporal.shape
    movie = np.zeros((k, frames) + spatial.shape[1:])
    movie[:, frames - length:] = temporal[:, ::-1, None, None] * spatial[:, None]
    return movie


def types_figure(names, spatial: np.ndarray, temporal: np.ndarray) -> go.Figure:
    """The true types: each type's receptive field (signed by polarity) and its temporal filter."""
    n = len(names)
    fig = make_subplots(rows=2, cols=n, row_heights=[0.6, 0.4], subplot_titles=list(names), vertical_spacing=0.08)
    scale = float(np.abs(spatial).max())
    for i in range(n):
        fig.add_trace(go.Heatmap(z=spatial[i], zmin=-scale, zmax=scale, colorscale=DIVERGING, showscale=False,
                                 hoverinfo="skip"), 1, i + 1)
        fig.add_trace(go.Scatter(x=-np.arange(temporal.shape[1]), y=temporal[i], mode="lines+markers",
                                 line=dict(color=COLORS[i % len(COLORS)]), showlegend=False), 2, i + 1)
        sx = "" if i == 0 else str(i + 1)
        fig.layout[f"yaxis{sx}"].update(autorange="reversed", scaleanchor=f"x{sx}", showticklabels=False)
        fig.layout[f"xaxis{sx}"].update(showticklabels=False)
    fig.update_xaxes(title_text="frames before now", row=2, col=1)
    fig.update_annotations(font_size=11)
    fig.update_layout(title="The true types: receptive field (top, red = ON drive) and temporal filter (bottom)",
                      height=430, width=max(170 * n, 900), margin=dict(l=30, r=20, t=80, b=40))
    return fig


def fit_figure(r: np.ndarray, types: np.ndarray, names) -> go.Figure:
    """The twin's held-out fit: one point per cell, grouped by its true type."""
    fig = go.Figure()
    for i, name in enumerate(names):
        v = r[types == i]
        fig.add_trace(go.Box(y=v, name=name, boxpoints="all", jitter=0.4, pointpos=0,
                             marker=dict(color=COLORS[i % len(COLORS)], size=4), line=dict(width=1)))
    fig.update_layout(title="The twin on held-out white noise: correlation with each cell's true rate",
                      yaxis_title="correlation", showlegend=False, height=380)
    return fig


def confusion(types: np.ndarray, assignment: np.ndarray) -> np.ndarray:
    """Counts: clusters (rows) × true types (columns)."""
    out = np.zeros((int(assignment.max()) + 1, int(types.max()) + 1), dtype=int)
    np.add.at(out, (assignment, types), 1)
    return out


def alternation_figure(result, types: np.ndarray, names, frames) -> go.Figure:
    """Every iteration: its stimuli as frame strips (left), its clusters against the true types before the
    E-step (middle), and each cluster's objective along the M-step (right)."""
    n_it = len(result.stimuli)
    scale = max(float(np.abs(s.numpy()).max()) for s in result.stimuli)
    titles = []
    for i in range(n_it):
        titles += [f"iteration {i + 1}: stimuli (frames {frames[0]}..{frames[-1]})", "clusters × true types",
                   "objective per cluster"]
    fig = make_subplots(rows=n_it, cols=3, column_widths=[0.5, 0.22, 0.28], subplot_titles=titles,
                        horizontal_spacing=0.06, vertical_spacing=0.12 / max(n_it, 1))
    for i in range(n_it):
        fig.add_trace(_strip_trace(strips(result.stimuli[i].numpy(), frames), scale), i + 1, 1)
        conf = confusion(types, result.assignments[i])
        fig.add_trace(go.Heatmap(z=conf, colorscale="Greys", showscale=False, text=conf, texttemplate="%{text}",
                                 x=[f"t{j + 1}" for j in range(conf.shape[1])]), i + 1, 2)
        obj = result.objectives[i]
        for c in range(obj.shape[1]):
            fig.add_trace(go.Scatter(y=obj[:, c], mode="lines", line=dict(color=COLORS[c % len(COLORS)], width=1.5),
                                     showlegend=False), i + 1, 3)
        fig.update_yaxes(autorange="reversed", row=i + 1, col=2, title_text="cluster")
        fig.update_yaxes(range=[-0.1, np.log(obj.shape[1]) + 0.1], row=i + 1, col=3)
        fig.update_xaxes(showticklabels=False, row=i + 1, col=1)
        fig.update_yaxes(showticklabels=False, autorange="reversed", row=i + 1, col=1)
    fig.update_xaxes(title_text="true type (t1 = " + names[0] + ", …)", row=n_it, col=2)
    fig.update_xaxes(title_text="M-step", row=n_it, col=3)
    fig.update_annotations(font_size=11)
    fig.update_layout(title="The alternation step by step (objective: 0 = no contrast, log K = only its cluster "
                            "responds)",
                      height=260 * n_it + 80, width=1150, margin=dict(l=40, r=20, t=80, b=50))
    return fig


def final_figure(stimuli: np.ndarray, filters: np.ndarray, cluster_labels, type_labels, frames) -> go.Figure:
    """Each final stimulus (left) beside the preferred movie of the true type it was matched to (right)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["final stimuli, one row per cluster",
                                                         "matched true type's filter (its preferred movie)"],
                        horizontal_spacing=0.04)
    fig.add_trace(_strip_trace(strips(stimuli, frames), float(np.abs(stimuli).max())), 1, 1)
    fig.add_trace(_strip_trace(strips(filters, frames), float(np.abs(filters).max())), 1, 2)
    _bare(fig, 1, 2)
    h = stimuli.shape[2] + 1
    for side, labels in ((1, cluster_labels), (2, type_labels)):
        for r, text in enumerate(labels):
            fig.add_annotation(text=text, x=0, xanchor="right", y=r * h + h / 2, showarrow=False, font_size=10,
                               xref=f"x{'' if side == 1 else 2}", yref=f"y{'' if side == 1 else 2}")
    fig.update_layout(title=f"Final stimuli beside the true filters (frames {frames[0]}..{frames[-1]}, newest right)",
                      height=90 + 60 * len(stimuli), width=1000, margin=dict(l=150, r=20, t=80, b=20))
    return fig


def ari_figure(ks, mds_ari, kmeans_ari: float, n_types: int) -> go.Figure:
    """ARI after MDS from each starting K, with k-means at the true K as a line."""
    fig = line_figure(list(ks), {"MDS clustering": list(mds_ari)}, title="Agreement with the true types",
                      xaxis="starting number of clusters K", yaxis="adjusted Rand index")
    fig.update_traces(mode="lines+markers")
    fig.add_hline(y=kmeans_ari, line_dash="dot", annotation_text=f"k-means, true K = {n_types}")
    fig.update_yaxes(range=[min(0.0, min(mds_ari) - 0.05), 1.05])
    fig.update_xaxes(tickvals=list(ks))
    return fig


def explorer_figure(stimuli: np.ndarray, responses: np.ndarray, assignment: np.ndarray, cluster: int,
                    frames, title: str) -> go.Figure:
    """One cluster: its stimulus as a frame strip and its members' responses to every cluster's stimulus."""
    fig = make_subplots(rows=2, cols=1, row_heights=[0.35, 0.65], vertical_spacing=0.12,
                        subplot_titles=[f"stimulus of cluster {cluster}",
                                        f"its {int((assignment == cluster).sum())} members' normalised responses"])
    fig.add_trace(_strip_trace(strips(stimuli[cluster:cluster + 1], frames), float(np.abs(stimuli).max())), 1, 1)
    fig.update_yaxes(showticklabels=False, autorange="reversed", row=1, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    members = responses[:, assignment == cluster]
    for c in range(len(stimuli)):
        fig.add_trace(go.Box(y=members[c], name=f"stimulus {c}", boxpoints="all", pointpos=0, jitter=0.4,
                             marker=dict(size=3, color=COLORS[0] if c == cluster else "#999999")), 2, 1)
    fig.update_yaxes(title_text="z-scored response", row=2, col=1)
    fig.update_layout(title=title, showlegend=False, height=520)
    return fig


def assignment_heatmap(types: np.ndarray, assignment: np.ndarray, names, title: str) -> go.Figure:
    """Clusters × true types, counts written in."""
    conf = confusion(types, assignment)
    return heatmap(conf, title=title, x=list(names), y=[f"stimulus {i}" for i in range(len(conf))])
