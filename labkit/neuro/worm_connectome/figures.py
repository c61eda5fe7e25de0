"""Figures for the worm-connectome notebook (builders only: they receive tables and arrays, never load or compute)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.pieces import heatmap
from labkit.viz.theme import COLORS


def coverage_figure(table: pd.DataFrame) -> go.Figure:
    """Neurons covered (of the 302) and other nodes, per annotation; whole-animal ones in blue.

    Counts are written inside the bars where they fit (outside only for short bars, far from the 302 line),
    and the line's label sits above the plot, so no number collides with the line."""
    names = list(table.index)
    colors = [COLORS[0] if w else COLORS[1] for w in table.whole_animal]
    fig = go.Figure(go.Bar(y=names, x=table.n_present, orientation="h", marker_color=colors, name="of the 302 neurons",
                           text=table.n_present, textposition="auto", insidetextanchor="end", textangle=0))
    fig.add_trace(go.Bar(y=names, x=table.n_extra, orientation="h", marker_color="#bbb",
                         name="other nodes (muscles, glia, male)", text=table.n_extra, textposition="auto", textangle=0,
                         insidetextanchor="end"))
    fig.add_vline(x=302, line_dash="dot", line_color="#444")
    fig.add_annotation(x=302, y=1.0, yref="paper", yanchor="bottom", text="302 neurons", showarrow=False)
    fig.update_xaxes(range=[0, 320])
    fig.update_layout(title=dict(text="Coverage: neurons each annotation reconstructs (blue: whole animal, "
                                      "orange: partial)", y=0.98, yanchor="top"),
                      xaxis_title="number of nodes", yaxis_title="annotation", barmode="group",
                      uniformtext=dict(minsize=9, mode="hide"), margin=dict(t=90),
                      height=240 + 42 * len(names), legend=dict(orientation="h", y=-0.12, x=0))
    fig.update_yaxes(autorange="reversed")
    return fig


def agreement_figure(matrix: pd.DataFrame, *, title: str, colorbar: str,
                     zmin: float = 0.0, zmax: float = 1.0, undefined: str = "") -> go.Figure:
    """A labelled annotation-by-annotation agreement matrix with its values written in.

    Undefined cells (NaN: two annotations that share no neuron, or weights that only record presence) are
    drawn grey and marked "n/a"; ``undefined`` says why under the figure."""
    values = matrix.values.astype(float)
    fig = heatmap(values, x=list(matrix.columns), y=list(matrix.index), title=title, colorbar=colorbar,
                  xaxis="annotation", yaxis="annotation")
    text = np.where(np.isnan(values), "n/a", np.char.mod("%.2f", np.nan_to_num(values)))
    fig.update_traces(text=text, texttemplate="%{text}", textfont=dict(size=10), zmin=zmin, zmax=zmax,
                      hoverongaps=False)
    n = len(matrix)
    fig.update_layout(height=300 + 34 * n, xaxis=dict(tickangle=-45), plot_bgcolor="#d9d9d9")
    if np.isnan(values).any() and undefined:
        fig.add_annotation(x=0, y=-0.02, xref="paper", yref="paper", xanchor="left", yanchor="top", yshift=-150,
                           text=f"grey, n/a: {undefined}", showarrow=False, font=dict(size=12, color="#555"))
        fig.update_layout(margin=dict(b=185))
    return fig


_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")


def annotation_styles(names: Sequence[str]) -> dict[str, dict]:
    """A line style per annotation that stays readable for twenty of them: one colour per family
    (the name before the first underscore: white, varshney, cook, witvliet, ...), a different dash
    for each member of a family, in the order given."""
    families = list(dict.fromkeys(n.split("_")[0] for n in names))
    seen: dict[str, int] = {}
    styles = {}
    for n in names:
        fam = n.split("_")[0]
        i = seen.get(fam, 0)
        seen[fam] = i + 1
        styles[n] = dict(color=COLORS[families.index(fam) % len(COLORS)], dash=_DASHES[i % len(_DASHES)],
                         width=2.5 if i < len(_DASHES) else 1.5)
    return styles


def _ccdf(values: np.ndarray):
    v = np.sort(np.asarray(values, float))
    v = v[v > 0]
    return v, 1.0 - np.arange(len(v)) / len(v)


def distributions_figure(degree_tables: Mapping[str, pd.DataFrame], weights: Mapping[str, np.ndarray]) -> go.Figure:
    """Complementary cumulative distributions of total degree (left) and synaptic weight (right)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("degree (in or out partners)", "weight of an edge"))
    styles = annotation_styles(list(degree_tables))
    for name in degree_tables:
        x, y = _ccdf(degree_tables[name]["degree"].values)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, line=styles[name], legendgroup=name), row=1, col=1)
        w = np.asarray(weights[name], float)
        x, y = _ccdf(w / np.median(w[w > 0]) if (w > 0).any() else w)
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", name=name, line=styles[name], legendgroup=name,
                                 showlegend=False), row=1, col=2)
    fig.update_xaxes(title_text="degree k", row=1, col=1)
    fig.update_xaxes(title_text="w / median weight (units differ by annotation)", type="log", dtick=1,
                     row=1, col=2)
    fig.update_yaxes(title_text="fraction of neurons with degree ≥ k", type="log", dtick=1, row=1, col=1)
    fig.update_yaxes(title_text="fraction of edges with weight ≥ w", type="log", dtick=1, row=1, col=2)
    fig.update_layout(title="Degree and weight distributions (chemical synapses)", height=560 + 14 * len(degree_tables),
                      legend=dict(orientation="h", x=0, y=-0.18, yanchor="top"))
    return fig


def rich_club_figure(curves: Mapping[str, pd.DataFrame], *, min_club: int = 5) -> go.Figure:
    """Normalised rich-club coefficient ρ(k) = φ(k)/φ_null(k) against degree, per annotation."""
    fig = go.Figure()
    styles = annotation_styles(list(curves))
    for name, df in curves.items():
        df = df[df.n_club >= min_club]
        fig.add_trace(go.Scatter(x=df.k, y=df.rho, mode="lines", name=name, line=styles[name]))
    fig.add_hline(y=1.0, line_dash="dot", line_color="#444", annotation_text="degree-preserving null")
    fig.update_layout(title="Rich club: ρ(k) > 1 means high-degree neurons interconnect more than chance "
                            f"(clubs ≥ {min_club})",
                      xaxis_title="degree threshold k", yaxis_title="normalised rich-club coefficient ρ(k)",
                      height=max(450, 140 + 21 * len(curves)))       # room for every legend entry
    return fig


def auc_figure(table: pd.DataFrame, roc: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> go.Figure:
    """Anatomy → function ROC AUC per annotation (left) and the ROC curves of the best one (right)."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.6, 0.4],
                        subplot_titles=("ROC AUC per annotation", "ROC curves, best annotation"))
    for k, col in enumerate(["direct", "two-step"]):
        fig.add_trace(go.Bar(x=list(table.index), y=table[col], name=f"{col} weight", marker_color=COLORS[k]),
                      row=1, col=1)
    fig.add_hline(y=0.5, line_dash="dot", line_color="#444", row=1, col=1)
    for k, (label, (fpr, tpr)) in enumerate(roc.items()):
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=label, line=dict(color=COLORS[k + 2])), row=1, col=2)
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line=dict(color="#888", dash="dot")),
                  row=1, col=2)
    fig.update_xaxes(title_text="annotation", tickangle=-45, row=1, col=1)
    fig.update_yaxes(title_text="ROC AUC", range=[0.4, 0.75], row=1, col=1)
    fig.update_xaxes(title_text="false-positive rate", row=1, col=2)
    fig.update_yaxes(title_text="true-positive rate", row=1, col=2)
    fig.update_layout(title="Does anatomy predict which neurons a stimulated neuron drives? (dotted: chance)",
                      height=580, barmode="group", legend=dict(orientation="h", y=-0.5, x=0), margin=dict(b=170))
    return fig


def neighbourhood_figure(df: pd.DataFrame, neuron: str, a: str, b: str) -> go.Figure:
    """A neuron's outputs and inputs in two annotations, and its measured functional partners."""
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=(f"{neuron} → partner<br>(synapses)", f"partner → {neuron}<br>(synapses)",
                                        f"response to stimulating<br>{neuron} (ΔF/F)"))
    y = list(df.index)
    for col, direction in ((1, "out"), (2, "in")):
        for k, name in enumerate((a, b)):
            fig.add_trace(go.Bar(y=y, x=df[f"{name} {direction}"], orientation="h", name=name, marker_color=COLORS[k],
                                 legendgroup=name, showlegend=col == 1), row=1, col=col)
    resp = df["response"]
    colors = [COLORS[3] if s else "#bbb" for s in df["significant"]]
    fig.add_trace(go.Bar(y=y, x=resp.fillna(0), orientation="h", marker_color=colors, name="response (red: q < 0.05)",
                         text=["not measured" if np.isnan(v) else "" for v in resp], textposition="outside"),
                  row=1, col=3)
    fig.update_yaxes(autorange="reversed", title_text="partner neuron", row=1, col=1)
    for col, t in ((1, "weight"), (2, "weight"), (3, "mean ΔF/F")):
        fig.update_xaxes(title_text=t, row=1, col=col)
    fig.update_layout(title=f"{neuron}: wiring in {a} and {b} against signal propagation", barmode="group",
                      height=max(440, 180 + 22 * len(y)), legend=dict(orientation="h", y=-0.12, x=0),
                      margin=dict(t=130))     # room for the two-line subplot titles below the title
    return fig


def preregistered_figure(test: Mapping, label: str) -> go.Figure:
    """The pre-registered test: the ROC AUC of the real wiring beside the AUCs of its degree-preserving
    rewirings, with the gain's 95% bootstrap interval in the title."""
    null = np.asarray(test["null_auc"], float)
    fig = go.Figure(go.Box(x=null, name="degree-preserving rewirings", boxpoints="all", jitter=0.4, pointpos=0,
                           marker_color="#888", line_color="#888", orientation="h"))
    fig.add_trace(go.Scatter(x=[test["auc"]], y=["real wiring"], mode="markers", name="real wiring",
                             marker=dict(color=COLORS[0], size=14, symbol="diamond")))
    fig.add_vline(x=0.5, line_dash="dot", line_color="#444")
    fig.update_layout(title=f"Pre-registered: {label}<br><sup>gain over the null {test['gain']:+.3f} AUC, 95% CI "
                            f"[{test['ci_low']:+.3f}, {test['ci_high']:+.3f}] (bootstrap over stimulated neurons); "
                            "dotted: chance</sup>",
                      xaxis_title="ROC AUC (stimulating s drives r, q < 0.05)", showlegend=False, height=330,
                      margin=dict(t=90, l=190))
    return fig
