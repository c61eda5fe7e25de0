"""The lab's plotly look, the figure pieces every method shares, and the explorer pattern.

Importing this module registers the ``labkit`` plotly template and renderer and makes them the
defaults, so every figure in every notebook looks alike and renders both live in JupyterLab and in
offline HTML reports (see :mod:`labkit.viz.theme`).
"""
from labkit.viz.explorer import Explorer, explorer
from labkit.viz.pieces import heatmap, label_runs, learning_curve, line_figure, raster, shade_runs
from labkit.viz.theme import COLORS, apply_theme, model_color

apply_theme()

__all__ = ["COLORS", "apply_theme", "model_color", "heatmap", "label_runs", "learning_curve", "line_figure", "raster",
           "shade_runs", "Explorer", "explorer"]
