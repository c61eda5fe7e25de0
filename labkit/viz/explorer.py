"""The explorer pattern: a pure compute function plus a thin ipywidgets wrapper.

Write the science as ``compute(**controls) -> plotly Figure`` (tests call it directly, with the same
arguments the sliders send), then ``explorer(compute, n=(1, 50, 1), mode=["a", "b"])`` wraps it.
In JupyterLab the sliders redraw the figure; in a report run (``LABKIT_REPORT=1``, set by the runner)
the default view is also drawn as a plain figure, so the static page shows it and nothing breaks.
"""
from __future__ import annotations

import os
from typing import Any, Callable

import ipywidgets as widgets
from IPython.display import display


class Explorer(widgets.VBox):
    """A box of controls above an output area; its plain-text form explains how to use it."""

    def __repr__(self) -> str:
        return "Interactive explorer: open this notebook in JupyterLab to move the controls."


def _widget_for(name: str, spec: Any) -> widgets.Widget:
    if isinstance(spec, widgets.Widget):
        return spec
    if isinstance(spec, bool):
        return widgets.Checkbox(value=spec, description=name)
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(v, str) for v in spec):
        return widgets.Dropdown(options=list(spec), description=name)
    if isinstance(spec, tuple) and len(spec) in (3, 4):
        low, high, step = spec[:3]
        value = spec[3] if len(spec) == 4 else low
        cls = widgets.IntSlider if all(isinstance(v, int) for v in spec) else widgets.FloatSlider
        return cls(min=low, max=high, step=step, value=value, description=name, continuous_update=False)
    raise ValueError(f"explorer: control {name!r} must be (low, high, step[, value]), a list of strings, "
                     f"a bool or a widget, got {spec!r}.")


def explorer(compute: Callable[..., Any], **controls: Any) -> Explorer:
    """Build (and return) an explorer that calls ``compute(**values)`` and shows its figure."""
    inputs = {name: _widget_for(name, spec) for name, spec in controls.items()}
    out = widgets.Output()

    def redraw(_=None):
        values = {name: w.value for name, w in inputs.items()}
        out.clear_output(wait=True)
        with out:
            display(compute(**values))

    for w in inputs.values():
        w.observe(redraw, names="value")
    box = Explorer([widgets.HBox(list(inputs.values()), layout=widgets.Layout(flex_flow="row wrap")), out])
    redraw()
    if os.environ.get("LABKIT_REPORT") == "1":
        # A static report cannot run widgets: show the default view as a plain figure as well.
        display(compute(**{name: w.value for name, w in inputs.items()}))
    return box
