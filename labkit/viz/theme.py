"""One plotly template for the whole lab, a renderer that works offline, and one colour per model.

The renderer emits two representations of each figure: plotly's own JSON mimetype, which
JupyterLab draws with its plotly extension, and a ``text/html`` fragment that calls the global
``Plotly`` object. The report exporter embeds plotly.js once in each page's head, so reports draw
their figures with no network and no require.js (the trap of nbconvert's stock templates).
"""
from __future__ import annotations

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


def model_color(name: str, names=None) -> str:
    """One colour per model across the lab's figures: the same name gets the same colour in every
    figure of a notebook. ``names`` (the notebook's models in order) fixes the assignment; otherwise
    names are coloured in the order they are first asked for."""
    if names is not None:
        names = list(names)
        if name in names:
            return COLORS[names.index(name) % len(COLORS)]
    if name not in _SEEN:
        _SEEN.append(name)
    return COLORS[_SEEN.index(name) % len(COLORS)]


_SEEN: list[str] = []
