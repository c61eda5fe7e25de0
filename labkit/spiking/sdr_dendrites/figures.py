"""Figures for SDRs and active dendrites (builders only: they never simulate).

Every probability axis is logarithmic. Monte-Carlo estimates are drawn as markers with their 99%
(Clopper–Pearson) intervals; an estimate of zero cannot sit on a log axis, so it is drawn as an open
down-triangle at its upper bound.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.theme import COLORS

CORTEX_THETA = (8, 20)      # NMDA spike thresholds measured in cortex (synapses), as the paper discusses


def _mc_traces(x, est, lo, hi, color, name, showlegend=True):
    """Markers with asymmetric 99% error bars; zero estimates as open triangles at the upper bound."""
    x, est, lo, hi = (np.asarray(v, dtype=float) for v in (x, est, lo, hi))
    pos = est > 0
    traces = []
    if pos.any():
        traces.append(go.Scatter(x=x[pos], y=est[pos], mode="markers", name=name, legendgroup=name,
                                 showlegend=showlegend,
                                 marker=dict(color=color, size=8, line=dict(color="white", width=1)),
                                 error_y=dict(type="data", symmetric=False, array=hi[pos] - est[pos],
                                              arrayminus=est[pos] - np.maximum(lo[pos], 1e-300), color=color)))
    if (~pos).any():
        traces.append(go.Scatter(x=x[~pos], y=hi[~pos], mode="markers", name=f"{name}: none seen (upper bound)",
                                 legendgroup=name, showlegend=False,
                                 marker=dict(symbol="triangle-down-open", color=color, size=9)))
    return traces


def theory_vs_sim_panels(panels: Sequence[dict], *, title: str, rows: int = 2, cols: int = 2,
                         yaxis: str = "P(false match)", height: int = 860) -> go.Figure:
    """A grid of log-probability panels, each with exact curves and Monte-Carlo markers.

    Each panel: ``{"title", "xaxis", "curves": [{"name", "x", "y", "mc": (x, est, lo, hi) or None}], "log_x"}``.
    Under each panel's title a colour key names its curves (a line of each curve's colour before its name);
    the rows are spaced so that an upper panel's axis title clears the lower panel's title.
    """
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[p["title"] for p in panels],
                        horizontal_spacing=0.12, vertical_spacing=0.24)
    for k, panel in enumerate(panels):
        r, c = k // cols + 1, k % cols + 1
        for j, curve in enumerate(panel["curves"]):
            color = COLORS[j % len(COLORS)]
            fig.add_trace(go.Scatter(x=curve["x"], y=curve["y"], mode="lines", name=curve["name"],
                                     line=dict(color=color, width=2), legendgroup=f"{k}-{j}", showlegend=False),
                          row=r, col=c)
            if curve.get("mc") is not None:
                for tr in _mc_traces(*curve["mc"], color=color, name=curve["name"], showlegend=False):
                    fig.add_trace(tr, row=r, col=c)
        fig.update_xaxes(title_text=panel["xaxis"], type="log" if panel.get("log_x") else "linear", row=r, col=c)
        fig.update_yaxes(title_text=yaxis, type="log", exponentformat="power", row=r, col=c)
        key = "   ".join(f"<span style='color:{COLORS[j % len(COLORS)]}'><b>━●</b></span> {curve['name']}"
                           for j, curve in enumerate(panel["curves"]))
        fig.layout.annotations[k].text = f"{panel['title']}<br><span style='font-size:12px'>{key}</span>"
    fig.update_layout(title=title, height=height, showlegend=False, margin=dict(t=120))
    fig.update_xaxes(title_standoff=4)
    return fig


def union_figure(M, exact: dict, expected: dict, mc: dict | None = None) -> go.Figure:
    """P(false match) against the number M of patterns stored on one segment, per population size n.

    ``exact[name]`` and ``expected[name]``: curves over M (the exact union-size average and the paper's
    expected-size approximation); ``mc[name] = (M, est, lo, hi)``.
    """
    fig = go.Figure()
    for j, name in enumerate(exact):
        color = COLORS[j % len(COLORS)]
        fig.add_trace(go.Scatter(x=M, y=exact[name], mode="lines", name=f"{name}: exact",
                                 line=dict(color=color, width=2)))
        fig.add_trace(go.Scatter(x=M, y=expected[name], mode="lines", name=f"{name}: paper (expected union size)",
                                 line=dict(color=color, width=1.5, dash="dot")))
        if mc and name in mc:
            for tr in _mc_traces(*mc[name], color=color, name=f"{name}: simulated"):
                fig.add_trace(tr)
    fig.update_layout(title="The union property: one segment, synapses for M patterns",
                      xaxis_title="number of patterns stored on the segment (M)",
                      yaxis_title="P(false match)", legend=dict(x=1.02, y=1, xanchor="left"), height=520)
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def noise_figure(noise, theory: dict, mc: dict | None = None, *, title: str) -> go.Figure:
    """P(false negative) against the fraction of the pattern's active cells replaced, one curve per θ."""
    fig = go.Figure()
    for j, name in enumerate(theory):
        color = COLORS[j % len(COLORS)]
        fig.add_trace(go.Scatter(x=noise, y=theory[name], mode="lines", name=name, line=dict(color=color, width=2)))
        if mc and name in mc:
            for tr in _mc_traces(*mc[name], color=color, name=f"{name}: simulated", showlegend=False):
                fig.add_trace(tr)
    fig.update_layout(title=title, xaxis_title="noise: fraction of the active cells replaced",
                      yaxis_title="P(false negative)", legend=dict(x=0.02, y=0.02, yanchor="bottom"), height=500)
    fig.update_yaxes(type="log", exponentformat="power", range=[-12, 0.2])
    return fig


def threshold_figure(choice, *, title: str, mc: dict | None = None) -> go.Figure:
    """False positives, false negatives and their sum against θ; the best θ and the cortical range marked."""
    fig = go.Figure()
    # The band is named in the legend, not on the plot: in a narrow view a label inside it ran across the best-θ line.
    fig.add_vrect(x0=CORTEX_THETA[0], x1=CORTEX_THETA[1], fillcolor="#CC79A7", opacity=0.12, line_width=0)
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="NMDA thresholds in cortex (8–20)",
                             marker=dict(symbol="square", size=14, color="rgba(204,121,167,0.35)")))
    curves = {"false positive (random pattern)": choice.false_positive,
              "false negative (noisy pattern)": choice.false_negative, "sum": choice.total}
    for j, (name, y) in enumerate(curves.items()):
        y = np.asarray(y, dtype=float)
        shown = y > 1e-300
        fig.add_trace(go.Scatter(x=choice.thetas[shown], y=y[shown], mode="lines", name=name,
                                 line=dict(color=[COLORS[0], COLORS[3], COLORS[7]][j], width=3 if j == 2 else 2,
                                           dash="dash" if j == 2 else "solid")))
    if mc:
        for j, (name, pts) in enumerate(mc.items()):
            for tr in _mc_traces(*pts, color=[COLORS[0], COLORS[3]][j % 2], name=name):
                fig.add_trace(tr)
    fig.add_vline(x=choice.theta_opt, line_dash="dot", line_color="#444",
                  annotation_text=f"best θ = {choice.theta_opt}", annotation_position="bottom right")
    fig.update_layout(title=title, xaxis_title="NMDA threshold θ (active synapses needed)",
                      yaxis_title="probability", legend=dict(x=1.02, y=1, xanchor="left"), height=500)
    fig.update_yaxes(type="log", exponentformat="power")
    return fig


def sweep_figure(sweep: dict, paper_median: Sequence[float] | None = None) -> go.Figure:
    """Median (and range) of P(false match) over the paper's grid of settings, against θ."""
    th = sweep["theta"]
    # the axis follows the median, 4 decades below its smallest value; the range's lower edge (down to
    # 1e-300 and below for sparse settings at high θ) is clipped there instead of squashing the plot
    med = np.asarray(sweep["median"], dtype=float)
    low = np.floor(np.log10(med[med > 0].min())) - 4
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=th, y=sweep["max"], mode="lines", line=dict(width=0), showlegend=False,
                             hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=th, y=np.maximum(sweep["min"], 10.0 ** low), mode="lines", line=dict(width=0),
                             fill="tonexty",
                             fillcolor="rgba(0,114,178,0.15)", name="range over the 420 settings"))
    fig.add_trace(go.Scatter(x=th, y=sweep["median"], mode="lines", name="median (exact)",
                             line=dict(color=COLORS[0], width=3)))
    if paper_median is not None:
        fig.add_trace(go.Scatter(x=th, y=paper_median, mode="markers", name="median listed by the paper's code",
                                 marker=dict(symbol="x", size=9, color=COLORS[3])))
    fig.add_hline(y=1e-9, line_dash="dot", line_color="#444")
    # placed by hand: on a log axis an annotation's y is log10 of the value (add_hline would put it at 10**1e-9)
    fig.add_annotation(x=1, xref="x domain", y=-9, yref="y", text="1e-9", showarrow=False, xanchor="right",
                       yanchor="bottom")
    fig.update_layout(title="False matches over the paper's grid (n 10k–190k, sparsity 0.5–3%, s 20–50)",
                      xaxis_title="NMDA threshold θ", yaxis_title="P(false match)", height=480,
                      legend=dict(orientation="h", x=0, y=-0.2))
    fig.update_yaxes(type="log", exponentformat="power", range=[low, 0.3])
    return fig


def theta_vs_noise_figure(noise, median, q25, q75) -> go.Figure:
    """The best threshold θ* (median and quartiles over a grid of settings) against the noise level."""
    fig = go.Figure()
    fig.add_hrect(y0=CORTEX_THETA[0], y1=CORTEX_THETA[1], fillcolor="#CC79A7", opacity=0.12, line_width=0,
                  annotation_text="NMDA thresholds in cortex (8–20)", annotation_position="top right")
    fig.add_trace(go.Scatter(x=noise, y=q75, mode="lines", line=dict(width=0), showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=noise, y=q25, mode="lines", line=dict(width=0), fill="tonexty",
                             fillcolor="rgba(0,114,178,0.2)", name="quartiles"))
    fig.add_trace(go.Scatter(x=noise, y=median, mode="lines+markers", name="median best θ",
                             line=dict(color=COLORS[0], width=3)))
    fig.update_layout(title="The best NMDA threshold against noise (paper's grid of n, sparsity, s)",
                      xaxis_title="noise: fraction of the active cells replaced", yaxis_title="best θ (synapses)",
                      height=460, legend=dict(x=0.98, y=0.5, xanchor="right"))
    return fig


def agreement_figure(rows: Sequence[dict]) -> go.Figure:
    """Monte-Carlo estimate against the exact probability for every setting of the agreement grid."""
    fig = go.Figure()
    kinds = sorted({r["kind"] for r in rows})
    lo_all = min(r["exact"] for r in rows)
    fig.add_trace(go.Scatter(x=[lo_all / 2, 1], y=[lo_all / 2, 1], mode="lines", name="simulation = theory",
                             line=dict(color="#888", dash="dot")))
    for j, kind in enumerate(kinds):
        sel = [r for r in rows if r["kind"] == kind]
        x = np.array([r["exact"] for r in sel])
        est = np.array([r["estimate"] for r in sel])
        lo = np.array([r["low"] for r in sel])
        hi = np.array([r["high"] for r in sel])
        for tr in _mc_traces(x, est, lo, hi, color=COLORS[j], name=kind):
            tr.text = [r["label"] for r in sel] if tr.showlegend is not False else None
            fig.add_trace(tr)
    fig.update_layout(title="Monte-Carlo against the exact formulas (bars: 99% intervals)",
                      xaxis_title="exact probability", yaxis_title="simulated probability", height=520,
                      legend=dict(x=0.02, y=0.98))
    fig.update_xaxes(type="log", exponentformat="power")
    fig.update_yaxes(type="log", exponentformat="power")
    return fig
