"""Plotly figures of the notebook: arrays in, figures out (nothing here trains or measures)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS

NL_COLORS = {"tanh": COLORS[0], "relu": COLORS[1]}


def _np(a) -> np.ndarray:
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


def alignment_figure(study) -> go.Figure:
    """Target and input CKA against c (as a fraction of c_max), Tanh against ReLU, one column per k
    (mean over replicates, band: ± one standard deviation)."""
    ks = study.ks
    fig = make_subplots(rows=1, cols=2 * len(ks), subplot_titles=[f"{w} CKA, k = {k}" for k in ks
                                                                  for w in ("target", "input")])
    for ik in range(len(ks)):
        for iw, name in enumerate(("target_cka", "input_cka")):
            for inl, nl in enumerate(study.nonlinearities):
                v = getattr(study, name)[inl, ik]
                m, s = v.mean(-1), v.std(-1)
                col = 2 * ik + iw + 1
                fig.add_trace(go.Scatter(x=study.fractions, y=m, mode="lines+markers", name=nl, legendgroup=nl,
                                         showlegend=(col == 1), line=dict(color=NL_COLORS[nl]),
                                         error_y=dict(type="data", array=s, visible=True)), row=1, col=col)
            fig.update_xaxes(title_text="c / c_max", row=1, col=2 * ik + iw + 1)
    fig.update_yaxes(range=[0, 1.02], title_text="CKA", row=1, col=1)
    fig.update_layout(height=360, template="plotly_white", title="How much the hidden geometry follows the targets "
                      "and the inputs")
    return fig


def rdm_grid(rdms: dict, title: str, zmax: float | None = None) -> go.Figure:
    """A row of RDM heatmaps (name → (n, n) array) on one colour scale (0 to ``zmax``, default the largest entry)."""
    names = list(rdms)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.03)
    zmax = zmax if zmax is not None else max(float(_np(D).max()) for D in rdms.values())   # one scale for all
    for i, n in enumerate(names):
        D = _np(rdms[n])
        fig.add_trace(go.Heatmap(z=D, colorscale="Viridis", showscale=(i == len(names) - 1), zmin=0, zmax=zmax),
                      row=1, col=i + 1)
        fig.update_yaxes(autorange="reversed", showticklabels=False, row=1, col=i + 1)
        fig.update_xaxes(showticklabels=False, row=1, col=i + 1)
    fig.update_layout(height=260, template="plotly_white", title=title,
                      margin=dict(t=70, b=20))
    return fig


def layer_id_figure(noise_levels, accuracy: dict, chance: float) -> go.Figure:
    """Layer-identification accuracy against noise, plain RSA and each GT (l, u)."""
    fig = go.Figure()
    for i, (name, acc) in enumerate(accuracy.items()):
        fig.add_trace(go.Scatter(x=list(noise_levels), y=acc, mode="lines+markers", name=name,
                                 line=dict(color=COLORS[i % len(COLORS)], dash="solid" if i == 0 else "dash")))
    fig.add_hline(y=chance, line=dict(color="grey", dash="dot"), annotation_text="chance")
    fig.update_layout(height=340, template="plotly_white", xaxis_title="noise sd / activity sd",
                      yaxis_title="layer identified", yaxis_range=[0, 1.02],
                      title="Which layer made these (noisy) data? RSA against topological RSA")
    return fig


def cka_matrix_figure(C, n_seeds: int, n_layers: int) -> go.Figure:
    """The (seeds·layers)² linear-CKA matrix, ordered seed-major."""
    labels = [f"s{s}·L{l + 1}" for s in range(n_seeds) for l in range(n_layers)]
    fig = go.Figure(go.Heatmap(z=_np(C), x=labels, y=labels, colorscale="Viridis", zmin=0, zmax=1))
    fig.update_layout(height=480, width=540, template="plotly_white", yaxis_autorange="reversed",
                      title="Linear CKA, every layer of every seed")
    return fig


def matching_figure(plain: np.ndarray, rotated: np.ndarray, cka: np.ndarray) -> go.Figure:
    """Per pair of seeds: CKA, mean matched-unit correlation, and the same after rotating one net's units."""
    x = np.arange(len(plain))
    fig = go.Figure()
    bars = (("linear CKA", cka), ("matched units", plain), ("matched, one net rotated", rotated))
    for i, (name, v) in enumerate(bars):
        fig.add_trace(go.Bar(x=x, y=v, name=name, marker_color=COLORS[i]))
    fig.update_layout(height=320, template="plotly_white", barmode="group", xaxis_title="pair of seeds",
                      yaxis_range=[0, 1], title="CKA cannot see a rotation of the units; matching can")
    return fig


def persistence_figure(diagrams: dict, diameters: dict) -> go.Figure:
    """H0 and H1 persistence diagrams of each planted cloud (birth, death) in units of its diameter."""
    names = list(diagrams)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
    for i, n in enumerate(names):
        for dim, dg in enumerate(diagrams[n][:2]):
            dg = np.asarray(dg) / diameters[n]
            dg = dg[np.isfinite(dg[:, 1])] if len(dg) else dg
            fig.add_trace(go.Scatter(x=dg[:, 0], y=dg[:, 1], mode="markers", name=f"H{dim}", legendgroup=f"H{dim}",
                                     showlegend=(i == 0), marker=dict(color=COLORS[dim], size=7)), row=1, col=i + 1)
        fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="grey", dash="dot"),
                                 showlegend=False), row=1, col=i + 1)
        fig.update_xaxes(title_text="birth / diameter", range=[-0.02, 1], row=1, col=i + 1)
        fig.update_yaxes(range=[-0.02, 1], row=1, col=i + 1)
    fig.update_yaxes(title_text="death / diameter", row=1, col=1)
    fig.update_layout(height=330, template="plotly_white", title="Persistence diagrams: far from the diagonal = "
                      "a feature that persists")
    return fig


def feature_pca_figure(hidden, y, variance) -> go.Figure:
    """The hidden layer's first two principal components, coloured by the easy and by the hard feature."""
    H = _np(hidden)
    H = H - H.mean(0)
    U, S, _ = np.linalg.svd(H, full_matrices=False)
    pc = U[:, :2] * S[:2]
    y = _np(y)
    fig = make_subplots(rows=1, cols=2, subplot_titles=[f"coloured by the easy feature ({variance[0]:.0%} of variance)",
                                                        f"coloured by the hard feature ({variance[1]:.0%})"])
    for j in range(2):
        for v in (0, 1):
            m = y[:, j] == v
            fig.add_trace(go.Scatter(x=pc[m, 0], y=pc[m, 1], mode="markers", name=f"{v}", legendgroup=str(v),
                                     showlegend=(j == 0), marker=dict(size=4, color=COLORS[v], opacity=0.6)),
                          row=1, col=j + 1)
        fig.update_xaxes(title_text="PC 1", row=1, col=j + 1)
    fig.update_yaxes(title_text="PC 2", row=1, col=1)
    fig.update_layout(height=360, template="plotly_white", legend_title="feature value")
    return fig
