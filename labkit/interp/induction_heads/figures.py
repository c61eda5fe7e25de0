"""Figures for the induction-heads notebook (plotly; they draw, they never train)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from labkit.viz.pieces import heatmap, learning_curve
from labkit.viz.theme import COLORS


def head_labels(n_layers: int, n_heads: int) -> list[str]:
    """``L1H0`` ... in the 1-indexed layer naming the notebook's text uses (layer 1 = ``blocks.0``)."""
    return [f"L{l + 1}H{h}" for l in range(n_layers) for h in range(n_heads)]


def loss_figure(losses: np.ndarray, phase: dict, *, induction_step: int | None = None,
                title: str = "Training loss on the repeated half, with the phase change") -> go.Figure:
    """Raw and smoothed in-context loss, the phase change (fastest fall) and, if given, the step at
    which the first induction head passed a score of 0.5."""
    fig = learning_curve(losses, name="loss", smooth=phase["window"], title=title, xaxis="training step",
                         yaxis="cross-entropy (nats)")
    fig.add_vline(x=phase["step"] + 1, line=dict(color=COLORS[3], dash="dash"),
                  annotation_text=f"phase change: step {phase['step'] + 1}", annotation_position="top right")
    if induction_step is not None:
        fig.add_vline(x=induction_step, line=dict(color=COLORS[2], dash="dot"),
                      annotation_text=f"induction score ≥ 0.5: step {induction_step}",
                      annotation_position="bottom left")
    fig.update_layout(height=450, legend=dict(x=0.99, xanchor="right", y=0.75))
    return fig


def scores_over_training(ckpt_steps: np.ndarray, prev_token: np.ndarray, induction: np.ndarray,
                         phase_step: int | None = None) -> go.Figure:
    """Two heatmaps, head by training step: previous-token score and induction score (both in [0, 1])."""
    n_ckpt, L, H = prev_token.shape
    labels = head_labels(L, H)
    fig = make_subplots(rows=1, cols=2, subplot_titles=("previous-token score", "induction score"),
                        horizontal_spacing=0.08)
    for col, scores in ((1, prev_token), (2, induction)):
        fig.add_trace(go.Heatmap(z=scores.reshape(n_ckpt, L * H).T, x=ckpt_steps, y=labels, zmin=0, zmax=1,
                                 colorscale="Viridis", showscale=col == 2, colorbar=dict(title="score"),
                                 hovertemplate="step %{x}<br>%{y}<br>score %{z:.2f}<extra></extra>"), 1, col)
        if phase_step is not None:
            fig.add_vline(x=phase_step + 1, line=dict(color="white", dash="dash"), row=1, col=col)
    fig.update_yaxes(autorange="reversed", title_text="head (layer, head)", row=1, col=1)
    fig.update_yaxes(autorange="reversed", row=1, col=2)
    fig.update_xaxes(title_text="training step")
    fig.update_layout(title="Per-head scores over training (dashed: the phase change)", height=420)
    return fig


def attention_figure(patterns: np.ndarray, heads: list[tuple[int, int]], tokens: np.ndarray | None = None,
                     title: str = "Attention patterns of the heads that matter") -> go.Figure:
    """Attention patterns ``patterns[layer, head, q, k]`` of the chosen heads, side by side."""
    fig = make_subplots(rows=1, cols=len(heads), subplot_titles=[f"L{l + 1}H{h}" for l, h in heads],
                        horizontal_spacing=0.05)
    patterns = np.asarray(patterns, dtype=np.float32)
    P = patterns.shape[-1]
    ticks = [f"{i}:{t}" for i, t in enumerate(tokens)] if tokens is not None else list(range(P))
    for i, (l, h) in enumerate(heads):
        fig.add_trace(go.Heatmap(z=patterns[l, h], x=ticks, y=ticks, zmin=0, zmax=1, colorscale="Viridis",
                                 showscale=i == len(heads) - 1, colorbar=dict(title="attention"),
                                 hovertemplate="query %{y}<br>key %{x}<br>%{z:.2f}<extra></extra>"), 1, i + 1)
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_yaxes(title_text="query (position:token)", showticklabels=True, row=1, col=1)
    fig.update_xaxes(title_text="key", showticklabels=False)
    fig.update_layout(title=title, height=420)
    return fig


def head_grid_figure(values: dict[str, np.ndarray], *, title: str, zmin=None, zmax=None,
                     colorscale: str = "Viridis", fmt: str = ".2f") -> go.Figure:
    """One small annotated heatmap (layer by head) per named array, side by side."""
    names = list(values)
    fig = make_subplots(rows=1, cols=len(names), subplot_titles=names, horizontal_spacing=0.08)
    for i, name in enumerate(names):
        v = np.asarray(values[name])
        L, H = v.shape
        fig.add_trace(go.Heatmap(z=v, x=[f"H{h}" for h in range(H)], y=[f"layer {l + 1}" for l in range(L)],
                                 zmin=zmin, zmax=zmax, colorscale=colorscale, showscale=i == len(names) - 1,
                                 text=np.vectorize(lambda x: format(x, fmt))(v), texttemplate="%{text}",
                                 textfont=dict(size=13), hovertemplate="%{y} %{x}: %{z:.3f}<extra></extra>"), 1, i + 1)
        fig.update_xaxes(title_text="head", row=1, col=i + 1)
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(title=title, height=340)
    return fig


def ablation_figure(clean_acc: float, per_head: np.ndarray, identified_acc: float, identified: list,
                    control_acc: float | None = None, control: list | None = None) -> go.Figure:
    """Bar chart: in-context accuracy intact, with each head ablated, with all identified induction
    heads ablated together and, as a control, with every head outside the circuit ablated together."""
    L, H = per_head.shape
    names = ["intact"] + head_labels(L, H) + [f"all {len(identified)} induction heads"]
    vals = [clean_acc] + list(per_head.ravel()) + [identified_acc]
    colors = [COLORS[0]] + [COLORS[5]] * (L * H) + [COLORS[3]]
    if control_acc is not None:
        names.append(f"the {len(control or [])} heads outside the circuit")
        vals.append(control_acc)
        colors.append(COLORS[2])
    fig = go.Figure(go.Bar(x=names, y=vals, marker_color=colors, text=[f"{v:.2f}" for v in vals],
                           textposition="outside"))
    worst = int(np.argmin(per_head))
    title = (f"Zero-ablating heads: intact {clean_acc:.2f}; the worst single head, {names[1 + worst]}, leaves "
             f"{per_head.ravel()[worst]:.2f}; all {len(identified)} induction heads together {identified_acc:.2f}")
    fig.update_layout(title=dict(text=title, font=dict(size=14)), xaxis_title="ablated",
                      yaxis_title="in-context accuracy", yaxis_range=[0, 1.1], height=420,
                      showlegend=False)
    return fig


def clamp_figure(runs: dict[str, np.ndarray], phases: dict[str, dict], *,
                 title: str = "Clamping sub-circuits during training: which one is the phase change waiting for?",
                 ) -> go.Figure:
    """Smoothed training loss of each clamping condition, its phase change marked with a dot."""
    fig = go.Figure()
    for i, (name, losses) in enumerate(runs.items()):
        ph = phases[name]
        steps = np.arange(1, len(losses) + 1)
        color = COLORS[i % len(COLORS)]
        fig.add_trace(go.Scatter(x=steps, y=ph["smooth"], name=name, mode="lines", line=dict(color=color, width=2.5),
                                 legendgroup=name))
        label = f"{name}: phase change at {ph['step'] + 1}" if ph["detected"] else f"{name}: no phase change"
        fig.add_trace(go.Scatter(x=[ph["step"] + 1], y=[ph["smooth"][ph["step"]]], mode="markers", legendgroup=name,
                                 marker=dict(color=color, size=11, symbol="circle" if ph["detected"] else "x"),
                                 name=label, showlegend=False, hovertemplate=label + "<extra></extra>"))
    fig.update_layout(title=title, xaxis_title="training step", yaxis_title="in-context loss (nats, smoothed)",
                      height=480)
    return fig


def accuracy_figure(ckpt_steps: np.ndarray, accuracy: np.ndarray, *, plateau: float | None = None,
                    title: str = "Exemplar–label task: in-context accuracy on the query") -> go.Figure:
    """In-context accuracy over training; ``plateau`` marks the accuracy of a context-only heuristic."""
    fig = go.Figure(go.Scatter(x=ckpt_steps, y=accuracy, mode="lines+markers", name="in-context accuracy",
                               line=dict(color=COLORS[0], width=3)))
    if plateau is not None:
        fig.add_hline(y=plateau, line=dict(color=COLORS[1], dash="dash"),
                      annotation_text=f"guess one of the labels in context: {plateau:.3f}",
                      annotation_position="bottom right")
    fig.update_layout(title=title, xaxis_title="training step", yaxis_title="accuracy", yaxis_range=[0, 1.05],
                      height=400)
    return fig


def attention_at_checkpoint(patterns: np.ndarray, ckpt_steps: np.ndarray, prev_token: np.ndarray,
                            induction: np.ndarray, step_index: int, layer: int, head: int, sequence: int = 0,
                            tokens: np.ndarray | None = None) -> go.Figure:
    """The explorer's view: one head's attention on display sequence ``sequence`` at one checkpoint.

    The arrays are an :class:`~.training.InductionRun`'s: ``patterns`` [n_ckpt, n_display, layer, head,
    q, k], ``ckpt_steps``, the per-head ``prev_token`` and ``induction`` scores [n_ckpt, layer, head],
    and ``tokens`` (its ``display_tokens``, [n_display, pos]) to label the axes.
    """
    n, m = len(ckpt_steps), patterns.shape[1]
    if not 0 <= step_index < n:
        raise ValueError(f"step_index must be in [0, {n - 1}], got {step_index}.")
    if not 0 <= sequence < m:
        raise ValueError(f"sequence must be in [0, {m - 1}] (the run kept {m} display sequences), got {sequence}.")
    pat = patterns[step_index, sequence, layer, head].astype(np.float32)
    ticks = [f"{i}:{t}" for i, t in enumerate(tokens[sequence])] if tokens is not None else list(range(pat.shape[-1]))
    fig = heatmap(pat, x=ticks, y=ticks, xaxis="key (position:token)", yaxis="query (position:token)",
                  colorbar="attention",
                  title=f"L{layer + 1}H{head} at step {ckpt_steps[step_index]}, held-out sequence {sequence}"
                        f"<br><sup>scores over all held-out sequences: "
                        f"prev-token {prev_token[step_index, layer, head]:.2f}, "
                        f"induction {induction[step_index, layer, head]:.2f}</sup>")
    fig.update_traces(zmin=0, zmax=1, hovertemplate="query %{y}<br>key %{x}<br>%{z:.2f}<extra></extra>")
    fig.update_layout(height=520)
    return fig


def loss_text(losses: np.ndarray, phase: dict, formation: dict) -> str:
    """Markdown that describes the training loss from its own numbers (so the text cannot contradict
    the figure): the slow decline before the drop, the drop, and when the induction score rose.

    ``phase``: :func:`~labkit.interp.induction_heads.diagnostics.detect_phase_change`; ``formation``:
    :func:`~labkit.interp.induction_heads.diagnostics.induction_at_phase_change`.
    """
    sm, w, step = phase["smooth"], phase["window"], phase["step"]
    start, pre, post, end = sm[w // 2], sm[max(0, step - w)], sm[min(len(sm) - 1, step + w)], sm[-1]
    if not phase["detected"]:
        text = (f"**No phase change in this run:** the smoothed loss goes from {start:.2f} to {end:.2f} nats, and "
                f"its fastest fall (step {step + 1}) is {phase['rate_ratio']:.1f}× the initial rate with a drop of "
                f"{phase['drop']:.0%} of the initial loss (a phase change needs at least 2× and 25%).")
    else:
        text = (f"Before the drop the loss is not flat: it declines slowly, from {start:.2f} to {pre:.2f} nats by "
                f"step {max(1, step - w + 1)} (the model learns which tokens occur in the context, which lowers the "
                f"loss on every position a little). Then, within {2 * w} steps around step {step + 1}, it falls from "
                f"{pre:.2f} to {post:.2f}, {phase['rate_ratio']:.0f}× as fast as at the start, and ends at {end:.2f}.")
    if formation["formed_step"] is None:
        text += (" The best layer-2 induction score on shifted repeats never reaches 0.5: whatever the model "
                 "learned, it is not match-and-copy.")
    else:
        text += (f" The best layer-2 induction score on shifted repeats first reaches 0.5 at the checkpoint of step "
                 f"{formation['formed_step']}, {formation['distance']} steps from the fastest fall"
                 + (": the circuit forms at the phase change." if formation["formed_at_phase_change"] else
                    ", too far from it to call the two one event."))
    return text


def ablation_text(clean_acc: float, per_head: np.ndarray, identified_acc: float, identified: list,
                  control_acc: float, control: list) -> str:
    """Markdown that reads the ablation figure off its own numbers: which single heads matter, what
    ablating the identified induction heads together does, and what the control ablation does."""
    L, H = per_head.shape
    names = head_labels(L, H)
    flat = per_head.ravel()
    worst = int(np.argmin(flat))
    layer2 = per_head[-1]
    parts = [f"Intact, the model is right on {clean_acc:.2f} of the predictable positions."]
    parts.append(f"Ablating one layer-{L} head at a time leaves {layer2.min():.2f}–{layer2.max():.2f}"
                 + (": each alone barely matters." if layer2.min() >= 0.8 * clean_acc else "."))
    if worst < H and flat[worst] < 0.5 * clean_acc:
        parts.append(f"One layer-1 head is a bottleneck: ablating **{names[worst]}** alone drops the accuracy from "
                     f"{clean_acc:.2f} to {flat[worst]:.2f}, so the previous-token information is *not* spread over "
                     f"several heads here; it flows through that one.")
    else:
        parts.append(f"The most damaging single head is {names[worst]} ({flat[worst]:.2f}).")
    if not identified:
        parts.append("No layer-2 head reaches an induction score of 0.5 on shifted repeats: there is no induction "
                     "head to ablate.")
    else:
        parts.append(f"All {len(identified)} identified induction heads ablated together leave {identified_acc:.2f}"
                     + (" (redundant heads: together they carry what none carries alone)."
                        if identified_acc < 0.5 * clean_acc and layer2.min() >= 0.8 * clean_acc else "."))
    parts.append(f"The control, the {len(control)} heads outside the circuit ablated together, leaves {control_acc:.2f}"
                 + (": the loss is specific to the circuit, not to removing heads." if control_acc >= 0.8 * clean_acc
                    else ", so here the circuit is not confined to the heads the scores picked."))
    return " ".join(parts)
