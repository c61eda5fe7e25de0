"""Figures for the LIF neuron of the tour (builders only: they never simulate)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.theme import COLORS


def fi_curve_figure(current, rate_theory, runs: dict[str, np.ndarray], rheobase: float,
                    rate_noisy=None, noise_label: str = "Siegert rate, noise") -> go.Figure:
    """Closed-form f–I curve (line) against simulated rates (markers), rheobase marked; ``rate_noisy``: the
    noisy neuron's theoretical rate (dashed, in the colour of the second run)."""
    fig = go.Figure(go.Scatter(x=current, y=rate_theory, mode="lines", name="closed form",
                               line=dict(color=COLORS[7], width=2)))
    if rate_noisy is not None:
        fig.add_trace(go.Scatter(x=current, y=rate_noisy, mode="lines", name=noise_label,
                                 line=dict(color=COLORS[1], width=1.5, dash="dash")))
    for k, (name, rate) in enumerate(runs.items()):
        fig.add_trace(go.Scatter(x=current, y=rate, mode="markers", name=name, marker=dict(size=8, color=COLORS[k])))
    fig.add_vline(x=rheobase, line_dash="dot", line_color="#888", annotation_text="rheobase",
                  annotation_position="top left")
    fig.update_layout(title="f–I curve of a leaky integrate-and-fire neuron", xaxis_title="input current I (nA)",
                      yaxis_title="firing rate (Hz)", legend=dict(x=0.02, y=0.98))
    return fig


def voltage_figure(time, voltage, currents, v_th: float) -> go.Figure:
    """Membrane potential of a few neurons; spikes are drawn up to 0 mV."""
    fig = make_subplots(rows=voltage.shape[1], cols=1, shared_xaxes=True, vertical_spacing=0.03)
    for k in range(voltage.shape[1]):
        fig.add_trace(go.Scatter(x=time, y=voltage[:, k], mode="lines", name=f"I = {currents[k]:.2f} nA",
                                 line=dict(color=COLORS[k % len(COLORS)], width=1.5)), row=k + 1, col=1)
        fig.add_hline(y=v_th, line_dash="dot", line_color="#888", row=k + 1, col=1)
        fig.update_yaxes(title_text="V (mV)", row=k + 1, col=1)
    fig.update_xaxes(title_text="time (ms)", row=voltage.shape[1], col=1)
    fig.update_layout(title="Membrane potential (dotted: threshold)", height=150 + 150 * voltage.shape[1])
    return fig
