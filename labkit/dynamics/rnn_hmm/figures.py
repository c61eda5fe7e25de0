"""Plotly figures for the RNN-HMM notebook: arrays in, figures out (nothing here trains anything)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS
from labkit.viz.pieces import learning_curve

SYMBOL_COLORS = [COLORS[0], COLORS[6], COLORS[3]]  # symbol 0, the rare symbol 1, symbol 2
CLASS_COLORS = [COLORS[4], COLORS[1], COLORS[2]]  # fast, intermediate, slow (apart from the symbol colours)
CLASS_NAMES = ["fast (< 2 steps)", "intermediate (2-8)", "slow (> 8 steps)"]


def stats_figure(hmm, rnn, title: str = "") -> go.Figure:
    """Symbol frequencies side by side, and the HMM's and the RNN's symbol-transition matrices."""
    fig = make_subplots(rows=1, cols=3, column_widths=[0.3, 0.35, 0.35],
                        subplot_titles=("symbol frequency", "P(next | current), HMM", "P(next | current), RNN"))
    K = len(hmm.frequencies)
    for name, st, col in (("HMM", hmm, COLORS[7]), ("RNN", rnn, COLORS[0])):
        fig.add_trace(go.Bar(x=[f"symbol {k}" for k in range(K)], y=st.frequencies, name=name, marker_color=col),
                      row=1, col=1)
    for j, st in ((2, hmm), (3, rnn)):
        z = np.nan_to_num(st.transitions, nan=0.0)
        fig.add_trace(go.Heatmap(z=z, zmin=0, zmax=1, colorscale="Blues", showscale=j == 3,
                                 text=np.round(z, 3), texttemplate="%{text}", x=list(range(K)), y=list(range(K))),
                      row=1, col=j)
        fig.update_xaxes(title_text="next symbol", row=1, col=j)
        fig.update_yaxes(title_text="current symbol", autorange="reversed", row=1, col=j)
    fig.update_layout(title=title or "The HMM's symbol statistics and the RNN's", barmode="group", height=380)
    return fig


def training_figure(loss, val_steps, val_loss, best_step: int) -> go.Figure:
    """The training divergence (each step and smoothed), the validation divergence, and the step kept."""
    fig = learning_curve(loss, name="training", smooth=25 if len(loss) > 50 else None, yaxis="Sinkhorn divergence",
                         title="Training: the Sinkhorn divergence between RNN and HMM batches", log_y=True)
    fig.add_trace(go.Scatter(x=np.asarray(val_steps) + 1, y=val_loss, name="validation", mode="lines+markers",
                             line=dict(color=COLORS[3])))
    if best_step >= 0:
        fig.add_vline(x=best_step + 1, line_dash="dash", annotation_text="kept", line_color=COLORS[7])
    return fig


def collapse_figure(norms, title: str = "") -> go.Figure:
    """‖h_t‖ of noise-free runs (starts × time), on a log axis: all fall to the origin, or some grow."""
    norms = np.asarray(norms)
    fig = go.Figure()
    t = np.arange(norms.shape[1])
    for n in norms:
        fig.add_trace(go.Scatter(x=t, y=np.maximum(n, 1e-30), mode="lines", showlegend=False,
                                 line=dict(color=COLORS[0], width=1), opacity=0.5))
    fig.update_layout(title=title or f"{len(norms)} noise-free runs from noisy states", xaxis_title="step",
                      yaxis_title="‖h_t‖", yaxis_type="log")
    return fig


def pc_figure(panels: dict, title: str = "", marker: int = 4) -> go.Figure:
    """Side-by-side PC1–PC2 scatter panels: ``panels[name] = (pcs (T, 2), labels (T,), kind)`` with ``kind``
    ``"symbol"`` (labels: the readout's symbol 0–2) or ``"residency"`` (labels: class 0 fast, 1, 2 slow)."""
    keys = list(panels)
    fig = make_subplots(rows=1, cols=len(keys), subplot_titles=keys, horizontal_spacing=0.06)
    shown = set()
    for j, key in enumerate(keys):
        pcs, lab, kind = panels[key]
        pcs, lab = np.asarray(pcs), np.asarray(lab)
        names = CLASS_NAMES if kind == "residency" else [f"symbol {k}" for k in range(3)]
        palette = CLASS_COLORS if kind == "residency" else SYMBOL_COLORS
        fig.add_trace(go.Scatter(x=pcs[:, 0], y=pcs[:, 1], mode="lines", line=dict(color="lightgray", width=0.5),
                                 showlegend=False, hoverinfo="skip"), row=1, col=j + 1)
        for lv, text in enumerate(names):
            m = lab == lv
            if m.any():
                fig.add_trace(go.Scatter(x=pcs[m, 0], y=pcs[m, 1], mode="markers", name=text, legendgroup=text,
                                         showlegend=text not in shown, marker=dict(size=marker, color=palette[lv])),
                              row=1, col=j + 1)
                shown.add(text)
        fig.update_xaxes(title_text="PC1", row=1, col=j + 1)
        fig.update_yaxes(title_text="PC2" if j == 0 else None, row=1, col=j + 1)
    fig.update_layout(title=title, height=420)
    return fig


def kick_screen_figure(drop, symbols, groups) -> go.Figure:
    """Per unit, the drop of each direction's switch rate when that unit alone is silenced."""
    drop = np.asarray(drop)
    fig = go.Figure()
    units = np.arange(drop.shape[0])
    for k, s in enumerate(symbols):
        fig.add_trace(go.Bar(x=units, y=drop[:, k], name=f"leaving symbol {s} (kick group {groups[k]})",
                             marker_color=SYMBOL_COLORS[s % 3]))
    fig.update_layout(title="The kick screen: silence one unit, measure how much less often the net switches",
                      xaxis_title="unit", yaxis_title="switch rate intact − silenced", barmode="group")
    return fig


def triggered_figure(traces: dict, window: int) -> go.Figure:
    """Switch-triggered mean activity; ``traces[label]`` (units, 2·window + 1)."""
    t = np.arange(-window, window + 1)
    fig = go.Figure()
    for i, (label, tr) in enumerate(traces.items()):
        for u, row in enumerate(np.asarray(tr)):
            fig.add_trace(go.Scatter(x=t, y=row, mode="lines", name=label, legendgroup=label, showlegend=u == 0,
                                     line=dict(color=COLORS[i % len(COLORS)], dash="solid" if "kick" in label
                                               else "dot")))
    fig.add_vline(x=0.5, line_dash="dash", line_color="gray")
    fig.update_layout(title="Activity around switches (time 0: the last step before the readout changes)",
                      xaxis_title="step relative to the switch", yaxis_title="mean activity")
    return fig


def silencing_figure(kick_ratio, random_ratio, symbols) -> go.Figure:
    """Switch rate over the intact rate, per direction: the kick group silenced, and random groups."""
    fig = go.Figure()
    x = [f"leaving symbol {s}" for s in symbols]
    fig.add_trace(go.Bar(x=x, y=kick_ratio, name="kick group silenced", marker_color=COLORS[3]))
    rr = np.asarray(random_ratio)
    fig.add_trace(go.Bar(x=x, y=rr.mean(0), error_y=dict(type="data", array=rr.std(0)),
                         name=f"random non-kick groups silenced (mean ± sd of {len(rr)})", marker_color=COLORS[5]))
    fig.add_hline(y=1.0, line_dash="dot", line_color="gray")
    fig.update_layout(title="Silencing a kick group stops the switches; silencing random units does not",
                      yaxis_title="switch rate / intact rate", barmode="group")
    return fig


def explorer_figure(pcs, clusters, symbols, title: str = "") -> go.Figure:
    """A trajectory in the PC1–PC2 plane (coloured by readout symbol) above its emitted-symbol raster."""
    pcs, c, y = np.asarray(pcs), np.asarray(clusters), np.asarray(symbols)
    fig = make_subplots(rows=2, cols=1, row_heights=[0.7, 0.3], vertical_spacing=0.2,
                        subplot_titles=("PC1–PC2 trajectory (colour: readout argmax)", "emitted symbols"))
    fig.add_trace(go.Scatter(x=pcs[:, 0], y=pcs[:, 1], mode="lines", line=dict(color="lightgray", width=0.7),
                             showlegend=False), row=1, col=1)
    for k in range(3):
        m = c == k
        if m.any():
            fig.add_trace(go.Scatter(x=pcs[m, 0], y=pcs[m, 1], mode="markers", name=f"symbol {k}",
                                     marker=dict(size=4, color=SYMBOL_COLORS[k])), row=1, col=1)
        t = np.flatnonzero(y == k)
        fig.add_trace(go.Scatter(x=t, y=np.full(len(t), k), mode="markers", showlegend=False,
                                 marker=dict(symbol="line-ns-open", size=10, color=SYMBOL_COLORS[k])), row=2, col=1)
    fig.update_xaxes(title_text="PC1", row=1, col=1)
    fig.update_yaxes(title_text="PC2", row=1, col=1)
    fig.update_xaxes(title_text="step", row=2, col=1)
    fig.update_yaxes(title_text="symbol", tickvals=[0, 1, 2], range=[-0.5, 2.5], row=2, col=1)
    fig.update_layout(title=title, height=620)
    return fig
