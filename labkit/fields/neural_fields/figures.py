"""Figures for the neural-fields notebook (plotly; nothing here trains anything).

Each field keeps one colour in every figure (:func:`labkit.viz.model_color` over :data:`FIELDS`). The
figures are panels of pictures beside curves (``make_subplots``); the single-figure pieces of
:mod:`labkit.viz.pieces` (heatmap, learning curve) draw whole figures, so the panels are built here.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.fields.neural_fields.models import FIELDS
from labkit.viz import COLORS, model_color


def _image_trace(img: np.ndarray, *, zmin=0.0, zmax=1.0, colorscale="gray", showscale=False, colorbar=None):
    img = np.asarray(img)
    if img.ndim == 3 and img.shape[2] == 3:
        return go.Image(z=np.clip(img * 255, 0, 255).astype(np.uint8), hoverinfo="skip")
    if img.ndim == 3:
        img = img[..., 0]
    return go.Heatmap(z=img, zmin=zmin, zmax=zmax, colorscale=colorscale, showscale=showscale, colorbar=colorbar,
                      hoverinfo="skip")


def _square_axes(fig, n_axes: int) -> None:
    for i in range(1, n_axes + 1):
        sx = "" if i == 1 else str(i)
        fig.layout[f"yaxis{sx}"].update(autorange="reversed", scaleanchor=f"x{sx}", showticklabels=False,
                                         showgrid=False, showline=False, ticks="")
        fig.layout[f"xaxis{sx}"].update(showticklabels=False, showgrid=False, showline=False, ticks="",
                                         constrain="domain")


def picture_figure(image: np.ndarray, title: str) -> go.Figure:
    fig = go.Figure(_image_trace(image))
    fig.update_layout(title=title, height=460, width=520, margin=dict(l=20, r=20, t=60, b=20))
    _square_axes(fig, 1)
    return fig


def psnr_curves_figure(results: dict, labels: dict | None = None, title: str = "PSNR against time and against steps",
                       marks: tuple = (25.0, 30.0)) -> go.Figure:
    """PSNR of each field against training wall-clock time (left) and against steps (right)."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06,
                        subplot_titles=("against wall-clock time", "against optimizer steps"))
    for kind, res in results.items():
        name = (labels or {}).get(kind, kind)
        color = model_color(kind, FIELDS)
        t = res.setup_seconds + res.seconds
        fig.add_trace(go.Scatter(x=t, y=res.psnr_curve, name=name, mode="lines", line=dict(color=color),
                                 legendgroup=kind), 1, 1)
        fig.add_trace(go.Scatter(x=res.steps, y=res.psnr_curve, name=name, mode="lines", line=dict(color=color),
                                 legendgroup=kind, showlegend=False), 1, 2)
    for db in marks:
        for col in (1, 2):
            fig.add_hline(y=db, line=dict(color="#888", dash="dot", width=1), row=1, col=col)
    fig.update_xaxes(title_text="training time (s, set-up included)", row=1, col=1)
    fig.update_xaxes(title_text="step", row=1, col=2)
    fig.update_yaxes(title_text="PSNR (dB)", row=1, col=1)
    fig.update_layout(title=title, height=470, legend=dict(orientation="h", y=-0.22))
    return fig


def reconstructions_figure(image: np.ndarray, results: dict, labels: dict | None = None,
                           error_max: float = 0.15) -> go.Figure:
    """Top row: the picture and each field's reconstruction; bottom row: absolute error maps."""
    kinds = list(results)
    n = len(kinds) + 1
    titles = ["picture (truth)"] + [
        f"{(labels or {}).get(k, k)}<br>{results[k].psnr:.1f} dB, SSIM {results[k].ssim:.2f}" for k in kinds]
    titles += [""] + ["|error|" for _ in kinds]
    fig = make_subplots(rows=2, cols=n, subplot_titles=titles, horizontal_spacing=0.01, vertical_spacing=0.08)
    fig.add_trace(_image_trace(image), 1, 1)
    for c, k in enumerate(kinds, start=2):
        fig.add_trace(_image_trace(results[k].reconstruction), 1, c)
        err = np.abs(results[k].reconstruction - image).mean(-1)
        fig.add_trace(_image_trace(err, zmax=error_max, colorscale="Inferno", showscale=(c == n),
                                   colorbar=dict(title="|error|", len=0.45, y=0.22)), 2, c)
    _square_axes(fig, 2 * n)
    fig.layout["xaxis" + str(n + 1)].visible = False
    fig.layout["yaxis" + str(n + 1)].visible = False
    fig.update_annotations(font_size=12)
    fig.update_layout(title="Reconstructions (top) and their absolute errors (bottom)", height=200 + 150 * 2 * (6 / n),
                      margin=dict(l=20, r=60, t=90, b=20))
    return fig


def fresh_figure(fresh, grid_sigmas, grid_psnr, default_sigma: float, default_psnr: float, chosen_psnr: float,
                 field_label: str = "Fourier features") -> go.Figure:
    """Left: FreSh's spectrum distance for each candidate σ. Right: PSNR after training for the grid
    search, FreSh's choice and the default."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("FreSh: spectrum distance of the untrained field",
                                        "PSNR after training"))
    fig.add_trace(go.Scatter(x=fresh.candidates, y=fresh.distances, mode="lines+markers", name="distance (mean)",
                             error_y=dict(type="data", array=fresh.stderr, visible=True), line=dict(color=COLORS[0])),
                  1, 1)
    fig.add_trace(go.Scatter(x=[fresh.chosen], y=[float(np.min(fresh.distances))], mode="markers",
                             marker=dict(size=14, symbol="star", color=COLORS[3]),
                             name=f"FreSh's choice σ={fresh.chosen:g}"),
                  1, 1)
    fig.add_trace(go.Scatter(x=grid_sigmas, y=grid_psnr, mode="lines+markers", name="grid search",
                             line=dict(color=COLORS[5])), 1, 2)
    fig.add_trace(go.Scatter(x=[fresh.chosen], y=[chosen_psnr], mode="markers", name="FreSh's choice, trained",
                             marker=dict(size=14, symbol="star", color=COLORS[3])), 1, 2)
    fig.add_trace(go.Scatter(x=[default_sigma], y=[default_psnr], mode="markers", name=f"default σ={default_sigma:g}",
                             marker=dict(size=12, symbol="diamond", color=COLORS[7])), 1, 2)
    fig.update_xaxes(title_text="σ of the Fourier features", row=1, col=1)
    fig.update_xaxes(title_text="σ of the Fourier features", row=1, col=2)
    fig.update_yaxes(title_text="Wasserstein distance (frequency bins)", row=1, col=1)
    fig.update_yaxes(title_text="PSNR (dB)", row=1, col=2)
    fig.update_layout(title=f"Choosing the frequency of {field_label} before training", height=460,
                      legend=dict(orientation="h", y=-0.25))
    return fig


def spectra_figure(fresh, show: tuple | None = None) -> go.Figure:
    """The picture's spectrum and the untrained field's for a few candidate σ, each normalised to sum 1."""
    fig = go.Figure()
    k = np.arange(1, fresh.target_spectrum.size + 1)
    fig.add_trace(go.Scatter(x=k, y=fresh.target_spectrum / fresh.target_spectrum.sum(), name="picture",
                             line=dict(color="black", width=3)))
    idx = list(range(len(fresh.candidates)))
    if show is not None:
        idx = list(dict.fromkeys(int(np.argmin(np.abs(fresh.candidates - s))) for s in show))
    for n, i in enumerate(idx):
        s = fresh.model_spectra[i]
        mark = " (FreSh's choice)" if fresh.candidates[i] == fresh.chosen else ""
        fig.add_trace(go.Scatter(x=k, y=s / s.sum(), name=f"untrained, σ={fresh.candidates[i]:g}{mark}",
                                 line=dict(color=COLORS[n % (len(COLORS) - 1)])))
    fig.update_layout(title="Spectra: Σ over |DFT| diagonals i+j=k (FreSh), normalised",
                      xaxis_title="frequency k (cycles per picture, i+j)", yaxis_title="share of the spectrum",
                      height=430)
    fig.update_yaxes(type="log", dtick=1)          # one label per decade: minor labels crowd a short axis
    return fig


def _ellipse(centre, cov, n=24, scale=1.0):
    vals, vecs = np.linalg.eigh(cov)
    t = np.linspace(0, 2 * np.pi, n)
    circle = np.stack([np.cos(t), np.sin(t)])
    pts = vecs @ (np.sqrt(np.maximum(vals, 0))[:, None] * circle) * scale
    return centre[0] + pts[0], centre[1] + pts[1]


def rbf_layout_figure(image: np.ndarray, neurbf: dict | None = None, grbf: dict | None = None,
                      grbf_weights: np.ndarray | None = None, max_kernels: int = 400, seed: int = 0) -> go.Figure:
    """Where the RBFs sit, drawn over the picture.

    ``neurbf`` (from :func:`~labkit.fields.neural_fields.experiment.rbf_layout`): kernel centres (dots)
    and half-height ellipses, up to ``max_kernels`` of them. ``grbf``: the Gaussian RBFNet's neurons
    live in feature space, so the picture shows *where they fire*: the neuron that responds most at
    each pixel, and the response map of the neuron with the largest output weight (``grbf_weights``).
    """
    R = image.shape[0]
    grey = image.mean(-1) if image.ndim == 3 else image
    titles, kinds = [], []
    if neurbf is not None:
        titles.append(f"NeuRBF: {len(neurbf['centres'])} kernels (centres, half-height ellipses)")
        kinds.append("neurbf")
    if grbf is not None:
        titles += ["Gaussian RBFNet: which of its neurons fires most", "Gaussian RBFNet: one neuron's response"]
        kinds += ["winner", "response"]
    if not kinds:
        raise ValueError("rbf_layout_figure needs neurbf or grbf.")
    fig = make_subplots(rows=1, cols=len(kinds), subplot_titles=titles, horizontal_spacing=0.04)

    def to_px(v):
        return (np.asarray(v) + 1) / 2 * R - 0.5

    for c, kind in enumerate(kinds, start=1):
        if kind == "neurbf":
            fig.add_trace(go.Heatmap(z=grey, colorscale="gray", zmin=0, zmax=1, showscale=False, opacity=0.6,
                                     hoverinfo="skip"), 1, c)
            centres, covs = neurbf["centres"], neurbf["covariances"]
            rng = np.random.default_rng(seed)
            pick = (np.arange(len(centres)) if len(centres) <= max_kernels
                    else np.sort(rng.choice(len(centres), max_kernels, replace=False)))
            xs, ys = [], []
            for i in pick:
                ex, ey = _ellipse(centres[i], covs[i])
                xs += list(to_px(ex)) + [None]
                ys += list(to_px(ey)) + [None]
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=COLORS[3], width=1), name="kernel shape",
                                     hoverinfo="skip"), 1, c)
            fig.add_trace(go.Scatter(x=to_px(centres[pick, 0]), y=to_px(centres[pick, 1]), mode="markers",
                                     marker=dict(size=3, color=COLORS[0]), name="kernel centre",
                                     hoverinfo="skip"), 1, c)
        elif kind == "winner":
            fig.add_trace(go.Heatmap(z=grbf["winner"], colorscale="Turbo", showscale=False,
                                     hovertemplate="neuron %{z}<extra></extra>"), 1, c)
        else:
            k = int(np.argmax(np.abs(grbf_weights))) if grbf_weights is not None else 0
            fig.add_trace(go.Heatmap(z=grbf["responses"][k], colorscale="Viridis", showscale=True,
                                     colorbar=dict(title=f"φ<sub>{k}</sub>", len=0.8),
                                     hovertemplate="φ = %{z:.3f}<extra></extra>"), 1, c)
    for i in range(1, len(kinds) + 1):
        sx = "" if i == 1 else str(i)
        fig.layout[f"xaxis{sx}"].update(range=[-0.5, R - 0.5], showticklabels=False, showgrid=False, ticks="",
                                        constrain="domain", title_text="x (pixels)")
        fig.layout[f"yaxis{sx}"].update(range=[R - 0.5, -0.5], scaleanchor=f"x{sx}", showticklabels=False,
                                        showgrid=False, ticks="", title_text="y (pixels)" if i == 1 else None)
    fig.update_annotations(font_size=12)
    fig.update_layout(title="Where the radial basis functions sit", height=480, legend=dict(orientation="h", y=-0.12),
                      margin=dict(l=40, r=20, t=90, b=40))
    return fig


def explorer_figure(image: np.ndarray, result, label: str) -> go.Figure:
    """One fit: its reconstruction beside its PSNR curve."""
    fig = make_subplots(rows=1, cols=2, column_widths=[0.4, 0.6], horizontal_spacing=0.1,
                        subplot_titles=(f"{label}: {result.psnr:.1f} dB", "PSNR against steps"))
    fig.add_trace(_image_trace(result.reconstruction), 1, 1)
    fig.add_trace(go.Scatter(x=result.steps, y=result.psnr_curve, mode="lines", showlegend=False,
                             line=dict(color=COLORS[0])), 1, 2)
    fig.layout.yaxis.update(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, ticks="")
    fig.layout.xaxis.update(showticklabels=False, showgrid=False, ticks="", constrain="domain")
    fig.update_xaxes(title_text="step", row=1, col=2)
    fig.update_yaxes(title_text="PSNR (dB)", row=1, col=2)
    fig.update_layout(height=420, title=f"{label}, {result.n_params:,} parameters")
    return fig
