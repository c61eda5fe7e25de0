"""The lab's plotly look and the explorer pattern.

Importing this module registers the ``labkit`` plotly template and renderer and makes them the
defaults, so every figure in every notebook looks alike and renders both live in JupyterLab and in
offline HTML reports (see :mod:`labkit.viz.theme`).
"""
from labkit.viz.theme import COLORS, apply_theme, heatmap, line_figure, raster
from labkit.viz.explorer import Explorer, explorer

apply_theme()

__all__ = ["COLORS", "apply_theme", "heatmap", "line_figure", "raster", "Explorer", "explorer"]
