"""Figures for the neuron-designs notebook (plotly; nothing here trains anything).

Each design keeps one colour in every figure (:func:`labkit.viz.model_color` over :data:`DESIGNS`).
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
import torch
from plotly.subplots import make_subplots

from labkit.fields.neuron_designs.designs import DESIGNS, LABELS
from labkit.fields.neuron_designs.targets import TARGETS
from labkit.viz import model_color


def _color(design: str) -> str:
    return model_color(design, DESIGNS)


@torch.no_grad()
def _grid_output(model, n: int = 121, lim: float = 1.05) -> tuple[np.ndarray, np.ndarray]:
    axis = torch.linspace(-lim, lim, n)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    model.eval()
    return axis.numpy(), model(torch.stack([xx.flatten(), yy.flatten()], 1))[:, 0].reshape(n, n).numpy()


def disk_figure(res) -> go.Figure:
    """The two neurons' outputs over the disk, their decision boundaries (output 0.5) and the true circle."""
    axis, quad = _grid_output(res.quadratic)
    lin = _grid_output(res.linear)[1]
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=(
        f"one quadratic neuron: test accuracy {res.quad_accuracy:.3f}",
        f"one linear neuron: test accuracy {res.linear_accuracy:.3f}"))
    x, y = res.x_test[:1500].numpy(), res.y_test[:1500].numpy()
    t = np.linspace(0, 2 * np.pi, 200)
    for col, z in ((1, quad), (2, lin)):
        p = 1 / (1 + np.exp(-z))
        fig.add_trace(go.Heatmap(x=axis, y=axis, z=p, zmin=0, zmax=1, colorscale="RdBu_r", showscale=col == 2,
                                 colorbar=dict(title="σ(output)", len=0.8), opacity=0.75, hoverinfo="skip"), 1, col)
        fig.add_trace(go.Contour(x=axis, y=axis, z=p, contours=dict(start=0.5, end=0.5, coloring="none"),
                                 line=dict(color="black", width=3), showscale=False, name="decision boundary",
                                 showlegend=col == 1), 1, col)
        for label, color in ((1, "#b2182b"), (0, "#2166ac")):
            m = y == label
            fig.add_trace(go.Scatter(x=x[m, 0], y=x[m, 1], mode="markers", marker=dict(size=3, color=color),
                                     name="inside r = 1/√2" if label else "outside", showlegend=col == 1), 1, col)
        fig.add_trace(go.Scatter(x=np.cos(t) / math.sqrt(2), y=np.sin(t) / math.sqrt(2), mode="lines",
                                 line=dict(color="white", dash="dot"), name="true boundary", showlegend=col == 1),
                      1, col)
    fig.update_xaxes(range=[-1.05, 1.05], constrain="domain")
    fig.update_yaxes(range=[-1.05, 1.05], scaleanchor="x")
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(height=520, title="Is the point inside radius 1/√2? One neuron each",
                      legend=dict(orientation="h", yanchor="top", y=-0.08, xanchor="center", x=0.5))
    return fig


def rmse_figure(fits) -> go.Figure:
    """Test RMSE against parameter count, one panel per target, one line per design (log–log)."""
    targets = sorted({f.task for f in fits})
    fig = make_subplots(rows=1, cols=len(targets), subplot_titles=[f"target {t}" for t in targets])
    for col, t in enumerate(targets, 1):
        for d in dict.fromkeys(f.design for f in fits):
            pts = sorted((f.n_params, f.score) for f in fits if f.task == t and f.design == d)
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                     name=LABELS[d], line=dict(color=_color(d)), legendgroup=d,
                                     showlegend=col == 1), 1, col)
        fig.update_xaxes(type="log", title_text="parameters", row=1, col=col)
        fig.update_yaxes(type="log", title_text="test RMSE" if col == 1 else None, row=1, col=col)
    fig.update_layout(height=420, title="Regression: test RMSE against the parameter budget")
    return fig


@torch.no_grad()
def kan_functions_figure(kan, layer: int = 0, n: int = 200) -> go.Figure:
    """The learned univariate functions ``φ_{q,p}`` of one KAN layer, one small panel per edge."""
    lay = kan.cpu().layers[layer]
    x = torch.linspace(lay.lo, lay.hi, n)[:, None].expand(-1, lay.d_in)
    phi = lay.edges(x).numpy()                                     # (n, out, in)
    fig = make_subplots(rows=lay.d_out, cols=lay.d_in, horizontal_spacing=0.03, vertical_spacing=0.06,
                        column_titles=[f"input x{p + 1}" if layer == 0 else f"input {p + 1}" for p in range(lay.d_in)],
                        row_titles=[f"node {q + 1}" for q in range(lay.d_out)])
    for q in range(lay.d_out):
        for p in range(lay.d_in):
            fig.add_trace(go.Scatter(x=x[:, p].numpy(), y=phi[:, q, p], mode="lines", showlegend=False,
                                     line=dict(color=_color("kan"))), q + 1, p + 1)
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(height=130 * lay.d_out + 120, title=f"The KAN's learned edge functions φ(x), layer {layer + 1}")
    return fig


def accuracy_figure(results: dict) -> go.Figure:
    """Test accuracy against parameter count per task (panels) and design (colours)."""
    names = list(results)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names)
    for col, name in enumerate(names, 1):
        for d in dict.fromkeys(f.design for f in results[name]):
            pts = sorted((f.n_params, f.score) for f in results[name] if f.design == d)
            fig.add_trace(go.Scatter(x=[p[0] for p in pts], y=[p[1] for p in pts], mode="lines+markers",
                                     name=LABELS[d], marker=dict(size=10), line=dict(color=_color(d)), legendgroup=d,
                                     showlegend=d not in {t.legendgroup for t in fig.data}), 1, col)
        fig.update_xaxes(type="log", title_text="parameters", row=1, col=col)
        fig.update_yaxes(title_text="test accuracy" if col == 1 else None, row=1, col=col)
    fig.update_layout(height=430, title="Classification: test accuracy against the parameter budget")
    return fig


@torch.no_grad()
def prototypes_figure(head, side: int = 8) -> go.Figure:
    """Each prototype as an image (rows: the class it reasons for) beside the reasoning matrix r⁺ - r⁻."""
    C, m = head.n_classes, head.per_class
    protos = head.prototypes.numpy().reshape(C, m, side, side)
    gap = np.full((side, 1), np.nan)
    rows = [np.hstack([np.hstack([protos[c, j], gap]) for j in range(m)]) for c in range(C)]
    mosaic = np.vstack([np.vstack([r, np.full((1, r.shape[1]), np.nan)]) for r in rows])
    r = torch.softmax(head.reasoning, -1)
    reason = (r[..., 0] - r[..., 1]).numpy()
    fig = make_subplots(rows=1, cols=2, column_widths=[0.55, 0.45], horizontal_spacing=0.1,
                        subplot_titles=(f"{C * m} prototypes (row = class)", "reasoning r⁺ − r⁻ (prototype × class)"))
    fig.add_trace(go.Heatmap(z=mosaic, colorscale="gray_r", showscale=False, hoverinfo="skip"), 1, 1)
    fig.add_trace(go.Heatmap(z=reason, x=list(range(C)), colorscale="RdBu", zmin=-1, zmax=1,
                             colorbar=dict(title="r⁺−r⁻")), 1, 2)
    fig.update_yaxes(autorange="reversed", showticklabels=False, scaleanchor="x", row=1, col=1)
    fig.update_xaxes(showticklabels=False, constrain="domain", row=1, col=1)
    fig.update_yaxes(autorange="reversed", title_text="prototype", row=1, col=2)
    fig.update_xaxes(title_text="class", dtick=1, row=1, col=2)
    fig.update_layout(height=560, title="The RBF/CBC head's prototypes and its reasoning")
    return fig


def attack_figure(att) -> go.Figure:
    """Each test digit's certified radius against the smallest L2 perturbation the attack found."""
    ok = att.found
    top = float(max(att.radius.max() * 3.2, 1e-6))
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=att.radius[ok], y=att.attack_eps[ok], mode="markers", marker=dict(size=5, opacity=0.6),
                             name="test digit (attack found)"))
    for k, dash in ((1, "solid"), (3, "dot")):
        fig.add_trace(go.Scatter(x=[0, top / 3.2 * 1.05], y=[0, k * top / 3.2 * 1.05], mode="lines",
                                 line=dict(color="black", dash=dash, width=1),
                                 name="attack = radius (the certificate)" if k == 1 else "attack = 3 × radius"))
    fig.update_layout(height=440, title="Certified radius against the distance the attack needs (L2)",
                      xaxis_title="certified radius (d₂ − d₁)/2", yaxis_title="smallest flipping perturbation found")
    return fig


def relinear_figure(fits: dict, smooth: int = 25) -> go.Figure:
    """Training loss of the MLP, its ReLinear twin and the plain-start quadratic net, with test accuracies."""
    fig = go.Figure()
    k = np.ones(smooth) / smooth
    for d, f in fits.items():
        if f.history.size == 0:
            continue
        h = np.convolve(f.history, k, mode="valid") if f.history.size > smooth else f.history
        fig.add_trace(go.Scatter(y=h, mode="lines", line=dict(color=_color(d)),
                                 name=f"{LABELS[d]} ({f.n_params:,} params): test accuracy {f.score:.3f}"))
    fig.update_layout(height=420, title="MNIST-1D: training loss (running mean)", xaxis_title="step",
                      yaxis_title="cross-entropy", yaxis_type="log")
    return fig


@torch.no_grad()
def fit_view(fit, n: int = 81) -> go.Figure:
    """A regression fit on the plane of its first two inputs (the others at 0): target, fit and residual."""
    f, d = TARGETS[fit.task]
    axis = torch.linspace(-1, 1, n)
    xx, yy = torch.meshgrid(axis, axis, indexing="xy")
    x = torch.zeros(n * n, d)
    x[:, 0], x[:, 1] = xx.flatten(), yy.flatten()
    fit.model.cpu().eval()
    truth = f(x).reshape(n, n).numpy()
    pred = fit.model(x)[:, 0].reshape(n, n).numpy()
    lim = float(np.abs(pred - truth).max())
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.07, subplot_titles=(
        "target", f"{LABELS[fit.design]} ({fit.n_params} params)", f"residual (max |r| {lim:.3f})"))
    for col, z, cs, zr in ((1, truth, "Viridis", (truth.min(), truth.max())),
                           (2, pred, "Viridis", (truth.min(), truth.max())), (3, pred - truth, "RdBu", (-lim, lim))):
        fig.add_trace(go.Heatmap(x=axis.numpy(), y=axis.numpy(), z=z, colorscale=cs, zmin=zr[0], zmax=zr[1],
                                 showscale=col != 1, colorbar=dict(x=0.63 if col == 2 else 1.0, len=0.9),
                                 hoverinfo="skip"), 1, col)
    fig.update_xaxes(title_text="x₁")
    fig.update_yaxes(title_text="x₂", row=1, col=1)
    fig.update_layout(height=380, title=f"{fit.task} on the (x₁, x₂) plane" + (", other inputs 0" if d > 2 else "")
                      + f": test RMSE {fit.score:.4f}")
    return fig
