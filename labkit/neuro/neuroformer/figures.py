"""Plotly figures of the Neuroformer notebook (arrays in, figures out; nothing here trains)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS

__all__ = ["raster_tokens_figure", "loss_figure", "generation_figure", "connectivity_figure", "few_shot_figure",
           "partners_figure"]


def raster_tokens_figure(time, neuron, window: int, dt_res: int, names, t_max: int = 300) -> go.Figure:
    """A trial's raster up to ``t_max`` ms, window edges dashed, each spike labelled by its token (id, dt)."""
    keep = time < t_max
    t, n = np.asarray(time)[keep], np.asarray(neuron)[keep]
    text = [f"token ({k}, {(x % window) // dt_res})" for x, k in zip(t, n)]
    fig = go.Figure(go.Scatter(x=t, y=n, mode="markers", marker=dict(symbol="line-ns-open", size=9, color=COLORS[0]),
                               text=text, hovertemplate="%{text}<br>%{x} ms<extra></extra>"))
    for w in range(0, t_max + 1, window):
        fig.add_vline(x=w, line_dash="dash", line_color="grey", line_width=1)
    fig.update_layout(title=f"One trial as tokens: each spike is (neuron id, offset in {dt_res} ms bins) of its "
                            f"{window} ms window", xaxis_title="time (ms)", yaxis_title="neuron",
                      yaxis=dict(tickvals=list(range(len(names))), ticktext=list(names)), height=460)
    return fig


def loss_figure(losses: dict) -> go.Figure:
    """Training loss (nats per token, id + offset) of each objective against steps."""
    fig = go.Figure()
    for i, (name, y) in enumerate(losses.items()):
        y = np.asarray(y)
        k = max(1, y.size // 50)
        smooth = np.convolve(y, np.ones(k) / k, mode="valid") if y.size else y
        fig.add_trace(go.Scatter(x=np.arange(smooth.size) + k, y=smooth, name=name, line=dict(color=COLORS[i])))
    fig.update_layout(title="Pretraining: autoregressive against masked (30% hidden) objective",
                      xaxis_title="step", yaxis_title="cross-entropy per predicted token (nats)", height=380)
    return fig


def generation_figure(gen: dict, names) -> go.Figure:
    """Generated against held-out: per-neuron rates, and the PSTH of each stimulus-driven neuron."""
    driven = gen["driven"]
    fig = make_subplots(1, 2, subplot_titles=("rates (Hz)", "PSTHs of stimulus-driven neurons"),
                        column_widths=[0.35, 0.65])
    r_t, r_g = gen["rates_true"], gen["rates_generated"]
    hi = float(max(r_t.max(), r_g.max(), 1.0)) * 1.05
    fig.add_trace(go.Scatter(x=r_t, y=r_g, mode="markers", text=list(names), name="neurons",
                             marker=dict(color=COLORS[0])), 1, 1)
    fig.add_trace(go.Scatter(x=[0, hi], y=[0, hi], mode="lines", line=dict(dash="dot", color="grey"),
                             showlegend=False), 1, 1)
    t = (np.arange(gen["psth_true"].shape[0]) + 0.5) * gen["bin_ms"]
    for c, i in enumerate(driven):
        col = COLORS[c % len(COLORS)]
        fig.add_trace(go.Scatter(x=t, y=gen["psth_true"][:, i], name=f"{names[i]} held-out", line=dict(color=col),
                                 legendgroup=str(i)), 1, 2)
        fig.add_trace(go.Scatter(x=t, y=gen["psth_generated"][:, i], name=f"{names[i]} generated",
                                 line=dict(color=col, dash="dot"), legendgroup=str(i)), 1, 2)
    fig.update_xaxes(title_text="held-out rate (Hz)", row=1, col=1)
    fig.update_yaxes(title_text="generated rate (Hz)", row=1, col=1)
    fig.update_xaxes(title_text="time in trial (ms)", row=1, col=2)
    fig.update_yaxes(title_text="rate (Hz)", row=1, col=2)
    fig.update_layout(height=480, margin=dict(t=90), title="Generated trials against held-out trials",
                      legend=dict(orientation="h", y=-0.2, font_size=10))
    return fig


def connectivity_figure(truth_pre_post: np.ndarray, mats: dict, scores: dict) -> go.Figure:
    """The signed truth (i <- j) beside each method's score matrix, with its AUC in the subplot title."""
    names = list(mats)
    titles = ["truth: signed weight"] + [f"{k}<br>AUC {scores[k]['auc']:.2f}, excit. {scores[k]['auc_excitatory']:.2f}"
                                         for k in names]
    fig = make_subplots(1, 1 + len(names), subplot_titles=titles, horizontal_spacing=0.04)
    w = np.asarray(truth_pre_post).T
    m = float(np.abs(w).max()) or 1.0
    fig.add_trace(go.Heatmap(z=w, zmin=-m, zmax=m, colorscale="RdBu", showscale=False), 1, 1)
    for c, k in enumerate(names):
        z = np.asarray(mats[k], float)
        fig.add_trace(go.Heatmap(z=z, colorscale="Viridis", showscale=False), 1, c + 2)
    for c in range(1 + len(names)):
        fig.update_yaxes(autorange="reversed", title_text="i (post)" if c == 0 else None, row=1, col=c + 1)
        fig.update_xaxes(title_text="j (pre)", row=1, col=c + 1)
    fig.update_annotations(font_size=12)
    fig.update_layout(height=400, margin=dict(t=110),
                      title="Connectivity: the truth against attention, cross-correlation and the GLM")
    return fig


def few_shot_figure(fs: dict, joint: dict | None = None) -> go.Figure:
    """Held-out R^2 against labelled trials for each decoder (and the jointly pretrained model's head)."""
    fig = go.Figure()
    if joint is not None:
        fig.add_trace(go.Scatter(x=joint["shots"], y=joint["pretrained"], name="joint spikes + behavior, frozen + "
                                 "linear head", mode="lines+markers", line=dict(color=COLORS[0], dash="dot")))
    for i, k in enumerate(("pretrained", "scratch", "ridge")):
        fig.add_trace(go.Scatter(x=fs["shots"], y=fs[k], name={"pretrained": "pretrained, frozen + linear head",
                                                               "scratch": "same model from scratch",
                                                               "ridge": "ridge on binned counts"}[k],
                                 mode="lines+markers", line=dict(color=COLORS[i])))
    fig.update_layout(title="Few-shot decoding of behavior", xaxis_title="labelled trials", xaxis_type="log",
                      yaxis_title="held-out R²", height=380)
    return fig


def partners_figure(A: np.ndarray, truth_pre_post: np.ndarray, i: int, names, gen: dict | None = None) -> go.Figure:
    """Neuron i's attention partners (A[i, j]) with its true inputs j -> i marked by sign, and (with ``gen``)
    its generated against held-out PSTH."""
    w = np.asarray(truth_pre_post)[:, i]
    color = np.where(w > 0, "#2ca02c", np.where(w < 0, "#d62728", "lightgrey"))
    fig = make_subplots(1, 2, column_widths=[0.62, 0.38], subplot_titles=(
        "attention lift onto each neuron (green: excitatory input, red: inhibitory, grey: none)", "PSTH"))
    fig.add_trace(go.Bar(x=list(names), y=A[i], marker_color=list(color), showlegend=False), 1, 1)
    fig.add_hline(y=1.0, line_dash="dot", line_color="grey", row=1, col=1)
    if gen is not None:
        t = (np.arange(gen["psth_true"].shape[0]) + 0.5) * gen["bin_ms"]
        fig.add_trace(go.Scatter(x=t, y=gen["psth_true"][:, i], name="held-out", line=dict(color=COLORS[0])), 1, 2)
        fig.add_trace(go.Scatter(x=t, y=gen["psth_generated"][:, i], name="generated",
                                 line=dict(color=COLORS[1], dash="dot")), 1, 2)
    fig.update_yaxes(title_text="A[i <- j] / uniform", row=1, col=1)
    fig.update_yaxes(title_text="rate (Hz)", row=1, col=2)
    fig.update_xaxes(title_text="time in trial (ms)", row=1, col=2)
    fig.update_annotations(font_size=12)
    fig.update_layout(title=f"{names[i]}: its attention partners and its spikes", height=400, margin=dict(t=90))
    return fig
