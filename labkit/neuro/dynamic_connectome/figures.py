"""Figures for the dynamic connectome (builders only: they receive arrays, never simulate or fit)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.pieces import label_runs, learning_curve, shade_runs
from labkit.viz.theme import COLORS

__all__ = ["traces_figure", "epoch_affinity_figure", "rank_scan_figure", "convergence_figure", "factors_figure",
           "factor_figure", "comparison_figure", "static_figure"]

_FILL_NAMES = ["white", "orange", "blue", "green", "pink", "light blue"]   # the colours of viz.pieces.RUN_FILLS


def _shading_key(epoch_names) -> str:
    """'shading: white spontaneous, orange stimulus on, ...': the epochs' colours, named once above the panels
    (labels inside the one-minute blocks of a narrow time panel ran into each other)."""
    return "shading: " + ", ".join(f"{_FILL_NAMES[e % len(_FILL_NAMES)]} {n}" for e, n in enumerate(epoch_names))


def _order(labels):
    return np.lexsort((np.arange(len(labels)), labels))


def traces_figure(traces, time, epoch_of_sample, epoch_names, communities, *, animal: int = 0,
                  sort_epoch: int = 1) -> go.Figure:
    """One animal's fluorescence as a heatmap (neurons sorted by their community in ``sort_epoch``),
    with the epochs marked, above a zoom on the first ``sort_epoch`` block: two members of one of its
    communities and one neuron of another (z-scored, offset for legibility)."""
    x = np.asarray(traces)[animal]
    time = np.asarray(time)
    labels = np.asarray(communities)[sort_epoch]
    order = _order(labels)
    z = (x - x.mean(1, keepdims=True)) / np.maximum(x.std(1, keepdims=True), 1e-12)
    blocks = label_runs(epoch_of_sample, time)
    t0, t1, _ = next(b for b in blocks if b[2] == sort_epoch)
    span = (t1 - t0) / 2
    zoom = (time >= t0 - span) & (time <= t1 + span)
    fig = make_subplots(rows=2, cols=1, row_heights=[0.58, 0.42], vertical_spacing=0.15,
                        subplot_titles=["all neurons, whole recording",
                                        f"zoom on the first '{epoch_names[sort_epoch]}' block"])
    fig.add_trace(go.Heatmap(z=z[order], x=time, y=np.arange(len(order)), colorscale="Viridis", zmin=-2, zmax=4,
                             colorbar=dict(title="z-scored<br>fluorescence", len=0.5, y=0.76)), row=1, col=1)
    for b in np.flatnonzero(np.diff(labels[order])) + 0.5:
        fig.add_hline(y=b, line_color="white", line_width=1, row=1, col=1)
    same = np.flatnonzero(labels == 0)[:2]
    other = np.flatnonzero(labels == 1)[:1]
    picks = [(same[0], "community 0", COLORS[0]), (same[1], "community 0", COLORS[5]),
             (other[0], "community 1", COLORS[1])]
    for k, (i, lab, color) in enumerate(picks):
        fig.add_trace(go.Scatter(x=time[zoom], y=z[i, zoom] - 5 * k, mode="lines", line=dict(width=1.5, color=color),
                                 name=f"{i}: {lab} in '{epoch_names[sort_epoch]}'"), row=2, col=1)
    shade_runs(fig, epoch_of_sample, time, names=epoch_names, row=2, col=1)
    fig.update_xaxes(range=[time[zoom][0], time[zoom][-1]], row=2, col=1)
    fig.update_yaxes(title_text=f"neuron (by community<br>in '{epoch_names[sort_epoch]}')", autorange="reversed",
                     row=1, col=1)
    fig.update_yaxes(title_text="z-scored fluorescence<br>(offset by 5)", showticklabels=False, row=2, col=1)
    fig.update_xaxes(title_text="time (s)", row=1, col=1)
    fig.update_xaxes(title_text="time (s)", row=2, col=1)
    fig.update_layout(title=f"Calcium traces of animal {animal}", height=760,
                      legend=dict(orientation="h", y=-0.1, x=0, title="neuron"))
    return fig


def epoch_affinity_figure(matrices, epoch_names, communities) -> go.Figure:
    """Mean affinity matrix of each epoch type (over its windows and all animals), neurons sorted by
    that epoch's true communities: the block structure changes from epoch to epoch."""
    E = len(epoch_names)
    fig = make_subplots(rows=1, cols=E, subplot_titles=[f"{n}<br>(sorted by its communities)" for n in epoch_names],
                        horizontal_spacing=0.05)
    vmax = float(np.percentile(np.concatenate([m.ravel() for m in matrices]), 99))
    for e in range(E):
        o = _order(np.asarray(communities)[e])
        fig.add_trace(go.Heatmap(z=np.asarray(matrices[e])[np.ix_(o, o)], colorscale="Viridis", zmin=0, zmax=vmax,
                                 showscale=(e == E - 1), colorbar=dict(title="affinity")), row=1, col=e + 1)
        fig.update_xaxes(title_text="neuron", row=1, col=e + 1)
        fig.update_yaxes(autorange="reversed", scaleanchor=f"x{e + 1 if e else ''}", row=1, col=e + 1)
    fig.update_yaxes(title_text="neuron", row=1, col=1)
    fig.update_layout(title="Window affinities averaged within each epoch type", height=460, margin=dict(t=120))
    return fig


def rank_scan_figure(scan: dict, chosen: int | None = None, min_core_consistency: float | None = None,
                     heldout: dict | None = None) -> go.Figure:
    """Relative error of every restart, the restarts' similarity and the core consistency, against the rank;
    with ``heldout`` (a :func:`~.heldout.heldout_scan`), the mean held-out error over the folds (± one standard
    error) beside the training error."""
    ranks, errs, sims = scan["ranks"], np.asarray(scan["errors"]), np.asarray(scan["similarity"])
    core = np.asarray(scan.get("core_consistency", np.full(len(ranks), np.nan)), dtype=float)
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.09,
                        subplot_titles=["relative error", "restarts' similarity", "core consistency (%)"])
    xs = np.repeat(ranks, errs.shape[1])
    fig.add_trace(go.Scatter(x=xs, y=errs.ravel(), mode="markers", name="each restart",
                             marker=dict(color=COLORS[0], size=7, opacity=0.6)), row=1, col=1)
    fig.add_trace(go.Scatter(x=ranks, y=errs.min(1), mode="lines", name="best restart",
                             line=dict(color=COLORS[0])), row=1, col=1)
    if heldout is not None:
        h = np.asarray(heldout["heldout"], dtype=float)
        se = h.std(axis=1, ddof=1) / np.sqrt(h.shape[1])
        fig.add_trace(go.Scatter(x=heldout["ranks"], y=h.mean(1), mode="lines+markers",
                                 name=f"held-out cells (mean of {h.shape[1]} folds ± SE)",
                                 error_y=dict(type="data", array=se, visible=True),
                                 line=dict(color=COLORS[3], dash="dash"), marker=dict(size=8)), row=1, col=1)
    fig.add_trace(go.Scatter(x=ranks, y=sims, mode="lines+markers", name="similarity to the best fit",
                             line=dict(color=COLORS[1]), marker=dict(size=8)), row=1, col=2)
    # CORCONDIA can be hugely negative past the right rank: draw it clipped, with the true value on hover.
    fig.add_trace(go.Scatter(x=ranks, y=np.clip(core, -20, 100), mode="lines+markers", name="core consistency (%)",
                             customdata=core, hovertemplate="rank %{x}: %{customdata:.1f}%<extra></extra>",
                             line=dict(color=COLORS[2]), marker=dict(size=8)), row=1, col=3)
    if min_core_consistency is not None:
        fig.add_hline(y=min_core_consistency, line_dash="dash", line_color="#888", row=1, col=3,
                      annotation_text=f"{min_core_consistency:g}%", annotation_position="bottom left")
    if chosen is not None:
        for c in (1, 2, 3):
            fig.add_vline(x=chosen, line_dash="dot", line_color="#888", row=1, col=c)
    # The panels' quantities are in their titles, not on y axes: between panels a y title sat on the tick labels
    # of its neighbour in a narrow view.
    fig.update_xaxes(title_text="rank", dtick=1)
    fig.update_yaxes(title_text="‖X − X̂‖ / ‖X‖", row=1, col=1)       # the outer axis has room for its title
    fig.update_yaxes(range=[0, 1.05], row=1, col=2)
    fig.update_yaxes(range=[-25, 105], row=1, col=3)   # CORCONDIA clipped at −20 (true value on hover)
    fig.update_layout(title="Choosing the rank" + (f" (dotted: rank {chosen})" if chosen else ""), height=440,
                      legend=dict(orientation="h", y=-0.25, x=0))
    return fig


def convergence_figure(errors, compressed_errors=None) -> go.Figure:
    """Error history of the kept NTF fit: the iterations on X, after those on its Tucker core if any
    (where the error is an estimate from the core, see :func:`~.ntf.ntf_hals`)."""
    e = np.asarray(errors)
    c = np.asarray([] if compressed_errors is None else compressed_errors)
    fig = go.Figure()
    if len(c):
        learning_curve(c, name="on the Tucker core (estimate)", color=COLORS[0], fig=fig)
        fig.update_traces(line_dash="dot")
    learning_curve(e, x=np.arange(len(c) + 1, len(c) + len(e) + 1), name="on the tensor X", color=COLORS[1], fig=fig,
                   title="NTF convergence (best restart)", xaxis="iteration", yaxis="relative error ‖X − X̂‖ / ‖X‖",
                   log_y=bool(len(c) and np.nanmax(np.r_[c, e]) > 10 * np.nanmin(np.r_[c, e])))
    fig.update_traces(mode="lines+markers", marker=dict(size=5))
    fig.update_layout(height=360, legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0))
    return fig


def _circle_layout(labels):
    """Neurons on a circle, grouped by community."""
    order = _order(labels)
    n = len(labels)
    ang = np.empty(n)
    gaps = np.r_[0, np.cumsum(np.diff(labels[order]) != 0)]
    ang[order] = 2 * np.pi * (np.arange(n) + 1.5 * gaps) / (n + 1.5 * (gaps[-1] + 1))
    return np.cos(ang), np.sin(ang)


def _add_motif_graph(fig, motif, labels, names, row, col, top: float = 0.08, showlegend=False):
    m = np.asarray(motif)
    n = m.shape[0]
    x, y = _circle_layout(np.asarray(labels))
    iu = np.triu_indices(n, 1)
    w = m[iu]
    keep = w >= np.quantile(w, 1 - top) if w.size else np.zeros(0, bool)
    xe, ye = [], []
    for i, j in zip(iu[0][keep], iu[1][keep]):
        xe += [x[i], x[j], None]
        ye += [y[i], y[j], None]
    fig.add_trace(go.Scatter(x=xe, y=ye, mode="lines", line=dict(color="rgba(80,80,80,0.35)", width=1),
                             hoverinfo="skip", showlegend=False), row=row, col=col)
    for k in range(int(np.max(labels)) + 1):
        sel = np.flatnonzero(labels == k)
        fig.add_trace(go.Scatter(x=x[sel], y=y[sel], mode="markers", text=[names[i] for i in sel],
                                 hovertemplate="%{text}<extra>community " + str(k) + "</extra>",
                                 marker=dict(size=9, color=COLORS[k % len(COLORS)], line=dict(width=0.5, color="#333")),
                                 name=f"community {k}", showlegend=showlegend), row=row, col=col)
    fig.update_xaxes(visible=False, row=row, col=col)
    fig.update_yaxes(visible=False, scaleanchor=None, row=row, col=col)


def factor_figure(r: int, *, motifs, communities, time_factors, animal_factors, weights, window_time, time,
                  epoch_of_sample, epoch_names, neurons, top: float = 0.08) -> go.Figure:
    """One factor: its motif graph (strongest ``top`` fraction of pairs drawn, neurons coloured by
    detected community), its time course over the epochs, and its animal loadings. The arrays are those
    of :func:`~.experiment.factor_arrays`."""
    fig = make_subplots(rows=1, cols=3, column_widths=[0.34, 0.44, 0.22], horizontal_spacing=0.07,
                        subplot_titles=[f"motif {r}: communities", "time course (loading)", "loading per animal"])
    _add_motif_graph(fig, motifs[r], communities[r], neurons, 1, 1, top=top, showlegend=True)
    _time_panel(fig, window_time, time_factors[:, r], time, epoch_of_sample, epoch_names, 1, 2)
    _animal_panel(fig, animal_factors[:, r], 1, 3)
    fig.update_layout(title=f"Factor {r} (weight {weights[r]:.3g})<br><sup>{_shading_key(epoch_names)}</sup>",
                      height=440, legend=dict(orientation="h", y=-0.3, x=0), margin=dict(t=110))
    return fig


def _time_panel(fig, window_time, course, time, epoch_of_sample, epoch_names, row, col, label=False):
    """The time factor over the shaded epochs; no y-axis title (the subplot title names the loading: between
    two panels a y title sat on the tick labels)."""
    fig.add_trace(go.Scatter(x=window_time, y=course, mode="lines+markers", marker=dict(size=5),
                             line=dict(color=COLORS[3]), showlegend=False), row=row, col=col)
    # Shapes go on a subplot only once it holds a trace, so shade after plotting.
    shade_runs(fig, epoch_of_sample, time, names=epoch_names if label else None, row=row, col=col)
    fig.update_xaxes(title_text="time (s; window centres)", row=row, col=col)


def _animal_panel(fig, loadings, row, col):
    fig.add_trace(go.Bar(x=np.arange(len(loadings)), y=loadings, marker_color=COLORS[0], showlegend=False),
                  row=row, col=col)
    fig.update_xaxes(title_text="animal", dtick=1, row=row, col=col)


def factors_figure(*, motifs, communities, time_factors, animal_factors, window_time, time, epoch_of_sample,
                   epoch_names, neurons, weights=None, top: float = 0.08) -> go.Figure:
    """Every factor in one figure: rows = factors; columns = motif graph, time course, animal loadings
    (the arrays of :func:`~.experiment.factor_arrays`)."""
    R = time_factors.shape[1]
    titles = []
    for r in range(R):
        titles += [f"factor {r}: motif communities", f"factor {r}: time course (loading)", "loading per animal"]
    fig = make_subplots(rows=R, cols=3, column_widths=[0.3, 0.48, 0.22], horizontal_spacing=0.08,
                        vertical_spacing=0.09 if R < 5 else 0.05, subplot_titles=titles)
    for r in range(R):
        _add_motif_graph(fig, motifs[r], communities[r], neurons, r + 1, 1, top=top)
        _time_panel(fig, window_time, time_factors[:, r], time, epoch_of_sample, epoch_names, r + 1, 2)
        _animal_panel(fig, animal_factors[:, r], r + 1, 3)
    fig.update_layout(title="NTF factors: who interacts (motif), when (time course), in whom (animals)<br>"
                            f"<sup>{_shading_key(epoch_names)}</sup>",
                      height=330 * R + 110, showlegend=False, margin=dict(t=120))
    return fig


def comparison_figure(evaluation: dict) -> go.Figure:
    """Community recovery (ARI) per epoch: dynamic (the matched NTF motif) against the static connectome."""
    pe = evaluation["per_epoch"]
    names = [p["epoch"] for p in pe]
    fig = go.Figure([go.Bar(x=names, y=[p["ari"] for p in pe], name="dynamic (matched NTF motif)",
                            marker_color=COLORS[0]),
                     go.Bar(x=names, y=[p["static_ari"] for p in pe], name="static (one correlation matrix)",
                            marker_color=COLORS[1])])
    fig.add_hline(y=0.8, line_dash="dot", line_color="#888", annotation_text="check: 0.8",
                  annotation_position="top right")
    fig.update_layout(title="Recovering each epoch's communities", barmode="group", xaxis_title="epoch type",
                      yaxis_title="adjusted Rand index with the truth", yaxis_range=[-0.1, 1.1], height=400,
                      legend=dict(orientation="h", y=-0.25, x=0))
    return fig


def static_figure(static, labels) -> go.Figure:
    """The static functional connectome, neurons sorted by its own Louvain communities."""
    o = _order(np.asarray(labels))
    fig = go.Figure(go.Heatmap(z=np.asarray(static)[np.ix_(o, o)], colorscale="Viridis",
                               colorbar=dict(title="correlation<br>(≥ 0)")))
    fig.update_layout(title="Static functional connectome<br>(all time, all animals; sorted by its communities)",
                      xaxis_title="neuron", yaxis_title="neuron", height=540, width=680, margin=dict(t=90))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_xaxes(constrain="domain")
    return fig
