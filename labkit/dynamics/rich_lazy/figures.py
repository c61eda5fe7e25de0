"""Plotly figures for the rich/lazy notebook: arrays in, figures out (nothing here trains)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS


def _mode_colors(s: np.ndarray) -> list[str]:
    """One colour per distinct singular value (degenerate modes share it)."""
    distinct = list(dict.fromkeys(np.round(s, 6)))
    return [COLORS[distinct.index(v) % len(COLORS)] for v in np.round(s, 6)]


def saxe_figure(t, s, sim, closed, title: str = "") -> go.Figure:
    """Mode strengths a/s of a two-layer network (solid) and Saxe's closed form (dashed)."""
    fig = go.Figure()
    cols = _mode_colors(s)
    shown = set()
    for k in range(len(s)):
        first = cols[k] not in shown
        shown.add(cols[k])
        fig.add_trace(
            go.Scatter(
                x=t,
                y=sim[:, k] / s[k],
                name=f"s = {s[k]:.2f}, network",
                legendgroup=cols[k],
                showlegend=first,
                line=dict(color=cols[k], width=3),
                opacity=0.6,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=t,
                y=closed[:, k] / s[k],
                name=f"s = {s[k]:.2f}, closed form",
                legendgroup=cols[k],
                showlegend=first,
                line=dict(color="black", width=1, dash="dash"),
            )
        )
    fig.update_layout(
        title=title or "Two layers from a small start: the network against Saxe's closed form",
        xaxis_title="time t = lr · step",
        yaxis_title="mode strength a / s",
    )
    return fig


def alignment_vs_rank_figure(ranks, scales, ntk, rep, dw, aligned: dict | None = None) -> go.Figure:
    """Means ± sd over replicates against the initial rank: tangent-kernel alignment, representation
    alignment and relative weight change; one line per scale; the task-aligned rank-one start as a star."""
    fig = make_subplots(
        rows=1, cols=3, subplot_titles=("tangent-kernel alignment", "representation alignment", "‖ΔW_rec‖ / ‖W_rec,0‖")
    )
    for j, (arr, key) in enumerate(((ntk, "ntk"), (rep, "rep"), (dw, "dw"))):
        for i, sc in enumerate(scales):
            fig.add_trace(
                go.Scatter(
                    x=ranks,
                    y=arr[i].mean(-1),
                    error_y=dict(type="data", array=arr[i].std(-1)),
                    name=f"scale {sc:g}",
                    legendgroup=str(sc),
                    showlegend=j == 0,
                    mode="lines+markers",
                    line=dict(color=COLORS[i % len(COLORS)]),
                ),
                row=1,
                col=j + 1,
            )
        if aligned:
            vals = np.asarray(aligned[key])
            fig.add_trace(
                go.Scatter(
                    x=[ranks[0]],
                    y=[np.nanmean(vals)],
                    error_y=dict(type="data", array=[np.nanstd(vals)]),
                    mode="markers",
                    marker=dict(symbol="star", size=14, color="black"),
                    name="rank 1, aligned with the task",
                    showlegend=j == 0,
                ),
                row=1,
                col=j + 1,
            )
        fig.update_xaxes(type="log", title_text="initial rank of W_rec", row=1, col=j + 1)
    fig.update_layout(title="How far learning moved the network, by the rank of its initial connectivity (mean ± sd)")
    return fig


def alignment_curves_figure(steps, ntk_curves, rep_curves, labels, title: str = "") -> go.Figure:
    """Alignment with the initial kernel over training (one curve per label; mean over replicates)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("tangent-kernel alignment", "representation alignment"))
    x = np.asarray(steps) + 1
    for i, lab in enumerate(labels):
        for j, arr in enumerate((ntk_curves, rep_curves)):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=arr[i].mean(0),
                    name=lab,
                    legendgroup=lab,
                    showlegend=j == 0,
                    mode="lines+markers",
                    line=dict(color=COLORS[i % len(COLORS)]),
                ),
                row=1,
                col=j + 1,
            )
            fig.update_xaxes(type="log", title_text="step + 1", row=1, col=j + 1)
    fig.update_yaxes(range=[0, 1.02])
    fig.update_layout(title=title or "Alignment with the initial kernel during training")
    return fig


def pca_figure(panels: dict, choice) -> go.Figure:
    """Decision-step hidden states projected on their first two principal components; ``panels`` maps a
    title to a (trials, 2) array; points coloured by the correct choice."""
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=list(panels))
    for j, Z in enumerate(panels.values()):
        for c, col in ((1, COLORS[0]), (2, COLORS[1])):
            sel = np.asarray(choice) == c
            fig.add_trace(
                go.Scatter(
                    x=Z[sel, 0],
                    y=Z[sel, 1],
                    mode="markers",
                    marker=dict(color=col, size=6),
                    name=f"choice {c}",
                    legendgroup=str(c),
                    showlegend=j == 0,
                ),
                row=1,
                col=j + 1,
            )
    fig.update_layout(title="Hidden states at the decision step, first two principal components")
    return fig


def mode_trajectories_figure(K_sim, K_ode, s, onsets, lr: float, length: int, depth: int) -> go.Figure:
    """Per onset: K_a / s (solid) and K_b / s (dotted) of every mode over training, the deficit window shaded. With
    ``K_sim`` the network's curves are drawn in the modes' colours and the ODE as thin black dashes over them;
    without it (``K_sim=None``: the explorer) the ODE's curves take the modes' colours and line styles."""
    fig = make_subplots(
        rows=1, cols=len(onsets), subplot_titles=[f"deficit from step {o}" for o in onsets], shared_yaxes=True
    )
    cols = _mode_colors(s)
    x = np.arange(K_ode.shape[1])
    for j, o in enumerate(onsets):
        shown = set()
        for k in range(len(s)):
            first = j == 0 and cols[k] not in shown
            shown.add(cols[k])
            for p, dash, lab in ((0, "solid", "a"), (1, "dot", "b")):
                if K_sim is not None:
                    fig.add_trace(
                        go.Scatter(
                            x=x,
                            y=K_sim[j, :, p, k] / s[k],
                            line=dict(color=cols[k], dash=dash, width=3),
                            opacity=0.6,
                            name=f"K_{lab}, s = {s[k]:.2f}",
                            legendgroup=f"{lab}{cols[k]}",
                            showlegend=first,
                        ),
                        row=1,
                        col=j + 1,
                    )
                    ode = dict(line=dict(color="black", dash="dash", width=1), name="ODE", legendgroup="ode",
                               showlegend=first and k == 0 and p == 0)
                else:
                    ode = dict(line=dict(color=cols[k], dash=dash, width=2.5), name=f"K_{lab}, s = {s[k]:.2f}",
                               legendgroup=f"{lab}{cols[k]}", showlegend=first)
                fig.add_trace(go.Scatter(x=x, y=K_ode[j, :, p, k] / s[k], **ode), row=1, col=j + 1)
        # after the traces: plotly leaves shapes off a subplot that holds no trace yet
        fig.add_vrect(x0=o, x1=o + length, fillcolor="rgba(204,121,167,0.15)", line_width=0, layer="below",
                      row=1, col=j + 1)
        fig.update_xaxes(title_text="step", row=1, col=j + 1)
    fig.update_yaxes(title_text="K / s", row=1, col=1)
    what = "; ODE: black dashes" if K_sim is not None else " (mode ODE)"
    fig.update_layout(title=f"Depth {depth}: K_a solid, K_b dotted{what}<br><sup>pathway b's deficit shaded</sup>",
                      margin=dict(t=110))
    return fig


def onset_figure(onsets, kb, depths, s, length: int) -> go.Figure:
    """Final K_b / s against the deficit onset, per depth: the strongest and the weakest mode."""
    fig = go.Figure()
    strong, weak = int(np.argmax(s)), int(np.argmin(s))
    for i, d in enumerate(depths):
        col = COLORS[i % len(COLORS)]
        fig.add_trace(
            go.Scatter(
                x=onsets,
                y=kb[i, :, weak],
                name=f"depth {d}, weakest mode (s = {s[weak]:.2f})",
                line=dict(color=col, width=3),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=onsets,
                y=kb[i, :, strong],
                name=f"depth {d}, strongest mode (s = {s[strong]:.2f})",
                line=dict(color=col, dash="dot"),
            )
        )
    fig.add_hline(y=0.5, line=dict(color="grey", dash="dash"))
    fig.update_layout(
        title=f"Critical periods: what pathway b keeps after a {length}-step deficit (mode ODE)",
        xaxis_title="deficit onset (step)",
        yaxis_title="final K_b / s",
    )
    return fig
