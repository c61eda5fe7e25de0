"""Plotly figures of the hippocampal-memory notebook: arrays in, figures out (nothing here simulates)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS

POP_NAMES = {"Ic": "cue in", "Ik": "content in", "If": "fragment in", "C": "CA3 cue", "K": "CA3 content",
             "Kf": "CA3 content (by content)", "A": "address out", "O": "content out"}
OP_NAMES = {"learn": "learn", "recall_cue": "recall by cue", "recall_content": "recall by content"}


def raster_figure(run, offsets: dict, *, title: str = "", latencies=(5.0, 6.0)) -> go.Figure:
    """Spikes of every population against time (ms), the operations shaded and labelled, and for each
    recall by cue the paper's address and content latencies marked (dashed)."""
    t, n = run.record.t.cpu().numpy() * 0.1, run.record.n.cpu().numpy()
    fig = go.Figure()
    for i, (pop, idx) in enumerate(offsets.items()):
        sel = (n >= idx[0]) & (n <= idx[-1])
        fig.add_trace(go.Scattergl(x=t[sel], y=n[sel], mode="markers", name=POP_NAMES[pop],
                                   marker=dict(size=4, color=COLORS[i % len(COLORS)], symbol="line-ns-open")))
        fig.add_hline(y=idx[0] - 0.5, line=dict(color="#ccc", width=1))
    for op in run.ops:
        fig.add_vrect(x0=op.onset, x1=op.onset + (3.0 if op.kind == "learn" else 1.0), fillcolor="#888",
                      opacity=0.12, line_width=0)
        fig.add_annotation(x=op.onset, y=1.02, yref="paper", text=OP_NAMES[op.kind], showarrow=False,
                           xanchor="left", font=dict(size=10))
        if op.kind == "recall_cue":
            for lat, dash in zip(latencies, ("dash", "dot"), strict=True):
                fig.add_vline(x=op.onset + lat, line=dict(color="black", dash=dash, width=1))
    mids = [float(np.mean(idx[[0, -1]])) for idx in offsets.values()]
    fig.update_yaxes(tickvals=mids, ticktext=[POP_NAMES[p] for p in offsets], range=[-1, n_total(offsets)])
    fig.update_layout(title=title, xaxis_title="time (ms)", height=560, showlegend=False)
    return fig


def n_total(offsets: dict) -> int:
    return int(max(idx[-1] for idx in offsets.values()) + 1)


def weights_figure(before: np.ndarray, after: np.ndarray, *,
                   titles=("after learning", "after re-learning")) -> go.Figure:
    """The cue -> content weights (addresses by bits, mV) side by side."""
    fig = make_subplots(1, 2, subplot_titles=titles, horizontal_spacing=0.08)
    for j, w in enumerate((before, after)):
        fig.add_trace(go.Heatmap(z=w, zmin=0, zmax=6, colorscale="Blues", showscale=j == 1,
                                 colorbar=dict(title="mV")), 1, j + 1)
        fig.update_xaxes(title_text="content bit", row=1, col=j + 1)
        fig.update_yaxes(title_text="address" if j == 0 else "", autorange="reversed", row=1, col=j + 1)
    fig.update_layout(title="Cue → content weights (STDP)", height=380)
    return fig


def size_curve_figure(ks, means, ses, theory, *, title: str = "") -> go.Figure:
    """Mean number of returned addresses against fragment size (± 1.96 standard errors), and the theory."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ks, y=theory, mode="lines", name="theory 1 + (P-1)(1-(1-a)^k)",
                             line=dict(color="black", dash="dash")))
    fig.add_trace(go.Scatter(x=ks, y=means, mode="markers", name="CA3 memory",
                             error_y=dict(type="data", array=1.96 * np.asarray(ses)), marker=dict(color=COLORS[0])))
    fig.update_layout(title=title or "Recall by content: addresses returned", xaxis_title="fragment size k (bits)",
                      yaxis_title="addresses returned")
    return fig


def digits_figure(stored: np.ndarray, ca3: np.ndarray, hopfield: np.ndarray, n_show: int = 10) -> go.Figure:
    """Rows: stored digits, the CA3 memory's recall by cue, the Hopfield network's recall (8x8 each)."""
    k = min(n_show, len(stored))
    rows = (("stored", stored), ("CA3 recall by cue", ca3), ("Hopfield recall", hopfield))
    fig = make_subplots(3, k, horizontal_spacing=0.01, vertical_spacing=0.03)
    for r, (_, imgs) in enumerate(rows):
        for c in range(k):
            fig.add_trace(go.Heatmap(z=imgs[c].reshape(8, 8).astype(float), zmin=0, zmax=1, showscale=False,
                                     colorscale="Greys"), r + 1, c + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, autorange="reversed")
    for r, (name, _) in enumerate(rows):
        fig.add_annotation(x=-0.01, y=1 - (r + 0.5) / 3, xref="paper", yref="paper", text=name, showarrow=False,
                           xanchor="right", font=dict(size=11))
    fig.update_layout(title="Digits stored (top), recalled by the CA3 memory's cue (middle), by the Hopfield network "
                            "(bottom)", height=340, margin=dict(l=150))
    return fig


def spacing_figure(spacings, errors, minima: dict) -> go.Figure:
    """Fraction of memories recalled wrongly against the spacing of operations, the paper's minima marked."""
    fig = go.Figure(go.Scatter(x=spacings, y=errors, mode="lines+markers", name="wrong recalls",
                               marker=dict(color=COLORS[1])))
    for name, x, dash in (("recall minimum", minima["recall_cue"], "dot"), ("learn minimum", minima["learn"], "dash")):
        fig.add_vline(x=x, line=dict(color="black", dash=dash), annotation_text=name)
    fig.update_layout(title="Errors against operation spacing", xaxis_title="spacing between operations (ms)",
                      yaxis_title="fraction of memories with a wrong bit", yaxis_range=[-0.05, 1.05])
    return fig


def hopfield_figure(sizes, loads, overlaps, *, critical: float = 0.138) -> go.Figure:
    """Mean final overlap against load P/N, one line per N, the critical load marked."""
    fig = go.Figure()
    for i, n in enumerate(sizes):
        fig.add_trace(go.Scatter(x=loads, y=overlaps[i], mode="lines+markers", name=f"N = {n}",
                                 marker=dict(color=COLORS[i % len(COLORS)])))
    fig.add_vline(x=critical, line=dict(color="black", dash="dash"), annotation_text="α ≈ 0.138")
    fig.update_layout(title="Hopfield network: retrieval against load", xaxis_title="load α = P / N",
                      yaxis_title="mean final overlap", yaxis_range=[0, 1.05])
    return fig


def fragment_figure(fragment, returned, truth, contents_out, n_cues: int) -> go.Figure:
    """The explorer's view: the fragment's bits, and the addresses returned against the true set."""
    fig = make_subplots(1, 2, subplot_titles=("fragment (bits) and content out", "addresses: returned vs true"),
                        column_widths=[0.6, 0.4])
    bits = np.arange(len(fragment))
    fig.add_trace(go.Bar(x=bits, y=contents_out.astype(float), name="content out", marker_color=COLORS[0]), 1, 1)
    fig.add_trace(go.Bar(x=bits, y=fragment.astype(float), name="fragment", marker_color=COLORS[1]), 1, 1)
    a = np.arange(n_cues)
    fig.add_trace(go.Bar(x=a, y=truth.astype(float), name="true address", marker_color="#bbb"), 1, 2)
    fig.add_trace(go.Bar(x=a, y=returned.astype(float) * 0.7, name="returned", marker_color=COLORS[2]), 1, 2)
    fig.update_layout(barmode="overlay", height=330, yaxis=dict(visible=False), yaxis2=dict(visible=False))
    fig.update_xaxes(title_text="bit", row=1, col=1)
    fig.update_xaxes(title_text="address", row=1, col=2)
    return fig
