"""One plotly template for the whole lab, a renderer that works offline, and common figure pieces.

The renderer emits two representations of each figure: plotly's own JSON mimetype, which
JupyterLab draws with its plotly extension, and a ``text/html`` fragment that calls the global
``Plotly`` object. The report exporter embeds plotly.js once in each page's head, so reports draw
their figures with no network and no require.js (the trap of nbconvert's stock templates).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import MimetypeRenderer

# Okabe & Ito's colour-blind-safe palette, black last.
COLORS = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

TEMPLATE = go.layout.Template(
    layout=dict(
        font=dict(family="Inter, Helvetica, Arial, sans-serif", size=14, color="#222"),
        title=dict(font=dict(size=18), x=0.02, xanchor="left"),
        colorway=COLORS,
        paper_bgcolor="white",
        plot_bgcolor="white",
        xaxis=dict(showgrid=True, gridcolor="#eee", zeroline=False, linecolor="#444", ticks="outside", showline=True),
        yaxis=dict(showgrid=True, gridcolor="#eee", zeroline=False, linecolor="#444", ticks="outside", showline=True),
        legend=dict(bgcolor="rgba(255,255,255,0.8)"),
        margin=dict(l=70, r=30, t=60, b=60),
        colorscale=dict(sequential="Viridis", diverging="RdBu_r"),
        hoverlabel=dict(font_size=13),
    )
)


class LabkitRenderer(MimetypeRenderer):
    """Plotly JSON for JupyterLab plus an HTML fragment drawn by a page-level plotly.js."""

    def to_mimebundle(self, fig_dict):
        html = pio.to_html(fig_dict, include_plotlyjs=False, include_mathjax=False, full_html=False,
                           default_width="100%", default_height=fig_dict.get("layout", {}).get("height") or 500,
                           validate=False, config={"displaylogo": False, "responsive": True})
        return {"application/vnd.plotly.v1+json": {"data": fig_dict.get("data", []),
                                                   "layout": fig_dict.get("layout", {}),
                                                   "config": {"displaylogo": False}},
                "text/html": html}


def apply_theme() -> None:
    """Register and select the ``labkit`` template and renderer (idempotent)."""
    pio.templates["labkit"] = TEMPLATE
    pio.templates.default = "plotly_white+labkit"
    pio.renderers["labkit"] = LabkitRenderer()
    pio.renderers.default = "labkit"


def line_figure(x, ys: dict[str, Sequence[float]], *, title: str = "", xaxis: str = "", yaxis: str = "",
                log_x: bool = False, log_y: bool = False, mode: str = "lines") -> go.Figure:
    """Several named curves over a shared x (a learning curve, a tuning curve)."""
    fig = go.Figure()
    for name, y in ys.items():
        fig.add_trace(go.Scatter(x=np.asarray(x), y=np.asarray(y), name=name, mode=mode))
    fig.update_layout(title=title, xaxis_title=xaxis, yaxis_title=yaxis)
    if log_x:
        fig.update_xaxes(type="log")
    if log_y:
        fig.update_yaxes(type="log")
    return fig


def heatmap(matrix, *, title: str = "", x=None, y=None, xaxis: str = "", yaxis: str = "",
            colorscale: str = "Viridis", zmid: float | None = None, colorbar: str = "") -> go.Figure:
    """A labelled matrix (connectivity, confusion, similarity), row 0 at the top."""
    fig = go.Figure(go.Heatmap(z=np.asarray(matrix), x=x, y=y, colorscale=colorscale, zmid=zmid,
                               colorbar=dict(title=colorbar)))
    fig.update_layout(title=title, xaxis_title=xaxis, yaxis_title=yaxis)
    fig.update_yaxes(autorange="reversed")
    return fig


def raster(spikes, *, dt: float = 1.0, title: str = "", max_neurons: int = 200, color: str = COLORS[0],
           time_unit: str = "ms") -> go.Figure:
    """A spike raster from a (time, neurons) array of counts or booleans."""
    spikes = np.asarray(spikes)
    t, n = np.nonzero(spikes[:, :max_neurons])
    fig = go.Figure(go.Scattergl(x=t * dt, y=n, mode="markers", marker=dict(size=3, color=color), name="spikes"))
    fig.update_layout(title=title, xaxis_title=f"time ({time_unit})", yaxis_title="neuron", showlegend=False)
    return fig
