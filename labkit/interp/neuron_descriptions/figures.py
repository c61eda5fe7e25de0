"""Plotly figures for neuron descriptions (arrays in, figures out; nothing here trains or describes)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz import COLORS, line_figure, model_color


def _rgb(img: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(img).transpose(1, 2, 0) * 255, 0, 255).astype(np.uint8)


def _masked(img: np.ndarray, mask) -> np.ndarray:
    """Dim the picture outside ``mask`` (any resolution dividing the picture's)."""
    if mask is None:
        return img
    m = np.asarray(mask, float)
    f = img.shape[-1] // m.shape[-1]
    m = m.repeat(f, 0).repeat(f, 1)
    return img * (0.25 + 0.75 * m)[None]


def image_grid(images: np.ndarray, titles=None, masks=None, *, cols: int = 8, title: str = "",
               cell: int = 110) -> go.Figure:
    """Pictures (n, 3, H, W) in a grid, each dimmed outside its mask if ``masks`` (n, h, w) is given."""
    n = len(images)
    rows = int(np.ceil(n / cols))
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=list(titles) if titles is not None else None,
                        horizontal_spacing=0.01, vertical_spacing=0.12 / max(rows, 1))
    for i in range(n):
        img = _masked(images[i], None if masks is None else masks[i])
        fig.add_trace(go.Image(z=_rgb(img), hoverinfo="skip"), row=i // cols + 1, col=i % cols + 1)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_annotations(font_size=10)
    fig.update_layout(title=title, height=cell * rows + 80, width=cell * cols + 40, margin=dict(t=70, l=10, r=10))
    return fig


def lambda_figure(lams, exact_by_kind: dict) -> go.Figure:
    """Exact match against λ, one curve per unit kind (and overall)."""
    fig = line_figure(lams, exact_by_kind, title="Exact match of the chosen description against λ",
                      xaxis="λ (weight of the prior)", yaxis="exact match", mode="lines+markers")
    fig.add_vline(x=0.3, line_dash="dot", line_color="grey")
    return fig


def methods_figure(table: dict, kinds, metric: str = "exact") -> go.Figure:
    """Grouped bars: PMI, likelihood and dissection by unit kind (``metric``: exact or f1)."""
    names = list(table)
    fig = go.Figure()
    for name in names:
        key = "exact" if metric == "exact" else "slot_f1"
        ys = [table[name][f"{'exact' if metric == 'exact' else 'f1'}_{k}"] for k in kinds] + [table[name][key]]
        fig.add_trace(go.Bar(x=list(kinds) + ["all"], y=ys, name=name, marker_color=model_color(name, names)))
    fig.update_layout(barmode="group", title=f"{'Exact match' if metric == 'exact' else 'Slot-level F1'} "
                      "with the planted description", yaxis_title=metric, yaxis_range=[0, 1.05])
    return fig


def layer_shares_figure(shares: dict) -> go.Figure:
    """Stacked bars: what kind of description each layer's units get."""
    layers = list(shares)
    kinds = list(next(iter(shares.values())))
    fig = go.Figure()
    for i, k in enumerate(kinds):
        fig.add_trace(go.Bar(x=layers, y=[shares[l][k] for l in layers], name=k, marker_color=COLORS[i % len(COLORS)]))
    fig.update_layout(barmode="stack", title="Descriptions of the CNN's units, by layer", yaxis_title="share of units")
    return fig


def detection_figure(layer: np.ndarray, pmi: np.ndarray, dissection: np.ndarray, precision: np.ndarray) -> go.Figure:
    """Per layer: detection AUROC of the PMI descriptions and of dissection's labels, and precision."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("detection AUROC (held-out scenes)",
                                                        "precision on the unit's exemplars"))
    for name, vals, col in (("PMI", pmi, COLORS[0]), ("dissection", dissection, COLORS[2])):
        fig.add_trace(go.Box(x=[f"layer {v + 1}" for v in layer], y=vals, name=name, marker_color=col,
                             boxpoints="all", jitter=0.4, pointpos=0), row=1, col=1)
    fig.add_trace(go.Box(x=[f"layer {v + 1}" for v in layer], y=precision, name="PMI precision",
                         marker_color=COLORS[0], boxpoints="all", jitter=0.4, pointpos=0, showlegend=False),
                  row=1, col=2)
    fig.update_layout(boxmode="group", title="How well do the descriptions describe the CNN's units?")
    return fig


def edit_figure(counts, test, random, val) -> go.Figure:
    """Decorrelated accuracy against the number of deleted units: marker-described against random."""
    fig = line_figure(counts, {"marker units (test)": test, "marker units (validation)": val,
                               "random units (test, mean of draws)": np.asarray(random).mean(0)},
                      title="Deleting the units described as the marker", xaxis="units deleted",
                      yaxis="decorrelated accuracy", mode="lines+markers")
    r = np.asarray(random)
    fig.add_trace(go.Scatter(x=np.concatenate([counts, counts[::-1]]),
                             y=np.concatenate([r.max(0), r.min(0)[::-1]]), fill="toself", line_width=0,
                             fillcolor="rgba(150,150,150,0.2)", name="random range", hoverinfo="skip"))
    return fig


def unit_figure(images: np.ndarray, masks: np.ndarray, top: list[tuple[str, float]], title: str) -> go.Figure:
    """A unit's exemplars (dimmed outside their masks) and its top descriptions with PMI scores."""
    sub = "<br>".join(f"{i + 1}. {t} ({s:+.2f})" for i, (t, s) in enumerate(top))
    fig = image_grid(images, masks=masks, cols=min(8, len(images)), title=f"{title}<br><sup>{sub}</sup>", cell=90)
    fig.update_layout(margin=dict(t=150), height=fig.layout.height + 80)
    return fig
