"""The explorer pattern: a pure compute function plus a thin ipywidgets wrapper.

Write the science as ``compute(**controls) -> plotly Figure`` (tests call it directly, with the same
arguments the sliders send), then ``explorer(compute, n=(1, 50, 1), mode=["a", "b"])`` wraps it.
In JupyterLab the sliders redraw the figure; in a report run (``LABKIT_REPORT=1``, set by the runner)
the default view is also drawn as a plain figure, so the static page shows it and nothing breaks.

The figure is put into the output area by setting the ``Output`` widget's ``outputs`` from the kernel,
never by capturing with ``with out: display(...)``: headless executors (nbclient, hence papermill and
nbconvert) mimic a captured Output widget by sending comm messages on the shell channel while they
wait for the cell's reply on it, which now and then loses the reply and hangs the run until its
timeout (jupyter/nbclient#312). Setting ``outputs`` sends nothing back and behaves the same in
JupyterLab.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets
from IPython.display import display


def _display_data(obj: Any) -> dict:
    """``obj`` as one ``display_data`` output: its own mime bundle (a plotly figure's), else as the
    running shell would format it for ``display``."""
    if hasattr(obj, "_repr_mimebundle_"):
        bundle = obj._repr_mimebundle_()
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
    else:
        from IPython.core.interactiveshell import InteractiveShell

        data, metadata = InteractiveShell.instance().display_formatter.format(obj)
    return {"output_type": "display_data", "data": {"text/plain": f"<{type(obj).__name__}>", **data},
            "metadata": metadata}


class Explorer(widgets.VBox):
    """A box of controls above an output area; its plain-text form explains how to use it."""

    def __repr__(self) -> str:
        return "Interactive explorer: open this notebook in JupyterLab to move the controls."


# A control's description (its parameter's name) takes its own width: ipywidgets' default of a fixed ~90 px cuts
# longer names ("annotation_a" showed as "annotatio…" in JupyterLab).
_STYLE = {"description_width": "initial"}


def _widget_for(name: str, spec: Any) -> widgets.Widget:
    if isinstance(spec, widgets.Widget):
        return spec
    if isinstance(spec, bool):
        return widgets.Checkbox(value=spec, description=name, style=_STYLE)
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(v, str) for v in spec):
        return widgets.Dropdown(options=list(spec), description=name, style=_STYLE)
    if isinstance(spec, tuple) and len(spec) in (3, 4):
        low, high, step = spec[:3]
        value = spec[3] if len(spec) == 4 else low
        cls = widgets.IntSlider if all(isinstance(v, int) for v in spec) else widgets.FloatSlider
        return cls(min=low, max=high, step=step, value=value, description=name, continuous_update=False, style=_STYLE)
    raise ValueError(f"explorer: control {name!r} must be (low, high, step[, value]), a list of strings, "
                     f"a bool or a widget, got {spec!r}.")


def explorer(compute: Callable[..., Any], **controls: Any) -> Explorer:
    """Build (and return) an explorer that calls ``compute(**values)`` and shows its figure."""
    inputs = {name: _widget_for(name, spec) for name, spec in controls.items()}
    out = widgets.Output()

    def redraw(_=None):
        values = {name: w.value for name, w in inputs.items()}
        figure = compute(**values)
        out.outputs = (_display_data(figure),)
        return figure

    for w in inputs.values():
        w.observe(redraw, names="value")
    box = Explorer([widgets.HBox(list(inputs.values()), layout=widgets.Layout(flex_flow="row wrap")), out])
    figure = redraw()
    if os.environ.get("LABKIT_REPORT") == "1":
        # A static report cannot run widgets: show the default view as a plain figure as well.
        display(figure)
    return box
