"""Figures for interp/sparse_dictionaries (builders only: they never train or fit)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from labkit.viz.pieces import heatmap, learning_curve
from labkit.viz.theme import COLORS

__all__ = ["toy_geometry_figure", "comparison_figure", "sweep_figure", "max_cosine_figure",
           "code_state_figure", "steering_figure", "latent_figure", "fsm_loss_figure", "kind_recovery_figure"]


def _np(a):
    return a.detach().cpu().numpy() if isinstance(a, torch.Tensor) else np.asarray(a)


def toy_geometry_figure(weights) -> go.Figure:
    """The columns of W of toy models with 2 hidden neurons (``weights``: one (2, n_features) array per
    model; one panel each): a feature the model stores is an arrow of length ~1; the arrows of stored
    features form digons, triangles, pentagons... Below: how many features each model stores."""
    weights = [_np(W) for W in weights]
    n = len(weights)
    fig = make_subplots(rows=2, cols=n, row_heights=[0.68, 0.32], vertical_spacing=0.18,
                        specs=[[{}] * n, [{"colspan": n}] + [None] * (n - 1)],
                        subplot_titles=[f"{W.shape[1]} features" for W in weights] + ["features stored in 2 neurons"])
    for i, W in enumerate(weights):
        if W.shape[0] != 2:
            raise ValueError("toy_geometry_figure draws models with 2 hidden neurons.")
        for j in range(W.shape[1]):
            stored = np.linalg.norm(W[:, j]) > 0.5
            fig.add_trace(go.Scatter(x=[0, W[0, j]], y=[0, W[1, j]], mode="lines+markers",
                                     line=dict(color=COLORS[j % len(COLORS)], width=3 if stored else 1,
                                               dash="solid" if stored else "dot"),
                                     marker=dict(size=[0, 7]), showlegend=False,
                                     hovertemplate=f"feature {j}: ||W_i|| = {np.linalg.norm(W[:, j]):.2f}"
                                                   "<extra></extra>"),
                          row=1, col=i + 1)
        fig.update_xaxes(range=[-1.4, 1.4], title_text="neuron 1", row=1, col=i + 1, zeroline=True)
        fig.update_yaxes(range=[-1.4, 1.4], title_text="neuron 2" if i == 0 else None, row=1, col=i + 1,
                         scaleanchor=f"x{i + 1}" if i else "x", zeroline=True)
    nf = [W.shape[1] for W in weights]
    stored = [int((np.linalg.norm(W, axis=0) > 0.5).sum()) for W in weights]
    fig.add_trace(go.Scatter(x=nf, y=stored, mode="lines+markers", name="stored",
                             line=dict(color=COLORS[0])), row=2, col=1)
    fig.add_trace(go.Scatter(x=nf, y=[2] * n, mode="lines", name="neurons", line=dict(color="gray", dash="dash")),
                  row=2, col=1)
    fig.update_xaxes(title_text="number of features", row=2, col=1)
    fig.update_yaxes(title_text="features stored", row=2, col=1)
    fig.update_layout(height=560, title="Superposition in a toy model: more features than neurons",
                      legend=dict(orientation="h", y=-0.12))
    return fig


def comparison_figure(rows) -> go.Figure:
    """Every dictionary on the same activations: recovery (MMCS and the fraction recovered),
    explained variance, L0, dead latents and fit time, one panel each."""
    names = [r["method"] for r in rows]
    panels = [("recovered", "features recovered (cos ≥ 0.9)", "fraction"), ("mmcs", "mean max cosine", "cosine"),
              ("explained_variance", "explained variance", "fraction"), ("l0", "L0 (active codes per input)", "codes"),
              ("dead", "dead latents", "latents"), ("fit_time", "fit time", "seconds")]
    fig = make_subplots(rows=2, cols=3, subplot_titles=[p[1] for p in panels], vertical_spacing=0.22,
                        horizontal_spacing=0.08)
    for i, (key, _, unit) in enumerate(panels):
        r, c = divmod(i, 3)
        fig.add_trace(go.Bar(x=names, y=[row[key] for row in rows], marker_color=COLORS[:len(rows)], showlegend=False,
                             hovertemplate="%{x}: %{y:.3g}<extra></extra>"), row=r + 1, col=c + 1)
        fig.update_yaxes(title_text=unit, row=r + 1, col=c + 1, type="log" if key == "l0" else "linear")
        fig.update_xaxes(tickangle=35, row=r + 1, col=c + 1)
    fig.update_layout(height=640, title="Seven dictionaries on the same activations, against the planted features")
    return fig


def sweep_figure(sweeps: dict, true_l0: float | None = None) -> go.Figure:
    """Recovery against sparsity: for each method, the fraction of features recovered (left) and the
    explained variance (right) against the L0 its penalty (or k) gives. The penalty or k of each
    point is in its hover text and, in order, in the legend (point labels would pile up where the
    points crowd); the true L0 is a dashed vertical line drawn as a trace, so that it needs no
    annotation (which a log axis would misplace)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["features recovered", "explained variance"],
                        horizontal_spacing=0.12)
    for i, (label, rows) in enumerate(sweeps.items()):
        l0 = [r["l0"] for r in rows]
        values = [f"{r['value']:g}" for r in rows]
        name = f"{label}: {', '.join(values)}"
        for col, key in ((1, "recovered"), (2, "explained_variance")):
            fig.add_trace(go.Scatter(x=l0, y=[r[key] for r in rows], mode="lines+markers", text=values,
                                     name=name, legendgroup=label, showlegend=col == 1,
                                     line=dict(color=COLORS[i % len(COLORS)]),
                                     hovertemplate=f"{label} = %{{text}}<br>L0 %{{x:.2f}}: %{{y:.3f}}<extra></extra>"),
                          row=1, col=col)
    if true_l0 is not None:
        for col in (1, 2):
            fig.add_trace(go.Scatter(x=[true_l0, true_l0], y=[0, 1], mode="lines", name=f"true L0 ({true_l0:.2f})",
                                     line=dict(color="gray", dash="dash"), legendgroup="true L0",
                                     showlegend=col == 1, hovertemplate=f"true L0 {true_l0:.2f}<extra></extra>"),
                          row=1, col=col)
    for col in (1, 2):
        fig.update_xaxes(title_text="L0 (active codes per input, log scale)", type="log", row=1, col=col)
        fig.update_yaxes(title_text="fraction", range=[0, 1.05], row=1, col=col)
    fig.update_layout(height=460,
                      title="Recovery against sparsity (each method's penalties or k, in order, in the legend)",
                      legend=dict(orientation="h", y=-0.25, x=0))
    return fig


def max_cosine_figure(best: dict) -> go.Figure:
    """For each method, the distribution of every true feature's best cosine with any atom."""
    fig = go.Figure()
    for i, (name, cos) in enumerate(best.items()):
        fig.add_trace(go.Violin(y=_np(cos), name=name, box_visible=True, meanline_visible=True, points=False,
                                line_color=COLORS[i % len(COLORS)], spanmode="hard"))
    fig.add_hline(y=0.9, line_dash="dash", line_color="gray", annotation_text="recovered above 0.9")
    fig.update_layout(title="How close each planted feature's nearest atom is", yaxis_title="max cosine with any atom",
                      xaxis_title="method", showlegend=False, height=420)
    return fig


def kind_recovery_figure(rows) -> go.Figure:
    """Recovery per kind of feature (roots, children, planes) for a few methods (grouped bars)."""
    kinds = [k for k in ("roots", "children", "planes") if k in rows[0]]
    fig = go.Figure()
    for i, kind in enumerate(kinds):
        fig.add_trace(go.Bar(x=[r["method"] for r in rows], y=[r[kind] for r in rows], name=kind,
                             marker_color=COLORS[i], hovertemplate=f"{kind}: %{{y:.2f}}<extra></extra>"))
    fig.update_layout(barmode="group", title="Hierarchical and two-dimensional features: which kinds are recovered",
                      xaxis_title="method", yaxis_title="fraction recovered (cos ≥ 0.9)", yaxis_range=[0, 1.05],
                      height=400)
    return fig


def fsm_loss_figure(losses, optimum: float | None = None) -> go.Figure:
    """The FSM model's next-token loss during training, with the entropy floor of the machine."""
    losses = np.asarray(losses)
    fig = learning_curve(losses, name="next-token loss", smooth=max(1, len(losses) // 50),
                         title="Training the transformer with a codebook bottleneck",
                         yaxis="cross-entropy (nats per token)")
    if optimum is not None:
        fig.add_hline(y=optimum, line_dash="dash", line_color="gray", annotation_text="entropy of the machine")
    fig.update_layout(height=360)
    return fig


def code_state_figure(table, max_codes: int = 120) -> go.Figure:
    """Which code fires for which state (at the last digit of each state, held-out trajectories):
    rows are the busiest codes, sorted by their majority state; a pure code is a single bright cell."""
    table = np.asarray(table, dtype=float)
    used = np.flatnonzero(table.sum(1) > 0)
    used = used[np.argsort(-table[used].sum(1))][:max_codes]
    order = used[np.lexsort((-table[used].max(1), table[used].argmax(1)))]
    frac = table[order] / table[order].sum(1, keepdims=True)
    fig = heatmap(frac, x=np.arange(table.shape[1]), y=[f"code {c}" for c in order], title="Codes against FSM states",
                  xaxis="true state (at its last digit)", yaxis="code (sorted by its majority state)",
                  colorbar="share of the<br>code's firing")
    fig.update_traces(zmin=0, zmax=1, hovertemplate="%{y}, state %{x}: %{z:.2f}<extra></extra>")
    fig.update_yaxes(showticklabels=False)
    fig.update_layout(height=480)
    return fig


def steering_figure(result: dict, by_context: dict | None = None) -> go.Figure:
    """Steering by a state's code: the probability the model puts on next digits only the target
    state's successors have (A) and on those only the prompt's successors have (B), without and
    with the target's code forced; right: the success rate against the length of the prompt."""
    cols = 2 if by_context else 1
    fig = make_subplots(rows=1, cols=cols, subplot_titles=["where the next-digit probability goes",
                                                           "success against prompt length"][:cols],
                        horizontal_spacing=0.14)
    groups = ["prompt alone", "target's code forced"]
    fig.add_trace(go.Bar(x=groups, y=[result["plain_mass_target"], result["mass_target"]],
                         name="digits of the target's successors (A)",
                         marker_color=COLORS[2]), row=1, col=1)
    fig.add_trace(go.Bar(x=groups, y=[result["plain_mass_prompt"], result["mass_prompt"]],
                         name="digits of the prompt's successors (B)",
                         marker_color=COLORS[3]), row=1, col=1)
    fig.update_yaxes(title_text="mean probability", row=1, col=1, range=[0, 1])
    if by_context:
        ctx = sorted(by_context)
        fig.add_trace(go.Scatter(x=ctx, y=[by_context[c]["success"] for c in ctx], mode="lines+markers",
                                 name="steered: success", line=dict(color=COLORS[0])), row=1, col=2)
        fig.add_trace(go.Scatter(x=ctx, y=[by_context[c]["baseline"] for c in ctx], mode="lines+markers",
                                 name="not steered (baseline)", line=dict(color="gray", dash="dash")), row=1, col=2)
        fig.update_xaxes(title_text="states before the steered one", row=1, col=2)
        fig.update_yaxes(title_text="fraction of trials with P(A) > P(B)", range=[0, 1.05], row=1, col=2)
    fig.update_layout(barmode="group", height=420,
                      title="Forcing a state's code makes the model continue from that state",
                      legend=dict(orientation="h", y=-0.2))
    return fig


def latent_figure(view: dict) -> go.Figure:
    """One latent of a fitted dictionary (``view``: :func:`~.metrics.latent_summary`'s arrays): its atom
    against the nearest true feature (left), and its top activations with that feature's true magnitude
    on the same inputs (right)."""
    latent, j, truth = view["latent"], view["feature"], view["truth"]
    n_top = len(view["top_index"])
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=[f"atom {latent} and its nearest true feature (cos {view['cosine']:.2f})",
                                        f"top {n_top} activations of latent {latent}"])
    dims = np.arange(len(view["atom"]))
    fig.add_trace(go.Bar(x=dims, y=view["atom"], name=f"atom {latent}", marker_color=COLORS[0]), row=1, col=1)
    if truth is not None:
        fig.add_trace(go.Scatter(x=dims, y=truth, mode="markers", name=f"true feature {j}",
                                 marker=dict(color=COLORS[3], size=7, symbol="diamond")), row=1, col=1)
    fig.update_xaxes(title_text="dimension", row=1, col=1)
    fig.update_yaxes(title_text="weight (unit vectors)", row=1, col=1)
    inputs = [str(i) for i in view["top_index"]]
    fig.add_trace(go.Bar(x=inputs, y=view["top_value"], name="code of the latent", marker_color=COLORS[0],
                         showlegend=False), row=1, col=2)
    if view["top_truth"] is not None:
        fig.add_trace(go.Scatter(x=inputs, y=view["top_truth"], mode="markers", name=f"true magnitude of feature {j}",
                                 marker=dict(color=COLORS[3], size=9, symbol="diamond"), showlegend=False),
                      row=1, col=2)
    fig.update_xaxes(title_text="input (sample index)", type="category", row=1, col=2)
    fig.update_yaxes(title_text="activation (data units)", row=1, col=2)
    fig.update_layout(height=420, title=f"{view['name']}: latent {latent}", legend=dict(orientation="h", y=-0.25))
    return fig
