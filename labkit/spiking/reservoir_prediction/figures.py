"""Figures of the reservoir-prediction notebook (builders only: arrays in, plotly figures out)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.theme import COLORS

LEARNER_COLORS = {"three_factor": COLORS[0], "force_no_reset": COLORS[3], "force_reset": COLORS[2]}


def _events(fig, spec, row=None, col=None, delay=None):
    """Shade the cue and mark the stimulus onset of a trial."""
    kw = {} if row is None else dict(row=row, col=col)
    fig.add_vrect(x0=spec.cue_onset, x1=spec.cue_onset + spec.cue_ms, fillcolor="grey", opacity=0.15, line_width=0,
                  **kw)
    if delay is not None:
        fig.add_vline(x=spec.cue_onset + delay, line_dash="dash", line_color="black", **kw)


def reservoir_figure(raster: dict, rate_hz: dict, spec, groups, stim_label: int, delay: float) -> go.Figure:
    """One trial's raster (excitatory blue, inhibitory red; the cue's and stimuli's neurons are the first rows)
    and the mean rates by cell class over all trials."""
    t, n, n_exc = raster["t_ms"], raster["neuron"], raster["n_exc"]
    fig = make_subplots(rows=1, cols=2, column_widths=[0.78, 0.22], horizontal_spacing=0.08,
                        subplot_titles=(f"one trial: cue, then stimulus {stim_label + 1} at {delay:.0f} ms",
                                        "mean rate by cell class"))
    for mask, name, color in ((n < n_exc, "excitatory", COLORS[0]), (n >= n_exc, "inhibitory", COLORS[3])):
        fig.add_trace(go.Scattergl(x=t[mask], y=n[mask], mode="markers", marker=dict(size=2, color=color), name=name),
                      row=1, col=1)
    _events(fig, spec, 1, 1, delay)
    cue, stims = groups
    fig.add_hrect(y0=cue[0] - 0.5, y1=cue[-1] + 0.5, fillcolor="grey", opacity=0.08, line_width=0, row=1, col=1)
    fig.add_trace(go.Bar(x=list(rate_hz), y=list(rate_hz.values()), marker_color=[COLORS[0], COLORS[3]],
                         showlegend=False, text=[f"{v:.1f} Hz" for v in rate_hz.values()]), row=1, col=2)
    fig.update_xaxes(title_text="time in trial (ms)", row=1, col=1)
    fig.update_yaxes(title_text="neuron (cue's at the bottom, then each stimulus's)", row=1, col=1)
    fig.update_yaxes(title_text="Hz", row=1, col=2)
    fig.update_layout(height=450, legend=dict(x=0.0, y=-0.18, orientation="h"))
    return fig


def readout_figure(t_ms, when, what, spec, trials, title: str = "") -> go.Figure:
    """Probe outputs of a learner after the given trials: the when-readout (black) and each what-readout,
    against the true onset (dashed) and probabilities (dotted)."""
    fig = make_subplots(rows=1, cols=len(trials), shared_yaxes=True,
                        subplot_titles=[f"after trial {i + 1} (D = {spec.delay_at(i):.0f} ms)" for i in trials])
    for c, i in enumerate(trials, start=1):
        fig.add_trace(go.Scatter(x=t_ms, y=when[i], name="when", line=dict(color="black", width=2),
                                 showlegend=c == 1), row=1, col=c)
        for k, p in enumerate(spec.probs_at(i)):
            fig.add_trace(go.Scatter(x=t_ms, y=what[i, k], name=f"what {k + 1}", line=dict(color=COLORS[k + 1]),
                                     showlegend=c == 1), row=1, col=c)
            fig.add_hline(y=p, line_dash="dot", line_color=COLORS[k + 1], row=1, col=c)
        _events(fig, spec, 1, c, spec.delay_at(i))
        fig.update_xaxes(title_text="time in trial (ms)", row=1, col=c)
    fig.update_yaxes(title_text="readout on cue-only probes", row=1, col=1)
    fig.update_yaxes(range=[-0.5, 1.1])           # the cue's transient dips far below; the prediction is above 0
    fig.update_layout(title=title, height=400)
    return fig


def amplitudes_figure(learners: dict, labels: dict, spec) -> go.Figure:
    """Each learner's what-amplitudes (last 10 trials of each block) beside the true probabilities."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, subplot_titles=("before the change", "after the change"))
    ks = [f"stimulus {k + 1}" for k in range(spec.n_stimuli)]
    for c, (block, trial) in enumerate((("before", 0), ("after", spec.n_trials - 1)), start=1):
        fig.add_trace(go.Bar(x=ks, y=spec.probs_at(trial), name="true p", marker_color="lightgrey",
                             showlegend=c == 1), row=1, col=c)
        for key, s in learners.items():
            fig.add_trace(go.Bar(x=ks, y=getattr(s, block)["amplitudes"], name=labels[key],
                                 marker_color=LEARNER_COLORS[key], showlegend=c == 1), row=1, col=c)
    fig.update_yaxes(title_text="amplitude at the when-peak", row=1, col=1)
    fig.update_layout(barmode="group", height=380, title="What: amplitudes against the probabilities")
    return fig


def adaptation_figure(learners: dict, labels: dict, spec, window: int = 5) -> go.Figure:
    """Per-trial errors (running means over ``window`` trials) of every learner: the delay's relative error and
    the largest probability error, with the criteria (dotted) and the change (dashed)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("when: |peak - D| / D", "what: max_k |a_k - p_k|"))
    x = np.arange(1, spec.n_trials + 1)
    kern = np.ones(window) / window
    for c, key in enumerate(("delay_rel_error", "prob_error"), start=1):
        for name, s in learners.items():
            y = np.convolve(s.errors[key], kern, mode="full")[: len(x)]
            y[: window - 1] = np.nan
            fig.add_trace(go.Scatter(x=x, y=y, name=labels[name], line=dict(color=LEARNER_COLORS[name]),
                                     showlegend=c == 1), row=1, col=c)
        fig.add_hline(y=0.1, line_dash="dot", line_color="grey", row=1, col=c)
        fig.add_vline(x=spec.change_trial + 0.5, line_dash="dash", line_color="black", row=1, col=c)
        fig.add_vrect(x0=spec.change_trial + 0.5, x1=spec.change_trial + 30.5, fillcolor="green", opacity=0.06,
                      line_width=0, row=1, col=c)
        fig.update_xaxes(title_text="trial", row=1, col=c)
    fig.update_yaxes(range=[0, 1.05], row=1, col=1)
    fig.update_yaxes(range=[0, 0.6], row=1, col=2)
    fig.update_layout(height=400, title=f"Adaptation after the change ({window}-trial means; shaded: the 30 trials "
                                        "allowed)")
    return fig


def angle_figure(learners: dict, labels: dict, random_deg: float, n: int) -> go.Figure:
    """The angle between when- and what-weights over learning, beside two random vectors' angle."""
    fig = go.Figure()
    for key, s in learners.items():
        fig.add_trace(go.Scatter(x=np.arange(1, len(s.angle_deg) + 1), y=s.angle_deg, name=labels[key],
                                 line=dict(color=LEARNER_COLORS[key])))
    fig.add_hline(y=random_deg, line_dash="dot", line_color="grey",
                  annotation_text=f"two random vectors in {n} dimensions: {random_deg:.1f}°")
    fig.update_layout(title="Angle between the when-weights and the what-weights", xaxis_title="trial",
                      yaxis_title="mean angle (degrees)", height=380)
    return fig


def sweep_figure(sweep: dict, etas, gates, never: int) -> go.Figure:
    """Trials to criterion after the change over learning rate x gate width (``never``: not within the block)."""
    z = sweep["trials_to_criterion"]
    text = [[("never" if v >= never else f"{v:.0f}") for v in row] for row in z]
    fig = go.Figure(go.Heatmap(z=z, x=[f"{g:g} ms" for g in gates], y=[f"η = {e:g}" for e in etas], text=text,
                               texttemplate="%{text}", colorscale="Viridis_r", colorbar=dict(title="trials")))
    fig.update_layout(title="Three-factor rule: trials to criterion after the change", xaxis_title="gate width",
                      height=360)
    return fig


def explorer_figure(t_ms, when, what, spec, trial: int) -> go.Figure:
    """One trial's probe readouts for the explorer."""
    return readout_figure(t_ms, when, what, spec, [trial], title=f"D = {spec.delay_before:.0f} ms, "
                          f"p = {', '.join(f'{p:g}' for p in spec.probs)}")
