"""Figures for the knowledge-neurons notebook (plotly; arrays in, figures out; nothing here trains)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.pieces import heatmap, line_figure
from labkit.viz.theme import COLORS


def neurons_by_layer(neurons: dict, n_layers: int, d_mlp: int, title: str = "") -> go.Figure:
    """How many of each group's selected neurons sit in each layer (stacked bars)."""
    fig = go.Figure()
    for l in range(n_layers):
        counts = [int(((np.asarray(v) // d_mlp) == l).sum()) for v in neurons.values()]
        fig.add_trace(go.Bar(x=list(neurons), y=counts, name=f"layer {l}", marker_color=COLORS[l % len(COLORS)]))
    fig.update_layout(barmode="stack", title=title or "Selected neurons per group, by layer",
                      xaxis_title="group", yaxis_title="neurons", height=380)
    return fig


def accuracy_matrix(acc: np.ndarray, names: list, random: np.ndarray | None = None, title: str = "",
                    rows_zeroed: list | None = None) -> go.Figure:
    """Accuracy on each group (columns) with each group's neurons zeroed (rows: ``rows_zeroed``, default every
    group in ``names``), and the random sets' rows."""
    rows, labels = [acc], [f"{n} zeroed" for n in (names if rows_zeroed is None else rows_zeroed)]
    if random is not None:
        rows.append(random)
        labels += [f"random {i}" for i in range(len(random))]
    fig = heatmap(np.vstack(rows), x=list(names), y=labels, xaxis="accuracy on group", yaxis="neurons zeroed",
                  colorbar="accuracy", title=title)
    fig.update_traces(zmin=0, zmax=1, texttemplate="%{z:.2f}")
    fig.update_layout(height=170 + 28 * len(labels))
    return fig


def cumulativity_figure(budgets, own: dict, random: dict, kind: str) -> go.Figure:
    """Own-group accuracy drop against the share of neurons zeroed, each group beside the random sets' mean."""
    pct = [100 * b for b in budgets]
    ys = {**{f"{g} (own neurons)": v for g, v in own.items()}, "random neurons (mean)": random}
    fig = line_figure(pct, ys, title=f"Cumulativity: the more {kind} neurons zeroed, the larger the drop",
                      xaxis="neurons zeroed (% of all MLP neurons)", yaxis="accuracy drop on the group",
                      mode="lines+markers")
    fig.data[-1].line.update(dash="dash", color="grey")
    return fig


def trace_figure(effect: np.ndarray, labels: list, title: str = "") -> go.Figure:
    """Causal trace: share of the clean answer probability recovered by restoring each (layer, position)'s MLP."""
    fig = heatmap(effect, x=labels, y=[f"MLP {l}" for l in range(len(effect))], xaxis="position",
                  yaxis="restored MLP output", colorbar="recovered", title=title or "Causal trace (MLP outputs)")
    fig.update_traces(texttemplate="%{z:.2f}")
    fig.update_layout(height=300)
    return fig


def edit_figure(results: dict) -> go.Figure:
    """Efficacy, paraphrase, specificity and cross-language transfer of each edit method (bars)."""
    metrics = ["efficacy", "paraphrase", "specificity", "transfer"]
    fig = go.Figure()
    for i, (method, rec) in enumerate(results.items()):
        fig.add_trace(go.Bar(x=metrics, y=[float(np.nanmean(rec[m])) for m in metrics], name=method,
                             marker_color=COLORS[i % len(COLORS)]))
    fig.update_layout(barmode="group", title="Fact edits, one at a time and reverted", yaxis_title="share",
                      yaxis_range=[0, 1.05], height=380)
    return fig


def readout_table(tokens: list, margins, success, neurons) -> go.Figure:
    """A table of neurons: the token each promotes, its readout margin, and its clamp success."""
    cells = [[int(n) for n in neurons], tokens, [f"{m:.2f}" for m in margins], [f"{s:.2f}" for s in success]]
    return go.Figure(go.Table(header=dict(values=["neuron", "top readout token", "margin", "clamp success"]),
                              cells=dict(values=cells))).update_layout(height=110 + 21 * len(tokens),
                                                                         title="Last-layer neurons read through W_U")


def key_space_figure(ksd: dict, language: int) -> go.Figure:
    """Key Space Detection: share abstained on and relative accuracy drop per language."""
    langs = [f"lang{g}" for g in ksd]
    fig = make_subplots(rows=1, cols=1)
    fig.add_trace(go.Bar(x=langs, y=[v["abstain"] for v in ksd.values()], name="abstained", marker_color=COLORS[0]))
    fig.add_trace(go.Bar(x=langs, y=[v["relative_drop"] for v in ksd.values()], name="relative accuracy drop",
                         marker_color=COLORS[1]))
    fig.add_hline(y=0.8, line=dict(dash="dash", color="grey"), annotation_text="paper: ≥ 0.8 on the forgotten")
    fig.add_hline(y=0.1, line=dict(dash="dot", color="grey"), annotation_text="paper: ≤ 0.1 elsewhere")
    fig.update_layout(barmode="group", title=f"Key Space Detection: a box around lang{language}'s MLP keys",
                      yaxis_range=[0, 1.05], height=360)
    return fig
