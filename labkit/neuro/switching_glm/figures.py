"""Figures for the switching-GLM notebook (plotly builders only: they never fit or simulate)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.pieces import shade_runs
from labkit.viz.theme import COLORS, model_color

MODEL_NAMES = {"none": "plain HMM-GLM", "gaussian": "Gaussian prior", "one-hot": "one-hot prior"}
# One palette, one owner per colour: the first three states keep the first three colours (as in every state
# figure of the lab), the three models the next three, further states the rest.
_OWNERS = ["state 0", "state 1", "state 2", *MODEL_NAMES.values()]
STATE_COLORS = [COLORS[k] for k in (0, 1, 2, 6, 7)]


def model_colour(model: str) -> str:
    """The one colour of a model (a key of MODEL_NAMES, or its name) in every figure of the notebook, from the
    lab's shared palette (:func:`labkit.viz.model_color`), never a state's colour."""
    return model_color(MODEL_NAMES.get(model, model), _OWNERS)


def em_figure(histories: Mapping[str, Sequence[float]]) -> go.Figure:
    """Training log-likelihood per bin against the EM iteration, one line per model (keys of MODEL_NAMES)."""
    fig = go.Figure()
    for key, h in histories.items():
        fig.add_trace(go.Scatter(x=np.arange(1, len(h) + 1), y=list(h), mode="lines", name=MODEL_NAMES.get(key, key),
                                 line=dict(color=model_colour(key), width=2.5)))
    fig.update_layout(title="EM: training log-likelihood per bin", xaxis_title="EM iteration",
                      yaxis_title="log-likelihood (nats per bin)", height=420)
    return fig


def _state_color(k: int) -> str:
    return STATE_COLORS[k % len(STATE_COLORS)]


def _shade_states(fig: go.Figure, states: np.ndarray, t0: int, *, row: int, opacity: float = 0.18) -> None:
    """Shade a subplot's background by the true state, one rectangle per run, centred on the bins."""
    states = np.asarray(states)
    shade_runs(fig, states, t0 + np.arange(len(states)), fills=STATE_COLORS, row=row, col=1,
               opacity=opacity, offset=-0.5)


def raster_states_figure(spikes: np.ndarray, states: np.ndarray, *, neurons: Sequence[str] | None = None,
                         posterior: Mapping[str, np.ndarray] | None = None, t0: int = 0, title: str = "") -> go.Figure:
    """A raster of one trial (time, neurons) over bands of the true state; below it, optionally, the
    posterior probability of each state under one or more models, (time, states) each."""
    spikes, states = np.asarray(spikes), np.asarray(states)
    T, N = spikes.shape
    posterior = dict(posterior or {})
    rows = 1 + len(posterior)
    fig = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        row_heights=[0.55] + [0.45 / max(rows - 1, 1)] * (rows - 1),
                        subplot_titles=["spikes over the true state"] + [f"p(state | spikes), {n}" for n in posterior])
    t, n = np.nonzero(spikes)
    size = np.clip(2 + 1.5 * spikes[t, n], 2, 8)
    fig.add_trace(go.Scattergl(x=t0 + t, y=n, mode="markers",
                               marker=dict(size=size, color="#222", symbol="line-ns-open", line=dict(width=1.2)),
                               name="spikes", showlegend=False, hovertemplate="bin %{x}<br>neuron %{y}<extra></extra>"),
                  row=1, col=1)
    _shade_states(fig, states, t0, row=1)
    K = int(max(states.max() + 1, max((p.shape[1] for p in posterior.values()), default=0)))
    for r, post in enumerate(posterior.values(), start=2):
        _shade_states(fig, states, t0, row=r, opacity=0.12)
        for k in range(post.shape[1]):
            fig.add_trace(go.Scatter(x=t0 + np.arange(T), y=post[:, k], mode="lines",
                                     line=dict(color=_state_color(k), width=2),
                                     name=f"state {k}", legendgroup=f"s{k}", showlegend=(r == 2)), row=r, col=1)
        fig.update_yaxes(range=[-0.05, 1.05], title_text="probability", row=r, col=1)
    # legend entries for the shaded true states
    for k in range(K):
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers",
                                 marker=dict(size=12, symbol="square", color=_state_color(k), opacity=0.35),
                                 name=f"true state {k}", legendgroup=f"s{k}"), row=1, col=1)
    ticks = (dict(tickmode="array", tickvals=list(range(N)), ticktext=list(neurons))
             if neurons is not None and N <= 40 else {})
    fig.update_yaxes(title_text="neuron", range=[-0.5, N - 0.5], autorange="reversed", row=1, col=1, **ticks)
    fig.update_xaxes(title_text="time bin", row=rows, col=1)
    fig.update_layout(title=title or "Spikes, true states (shaded) and inferred state probabilities",
                      height=380 + 190 * (rows - 1), legend=dict(orientation="h", y=-0.12 if rows > 1 else -0.2, x=0))
    return fig


def coupling_grid_figure(true_weights: np.ndarray | None, fitted: Mapping[str, np.ndarray], *,
                         neurons: Sequence[str] | None = None, states: Sequence[int] | None = None,
                         title: str = "") -> go.Figure:
    """Coupling matrices W[state, post, pre]: the truth in the first row (none on a recording: ``None``), each
    model below, one column per state."""
    first = np.asarray(true_weights if true_weights is not None else next(iter(fitted.values())))
    K = first.shape[0]
    states = list(range(K)) if states is None else list(states)
    rows = ([("truth", first)] if true_weights is not None else []) + \
        [(MODEL_NAMES.get(k, k), np.asarray(v)) for k, v in fitted.items()]
    vmax = float(np.abs(first).max()) or 1.0
    fig = make_subplots(rows=len(rows), cols=len(states), horizontal_spacing=0.02, vertical_spacing=0.04,
                        column_titles=[f"state {k}" for k in states], row_titles=[r[0] for r in rows])
    labels = list(neurons) if neurons is not None else None
    for r, (_, w) in enumerate(rows, start=1):
        for c, k in enumerate(states, start=1):
            fig.add_trace(go.Heatmap(z=w[k], x=labels, y=labels, zmin=-vmax, zmax=vmax, colorscale="RdBu_r", zmid=0,
                                     showscale=(r == 1 and c == len(states)),
                                     colorbar=dict(title="weight", len=0.6),
                                     hovertemplate="post %{y} ← pre %{x}<br>w = %{z:.2f}<extra></extra>"), row=r, col=c)
            fig.update_yaxes(autorange="reversed", showticklabels=(c == 1), tickfont=dict(size=8), row=r, col=c)
            fig.update_xaxes(showticklabels=(r == len(rows)), tickfont=dict(size=8), row=r, col=c)
    fig.update_yaxes(title_text="post", row=len(rows), col=1)
    fig.update_xaxes(title_text="pre", row=len(rows), col=1)
    side = 230 if len(states) > 2 else 300
    fig.update_layout(title=title or ("Coupling matrices per state: truth (top) and the three models"
                                      if true_weights is not None else "Coupling matrices per state, each model"),
                      height=120 + side * len(rows), width=None)
    return fig


def prior_figure(backbone_adjacency: np.ndarray, backbone_sign: np.ndarray, adjacency_prior: np.ndarray, *,
                 neurons: Sequence[str] | None = None) -> go.Figure:
    """The anatomical backbone (signed) beside the learned one-hot prior, P(excitatory) - P(inhibitory),
    and its learned connection probability 1 - P(absent)."""
    labels = list(neurons) if neurons is not None else None
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.06,
                        subplot_titles=["anatomical backbone (sign)", "learned prior: P(exc) − P(inh)",
                                        "learned prior: 1 − P(absent)"])
    signed = np.where(backbone_adjacency, backbone_sign, 0)
    fig.add_trace(go.Heatmap(z=signed, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu_r", showscale=False,
                             hovertemplate="post %{y} ← pre %{x}<br>sign %{z}<extra></extra>"), row=1, col=1)
    fig.add_trace(go.Heatmap(z=adjacency_prior[..., 2] - adjacency_prior[..., 0], x=labels, y=labels, zmin=-1, zmax=1,
                             colorscale="RdBu_r",
                             colorbar=dict(title="P(exc) − P(inh)", orientation="h", x=0.5, y=-0.32,
                                           len=0.28, thickness=12),
                             hovertemplate="post %{y} ← pre %{x}<br>%{z:.2f}<extra></extra>"), row=1, col=2)
    fig.add_trace(go.Heatmap(z=1 - adjacency_prior[..., 1], x=labels, y=labels, zmin=0, zmax=1, colorscale="Viridis",
                             colorbar=dict(title="1 − P(absent)", orientation="h", x=0.86, y=-0.32, len=0.28,
                                           thickness=12),
                             hovertemplate="post %{y} ← pre %{x}<br>%{z:.2f}<extra></extra>"), row=1, col=3)
    for c in (1, 2, 3):
        fig.update_yaxes(autorange="reversed", tickfont=dict(size=8), showticklabels=(c == 1),
                         scaleanchor=f"x{c if c > 1 else ''}", row=1, col=c)
        fig.update_xaxes(tickfont=dict(size=8), title_text="pre", row=1, col=c)
    fig.update_yaxes(title_text="post", row=1, col=1)
    fig.update_layout(title="The learned one-hot prior against the anatomical backbone", height=540,
                      margin=dict(b=150))
    return fig


_SCORE_NAMES = {"one-hot": "1 − P(absent)", "gaussian": "|mean W|", "none": "mean |W_k|"}


def roc_figure(curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]]) -> go.Figure:
    """ROC curves of state-independent connection scores against the backbone, AUC in the legend; keys are
    models (keys of MODEL_NAMES), each in its own colour."""
    fig = go.Figure()
    for key, (fpr, tpr, auc) in curves.items():
        name = f"{MODEL_NAMES.get(key, key)}: {_SCORE_NAMES[key]}" if key in _SCORE_NAMES else key
        fig.add_trace(go.Scatter(x=fpr, y=tpr, mode="lines", name=f"{name} (AUC {auc:.2f})",
                                 line=dict(color=model_colour(key), width=2.5, shape="hv")))
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="chance", line=dict(color="#999", dash="dot")))
    fig.update_layout(title="Recovering the anatomical backbone (off-diagonal pairs)",
                      xaxis_title="false-positive rate",
                      yaxis_title="true-positive rate", xaxis=dict(range=[0, 1]), yaxis=dict(range=[0, 1.02]),
                      legend=dict(x=0.45, y=0.08), height=450)
    return fig


def data_curve_figure(n_trials: Sequence[int], scores: Mapping[str, Sequence[float]], *,
                      reference: Sequence[float] | None = None) -> go.Figure:
    """Held-out log-likelihood per bin against the number of training trials, one line per model; the
    true model's held-out log-likelihood as a dotted reference."""
    fig = go.Figure()
    for name, ys in scores.items():
        fig.add_trace(go.Scatter(x=list(n_trials), y=list(ys), mode="lines+markers", name=MODEL_NAMES.get(name, name),
                                 line=dict(color=model_colour(name), width=2.5), marker=dict(size=8)))
    if reference is not None:
        fig.add_trace(go.Scatter(x=list(n_trials), y=list(reference), mode="lines", name="true model",
                                 line=dict(color="#444", dash="dot")))
    fig.update_layout(title="Held-out log-likelihood as training data shrinks", xaxis_title="training trials",
                      yaxis_title="held-out log-likelihood (nats per bin)", height=430)
    fig.update_xaxes(type="log", tickvals=list(n_trials))
    return fig


def accuracy_bar_figure(accuracy: Mapping[str, float], auc: Mapping[str, float] | None = None) -> go.Figure:
    """State accuracy (and backbone AUC) of each model, side by side: bars in each model's colour, the
    backbone AUC hatched."""
    names = [MODEL_NAMES.get(k, k) for k in accuracy]
    fig = go.Figure(go.Bar(x=names, y=list(accuracy.values()), name="state accuracy (held-out; solid)",
                           marker_color=[model_colour(k) for k in accuracy],
                           text=[f"{v:.3f}" for v in accuracy.values()], textposition="outside"))
    if auc is not None:
        fig.add_trace(go.Bar(x=[MODEL_NAMES.get(k, k) for k in auc], y=list(auc.values()),
                             name="backbone AUC (hatched)",
                             marker=dict(color=[model_colour(k) for k in auc], opacity=0.55,
                                         pattern=dict(shape="/", fgcolor="#333")),
                             text=[f"{v:.3f}" for v in auc.values()], textposition="outside"))
    fig.update_layout(title="State accuracy and backbone recovery", yaxis_title="score", yaxis=dict(range=[0, 1.1]),
                      barmode="group", height=400)
    return fig


def window_figure(spikes: np.ndarray, states: np.ndarray, posterior: np.ndarray, true_weights: np.ndarray,
                  fitted_weights: np.ndarray, *, start: int, width: int, state: int,
                  neurons: Sequence[str] | None = None, model: str = "one-hot prior") -> go.Figure:
    """The explorer's view: a time window of one trial (raster over the true states, and the model's
    posterior state probabilities), and beside it one state's couplings, true and fitted."""
    T, N = spikes.shape
    start = int(np.clip(start, 0, max(T - 1, 0)))
    stop = min(T, start + int(width))
    K = posterior.shape[1]
    fig = make_subplots(rows=2, cols=3, column_widths=[0.56, 0.22, 0.22], row_heights=[0.6, 0.4],
                        specs=[[{}, {"rowspan": 2}, {"rowspan": 2}], [{}, None, None]],
                        horizontal_spacing=0.07, vertical_spacing=0.14,
                        subplot_titles=[f"spikes, bins {start}-{stop - 1} (shaded: true state)",
                                        f"true couplings, state {state}", f"{model}, state {state}",
                                        f"p(state | spikes), {model}"])
    seg, st = spikes[start:stop], states[start:stop]
    t, n = np.nonzero(seg)
    fig.add_trace(go.Scattergl(x=start + t, y=n, mode="markers", showlegend=False, name="spikes",
                               marker=dict(size=np.clip(3 + 2 * seg[t, n], 3, 9), color="#222", symbol="line-ns-open",
                                           line=dict(width=1.2)),
                               hovertemplate="bin %{x}<br>neuron %{y}<extra></extra>"), row=1, col=1)
    _shade_states(fig, st, start, row=1)
    _shade_states(fig, st, start, row=2, opacity=0.12)
    for k in range(K):
        fig.add_trace(go.Scatter(x=start + np.arange(stop - start), y=posterior[start:stop, k], mode="lines",
                                 line=dict(color=_state_color(k), width=2), name=f"state {k}"), row=2, col=1)
    vmax = float(np.abs(true_weights).max()) or 1.0
    labels = list(neurons) if neurons is not None else None
    for c, w in ((2, true_weights[state]), (3, fitted_weights[state])):
        fig.add_trace(go.Heatmap(z=w, x=labels, y=labels, zmin=-vmax, zmax=vmax, zmid=0, colorscale="RdBu_r",
                                 showscale=(c == 3), colorbar=dict(title="weight", len=0.8),
                                 hovertemplate="post %{y} ← pre %{x}<br>w = %{z:.2f}<extra></extra>"), row=1, col=c)
        fig.update_yaxes(autorange="reversed", tickfont=dict(size=7), showticklabels=(c == 2),
                         title_text="post" if c == 2 else None, row=1, col=c)
        fig.update_xaxes(tickfont=dict(size=7), title_text="pre", row=1, col=c)
    ticks = (dict(tickmode="array", tickvals=list(range(N)), ticktext=labels, tickfont=dict(size=7))
             if labels and N <= 40 else {})
    fig.update_yaxes(title_text="neuron", range=[-0.5, N - 0.5], autorange="reversed", row=1, col=1, **ticks)
    fig.update_yaxes(title_text="probability", range=[-0.05, 1.05], row=2, col=1)
    fig.update_xaxes(title_text="time bin", row=2, col=1)
    fig.update_xaxes(range=[start - 0.5, stop - 0.5], showticklabels=False, row=1, col=1)
    fig.update_xaxes(range=[start - 0.5, stop - 0.5], row=2, col=1)
    fig.update_layout(height=520, legend=dict(orientation="h", y=-0.15, x=0),
                      title="Explorer: a window of one trial and one state's couplings")
    return fig


def selection_figure(selection: Mapping[int, float], chosen: int, *, poisson: float | None = None,
                     spread: Mapping[int, float] | None = None) -> go.Figure:
    """Cross-validated log-likelihood per bin against the number of states, the chosen number marked; error bars
    (``spread``, when given) are the fold-to-fold standard deviation; the dotted line is independent
    homogeneous-Poisson neurons on the held-out trials, the floor a coupled model must clear."""
    ks = sorted(selection)
    error = dict(type="data", array=[spread[k] for k in ks], visible=True) if spread else None
    fig = go.Figure(go.Scatter(x=ks, y=[selection[k] for k in ks], mode="lines+markers", error_y=error,
                               name="one-hot prior (mean over folds" + (", ± SD)" if spread else ")"),
                               line=dict(color=model_colour("one-hot"), width=2.5), marker=dict(size=9)))
    fig.add_trace(go.Scatter(x=[chosen], y=[selection[chosen]], mode="markers", name=f"chosen: K = {chosen}",
                             marker=dict(size=18, symbol="star", color=COLORS[3])))
    if poisson is not None:
        fig.add_hline(y=poisson, line_dash="dot", line_color="#555",
                      annotation_text="independent Poisson neurons", annotation_position="bottom right")
    fig.update_layout(title="Model selection: cross-validated log-likelihood against the number of states",
                      xaxis=dict(title="number of states K", tickmode="array", tickvals=ks),
                      yaxis_title="held-out log-likelihood (nats per bin)", height=420)
    return fig


def trial_states_figure(states: np.ndarray, bin_size: float, *, trial_labels: Sequence[str] | None = None,
                        n_test: int = 0) -> go.Figure:
    """Every trial's most probable states (rows: the trials table's trials, in order; columns: seconds from the
    trial's start), one colour per state; the last ``n_test`` rows are the held-out trials."""
    states = np.asarray(states)
    B, T = states.shape
    K = int(states.max()) + 1
    labels = list(trial_labels) if trial_labels is not None else [f"trial {b}" for b in range(B)]
    colorscale = [x for k in range(K) for x in ([k / K, _state_color(k)], [(k + 1) / K, _state_color(k)])]
    fig = go.Figure(go.Heatmap(z=states, x=(np.arange(T) + 0.5) * bin_size, y=labels, zmin=-0.5, zmax=K - 0.5,
                               colorscale=colorscale, customdata=np.repeat(np.array(labels)[:, None], T, 1),
                               colorbar=dict(title="state", tickvals=list(range(K))),
                               hovertemplate="%{customdata}<br>t = %{x:.3f} s<br>state %{z}<extra></extra>"))
    if n_test:
        fig.add_hline(y=B - n_test - 0.5, line_color="#000", line_width=2,
                      annotation_text="held-out trials below", annotation_position="bottom right")
    fig.update_layout(title="The states of every trial (Viterbi, chosen one-hot model), aligned on the trials table",
                      xaxis_title="time from the trial's start (s)", yaxis=dict(title="trial", autorange="reversed"),
                      height=max(320, 140 + 18 * B))
    return fig
